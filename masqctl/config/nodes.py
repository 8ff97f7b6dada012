"""A document tree whose every value remembers its line and column.

Both readers (YAML as go-yaml v2 resolves it, JSON as Go's encoding/json parses it)
produce this tree, so the agent's decoding rules are written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAP = "map"
SEQ = "seq"
SCALAR = "scalar"

# Scalar tags, named after the JSON value the agent's decoder sees.
STR = "string"
INT = "number"
FLOAT = "float"
BOOL = "bool"
NULL = "null"


@dataclass(slots=True)
class Node:
    """One value of a document: a mapping, a sequence or a scalar.

    ``line`` and ``column`` are 1-based.  For a mapping, ``value`` is a list of
    ``(key, value)`` node pairs in document order; for a sequence, a list of nodes;
    for a scalar, the Python value (str, int, float, bool or None) and ``tag`` says
    which JSON type the agent's decoder receives.  ``raw`` is the scalar's source text
    (a JSON number exactly as written, which Go's messages quote).  The JSON reader also
    records where each value stands: ``text[start:end]`` is its source text, quotes and
    brackets included (the YAML reader leaves both 0).
    """

    kind: str
    value: Any
    line: int
    column: int
    tag: str = ""
    raw: str = ""
    quoted: bool = False
    #: The YAML style of a quoted or block scalar: '"', "'", "|" or ">".
    style: str | None = None
    start: int = 0
    end: int = 0

    def items(self) -> list[tuple[Node, Node]]:
        """The key/value pairs of a mapping node (empty for other kinds)."""
        return self.value if self.kind == MAP else []

    def get(self, key: str) -> Node | None:
        """The value of the last entry whose key is exactly ``key`` (the last one wins)."""
        found = None
        for key_node, value_node in self.items():
            if key_node.kind == SCALAR and key_node.value == key:
                found = value_node
        return found

    def describe(self) -> str:
        """The JSON type name Go's decoder would report for this node."""
        if self.kind == MAP:
            return "object"
        if self.kind == SEQ:
            return "array"
        return {FLOAT: "number", INT: "number"}.get(self.tag, self.tag)

    def plain(self) -> Any:
        """The node as plain Python data (mappings keyed by their string keys)."""
        if self.kind == MAP:
            return {str(key.value): value.plain() for key, value in self.value}
        if self.kind == SEQ:
            return [item.plain() for item in self.value]
        return self.value


class DocumentError(Exception):
    """A document could not be parsed; carries the 1-based position of the fault."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def children(node: Node) -> list[Node]:
    """The nodes directly below: each key and value of a mapping, each item of a sequence."""
    if node.kind == MAP:
        return [part for pair in node.value for part in pair]
    return node.value if node.kind == SEQ else []


def descendants(node: Node) -> list[Node]:
    """The node and every node below it, in document order (no recursion: a config may
    nest 10000 deep)."""
    found: list[Node] = []
    pending = [node]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(reversed(children(current)))
    return found


def nesting_depth(node: Node) -> int:
    """How many collections deep the tree goes (0 for a scalar)."""
    depth = 0
    level = [node]
    while any(current.kind != SCALAR for current in level):
        depth += 1
        level = [child for current in level for child in children(current)]
    return depth
