"""Print every performance figure of masqctl beside its baseline (run on demand).

    python tests/benchmarks/run.py [SECTION...]

With no SECTION, every one in turn; issue 12's figures are the sections ``node``,
``startup`` and ``chain_scale`` (about five minutes on two cores, as root).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SECTIONS = (
    "bench_node",
    "bench_startup",
    "bench_chain_scale",
    "bench_validate",
    "bench_apply",
    "bench_explain",
    "bench_fleet",
)


def main() -> None:
    wanted = [f"bench_{name}" for name in sys.argv[1:]] or list(SECTIONS)
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        names = ", ".join(name.removeprefix("bench_") for name in SECTIONS)
        raise SystemExit(f"unknown section {unknown[0].removeprefix('bench_')!r} (one of {names})")
    for name in wanted:
        module = importlib.import_module(name)
        print(f"== {name.removeprefix('bench_')}", flush=True)
        sys.argv = [module.__file__ or name]  # each section reads its own defaults
        module.main()


if __name__ == "__main__":
    main()
