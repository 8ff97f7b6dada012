"""generate: the shortest nonMasqueradeCIDRs list with exactly the meaning asked for.

The agent knows one sentence, "do not masquerade these": per address family it exempts
link-local first (unless masqLinkLocal / masqLinkLocalIPv6), then every listed CIDR, and
masquerades the rest.  An intent ("masquerade only X"; "do not masquerade A, except B";
"start from this config") becomes, per family, the set of destinations that must not be
masqueraded, and that set becomes the fewest CIDRs that, with the agent's own link-local
exemption, cover exactly it.  The set arithmetic is netaddr's.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from netaddr import IPNetwork, IPSet

from masqctl.agent import LINK_LOCAL_IPV4, LINK_LOCAL_IPV6, AgentFlags
from masqctl.config.goparse import CIDRError, format_address, is_ipv4_mapped, parse_cidr
from masqctl.errors import InputError, UsageError
from masqctl.explain.verdict import MASQUERADE, MIXED, NO_MASQUERADE
from masqctl.flavours.base import Flavour
from masqctl.model import MasqConfig
from masqctl.ruleset import IPV4, IPV6, cidr_family

#: Every address of a family.
UNIVERSE = {IPV4: "0.0.0.0/0", IPV6: "::/0"}
LINK_LOCAL = {IPV4: LINK_LOCAL_IPV4, IPV6: LINK_LOCAL_IPV6}
#: The config key that stops the agent exempting a family's link-local range.
LINK_LOCAL_KEY = {IPV4: "masqLinkLocal", IPV6: "masqLinkLocalIPv6"}
#: IPv4-mapped IPv6 addresses: Go prints a CIDR whose address lies here as IPv4, so the
#: agent files it under IPv4 and iptables-restore rejects it; no IPv6 packet on the wire
#: carries such a destination.  A generated list never holds a CIDR inside this block.
IPV4_MAPPED = "::ffff:0:0/96"


@dataclass(frozen=True)
class Intent:
    """What the user asked for, as given on the command line."""

    masquerade_only: tuple[str, ...] = ()
    non_masquerade: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    start_from: str | None = None
    enable_ipv6: bool = False
    flavour: str = "upstream"
    nomasq_all_reserved_ranges: bool | None = None

    def __post_init__(self) -> None:
        if self.masquerade_only and (self.non_masquerade or self.start_from or self.exceptions):
            raise UsageError(
                "--masquerade-only already says that everything else is not masqueraded: "
                "give it alone, or use --non-masquerade/--from with --except"
            )
        if not (self.masquerade_only or self.non_masquerade or self.start_from):
            raise UsageError(
                "say what to generate: --masquerade-only CIDR..., or --non-masquerade "
                "CIDR... and/or --from CONFIG, with --except CIDR... for the exceptions"
            )

    def command_line(self) -> str:
        """The command that states this intent, for the record in generated files."""
        words = ["masqctl", "generate"]
        if self.masquerade_only:
            words += ["--masquerade-only", ",".join(self.masquerade_only)]
        if self.start_from is not None:
            words += ["--from", shlex.quote(self.start_from)]
        listed = (("--non-masquerade", self.non_masquerade), ("--except", self.exceptions))
        for option, values in listed:
            if values:
                words += [option, ",".join(values)]
        words += ["--flavour", self.flavour]
        if self.enable_ipv6:
            words.append("--enable-ipv6")
        if self.nomasq_all_reserved_ranges is not None:
            prefix = "" if self.nomasq_all_reserved_ranges else "no-"
            words.append(f"--{prefix}nomasq-all-reserved-ranges")
        return " ".join(words)


def split_cidr_values(option: str, values: Iterable[str] | None) -> tuple[str, ...]:
    """The CIDRs of a repeatable option whose values may also be comma-separated."""
    found = []
    for value in values or ():
        for part in value.split(","):
            text = part.strip()
            if not text:
                raise UsageError(f"{option}: empty CIDR in {value!r}")
            found.append(text)
    return tuple(found)


def parse_intent_cidr(option: str, text: str, enable_ipv6: bool) -> IPNetwork:
    """One CIDR of the intent, held to the agent's own rules (net.ParseCIDR, aligned)."""
    try:
        parsed = parse_cidr(text)
    except CIDRError as error:
        raise UsageError(f"{option}: {error}") from None
    if not parsed.aligned:
        raise UsageError(
            f'{option}: CIDR "{text}" has host bits set (did you mean {parsed.network_text()}?)'
        )
    if is_ipv4_mapped(parsed):
        ipv4 = f"{format_address(parsed.network & 0xFFFFFFFF, 4)}/{parsed.prefix - 96}"
        raise UsageError(
            f'{option}: "{text}" is an IPv4-mapped IPv6 CIDR, which the agent files as '
            f"IPv4; write {ipv4}"
        )
    if parsed.version == 6 and not enable_ipv6:
        raise UsageError(
            f'{option}: "{text}" is IPv6: add --enable-ipv6 (the agent refuses IPv6 CIDRs '
            "without it)"
        )
    return IPNetwork(parsed.network_text())


