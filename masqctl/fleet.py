"""The fleet report: many nodes' ``masqctl diff --output json`` results as one answer.

Results come as files (one a node, or a node's log: several documents, the last one
counts) or as ``kubectl logs --prefix`` output, whose lines carry ``[pod/POD/CONTAINER] ``
(and with ``--timestamps`` a time after it).  Each node is in sync, drifted, could not
be checked, or has no result; nodes that drifted the same way form a group.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from masqctl.check import (
    describe_counts,
    describe_family,
    drift_counts,
    failure_of,
    family_name,
    one_line,
    records,
)
from masqctl.errors import EXIT_ERROR, EXIT_NO, EXIT_OK

IN_SYNC = "in-sync"
DRIFTED = "drifted"
CHECK_FAILED = "check-failed"
NO_RESULT = "no-result"
#: The states, in the order the totals name them.
STATES = (IN_SYNC, DRIFTED, CHECK_FAILED, NO_RESULT)
#: The order of the table: nodes that need a look first.
_TABLE_ORDER = {DRIFTED: 0, CHECK_FAILED: 1, NO_RESULT: 2, IN_SYNC: 3}
#: How many nodes of a group the text report names.
NAMED_IN_GROUP = 10

_PREFIX = re.compile(r"\[(pod/[^\]/]+/[^\]]*)\] ")
_PREFIXED_LINE = re.compile(r"^" + _PREFIX.pattern, re.MULTILINE)
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ")
_DOCUMENT_START = re.compile(r"^\{", re.MULTILINE)
#: The lists of a family (and of its jump) the report counts.
_FAMILY_LISTS = ("missing", "extra", "out_of_order", "comment_only", "foreign_ahead", "findings")
_JUMP_LISTS = ("lines", "old_format_lines", "foreign_lines")
#: Where a finding's rule stands: a dump's line, or a live listing's ``CHAIN rule N``.
_PLACE = r"(?:line \d+|[^\s()]+ rule \d+)"
_LINE_REFERENCE = re.compile(rf" \({_PLACE}(?:, {_PLACE})*\)|(?<=^POSTROUTING) line \d+")


@dataclass
class NodeResult:
    """One node's place in the report."""

    node: str
    state: str
    source: str
    detail: str
    document: Mapping[str, Any] | None = None
    #: What the node's drift is, without line numbers (nodes with equal ones group).
    signature: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def check(self) -> Mapping[str, Any]:
        check = (self.document or {}).get("check")
        return check if isinstance(check, Mapping) else {}


@dataclass
class FleetReport:
    """Every node's result, the groups of nodes that drifted alike, the configs seen."""

    results: list[NodeResult]
    groups: list[list[NodeResult]] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for result in self.results if result.state == state)

    @property
    def exit_code(self) -> int:
        """1 when a node drifted; else 2 when a node has no verdict; else 0."""
        if self.count(DRIFTED):
            return EXIT_NO
        return EXIT_ERROR if self.count(CHECK_FAILED) + self.count(NO_RESULT) else EXIT_OK


# ---- reading ---------------------------------------------------------------------------


def split_logs(name: str, text: str) -> list[tuple[str, str]]:
    """``kubectl logs --prefix`` output as one (``pod/POD/CONTAINER``, text) a container
    (lines without a prefix, kubectl's own errors, are left out); other text as it is."""
    if _PREFIXED_LINE.search(text) is None:
        return [(name, text)]
    by_source: dict[str, list[str]] = {}
    for line in text.splitlines():
        prefix = _PREFIX.match(line)
        if prefix is None:
            continue
        content = line[prefix.end() :]
        stamp = _TIMESTAMP.match(content)
        by_source.setdefault(prefix.group(1), []).append(
            content[stamp.end() :] if stamp else content
        )
    return [(source, "\n".join(lines)) for source, lines in by_source.items()]


def last_document(text: str) -> dict[str, Any] | None:
    """The last diff result in ``text``: a JSON object that starts a line (one a line, or
    indented over several); other lines, and objects cut short, are skipped.  Read from
    the end, so a long log costs no more than its last result."""
    decoder = json.JSONDecoder()
    for start in reversed([match.start() for match in _DOCUMENT_START.finditer(text)]):
        try:
            document, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than a result
            continue
        if isinstance(document, dict) and _is_result(document):
            return document
    return None


