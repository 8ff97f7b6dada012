"""Running iptables-save and iptables-restore (nft or legacy, IPv4 or IPv6).

Every program is called with an argument list and a timeout; any failure becomes one
MasqctlError line (exit 2) that says what to do, quoting iptables' own message.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import IO, TYPE_CHECKING

from masqctl.errors import MasqctlError, require_choice

if TYPE_CHECKING:
    from masqctl.netfilter.save_parser import SaveFile

MODES = ("auto", "nft", "legacy")
SAVE_TIMEOUT = 60.0
RESTORE_TIMEOUT = 300.0
#: Seconds iptables-restore waits for the xtables lock (legacy; nft takes no lock).
LOCK_WAIT_SECONDS = 10
_RULE_LINE = re.compile(r"^-A ", re.MULTILINE)


#: IptablesError reasons.
IPTABLES_MISSING = "iptables_missing"
PERMISSION_DENIED = "permission_denied"
XTABLES_LOCK = "xtables_lock"
IPTABLES_TIMEOUT = "iptables_timeout"
IPTABLES_FAILED = "iptables_failed"


class IptablesError(MasqctlError):
    """iptables-save or iptables-restore could not do its job (``reason``: which way)."""

    def __init__(self, message: str, reason: str = IPTABLES_FAILED) -> None:
        super().__init__(message)
        self.reason = reason


def _command_prefix(name: str, family: str) -> str:
    return f"{'ip6tables' if family == 'ipv6' else 'iptables'}-{name}"


def _one_line(stderr: str) -> str:
    """iptables' message without its 'Try --help' advice, joined into one line."""
    lines = [
        line.strip()
        for line in stderr.splitlines()
        if line.strip() and not line.startswith("Try `")
    ]
    return "; ".join(lines)


def failure_error(program: str, returncode: int, stderr: str) -> IptablesError:
    """The error for ``program`` exiting ``returncode`` with ``stderr``: its line and reason."""
    message = _one_line(stderr) or f"exit status {returncode}"
    lowered = message.lower()
    if "permission denied" in lowered or "operation not permitted" in lowered:
        # measured: nft needs CAP_NET_ADMIN; legacy also CAP_NET_RAW (its raw socket)
        needed = "CAP_NET_ADMIN and CAP_NET_RAW" if "legacy" in program else "CAP_NET_ADMIN"
        return IptablesError(
            f"{program}: permission denied: masqctl needs root ({needed}) to read "
            f"and write the nat table ({message})",
            PERMISSION_DENIED,
        )
    if "xtables lock" in lowered:
        return IptablesError(
            f"{program}: another program held the xtables lock too long ({message})",
            XTABLES_LOCK,
        )
    return IptablesError(f"{program} failed: {message}")


