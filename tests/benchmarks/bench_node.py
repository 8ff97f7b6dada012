"""masqctl on a node whose kube-proxy serves 10,000 Services, beside one full save.

Per backend (iptables-nft, then iptables-legacy), in a network namespace of its own
holding only that backend's rules: kube-proxy's nat table (``tests/kube_proxy.py``,
about 110,000 rules in 40,000 chains) and kubelet's hint chain ``KUBE-IPTABLES-HINT``
in mangle, as on a real node.  Best of several wall times, Python's bytecode compiled:

- the baseline: one ``iptables-save -t nat`` of that table (its output discarded);
- ``masqctl diff`` in sync (target <= 0.3x on nft), ``apply`` that writes the chain and
  jump (<= 0.5x), ``apply`` in sync (<= 0.3x), ``explain --live 8.8.8.8`` (<= 0.5x);
- on legacy the same figures, with what the backend itself costs for them: every read
  fetches the whole table from the kernel (a one-chain listing too) and every write
  replaces the whole table, so no command can get under those.

    python tests/benchmarks/bench_node.py [--services N]
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
    best,
    in_namespaces,
    masqctl_command,
    note,
    require_own_namespace,
    row,
    run,
    wall,
)

SERVICES = 10_000
RUNS = 5
CHAIN = "IP-MASQ-AGENT"
TARGETS = {"diff": 0.3, "write": 0.5, "sync": 0.3, "explain": 0.5}


def measure(backend: str, services: int) -> None:
    """Inside the namespace: fill the table, then time each command beside the save."""
    from masqctl.netfilter.save_parser import rule_line
    from tests.kube_proxy import kube_proxy_nat
    from tests.netns import agent_jump_args, tool

    masqctl = masqctl_command()
    mode = ("--iptables-mode", backend)
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp, "kube-proxy.rules")
        table.write_text(kube_proxy_nat(services))
        loading = wall([tool(backend, "restore")], str(table))
        run([tool(backend), "-t", "mangle", "-N", "KUBE-IPTABLES-HINT"])  # as kubelet does
        saved = run([tool(backend, "save"), "-t", "nat"])
        rules, chains = saved.count("\n-A "), saved.count("\n:")
        print(
            f"iptables-{backend}: {services:,} Services, {rules:,} rules in {chains:,} chains "
            f"(loaded in {loading:.1f} s); best of {RUNS}",
            flush=True,
        )
        backup = ("--backup", str(Path(tmp, "backup.rules")))
        run([*masqctl, "apply", *mode, *backup])
        removal = Path(tmp, "remove.rules")
        jump = rule_line("-D", "POSTROUTING", agent_jump_args(CHAIN))
        removal.write_text(f"*nat\n{jump}\n-F {CHAIN}\n-X {CHAIN}\nCOMMIT\n")

        def remove() -> None:
            """The agent's chain and jump gone (one transaction of their own)."""
            run([tool(backend, "restore"), "--noflush"], removal.read_text())

        save = best([tool(backend, "save"), "-t", "nat"], RUNS)
        name = f"iptables-{backend}-save -t nat"
        write = best([*masqctl, "apply", *mode, *backup], RUNS, before=remove)
        row("masqctl apply, writing chain and jump", write, name, save, _target(backend, "write"))
        diff = best([*masqctl, "diff", *mode], RUNS)
        row("masqctl diff, in sync", diff, name, save, _target(backend, "diff"))
        sync = best([*masqctl, "apply", *mode, *backup], RUNS)
        row("masqctl apply, in sync", sync, name, save, _target(backend, "sync"))
        explain = best([*masqctl, "explain", "--live", "8.8.8.8", *mode], RUNS)
        row("masqctl explain --live 8.8.8.8", explain, name, save, _target(backend, "explain"))
        auto = best([*masqctl, "diff"], RUNS)
        row("masqctl diff, in sync, --iptables-mode auto", auto, name, save)
        if backend == "legacy":
            _legacy_floor(masqctl, save, name)


def _target(backend: str, figure: str) -> float | None:
    """The issue's targets are for nft; legacy's figures are printed beside its floor."""
    return TARGETS[figure] if backend == "nft" else None


def _legacy_floor(masqctl: list[str], save: float, name: str) -> None:
    """What iptables-legacy itself costs for one read and one write of this table."""
    listing = best(["iptables-legacy", "-t", "nat", "-S", "POSTROUTING"], RUNS)
    row("iptables-legacy -t nat -S POSTROUTING", listing, name, save)
    with tempfile.NamedTemporaryFile("w", suffix=".rules") as listings:
        listings.write(f"*nat\n-S POSTROUTING\n-S {CHAIN}\nCOMMIT\n")
        listings.flush()
        test = ["iptables-legacy-restore", "--noflush", "--test"]
        both = best(test, RUNS, stdin=listings.name)
    row("iptables-legacy-restore --test, 2 x -S", both, name, save)
    payload = run([*masqctl, "render"])
    with tempfile.NamedTemporaryFile("w", suffix=".rules") as chain:
        chain.write(payload)
        chain.flush()
        restore = best(["iptables-legacy-restore", "--noflush"], RUNS, stdin=chain.name)
    row("iptables-legacy-restore --noflush of the chain", restore, name, save)
    python = best([sys.executable, "-c", "pass"], RUNS)
    note(
        "legacy reads the whole table for any listing and writes it whole: diff and "
        f"apply in sync read once (floor: one save, {save * 1000:.0f} ms, plus Python's "
        f"{python * 1000:.0f} ms start; the listings above are cheaper but take the "
        "xtables lock, which the save does not), apply that writes reads, restores and "
        f"reads back (floor {(2 * save + restore) * 1000:.0f} ms = "
        f"{(2 * save + restore) / save:.2f}x)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=SERVICES)
    parser.add_argument(INSIDE, nargs=1, metavar="BACKEND")
    options = parser.parse_args(argv)
    if options.inside:
        require_own_namespace()
        measure(options.inside[0], options.services)
        for missed in MISSED:
            print(f"  MISSED: {missed}")
        return
    runs = [[backend, "--services", str(options.services)] for backend in ("nft", "legacy")]
    in_namespaces(__file__, runs, "mqnode")


if __name__ == "__main__":
    main()
