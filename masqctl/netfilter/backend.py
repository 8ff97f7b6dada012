"""Running iptables-save and iptables-restore (nft or legacy, IPv4 or IPv6).

Every program is called with an argument list and a timeout; any failure becomes one
MasqctlError line (exit 2) that says what to do, quoting iptables' own message.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from masqctl.errors import MasqctlError, require_choice

MODES = ("auto", "nft", "legacy")
SAVE_TIMEOUT = 60.0
RESTORE_TIMEOUT = 300.0
#: Seconds legacy iptables waits for the xtables lock (restore, and the listings that
#: detect the backend); nft takes no lock.
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
    """A started iptables program, killed once ``timeout`` seconds have passed.

    Its input: a string (given as a file), or pieces written to it as they are made, so
    that iptables reads while masqctl makes the rest.  Its output goes to a file (nothing
    needs to read it meanwhile).  Only feeding pieces waits on the program (the
    constructor writes them all, blocking while the pipe is full); otherwise masqctl works
    on while it runs, until :meth:`wait`.  The time limit is kept by :meth:`wait`, and
    while pieces are fed by a watchdog thread (a program that stops reading would block
    the writes); no thread is started otherwise: ``--watch`` starts several programs a
    round, for hours.
    """

    def __init__(self, args: list[str], stdin: str | Iterable[str] | None, timeout: float) -> None:
        import tempfile
        import time

        self.program = args[0]
        self.timeout = timeout
        self._deadline = time.monotonic() + timeout
        self.timed_out = False
        self._errors = tempfile.TemporaryFile(  # noqa: SIM115 - closed by wait() or abandon()
            "w+", encoding="utf-8", errors="replace"
        )
        self._output = tempfile.TemporaryFile(  # noqa: SIM115 - as above
            "w+", encoding="utf-8", errors="surrogateescape"
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
                stdout=self._output,
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
        except OSError as error:  # not a program (ENOEXEC), too many open files...
            self._close()
            raise IptablesError(
                f"{self.program}: cannot run it ({error.strerror or error})", IPTABLES_FAILED
            ) from None
        finally:
            if not isinstance(given, int):
                given.close()
        if stdin is not None and not isinstance(stdin, str):
            self._feed(stdin)

    def _feed(self, pieces: Iterable[str]) -> None:
        import threading

        pipe = self.process.stdin
        assert pipe is not None
        watchdog = threading.Timer(self.timeout, self._kill)
        watchdog.daemon = True
        watchdog.start()
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
        finally:
            watchdog.cancel()

    def _kill(self) -> None:
        self.timed_out = True
        self.process.kill()

    def _close(self) -> None:
        self._output.close()
        self._errors.close()

    def wait(self) -> str:
        """The program's output once it has ended; IptablesError if it failed."""
        import time

        try:
            returncode = self.process.wait(max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self._kill()
            returncode = self.process.wait()
        self._output.seek(0)
        output = self._output.read()
        self._errors.seek(0)
        stderr = self._errors.read()
        self._close()
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
        self.process.kill()
        self.process.wait()
        self._close()


@dataclass(frozen=True)
class Backend:
    """One iptables backend for one family: ``iptables-nft``, ``ip6tables-legacy``, ..."""

    name: str
    family: str

    @property
    def command(self) -> str:
        """The listing program, ``iptables-nft``, ``ip6tables-legacy``...; with ``-save``
        and ``-restore`` after it, the others."""
        return f"{'ip6tables' if self.family == 'ipv6' else 'iptables'}-{self.name}"

    def start_save(self, table: str = "nat") -> Running:
        """Start ``<command>-save -t table``; ``.wait()`` on the result gives its text."""
        return Running([f"{self.command}-save", "-t", table], None, SAVE_TIMEOUT)

    def restore(self, payload: str) -> None:
        """One ``<prefix>-restore --noflush --wait`` transaction of ``payload``."""
        self.start_restore(payload).wait()

    def start_restore(self, payload: str | Iterable[str]) -> Running:
        """Start the restore transaction, ``payload`` (pieces: written as they are made)
        given; ``.wait()`` on the result ends it."""
        return Running(self.restore_args(), payload, RESTORE_TIMEOUT)

    def restore_args(self) -> list[str]:
        """The restore command line (legacy waits a bounded time for the xtables lock)."""
        args = [f"{self.command}-restore", "--noflush", "--wait"]
        return [*args, str(LOCK_WAIT_SECONDS)] if self.name == "legacy" else args


def _detection_listing(backend: Backend, table: str, chain: str) -> str | None:
    """``-S chain`` of ``table``, listed only for detection: None when it fails (no such
    chain or table) or the program is not installed.  A refusal for want of privileges, a
    held xtables lock (legacy waits for it a bounded time) or a timeout raises: the
    backend's rules would be there but unseen, so the choice would be wrong (without
    CAP_NET_RAW, legacy looks empty)."""
    wait = ["--wait", str(LOCK_WAIT_SECONDS)] if backend.name == "legacy" else []
    args = [backend.command, *wait, "-t", table, "-S", chain]
    try:
        return Running(args, None, SAVE_TIMEOUT).wait()
    except IptablesError as error:
        if error.reason in (IPTABLES_FAILED, IPTABLES_MISSING):
            return None
        raise


def _has_hint(backend: Backend) -> bool:
    """Whether kubelet's hint chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY) are in
    ``backend``'s mangle table."""
    return any(
        _detection_listing(backend, "mangle", hint) is not None
        for hint in ("KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY")
    )


def _postrouting_rules(backend: Backend) -> int:
    """How many rules ``backend``'s nat POSTROUTING holds (0 when it cannot be listed)."""
    return len(_RULE_LINE.findall(_detection_listing(backend, "nat", "POSTROUTING") or ""))


@cache
def detect_mode() -> str:
    """nft or legacy, decided from cheap listings, after Kubernetes' iptables-wrapper.

    As the wrapper: first kubelet's hint chains in mangle, in nft, then in legacy (only
    in a legacy mangle table the kernel already has: naming a legacy table creates it).
    Failing both, where the wrapper counts every rule of every table, masqctl counts the
    rules of each backend's nat POSTROUTING (kube-proxy, the agent and CNI plugins all
    write there) and picks the one with more, nft when neither has any.
    """
    from masqctl.netfilter.chains import legacy_tables

    families = ("ipv4", "ipv6")
    if any(_has_hint(Backend("nft", family)) for family in families):
        return "nft"
    if any(
        "mangle" in legacy_tables(family) and _has_hint(Backend("legacy", family))
        for family in families
    ):
        return "legacy"
    legacy = sum(
        _postrouting_rules(Backend("legacy", family))
        for family in families
        if "nat" in legacy_tables(family)
    )
    nft = sum(_postrouting_rules(Backend("nft", family)) for family in families)
    return "legacy" if legacy > nft else "nft"


def select_backend(mode: str, family: str) -> Backend:
    """The backend for ``--iptables-mode`` (auto|nft|legacy) and ``family`` (ipv4|ipv6)."""
    require_choice("--iptables-mode", mode, MODES)
    require_choice("family", family, ("ipv4", "ipv6"))
    return Backend(detect_mode() if mode == "auto" else mode, family)
