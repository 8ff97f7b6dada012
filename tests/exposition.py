"""Reading the Prometheus text format back into samples, to compare what masqctl wrote
with what node_exporter serves and to feed promtool the series masqctl makes."""

from __future__ import annotations

import re

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')

Sample = tuple[str, tuple[tuple[str, str], ...], float]


def samples(text: str, prefix: str = "") -> set[Sample]:
    """(name, sorted labels, value) of every sample whose name starts with ``prefix``."""
    found = set()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or not match.group(1).startswith(prefix):
            continue
        labels = tuple(sorted(_LABEL.findall(match.group(2) or "")))
        found.add((match.group(1), labels, float(match.group(3))))
    return found


def selector(name: str, labels: dict[str, str] | tuple[tuple[str, str], ...]) -> str:
    """``name{a="b",...}`` as promtool's input_series writes a series."""
    pairs = labels.items() if isinstance(labels, dict) else labels
    inner = ",".join(f'{key}="{value}"' for key, value in sorted(pairs))
    return f"{name}{{{inner}}}"
