"""The addresses explain is asked about: one address or a CIDR, IPv4 or IPv6."""

from __future__ import annotations

from dataclasses import dataclass

from masqctl.config.goparse import (
    CIDRError,
    format_address,
    is_ipv4_mapped,
    parse_address,
    parse_cidr,
)
from masqctl.errors import UsageError
from masqctl.ruleset import IPV4, IPV6


@dataclass(frozen=True, slots=True)
class Target:
    """An address (``prefix`` None) or a CIDR, as the integer range it covers."""

    text: str
    family: str
    first: int
    last: int
    prefix: int | None = None
    #: Typed as an IPv4-mapped IPv6 address (``::ffff:10.1.2.3``), answered as IPv4.
    mapped: bool = False

    @property
    def is_cidr(self) -> bool:
        return self.prefix is not None


def family_of_version(version: int) -> str:
    return IPV4 if version == 4 else IPV6


def parse_target(text: str) -> Target:
    """An address or CIDR in Go's strict notation; UsageError naming the text otherwise."""
    if "/" in text:
        try:
            cidr = parse_cidr(text)
        except CIDRError:
            raise UsageError(f"{text!r} is not an IP address or CIDR") from None
        if not cidr.aligned:
            raise UsageError(f"{text!r} has host bits set (did you mean {cidr.network_text()}?)")
        if is_ipv4_mapped(cidr) and cidr.prefix >= 96:
            first, last = cidr.network & 0xFFFFFFFF, cidr.last() & 0xFFFFFFFF
            return Target(text, IPV4, first, last, cidr.prefix - 96, mapped=True)
        return Target(text, family_of_version(cidr.version), cidr.network, cidr.last(), cidr.prefix)
    parsed = parse_address(text)
    if parsed is None:
        raise UsageError(f"{text!r} is not an IP address or CIDR")
    version, value = parsed
    if version == 6 and value >> 32 == 0xFFFF:
        return Target(text, IPV4, value & 0xFFFFFFFF, value & 0xFFFFFFFF, mapped=True)
    return Target(text, family_of_version(version), value, value)


def mapped_note(target: Target) -> str:
    """What explain says about an IPv4-mapped address it answers as IPv4."""
    ipv4 = format_address(target.first, 4)
    if target.prefix is not None:
        ipv4 += f"/{target.prefix}"
    return (
        f"{target.text} is IPv4-mapped: a pod's socket sends to it as IPv4, to {ipv4}, "
        "which the IPv4 rules decide"
    )


def range_to_cidrs(first: int, last: int, family: str) -> tuple[str, ...]:
    """The fewest CIDRs covering ``first..last`` exactly, in address order, in Go's
    notation (netaddr writes ``::1:0/112`` as ``::0.1.0.0/112``)."""
    from netaddr import IPAddress, iprange_to_cidrs  # ~40 ms: only for CIDR questions

    version = 4 if family == IPV4 else 6
    return tuple(
        f"{format_address(int(cidr.first), version)}/{cidr.prefixlen}"
        for cidr in iprange_to_cidrs(IPAddress(first, version), IPAddress(last, version))
    )
