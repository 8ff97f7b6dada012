"""Config mode for an agent that fills BPF maps (Cilium): the longest matching prefix.

Cilium's datapath looks the destination up in the family's LPM-trie map: a hit leaves the
source address as it is, a miss means BPF masquerading SNATs the packet.  Every entry has
the same effect, so the verdict is any hit; the deciding entry is the most specific one.
"""

from __future__ import annotations

from masqctl.config.netip import parse_prefix
from masqctl.explain.config_mode import FamilyExplainer
from masqctl.explain.index import IntervalIndex
from masqctl.explain.verdict import MASQUERADE, NO_MASQUERADE, Outcome, RuleRef, SourceRef
from masqctl.ruleset import FamilyMap

#: Cilium also leaves traffic to its native-routing CIDR unmasqueraded, outside the map.
NATIVE_ROUTING_NOTE = (
    "Cilium leaves traffic to its native-routing CIDR (ipv4-native-routing-cidr, "
    "ipv6-native-routing-cidr in cilium-config) unmasqueraded too, though it is never in "
    "the map"
)


def map_explainer(table: FamilyMap) -> FamilyExplainer:
    """Index the map's prefixes so that the first key of a segment is its longest match
    (what Cilium does with traffic to the node's own addresses is not modelled)."""
    prefixes = [parse_prefix(entry.cidr) for entry in table.entries]
    width = 32 if table.family == "ipv4" else 128
    order = sorted(range(len(prefixes)), key=lambda index: -prefixes[index].bits)
    rank = {index: position for position, index in enumerate(order, 1)}
    intervals = [
        (
            prefix.address,
            prefix.address | ((1 << (width - prefix.bits)) - 1),
            rank[index],
        )
        for index, prefix in enumerate(prefixes)
    ]
    native = len(prefixes) + 1  # decides only when no map entry does
    if table.native_routing:
        network = parse_prefix(table.native_routing).masked()
        intervals.append(
            (network.address, network.address | ((1 << (width - network.bits)) - 1), native)
        )
    index = IntervalIndex.build(intervals)
    miss = Outcome(
        MASQUERADE,
        f"no prefix of {table.name} matches: Cilium's BPF masquerading SNATs it",
        notes=() if table.native_routing else (NATIVE_ROUTING_NOTE,),
    )
    in_native = Outcome(
        NO_MASQUERADE,
        f"no prefix of {table.name} matches, but it is inside the native-routing CIDR "
        f"{table.native_routing} (ipv4-native-routing-cidr), which Cilium never masquerades",
    )
    outcomes = []
    for keys in index.keys:
        if keys and keys[0] == native:
            outcomes.append(in_native)
        elif keys:
            position = order[keys[0] - 1] + 1  # the entry of that rank
            entry = table.entries[position - 1]
            source = SourceRef.of(entry.origin) if entry.origin and entry.origin.line else None
            why = f"from {source.entry} ({source.describe()})" if source else f"the {entry.label}"
            ref = RuleRef(table.name, position, entry.cidr, kind="entry")
            outcomes.append(
                Outcome(
                    NO_MASQUERADE,
                    f"{ref.describe()} ({entry.cidr}) is its longest match, {why}",
                    ref,
                    source,
                )
            )
        else:
            outcomes.append(miss)
    return FamilyExplainer(table.family, index, outcomes)
