"""Checks of the CIDR list that the agent accepts but that are almost surely mistakes."""

from __future__ import annotations

from masqctl.agent import LINK_LOCAL_IPV4, LINK_LOCAL_IPV6, AgentFlags
from masqctl.config.goparse import ParsedCIDR, is_ipv4_mapped, parse_cidr
from masqctl.findings import Finding
from masqctl.lint.report import finding_at
from masqctl.model import CIDREntry, MasqConfig, Origin

_LINK_LOCAL = {4: parse_cidr(LINK_LOCAL_IPV4), 6: parse_cidr(LINK_LOCAL_IPV6)}


def _contains(outer: ParsedCIDR, inner: ParsedCIDR) -> bool:
    return (
        outer.version == inner.version
        and outer.prefix <= inner.prefix
        and outer.network <= inner.network
        and inner.last() <= outer.last()
    )


def check_cidr_list(
    config: MasqConfig, contained: str = "its rule can never match"
) -> list[Finding]:
    """Empty list, duplicates, shadowed entries, match-all and redundant link-local;
    ``contained`` says what becomes of an entry inside an earlier one."""
    findings: list[Finding] = []
    key_origin = config.key_origins.get("nonMasqueradeCIDRs")
    if key_origin is not None and not config.non_masquerade_cidrs:
        findings.append(
            finding_at(
                "MASQ012",
                key_origin,
                "nonMasqueradeCIDRs is empty: the agent masquerades everything but "
                "link-local, including traffic to other pods and nodes",
            )
        )
    earlier: dict[tuple[int, int, int], CIDREntry] = {}
    for entry in config.non_masquerade_cidrs:
        parsed = _aligned(entry)
        if parsed is None:
            continue
        findings.extend(_against_earlier(entry, parsed, earlier, contained))
        earlier.setdefault((parsed.version, parsed.prefix, parsed.network), entry)
        if parsed.prefix == 0:
            family = "IPv4" if parsed.version == 4 else "IPv6"
            findings.append(
                finding_at(
                    "MASQ015",
                    entry.origin,
                    f'CIDR "{entry.text}" matches every {family} destination: nothing of that '
                    "family is masqueraded",
                )
            )
        link_local = _LINK_LOCAL[parsed.version]
        masq_flag = config.masq_link_local if parsed.version == 4 else config.masq_link_local_ipv6
        if not masq_flag and _contains(link_local, parsed):
            key = "masqLinkLocal" if parsed.version == 4 else "masqLinkLocalIPv6"
            findings.append(
                finding_at(
                    "MASQ016",
                    entry.origin,
                    f'CIDR "{entry.text}" is link-local, which the agent already exempts '
                    f"first while {key} is false",
                )
            )
    return findings


def check_ipv6_enabled(config: MasqConfig, flags: AgentFlags, start: Origin) -> list[Finding]:
    """MASQ061: --enable-ipv6 while the config says nothing about IPv6 (``start``: where
    the config begins, for a config without nonMasqueradeCIDRs)."""
    if not flags.enable_ipv6 or "masqLinkLocalIPv6" in config.key_origins:
        return []
    if any(_files_as_ipv6(entry) for entry in config.non_masquerade_cidrs):
        return []
    return [
        finding_at(
            "MASQ061",
            config.key_origins.get("nonMasqueradeCIDRs", start),
            "the agent runs with --enable-ipv6, but the config lists no IPv6 CIDR and does "
            f"not set masqLinkLocalIPv6: it masquerades every IPv6 destination but "
            f"{LINK_LOCAL_IPV6}, the cluster's own pods and nodes included",
        )
    ]


def _files_as_ipv6(entry: CIDREntry) -> bool:
    """Whether the agent writes the entry into its IPv6 chain (an IPv4-mapped CIDR goes
    into the IPv4 one)."""
    parsed = entry.parsed()
    return parsed is not None and parsed.version == 6 and not is_ipv4_mapped(parsed)


def _aligned(entry: CIDREntry) -> ParsedCIDR | None:
    parsed = entry.parsed()
    return parsed if parsed is not None and parsed.aligned else None


def _against_earlier(
    entry: CIDREntry,
    parsed: ParsedCIDR,
    earlier: dict[tuple[int, int, int], CIDREntry],
    contained: str,
) -> list[Finding]:
    """MASQ013/MASQ014 against the earlier entries, looking up each enclosing network.

    CIDRs either nest or are disjoint, so an earlier entry that contains this one is one
    of its at most 32 (128) enclosing networks: linear in the number of entries.
    """
    same = earlier.get((parsed.version, parsed.prefix, parsed.network))
    if same is not None:
        return [
            finding_at(
                "MASQ013",
                entry.origin,
                f'CIDR "{entry.text}" is listed twice (first as {same.origin.entry}'
                f"{_where(same.origin, entry.origin)})",
            )
        ]
    for prefix in range(parsed.prefix - 1, -1, -1):
        network = parsed.network & ~((1 << (parsed.bits - prefix)) - 1)
        outer = earlier.get((parsed.version, prefix, network))
        if outer is not None:
            return [
                finding_at(
                    "MASQ014",
                    entry.origin,
                    f'CIDR "{entry.text}" is inside "{outer.text}" '
                    f"({outer.origin.entry}{_where(outer.origin, entry.origin)}): {contained}",
                )
            ]
    return []


def _where(origin: Origin, at: Origin) -> str:
    """Where the earlier entry ``origin`` is, said from the finding at ``at`` (another file
    of an agent that merges its files is named)."""
    if not origin.line:
        return ""
    return f", line {origin.line}" if origin.file == at.file else f", {origin.file}:{origin.line}"
