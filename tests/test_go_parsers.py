"""Go's parsers as masqctl reproduces them: strconv, time, net.ParseCIDR, encoding/json,
go-yaml.  Expected texts are what the agent's own code (built with Go 1.26.4) printed."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masqctl.config.goparse import (
    format_duration,
    go_format_g,
    go_json_number,
    go_quote,
    go_time_quote,
    parse_address,
    parse_cidr,
    parse_duration,
    parse_int,
)
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
        ("10.0.0.0/0000000000000008", "10.0.0.0/8"),
        ("fd00::/" + "0" * 40 + "8", "fd00::/8"),
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
        "10.0.0.0/0000000000000033",
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
        (-5_000_000_000, "-5s"),
        # time.Duration.String() below a second and with fractions (issue 9, point 4)
        (500_000_000, "500ms"),
        (10_000, "10µs"),
        (1500, "1.5µs"),
        (1, "1ns"),
        (1_500_000_000, "1.5s"),
        (-1_500_000_000, "-1.5s"),
        (3_600_000_000_000, "1h0m0s"),
        (61_001_000_000, "1m1.001s"),
        (2**63 - 1, "2562047h47m16.854775807s"),
        (-(2**63), "-2562047h47m16.854775808s"),
    ],
)
def test_format_duration_is_gos_duration_string(nanos: int, text: str) -> None:
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
        ('{"a": 1.}', "JSON: invalid character '}' after decimal point in numeric literal", 1, 9),
        ('{"a": 1ex}', "JSON: invalid character 'x' in exponent of numeric literal", 1, 9),
        (
            '{"a": "\\u12x4"}',
            "JSON: invalid character 'x' in \\u hexadecimal character escape",
            1,
            12,
        ),
        ('{"a": -', "JSON: invalid character ' ' in numeric literal", 1, 8),
        ('{"a": 1.', "JSON: invalid character ' ' after decimal point in numeric literal", 1, 9),
        ('{"a": "\\', "JSON: invalid character ' ' in string escape code", 1, 9),
        ('{"a": nu', "JSON: invalid character ' ' in literal null (expecting 'l')", 1, 9),
        ('{"a": é}', "JSON: invalid character 'Ã' looking for beginning of value", 1, 7),
        ('{"a": \x85}', "JSON: invalid character 'Â' looking for beginning of value", 1, 7),
        ('{"a": \x00}', "JSON: invalid character '\\x00' looking for beginning of value", 1, 7),
        ('\v{"x": 1}', "JSON: invalid character '\\v' looking for beginning of value", 1, 1),
        (
            '{"a": ' + "[" * 10000 + "]" * 10000 + "}",
            "JSON: invalid character '[' exceeded max depth",
            1,
            10006,
        ),
        ('{"a": ' + "[" * 10000 + "}", "JSON: invalid character '[' exceeded max depth", 1, 10006),
        (
            '{"a": ' + '{"b": ' * 10000 + "}" * 10001,
            "JSON: invalid character '{' exceeded max depth",
            1,
            60001,
        ),
    ],
)
def test_json_errors_use_go_wording_and_positions(
    text: str, message: str, line: int, column: int
) -> None:
    with pytest.raises(DocumentError) as raised:
        read_json_document(text)
    assert (raised.value.message, raised.value.line, raised.value.column) == (message, line, column)


def test_json_nests_to_encoding_jsons_limit() -> None:
    node = read_json_document('{"a": ' + "[" * 9999 + "]" * 9999 + "}")
    assert node.get("a").kind == SEQ  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("escaped", "value"),
    [
        ("\\ud83d\\ude00", "\U0001f600"),
        ("\\ude00\\ud83d", "\ufffd\ufffd"),
        ("\\ud83dA", "\ufffdA"),
        ("\\ud83d\\u0041", "\ufffdA"),
        ("\\ud83d\\ud83d\\ude00", "\ufffd\U0001f600"),
        ("\\ud83d\udced\udcb0\udc80", "\ufffd" * 4),
    ],
)
def test_json_string_surrogates_and_stray_bytes_decode_as_in_go(escaped: str, value: str) -> None:
    assert read_json_document(f'{{"a": "{escaped}"}}').get("a").value == value  # type: ignore[union-attr]


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
        ("<<", "string", "<<"),
        ("1e400", "string", "1e400"),
        ("-1e400", "string", "-1e400"),
        (".5e400", "string", ".5e400"),
        ("1e-400", "float", 0.0),
        (".5_0", "float", 0.5),
        ("1_0.5", "float", 10.5),
        (".\u0665", "string", ".\u0665"),
        ("-0b101", "number", -5),
        ("+0x10", "number", 16),
        ("-9223372036854775809", "float", -9223372036854775809.0),
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


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (9.2233720368547748e18, "9223372036854775000"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (-9223372036854775809.0, "-9223372036854776000"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (-0.0, "-0"),
        (64.0, "64"),
        (0.1, "0.1"),
        (123456789012345678901234.0, "1.2345678901234569e+23"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ],
)
def test_json_marshal_text_of_a_float(value: float, text: str) -> None:
    assert go_json_number(value) == text


@pytest.mark.parametrize(
    ("value", "name"), [(math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN")]
)
def test_json_marshal_refuses_non_finite_floats_in_gos_words(value: float, name: str) -> None:
    with pytest.raises(ValueError, match=f"^json: unsupported value: {re.escape(name)}$"):
        go_json_number(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.5"),
        (1.0, "1"),
        (1e6, "1e+06"),
        (100000.0, "100000"),
        (1e20, "1e+20"),
        (123456789.0, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (math.inf, "+Inf"),
        (math.nan, "NaN"),
    ],
)
def test_format_float_g_as_fmt_v_prints_it(value: float, text: str) -> None:
    assert go_format_g(value) == text


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("10.0.0.0/8\n", '"10.0.0.0/8\\n"'),
        ("a\x85b\xa0c", '"a\\u0085b\\u00a0c"'),
        ("\x00\x7f\x1b", '"\\x00\\x7f\\x1b"'),
        ("é😀\u200b\ufeff", '"é😀\\u200b\\ufeff"'),
        ('"\\', '"\\"\\\\"'),
        ("\U000e0001\u0378", '"\\U000e0001\\u0378"'),
    ],
)
def test_go_quote_is_strconv_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1µs1d", 'time: unknown unit "d" in duration "1\\xc2\\xb5s1d"'),
        ("5\x01", 'time: unknown unit "\\x01" in duration "5\\x01"'),
        ('x"y', 'time: invalid duration "x\\"y"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("999999999999999999999x", 'time: invalid duration "999999999999999999999x"'),
        ("1.5", 'time: missing unit in duration "1.5"'),
        ("+", 'time: invalid duration "+"'),
        (".s", 'time: invalid duration ".s"'),
    ],
)
def test_parse_duration_refusals_quote_as_the_time_package(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_duration(text)
    assert str(raised.value) == message


def test_the_time_package_quotes_every_non_ascii_byte() -> None:
    assert go_time_quote("1µs\udcff") == '"1\\xc2\\xb5s\\xff"'


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("1.99999999999999999999s", 2_000_000_000),
        ("0.000000001h", 3600),
        ("9223372036854775807ns", 2**63 - 1),
        ("-9223372036854775808ns", -(2**63)),
        ("5.s", 5_000_000_000),
        ("1h1h1h", 10_800_000_000_000),
        ("-1.5s", -1_500_000_000),
    ],
)
def test_parse_duration_values_as_go_computes_them(text: str, nanos: int) -> None:
    assert parse_duration(text) == nanos
