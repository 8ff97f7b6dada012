"""On a node full of kube-proxy's rules, masqctl touches only its chain and jump.

Each test fills a namespace's nat table with a kube-proxy-shaped table (generated, two
thousand Services, about 22,000 rules) on iptables-nft or iptables-legacy, IPv4 or IPv6,
then checks that apply, diff, explain --live, a rolled-back apply and --remove leave
every line outside the agent's chain and POSTROUTING jump exactly as it was.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kube_proxy import kube_proxy_nat
from tests.netns import Namespace, namespace, require_netfilter, tool
from tests.test_apply_netns import agent_lines, other_lines, shim, what_the_agent_writes

pytestmark = pytest.mark.netfilter

SERVICES = 2000
CHAIN = "IP-MASQ-AGENT"
CASES = [(backend, family) for backend in ("nft", "legacy") for family in ("ipv4", "ipv6")]


@pytest.fixture
def ns(tmp_path: Path) -> Iterator[Namespace]:
    require_netfilter()
    with namespace("mqscale") as created:
        created.env = dict(created.env, MASQCTL_STATE_DIR=str(tmp_path / "state"))
        yield created


def nat_lines(ns: Namespace, backend: str, family: str) -> list[str]:
    """The nat table as iptables-save prints it, without its comment lines."""
    text = ns.run([tool(backend, "save", family), "-t", "nat"]).stdout
    return [line for line in text.splitlines() if not line.startswith("#")]


def masqctl(ns: Namespace, backend: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = ns.run(
        [sys.executable, "-m", "masqctl", *args, "--iptables-mode", backend, "--enable-ipv6"],
        check=False,
        env=env or ns.env,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


def kube_proxy_node(ns: Namespace, backend: str, family: str) -> list[str]:
    """Fill the namespace's nat table of ``family`` the way kube-proxy would."""
    ns.run([tool(backend, "restore", family)], input=kube_proxy_nat(SERVICES, family), timeout=120)
    return nat_lines(ns, backend, family)


@pytest.mark.parametrize(("backend", "family"), CASES)
def test_kube_proxy_rules_stay_byte_for_byte_through_every_command(
    ns: Namespace, backend: str, family: str
) -> None:
    before = kube_proxy_node(ns, backend, family)
    address = "2001:db8::1" if family == "ipv6" else "192.0.2.1"
    masqctl(ns, backend, "apply")
    written = nat_lines(ns, backend, family)
    assert other_lines(written) == before
    render = ("--enable-ipv6", "--family", family)
    assert agent_lines(written) == what_the_agent_writes(backend, *render, family=family)
    assert masqctl(ns, backend, "diff").count(" in sync ") == 2
    explained = masqctl(ns, backend, "explain", "--live", address)
    final = 5 if family == "ipv4" else 2
    assert explained.startswith(f"{address}: masquerade: rule {final} of {CHAIN}")
    assert nat_lines(ns, backend, family) == written
    masqctl(ns, backend, "apply", "--remove")
    assert nat_lines(ns, backend, family) == before


@pytest.mark.parametrize(("backend", "family"), CASES)
def test_a_rolled_back_apply_leaves_kube_proxy_rules_as_they_were(
    ns: Namespace, tmp_path: Path, backend: str, family: str
) -> None:
    before = kube_proxy_node(ns, backend, family)
    restore = tool(backend, "restore", family)
    marker = tmp_path / "tampered"
    tamper = f"{tool(backend, family=family)} -t nat -A {CHAIN} -j RETURN"
    env = dict(
        ns.env,
        **shim(
            tmp_path / "bin",
            restore,
            f'{shutil.which(restore)} "$@" || exit $?\n'
            f"if [ ! -e {marker} ] && {tool(backend, family=family)} -t nat -S {CHAIN} "
            f">/dev/null 2>&1; then touch {marker}; {tamper}; fi\n",
        ),
    )
    result = ns.run(
        [sys.executable, "-m", "masqctl", "apply", "--iptables-mode", backend, "--enable-ipv6"],
        check=False,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert "verification failed after writing" in result.stderr
    assert nat_lines(ns, backend, family) == before
