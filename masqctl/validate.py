"""validate: every input's configs read as the agent reads them, plus the lint checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from masqctl.agent import AgentFlags
from masqctl.config.agent_parser import decode_config
from masqctl.config.sources import FoundConfig, expand_paths, read_input
from masqctl.errors import EXIT_NO, EXIT_OK
from masqctl.findings import ERROR, INFO, WARNING, Finding
from masqctl.lint.catalogue import CHECKS
from masqctl.lint.cidrs import check_cidr_list
from masqctl.lint.configmap import check_configmap
from masqctl.lint.report import finding_at
from masqctl.model import Origin


@dataclass(frozen=True)
class ConfigCase:
    """One config validate checked (one JUnit test case) and the findings about it.

    A config found in a ConfigMap carries the ConfigMap's findings too; findings that
    belong to no config (a file that cannot be parsed, a ConfigMap without one) make a
    case of their own for the whole file.
    """

    file: str
    name: str
    #: Where the config starts in the file (0 for the whole-file case).
    line: int
    findings: tuple[Finding, ...]


@dataclass
class ValidationReport:
    """The outcome of one validate run."""

    files: int = 0
    configs: int = 0
    skipped_objects: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: The text of each file read, for showing the offending line.
    texts: dict[str, list[str]] = field(default_factory=dict)
    cases: list[ConfigCase] = field(default_factory=list)
    #: --strict: warnings fail too.
    strict: bool = False

    def count(self, severity: str) -> int:
        return sum(1 for finding in self.findings if finding.severity == severity)

    def fails(self, finding: Finding) -> bool:
        """Whether ``finding`` makes the run fail (errors; with --strict, warnings too)."""
        return finding.severity == ERROR or (self.strict and finding.severity == WARNING)

    def exit_code(self) -> int:
        return EXIT_NO if any(self.fails(finding) for finding in self.findings) else EXIT_OK

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
    strict: bool = False,
) -> ValidationReport:
    """Validate every config in ``paths``; InputError for a path that cannot be read.

    Files found inside directories, and every file with ``skip_unrelated``, are skipped
    when they are neither manifests nor recognisably agent configs.
    """
    from masqctl.suppress import Suppressions

    report = ValidationReport(strict=strict)
    rules = rules or RuleFilter()
    for path, in_directory in expand_paths(paths):
        read = read_input(path, skip_unrelated or in_directory)
        report.files += 1
        report.skipped_objects += read.skipped_objects
        suppressions = Suppressions.for_file(read)

        def kept(found: list[Finding], hides: Suppressions = suppressions) -> list[Finding]:
            chosen = [f for f in found if rules.keeps(f.rule) and not hides.hides(f)]
            return sorted(chosen, key=lambda f: (f.line, f.column, f.rule))

        whole_file: list[Finding] = []
        if read.syntax_error is not None:
            message, line, column = read.syntax_error
            whole_file.append(finding_at("MASQ001", Origin(read.path, line, column, ""), message))
        whole_file.extend(
            finding_at(
                "MASQ024",
                Origin(read.path, node.line, node.column, f"data.{key}"),
                f'ConfigMap data "{key}" is {node.describe()}, not text: the API server refuses '
                "the object (data values are strings); write "
                f'"{key}: |" with the config indented below it',
            )
            for key, node in read.non_text_data
        )
        by_configmap = {id(info): check_configmap(info, read.path) for info in read.configmaps}
        everything = [*whole_file, *(f for found in by_configmap.values() for f in found)]
        cases = []
        for found in read.configs:
            report.configs += 1
            decoded = decode_config(found.text, flags)
            own = [*decoded.findings, *check_cidr_list(decoded.config)]
            everything.extend(own)
            held = by_configmap.get(id(found.configmap), [])
            line = found.text.locate(1, 1)[0]
            cases.append(ConfigCase(read.path, case_name(found), line, tuple(kept(held + own))))
        holding = {id(found.configmap) for found in read.configs}
        for info in read.configmaps:
            if id(info) not in holding:
                whole_file.extend(by_configmap[id(info)])
        if kept(whole_file):
            cases.insert(0, ConfigCase(read.path, "whole file", 0, tuple(kept(whole_file))))
        report.cases.extend(cases)
        report.findings.extend(kept(everything))
        report.texts[read.path] = read.lines
    return report


def case_name(found: FoundConfig) -> str:
    """How a test case names a config: its ConfigMap and data key, or the file's config."""
    if found.configmap is None:
        return "agent config"
    return f"{found.configmap.label} data.{found.data_key}"
