"""YAML documents as the agent's go-yaml v2 reads them, with positions.

libyaml (through PyYAML's event parser) scans the text; the tree is then built in
go-yaml v2's own two steps, with go-yaml's rules where libyaml 0.2 differs:

- parsing (go-yaml's parser): the node tree, refusing what go-yaml refuses and libyaml
  accepts: ``%YAML`` other than 1.1, the ``\\/`` escape, more than 10000 nested flow or
  block collections (libyaml's own limit, 1000, is lifted), aliases of unknown anchors
  (an anchor given twice names its last node);
- decoding into ``interface{}`` (go-yaml's decode.go, in its order): go-yaml's resolve
  table (``y``/``n`` are booleans, ``1:20`` is text, ``08`` is the float 8, ``1e400``
  and timestamps stay text), explicit tags (an unknown tag makes text), ``!!binary``,
  ``<<`` merge keys, alias expansion with go-yaml's "excessive aliasing" limit,
  anchors that contain themselves, collections as keys.

A document whose JSON (what the agent's ToJSON makes of it) nests deeper than
encoding/json's 10000 levels is refused as the agent's json.Unmarshal refuses it.
Errors carry go-yaml's own text, ``yaml: line 3: found unknown escape character``.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from masqctl.config.goparse import (
    INT64_MAX,
    INT64_MIN,
    go_base64_decode,
    go_bool,
    go_format_g,
    go_parse_float,
    go_quote,
    go_string,
    parse_int,
)
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

#: go-yaml's max_flow_level and max_indents; encoding/json's maxNestingDepth.
MAX_DEPTH = 10000
#: libyaml's own nesting limit, and what it is lifted to for a text long enough to pass
#: it (go-yaml's limits are checked here).
_LIBYAML_DEFAULT_NESTING = 1000
_LIBYAML_NESTING = 1_000_000

_LONG = "tag:yaml.org,2002:"
_BINARY = _LONG + "binary"
_MERGE = _LONG + "merge"
_TIMESTAMP = _LONG + "timestamp"
#: go-yaml's resolvableTag() (the empty tag aside): tags it resolves the text against.
_RESOLVABLE = {_LONG + name for name in ("str", "bool", "int", "float", "null", "timestamp")}
#: go-yaml's short tag of a resolved value -> the JSON type the agent's decoder sees.
_KIND = {
    "!!str": STR,
    "!!int": INT,
    "!!float": FLOAT,
    "!!bool": BOOL,
    "!!null": NULL,
    "!!timestamp": STR,  # decoded into interface{}, a timestamp is its text
}

_RESOLVE_MAP: dict[str, tuple[str, Any]] = {}
for _words, _tag, _value in (
    ("y Y yes Yes YES true True TRUE on On ON", "!!bool", True),
    ("n N no No NO false False FALSE off Off OFF", "!!bool", False),
    ("~ null Null NULL", "!!null", None),
    (".nan .NaN .NAN", "!!float", math.nan),
    (".inf .Inf .INF +.inf +.Inf +.INF", "!!float", math.inf),
    ("-.inf -.Inf -.INF", "!!float", -math.inf),
):
    for _word in _words.split():
        _RESOLVE_MAP[_word] = (_tag, _value)
_RESOLVE_MAP[""] = ("!!null", None)

_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
#: What strconv.ParseInt(s, 0, 64) can possibly accept (after go-yaml drops underscores).
_INT_LIKE = re.compile(r"[-+]?(?:0[xXoObB][0-9a-fA-F]+|[0-9]+)")
_SIGN_OR_DIGIT = frozenset("+-0123456789")
#: The layouts go-yaml tries for a timestamp, as time.Parse reads them.
_TIMESTAMP_TEXT = (
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"(?:(?:[Tt]|(?P<space> ))(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{1,2})"
    r":(?P<second>[0-9]{1,2})(?:[.,][0-9]+)?"
    r"(?P<zone>Z|[+-](?P<zone_hour>[0-9]{2}):(?P<zone_minute>[0-9]{2}))?)?"
)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _go_resolve(text: str, tag: str = "") -> tuple[str, Any]:
    """go-yaml v2's resolve() for what ``text`` looks like: ``(short tag, value)``."""
    item = _RESOLVE_MAP.get(text)
    if item is not None:
        return item
    first = text[0]
    if first == ".":
        number = go_parse_float(text)
        if number is not None:
            return "!!float", number
    elif first in _SIGN_OR_DIGIT:
        if tag == _TIMESTAMP and _is_timestamp(text):
            return "!!timestamp", text
        plain = text.replace("_", "")
        if _INT_LIKE.fullmatch(plain):
            number = parse_int(plain)
            if number is not None:
                return "!!int", number
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            number = go_parse_float(plain)
            if number is not None:
                return "!!float", number
    return "!!str", text


