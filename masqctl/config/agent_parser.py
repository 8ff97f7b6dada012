"""The agent's own config decoding, step by step as upstream's ``syncConfig`` does it.

1. apimachinery's ToJSON: text whose first non-space byte is ``{`` is JSON as it is;
   anything else is YAML (its first document), which sigs.k8s.io/yaml turns into JSON:
   every mapping key becomes a string or the whole config is refused (a null key, a
   sequence as key, a uint64), and json.Marshal sorts the keys.
2. encoding/json into the agent's struct pre-filled with its defaults: every occurrence of
   a key, in that order, is decoded onto the same field.  A null keeps what is there; a
   list is written element by element into the slice already there, so a null item keeps
   the default (or earlier value) at its index; a type error is kept and the first one
   returned at the end; a resyncInterval error stops decoding at once.
3. validate(): the CIDR limit, then each CIDR's syntax, alignment and family.

The agent's error is exactly the first of these (:attr:`DecodedConfig.agent_error`); every
finding is reported at its position in the user's file.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from masqctl.agent import CONFIG_KEYS, AgentFlags
from masqctl.config.goparse import (
    INT64_MAX,
    INT64_MIN,
    CIDRError,
    ParsedCIDR,
    format_address,
    format_duration,
    go_bool,
    go_json_number,
    go_json_string,
    go_quote,
    is_ipv4_mapped,
    parse_cidr,
    parse_duration,
)
from masqctl.config.json_reader import read_json_document, starts_as_json
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
    nesting_depth,
)
from masqctl.config.yaml_reader import go_sharp_v, read_yaml_documents, recursion_room
from masqctl.findings import ERROR, Finding
from masqctl.lint.report import finding_at
from masqctl.model import DEFAULTS_SOURCE, CIDREntry, MasqConfig, Origin, default_config

Locator = Callable[[int, int], tuple[int, int]]

#: Names people write for things that are agent flags, not config keys.
_FLAG_ALIASES = {
    "enableipv6": "the agent flag --enable-ipv6 (it is not a config key)",
    "masqchain": "the agent flag --masq-chain (it is not a config key)",
    "randomfully": "the agent flag --random-fully (it is not a config key)",
    "toports": "the agent flag --to-ports (it is not a config key)",
    "nomasqallreservedranges": "the agent flag --nomasq-all-reserved-ranges",
}
#: Go's type names of the struct's fields, for its error messages.
_GO_TYPES = {
    "nonMasqueradeCIDRs": "[]string",
    "cidrLimit": "int",
    "masqLinkLocal": "bool",
    "masqLinkLocalIPv6": "bool",
    "resyncInterval": "string",
}
#: A list item decoder: (the item, its JSON text) → the CIDR and a warning about it (or
#: None), or Abort.
ItemDecoder = Callable[[Node, str], tuple[str, str | None]]


@dataclass(frozen=True)
class Struct:
    """The Go struct an agent decodes its config file into."""

    #: The JSON keys the struct has (a subset of CONFIG_KEYS).
    fields: tuple[str, ...] = CONFIG_KEYS
    #: Its name in encoding/json's messages, and its type's.
    name: str = "MasqConfig"
    type_name: str = "main.MasqConfig"
    #: Go's type of the list field and of its items.
    list_type: str = "[]string"
    item_type: str = "string"
    #: The struct starts from the agent's defaults (upstream), or from zero values.
    prefilled: bool = True
    #: Items that decode themselves (Cilium's Ipnet: an UnmarshalJSON of the raw text).
    item_decoder: ItemDecoder | None = None
    #: Keys of upstream's config the agent does not have: why reading them is a mistake.
    unread: tuple[tuple[str, str], ...] = ()


UPSTREAM_STRUCT = Struct()


class Abort(Exception):
    """An UnmarshalJSON error: encoding/json stops decoding and returns it at once."""


def _identity(line: int, column: int) -> tuple[int, int]:
    return line, column


@dataclass
class ConfigText:
    """An agent config's text, and how its positions map into the user's file."""

    text: str
    file: str
    locate: Locator = _identity


@dataclass
class DecodedConfig:
    """The effective config, every finding about how the agent reads it, and the error
    the agent's syncConfig returns for it (None: the agent takes the config)."""

    config: MasqConfig
    findings: list[Finding] = field(default_factory=list)
    agent_error: str | None = None
    #: Where the agent's error arose: "tojson" (apimachinery's ToJSON), "unmarshal"
    #: (encoding/json) or "validate" (the agent's own checks).
    phase: str | None = None


