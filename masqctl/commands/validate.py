"""masqctl validate: read, check, print in the chosen format."""

from __future__ import annotations

import os
import sys

from masqctl.errors import MasqctlError, UsageError, require_choice

FORMATS = ("text", "json", "github", "sarif", "gitlab", "junit")


def print_checks() -> int:
    """--list-checks: every check of the catalogue, one a line, with the flavours it
    applies to."""
    from masqctl.lint.catalogue import CHECKS

    for check in CHECKS.values():
        flavours = ",".join(check.flavours) or "all"
        sys.stdout.write(
            f"{check.id}  {check.name:30} {check.severity:8} {flavours:25} {check.summary}\n"
        )
    return 0


def run(
    *,
    paths: list[str],
    output_format: str | None = None,
    strict: bool = False,
    select: str = "",
    ignore: str = "",
    output_file: str | None = None,
    skip_unrelated: bool = False,
    list_checks: bool = False,
    **agent: object,
) -> int:
    """validate's whole job; exit 1 on errors (with --strict, on warnings too)."""
    if list_checks:
        return print_checks()
    from masqctl.agent_setup import AgentInputs
    from masqctl.commands.common import agent_setup
    from masqctl.output import write_report
    from masqctl.validate import RuleFilter, parse_rule_list, validate_paths

    if output_format is None:
        output_format = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    require_choice("format", output_format, FORMATS)
    rules = RuleFilter(parse_rule_list(select), parse_rule_list(ignore))
    agent_setup(agent)  # the flags --flavour's agent lacks are usage errors at once
    if not paths:
        if sys.stdin.isatty():
            raise UsageError("validate: give files or directories to check, or - for stdin")
        paths = ["-"]
    report = validate_paths(paths, AgentInputs.of(None, agent), rules, skip_unrelated, strict)
    if output_file:
        try:
            with open(output_file, "w", encoding="utf-8", errors="surrogateescape") as stream:
                write_report(report, output_format, stream, color=False)
        except OSError as error:
            raise MasqctlError(f"{output_file}: cannot write: {error.strerror}") from None
    else:
        color = output_format == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        write_report(report, output_format, sys.stdout, color=color)
    return report.exit_code()
