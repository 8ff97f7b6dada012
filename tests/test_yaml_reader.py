"""The YAML reader gives the tree go-yaml v2 gives the agent, and refuses what it refuses.

Every expected value below is what the agent's own code (kubernetes-sigs/ip-masq-agent
with go-yaml v2.4.4, built with Go 1.26.4) printed for the same input: its ToJSON text,
or its error verbatim.
"""

from __future__ import annotations

import pytest

from masqctl.config.nodes import FLOAT, INT, MAP, SCALAR, SEQ, STR, DocumentError, Node
from masqctl.config.yaml_reader import read_yaml_documents


def first(text: str) -> Node:
    return next(read_yaml_documents(text))


def refusal(text: str) -> tuple[str, int, int]:
    with pytest.raises(DocumentError) as raised:
        first(text)
    return raised.value.message, raised.value.line, raised.value.column


def value_of_x(text: str) -> tuple[str, object]:
    node = first(text).get("x")
    assert node is not None and node.kind == SCALAR
    return node.tag, node.value


def chain(levels: int, width: int) -> str:
    """Aliases of aliases: ``a1`` holds ``width`` aliases of ``a0``, and so on."""
    lines = ["a0: &a0 [" + ",".join(["x"] * width) + "]"]
    lines.extend(
        f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * width) + "]"
        for level in range(1, levels)
    )
    return "\n".join(lines) + "\n"


# --- tags ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x: !foo 5\n", "5"),
        ("x: ! 5\n", "5"),
        ("x: !!seq 5\n", "5"),
        ("x: !!map 5\n", "5"),
        ("x: !foo ~\n", "~"),
        ("x: !foo\n", ""),
        ("x: !\n", ""),
        ("%TAG !e! tag:example.com,2000:\n---\nx: !e!foo 5\n", "5"),
    ],
)
def test_a_scalar_with_a_local_or_unknown_tag_is_its_text(text: str, value: str) -> None:
    assert value_of_x(text) == (STR, value)


@pytest.mark.parametrize(
    ("text", "tag", "value"),
    [
        ("x: !!float 5\n", FLOAT, 5.0),
        ("x: !!int '5'\n", INT, 5),
        ("x: !!int 0x10\n", INT, 16),
        ("x: !!str 5\n", STR, "5"),
        ("x: !<tag:yaml.org,2002:int> 5\n", INT, 5),
        ("%TAG ! tag:yaml.org,2002:\n---\nx: !int 5\n", INT, 5),
        ("x: !!timestamp 2001-12-14\n", STR, "2001-12-14"),
        ("x: !!timestamp 2001-12-14t21:59:43.10-05:00\n", STR, "2001-12-14t21:59:43.10-05:00"),
        ("x: !!timestamp 2000-02-29\n", STR, "2000-02-29"),
    ],
)
def test_a_tag_the_value_fits_gives_the_tags_type(text: str, tag: str, value: object) -> None:
    assert value_of_x(text) == (tag, value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x: !!timestamp 5s\n", "yaml: cannot decode !!str `5s` as a !!timestamp"),
        ("x: !!timestamp 2001-02-29\n", "yaml: cannot decode !!str `2001-02-29` as a !!timestamp"),
        (
            "x: !!timestamp 2001-12-14T21:59:43\n",
            "yaml: cannot decode !!str `2001-12-14T21:59:43` as a !!timestamp",
        ),
        ("x: !!int abc\n", "yaml: cannot decode !!str `abc` as a !!int"),
        ("x: !!int 1.0\n", "yaml: cannot decode !!float `1.0` as a !!int"),
        ("x: !!int\n", "yaml: cannot decode !!null `` as a !!int"),
        ("x: !!int <<\n", "yaml: cannot decode !!str `<<` as a !!int"),
        ("x: !!null 5\n", "yaml: cannot decode !!int `5` as a !!null"),
        ("x: !!bool 5\n", "yaml: cannot decode !!int `5` as a !!bool"),
        (
            "x: !!float 18446744073709551615\n",
            "yaml: cannot decode !!int `18446744073709551615` as a !!float",
        ),
    ],
)
def test_a_tag_the_value_does_not_fit_is_refused(text: str, message: str) -> None:
    assert refusal(text) == (message, 1, 4)


