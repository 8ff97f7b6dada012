"""MasqConfig + AgentFlags → Ruleset: the agent's chain per address family.

This is the one model render, diff, apply and explain share.  Rules keep the agent's
argument order and know the config entry behind them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from masqctl.agent import (
    BUILTIN_NAT_CHAINS,
    LINK_LOCAL_IPV4,
    LINK_LOCAL_IPV6,
    MASQUERADE_COMMENT,
    MAX_CHAIN_NAME_LENGTH,
    RETURN_COMMENT,
    TO_PORTS_PROTOCOLS,
    AgentFlags,
    jump_comment,
)
from masqctl.config.goparse import parse_cidr
from masqctl.errors import UsageError
from masqctl.model import MasqConfig, Origin
from masqctl.netfilter.save_parser import double_quoted

IPV4 = "ipv4"
IPV6 = "ipv6"
FAMILIES = (IPV4, IPV6)

RETURN = "return"
MASQUERADE = "masquerade"
JUMP = "jump"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: ``-A chain`` followed by ``args`` (the comment unquoted, one token)."""

    chain: str
    args: tuple[str, ...]
    kind: str
    label: str
    cidr: str | None = None
    origin: Origin | None = None

    def restore_line(self) -> str:
        """The line as the agent writes it for iptables-restore (comments in quotes; a
        quote inside one, as in Azure's jump, escaped as iptables-restore reads it)."""
        args = self.args
        words = ["-A", self.chain, *args]
        at = 0
        for _ in range(args.count("--comment")):  # found by C searches: once per rule
            at = args.index("--comment", at) + 1
            if at < len(args):
                words[at + 2] = double_quoted(args[at])
        return " ".join(words)


@dataclass(frozen=True, slots=True)
class FamilyRules:
    """The agent's chain for one address family, and its POSTROUTING jump."""

    family: str
    chain: str
    rules: tuple[Rule, ...]
    jump: Rule
    #: False when the agent writes the RETURN rules in a different order every sync
    #: (Azure's v2 agent builds them through a Go map): they are compared as a set.
    ordered: bool = True
    #: POSTROUTING jumps to the chain that other agents write, each labelled with whose
    #: it is: the agent neither matches nor deletes them (diff names them, apply keeps them).
    other_jumps: tuple[Rule, ...] = ()


@dataclass(frozen=True, slots=True)
class MapEntry:
    """One prefix of a BPF non-masquerade map, and why it is there."""

    cidr: str
    label: str
    origin: Origin | None = None


@dataclass(frozen=True)
class FamilyMap:
    """What Cilium's agent puts in one family's BPF map (no chain, no jump)."""

    family: str
    name: str
    #: Sorted by address, then prefix length.
    entries: tuple[MapEntry, ...]
    #: Entries the map holds; inserts past it fail without a word.
    capacity: int
    #: A CIDR the agent leaves unmasqueraded outside the map (Cilium's native routing).
    native_routing: str | None = None


@dataclass(frozen=True)
class Ruleset:
    """The effective ruleset: what one sync of the agent leaves in the nat table (or, for
    an agent that masquerades in BPF, in its maps)."""

    config: MasqConfig
    flags: AgentFlags
    families: dict[str, FamilyRules]
    #: The flavour whose agent writes it.
    flavour: str = "upstream"
    #: Per family, the BPF map an agent fills instead of a chain.
    maps: dict[str, FamilyMap] = field(default_factory=dict)

    def family(self, name: str) -> FamilyRules:
        if name not in self.families:
            raise UsageError(
                "the agent writes no ip6tables rules without --enable-ipv6"
                if name == IPV6
                else f"unknown family {name!r}"
            )
        return self.families[name]


