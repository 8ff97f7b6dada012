"""cilium: Cilium's ip-masq-agent, which fills BPF maps instead of an iptables chain.

It reads one file, /etc/config/ip-masq-agent (the ``ip-masq-agent`` ConfigMap's key
``config``), as upstream's agent reads its file but into a struct of three keys whose
list items parse themselves (``netip.ParsePrefix``, then masked).  Its defaults, the
eleven reserved IPv4 ranges, apply only when the file is missing or empty (zero bytes);
169.254.0.0/16 and fe80::/10 are added unless masqLinkLocal(IPv6).  A bad file is logged
and the maps are left as they are.  Each family's map holds 16,384 prefixes and exists
only when that family's masquerading is on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from masqctl.agent import LINK_LOCAL_IPV4, LINK_LOCAL_IPV6, AgentFlags
from masqctl.config.goparse import go_quote
from masqctl.errors import MasqctlError, UsageError
from masqctl.flavours.base import ConfigOutput, FlagDef, Flavour, three_key_json

if TYPE_CHECKING:
    from masqctl.config.agent_parser import DecodedConfig
    from masqctl.config.nodes import Node
    from masqctl.config.sources import FoundConfig
    from masqctl.findings import Finding
    from masqctl.model import MasqConfig
    from masqctl.ruleset import Ruleset

#: Cilium has no agent flags of its own for this; these are cilium-config settings.
CILIUM_FLAGS = (
    FlagDef("enable_ipv4_masquerade", "enable-ipv4-masquerade", "bool", True),
    FlagDef("enable_ipv6_masquerade", "enable-ipv6-masquerade", "bool", False),
    FlagDef("ipv4_native_routing_cidr", "ipv4-native-routing-cidr", "string", ""),
)
MAP_CAPACITY = 16384
MAP_NAMES = {"ipv4": "cilium_ipmasq_v4", "ipv6": "cilium_ipmasq_v6"}
#: What an entry inside an earlier one is to a longest-prefix-match map.
_CONTAINED = "redundant: Cilium's map leaves both unmasqueraded, whichever matches longest"
#: How each phase's error is logged (level=warning msg="Failed to update" error=...).
_WRAPPING = {
    "tojson": "Failed to convert to json: {error}",
    "unmarshal": "Failed to de-serialize json: {error}",
}


def cilium_item(node: Node, raw: str) -> tuple[str, str | None]:
    """Cilium's Ipnet.UnmarshalJSON of one list item, given as the raw JSON text: the
    masked prefix, and a warning when masking changed it; Abort with Cilium's words."""
    from masqctl.config.agent_parser import Abort
    from masqctl.config.netip import NetipError, parse_prefix

    if not raw.startswith('"'):
        raise Abort(f"Invalid CIDR: {raw}")
    text = raw.strip('"')  # strings.Trim of the raw token: escapes are not undone
    try:
        prefix = parse_prefix(text)
    except NetipError as error:
        raise Abort(f"Invalid CIDR {go_quote(text)}: {error}") from None
    masked = str(prefix.masked())
    if masked == str(prefix):
        return masked, None
    return masked, (
        f"CIDR {go_quote(text)} has host bits set: Cilium masks it to {masked} without a word "
        "(did you mean that network?)"
    )


def _check_native_routing_cidr(text: str) -> None:
    """UsageError unless ``text`` reads as an IPv4 prefix (netip.ParsePrefix)."""
    from masqctl.config.netip import NetipError, parse_prefix

    try:
        version = parse_prefix(text).version
    except NetipError as error:
        raise UsageError(f"--ipv4-native-routing-cidr {text!r}: not a CIDR ({error})") from None
    if version != 4:
        raise UsageError(f"--ipv4-native-routing-cidr {text!r}: not an IPv4 CIDR")