def cidr_text(network: IPNetwork) -> str:
    """A CIDR in Go's notation (netaddr writes some IPv6 addresses the IPv4 way)."""
    return f"{format_address(int(network.first), network.version)}/{network.prefixlen}"


@dataclass(frozen=True)
class FamilyList:
    """One family's answer: the destinations meant to keep the pod address, the list
    entries that say so, and whether the agent's link-local exemption stays."""

    family: str
    #: Every destination of this family that must not be masqueraded.
    intended: IPSet
    #: The list entries (Go's notation, address order).
    cidrs: tuple[str, ...]
    masq_link_local: bool
    #: IPv6: ::ffff:0:0/96 is intended unmasqueraded but left out of the list.
    mapped_left_out: bool = False

    @property
    def link_local(self) -> str:
        return LINK_LOCAL[self.family]

    def link_local_verdict(self) -> str:
        """masquerade, no-masquerade, or mixed: what happens to the link-local range."""
        link_local = IPSet([self.link_local])
        if link_local.issubset(self.intended):
            return NO_MASQUERADE
        return MASQUERADE if link_local.isdisjoint(self.intended) else MIXED

    def masqueraded_link_local(self) -> list[str]:
        """The parts of the link-local range that are masqueraded."""
        masqueraded = IPSet([self.link_local]) - self.intended
        return [cidr_text(network) for network in masqueraded.iter_cidrs()]


@dataclass(frozen=True)
class Generated:
    """The generated config: each family's list, and what --from carries over."""

    intent: Intent
    families: tuple[FamilyList, ...]
    #: --from's cidrLimit and resyncInterval, when that config set them.
    cidr_limit: int | None = None
    resync_interval_ns: int | None = None

    @property
    def cidrs(self) -> tuple[str, ...]:
        """Every list entry: IPv4 first, then IPv6."""
        return tuple(cidr for family in self.families for cidr in family.cidrs)

    def family(self, name: str) -> FamilyList | None:
        return next((family for family in self.families if family.family == name), None)


def _networks(option: str, texts: Sequence[str], family: str, enable_ipv6: bool) -> IPSet:
    networks = [parse_intent_cidr(option, text, enable_ipv6) for text in texts]
    version = 4 if family == IPV4 else 6
    return IPSet(network for network in networks if network.version == version)


def refuse_rejected_start(path: str, base: MasqConfig, flavour: Flavour, flags: AgentFlags) -> None:
    """InputError when iptables-restore rejects what the agent writes for the --from
    config (an IPv4-mapped CIDR, a prefix length with a leading zero): every sync fails,
    so the config means nothing to start from."""
    from masqctl.ruleset import payload_problems

    for family in flavour.ruleset(base, flags).families.values():
        problems = payload_problems(family)
        if problems:
            raise InputError(
                f"{path}: the agent writes a payload iptables-restore rejects for this config "
                f"({problems[0]}), so every sync fails and it means nothing to start from: "
                f"fix it first (masqctl validate {shlex.quote(path)})"
            )