@dataclass(frozen=True, slots=True)
class PortInterval:
    """One interval of --to-ports."""

    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def text(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def _go_atoi(text: str, flag_text: str) -> int:
    """strconv.Atoi, failing with the agent's own words for --to-ports."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        raise UsageError(
            f'Invalid --to-ports flag "{flag_text}": strconv.Atoi: parsing "{text}": invalid syntax'
        )
    return int(text)


def parse_to_ports(text: str) -> tuple[PortInterval, ...]:
    """--to-ports as the agent parses it (``1024-29999,32768-65535``, single ports too).

    UsageError with the agent's message where it exits (klog.Exitf, the pod crash-loops);
    ports iptables rejects are the agent's to write (see :func:`payload_problems`).
    """
    if not text:
        return ()
    intervals = []
    for part in text.split(","):
        bounds = part.split("-")
        if len(bounds) > 2:
            raise UsageError(f'Invalid --to-ports flag "{text}": invalid interval "{part}"')
        first = _go_atoi(bounds[0], text)
        last = _go_atoi(bounds[-1], text)
        if first > last:
            raise UsageError(
                f'Invalid --to-ports flag "{text}": first is greater than last in "{part}"'
            )
        intervals.append(PortInterval(first, last))
    return tuple(intervals)


def format_go_float(value: float) -> str:
    """strconv.FormatFloat(value, 'f', -1, 64): shortest round-trip digits, no exponent."""
    text = repr(value)
    if "e" not in text and "E" not in text:
        return text[:-2] if text.endswith(".0") else text
    from decimal import Decimal

    digits = format(Decimal(text), "f")
    return digits.rstrip("0").rstrip(".") if "." in digits else digits


def chain_name_problem(name: str) -> str | None:
    """Why iptables cannot take ``name`` as the agent's chain, or None."""
    if not name:
        return "the chain name is empty"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_CHAIN_NAME_LENGTH:
        return f"chain name `{name}' too long (must be under 29 chars)"
    if any(char.isspace() for char in name) or not name.isprintable():
        return f"chain name {name!r} contains whitespace"
    if '"' in name:
        # the agent writes the name unquoted; iptables-restore takes a '"' as a quote
        return (
            f"chain name {name!r} contains a double quote, which iptables-restore reads as quoting"
        )
    if name.startswith(("-", "!")):
        return f"chain name not allowed to start with `{name[0]}'"
    if name in BUILTIN_NAT_CHAINS or name.upper() in ("ACCEPT", "DROP", "RETURN", "QUEUE"):
        return (
            f"{name} is a built-in chain or target: the agent would flush it and write its "
            "rules there"
        )
    return None


def check_chain_name(name: str) -> None:
    """Refuse a chain name masqctl itself cannot act on (``apply --remove``)."""
    problem = chain_name_problem(name)
    if problem is not None:
        raise UsageError(f"--masq-chain {name!r}: {problem}")


def iptables_prefix_length(mask: str) -> int | None:
    """A prefix length (ASCII digits) as iptables reads it: xtables_strtoui in base 0,
    so a leading zero makes it octal (``010`` is 8); None where it fails (``08``)."""
    try:
        return int(mask, 8 if mask.startswith("0") else 10)
    except ValueError:
        return None


def misread_prefix(cidr: str) -> str | None:
    """For a CIDR the agent accepted whose prefix length has a leading zero, what iptables
    makes of it instead when it is not what Go read: ``10.0.0.0/8, not /10`` (None when
    iptables reads the same length, or rejects it)."""
    address, _, mask = cidr.rpartition("/")
    read = iptables_prefix_length(mask)
    if read is None or read == int(mask):
        return None
    parsed = parse_cidr(f"{address}/{read}")
    return f"{parsed.network_text()}, not /{int(mask)}"


def payload_problems(rules: FamilyRules) -> list[str]:
    """What iptables-restore rejects (or must not be given) in the payload the agent
    writes for ``rules``: the agent writes it all the same, and every sync fails."""
    problems = []
    chain_problem = chain_name_problem(rules.chain)
    if chain_problem is not None:
        problems.append(f"--masq-chain {rules.chain!r}: {chain_problem}")
    for rule in rules.rules:
        if rule.kind != MASQUERADE:
            if rule.cidr is not None and (mask := _rejected_mask(rules.family, rule.cidr)):
                problems.append(f"-d {rule.cidr}: invalid mask `{mask}' specified")
        elif "--to-ports" in rule.args:
            ports = rule.args[rule.args.index("--to-ports") + 1]
            for port in ports.split("-"):
                if int(port) > 65535:
                    problems.append(f"--to-ports {ports}: Port `{port}' not valid")
    return list(dict.fromkeys(problems))


def payload_misreadings(rules: FamilyRules) -> list[str]:
    """Where iptables takes the payload the agent writes for ``rules`` otherwise than the
    config means: a prefix length with a leading zero, which iptables reads as octal
    (``-d 10.0.0.0/010`` makes 10.0.0.0/8, leaving more unmasqueraded)."""
    misread = []
    for rule in rules.rules:
        cidr = rule.cidr
        if cidr is None or "/0" not in cidr or _rejected_mask(rules.family, cidr) is not None:
            continue  # a length without a leading zero is read as Go read it
        if (meant := misread_prefix(rule.cidr)) is not None:
            misread.append(f"-d {rule.cidr}: its prefix length is octal to iptables: {meant}")
    return misread


def _rejected_mask(family: str, cidr: str) -> str | None:
    """The prefix length iptables-restore refuses (``invalid mask``) in ``cidr`` of the
    ``family`` payload, or None: an IPv4-mapped CIDR's in the IPv4 payload (past 32), or
    one whose leading zero comes before an 8 or a 9 (not octal)."""
    if family == IPV4 and ":" in cidr:
        return cidr.rpartition("/")[2]
    if "/0" not in cidr:  # decimal: the length Go accepted
        return None
    mask = cidr.rpartition("/")[2]
    return mask if len(mask) > 1 and iptables_prefix_length(mask) is None else None


def _masquerade_rules(chain: str, flags: AgentFlags) -> list[Rule]:
    base = ("-m", "comment", "--comment", MASQUERADE_COMMENT, "-j", "MASQUERADE")
    if flags.random_fully:
        base += ("--random-fully",)
    rules = []
    intervals = parse_to_ports(flags.to_ports)
    for protocol in TO_PORTS_PROTOCOLS if intervals else ():
        remaining = sum(interval.size for interval in intervals)
        for position, interval in enumerate(intervals):
            args = (*base, "-p", protocol)
            if position < len(intervals) - 1:
                probability = format_go_float(interval.size / remaining)
                args += ("-m", "statistic", "--mode", "random", "--probability", probability)
            args += ("--to-ports", interval.text())
            remaining -= interval.size
            rules.append(Rule(chain, args, MASQUERADE, f"MASQUERADE {protocol} {interval.text()}"))
    rules.append(Rule(chain, base, MASQUERADE, "final MASQUERADE"))
    return rules


def _return_rule(chain: str, cidr: str, label: str, origin: Origin | None) -> Rule:
    args = ("-m", "comment", "--comment", RETURN_COMMENT, "-d", cidr, "-j", "RETURN")
    return Rule(chain, args, RETURN, label, cidr, origin)


def jump_rule(chain: str, comment: str | None = None) -> Rule:
    """The agent's POSTROUTING jump to ``chain`` (``comment``: another agent's wording)."""
    args = (
        "-m",
        "comment",
        "--comment",
        jump_comment(chain) if comment is None else comment,
        "-m",
        "addrtype",
        "!",
        "--dst-type",
        "LOCAL",
        "-j",
        chain,
    )
    return Rule("POSTROUTING", args, JUMP, "POSTROUTING jump")


def cidr_family(text: str) -> str:
    """The family the agent files a CIDR under (IPv4-mapped IPv6 counts as IPv4, as in Go)."""
    if ":" not in text:
        return IPV4
    parsed = parse_cidr(text)
    if parsed.version == 6 and parsed.address >> 32 != 0xFFFF:
        return IPV6
    return IPV4


def flag_families(flags: AgentFlags) -> tuple[str, ...]:
    """The families the agent writes with ``flags``: IPv4, and IPv6 with --enable-ipv6."""
    return FAMILIES if flags.enable_ipv6 else (IPV4,)


def build_ruleset(
    config: MasqConfig,
    flags: AgentFlags,
    *,
    jump: Callable[[str], Rule] = jump_rule,
    ordered: bool = True,
    other_jumps: Callable[[str], tuple[Rule, ...]] = lambda chain: (),
    flavour: str = "upstream",
) -> Ruleset:
    """The rules one sync of the agent writes, for IPv4 and (with --enable-ipv6) IPv6;
    ``jump`` makes its POSTROUTING jump, ``ordered`` says whether its RETURN rules keep
    their order from sync to sync, ``other_jumps`` makes other agents' jumps to its chain
    (see FamilyRules)."""
    chain = flags.masq_chain
    families = {}
    for family in flag_families(flags):
        rules = []
        masq_link_local = config.masq_link_local if family == IPV4 else config.masq_link_local_ipv6
        if not masq_link_local:
            link_local = LINK_LOCAL_IPV4 if family == IPV4 else LINK_LOCAL_IPV6
            rules.append(_return_rule(chain, link_local, "link-local default", None))
        for entry in config.non_masquerade_cidrs:
            if cidr_family(entry.text) == family:
                rules.append(
                    _return_rule(
                        chain, entry.text, f"{entry.origin.entry} {entry.text}", entry.origin
                    )
                )
        rules.extend(_masquerade_rules(chain, flags))
        families[family] = FamilyRules(
            family, chain, tuple(rules), jump(chain), ordered, other_jumps(chain)
        )
    return Ruleset(config, flags, families, flavour)
