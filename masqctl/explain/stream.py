"""Explaining many addresses: command-line arguments, or one address a line on stdin.

Malformed stdin lines do not stop the batch: each is reported on stderr with its line
number (the first ``MAX_REPORTED`` of them, then a count), every other line is
answered, and the command exits 2 at the end.  Output is written in large chunks.
"""

from __future__ import annotations

import socket
import struct
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from functools import partial
from itertools import chain, repeat
from typing import BinaryIO, Protocol

from masqctl.errors import MasqctlError
from masqctl.explain.addresses import Target, mapped_note, parse_target
from masqctl.explain.verdict import Explanation

MAX_REPORTED = 10
CHUNK_BYTES = 1 << 20


class Explainer(Protocol):
    def explain(self, target: Target) -> Explanation: ...


def answer(explainer: Explainer, target: Target) -> Explanation:
    """The explanation of ``target``; an IPv4-mapped address says it was taken as IPv4."""
    explanation = explainer.explain(target)
    if not target.mapped:
        return explanation
    outcome = explanation.outcome
    notes = (mapped_note(target), *outcome.notes)
    return replace(explanation, outcome=replace(outcome, notes=notes))


def render(explanation: Explanation, output_format: str) -> str:
    return explanation.json_line() if output_format == "json" else explanation.text()


def chunks(stream: BinaryIO) -> Iterator[list[bytes]]:
    """Lines of ``stream`` (without their newline) in lists of about ``CHUNK_BYTES``."""
    while True:
        data = stream.read(CHUNK_BYTES)
        if not data:
            return
        if not data.endswith(b"\n"):
            data += stream.readline()
        lines = data.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        yield lines


def fast_ipv4_chunk(
    lines: list[bytes], starts: list[int], suffixes: list[bytes], prefix: bytes
) -> bytes | None:
    """The output for a chunk of plain IPv4 addresses, all in C loops; None otherwise.

    ``suffixes`` is indexed by ``bisect_right(starts, address)`` (one past the segment).
    """
    try:
        texts = b"\n".join(lines).decode("ascii").split("\n")
        packed = b"".join(map(partial(socket.inet_pton, socket.AF_INET), texts))
    except (OSError, ValueError):
        return None
    values = struct.unpack(f"!{len(lines)}I", packed)
    found = map(suffixes.__getitem__, map(bisect_right, repeat(starts), values))
    return b"".join(chain.from_iterable(zip(repeat(prefix), lines, found)))


class BatchErrors:
    """Malformed stdin lines: reported as they come (up to a limit), counted."""

    def __init__(self, report: Callable[[str], None]) -> None:
        self.report = report
        self.count = 0

    def add(self, line_number: int, message: str) -> None:
        self.count += 1
        if self.count <= MAX_REPORTED:
            self.report(f"stdin line {line_number}: {message}")

    def finish(self) -> None:
        if self.count > MAX_REPORTED:
            self.report(
                f"stdin: {self.count} malformed lines in all "
                f"({self.count - MAX_REPORTED} not shown)"
            )
        if self.count:
            raise MasqctlError(f"stdin: {self.count} malformed line(s); the others were answered")


def explain_lines(
    explainer: Explainer,
    stream: BinaryIO,
    output_format: str,
    write: Callable[[bytes], object],
    report: Callable[[str], None],
) -> None:
    """Answer each line of ``stream``; MasqctlError at the end if any line was malformed.

    Config mode has a fast path: a chunk of nothing but IPv4 addresses is answered from
    the precomputed output of each segment of the interval index, as bytes.
    """
    table = explainer.ipv4_table(output_format) if hasattr(explainer, "ipv4_table") else None
    if table is not None:
        starts, suffixes = table
        prefix = b'{"address":"' if output_format == "json" else b""
        separator = '",' if output_format == "json" else ""
        shifted = [
            b"",
            *((separator + suffix).encode("utf-8", "surrogateescape") for suffix in suffixes),
        ]
    errors = BatchErrors(report)
    line_number = 0
    for lines in chunks(stream):
        fast = None if table is None else fast_ipv4_chunk(lines, starts, shifted, prefix)
        if fast is not None:
            write(fast)
            line_number += len(lines)
            continue
        out = []
        for line in lines:
            line_number += 1
            text = line.decode("utf-8", "replace").strip()
            if not text:
                continue
            try:
                out.append(render(answer(explainer, parse_target(text)), output_format))
            except MasqctlError as error:
                errors.add(line_number, str(error))
        write("".join(out).encode("utf-8", "surrogateescape"))  # bytes a dump kept
    errors.finish()


def explain_arguments(
    explainer: Explainer,
    targets: Iterable[Target],
    output_format: str,
    write: Callable[[str], object],
) -> None:
    """Answer addresses given on the command line (already parsed)."""
    write("".join(render(answer(explainer, target), output_format) for target in targets))