def go_fold(text: str) -> str:
    """Go's case folding for JSON keys (Kelvin sign and long s fold to ASCII too)."""
    return text.replace("\u212a", "k").replace("\u017f", "s").lower()


_FOLDED_KEYS = {go_fold(key): key for key in CONFIG_KEYS}


def _meant_key(name: str) -> tuple[str | None, str | None]:
    """For an unknown key: the agent flag it names, and the config key it is closest to."""
    alias = _FLAG_ALIASES.get(go_fold(name).replace("-", "").replace("_", ""))
    close = difflib.get_close_matches(go_fold(name), list(_FOLDED_KEYS), n=1, cutoff=0.6)
    return alias, _FOLDED_KEYS[close[0]] if close else None


def is_agent_key_like(name: str) -> bool:
    """Whether a key is an agent key, in any case, or a likely misspelling of one."""
    return go_fold(name) in _FOLDED_KEYS or any(_meant_key(name))


# ---- step 1: YAML keys as sigs.k8s.io/yaml makes them strings -------------------------


class _Refused(Exception):
    """The agent refuses the config at this node, with its own error text."""

    def __init__(self, node: Node, rule: str, message: str, agent_error: str) -> None:
        super().__init__(agent_error)
        self.node, self.rule, self.message, self.agent_error = node, rule, message, agent_error


def go_float32_key(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 32): a YAML float key as JSON names it."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    import struct

    single = struct.unpack("f", struct.pack("f", value))[0]
    if single == 0:
        return "0"
    for precision in range(1, 10):
        text = f"{single:.{precision - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    mantissa, exponent_text = text.split("e")
    digits = mantissa.replace(".", "").replace("-", "").rstrip("0") or "0"
    exponent = int(exponent_text)
    sign = "-" if single < 0 else ""
    if exponent < -4 or exponent >= 6:  # shortest 'g' decides with precision 6
        rest = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{rest}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole = digits[: exponent + 1].ljust(exponent + 1, "0")
    fraction = digits[exponent + 1 :]
    return f"{sign}{whole}{'.' + fraction if fraction else ''}"


def yaml_key_name(key: Node, value: Node) -> str:
    """The JSON key sigs.k8s.io/yaml makes of a YAML mapping key (a scalar: go-yaml
    refuses the others); _Refused where the converter cannot (null and uint64)."""
    if key.tag == NULL:
        raise _Refused(
            key,
            "MASQ025",
            "a null key (null, ~ or an empty ?): the agent refuses the whole config",
            "unsupported map key of type: %!s(<nil>), key: <nil>, value: " + _plus_repr(value),
        )
    if key.tag == INT and key.value > INT64_MAX:
        raise _Refused(
            key,
            "MASQ026",
            f"the key {key.value} is a uint64 to go-yaml: the agent refuses the whole config",
            f"unsupported map key of type: uint64, key: 0x{key.value:x}, value: "
            + _plus_repr(value),
        )
    if key.tag == BOOL:
        return go_bool(key.value)
    if key.tag == FLOAT:
        return go_float32_key(key.value)
    return str(key.value)


def _plus_repr(node: Node) -> str:
    """Go's ``%+#v`` of a decoded value: as %#v, but nil prints as ``<nil>``."""
    if node.kind == SCALAR and node.tag == NULL:
        return "<nil>"
    with recursion_room(nesting_depth(node)):
        return go_sharp_v(node)


def go_json_value(node: Node) -> str:
    """json.Marshal of the value go-yaml decodes ``node`` to (map keys sorted)."""
    with recursion_room(nesting_depth(node)):
        return _json_marshal(node)


def _json_members(node: Node) -> list[tuple[str, Node]]:
    """A YAML mapping's members as ToJSON hands them to json.Marshal: the last of equal
    keys kept (go-yaml's map), sorted by their JSON names."""
    latest = {yaml_key_name(key, value): value for key, value in node.value}
    return sorted(latest.items(), key=lambda member: member[0])


