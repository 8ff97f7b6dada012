"""Inputs that are not manifests yet: Helm values files, and templates.

Cilium's chart turns ``ipMasqAgent`` values into the agent's config: with
``ipMasqAgent.enabled`` and a non-empty ``ipMasqAgent.config`` (Go template truth), it
renders ConfigMap ``ip-masq-agent`` whose key ``config`` is ``toJson`` of the config, and
cilium-config gets ``enable-ip-masq-agent: "true"``; otherwise no ConfigMap, and the
agent (if on) runs on its defaults.  ``read_helm_values`` exposes that config as the
values file's own node, so it can be validated with the cilium flavour at the values
file's lines.

A template (Helm/Go ``{{ }}``, Jinja ``{% %}``, ``${VAR}`` placeholders) is not YAML
anyone reads as it is: ``template_finding`` says so, as an info, in place of the syntax
error (or the odd values) the placeholders cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from masqctl.agent import CONFIG_KEYS
from masqctl.config.agent_parser import go_fold
from masqctl.config.nodes import BOOL, FLOAT, INT, MAP, NULL, SCALAR, SEQ, DocumentError, Node
from masqctl.config.sources import ReadFile
from masqctl.config.yaml_reader import read_yaml_documents
from masqctl.findings import Finding
from masqctl.lint.report import finding_at
from masqctl.model import Origin

CILIUM_VALUES_KEY = "ipMasqAgent"
_FOLDED_AGENT_KEYS = {go_fold(key) for key in CONFIG_KEYS}


@dataclass
class HelmValues:
    """A Helm values file, as far as the agent is concerned."""

    file: str
    #: ``ipMasqAgent.enabled`` as the chart's ``if`` takes it (None: not set, and the
    #: chart's default is false).
    enabled: bool | None = None
    enabled_node: Node | None = None
    #: ``ipMasqAgent.config``: the mapping the chart writes as JSON into ConfigMap
    #: ip-masq-agent (key ``config``), with its positions in the values file; validate it
    #: with the cilium flavour.  None when the values have no such key.
    config: Node | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def renders_configmap(self) -> bool:
        """Whether the chart renders the ip-masq-agent ConfigMap from these values."""
        return bool(self.enabled) and self.config is not None and go_truth(self.config)


def read_helm_values(read: ReadFile) -> HelmValues | None:
    """The values file ``read`` is, or None: a manifest, a raw agent config (agent keys at
    the top) and a file with no ``ipMasqAgent`` nor agent keys anywhere are not."""
    if read.objects or read.syntax_error is not None:
        return None
    try:
        documents = list(read_yaml_documents("\n".join(read.lines)))
    except DocumentError:
        return None
    top = documents[0] if documents else None
    if top is None or top.kind != MAP:
        return None
    if any(_is_agent_key(key) for key, _ in top.items()):
        return None
    cilium = top.get(CILIUM_VALUES_KEY)
    nested = _agent_keys(top, (), cilium.get("config") if cilium is not None else None)
    if cilium is None and not nested:
        return None
    values = HelmValues(read.path)
    for path, key in nested:
        values.findings.append(_misplaced(read.path, path, key))
    if cilium is not None and cilium.kind == MAP:
        _read_cilium(values, cilium)
    values.findings.sort(key=lambda f: (f.line, f.column))
    return values


def _read_cilium(values: HelmValues, cilium: Node) -> None:
    values.enabled_node = cilium.get("enabled")
    values.enabled = go_truth(values.enabled_node) if values.enabled_node is not None else None
    values.config = cilium.get("config")
    config = values.config
    if values.enabled and (config is None or not go_truth(config)):
        node = config or values.enabled_node or cilium
        values.findings.append(
            finding_at(
                "MASQ058",
                Origin(values.file, node.line, node.column, "ipMasqAgent.config"),
                "ipMasqAgent is enabled with no config: the chart renders no ip-masq-agent "
                "ConfigMap, so cilium-agent runs its ip-masq-agent on the defaults (the "
                "reserved IPv4 ranges and link-local)",
            )
        )
    elif config is not None and go_truth(config) and not values.enabled:
        node = values.enabled_node or cilium
        state = "false" if values.enabled_node is not None else "not set (false by default)"
        values.findings.append(
            finding_at(
                "MASQ058",
                Origin(values.file, node.line, node.column, "ipMasqAgent.enabled"),
                f"ipMasqAgent.enabled is {state}: the chart renders neither the ip-masq-agent "
                "ConfigMap nor enable-ip-masq-agent, so ipMasqAgent.config is unused",
            )
        )


def go_truth(node: Node) -> bool:
    """Go template truth (``{{ if }}``): false, 0, null and empty text, list or mapping
    are false; everything else (the text "false" too) is true."""
    if node.kind in (MAP, SEQ):
        return bool(node.value)
    if node.tag == NULL:
        return False
    if node.tag in (BOOL, INT, FLOAT):
        return bool(node.value)
    return node.value != ""


def _is_agent_key(key: Node) -> bool:
    return key.kind == SCALAR and go_fold(str(key.value)) in _FOLDED_AGENT_KEYS


def _agent_keys(
    node: Node, path: tuple[str, ...], skip: Node | None
) -> list[tuple[tuple[str, ...], Node]]:
    """(values path, key node) of each agent key below the top level, outside ``skip``,
    in document order (no recursion: values may nest deep)."""
    found = []
    pending = [(node, path)]
    while pending:
        current, where = pending.pop()
        below = []
        for key, value in current.items():
            if value is skip:
                continue
            here = (*where, str(key.value))
            if where and _is_agent_key(key):
                found.append((here, key))
            elif value.kind == MAP:
                below.append((value, here))
        pending.extend(below)
    return sorted(found, key=lambda item: (item[1].line, item[1].column))


def _misplaced(file: str, path: tuple[str, ...], key: Node) -> Finding:
    dotted = ".".join(path)
    if path[0] == CILIUM_VALUES_KEY:
        why = f"Cilium's chart reads the agent's config only from {CILIUM_VALUES_KEY}.config"
    else:
        why = "which chart uses it, and how, shows only in what the chart renders"
    return finding_at(
        "MASQ058",
        Origin(file, key.line, key.column, dotted),
        f"values {dotted} looks like the agent's key {path[-1]}: {why} (check it with "
        "`helm template ... | masqctl validate -`)",
    )


_ANY_GO_ACTION = re.compile(r"\{\{.*?\}\}")
#: Go template actions only Helm charts write (a rendered manifest can hold other
#: ``{{ }}`` text: Prometheus, Grafana and Alertmanager templates inside ConfigMaps, and
#: Alertmanager's use Go's own ``define`` and ``template``).
_HELM_ACTION = re.compile(
    r"\{\{-?\s*(?:\.(?:Values|Release|Chart|Capabilities|Files|Template)\b|"
    r"(?:include|toYaml|tpl|required)\b)"
)
_JINJA_STATEMENT = re.compile(r"\{%-?\s*[A-Za-z]")
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")

_CLOSERS = {"helm": "}}", "jinja": "%}", "placeholder": "}"}
_HOW = {
    "helm": "render it and check the output: `helm template ... | masqctl validate -`",
    "jinja": "render it and check the output (`... | masqctl validate -`)",
    "placeholder": "fill it in and check the output: `envsubst < FILE | masqctl validate -`",
}


def template_finding(read: ReadFile) -> Finding | None:
    """An info finding when ``read`` is a template rather than a manifest or config.

    Report it in place of the file's syntax error (MASQ001) and of the findings its
    placeholders cause.  Where the file does not parse (or is a raw agent config), any
    ``{{ }}``, ``{% %}`` or ``${VAR}`` counts; in a manifest that parses, only Helm's own
    actions and Jinja statements (other ``{{ }}`` text is common in rendered dashboards
    and alert rules), and ``${VAR}`` inside an agent config.  A file skipped as unrelated
    (in a directory, or with --skip-unrelated) counts only when it mentions masquerading
    at all: another chart's templates are not the agent's business.
    """
    if read.unrelated and not any("masq" in line.lower() for line in read.lines):
        return None
    loose = read.syntax_error is not None or any(c.configmap is None for c in read.configs)
    kinds = [("helm", _HELM_ACTION), ("jinja", _JINJA_STATEMENT)]
    if loose:
        kinds = [
            ("helm", _ANY_GO_ACTION),
            ("jinja", _JINJA_STATEMENT),
            ("placeholder", _PLACEHOLDER),
        ]
    found = _first_marker(read.lines, kinds)
    if found is None and not loose:
        found = _placeholder_in_configs(read)
    if found is None:
        return None
    kind, marker, line, column = found
    return finding_at(
        "MASQ057",
        Origin(read.path, line, column, ""),
        f"this is a template, not a manifest yet (it holds {marker}): {_HOW[kind]}",
    )


def _first_marker(
    lines: list[str], kinds: list[tuple[str, re.Pattern[str]]]
) -> tuple[str, str, int, int] | None:
    for number, text in enumerate(lines, 1):
        hits = [
            (match.start(), kind, match)
            for kind, pattern in kinds
            if (match := pattern.search(text))
        ]
        if hits:
            start, kind, match = min(hits, key=lambda hit: hit[0])
            closer = _CLOSERS[kind]
            end = text.find(closer, start)
            end = match.end() if end < 0 else end + len(closer)
            return kind, text[start:end], number, start + 1
    return None


def _placeholder_in_configs(read: ReadFile) -> tuple[str, str, int, int] | None:
    for found in read.configs:
        for number, text in enumerate(found.text.text.splitlines(), 1):
            match = _PLACEHOLDER.search(text)
            if match:
                line, column = found.text.locate(number, match.start() + 1)
                return "placeholder", match.group(), line, column
    return None
