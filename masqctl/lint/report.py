"""Building findings from catalogue entries."""

from __future__ import annotations

from masqctl.findings import Finding
from masqctl.lint.catalogue import check
from masqctl.model import Origin


def finding_at(rule: str, origin: Origin, message: str, severity: str | None = None) -> Finding:
    """A finding of ``rule`` at ``origin``, with the catalogue's severity (unless
    ``severity`` says otherwise for this one) and its fix as hint."""
    entry = check(rule)
    return Finding(
        rule,
        severity or entry.severity,
        message,
        origin.file,
        origin.line,
        origin.column,
        entry.fix,
    )
