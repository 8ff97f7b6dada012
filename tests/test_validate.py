"""validate over real inputs: ConfigMaps, Lists, streams, directories, stdin, lint checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from masqctl.agent import AgentFlags
from masqctl.agent_setup import AgentInputs
from masqctl.errors import InputError
from masqctl.validate import validate_paths

DATA = Path(__file__).parent / "data"


def masqctl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "masqctl", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def findings_of(tmp_path: Path, text: str, name: str = "c.yaml", **flags: object):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text)
    report = validate_paths([str(path)], AgentInputs(given=flags))
    return [(f.rule, f.line, f.column) for f in report.findings], report


def test_kubectl_made_configmap_points_at_the_manifest_line_of_the_bad_cidr() -> None:
    result = masqctl("validate", "--format", "json", str(DATA / "configmaps/host-bits.yaml"))
    assert result.returncode == 1
    assert json.loads(result.stdout) == {
        "files": 1,
        "configs": 1,
        "skipped": 0,
        "findings": [
            {
                "file": str(DATA / "configmaps/host-bits.yaml"),
                "line": 6,
                "column": 9,
                "rule": "MASQ003",
                "severity": "error",
                "message": 'CIDR "172.16.0.1/12" has host bits set; the agent rejects it '
                "(did you mean 172.16.0.0/12?)",
                "hint": "Write the network address, as suggested in the message.",
            }
        ],
    }


def test_text_report_shows_the_line_with_a_caret(tmp_path: Path) -> None:
    result = masqctl("validate", str(DATA / "configmaps/host-bits.yaml"))
    assert result.stdout.splitlines()[:3] == [
        f'{DATA}/configmaps/host-bits.yaml:6:9: error[MASQ003] CIDR "172.16.0.1/12" has host '
        "bits set; the agent rejects it (did you mean 172.16.0.0/12?)",
        "  6 |       - 172.16.0.1/12",
        "    |         ^",
    ]
    assert result.stdout.splitlines()[-1] == "1 file, 1 config: 1 error, 0 warnings, 0 infos"


def test_valid_configmap_passes() -> None:
    result = masqctl("validate", str(DATA / "configmaps/valid.yaml"))
    assert (result.returncode, result.stdout) == (
        0,
        "1 file, 1 config: 0 errors, 0 warnings, 0 infos\n",
    )


def test_missing_file_is_exit_2_with_one_line() -> None:
    result = masqctl("validate", "/nonexistent/cm.yaml")
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "masqctl: /nonexistent/cm.yaml: no such file\n",
    )


def test_stdin_is_read_with_dash() -> None:
    result = masqctl("validate", "-", stdin="nonMasqueradeCIDRs: [10.0.0.1/8]\n")
    assert result.returncode == 1
    assert result.stdout.startswith('<stdin>:1:22: error[MASQ003] CIDR "10.0.0.1/8"')


def test_strict_makes_warnings_fail(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("nonMasqueradeCIDRs: []\n")
    assert masqctl("validate", str(path)).returncode == 0
    assert masqctl("validate", "--strict", str(path)).returncode == 1


def test_empty_list_warns(tmp_path: Path) -> None:
    found, _ = findings_of(tmp_path, "nonMasqueradeCIDRs: []\n")
    assert found == [("MASQ012", 1, 1)]


def test_duplicate_and_shadowed_cidrs_warn(tmp_path: Path) -> None:
    found, report = findings_of(
        tmp_path,
        "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 10.0.0.0/8\n  - 10.1.0.0/16\n",
    )
    assert found == [("MASQ013", 3, 5), ("MASQ014", 4, 5)]
    assert report.findings[1].message == (
        'CIDR "10.1.0.0/16" is inside "10.0.0.0/8" (nonMasqueradeCIDRs[0], line 2): its rule '
        "can never match"
    )


def test_match_all_cidr_warns(tmp_path: Path) -> None:
    found, _ = findings_of(tmp_path, "nonMasqueradeCIDRs: [0.0.0.0/0, '::/0']\n", enable_ipv6=True)
    assert found == [("MASQ015", 1, 22), ("MASQ015", 1, 33)]


def test_link_local_listed_while_not_masqueraded_is_redundant(tmp_path: Path) -> None:
    found, _ = findings_of(tmp_path, "nonMasqueradeCIDRs: [169.254.169.254/32]\n")
    assert found == [("MASQ016", 1, 22)]
    found, _ = findings_of(
        tmp_path, "masqLinkLocal: true\nnonMasqueradeCIDRs: [169.254.169.254/32]\n"
    )
    assert found == []


def test_configmap_in_wrong_namespace_with_wrong_name_and_key(tmp_path: Path) -> None:
    found, _ = findings_of(
        tmp_path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ip-masq-agent-x\n"
        "  namespace: default\ndata:\n  ip-masq-agent: |\n    masqLinkLocal: true\n",
    )
    assert found == [("MASQ017", 4, 9), ("MASQ018", 5, 14), ("MASQ019", 7, 3)]


def test_azure_v2_corpus_configmaps_are_read_from_ip_masq_agent_keys() -> None:
    path = str(DATA / "corpus/azure-v2-config-custom.yaml")
    report = validate_paths([path], AgentInputs(flavour="azure-v2"))
    assert report.configs == 1
    assert [f.rule for f in report.findings] == ["MASQ017", "MASQ018"]


def test_azure_keys_are_not_read_by_upstreams_agent_and_the_finding_says_whose_they_are() -> None:
    report = validate_paths([str(DATA / "corpus/azure-v2-config-custom.yaml")], AgentInputs())
    assert report.configs == 0
    [key] = [f for f in report.findings if f.rule == "MASQ019"]
    assert key.message.endswith(
        "kubernetes-sigs/ip-masq-agent would find no config file in it and run on its defaults "
        "(its keys ip-masq-agent are how Azure's ip-masq-agent-v2 names them: --flavour "
        "azure-v2)"
    )


def test_directory_is_read_recursively_and_other_objects_are_skipped() -> None:
    report = validate_paths([str(DATA / "corpus")], AgentInputs())
    # upstream's reading: the two Azure ConfigMaps hold no key its agent reads
    assert (report.files, report.configs, report.skipped_objects) == (5, 1, 2)


def test_kind_list_and_multi_document_streams(tmp_path: Path) -> None:
    configmap = (DATA / "configmaps/host-bits.yaml").read_text()
    indented = "".join(f"  {line}\n" if line else "\n" for line in configmap.splitlines())
    listing = "apiVersion: v1\nkind: List\nitems:\n- " + indented[2:]
    found, report = findings_of(tmp_path, listing, "list.yaml")
    assert found == [("MASQ003", 9, 11)]
    stream = "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n---\n" + configmap
    found, report = findings_of(tmp_path, stream, "stream.yaml")
    assert (found, report.skipped_objects) == ([("MASQ003", 10, 9)], 1)


def test_unrelated_configmaps_are_skipped(tmp_path: Path) -> None:
    found, report = findings_of(
        tmp_path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: coredns, namespace: kube-system}\n"
        "data:\n  Corefile: |\n    .:53 {}\n",
    )
    assert (found, report.configs, report.skipped_objects) == ([], 0, 1)


def test_json_configmap_points_at_the_config_value(tmp_path: Path) -> None:
    document = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ip-masq-agent", "namespace": "kube-system"},
        "data": {"config": "nonMasqueradeCIDRs: [10.0.0.1/8]\n"},
    }
    found, _ = findings_of(tmp_path, json.dumps(document, indent=2), "cm.json")
    assert found == [("MASQ003", 9, 15)]


def test_missing_path_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        validate_paths([str(tmp_path / "missing.yaml")], AgentInputs())


def test_non_utf8_file_is_a_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"cidrLimit: 5\nmasqLinkLocal: \xff\n")
    report = validate_paths([str(path)], AgentInputs())
    assert [(f.rule, f.line, f.column) for f in report.findings] == [("MASQ001", 2, 16)]


def test_select_and_ignore_choose_checks(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("nonMasqueradeCIDRs: [10.0.0.0/8, 10.0.0.0/8, 0.0.0.0/0]\n")
    ignored = masqctl("validate", "--format", "json", "--ignore", "MASQ013", str(path))
    assert [f["rule"] for f in json.loads(ignored.stdout)["findings"]] == ["MASQ015"]
    selected = masqctl("validate", "--format", "json", "--select", "MASQ013", str(path))
    assert [f["rule"] for f in json.loads(selected.stdout)["findings"]] == ["MASQ013"]
    unknown = masqctl("validate", "--select", "MASQ999", str(path))
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "masqctl: unknown check ID MASQ999 (see masqctl validate --list-checks)\n",
    )


def test_unrelated_yaml_is_skipped_in_directories_and_with_skip_unrelated(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / "workflow.yaml").write_text("on: push\njobs: {}\n")
    (tmp_path / "typo.yaml").write_text("nonMasqueradeCIDR: [10.0.0.0/8]\n")
    (tmp_path / "empty.yaml").write_text("")
    report = validate_paths([str(tmp_path)], AgentInputs())
    assert (report.files, report.configs, report.skipped_objects) == (3, 1, 2)
    assert [f.rule for f in report.findings] == ["MASQ002"]
    explicit = validate_paths([str(tmp_path / "workflow.yaml")], AgentInputs())
    assert [f.rule for f in explicit.findings] == ["MASQ002", "MASQ002"]
    skipped = validate_paths([str(tmp_path / "workflow.yaml")], AgentInputs(), skip_unrelated=True)
    assert (skipped.configs, skipped.skipped_objects, skipped.findings) == (0, 1, [])


def test_only_an_earlier_enclosing_cidr_shadows(tmp_path: Path) -> None:
    found, report = findings_of(
        tmp_path,
        "nonMasqueradeCIDRs: [10.1.0.0/16, 10.0.0.0/8, 10.1.2.0/24, 'fd00::/8', 'fd00:1::/32']\n",
        enable_ipv6=True,
    )
    assert found == [("MASQ014", 1, 47), ("MASQ014", 1, 72)]
    assert report.findings[0].message.startswith('CIDR "10.1.2.0/24" is inside "10.1.0.0/16"')


def test_text_report_on_a_terminal_is_styled_by_rich() -> None:
    import io

    from masqctl.output import write_text

    report = validate_paths([str(DATA / "configmaps/host-bits.yaml")], AgentInputs())
    plain, styled = io.StringIO(), io.StringIO()
    write_text(report, plain, color=False)
    write_text(report, styled, color=True)
    assert "\x1b[" not in plain.getvalue()
    assert "\x1b[" in styled.getvalue()
    assert "error[MASQ003]" in styled.getvalue()


def test_a_directory_given_as_config_is_an_input_error(tmp_path: Path) -> None:
    from masqctl.config.load import load_config
    from masqctl.flavours import get_flavour

    with pytest.raises(InputError, match="is a directory"):
        load_config([str(tmp_path)], AgentFlags(), get_flavour("upstream"))


def test_configmap_config_written_as_a_mapping_is_an_error(tmp_path: Path) -> None:
    found, report = findings_of(
        tmp_path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ip-masq-agent, namespace: kube-system}"
        "\ndata:\n  config:\n    nonMasqueradeCIDRs: [10.0.0.1/8]\n",
    )
    assert found == [("MASQ024", 6, 5)]
    assert report.findings[0].message == (
        'ConfigMap data "config" is object, not text: the API server refuses the object (data '
        'values are strings); write "config: |" with the config indented below it'
    )


def test_configmap_without_namespace_is_told_so(tmp_path: Path) -> None:
    _, report = findings_of(
        tmp_path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ip-masq-agent\ndata:\n"
        "  config: |\n    masqLinkLocal: true\n",
    )
    assert [(f.rule, f.line) for f in report.findings] == [("MASQ018", 4)]
    assert "names no namespace" in report.findings[0].message


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        ("# a\u2028# b\ncidrLimit: x\n", 3, "cidrLimit: x"),  # YAML 1.1 line break
        ('{"masqLinkLocal": true, "_": "\u2028",\n "cidrLimit": "x"}', 2, ' "cidrLimit": "x"}'),
    ],
)
def test_shown_line_is_the_line_the_parser_counts(
    tmp_path: Path, text: str, line: int, shown: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    report = validate_paths([str(path)], AgentInputs())
    assert report.findings[-1].line == line
    assert report.texts[str(path)][line - 1] == shown


@pytest.mark.parametrize(
    ("cidr", "rules"),
    [
        ("fd00::/8", []),
        # Go files an IPv4-mapped CIDR under IPv4: the IPv6 chain still returns only fe80::/10
        ('"::ffff:10.0.0.0/104"', [("MASQ061", 1, 1), ("MASQ022", 1, 22)]),
    ],
)
def test_enable_ipv6_wants_a_cidr_of_the_ipv6_chain(
    tmp_path: Path, cidr: str, rules: list[tuple[str, int, int]]
) -> None:
    found, _ = findings_of(tmp_path, f"nonMasqueradeCIDRs: [{cidr}]\n", enable_ipv6=True)
    assert found == rules


def test_alertmanager_templates_in_a_dump_do_not_hide_the_agents_configmap(
    tmp_path: Path,
) -> None:
    """Go's define/template in a rendered ConfigMap are data, not a Helm chart."""
    found, report = findings_of(
        tmp_path,
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: ConfigMap\n"
        "  metadata: {name: alertmanager-templates, namespace: monitoring}\n"
        "  data:\n    default.tmpl: |\n"
        '      {{ define "slack.text" }}{{ template "slack.title" . }}{{ end }}\n'
        "- apiVersion: v1\n  kind: ConfigMap\n"
        "  metadata: {name: ip-masq-agent, namespace: kube-system}\n"
        "  data:\n    config: |\n      nonMasqueradeCIDRs: [10.0.0.1/8]\n",
    )
    assert found == [("MASQ003", 15, 28)]
    assert report.summary() == "1 file, 1 config, 1 object skipped: 1 error, 0 warnings, 0 infos"


