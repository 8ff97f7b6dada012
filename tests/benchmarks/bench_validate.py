"""validate throughput, side by side with its baseline: validating 2,000 ConfigMap files
in one call against ``yamllint -d relaxed`` on the same files (target: at most half its
time).  Every command's start-up is in bench_startup.py.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import masqctl_command, row, wall

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


def median_of(args: list[str], runs: int = 3) -> float:
    """The median of ``runs`` wall times: for the longer throughput figures."""
    return statistics.median(wall(args) for _ in range(runs))


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    masqctl = masqctl_command()
    with tempfile.TemporaryDirectory() as tmp:
        many = Path(tmp, "many")
        many.mkdir()
        for index in range(2000):
            Path(many, f"cm-{index:04}.yaml").write_text(CONFIGMAP.format(n=index % 256))
        files = sorted(str(path) for path in many.iterdir())

        ours = median_of([*masqctl, "validate", *files])
        yamllint = shutil.which("yamllint", path=str(Path(sys.executable).parent))
        yamllint = yamllint or shutil.which("yamllint")
        if yamllint:
            theirs = median_of([yamllint, "-d", "relaxed", *files])
            row("masqctl validate (2,000 ConfigMaps)", ours, "yamllint -d relaxed", theirs, 0.5)
        else:
            print(
                f"masqctl validate (2,000 ConfigMaps): {ours * 1000:.0f} ms "
                "(yamllint not installed)"
            )


if __name__ == "__main__":
    main()
