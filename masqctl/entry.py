"""The ``masqctl`` console entry point, with a fast path for CI's hottest calls.

``masqctl --version`` and plain ``masqctl validate ...`` and ``masqctl apply ...`` calls
are parsed here without importing Typer (which alone costs several times Python's own
start-up); every other call, ``--help`` and shell completion go to the Typer app in
:mod:`masqctl.cli`.  Both paths run the same code, and tests keep their results identical.
"""

from __future__ import annotations

import os
import sys

from masqctl import __version__
from masqctl.errors import EXIT_ERROR, MasqctlError, require_choice

VALIDATE_FORMATS = ("text", "json", "github", "sarif")


def fail(message: str) -> int:
    """Print one error line to stderr and return exit code 2."""
    sys.stderr.write(f"masqctl: {message}\n")
    return EXIT_ERROR


def guarded(function, *args, **kwargs) -> int:  # type: ignore[no-untyped-def]
    """Run a command body: MasqctlError and any surprise become one line and exit 2."""
    try:
        return function(*args, **kwargs)
    except MasqctlError as error:
        return fail(str(error))
    except KeyboardInterrupt:
        return fail("interrupted")
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as error:
        return fail(f"internal error: {type(error).__name__}: {error}")


def run_validate(
    paths: list[str],
    *,
    output_format: str | None = None,
    strict: bool = False,
    enable_ipv6: bool = False,
    nomasq_all_reserved_ranges: bool = False,
    select: str = "",
    ignore: str = "",
    output_file: str | None = None,
    skip_unrelated: bool = False,
) -> int:
    """validate's whole job: read, check, print in the chosen format, return the exit code."""
    from masqctl.agent import AgentFlags
    from masqctl.errors import UsageError
    from masqctl.output import write_report
    from masqctl.validate import RuleFilter, parse_rule_list, validate_paths

    if output_format is None:
        output_format = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    require_choice("format", output_format, VALIDATE_FORMATS)
    rules = RuleFilter(parse_rule_list(select), parse_rule_list(ignore))
    flags = AgentFlags(
        enable_ipv6=enable_ipv6, nomasq_all_reserved_ranges=nomasq_all_reserved_ranges
    )
    if not paths:
        if sys.stdin.isatty():
            raise UsageError("validate: give files or directories to check, or - for stdin")
        paths = ["-"]
    report = validate_paths(paths, flags, rules, skip_unrelated)
    if output_file:
        try:
            with open(output_file, "w", encoding="utf-8") as stream:
                write_report(report, output_format, stream, color=False)
        except OSError as error:
            raise MasqctlError(f"{output_file}: cannot write: {error.strerror}") from None
    else:
        color = output_format == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        write_report(report, output_format, sys.stdout, color=color)
    return report.exit_code(strict)


def parse_plain_options(
    args: list[str],
    values: dict[str, str],
    switches: dict[str, tuple[str, object]],
    positional: str | None = None,
) -> dict[str, object] | None:
    """Options (and, under ``positional``, arguments) when they are plain enough to read
    without Typer: known names, ``--name value`` or ``--name=value``, no value that looks
    like an option.  None for anything else, which then goes to Typer."""
    options: dict[str, object] = {positional: []} if positional else {}
    index = 0
    while index < len(args):
        arg = args[index]
        name, has_value, value = arg.partition("=")
        if positional and (arg == "-" or not arg.startswith("-")):
            options[positional].append(arg)  # type: ignore[union-attr]
        elif positional and arg == "--":
            options[positional].extend(args[index + 1 :])  # type: ignore[union-attr]
            break
        elif name in switches and not has_value:
            key, setting = switches[name]
            options[key] = setting
        elif name in values and (name.startswith("--") or not has_value):
            if not has_value:
                index += 1
                if index >= len(args):
                    return None
                value = args[index]
            if value.startswith("-") and value != "-":
                return None  # an option where a value should be: Typer says what is wrong
            options[values[name]] = value
        else:
            return None  # --help, --list-checks, anything new: Typer handles it
        index += 1
    return options


