"""apply on a 20,000-CIDR config beside a bare ``iptables-restore --noflush`` of its payload.

Runs in a network namespace of its own (needs root; prints why not otherwise), with
Python's bytecode cached as an installed package has it.  Per backend, best of several
runs:

- bare ``iptables-<backend>-restore --noflush`` of the rendered payload, the chain
  absent (the baseline), and replacing a chain that differs by one rule;
- the whole ``masqctl apply`` command (interpreter start, 20,000-entry config parsing,
  read, compare, backup, one restore, verifying read), the chain absent and the chain
  drifted by one rule (then a 20,000-rule table is read and compared before writing),
  each beside the bare restore doing the same write (target: within 2.2x);
- apply's own work alone, timed inside the process once the config is loaded;
- the floor no apply can go under: interpreter start and config loading, and
  ``masqctl render`` for scale.  Where the floor plus one restore and one save is
  already over 2.2x the bare restore (legacy, whose restore takes tens of ms), the
  target is out of reach for any Python command, and the output says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import stop_on_sigterm, write_config

CIDRS = 20_000
RUNS = 5


def timed_apply(config: str, mode: str, backup: str) -> None:
    """Inside the namespace: load the config, then time apply's work for one family."""
    from masqctl.agent import AgentFlags
    from masqctl.agent_setup import AgentInputs, effective_ruleset
    from masqctl.apply import ApplyRequest, apply_family
    from masqctl.netfilter.backend import select_backend

    request = ApplyRequest(AgentInputs((config,)), mode, backup_path=backup)
    rules = effective_ruleset([config], AgentFlags()).family("ipv4")
    backend = select_backend(mode, "ipv4")
    start = time.perf_counter()
    outcome = apply_family(request, rules, backend)
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "written": outcome.written}))


#: Interpreter start and config loading: what every masqctl command on this config pays.
FLOOR = (
    "import sys; from masqctl.agent import AgentFlags; "
    "from masqctl.agent_setup import effective_ruleset; "
    "effective_ruleset(sys.argv[1:], AgentFlags())"
)


def _best(function, runs: int = RUNS) -> float:  # type: ignore[no-untyped-def]
    return min(function() for _ in range(runs))


def _wall(ns, args: list[str], **kwargs) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    ns.run(args, **kwargs)
    return time.perf_counter() - start


def _row(name: str, seconds: float, baseline: float, target: str = "") -> None:
    note = f" (target {target})" if target else ""
    print(f"  {name:52} {seconds * 1000:8.1f} ms  {seconds / baseline:5.2f}x{note}")


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    from tests.netns import namespace, netfilter_missing_reason

    reason = netfilter_missing_reason()
    if reason:
        print(f"apply benchmark skipped: {reason}")
        return
    stop_on_sigterm()
    python = sys.executable
    masqctl = [python, "-m", "masqctl"]
    with tempfile.TemporaryDirectory() as tmp, namespace("mqbench") as ns:
        # Python's bytecode cached (in tmp), as an installed package has it
        ns.env = {key: value for key, value in ns.env.items() if key != "PYTHONDONTWRITEBYTECODE"}
        ns.env["PYTHONPYCACHEPREFIX"] = str(Path(tmp, "pycache"))
        config = str(write_config(Path(tmp, "config.yaml"), CIDRS))
        backup = str(Path(tmp, "backup.rules"))
        payload = ns.run([*masqctl, "render", "-c", config]).stdout
        child = (
            f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            "import bench_apply; bench_apply.timed_apply(*sys.argv[1:])"
        )
        print(
            f"{CIDRS} CIDRs, {payload.count(chr(10)) - 3} rules, best of {RUNS} "
            "(Python bytecode cached)"
        )
        for mode in ("nft", "legacy"):
            restore = f"iptables-{mode}-restore"

            def prepare(drifted: bool, mode: str = mode, restore: str = restore) -> None:
                """No chain; or the chain, all but its second rule (no jump either way)."""
                ns.run([*masqctl, "apply", "--remove", "--iptables-mode", mode, "--backup", backup])
                if drifted:
                    ns.run([restore, "--noflush"], input=payload)
                    ns.run([f"iptables-{mode}", "-t", "nat", "-D", "IP-MASQ-AGENT", "2"])

            def bare(drifted: bool = False, restore: str = restore) -> float:
                prepare(drifted)
                return _wall(ns, [restore, "--noflush"], input=payload)

            def work(drifted: bool = False, mode: str = mode) -> float:
                prepare(drifted)
                result = ns.run([python, "-c", child, config, mode, backup])
                return float(json.loads(result.stdout)["seconds"])

            def command(drifted: bool = False, mode: str = mode) -> float:
                prepare(drifted)
                return _wall(
                    ns,
                    [*masqctl, "apply", "-c", config, "--iptables-mode", mode, "--backup", backup],
                )

            baseline = _best(bare)
            replacing = _best(lambda: bare(drifted=True))
            absent = _best(command)
            drifted = _best(lambda: command(drifted=True))
            floor = _best(lambda: _wall(ns, [python, "-c", FLOOR, config]))
            saving = [f"iptables-{mode}-save", "-t", "nat"]  # the chain is there now
            save = _best(lambda: _wall(ns, saving))  # noqa: B023 - used at once
            print(f"iptables-{mode}:")
            _row(f"bare {restore} --noflush, chain absent", baseline, baseline)
            _row("masqctl apply, whole command, chain absent", absent, baseline, "<= 2.2x")
            _row(f"bare {restore} --noflush, replacing the chain", replacing, replacing)
            _row("masqctl apply, whole command, chain drifted by 1", drifted, replacing, "<= 2.2x")
            _row("  the same, beside the chain-absent restore", drifted, baseline)
            _row("apply's work in-process, chain absent", _best(work), baseline)
            _row(
                "apply's work in-process, chain drifted by 1",
                _best(lambda: work(drifted=True)),
                replacing,
            )
            _row(f"{mode}-save -t nat of the 20,000-rule table", save, baseline)
            _row("floor: interpreter start + config loading", floor, baseline)
            _row(
                "masqctl render, whole command (for scale)",
                _best(lambda: _wall(ns, [*masqctl, "render", "-c", config])),
                baseline,
            )
            reachable = floor + baseline + save
            if reachable > 2.2 * baseline:
                print(
                    f"  2.2x is out of reach on {mode}: the floor, one restore and one "
                    f"save alone take {reachable * 1000:.0f} ms = "
                    f"{reachable / baseline:.2f}x the bare restore"
                )


if __name__ == "__main__":
    main()
