"""Helm values files and templates: what masqctl says about inputs that are not manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from masqctl.cluster.helm import read_helm_values, template_finding
from masqctl.config.sources import read_input
from masqctl.validate import validate_paths

DATA = Path(__file__).parent / "data"
VALUES = DATA / "cluster/cilium-values.yaml"


def values_of(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "values.yaml"
    path.write_text(text)
    return read_helm_values(read_input(str(path), skip_unrelated=True))


def messages(values) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{f.line}:{f.column}: {f.severity}[{f.rule}] {f.message}" for f in values.findings]


def test_cilium_values_expose_the_config_at_the_values_files_lines() -> None:
    values = read_helm_values(read_input(str(VALUES)))
    assert values is not None
    assert (values.enabled, values.renders_configmap, values.findings) == (True, True, [])
    assert values.config is not None
    assert (values.config.line, values.config.column) == (4, 5)
    assert values.config.plain() == {
        "nonMasqueradeCIDRs": ["10.0.0.0/8", "192.168.0.0/16"],
        "masqLinkLocal": False,
    }
    cidr = values.config.get("nonMasqueradeCIDRs")
    assert cidr is not None and (cidr.value[1].line, cidr.value[1].column) == (4, 38)


@pytest.mark.parametrize("config", ["  config: {}\n", ""])
def test_enabled_without_a_config_renders_no_configmap(tmp_path: Path, config: str) -> None:
    values = values_of(tmp_path, f"ipMasqAgent:\n  enabled: true\n{config}")
    assert not values.renders_configmap
    line, column = (3, 11) if config else (2, 12)
    assert messages(values) == [
        f"{line}:{column}: info[MASQ058] ipMasqAgent is enabled with no config: the chart renders "
        "no ip-masq-agent ConfigMap, so cilium-agent runs its ip-masq-agent on the defaults (the "
        "reserved IPv4 ranges and link-local)"
    ]


def test_config_without_enabled_is_unused(tmp_path: Path) -> None:
    values = values_of(tmp_path, "ipMasqAgent:\n  config:\n    nonMasqueradeCIDRs: []\n")
    assert values.config is not None and not values.renders_configmap
    assert messages(values) == [
        "2:3: info[MASQ058] ipMasqAgent.enabled is not set (false by default): the chart renders "
        "neither the ip-masq-agent ConfigMap nor enable-ip-masq-agent, so ipMasqAgent.config is "
        "unused"
    ]


def test_enabled_follows_go_template_truth(tmp_path: Path) -> None:
    quoted = values_of(
        tmp_path, 'ipMasqAgent:\n  enabled: "false"\n  config: {masqLinkLocal: true}\n'
    )
    assert (quoted.enabled, quoted.renders_configmap) == (True, True)
    no = values_of(tmp_path, "ipMasqAgent:\n  enabled: no\n  config: {masqLinkLocal: true}\n")
    assert no.enabled is False
    assert [f.rule for f in no.findings] == ["MASQ058"]


def test_agent_keys_under_another_parent_are_named_by_their_path(tmp_path: Path) -> None:
    values = values_of(
        tmp_path,
        "ipMasqAgent:\n  enabled: true\n  nonMasqueradeCIDRs: [10.0.0.0/8]\n"
        "networking:\n  masquerade:\n    masqLinkLocal: true\nbpf:\n  masquerade: true\n",
    )
    assert messages(values)[1:] == [
        "3:3: info[MASQ058] values ipMasqAgent.nonMasqueradeCIDRs looks like the agent's key "
        "nonMasqueradeCIDRs: Cilium's chart reads the agent's config only from ipMasqAgent.config "
        "(check it with `helm template ... | masqctl validate -`)",
        "6:5: info[MASQ058] values networking.masquerade.masqLinkLocal looks like the agent's key "
        "masqLinkLocal: which chart uses it, and how, shows only in what the chart renders (check "
        "it with `helm template ... | masqctl validate -`)",
    ]


def validated(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    """validate's configs count and findings for a values file holding ``text``."""
    path = tmp_path / "values.yaml"
    path.write_text(text)
    report = validate_paths([str(path)])
    found = [f"{f.line}:{f.column}: {f.rule} {f.message}" for f in report.findings]
    return report.configs, found


CONTAINED = (
    'CIDR "10.1.0.0/16" is inside "10.0.0.0/8" (nonMasqueradeCIDRs[0], line {line}): '
    "redundant: Cilium's map leaves both unmasqueraded, whichever matches longest"
)


