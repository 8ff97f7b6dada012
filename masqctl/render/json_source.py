"""JSON text with the position of every value, for editing a file without reformatting it.

A strict parser (what Go's encoding/json accepts: no comments, no trailing commas, no
NaN) that keeps, for every value, where it starts and ends in the text, so that one value
can be replaced by new text and every other byte of the file stays as it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

OBJECT = "object"
ARRAY = "array"
SCALAR = "scalar"

_WHITESPACE = " \t\n\r"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}


class JSONTextError(ValueError):
    """The text is not valid JSON; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.line = text.count("\n", 0, position) + 1
        self.column = position - (text.rfind("\n", 0, position) + 1) + 1
        self.message = message
        super().__init__(f"{self.line}:{self.column}: {message}")


@dataclass
class Member:
    """One ``"key": value`` of an object; ``colon`` is the text between key and value."""

    key: str
    node: Node
    colon: str


@dataclass
class Node:
    """A value and its span ``text[start:end]``; members or items for objects and arrays."""

    kind: str
    start: int
    end: int
    value: Any = None
    members: list[Member] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)

    def get(self, key: str, *, fold: bool = False) -> Node | None:
        """An object member's value, or None.

        ``fold=True`` reads like Go's encoding/json decoding into a struct field: keys match
        case-insensitively and the last match wins.  Otherwise the first exact match wins,
        as buger/jsonparser (which the Windows plugins use for policies) finds it.
        """
        if self.kind != OBJECT:
            return None
        if fold:
            wanted = key.lower()
            matches = [m.node for m in self.members if m.key.lower() == wanted]
            return matches[-1] if matches else None
        return next((m.node for m in self.members if m.key == key), None)

    def python(self) -> Any:
        """The plain Python value (objects as dicts in the file's key order)."""
        if self.kind == OBJECT:
            return {member.key: member.node.python() for member in self.members}
        if self.kind == ARRAY:
            return [item.python() for item in self.items]
        return self.value


def parse(text: str) -> Node:
    """The whole document; JSONTextError with line and column where it is not JSON."""
    parser = _Parser(text)
    root = parser.value(parser.skip(0))
    end = parser.skip(root.end)
    if end != len(text):
        raise JSONTextError("unexpected text after the top-level value", text, end)
    return root


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text

    def skip(self, position: int) -> int:
        text = self.text
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        return position

    def fail(self, message: str, position: int) -> JSONTextError:
        if position >= len(self.text):
            return JSONTextError("unexpected end of JSON input", self.text, position)
        return JSONTextError(f"{message}, found {self.text[position]!r}", self.text, position)

    def value(self, position: int) -> Node:
        text = self.text
        char = text[position : position + 1]
        if char == "{":
            return self.object(position)
        if char == "[":
            return self.array(position)
        if char == '"':
            string, end = self.string(position)
            return Node(SCALAR, position, end, string)
        number = _NUMBER.match(text, position)
        if number:
            literal = number.group()
            parsed = float(literal) if any(c in literal for c in ".eE") else int(literal)
            return Node(SCALAR, position, number.end(), parsed)
        for word, literal_value in _LITERALS.items():
            if text.startswith(word, position):
                return Node(SCALAR, position, position + len(word), literal_value)
        raise self.fail("expected a value", position)

    def string(self, position: int) -> tuple[str, int]:
        try:
            return json.decoder.scanstring(self.text, position + 1, True)
        except json.JSONDecodeError as error:
            message = error.msg.removesuffix(" at").removesuffix(" starting").lower()
            raise self.fail(message, error.pos) from None

    def object(self, start: int) -> Node:
        node = Node(OBJECT, start, start)
        position = self.skip(start + 1)
        if self.text[position : position + 1] == "}":
            node.end = position + 1
            return node
        while True:
            if self.text[position : position + 1] != '"':
                raise self.fail("expected a string key", position)
            key, key_end = self.string(position)
            colon_at = self.skip(key_end)
            if self.text[colon_at : colon_at + 1] != ":":
                raise self.fail("expected ':' after the key", colon_at)
            value_at = self.skip(colon_at + 1)
            child = self.value(value_at)
            node.members.append(Member(key, child, self.text[key_end:value_at]))
            position = self.skip(child.end)
            char = self.text[position : position + 1]
            if char == "}":
                node.end = position + 1
                return node
            if char != ",":
                raise self.fail("expected ',' or '}' in the object", position)
            position = self.skip(position + 1)

    def array(self, start: int) -> Node:
        node = Node(ARRAY, start, start)
        position = self.skip(start + 1)
        if self.text[position : position + 1] == "]":
            node.end = position + 1
            return node
        while True:
            child = self.value(position)
            node.items.append(child)
            position = self.skip(child.end)
            char = self.text[position : position + 1]
            if char == "]":
                node.end = position + 1
                return node
            if char != ",":
                raise self.fail("expected ',' or ']' in the array", position)
            position = self.skip(position + 1)


def line_indent(text: str, position: int) -> str:
    """The whitespace that starts the line holding ``position``."""
    line_start = text.rfind("\n", 0, position) + 1
    end = line_start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[line_start:end]


def newline_of(text: str) -> str:
    """The file's line ending (CRLF for files written on Windows)."""
    return "\r\n" if "\r\n" in text else "\n"


def indent_unit(text: str) -> str:
    """One level of the file's indentation: the first indented line's, else two spaces."""
    match = re.search(r"\n([ \t]+)\S", text)
    return match.group(1) if match else "  "


def inline_separator(text: str) -> str:
    """What separates items written on one line: ``", "``, or ``","`` in a compact file."""
    return ", " if re.search(r",[ \t]", text) or "\n" in text else ","


def array_text(text: str, node: Node, items: list[str]) -> str:
    """New text for the array ``node`` holding ``items`` (JSON texts), laid out as it was.

    The old array's own spacing is reused: what stood after ``[``, between two items and
    before ``]``.  An array that was empty is laid out one level deeper than its line when
    the file is indented, on one line otherwise.
    """
    if not items:
        return "[]"
    old = node.items
    if old:
        opening = text[node.start + 1 : old[0].start]
        closing = text[old[-1].end : node.end - 1]
        if len(old) > 1:
            separator = text[old[0].end : old[1].start]
        else:
            separator = "," + opening if "\n" in opening else inline_separator(text)
    elif "\n" in text:
        newline, outer = newline_of(text), line_indent(text, node.start)
        inner = outer + indent_unit(text)
        opening, separator, closing = newline + inner, "," + newline + inner, newline + outer
    else:
        opening, separator, closing = "", inline_separator(text), ""
    return "[" + opening + separator.join(items) + closing + "]"


def value_text(text: str, value: Any, indent: str | None, colon: str) -> str:
    """``value`` as JSON in the file's style: on one line when ``indent`` is None, else
    indented by the file's unit and continued at ``indent`` on each following line."""
    if indent is None:
        return json.dumps(value, separators=(inline_separator(text), colon))
    dumped = json.dumps(value, indent=indent_unit(text), separators=(",", colon))
    return dumped.replace("\n", newline_of(text) + indent)