def test_tags_on_collections_are_ignored() -> None:
    root = first("nonMasqueradeCIDRs: !!int [10.1.0.0/16]\nx: !!str {a: 1}\n")
    assert root.plain() == {"nonMasqueradeCIDRs": ["10.1.0.0/16"], "x": {"a": 1}}


# --- !!binary ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x: !!binary aGVsbG8=\n", "hello"),
        ("x: !!binary |\n  aGVs\n  bG8=\n", "hello"),
        ('x: !!binary "aGVs\\nbG8="\n', "hello"),
        ("x: !!binary aGVsbB==\n", "hell"),
        ("x: !!binary ''\n", ""),
        ("x: !!binary /w==\n", "\ufffd"),
        ("x: !!binary 4oI=\n", "\ufffd\ufffd"),
    ],
)
def test_binary_is_decoded_with_bytes_that_are_not_utf8_as_replacement(
    text: str, value: str
) -> None:
    assert value_of_x(text) == (STR, value)


def test_a_binary_key_is_decoded() -> None:
    assert first("!!binary Y2lkckxpbWl0: 1\n").plain() == {"cidrLimit": 1}


@pytest.mark.parametrize("encoded", ["aGVsbG8", "aGVs bG8=", "=", "aGVsbA==aA==", '"aGVs\\tbG8="'])
def test_binary_that_is_not_base64_is_refused(encoded: str) -> None:
    assert refusal(f"x: !!binary {encoded}\n") == (
        "yaml: !!binary value contains invalid base64 data",
        1,
        4,
    )


# --- directives, escapes, syntax -----------------------------------------------------


def test_yaml_1_2_documents_are_refused() -> None:
    assert refusal("%YAML 1.2\n---\nx: 1\n") == ("yaml: found incompatible YAML document", 1, 1)
    assert refusal("# c\n%YAML 1.2\n---\nx: 1\n") == (
        "yaml: line 1: found incompatible YAML document",
        2,
        1,
    )
    assert first("%YAML 1.1\n---\nx: 1\n").plain() == {"x": 1}


def test_a_yaml_1_2_document_after_the_first_fails_only_there() -> None:
    documents = read_yaml_documents("x: 1\n...\n%YAML 1.2\n---\ny: 2\n")
    assert next(documents).plain() == {"x": 1}
    with pytest.raises(DocumentError) as raised:
        next(documents)
    assert (raised.value.message, raised.value.line) == (
        "yaml: line 2: found incompatible YAML document",
        3,
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('x: "a\\/b"\n', ("yaml: found unknown escape character", 1, 6)),
        ('x:\n  - 1\n  - "a\\/b"\n', ("yaml: line 3: found unknown escape character", 3, 7)),
        ('x: "line\n  two \\/"\n', ("yaml: line 2: found unknown escape character", 2, 7)),
    ],
)
def test_the_slash_escape_go_yaml_does_not_know_is_refused(
    text: str, where: tuple[str, int, int]
) -> None:
    assert refusal(text) == where


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('x: "a\\\\/b"\n', "a\\/b"),
        ("x: 'a\\/b'\n", "a\\/b"),
        ('x: "a\\\'b"\n', "a'b"),
        ("x: \"\\'\\t\\'\"\n", "'\t'"),
    ],
)
def test_escapes_go_yaml_reads(text: str, value: str) -> None:
    assert value_of_x(text) == (STR, value)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (": [\n", ("yaml: did not find expected key", 1, 1)),
        ("a: 1\nb\nc: 2\n", ("yaml: line 3: could not find expected ':'", 3, 1)),
        ("a: [1\n", ("yaml: line 1: did not find expected ',' or ']'", 2, 1)),
        ("a: 'x\n", ("yaml: line 2: found unexpected end of stream", 2, 1)),
        ("a:\n  - 1\n - 2\n", ("yaml: line 2: did not find expected key", 3, 2)),
        ("x: @a\n", ("yaml: found character that cannot start any token", 1, 4)),
        ("x: 1\n\ty: 2\n", ("yaml: line 2: found a tab character that violates indentation", 2, 1)),
        ('x: "a\\\'b"\ny: [\n', ("yaml: line 2: did not find expected node content", 3, 1)),
        ("x:\n  y: \x01\n", ("yaml: control characters are not allowed", 2, 6)),
    ],
)
def test_syntax_errors_have_go_yamls_words_and_line_numbers(
    text: str, where: tuple[str, int, int]
) -> None:
    assert refusal(text) == where


