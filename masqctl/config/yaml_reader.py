"""YAML documents as the agent's go-yaml v2 reads them, with positions.

PyYAML composes the node tree (YAML 1.1, with libyaml when available); plain scalars
are then resolved by go-yaml v2's own table, which differs from PyYAML's: ``y``/``n``
are booleans, ``1:20`` is not a number, ``08`` is the float 8, timestamps stay text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from masqctl.config.goparse import parse_int
from masqctl.config.nodes import (
    BOOL,
    FLOAT,
    INT,
    MAP,
    NULL,
    SCALAR,
    SEQ,
    STR,
    DocumentError,
    Node,
)

_RESOLVE_MAP: dict[str, tuple[str, Any]] = {}
for _words, _tag, _value in (
    ("y Y yes Yes YES true True TRUE on On ON", BOOL, True),
    ("n N no No NO false False FALSE off Off OFF", BOOL, False),
    ("~ null Null NULL", NULL, None),
    (".nan .NaN .NAN", FLOAT, math.nan),
    (".inf .Inf .INF +.inf +.Inf +.INF", FLOAT, math.inf),
    ("-.inf -.Inf -.INF", FLOAT, -math.inf),
):
    for _word in _words.split():
        _RESOLVE_MAP[_word] = (_tag, _value)
_RESOLVE_MAP[""] = (NULL, None)

_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
#: What strconv.ParseInt(s, 0, 64) can possibly accept (after go-yaml drops underscores).
_INT_LIKE = re.compile(r"[-+]?(?:0[xXoObB][0-9a-fA-F]+|[0-9]+)")


def resolve_plain(text: str) -> tuple[str, Any]:
    """go-yaml v2's resolve() for an untagged plain scalar: ``(tag, value)``."""
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    first = text[0]
    if first == ".":
        try:
            return FLOAT, float(text)
        except ValueError:
            return STR, text
    if first in "+-0123456789":
        plain = text.replace("_", "")
        number = parse_int(plain) if _INT_LIKE.fullmatch(plain) else None
        if number is not None:
            return INT, number
        if _YAML_STYLE_FLOAT.match(plain):
            value = float(plain)
            if math.isfinite(value):  # strconv.ParseFloat fails on overflow: a string
                return FLOAT, value
    return STR, text


def _loader() -> Any:
    """libyaml's composer (PyYAML's where libyaml is missing), without PyYAML's tag
    resolution: plain scalars are resolved afterwards by go-yaml's rules instead."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Composer(base):  # type: ignore[misc, valid-type]
        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            return ""

    return Composer


def _convert(node: Any, seen: dict[int, Node]) -> Node:
    """A PyYAML node as a :class:`Node` (aliases share the converted node)."""
    cached = seen.get(id(node))
    if cached is not None:
        return cached
    mark = node.start_mark
    line, column = mark.line + 1, mark.column + 1
    kind = type(node).__name__
    if kind == "ScalarNode":
        if node.tag in _EXPLICIT_TAGS:
            result = _tagged(node, _EXPLICIT_TAGS[node.tag], line, column)
        elif not node.style:  # plain (libyaml reports '' where PyYAML reports None)
            tag, value = resolve_plain(node.value)
            result = Node(SCALAR, value, line, column, tag=tag, raw=node.value)
        else:
            result = Node(SCALAR, node.value, line, column, tag=STR, raw=node.value, quoted=True)
            result.style = node.style
    elif kind == "SequenceNode":
        result = Node(SEQ, [], line, column)
        seen[id(node)] = result
        result.value.extend(_convert(item, seen) for item in node.value)
    else:
        result = Node(MAP, [], line, column)
        seen[id(node)] = result
        for key, value in node.value:
            key_node, value_node = _convert(key, seen), _convert(value, seen)
            if key_node.kind == SCALAR and key_node.raw == "<<" and not key_node.quoted:
                result.value.extend(_merged(value_node))
            else:
                result.value.append((key_node, value_node))
    seen[id(node)] = result
    return result


def _merged(value: Node) -> list[tuple[Node, Node]]:
    """The entries a ``<<`` merge key brings in (a mapping or a list of mappings).

    In a list the earlier mapping wins, so it comes last (the last entry wins).
    """
    sources = list(reversed(value.value)) if value.kind == SEQ else [value]
    return [pair for source in sources for pair in source.items()]


_EXPLICIT_TAGS = {
    "tag:yaml.org,2002:str": STR,
    "tag:yaml.org,2002:int": INT,
    "tag:yaml.org,2002:bool": BOOL,
    "tag:yaml.org,2002:float": FLOAT,
    "tag:yaml.org,2002:null": NULL,
}


def _tagged(node: Any, tag: str, line: int, column: int) -> Node:
    """A scalar with an explicit tag (``!!str 5``), resolved as go-yaml v2 does."""
    if tag == STR:
        return Node(SCALAR, node.value, line, column, tag=STR, raw=node.value, quoted=True)
    resolved, value = resolve_plain(node.value)
    if resolved == INT and tag == FLOAT:
        resolved, value = FLOAT, float(value)
    if resolved != tag:
        name = tag if tag != INT else "int"
        raise DocumentError(f"YAML: cannot decode `{node.value}` as a !!{name}", line, column)
    return Node(SCALAR, value, line, column, tag=tag, raw=node.value)


def _document_error(error: Exception) -> DocumentError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    message = f"YAML: {context}, {problem}" if context else f"YAML: {problem}"
    if mark is None:
        return DocumentError(message, 1, 1)
    return DocumentError(message, mark.line + 1, mark.column + 1)


def read_yaml_documents(text: str) -> Iterator[Node | None]:
    """Each document of a YAML stream (None for an empty one).

    Raises DocumentError at the first syntax error; documents before it are yielded.
    """
    import yaml

    try:
        for document in yaml.compose_all(text, Loader=_loader()):
            yield None if document is None else _convert(document, {})
    except yaml.YAMLError as error:
        raise _document_error(error) from None
    except RecursionError:
        raise DocumentError("YAML: nested too deeply for masqctl to read", 1, 1) from None
