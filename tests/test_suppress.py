"""Choosing checks: in-file suppressions, annotations, --select/--ignore, --list-checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from masqctl.agent_setup import AgentInputs
from masqctl.lint.catalogue import CHECKS
from masqctl.validate import RuleFilter, validate_paths

SHADOWED = """\
nonMasqueradeCIDRs:
  - 10.0.0.0/8
  - 10.1.0.0/16{first}
  - 10.2.0.0/16
"""

# Two ConfigMaps as `kubectl get cm -A -o yaml` prints them (a List), both with an empty list.
TWO_CONFIGMAPS = """\
apiVersion: v1
items:
- apiVersion: v1
  data:
    config: |{first_config}
      nonMasqueradeCIDRs: []
  kind: ConfigMap
  metadata:{first_meta}
    name: ip-masq-agent
    namespace: kube-system
- apiVersion: v1
  data:
    config: |
      nonMasqueradeCIDRs: []
  kind: ConfigMap
  metadata:
    name: ip-masq-agent
    namespace: kube-system
kind: List
metadata:
  resourceVersion: ""
"""


def found(tmp_path: Path, text: str, rules: RuleFilter | None = None) -> list[tuple[str, int]]:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    report = validate_paths([str(path)], AgentInputs(), rules)
    return [(finding.rule, finding.line) for finding in report.findings]


def masqctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "masqctl", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_suppression_both_contained_cidrs_are_reported(tmp_path: Path) -> None:
    assert found(tmp_path, SHADOWED.format(first="")) == [("MASQ014", 3), ("MASQ014", 4)]


def test_comment_at_the_end_of_a_line_hides_that_line_only(tmp_path: Path) -> None:
    text = SHADOWED.format(first="  # masqctl: ignore MASQ014")
    assert found(tmp_path, text) == [("MASQ014", 4)]


def test_comment_may_give_a_reason_after_the_ids(tmp_path: Path) -> None:
    text = SHADOWED.format(first="  # masqctl: ignore MASQ014 because the audit wants it listed")
    assert found(tmp_path, text) == [("MASQ014", 4)]


def test_ids_are_separated_by_commas_or_spaces_in_any_case(tmp_path: Path) -> None:
    for comment in ("masqctl: ignore MASQ013, masq014", "masqctl:ignore MASQ013 MASQ014"):
        text = SHADOWED.format(first=f"  # {comment}")
        assert found(tmp_path, text) == [("MASQ014", 4)], comment


def test_comment_for_another_check_hides_nothing(tmp_path: Path) -> None:
    text = SHADOWED.format(first="  # masqctl: ignore MASQ013")
    assert found(tmp_path, text) == [("MASQ014", 3), ("MASQ014", 4)]


def test_comment_on_its_own_line_hides_the_next_line_with_content(tmp_path: Path) -> None:
    text = (
        "nonMasqueradeCIDRs:\n"
        "  - 10.0.0.0/8\n"
        "  # masqctl: ignore MASQ014\n"
        "\n"
        "  # kept for the audit trail\n"
        "  - 10.1.0.0/16\n"
        "  - 10.2.0.0/16\n"
    )
    assert found(tmp_path, text) == [("MASQ014", 7)]


def test_all_hides_every_check_on_the_line(tmp_path: Path) -> None:
    text = "nonMasqueradeCIDRs: [10.0.0.1/8, 10.0.0.1/8]  # masqctl: ignore all\n"
    assert found(tmp_path, text) == []


def test_ignore_config_in_a_raw_config_hides_the_check_in_the_whole_file(tmp_path: Path) -> None:
    text = "# masqctl: ignore-config MASQ014\n" + SHADOWED.format(first="")
    assert found(tmp_path, text) == []


def test_ignore_config_inside_a_configmap_hides_it_for_that_configmap_only(tmp_path: Path) -> None:
    text = TWO_CONFIGMAPS.format(
        first_config="\n      # masqctl: ignore-config MASQ012", first_meta=""
    )
    assert found(tmp_path, text) == [("MASQ012", 15)]


def test_annotation_hides_the_checks_for_that_configmap_only(tmp_path: Path) -> None:
    text = TWO_CONFIGMAPS.format(
        first_config="", first_meta="\n    annotations:\n      masqctl.io/ignore: MASQ012,MASQ013"
    )
    assert found(tmp_path, text) == [("MASQ012", 16)]


def test_annotation_all_hides_configmap_checks_too(tmp_path: Path) -> None:
    text = TWO_CONFIGMAPS.format(
        first_config="", first_meta="\n    annotations:\n      masqctl.io/ignore: all"
    ).replace("namespace: kube-system", "namespace: default", 1)
    assert found(tmp_path, text) == [("MASQ012", 16)]


def test_suppressed_error_no_longer_fails_validation(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("nonMasqueradeCIDRs: [10.0.0.1/8]  # masqctl: ignore MASQ003\n")
    result = masqctl("validate", str(path))
    assert (result.returncode, result.stdout) == (
        0,
        "1 file, 1 config: 0 errors, 0 warnings, 0 infos\n",
    )


def test_ignore_option_removes_checks(tmp_path: Path) -> None:
    rules = RuleFilter(ignore=frozenset({"MASQ014"}))
    assert found(tmp_path, SHADOWED.format(first=""), rules) == []


def test_select_option_keeps_only_those_checks(tmp_path: Path) -> None:
    text = "nonMasqueradeCIDRs: [10.0.0.0/8, 10.0.0.0/8, 10.1.0.0/16]\n"
    assert found(tmp_path, text) == [("MASQ013", 1), ("MASQ014", 1)]
    assert found(tmp_path, text, RuleFilter(select=frozenset({"MASQ013"}))) == [("MASQ013", 1)]


def test_select_and_ignore_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("nonMasqueradeCIDRs: [10.0.0.0/8, 10.0.0.0/8, 10.1.0.0/16]\n")
    rules = [
        f.split("]")[0].split("[")[1]
        for f in masqctl(
            "validate", "--select", "masq013,MASQ014", "--ignore", "MASQ014", str(path)
        ).stdout.splitlines()
        if "warning[" in f
    ]
    assert rules == ["MASQ013"]


def test_unknown_check_id_is_exit_2_with_one_line() -> None:
    result = masqctl("validate", "--ignore", "MASQ999", "-")
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "masqctl: unknown check ID MASQ999 (see masqctl validate --list-checks)\n",
    )


def test_list_checks_prints_every_check_with_name_severity_and_summary() -> None:
    result = masqctl("validate", "--list-checks")
    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert [line.split()[0] for line in lines] == list(CHECKS)
    assert lines[2] == (
        "MASQ003  cidr-host-bits                 error    upstream,gke,azure-v2     "
        "A CIDR has host bits set; the agent rejects the whole config."
    )
