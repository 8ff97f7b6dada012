"""Start-up and validate throughput, side by side with their baselines.

- ``masqctl --version`` and ``masqctl validate one-configmap.yaml`` against a bare
  ``python3 -c pass`` of the same interpreter (target: within 6x);
- validating 2,000 ConfigMap files in one call against ``yamllint -d relaxed`` on the
  same files (target: at most half its time).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIGMAP = """apiVersion: v1
data:
  config: |
    nonMasqueradeCIDRs:
      - 10.{n}.0.0/16
      - 172.16.0.0/12
      - 192.168.0.0/16
    masqLinkLocal: false
    resyncInterval: 60s
kind: ConfigMap
metadata:
  name: ip-masq-agent
  namespace: kube-system
"""


def wall_times(args: list[str], runs: int) -> list[float]:
    """The wall time of each of ``runs`` runs of ``args``, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, timeout=600, check=False)
        times.append(time.perf_counter() - start)
    return times


def best_of(args: list[str], runs: int = 15) -> float:
    """The best of ``runs`` runs (the least disturbed): for start-up figures."""
    return min(wall_times(args, runs))


def median_of(args: list[str], runs: int = 3) -> float:
    """The median of ``runs`` runs: for the longer throughput figures."""
    return statistics.median(wall_times(args, runs))


def row(name: str, value: float, baseline_name: str, baseline: float, target: str) -> None:
    ratio = value / baseline
    print(
        f"{name:42} {value * 1000:9.1f} ms | {baseline_name:28} {baseline * 1000:9.1f} ms"
        f" | {ratio:5.2f}x (target {target})"
    )


def main() -> None:
    python = sys.executable
    masqctl = [python, "-m", "masqctl"]
    entry = shutil.which("masqctl", path=str(Path(python).parent))
    if entry:
        masqctl = [entry]
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp, "one-configmap.yaml")
        one.write_text(CONFIGMAP.format(n=1))
        many = Path(tmp, "many")
        many.mkdir()
        for index in range(2000):
            Path(many, f"cm-{index:04}.yaml").write_text(CONFIGMAP.format(n=index % 256))
        files = sorted(str(path) for path in many.iterdir())

        bare = best_of([python, "-c", "pass"])
        row("masqctl --version", best_of([*masqctl, "--version"]), "python3 -c pass", bare, "<= 6x")
        row(
            "masqctl validate one-configmap.yaml",
            best_of([*masqctl, "validate", str(one)]),
            "python3 -c pass",
            bare,
            "<= 6x",
        )
        ours = median_of([*masqctl, "validate", *files])
        yamllint = shutil.which("yamllint", path=str(Path(python).parent)) or shutil.which(
            "yamllint"
        )
        if yamllint:
            theirs = median_of([yamllint, "-d", "relaxed", *files])
            row(
                "masqctl validate (2,000 ConfigMaps)",
                ours,
                "yamllint -d relaxed",
                theirs,
                "<= 0.5x",
            )
        else:
            print(
                f"masqctl validate (2,000 ConfigMaps): {ours * 1000:.0f} ms "
                "(yamllint not installed)"
            )


if __name__ == "__main__":
    main()