class Running:
    """A started iptables program, which a watchdog kills after ``timeout`` seconds.

    Its input: a string (given as a file), or pieces written to it as they are made, so
    that iptables reads while masqctl makes the rest.  Its output: a file (nothing needs
    to read it meanwhile), or with ``stream`` a pipe read line by line as it comes
    (:meth:`lines`).  Only feeding pieces waits on the program (the constructor writes
    them all, blocking while the pipe is full); otherwise masqctl works on while it runs,
    until :meth:`wait`.
    """

    def __init__(
        self,
        args: list[str],
        stdin: str | Iterable[str] | None,
        timeout: float,
        *,
        stream: bool = False,
    ) -> None:
        import tempfile
        import threading

        self.program = args[0]
        self.timeout = timeout
        self.timed_out = False
        self._errors = tempfile.TemporaryFile(  # noqa: SIM115 - closed by wait() or abandon()
            "w+", encoding="utf-8", errors="replace"
        )
        self._output = (
            None
            if stream
            else tempfile.TemporaryFile(  # noqa: SIM115 - as above
                "w+", encoding="utf-8", errors="surrogateescape"
            )
        )
        given = subprocess.DEVNULL if stdin is None else subprocess.PIPE
        if isinstance(stdin, str):
            given = tempfile.TemporaryFile(  # noqa: SIM115 - closed below
                "w+", encoding="utf-8", errors="surrogateescape"
            )
            given.write(stdin)
            given.flush()
            given.seek(0)
        try:
            self.process = subprocess.Popen(
                args,
                stdin=given,
                stdout=self._output or subprocess.PIPE,
                stderr=self._errors,
                encoding="utf-8",
                errors="surrogateescape",  # non-UTF-8 survives to the backup
            )
        except FileNotFoundError:
            self._close()
            raise IptablesError(
                f"{self.program} not found: install the Debian package iptables "
                "(apt-get install iptables), which provides iptables-nft and iptables-legacy",
                IPTABLES_MISSING,
            ) from None
        except PermissionError:
            self._close()
            raise IptablesError(
                f"{self.program}: permission denied (cannot execute it)", PERMISSION_DENIED
            ) from None
        finally:
            if not isinstance(given, int):
                given.close()
        self._watchdog = threading.Timer(timeout, self._kill)
        self._watchdog.daemon = True
        self._watchdog.start()
        if stdin is not None and not isinstance(stdin, str):
            self._feed(stdin)

    def _feed(self, pieces: Iterable[str]) -> None:
        pipe = self.process.stdin
        assert pipe is not None
        try:
            for piece in pieces:
                pipe.write(piece)
            pipe.close()
        except BrokenPipeError:  # the program ended early: wait() says why
            with contextlib.suppress(OSError):
                pipe.close()
        except BaseException:  # no COMMIT reached it: the program changes nothing
            with contextlib.suppress(OSError):
                pipe.close()
            self.abandon()
            raise

    def _kill(self) -> None:
        self.timed_out = True
        self.process.kill()

    def _close(self, *pipes: IO[str] | None) -> None:
        for stream in (self._output, self._errors, *pipes):
            if stream is not None:
                stream.close()

    def lines(self) -> Iterator[str]:
        """The program's output (with ``stream``), line by line as it writes it."""
        assert self.process.stdout is not None
        yield from self.process.stdout

    def wait(self) -> str:
        """The (rest of the) program's output once it has ended; IptablesError if it failed."""
        try:
            if self._output is None:
                assert self.process.stdout is not None
                output = self.process.stdout.read()
            returncode = self.process.wait()
        finally:
            self._watchdog.cancel()
        if self._output is not None:
            self._output.seek(0)
            output = self._output.read()
        self._errors.seek(0)
        stderr = self._errors.read()
        self._close(self.process.stdout)
        if self.timed_out:
            raise IptablesError(
                f"{self.program} did not finish within {self.timeout:g} s "
                "(the xtables lock may be held)",
                IPTABLES_TIMEOUT,
            )
        if returncode != 0:
            raise failure_error(self.program, returncode, stderr)
        return output

    def abandon(self) -> None:
        """Stop the program (its output is no longer wanted)."""
        self._watchdog.cancel()
        self.process.kill()
        self.process.wait()
        self._close(self.process.stdout)


def run_iptables(args: list[str], stdin: str | None, timeout: float) -> str:
    """Run one iptables program; its stdout, or IptablesError with a clear line."""
    return Running(args, stdin, timeout).wait()


