"""The Ruleset as JSON: families, chain, rules with their origin (documented in docs/)."""

from __future__ import annotations

from masqctl.config.goparse import format_duration
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


def ruleset_json(ruleset: Ruleset) -> dict[str, object]:
    """The whole Ruleset: the flags, the effective config and each family's chain."""
    flags, config = ruleset.flags, ruleset.config
    return {
        "version": JSON_VERSION,
        "flags": {
            "masqChain": flags.masq_chain,
            "nomasqAllReservedRanges": flags.nomasq_all_reserved_ranges,
            "enableIPv6": flags.enable_ipv6,
            "randomFully": flags.random_fully,
            "toPorts": flags.to_ports,
        },
        "config": {
            "source": config.source,
            "nonMasqueradeCIDRs": [entry.text for entry in config.non_masquerade_cidrs],
            "cidrLimit": config.cidr_limit,
            "masqLinkLocal": config.masq_link_local,
            "masqLinkLocalIPv6": config.masq_link_local_ipv6,
            "resyncInterval": format_duration(config.resync_interval_ns),
        },
        "families": {
            name: {
                "chain": family.chain,
                "jump": rule_json(family.jump),
                "rules": [rule_json(rule, index) for index, rule in enumerate(family.rules, 1)],
            }
            for name, family in ruleset.families.items()
        },
    }
