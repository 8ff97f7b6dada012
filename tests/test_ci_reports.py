"""validate --format gitlab and --format junit, checked with their consumers' own rules.

GitLab: the JSON schema GitLab's Code Quality parser validates each issue with
(tests/data/gitlab-codeclimate-schema.json) and the fields its documentation requires.
JUnit: junitparser (a maintained JUnit XML parser) and Jenkins' JUnit XSD
(tests/data/jenkins-junit.xsd); tests/data/README.md names both sources.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import jsonschema
import junitparser
import pytest
import xmlschema

from masqctl.findings import ERROR, INFO, WARNING, Finding
from masqctl.formats import gitlab_issues
from masqctl.validate import ValidationReport
from tests.test_formats import BROKEN, MESSAGE, ROOT, VALID, masqctl, written

DATA = Path(__file__).parent / "data"
SEVERITIES = (ERROR, WARNING, INFO)
HINT = "Write the network address, as suggested in the message."
#: The SHA-256 of "MASQ003", the path and the message, and 1 (the first such finding).
BROKEN_FINGERPRINT = "5b87ebf7d48419daa40b9f19c98382ee5c74a59eac48d96d3c47e2930ecbd932"
#: What `kubectl create configmap ip-masq-agent-config --namespace kube-system
#: --from-file=ip-masq-agent=... --from-file=ip-masq-agent-reconciled=... --dry-run=client
#: -o yaml` prints (kubectl 1.34): Azure's v2 agent reads every ip-masq-agent* key.
AZURE_STYLE = """\
apiVersion: v1
data:
  ip-masq-agent: |
    nonMasqueradeCIDRs:
      - 10.0.0.1/8
  ip-masq-agent-reconciled: |
    nonMasqueradeCIDRs:
      - 192.168.0.0/16
kind: ConfigMap
metadata:
  name: ip-masq-agent-config
  namespace: kube-system
