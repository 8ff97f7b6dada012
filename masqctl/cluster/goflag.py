"""Go's ``flag`` package, as an agent's ``flag.Parse()`` reads its command line.

Rules (Go's flag.go ``parseOne``, checked by running Go): ``-name=value`` and
``--name=value`` are the same; a flag that is not a bool takes the next argument
whatever it looks like (``--masq-chain --v=2`` sets the chain to ``--v=2``); a bool flag
never takes a separate value, so in ``--enable-ipv6 false`` the word ``false`` is the first
non-flag argument, and parsing **stops** at it: every later argument is ignored.  ``--``
alone is consumed and stops parsing too; ``-`` alone is a non-flag.  The last of repeated
flags wins.  An undefined ``-h``/``-help`` prints the usage and exits; any other error
exits with status 2 and one of Go's messages, exactly as :class:`FlagError` holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from masqctl.config.goparse import UINT64_MAX, go_quote

#: Flag kinds and how Go parses their values: ``bool`` (strconv.ParseBool, no separate
#: value), ``int`` and ``uint`` (strconv.ParseInt/ParseUint with base 0, 64 bits),
#: ``klog-level`` and ``glog-level`` (the logging libraries' ``-v``, a Level: klog/v2's
#: Set is strconv.ParseInt(value, 10, 32), glog's strconv.Atoi kept as an int32),
#: ``string`` and ``value`` (a flag.Value whose own checks masqctl does not repeat).
BOOL = "bool"
INT = "int"
UINT = "uint"
KLOG_LEVEL = "klog-level"
GLOG_LEVEL = "glog-level"

#: What strconv.ParseBool accepts.
GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")

HELP_NAMES = ("h", "help")

#: Kinds of FlagError.
UNDEFINED = "undefined"
HELP = "help"
SYNTAX = "syntax"
BAD_VALUE = "bad-value"
MISSING_VALUE = "missing-value"

Where = TypeVar("Where")


@dataclass(frozen=True)
class Argument(Generic[Where]):
    """One argument of the command line, and where the caller found it."""

    text: str
    where: Where


@dataclass(frozen=True)
class ParsedFlag(Generic[Where]):
    """A flag as the agent holds it after parsing (the last occurrence)."""

    name: str
    kind: str
    #: None when the text is not known (see parse_flags' ``unknown``).
    value: object
    #: The text Set received (``true`` for a bare bool flag).
    text: str
    #: The flag itself (``--masq-chain`` or ``--masq-chain=X``).
    argument: Argument[Where]
    #: The separate value (``X`` of ``--masq-chain X``), if it took one.
    value_argument: Argument[Where] | None = None


@dataclass(frozen=True)
class FlagError(Generic[Where]):
    """Why flag.Parse gives up: Go's message, and the argument that caused it."""

    kind: str
    message: str
    name: str
    argument: Argument[Where]


@dataclass
class FlagParse(Generic[Where]):
    """The outcome of flag.Parse over an argument list."""

    flags: dict[str, ParsedFlag[Where]] = field(default_factory=dict)
    #: The error that makes the agent exit (parsing stops at the first).
    error: FlagError[Where] | None = None
    #: The first non-flag argument, where parsing stopped (None: it did not stop early).
    positional: Argument[Where] | None = None
    #: The ``--`` that ended parsing, if one did.
    terminator: Argument[Where] | None = None
    #: The last flag parsed: the one right before where parsing stopped.
    last: ParsedFlag[Where] | None = None
    #: Every argument after the stop, which the agent never looks at.
    ignored: list[Argument[Where]] = field(default_factory=list)


def parse_flags(
    arguments: Sequence[Argument[Where]],
    defined: Mapping[str, str],
    unknown: Callable[[Argument[Where]], bool] = lambda argument: False,
) -> FlagParse[Where]:
    """Go's FlagSet.Parse over ``arguments`` (argv[1:]) with ``defined`` flags (name →
    kind).  A value that fails its flag's check in an argument masqctl does not know as
    the agent will (``unknown``: a ``$(VAR)`` only the node resolves) is taken, with the
    value None, and parsing goes on."""
    result: FlagParse[Where] = FlagParse()
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        text = argument.text
        if len(text) < 2 or text[0] != "-":
            result.positional = argument
            result.ignored = list(arguments[index + 1 :])
            return result
        dashes = 2 if text[1] == "-" else 1
        if text == "--":
            result.terminator = argument
            result.ignored = list(arguments[index + 1 :])
            return result
        name = text[dashes:]
        if not name or name[0] in "-=":
            result.error = FlagError(SYNTAX, f"bad flag syntax: {text}", name, argument)
            return result
        index += 1
        value: str | None = None
        if "=" in name[1:]:
            name, value = name.split("=", 1)
        kind = defined.get(name)
        if kind is None:
            if name in HELP_NAMES:
                result.error = FlagError(HELP, "flag: help requested", name, argument)
            else:
                message = f"flag provided but not defined: -{name}"
                result.error = FlagError(UNDEFINED, message, name, argument)
            return result
        value_argument = None
        if kind == BOOL:
            value = "true" if value is None else value
            parsed = parse_bool(value)
            if parsed is None and not unknown(argument):
                message = f"invalid boolean value {go_quote(value)} for -{name}: parse error"
                result.error = FlagError(BAD_VALUE, message, name, argument)
                return result
        else:
            if value is None:
                if index == len(arguments):
                    message = f"flag needs an argument: -{name}"
                    result.error = FlagError(MISSING_VALUE, message, name, argument)
                    return result
                value_argument = arguments[index]
                value = value_argument.text
                index += 1
            try:
                parsed = flag_value(kind, value)
            except ValueError as error:
                if unknown(value_argument or argument):
                    parsed = None
                else:
                    message = f"invalid value {go_quote(value)} for flag -{name}: {error}"
                    result.error = FlagError(BAD_VALUE, message, name, value_argument or argument)
                    return result
        result.last = ParsedFlag(name, kind, parsed, value, argument, value_argument)
        result.flags[name] = result.last
    return result


