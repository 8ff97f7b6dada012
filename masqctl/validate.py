"""validate: every input's configs read as the agent reads them, plus the lint checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from masqctl.agent import AgentFlags
from masqctl.config.agent_parser import ConfigText
from masqctl.config.nodes import Node, descendants
from masqctl.config.sources import FoundConfig, ReadFile, expand_paths, read_input
from masqctl.errors import EXIT_NO, EXIT_OK
from masqctl.findings import ERROR, INFO, WARNING, Finding
from masqctl.flavours import get_flavour
from masqctl.flavours.base import Flavour
from masqctl.lint.catalogue import CHECKS
from masqctl.lint.configmap import check_configmap
from masqctl.lint.report import finding_at
from masqctl.model import Origin

if TYPE_CHECKING:
    from masqctl.agent_setup import AgentInputs
    from masqctl.cluster.model import AgentDeployment


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
        """Whether ``finding`` makes the run fail (errors; with --strict, warnings too, and
        the infos of inputs masqctl cannot check as they are)."""
        if finding.severity == ERROR:
            return True
        return self.strict and (finding.severity == WARNING or CHECKS[finding.rule].fails_strict)

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
    agent: AgentInputs | None = None,
    rules: RuleFilter | None = None,
    skip_unrelated: bool = False,
    strict: bool = False,
) -> ValidationReport:
    """Validate every config in ``paths``; InputError for a path that cannot be read.

    ``agent``: --flavour and the agent flags of the command line.  A ConfigMap that an
    agent DaemonSet among the inputs mounts is read as that agent reads it (its flavour
    and flags, the command line's on top); every other config with --flavour's reading.
    Files found inside directories, and every file with ``skip_unrelated``, are skipped
    when they are neither manifests nor recognisably agent configs.
    """
    from masqctl.agent_setup import AgentInputs
    from masqctl.cluster.agents import find_agents

    agent = agent or AgentInputs()
    report = ValidationReport(strict=strict)
    reads = []
    for path, in_directory in expand_paths(paths):
        reads.append(read_input(path, skip_unrelated or in_directory))
        report.files += 1
        report.skipped_objects += reads[-1].skipped_objects
    agents = find_agents(reads)
    checked = _Checked(agents.all_findings())
    for deployment in agents.deployments:
        checked.deployment(deployment, reads, agent)
    flavour = _unmounted_flavour(agent.flavour, agents.deployments)
    flags = flavour.agent_flags(agent.given)
    # the configs no DaemonSet claims: read together, as one agent's files (an agent that
    # merges its files merges all of them; any other reads each on its own)
    unclaimed = [found for read in reads for found in checked.file(read, flavour)]
    checked.group(flavour, flags, flavour.files_read(unclaimed))
    for read in reads:
        report.configs += sum(1 for found in read.configs if id(found) in checked.cases)
        report.configs += read.path in checked.values_configs
        mounted_only = checked.mounted_only.get(read.path, [])
        report.configs += len(mounted_only)
        listed = {id(info.node) for info in read.configmaps}
        # a ConfigMap not named as the agent's was counted as skipped, yet its DaemonSet reads it
        report.skipped_objects -= len({id(node) for _, node in mounted_only} - listed)
        report.texts[read.path] = read.lines
        checked.report(read, report, rules or RuleFilter())
    return report


def _unmounted_flavour(name: str | None, deployments: list[AgentDeployment]) -> Flavour:
    """Who reads the configs no DaemonSet mounts: --flavour ($MASQCTL_FLAVOUR); without
    it, the agent the inputs' DaemonSets run (when they run one kind), else upstream's."""
    import os

    from masqctl.flavours import ENVIRONMENT

    deployed = {deployment.flavour.name: deployment.flavour for deployment in deployments}
    if name or os.environ.get(ENVIRONMENT) or len(deployed) != 1:
        return get_flavour(name)
    return next(iter(deployed.values()))


def _placed(context: Finding, found: FoundConfig) -> Finding:
    """``context`` about ``found``, at the line and column where that config starts."""
    line, column = found.text.locate(1, 1)
    return replace(context, file=found.text.file, line=line, column=column)


def _span(found: FoundConfig) -> tuple[int, int]:
    """The lines of the user's file a config occupies."""
    first = found.text.locate(1, 1)[0]
    last = found.text.locate(max(found.text.text.count("\n"), 0) + 1, 1)[0]
    return first, max(first, last)


class _Checked:
    """The findings of one validate run, by file, and per config (its JUnit case)."""

    def __init__(self, wiring: list[Finding]) -> None:
        self.by_file: dict[str, list[Finding]] = {}
        #: Per config (by id): its findings, and the ConfigMap findings held with it.
        self.cases: dict[int, list[Finding]] = {}
        self.claimed: set[int] = set()
        #: Per ConfigMap (by id): its own findings, which each of its configs carries.
        self.held: dict[int, list[Finding]] = {}
        self.mounted_configmaps: set[int] = set()
        #: The Helm values files whose agent config was read.
        self.values_configs: set[str] = set()
        #: By file: the configs a DaemonSet reads that reading the file alone did not find
        #: (a ConfigMap not named as the agent's, a binaryData key), with their ConfigMap.
        self.mounted_only: dict[str, list[tuple[FoundConfig, Node]]] = {}
        for finding in wiring:
            self.add(finding)

    def add(self, finding: Finding) -> None:
        self.by_file.setdefault(finding.file, []).append(finding)

    def group(
        self,
        flavour: Flavour,
        flags: AgentFlags,
        files: Sequence[FoundConfig],
        context: Finding | None = None,
    ) -> None:
        """``files`` read together by one agent: each config's own findings, and the
        agent's (merged) reading linted, each finding filed with the config it is in."""
        groups = [list(files)] if flavour.merges_files else [[found] for found in files]
        for group in groups:
            if not group:
                continue
            decoded = flavour.decode(group, flags)
            found_here = [*decoded.findings, *flavour.lint(group, decoded, flags)]
            placed = [(found, _placed(context, found)) for found in group] if context else []
            for found in group:
                self.cases.setdefault(id(found), [])
            for found, finding in placed:
                self.cases[id(found)].append(finding)
            spans = [(found, _span(found)) for found in group]  # once: a text may be huge
            for finding in found_here:
                self.add(finding)
                owner = next(
                    (
                        found
                        for found, (first, last) in spans
                        if found.text.file == finding.file and first <= finding.line <= last
                    ),
                    group[0],
                )
                self.cases[id(owner)].append(finding)
            for _, finding in placed:
                self.add(finding)

    def deployment(
        self, deployment: AgentDeployment, reads: list[ReadFile], agent: AgentInputs
    ) -> None:
        """The configs a DaemonSet's agent reads, read with its flavour and flags."""
        from masqctl.agent_setup import deployment_notes, mounted_configs

        flavour = deployment.flavour
        flags = flavour.deployed_flags({**deployment.flags, **agent.given}, deployment.version)
        files = mounted_configs(deployment, reads)
        for mounted in deployment.files:
            if mounted.configmap_node is not None:
                self.mounted_configmaps.add(id(mounted.configmap_node))
        originals = {
            (id(found.configmap.node) if found.configmap else 0, found.data_key): found
            for read in reads
            for found in read.configs
        }
        group = []
        # mounted_configs' configs, one per file read whose ConfigMap is among the inputs
        configmaps = [m.configmap_node for m in deployment.read_files if m.value is not None]
        listed = [node for node in configmaps if node is not None]
        for found, configmap in zip(files, listed, strict=True):
            original = originals.get(
                (id(found.configmap.node) if found.configmap else 0, found.data_key)
            )
            self.claimed.add(id(original or found))
            group.append(original or found)
            if original is None:
                self.mounted_only.setdefault(found.text.file, []).append((found, configmap))
        message = "; ".join(deployment_notes(deployment, agent.given))
        context = finding_at("MASQ059", Origin(deployment.file, 0, 1, ""), message)
        self.group(flavour, flags, group, context)

    def file(self, read: ReadFile, flavour: Flavour) -> list[FoundConfig]:
        """One input's own checks; its configs no DaemonSet claims (for --flavour)."""
        from masqctl.cluster.helm import go_truth, read_helm_values, template_finding

        template = template_finding(read)
        if template is not None:
            self.add(template)
            return []
        if read.syntax_error is not None:
            message, line, column = read.syntax_error
            self.add(finding_at("MASQ001", Origin(read.path, line, column, ""), message))
        helm = read_helm_values(read)
        if helm is not None:
            for finding in helm.findings:
                self.add(finding)
            if helm.config is not None and go_truth(helm.config):
                self.helm_config(helm.config, read)
            return []
        for key, node in read.non_text_data:
            self.add(
                finding_at(
                    "MASQ024",
                    Origin(read.path, node.line, node.column, f"data.{key}"),
                    f'ConfigMap data "{key}" is {node.describe()}, not text: the API server '
                    "refuses the object (data values are strings); write "
                    f'"{key}: |" with the config indented below it',
                )
            )
        for info in read.configmaps:
            if id(info.node) not in self.mounted_configmaps:
                self.held[id(info)] = check_configmap(info, read.path, flavour)
                for finding in self.held[id(info)]:
                    self.add(finding)
        return [found for found in read.configs if id(found) not in self.claimed]

    def helm_config(self, node: Node, read: ReadFile) -> None:
        """Cilium's ``ipMasqAgent.config``, read in place (the chart writes it with toJson,
        which keeps every key and sorts them as the agent's reader does), so findings
        point at the values file's own lines."""
        from masqctl.config.sources import FoundConfig

        cilium = get_flavour("cilium")
        self.values_configs.add(read.path)
        text = subtree_text(node, read)
        self.group(cilium, cilium.agent_flags({}), [FoundConfig(text, name="ip-masq-agent")])

    def report(self, read: ReadFile, report: ValidationReport, rules: RuleFilter) -> None:
        """The file's findings, filtered and suppressed, into ``report`` (and its cases)."""
        from masqctl.suppress import Suppressions

        suppressions = Suppressions.for_file(read)

        def kept(found: list[Finding]) -> list[Finding]:
            chosen = [f for f in found if rules.keeps(f.rule) and not suppressions.hides(f)]
            return sorted(chosen, key=lambda f: (f.line, f.column, f.rule))

        mine = kept(self.by_file.get(read.path, []))
        report.findings.extend(mine)
        in_cases: set[int] = set()
        cases = []
        mounted_only = [found for found, _ in self.mounted_only.get(read.path, [])]
        for found in [*read.configs, *mounted_only]:
            if id(found) not in self.cases:
                continue
            own = kept(self.cases[id(found)] + self.held.get(id(found.configmap), []))
            in_cases.update(id(finding) for finding in own)
            line = found.text.locate(1, 1)[0]
            cases.append(ConfigCase(read.path, case_name(found), line, tuple(own)))
        rest = [finding for finding in mine if id(finding) not in in_cases]
        if rest:
            cases.insert(0, ConfigCase(read.path, "whole file", 0, tuple(rest)))
        report.cases.extend(cases)


def subtree_text(node: Node, read: ReadFile) -> ConfigText:
    """The YAML text of a value inside a YAML file, as a config whose positions are the
    file's own: the lines it spans as they stand, what precedes it on its first line
    blanked and what follows it on its last line left out.  A ``---`` line leads it, so
    that a flow mapping is read as the YAML it is (text starting with ``{`` is JSON)."""
    end_line, end_column = _node_end(read.lines, node)
    lines = read.lines[node.line - 1 : end_line]
    lines[-1] = lines[-1][:end_column]
    lines[0] = " " * (node.column - 1) + lines[0][node.column - 1 :]
    return ConfigText(
        "---\n" + "\n".join(lines) + "\n",
        read.path,
        lambda line, col: (node.line, node.column) if line == 1 else (node.line + line - 2, col),
    )


def _node_end(lines: list[str], node: Node) -> tuple[int, int]:
    """Where the value ``node`` of the YAML text ``lines`` ends: its last line (1-based)
    and the column (0-based) just after it, from libyaml's events; the end of its last
    item's line where they cannot tell."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    try:
        for event in yaml.parse("\n".join(lines), Loader=loader):
            mark = event.start_mark
            if depth == 0 and (mark.line + 1, mark.column + 1) != (node.line, node.column):
                continue
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if depth == 0:
                return event.end_mark.line + 1, event.end_mark.column
    except yaml.YAMLError:
        pass
    last = max(item.line for item in descendants(node))
    return last, len(lines[last - 1])


def case_name(found: FoundConfig) -> str:
    """How a test case names a config: its ConfigMap and data key, or the file's config."""
    if found.configmap is None:
        return "agent config"
    return f"{found.configmap.label} data.{found.data_key}"
