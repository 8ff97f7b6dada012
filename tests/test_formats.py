"""validate's CI formats: GitHub Actions annotations and SARIF 2.1.0, plus --output-file
(GitLab Code Quality and JUnit XML: tests/test_ci_reports.py)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from masqctl.agent_setup import AgentInputs
from masqctl.findings import ERROR, INFO, WARNING, Finding
from masqctl.formats import WRITERS, escape_data, escape_property, github_command, sarif_result
from masqctl.lint.catalogue import CHECKS
from masqctl.validate import validate_paths

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
# Made exactly as `kubectl create configmap ip-masq-agent --from-file=config
# --namespace=kube-system --dry-run=client -o yaml` prints it (see tests/data/README.md).
BROKEN = "tests/data/configmaps/host-bits.yaml"
VALID = "tests/data/configmaps/valid.yaml"
MESSAGE = (
    'CIDR "172.16.0.1/12" has host bits set; the agent rejects it (did you mean 172.16.0.0/12?)'
)


def masqctl(
    *args: str, cwd: Path = ROOT, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    ci = ("GITHUB_ACTIONS", "CI_PROJECT_DIR", "NO_COLOR")
    clean = {k: v for k, v in os.environ.items() if k not in ci}
    # run in another directory, it would import the installed masqctl, not this tree's
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), clean.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "masqctl", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**clean, **(env or {})},
    )


def sarif_schema() -> dict[str, object]:
    return json.loads((DATA / "sarif-schema-2.1.0.json").read_text())


# --- GitHub Actions workflow commands -------------------------------------------------


def test_github_format_annotates_the_manifest_line_of_the_bad_cidr() -> None:
    result = masqctl("validate", "--format", "github", BROKEN)
    assert (result.returncode, result.stderr) == (1, "")
    assert result.stdout == (
        f"::error file={BROKEN},line=6,col=9,title=MASQ003 (cidr-host-bits)::{MESSAGE}\n"
    )


def test_github_format_is_chosen_when_running_in_github_actions() -> None:
    result = masqctl("validate", BROKEN, env={"GITHUB_ACTIONS": "true"})
    assert result.stdout.startswith(f"::error file={BROKEN},line=6,col=9,")


def test_explicit_format_wins_over_github_actions() -> None:
    result = masqctl("validate", "--format", "text", BROKEN, env={"GITHUB_ACTIONS": "true"})
    assert result.stdout.startswith(f"{BROKEN}:6:9: error[MASQ003]")


def test_github_format_prints_nothing_for_a_valid_configmap() -> None:
    result = masqctl("validate", "--format", "github", VALID)
    assert (result.returncode, result.stdout) == (0, "")


def test_github_paths_are_relative_to_the_working_directory() -> None:
    result = masqctl("validate", "-o", "github", str(ROOT / BROKEN))
    assert result.stdout.startswith(f"::error file={BROKEN},line=6,")


def test_github_paths_outside_the_working_directory_stay_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    config = tmp_path / "c.yaml"
    config.write_text("nonMasqueradeCIDRs: []\n")
    assert written("github", str(config)).startswith(f"::warning file={config},line=1,col=1,")


def test_github_format_maps_severities_to_error_warning_and_notice() -> None:
    def command(severity: str) -> str:
        finding = Finding("MASQ013", severity, "m", "c.yaml", 3, 7)
        return github_command(finding).split(" ", 1)[0]

    assert [command(s) for s in (ERROR, WARNING, INFO)] == ["::error", "::warning", "::notice"]


def test_github_escaping_follows_the_actions_toolkit() -> None:
    assert escape_data("100%\r\nnext: a,b") == "100%25%0D%0Anext: a,b"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    finding = Finding("MASQ012", WARNING, "50% of\nit", "dir,1/c:2.yaml", 2, 1)
    assert github_command(finding) == (
        "::warning file=dir%2C1/c%3A2.yaml,line=2,col=1,title=MASQ012 (empty-cidr-list)"
        "::50%25 of%0Ait"
    )


def test_github_annotation_from_stdin_has_no_file() -> None:
    result = masqctl("validate", "-o", "github", "-", stdin="nonMasqueradeCIDRs: [10.0.0.1/8]\n")
    assert result.stdout == (
        '::error title=MASQ003 (cidr-host-bits)::CIDR "10.0.0.1/8" has host bits set; '
        "the agent rejects it (did you mean 10.0.0.0/8?)\n"
    )


# --- SARIF ------------------------------------------------------------------------------


def test_sarif_points_at_the_manifest_line_of_the_bad_cidr() -> None:
    result = masqctl("validate", "--format", "sarif", BROKEN)
    assert (result.returncode, result.stderr) == (1, "")
    run = json.loads(result.stdout)["runs"][0]
    assert run["results"] == [
        {
            "ruleId": "MASQ003",
            "ruleIndex": 2,
            "level": "error",
            "message": {"text": MESSAGE},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": BROKEN},
                        "region": {"startLine": 6, "startColumn": 9},
                    }
                }
            ],
        }
    ]


def written(output_format: str, *paths: str, flavour: str | None = None) -> str:
    """The report of ``paths`` as the format's writer prints it (in this process)."""
    stream = io.StringIO()
    WRITERS[output_format](validate_paths(list(paths), AgentInputs(flavour=flavour)), stream)
    return stream.getvalue()