def _starting_set(base: MasqConfig | None, family: str) -> IPSet:
    """What is not masqueraded before the intent: --from's meaning, else the agent's own
    link-local exemption alone."""
    if base is None:
        return IPSet([LINK_LOCAL[family]])
    version = 4 if family == IPV4 else 6
    networks = (
        IPNetwork(entry.text)
        for entry in base.non_masquerade_cidrs
        if cidr_family(entry.text) == family
    )
    start = IPSet(network for network in networks if network.version == version)
    masq_link_local = base.masq_link_local if family == IPV4 else base.masq_link_local_ipv6
    return start if masq_link_local else start | IPSet([LINK_LOCAL[family]])


def intended_set(intent: Intent, base: MasqConfig | None, family: str) -> IPSet:
    """The destinations of ``family`` that the intent leaves unmasqueraded."""
    ipv6 = intent.enable_ipv6
    if intent.masquerade_only:
        masqueraded = _networks("--masquerade-only", intent.masquerade_only, family, ipv6)
        return IPSet([UNIVERSE[family]]) - masqueraded
    added = _networks("--non-masquerade", intent.non_masquerade, family, ipv6)
    removed = _networks("--except", intent.exceptions, family, ipv6)
    return (_starting_set(base, family) | added) - removed


def shortest_list(intended: IPSet, optional: Sequence[str]) -> tuple[list[IPNetwork], set[str]]:
    """The fewest CIDRs that cover ``intended`` save, at most, the ``optional`` blocks.

    A block is optional when the config does not need to list it (the agent exempts
    link-local itself) or cannot (IPv4-mapped IPv6).  Each way of leaving optional
    blocks out is aggregated by netaddr; the shortest list wins, and among equals the
    one that leaves out least, so the list means as much as it can on its own.  (A list
    that names a block inside an optional one is never the shortest: leaving that block
    out saves its entry.  So no list names a CIDR inside ::ffff:0:0/96.)
    Returns the list and the optional blocks it leaves out.
    """
    best: tuple[list[IPNetwork], set[str]] = (list(intended.iter_cidrs()), set())
    for count in range(1, len(optional) + 1):
        for left_out in combinations(optional, count):
            cidrs = list((intended - IPSet(left_out)).iter_cidrs())
            if len(cidrs) < len(best[0]):
                best = (cidrs, set(left_out))
    return best


def family_list(intent: Intent, base: MasqConfig | None, family: str) -> FamilyList:
    """One family's list and link-local setting for the intent."""
    intended = intended_set(intent, base, family)
    link_local = LINK_LOCAL[family]
    # The agent's own exemption covers all of link-local or none of it: keep it exactly
    # when every link-local destination is meant to stay unmasqueraded.
    masq_link_local = not IPSet([link_local]).issubset(intended)
    optional = [] if masq_link_local else [link_local]
    if family == IPV6:
        optional.append(IPV4_MAPPED)
    cidrs, left_out = shortest_list(intended, optional)
    mapped_left_out = IPV4_MAPPED in left_out and not intended.isdisjoint(IPSet([IPV4_MAPPED]))
    return FamilyList(
        family,
        intended,
        tuple(cidr_text(network) for network in cidrs),
        masq_link_local,
        mapped_left_out,
    )


def generate(intent: Intent, base: MasqConfig | None = None) -> Generated:
    """The config for ``intent``; ``base`` is the config --from names, as the agent reads it."""
    families = (IPV4, IPV6) if intent.enable_ipv6 else (IPV4,)
    explicit = base.key_origins if base is not None else {}
    return Generated(
        intent,
        tuple(family_list(intent, base, family) for family in families),
        cidr_limit=base.cidr_limit if base is not None and "cidrLimit" in explicit else None,
        resync_interval_ns=base.resync_interval_ns
        if base is not None and "resyncInterval" in explicit
        else None,
    )
