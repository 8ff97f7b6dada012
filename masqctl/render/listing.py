"""render --format list: what ``iptables -t nat -L CHAIN`` prints (``-n``, ``-v``).

Each rule is printed from the canonical form diff compares (masqctl.diff.Desired), field by
field as iptables 1.8.9 prints it (iptables/xshared.c ``print_header``,
``print_rule_details``, ``print_ifaces``, ``print_ipv4_addresses``; the extensions' print
functions), for nft and legacy alike: they print the same bytes.  Counters are zero: the
listing of a chain just written.  Only what the agents write can be shown; any other
match or target is a MasqctlError rather than a guess.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from masqctl.errors import MasqctlError
from masqctl.explain.matches import option_values
from masqctl.netfilter.listing_reader import PROTOCOL_NAMES, PROTOCOLS
from masqctl.netfilter.save_parser import ipv6_text
from masqctl.render.save_form import probability_text
from masqctl.ruleset import IPV6, FamilyRules

#: libxt_addrtype's rtn_names, in bit order (the order -L prints them in).
ADDRESS_TYPES = (
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
)
_BASIC = ("-s", "-d", "-i", "-o", "-p")


@dataclass
class _Rule:
    """A canonical rule split into what the listing prints."""

    basic: dict[str, tuple[bool, str]] = field(default_factory=dict)
    blocks: list[list[str]] = field(default_factory=list)
    target: str = ""
    target_options: list[str] = field(default_factory=list)


def _split(canonical: tuple[str, ...]) -> _Rule:
    rule = _Rule()
    index, count = 0, len(canonical)
    while index < count:
        negated = canonical[index] == "!" and index + 1 < count and canonical[index + 1] in _BASIC
        if negated:
            index += 1
        word = canonical[index]
        if word in _BASIC and not rule.blocks and index + 1 < count:
            rule.basic[word] = (negated, canonical[index + 1])
            index += 2
        elif word == "-m" and index + 1 < count:
            rule.blocks.append([canonical[index + 1]])
            index += 2
        elif word == "-j" and index + 1 < count:
            rule.target = canonical[index + 1]
            rule.target_options = list(canonical[index + 2 :])
            break
        elif rule.blocks:
            rule.blocks[-1].append(word)
            index += 1
        else:
            raise _cannot(canonical, word)
    return rule


def _cannot(canonical: tuple[str, ...], what: str) -> MasqctlError:
    return MasqctlError(
        f"cannot print {what!r} as iptables -L does (rule: {' '.join(canonical)}); "
        "use --format save"
    )


class Lister:
    """Prints rules as ``iptables -L`` (``numeric``: ``-n``; ``verbose``: ``-v``)."""

    def __init__(
        self,
        family: str,
        numeric: bool = False,
        verbose: bool = False,
        hosts: dict[tuple[int, bytes], str] | None = None,
    ) -> None:
        self.family = family
        self.numeric = numeric
        self.verbose = verbose
        if hosts is None and not numeric:
            from masqctl.netfilter.hosts_file import read_hosts

            hosts = read_hosts()
        self.hosts = hosts or {}

    def header(self, chain: str, references: int) -> list[str]:
        """``Chain NAME (N references)`` and the column titles."""
        columns = [" pkts bytes " if self.verbose else "", f"{'target':<9}  prot opt"]
        if self.verbose:
            columns.append(f" {'in':<6} {'out':<6} ")
        columns.append(f" {'source':<19}  {'destination':<19} ")
        return [f"Chain {chain} ({references} references)", "".join(columns)]

    def line(self, canonical: tuple[str, ...]) -> str:
        """One rule as the listing prints it (zero counters with ``verbose``)."""
        rule = _split(canonical)
        parts = [f"{0:>5} {0:>5} " if self.verbose else "", f"{rule.target:<9} "]
        negated, protocol = rule.basic.get("-p", (False, "all"))
        number = PROTOCOLS.get(protocol)
        if number is None:
            raise _cannot(canonical, f"-p {protocol}")
        shown = str(number) if self.numeric else PROTOCOL_NAMES[number]
        parts.append(f"{'!' if negated else ' '}{shown:<4} -- ")
        if self.verbose:
            any_name = "*" if self.numeric else "any"
            for option, width in (("-i", " {:<6} "), ("-o", "{:<6} ")):
                negated, name = rule.basic.get(option, (False, any_name))
                parts.append(width.format(("!" if negated else "") + name))
        for option in ("-s", "-d"):
            negated, address = rule.basic.get(option, (False, ""))
            parts.append(f"{'!' if negated else ' '}{self.address(address):<19} ")
        parts.extend(_match_text(block, canonical) for block in rule.blocks)
        parts.append(_target_text(rule, canonical))
        return "".join(parts)

    def address(self, text: str) -> str:
        """A canonical ``-s``/``-d`` value (empty: every address) as the listing shows it."""
        if self.family == IPV6:
            return self._ipv6_address(text or "::/0")
        address, _, mask = (text or "0.0.0.0/0").partition("/")
        mask = mask or "32"
        if mask == "0" and not self.numeric:
            return "anywhere"
        suffix = "" if mask in ("32", "255.255.255.255") else f"/{mask}"
        return self._name(socket.AF_INET, socket.inet_pton(socket.AF_INET, address)) + suffix

    def _ipv6_address(self, text: str) -> str:
        address, _, prefix = text.partition("/")
        packed = socket.inet_pton(socket.AF_INET6, address)
        if not any(packed) and not self.numeric:
            return "anywhere"  # ipv6_addr_to_string: an unspecified address, whatever its mask
        suffix = "" if prefix in ("", "128") else f"/{prefix}"
        return self._name(socket.AF_INET6, packed) + suffix

    def _name(self, family: int, packed: bytes) -> str:
        if not self.numeric and (family, packed) in self.hosts:
            return self.hosts[(family, packed)]
        return socket.inet_ntop(family, packed) if family == socket.AF_INET else ipv6_text(packed)


def _match_text(block: list[str], canonical: tuple[str, ...]) -> str:
    name = block[0]
    if name == "comment" and len(block) == 3 and block[1] == "--comment":
        return f" /* {block[2]} */"
    options = option_values(["-m", *block])
    if name == "addrtype" and set(options) <= {"--src-type", "--dst-type"}:
        text = " ADDRTYPE match"
        for option, title in (("--src-type", "src-type"), ("--dst-type", "dst-type")):
            if option in options:
                negated, types = options[option]
                wanted = set((types or "").split(","))
                if not wanted <= set(ADDRESS_TYPES):
                    raise _cannot(canonical, f"{option} {types}")
                ordered = ",".join(kind for kind in ADDRESS_TYPES if kind in wanted)
                text += f" {title} {'!' if negated else ''}{ordered}"
        return text
    if name == "statistic" and set(options) == {"--mode", "--probability"}:
        negated, value = options["--probability"]
        if options["--mode"][1] == "random" and value is not None:
            return f" statistic mode random{' !' if negated else ''} probability " + (
                probability_text(value)
            )
    raise _cannot(canonical, f"-m {name}")


def _target_text(rule: _Rule, canonical: tuple[str, ...]) -> str:
    """What the target prints after the matches: MASQUERADE its ports and flags
    (libxt_NAT's ``__NAT_print``), RETURN and chain jumps nothing."""
    options = list(rule.target_options)
    if not rule.target or (options and rule.target != "MASQUERADE"):
        raise _cannot(canonical, " ".join(["-j", rule.target, *options]))
    ports = ""
    if options[:1] == ["--to-ports"] and len(options) > 1:
        first, _, last = options[1].partition("-")
        ports = f" masq ports: {first}" + (f"-{last}" if last and last != first else "")
        del options[:2]
    flags = [option for option in ("--random", "--random-fully") if option in options]
    if len(flags) != len(options):
        raise _cannot(canonical, " ".join(rule.target_options))
    return ports + "".join(f" {flag[2:]}" for flag in flags)


def listing_lines(
    rules: FamilyRules,
    numeric: bool = False,
    verbose: bool = False,
    hosts: dict[tuple[int, bytes], str] | None = None,
) -> list[str]:
    """``iptables -t nat -L CHAIN`` after one sync: the agent's jump is its one reference."""
    from masqctl.diff import Desired

    desired = Desired(rules)
    lister = Lister(rules.family, numeric, verbose, hosts)
    lines = lister.header(rules.chain, 1)
    lines.extend(lister.line(desired.canonical_at(index)) for index in range(len(rules.rules)))
    return lines


def listing_text(rules: FamilyRules, numeric: bool = False, verbose: bool = False) -> str:
    """``render --format list``: :func:`listing_lines`, one a line."""
    return "".join(f"{line}\n" for line in listing_lines(rules, numeric, verbose))
