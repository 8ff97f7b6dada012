"""Building findings from catalogue entries."""

from __future__ import annotations

from masqctl.findings import Finding
from masqctl.lint.catalogue import check
from masqctl.model import Origin


def finding_at(rule: str, origin: Origin, message: str) -> Finding:
    """A finding of ``rule`` at ``origin``, with the catalogue's severity and fix as hint."""
    entry = check(rule)
    return Finding(
        rule, entry.severity, message, origin.file, origin.line, origin.column, entry.fix
    )
