"""The ip-masq-agent's own constants and defaults, and its command-line flags."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CHAIN = "IP-MASQ-AGENT"
LINK_LOCAL_IPV4 = "169.254.0.0/16"
LINK_LOCAL_IPV6 = "fe80::/10"

#: RFC 1918: what the agent leaves unmasqueraded when no config file exists.
RFC1918_CIDRS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
#: Added by --nomasq-all-reserved-ranges, in the agent's order.
RESERVED_CIDRS = (
    "100.64.0.0/10",  # RFC 6598
    "192.0.0.0/24",  # RFC 6890
    "192.0.2.0/24",  # RFC 5737
    "192.88.99.0/24",  # RFC 7526
    "198.18.0.0/15",  # RFC 6815
    "198.51.100.0/24",  # RFC 5737
    "203.0.113.0/24",  # RFC 5737
    "240.0.0.0/4",  # RFC 5735
)
DEFAULT_CIDR_LIMIT = 64
DEFAULT_RESYNC_NANOSECONDS = 60_000_000_000

#: The five keys of the agent's config, spelled as the agent's json tags.
CONFIG_KEYS = (
    "nonMasqueradeCIDRs",
    "cidrLimit",
    "masqLinkLocal",
    "masqLinkLocalIPv6",
    "resyncInterval",
)

RETURN_COMMENT = "ip-masq-agent: local traffic is not subject to MASQUERADE"
MASQUERADE_COMMENT = (
    "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)"
)
JUMP_COMMENT_FORMAT = (
    "ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic "
    "to our custom {chain} chain"
)
#: The 2017 agent's comments; recognised on live nodes as the old format.
OLD_RETURN_COMMENT = "ip-masq-agent: cluster-local traffic should not be subject to MASQUERADE"
OLD_MASQUERADE_COMMENT = (
    "ip-masq-agent: outbound traffic should be subject to MASQUERADE "
    "(this match must come after cluster-local CIDR matches)"
)

#: Protocols that get one MASQUERADE rule per --to-ports interval, in the agent's order.
TO_PORTS_PROTOCOLS = ("tcp", "udp", "sctp")

BUILTIN_NAT_CHAINS = ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")
MAX_CHAIN_NAME_LENGTH = 28


def default_cidrs(nomasq_all_reserved_ranges: bool) -> tuple[str, ...]:
    """The non-masquerade CIDRs the agent starts from before reading its config."""
    if nomasq_all_reserved_ranges:
        return RFC1918_CIDRS + RESERVED_CIDRS
    return RFC1918_CIDRS


def jump_comment(chain: str) -> str:
    """The comment of the agent's POSTROUTING jump rule for ``chain``."""
    return JUMP_COMMENT_FORMAT.format(chain=chain)


@dataclass(frozen=True)
class AgentFlags:
    """The agent's command-line flags (every flavour's), with upstream's defaults.

    Each flavour reads the ones its agent has (see masqctl.flavours) and fills in its
    own defaults.
    """

    masq_chain: str = DEFAULT_CHAIN
    nomasq_all_reserved_ranges: bool = False
    enable_ipv6: bool = False
    random_fully: bool = True
    to_ports: str = ""
    #: Azure v2's --resync-interval, in seconds (upstream reads resyncInterval from its
    #: config instead).
    resync_interval: int = 60
    #: Cilium's enable-ipv4-masquerade and enable-ipv6-masquerade.
    enable_ipv4_masquerade: bool = True
    enable_ipv6_masquerade: bool = False
    #: Cilium's ipv4-native-routing-cidr: traffic to it is never masqueraded ("": none).
    ipv4_native_routing_cidr: str = ""
