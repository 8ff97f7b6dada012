"""--flavour azure-v2 against real iptables (nft and legacy) in network namespaces.

masqctl runs inside each test's own namespace as a real process; what it writes is
compared with what Azure's ip-masq-agent-v2 itself left in a namespace for the same
ConfigMaps (tests/data/saves/azure-v2-*.txt, real iptables-save output).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netns import Namespace, agent_jump_args, namespace, require_netfilter, run, tool
from tests.test_apply_netns import agent_lines, save_lines

pytestmark = pytest.mark.netfilter

DATA = Path(__file__).parent / "data"
CLUSTER = DATA / "cluster"
AKS = (
    "-c",
    str(CLUSTER / "aks-configmap-user.yaml"),
    "-c",
    str(CLUSTER / "aks-configmap-reconciled.yaml"),
)
CHAIN = "IP-MASQ-AGENT"
BACKENDS = ["nft", "legacy"]
#: What the agent left on its node for the AKS ConfigMaps (its chain, its quoted jump).
AGENT_NODE = agent_lines((DATA / "saves" / "azure-v2-aks-node.txt").read_text().splitlines())
#: The jumps of a node upgraded from v0.1.8: the unquoted one, then the quoted one.
UPGRADED_JUMPS = [
    line
    for line in (DATA / "saves" / "azure-v2-upgraded-from-v0.1.8.txt").read_text().splitlines()
    if line.startswith("-A POSTROUTING ")
]
IN_SYNC = f"ipv4: {CHAIN} in sync (4 rules, jump present)\n"
UNQUOTED_NOTE = (
    "  a POSTROUTING rule (POSTROUTING rule 1) also jumps to IP-MASQ-AGENT (the unquoted jump "
    "of kubernetes-sigs/ip-masq-agent and of ip-masq-agent-v2 before v0.1.9, which Azure's "
    "agent neither matches nor deletes; left alone)\n"
)


@pytest.fixture
def ns(tmp_path: Path) -> Iterator[Namespace]:
    require_netfilter()
    with namespace("mqazure") as created:
        created.env = dict(created.env, MASQCTL_STATE_DIR=str(tmp_path / "state"))
        yield created


def masqctl(ns: Namespace, backend: str, *args: str) -> subprocess.CompletedProcess[str]:
    """masqctl in the namespace, for the AKS ConfigMaps, on ``backend``."""
    command = [sys.executable, "-m", "masqctl", *args, "--flavour", "azure-v2", *AKS]
    return ns.run([*command, "--iptables-mode", backend], check=False)


def agents_sync(ns: Namespace, backend: str, rules: list[str], *, quoted: bool = True) -> None:
    """One sync of the agent by hand: its payload with the chain's ``rules``, then its
    EnsureRule's ``iptables -A POSTROUTING`` (the comment one argument, in literal double
    quotes from v0.1.9 on, bare before)."""
    payload = f"*nat\n:{CHAIN} - [0:0]\n" + "".join(f"{rule}\n" for rule in rules) + "COMMIT\n"
    ns.run([tool(backend, "restore"), "--noflush"], input=payload)
    args = agent_jump_args(CHAIN)
    if quoted:
        args[3] = f'"{args[3]}"'
    ns.run([tool(backend), "-t", "nat", "-A", "POSTROUTING", *args])


def chain_rules() -> list[str]:
    """The agent's chain rules as it writes them (render's payload lines)."""
    out = run([sys.executable, "-m", "masqctl", "render", "--flavour", "azure-v2", *AKS]).stdout
    return [line for line in out.splitlines() if line.startswith(f"-A {CHAIN} ")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_apply_writes_what_the_agent_writes(ns: Namespace, backend: str) -> None:
    result = masqctl(ns, backend, "apply")
    assert result.returncode == 0, result.stderr
    assert re.sub(r"backups/\S+", "backups/FILE", result.stdout) == (
        f"ipv4 (iptables-{backend}): chain {CHAIN} is missing\n"
        f"ipv4 (iptables-{backend}): POSTROUTING jump to {CHAIN} is missing\n"
        f"ipv4 (iptables-{backend}): backup of the nat table: "
        f"{ns.env['MASQCTL_STATE_DIR']}/backups/FILE\n"
        f"ipv4 (iptables-{backend}): create chain {CHAIN} (4 rules)\n"
        f"ipv4 (iptables-{backend}): append the POSTROUTING jump to {CHAIN}\n"
        f"ipv4 (iptables-{backend}): written in one iptables-{backend}-restore transaction and "
        "verified\n"
    )
    assert agent_lines(save_lines(ns, backend, table="nat")) == AGENT_NODE
    check = masqctl(ns, backend, "diff")
    assert (check.returncode, check.stdout) == (0, IN_SYNC)
    again = masqctl(ns, backend, "apply")
    assert (again.returncode, again.stdout) == (
        0,
        f"ipv4 (iptables-{backend}): {CHAIN} in sync; nothing written\n",
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_apply_backup_undoes_the_quoted_jump_too(ns: Namespace, backend: str) -> None:
    before = save_lines(ns, backend, table="nat")
    result = masqctl(ns, backend, "apply")
    backup = next(line.split(": ")[-1] for line in result.stdout.splitlines() if "backup" in line)
    ns.run([tool(backend, "restore"), "--noflush"], input=Path(backup).read_text())
    assert save_lines(ns, backend, table="nat") == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_agents_chain_in_another_order_is_in_sync(ns: Namespace, backend: str) -> None:
    # the agent's next sync writes its RETURN rules in a new order (a Go map)
    rules = chain_rules()
    agents_sync(ns, backend, [rules[2], rules[0], rules[1], rules[3]])
    before = save_lines(ns, backend)
    check = masqctl(ns, backend, "diff")
    assert (check.returncode, check.stdout) == (0, IN_SYNC)
    again = masqctl(ns, backend, "apply")
    assert (again.returncode, again.stdout) == (
        0,
        f"ipv4 (iptables-{backend}): {CHAIN} in sync; nothing written\n",
    )
    assert save_lines(ns, backend) == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_upstreams_unquoted_jump_is_another_agents_and_left_alone(
    ns: Namespace, backend: str
) -> None:
    # v0.1.8 synced (its jump unquoted, as upstream's agent writes it), then v0.1.9 or later
    agents_sync(ns, backend, chain_rules(), quoted=False)
    agents_sync(ns, backend, chain_rules())
    postrouting = [
        line for line in save_lines(ns, backend, table="nat") if line.startswith("-A POSTROUTING")
    ]
    assert postrouting == UPGRADED_JUMPS
    before = save_lines(ns, backend)
    check = masqctl(ns, backend, "diff")
    assert (check.returncode, check.stdout) == (0, IN_SYNC + UNQUOTED_NOTE)
    assert masqctl(ns, backend, "apply").stdout == (
        f"ipv4 (iptables-{backend}): {CHAIN} in sync; nothing written\n"
    )
    assert save_lines(ns, backend) == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_apply_beside_upstreams_jump_appends_the_agents_own(ns: Namespace, backend: str) -> None:
    # as the agent does after v0.1.8 synced: its -C misses the unquoted jump, -A appends
    agents_sync(ns, backend, chain_rules(), quoted=False)
    check = masqctl(ns, backend, "diff")
    assert (check.returncode, check.stdout.splitlines()[:3]) == (
        1,
        [
            f"ipv4: {CHAIN} drifted (1 findings)",
            f"  POSTROUTING jump to {CHAIN} is missing",
            UNQUOTED_NOTE.rstrip("\n"),
        ],
    )
    assert masqctl(ns, backend, "apply").returncode == 0
    lines = save_lines(ns, backend, table="nat")
    assert [line for line in lines if line.startswith("-A POSTROUTING")] == UPGRADED_JUMPS
    assert agent_lines(lines)[2:] == AGENT_NODE[1:]
    assert masqctl(ns, backend, "diff").stdout == IN_SYNC + UNQUOTED_NOTE
