"""The command line: entry point, fast path parity with the Typer app, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from masqctl import __version__
from masqctl.cli import run_app
from masqctl.entry import main, parse_plain
from masqctl.lint.catalogue import CHECKS
from masqctl.options import COMMANDS

DATA = Path(__file__).parent / "data"
BAD = str(DATA / "configmaps/host-bits.yaml")
GOOD = str(DATA / "configmaps/valid.yaml")


def test_version_through_both_paths(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert run_app(["--version"]) == 0
    assert capsys.readouterr().out == f"masqctl {__version__}\n" * 2


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("validate", [BAD]),
        ("validate", [GOOD]),
        ("validate", ["--format", "json", BAD, GOOD]),
        ("validate", ["--format=json", "--strict", GOOD]),
        ("validate", ["-o", "json", "--ignore", "MASQ003", BAD]),
        ("validate", ["--select", "MASQ999", BAD]),
        ("validate", ["--enable-ipv6", "--nomasq-all-reserved-ranges", str(DATA / "corpus")]),
        ("validate", ["/nonexistent.yaml"]),
        ("validate", ["--format", "xml", GOOD]),
        ("render", ["--format", "save", "--to-ports", "1024-29999,32768-65535"]),
        ("render", ["--format", "list", "--enable-ipv6", "--family", "ipv6"]),
        ("render", ["--format", "list", "-n", "-v", "--to-ports", "1024-29999,32768-65535"]),
        ("render", ["--format", "list", "--verbose"]),
        ("render", ["--format", "save", "--numeric"]),
    ],
)
def test_fast_path_and_typer_app_give_the_same_result(
    capsys: pytest.CaptureFixture[str], command: str, args: list[str]
) -> None:
    assert parse_plain(COMMANDS[command], args) is not None
    fast_code = main([command, *args])
    fast = capsys.readouterr()
    typer_code = run_app([command, *args])
    slow = capsys.readouterr()
    assert (fast_code, fast.out, fast.err) == (typer_code, slow.out, slow.err)


@pytest.mark.parametrize("args", [["--help"], ["--bogus"], ["--format"], ["--strict=yes"]])
def test_anything_unusual_goes_to_typer(args: list[str]) -> None:
    assert parse_plain(COMMANDS["validate"], args) is None


def test_list_checks_prints_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--list-checks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["MASQ001", "syntax-error", "error"]
    assert len(lines) == len(CHECKS)


def test_unknown_option_is_a_usage_error_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "masqctl", "render", "--bogus"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "No such option: --bogus" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_without_paths_reads_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "masqctl", "validate"],
        input="cidrLimit: x\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.startswith("<stdin>:1:12: error[MASQ005]")


def test_output_file_receives_the_report(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    assert main(["validate", "--format", "json", "--output-file", str(target), BAD]) == 1
    assert '"rule": "MASQ003"' in target.read_text()


def test_unwritable_output_file_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--output-file", "/nonexistent/dir/r.txt", GOOD]) == 2
    assert capsys.readouterr().err.startswith("masqctl: /nonexistent/dir/r.txt: cannot write")


def test_unexpected_exceptions_become_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("masqctl.validate.validate_paths", explode)
    assert main(["validate", GOOD]) == 2
    assert capsys.readouterr().err == "masqctl: internal error: RuntimeError: boom\n"


def test_validate_fast_path_imports_neither_typer_nor_rich_nor_netaddr() -> None:
    probe = (
        "import sys, io, contextlib\n"
        "from masqctl.entry import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['validate', {GOOD!r}])\n"
        "print(sorted(m for m in ('typer', 'rich', 'netaddr', 'click') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == "[]\n"


# ---- apply's fast path ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-cconfig.yaml"],
        ["-c=config.yaml"],
        ["--config"],
        ["--config", "--dry-run"],
        ["--dry-run=yes"],
        ["--bogus"],
        ["config.yaml"],
    ],
)
def test_anything_unusual_in_apply_goes_to_typer(args: list[str]) -> None:
    assert parse_plain(COMMANDS["apply"], args) is None


def test_apply_fast_path_imports_neither_typer_nor_rich(tmp_path: Path) -> None:
    probe = (
        "import sys, io, contextlib\n"
        "from masqctl.entry import main\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        "    assert main(['apply', '-o', 'xml']) == 2\n"
        "print(sorted(m for m in ('typer', 'rich', 'click') if m in sys.modules))\n"
    )
    # apply on the host: an empty PATH, so that no iptables program could run even if
    # the unknown format were no longer refused before the nat table is touched
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=dict(os.environ, PATH=str(tmp_path)),
    )
    assert result.stdout == "[]\n"


# ---- a stdout nobody reads ------------------------------------------------------------


def masqctl_into_closed_pipe(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``masqctl ARGS | head -0``: stdout is a pipe whose reader is gone."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [sys.executable, "-m", "masqctl", *args],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(writer)


@pytest.mark.parametrize("args", [["--version"], ["render"], ["validate", "--list-checks"]])
def test_a_closed_pipe_is_exit_2_without_a_word(args: list[str]) -> None:
    result = masqctl_into_closed_pipe(args)
    assert (result.returncode, result.stderr) == (2, "")


def masqctl_with_closed(fd: int, args: list[str]) -> subprocess.CompletedProcess[str]:
    """masqctl started with its own descriptor ``fd`` closed (``<&-``, ``>&-``, ``2>&-``);
    the other two captured."""
    return subprocess.run(
        [sys.executable, "-m", "masqctl", *args],
        preexec_fn=lambda: os.close(fd),  # the child's own descriptor, closed
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_closed_stdout_is_one_line_and_exit_2() -> None:
    result = masqctl_with_closed(1, ["render"])
    assert (result.returncode, result.stderr) == (2, "masqctl: cannot write: stdout is closed\n")


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "-"],
        ["render", "-c", "-"],
        ["diff", "--from", "-"],
        ["explain", "-"],
        ["show", "--from-log", "-"],
        ["generate", "--from", "-"],
        ["fleet"],
    ],
)
def test_reading_a_closed_stdin_is_one_line_and_exit_2(args: list[str]) -> None:
    # It was an internal error (AttributeError: 'NoneType' object has no attribute 'buffer').
    result = masqctl_with_closed(0, args)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "masqctl: cannot read stdin: it is closed\n",
    )


def test_a_closed_stdin_is_no_matter_to_a_command_not_reading_it() -> None:
    result = masqctl_with_closed(0, ["validate", GOOD])
    assert (result.returncode, result.stderr) == (0, "")


def test_an_unknown_flavour_in_the_environment_is_named_as_coming_from_there(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASQCTL_FLAVOUR", "aks")
    assert main(["render"]) == 2
    assert capsys.readouterr() == (
        "",
        "masqctl: unknown $MASQCTL_FLAVOUR flavour 'aks' "
        "(choose from upstream, gke, azure-v2, cilium)\n",
    )
    assert main(["render", "--flavour", "gke", "-o", "save"]) == 0
    assert main(["render", "--flavour", "kops"]) == 2
    assert capsys.readouterr().err == (
        "masqctl: unknown flavour 'kops' (choose from upstream, gke, azure-v2, cilium)\n"
    )


@pytest.mark.parametrize("args", [["-o", ""], ["--format="]])
def test_an_empty_render_format_is_unknown_not_the_default(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert main(["render", *args]) == 2
    assert capsys.readouterr() == (
        "",
        "masqctl: unknown format '' (choose from iptables, save, list, json, windows-v1, "
        "windows-v2, cilium-map)\n",
    )


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("validate", "Usage: masqctl validate [OPTIONS] [PATH...]\n"),
        ("explain", "Usage: masqctl explain [OPTIONS] [ADDRESS...]\n"),
        ("fleet", "Usage: masqctl fleet [OPTIONS] [PATH...]\n"),
    ],
)
def test_usage_says_a_command_takes_any_number_of_arguments(
    capsys: pytest.CaptureFixture[str], command: str, usage: str
) -> None:
    assert run_app([command, "--help"]) == 0
    assert capsys.readouterr().out.startswith(usage)


@pytest.mark.parametrize("args", [["render", "--flavour", "kops"], ["validate", "/nonexistent"]])
def test_a_closed_stderr_keeps_exit_2(args: list[str]) -> None:
    result = masqctl_with_closed(2, args)
    assert (result.returncode, result.stdout) == (2, "")


def test_an_empty_flavour_is_no_flavour_but_an_unknown_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASQCTL_FLAVOUR", "gke")
    for command in (["render"], ["explain", "8.8.8.8"], ["show"]):
        assert main([*command, "--flavour", ""]) == 2
        assert capsys.readouterr() == (
            "",
            "masqctl: unknown flavour '' (choose from upstream, gke, azure-v2, cilium)\n",
        )
