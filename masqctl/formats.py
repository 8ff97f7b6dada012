"""validate's CI formats: GitHub Actions workflow commands, SARIF 2.1.0, GitLab Code
Quality (JUnit XML is in masqctl.junit)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from masqctl import __version__
from masqctl.config.sources import STDIN, display_name
from masqctl.findings import ERROR, INFO, WARNING, Finding
from masqctl.lint.catalogue import CHECKS
from masqctl.validate import ValidationReport

INFORMATION_URI = "https://github.com/masqctl/masqctl"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
STDIN_NAME = display_name(STDIN)

_GITHUB_COMMANDS = {ERROR: "error", WARNING: "warning", INFO: "notice"}
_SARIF_LEVELS = {ERROR: "error", WARNING: "warning", INFO: "note"}
#: GitLab's Code Quality severities (info, minor, major, critical, blocker), as ruff maps
#: its own: an error is major, a warning minor.
_GITLAB_SEVERITIES = {ERROR: "major", WARNING: "minor", INFO: "info"}
#: Line numbers a message cites (``line 3``, ``lines 2, 5``): left out of fingerprints.
_LINE_NUMBERS = re.compile(r"\b(lines?) \d+(?:(?:, | and )\d+)*")


def relative_path(file: str, base: str | None = None) -> str | None:
    """``file`` relative to ``base`` (default: the working directory), with ``/``; None
    when outside it."""
    relative = os.path.relpath(os.path.abspath(file), os.path.abspath(base or os.getcwd()))
    if relative == ".." or relative.startswith(".." + os.sep):
        return None
    return Path(relative).as_posix()


def display_path(file: str) -> str:
    """How annotations name ``file``: relative to the working directory when below it."""
    return relative_path(file) or Path(os.path.abspath(file)).as_posix()


def artifact_uri(file: str) -> str:
    """SARIF's artifact URI: relative to the working directory, else an absolute file URI."""
    relative = relative_path(file)
    if relative is None:
        return Path(os.path.abspath(file)).as_uri()
    return quote(os.fsencode(relative), safe="/")  # a name's bytes, UTF-8 or not


def escape_data(text: str) -> str:
    """The actions toolkit's escaping of a command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """The actions toolkit's escaping of a property value (adds ``:`` and ``,``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(finding: Finding) -> str:
    """One ``::error file=…,line=…,col=…,title=…::message`` line for ``finding``."""
    properties: list[tuple[str, str]] = []
    if finding.file != STDIN_NAME:
        properties.append(("file", display_path(finding.file)))
        if finding.line > 0:
            properties.append(("line", str(finding.line)))
            if finding.column > 0:
                properties.append(("col", str(finding.column)))
    properties.append(("title", f"{finding.rule} ({CHECKS[finding.rule].name})"))
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    command = _GITHUB_COMMANDS.get(finding.severity, "notice")
    return f"::{command} {rendered}::{escape_data(finding.message)}"


def write_github(report: ValidationReport, stream: TextIO) -> None:
    """One workflow command per finding (GitHub turns them into annotations)."""
    for finding in report.findings:
        stream.write(github_command(finding) + "\n")


def sarif_rules() -> list[dict[str, object]]:
    """Every check of the catalogue as a SARIF reportingDescriptor."""
    return [
        {
            "id": check.id,
            "name": check.name,
            "shortDescription": {"text": check.summary},
            "fullDescription": {"text": check.why},
            "help": {"text": check.fix},
            "helpUri": f"{INFORMATION_URI}/blob/main/docs/checks.md#{check.id.lower()}",
            "defaultConfiguration": {"level": _SARIF_LEVELS[check.severity]},
        }
        for check in CHECKS.values()
    ]


def sarif_result(finding: Finding, rule_index: dict[str, int]) -> dict[str, object]:
    """One SARIF result; a finding read from stdin has no location."""
    result: dict[str, object] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index[finding.rule],
        "level": _SARIF_LEVELS.get(finding.severity, "note"),
        "message": {"text": finding.message},
    }
    if finding.file == STDIN_NAME:
        return result
    physical: dict[str, object] = {"artifactLocation": {"uri": artifact_uri(finding.file)}}
    if finding.line > 0:
        region: dict[str, int] = {"startLine": finding.line}
        if finding.column > 0:
            region["startColumn"] = finding.column
        physical["region"] = region
    result["locations"] = [{"physicalLocation": physical}]
    return result


def sarif_document(report: ValidationReport) -> dict[str, object]:
    """The whole SARIF 2.1.0 log: one run of masqctl with every rule and every finding."""
    rule_index = {check_id: index for index, check_id in enumerate(CHECKS)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "masqctl",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": sarif_rules(),
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [sarif_result(f, rule_index) for f in report.findings],
            }
        ],
    }


def write_sarif(report: ValidationReport, stream: TextIO) -> None:
    """The SARIF log as one indented JSON document."""
    json.dump(sarif_document(report), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def project_path(file: str) -> str:
    """How GitLab's report names ``file``: relative to the repository, which is
    ``$CI_PROJECT_DIR`` in a GitLab job (else the working directory); absolute outside."""
    if file == STDIN_NAME:
        return file
    base = os.environ.get("CI_PROJECT_DIR") or None
    return relative_path(file, base) or Path(os.path.abspath(file)).as_posix()


def gitlab_issues(report: ValidationReport) -> list[dict[str, object]]:
    """Every finding as a Code Quality issue, with the fields GitLab documents.

    The fingerprint (GitLab's identity of an issue across pipelines) is the SHA-256 of
    the check, the path and the message (without the line numbers it cites), and of how
    many identical findings came before in the report: moving lines does not change it,
    two findings never share one.
    """
    seen: Counter[str] = Counter()
    issues = []
    for finding in report.findings:
        path = project_path(finding.file)
        message = _LINE_NUMBERS.sub(r"\1", finding.message)
        identity = "\0".join((finding.rule, path, message))
        seen[identity] += 1
        identity_bytes = f"{identity}\0{seen[identity]}".encode("utf-8", "surrogateescape")
        fingerprint = hashlib.sha256(identity_bytes).hexdigest()
        issues.append(
            {
                # GitLab shows the description, not check_name: name the check in it too.
                "description": f"{finding.rule}: {finding.message}",
                "check_name": finding.rule,
                "fingerprint": fingerprint,
                "severity": _GITLAB_SEVERITIES[finding.severity],
                "location": {"path": path, "lines": {"begin": max(finding.line, 1)}},
            }
        )
    return issues


def write_gitlab(report: ValidationReport, stream: TextIO) -> None:
    """The Code Quality report: one JSON array (UTF-8, no byte order mark)."""
    json.dump(gitlab_issues(report), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def _write_junit(report: ValidationReport, stream: TextIO) -> None:
    from masqctl.junit import write_junit

    write_junit(report, stream)


WRITERS: dict[str, Callable[[ValidationReport, TextIO], None]] = {
    "github": write_github,
    "sarif": write_sarif,
    "gitlab": write_gitlab,
    "junit": _write_junit,
}