_OUTPUT = {"--output": "output_format", "--format": "output_format", "-o": "output_format"}
_VALIDATE_VALUES = {
    **_OUTPUT,
    "--select": "select",
    "--ignore": "ignore",
    "--output-file": "output_file",
}
_VALIDATE_SWITCHES: dict[str, tuple[str, object]] = {
    "--strict": ("strict", True),
    "--enable-ipv6": ("enable_ipv6", True),
    "--nomasq-all-reserved-ranges": ("nomasq_all_reserved_ranges", True),
    "--skip-unrelated": ("skip_unrelated", True),
}
_APPLY_VALUES = {
    **_OUTPUT,
    "--config": "config",
    "-c": "config",
    "--backup": "backup",
    "--iptables-mode": "iptables_mode",
    "--masq-chain": "masq_chain",
    "--to-ports": "to_ports",
}
_APPLY_SWITCHES: dict[str, tuple[str, object]] = {
    "--dry-run": ("dry_run", True),
    "--remove": ("remove", True),
    "--nomasq-all-reserved-ranges": ("nomasq_all_reserved_ranges", True),
    "--enable-ipv6": ("enable_ipv6", True),
    "--random-fully": ("random_fully", True),
    "--no-random-fully": ("random_fully", False),
}


def parse_fast_validate(args: list[str]) -> dict[str, object] | None:
    """validate's arguments when they are plain enough for the fast path, else None."""
    return parse_plain_options(args, _VALIDATE_VALUES, _VALIDATE_SWITCHES, positional="paths")


def parse_fast_apply(args: list[str]) -> dict[str, object] | None:
    """apply's options when they are plain enough for the fast path, else None."""
    return parse_plain_options(args, _APPLY_VALUES, _APPLY_SWITCHES)


def run_apply_command(
    *,
    config: str | None = None,
    dry_run: bool = False,
    backup: str | None = None,
    remove: bool = False,
    output_format: str = "text",
    iptables_mode: str = "auto",
    masq_chain: str | None = None,
    nomasq_all_reserved_ranges: bool = False,
    enable_ipv6: bool = False,
    random_fully: bool = True,
    to_ports: str = "",
) -> int:
    """apply's whole job, for both the fast path and the Typer app: print, return the code."""
    from masqctl.agent import DEFAULT_CHAIN, AgentFlags
    from masqctl.apply import ApplyRequest, run_apply

    flags = AgentFlags(
        masq_chain=DEFAULT_CHAIN if masq_chain is None else masq_chain,
        nomasq_all_reserved_ranges=nomasq_all_reserved_ranges,
        enable_ipv6=enable_ipv6,
        random_fully=random_fully,
        to_ports=to_ports,
    )
    text, code = run_apply(
        ApplyRequest(config, flags, iptables_mode, dry_run, backup, remove, output_format)
    )
    sys.stdout.write(text)
    return code


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns (and exits with) the command's exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        sys.stdout.write(f"masqctl {__version__}\n")
        return 0
    if args[:1] == ["validate"] and "_MASQCTL_COMPLETE" not in os.environ:
        options = parse_fast_validate(args[1:])
        if options is not None:
            paths = options.pop("paths")
            code = guarded(run_validate, paths, **options)  # type: ignore[arg-type]
            sys.stdout.flush()
            return code
    if args[:1] == ["apply"] and "_MASQCTL_COMPLETE" not in os.environ:
        options = parse_fast_apply(args[1:])
        if options is not None:
            code = guarded(run_apply_command, **options)  # type: ignore[arg-type]
            sys.stdout.flush()
            return code
    from masqctl.cli import run_app

    return run_app(args)


def console_main() -> None:
    """``masqctl`` as installed: exit with the command's code."""
    sys.exit(main())
