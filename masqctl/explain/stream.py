"""Explaining many addresses: command-line arguments, or one address a line on stdin.

Malformed stdin lines do not stop the batch: each is reported on stderr with its line
number (the first ``MAX_REPORTED`` of them, then a count), every other line is
answered, and the command exits 2 at the end.  Output is written in large chunks.
"""

from __future__ import annotations

import socket
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TextIO

from masqctl.errors import MasqctlError
from masqctl.explain.addresses import Target, parse_target
from masqctl.explain.verdict import Explanation

MAX_REPORTED = 10
CHUNK_BYTES = 1 << 20


class Explainer(Protocol):
    def explain(self, target: Target) -> Explanation: ...


def render(explanation: Explanation, output_format: str) -> str:
    return explanation.json_line() if output_format == "json" else explanation.text()


def chunks(stream: TextIO) -> Iterator[list[str]]:
    """Lines of ``stream`` in lists of about a megabyte, as they arrive."""
    while True:
        lines = stream.readlines(CHUNK_BYTES)
        if not lines:
            return
        yield lines


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
            self.report(f"stdin: {self.count} malformed lines in all "
                        f"({self.count - MAX_REPORTED} not shown)")
        if self.count:
            raise MasqctlError(f"stdin: {self.count} malformed line(s); the others were "
                               "answered")


def explain_lines(
    explainer: Explainer,
    stream: TextIO,
    output_format: str,
    write: Callable[[str], object],
    report: Callable[[str], None],
) -> None:
    """Answer each line of ``stream``; MasqctlError at the end if any line was malformed."""
    fast = hasattr(explainer, "ipv4_table")
    starts, suffixes = explainer.ipv4_table(output_format) if fast else ([], [])
    prefix = '{"address":"' if output_format == "json" else ""
    separator = '",' if output_format == "json" else ""
    errors = BatchErrors(report)
    pton, inet, from_bytes, find = socket.inet_pton, socket.AF_INET, int.from_bytes, bisect_right
    line_number = 0
    for lines in chunks(stream):
        out = []
        for line in lines:
            line_number += 1
            text = line.strip()
            if fast:
                try:
                    value = from_bytes(pton(inet, text), "big")
                except OSError:
                    pass
                else:
                    out.append(f"{prefix}{text}{separator}{suffixes[find(starts, value) - 1]}")
                    continue
            if not text:
                continue
            try:
                target = parse_target(text)
            except MasqctlError as error:
                errors.add(line_number, str(error))
                continue
            out.append(render(explainer.explain(target), output_format))
        write("".join(out))
    errors.finish()


def explain_arguments(
    explainer: Explainer, targets: Iterable[Target], output_format: str,
    write: Callable[[str], object],
) -> None:
    """Answer addresses given on the command line (already parsed)."""
    write("".join(render(explainer.explain(target), output_format) for target in targets))