def _json_marshal(node: Node) -> str:
    if node.kind == MAP:
        members = _json_members(node)
        return "{" + ",".join(f"{go_json_string(k)}:{_json_marshal(v)}" for k, v in members) + "}"
    if node.kind == SEQ:
        return "[" + ",".join(_json_marshal(item) for item in node.value) + "]"
    if node.tag == NULL:
        return "null"
    if node.tag == BOOL:
        return go_bool(node.value)
    if node.tag == STR:
        return go_json_string(node.value)
    return str(node.value) if node.tag == INT else go_json_number(node.value)


def _check_convertible(node: Node) -> None:
    """What sigs.k8s.io/yaml's YAMLToJSON refuses, or nothing: first a mapping key it
    cannot make a string (null or uint64; among several, the first in document order,
    where the agent's map iteration picks one at random), then a value json.Marshal
    cannot write (NaN or an infinity, anywhere in the document): _Refused."""
    refused: list[tuple[Node, Node]] = []
    non_finite = _is_non_finite(node)
    pending = [node]
    while pending:  # no recursion: a config may nest 10000 deep
        current = pending.pop()
        if current.kind == MAP:
            for key, value in current.value:
                if key.tag == NULL or (key.tag == INT and key.value > INT64_MAX):
                    refused.append((key, value))
                if value.kind != SCALAR:
                    pending.append(value)
                elif value.tag == FLOAT:
                    non_finite = non_finite or not math.isfinite(value.value)
        elif current.kind == SEQ:
            for item in current.value:
                if item.kind != SCALAR:
                    pending.append(item)
                elif item.tag == FLOAT:
                    non_finite = non_finite or not math.isfinite(item.value)
    if refused:
        yaml_key_name(*min(refused, key=lambda pair: (pair[0].line, pair[0].column)))
    if non_finite:
        _refuse_first_non_finite(node)


def _is_non_finite(node: Node) -> bool:
    return node.kind == SCALAR and node.tag == FLOAT and not math.isfinite(node.value)


def _refuse_first_non_finite(root: Node) -> None:
    """_Refused at the NaN or infinity json.Marshal meets first: map keys in sorted order,
    the last of equal keys kept (go-yaml's map), as ToJSON hands it the document."""
    pending: list[tuple[str, Node]] = [("", root)]
    while pending:
        path, current = pending.pop()
        if current.kind == MAP:
            pending.extend(
                (f"{path}.{name}" if path else name, value)
                for name, value in reversed(_json_members(current))
            )
        elif current.kind == SEQ:
            items = current.value
            last_first = reversed(range(len(items)))
            pending.extend((f"{path}[{index}]", items[index]) for index in last_first)
        elif _is_non_finite(current):
            value = current.value
            go_value = "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
            raise _Refused(
                current,
                "MASQ005",
                f"{path + ': ' if path else ''}{current.raw} has no JSON form, so the agent "
                "cannot convert the config",
                f"json: unsupported value: {go_value}",
            )


# ---- step 2: encoding/json into the struct --------------------------------------------


@dataclass
class _Slot:
    """One element of the nonMasqueradeCIDRs slice's backing array."""

    text: str
    origin: Origin | None


