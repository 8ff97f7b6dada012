"""Which capabilities iptables needs to read the nat table, measured, not assumed.

As root inside a namespace, each reader runs with only some capabilities left (setpriv
empties the bounding set but for them, as a container runtime does for a pod): the
smallest set that lets every backend read is what deploy/audit's DaemonSet adds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.netns import Namespace, agent_jump_args, namespace, require_netfilter

pytestmark = pytest.mark.netfilter

ROOT = Path(__file__).parent.parent
READERS = (
    "iptables-nft-save",
    "iptables-legacy-save",
    "ip6tables-nft-save",
    "ip6tables-legacy-save",
)


def with_capabilities(capabilities: tuple[str, ...], *command: str) -> list[str]:
    keep = "".join(f",+{name.lower()}" for name in capabilities)
    return [
        "setpriv",
        "--inh-caps=-all",
        "--ambient-caps=-all",
        f"--bounding-set=-all{keep}",
        *command,
    ]


@pytest.fixture(scope="module")
def node() -> Iterator[Namespace]:
    """The agent's chain and jump in both backends, both families."""
    require_netfilter()
    with namespace("mqcaps") as ns:
        for backend in ("nft", "legacy"):
            payload = ns.run([sys.executable, "-m", "masqctl", "render"]).stdout
            ns.run([f"iptables-{backend}-restore", "--noflush"], input=payload)
            ns.run([f"iptables-{backend}", "-t", "nat", "-A", "POSTROUTING", *agent_jump_args()])
            ns.run([f"ip6tables-{backend}", "-t", "nat", "-N", "IP-MASQ-AGENT"])
        yield ns


def readable(ns: Namespace, capabilities: tuple[str, ...]) -> dict[str, bool]:
    """Per reader, whether it printed the nat table with only ``capabilities``."""
    outcome = {}
    for reader in READERS:
        run = ns.run(with_capabilities(capabilities, reader, "-t", "nat"), check=False)
        outcome[reader] = run.returncode == 0 and ":IP-MASQ-AGENT - [0:0]" in run.stdout
    return outcome


@pytest.mark.parametrize(
    ("capabilities", "nft", "legacy"),
    [
        ((), False, False),
        (("NET_RAW",), False, False),
        (("NET_ADMIN",), True, False),
        (("NET_ADMIN", "NET_RAW"), True, True),
    ],
    ids=["none", "net-raw", "net-admin", "net-admin+net-raw"],
)
def test_nft_needs_net_admin_and_legacy_net_raw_too(
    node: Namespace, capabilities: tuple[str, ...], nft: bool, legacy: bool
) -> None:
    assert readable(node, capabilities) == {
        "iptables-nft-save": nft,
        "iptables-legacy-save": legacy,
        "ip6tables-nft-save": nft,
        "ip6tables-legacy-save": legacy,
    }


def audit_capabilities() -> tuple[str, ...]:
    daemonset = yaml.safe_load((ROOT / "deploy" / "audit" / "daemonset.yaml").read_text())
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    added = container["securityContext"]["capabilities"]
    assert added["drop"] == ["ALL"]
    return tuple(added["add"])


def test_the_audit_daemonset_adds_exactly_the_smallest_set_that_reads_both(node: Namespace) -> None:
    assert audit_capabilities() == ("NET_ADMIN", "NET_RAW")
    assert all(readable(node, audit_capabilities()).values())


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_masqctl_with_the_audits_capabilities_checks_either_backend(
    node: Namespace, backend: str
) -> None:
    run = node.run(
        [
            *with_capabilities(
                audit_capabilities(), sys.executable, "-m", "masqctl", "diff", "-o", "json"
            ),
            "--iptables-mode",
            backend,
        ],
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["families"][0]["source"] == f"iptables-{backend} -t nat"


def test_without_net_raw_auto_mode_refuses_to_guess_rather_than_miss_legacy_rules(
    node: Namespace,
) -> None:
    run = node.run(
        with_capabilities(("NET_ADMIN",), sys.executable, "-m", "masqctl", "diff", "-o", "summary"),
        check=False,
    )
    assert run.returncode == 2
    assert run.stdout.startswith(
        "check failed (permission_denied): iptables-legacy: permission denied: masqctl needs "
        "root (CAP_NET_ADMIN and CAP_NET_RAW)"
    )
