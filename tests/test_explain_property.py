"""Config-mode verdicts agree with a simple reference of the agent's chain, for random
configs and addresses (hypothesis).

The reference walks the chain as iptables does: the link-local RETURN unless
masqLinkLocal, then one RETURN per nonMasqueradeCIDRs entry in order, then MASQUERADE;
the first rule whose ``-d`` contains the address decides.
"""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from masqctl.agent import AgentFlags
from masqctl.explain.addresses import parse_target
from masqctl.explain.config_mode import ConfigExplainer
from masqctl.model import CIDREntry, MasqConfig, Origin
from masqctl.ruleset import build_ruleset

#: Small neighbourhoods, so that random CIDRs overlap, nest and touch.
NEIGHBOURHOODS = (0x0A000000, 0xC0000200, 0xA9FE0000, 0xCB007100)


@st.composite
def ipv4_values(draw) -> int:
    base = draw(st.sampled_from(NEIGHBOURHOODS))
    return draw(st.one_of(st.integers(0, 2**32 - 1), st.integers(base, base + 1023)))


@st.composite
def ipv4_cidrs(draw) -> str:
    value = draw(ipv4_values())
    prefix = draw(st.one_of(st.integers(0, 32), st.integers(20, 32)))
    return str(ipaddress.ip_network((value, prefix), strict=False))


def reference(cidrs: list[str], masq_link_local: bool, address: int) -> tuple[str, int, list]:
    """(verdict, 1-based rule index, later RETURN indexes that contain the address)."""
    chain = ([] if masq_link_local else ["169.254.0.0/16"]) + cidrs
    hits = [
        number
        for number, cidr in enumerate(chain, 1)
        if ipaddress.ip_address(address) in ipaddress.ip_network(cidr)
    ]
    if hits:
        return "no-masquerade", hits[0], hits[1:]
    return "masquerade", len(chain) + 1, []


def explainer(cidrs: list[str], masq_link_local: bool, local: list[int]) -> ConfigExplainer:
    entries = tuple(
        CIDREntry(text, index, Origin("t.yaml", index + 2, 5, f"nonMasqueradeCIDRs[{index}]"))
        for index, text in enumerate(cidrs)
    )
    config = MasqConfig(non_masquerade_cidrs=entries, masq_link_local=masq_link_local)
    addresses = [str(ipaddress.IPv4Address(value)) for value in local]
    return ConfigExplainer(build_ruleset(config, AgentFlags()), addresses)


@settings(max_examples=300, deadline=None)
@given(st.lists(ipv4_cidrs(), max_size=12), st.booleans(), st.lists(ipv4_values(), max_size=20))
def test_address_verdicts_match_the_reference(cidrs, masq_link_local, addresses):
    subject = explainer(cidrs, masq_link_local, [])
    for address in addresses:
        text = str(ipaddress.IPv4Address(address))
        outcome = subject.explain(parse_target(text)).outcome
        verdict, index, shadowed = reference(cidrs, masq_link_local, address)
        assert (outcome.verdict, outcome.rule.index) == (verdict, index), text
        assert [item.rule.index for item in outcome.shadowed] == shadowed, text


@settings(max_examples=150, deadline=None)
@given(
    st.lists(ipv4_cidrs(), max_size=8),
    st.booleans(),
    ipv4_values(),
    st.integers(26, 32),
    st.lists(ipv4_values(), max_size=3),
)
def test_every_address_of_a_cidr_is_in_a_part_with_its_own_verdict(
    cidrs, masq_link_local, value, prefix, local
):
    network = ipaddress.ip_network((value, prefix), strict=False)
    explanation = explainer(cidrs, masq_link_local, local).explain(parse_target(str(network)))
    parts = explanation.parts or ()
    for address in network:
        if int(address) in local:
            expected = ("not-handled", None)
        else:
            verdict, index, _ = reference(cidrs, masq_link_local, int(address))
            expected = (verdict, index)
        if parts:
            [outcome] = [
                part.outcome
                for part in parts
                if any(address in ipaddress.ip_network(cidr) for cidr in part.cidrs)
            ]
        else:
            outcome = explanation.outcome
        assert (outcome.verdict, outcome.rule and outcome.rule.index) == expected, str(address)