"""


def issues(*paths: str) -> list[dict[str, object]]:
    return json.loads(written("gitlab", *paths))


# --- GitLab Code Quality ----------------------------------------------------------------


def test_gitlab_report_of_a_bad_cidr_is_the_documented_issue_array() -> None:
    result = masqctl("validate", "--format", "gitlab", BROKEN, VALID)
    assert (result.returncode, result.stderr) == (1, "")
    assert result.stdout == (
        "[\n"
        "  {\n"
        f'    "description": "MASQ003: {json.dumps(MESSAGE)[1:-1]}",\n'
        '    "check_name": "MASQ003",\n'
        f'    "fingerprint": "{BROKEN_FINGERPRINT}",\n'
        '    "severity": "major",\n'
        '    "location": {\n'
        f'      "path": "{BROKEN}",\n'
        '      "lines": {\n'
        '        "begin": 6\n'
        "      }\n"
        "    }\n"
        "  }\n"
        "]\n"
    )


def test_gitlab_report_of_valid_configs_is_an_empty_array() -> None:
    result = masqctl("validate", "--format", "gitlab", VALID)
    assert (result.returncode, result.stdout) == (0, "[]\n")


def test_gitlab_issues_pass_the_schema_gitlabs_parser_validates_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    schema = json.loads((DATA / "gitlab-codeclimate-schema.json").read_text())
    found = issues(str(DATA / "configmaps"), str(DATA / "corpus"))
    assert len(found) > 3
    severities = {"info", "minor", "major", "critical", "blocker"}
    for issue in found:
        jsonschema.validate(issue, schema)
        # What GitLab's documentation requires beyond its schema:
        assert isinstance(issue["check_name"], str)
        assert issue["severity"] in severities
        assert isinstance(issue["location"]["path"], str)
        assert isinstance(issue["location"]["lines"]["begin"], int)


def test_gitlab_severities_map_error_warning_info_to_major_minor_info() -> None:
    report = ValidationReport(
        findings=[Finding("MASQ013", severity, "m", "c.yaml", 3, 7) for severity in SEVERITIES]
    )
    assert [issue["severity"] for issue in gitlab_issues(report)] == ["major", "minor", "info"]


def test_gitlab_fingerprint_stays_when_lines_move_and_location_follows(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("nonMasqueradeCIDRs:\n  - 10.0.0.1/8\n")
    (before,) = issues(str(config))
    config.write_text("# moved down\n\nnonMasqueradeCIDRs:\n  - 10.0.0.1/8\n")
    (after,) = issues(str(config))
    assert after["fingerprint"] == before["fingerprint"]
    assert (before["location"]["lines"], after["location"]["lines"]) == (
        {"begin": 2},
        {"begin": 4},
    )


def test_gitlab_fingerprint_ignores_the_lines_a_message_cites(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 10.1.0.0/16\n  - 10.0.0.0/8\n")
    before = issues(str(config))
    config.write_text(
        "# moved down\nnonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 10.1.0.0/16\n  - 10.0.0.0/8\n"
    )
    after = issues(str(config))
    assert [issue["description"] for issue in after] == [
        'MASQ014: CIDR "10.1.0.0/16" is inside "10.0.0.0/8" (nonMasqueradeCIDRs[0], line 3): '
        "its rule can never match",
        'MASQ013: CIDR "10.0.0.0/8" is listed twice (first as nonMasqueradeCIDRs[0], line 3)',
    ]
    assert [issue["fingerprint"] for issue in after] == [issue["fingerprint"] for issue in before]


def test_gitlab_identical_findings_get_distinct_fingerprints(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("nonMasqueradeCIDRs:\n  - 10.0.0.1/8\n  - 10.0.0.1/8\n")
    host_bits = [issue for issue in issues(str(config)) if issue["check_name"] == "MASQ003"]
    assert [issue["location"]["lines"]["begin"] for issue in host_bits] == [2, 3]
    assert host_bits[0]["description"] == host_bits[1]["description"]
    assert host_bits[0]["fingerprint"] != host_bits[1]["fingerprint"]


def test_gitlab_paths_are_relative_to_ci_project_dir(tmp_path: Path) -> None:
    elsewhere = tmp_path / "job"
    elsewhere.mkdir()
    result = masqctl(
        "validate",
        "--format",
        "gitlab",
        str(ROOT / BROKEN),
        cwd=elsewhere,
        env={"CI_PROJECT_DIR": str(ROOT)},
    )
    (issue,) = json.loads(result.stdout)
    assert issue["location"]["path"] == BROKEN
    assert issue["fingerprint"] == BROKEN_FINGERPRINT


def test_gitlab_paths_outside_the_project_stay_absolute(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("nonMasqueradeCIDRs: [10.0.0.1/8]\n")
    result = masqctl("validate", "-o", "gitlab", str(config), env={"CI_PROJECT_DIR": str(ROOT)})
    (issue,) = json.loads(result.stdout)
    assert issue["location"]["path"] == config.as_posix()


def test_gitlab_report_is_utf8_without_byte_order_mark(tmp_path: Path) -> None:
    target = tmp_path / "gl-code-quality-report.json"
    result = masqctl("validate", "-o", "gitlab", "--output-file", str(target), BROKEN)
    assert result.returncode == 1
    assert target.read_bytes().startswith(b"[\n  {")


# --- JUnit XML --------------------------------------------------------------------------


def junit(*paths: str, flavour: str | None = None) -> str:
    return written("junit", *paths, flavour=flavour)


def only_case(document: str) -> junitparser.TestCase:
    """The one test case of a report of one config."""
    (suite,) = list(junitparser.JUnitXml.fromstring(document.encode()))
    (case,) = list(suite)
    return case


def test_junit_report_has_one_test_case_per_config_failed_by_its_findings() -> None:
    result = masqctl("validate", "--format", "junit", BROKEN, VALID)
    assert (result.returncode, result.stderr) == (1, "")
    quoted = MESSAGE.replace('"', "&quot;")
    assert result.stdout == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<testsuites name="masqctl validate" tests="2" failures="1" errors="0">\n'
        f'  <testsuite name="{BROKEN}" tests="1" failures="1" errors="0" skipped="0">\n'
        '    <testcase name="ConfigMap kube-system/ip-masq-agent data.config (line 4)" '
        'classname="tests/data/configmaps/host-bits">\n'
        f'      <failure message="MASQ003: {quoted}" type="MASQ003">'
        f"{BROKEN}:6:9: error[MASQ003] {MESSAGE}\n"
        f"  = hint: {HINT}</failure>\n"
        "    </testcase>\n"
        "  </testsuite>\n"
        f'  <testsuite name="{VALID}" tests="1" failures="0" errors="0" skipped="0">\n'
        '    <testcase name="ConfigMap kube-system/ip-masq-agent data.config (line 4)" '
        'classname="tests/data/configmaps/valid" />\n'
        "  </testsuite>\n"
        "</testsuites>\n"
    )


def test_junitparser_reads_the_cases_and_the_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    xml = junitparser.JUnitXml.fromstring(junit(BROKEN, VALID).encode())
    suites = list(xml)
    assert [suite.name for suite in suites] == [BROKEN, VALID]
    assert [(suite.tests, suite.failures, suite.errors) for suite in suites] == [
        (1, 1, 0),
        (1, 0, 0),
    ]
    (failed,) = list(suites[0])
    (passed,) = list(suites[1])
    (failure,) = failed.result
    assert isinstance(failure, junitparser.Failure)
    assert (failure.type, failure.message) == ("MASQ003", f"MASQ003: {MESSAGE}")
    assert failure.text == f"{BROKEN}:6:9: error[MASQ003] {MESSAGE}\n  = hint: {HINT}"
    assert (passed.is_passed, passed.result) == (True, [])
    assert failed.classname == "tests/data/configmaps/host-bits"


def test_junit_validates_against_jenkins_junit_xsd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    azure = tmp_path / "azure.yaml"
    azure.write_text(AZURE_STYLE)
    empty = tmp_path / "empty-cm.yaml"
    empty.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ip-masq-agent\n"
        "  namespace: kube-system\n"
    )
    schema = xmlschema.XMLSchema(str(DATA / "jenkins-junit.xsd"))
    document = junit(BROKEN, VALID, str(azure), str(empty), str(DATA / "corpus"))
    schema.validate(io.StringIO(document))


def test_junit_every_config_of_a_configmap_is_a_case_with_the_configmaps_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "azure.yaml").write_text(AZURE_STYLE)
    document = junit("azure.yaml", flavour="azure-v2")
    (suite,) = list(junitparser.JUnitXml.fromstring(document.encode()))
    cases = list(suite)
    assert [case.name for case in cases] == [
        "ConfigMap kube-system/ip-masq-agent-config data.ip-masq-agent (line 4)",
        "ConfigMap kube-system/ip-masq-agent-config data.ip-masq-agent-reconciled (line 7)",
    ]
    first, second = cases
    assert [type(result) for result in first.result] == [junitparser.Failure]
    assert "error[MASQ003]" in first.result[0].text
    # The ConfigMap's warnings (name, missing "config" key) belong to both configs;
    # without --strict they do not fail the second one.
    assert second.is_passed
    assert "warning[MASQ017]" in first.result[0].text
    assert "warning[MASQ017]" in second.system_out


def test_junit_strict_fails_cases_on_warnings(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("nonMasqueradeCIDRs: []\n")
    plain = masqctl("validate", "-o", "junit", str(config))
    strict = masqctl("validate", "-o", "junit", "--strict", str(config))
    assert (plain.returncode, strict.returncode) == (0, 1)
    passed, failed = only_case(plain.stdout), only_case(strict.stdout)
    assert passed.is_passed
    assert "warning[MASQ012]" in passed.system_out
    assert failed.result[0].type == "MASQ012"


def test_junit_configmap_without_config_is_a_whole_file_case(tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ip-masq-agent\n"
        "  namespace: kube-system\n"
    )
    case = only_case(masqctl("validate", "-o", "junit", "--strict", str(manifest)).stdout)
    assert case.name == "whole file"
    assert case.result[0].type == "MASQ019"


def test_junit_writes_characters_xml_cannot_hold_as_escapes(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text('nonMasqueradeCIDRs: ["10.0.0.0/8\\e"]\n')
    (failure,) = only_case(masqctl("validate", "-o", "junit", str(config)).stdout).result
    assert failure.message.startswith('MASQ004: CIDR "10.0.0.0/8\\x1b" could not be parsed')


def test_junit_report_of_nothing_is_an_empty_suite_list(tmp_path: Path) -> None:
    result = masqctl("validate", "-o", "junit", str(tmp_path))
    assert result.stdout == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<testsuites name="masqctl validate" tests="0" failures="0" errors="0" />\n'
    )


def test_gitlab_report_of_a_file_name_that_is_not_utf8_keeps_its_bytes(tmp_path: Path) -> None:
    # It was an internal error (UnicodeEncodeError: surrogates not allowed): its
    # fingerprint, then the path in --output-file.
    (tmp_path / os.fsdecode(b"c\xfe.yaml")).write_text("nonMasqueradeCIDRs: [10.0.0.1/8]\n")
    target = tmp_path / "gl.json"
    args = ("validate", "-o", "gitlab", os.fsdecode(b"c\xfe.yaml"))
    result = masqctl(*args, "--output-file", str(target), cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "")
    assert b'"path": "c\xfe.yaml"' in target.read_bytes()