def resolve_plain(text: str) -> tuple[str, Any]:
    """go-yaml v2's resolve() for an untagged plain scalar: ``(tag, value)``."""
    if "/" in text:  # a CIDR: no number, timestamp or resolve-map word holds a slash
        return STR, text
    short_tag, value = _go_resolve(text)
    return _KIND[short_tag], value


def _is_timestamp(text: str) -> bool:
    """go-yaml's parseTimestamp(): one of its layouts, with time.Parse's range checks
    (a time after ``T`` needs a zone, one after a space has none)."""
    match = re.fullmatch(_TIMESTAMP_TEXT, text)
    if match is None or (
        match["hour"] is not None and (match["space"] is None) != bool(match["zone"])
    ):
        return False
    number = {
        name: int(part or 0)
        for name, part in match.groupdict().items()
        if name != "zone" and name != "space"
    }
    month, year = number["month"], number["year"]
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return (
        1 <= month <= 12
        and 1 <= number["day"] <= _DAYS_IN_MONTH[month - 1] + leap
        and number["hour"] < 24
        and number["minute"] < 60
        and number["second"] < 60
        and number["zone_hour"] <= 24
        and number["zone_minute"] <= 60
    )


def _go_message(
    problem: str, problem_line: int = 0, scanner: bool = False, context_line: int = 0
) -> str:
    """go-yaml's parser.fail(): ``yaml: line N: problem``, N as go-yaml counts it from
    the 0-based lines of the marks (a scanner error's line is one on, a parser error's not)."""
    line = problem_line + scanner if problem_line else context_line
    return f"yaml: line {line}: {problem}" if line else f"yaml: {problem}"


def _line_column(text: str, index: int) -> tuple[int, int]:
    """The 0-based line and column of ``text[index]``, counting YAML's line breaks."""
    line, start = 0, 0
    for match in _LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, match.end()
    return line, index - start


class _Raw:
    """A collection or an alias of go-yaml's parse tree, before decoding: the event that
    made it, and its children (a collection) or the node it names (an alias).  A scalar
    is its ScalarEvent."""

    __slots__ = ("anchored", "block", "children", "event", "kind", "target")

    def __init__(self, kind: str, event: Any) -> None:
        self.kind = kind
        self.event = event
        self.children: list[Any] = []
        self.target: Any = None
        self.anchored = False
        self.block = False


_ALIAS = "alias"


def _event(node: Any) -> Any:
    return node.event if node.__class__ is _Raw else node


def _kind(node: Any) -> str:
    return node.kind if node.__class__ is _Raw else SCALAR


def _position(event: Any) -> tuple[int, int]:
    mark = event.start_mark
    return mark.line + 1, mark.column + 1


def _depth_error(event: Any) -> DocumentError:
    line = event.start_mark.line
    message = _go_message(f"exceeded max depth of {MAX_DEPTH}", line, scanner=True)
    return DocumentError(message, *_position(event))


def _check_escapes(event: Any, text: str) -> None:
    """go-yaml knows no ``\\/`` escape in double quotes (libyaml 0.2 does)."""
    start = event.start_mark.index
    body = text[start : event.end_mark.index]
    if "\\/" not in body:
        return
    index = body.index('"') + 1  # properties (an anchor, a tag) hold no quote
    while True:
        index = body.find("\\", index)
        if index < 0:
            return
        if body[index + 1] == "/":
            line, column = _line_column(text, start + index)
            message = _go_message("found unknown escape character", line, scanner=True)
            raise DocumentError(message, line + 1, column + 1)
        index += 2


