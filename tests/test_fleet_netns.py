"""A simulated fleet: network namespaces as nodes, ``masqctl diff`` run in each as the
audit DaemonSet runs it, then ``masqctl fleet`` over the results.

Nodes: in sync (nft, and legacy found by --iptables-mode auto), drifted (a rule gone, one
extra), left in the 2017 format, never given the chain (a node the agent's DaemonSet
does not reach), and unreadable (masqctl without CAP_NET_ADMIN).  The results are read
as a directory of files and as ``kubectl logs --prefix`` output of ``--watch`` pods.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from masqctl.entry import main
from tests.netns import Namespace, agent_jump_args, namespace, require_netfilter

pytestmark = pytest.mark.netfilter

DATA = Path(__file__).parent / "data"
CHAIN = "IP-MASQ-AGENT"
MASQCTL = [sys.executable, "-m", "masqctl"]
#: Capabilities masqctl is left with on the unreadable node (none that iptables needs).
NO_NETFILTER_CAPABILITIES = ["setpriv", "--inh-caps=-all", "--bounding-set=-all,+net_raw"]


def agent_sync(ns: Namespace, backend: str = "nft") -> None:
    """What one sync of the agent writes: its chain, then its jump."""
    payload = ns.run([*MASQCTL, "render"]).stdout
    ns.run([f"iptables-{backend}-restore", "--noflush"], input=payload)
    ns.run([f"iptables-{backend}", "-t", "nat", "-A", "POSTROUTING", *agent_jump_args(CHAIN)])


def drifted(ns: Namespace) -> None:
    agent_sync(ns)
    ns.run(["iptables-nft", "-t", "nat", "-D", CHAIN, "2"])
    ns.run(["iptables-nft", "-t", "nat", "-I", CHAIN, "1", "-d", "198.51.100.0/24", "-j", "RETURN"])


def old_format(ns: Namespace) -> None:
    lines = (DATA / "saves" / "legacy-agent-2017-format.txt").read_text().splitlines()
    rules = [line for line in lines if line.startswith("-A")]
    ns.run(
        ["iptables-legacy-restore", "--noflush"],
        input=f"*nat\n:{CHAIN} - [0:0]\n" + "\n".join(rules) + "\nCOMMIT\n",
    )


#: node → (how its table is made, what runs masqctl there)
NODES: dict[str, tuple[Callable[[Namespace], None], list[str]]] = {
    "node-in-sync": (agent_sync, []),
    "node-legacy": (lambda ns: agent_sync(ns, "legacy"), []),
    "node-drifted": (drifted, []),
    "node-old-format": (old_format, []),
    "node-no-chain": (lambda ns: None, []),
    "node-unreadable": (agent_sync, NO_NETFILTER_CAPABILITIES),
}


@pytest.fixture(scope="module")
def nodes() -> Iterator[dict[str, Namespace]]:
    require_netfilter()
    with ExitStack() as stack:
        made = {node: stack.enter_context(namespace("mqfleet")) for node in NODES}
        for node, (prepare, _) in NODES.items():
            prepare(made[node])
        yield made


def diff_command(node: str, *args: str) -> list[str]:
    return [*NODES[node][1], *MASQCTL, "diff", *args]


def test_each_node_result_then_one_fleet_report(nodes, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "results"
    results.mkdir()
    codes = {}
    for node, ns in nodes.items():
        run = ns.run(
            diff_command(node, "-o", "json"), env=dict(ns.env, NODE_NAME=node), check=False
        )
        codes[node] = run.returncode
        (results / f"{node}.json").write_text(run.stdout)
    assert codes == {
        "node-in-sync": 0,
        "node-legacy": 0,
        "node-drifted": 1,
        "node-old-format": 1,
        "node-no-chain": 1,
        "node-unreadable": 2,
    }
    assert main(["fleet", str(results), "-o", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    states = {entry["node"]: (entry["state"], entry["detail"]) for entry in report["nodes"]}
    denied = (
        "permission_denied: iptables-nft: permission denied: masqctl needs root "
        "(CAP_NET_ADMIN) to read and write the nat table (iptables v1.8.9 "
        "(nf_tables): Could not fetch rule set generation id: Permission denied (you must "
        "be root))"
    )
    assert states == {
        "node-drifted": ("drifted", "ipv4 IP-MASQ-AGENT: 1 missing, 1 extra"),
        "node-no-chain": ("drifted", "ipv4 IP-MASQ-AGENT: chain missing, jump missing"),
        "node-old-format": (
            "drifted",
            "ipv4 IP-MASQ-AGENT: 1 missing, 1 extra, 4 with another comment, old format, "
            "jump in old format",
        ),
        "node-unreadable": ("check-failed", denied),
        "node-in-sync": ("in-sync", ""),
        "node-legacy": ("in-sync", ""),
    }
    sources = {entry["node"]: entry for entry in report["nodes"]}
    assert [group["nodes"] for group in report["groups"]] == [
        ["node-drifted"],
        ["node-no-chain"],
        ["node-old-format"],
    ]
    assert {entry["config_digest"] for entry in sources.values()} == {"none"}
    assert main(["fleet", str(results)]) == 1
    text = capsys.readouterr().out
    checked = sources["node-drifted"]["checked_at"]
    row = (
        f"node-drifted     drifted       {checked}  none    ipv4 IP-MASQ-AGENT: 1 missing, 1 extra"
    )
    assert f"\n{row}\n" in text
    assert text.endswith("6 nodes: 2 in sync, 3 drifted, 1 check failed, 0 no result\n")


def watch_logs(ns: Namespace, node: str, metrics: Path, rounds: int = 2) -> list[str]:
    """A --watch pod's log (stdout and stderr, as the container runtime keeps them) over
    ``rounds`` checks, then SIGTERM."""
    process = subprocess.Popen(
        ns.exec_args(
            diff_command(node, "--watch", "0.05", "-o", "json", "--metrics-file", str(metrics))
        ),
        env=dict(ns.env, NODE_NAME=node),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while sum(line.startswith("{") for line in lines) < rounds:
            line = process.stdout.readline()
            # at the end of the output (masqctl ended) readline gives "" for ever
            assert line, f"masqctl ended (exit {process.wait(timeout=30)}): {lines}"
            lines.append(line.rstrip("\n"))
    finally:
        process.terminate()
        code = process.wait(timeout=30)
    assert code == 0, lines
    return lines


def test_kubectl_logs_of_watching_pods_give_the_same_report(
    nodes, tmp_path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    logs = []
    for number, (node, ns) in enumerate(nodes.items()):
        lines = watch_logs(ns, node, tmp_path / f"{node}.prom")
        logs += [f"[pod/masqctl-audit-{number:05x}/masqctl] {line}" for line in lines]
    crash = "masqctl: unknown flavour 'azure' (choose from upstream, gke)"
    logs.append(f"[pod/masqctl-audit-crash/masqctl] {crash}")

    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(logs) + "\n"))
    assert main(["fleet", "-o", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"in-sync": 2, "drifted": 3, "check-failed": 1, "no-result": 1}
    assert [entry["node"] for entry in report["nodes"] if entry["state"] == "no-result"] == [
        "pod/masqctl-audit-crash/masqctl"
    ]
