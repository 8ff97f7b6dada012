"""Print every performance figure of masqctl beside its baseline (run on demand)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SECTIONS = ("bench_validate", "bench_apply", "bench_explain", "bench_fleet")


def main() -> None:
    for name in SECTIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        print(f"== {name.removeprefix('bench_')}")
        module.main()


if __name__ == "__main__":
    main()
