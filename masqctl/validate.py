"""validate: every input's configs read as the agent reads them, plus the lint checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from masqctl.agent import AgentFlags
from masqctl.config.agent_parser import decode_config
from masqctl.config.sources import expand_paths, read_input
from masqctl.errors import EXIT_NO, EXIT_OK
from masqctl.findings import ERROR, INFO, WARNING, Finding
from masqctl.lint.catalogue import CHECKS
from masqctl.lint.cidrs import check_cidr_list
from masqctl.lint.configmap import check_configmap
from masqctl.lint.report import finding_at
from masqctl.model import Origin


@dataclass
class ValidationReport:
    """The outcome of one validate run."""

    files: int = 0
    configs: int = 0
    skipped_objects: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: The text of each file read, for showing the offending line.
    texts: dict[str, list[str]] = field(default_factory=dict)

    def count(self, severity: str) -> int:
        return sum(1 for finding in self.findings if finding.severity == severity)

    def exit_code(self, strict: bool = False) -> int:
        failing = {ERROR, WARNING} if strict else {ERROR}
        return EXIT_NO if any(f.severity in failing for f in self.findings) else EXIT_OK

    def as_json(self) -> dict[str, object]:
        """The documented JSON form: files, configs, skipped, findings."""
        return {
            "files": self.files,
            "configs": self.configs,
            "skipped": self.skipped_objects,
            "findings": [finding.as_json() for finding in self.findings],
        }

    def summary(self) -> str:
        parts = [
            _plural(self.files, "file"),
            _plural(self.configs, "config"),
        ]
        if self.skipped_objects:
            parts.append(f"{_plural(self.skipped_objects, 'object')} skipped")
        counts = ", ".join(
            _plural(self.count(severity), severity) for severity in (ERROR, WARNING, INFO)
        )
        return f"{', '.join(parts)}: {counts}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class RuleFilter:
    """Which checks to report: --select narrows, --ignore removes."""

    select: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()

    def keeps(self, rule: str) -> bool:
        if self.select and rule not in self.select:
            return False
        return rule not in self.ignore


def parse_rule_list(text: str) -> frozenset[str]:
    """``MASQ001,MASQ012`` as a set, refusing IDs the catalogue does not know."""
    from masqctl.errors import UsageError

    rules = frozenset(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = sorted(rules - set(CHECKS))
    if unknown:
        raise UsageError(
            f"unknown check ID {', '.join(unknown)} (see masqctl validate --list-checks)"
        )
    return rules


def validate_paths(
    paths: list[str],
    flags: AgentFlags,
    rules: RuleFilter | None = None,
    skip_unrelated: bool = False,
) -> ValidationReport:
    """Validate every config in ``paths``; InputError for a path that cannot be read.

    Files found inside directories, and every file with ``skip_unrelated``, are skipped
    when they are neither manifests nor recognisably agent configs.
    """
    from masqctl.suppress import Suppressions

    report = ValidationReport()
    rules = rules or RuleFilter()
    for path, in_directory in expand_paths(paths):
        read = read_input(path, skip_unrelated or in_directory)
        report.files += 1
        report.skipped_objects += read.skipped_objects
        findings: list[Finding] = []
        if read.syntax_error is not None:
            message, line, column = read.syntax_error
            findings.append(finding_at("MASQ001", Origin(read.path, line, column, ""), message))
        for info in read.configmaps:
            findings.extend(check_configmap(info, read.path))
        findings.extend(
            finding_at(
                "MASQ024",
                Origin(read.path, node.line, node.column, f"data.{key}"),
                f'ConfigMap data "{key}" is {node.describe()}, not text: the API server refuses '
                "the object (data values are strings); write "
                f'"{key}: |" with the config indented below it',
            )
            for key, node in read.non_text_data
        )
        suppressions = Suppressions.for_file(read)
        for found in read.configs:
            report.configs += 1
            decoded = decode_config(found.text, flags)
            findings.extend(decoded.findings)
            findings.extend(check_cidr_list(decoded.config))
        findings.sort(key=lambda f: (f.line, f.column, f.rule))
        report.findings.extend(
            f for f in findings if rules.keeps(f.rule) and not suppressions.hides(f)
        )
        report.texts[read.path] = read.lines
    return report
