"""upstream: kubernetes-sigs/ip-masq-agent as upstream ships it."""

from __future__ import annotations

from masqctl.agent import DEFAULT_CHAIN
from masqctl.flavours.base import FlagDef, Flavour
from masqctl.flavours.logging import GLOG, GLOG_1_1, KLOG, KLOG_2_140, version_key

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
    images = (
        "registry.k8s.io/networking/ip-masq-agent",
        "k8s.gcr.io/networking/ip-masq-agent",
        "gcr.io/k8s-staging-networking/ip-masq-agent",
        "gcr.io/google-containers/ip-masq-agent",
        "k8s.gcr.io/ip-masq-agent",
    )

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
