"""upstream: kubernetes-sigs/ip-masq-agent as upstream ships it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from masqctl.agent import DEFAULT_CHAIN, AgentFlags
from masqctl.errors import MasqctlError
from masqctl.flavours.base import FlagDef, Flavour, released
from masqctl.flavours.logging import GLOG, GLOG_1_1, KLOG, KLOG_2_140, version_key

if TYPE_CHECKING:
    from masqctl.config.agent_parser import DecodedConfig
    from masqctl.config.sources import FoundConfig
    from masqctl.findings import Finding
    from masqctl.model import MasqConfig

#: The agent's flags (cmd/ip-masq-agent), with their defaults and the first release that
#: has each (from upstream's tags: masq-chain PR #17, nomasq-all-reserved-ranges PR #33,
#: enable-ipv6 PR #45, random-fully PR #126, to-ports PR #162).
UPSTREAM_FLAGS = (
    FlagDef("masq_chain", "masq-chain", "string", DEFAULT_CHAIN, "v2.1.0"),
    FlagDef("nomasq_all_reserved_ranges", "nomasq-all-reserved-ranges", "bool", False, "v2.3.0"),
    FlagDef("enable_ipv6", "enable-ipv6", "bool", False, "v2.5.0"),
    FlagDef("random_fully", "random-fully", "bool", True, "v2.11.0"),
    FlagDef("to_ports", "to-ports", "string", "", "v2.12.0"),
)


class Upstream(Flavour):
    """kubernetes-sigs/ip-masq-agent."""

    name = "upstream"
    title = "kubernetes-sigs/ip-masq-agent"
    flags = UPSTREAM_FLAGS
    #: v0.2.0 to v2.0.1 never call flag.Parse (main() of cmd/ip-masq-agent); v2.1.0
    #: (PR #17) does.
    parses_flags_since = "v2.1.0"
    images = (
        "registry.k8s.io/networking/ip-masq-agent",
        "k8s.gcr.io/networking/ip-masq-agent",
        "gcr.io/k8s-staging-networking/ip-masq-agent",
        "gcr.io/google-containers/ip-masq-agent",
        "k8s.gcr.io/ip-masq-agent",
    )

    def decode(self, files: Sequence[FoundConfig], flags: AgentFlags) -> DecodedConfig:
        """One file, /etc/config/ip-masq-agent; without it, the agent's defaults."""
        from masqctl.config.agent_parser import DecodedConfig, decode_config
        from masqctl.model import default_config

        if not files:
            return DecodedConfig(default_config(flags))
        if len(files) > 1:
            raise MasqctlError(
                f"{self.title} reads one config file (/etc/config/ip-masq-agent); got "
                f"{len(files)}: {', '.join(f'{f.text.file} ({f.file_name})' for f in files)}"
            )
        return decode_config(files[0].text, flags)

    def lint(
        self, files: Sequence[FoundConfig], decoded: DecodedConfig, flags: AgentFlags
    ) -> list[Finding]:
        """Besides the CIDR checks: --enable-ipv6 with nothing said about IPv6."""
        from masqctl.lint.cidrs import check_ipv6_enabled
        from masqctl.model import Origin

        start = Origin(files[0].text.file, *files[0].text.locate(1, 1), "") if files else None
        found = super().lint(files, decoded, flags)
        return found + (check_ipv6_enabled(decoded.config, flags, start) if start else [])

    def effective_json(self, config: MasqConfig) -> str:
        """The agent's ``Using config:`` log line: json.Marshal of its MasqConfig."""
        from masqctl.config.goparse import format_duration, go_bool, go_json_string

        cidrs = (
            "null"
            if config.cidrs_null
            else "[" + ",".join(go_json_string(e.text) for e in config.non_masquerade_cidrs) + "]"
        )
        return (
            f'{{"nonMasqueradeCIDRs":{cidrs},"cidrLimit":{config.cidr_limit},'
            f'"masqLinkLocal":{go_bool(config.masq_link_local)},'
            f'"masqLinkLocalIPv6":{go_bool(config.masq_link_local_ipv6)},'
            f'"resyncInterval":{go_json_string(format_duration(config.resync_interval_ns))}}}'
        )

    def binary_defaults(self, version: str | None) -> dict[str, object]:
        """Before v2.10.0 the MASQUERADE rule has no --random-fully (v2.10.0 added it to
        every rule, v2.11.0 the flag that turns it off)."""
        return {} if released(version, "v2.10.0") else {"random_fully": False}

    def logging_flags(self, version: str | None) -> dict[str, str]:
        """glog up to v2.11.0 (v2.10.1 adds two flags), klog/v2 from v2.12.0; the newest
        (untagged) builds have klog v2.140's two more."""
        key = version_key(version)
        if key is None:
            return KLOG_2_140
        if key >= (2, 12):
            return KLOG
        return GLOG_1_1 if key >= (2, 10, 1) else GLOG


FLAVOUR = Upstream()
