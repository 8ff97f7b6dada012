"""render's payloads restored by the real iptables-restore (nft and legacy) in a namespace."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from masqctl.agent import AgentFlags
from masqctl.model import CIDREntry, MasqConfig, Origin
from masqctl.render.iptables import restore_payload
from masqctl.ruleset import build_ruleset
from tests.netns import Namespace, namespace, require_netfilter, tool

BACKENDS = ("nft", "legacy")


@pytest.fixture(scope="module")
def ns() -> Iterator[Namespace]:
    require_netfilter()
    with namespace("mqrender") as created:
        yield created


def restore_and_save(ns: Namespace, backend: str, family: str, text: str) -> list[str]:
    """Restore ``text`` with --noflush, return the chain's rules as iptables-save prints them."""
    ns.run([tool(backend, "restore", family), "--noflush"], input=text)
    saved = ns.run([tool(backend, "save", family), "-t", "nat"]).stdout
    return [line for line in saved.splitlines() if line.startswith("-A IP-MASQ-AGENT ")]


def config_of(cidrs: list[str], **keys: object) -> MasqConfig:
    entries = tuple(
        CIDREntry(text, index, Origin("t.yaml", index + 1, 5, f"nonMasqueradeCIDRs[{index}]"))
        for index, text in enumerate(cidrs)
    )
    return MasqConfig(non_masquerade_cidrs=entries, **keys)  # type: ignore[arg-type]


@pytest.mark.netfilter
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_default_payload_restores_and_saves_as_the_agent_writes_it(
    ns: Namespace, backend: str, family: str
) -> None:
    flags = AgentFlags(enable_ipv6=True, to_ports="1024-29999,32768-65535")
    cidrs = ["10.0.0.0/8", "fc00::/7"]
    text = restore_payload(build_ruleset(config_of(cidrs), flags).family(family))
    saved = restore_and_save(ns, backend, family, text)
    link_local, cidr = (
        ("fe80::/10", "fc00::/7") if family == "ipv6" else ("169.254.0.0/16", "10.0.0.0/8")
    )
    comment = '-m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE"'
    assert saved[:2] == [
        f"-A IP-MASQ-AGENT -d {link_local} {comment} -j RETURN",
        f"-A IP-MASQ-AGENT -d {cidr} {comment} -j RETURN",
    ]
    assert len(saved) == 2 + 3 * 2 + 1
    assert saved[-1].endswith("-j MASQUERADE --random-fully")


ipv4_networks = st.builds(
    lambda address, prefix: str(
        ipaddress.ip_network(f"{ipaddress.IPv4Address(address)}/{prefix}", strict=False)
    ),
    st.integers(0, 2**32 - 1),
    st.integers(1, 32),
)
ipv6_networks = st.builds(
    lambda address, prefix: str(
        ipaddress.ip_network(f"{ipaddress.IPv6Address(address)}/{prefix}", strict=False)
    ),
    st.integers(0, 2**128 - 1),
    st.integers(1, 128),
)
port_intervals = st.lists(
    st.tuples(st.integers(1, 65535), st.integers(0, 2000)), min_size=0, max_size=3
).map(
    lambda pairs: ",".join(
        f"{first}-{min(first + span, 65535)}" if span else str(first) for first, span in pairs
    )
)


@pytest.mark.netfilter
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cidrs=st.lists(ipv4_networks | ipv6_networks, max_size=12),
    link_local=st.booleans(),
    random_fully=st.booleans(),
    to_ports=port_intervals,
    backend=st.sampled_from(BACKENDS),
    family=st.sampled_from(["ipv4", "ipv6"]),
)
def test_random_valid_configs_restore_cleanly_with_one_return_per_cidr_in_order(
    ns: Namespace,
    cidrs: list[str],
    link_local: bool,
    random_fully: bool,
    to_ports: str,
    backend: str,
    family: str,
) -> None:
    flags = AgentFlags(enable_ipv6=True, random_fully=random_fully, to_ports=to_ports)
    config = config_of(cidrs, masq_link_local=link_local, masq_link_local_ipv6=link_local)
    text = restore_payload(build_ruleset(config, flags).family(family))
    saved = restore_and_save(ns, backend, family, text)
    version = 6 if family == "ipv6" else 4
    expected = [] if link_local else ["fe80::/10" if version == 6 else "169.254.0.0/16"]
    expected += [c for c in cidrs if ipaddress.ip_network(c).version == version]
    returns = [
        ipaddress.ip_network(re.search(r" -d (\S+) ", line).group(1))  # type: ignore[union-attr]
        for line in saved
        if line.endswith("-j RETURN")
    ]  # iptables-save prints ::1:0/112 as ::0.1.0.0/112: compare as networks
    assert returns == [ipaddress.ip_network(c) for c in expected]
    masquerades = saved[len(returns) :]
    intervals = [part for part in to_ports.split(",") if part]
    assert len(masquerades) == 3 * len(intervals) + 1
    assert all("-j MASQUERADE" in line for line in masquerades)
    assert masquerades[-1].endswith("-j MASQUERADE" + (" --random-fully" if random_fully else ""))
