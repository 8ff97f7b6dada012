"""Both parsers read every command's options from the one declaration, identically."""

from __future__ import annotations

import pytest

from masqctl import entry
from masqctl.cli import run_app
from masqctl.entry import main, parse_plain
from masqctl.options import COMMANDS

#: Calls per command, each read the same by the fast parser and by Typer.
CALLS = {
    "validate": [
        [],
        ["a.yaml", "-", "--strict", "-o", "json"],
        ["--select", "MASQ001", "--ignore=MASQ002", "--skip-unrelated", "--", "-x.yaml"],
        ["--flavour", "gke", "--no-nomasq-all-reserved-ranges", "--enable-ipv6", "d/"],
    ],
    "render": [
        [],
        ["-c", "cfg.yaml", "--config=other.yaml", "--family", "ipv6", "--format", "save"],
        ["--format", "list", "-n", "-v", "--masq-chain", "X", "--no-random-fully"],
        ["--to-ports", "1024-29999", "--random-fully", "--flavor", "azure-v2"],
        ["-o", "windows-v1", "--cni-conf", "x.conf", "--write"],
    ],
    "diff": [
        [],
        ["--from", "-", "--from6", "six.txt", "--output", "prometheus", "--metrics-file", "m"],
        ["--watch", "30", "--iptables-mode", "legacy", "--enable-ipv6", "--flavour=cilium"],
        ["--resync-interval", "30", "--no-enable-ipv4-masquerade", "--enable-ipv6-masquerade"],
    ],
    "apply": [
        [],
        ["--dry-run"],
        ["-c", "cfg.yaml", "--backup", "/tmp/b", "--remove", "-o", "json"],
        ["--config=cfg.yaml", "--output=json", "--iptables-mode", "legacy"],
        ["--masq-chain", "MY-CHAIN", "--nomasq-all-reserved-ranges", "--enable-ipv6"],
        ["--no-random-fully", "--to-ports", "1024-29999,32768-65535", "--random-fully"],
        ["--format", "text", "--format", "json", "-c", "-"],
    ],
    "explain": [
        ["8.8.8.8"],
        ["-", "--live", "--source", "10.0.0.5", "--protocol", "tcp", "--mark", "0x4000"],
        ["--from", "d.txt", "--local-address", "192.0.2.1", "--local-address=192.0.2.2", "a"],
        ["--cni-conf", "c.conf", "10.1.2.3", "-o", "json"],
    ],
    "show": [[], ["-c", "cm.yaml", "-o", "yaml"], ["--from-log", "-", "--output=json"]],
    "generate": [
        ["--masquerade-only", "192.0.2.0/24", "--masquerade-only=198.51.100.0/24"],
        ["--non-masquerade", "10.0.0.0/8", "--except", "10.100.10.0/24", "-o", "configmap"],
        ["--from", "cfg.yaml", "--flavour", "azure-v2", "--enable-ipv6"],
    ],
    "fleet": [[], ["results/", "-o", "json"], ["-"]],
}


def test_every_command_has_calls_here() -> None:
    assert set(CALLS) == set(COMMANDS)


@pytest.mark.parametrize(
    ("name", "args"), [(name, args) for name, calls in CALLS.items() for args in calls]
)
def test_both_paths_call_the_runner_with_the_same_keywords(
    monkeypatch: pytest.MonkeyPatch, name: str, args: list[str]
) -> None:
    calls: list[dict[str, object]] = []

    def record(**kwargs: object) -> int:
        calls.append(kwargs)
        return 0

    monkeypatch.setattr(entry, "runner", lambda command: record)
    assert parse_plain(COMMANDS[name], args) is not None
    assert main([name, *args]) == 0
    assert run_app([name, *args]) == 0
    fast, typer_path = calls
    assert fast == typer_path


@pytest.mark.parametrize(
    "args", [["--help"], ["--config"], ["-c", "--dry-run"], ["-cfile"], ["--bogus"], ["x"]]
)
def test_anything_unusual_goes_to_typer(args: list[str]) -> None:
    assert parse_plain(COMMANDS["apply"], args) is None


def test_backup_help_names_the_directory_apply_really_uses(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from masqctl.apply import backup_file

    assert run_app(["apply", "--help"]) == 0
    assert (
        "--backup PATH Back up what apply changes here (IPv6: PATH.ipv6). Default: a new "
        "file under $MASQCTL_STATE_DIR/backups (/var/lib/masqctl/backups). --remove"
    ) in " ".join(capsys.readouterr().out.split())
    monkeypatch.setenv("MASQCTL_STATE_DIR", "/srv/masqctl")
    assert backup_file("ipv4", None).startswith("/srv/masqctl/backups/nat-ipv4-")
    monkeypatch.delenv("MASQCTL_STATE_DIR")
    assert backup_file("ipv4", None).startswith("/var/lib/masqctl/backups/nat-ipv4-")
