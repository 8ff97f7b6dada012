"""``--watch SECONDS``: run a check again and again, as a DaemonSet's container does.

Each round is a fresh check: nothing is kept from one to the next, so a process that runs
for months holds no more memory or files than after its first round.  A failing round
is reported (one line on stderr) and the next one runs; only a usage error stops it.
SIGTERM (what the kubelet sends a pod it stops) ends the loop between two rounds.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable

from masqctl.collection import repeating
from masqctl.errors import MasqctlError, UsageError


class _Stopped(Exception):
    """SIGTERM arrived while waiting for the next round."""


class _Signals:
    """SIGTERM ends the loop: at once while it waits, after the round during a round (so
    that no round stops half-way, its metrics file half-written)."""

    def __init__(self) -> None:
        self.stopping = False
        self.waiting = False

    def __call__(self, signum: int, frame: object) -> None:
        self.stopping = True
        if self.waiting:
            raise _Stopped


def interval_seconds(text: str) -> float:
    """The value of --watch: seconds above 0 (a decimal number)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise UsageError(f"--watch: expected seconds above 0, got {text!r}")
    return seconds


def repeat(
    check: Callable[[], object],
    interval: float,
    report: Callable[[str], object],
    *,
    rounds: int | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Run ``check`` every ``interval`` seconds (a late round starts the next one at
    once, without catching up) until SIGTERM, or ``rounds`` times; exit code 0.

    A MasqctlError of a round goes to ``report``; a UsageError stops the loop.
    """
    signals = _Signals()
    previous = signal.signal(signal.SIGTERM, signals)
    done = 0
    start = clock()
    try:
        with repeating():  # a round's objects are collected once dropped
            while not signals.stopping and (rounds is None or done < rounds):
                try:
                    check()
                except UsageError:
                    raise
                except MasqctlError as error:
                    report(str(error))
                sys.stdout.flush()  # each round reaches the log as it is made
                done += 1
                start = max(start + interval, clock())
                if rounds is not None and done >= rounds:
                    break
                signals.waiting = True
                if not signals.stopping:
                    sleep(max(start - clock(), 0.0))
                signals.waiting = False
    except _Stopped:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
