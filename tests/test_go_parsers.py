"""Go's parsers as masqctl reproduces them: strconv, net.ParseCIDR, encoding/json, go-yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masqctl.config.goparse import format_duration, parse_address, parse_cidr, parse_int
from masqctl.config.json_reader import read_json_document
from masqctl.config.nodes import MAP, SEQ, DocumentError, Node
from masqctl.config.yaml_reader import read_yaml_documents, resolve_plain


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("-7", -7),
        ("0x1F", 31),
        ("0o17", 15),
        ("0b101", 5),
        ("017", 15),
        ("18446744073709551615", 2**64 - 1),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_parse_int_accepts_what_go_accepts(text: str, value: int) -> None:
    assert parse_int(text) == value


@pytest.mark.parametrize("text", ["", "-", "08", "0x", "1.5", "+18446744073709551615", "0xg"])
def test_parse_int_refuses_what_go_refuses(text: str) -> None:
    assert parse_int(text) is None


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("10.1.0.0/16", "10.1.0.0/16"),
        ("10.0.0.1/8", "10.0.0.0/8"),
        ("FC00::/7", "fc00::/7"),
        ("::ffff:1.2.3.4/128", "::ffff:102:304/128"),
        ("1::8/64", "1::/64"),
        ("10.0.0.0/08", "10.0.0.0/8"),
    ],
)
def test_parse_cidr_networks(text: str, network: str) -> None:
    assert parse_cidr(text).network_text() == network


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3/8",
        "1.2.3.4.5/8",
        "1..3.4/8",
        "a.b.c.d/8",
        "1:2:3:4:5:6:7:8:9/64",
        "1::2::3/64",
        ":1/8",
        "12345::/16",
        "1.2.3.4::/64",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "/8",
        "10.0.0.0/99999999999999999",
    ],
)
def test_parse_cidr_refusals(text: str) -> None:
    with pytest.raises(ValueError, match="invalid CIDR address"):
        parse_cidr(text)


def test_parse_address_needs_a_family() -> None:
    assert parse_address("nothing") is None
    assert parse_address("1.2.3.4") == (4, 0x01020304)


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (0, "0s"),
        (60_000_000_000, "1m0s"),
        (5_400_000_000_000, "1h30m0s"),
        (1500, "1500ns"),
        (-5_000_000_000, "-5s"),
    ],
)
def test_format_duration(nanos: int, text: str) -> None:
    assert format_duration(nanos) == text


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("", "JSON: unexpected end of JSON input", 1, 1),
        ('{"a": tru}', "JSON: invalid character '}' in literal true (expecting 'e')", 1, 10),
        ('{"a": t', "JSON: invalid character ' ' in literal true (expecting 'r')", 1, 8),
        ('{"a": [1 2]}', "JSON: invalid character '2' after array element", 1, 10),
        ('{"a" 1}', "JSON: invalid character '1' after object key", 1, 6),
        ('{"a": 1 "b": 2}', "JSON: invalid character '\"' after object key:value pair", 1, 9),
        ('{"a": "\\q"}', "JSON: invalid character 'q' in string escape code", 1, 9),
        ('{"a": "x\ny"}', "JSON: invalid character '\\n' in string literal", 1, 9),
        ('{"a": -}', "JSON: invalid character '}' in numeric literal", 1, 8),
        ("{\"a\": 'x'}", "JSON: invalid character '\\'' looking for beginning of value", 1, 7),
        ('{"a": "unterminated', "JSON: unexpected end of JSON input", 1, 20),
    ],
)
def test_json_errors_use_go_wording_and_positions(
    text: str, message: str, line: int, column: int
) -> None:
    with pytest.raises(DocumentError) as raised:
        read_json_document(text)
    assert (raised.value.message, raised.value.line, raised.value.column) == (message, line, column)


def test_json_values_and_positions() -> None:
    node = read_json_document('{\n  "a": [1, 2.5, true, null, "\\u00e9\\/"],\n  "b": {}\n}')
    assert node.plain() == {"a": [1, 2.5, True, None, "é/"], "b": {}}
    items = node.get("a").value  # type: ignore[union-attr]
    assert [(item.line, item.column) for item in items] == [
        (2, 9),
        (2, 12),
        (2, 17),
        (2, 23),
        (2, 29),
    ]


def _nodes(node: Node) -> Iterator[Node]:
    """``node`` and every node inside it (keys too), in document order."""
    yield node
    children = node.value if node.kind == SEQ else []
    if node.kind == MAP:
        children = [part for pair in node.value for part in pair]
    for child in children:
        yield from _nodes(child)


def test_json_nodes_record_their_span_in_the_text() -> None:
    text = '{\n  "a" : [1, -2.5e3, true, null, "\\u00e9"],\r\n\t"b":{ } }\n'
    spans = [text[node.start : node.end] for node in _nodes(read_json_document(text))]
    assert spans == [
        text[: text.rindex("}") + 1],
        '"a"',
        '[1, -2.5e3, true, null, "\\u00e9"]',
        "1",
        "-2.5e3",
        "true",
        "null",
        '"\\u00e9"',
        '"b"',
        "{ }",
    ]


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=_json_values, indent=st.sampled_from([None, 0, 2, "\t"]))
def test_json_reader_agrees_with_json_and_spans_hold_each_value(
    value: object, indent: object
) -> None:
    text = json.dumps(value, indent=indent)  # type: ignore[arg-type]
    root = read_json_document(text)
    assert root.plain() == json.loads(text)
    for node in _nodes(root):
        assert json.loads(text[node.start : node.end]) == node.plain()


@pytest.mark.parametrize(
    ("text", "tag", "value"),
    [
        ("y", "bool", True),
        ("1:20", "string", "1:20"),
        ("08", "float", 8.0),
        (".5", "float", 0.5),
        (".inf", "float", float("inf")),
        ("2001-12-14", "string", "2001-12-14"),
        ("~", "null", None),
        (".x", "string", ".x"),
        ("-", "string", "-"),
    ],
)
def test_go_yaml_v2_plain_scalar_resolution(text: str, tag: str, value: object) -> None:
    assert resolve_plain(text) == (tag, value)


def test_yaml_merge_keys_and_aliases() -> None:
    (root,) = read_yaml_documents(
        "base: &b {cidrLimit: 3}\nconfig:\n  <<: *b\n  masqLinkLocal: y\n"
    )
    assert root.plain() == {
        "base": {"cidrLimit": 3},
        "config": {"cidrLimit": 3, "masqLinkLocal": True},
    }
