"""Every command's start-up beside a bare ``python3 -c pass`` of the same interpreter.

Best of many wall times, masqctl's bytecode compiled first, masqctl run as installed
(its console script).  All of it runs in a network namespace of its own (root), where
``apply`` and ``diff`` read the namespace's table: iptables-nft with the agent's chain
and jump in sync and kubelet's hint chain, as on a node.  Targets: ``--version`` <= 2x;
``validate FILE`` <= 5x (it loads a YAML parser); every other command <= 4x.

    python tests/benchmarks/bench_startup.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    INSIDE,
    MISSED,
    ROOT,
    best,
    in_namespaces,
    masqctl_command,
    require_own_namespace,
    run,
)
from common import row as figure

RUNS = 30
CONFIG = ROOT / "tests" / "data" / "corpus" / "upstream-agent-config.yaml"


def measure() -> None:
    """Inside the namespace: the node's table, then each command beside the bare start."""
    masqctl = masqctl_command()
    run(["iptables-nft", "-t", "mangle", "-N", "KUBE-IPTABLES-HINT"])  # as kubelet does
    with tempfile.TemporaryDirectory() as tmp:
        backup = ("--backup", str(Path(tmp, "backup.rules")))
        run([*masqctl, "apply", "--iptables-mode", "nft", *backup])
        dump = Path(tmp, "nat.rules")
        dump.write_text(run(["iptables-nft-save", "-t", "nat"]))
        bare = best([sys.executable, "-c", "pass"], RUNS)
        print(f"{' '.join(masqctl)}; best of {RUNS}", flush=True)
        commands = [
            (["--version"], 2.0),
            (["render"], 4.0),
            (["explain", "8.8.8.8"], 4.0),
            (["diff", "--from", str(dump)], 4.0),
            (["diff"], 4.0),
            (["apply", "--dry-run"], 4.0),
            (["apply", *backup], 4.0),
            (["show"], 4.0),
            (["validate", str(CONFIG)], 5.0),
        ]
        for args, target in commands:
            shown = " ".join("FILE" if "/" in arg else arg for arg in args)
            seconds = best([*masqctl, *args], RUNS)
            figure(f"masqctl {shown}", seconds, "python3 -c pass", bare, target)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(INSIDE, action="store_true")
    if parser.parse_args(argv).inside:
        require_own_namespace()
        measure()
        for missed in MISSED:
            print(f"  MISSED: {missed}")
        return
    in_namespaces(__file__, [[]], "mqstart")


if __name__ == "__main__":
    main()