BINARY_DATA_PAIR = (
    "apiVersion: apps/v1\nkind: DaemonSet\n"
    "metadata: {name: ip-masq-agent, namespace: kube-system}\n"
    "spec:\n  template:\n    spec:\n      containers:\n      - name: ip-masq-agent\n"
    "        image: registry.k8s.io/networking/ip-masq-agent:v2.12.6\n"
    "        volumeMounts: [{name: config, mountPath: /etc/config}]\n"
    "      volumes:\n      - name: config\n        configMap:\n          name: ip-masq-agent\n"
    "          items: [{key: config, path: ip-masq-agent}]\n"
    "---\napiVersion: v1\nkind: ConfigMap\n"
    "metadata: {name: ip-masq-agent, namespace: kube-system}\n"
    "binaryData:\n  config: {value}\n"
)


def test_a_binary_data_config_is_read_as_the_bytes_the_kubelet_writes(tmp_path: Path) -> None:
    """kubectl create configmap --from-file puts a file that is not UTF-8 (a UTF-16 one)
    into binaryData; the mounted file holds the decoded bytes."""
    import base64

    config = "\ufeffnonMasqueradeCIDRs: [10.0.0.1/8]\n".encode("utf-16-le")
    value = base64.b64encode(config).decode()
    found, report = findings_of(tmp_path, BINARY_DATA_PAIR.replace("{value}", value))
    assert found == [("MASQ003", 21, 11), ("MASQ059", 21, 11)]
    assert report.findings[0].message == (
        'CIDR "10.0.0.1/8" has host bits set; the agent rejects it (did you mean 10.0.0.0/8?)'
    )