@pytest.mark.parametrize(
    ("config", "where"),
    [
        # a flow mapping is the same mapping to the chart's toJson, not JSON text
        ("  config: {nonMasqueradeCIDRs: [10.0.0.0/8, 10.1.0.0/16]}\n", (3, 3, 45)),
        # continued on a line indented less than where it starts
        ("  config: {nonMasqueradeCIDRs: [10.0.0.0/8,\n    10.1.0.0/16]}\n", (3, 4, 5)),
        # its closing bracket on a line of its own
        (
            "  config:\n    nonMasqueradeCIDRs: [\n      10.0.0.0/8,\n      10.1.0.0/16\n    ]\n",
            (5, 6, 7),
        ),
        # the whole of ipMasqAgent one flow mapping, with a key after the config
        (
            "  config: {nonMasqueradeCIDRs: [10.0.0.0/8, 10.1.0.0/16]}\n  other: {a: b}\n",
            (3, 3, 45),
        ),
    ],
)
def test_values_config_is_read_as_the_yaml_the_chart_turns_into_json(
    tmp_path: Path, config: str, where: tuple[int, int, int]
) -> None:
    first, line, column = where
    assert validated(tmp_path, f"ipMasqAgent:\n  enabled: true\n{config}") == (
        1,
        [f"{line}:{column}: MASQ014 {CONTAINED.format(line=first)}"],
    )


def test_values_config_inside_a_flow_mapping_ends_where_it_closes(tmp_path: Path) -> None:
    text = "ipMasqAgent: {config: {nonMasqueradeCIDRs: [10.0.0.0/8, 10.1.0.0/16]}, enabled: true}\n"
    assert validated(tmp_path, text) == (1, [f"1:57: MASQ014 {CONTAINED.format(line=1)}"])


def test_an_empty_values_config_is_no_config_the_chart_renders(tmp_path: Path) -> None:
    assert validated(tmp_path, "ipMasqAgent:\n  enabled: true\n  config: {}\n") == (
        0,
        [
            "3:11: MASQ058 ipMasqAgent is enabled with no config: the chart renders no "
            "ip-masq-agent ConfigMap, so cilium-agent runs its ip-masq-agent on the defaults (the "
            "reserved IPv4 ranges and link-local)"
        ],
    )


@pytest.mark.parametrize(
    "text",
    [
        "nonMasqueradeCIDRs: [10.0.0.0/8]\n",
        "name: ci\non:\n  push: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n",
        "- a\n- b\n",
    ],
)
def test_raw_configs_and_unrelated_files_are_not_values_files(tmp_path: Path, text: str) -> None:
    assert values_of(tmp_path, text) is None


def test_manifests_are_not_values_files() -> None:
    assert read_helm_values(read_input(str(DATA / "cluster/cilium-helm-template.yaml"))) is None


def test_chart_template_is_an_info_not_a_syntax_error() -> None:
    read = read_input(str(DATA / "cluster/cilium-ip-masq-agent-configmap-template.yaml"))
    finding = template_finding(read)
    assert finding is not None
    assert (finding.line, finding.column, finding.severity, finding.rule) == (
        2,
        1,
        "info",
        "MASQ057",
    )
    assert finding.message == (
        "this is a template, not a manifest yet (it holds {{- if and .Values.ipMasqAgent.enabled "
        ".Values.ipMasqAgent.config }}): render it and check the output: "
        "`helm template ... | masqctl validate -`"
    )


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "{{ .Release.Name }}"\n',
            (4, 10),
            "this is a template, not a manifest yet (it holds {{ .Release.Name }}): render it "
            "and check the output: `helm template ... | masqctl validate -`",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\n{% if masq %}\nmetadata: {name: ip-masq-agent}\n"
            "{% endif %}\n",
            (3, 1),
            "this is a template, not a manifest yet (it holds {% if masq %}): render it and "
            "check the output (`... | masqctl validate -`)",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ip-masq-agent\ndata:\n"
            "  config: |\n    nonMasqueradeCIDRs:\n      - ${POD_CIDR}\n",
            (8, 9),
            "this is a template, not a manifest yet (it holds ${POD_CIDR}): fill it in and "
            "check the output: `envsubst < FILE | masqctl validate -`",
        ),
        (
            "nonMasqueradeCIDRs:\n  - {{ pod_cidr }}\n",
            (2, 5),
            "this is a template, not a manifest yet (it holds {{ pod_cidr }}): render it and "
            "check the output: `helm template ... | masqctl validate -`",
        ),
    ],
)
def test_placeholders_are_found_where_they_are(
    tmp_path: Path, text: str, where: tuple[int, int], message: str
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    finding = template_finding(read_input(str(path)))
    assert finding is not None
    assert ((finding.line, finding.column), finding.message) == (where, message)


@pytest.mark.parametrize(
    "block",
    [
        '    nsenter --mount=/hostproc/1/ns/mnt "${BIN_PATH}/cilium-sysctlfix";',
        "    summary: '{{ $labels.instance }} is down'",
        '    {"legendFormat": "{{pod}}", "datasource": "${DS_PROMETHEUS}"}',
        '    {{ define "slack.title" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}'
        "{{ end }}",
        '    {{ define "slack.text" }}{{ template "slack.title" . }}{{ end }}',
    ],
)
def test_rendered_manifests_with_other_braces_are_not_templates(tmp_path: Path, block: str) -> None:
    path = tmp_path / "rendered.yaml"
    path.write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  script: |\n{block}\n"
    )
    assert template_finding(read_input(str(path))) is None
