"""upstream: kubernetes-sigs/ip-masq-agent as upstream ships it."""

from __future__ import annotations

from masqctl.agent import DEFAULT_CHAIN
from masqctl.flavours.base import FlagDef, Flavour

#: The agent's flags (cmd/ip-masq-agent), with their defaults.
UPSTREAM_FLAGS = (
    FlagDef("masq_chain", "masq-chain", "string", DEFAULT_CHAIN),
    FlagDef("nomasq_all_reserved_ranges", "nomasq-all-reserved-ranges", "bool", False),
    FlagDef("enable_ipv6", "enable-ipv6", "bool", False),
    FlagDef("random_fully", "random-fully", "bool", True),
    FlagDef("to_ports", "to-ports", "string", ""),
)


class Upstream(Flavour):
    """kubernetes-sigs/ip-masq-agent."""

    name = "upstream"
    title = "kubernetes-sigs/ip-masq-agent"
    flags = UPSTREAM_FLAGS


FLAVOUR = Upstream()
