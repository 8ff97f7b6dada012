"""Editing JSON text without reformatting it: new text for one value, in the file's style.

The document is read by masqctl.config.json_reader (Go's encoding/json grammar and error
wording), whose nodes know their span ``text[node.start:node.end]``; these helpers find
members and lay out replacement text so that every other byte of the file stays as it was.
"""

from __future__ import annotations

import json
import re
from typing import Any

from masqctl.config.nodes import MAP, Node


def member(node: Node, key: str, *, fold: bool = False) -> Node | None:
    """An object member's value, or None (also when ``node`` is not an object).

    ``fold=True`` reads like Go's encoding/json decoding into a struct field: keys match
    case-insensitively and the last match wins.  Otherwise the first exact match wins,
    as buger/jsonparser (which the Windows plugins use for policies) finds it.
    """
    if node.kind != MAP:
        return None
    if fold:
        wanted = key.lower()
        matches = [value for name, value in node.value if name.value.lower() == wanted]
        return matches[-1] if matches else None
    return next((value for name, value in node.value if name.value == key), None)


def key_separator(text: str, node: Node) -> str:
    """What separates a key from its value in the object ``node``: its first member's
    colon with the spacing around it, else ``": "``."""
    if node.kind != MAP or not node.value:
        return ": "
    name, value = node.value[0]
    return text[name.end : value.start]


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
    old = node.value
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