def _check_version(event: Any, text: str) -> None:
    """go-yaml reads only ``%YAML 1.1`` documents."""
    if event.version in (None, (1, 1)):
        return
    start = event.start_mark.index
    directive = re.search("(?m)^%YAML", text[start : event.end_mark.index])
    line, column = _line_column(text, start + (directive.start() if directive else 0))
    message = _go_message("found incompatible YAML document", line)
    raise DocumentError(message, line + 1, column + 1)


def _compose(next_event: Any, text: str) -> tuple[Any, int]:
    """One document's parse tree and its deepest nesting, from the events after its
    DocumentStartEvent up to its DocumentEndEvent."""
    import yaml

    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    collection_end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    anchors: dict[str, Any] = {}
    stack: list[_Raw] = []
    root: Any = None
    flow = block = deepest = 0
    while True:
        event = next_event()
        event_type = type(event)
        if event_type is scalar_event:
            node = event
            if event.style == '"':
                _check_escapes(event, text)
        elif event_type is alias_event:
            node = _Raw(_ALIAS, event)
            node.target = anchors.get(event.anchor)
            if node.target is None:
                raise DocumentError(
                    f"yaml: unknown anchor '{event.anchor}' referenced", *_position(event)
                )
            if node.target.__class__ is _Raw:
                node.target.anchored = True
        elif event_type is mapping_start or event_type is sequence_start:
            node = _Raw(MAP if event_type is mapping_start else SEQ, event)
            if event.flow_style:
                flow += 1
                if flow > MAX_DEPTH:
                    raise _depth_error(event)
            elif not _indentless(node, stack):
                node.block = True
                block += 1
                if block > MAX_DEPTH:
                    raise _depth_error(event)
        elif event_type in collection_end:
            deepest = max(deepest, len(stack))
            closed = stack.pop()
            if closed.block:
                block -= 1
            elif closed.event.flow_style:
                flow -= 1
            continue
        else:  # DocumentEndEvent
            return root, deepest  # (libyaml gives an empty document an empty scalar)
        if event.anchor is not None and event_type is not alias_event:
            anchors[event.anchor] = node
        if stack:
            stack[-1].children.append(node)
        else:
            root = node
        if event_type is mapping_start or event_type is sequence_start:
            stack.append(node)


def _indentless(node: _Raw, stack: list[_Raw]) -> bool:
    """A block sequence at its mapping's own indentation (``key:\\n- a``): go-yaml's
    scanner opens no indentation level for it."""
    if node.kind is not SEQ or not stack:
        return False
    parent = stack[-1]
    return (
        parent.kind is MAP
        and parent.block
        and bool(parent.children)
        and _event(parent.children[0]).start_mark.column == node.event.start_mark.column
    )


# --- decoding ------------------------------------------------------------------------

_ALIAS_RATIO_LOW = 400_000
_ALIAS_RATIO_HIGH = 4_000_000


def _allowed_alias_ratio(decodes: int) -> float:
    """go-yaml v2.4's allowedAliasRatio()."""
    if decodes <= _ALIAS_RATIO_LOW:
        return 0.99
    if decodes >= _ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * ((decodes - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW))


def _want_map(node: Any) -> DocumentError:
    return DocumentError(
        "yaml: map merge requires map or sequence of maps as the value",
        *_position(_event(node)),
    )