class _Decoder:
    """encoding/json's decoding of one config into the agent's pre-filled struct."""

    def __init__(
        self, source: ConfigText, flags: AgentFlags, is_json: bool, struct: Struct
    ) -> None:
        self.source = source
        self.flags = flags
        self.is_json = is_json
        self.struct = struct
        self.findings: list[Finding] = []
        #: The first type error (returned at the end) and an error that stopped decoding.
        self.saved_error: str | None = None
        self.abort_error: str | None = None
        defaults = default_config(flags, source.file)
        #: How many CIDRs the agent's defaults hold (the backing array a prefilled struct
        #: starts with).
        self.default_count = len(defaults.non_masquerade_cidrs)
        self.backing = (
            [_Slot(entry.text, entry.origin) for entry in defaults.non_masquerade_cidrs]
            if struct.prefilled
            else []
        )
        self.length = len(self.backing)
        self.cidrs_null = False
        #: Positions of list items whose value is a fresh "" (null past the backing array).
        self.exposed_empty: set[int] = set()
        self.cidr_limit = defaults.cidr_limit
        self.masq_link_local = defaults.masq_link_local
        self.masq_link_local_ipv6 = defaults.masq_link_local_ipv6
        self.resync_interval_ns = defaults.resync_interval_ns

    def report(self, rule: str, node: Node, message: str, severity: str | None = None) -> None:
        self.findings.append(finding_at(rule, self.origin(node, ""), message, severity))

    def origin(self, node: Node, entry: str) -> Origin:
        line, column = self.source.locate(node.line, node.column)
        return Origin(self.source.file, line, column, entry)

    def type_error(self, key: str, node: Node, go_type: str | None = None) -> None:
        """Save a type error (the first is the agent's) and report it."""
        go_type = go_type or (
            self.struct.list_type if key == "nonMasqueradeCIDRs" else _GO_TYPES[key]
        )
        described = node.describe()
        if described == "number" and go_type == "int":
            described = f"number {self.number_text(node)}"
        agent = (
            f"json: cannot unmarshal {described} into Go struct field {self.struct.name}.{key} "
            f"of type {go_type}"
        )
        self.report(
            "MASQ005", node, f"{key}: the agent cannot decode {described} into {go_type} ({agent})"
        )
        self.saved_error = self.saved_error or agent

    def number_text(self, node: Node) -> str:
        """The number as the JSON text the agent's decoder reads: as written in JSON, as
        json.Marshal writes it for YAML."""
        if self.is_json or node.tag == INT:
            return node.raw if self.is_json else str(node.value)
        return go_json_number(node.value)

    # --- keys -------------------------------------------------------------------------

    def entries(self, root: Node) -> list[tuple[str, Node, Node]]:
        """``(JSON key, key node, value node)`` in the order the decoder meets them: JSON
        keys as written; YAML keys made strings, the last of equal ones kept, sorted."""
        if self.is_json:
            return [(str(key.value), key, value) for key, value in root.items()]
        latest: dict[str, tuple[Node, Node]] = {}
        for key, value in root.items():
            name = yaml_key_name(key, value)
            if name in latest:
                self.report(
                    "MASQ006",
                    latest[name][0],
                    f'key "{name}" is given again at line {self.line_of(key)}: go-yaml keeps '
                    "only the later one",
                )
            latest[name] = (key, value)
        return [(name, *latest[name]) for name in sorted(latest)]

    def line_of(self, node: Node) -> int:
        return self.source.locate(node.line, node.column)[0]

    def decode(self, root: Node) -> MasqConfig:
        """The struct after each entry of ``root`` is decoded onto it in turn."""
        origins: dict[str, Origin] = {}
        first_of: dict[str, Node] = {}
        unread = dict(self.struct.unread)
        for name, key, value in self.entries(root):
            field_name = _FOLDED_KEYS.get(go_fold(name))
            if field_name in unread:
                self.report("MASQ028", key, f'key "{name}": {unread[field_name]}')
                continue
            if field_name is None or field_name not in self.struct.fields:
                self.report("MASQ002", key, self.unknown_key_message(name))
                continue
            if name != field_name:
                self.report(
                    "MASQ007",
                    key,
                    f'key "{name}" is read by the agent as "{field_name}" (keys match '
                    f'case-insensitively); spell it "{field_name}"',
                )
            if field_name in first_of:
                self.report(
                    "MASQ006",
                    key,
                    f'key "{name}" is given more than once (also line '
                    f"{self.line_of(first_of[field_name])}): the agent decodes each in turn "
                    "onto the same value (a null keeps what the other gave, a list is written "
                    "into the other's element by element)",
                )
            first_of.setdefault(field_name, key)
            origins[field_name] = self.origin(key, field_name)
            if self.abort_error is None:
                getattr(self, f"decode_{field_name}")(value)
        return self.config_now(origins)

    def config_now(self, key_origins: dict[str, Origin] | None = None) -> MasqConfig:
        """The struct as it is now: after decoding (``key_origins``: where each key was),
        or before (or without) it, the agent's starting values."""
        return MasqConfig(
            non_masquerade_cidrs=self.cidr_entries(),
            cidrs_null=self.cidrs_null,
            cidr_limit=self.cidr_limit,
            masq_link_local=self.masq_link_local,
            masq_link_local_ipv6=self.masq_link_local_ipv6,
            resync_interval_ns=self.resync_interval_ns,
            source=self.source.file,
            key_origins=key_origins or {},
        )

    def cidr_entries(self) -> tuple[CIDREntry, ...]:
        return tuple(
            CIDREntry(slot.text, index, slot.origin or Origin(self.source.file, 0, 0, ""))
            for index, slot in enumerate(self.backing[: self.length])
        )

    def unknown_key_message(self, name: str) -> str:
        """MASQ002's words: the key is ignored; the flag or the key it likely means."""
        message = f'unknown key "{name}": the agent silently ignores it'
        alias, close = _meant_key(name)
        if alias:
            return f"{message}; did you mean {alias}?"
        if close:
            return f'{message}; did you mean "{close}"?'
        return message

    # --- values -----------------------------------------------------------------------

    def decode_nonMasqueradeCIDRs(self, node: Node) -> None:
        """encoding/json's array into the slice there: null makes it nil, ``[]`` a new
        empty slice; each item is written into the element at its index (see null_item)."""
        if node.kind == SCALAR and node.tag == NULL:
            self.backing, self.length, self.cidrs_null = [], 0, True
            self.exposed_empty.clear()
            return
        if node.kind != SEQ:
            self.type_error("nonMasqueradeCIDRs", node)
            return
        self.cidrs_null = False
        if not node.value:  # `[]` makes a new, empty slice
            self.backing, self.length = [], 0
            self.exposed_empty.clear()
            return
        for index, item in enumerate(node.value):
            if index >= len(self.backing):
                self.backing.append(_Slot("", None))  # grown: fresh memory
            entry = f"nonMasqueradeCIDRs[{index}]"
            slot = self.backing[index]
            if self.struct.item_decoder is not None:
                try:
                    text, warning = self.struct.item_decoder(item, self.json_text(item))
                except Abort as error:
                    self.abort_error = str(error)
                    self.report("MASQ004", item, f"{entry}: {error}")
                    return
                if warning is not None:
                    self.report("MASQ029", item, warning)
                self.backing[index] = _Slot(text, self.origin(item, entry))
            elif item.kind == SCALAR and item.tag == STR:
                self.backing[index] = _Slot(item.value, self.origin(item, entry))
                self.exposed_empty.discard(index)
            elif item.kind == SCALAR and item.tag == NULL:
                self.null_item(item, index, slot)
            else:
                self.type_error("nonMasqueradeCIDRs", item, self.struct.item_type)
        self.length = len(node.value)

    def null_item(self, item: Node, index: int, slot: _Slot) -> None:
        """A null item leaves the element at its index as it is: a default, an earlier
        value, or the empty string (past the backing array, or left there by an earlier
        item), which the agent refuses."""
        entry = f"nonMasqueradeCIDRs[{index}]"
        if slot.text == "":
            self.exposed_empty.add(index)
            self.backing[index] = _Slot("", self.origin(item, entry))
            past = (
                f", past the {self.default_count} default CIDRs the agent decodes into"
                if self.struct.prefilled and index >= self.default_count
                else ""
            )
            self.report(
                "MASQ023",
                item,
                f'{entry} is null{past}: the agent reads it as "" and refuses the config (CIDR '
                '"" could not be parsed, invalid CIDR address: )',
                ERROR,
            )
            return
        where = (
            "the default"
            if slot.origin is not None and slot.origin.file == DEFAULTS_SOURCE
            else f"the earlier value (line {slot.origin.line if slot.origin else 0})"
        )
        self.backing[index] = _Slot(
            slot.text, self.origin(item, f"{entry} (null: keeps {where} {slot.text})")
        )
        self.report(
            "MASQ023",
            item,
            f"{entry} is null: the agent keeps {where} {slot.text} that sat at index {index} "
            "and leaves it unmasqueraded (a null item does not remove anything)",
        )

    def json_text(self, node: Node) -> str:
        """The node's JSON text as encoding/json hands it to an UnmarshalJSON: as written
        in a JSON file; as json.Marshal writes the YAML value."""
        if self.is_json:
            return self.source.text[node.start : node.end]
        return go_json_value(node)

    def decode_bool(self, key: str, node: Node) -> bool | None:
        """A bool field's new value; None keeps the one there (null, or a type error)."""
        if node.kind == SCALAR and node.tag == NULL:
            return None
        if node.kind == SCALAR and node.tag == BOOL:
            return bool(node.value)
        self.type_error(key, node)
        return None

    def decode_masqLinkLocal(self, node: Node) -> None:
        value = self.decode_bool("masqLinkLocal", node)
        self.masq_link_local = self.masq_link_local if value is None else value

    def decode_masqLinkLocalIPv6(self, node: Node) -> None:
        value = self.decode_bool("masqLinkLocalIPv6", node)
        self.masq_link_local_ipv6 = self.masq_link_local_ipv6 if value is None else value

    def decode_cidrLimit(self, node: Node) -> None:
        """An int field: the number's JSON text must be a whole number within int64."""
        if node.kind == SCALAR and node.tag == NULL:
            return
        if (
            node.kind != SCALAR
            or node.tag not in (INT, FLOAT)
            or (node.tag == FLOAT and not math.isfinite(node.value))
        ):
            self.type_error("cidrLimit", node)
            return
        text = self.number_text(node)
        value = int(text) if text.lstrip("-").isdigit() else None
        if value is None or not INT64_MIN <= value <= INT64_MAX:
            self.type_error("cidrLimit", node)
            return
        self.cidr_limit = value

    def decode_resyncInterval(self, node: Node) -> None:
        """metav1.Duration: json.Unmarshal into a string, then time.ParseDuration; any
        error stops the whole decoding at once."""
        if node.kind == SCALAR and node.tag == NULL:
            self.abort_error = 'time: invalid duration ""'
            self.report("MASQ010", node, f"resyncInterval: {self.abort_error} (the value is null)")
            return
        if node.kind != SCALAR or node.tag != STR:
            self.abort_error = (
                f"json: cannot unmarshal {node.describe()} into Go struct field "
                f"{self.struct.name}.resyncInterval of type string"
            )
            self.report(
                "MASQ005",
                node,
                f'resyncInterval must be a quoted duration such as "60s" ({self.abort_error})',
            )
            return
        try:
            nanos = parse_duration(node.value)
        except ValueError as error:
            self.abort_error = str(error)
            self.report("MASQ010", node, f"resyncInterval: {error}")
            return
        if nanos <= 0:
            self.report(
                "MASQ011",
                node,
                f"resyncInterval {go_quote(node.value)} is {format_duration(nanos)}: the "
                "agent would resync in a busy loop",
            )
        self.resync_interval_ns = nanos


