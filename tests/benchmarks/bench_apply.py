"""apply on a 20,000-CIDR config beside a bare ``iptables-restore --noflush`` of its payload.

Runs in a network namespace of its own (needs root; prints why not otherwise).  Per
backend, best of several runs, the chain absent before each run:

- bare ``iptables-<backend>-restore --noflush`` of the rendered payload (the baseline);
- apply's own work, timed inside the namespace once the config is loaded: read the
  table, diff, back up, one restore, verifying read (target: within 2.2x);
- the same when the live chain has drifted by one rule (a full 20,000-rule table read),
  beside a bare restore that replaces that drifted chain;
- the whole ``masqctl apply`` command (interpreter start and 20,000-entry config
  parsing included), and ``masqctl render`` alone for comparison.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CIDRS = 20_000
RUNS = 5


def timed_apply(config: str, mode: str, backup: str) -> None:
    """Inside the namespace: load the config, then time apply's work for one family."""
    from masqctl.agent import AgentFlags
    from masqctl.apply import ApplyRequest, apply_family
    from masqctl.commands import effective_ruleset
    from masqctl.netfilter.backend import select_backend

    request = ApplyRequest(config, AgentFlags(), mode, backup_path=backup)
    rules = effective_ruleset(config, request.flags).family("ipv4")
    backend = select_backend(mode, "ipv4")
    start = time.perf_counter()
    outcome = apply_family(request, rules, backend)
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "written": outcome.written}))


def _config(directory: Path) -> Path:
    cidrs = [f"{10 + index // 65536}.{index // 256 % 256}.{index % 256}.0/24"
             for index in range(CIDRS)]
    path = directory / "config.yaml"
    path.write_text("cidrLimit: 20000\nnonMasqueradeCIDRs:\n"
                    + "".join(f"  - {cidr}\n" for cidr in cidrs))
    return path


def _best(function, runs: int = RUNS) -> float:  # type: ignore[no-untyped-def]
    return min(function() for _ in range(runs))


def _wall(ns, args: list[str], **kwargs) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    ns.run(args, **kwargs)
    return time.perf_counter() - start


def _row(name: str, seconds: float, baseline: float, target: str = "") -> None:
    note = f" (target {target})" if target else ""
    print(f"  {name:52} {seconds * 1000:8.1f} ms  {seconds / baseline:5.2f}x{note}")


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.netns import namespace, netfilter_missing_reason

    reason = netfilter_missing_reason()
    if reason:
        print(f"apply benchmark skipped: {reason}")
        return
    python = sys.executable
    masqctl = [python, "-m", "masqctl"]
    with tempfile.TemporaryDirectory() as tmp, namespace("mqbench") as ns:
        config = str(_config(Path(tmp)))
        backup = str(Path(tmp, "backup.rules"))
        payload = ns.run([*masqctl, "render", "-c", config]).stdout
        child = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                 "import bench_apply; bench_apply.timed_apply(*sys.argv[1:])")
        print(f"{CIDRS} CIDRs, {payload.count(chr(10)) - 3} rules, best of {RUNS}")
        for mode in ("nft", "legacy"):
            restore = f"iptables-{mode}-restore"

            def reset(mode: str = mode) -> None:
                ns.run([python, "-m", "masqctl", "apply", "--remove", "--iptables-mode", mode,
                        "--backup", backup])

            def bare(restore: str = restore, replace: bool = False, mode: str = mode) -> float:
                reset()
                if replace:  # the chain is there (all but one rule): restore replaces it
                    ns.run([restore, "--noflush"], input=payload)
                    ns.run([f"iptables-{mode}", "-t", "nat", "-D", "IP-MASQ-AGENT", "2"])
                return _wall(ns, [restore, "--noflush"], input=payload)

            def phase(drifted: bool = False, mode: str = mode) -> float:
                reset()
                if drifted:
                    ns.run([f"iptables-{mode}-restore", "--noflush"], input=payload)
                    ns.run([f"iptables-{mode}", "-t", "nat", "-D", "IP-MASQ-AGENT", "2"])
                result = ns.run([python, "-c", child, config, mode, backup])
                return float(json.loads(result.stdout)["seconds"])

            def command(mode: str = mode) -> float:
                reset()
                return _wall(ns, [*masqctl, "apply", "-c", config, "--iptables-mode", mode,
                                  "--backup", backup])

            baseline = _best(bare)
            print(f"iptables-{mode}:")
            _row(f"bare {restore} --noflush (baseline)", baseline, baseline)
            _row("apply's work (chain absent)", _best(phase), baseline, "<= 2.2x")
            replacing = _best(lambda: bare(replace=True))
            print(f"  (bare restore replacing the drifted chain: {replacing * 1000:.1f} ms)")
            _row("apply's work (chain drifted by one rule)",
                 _best(lambda: phase(drifted=True)), replacing)
            _row("masqctl apply, whole command", _best(command, 3), baseline)
            _row("masqctl render, whole command (for scale)",
                 _best(lambda: _wall(ns, [*masqctl, "render", "-c", config]), 3), baseline)


if __name__ == "__main__":
    main()
