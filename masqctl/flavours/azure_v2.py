"""azure-v2: AKS's ip-masq-agent-v2 (Azure/ip-masq-agent-v2)."""

from __future__ import annotations

from masqctl.agent import DEFAULT_CHAIN
from masqctl.flavours.base import FlagDef, Flavour
from masqctl.flavours.logging import GLOG, KLOG, version_key

#: The agent's only flags, all there since v0.1.0; --resync-interval is whole seconds.
AZURE_FLAGS = (
    FlagDef("masq_chain", "masq-chain", "string", DEFAULT_CHAIN),
    FlagDef("nomasq_all_reserved_ranges", "nomasq-all-reserved-ranges", "bool", False),
    FlagDef("enable_ipv6", "enable-ipv6", "bool", False),
    FlagDef("resync_interval", "resync-interval", "int", 60),
)


class AzureV2(Flavour):
    """Azure/ip-masq-agent-v2, as every AKS cluster runs it."""

    name = "azure-v2"
    title = "Azure's ip-masq-agent-v2"
    flags = AZURE_FLAGS
    images = (
        "mcr.microsoft.com/aks/ip-masq-agent-v2",
        "mcr.microsoft.com/oss/v2/azure/ip-masq-agent-v2",
        "mcr.microsoft.com/oss/azure/ip-masq-agent-v2",
    )

    def reads_file(self, name: str) -> bool:
        """Every file whose name starts with ``ip-masq`` (case-sensitive)."""
        return name.startswith("ip-masq")

    def logging_flags(self, version: str | None) -> dict[str, str]:
        """glog in v0.1.0, none in v0.1.1 and v0.1.2 (klog not initialised), klog's 13
        flags from v0.1.3."""
        key = version_key(version)
        if key is None or key >= (0, 1, 3):
            return KLOG
        return GLOG if key < (0, 1, 1) else {}


FLAVOUR = AzureV2()
