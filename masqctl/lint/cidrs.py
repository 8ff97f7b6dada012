"""Checks of the CIDR list that the agent accepts but that are almost surely mistakes."""

from __future__ import annotations

from masqctl.agent import LINK_LOCAL_IPV4, LINK_LOCAL_IPV6
from masqctl.config.goparse import ParsedCIDR, parse_cidr
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


def check_cidr_list(config: MasqConfig) -> list[Finding]:
    """Empty list, duplicates, shadowed entries, match-all and redundant link-local."""
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
    earlier: list[tuple[CIDREntry, ParsedCIDR]] = []
    for entry in config.non_masquerade_cidrs:
        parsed = _aligned(entry)
        if parsed is None:
            continue
        findings.extend(_against_earlier(entry, parsed, earlier))
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
        earlier.append((entry, parsed))
    return findings


def _aligned(entry: CIDREntry) -> ParsedCIDR | None:
    parsed = entry.parsed()
    return parsed if parsed is not None and parsed.aligned else None


def _against_earlier(
    entry: CIDREntry, parsed: ParsedCIDR, earlier: list[tuple[CIDREntry, ParsedCIDR]]
) -> list[Finding]:
    for previous, previous_parsed in earlier:
        where = _where(previous.origin)
        if previous_parsed == parsed:
            return [
                finding_at(
                    "MASQ013",
                    entry.origin,
                    f'CIDR "{entry.text}" is listed twice '
                    f"(first as {previous.origin.entry}{where})",
                )
            ]
        if _contains(previous_parsed, parsed):
            return [
                finding_at(
                    "MASQ014",
                    entry.origin,
                    f'CIDR "{entry.text}" is inside "{previous.text}" '
                    f"({previous.origin.entry}{where}): its rule can never match",
                )
            ]
    return []


def _where(origin: Origin) -> str:
    return f", line {origin.line}" if origin.line else ""
