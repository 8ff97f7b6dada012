"""The agent's chain itself at 2,000, 20,000 and 200,000 CIDRs, beside the bare tools.

Per size and backend, in a network namespace of its own holding only the agent's chain
(best of a few wall times, Python's bytecode compiled):

- ``apply`` creating the chain and jump beside one bare ``iptables-restore --noflush``
  of the same payload (``masqctl render``'s), the chain absent both times (target
  <= 2.5x);
- ``diff`` in sync beside one ``iptables-save -t nat`` of the same table (<= 1.5x);
- ``render`` beside reading the config: a ``python3 -c`` that loads it as masqctl does
  (``AgentSetup.config()``: reading the file, go-yaml's decoding, the agent's parsing
  and validation), interpreter start and imports included (<= 1.3x);
- the floors under them: no apply can take less than loading the config, one restore
  and one verifying read; no diff less than loading the config (the live read runs
  meanwhile) and comparing;
- each figure per CIDR, so that its growth shows (linear: the same per CIDR at every
  size).

    python tests/benchmarks/bench_chain_scale.py [--sizes 2000 20000 200000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

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
    write_config,
)

SIZES = (2_000, 20_000, 200_000)
BACKENDS = ("nft", "legacy")
CHAIN = "IP-MASQ-AGENT"
#: Interpreter start, imports, and the config loaded as every command loads it.
LOAD_CONFIG = (
    "import sys; from masqctl.agent_setup import AgentInputs; "
    "AgentInputs(tuple(sys.argv[1:])).resolve().config()"
)


def runs_for(cidrs: int) -> int:
    """Fewer runs for the largest sizes (each takes seconds), so the whole run stays short."""
    return 5 if cidrs <= 2_000 else 3 if cidrs <= 20_000 else 2


def measure(sizes: list[int]) -> None:
    """Inside the namespace: every size on both backends, then the growth."""
    figures: dict[int, dict[str, float]] = {}
    for cidrs in sizes:
        figures[cidrs] = _one_size(cidrs)
    print("growth: ms at each size (us per CIDR added since the size before)", flush=True)
    for name in figures[sizes[0]]:
        cells = [f"{figures[sizes[0]][name] * 1000:.0f}"]
        for smaller, larger in itertools.pairwise(sizes):
            added = (figures[larger][name] - figures[smaller][name]) / (larger - smaller)
            cells.append(f"{figures[larger][name] * 1000:.0f} ({added * 1e6:.1f} us)")
        note(f"{name:26} " + " | ".join(cells))


def _one_size(cidrs: int) -> dict[str, float]:
    """The figures of one size (printed), by name."""
    from tests.netns import agent_jump_args, tool

    masqctl = masqctl_command()
    runs = runs_for(cidrs)
    with tempfile.TemporaryDirectory() as tmp:
        config = str(write_config(Path(tmp, "config.yaml"), cidrs))
        payload = Path(tmp, "payload.rules")
        payload.write_text(run([*masqctl, "render", "-c", config]))
        print(f"{cidrs:,} CIDRs ({cidrs + 3:,} rules); best of {runs}", flush=True)
        load = best([sys.executable, "-c", LOAD_CONFIG, config], runs)
        render = best([*masqctl, "render", "-c", config], runs)
        row("masqctl render", render, "reading the config (python -c)", load, 1.3)
        figures = {"config load": load, "render": render}
        for backend in BACKENDS:
            mode = ("--iptables-mode", backend, "--backup", str(Path(tmp, "backup.rules")))

            def absent(backend: str = backend) -> None:
                """Neither chain nor jump (whichever of them is there goes)."""
                command = [tool(backend), "-t", "nat"]
                run([*command, "-D", "POSTROUTING", *agent_jump_args(CHAIN)], check=False)
                run([*command, "-F", CHAIN], check=False)
                run([*command, "-X", CHAIN], check=False)

            restore = best(
                [tool(backend, "restore"), "--noflush"], runs, stdin=str(payload), before=absent
            )
            apply = best([*masqctl, "apply", "-c", config, *mode], runs, before=absent)
            name = f"bare {tool(backend, 'restore')} --noflush"
            row(f"{backend}: masqctl apply, chain absent", apply, name, restore, 2.5)
            save_name = f"{tool(backend, 'save')} -t nat"
            save = best([tool(backend, "save"), "-t", "nat"], runs)
            diff = best([*masqctl, "diff", "-c", config, *mode[:2]], runs)
            row(f"{backend}: masqctl diff, in sync", diff, save_name, save, 1.5)
            # the verifying read: one chain listing on nft, a whole save on legacy
            reading = [tool(backend), "-t", "nat", "-S", CHAIN]
            read = best(reading, runs) if backend == "nft" else save
            floor = load + restore + read
            row(f"{backend}: floor of apply: load+restore+read", floor, name, restore)
            row(f"{backend}: floor of diff: the config load", load, save_name, save)
            figures.update(
                {
                    f"{backend} restore": restore,
                    f"{backend} apply": apply,
                    f"{backend} save": save,
                    f"{backend} diff": diff,
                }
            )
        return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument(INSIDE, action="store_true")
    options = parser.parse_args(argv)
    if options.inside:
        require_own_namespace()
        measure(options.sizes)
        for missed in MISSED:
            print(f"  MISSED: {missed}")
        return
    in_namespaces(__file__, [["--sizes", *map(str, options.sizes)]], "mqscale")


if __name__ == "__main__":
    main()
