"""The exceptions masqctl turns into one line on stderr and a documented exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_NO = 1
EXIT_ERROR = 2


class MasqctlError(Exception):
    """The command could not do its job (exit 2); the message is shown as it is."""

    exit_code = EXIT_ERROR
    #: Why, as one stable word for machines (metrics, the fleet report).
    reason = "error"


class InputError(MasqctlError):
    """An input file or stream could not be read."""

    reason = "unreadable_input"


class UsageError(MasqctlError):
    """An option or argument is not valid."""

    reason = "usage"


def require_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    """UsageError ``unknown WHAT 'value' (choose from ...)`` unless ``value`` is a choice."""
    if value not in choices:
        raise UsageError(f"unknown {what} {value!r} (choose from {', '.join(choices)})")


#: The output choices of diff, apply and explain.
TEXT_OR_JSON = ("text", "json")
