"""Writers for validate's report: text, json (and more formats in masqctl.formats)."""

from __future__ import annotations

import json
from typing import TextIO

from masqctl.findings import ERROR, WARNING, Finding
from masqctl.validate import ValidationReport

_STYLES = {ERROR: "bold red", WARNING: "yellow"}


def finding_line(finding: Finding) -> str:
    """``file:line:col: severity[RULE] message``, the first line of a finding's report."""
    return (
        f"{finding.file}:{finding.line}:{finding.column}: "
        f"{finding.severity}[{finding.rule}] {finding.message}"
    )


def format_text(report: ValidationReport) -> list[tuple[str, str]]:
    """The human report as (style, line) pairs: each finding with its line and a caret."""
    lines: list[tuple[str, str]] = []
    for finding in report.findings:
        lines.append((_STYLES.get(finding.severity, "cyan"), finding_line(finding)))
        source = report.texts.get(finding.file, [])
        if 0 < finding.line <= len(source):
            number = str(finding.line)
            gutter = " " * len(number)
            lines.append(("dim", f"  {number} | {source[finding.line - 1].rstrip()}"))
            lines.append(("bold", f"  {gutter} | {' ' * max(finding.column - 1, 0)}^"))
        if finding.hint:
            lines.append(("dim", f"  = hint: {finding.hint}"))
    if report.findings:
        lines.append(("", ""))
    lines.append(("bold", report.summary()))
    return lines


def write_text(report: ValidationReport, stream: TextIO, color: bool) -> None:
    """Write the human report; with ``color``, styled by rich (imported only then)."""
    lines = format_text(report)
    if not color:
        stream.write("".join(f"{text}\n" for _, text in lines))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, highlight=False, soft_wrap=True, force_terminal=True)
    for style, text in lines:
        console.print(Text(text, style=style))


def write_json(report: ValidationReport, stream: TextIO) -> None:
    """The documented JSON form, one document."""
    json.dump(report.as_json(), stream, ensure_ascii=False)
    stream.write("\n")


def write_report(report: ValidationReport, output_format: str, stream: TextIO, color: bool) -> None:
    """The report in ``output_format``: text, json, or a CI format of masqctl.formats."""
    if output_format == "text":
        write_text(report, stream, color)
    elif output_format == "json":
        write_json(report, stream)
    else:
        from masqctl.formats import WRITERS

        WRITERS[output_format](report, stream)
