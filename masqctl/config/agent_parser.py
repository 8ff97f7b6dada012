"""The agent's own config decoding: ToJSON, encoding/json into its struct, validate().

Every consequence of the agent's reading is reproduced: JSON-or-YAML by the first
byte, case-insensitive keys where the last one wins, unknown keys dropped, Go's strict
types, null keeping a default (but emptying the CIDR list), and the agent's checks.
Each deviation is reported as a finding at the position in the user's file.
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
    format_duration,
    is_ipv4_mapped,
    parse_cidr,
    parse_duration,
)
from masqctl.config.json_reader import read_json_document, starts_as_json
from masqctl.config.nodes import BOOL, FLOAT, INT, MAP, NULL, SCALAR, SEQ, STR, DocumentError, Node
from masqctl.config.yaml_reader import read_yaml_documents
from masqctl.findings import Finding
from masqctl.lint.report import finding_at
from masqctl.model import CIDREntry, MasqConfig, Origin, default_config

Locator = Callable[[int, int], tuple[int, int]]

#: Names people write for things that are agent flags, not config keys.
_FLAG_ALIASES = {
    "enableipv6": "the agent flag --enable-ipv6 (it is not a config key)",
    "masqchain": "the agent flag --masq-chain (it is not a config key)",
    "randomfully": "the agent flag --random-fully (it is not a config key)",
    "toports": "the agent flag --to-ports (it is not a config key)",
    "nomasqallreservedranges": "the agent flag --nomasq-all-reserved-ranges",
}


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
    """The effective config and every finding about how the agent reads it."""

    config: MasqConfig
    findings: list[Finding] = field(default_factory=list)


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


def _json_key(node: Node) -> str:
    """The JSON object key sigs.k8s.io/yaml makes of a YAML key."""
    if node.kind != SCALAR:
        return node.raw or node.kind
    if node.tag == BOOL:
        return "true" if node.value else "false"
    if node.tag == NULL:
        return "null"
    return str(node.value)


def _go_float_text(value: float) -> str:
    """json.Marshal's text for a float64 (what the agent's decoder then reads)."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


