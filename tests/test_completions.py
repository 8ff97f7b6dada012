"""Shell completions: the committed scripts are what the CLI generates, and bash completes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from masqctl.cli import app
from masqctl.docs_gen import REGENERATE, SHELLS, completion_path, completion_script

ROOT = Path(__file__).parent.parent
BASH = shutil.which("bash")


def subcommands() -> list[str]:
    group = typer.main.get_command(app)
    return list(group.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_completion_script_is_what_the_cli_generates(shell: str) -> None:
    committed = (ROOT / completion_path(shell)).read_text()
    assert committed == completion_script(shell), (
        f"{completion_path(shell)} is stale: run `{REGENERATE}` from the repository root"
    )


def bash_complete(words: list[str]) -> list[str]:
    """What bash offers after sourcing completions/masqctl.bash, for ``words`` (last: current)."""
    script = (
        'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); '
        '_masqctl_completion masqctl; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [
            str(BASH),
            "--norc",
            "--noprofile",
            "-c",
            script,
            "bash",
            str(ROOT / completion_path("bash")),
            *words,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_bash_offers_every_subcommand_after_masqctl() -> None:
    offered = bash_complete(["masqctl", ""])
    assert offered == subcommands()
    assert {"validate", "render"} <= set(offered)


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_bash_completes_a_subcommand_prefix_and_validate_options() -> None:
    assert bash_complete(["masqctl", "val"]) == ["validate"]
    options = bash_complete(["masqctl", "validate", "--"])
    assert {"--format", "--select", "--ignore", "--output-file", "--list-checks"} <= set(options)


def test_regenerating_writes_the_completions_and_the_checks_page(tmp_path: Path) -> None:
    from masqctl.docs_gen import CHECKS_PAGE, checks_markdown, main

    assert main(str(tmp_path)) == 0
    for shell in SHELLS:
        assert (tmp_path / completion_path(shell)).read_text() == (
            ROOT / completion_path(shell)
        ).read_text()
    assert (tmp_path / CHECKS_PAGE).read_text() == checks_markdown()


def test_regenerating_takes_no_option_for_the_root_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from masqctl.docs_gen import cli

    monkeypatch.chdir(tmp_path)
    usage = "usage: python -m masqctl.docs_gen [ROOT]  (ROOT: the repository root, default .)\n"
    assert cli(["--help"]) == 0
    assert capsys.readouterr() == (usage, "")
    assert cli(["-h"]) == 0
    assert capsys.readouterr() == (usage, "")
    assert cli(["--root"]) == 2
    assert capsys.readouterr() == ("", usage)
    assert cli(["a", "b"]) == 2
    assert capsys.readouterr() == ("", usage)
    assert list(tmp_path.iterdir()) == []


def shell_candidates(shell: str, line: str) -> str:
    """What masqctl answers the zsh or fish script for the command line ``line``, in an
    80-column terminal."""
    env = {
        **os.environ,
        "COLUMNS": "80",
        "_MASQCTL_COMPLETE": f"complete_{shell}",
        "_TYPER_COMPLETE_ARGS": line,
        "_TYPER_COMPLETE_FISH_ACTION": "get-args",
    }
    result = subprocess.run(
        [sys.executable, "-m", "masqctl"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_fish_gets_each_long_description_on_its_candidates_line() -> None:
    assert shell_candidates("fish", "masqctl fleet --") == (
        "--output\ttext, or json.\n"
        "--format\ttext, or json.\n"
        "--nodes\tThe nodes there should be results for, one a line ('kubectl get nodes -o "
        "name' output): a node without one shows as 'no result'.\n"
        "--help\tShow this message and exit.\n"
    )


@pytest.mark.parametrize("command", subcommands())
def test_every_fish_line_is_a_candidate_and_its_description(command: str) -> None:
    lines = shell_candidates("fish", f"masqctl {command} --").splitlines()
    assert [line for line in lines if "\t" not in line] == []


def test_zsh_gets_each_long_description_on_its_candidates_line() -> None:
    assert shell_candidates("zsh", "masqctl fleet --n") == (
        '_arguments \'*: :(("--nodes":"The nodes there should be results for, one a line '
        "(''kubectl get nodes -o name'' output)\\\\: a node without one shows as ''no "
        "result''.\"))'\n"
    )
