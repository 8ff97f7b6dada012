"""Finding agent configs in what the user gives: files, directories, stdin, manifests.

A path may hold a raw agent config (YAML or JSON), a ConfigMap, a ``kind: List`` (as
``kubectl get cm -o yaml`` prints), or a stream of documents.  Each agent config found
becomes a :class:`ConfigText` whose positions map back to the lines of the user's file.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from masqctl.config.agent_parser import ConfigText, is_agent_key_like
from masqctl.config.goparse import replace_surrogate_escapes
from masqctl.config.json_reader import read_json_document, starts_as_json
from masqctl.config.nodes import MAP, SCALAR, SEQ, STR, DocumentError, Node
from masqctl.config.yaml_reader import read_yaml_documents
from masqctl.errors import InputError

STDIN = "-"
CONFIG_EXTENSIONS = (".yaml", ".yml", ".json")
UPSTREAM_KEY = "config"
#: Azure's v2 agent reads every file whose name starts with this (a ConfigMap key, too).
AZURE_KEY_PREFIX = "ip-masq"


@dataclass
class ConfigMapInfo:
    """The ConfigMap an embedded config came from, for the ConfigMap checks."""

    name: str
    namespace: str
    data_keys: list[str]
    annotations: dict[str, str]
    node: Node

    @property
    def label(self) -> str:
        """``ConfigMap kube-system/ip-masq-agent``, as findings and reports name it."""
        return f"ConfigMap {self.namespace or '(no namespace)'}/{self.name or '(no name)'}"


@dataclass
class FoundConfig:
    """One agent config to validate, and the ConfigMap that holds it (if any)."""

    text: ConfigText
    configmap: ConfigMapInfo | None = None
    data_key: str = ""
    #: The file's name as the agent sees it in its config directory: the ConfigMap data
    #: key, or a raw file's own name.
    name: str = ""

    @property
    def file_name(self) -> str:
        return self.name or self.data_key or os.path.basename(self.text.file)


@dataclass
class ReadFile:
    """Everything found in one input file."""

    path: str
    configs: list[FoundConfig] = field(default_factory=list)
    configmaps: list[ConfigMapInfo] = field(default_factory=list)
    skipped_objects: int = 0
    #: Every Kubernetes object of the file (a List's items in its place), in order: the
    #: DaemonSets and ConfigMaps masqctl.cluster reads the agent's wiring from.
    objects: list[Node] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    #: ConfigMap data keys for the agent whose value is not text: ``(key, value node)``.
    non_text_data: list[tuple[str, Node]] = field(default_factory=list)
    #: A manifest that could not be parsed: (message, line, column).
    syntax_error: tuple[str, int, int] | None = None
    #: Skipped as neither a manifest nor an agent config (``skip_unrelated``).
    unrelated: bool = False


def expand_paths(paths: list[str]) -> list[tuple[str, bool]]:
    """``(path, found_in_a_directory)``: paths as given, directories replaced by their
    config files (recursively, sorted)."""
    expanded: list[tuple[str, bool]] = []
    for path in paths:
        if path != STDIN and os.path.isdir(path):
            found = []
            for directory, subdirs, files in os.walk(path):
                subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
                found.extend(
                    os.path.join(directory, name)
                    for name in files
                    if name.endswith(CONFIG_EXTENSIONS) or name.startswith(AZURE_KEY_PREFIX)
                )
            expanded.extend((found_path, True) for found_path in sorted(found))
        else:
            expanded.append((path, False))
    return expanded


def read_text(path: str) -> str:
    """The file's text (``-``: stdin) as the agent decodes it, or InputError with one
    readable line (DocumentError where the agent could not read the bytes)."""
    try:
        data = sys.stdin.buffer.read() if path == STDIN else Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    return decode_text(data)


#: The characters go-yaml's reader allows (it refuses the rest as control characters);
#: compiled on first use (its ranges take milliseconds).
_YAML_FORBIDDEN = "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
_UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}


def decode_text(data: bytes) -> str:
    """Text as the agent reads it: UTF-8, or UTF-16 after its byte order mark (go-yaml
    decodes it; the mark stays, so the text goes the YAML way as for the agent).

    Bytes that are not UTF-8 are kept as surrogate escapes when the text is JSON to the
    agent (encoding/json reads them as U+FFFD in strings); go-yaml refuses them, with
    its own message.
    """
    encoding = _UTF16_BOMS.get(data[:2])
    if encoding is not None:
        return "\ufeff" + _decode_utf16(data, encoding)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", "surrogateescape")
        if starts_as_json(text):
            return text
        before = data[: error.start].decode("utf-8")
        _refuse_earlier_control(before)
        line, column = _line_column(before, len(before))
        raise DocumentError(f"yaml: {_utf8_problem(data, error.start)}", line, column) from None


def _refuse_earlier_control(text: str) -> None:
    """go-yaml's reader stops at a control character before an undecodable byte."""
    forbidden = re.search(_YAML_FORBIDDEN, text)
    if forbidden is not None:
        line, column = _line_column(text, forbidden.start())
        raise DocumentError("yaml: control characters are not allowed", line, column)


