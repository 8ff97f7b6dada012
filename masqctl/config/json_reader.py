"""JSON exactly as Go's encoding/json accepts it, with positions.

Python's ``json`` module accepts ``NaN`` and ``Infinity`` and reports no positions
for values; the agent parses any config whose first non-space byte is ``{`` with Go's
strict decoder, so this reader follows Go's grammar and Go's error wording.  Every node
also keeps its span in the text, so that one value can be replaced without reformatting
the rest (masqctl.render.json_source).
"""

from __future__ import annotations

import bisect
import re

from masqctl.config.nodes import BOOL, FLOAT, INT, MAP, NULL, SCALAR, SEQ, STR, DocumentError, Node

_WHITESPACE = " \t\n\r"
#: unicode.IsSpace, which apimachinery's ToJSON trims before looking for ``{``.
_GO_SPACE = (
    " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS = {"true": (BOOL, True), "false": (BOOL, False), "null": (NULL, None)}


def _quote_char(char: str) -> str:
    """How Go's decoder names an unexpected character in its messages."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    if char.isprintable() and char != "\\":
        return f"'{char}'"
    return "'" + char.encode("unicode_escape").decode("ascii") + "'"


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

    def skip_space(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        self.pos = pos

    def unexpected(self, context: str) -> DocumentError:
        if self.pos >= len(self.text):
            return self.fail("unexpected end of JSON input")
        return self.fail(f"invalid character {_quote_char(self.text[self.pos])} {context}")

    def value(self) -> Node:
        self.skip_space()
        if self.pos >= len(self.text):
            raise self.fail("unexpected end of JSON input")
        char = self.text[self.pos]
        if char == "{":
            return self.object()
        if char == "[":
            return self.array()
        if char == '"':
            return self.string()
        if char == "-" or (char.isdigit() and char.isascii()):
            return self.number()
        for word, (tag, value) in _LITERALS.items():
            if char == word[0]:
                return self.literal(word, tag, value)
        raise self.unexpected("looking for beginning of value")

    def literal(self, word: str, tag: str, value: object) -> Node:
        start = self.pos
        for index, expected in enumerate(word):
            offset = start + index
            if offset >= len(self.text):
                self.pos = offset
                raise self.fail("unexpected end of JSON input")
            if self.text[offset] != expected:
                self.pos = offset
                found = _quote_char(self.text[offset])
                raise self.fail(
                    f"invalid character {found} in literal {word} (expecting '{expected}')"
                )
        self.pos = start + len(word)
        line, column = self.position(start)
        return Node(SCALAR, value, line, column, tag=tag, raw=word, start=start, end=self.pos)

    def number(self) -> Node:
        start = self.pos
        match = _NUMBER.match(self.text, start)
        if match is None or match.end() == start:
            self.pos = start + 1
            raise self.unexpected("in numeric literal")
        raw = match.group(0)
        self.pos = match.end()
        line, column = self.position(start)
        end = self.pos
        if match.group(1) is None and match.group(2) is None:
            return Node(SCALAR, int(raw), line, column, tag=INT, raw=raw, start=start, end=end)
        return Node(SCALAR, float(raw), line, column, tag=FLOAT, raw=raw, start=start, end=end)

    def string(self) -> Node:
        start = self.pos
        text = self.text
        pos = start + 1
        chunks: list[str] = []
        while True:
            if pos >= len(text):
                self.pos = pos
                raise self.fail("unexpected end of JSON input")
            char = text[pos]
            if char == '"':
                break
            if char == "\\":
                escape = text[pos + 1 : pos + 2]
                if escape in _ESCAPES:
                    chunks.append(_ESCAPES[escape])
                    pos += 2
                    continue
                if escape == "u":
                    digits = text[pos + 2 : pos + 6]
                    if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
                        chunks.append(chr(int(digits, 16)))
                        pos += 6
                        continue
                self.pos = pos + 1
                raise self.unexpected("in string escape code")
            if ord(char) < 0x20:
                self.pos = pos
                raise self.unexpected("in string literal")
            chunks.append(char)
            pos += 1
        self.pos = pos + 1
        line, column = self.position(start)
        value = "".join(chunks)
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        raw = text[start + 1 : pos]
        return Node(
            SCALAR, value, line, column, tag=STR, raw=raw, quoted=True, start=start, end=pos + 1
        )

    def array(self) -> Node:
        line, column = self.position(self.pos)
        node = Node(SEQ, [], line, column, start=self.pos)
        self.pos += 1
        self.skip_space()
        if self.text[self.pos : self.pos + 1] == "]":
            self.pos += 1
            node.end = self.pos
            return node
        while True:
            node.value.append(self.value())
            self.skip_space()
            char = self.text[self.pos : self.pos + 1]
            if char == ",":
                self.pos += 1
                continue
            if char == "]":
                self.pos += 1
                node.end = self.pos
                return node
            raise self.unexpected("after array element")

    def object(self) -> Node:
        line, column = self.position(self.pos)
        node = Node(MAP, [], line, column, start=self.pos)
        self.pos += 1
        self.skip_space()
        if self.text[self.pos : self.pos + 1] == "}":
            self.pos += 1
            node.end = self.pos
            return node
        while True:
            self.skip_space()
            if self.text[self.pos : self.pos + 1] != '"':
                raise self.unexpected("looking for beginning of object key string")
            key = self.string()
            self.skip_space()
            if self.text[self.pos : self.pos + 1] != ":":
                raise self.unexpected("after object key")
            self.pos += 1
            node.value.append((key, self.value()))
            self.skip_space()
            char = self.text[self.pos : self.pos + 1]
            if char == ",":
                self.pos += 1
                continue
            if char == "}":
                self.pos += 1
                node.end = self.pos
                return node
            raise self.unexpected("after object key:value pair")


def read_json_document(text: str) -> Node:
    """The single JSON value of ``text``, or DocumentError with Go's message and position."""
    parser = _Parser(text)
    try:
        node = parser.value()
    except RecursionError:
        raise parser.fail("nested too deeply for masqctl to read") from None
    parser.skip_space()
    if parser.pos < len(text):
        raise parser.unexpected("after top-level value")
    return node


def starts_as_json(text: str) -> bool:
    """Whether the agent's ToJSON passes ``text`` through as JSON: first non-space is ``{``."""
    return text.lstrip(_GO_SPACE)[:1] == "{"
