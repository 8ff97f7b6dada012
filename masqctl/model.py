"""The effective agent config: the five keys after the agent's parsing, with provenance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from masqctl.agent import (
    DEFAULT_CIDR_LIMIT,
    DEFAULT_RESYNC_NANOSECONDS,
    AgentFlags,
    default_cidrs,
)
from masqctl.config.goparse import CIDRError, ParsedCIDR, parse_cidr

DEFAULTS_SOURCE = "<agent defaults>"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value came from: a file position and the config entry it is."""

    file: str
    line: int
    column: int
    entry: str


@dataclass(frozen=True, slots=True)
class CIDREntry:
    """One item of ``nonMasqueradeCIDRs``: the text as written, and where."""

    text: str
    index: int
    origin: Origin

    def parsed(self) -> ParsedCIDR | None:
        """The CIDR as net.ParseCIDR reads it, or None where the agent cannot parse it."""
        try:
            return parse_cidr(self.text)
        except CIDRError:
            return None


@dataclass(frozen=True)
class MasqConfig:
    """The agent's config after its own decoding rules (defaults filled in)."""

    non_masquerade_cidrs: tuple[CIDREntry, ...]
    #: The list was decoded from null (a nil slice: the agent logs ``null``, not ``[]``).
    cidrs_null: bool = False
    cidr_limit: int = DEFAULT_CIDR_LIMIT
    masq_link_local: bool = False
    masq_link_local_ipv6: bool = False
    resync_interval_ns: int = DEFAULT_RESYNC_NANOSECONDS
    source: str = DEFAULTS_SOURCE
    #: The keys the config set, each with the position of its (winning) key.
    key_origins: Mapping[str, Origin] = field(default_factory=dict)


def default_config(flags: AgentFlags, source: str = DEFAULTS_SOURCE) -> MasqConfig:
    """What the agent runs with when its config file is absent."""
    cidrs = tuple(
        CIDREntry(
            text, index, Origin(DEFAULTS_SOURCE, 0, 0, f"default nonMasqueradeCIDRs[{index}]")
        )
        for index, text in enumerate(default_cidrs(flags.nomasq_all_reserved_ranges))
    )
    return MasqConfig(non_masquerade_cidrs=cidrs, source=source)
