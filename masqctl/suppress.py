"""Suppressing findings from inside the file: comments and ConfigMap annotations.

- ``# masqctl: ignore MASQ012`` at the end of a line hides those checks on that line; on
  a line of its own it hides them on the next line that is neither blank nor a comment.
- ``# masqctl: ignore-config MASQ012`` hides them for the whole config: inside a
  ConfigMap, for that ConfigMap; anywhere else, for the whole file.
- The annotation ``masqctl.io/ignore: MASQ012,MASQ017`` hides them for that ConfigMap.
IDs are separated by commas or spaces, in any case; ``all`` hides every check.  Text
after the IDs (a reason) is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from masqctl.config.sources import ReadFile
from masqctl.findings import Finding

ANNOTATION = "masqctl.io/ignore"
ALL = "ALL"
_ID = r"(?:MASQ\d+|all)\b"
_COMMENT = re.compile(
    rf"#\s*masqctl:\s*(ignore-config|ignore)\s+({_ID}(?:[\s,]*{_ID})*)", re.IGNORECASE
)


def parse_ids(text: str) -> frozenset[str]:
    """The check IDs named in ``text`` (``all`` included), upper-cased."""
    return frozenset(match.upper() for match in re.findall(_ID, text, re.IGNORECASE))


@dataclass
class Suppressions:
    """The suppressions declared in one file."""

    by_line: dict[int, frozenset[str]] = field(default_factory=dict)
    whole_file: frozenset[str] = frozenset()
    #: (first line, last line, rules) of each ConfigMap with suppressions.
    ranges: list[tuple[int, int, frozenset[str]]] = field(default_factory=list)

    @classmethod
    def for_file(cls, read: ReadFile) -> Suppressions:
        spans = _configmap_spans(read)
        per_configmap: list[set[str]] = [
            set(parse_ids(info.annotations.get(ANNOTATION, ""))) for info in read.configmaps
        ]
        result = cls()
        whole: set[str] = set()
        pending: frozenset[str] = frozenset()
        for number, line in enumerate(read.lines, start=1):
            match = _COMMENT.search(line) if "#" in line else None
            if match is None and not pending:
                continue
            here: frozenset[str] = frozenset()
            if match is not None:
                rules = parse_ids(match.group(2))
                if match.group(1).lower() == "ignore":
                    here = rules
                else:
                    inside = [i for i, (first, last) in enumerate(spans) if first <= number <= last]
                    for index in inside:
                        per_configmap[index] |= rules
                    if not inside:
                        whole |= rules
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                pending |= here  # on a line of its own: for the next line with content
                continue
            if pending | here:
                result.by_line[number] = pending | here
            pending = frozenset()
        result.whole_file = frozenset(whole)
        result.ranges = [
            (first, last, frozenset(rules))
            for (first, last), rules in zip(spans, per_configmap, strict=True)
            if rules
        ]
        return result

    def hides(self, finding: Finding) -> bool:
        """Whether ``finding`` is suppressed."""
        if self._matches(self.whole_file, finding.rule):
            return True
        if self._matches(self.by_line.get(finding.line, frozenset()), finding.rule):
            return True
        return any(
            first <= finding.line <= last and self._matches(rules, finding.rule)
            for first, last, rules in self.ranges
        )

    @staticmethod
    def _matches(rules: frozenset[str], rule: str) -> bool:
        return rule in rules or ALL in rules


def _configmap_spans(read: ReadFile) -> list[tuple[int, int]]:
    """The lines of each ConfigMap: from its first line to just before the next one."""
    starts = sorted(info.node.line for info in read.configmaps)
    spans = []
    for info in read.configmaps:
        later = [start for start in starts if start > info.node.line]
        spans.append((info.node.line, later[0] - 1 if later else len(read.lines) + 1))
    return spans
