"""Benchmarks for fleets: ``masqctl fleet`` on 5,000 nodes, and the audit check's footprint.

1. ``masqctl fleet`` over a generated 5,000-node result set (the issue's target: under
   a second), read as a directory of files and as ``kubectl logs --prefix`` output on
   stdin.  The documents are real ``masqctl diff --output json`` results of a few node
   states (in sync; chain and jump missing; a rule missing; an extra rule; a duplicated
   jump; the check failing), repeated with node names and check times of their own.
2. What one node's ``masqctl diff --watch`` costs, which sizes the audit DaemonSet's
   requests and limits (deploy/audit/daemonset.yaml): inside a network namespace (root
   only) holding kube-proxy's nat rules for N services plus the agent's chain, the
   watching process's peak resident memory (VmHWM), the CPU time of a check (the process
   and the iptables programs it runs, over many rounds), and for scale the peak of one
   full ``iptables-nft-save`` of that table (alone, by GNU time), a read the check never
   makes: it lists only POSTROUTING and the agent's chain.

    python tests/benchmarks/bench_fleet.py [--nodes N] [--services N ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, stop_on_sigterm

SAVES = ROOT / "tests" / "data" / "saves"
CONFIG = ROOT / "tests" / "data" / "corpus" / "upstream-agent-config.yaml"
TO_PORTS = "1024-29999,32768-65535"
RUNS = 3
MASQCTL = [sys.executable, "-m", "masqctl"]


# ---- 1. the fleet report ---------------------------------------------------------------


def node_states() -> list[dict[str, object]]:
    """One real diff document per node state (from dumps of tests/data/saves)."""
    in_sync = (SAVES / "nft-agent-to-ports.txt").read_text()
    jump = next(line for line in in_sync.splitlines() if line.startswith("-A POSTROUTING"))
    rule = next(line for line in in_sync.splitlines() if "172.16.0.0/12" in line)
    dumps = {
        "in-sync": in_sync,
        "no-chain": "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n",
        "missing-rule": in_sync.replace(rule + "\n", ""),
        "extra-rule": in_sync.replace(
            rule, rule + "\n" + rule.replace("172.16.0.0/12", "203.0.113.0/24")
        ),
        "duplicated-jump": in_sync.replace(jump, f"{jump}\n{jump}"),
        "failed": None,
    }
    documents = []
    with tempfile.TemporaryDirectory() as work:
        for name, dump in dumps.items():
            path = Path(work, name)
            if dump is not None:
                path.write_text(dump)
            result = subprocess.run(
                [
                    *MASQCTL,
                    "diff",
                    "-o",
                    "json",
                    "--from",
                    str(path),
                    "-c",
                    str(CONFIG),
                    "--to-ports",
                    TO_PORTS,
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            documents.append(json.loads(result.stdout))
    return documents


def fleet_documents(count: int) -> list[dict[str, object]]:
    """``count`` nodes: 95% in sync, the rest spread over the other states."""
    states = node_states()
    documents = []
    for number in range(count):
        state = states[0] if number % 20 else states[1 + number // 20 % (len(states) - 1)]
        document = json.loads(json.dumps(state))
        check = document["check"]
        check["node"] = f"node-{number:05d}"
        check["checked_at"] = f"2025-06-01T12:{number // 60 % 60:02d}:{number % 60:02d}.000Z"
        documents.append(document)
    return documents


def one_line(document: dict[str, object]) -> str:
    """The document as ``--watch`` prints it: one line."""
    return json.dumps(document, separators=(",", ":"))


def best_wall(command: list[str], stdin_path: Path | None = None) -> float:
    """The best wall time of RUNS runs of ``command`` (its output thrown away)."""
    best = float("inf")
    for _ in range(RUNS):
        with open(stdin_path or os.devnull, "rb") as stdin:
            started = time.perf_counter()
            subprocess.run(
                command, stdin=stdin, stdout=subprocess.DEVNULL, timeout=120, check=False
            )
            best = min(best, time.perf_counter() - started)
    return best


def bench_report(count: int) -> None:
    documents = fleet_documents(count)
    with tempfile.TemporaryDirectory() as work:
        directory = Path(work, "results")
        directory.mkdir()
        for document in documents:
            Path(directory, f"{document['check']['node']}.json").write_text(
                json.dumps(document, indent=2)
            )
        logs = Path(work, "logs.txt")
        with logs.open("w") as stream:
            for number, document in enumerate(documents):
                stream.write(f"[pod/masqctl-audit-{number:05x}/masqctl] {one_line(document)}\n")
        size = sum(path.stat().st_size for path in directory.iterdir())
        logs_size = logs.stat().st_size
        report = subprocess.run(
            [*MASQCTL, "fleet", "-o", "json", str(directory)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        counts = json.loads(report.stdout)["counts"]
        start_up = best_wall([*MASQCTL, "--version"])
        from_files = best_wall([*MASQCTL, "fleet", str(directory)])
        from_logs = best_wall([*MASQCTL, "fleet", "-"], logs)
    print(f"masqctl fleet, {count:,} nodes ({size / 1e6:.1f} MB of JSON), best of {RUNS}:")
    print(f"  {counts} (exit {report.returncode})")
    print(f"  a directory of files: {from_files:.3f} s wall")
    print(f"  kubectl logs --prefix on stdin ({logs_size / 1e6:.1f} MB): {from_logs:.3f} s wall")
    print(f"  (interpreter start alone: {start_up:.3f} s)")
    worst = max(from_files, from_logs)
    print(f"  target < 1 s: {'met' if worst < 1 else 'MISSED'}")


# ---- 2. the audit check's footprint ------------------------------------------------------


def kube_proxy_nat(services: int) -> str:
    """kube-proxy's (iptables mode) nat rules for ``services`` services of one endpoint
    each, with the agent's chain and jump as the agent writes them."""
    lines = [
        "*nat",
        ":KUBE-SERVICES - [0:0]",
        ":KUBE-MARK-MASQ - [0:0]",
        ":KUBE-POSTROUTING - [0:0]",
    ]
    rules = [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
        "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
    ]
    for number in range(services):
        name = f"{number:016X}"
        service = f"10.{96 + number // 65536}.{number // 256 % 256}.{number % 256}"
        endpoint = f"10.{200 + number // 65536}.{number // 256 % 256}.{number % 256}"
        comment = f'"default/service-{number}:http"'
        lines += [f":KUBE-SVC-{name} - [0:0]", f":KUBE-SEP-{name} - [0:0]"]
        rules += [
            f"-A KUBE-SERVICES -d {service}/32 -p tcp -m comment --comment {comment} "
            f"-m tcp --dport 80 -j KUBE-SVC-{name}",
            f"-A KUBE-SVC-{name} -m comment --comment {comment} -j KUBE-SEP-{name}",
            f"-A KUBE-SEP-{name} -s {endpoint}/32 -m comment --comment {comment} -j KUBE-MARK-MASQ",
            f"-A KUBE-SEP-{name} -p tcp -m comment --comment {comment} -m tcp "
            f"-j DNAT --to-destination {endpoint}:8080",
        ]
    return "\n".join([*lines, *rules, "COMMIT", ""])


