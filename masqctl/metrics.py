"""A check's verdict in the Prometheus text format, written as node_exporter's textfile
collector needs it (a temporary file in the same directory, then renamed).

Every metric is read from the check's document (masqctl.check); docs/fleet.md lists them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

from masqctl.check import KINDS, drift_counts, failure_of, records, timestamp_seconds
from masqctl.errors import MasqctlError

#: Every metric (all gauges) and its help text, in the order they are written.
METRICS: dict[str, str] = {
    "masqctl_build_info": "masqctl's version (always 1).",
    "masqctl_config_info": "The config the check compared with: sha256 of its files' bytes "
    '("none": no file, the agent\'s defaults) and the agent flavour (always 1).',
    "masqctl_check_success": "Whether the last check compared the node's rules (1) or "
    "could not (0).",
    "masqctl_check_failure_info": "Why the last check could not compare (only while it "
    "cannot; always 1).",
    "masqctl_last_check_timestamp_seconds": "When the last check started (Unix time).",
    "masqctl_check_duration_seconds": "How long the last check took.",
    "masqctl_chain_in_sync": "Whether the family's chain and POSTROUTING jump are what "
    "the agent writes for the config (1) or drifted (0).",
    "masqctl_drift_findings": "The last check's findings in the family, by kind.",
}

Sample = tuple[Mapping[str, str], float]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(value)


def _samples(document: Mapping[str, Any]) -> dict[str, list[Sample]]:
    check = document.get("check") or {}
    error = failure_of(document)
    samples: dict[str, list[Sample]] = {
        "masqctl_build_info": [({"version": str(check.get("masqctl_version", ""))}, 1)],
        "masqctl_config_info": [
            (
                {
                    "digest": str(check.get("config_digest", "")),
                    "flavour": str(check.get("flavour", "")),
                },
                1,
            )
        ],
        "masqctl_check_success": [({}, 0 if error else 1)],
        "masqctl_check_failure_info": [({"reason": error["reason"]}, 1)] if error else [],
        "masqctl_last_check_timestamp_seconds": (
            [({}, timestamp_seconds(check["checked_at"]))] if "checked_at" in check else []
        ),
        "masqctl_check_duration_seconds": (
            [({}, check["duration_seconds"])] if "duration_seconds" in check else []
        ),
        "masqctl_chain_in_sync": [],
        "masqctl_drift_findings": [],
    }
    for family in records(document):
        name = str(family.get("family", ""))
        chain = {"family": name, "chain": str(family.get("chain") or family.get("name") or "")}
        samples["masqctl_chain_in_sync"].append((chain, int(bool(family.get("in_sync")))))
        counts = drift_counts(family)
        samples["masqctl_drift_findings"].extend(
            ({"family": name, "kind": kind}, counts[kind]) for kind in KINDS
        )
    return samples


def _lines(name: str, samples: Iterable[Sample]) -> Iterable[str]:
    yield f"# HELP {name} {METRICS[name]}\n"
    yield f"# TYPE {name} gauge\n"
    for labels, value in samples:
        inner = ",".join(f'{key}="{_escape(text)}"' for key, text in labels.items())
        yield f"{name}{{{inner}}} {_number(value)}\n" if inner else f"{name} {_number(value)}\n"


def exposition(document: Mapping[str, Any]) -> str:
    """The check's metrics in the Prometheus text format (version 0.0.4)."""
    return "".join(
        line
        for name, samples in _samples(document).items()
        if samples
        for line in _lines(name, samples)
    )


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory, renamed
    over it: a reader sees the old file or the new one, never half of one.  The name of
    the temporary file starts with a dot and does not end in ``.prom``, so the textfile
    collector never reads it."""
    import tempfile

    directory, name = os.path.split(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise MasqctlError(f"{path}: cannot write: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # node_exporter runs as another user
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise MasqctlError(f"{path}: cannot write: {error.strerror or error}") from None
        raise