def test_writers_print_what_the_cli_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for output_format in WRITERS:
        cli = masqctl("validate", "--format", output_format, BROKEN, VALID).stdout
        assert written(output_format, BROKEN, VALID) == cli


def test_sarif_validates_against_the_sarif_2_1_0_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    document = json.loads(written("sarif", BROKEN, VALID, str(ROOT / "pyproject.toml")))
    jsonschema.validate(document, sarif_schema())
    assert document["version"] == "2.1.0"
    assert document["$schema"].endswith("/sarif-schema-2.1.0.json")


def test_sarif_driver_lists_every_check_of_the_catalogue() -> None:
    result = masqctl("validate", "--format", "sarif", VALID)
    assert result.returncode == 0
    (run,) = json.loads(result.stdout)["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["informationUri"]) == (
        "masqctl",
        "https://github.com/masqctl/masqctl",
    )
    assert driver["version"] == masqctl("--version").stdout.split()[1]
    assert [rule["id"] for rule in driver["rules"]] == list(CHECKS)
    levels = {ERROR: "error", WARNING: "warning", INFO: "note"}
    for rule in driver["rules"]:
        check = CHECKS[rule["id"]]
        assert rule["name"] == check.name
        assert rule["shortDescription"] == {"text": check.summary}
        assert rule["fullDescription"] == {"text": check.why}
        assert rule["help"] == {"text": check.fix}
        assert rule["defaultConfiguration"] == {"level": levels[check.severity]}
    assert run["results"] == []


def test_sarif_uri_outside_the_working_directory_is_an_absolute_file_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    config = tmp_path / "my config.yaml"
    config.write_text("nonMasqueradeCIDRs: []\n")
    (found,) = json.loads(written("sarif", str(config)))["runs"][0]["results"]
    location = found["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == config.as_uri()
    assert location["region"] == {"startLine": 1, "startColumn": 1}
    assert found["level"] == "warning"


def test_sarif_from_stdin_has_results_without_location() -> None:
    result = masqctl("validate", "-o", "sarif", "-", stdin="nonMasqueradeCIDRs: [10.0.0.1/8]\n")
    document = json.loads(result.stdout)
    jsonschema.validate(document, sarif_schema())
    (found,) = document["runs"][0]["results"]
    assert "locations" not in found
    assert sarif_result(Finding("MASQ003", ERROR, "m", "<stdin>", 1, 22), {"MASQ003": 2}) == {
        "ruleId": "MASQ003",
        "ruleIndex": 2,
        "level": "error",
        "message": {"text": "m"},
    }


# --- text, json and --output-file -----------------------------------------------------


@pytest.mark.parametrize("output_format", ["text", "json", "github", "sarif", "gitlab", "junit"])
def test_output_file_gets_the_report_and_stdout_stays_empty(
    tmp_path: Path, output_format: str
) -> None:
    target = tmp_path / "report"
    result = masqctl("validate", "--format", output_format, "--output-file", str(target), BROKEN)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "")
    assert target.read_text() == masqctl("validate", "--format", output_format, BROKEN).stdout


@pytest.mark.parametrize("manifest", [BROKEN, "tests/data/configmaps/host-bits-kubectl-1.33.yaml"])
def test_every_format_points_at_the_manifest_line_of_the_bad_cidr(manifest: str) -> None:
    def run(output_format: str) -> str:
        result = masqctl("validate", "--format", output_format, manifest)
        assert result.returncode == 1
        return result.stdout

    text = run("text")
    (finding,) = json.loads(run("json"))["findings"]
    github = run("github")
    (result,) = json.loads(run("sarif"))["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert text.startswith(f"{manifest}:6:9: error[MASQ003] {MESSAGE}\n")
    assert (finding["file"], finding["line"], finding["column"]) == (manifest, 6, 9)
    assert github.startswith(f"::error file={manifest},line=6,col=9,title=MASQ003 ")
    assert location == {
        "artifactLocation": {"uri": manifest},
        "region": {"startLine": 6, "startColumn": 9},
    }


def test_unwritable_output_file_is_exit_2_with_one_line(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "report.sarif"
    result = masqctl("validate", "--format", "sarif", "--output-file", str(target), BROKEN)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"masqctl: {target}: cannot write: No such file or directory\n"


def test_unknown_format_is_exit_2() -> None:
    result = masqctl("validate", "--format", "checkstyle", VALID)
    assert (result.returncode, result.stderr) == (
        2,
        "masqctl: unknown format 'checkstyle' (choose from text, json, github, sarif, "
        "gitlab, junit)\n",
    )


def test_sarif_uri_of_a_file_name_that_is_not_utf8_escapes_its_bytes(tmp_path: Path) -> None:
    # It was an internal error (UnicodeEncodeError: surrogates not allowed).
    (tmp_path / os.fsdecode(b"c\xfe.yaml")).write_text("nonMasqueradeCIDRs: [10.0.0.1/8]\n")
    result = masqctl("validate", "-o", "sarif", os.fsdecode(b"c\xfe.yaml"), cwd=tmp_path)
    (found,) = json.loads(result.stdout)["runs"][0]["results"]
    assert (result.returncode, result.stderr) == (1, "")
    assert found["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "c%FE.yaml"}