class _Decoder:
    def __init__(self, source: ConfigText, flags: AgentFlags, is_json: bool) -> None:
        self.source = source
        self.flags = flags
        self.is_json = is_json
        self.findings: list[Finding] = []

    def report(self, rule: str, node: Node, message: str) -> None:
        self.findings.append(finding_at(rule, self.origin(node, ""), message))

    def origin(self, node: Node, entry: str) -> Origin:
        line, column = self.source.locate(node.line, node.column)
        return Origin(self.source.file, line, column, entry)

    def type_error(self, key: str, node: Node, go_type: str) -> None:
        if node.kind == SCALAR and node.tag == FLOAT and not math.isfinite(node.value):
            go_value = "NaN" if math.isnan(node.value) else ("+Inf" if node.value > 0 else "-Inf")
            self.report(
                "MASQ005",
                node,
                f"{key}: {node.raw} has no JSON form, so the agent cannot convert the config "
                f"(json: unsupported value: {go_value})",
            )
            return
        described = node.describe()
        if node.kind == SCALAR and node.tag in (INT, FLOAT):
            described = f"number {node.raw if self.is_json else _go_float_text(node.value)}"
        self.report(
            "MASQ005",
            node,
            f"{key}: the agent cannot decode {described} into {go_type} "
            f"(json: cannot unmarshal {described} into Go struct field "
            f"MasqConfig.{key} of type {go_type})",
        )

    # --- keys -------------------------------------------------------------------------

    def ordered_entries(self, root: Node) -> list[tuple[Node, Node]]:
        """Entries in the order the agent's decoder applies them (the last one wins)."""
        if self.is_json:
            return list(root.items())
        latest: dict[str, tuple[Node, Node]] = {}
        for key, value in root.items():
            latest[_json_key(key)] = (key, value)
        return [latest[name] for name in sorted(latest)]

    def decode(self, root: Node) -> MasqConfig:
        config = default_config(self.flags, self.source.file)
        values: dict[str, tuple[Node, Node]] = {}
        seen: dict[str, list[Node]] = {}
        for key_node, _ in root.items():
            name = _json_key(key_node)
            field_name = _FOLDED_KEYS.get(go_fold(name))
            if field_name is None:
                self.report("MASQ002", key_node, self.unknown_key_message(name))
                continue
            seen.setdefault(field_name, []).append(key_node)
            if name != field_name:
                self.report(
                    "MASQ007",
                    key_node,
                    f'key "{name}" is read by the agent as "{field_name}" (keys match '
                    f'case-insensitively); spell it "{field_name}"',
                )
        for key_node, value_node in self.ordered_entries(root):
            field_name = _FOLDED_KEYS.get(go_fold(_json_key(key_node)))
            if field_name is not None:
                values[field_name] = (key_node, value_node)
        for field_name, key_nodes in seen.items():
            if len(key_nodes) > 1:
                winner = values[field_name][0]
                for lost in key_nodes:
                    if lost is not winner:
                        self.report(
                            "MASQ006",
                            lost,
                            f'key "{_json_key(lost)}" is given more than once; the agent '
                            f'uses only "{_json_key(winner)}" at line '
                            f"{self.source.locate(winner.line, winner.column)[0]}",
                        )
        changes: dict[str, object] = {}
        origins = {}
        for field_name, (key_node, value_node) in values.items():
            origins[field_name] = self.origin(key_node, field_name)
            decoded = getattr(self, f"decode_{field_name}")(value_node)
            if decoded is not _KEEP:
                changes[field_name] = decoded
        return MasqConfig(
            non_masquerade_cidrs=changes.get("nonMasqueradeCIDRs", config.non_masquerade_cidrs),
            cidr_limit=changes.get("cidrLimit", config.cidr_limit),
            masq_link_local=changes.get("masqLinkLocal", config.masq_link_local),
            masq_link_local_ipv6=changes.get("masqLinkLocalIPv6", config.masq_link_local_ipv6),
            resync_interval_ns=changes.get("resyncInterval", config.resync_interval_ns),
            source=self.source.file,
            key_origins=origins,
        )

    def unknown_key_message(self, name: str) -> str:
        message = f'unknown key "{name}": the agent silently ignores it'
        alias, close = _meant_key(name)
        if alias:
            return f"{message}; did you mean {alias}?"
        if close:
            return f'{message}; did you mean "{close}"?'
        return message

    # --- values -----------------------------------------------------------------------

    def decode_nonMasqueradeCIDRs(self, node: Node) -> object:
        if node.kind == SCALAR and node.tag == NULL:
            return ()
        if node.kind != SEQ:
            self.type_error("nonMasqueradeCIDRs", node, "[]string")
            return _KEEP
        entries = []
        for index, item in enumerate(node.value):
            entry = f"nonMasqueradeCIDRs[{index}]"
            if item.kind == SCALAR and item.tag == NULL:
                self.report(
                    "MASQ023",
                    item,
                    f'{entry} is empty (null); the agent reads it as "" and refuses the '
                    'config: CIDR "" could not be parsed, invalid CIDR address: ',
                )
                entries.append(CIDREntry("", index, self.origin(item, entry), null=True))
            elif item.kind == SCALAR and item.tag == STR:
                entries.append(CIDREntry(item.value, index, self.origin(item, entry)))
            else:
                self.type_error("nonMasqueradeCIDRs", item, "string")
        return tuple(entries)

    def decode_bool(self, key: str, node: Node) -> object:
        if node.kind == SCALAR and node.tag == NULL:
            return _KEEP
        if node.kind == SCALAR and node.tag == BOOL:
            return node.value
        self.type_error(key, node, "bool")
        return _KEEP

    def decode_masqLinkLocal(self, node: Node) -> object:
        return self.decode_bool("masqLinkLocal", node)

    def decode_masqLinkLocalIPv6(self, node: Node) -> object:
        return self.decode_bool("masqLinkLocalIPv6", node)

    def decode_cidrLimit(self, node: Node) -> object:
        if node.kind == SCALAR and node.tag == NULL:
            return _KEEP
        value = None
        if node.kind == SCALAR and node.tag == INT:
            value = node.value
        elif (
            node.kind == SCALAR
            and node.tag == FLOAT
            and not self.is_json
            and math.isfinite(node.value)
            and node.value == int(node.value)
            and abs(node.value) < 1e21  # json.Marshal writes smaller floats without exponent
        ):
            value = int(node.value)
        if value is None or not INT64_MIN <= value <= INT64_MAX:
            self.type_error("cidrLimit", node, "int")
            return _KEEP
        return value

    def decode_resyncInterval(self, node: Node) -> object:
        # metav1.Duration: json.Unmarshal into a string, then time.ParseDuration.
        if node.kind == SCALAR and node.tag == NULL:
            self.report(
                "MASQ010", node, 'resyncInterval: time: invalid duration "" (the value is null)'
            )
            return _KEEP
        if node.kind != SCALAR or node.tag != STR:
            self.report(
                "MASQ005",
                node,
                f'resyncInterval must be a quoted duration such as "60s" (json: cannot '
                f"unmarshal {node.describe()} into Go value of type string)",
            )
            return _KEEP
        try:
            nanos = parse_duration(node.value)
        except ValueError as error:
            self.report("MASQ010", node, f"resyncInterval: {error}")
            return _KEEP
        if nanos <= 0:
            self.report(
                "MASQ011",
                node,
                f'resyncInterval "{node.value}" is {format_duration(nanos)}: the agent would '
                "resync in a busy loop",
            )
        return nanos