def _proc_fields(pid: int) -> tuple[int, float]:
    """(VmHWM in KiB, CPU seconds of the process and its waited-for children)."""
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return hwm, ticks / os.sysconf("SC_CLK_TCK")


def _save_peak_kib(ns) -> int:  # type: ignore[no-untyped-def]
    """iptables-nft-save's peak resident memory, by GNU time (its parent is small: the
    peak a child of this big process reports would count the pages it was forked with)."""
    timed = ns.run(["/usr/bin/time", "-f", "%M", "iptables-nft-save", "-t", "nat"])
    return int(timed.stderr.split()[-1])


def bench_footprint(services: list[int], rounds: int) -> None:
    from tests.netns import agent_jump_args, namespace, netfilter_missing_reason

    reason = netfilter_missing_reason()
    if reason:
        print(f"audit footprint skipped: {reason}")
        return
    stop_on_sigterm()
    print(
        f"masqctl diff --watch (JSON out, metrics file), {rounds} rounds per table, iptables-nft:"
    )
    for count in services:
        with tempfile.TemporaryDirectory() as work, namespace("mqfoot") as ns:
            ns.run(["iptables-nft-restore", "--noflush"], input=kube_proxy_nat(count), timeout=600)
            payload = ns.run([*MASQCTL, "render"]).stdout
            ns.run(["iptables-nft-restore", "--noflush"], input=payload)
            ns.run(["iptables-nft", "-t", "nat", "-A", "POSTROUTING", *agent_jump_args()])
            rules = ns.run(["iptables-nft-save", "-t", "nat"]).stdout.count("\n-A ")
            save_kib = _save_peak_kib(ns)
            metrics = Path(work, "masqctl.prom")
            watching = subprocess.Popen(
                ns.exec_args(
                    [
                        *MASQCTL,
                        "diff",
                        "--watch",
                        "0.2",
                        "-o",
                        "json",
                        "--metrics-file",
                        str(metrics),
                        "--iptables-mode",
                        "nft",
                    ]
                ),
                stdout=subprocess.PIPE,
                env=ns.env,
                text=True,
            )
            try:  # the watch never ends by itself: stopped whatever happens here
                assert watching.stdout is not None
                first = json.loads(watching.stdout.readline())
                _, after_first = _proc_fields(watching.pid)
                for _ in range(rounds):
                    watching.stdout.readline()
                hwm, cpu = _proc_fields(watching.pid)
            finally:
                watching.terminate()
                watching.wait(timeout=30)
        per_check = (cpu - after_first) / rounds
        print(
            f"  {count:,} services ({rules:,} nat rules), in sync: {first['in_sync']}: "
            f"masqctl peak {hwm / 1024:.0f} MiB, iptables-nft-save peak "
            f"{save_kib / 1024:.0f} MiB, CPU per check {per_check * 1000:.0f} ms "
            f"({per_check / 60 * 1000:.1f} millicores at --watch 60)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5_000)
    parser.add_argument("--services", type=int, nargs="*", default=[0, 1_000, 10_000])
    parser.add_argument("--rounds", type=int, default=20)
    options = parser.parse_args(argv)
    bench_report(options.nodes)
    bench_footprint(options.services, options.rounds)


if __name__ == "__main__":
    main()