def parse_bool(text: str) -> bool | None:
    """strconv.ParseBool, None where it fails."""
    if text in GO_TRUE:
        return True
    if text in GO_FALSE:
        return False
    return None


def flag_value(kind: str, text: str) -> object:
    """The value a flag of ``kind`` (not bool) holds after Set(text); ValueError with
    Go's reason (``parse error``, ``value out of range``)."""
    if kind == INT:
        return parse_go_int(text)
    if kind == UINT:
        return parse_go_uint(text)
    if kind == KLOG_LEVEL:
        return parse_decimal(text, "ParseInt", 32)
    if kind == GLOG_LEVEL:
        return _int32(parse_decimal(text, "Atoi", 64))
    return text


def parse_decimal(text: str, func: str, bits: int) -> int:
    """strconv.ParseInt(text, 10, bits) (``func`` "ParseInt"), or strconv.Atoi on 64-bit
    Linux (``func`` "Atoi", 64 bits): an optional sign and ASCII digits only.  A flag.Value
    returns strconv's error as it is, so ValueError holds Go's whole NumError text
    (``strconv.Atoi: parsing "abc": invalid syntax``)."""
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not all("0" <= char <= "9" for char in digits):
        raise ValueError(f"strconv.{func}: parsing {go_quote(text)}: invalid syntax")
    number = -int(digits) if text[0] == "-" else int(digits)
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise ValueError(f"strconv.{func}: parsing {go_quote(text)}: value out of range")
    return number


def _int32(number: int) -> int:
    """Go's int32(number): the low 32 bits, as a signed number."""
    return (number + 2**31) % 2**32 - 2**31


_PARSE_ERROR = "parse error"
_RANGE_ERROR = "value out of range"


def parse_go_uint(text: str) -> int:
    """strconv.ParseUint(text, 0, 64) as flag.Uint64 sees it; ValueError("parse error")
    or ValueError("value out of range")."""
    if not text:
        raise ValueError(_PARSE_ERROR)
    body, base = text, 10
    if text[0] == "0":
        prefix = text[1:2].lower()
        if len(text) >= 3 and prefix in ("b", "o", "x"):
            base, body = {"b": 2, "o": 8, "x": 16}[prefix], text[2:]
        else:
            base, body = 8, text[1:]
    maximum = UINT64_MAX
    number = 0
    underscores = False
    for char in body:
        if char == "_":
            underscores = True
            continue
        digit = _digit(char)
        if digit is None or digit >= base:
            raise ValueError(_PARSE_ERROR)
        number = number * base + digit
        if number > maximum:
            raise ValueError(_RANGE_ERROR)
    if underscores and not _underscores_ok(text):
        raise ValueError(_PARSE_ERROR)
    return number


def parse_go_int(text: str) -> int:
    """strconv.ParseInt(text, 0, 64), as flag.Int sees it on 64-bit Linux (errors as
    parse_go_uint)."""
    if not text:
        raise ValueError(_PARSE_ERROR)
    negative = text[0] == "-"
    body = text[1:] if text[0] in "+-" else text
    try:
        magnitude = parse_go_uint(body)
    except ValueError as error:
        if str(error) != _RANGE_ERROR:
            raise
        magnitude = UINT64_MAX
    cutoff = 1 << 63
    if magnitude > cutoff or (magnitude == cutoff and not negative):
        raise ValueError(_RANGE_ERROR)
    return -magnitude if negative else magnitude


def _digit(char: str) -> int | None:
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    lowered = char.lower()
    if "a" <= lowered <= "z" and char.isascii():
        return ord(lowered) - ord("a") + 10
    return None


def _underscores_ok(text: str) -> bool:
    """strconv's underscoreOK for text whose other characters are digits: underscores only
    between digits, or right after a base prefix."""
    body = text[1:] if text[:1] in "+-" else text
    prefixed = len(body) >= 2 and body[0] == "0" and body[1].lower() in "box"
    digits = body[2:] if prefixed else body
    return "__" not in digits and not digits.endswith("_") and (prefixed or digits[:1] != "_")
