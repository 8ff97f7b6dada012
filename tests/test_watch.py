"""diff --watch: round after round, no more memory or open files than after the first ones."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from masqctl.agent_setup import AgentInputs
from masqctl.commands.diff import check_once
from masqctl.diff import DiffRequest
from masqctl.errors import MasqctlError, UsageError
from masqctl.watch import interval_seconds, repeat
from tests.netns import namespace, require_netfilter

DATA = Path(__file__).parent / "data"
CONFIG = str(DATA / "corpus" / "upstream-agent-config.yaml")
DRIFTED = str(DATA / "saves" / "legacy-agent-2017-format.txt")
WARM_UP = 50
#: Rounds sampled at each end.
SAMPLES = 5
ROUNDS = 300
#: Fewer objects than rounds: no round leaves one behind.
SOME_OBJECTS = 50


def open_files(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def resident_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))


def test_hundreds_of_rounds_in_process_keep_memory_and_files_flat(tmp_path: Path) -> None:
    metrics = str(tmp_path / "masqctl.prom")
    request = DiffRequest(AgentInputs((CONFIG,)), DRIFTED, None, "auto", "json")
    reported: list[str] = []

    def rounds(count: int) -> None:
        def check() -> int:
            return check_once(request, "upstream", metrics, True)

        repeat(check, 1.0, reported.append, rounds=count, sleep=lambda _: None)

    def objects() -> int:
        gc.collect()
        return len(gc.get_objects())

    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        tracemalloc.start()
        try:  # what rounds leave behind once warm (caches filled, coverage's data too)
            rounds(ROUNDS)
            files, kept = open_files(), objects()
            before, _ = tracemalloc.get_traced_memory()
            rounds(ROUNDS)
            kept_after = objects()
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert open_files() == files
    assert reported == []
    # nothing a round makes is kept (one round's check document alone is ~3 KiB); the
    # bytes allow the interpreter's own tables some growth (interned names, free lists)
    assert kept_after - kept < SOME_OBJECTS, f"{kept_after - kept} objects more"
    assert after - before < 64 * 1024, f"{after - before} bytes more after {ROUNDS} rounds"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["masqctl.prom"]


def test_a_failing_round_is_reported_and_the_next_one_runs() -> None:
    outcomes = iter([MasqctlError("iptables-nft-save failed: boom"), None])
    reported: list[str] = []

    def check() -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    assert repeat(check, 5, reported.append, rounds=2, sleep=lambda _: None) == 0
    assert reported == ["iptables-nft-save failed: boom"]


def test_a_usage_error_stops_the_loop() -> None:
    def check() -> None:
        raise UsageError("--from6 goes with --enable-ipv6")

    with pytest.raises(UsageError):
        repeat(check, 5, print, rounds=3, sleep=lambda _: None)


def test_rounds_start_every_interval_and_a_late_one_does_not_bunch_the_next() -> None:
    now = [0.0]
    slept: list[float] = []
    durations = iter([1.0, 7.0, 1.0, 1.0])

    def check() -> None:
        now[0] += next(durations)

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    repeat(check, 5, print, rounds=4, sleep=sleep, clock=lambda: now[0])
    assert slept == [4.0, 0.0, 4.0]


def test_sigterm_during_a_round_lets_it_finish_then_ends_the_loop() -> None:
    finished: list[int] = []

    def check() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        finished.append(len(finished))

    assert repeat(check, 5, print, rounds=10, sleep=lambda _: None) == 0
    assert finished == [0]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.parametrize("text", ["0", "-1", "abc", "inf", "nan"])
def test_watch_takes_seconds_above_zero(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--watch: expected seconds above 0, got "):
        interval_seconds(text)


@pytest.mark.parametrize("stdin", [["--from", "-"], ["--from6", "-"], ["--config", "-"]])
def test_watch_refuses_stdin_which_only_its_first_round_could_read(stdin: list[str]) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "masqctl", "diff", "--watch", "60", "-o", "json", *stdin],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (run.returncode, run.stdout, run.stderr) == (
        2,
        "",
        "masqctl: --watch reads its inputs again every round: give files, not - (stdin)\n",
    )


def test_sigterm_ends_the_watch_with_exit_0_and_each_round_is_one_line(tmp_path: Path) -> None:
    metrics = tmp_path / "masqctl.prom"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "masqctl",
            "diff",
            "--watch",
            "0.05",
            "--from",
            DRIFTED,
            "-o",
            "json",
            "--metrics-file",
            str(metrics),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(3)]
    process.send_signal(signal.SIGTERM)
    rest, errors = process.communicate(timeout=30)
    assert (process.returncode, errors) == (0, "")
    documents = [json.loads(line) for line in lines + rest.splitlines()]
    assert {document["in_sync"] for document in documents} == {False}
    assert len({document["check"]["checked_at"] for document in documents}) == len(documents)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["masqctl.prom"]


@pytest.mark.netfilter
def test_hundreds_of_live_rounds_keep_memory_and_files_flat(tmp_path: Path) -> None:
    require_netfilter()
    with namespace("mqwatch") as ns:
        ns.run(["iptables-nft", "-t", "mangle", "-N", "KUBE-IPTABLES-HINT"])  # as kubelet
        payload = ns.run([sys.executable, "-m", "masqctl", "render"]).stdout
        ns.run(["iptables-nft-restore", "--noflush"], input=payload)
        command = ns.exec_args(
            [
                sys.executable,
                "-m",
                "masqctl",
                "diff",
                "--watch",
                "0.001",
                "-o",
                "json",
                "--metrics-file",
                str(tmp_path / "masqctl.prom"),
            ]
        )
        process = subprocess.Popen(command, stdout=subprocess.PIPE, env=ns.env, text=True)
        try:
            assert process.stdout is not None
            early: list[tuple[int, int]] = []
            late: list[tuple[int, int]] = []
            for round_ in range(WARM_UP + ROUNDS):
                document = json.loads(process.stdout.readline())
                # a sample can fall inside the next round (iptables' pipes open): the least
                # of a few rounds at each end is the steady state, which a leak still raises
                if WARM_UP <= round_ < WARM_UP + SAMPLES:
                    early.append((open_files(process.pid), resident_kib(process.pid)))
                elif round_ >= WARM_UP + ROUNDS - SAMPLES:
                    late.append((open_files(process.pid), resident_kib(process.pid)))
        finally:
            process.terminate()
            process.wait(timeout=30)
    files_before, rss_before = min(f for f, _ in early), min(r for _, r in early)
    files_after, rss_after = min(f for f, _ in late), min(r for _, r in late)
    assert document["families"][0]["chain_missing"] is False
    assert document["families"][0]["source"] == "iptables-nft -t nat"
    assert files_after == files_before
    assert rss_after - rss_before < 1024, f"resident memory grew {rss_before} -> {rss_after} KiB"
