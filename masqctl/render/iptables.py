"""The exact bytes the agent gives ``iptables-restore --noflush`` for one family."""

from __future__ import annotations

from masqctl.ruleset import FamilyRules


def chain_line(chain: str) -> str:
    """``:CHAIN - [0:0]``: declares the chain and, in a --noflush restore, flushes it."""
    return f":{chain} - [0:0]"


def restore_payload(rules: FamilyRules) -> str:
    """One sync's payload: the chain flushed and refilled in one nat transaction."""
    lines = ["*nat", chain_line(rules.chain)]
    lines.extend(rule.restore_line() for rule in rules.rules)
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"