# --- merge keys ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("x: 0\n<<: {x: 1}\n", {"x": 1}),
        ("<<: {x: 1}\nx: 0\n", {"x": 0}),
        ("<<: [{x: 1}, {x: 2}]\n", {"x": 1}),
        ("!!merge <<: {x: 1}\n", {"x": 1}),
        ("! <<: {x: 1}\n", {"x": 1}),
        ("<<: []\n", {}),
        ("x:\n  <<: [&m {k: v}, *m]\n", {"x": {"k": "v"}}),
        ("!foo <<: {x: 1}\n", {"<<": {"x": 1}}),
        ("'<<': {x: 1}\n", {"<<": {"x": 1}}),
    ],
)
def test_merge_keys_merge_at_their_place_and_earlier_list_items_win(
    text: str, plain: dict[str, object]
) -> None:
    assert first(text).plain() == plain


@pytest.mark.parametrize(
    "text",
    ["<<: 5\n", "<<: ~\n", "<<: [5]\n", "a: &a [{x: 1}]\n<<: *a\n", "<<: [{x: !!int a}, 5]\n"],
)
def test_a_merge_of_anything_but_mappings_is_refused(text: str) -> None:
    assert refusal(text)[0] == "yaml: map merge requires map or sequence of maps as the value"


def test_a_merge_list_is_decoded_from_its_last_item() -> None:
    assert refusal("<<: [{x: !!int a}, {y: !!int b}]\n") == (
        "yaml: cannot decode !!str `b` as a !!int",
        1,
        24,
    )


# --- anchors and aliases -------------------------------------------------------------


def test_an_anchor_given_twice_names_its_last_node() -> None:
    assert first("a: &x 1\nb: &x 2\nc: *x\n").plain() == {"a": 1, "b": 2, "c": 2}


def test_an_alias_of_an_unknown_anchor_is_refused() -> None:
    assert refusal("c: *nope\n") == ("yaml: unknown anchor 'nope' referenced", 1, 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [*a]\n", "yaml: anchor 'a' value contains itself"),
        ("a: &a {b: *a}\n", "yaml: anchor 'a' value contains itself"),
        ("a: &a [&b [*b]]\n", "yaml: anchor 'b' value contains itself"),
    ],
)
def test_an_anchor_that_contains_itself_is_refused(text: str, message: str) -> None:
    assert refusal(text)[0] == message


@pytest.mark.parametrize("text", [chain(7, 10), chain(4, 10), chain(3, 40)])
def test_alias_expansion_past_go_yamls_ratio_is_refused(text: str) -> None:
    assert refusal(text) == ("yaml: document contains excessive aliasing", 1, 1)


def test_the_aliasing_limit_falls_where_go_yamls_counts_put_it() -> None:
    items = "a: &a [" + ",".join(["x"] * 1000) + "]\nb: ["
    assert len(first(items + ",".join(["*a"] * 110) + "]\n").get("b").value) == 110  # type: ignore[union-attr]
    assert refusal(items + ",".join(["*a"] * 111) + "]\n")[0] == (
        "yaml: document contains excessive aliasing"
    )


