"""gke: upstream's agent with the flags GKE runs it with."""

from __future__ import annotations

from dataclasses import replace

from masqctl.flavours.base import FlagDef
from masqctl.flavours.upstream import UPSTREAM_FLAGS, Upstream

#: GKE's own defaults: chain IP-MASQ, every reserved range left unmasqueraded.
_GKE_DEFAULTS = {"masq_chain": "IP-MASQ", "nomasq_all_reserved_ranges": True}


class GKE(Upstream):
    """Upstream's agent as GKE deploys it."""

    name = "gke"
    title = "GKE's ip-masq-agent"
    #: GKE's builds of upstream's agent, tagged ``<upstream tag>-gke.N``.
    images = ("gke.gcr.io/ip-masq-agent",)
    flags: tuple[FlagDef, ...] = tuple(
        replace(flag, default=_GKE_DEFAULTS.get(flag.dest, flag.default)) for flag in UPSTREAM_FLAGS
    )

    def binary_defaults(self, version: str | None) -> dict[str, object]:
        """GKE's binary is upstream's: its DaemonSet passes GKE's settings as flags
        (``--masq-chain=IP-MASQ --nomasq-all-reserved-ranges``; GKE's doc manifest says to
        uncomment the second), so a flag it does not pass has upstream's default."""
        upstream = {flag.dest: flag.default for flag in UPSTREAM_FLAGS}
        return {**upstream, **super().binary_defaults(version)}


FLAVOUR = GKE()