def _is_result(document: Mapping[str, Any]) -> bool:
    """Whether ``document`` has diff's shape wherever the report reads it (an object
    that only looks like a result is skipped like any other line)."""
    check = document.get("check") or {}
    error = check.get("error") if isinstance(check, dict) else None
    families = document.get("families") or document.get("maps") or []
    return (
        ("families" in document or "maps" in document)
        and isinstance(check, dict)
        and isinstance(error, dict | None)
        and isinstance(families, list)
        and all(_is_family(family) for family in families)
    )


def _is_family(family: object) -> bool:
    if not isinstance(family, dict):
        return False
    jump = family.get("jump") or {}
    if not isinstance(jump, dict):
        return False
    lists = [family.get(key) for key in _FAMILY_LISTS] + [jump.get(key) for key in _JUMP_LISTS]
    return all(isinstance(value or [], list) for value in lists) and all(
        isinstance(text, str) for text in family.get("findings") or ()
    )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "empty"


def result_of(source: str, text: str) -> NodeResult:
    """The node's result in one source's text: its last document."""
    found = last_document(text)
    if found is None:
        return NodeResult(source, NO_RESULT, source, f"no masqctl diff result: {_last_line(text)}")
    check = found.get("check") if isinstance(found.get("check"), Mapping) else {}
    node = str(check.get("node") or source)
    error = failure_of(found)
    families = records(found)
    if error is not None:
        detail = f"{error.get('reason')}: {one_line(str(error.get('message')))}"
        return NodeResult(node, CHECK_FAILED, source, detail, found)
    if found.get("in_sync"):
        detail = "; ".join(filter(None, (describe_counts(drift_counts(f)) for f in families)))
        return NodeResult(node, IN_SYNC, source, detail, found)
    drifted = [family for family in families if not family.get("in_sync")]
    signature = tuple(
        (
            family_name(family),
            tuple(_LINE_REFERENCE.sub("", text) for text in family.get("findings") or ()),
        )
        for family in drifted
    )
    detail = "; ".join(describe_family(family) for family in drifted)
    return NodeResult(node, DRIFTED, source, detail, found, signature)