# ---- step 3: validate() ---------------------------------------------------------------


def agent_validate(
    config: MasqConfig, flags: AgentFlags, skip: frozenset[int] = frozenset()
) -> tuple[str | None, list[Finding]]:
    """The agent's validate(): its error (the first), and a finding for every problem.

    ``skip``: indices already reported (null items read as "")."""
    findings: list[Finding] = []
    errors: list[str] = []

    def report(rule: str, origin: Origin, message: str, agent_error: str | None) -> None:
        findings.append(finding_at(rule, origin, message))
        if agent_error is not None:
            errors.append(agent_error)

    cidrs = config.non_masquerade_cidrs
    if len(cidrs) > config.cidr_limit:
        first_too_many = cidrs[config.cidr_limit] if config.cidr_limit >= 0 else None
        where = (
            first_too_many.origin
            if first_too_many is not None and first_too_many.origin.line
            else config.key_origins.get("cidrLimit", Origin(config.source, 0, 0, "cidrLimit"))
        )
        text = (
            f"the daemon can only accept up to {config.cidr_limit} CIDRs (excluding "
            f"link-local), but got {len(cidrs)} CIDRs (excluding link local)"
        )
        report("MASQ009", where, text, text)
    for entry in cidrs:
        try:
            parsed = parse_cidr(entry.text)
        except CIDRError as error:
            quoted = go_quote(entry.text)
            agent = f"CIDR {quoted} could not be parsed, {error}"
            if entry.index in skip:
                errors.append(agent)
            else:
                report("MASQ004", entry.origin, agent + _cidr_hint(entry.text), agent)
            continue
        if not parsed.aligned:
            quoted = go_quote(entry.text)
            agent = (
                f"CIDR {quoted} is not aligned to a CIDR block, ip: "
                f'"{_go_ip(parsed.address, parsed.version)}" network: "{_go_network(parsed)}"'
            )
            report(
                "MASQ003",
                entry.origin,
                f"CIDR {quoted} has host bits set; the agent rejects it (did you mean "
                f"{parsed.network_text()}?)",
                agent,
            )
            continue
        if is_ipv4_mapped(parsed):
            quoted = go_quote(entry.text)
            report(
                "MASQ022",
                entry.origin,
                f"CIDR {quoted} is an IPv4-mapped IPv6 CIDR: the agent takes it as IPv4 and "
                f"writes it into the iptables payload, which iptables-restore rejects "
                f"(invalid mask `{parsed.prefix}' specified): every sync then fails and the "
                "chain keeps its old rules, or never appears on a new node",
                None,
            )
        elif parsed.version == 6 and not flags.enable_ipv6:
            text = (
                f"ipv6 is not enabled, but ipv6 cidr {entry.text} provided. Enable ipv6 "
                "using --enable-ipv6 agent flag"
            )
            report("MASQ008", entry.origin, text, text)
        mask = entry.text.rpartition("/")[2]
        if len(mask) > 1 and mask.startswith("0"):
            findings.append(_leading_zero_finding(entry, go_quote(entry.text), mask))
    return (errors[0] if errors else None), findings


