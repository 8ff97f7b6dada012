"""Running iptables: command lines, and iptables' failures as one clear line (no root needed)."""

from __future__ import annotations

import time

import pytest

from masqctl.errors import MasqctlError, UsageError
from masqctl.netfilter.backend import (
    Backend,
    IptablesError,
    Running,
    failure_error,
    select_backend,
)


def test_restore_is_one_noflush_transaction_and_legacy_waits_a_bounded_time() -> None:
    assert Backend("nft", "ipv4").restore_args() == ["iptables-nft-restore", "--noflush", "--wait"]
    assert Backend("legacy", "ipv6").restore_args() == [
        "ip6tables-legacy-restore",
        "--noflush",
        "--wait",
        "10",
    ]


def test_explicit_modes_need_no_detection() -> None:
    assert select_backend("legacy", "ipv6") == Backend("legacy", "ipv6")
    assert select_backend("nft", "ipv4").command == "iptables-nft"


@pytest.mark.parametrize(
    ("mode", "family", "message"),
    [
        ("iptables", "ipv4", "unknown --iptables-mode 'iptables' (choose from auto, nft, legacy)"),
        ("nft", "inet", "unknown family 'inet' (choose from ipv4, ipv6)"),
    ],
)
def test_unknown_mode_or_family_is_a_usage_error(mode: str, family: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        select_backend(mode, family)
    assert str(caught.value) == message


def test_missing_binaries_name_the_debian_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MasqctlError) as caught:
        Backend("nft", "ipv4").start_save()
    assert caught.value.reason == "iptables_missing"
    assert str(caught.value) == (
        "iptables-nft-save not found: install the Debian package iptables (apt-get install "
        "iptables), which provides iptables-nft and iptables-legacy"
    )


def test_held_xtables_lock_is_named() -> None:
    # iptables-legacy-restore 1.8.9's own words when the lock stays held past --wait
    stderr = (
        "Can't lock /run/xtables.lock: Resource temporarily unavailable\n"
        "Another app is currently holding the xtables lock. Stopped waiting after 10s.\n"
    )
    error = failure_error("iptables-legacy-restore", 4, stderr)
    assert (error.reason, str(error)) == (
        "xtables_lock",
        "iptables-legacy-restore: another program held the xtables lock too long (Can't lock "
        "/run/xtables.lock: Resource temporarily unavailable; Another app is currently holding "
        "the xtables lock. Stopped waiting after 10s.)",
    )


def test_not_root_says_what_is_needed() -> None:
    stderr = (
        "iptables-legacy-save v1.8.9 (legacy): Cannot initialize: Permission denied "
        "(you must be root)\n"
    )
    error = failure_error("iptables-legacy-save", 1, stderr)
    assert (error.reason, str(error)) == (
        "permission_denied",
        "iptables-legacy-save: permission denied: masqctl needs root (CAP_NET_ADMIN and "
        "CAP_NET_RAW) to read and write the nat table (iptables-legacy-save v1.8.9 (legacy): "
        "Cannot initialize: Permission denied (you must be root))",
    )


def test_rejected_rule_quotes_iptables_message_and_line_without_the_help_hint() -> None:
    stderr = (
        "iptables-restore v1.8.9 (legacy): Couldn't load target `NOPE':No such file or "
        "directory\n\nError occurred at line: 2\n"
        "Try `iptables-restore -h' or 'iptables-restore --help' for more information.\n"
    )
    error = failure_error("iptables-legacy-restore", 2, stderr)
    assert (error.reason, str(error)) == (
        "iptables_failed",
        "iptables-legacy-restore failed: iptables-restore v1.8.9 (legacy): Couldn't load target "
        "`NOPE':No such file or directory; Error occurred at line: 2",
    )


def test_payload_pieces_reach_the_program_and_a_failing_one_stops_it(monkeypatch) -> None:
    import signal
    import subprocess

    from masqctl.netfilter.backend import Running

    assert Running(["cat"], iter(["*nat\n", "COMMIT\n"]), 10).wait() == "*nat\nCOMMIT\n"

    started: list[subprocess.Popen[str]] = []

    class Recorded(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            started.append(self)

    def failing():
        yield "*nat\n"
        raise RuntimeError("no more")

    monkeypatch.setattr(subprocess, "Popen", Recorded)
    with pytest.raises(RuntimeError, match="no more"):
        Running(["sleep", "30"], failing(), 10)  # would run on after its input ends
    assert [process.returncode for process in started] == [-signal.SIGKILL]


def test_a_program_ending_before_its_input_is_read_says_why() -> None:
    from masqctl.netfilter.backend import IptablesError, Running

    pieces = iter(["x" * 65536] * 64)
    with pytest.raises(IptablesError, match=r"^sh failed: gone$"):
        Running(["sh", "-c", "echo gone >&2; exit 3"], pieces, 10).wait()


def test_a_program_that_outlives_its_time_is_killed_and_named() -> None:
    started = time.monotonic()
    with pytest.raises(IptablesError) as caught:
        Running(["sleep", "30"], None, 0.3).wait()
    assert time.monotonic() - started < 10
    assert (caught.value.reason, str(caught.value)) == (
        "iptables_timeout",
        "sleep did not finish within 0.3 s (the xtables lock may be held)",
    )


def test_a_program_that_stops_reading_its_pieces_is_killed_while_they_are_fed() -> None:
    pieces = ("x" * 65536 for _ in range(100))  # more than a pipe holds: the writes block
    started = time.monotonic()
    running = Running(["sleep", "30"], pieces, 0.3)
    with pytest.raises(IptablesError) as caught:
        running.wait()
    assert time.monotonic() - started < 10
    assert caught.value.reason == "iptables_timeout"


def test_a_program_that_cannot_be_run_is_one_line(tmp_path) -> None:
    program = tmp_path / "iptables-nft-save"
    program.write_bytes(b"\x7fELF not really")
    program.chmod(0o755)
    with pytest.raises(IptablesError) as caught:
        Running([str(program)], None, 5).wait()
    assert (caught.value.reason, str(caught.value)) == (
        "iptables_failed",
        f"{program}: cannot run it (Exec format error)",
    )