class _Decoder:
    """go-yaml's decoder into interface{} over one parse tree, counting its unmarshal
    calls as go-yaml does (an alias's node is decoded once and its calls added again
    at every later alias, which is what go-yaml's re-decoding would count)."""

    def __init__(self) -> None:
        self.decodes = 0
        self.aliased = 0
        self.alias_depth = 0
        self.expanding: set[int] = set()  # alias nodes being expanded
        self.started: dict[int, int] = {}  # anchored nodes being decoded: calls before them
        self.decoded: dict[int, tuple[Node, int]] = {}  # anchored nodes: (node, calls)

    def count(self, calls: int) -> None:
        """go-yaml's check at each unmarshal call, for ``calls`` calls in a row."""
        start = self.decodes
        self.decodes = end = start + calls
        if self.alias_depth:
            # The aliased share only grows during these calls: the last one decides.
            self.aliased += calls
            self.check(end)
            return
        self.check(end)
        if calls > 1:  # a convex margin: its peak is at an end (or at the ratio's kink)
            self.check(start + 1)
            if start < _ALIAS_RATIO_HIGH < end:
                self.check(_ALIAS_RATIO_HIGH)

    def check(self, decodes: int) -> None:
        aliased = self.aliased
        if aliased > 100 and decodes > 1000 and aliased / decodes > _allowed_alias_ratio(decodes):
            raise DocumentError("yaml: document contains excessive aliasing", 1, 1)

    def document(self, root: Any) -> Node:
        self.count(1)  # the document node
        return self.decode(root)

    def decode(self, node: Any) -> Node:
        """go-yaml's unmarshal() of one node into interface{}."""
        if node.__class__ is _Raw:
            return self.decode_anchored(node) if node.anchored else self.decode_collection(node)
        decodes = self.decodes = self.decodes + 1
        if self.alias_depth:
            self.aliased += 1
        if self.aliased > 100:
            self.check(decodes)
        return _scalar(node)

    def decode_anchored(self, raw: _Raw) -> Node:
        """An anchored collection: decoded once, its calls counted again at each alias."""
        key = id(raw)
        done = self.decoded.get(key)
        if done is not None:
            self.count(done[1])
            return done[0]
        before = self.started[key] = self.decodes
        node = self.decode_collection(raw)
        del self.started[key]
        self.decoded[key] = (node, self.decodes - before)
        return node

    def decode_collection(self, raw: _Raw) -> Node:
        """go-yaml's sequence() or mapping(): merge keys merged in place, a collection
        as a key refused (an alias: the node it names)."""
        self.count(1)
        kind = raw.kind
        if kind is _ALIAS:
            return self.alias(raw)
        line, column = _position(raw.event)
        if kind is SEQ:
            return Node(SEQ, [self.decode(child) for child in raw.children], line, column)
        node = Node(MAP, [], line, column)
        pairs = node.value
        children = raw.children
        for index in range(0, len(children), 2):
            key, value = children[index], children[index + 1]
            if _is_merge(key):
                self.merge(value, pairs)
                continue
            key_node = self.decode(key)
            if key_node.kind != SCALAR:
                raise DocumentError(
                    f"yaml: invalid map key: {go_sharp_v(key_node)}",
                    key_node.line,
                    key_node.column,
                )
            pairs.append((key_node, self.decode(value)))
        return node

    def alias(self, raw: _Raw) -> Node:
        """The node an alias names, decoded again; go-yaml's error for an alias inside
        the node it names."""
        target = raw.target
        name = raw.event.anchor
        if id(raw) in self.expanding:
            raise DocumentError(
                f"yaml: anchor '{name}' value contains itself", *_position(raw.event)
            )
        self.alias_depth += 1
        started = self.started.get(id(target))
        if started is not None:
            # go-yaml decodes the node again, as far as this alias, before it sees the loop.
            self.count(self.decodes - started)
            raise DocumentError(
                f"yaml: anchor '{name}' value contains itself", *_position(raw.event)
            )
        self.expanding.add(id(raw))
        node = self.decode(target)
        self.expanding.discard(id(raw))
        self.alias_depth -= 1
        return node

    def merge(self, value: Any, pairs: list[tuple[Node, Node]]) -> None:
        """go-yaml's merge(): a mapping's entries, or those of a list of mappings taken
        from the last (so that the earlier ones win)."""
        sources = reversed(value.children) if _kind(value) is SEQ else (value,)
        for source in sources:
            named = source.target if _kind(source) is _ALIAS else source
            if _kind(named) is not MAP:
                raise _want_map(source)
            pairs.extend(self.decode(source).value)


def _is_merge(node: Any) -> bool:
    """go-yaml's isMerge(): a plain ``<<`` (or one tagged ``!!merge``)."""
    return (
        node.__class__ is not _Raw
        and node.value == "<<"
        and (node.implicit[0] or node.tag == _MERGE)
    )


