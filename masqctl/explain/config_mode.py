"""Config mode: the verdict for an address from the Ruleset the agent would write."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace

from masqctl.config.goparse import is_ipv4_mapped, parse_cidr
from masqctl.errors import UsageError
from masqctl.explain.addresses import Target, parse_target, range_to_cidrs
from masqctl.explain.index import IntervalIndex
from masqctl.explain.verdict import (
    MASQUERADE,
    MIXED,
    NO_MASQUERADE,
    NOT_HANDLED,
    Explanation,
    Outcome,
    Part,
    Shadowed,
    SourceRef,
    rule_ref,
)
from masqctl.ruleset import IPV4, IPV6, RETURN, FamilyRules, Ruleset

IPV6_NOT_HANDLED = Outcome(
    NOT_HANDLED,
    "an IPv6 destination, and without --enable-ipv6 the agent writes no ip6tables rules",
)
NO_IPV6_MAP = Outcome(
    NOT_HANDLED,
    "an IPv6 destination, and Cilium has no IPv6 map: it masquerades no IPv6 traffic "
    "without enable-ipv6-masquerade (and enable-ipv6)",
)
NO_IPV4_MAP = Outcome(
    NOT_HANDLED,
    "an IPv4 destination, and Cilium has no IPv4 map: it masquerades no IPv4 traffic "
    "without enable-ipv4-masquerade",
)


def cidr_range(text: str) -> tuple[int, int]:
    """The addresses a rule's ``-d CIDR`` matches (an IPv4-mapped CIDR as IPv4)."""
    cidr = parse_cidr(text)
    if is_ipv4_mapped(cidr):
        first = cidr.network & 0xFFFFFFFF
        return first, first | ((1 << (128 - cidr.prefix)) - 1)
    return cidr.network, cidr.last()


@dataclass(frozen=True)
class FamilyExplainer:
    """One family's chain as an interval index with the outcome of each segment."""

    family: str
    index: IntervalIndex
    outcomes: list[Outcome]

    def explain(self, target: Target) -> Explanation:
        pieces = self.index.pieces(target.first, target.last)
        if len(pieces) == 1:
            return Explanation(target.text, self.family, self.outcomes[pieces[0][2]])
        merged: list[tuple[int, int, Outcome]] = []
        for first, last, segment in pieces:
            outcome = replace(self.outcomes[segment], shadowed=())
            if merged and merged[-1][2] == outcome:
                merged[-1] = (merged[-1][0], last, outcome)
            else:
                merged.append((first, last, outcome))
        parts = tuple(
            Part(range_to_cidrs(first, last, self.family), outcome)
            for first, last, outcome in merged
        )
        return Explanation(target.text, self.family, summary(parts), parts)

    def json_suffixes(self) -> list[str]:
        """Per segment, a JSON line after ``{"address":"A",`` (for the batch fast path)."""
        return [
            json.dumps({"family": self.family, **outcome.json()}, separators=(",", ":"))[1:] + "\n"
            for outcome in self.outcomes
        ]

    def text_suffixes(self) -> list[str]:
        """Per segment, the text paragraph after the address."""
        return [Explanation("", self.family, outcome).text() for outcome in self.outcomes]


def summary(parts: tuple[Part, ...]) -> Outcome:
    """The outcome of a CIDR from its parts."""
    verdicts = {part.outcome.verdict for part in parts}
    if len(verdicts) == 1:
        return Outcome(verdicts.pop(), "every part has this verdict, from different rules")
    counts = ", ".join(
        f"{sum(part.outcome.verdict == verdict for part in parts)} {verdict}"
        for verdict in sorted(verdicts)
    )
    return Outcome(MIXED, f"its parts get different verdicts ({counts})")