def test_another_charts_templates_in_a_directory_are_skipped_not_templates(
    tmp_path: Path,
) -> None:
    """A repository's own Helm chart is unrelated YAML, as its values and workflows are;
    a template that is about masquerading still gets its info."""
    templates = tmp_path / "charts/web/templates"
    templates.mkdir(parents=True)
    (templates / "deployment.yaml").write_text(
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include "web.fullname" . }}\n'
    )
    (templates / "masq.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ip-masq-agent\n"
        "  namespace: {{ .Release.Namespace }}\n"
    )
    report = validate_paths([str(tmp_path)], strict=True)
    assert [(f.file, f.line, f.column, f.rule) for f in report.findings] == [
        (str(templates / "masq.yaml"), 5, 14, "MASQ057")
    ]
    (templates / "masq.yaml").unlink()
    report = validate_paths([str(tmp_path)], strict=True)
    assert (report.findings, report.exit_code()) == ([], 0)
    assert report.summary() == "1 file, 0 configs, 1 object skipped: 0 errors, 0 warnings, 0 infos"


def test_a_huge_config_with_many_findings_is_filed_in_linear_time(tmp_path: Path) -> None:
    """Each finding's config was found by counting the lines of the whole text anew: 20,000
    findings in a 20,000-line config took seconds, 200,000 took minutes."""
    cidrs = "".join(f"  - 10.{(i % 5000) // 256}.{i % 256}.0/24\n" for i in range(20000))
    _, report = findings_of(tmp_path, "nonMasqueradeCIDRs:\n" + cidrs)
    assert report.summary() == "1 file, 1 config: 1 error, 14880 warnings, 0 infos"
    assert len(report.cases) == 1 and len(report.cases[0].findings) == 14881