_KEEP = object()


def validate_cidrs(config: MasqConfig, flags: AgentFlags) -> list[Finding]:
    """The agent's validate(): the CIDR limit and every CIDR's syntax, alignment and family."""
    findings: list[Finding] = []

    def report(rule: str, origin: Origin, message: str) -> None:
        findings.append(finding_at(rule, origin, message))

    cidrs = config.non_masquerade_cidrs
    if len(cidrs) > config.cidr_limit:
        # The first entry too many, or the cidrLimit key (the defaults have no line).
        first_too_many = cidrs[config.cidr_limit] if config.cidr_limit >= 0 else None
        where = (
            first_too_many.origin
            if first_too_many is not None and first_too_many.origin.line
            else config.key_origins.get("cidrLimit", Origin(config.source, 0, 0, "cidrLimit"))
        )
        report(
            "MASQ009",
            where,
            f"the daemon can only accept up to {config.cidr_limit} CIDRs (excluding "
            f"link-local), but got {len(cidrs)} CIDRs (excluding link local)",
        )
    for entry in cidrs:
        if entry.null:
            continue  # reported as MASQ023 by the decoder
        try:
            parsed = parse_cidr(entry.text)
        except CIDRError as error:
            report(
                "MASQ004",
                entry.origin,
                f'CIDR "{entry.text}" could not be parsed, {error}' + _cidr_hint(entry.text),
            )
            continue
        if not parsed.aligned:
            report(
                "MASQ003",
                entry.origin,
                f'CIDR "{entry.text}" has host bits set; the agent rejects it '
                f"(did you mean {parsed.network_text()}?)",
            )
        if is_ipv4_mapped(parsed):
            report(
                "MASQ022",
                entry.origin,
                f'CIDR "{entry.text}" is an IPv4-mapped IPv6 CIDR: the agent treats it as '
                "IPv4 and iptables-restore rejects it",
            )
        elif parsed.version == 6 and not flags.enable_ipv6:
            report(
                "MASQ008",
                entry.origin,
                f"ipv6 is not enabled, but ipv6 cidr {entry.text} provided. Enable ipv6 "
                "using --enable-ipv6 agent flag",
            )
    return findings


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


def decode_config(source: ConfigText, flags: AgentFlags) -> DecodedConfig:
    """Read one agent config the way the agent does, with every finding about it."""
    root, is_json, findings = read_config_node(source)
    if root is None or (root.kind == SCALAR and root.tag == NULL):
        config = default_config(flags, source.file)
        return DecodedConfig(config, findings)
    decoder = _Decoder(source, flags, is_json)
    if root.kind != MAP:
        decoder.report(
            "MASQ021",
            root,
            f"the config is {root.describe()} but the agent needs a mapping of keys "
            f"(json: cannot unmarshal {root.describe()} into Go value of type main.MasqConfig)",
        )
        return DecodedConfig(default_config(flags, source.file), findings + decoder.findings)
    config = decoder.decode(root)
    findings.extend(decoder.findings)
    findings.extend(validate_cidrs(config, flags))
    return DecodedConfig(config, findings)