def test_aliases_share_the_node_of_their_anchor() -> None:
    root = first("a: &l [10.1.0.0/16]\nb: *l\n")
    assert root.get("a") is root.get("b")


# --- keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "? [1.5, 1.0, 1e6, 100000.0, 1e20, 123456789.0, 0.0001, 0.00001, "
            '18446744073709551615, -5, ~, true, "a\\n", .inf, -.inf, .nan, 2001-12-14]\n: x\n',
            "yaml: invalid map key: []interface {}{1.5, 1, 1e+06, 100000, 1e+20, "
            "1.23456789e+08, 0.0001, 1e-05, 0xffffffffffffffff, -5, interface {}(nil), "
            'true, "a\\n", +Inf, -Inf, NaN, "2001-12-14"}',
        ),
        (
            "? {b: 1, a: 2, c: [1], 1: x}\n: x\n",
            'yaml: invalid map key: map[interface {}]interface {}{"a":2, "b":1, '
            '"c":[]interface {}{1}, 1:"x"}',
        ),
        (
            "? {2: a, 1: b, 10: c}\n: x\n",
            'yaml: invalid map key: map[interface {}]interface {}{1:"b", 2:"a", 10:"c"}',
        ),
        ("? {a: 1, a: 2}\n: x\n", 'yaml: invalid map key: map[interface {}]interface {}{"a":2}'),
        ("a: &k [1]\n*k : x\n", "yaml: invalid map key: []interface {}{1}"),
    ],
)
def test_a_collection_as_a_key_is_refused_in_go_syntax(text: str, message: str) -> None:
    assert refusal(text)[0] == message


# --- nesting -------------------------------------------------------------------------


def nested(depth: int, prefix: str = "x: ") -> str:
    return prefix + "[" * depth + "]" * depth + "\n"


def test_flow_nesting_to_go_yamls_limit_is_read() -> None:
    node = first(nested(9999))
    depth = 1
    while node.kind in (MAP, SEQ) and node.value:
        node = node.value[0][1] if node.kind == MAP else node.value[0]
        depth += 1
    assert depth == 10000
    assert first(nested(10000, "")).kind == SEQ


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (nested(10001), ("yaml: exceeded max depth of 10000", 1, 10004)),
        (nested(10001, "\n\nx: "), ("yaml: line 3: exceeded max depth of 10000", 3, 10004)),
        (
            "x: " + "{a: " * 10001 + "}" * 10001 + "\n",
            ("yaml: exceeded max depth of 10000", 1, 40004),
        ),
    ],
)
def test_flow_nesting_past_go_yamls_limit_is_refused(
    text: str, where: tuple[str, int, int]
) -> None:
    assert refusal(text) == where


def test_block_nesting_past_go_yamls_limit_is_refused() -> None:
    text = "".join(" " * level + "a:\n" for level in range(10001)) + " " * 10001 + "b\n"
    assert refusal(text) == ("yaml: line 10001: exceeded max depth of 10000", 10001, 10001)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (nested(10000), ("JSON: invalid character '[' exceeded max depth", 1, 10003)),
        (
            "a: &a " + "[" * 5000 + "]" * 5000 + "\nb: " + "[" * 5000 + "*a" + "]" * 5000 + "\n",
            ("JSON: invalid character '[' exceeded max depth", 1, 5006),
        ),
    ],
)
def test_a_tree_whose_json_nests_past_encoding_jsons_limit_is_refused(
    text: str, where: tuple[str, int, int]
) -> None:
    assert refusal(text) == where


def test_aliases_nesting_to_encoding_jsons_limit_are_read() -> None:
    text = "a: &a " + "[" * 5000 + "]" * 5000 + "\nb: " + "[" * 4999 + "*a" + "]" * 4999 + "\n"
    assert first(text).get("b").kind == SEQ  # type: ignore[union-attr]