def read_sources(paths: Sequence[str], stdin: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(name, text) for every file given (directories: their files, recursively, hidden
    ones left out) and for ``-``, the text of ``stdin``; logs split by container."""
    from masqctl.errors import InputError

    sources: list[tuple[str, str]] = []
    for path in paths:
        if path == "-":
            text = "".join(stdin or ())
            if text.strip():  # kubectl logs of no pod print nothing: no node to report
                sources.extend(split_logs("<stdin>", text))
            continue
        files = [path]
        if os.path.isdir(path):
            files = []
            for directory, subdirs, names in os.walk(path):
                subdirs[:] = sorted(name for name in subdirs if not name.startswith("."))
                files.extend(
                    os.path.join(directory, name) for name in sorted(names) if name[0] != "."
                )
        for name in files:
            try:
                with open(name, encoding="utf-8", errors="replace") as stream:
                    text = stream.read()
            except OSError as error:
                raise InputError(f"{name}: cannot read: {error.strerror or error}") from None
            sources.extend(split_logs(name, text))
    return sources


def node_names(text: str) -> list[str]:
    """The nodes of ``kubectl get nodes -o name`` output (``node/NAME``) or plain names
    (a byte order mark, as PowerShell's ``>`` writes, is none of the first name)."""
    names = (line.strip() for line in text.removeprefix("\ufeff").splitlines())
    return [name.removeprefix("node/") for name in names if name and not name.startswith("#")]


def fleet_report(sources: Iterable[tuple[str, str]], expected: Iterable[str] = ()) -> FleetReport:
    """The report of every source's result; each node counts once (its latest check),
    and each ``expected`` node without a result as one with no result."""
    by_node: dict[str, NodeResult] = {}
    for source, text in sources:
        result = result_of(source, text)
        kept = by_node.get(result.node)
        if kept is None or str(result.check.get("checked_at", "")) >= str(
            kept.check.get("checked_at", "")
        ):
            by_node[result.node] = result
    for node in expected:
        if node not in by_node:
            by_node[node] = NodeResult(node, NO_RESULT, "", "no result for this node")
    results = sorted(by_node.values(), key=lambda result: (_TABLE_ORDER[result.state], result.node))
    groups: dict[tuple[tuple[str, tuple[str, ...]], ...], list[NodeResult]] = {}
    for result in results:
        if result.state == DRIFTED:
            groups.setdefault(result.signature, []).append(result)
    ranked = sorted(groups.values(), key=lambda group: (-len(group), group[0].node))
    return FleetReport(results, ranked)


# ---- writing ---------------------------------------------------------------------------


def _configs(report: FleetReport) -> list[tuple[str, str, int]]:
    """(digest, flavour, nodes) of the configs the checks compared with, most nodes first."""
    counts: dict[tuple[str, str], int] = {}
    for result in report.results:
        if result.document is not None:
            key = (str(result.check.get("config_digest")), str(result.check.get("flavour")))
            counts[key] = counts.get(key, 0) + 1
    return sorted(((*key, count) for key, count in counts.items()), key=lambda row: -row[2])


def _short_digest(digest: object) -> str:
    text = str(digest or "-")
    return text[: len("sha256:") + 12] if text.startswith("sha256:") else text


def totals_line(report: FleetReport) -> str:
    """``5 nodes: 2 in sync, 1 drifted, 1 check failed, 1 no result``."""
    parts = ", ".join(f"{report.count(state)} {state.replace('-', ' ')}" for state in STATES)
    total = len(report.results)
    return f"{total} node{'s' if total != 1 else ''}: {parts}"


def report_text(report: FleetReport) -> str:
    """The per-node table, the groups of equal drift, the configs, and the totals."""
    rows = [("NODE", "STATE", "CHECKED", "CONFIG", "DETAIL")]
    rows += [
        (
            result.node,
            result.state.replace("-", " "),
            str(result.check.get("checked_at", "-")),
            _short_digest(result.check.get("config_digest")),
            result.detail,
        )
        for result in report.results
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[4]]
        ).rstrip()
        for row in rows
    ]
    if report.groups:
        lines += ["", "Nodes that drifted the same way:"]
        for group in report.groups:
            names = ", ".join(result.node for result in group[:NAMED_IN_GROUP])
            more = len(group) - NAMED_IN_GROUP
            names += f" and {more} more" if more > 0 else ""
            lines.append(f"  {len(group)} node{'s' if len(group) != 1 else ''}: {names}")
            for family, found in group[0].signature:
                lines += [f"    {family}:", *(f"      {finding}" for finding in found)]
    configs = _configs(report)
    if configs:
        lines += ["", "Configs compared with:"]
        lines += [f"  {digest} ({flavour}): {count}" for digest, flavour, count in configs]
    lines += ["", totals_line(report)]
    return "".join(f"{line}\n" for line in lines)


def report_json(report: FleetReport) -> dict[str, Any]:
    """The documented machine form of ``masqctl fleet --output json``."""
    return {
        "counts": {state: report.count(state) for state in STATES},
        "nodes": [
            {
                "node": result.node,
                "state": result.state,
                "source": result.source,
                "detail": result.detail,
                "checked_at": result.check.get("checked_at"),
                "config_digest": result.check.get("config_digest"),
                "flavour": result.check.get("flavour"),
                "masqctl_version": result.check.get("masqctl_version"),
                "reason": (failure_of(result.document or {}) or {}).get("reason"),
                "findings": {
                    str(family.get("family")): drift_counts(family)
                    for family in records(result.document or {})
                },
            }
            for result in report.results
        ],
        "groups": [
            {
                "nodes": [result.node for result in group],
                "findings": {family: list(found) for family, found in group[0].signature},
            }
            for group in report.groups
        ],
        "configs": [
            {"config_digest": digest, "flavour": flavour, "nodes": count}
            for digest, flavour, count in _configs(report)
        ],
    }