def test_a_block_with_an_indentation_indicator_points_at_the_column_in_the_manifest(
    tmp_path: Path,
) -> None:
    """go-yaml (kubectl) writes ``|2`` for a text whose first line starts with spaces:
    those spaces belong to the text, not to the block's indentation."""
    found, _ = findings_of(
        tmp_path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ip-masq-agent\n"
        "  namespace: kube-system\ndata:\n  config: |2\n      nonMasqueradeCIDRs: [10.0.0.1/8]\n",
    )
    assert found == [("MASQ003", 8, 28)]
    found, _ = findings_of(
        tmp_path,
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n"
        "  metadata: {name: ip-masq-agent, namespace: kube-system}\n"
        "  data:\n    config: |-2\n        nonMasqueradeCIDRs:\n        - 10.0.0.1/8\n",
    )
    assert found == [("MASQ003", 10, 11)]


def test_a_configmap_only_the_daemonset_names_counts_as_a_config_not_as_skipped(
    tmp_path: Path,
) -> None:
    """Its name and key are not the agent's, so read alone it is skipped; the DaemonSet
    mounts it as /etc/config/ip-masq-agent, so it is the config checked."""
    text = (
        BINARY_DATA_PAIR.replace("name: ip-masq-agent\n", "name: masq-settings\n")
        .replace("{key: config,", "{key: settings,")
        .replace(
            "{name: ip-masq-agent, namespace: kube-system}\nbinaryData",
            "{name: masq-settings, namespace: kube-system}\nbinaryData",
        )
        .replace(
            "binaryData:\n  config: {value}\n",
            "data:\n  settings: |\n    nonMasqueradeCIDRs: [10.0.0.1/8]\n",
        )
    )
    found, report = findings_of(tmp_path, text)
    assert found == [("MASQ059", 22, 5), ("MASQ003", 22, 26)]
    assert report.summary() == "1 file, 1 config, 1 object skipped: 1 error, 0 warnings, 1 info"
    assert [(case.name, case.line, len(case.findings)) for case in report.cases] == [
        ("agent config", 22, 2)
    ]
