"""Reading a CNI config file as text, and replacing it atomically with a backup kept."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile

from masqctl.errors import InputError

BACKUP_SUFFIX = ".bak"


def read_cni_conf(path: str) -> str:
    """The file's (``-``: stdin's) text, line endings kept; InputError when unreadable."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        raise InputError(
            f"{path}:1:1: starts with a UTF-8 byte order mark, which the CNI runtime's JSON "
            "parser rejects; save it without one"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text (byte {error.start})") from None


def write_in_place(path: str, original: str, text: str) -> str:
    """Replace the file (a symlink's target) atomically; return the backup's path.

    The previous content goes to ``FILE.bak`` first (replacing an older backup), then the
    new text is written to a temporary file in the same directory, given the file's mode
    (and owner, when allowed), synced and renamed over the file.  Neither name ends in
    ``.conf``, ``.conflist`` or ``.json``, so a CNI runtime never loads them.  A file that
    no longer holds ``original`` (changed since it was read) is left alone.
    """
    target = os.path.realpath(path)
    backup = target + BACKUP_SUFFIX
    try:
        status = os.stat(target)
        with open(target, "rb") as handle:
            previous = handle.read()
        if previous != original.encode("utf-8"):
            raise InputError(f"{path}: changed while masqctl was working; run it again")
        _atomic_write(backup, previous, status)
        _atomic_write(target, text.encode("utf-8"), status)
    except OSError as error:
        raise InputError(f"{path}: cannot write: {error.strerror or error}") from None
    return backup


def _atomic_write(path: str, data: bytes, status: os.stat_result) -> None:
    directory, name = os.path.split(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=directory or ".", prefix=f".{name}.", suffix=".masqctl-tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if hasattr(os, "fchown"):  # POSIX; on Windows the new file inherits the ACLs
                os.fchmod(handle.fileno(), stat.S_IMODE(status.st_mode))
                with contextlib.suppress(PermissionError):
                    os.fchown(handle.fileno(), status.st_uid, status.st_gid)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
