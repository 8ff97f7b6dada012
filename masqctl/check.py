"""One node's check: diff's JSON document, with what a fleet needs to know about it.

``diff_json`` (masqctl.diff) is the stable document of ``diff --output json``; a check
puts a ``check`` object in front of it: which node, when, how long it took, the config's
digest, the flavour, masqctl's version, and, when diff could not run, why (the error's
reason and line).  The metrics (masqctl.metrics), the one-line summary and the fleet
report (masqctl.fleet) all read that one document, so they cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from masqctl import __version__
from masqctl.errors import EXIT_ERROR, MasqctlError, UsageError

if TYPE_CHECKING:
    from masqctl.diff import DiffRequest

#: The digest of "no config file": the agent runs its built-in defaults.
NO_CONFIG = "none"
#: The digest when the config's bytes cannot be read again (stdin, unreadable).
UNKNOWN_DIGEST = "unknown"
#: The longest one-line summary, in UTF-8 bytes (deploy/node-problem-detector sets
#: NPD's max_output_length to it, so NPD never cuts a message).
SUMMARY_LIMIT = 200
INTERNAL_ERROR = "internal_error"

#: Kinds of finding, as metrics label them, and how a person reads a count of each
#: (``jump_duplicated`` counts the jumps beyond the one the agent wants; a second field,
#: when there is one, takes the plural "s").
KINDS: dict[str, str] = {
    "chain_missing": "chain missing",
    "missing": "{} missing",
    "extra": "{} extra",
    "out_of_order": "{} out of order",
    "comment_only": "{} with another comment",
    "old_format": "old format",
    "jump_missing": "jump missing",
    "jump_duplicated": "{} jumps",
    "jump_old_format": "jump in old format",
    "foreign_jump": "{} foreign jump{}",
    "foreign_ahead": "{} foreign rule{} ahead of the jump",
}


@dataclass(frozen=True)
class Check:
    """A check's document, its exit code, and the error when diff could not run."""

    document: dict[str, Any]
    code: int
    error: MasqctlError | None = None


def node_name() -> str:
    """$NODE_NAME (a DaemonSet sets it from spec.nodeName), else the host's name."""
    import socket

    return os.environ.get("NODE_NAME") or socket.gethostname()


def present_configs(paths: Sequence[str] | None) -> list[str]:
    """``paths`` without the files that do not exist: as the agent treats a config
    mounted from a ConfigMap with ``optional: true`` (none left: its defaults)."""
    kept = []
    for path in paths or ():
        try:
            if path != "-":
                os.stat(path)
        except FileNotFoundError:
            continue
        except OSError:
            pass  # unreadable: the check says so
        kept.append(path)
    return kept


def config_digest(paths: Sequence[str] | None) -> str:
    """``sha256:`` and the hex digest of the config file's bytes (several files: of
    their digests, one a line, as ``sha256sum FILE... | cut -c1-64 | sha256sum``)."""
    if not paths:
        return NO_CONFIG
    digests = []
    for path in paths:
        if path == "-":
            return UNKNOWN_DIGEST
        try:
            with open(path, "rb") as stream:
                digests.append(hashlib.file_digest(stream, "sha256").hexdigest())
        except OSError:
            return UNKNOWN_DIGEST
    if len(digests) == 1:
        return f"sha256:{digests[0]}"
    lines = "".join(f"{digest}\n" for digest in digests)
    return f"sha256:{hashlib.sha256(lines.encode()).hexdigest()}"


def timestamp_text(seconds: float) -> str:
    """RFC 3339 in UTC, to the millisecond: ``2025-01-02T03:04:05.678Z``."""
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


def timestamp_seconds(text: str) -> float:
    """The Unix time of a :func:`timestamp_text`."""
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def run_check(request: DiffRequest, flavour: str) -> Check:
    """Run diff (JSON) and put the check in front; a failure is a document too.
    ``flavour`` is the command line's, reported where the inputs cannot be read.

    Usage errors are raised (they are the command's, not the node's).
    """
    from masqctl.diff import run_diff

    started, clock = time.time(), time.monotonic()
    digest = config_digest(request.agent.config_paths)
    error: MasqctlError | None = None
    try:
        setup = request.agent.resolve()
        flavour = setup.flavour.name  # the DaemonSet's, when the inputs hold one
        text, code = run_diff(replace(request, output_format="json"), setup)
        result = json.loads(text)
    except UsageError:
        raise
    except MasqctlError as failure:
        error, code, result = failure, EXIT_ERROR, {"in_sync": None, "families": []}
    except Exception as surprise:  # a daemon keeps checking; the metrics say it failed
        error = MasqctlError(f"internal error: {type(surprise).__name__}: {surprise}")
        error.reason = INTERNAL_ERROR
        code, result = EXIT_ERROR, {"in_sync": None, "families": []}
    check = {
        "node": node_name(),
        "flavour": flavour,
        "config_digest": digest,
        "masqctl_version": __version__,
        "checked_at": timestamp_text(started),
        "duration_seconds": round(time.monotonic() - clock, 6),
        "error": None if error is None else {"reason": error.reason, "message": str(error)},
    }
    return Check({"check": check, **result}, code, error)


