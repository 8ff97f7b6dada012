"""Walk a nat table's POSTROUTING for one packet, following jumps, gotos and RETURNs.

Conditions that cannot be judged fork the walk: both branches are followed, so the
answer is certain when every branch agrees and ``undetermined`` (naming the conditions)
when they do not.  Nothing is guessed; assumptions (the packet mark, the node's local
addresses) are stated in notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from masqctl.config.goparse import parse_cidr
from masqctl.explain.matches import (
    Condition,
    ParsedRule,
    in_cidr,
    option_values,
    parse_mark_value,
    parse_rule,
    protocol_key,
)
from masqctl.explain.verdict import MASQUERADE, NO_MASQUERADE, UNDETERMINED
from masqctl.netfilter.save_parser import SavedRule, Table

NAT_TARGETS = {"MASQUERADE", "SNAT", "NETMAP"}
#: Targets that neither decide nor change what later rules see.
PASSING_TARGETS = {"LOG", "NFLOG", "TRACE", "AUDIT", "CLASSIFY", "NOTRACK", "CT"}
MAX_PATHS = 64
MAX_DEPTH = 64


@dataclass(frozen=True)
class Packet:
    """What is known about a packet from a pod to the destination."""

    family: str
    destination: int
    source: int | None = None
    protocol: str | None = None
    mark: int | None = 0
    mark_assumed: bool = True
    #: The node's local address ranges (addrtype LOCAL).
    local: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Step:
    """One rule the walk looked at, and what it did."""

    chain: str
    index: int
    rule: SavedRule
    result: str


@dataclass(frozen=True)
class Path:
    """One way through the table: its verdict, the deciding step, and its trace."""

    verdict: str
    decider: Step | None
    reason: str
    trace: tuple[Step, ...]
    #: Conditions that could not be judged, with the branch this path took.
    forks: tuple[tuple[str, bool], ...] = ()
    notes: tuple[str, ...] = ()


def judge(condition: Condition, packet: Packet) -> tuple[bool | None, str | None]:
    """Whether ``condition``, ignoring its ``!``, holds for ``packet`` (None: cannot tell),
    and a note stating any assumption used."""
    kind, words = condition.kind, condition.words
    if kind == "-d":
        return in_cidr(words[1], packet.family, packet.destination), None
    if kind == "-s":
        if packet.source is None:
            return None, None
        return in_cidr(words[1], packet.family, packet.source), None
    if kind == "-p":
        wanted = protocol_key(words[1])
        if wanted == "all":
            return True, None
        if packet.protocol is None:
            return None, None
        return protocol_key(packet.protocol) == wanted, None
    if kind == "comment":
        return True, None
    if kind == "addrtype":
        return _addrtype(condition, packet)
    if kind == "mark":
        return _mark(condition, packet)
    return None, None


def implied(condition: Condition, forks: list[tuple[str, bool]]) -> bool | None:
    """What the answers of earlier forks say about ``condition`` (ignoring its ``!``):
    a packet has one protocol, one source address and one output interface, so once
    ``-p tcp`` holds ``-p udp`` does not, and once ``-s 10.0.0.0/8`` holds ``-s
    10.1.0.0/16`` is still open but ``-s 192.168.0.0/16`` fails."""
    kind = condition.kind
    if kind not in ("-s", "-p", "-i", "-o"):
        return None
    value = condition.words[1]
    for text, taken in forks:
        other_kind, _, other = text.partition(" ")
        if other_kind != kind:
            continue
        if kind == "-s":
            answer = _implied_cidr(other, taken, value)
        elif kind == "-p":
            answer = _implied_protocol(other, taken, value)
        else:
            answer = _implied_interface(other, taken, value)
        if answer is not None:
            return answer
    return None


def _known(condition: Condition, text: str, forks: list[tuple[str, bool]]) -> bool | None:
    """What earlier forks answered for ``condition`` (``text``: its words), or imply
    about it; None when it is still open."""
    result = dict(forks).get(text)
    return implied(condition, forks) if result is None else result


def _implied_cidr(known: str, taken: bool, wanted: str) -> bool | None:
    ranges = []
    for text in (known, wanted):
        if "," in text:
            return None
        if "/" not in text:
            text += "/32" if ":" not in text else "/128"
        try:
            cidr = parse_cidr(text)
        except ValueError:
            return None
        ranges.append((cidr.version, cidr.network, cidr.last()))
    (known_version, first, last), (version, wanted_first, wanted_last) = ranges
    if known_version != version:
        return None
    if taken and wanted_first <= first and last <= wanted_last:
        return True  # the source is in the known range, all of it in the wanted one
    if taken and (last < wanted_first or wanted_last < first):
        return False
    if not taken and first <= wanted_first and wanted_last <= last:
        return False
    return None


def _implied_protocol(known: str, taken: bool, wanted: str) -> bool | None:
    same = protocol_key(known) == protocol_key(wanted)
    if taken:
        return same
    return False if same else None


def _implied_interface(known: str, taken: bool, wanted: str) -> bool | None:
    """Interface names, ``eth+`` standing for every name that starts with ``eth``."""

    def covers(pattern: str, name: str) -> bool:  # every name ``name`` matches, pattern does
        if pattern.endswith("+"):
            return name.removesuffix("+").startswith(pattern[:-1])
        return not name.endswith("+") and name == pattern

    if taken:
        return True if covers(wanted, known) else None if covers(known, wanted) else False
    return False if covers(known, wanted) else None


def _addrtype(condition: Condition, packet: Packet) -> tuple[bool | None, str | None]:
    options = option_values(condition.words)
    if set(options) != {"--dst-type"} or (options["--dst-type"][1] or "") != "LOCAL":
        return None, None
    negated, _ = options["--dst-type"]
    local = any(first <= packet.destination <= last for first, last in packet.local)
    return local != negated, None  # "! --dst-type" is inside the module's words


def _mark(condition: Condition, packet: Packet) -> tuple[bool | None, str | None]:
    options = option_values(condition.words)
    if set(options) != {"--mark"} or packet.mark is None:
        return None, None
    negated, text = options["--mark"]
    try:
        value, mask = parse_mark_value(text or "")
    except ValueError:
        return None, None
    note = (
        f"assumed the packet mark is {packet.mark:#x} (no mark set, as for pod traffic; "
        "override with --mark)"
        if packet.mark_assumed
        else None
    )
    return ((packet.mark & mask) == value) != negated, note


def apply_mark_target(args: list[str], mark: int | None) -> int | None:
    """The packet mark after ``-j MARK args``; None when it cannot be known."""
    options = option_values(["-j", "MARK", *args])
    if mark is None or len(options) != 1:
        return None
    name, (_, text) = next(iter(options.items()))
    try:
        value, mask = parse_mark_value(text or "")
    except ValueError:
        return None
    if name == "--set-xmark":
        return (mark & ~mask & 0xFFFFFFFF) ^ value
    if name == "--set-mark":
        return (mark & ~mask & 0xFFFFFFFF) | value
    return {"--xor-mark": mark ^ value, "--or-mark": mark | value, "--and-mark": mark & value}.get(
        name
    )


@dataclass
class Walk:
    """The state of one path while it is being walked."""

    packet: Packet
    stack: list[tuple[str, int, bool]] = field(default_factory=list)
    trace: list[Step] = field(default_factory=list)
    forks: list[tuple[str, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def copy(self) -> Walk:
        return Walk(
            self.packet, list(self.stack), list(self.trace), list(self.forks), list(self.notes)
        )


class TableWalker:
    """Walks one nat table's POSTROUTING for packets."""

    def __init__(self, table: Table, agent_chain: str) -> None:
        self.table = table
        self.agent_chain = agent_chain
        self.parsed: dict[int, ParsedRule] = {}

    def rule(self, saved: SavedRule) -> ParsedRule:
        key = id(saved)
        if key not in self.parsed:
            self.parsed[key] = parse_rule(saved.args)
        return self.parsed[key]

    def walk(self, packet: Packet) -> list[Path]:
        """Every way the packet can go, in order (a failed match before a match)."""
        paths: list[Path] = []
        pending = [Walk(packet, [("POSTROUTING", 0, False)])]
        while pending:
            if len(paths) + len(pending) > MAX_PATHS:
                return [
                    Path(
                        UNDETERMINED,
                        None,
                        f"more than {MAX_PATHS} ways through the "
                        "table depend on conditions that cannot be judged",
                        (),
                    )
                ]
            state = pending.pop()
            path = self._run(state, pending)
            paths.append(path)
        return paths

    def _run(self, state: Walk, pending: list[Walk]) -> Path:
        while True:
            chain_name, position, _ = state.stack[-1]
            chain = self.table.chains.get(chain_name)
            if chain is None:
                return self._end(
                    state, UNDETERMINED, None, f"chain {chain_name} is not in the table"
                )
            if position >= len(chain.rules):
                if self._return(state):
                    continue
                return self._fall_off(state)
            saved = chain.rules[position]
            state.stack[-1] = (chain_name, position + 1, state.stack[-1][2])
            parsed = self.rule(saved)
            matched = self._matches(state, parsed, saved, position, pending)
            if not matched:
                continue
            step = Step(chain_name, position + 1, saved, "")
            outcome = self._target(state, parsed, step)
            if outcome is not None:
                return outcome

    def _matches(
        self, state: Walk, parsed: ParsedRule, saved: SavedRule, position: int, pending: list[Walk]
    ) -> bool:
        """Whether every condition holds; an unjudgeable one forks a walk that re-runs
        this rule with the opposite answer (and keeps it for the rest of the path).

        The conditions of a rule all have to hold, in whatever order the rule names
        them: one that surely fails decides before any unjudgeable one forks."""
        chain_name, _, goto = state.stack[-1]
        unknown: list[tuple[Condition, str]] = []
        notes: list[str] = []
        for condition in parsed.conditions:
            result, note = judge(condition, state.packet)
            if note:
                notes.append(note)
            text = " ".join(condition.words)
            if result is None:
                result = _known(condition, text, state.forks)
            if result is None:
                unknown.append((condition, text))
            elif result == condition.negated:
                self._note(state, notes)
                state.trace.append(Step(chain_name, position + 1, saved, "no match"))
                return False
        self._note(state, notes)
        for condition, text in unknown:
            result = _known(condition, text, state.forks)  # a fork meanwhile may answer it
            if result is None:
                other = state.copy()
                other.stack[-1] = (chain_name, position, goto)
                other.forks.append((text, False))
                pending.append(other)
                state.forks.append((text, True))
                result = True
            if result == condition.negated:
                state.trace.append(Step(chain_name, position + 1, saved, "no match"))
                return False
        return True

    @staticmethod
    def _note(state: Walk, notes: list[str]) -> None:
        for note in notes:
            if note not in state.notes:
                state.notes.append(note)

    def _target(self, state: Walk, parsed: ParsedRule, step: Step) -> Path | None:
        target = parsed.target
        if target is None or target in PASSING_TARGETS:
            state.trace.append(replace(step, result="matches, goes on"))
            return None
        if target in NAT_TARGETS:
            state.trace.append(replace(step, result=target))
            return self._end(state, MASQUERADE, step, f"{target} rewrites the source address")
        if target == "ACCEPT":
            state.trace.append(replace(step, result="ACCEPT"))
            return self._end(state, NO_MASQUERADE, step, "ACCEPT ends the nat table unchanged")
        if target == "RETURN":
            state.trace.append(replace(step, result="RETURN"))
            if self._return(state):
                return None
            return self._fall_off(state, step)
        if target == "MARK":
            state.packet = replace(
                state.packet, mark=apply_mark_target(parsed.target_args, state.packet.mark)
            )
            mark = state.packet.mark
            state.trace.append(
                replace(step, result="mark now unknown" if mark is None else f"mark now {mark:#x}")
            )
            return None
        if target in self.table.chains:
            if len(state.stack) >= MAX_DEPTH:
                return self._end(state, UNDETERMINED, step, "chains nest too deep (a loop?)")
            if parsed.goto:
                state.stack[-1] = (target, 0, True)
                state.trace.append(replace(step, result=f"goto {target}"))
            else:
                state.stack.append((target, 0, False))
                state.trace.append(replace(step, result=f"jump to {target}"))
            return None
        state.trace.append(replace(step, result=f"target {target}"))
        return self._end(
            state, UNDETERMINED, step, f"cannot tell what target {target} does to the packet"
        )

    def _fall_off(self, state: Walk, ending: Step | None = None) -> Path:
        """POSTROUTING ends (its policy is ACCEPT in nat); a RETURN of the agent decided,
        or else the RETURN that ended it (``ending``: in POSTROUTING, or in a chain it
        went to with -g)."""
        returns = [
            step
            for step in state.trace
            if step.result == "RETURN" and step.chain == self.agent_chain
        ]
        if returns:
            return self._end(
                state,
                NO_MASQUERADE,
                returns[-1],
                "RETURN, and no later rule in nat POSTROUTING masquerades it",
            )
        if ending is not None:
            return self._end(
                state,
                NO_MASQUERADE,
                ending,
                "RETURN ends nat POSTROUTING, whose policy ACCEPT lets the packet leave unchanged",
            )
        return self._end(state, NO_MASQUERADE, None, "no rule in nat POSTROUTING masquerades it")

    def _return(self, state: Walk) -> bool:
        """Leave the current chain; False when that ends POSTROUTING itself."""
        state.stack.pop()
        return bool(state.stack)

    def _end(self, state: Walk, verdict: str, step: Step | None, reason: str) -> Path:
        return Path(
            verdict, step, reason, tuple(state.trace), tuple(state.forks), tuple(state.notes)
        )
