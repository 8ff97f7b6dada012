"""Print every performance figure of masqctl beside its baseline (run on demand).

    python tests/benchmarks/run.py [SECTION...]

With no SECTION, every one in turn; issue 12's figures are the sections ``node``,
``startup`` and ``chain_scale`` (about five minutes on two cores, as root).
"""

from __future__ import annotations

import argparse
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
    names = [name.removeprefix("bench_") for name in SECTIONS]
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Each section's own options: python tests/benchmarks/bench_SECTION.py --help",
    )
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=", ".join(names))
    given = parser.parse_args().sections
    unknown = [name for name in given if name not in names]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r} (one of {', '.join(names)})")
    wanted = [f"bench_{name}" for name in given] or list(SECTIONS)
    for name in wanted:
        module = importlib.import_module(name)
        print(f"== {name.removeprefix('bench_')}", flush=True)
        sys.argv = [module.__file__ or name]  # each section reads its own defaults
        module.main()


if __name__ == "__main__":
    main()