def _leading_zero_finding(entry: CIDREntry, quoted: str, mask: str) -> Finding:
    """A prefix length with a leading zero: the agent writes it as it is, and iptables
    reads it as octal (masqctl.ruleset.iptables_prefix_length)."""
    from masqctl.findings import WARNING
    from masqctl.ruleset import iptables_prefix_length, misread_prefix

    said = f"CIDR {quoted} has a prefix length with leading zeros: the agent takes it and "
    read = iptables_prefix_length(mask)
    if read is None:
        return finding_at(
            "MASQ027",
            entry.origin,
            f"{said}writes it as it is, and iptables-restore rejects it (invalid mask "
            f"`{mask}' specified): every sync then fails",
        )
    meant = misread_prefix(entry.text)
    if meant is None:
        return finding_at(
            "MASQ027",
            entry.origin,
            f"{said}writes it as it is; iptables reads such a length as octal, here the "
            f"same /{read}",
            WARNING,
        )
    return finding_at(
        "MASQ027",
        entry.origin,
        f"{said}writes it as it is, and iptables reads such a length as octal: the rule "
        f"it makes is {meant}, so more is left unmasqueraded than the config says",
    )


def _go_ip(address: int, version: int) -> str:
    """net.IP.String(): an IPv4-mapped IPv6 address prints as IPv4."""
    if version == 6 and address >> 32 == 0xFFFF:
        return format_address(address & 0xFFFFFFFF, 4)
    return format_address(address, version)


