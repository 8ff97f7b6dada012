"""cilium: Cilium's ip-masq-agent, which fills a BPF map instead of an iptables chain."""

from __future__ import annotations

from masqctl.flavours.base import FlagDef, Flavour

#: Cilium has no agent flags of its own for this; these are cilium-config settings.
CILIUM_FLAGS = (
    FlagDef("enable_ipv4_masquerade", "enable-ipv4-masquerade", "bool", True),
    FlagDef("enable_ipv6_masquerade", "enable-ipv6-masquerade", "bool", False),
)


class Cilium(Flavour):
    """Cilium's BPF ip-masq-agent (pkg/ipmasq)."""

    name = "cilium"
    title = "Cilium's ip-masq-agent"
    flags = CILIUM_FLAGS
    images = ("quay.io/cilium/cilium", "quay.io/cilium/cilium-ci", "docker.io/cilium/cilium")

    def missing_flag_message(self, flag_name: str) -> str:
        """Cilium reads no ip-masq-agent flags: its settings are cilium-config keys."""
        return (
            f"--{flag_name}: {self.title} has no such setting (it reads only "
            "enable-ipv4-masquerade and enable-ipv6-masquerade from cilium-config)"
        )


FLAVOUR = Cilium()
