"""masqctl fleet: many nodes' diff results as one report."""

from __future__ import annotations

import json
import sys

from masqctl.errors import TEXT_OR_JSON, InputError, UsageError, require_choice


def run(*, paths: list[str], output_format: str = "text", nodes: str | None = None) -> int:
    """Print the report; exit 1 when a node drifted, 2 when a node has no verdict."""
    from masqctl.fleet import fleet_report, node_names, read_sources, report_json, report_text

    require_choice("output", output_format, TEXT_OR_JSON)
    if not paths:
        if sys.stdin.isatty():
            raise UsageError("fleet: give result files or directories, or - for stdin")
        paths = ["-"]
    if nodes == "-" and "-" in paths:
        raise UsageError("fleet: --nodes - and results on stdin: give one of them as a file")
    expected = node_names(read_node_list(nodes)) if nodes is not None else []
    sources = read_sources(paths, sys.stdin if "-" in paths else None)
    if not sources and not expected:
        raise InputError(f"no masqctl diff results in {', '.join(paths)}")
    report = fleet_report(sources, expected)
    if output_format == "json":
        sys.stdout.write(json.dumps(report_json(report), indent=2) + "\n")
    else:
        sys.stdout.write(report_text(report))
    return report.exit_code


def read_node_list(path: str) -> str:
    """The text of the --nodes file, or InputError in one line where its bytes are not
    UTF-8 text (no node is named so): the file, the place and what is wrong there."""
    from masqctl.config.nodes import DocumentError
    from masqctl.config.sources import display_name, read_text

    try:
        return read_text(path)
    except DocumentError as error:
        problem = error.message.removeprefix("yaml: ")
        raise InputError(
            f"{display_name(path)}:{error.line}:{error.column}: not a list of node names: {problem}"
        ) from None
