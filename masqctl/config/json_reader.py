"""JSON exactly as Go's encoding/json accepts it, with positions.

Python's ``json`` module accepts ``NaN`` and ``Infinity`` and reports no positions
for values; the agent parses any config whose first non-space byte is ``{`` with Go's
strict decoder, so this reader follows Go's grammar, its nesting limit (10000) and its
error wording.  Bytes that are not UTF-8 reach it as surrogate escapes: in a string
Go reads each as U+FFFD, anywhere else it names the byte.  Every node also keeps its
span in the text, so that one value can be replaced without reformatting the rest
(masqctl.render.json_source).
"""

from __future__ import annotations

import bisect
import re

from masqctl.config.goparse import go_quote
from masqctl.config.nodes import BOOL, FLOAT, INT, MAP, NULL, SCALAR, SEQ, STR, DocumentError, Node

#: encoding/json's maxNestingDepth.
MAX_DEPTH = 10000
_WHITESPACE = re.compile("[ \t\n\r]*")
#: unicode.IsSpace, which apimachinery's ToJSON trims before looking for ``{``.
_GO_SPACE = (
    " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_DIGITS = re.compile("[0-9]*")
#: A run of string characters that stand for themselves.
_PLAIN_RUN = re.compile('[^"\\\\\x00-\x1f\udc80-\udcff]*')
_HEX = re.compile("[0-9a-fA-F]{4}")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS = {"t": ("true", BOOL, True), "f": ("false", BOOL, False), "n": ("null", NULL, None)}
_CLOSING = {MAP: "}", SEQ: "]"}


def _quote_char(char: str) -> str:
    """Go's quoteChar(): how its decoder names the byte it stopped at (the first byte of
    a multi-byte character, as a Latin-1 character: ``'Â'`` for a no-break space)."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    byte = char.encode("utf-8", "surrogateescape")[0]
    return "'" + go_quote(chr(byte))[1:-1] + "'"


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_starts = [0]
        self.line_starts.extend(m.end() for m in re.finditer("\n", text))

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def fail(self, message: str, offset: int | None = None) -> DocumentError:
        line, column = self.position(self.pos if offset is None else offset)
        return DocumentError(f"JSON: {message}", line, column)

    def skip_space(self) -> str:
        """Skip JSON whitespace; the next character ('' at the end)."""
        self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
        return self.text[self.pos : self.pos + 1]

    def unexpected(self, context: str, offset: int | None = None) -> DocumentError:
        """Go's error at ``offset``; at the end, Go's checkValid feeds its scanner a
        space, which a literal, a number or an escape refuses."""
        offset = self.pos if offset is None else offset
        if offset < len(self.text):
            return self.fail(
                f"invalid character {_quote_char(self.text[offset])} {context}", offset
            )
        if context.startswith(("in ", "after decimal")) and context != "in string literal":
            return self.fail(f"invalid character ' ' {context}", offset)
        return self.fail("unexpected end of JSON input", offset)

    def document(self) -> Node:
        """One JSON value, its containers kept on a stack (Go nests 10000 deep)."""
        stack: list[Node] = []
        keys: list[Node] = []
        while True:
            char = self.skip_space()
            if char == "{" or char == "[":
                if len(stack) >= MAX_DEPTH:
                    raise self.fail(f"invalid character '{char}' exceeded max depth")
                line, column = self.position(self.pos)
                node = Node(MAP if char == "{" else SEQ, [], line, column, start=self.pos)
                self.pos += 1
                if self.skip_space() != _CLOSING[node.kind]:
                    stack.append(node)
                    if node.kind == MAP:
                        keys.append(self.key())
                    continue
                self.pos += 1
                node.end = self.pos
                value = node
            else:
                value = self.scalar(char)
            # The value is complete: put it in its container, and close every container
            # that ends after it.
            while stack:
                parent = stack[-1]
                if parent.kind == MAP:
                    parent.value.append((keys.pop(), value))
                else:
                    parent.value.append(value)
                char = self.skip_space()
                if char == ",":
                    self.pos += 1
                    if parent.kind == MAP:
                        keys.append(self.key())
                    break
                if char != _CLOSING[parent.kind]:
                    raise self.unexpected(
                        "after object key:value pair"
                        if parent.kind == MAP
                        else "after array element"
                    )
                self.pos += 1
                parent.end = self.pos
                value = stack.pop()
            else:
                return value

    def key(self) -> Node:
        """An object key and its colon."""
        if self.skip_space() != '"':
            raise self.unexpected("looking for beginning of object key string")
        key = self.string()
        if self.skip_space() != ":":
            raise self.unexpected("after object key")
        self.pos += 1
        return key

    def scalar(self, char: str) -> Node:
        """The string, number or literal that ``char`` starts, or Go's error."""
        if char == '"':
            return self.string()
        if char == "-" or _is_digit(char):
            return self.number()
        if char in _LITERALS:
            return self.literal(*_LITERALS[char])
        raise self.unexpected("looking for beginning of value")

    def literal(self, word: str, tag: str, value: object) -> Node:
        """``true``, ``false`` or ``null``, or Go's error at its first wrong character."""
        start = self.pos
        for index, expected in enumerate(word):
            offset = start + index
            if self.text[offset : offset + 1] != expected:
                raise self.unexpected(f"in literal {word} (expecting '{expected}')", offset)
        self.pos = start + len(word)
        line, column = self.position(start)
        return Node(SCALAR, value, line, column, tag=tag, raw=word, start=start, end=self.pos)

    def digits_after(self, offset: int, context: str) -> int:
        """Where the digits from ``offset`` end: at least one, or Go's error."""
        if offset >= len(self.text) or not _is_digit(self.text[offset]):
            raise self.unexpected(context, offset)
        return _DIGITS.match(self.text, offset).end()  # type: ignore[union-attr]

    def number(self) -> Node:
        """Go's number states: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?"""
        text = self.text
        start = self.pos
        offset = start + (text[start] == "-")
        if text.startswith("0", offset):
            offset += 1
        else:
            offset = self.digits_after(offset, "in numeric literal")
        whole = offset
        if text.startswith(".", offset):
            offset = self.digits_after(offset + 1, "after decimal point in numeric literal")
        if text[offset : offset + 1] in ("e", "E"):
            offset += 1 + (text[offset + 1 : offset + 2] in ("+", "-"))
            offset = self.digits_after(offset, "in exponent of numeric literal")
        raw = text[start:offset]
        self.pos = offset
        line, column = self.position(start)
        if offset == whole:
            return Node(SCALAR, int(raw), line, column, tag=INT, raw=raw, start=start, end=offset)
        return Node(SCALAR, float(raw), line, column, tag=FLOAT, raw=raw, start=start, end=offset)

    def string(self) -> Node:
        """A string as Go unquotes it: a lone surrogate escape, or a byte that is not
        UTF-8, is U+FFFD."""
        text = self.text
        start = self.pos
        pos = start + 1
        chunks: list[str] = []
        while True:
            run = _PLAIN_RUN.match(text, pos).end()  # type: ignore[union-attr]
            chunks.append(text[pos:run])
            pos = run
            if pos >= len(text):
                raise self.fail("unexpected end of JSON input", pos)
            char = text[pos]
            if char == '"':
                break
            if char != "\\":
                if "\udc80" <= char <= "\udcff":  # a byte that was not UTF-8
                    chunks.append("\ufffd")
                    pos += 1
                    continue
                raise self.unexpected("in string literal", pos)
            escape = text[pos + 1 : pos + 2]
            if escape in _ESCAPES:
                chunks.append(_ESCAPES[escape])
                pos += 2
            elif escape == "u":
                code = self.hex4(pos + 2)
                pos += 6
                if 0xD800 <= code < 0xE000:
                    low = int(text[pos + 2 : pos + 6], 16) if _is_u_escape(text, pos) else 0
                    if code < 0xDC00 and 0xDC00 <= low < 0xE000:
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        pos += 6
                    else:
                        code = 0xFFFD
                chunks.append(chr(code))
            else:
                raise self.unexpected("in string escape code", pos + 1)
        self.pos = pos + 1
        line, column = self.position(start)
        return Node(
            SCALAR,
            "".join(chunks),
            line,
            column,
            tag=STR,
            raw=text[start + 1 : pos],
            quoted=True,
            start=start,
            end=pos + 1,
        )

    def hex4(self, offset: int) -> int:
        """The four hex digits of a ``\\u`` escape, or Go's error at the first bad one."""
        for index in range(offset, offset + 4):
            if index >= len(self.text) or self.text[index] not in "0123456789abcdefABCDEF":
                raise self.unexpected("in \\u hexadecimal character escape", index)
        return int(self.text[offset : offset + 4], 16)


def _is_u_escape(text: str, offset: int) -> bool:
    return (
        text.startswith("\\u", offset) and _HEX.fullmatch(text, offset + 2, offset + 6) is not None
    )


def read_json_document(text: str) -> Node:
    """The single JSON value of ``text``, or DocumentError with Go's message and position."""
    parser = _Parser(text)
    node = parser.document()
    if parser.skip_space():
        raise parser.unexpected("after top-level value")
    return node


def starts_as_json(text: str) -> bool:
    """Whether the agent's ToJSON passes ``text`` through as JSON: first non-space is ``{``."""
    return text.lstrip(_GO_SPACE)[:1] == "{"
