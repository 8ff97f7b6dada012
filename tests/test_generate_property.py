"""generate's configs mean exactly the intent, and no shorter list could (hypothesis).

Intents are drawn from small neighbourhoods (link-local, 10.0.0.0/8, a documentation
range, the ends of each family, the IPv4-mapped block's neighbour) so that their CIDRs
overlap, nest and touch.  The generated config is read back by masqctl's own reader, as
a raw file or a ConfigMap, and explain's verdict on the Ruleset built from it is held
against a reference written here with the standard library: for every CIDR of the
intent (and both link-local ranges) its first and last address and their neighbours,
and random addresses besides.  The reference follows the intent's words:

- ``--masquerade-only X``: masqueraded exactly when the destination is in X;
- ``--non-masquerade A --except B`` (``--from C`` adding C's meaning to A): not
  masqueraded exactly when the destination is in A, or link-local (C's link-local when
  --from says so), and not in B.

IPv6 destinations in ::ffff:0:0/96 are not checked: no IPv6 packet carries one, and
generate may leave the block to the final MASQUERADE because the agent cannot list it
(docs/generate.md).
"""

from __future__ import annotations

import ipaddress
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from masqctl.agent import AgentFlags
from masqctl.agent_setup import AgentInputs, effective_ruleset
from masqctl.config.load import load_config
from masqctl.explain.addresses import parse_target
from masqctl.explain.config_mode import ConfigExplainer
from masqctl.flavours import get_flavour
from masqctl.generate import Generated, Intent, generate
from masqctl.render.generated import render_generated
from masqctl.validate import validate_paths

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
BITS = {4: 32, 6: 128}
NETWORK = {4: ipaddress.IPv4Network, 6: ipaddress.IPv6Network}
ADDRESS = {4: ipaddress.IPv4Address, 6: ipaddress.IPv6Address}
LINK_LOCAL = {4: ipaddress.ip_network("169.254.0.0/16"), 6: ipaddress.ip_network("fe80::/10")}
MAPPED = ipaddress.ip_network("::ffff:0:0/96")
NEIGHBOURHOODS = {
    4: (0x0A000000, 0xA9FE0000, 0xC0000200, 0, 2**32 - 4096),
    6: (
        int(ipaddress.IPv6Address("fe80::")),
        int(ipaddress.IPv6Address("2001:db8::")),
        int(ipaddress.IPv6Address("::fffe:0:0")),
        0,
        2**128 - 4096,
    ),
}


@st.composite
def networks(draw, version: int) -> Network:
    bits = BITS[version]
    base = draw(st.sampled_from(NEIGHBOURHOODS[version]))
    value = draw(st.one_of(st.integers(0, 2**bits - 1), st.integers(base, base + 4095)))
    prefix = draw(st.one_of(st.integers(0, bits), st.integers(bits - 14, bits)))
    return NETWORK[version]((value, prefix), strict=False)


def cidr_lists(ipv6: bool, min_size: int = 0, max_size: int = 5) -> st.SearchStrategy:
    """CIDRs as the intent takes them (never inside ::ffff:0:0/96, which it refuses)."""
    one = st.one_of(networks(4), networks(6)) if ipv6 else networks(4)
    usable = one.filter(lambda net: not (net.version == 6 and net.subnet_of(MAPPED)))
    return st.lists(usable, min_size=min_size, max_size=max_size)


@dataclass
class Base:
    """The config --from names."""

    cidrs: list[Network]
    masq_link_local: dict[int, bool]

    def text(self) -> str:
        items = "".join(f"  - {net}\n" for net in self.cidrs)
        return (
            ("nonMasqueradeCIDRs:\n" + items if items else "nonMasqueradeCIDRs: []\n")
            + f"masqLinkLocal: {str(self.masq_link_local[4]).lower()}\n"
            + f"masqLinkLocalIPv6: {str(self.masq_link_local[6]).lower()}\n"
        )


@dataclass
class Case:
    """One drawn intent."""

    ipv6: bool
    masquerade_only: list[Network] = field(default_factory=list)
    non_masquerade: list[Network] = field(default_factory=list)
    exceptions: list[Network] = field(default_factory=list)
    base: Base | None = None

    def intent(self, start_from: str | None) -> Intent:
        def texts(nets: list[Network]) -> tuple[str, ...]:
            return tuple(str(net) for net in nets)

        return Intent(
            masquerade_only=texts(self.masquerade_only),
            non_masquerade=texts(self.non_masquerade),
            exceptions=texts(self.exceptions),
            start_from=start_from,
            enable_ipv6=self.ipv6,
        )

    def networks(self) -> list[Network]:
        base = self.base.cidrs if self.base else []
        named = self.masquerade_only + self.non_masquerade + self.exceptions + base
        return named + [LINK_LOCAL[4]] + ([LINK_LOCAL[6]] if self.ipv6 else [])


@st.composite
def cases(draw) -> Case:
    ipv6 = draw(st.booleans())
    mode = draw(st.sampled_from(("masquerade-only", "non-masquerade", "from")))
    if mode == "masquerade-only":
        return Case(ipv6, masquerade_only=draw(cidr_lists(ipv6, min_size=1)))
    base = None
    if mode == "from":
        flags = {4: draw(st.booleans()), 6: ipv6 and draw(st.booleans())}
        base = Base(draw(cidr_lists(ipv6, max_size=6)), flags)
    minimum = 1 if mode == "non-masquerade" else 0
    return Case(
        ipv6,
        non_masquerade=draw(cidr_lists(ipv6, min_size=minimum)),
        exceptions=draw(cidr_lists(ipv6)),
        base=base,
    )