class Cilium(Flavour):
    """Cilium's BPF ip-masq-agent (pkg/ipmasq)."""

    name = "cilium"
    title = "Cilium's ip-masq-agent"
    flags = CILIUM_FLAGS
    images = ("quay.io/cilium/cilium", "quay.io/cilium/cilium-ci", "docker.io/cilium/cilium")
    failure = (
        'it logs a warning ("Failed to update") and leaves its maps as they are; a new node '
        "gets an empty map, without even link-local"
    )
    log_marker = None
    defaults_log_marker = None
    render_formats = ("cilium-map", "json")
    writes_what = "writes no iptables chain: it fills the BPF maps cilium_ipmasq_v4 and _v6"
    writes_chain = False
    # the map holds MAP_CAPACITY entries per family, link-local included unless
    # masqLinkLocal(IPv6); no cidrLimit key; the Helm chart takes the config as values
    config_output = ConfigOutput(
        "ip-masq-agent",
        "kube-system",
        "config",
        map_limit=MAP_CAPACITY,
        helm_values=True,
        empty_list_check="MASQ030",
    )

    def missing_flag_message(self, flag_name: str) -> str:
        """Cilium reads no ip-masq-agent flags: its settings are cilium-config keys."""
        return (
            f"--{flag_name}: {self.title} has no such setting (it reads only "
            "enable-ipv4-masquerade, enable-ipv6-masquerade and ipv4-native-routing-cidr from "
            "cilium-config)"
        )

    def decode(self, files: Sequence[FoundConfig], flags: AgentFlags) -> DecodedConfig:
        """One file; missing or zero bytes: the reserved ranges (see the module doc)."""
        from masqctl.config.agent_parser import DecodedConfig, Struct, decode_struct
        from masqctl.model import default_config

        if len(files) > 1:
            raise MasqctlError(
                f"{self.title} reads one config file (/etc/config/ip-masq-agent); got "
                f"{len(files)}: {', '.join(found.text.file for found in files)}"
            )
        reserved = AgentFlags(nomasq_all_reserved_ranges=True)
        if not files or files[0].text.text == "":
            return DecodedConfig(default_config(reserved, files[0].text.file if files else ""))
        struct = Struct(
            fields=("nonMasqueradeCIDRs", "masqLinkLocal", "masqLinkLocalIPv6"),
            name="config",
            type_name="ipmasq.config",
            list_type="[]ipmasq.Ipnet",
            item_type="ipmasq.Ipnet",
            prefilled=False,
            item_decoder=cilium_item,
            unread=(
                ("cidrLimit", f"{self.title} has no cidrLimit and ignores this key"),
                (
                    "resyncInterval",
                    f"{self.title} ignores this key (it rereads the file when it changes)",
                ),
            ),
        )
        decoded, _ = decode_struct(files[0].text, flags, struct)
        if decoded.agent_error is not None:
            decoded.agent_error = _WRAPPING[decoded.phase or "unmarshal"].format(
                error=decoded.agent_error
            )
        return decoded

    def ruleset(self, config: MasqConfig, flags: AgentFlags) -> Ruleset:
        """The maps: the config's prefixes (or the defaults), link-local, per family."""
        from masqctl.config.netip import parse_prefix
        from masqctl.ruleset import FamilyMap, MapEntry, Ruleset

        entries: dict[str, MapEntry] = {}
        for entry in config.non_masquerade_cidrs:
            label = entry.origin.entry or f"nonMasqueradeCIDRs[{entry.index}]"
            entries.setdefault(entry.text, MapEntry(entry.text, label, entry.origin))
        if not config.masq_link_local:
            entries.setdefault(LINK_LOCAL_IPV4, MapEntry(LINK_LOCAL_IPV4, "link-local default"))
        if not config.masq_link_local_ipv6:
            entries.setdefault(LINK_LOCAL_IPV6, MapEntry(LINK_LOCAL_IPV6, "link-local default"))
        enabled = {"ipv4": flags.enable_ipv4_masquerade, "ipv6": flags.enable_ipv6_masquerade}
        if flags.ipv4_native_routing_cidr:
            _check_native_routing_cidr(flags.ipv4_native_routing_cidr)
        maps = {}
        for family, on in enabled.items():
            if not on:
                continue
            prefixes = [(parse_prefix(cidr), entry) for cidr, entry in entries.items()]
            chosen = sorted(
                ((prefix.address, prefix.bits), entry)
                for prefix, entry in prefixes
                if (prefix.version == 4) == (family == "ipv4")
            )
            native = flags.ipv4_native_routing_cidr if family == "ipv4" else ""
            maps[family] = FamilyMap(
                family,
                MAP_NAMES[family],
                tuple(entry for _, entry in chosen),
                MAP_CAPACITY,
                native or None,
            )
        return Ruleset(config, flags, {}, self.name, maps)

    def lint(
        self, files: Sequence[FoundConfig], decoded: DecodedConfig, flags: AgentFlags
    ) -> list[Finding]:
        """For a file the agent takes: upstream's list checks (an entry inside another is
        redundant here, not unreachable), a file that drops the defaults without listing
        any CIDR (instead of upstream's empty-list warning, whose fix does not hold here),
        and more prefixes than a map holds."""
        from masqctl.lint.cidrs import check_cidr_list
        from masqctl.lint.report import finding_at
        from masqctl.model import Origin

        if decoded.agent_error is not None:
            return []  # the agent keeps its maps: decoding's findings say why
        config = decoded.config
        findings = [
            finding for finding in check_cidr_list(config, _CONTAINED) if finding.rule != "MASQ012"
        ]
        if files and files[0].text.text and not config.non_masquerade_cidrs:
            line, column = files[0].text.locate(1, 1)
            origin = config.key_origins.get("nonMasqueradeCIDRs") or Origin(
                files[0].text.file, line, column, ""
            )
            findings.append(
                finding_at(
                    "MASQ030",
                    origin,
                    f"the file lists no nonMasqueradeCIDRs and is not empty: {self.title} uses "
                    "its default ranges only when the file is missing or zero bytes, so only "
                    "link-local is left unmasqueraded (copying the chart's commented example "
                    "does this)",
                )
            )
        list_origin = config.key_origins.get("nonMasqueradeCIDRs")
        for table in self.ruleset(config, flags).maps.values():
            if len(table.entries) > table.capacity and list_origin is not None:
                findings.append(
                    finding_at(
                        "MASQ032",
                        list_origin,
                        f"{len(table.entries)} prefixes for {table.name}, which holds "
                        f"{table.capacity}: the inserts past it fail without a word (which "
                        "ones is random)",
                    )
                )
        return findings

    def effective_json(self, config: MasqConfig) -> str:
        """Cilium logs no config (only "Adding CIDR" a prefix): the three keys it reads,
        in the compact JSON of the other agents' log lines, each masked prefix once (its
        agent keys them by text)."""
        texts = dict.fromkeys(entry.text for entry in config.non_masquerade_cidrs)
        return three_key_json(texts, config)


FLAVOUR = Cilium()