def _utf8_problem(data: bytes, offset: int) -> str:
    """go-yaml's reader's message for the undecodable UTF-8 sequence at ``offset``."""
    octet = data[offset]
    width = next((w for w, mask, lead in _UTF8_LEADS if octet & mask == lead), 0)
    if not width:
        return "invalid leading UTF-8 octet"
    if offset + width > len(data):
        return "incomplete UTF-8 octet sequence"
    value = octet & (0xFF >> (width + 1))
    for trailing in data[offset + 1 : offset + width]:
        if trailing & 0xC0 != 0x80:
            return "invalid trailing UTF-8 octet"
        value = value << 6 | trailing & 0x3F
    if value < (0, 0, 0x80, 0x800, 0x10000)[width]:
        return "invalid length of a UTF-8 sequence"
    return "invalid Unicode character"  # a surrogate, or past U+10FFFF


_UTF8_LEADS = ((2, 0xE0, 0xC0), (3, 0xF0, 0xE0), (4, 0xF8, 0xF0))


def _decode_utf16(data: bytes, encoding: str) -> str:
    """UTF-16 after its byte order mark, or DocumentError with go-yaml's message."""
    body = data[2:]
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        pass
    order = "little" if encoding == "utf-16-le" else "big"
    offset = 0
    while True:
        unit = int.from_bytes(body[offset : offset + 2], order)
        following = int.from_bytes(body[offset + 2 : offset + 4], order)
        if len(body) - offset < 2:
            problem = "incomplete UTF-16 character"
        elif 0xDC00 <= unit < 0xE000:
            problem = "unexpected low surrogate area"
        elif not 0xD800 <= unit < 0xDC00:
            offset += 2
            continue
        elif len(body) - offset < 4:
            problem = "incomplete UTF-16 surrogate pair"
        elif not 0xDC00 <= following < 0xE000:
            problem = "expected low surrogate area"
        else:
            offset += 4
            continue
        text = body[:offset].decode(encoding)
        _refuse_earlier_control(text)
        line, column = _line_column(text, len(text))
        raise DocumentError(f"yaml: {problem}", line, column)