def hit(networks: list[Network], address: Address) -> bool:
    return any(address in net for net in networks if net.version == address.version)


def intended_masquerade(case: Case, address: Address) -> bool:
    """The reference: whether the intent masquerades traffic to ``address``."""
    if case.masquerade_only:
        return hit(case.masquerade_only, address)
    link_local = address in LINK_LOCAL[address.version]
    if case.base is None:
        start = link_local
    else:
        exempt = link_local and not case.base.masq_link_local[address.version]
        start = exempt or hit(case.base.cidrs, address)
    return not ((start or hit(case.non_masquerade, address)) and not hit(case.exceptions, address))


def boundaries(networks: list[Network]) -> list[Address]:
    """Each network's first and last address and their neighbours."""
    found = []
    for net in networks:
        top = 2 ** BITS[net.version] - 1
        first, last = int(net.network_address), int(net.broadcast_address)
        values = {first, last, max(first - 1, 0), min(last + 1, top)}
        found.extend(ADDRESS[net.version](value) for value in sorted(values))
    return found


def generated_for(case: Case, directory: Path) -> Generated:
    """generate's answer for the case, --from's config written to ``directory``."""
    if case.base is None:
        return generate(case.intent(None))
    path = directory / "base.yaml"
    path.write_text(case.base.text())
    base = load_config([str(path)], AgentFlags(enable_ipv6=case.ipv6), get_flavour("upstream"))
    return generate(case.intent(str(path)), base)


@settings(max_examples=250, deadline=None)
@given(
    cases(),
    st.sampled_from(("config", "configmap")),
    st.lists(st.integers(0, 2**32 - 1), max_size=10),
    st.lists(st.integers(0, 2**128 - 1), max_size=10),
)
def test_explain_gives_the_intended_verdict_for_every_address(case, output, random4, random6):
    flags = AgentFlags(enable_ipv6=case.ipv6)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "generated.yaml"
        path.write_text(render_generated(generated_for(case, Path(scratch)), "upstream", output))
        explainer = ConfigExplainer(effective_ruleset([str(path)], flags))
        report = validate_paths([str(path)], AgentInputs(given={"enable_ipv6": case.ipv6}))
    assert [finding.rule for finding in report.findings] == []
    addresses = boundaries(case.networks()) + [ipaddress.IPv4Address(v) for v in random4]
    if case.ipv6:
        addresses += [ipaddress.IPv6Address(value) for value in random6]
    for address in addresses:
        if address.version == 6 and (not case.ipv6 or address in MAPPED):
            continue
        verdict = explainer.explain(parse_target(str(address))).outcome.verdict
        expected = "masquerade" if intended_masquerade(case, address) else "no-masquerade"
        assert verdict == expected, f"{address}: {verdict}, meant {expected}"


# ---- the shortest list: against an exhaustive search on the address trie ------------

Intervals = list[tuple[int, int]]


def coalesced(intervals: Intervals) -> Intervals:
    merged: Intervals = []
    for first, last in sorted(intervals):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def of(networks: list[Network], version: int) -> Intervals:
    return coalesced(
        [
            (int(net.network_address), int(net.broadcast_address))
            for net in networks
            if net.version == version
        ]
    )


def minus(intervals: Intervals, removed: Intervals) -> Intervals:
    result = []
    for first, last in intervals:
        pieces = [(first, last)]
        for cut_first, cut_last in removed:
            pieces = [
                piece
                for lo, hi in pieces
                for piece in ((lo, min(hi, cut_first - 1)), (max(lo, cut_last + 1), hi))
                if piece[0] <= piece[1]
            ]
        result.extend(pieces)
    return result


def intended_intervals(case: Case, version: int) -> Intervals:
    """The destinations of ``version`` the intent leaves unmasqueraded."""
    if case.masquerade_only:
        return minus([(0, 2 ** BITS[version] - 1)], of(case.masquerade_only, version))
    start = [LINK_LOCAL[version]]
    if case.base is not None:
        start = case.base.cidrs + ([] if case.base.masq_link_local[version] else start)
    kept = of(start + case.non_masquerade, version)
    return coalesced(minus(kept, of(case.exceptions, version)))


def fewest_cidrs(required: Intervals, allowed: Intervals, bits: int) -> int:
    """The fewest CIDRs covering ``required`` and inside ``allowed`` (coalesced lists)."""

    def search(first: int, prefix: int) -> int:
        last = first + 2 ** (bits - prefix) - 1
        if not any(lo <= last and first <= hi for lo, hi in required):
            return 0
        if any(lo <= first and last <= hi for lo, hi in allowed):
            return 1
        half = 2 ** (bits - prefix - 1)
        return search(first, prefix + 1) + search(first + half, prefix + 1)

    return search(0, 0)


@settings(max_examples=250, deadline=None)
@given(cases())
def test_the_list_is_the_shortest_with_that_meaning(case):
    with tempfile.TemporaryDirectory() as scratch:
        generated = generated_for(case, Path(scratch))
    for family in generated.families:
        version = 4 if family.family == "ipv4" else 6
        intended = intended_intervals(case, version)
        assert [(int(n.first), int(n.last)) for n in family.intended.iter_ipranges()] == intended
        optional = [] if family.masq_link_local else of([LINK_LOCAL[version]], version)
        if version == 6:
            optional = coalesced(optional + of([MAPPED], 6))
        required = minus(intended, optional)
        assert len(family.cidrs) == fewest_cidrs(required, intended, BITS[version])
        starts = [int(ipaddress.ip_network(cidr).network_address) for cidr in family.cidrs]
        assert starts == sorted(starts)