@dataclass(frozen=True)
class Backend:
    """One iptables backend for one family: ``iptables-nft``, ``ip6tables-legacy``, ..."""

    name: str
    family: str

    @property
    def prefix(self) -> str:
        return _command_prefix(self.name, self.family)

    @property
    def command(self) -> str:
        """The listing program: ``iptables-nft``, ``ip6tables-legacy``, ..."""
        return f"{'ip6tables' if self.family == 'ipv6' else 'iptables'}-{self.name}"

    def save(self, table: str = "nat") -> str:
        """``<prefix>-save -t table``."""
        return run_iptables([f"{self.prefix}-save", "-t", table], None, SAVE_TIMEOUT)

    def read(self, table: str = "nat") -> tuple[str, SaveFile]:
        """``<prefix>-save -t table``, parsed while iptables-save prints it (each rule's
        arguments read when used), and its text."""
        from masqctl.netfilter.save_parser import parse_lines

        running = Running([f"{self.prefix}-save", "-t", table], None, SAVE_TIMEOUT, stream=True)
        kept: list[str] = []

        def keep() -> Iterator[str]:
            for line in running.lines():
                kept.append(line)
                yield line

        try:
            save = parse_lines(keep(), f"{self.prefix}-save -t {table}", lazy=True)
        except BaseException:
            running.abandon()
            raise
        running.wait()
        return "".join(kept), save

    def start_read(self, table: str = "nat") -> Running:
        """Start ``<prefix>-save -t table``, its output kept for :meth:`finish_read`."""
        return Running([f"{self.prefix}-save", "-t", table], None, SAVE_TIMEOUT)

    def finish_read(self, running: Running, table: str = "nat") -> tuple[str, SaveFile]:
        """The text of a started save, and parsed (each rule's arguments read when used)."""
        from masqctl.netfilter.save_parser import parse_save

        text = running.wait()
        return text, parse_save(text, f"{self.prefix}-save -t {table}", lazy=True)

    def restore(self, payload: str) -> None:
        """One ``<prefix>-restore --noflush --wait`` transaction of ``payload``."""
        self.start_restore(payload).wait()

    def start_restore(self, payload: str | Iterable[str]) -> Running:
        """Start the restore transaction, ``payload`` (pieces: written as they are made)
        given; ``.wait()`` on the result ends it."""
        return Running(self.restore_args(), payload, RESTORE_TIMEOUT)

    def restore_args(self) -> list[str]:
        """The restore command line (legacy waits a bounded time for the xtables lock)."""
        args = [f"{self.prefix}-restore", "--noflush", "--wait"]
        return [*args, str(LOCK_WAIT_SECONDS)] if self.name == "legacy" else args


def _detection_listing(args: list[str]) -> subprocess.CompletedProcess[str] | None:
    """A listing used only for detection; None when it cannot run.  A refusal for want of
    privileges raises: the backend's rules would be there but unseen, so the choice would
    be wrong (without CAP_NET_RAW, legacy looks empty)."""
    try:
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=SAVE_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        error = failure_error(args[0], result.returncode, result.stderr)
        if error.reason == PERMISSION_DENIED:
            raise error
    return result


def _succeeds(args: list[str]) -> bool:
    """Whether a program used only for detection runs and exits 0."""
    result = _detection_listing(args)
    return result is not None and result.returncode == 0


def _listed_rules(args: list[str]) -> int:
    """How many rules a ``-S CHAIN`` listing used only for detection shows (0 on failure)."""
    result = _detection_listing(args)
    if result is None or result.returncode != 0:
        return 0
    return len(_RULE_LINE.findall(result.stdout))


@cache
def detect_mode() -> str:
    """nft or legacy, decided as Kubernetes' iptables-wrapper decides, from cheap listings.

    First kubelet's hint chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY in mangle) in
    nft, then in legacy (only in a legacy mangle table the kernel already has: naming a
    legacy table creates it); failing both, the backend whose nat POSTROUTING holds more
    rules (kube-proxy, the agent and CNI plugins all write there), nft when neither has any.
    """
    from masqctl.netfilter.chains import legacy_tables

    for hint in ("KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY"):
        for family in ("ipv4", "ipv6"):
            if _succeeds([Backend("nft", family).command, "-t", "mangle", "-S", hint]):
                return "nft"
    for family in ("ipv4", "ipv6"):
        if "mangle" in legacy_tables(family):
            command = Backend("legacy", family).command
            for hint in ("KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY"):
                if _succeeds([command, "-t", "mangle", "-S", hint]):
                    return "legacy"
    legacy = sum(
        _listed_rules([Backend("legacy", family).command, "-t", "nat", "-S", "POSTROUTING"])
        for family in ("ipv4", "ipv6")
        if "nat" in legacy_tables(family)
    )
    nft = sum(
        _listed_rules([Backend("nft", family).command, "-t", "nat", "-S", "POSTROUTING"])
        for family in ("ipv4", "ipv6")
    )
    return "legacy" if legacy > nft else "nft"


def select_backend(mode: str, family: str) -> Backend:
    """The backend for ``--iptables-mode`` (auto|nft|legacy) and ``family`` (ipv4|ipv6)."""
    require_choice("--iptables-mode", mode, MODES)
    require_choice("family", family, ("ipv4", "ipv6"))
    return Backend(detect_mode() if mode == "auto" else mode, family)
