"""What explain says about one address: the verdict, the deciding rule and why."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from masqctl.model import Origin
from masqctl.ruleset import Rule

MASQUERADE = "masquerade"
NO_MASQUERADE = "no-masquerade"
NOT_HANDLED = "not-handled"
UNDETERMINED = "undetermined"
#: A CIDR whose parts get different verdicts.
MIXED = "mixed"


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule by position: ``rule 3 of IP-MASQ-AGENT`` and its text."""

    chain: str
    index: int
    text: str
    #: Where the rule is in a dump (live mode), 0 when unknown.
    line: int = 0
    #: "rule" of a chain, or "entry" of a BPF map.
    kind: str = "rule"

    def json(self) -> dict[str, object]:
        data: dict[str, object] = {"chain": self.chain, "index": self.index, "text": self.text}
        if self.line:
            data["line"] = self.line
        return data

    def describe(self) -> str:
        return f"{self.kind} {self.index} of {self.chain}"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """The config entry behind a rule."""

    file: str
    line: int
    entry: str

    @classmethod
    def of(cls, origin: Origin | None) -> SourceRef | None:
        return None if origin is None else cls(origin.file, origin.line, origin.entry)

    def json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line or None, "entry": self.entry}

    def describe(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def rule_ref(rule: Rule, index: int) -> RuleRef:
    """The reference to ``rule``, the ``index``-th (1-based) of its chain."""
    return RuleRef(rule.chain, index, rule.restore_line())


@dataclass(frozen=True, slots=True)
class Shadowed:
    """A later rule that also contains the address but never gets to decide."""

    rule: RuleRef
    cidr: str
    source: SourceRef | None

    def json(self) -> dict[str, object]:
        return {
            "chain": self.rule.chain,
            "index": self.rule.index,
            "cidr": self.cidr,
            "source": None if self.source is None else self.source.json(),
        }

    def describe(self) -> str:
        where = f" ({self.source.entry}, {self.source.describe()})" if self.source else ""
        return f"{self.rule.describe()} {self.cidr}{where}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A verdict with its reason, deciding rule, config entry and shadowed rules."""

    verdict: str
    reason: str
    rule: RuleRef | None = None
    source: SourceRef | None = None
    shadowed: tuple[Shadowed, ...] = ()
    notes: tuple[str, ...] = ()

    def json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "rule": None if self.rule is None else self.rule.json(),
            "source": None if self.source is None else self.source.json(),
            "shadowed": [item.json() for item in self.shadowed],
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class Part:
    """Some addresses of an explained CIDR that share one outcome."""

    cidrs: tuple[str, ...]
    outcome: Outcome

    def json(self) -> dict[str, object]:
        return {"cidrs": list(self.cidrs), **self.outcome.json()}


@dataclass(frozen=True)
class Explanation:
    """The answer for one address (or CIDR) as typed."""

    address: str
    family: str
    outcome: Outcome
    #: For a CIDR: its parts, in address order, each with its own outcome.
    parts: tuple[Part, ...] = field(default=())

    def json(self) -> dict[str, object]:
        data: dict[str, object] = {"address": self.address, "family": self.family}
        data.update(self.outcome.json())
        if self.parts:
            data["parts"] = [part.json() for part in self.parts]
        return data

    def json_line(self) -> str:
        return json.dumps(self.json(), separators=(",", ":")) + "\n"

    def text(self) -> str:
        """One short paragraph, ending with a blank line."""
        lines = [f"{self.address}: {self.outcome.verdict}: {self.outcome.reason}"]
        lines.extend(outcome_details(self.outcome))
        for part in self.parts:
            lines.append(
                f"  {', '.join(part.cidrs)}: {part.outcome.verdict}: {part.outcome.reason}"
            )
            lines.extend("  " + line for line in outcome_details(part.outcome))
        return "\n".join(lines) + "\n\n"


def outcome_details(outcome: Outcome) -> list[str]:
    """The indented lines under a verdict: rule text, shadowed rules, notes."""
    lines = []
    if outcome.rule is not None:
        lines.append(f"  {outcome.rule.text}")
    lines.extend(f"  shadowed: {item.describe()} also contains it" for item in outcome.shadowed)
    lines.extend(f"  note: {note}" for note in outcome.notes)
    return lines