def _go_network(parsed: ParsedCIDR) -> str:
    """net.IPNet.String(): an IPv4-mapped network with a mask of 96 bits or more prints as
    an IPv4 network."""
    if parsed.version == 6 and parsed.network >> 32 == 0xFFFF and parsed.prefix >= 96:
        return f"{format_address(parsed.network & 0xFFFFFFFF, 4)}/{parsed.prefix - 96}"
    return parsed.network_text()


def _cidr_hint(text: str) -> str:
    """A short why for the common ParseCIDR refusals."""
    address, _, mask = text.partition("/")
    if "/" not in text:
        return " (a prefix length is required, e.g. /32)"
    if "." in mask:
        return " (write a prefix length, not a netmask)"
    if "%" in address:
        return " (zones are not allowed)"
    if any(part.startswith("0") and len(part) > 1 for part in address.split(".")):
        return " (leading zeros are not allowed)"
    return ""


# ---- the whole reading ----------------------------------------------------------------


def read_config_node(source: ConfigText) -> tuple[Node | None, bool, list[Finding]]:
    """Parse the text as the agent does: ``(root, is_json, findings)``."""
    findings: list[Finding] = []

    def report(rule: str, line: int, column: int, message: str) -> None:
        line, column = source.locate(line, column)
        findings.append(finding_at(rule, Origin(source.file, line, column, ""), message))

    if starts_as_json(source.text):
        try:
            return read_json_document(source.text), True, findings
        except DocumentError as error:
            report(
                "MASQ001",
                error.line,
                error.column,
                f"{error.message} (text starting with '{{' is parsed as JSON by the agent)",
            )
            return None, True, findings
    root = None
    documents = read_yaml_documents(source.text)
    try:
        root = next(documents, None)
    except DocumentError as error:
        report("MASQ001", error.line, error.column, error.message)
        return None, False, findings
    try:
        extra = next((doc for doc in documents if doc is not None), None)
        if extra is not None:
            report(
                "MASQ020",
                extra.line,
                extra.column,
                "a second YAML document: the agent reads only the first and ignores this one",
            )
    except DocumentError as error:
        report(
            "MASQ020",
            error.line,
            error.column,
            f"after the first document (the only one the agent reads): {error.message}",
        )
    return root, False, findings