def _scalar(event: Any) -> Node:
    """go-yaml's decoder.scalar() into interface{}."""
    line, column = _position(event)
    text = event.value
    style = event.style or None  # libyaml reports '' for plain, PyYAML None
    tag = event.tag
    if tag is None:
        if style is None:
            kind, value = resolve_plain(text)
            return Node(SCALAR, value, line, column, kind, text)
        return Node(SCALAR, text, line, column, STR, text, True, style)
    if tag == _BINARY:
        data = go_base64_decode(text)
        if data is None:
            raise DocumentError("yaml: !!binary value contains invalid base64 data", line, column)
        kind, value = STR, go_string(data)
    elif tag not in _RESOLVABLE or tag == _LONG + "str":
        kind, value = STR, text  # an unknown or local tag (!foo, !, !!seq): the text
    else:
        kind, value = _tagged(text, tag, line, column)
    return Node(SCALAR, value, line, column, kind, text, kind == STR, style)


def _tagged(text: str, tag: str, line: int, column: int) -> tuple[str, Any]:
    """A scalar with a resolvable explicit tag (``!!int 5``), checked as go-yaml does."""
    wanted = "!!" + tag[len(_LONG) :]
    resolved, value = _go_resolve(text, tag)
    if resolved == "!!int" and wanted == "!!float" and INT64_MIN <= value <= INT64_MAX:
        return FLOAT, float(value)
    if resolved != wanted:
        raise DocumentError(f"yaml: cannot decode {resolved} `{text}` as a {wanted}", line, column)
    return _KIND[resolved], value


def go_sharp_v(node: Node) -> str:
    """fmt's ``%#v`` of a decoded value (go-yaml's "invalid map key" message); the
    caller makes room for deep trees (recursion_room)."""
    if node.kind == SEQ:
        return "[]interface {}{" + ", ".join(go_sharp_v(item) for item in node.value) + "}"
    if node.kind == MAP:
        entries = {(key.tag, key.value): (key, value) for key, value in node.value}
        ordered = sorted(entries.values(), key=lambda pair: _sort_key(pair[0]))
        inner = ", ".join(f"{go_sharp_v(key)}:{go_sharp_v(value)}" for key, value in ordered)
        return "map[interface {}]interface {}{" + inner + "}"
    value = node.value
    if node.tag == STR:
        return go_quote(value)
    if node.tag == NULL:
        return "interface {}(nil)"
    if node.tag == BOOL:
        return go_bool(value)
    if node.tag == INT:
        return str(value) if value <= INT64_MAX else f"{value:#x}"  # uint64 prints in hex
    return go_format_g(value)


#: fmt orders the keys of a map by type first (seen: strings, then ints, then floats).
_TYPE_ORDER = {STR: 0, INT: 1, FLOAT: 2, BOOL: 3, NULL: 4}


def _sort_key(key: Node) -> tuple[int, Any]:
    return _TYPE_ORDER[key.tag], key.value


def _json_depth_error(root: Node) -> DocumentError | None:
    """encoding/json's nesting limit on the JSON of this tree (aliases make it deeper
    than the text): the first value nested past it, as json.Unmarshal reports it."""
    heights: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if node.kind == SCALAR or id(node) in heights:
            continue
        children = [value for _, value in node.value] if node.kind == MAP else node.value
        if children_done:
            heights[id(node)] = 1 + max(
                (heights.get(id(child), 0) for child in children), default=0
            )
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if child.kind != SCALAR)
    if heights.get(id(root), 0) <= MAX_DEPTH:
        return None
    node, depth = root, 1
    while depth <= MAX_DEPTH:
        children = [value for _, value in node.value] if node.kind == MAP else node.value
        node = next(child for child in children if heights.get(id(child), 0) > MAX_DEPTH - depth)
        depth += 1
    opening = "{" if node.kind == MAP else "["
    return DocumentError(
        f"JSON: invalid character '{opening}' exceeded max depth", node.line, node.column
    )


#: Nesting that Python's default recursion limit decodes with room to spare.
_SHALLOW = 100


@contextmanager
def recursion_room(depth: int) -> Iterator[None]:
    """Room on Python's stack to walk ``depth`` nested collections (10000 at most:
    go-yaml's limits hold before decoding)."""
    if depth < _SHALLOW:
        yield
        return
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 4 * depth)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def _libyaml_parser() -> Any:
    """PyYAML's libyaml event parser, or None without libyaml."""
    try:
        import yaml._yaml  # type: ignore[import-not-found]
    except ImportError:
        return None
    return yaml._yaml.CParser


