"""Config bytes are decoded as the agent decodes them (go-yaml's reader, encoding/json).

Expected texts are what the agent's own code (built with Go 1.26.4) printed for the
same bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from masqctl.config.json_reader import read_json_document, starts_as_json
from masqctl.config.nodes import DocumentError
from masqctl.config.sources import display_lines, read_text
from masqctl.config.yaml_reader import read_yaml_documents


def read_bytes(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "config.yaml"
    path.write_bytes(data)
    return read_text(str(path))


def refusal(tmp_path: Path, data: bytes) -> tuple[str, int, int]:
    with pytest.raises(DocumentError) as raised:
        read_bytes(tmp_path, data)
    return raised.value.message, raised.value.line, raised.value.column


@pytest.mark.parametrize(
    "data",
    [
        "\ufeffcidrLimit: 5\n".encode("utf-16-le"),
        "\ufeffcidrLimit: 5\n".encode("utf-16-be"),
        '\ufeff{"cidrLimit": 5}'.encode("utf-16-le"),
        '\ufeff{"cidrLimit": 5}'.encode(),
    ],
)
def test_a_byte_order_mark_config_is_read_as_yaml(tmp_path: Path, data: bytes) -> None:
    text = read_bytes(tmp_path, data)
    assert not starts_as_json(text)
    assert next(read_yaml_documents(text)).plain() == {"cidrLimit": 5}


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"\xff\xfex\x00:\x00 \x00\x00\xdc", ("yaml: unexpected low surrogate area", 1, 4)),
        (b"\xff\xfex\x00:\x00 \x00\x00\xd8", ("yaml: incomplete UTF-16 surrogate pair", 1, 4)),
        (b"\xff\xfex\x00:\x00 \x00\x00\xd8a\x00", ("yaml: expected low surrogate area", 1, 4)),
        (b"\xff\xfex\x00:\x00 \x00\x01", ("yaml: incomplete UTF-16 character", 1, 4)),
        (
            b"\xff\xfe" + 'x: "\U0001f600'.encode("utf-16-le") + b"\x00\xdc",
            ("yaml: unexpected low surrogate area", 1, 6),
        ),
        (
            b"\xff\xfex\x00:\x00\x01\x00 \x00\x00\xdc",
            ("yaml: control characters are not allowed", 1, 3),
        ),
    ],
)
def test_broken_utf16_is_refused_in_go_yamls_words(
    tmp_path: Path, data: bytes, where: tuple[str, int, int]
) -> None:
    assert refusal(tmp_path, data) == where


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"x: \xff\n", ("yaml: invalid leading UTF-8 octet", 1, 4)),
        (b"x: \xc3\n", ("yaml: invalid trailing UTF-8 octet", 1, 4)),
        (b"x: \xe2\x82\n", ("yaml: invalid trailing UTF-8 octet", 1, 4)),
        (b"x: \xc3", ("yaml: incomplete UTF-8 octet sequence", 1, 4)),
        (b"x: \xc0\x80\n", ("yaml: invalid length of a UTF-8 sequence", 1, 4)),
        (b"x: \xed\xa0\x80\n", ("yaml: invalid Unicode character", 1, 4)),
        (b"x: \xf4\x90\x80\x80\n", ("yaml: invalid Unicode character", 1, 4)),
        (b"x: 1\n---\ny: \xff\n", ("yaml: invalid leading UTF-8 octet", 3, 4)),
        (b"x: \x01 \xff\n", ("yaml: control characters are not allowed", 1, 4)),
        (b'\xff{"x": 1}', ("yaml: invalid leading UTF-8 octet", 1, 1)),
    ],
)
def test_yaml_that_is_not_utf8_is_refused_in_go_yamls_words(
    tmp_path: Path, data: bytes, where: tuple[str, int, int]
) -> None:
    assert refusal(tmp_path, data) == where


def test_json_strings_read_bytes_that_are_not_utf8_as_replacement_characters(
    tmp_path: Path,
) -> None:
    text = read_bytes(tmp_path, b'{"x": "\xe2\x82A", "\xff": 1}')
    assert read_json_document(text).plain() == {"x": "\ufffd\ufffdA", "\ufffd": 1}
    assert display_lines(text) == ['{"x": "\ufffd\ufffdA", "\ufffd": 1}']


def test_json_names_a_stray_byte_outside_strings_as_go_does(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as raised:
        read_json_document(read_bytes(tmp_path, b'{"x": \xff}'))
    assert raised.value.message == "JSON: invalid character 'ÿ' looking for beginning of value"