def _syntax_error(findings: list[Finding]) -> str | None:
    """The agent's refusal when the text did not parse (its parser's own words differ)."""
    return next((f.message for f in findings if f.rule == "MASQ001"), None)


def decode_struct(
    source: ConfigText, flags: AgentFlags, struct: Struct
) -> tuple[DecodedConfig, frozenset[int]]:
    """Steps 1 and 2 (see the module doc) for the agent's ``struct``: the config, the
    findings, and the decoding error; and the list items read as a fresh "" (a null
    item past the backing array), which the agent's own validation then refuses."""
    root, is_json, findings = read_config_node(source)
    decoder = _Decoder(source, flags, is_json, struct)
    syntax = _syntax_error(findings)
    if syntax is not None or root is None or (root.kind == SCALAR and root.tag == NULL):
        phase = None if syntax is None else "unmarshal" if is_json else "tojson"
        return DecodedConfig(decoder.config_now(), findings, syntax, phase), frozenset()
    try:
        if not is_json:
            _check_convertible(root)
        if root.kind != MAP:
            agent = (
                f"json: cannot unmarshal {root.describe()} into Go value of type {struct.type_name}"
            )
            decoder.report(
                "MASQ021",
                root,
                f"the config is {root.describe()} but the agent needs a mapping of keys ({agent})",
            )
            refused = DecodedConfig(
                decoder.config_now(), findings + decoder.findings, agent, "unmarshal"
            )
            return refused, frozenset()
        config = decoder.decode(root)
    except _Refused as refused:
        decoder.report(refused.rule, refused.node, f"{refused.message} ({refused.agent_error})")
        return DecodedConfig(
            decoder.config_now(), findings + decoder.findings, refused.agent_error, "tojson"
        ), frozenset()
    error = decoder.abort_error or decoder.saved_error
    decoded = DecodedConfig(
        config, findings + decoder.findings, error, None if error is None else "unmarshal"
    )
    return decoded, frozenset(decoder.exposed_empty)


def decode_config(source: ConfigText, flags: AgentFlags) -> DecodedConfig:
    """Read one config file the way upstream's agent does, with every finding about it."""
    decoded, exposed = decode_struct(source, flags, UPSTREAM_STRUCT)
    return with_validation(decoded, flags, exposed)


def with_validation(
    decoded: DecodedConfig, flags: AgentFlags, exposed: frozenset[int]
) -> DecodedConfig:
    """``decoded`` with the agent's validate() run on it: its findings always (validate
    reports every problem), its error when decoding had none."""
    validate_error, validate_findings = agent_validate(decoded.config, flags, exposed)
    decoded.findings.extend(validate_findings)
    if decoded.agent_error is None and validate_error is not None:
        decoded.agent_error, decoded.phase = validate_error, "validate"
    return decoded
