"""The Ruleset as JSON: families, chain, rules with their origin (documented in docs/)."""

from __future__ import annotations

import json

from masqctl.render.cilium_map import maps_json
from masqctl.ruleset import Rule, Ruleset

JSON_VERSION = 1


def rule_json(rule: Rule, index: int | None = None) -> dict[str, object]:
    """One rule: its 1-based position in the chain, kind, restore text and config entry."""
    origin = rule.origin
    data: dict[str, object] = {} if index is None else {"index": index}
    return data | {
        "chain": rule.chain,
        "kind": rule.kind,
        "label": rule.label,
        "cidr": rule.cidr,
        "args": list(rule.args),
        "text": rule.restore_line(),
        "source": None
        if origin is None
        else {"file": origin.file, "line": origin.line or None, "entry": origin.entry},
    }


#: Each agent flag's name in the JSON form.
_FLAG_NAMES = {
    "masq_chain": "masqChain",
    "nomasq_all_reserved_ranges": "nomasqAllReservedRanges",
    "enable_ipv6": "enableIPv6",
    "random_fully": "randomFully",
    "to_ports": "toPorts",
    "resync_interval": "resyncInterval",
    "enable_ipv4_masquerade": "enableIPv4Masquerade",
    "enable_ipv6_masquerade": "enableIPv6Masquerade",
    "ipv4_native_routing_cidr": "ipv4NativeRoutingCIDR",
}


def ruleset_json(ruleset: Ruleset) -> dict[str, object]:
    """The whole Ruleset: the flags, the effective config and each family's chain."""
    from dataclasses import asdict

    from masqctl.flavours import get_flavour

    flavour = get_flavour(ruleset.flavour)
    values = asdict(ruleset.flags)
    config = json.loads(flavour.effective_json(ruleset.config))
    return {
        "version": JSON_VERSION,
        "flavour": ruleset.flavour,
        "flags": {_FLAG_NAMES[flag.dest]: values[flag.dest] for flag in flavour.flags},
        "config": {"source": ruleset.config.source, **config},
        "maps": maps_json(ruleset),
        "families": {
            name: {
                "chain": family.chain,
                "order": "ordered" if family.ordered else "unordered",
                "jump": rule_json(family.jump),
                "rules": [rule_json(rule, index) for index, rule in enumerate(family.rules, 1)],
            }
            for name, family in ruleset.families.items()
        },
    }