def _line_column(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[offset]`` (lines broken at \\n)."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def display_name(path: str) -> str:
    return "<stdin>" if path == STDIN else path


_YAML_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def display_lines(text: str) -> list[str]:
    """The text's lines as the parser numbers them: YAML 1.1 also breaks lines at NEL and
    U+2028/U+2029, JSON only at \\n (str.splitlines breaks at \\f, \\v and more too)."""
    if not text.isascii():
        text = replace_surrogate_escapes(text)  # bytes that were not UTF-8, for display
    if starts_as_json(text):
        return [line.removesuffix("\r") for line in text.split("\n")]
    return _YAML_LINE_BREAK.split(text)


def _is_k8s_object(node: Node) -> bool:
    return node.kind == MAP and node.get("kind") is not None and node.get("apiVersion") is not None


def scalar_text(node: Node | None) -> str:
    """A scalar's value as text ("" for a missing node, null, a mapping or a list)."""
    if node is None or node.kind != SCALAR or node.value is None:
        return ""
    return str(node.value)


def embedded_config(node: Node, file: str, manifest_lines: list[str]) -> ConfigText:
    """A config embedded in a manifest's scalar, its positions mapped to the manifest.

    Literal and folded block scalars (``config: |``) keep one manifest line per text
    line, shifted by the block's indentation; other styles point at the value itself.
    """
    start_line = node.line
    if node.style not in ("|", ">"):
        return ConfigText(node.value, file, lambda _line, _column: (node.line, node.column))
    indent = _block_indent(node, manifest_lines) or next(
        (len(raw) - len(raw.lstrip(" ")) for raw in manifest_lines[start_line:] if raw.strip()),
        0,
    )
    if node.style == ">":
        return ConfigText(node.value, file, lambda _line, _column: (start_line + 1, indent + 1))
    return ConfigText(node.value, file, lambda line, column: (start_line + line, indent + column))


_BLOCK_HEADER = re.compile(r"[|>](?:[+-]?([1-9])|([1-9])?[+-]?)")


def _block_indent(node: Node, manifest_lines: list[str]) -> int | None:
    """A block scalar's indentation when its header gives it (``config: |2``, as go-yaml
    writes a text whose first line starts with a space): the parent's indentation plus
    the indicator; the text's own leading spaces then belong to the text."""
    if not 0 < node.line <= len(manifest_lines):
        return None
    header = _BLOCK_HEADER.match(manifest_lines[node.line - 1], node.column - 1)
    indicator = header and (header.group(1) or header.group(2))
    if not indicator:
        return None
    line = manifest_lines[node.line - 1]
    return len(line) - len(line.lstrip(" -")) + int(indicator)


_AGENT_KEY_WORDS = ("nonmasqueradecidrs", "cidrlimit", "masqlinklocal", "resyncinterval")


def holds_config(key: str) -> bool:
    """Whether a ConfigMap key is named as an agent config is (upstream's or Azure's)."""
    return key == UPSTREAM_KEY or key.startswith(AZURE_KEY_PREFIX)


def is_agent_configmap(node: Node) -> bool:
    """Whether a ConfigMap is meant for the agent (its name, or its data, says so)."""
    metadata = node.get("metadata")
    name = scalar_text(metadata.get("name")) if metadata is not None else ""
    if name.startswith(AZURE_KEY_PREFIX):
        return True
    data = node.get("data")
    for key, value in data.items() if data is not None else []:
        if str(key.value).startswith(AZURE_KEY_PREFIX):
            return True
        if key.value == UPSTREAM_KEY and value.kind == SCALAR and isinstance(value.value, str):
            lowered = value.value.lower()
            if any(word in lowered for word in _AGENT_KEY_WORDS):
                return True
    return False


def _configmap(node: Node, file: str, lines: list[str], result: ReadFile) -> None:
    metadata = node.get("metadata")
    data = node.get("data")
    annotations_node = metadata.get("annotations") if metadata is not None else None
    info = ConfigMapInfo(
        name=scalar_text(metadata.get("name")) if metadata is not None else "",
        namespace=scalar_text(metadata.get("namespace")) if metadata is not None else "",
        data_keys=[str(key.value) for key, _ in data.items()] if data is not None else [],
        annotations={str(key.value): scalar_text(value) for key, value in annotations_node.items()}
        if annotations_node is not None
        else {},
        node=node,
    )
    result.configmaps.append(info)
    if data is None:
        return
    for key, value in data.items():
        name = str(key.value)
        if not holds_config(name):
            continue
        if value.kind != SCALAR or (value.value is not None and value.tag != STR):
            result.non_text_data.append((name, value))  # the API server refuses it
            continue
        if value.value is None:
            value.value = ""  # `config:` with no value mounts an empty file
        result.configs.append(FoundConfig(embedded_config(value, file, lines), info, name))


def _objects(node: Node) -> Iterator[Node]:
    """The Kubernetes objects of a document: itself, or the items of a List."""
    kind = scalar_text(node.get("kind"))
    items = node.get("items")
    if kind.endswith("List") and items is not None and items.kind == SEQ:
        yield from items.value
    else:
        yield node


def looks_like_agent_config(documents: list[Node | None]) -> bool:
    """Whether a file that holds no Kubernetes object is meant as an agent config:
    its first document is a mapping with an agent key (or a likely misspelling of one)."""
    first = documents[0] if documents else None
    return (
        first is not None
        and first.kind == MAP
        and any(is_agent_key_like(str(key.value)) for key, _ in first.items())
    )


def read_input(path: str, skip_unrelated: bool = False) -> ReadFile:
    """Read one input path and find every agent config in it.

    With ``skip_unrelated``, a file that is neither a manifest nor recognisably an agent
    config (a workflow file, Helm values) is skipped and counted instead of checked.
    Raises InputError when the path cannot be read at all.
    """
    file = display_name(path)
    result = ReadFile(file)
    try:
        text = read_text(path)
    except DocumentError as error:
        result.syntax_error = (error.message, error.line, error.column)
        return result
    lines = result.lines = display_lines(text)
    if "apiVersion" not in text and not skip_unrelated:
        # No Kubernetes object can be in it: a raw agent config, read once, by the agent's
        # own reader (which also reports any syntax error in it).
        result.configs.append(FoundConfig(ConfigText(text, file)))
        return result
    documents: list[Node | None] = []
    try:
        documents.extend(_documents(text))
    except DocumentError as error:
        result.syntax_error = (error.message, error.line, error.column)
    objects = [doc for doc in documents if doc is not None and _is_k8s_object(doc)]
    if not objects:
        result.syntax_error = None
        if skip_unrelated and not looks_like_agent_config(documents):
            result.skipped_objects += 1
            result.unrelated = True
            return result
        # A raw agent config: the agent's own reader reports any syntax error in it.
        result.configs.append(FoundConfig(ConfigText(text, file)))
        return result
    for document in objects:
        for item in _objects(document):
            if item.kind == MAP:
                result.objects.append(item)
            if (
                item.kind == MAP
                and scalar_text(item.get("kind")) == "ConfigMap"
                and is_agent_configmap(item)
            ):
                _configmap(item, file, lines, result)
            else:
                result.skipped_objects += 1
    return result


def _documents(text: str) -> Iterator[Node | None]:
    if starts_as_json(text):
        yield read_json_document(text)
    else:
        yield from read_yaml_documents(text)
