"""Findings: what validate reports, each tied to a check of the catalogue."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place of one file."""

    rule: str
    severity: str
    message: str
    file: str
    line: int
    column: int
    hint: str = ""

    def as_json(self) -> dict[str, object]:
        """The stable JSON form (DESIGN.md), with the hint where there is one."""
        data: dict[str, object] = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
        }
        if self.hint:
            data["hint"] = self.hint
        return data
