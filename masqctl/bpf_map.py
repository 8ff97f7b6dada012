"""Cilium's BPF non-masquerade maps as ``cilium-dbg bpf ipmasq list`` prints them, and
diff against the maps the config makes.

The listing is a tabwriter table: the header ``IP PREFIX/ADDRESS``, then one prefix a line,
padded with trailing spaces, in Go map order (random), IPv4 and IPv6 mixed; an empty map
prints ``No entries found.`` (on stderr).  ``-o json`` prints an array of prefixes (Cilium
1.17 and later) or of ``{"IP": ..., "Mask": <base64>}`` objects (1.8 to 1.16).  kubectl's
``Defaulted container "cilium-agent" out of: ...`` line and a shell prompt line are
skipped, so ``kubectl exec ... -- cilium-dbg bpf ipmasq list | masqctl diff --from -`` works.
Maps are compared as sets: order never matters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from masqctl.errors import InputError
from masqctl.ruleset import FamilyMap, MapEntry, Ruleset

HEADER = "IP PREFIX/ADDRESS"
EMPTY = "No entries found."


@dataclass(frozen=True)
class LiveEntry:
    """One prefix of a captured listing, and its line."""

    cidr: str
    line: int


def _canonical(text: str, where: str) -> tuple[int, str]:
    """(IP version, netip's String()) of a listed prefix, or InputError naming the line."""
    from masqctl.config.netip import NetipError, parse_prefix

    try:
        prefix = parse_prefix(text)
    except NetipError as error:
        raise InputError(f"{where}: not a prefix of the map ({error})") from None
    return prefix.version, str(prefix.masked())


def _mask_bits(encoded: str, where: str) -> int:
    """The prefix length of a base64 net.IPMask (Cilium 1.8 to 1.16's JSON form)."""
    import base64
    import binascii

    try:
        mask = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where}: Mask {encoded!r} is not base64") from None
    return bin(int.from_bytes(mask, "big")).count("1")


def read_listing(text: str, source: str) -> list[LiveEntry]:
    """The prefixes of a captured listing (table or JSON), as netip prints them."""
    body = [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip()
        and not line.startswith("Defaulted container ")
        and not line.lstrip().startswith(("$ ", "# "))
        and "bpf ipmasq list" not in line
    ]
    if body and body[0][1].startswith(("[", "{")):
        return _read_json(body, source)
    entries = []
    for number, line in body:
        if line in (HEADER, EMPTY):
            continue
        where = f"{source}:{number}"
        entries.append(LiveEntry(_canonical(line.split()[0], where)[1], number))
    return entries


def _read_json(body: list[tuple[int, str]], source: str) -> list[LiveEntry]:
    """The entries of the ``-o json`` form, each at the line where it starts."""
    text = "\n".join(line for _, line in body)
    first_line = body[0][0]
    try:
        items = json.loads(text)
    except ValueError as error:
        raise InputError(f"{source}:{first_line}: not the listing's JSON ({error})") from None
    except RecursionError:  # nested deeper than Python's json reads: not the listing
        raise InputError(
            f"{source}:{first_line}: not the listing's JSON (nested too deep)"
        ) from None
    if not isinstance(items, list):
        raise InputError(f"{source}:{first_line}: the listing's JSON is not an array")
    entries = []
    for item, start in zip(items, _item_starts(text), strict=True):
        line = body[text.count("\n", 0, start)][0]
        where = f"{source}:{line}"
        if isinstance(item, str):
            entries.append(LiveEntry(_canonical(item, where)[1], line))
        elif isinstance(item, dict) and isinstance(item.get("IP"), str):
            bits = _mask_bits(str(item.get("Mask", "")), where)
            entries.append(LiveEntry(_canonical(f"{item['IP']}/{bits}", where)[1], line))
        else:
            raise InputError(f"{where}: {item!r} is not an entry of the map")
    return entries


def _item_starts(text: str) -> list[int]:
    """Where each item of the JSON array ``text`` (already read: it is well formed) starts."""
    decoder = json.JSONDecoder()
    starts = []
    position = text.index("[") + 1
    while True:
        position = len(text) - len(text[position:].lstrip(" \t\n\r"))
        if text[position] == "]":
            return starts
        starts.append(position)
        _, position = decoder.raw_decode(text, position)
        position = len(text) - len(text[position:].lstrip(" \t\n\r"))
        position += text[position] == ","


@dataclass
class MapDiff:
    """How one family's live map differs from what the config makes."""

    family: str
    name: str
    expected: FamilyMap | None
    missing: list[MapEntry] = field(default_factory=list)
    extra: list[LiveEntry] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not self.missing and not self.extra


def diff_maps(ruleset: Ruleset, live: list[LiveEntry]) -> list[MapDiff]:
    """Per family (with a map, or with prefixes in the listing), missing and extra."""
    from masqctl.flavours.cilium import MAP_NAMES

    by_family: dict[str, dict[str, LiveEntry]] = {"ipv4": {}, "ipv6": {}}
    for entry in live:
        by_family["ipv6" if ":" in entry.cidr else "ipv4"].setdefault(entry.cidr, entry)
    results = []
    for family, name in MAP_NAMES.items():
        expected = ruleset.maps.get(family)
        present = by_family[family]
        if expected is None and not present:
            continue
        wanted = {entry.cidr: entry for entry in (expected.entries if expected else ())}
        results.append(
            MapDiff(
                family,
                name,
                expected,
                [entry for cidr, entry in wanted.items() if cidr not in present],
                [entry for cidr, entry in present.items() if cidr not in wanted],
            )
        )
    return results


def _where(entry: MapEntry) -> str:
    origin = entry.origin
    return f"{entry.label}, {origin.file}:{origin.line}" if origin and origin.line else entry.label


def findings(result: MapDiff) -> list[str]:
    """The differences of one map in words, one line each."""
    return [
        *(f"missing: {entry.cidr} ({_where(entry)})" for entry in result.missing),
        *(f"extra: {entry.cidr} (line {entry.line})" for entry in result.extra),
    ]


def diff_text(results: list[MapDiff], source: str) -> str:
    """diff's text form for maps: a summary line per map, then each difference."""
    out = []
    for result in results:
        count = len(result.expected.entries) if result.expected else 0
        if result.in_sync:
            out.append(f"{result.name}: in sync ({count} prefixes, {source})")
            continue
        if result.expected is None:
            out.append(f"{result.name}: the config makes no such map, but {source} lists it")
        else:
            out.append(
                f"{result.name}: drifted ({len(result.missing) + len(result.extra)} findings)"
            )
        out.extend(f"  {line}" for line in findings(result))
    return "".join(f"{line}\n" for line in out)


def diff_json(results: list[MapDiff], source: str) -> dict[str, object]:
    """diff's stable machine form for maps."""
    return {
        "in_sync": all(result.in_sync for result in results),
        "source": source,
        "maps": [
            {
                "family": result.family,
                "name": result.name,
                "in_sync": result.in_sync,
                "expected": result.expected is not None,
                "missing": [{"cidr": entry.cidr, "label": entry.label} for entry in result.missing],
                "extra": [{"cidr": entry.cidr, "line": entry.line} for entry in result.extra],
                "findings": findings(result),
            }
            for result in results
        ],
    }
