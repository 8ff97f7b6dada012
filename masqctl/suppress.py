"""Suppressing findings from inside the file: comments and ConfigMap annotations.

- ``# masqctl: ignore MASQ012`` at the end of a line hides those checks on that line; on
  a line of its own it hides them on the next line.
- ``# masqctl: ignore-config MASQ012`` anywhere hides them for the whole file.
- The annotation ``masqctl.io/ignore: MASQ012,MASQ017`` hides them for that ConfigMap.
Several IDs are separated by commas; ``all`` hides every check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from masqctl.config.sources import ReadFile
from masqctl.findings import Finding

ANNOTATION = "masqctl.io/ignore"
_COMMENT = re.compile(r"#\s*masqctl:\s*(ignore|ignore-config)\s+([A-Za-z0-9_, ]+)")


def _rules(text: str) -> frozenset[str]:
    return frozenset(part.strip().upper() for part in text.split(",") if part.strip())


@dataclass
class Suppressions:
    """The suppressions declared in one file."""

    by_line: dict[int, frozenset[str]] = field(default_factory=dict)
    whole_file: frozenset[str] = frozenset()
    #: (first line, last line, rules) of each annotated ConfigMap.
    ranges: list[tuple[int, int, frozenset[str]]] = field(default_factory=list)

    @classmethod
    def for_file(cls, read: ReadFile) -> Suppressions:
        result = cls()
        whole: set[str] = set()
        for number, line in enumerate(read.lines, start=1):
            if "masqctl:" not in line:
                continue
            match = _COMMENT.search(line)
            if match is None:
                continue
            rules = _rules(match.group(2))
            if match.group(1) == "ignore-config":
                whole |= rules
                continue
            target = number + 1 if line[: match.start()].strip() == "" else number
            result.by_line[target] = result.by_line.get(target, frozenset()) | rules
        result.whole_file = frozenset(whole)
        starts = sorted(info.node.line for info in read.configmaps)
        for info in read.configmaps:
            annotated = info.annotations.get(ANNOTATION)
            if annotated:
                later = [start for start in starts if start > info.node.line]
                last = later[0] - 1 if later else len(read.lines) + 1
                result.ranges.append((info.node.line, last, _rules(annotated)))
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
        return rule in rules or "ALL" in rules
