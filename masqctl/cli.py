"""The Typer app, built from :mod:`masqctl.options`: help, completion, usage errors.

Each command is a function whose signature is made from its declaration, so Typer
reads exactly the options the fast parser reads, and calls the same runner.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import typer

from masqctl import __version__
from masqctl.entry import run_command
from masqctl.options import COMMANDS, MULTI, SWITCH, TOGGLE, Command, Option

app = typer.Typer(
    name="masqctl",
    help="Validate, render, diff, apply and explain ip-masq-agent configs, exactly as the "
    "agent reads them.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"masqctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_callback(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """masqctl: the operator's toolkit for the Kubernetes ip-masq-agent."""


_ANNOTATIONS: dict[str, Any] = {
    SWITCH: bool,
    TOGGLE: bool | None,
    MULTI: list[str] | None,
}


def _parameter(option: Option) -> inspect.Parameter:
    names = option.names
    if option.kind == TOGGLE:
        names = ("/".join((names[0], option.off_names[0])), *names[1:])
    extra = {"metavar": option.metavar} if option.metavar else {}
    return inspect.Parameter(
        option.dest,
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(option.default, *names, help=option.help, **extra),
        annotation=_ANNOTATIONS.get(option.kind, str | None),
    )


def _typer_function(command: Command) -> Any:
    """A function Typer can read: ``command``'s signature, calling its runner."""

    def call(**values: object) -> None:
        if command.arguments is not None:
            values[command.arguments.dest] = values[command.arguments.dest] or []
        raise typer.Exit(run_command(command, values))

    parameters = [_parameter(option) for option in command.options]
    if command.arguments is not None:
        parameters.insert(
            0,
            inspect.Parameter(
                command.arguments.dest,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Argument(
                    None, help=command.arguments.help, metavar=f"{command.arguments.metavar}..."
                ),
                annotation=list[str] | None,
            ),
        )
    call.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    call.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    call.__doc__ = command.help
    call.__name__ = command.name
    return call


for _command in COMMANDS.values():
    app.command(_command.name, help=_command.help)(_typer_function(_command))


def run_app(args: list[str]) -> int:
    """Run the Typer app on ``args``; returns the exit code instead of exiting."""
    if "_MASQCTL_COMPLETE" in os.environ:
        from typer import rich_utils

        # zsh and fish read one candidate a line: Typer must not wrap a description
        # at the terminal's width (fish took the rest of it for candidates of their own)
        rich_utils.MAX_WIDTH = 100_000
    try:
        app(args=args, prog_name="masqctl", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0
