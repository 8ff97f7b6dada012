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


FLAVOUR = GKE()