@functools.cache
def _lift_libyaml_nesting_limit() -> None:
    """libyaml 0.2.6 refuses more than 1000 nested collections, go-yaml 10000
    (``_compose`` checks go-yaml's limits): raise libyaml's through its own setter."""
    import ctypes

    import yaml._yaml

    with suppress(OSError, AttributeError):  # a libyaml before 0.2.5 has no limit
        ctypes.CDLL(yaml._yaml.__file__).yaml_set_max_nest_level(_LIBYAML_NESTING)


def _document_error(error: Exception, text: str, byte_offsets: bool) -> DocumentError:
    """A libyaml error in go-yaml's words and line numbering."""
    import yaml

    if isinstance(error, yaml.reader.ReaderError):  # control characters
        position = error.position
        if byte_offsets:
            prefix = text.encode("utf-8", "surrogatepass")[:position]
            position = len(prefix.decode("utf-8", "replace"))
        line, column = _line_column(text, position)
        return DocumentError(f"yaml: {error.reason}", line + 1, column + 1)
    problem_mark = getattr(error, "problem_mark", None)
    context_mark = getattr(error, "context_mark", None)
    message = _go_message(
        getattr(error, "problem", None) or str(error),
        problem_mark.line if problem_mark else 0,
        isinstance(error, yaml.scanner.ScannerError),
        context_mark.line if context_mark else 0,
    )
    mark = problem_mark or context_mark
    if mark is None:
        return DocumentError(message, 1, 1)
    return DocumentError(message, mark.line + 1, mark.column + 1)


def _escapes_for_libyaml(text: str, loader: Any) -> str:
    """go-yaml takes ``\\'`` in double quotes, libyaml 0.2 refuses it: each one libyaml
    stops at becomes ``\\x27``, the same character (later columns on its line move on
    by two)."""
    import yaml

    while "\\'" in text:
        try:
            for _ in yaml.parse(text, Loader=loader):
                pass
            return text
        except yaml.scanner.ScannerError as error:
            at = error.problem_mark.index if error.problem_mark else -1
            # libyaml marks the backslash, PyYAML's own scanner the character after it
            index = next((i for i in (at, at - 1) if text.startswith("\\'", i)), None)
            if index is None or "unknown escape" not in (error.problem or ""):
                return text
            text = text[:index] + "\\x27" + text[index + 2 :]
        except yaml.YAMLError:
            return text
    return text


def _document(next_event: Any, text: str) -> Node:
    """The next document, its DocumentStartEvent just read: parsed, then decoded."""
    tree, depth = _compose(next_event, text)
    decoder = _Decoder()
    with recursion_room(depth):
        root = decoder.document(tree)
    if depth > MAX_DEPTH or decoder.decoded:  # aliases can nest deeper than the text
        error = _json_depth_error(root)
        if error is not None:
            raise error
    return root


def read_yaml_documents(text: str) -> Iterator[Node]:
    """Each document of a YAML stream, as go-yaml decodes it into interface{}.

    Raises DocumentError at the first document go-yaml (or, for its JSON, the agent's
    json.Unmarshal) refuses; documents before it are yielded.
    """
    import yaml

    native = _libyaml_parser()
    if native is not None and len(text) > _LIBYAML_DEFAULT_NESTING:
        _lift_libyaml_nesting_limit()  # (each level takes a character at least)
    loader = native or yaml.SafeLoader
    text = _escapes_for_libyaml(text.removeprefix("\ufeff"), loader)  # marks skip a BOM
    try:
        next_event = loader(text).get_event
        next_event()  # StreamStartEvent
        while True:
            event = next_event()
            if type(event) is yaml.StreamEndEvent:
                return
            _check_version(event, text)
            yield _document(next_event, text)
    except yaml.YAMLError as error:
        raise _document_error(error, text, native is not None) from None
    except RecursionError:
        raise DocumentError("YAML: nested too deeply for masqctl to read", 1, 1) from None
