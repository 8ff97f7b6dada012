"""apply's fast path reads its options exactly as the Typer app does (no root needed)."""

from __future__ import annotations

import inspect

import pytest

from masqctl import cli, entry
from masqctl.cli import run_app
from masqctl.entry import main, parse_fast_apply, run_apply_command


def bound(kwargs: dict[str, object]) -> dict[str, object]:
    """The call's arguments with run_apply_command's defaults filled in."""
    call = inspect.signature(run_apply_command).bind(**kwargs)
    call.apply_defaults()
    arguments = dict(call.arguments)
    if arguments["masq_chain"] is None:
        arguments["masq_chain"] = "IP-MASQ-AGENT"
    return arguments


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--dry-run"],
        ["-c", "cfg.yaml", "--backup", "/tmp/b", "--remove", "-o", "json"],
        ["--config=cfg.yaml", "--output=json", "--iptables-mode", "legacy"],
        ["--masq-chain", "MY-CHAIN", "--nomasq-all-reserved-ranges", "--enable-ipv6"],
        ["--no-random-fully", "--to-ports", "1024-29999,32768-65535", "--random-fully"],
        ["--format", "text", "--format", "json", "-c", "-"],
    ],
)
def test_both_paths_call_apply_with_the_same_arguments(
    monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    calls: list[dict[str, object]] = []

    def record(**kwargs: object) -> int:
        calls.append(bound(kwargs))
        return 0

    monkeypatch.setattr(entry, "run_apply_command", record)
    monkeypatch.setattr(cli, "run_apply_command", record)
    assert parse_fast_apply(args) is not None
    assert main(["apply", *args]) == 0
    assert run_app(["apply", *args]) == 0
    fast, typer_path = calls
    assert fast == typer_path


@pytest.mark.parametrize(
    "args", [["--help"], ["--config"], ["-c", "--dry-run"], ["-cfile"], ["--bogus"], ["x"]]
)
def test_anything_unusual_goes_to_typer(args: list[str]) -> None:
    assert parse_fast_apply(args) is None