def _return_outcome(rules: FamilyRules, position: int, shadowing: Iterable[int]) -> Outcome:
    rule = rules.rules[position - 1]
    ref = rule_ref(rule, position)
    source = SourceRef.of(rule.origin)
    if source is None:
        key = "masqLinkLocal" if rules.family == IPV4 else "masqLinkLocalIPv6"
        why = f"the link-local default ({key} is false)"
    else:
        why = f"from {source.entry} ({source.describe()})"
    shadowed = tuple(
        Shadowed(
            rule_ref(rules.rules[later - 1], later),
            rules.rules[later - 1].cidr or "",
            SourceRef.of(rules.rules[later - 1].origin),
        )
        for later in shadowing
    )
    return Outcome(
        NO_MASQUERADE, f"{ref.describe()} returns for {rule.cidr}, {why}", ref, source, shadowed
    )


def _masquerade_outcome(rules: FamilyRules) -> Outcome:
    position = len(rules.rules)
    ref = rule_ref(rules.rules[-1], position)
    notes = ()
    if position > 1 and rules.rules[-2].kind == MASQUERADE:
        first = next(
            number for number, rule in enumerate(rules.rules, 1) if rule.kind == MASQUERADE
        )
        notes = (
            f"tcp, udp and sctp packets are masqueraded first by rules {first}-"
            f"{position - 1} of {rules.chain}, with --to-ports",
        )
    return Outcome(
        MASQUERADE,
        f"no earlier rule matches: {ref.describe()}, the final MASQUERADE, masquerades it",
        ref,
        notes=notes,
    )


def _local_outcome(chain: str) -> Outcome:
    return Outcome(
        NOT_HANDLED,
        "a local address of the node: the agent's POSTROUTING jump to "
        f"{chain} matches only addrtype ! --dst-type LOCAL",
    )


def family_explainer(rules: FamilyRules, local: list[int]) -> FamilyExplainer:
    """Index the RETURN rules of one family (and the node's local addresses)."""
    intervals = [
        (*cidr_range(rule.cidr or ""), position)
        for position, rule in enumerate(rules.rules, 1)
        if rule.kind == RETURN
    ]
    intervals.extend(
        (address, address, -number) for number, address in enumerate(sorted(set(local)), 1)
    )
    index = IntervalIndex.build(intervals)
    masquerade = _masquerade_outcome(rules)
    local_outcome = _local_outcome(rules.chain)
    outcomes = []
    for keys in index.keys:
        if keys and keys[0] < 0:
            outcomes.append(local_outcome)
        elif keys:
            outcomes.append(_return_outcome(rules, keys[0], keys[1:]))
        else:
            outcomes.append(masquerade)
    return FamilyExplainer(rules.family, index, outcomes)


class ConfigExplainer:
    """Explain addresses against the chain the agent writes for a config and flags."""

    def __init__(self, ruleset: Ruleset, local_addresses: Iterable[str] = ()) -> None:
        local: dict[str, list[int]] = {IPV4: [], IPV6: []}
        for text in local_addresses:
            target = parse_target(text)
            if target.is_cidr:
                raise UsageError(f"--local-address {text!r}: give an address, not a CIDR")
            local[target.family].append(target.first)
        self.families = {
            name: family_explainer(rules, local[name]) for name, rules in ruleset.families.items()
        }
        self.not_handled = {IPV6: IPV6_NOT_HANDLED}
        if not ruleset.families:  # an agent that fills BPF maps (each family's may be off)
            self.not_handled = {IPV4: NO_IPV4_MAP, IPV6: NO_IPV6_MAP}
            if local_addresses:
                raise UsageError("--local-address: explain does not model it for BPF maps")
            from masqctl.explain.map_mode import map_explainer

            self.families = {name: map_explainer(table) for name, table in ruleset.maps.items()}

    def explain(self, target: Target) -> Explanation:
        family = self.families.get(target.family)
        if family is None:
            return Explanation(target.text, target.family, self.not_handled[target.family])
        return family.explain(target)

    def ipv4_table(self, output_format: str) -> tuple[list[int], list[str]] | None:
        """Segment starts and per-segment output suffixes, for the batch fast path (None:
        no IPv4 map to answer from)."""
        family = self.families.get(IPV4)
        if family is None:
            return None
        suffixes = family.json_suffixes() if output_format == "json" else family.text_suffixes()
        return family.index.starts, suffixes
