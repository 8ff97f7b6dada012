"""The ``masqctl`` console entry point: every command on a fast path without Typer.

Typer alone costs several times Python's own start-up, so calls are parsed here from
the declarations in :mod:`masqctl.options`, and the command's runner is imported and
called directly.  Anything this parser does not read plainly (``--help``, shell
completion, an unknown option, a missing value) goes to the Typer app of
:mod:`masqctl.cli`, which is built from the same declarations and calls the same runner.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from masqctl import __version__
from masqctl.errors import EXIT_ERROR, InputError, MasqctlError

if TYPE_CHECKING:
    from masqctl.options import Command


def fail(message: str) -> int:
    """Print one error line to stderr and return exit code 2."""
    sys.stderr.write(f"masqctl: {message}\n")
    return EXIT_ERROR


def guarded(function: Callable[..., int], *args: object, **kwargs: object) -> int:
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


def defaults(command: Command) -> dict[str, object]:
    """Every keyword of ``command``'s runner with its default."""
    values: dict[str, object] = {option.dest: option.default for option in command.options}
    if command.arguments is not None:
        values[command.arguments.dest] = []
    return values


def parse_plain(command: Command, args: list[str]) -> dict[str, object] | None:
    """``command``'s keywords from ``args`` when they are plain enough to read without
    Typer: known spellings, ``--name value`` or ``--name=value``, no value that looks
    like an option.  None for anything else, which then goes to Typer."""
    from masqctl.options import MULTI, SWITCH, TOGGLE

    values = defaults(command)
    positional = command.arguments.dest if command.arguments is not None else None
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if positional and (arg == "-" or not arg.startswith("-")):
            values[positional].append(arg)  # type: ignore[attr-defined]
            continue
        if positional and arg == "--":
            values[positional].extend(args[index:])  # type: ignore[attr-defined]
            break
        name, has_value, value = arg.partition("=")
        option = command.option_named(name)
        if option is None:
            return None  # --help, anything unknown: Typer says what it is
        if option.kind in (SWITCH, TOGGLE):
            if has_value:
                return None
            values[option.dest] = name not in option.off_names
            continue
        if not has_value:
            if index >= len(args):
                return None
            value = args[index]
            index += 1
        elif not name.startswith("--"):
            return None  # -c=x: Typer reads it its own way
        if value.startswith("-") and value != "-":
            return None  # an option where a value should be: Typer says what is wrong
        if option.kind == MULTI:
            current = values[option.dest]
            values[option.dest] = [*(current or []), value]  # type: ignore[misc]
        else:
            values[option.dest] = value
    return values


def runner(command: Command) -> Callable[..., int]:
    """The function that runs ``command`` (imported on first use)."""
    module, _, function = command.runner.partition(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def run_command(command: Command, values: dict[str, object]) -> int:
    """Run ``command`` with its keywords; errors become one line and exit 2."""
    code = guarded(lambda: runner(command)(**values))
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return EXIT_ERROR
    return code


def print_version() -> int:
    """``masqctl --version``: the version line, flushed (a closed pipe is exit 2)."""
    sys.stdout.write(f"masqctl {__version__}\n")
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns (and exits with) the command's exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        return guarded(print_version)  # before the declarations: their dataclasses cost
    from masqctl.options import COMMANDS

    command = COMMANDS.get(args[0]) if args else None
    if command is not None and "_MASQCTL_COMPLETE" not in os.environ:
        values = parse_plain(command, args[1:])
        if values is not None:
            return run_command(command, values)
    from masqctl.cli import run_app

    return run_app(args)


class ClosedStdin:
    """``sys.stdin`` (and its ``buffer``) when masqctl started with stdin closed (``<&-``):
    a command that reads it says so in one line; the others never notice."""

    buffer: ClosedStdin

    def __init__(self) -> None:
        self.buffer = self

    def isatty(self) -> bool:
        return False

    def read(self, *_: object) -> str:
        raise InputError("cannot read stdin: it is closed")

    readline = read

    def __iter__(self) -> ClosedStdin:
        return self

    def __next__(self) -> str:
        return self.read()


def console_main() -> None:
    """``masqctl`` as installed: exit with the command's code.

    Bytes of an input that are not UTF-8 (a comment in a dump, kept as surrogate escapes
    as masqctl keeps iptables-save's own output) are printed back as they were, whatever
    error handler the locale gives stdout.
    """
    if sys.stderr is None:  # started with stderr closed (2>&-): the exit code still tells
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (open until exit)
    if sys.stdin is None:  # started with stdin closed (<&-)
        sys.stdin = ClosedStdin()  # type: ignore[assignment]
    if sys.stdout is None:  # started with stdout closed (>&-)
        sys.exit(fail("cannot write: stdout is closed"))
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="surrogateescape")
    sys.exit(main())