# ---- reading a document ----------------------------------------------------------------


def drift_counts(family: Mapping[str, Any]) -> dict[str, int]:
    """Per kind (see KINDS), how many findings one family of diff's document has."""
    jump = family.get("jump") or {}
    state = jump.get("state")
    current = len(jump.get("lines") or ())
    old = len(jump.get("old_format_lines") or ())
    return {
        "chain_missing": int(bool(family.get("chain_missing"))),
        "missing": len(family.get("missing") or ()),
        "extra": len(family.get("extra") or ()),
        "out_of_order": len(family.get("out_of_order") or ()),
        "comment_only": len(family.get("comment_only") or ()),
        "old_format": int(bool(family.get("old_format"))),
        "jump_missing": int(state == "missing"),
        "jump_duplicated": current + old - 1 if state == "duplicated" else 0,
        "jump_old_format": old if state == "old-format" else 0,
        "foreign_jump": len(jump.get("foreign_lines") or ()),
        "foreign_ahead": len(family.get("foreign_ahead") or ()),
    }


def describe_counts(counts: Mapping[str, int]) -> str:
    """The findings of one family in a few words: ``2 missing, jump missing``."""
    parts = []
    for kind, words in KINDS.items():
        count = counts.get(kind, 0)
        if kind == "jump_duplicated":
            count += 1 if count else 0  # the jumps there are
        if count:
            parts.append(words.format(count, "s" if count > 1 else ""))
    return ", ".join(parts)


def records(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """What a diff document compared, a record a family: its chains, or (for an agent
    that fills BPF maps, Cilium) its maps."""
    return list(document.get("families") or document.get("maps") or ())


def family_name(family: Mapping[str, Any]) -> str:
    """``ipv4 IP-MASQ-AGENT`` (a map: ``ipv4 cilium_ipmasq_v4``): the family and what it
    compared."""
    compared = family.get("chain") or family.get("name")
    return " ".join(str(part) for part in (family.get("family"), compared) if part)


def describe_family(family: Mapping[str, Any]) -> str:
    """``ipv4 IP-MASQ-AGENT: 2 missing`` or ``ipv4 IP-MASQ-AGENT in sync``."""
    counts = describe_counts(drift_counts(family))
    if family.get("in_sync"):
        return f"{family_name(family)} in sync" + (f" ({counts})" if counts else "")
    return f"{family_name(family)}: {counts or 'drifted'}"


def failure_of(document: Mapping[str, Any]) -> Mapping[str, str] | None:
    """The ``check.error`` of a document (reason, message), or None."""
    check = document.get("check")
    return check.get("error") if isinstance(check, Mapping) else None


def one_line(text: str) -> str:
    """``text`` on one line: its lines joined by ``; `` (after a colon, by a space)."""
    joined = ""
    for line in filter(None, (line.strip() for line in text.splitlines())):
        joined += ("" if not joined else " " if joined.endswith(":") else "; ") + line
    return joined


def summary_line(document: Mapping[str, Any], limit: int = SUMMARY_LIMIT) -> str:
    """The verdict in one line of at most ``limit`` UTF-8 bytes (NPD's condition message)."""
    error = failure_of(document)
    families = records(document)
    if error is not None:
        line = f"check failed ({error['reason']}): {one_line(error['message'])}"
    elif document.get("in_sync"):
        line = "in sync: " + "; ".join(family_name(family) for family in families)
    else:
        line = "drift: " + "; ".join(describe_family(family) for family in families)
    data = line.encode("utf-8", "surrogateescape")  # bytes not UTF-8 count one each
    if len(data) <= limit:
        return line
    return data[: limit - 3].decode(errors="ignore") + "..."
