"""diff: the rendered chain and jump against a live nat table, on canonical rules.

Both sides are compared in one canonical form (see masqctl.netfilter.save_parser), the
rendered side read as iptables-restore reads the agent's payload.  The common case is
cheap: each rendered rule also has the line iptables-save prints for it, and a live line
equal to that text has that canonical form, so only lines that differ as text are read
into canonical form.  An in-sync check is linear in the number of rules; only on drift
does difflib run (to place out-of-order rules, and for the unified diff text).
"""

from __future__ import annotations

import json
import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from masqctl.agent import OLD_MASQUERADE_COMMENT, OLD_RETURN_COMMENT, jump_comment
from masqctl.errors import TEXT_OR_JSON, MasqctlError, UsageError, require_choice
from masqctl.netfilter.save_parser import (
    ADDRESS_OPTIONS,
    ADDRESS_SLOT,
    Chain,
    SavedRule,
    SaveFile,
    canonical_address,
    canonical_args,
    matches_every_address,
    may_hold,
    read_dump,
    rule_line,
    saved_line,
    split_args,
)
from masqctl.ruleset import FamilyRules, Rule, Ruleset, flag_families

if TYPE_CHECKING:
    from masqctl.agent_setup import AgentInputs, AgentSetup
    from masqctl.netfilter.chains import PendingChains
    from masqctl.netfilter.paste import Paste

JUMP_OK = "ok"
JUMP_MISSING = "missing"
JUMP_DUPLICATED = "duplicated"
JUMP_OLD_FORMAT = "old-format"
#: The dump (a paste) does not show the POSTROUTING rules that would hold the jump.
JUMP_NOT_SHOWN = "not-shown"
#: Targets that never end a packet's way through POSTROUTING (a rule ahead of the jump
#: with one of them cannot decide before the agent's chain does).
_PASSING_TARGETS = frozenset({"LOG", "NFLOG", "MARK", "CONNMARK", "TRACE", "AUDIT"})
#: kube-proxy's jump, ahead of the agent's on every node: its chain NATs only packets
#: kube-proxy marked for a Service, and RETURNs every other.
_KUBE_PROXY_CHAIN = "KUBE-POSTROUTING"
_OLD_COMMENTS = frozenset({OLD_RETURN_COMMENT, OLD_MASQUERADE_COMMENT})
#: An address written into a line as it is: no quoting, no spaces.
_PLAIN_ADDRESS = re.compile(r"[0-9A-Fa-f.:/]+")
#: A rule key: its saved line when it has one, else its canonical form (see Desired).
Key = str | tuple[str, ...]


def rendered_jump(rules: FamilyRules) -> tuple[str, ...]:
    """The agent's POSTROUTING jump, canonical: the agent gives iptables its arguments as
    they are (``iptables -A POSTROUTING ...``), so a comment may hold quotes."""
    try:
        return canonical_args(rules.jump.args)
    except ValueError as error:
        raise MasqctlError(f"rendered POSTROUTING jump: {error}") from None


def _read_rendered(chain: str, line: str, position: int) -> tuple[str, ...]:
    """The canonical form of the rendered rule ``line`` as iptables-restore reads it."""
    try:
        return canonical_args(split_args(line)[2:])
    except ValueError as error:
        raise MasqctlError(f"rendered rule {position} of {chain}: {error}") from None


@dataclass(frozen=True, slots=True)
class _Form:
    """Rendered rules that differ only in one address: their canonical form (the address
    at ``at``), and, before and after the address, their saved line (None: not known)
    and the line the agent writes."""

    canonical: tuple[str, ...]
    at: int
    saved: tuple[str, str] | None
    written: tuple[str, str]


_UNKNOWN = _Form((), -1, None, ("", ""))  # a form not worked out yet


class Desired:
    """The rendered chain and jump of one family: lines written, canonical forms, keys.

    Rules of a chain mostly differ only in their address, so each form of rule is worked
    out once and the address put in.  A rule's key is its saved line, else its canonical
    form: two rules have the same key exactly when they have the same canonical form
    (:func:`saved_line` is a function of the canonical form).
    """

    def __init__(self, rules: FamilyRules) -> None:
        self.rules = rules
        self.jump = rendered_jump(rules)
        #: Other agents' jumps to the chain, canonical, and whose each is.
        self.other_jumps = {canonical_args(rule.args): rule.label for rule in rules.other_jumps}
        #: Per rendered rule, its form (None: the rule is read on its own); None until read.
        self._forms: list[_Form | None] | None = None
        self._addresses: list[str] = []
        self._alone: dict[int, tuple[str, ...]] = {}
        self._texts: list[str | None] | None = None
        self._texts_as_written: list[str | None] | None = None

    def _read_forms(self) -> list[_Form | None]:
        if self._forms is None:
            by_key: dict[tuple[str, tuple[str, ...], tuple[str, ...]], _Form | None] = {}
            forms: list[_Form | None] = []
            addresses: list[str] = []
            plain = _PLAIN_ADDRESS.fullmatch
            for position, rule in enumerate(self.rules.rules, 1):
                args = rule.args
                address = rule.cidr or ""
                at = args.index(address) if address in args else 0
                form = None
                if (
                    at
                    and args[at - 1] in ADDRESS_OPTIONS
                    and plain(address)
                    and not matches_every_address(address)
                ):  # not printed: no form
                    key = (rule.chain, args[:at], args[at + 1 :])
                    form = by_key.get(key, _UNKNOWN)
                    if form is _UNKNOWN:
                        form = by_key[key] = _form_of(self.rules.chain, rule, at, position)
                forms.append(form)
                addresses.append(address)
            self._forms, self._addresses = forms, addresses
        return self._forms

    def written(self, start: int, stop: int) -> str:
        """The lines the agent writes for rendered rules ``start`` to ``stop`` (from 0)."""
        forms = self._read_forms()[start:stop]
        return "".join(
            [
                f"{form.written[0]}{address}{form.written[1]}\n"
                if form is not None
                else f"{rule.restore_line()}\n"
                for form, address, rule in zip(
                    forms, self._addresses[start:stop], self.rules.rules[start:stop], strict=True
                )
            ]
        )

    def saved_lines_as_written(self) -> list[str | None]:
        """Per rendered rule, its saved line with the address spelled as written (which is
        iptables-save's spelling when the config's is canonical); None: not known."""
        if self._texts_as_written is None:
            self._texts_as_written = self._saved_lines(str)
        return self._texts_as_written

    def saved_lines(self) -> list[str | None]:
        """Per rendered rule, the line iptables-save prints for it (None: not known)."""
        if self._texts is None:
            self._texts = self._saved_lines(canonical_address)
        return self._texts

    def _saved_lines(self, spell: Callable[[str], str]) -> list[str | None]:
        """Per rendered rule, its saved line with the address as ``spell`` spells it."""
        chain = self.rules.chain
        return [
            saved_line(chain, self.canonical_at(index))
            if form is None
            else None
            if form.saved is None
            else f"{form.saved[0]}{spell(address)}{form.saved[1]}"
            for index, (form, address) in enumerate(
                zip(self._read_forms(), self._addresses, strict=True)
            )
        ]

    def canonical_at(self, index: int) -> tuple[str, ...]:
        """The canonical form of rendered rule ``index`` (from 0)."""
        form = self._read_forms()[index]
        if form is not None:
            words = list(form.canonical)
            words[form.at] = canonical_address(self._addresses[index])
            return tuple(words)
        if index not in self._alone:
            rule = self.rules.rules[index]
            self._alone[index] = _read_rendered(self.rules.chain, rule.restore_line(), index + 1)
        return self._alone[index]

    @property
    def canonical(self) -> tuple[tuple[str, ...], ...]:
        """The rendered chain's rules in canonical form."""
        return tuple(self.canonical_at(index) for index in range(len(self.rules.rules)))

    def keys(self) -> list[Key]:
        """Per rendered rule, its key (see the class doc)."""
        return [
            text if text is not None else self.canonical_at(index)
            for index, text in enumerate(self.saved_lines())
        ]


def _form_of(chain: str, rule: Rule, at: int, position: int) -> _Form | None:
    """The form of ``rule`` with its address (``rule.args[at]``) left out, or None when
    the agent's line would not read back with the address in one place."""
    args = (*rule.args[:at], ADDRESS_SLOT, *rule.args[at + 1 :])
    line = Rule(rule.chain, args, rule.kind, rule.label).restore_line()
    canonical = _read_rendered(chain, line, position)
    if split_args(line) != ["-A", rule.chain, *args] or canonical.count(ADDRESS_SLOT) != 1:
        return None
    saved = saved_line(chain, canonical)
    return _Form(
        canonical,
        canonical.index(ADDRESS_SLOT),
        None if saved is None else _around(saved),
        _around(line),
    )


def _around(line: str) -> tuple[str, str]:
    before, _, after = line.partition(ADDRESS_SLOT)
    return before, after


def rule_key(rule: SavedRule, chain: str) -> Key:
    """A live rule's key (see Desired): its saved line, else its canonical form."""
    return saved_line(chain, rule.canonical) or rule.canonical


@dataclass
class FamilyDiff:
    """How one family's live chain and jump differ from the rendered ones."""

    family: str
    chain: str
    source: str
    desired: Desired
    chain_missing: bool = False
    old_format: bool = False
    jump_state: str = JUMP_OK
    current_jumps: list[SavedRule] = field(default_factory=list)
    old_jumps: list[SavedRule] = field(default_factory=list)
    foreign_jumps: list[SavedRule] = field(default_factory=list)
    #: Other POSTROUTING rules ahead of the agent's jump that may decide for the packet first.
    foreign_ahead: list[SavedRule] = field(default_factory=list)
    missing: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    extra: list[SavedRule] = field(default_factory=list)
    out_of_order: list[SavedRule] = field(default_factory=list)
    comment_only: list[tuple[SavedRule, tuple[str, ...]]] = field(default_factory=list)
    live_rules: list[SavedRule] = field(default_factory=list)
    #: The chain differs, and how is not worked out yet (see :func:`settle`).
    unsettled: bool = False
    #: What a pasted dump lacks to check all of it (see masqctl.diff_paste), in words.
    unchecked: list[str] = field(default_factory=list)
    #: The live side was listed chain by chain (rules are named by their position).
    listed: bool = False

    def place(self, rule: SavedRule) -> str:
        """Where a live rule stands, as the reader finds it: its line in a dump, its
        position in its chain in a live listing."""
        return f"{rule.chain} rule {rule.position}" if self.listed else f"line {rule.line}"

    def line_of(self, rule: SavedRule) -> int | None:
        """The rule's line in the dump (None for a live listing)."""
        return None if self.listed else rule.line

    @property
    def chain_in_sync(self) -> bool:
        return (
            not self.chain_missing
            and not self.unsettled
            and not (self.missing or self.extra or self.out_of_order or self.comment_only)
        )

    @property
    def in_sync(self) -> bool:
        return self.chain_in_sync and self.jump_state == JUMP_OK and not self.unchecked

    @property
    def drifted(self) -> bool:
        """Whether what could be checked differs (not merely could not be checked)."""
        return not self.chain_in_sync or self.jump_state not in (JUMP_OK, JUMP_NOT_SHOWN)


def _comment(words: tuple[str, ...]) -> str | None:
    for index, word in enumerate(words[:-1]):
        if word == "--comment":
            return words[index + 1]
    return None


def _without_comment(words: tuple[str, ...]) -> tuple[str, ...]:
    """The rule with its comment and (old format) ``! --dst-type LOCAL`` match left out."""
    kept: list[str] = []
    index = 0
    while index < len(words):
        if words[index : index + 4] == ("-m", "comment", "--comment", _comment(words)):
            index += 4
            continue
        if words[index : index + 5] == ("-m", "addrtype", "!", "--dst-type", "LOCAL"):
            index += 5
            continue
        kept.append(words[index])
        index += 1
    return tuple(kept)


def _classify_jumps(result: FamilyDiff, postrouting: Chain | None, desired: Desired) -> None:
    quoted = f'"{jump_comment(result.chain)}"'
    for rule in postrouting.rules if postrouting else ():
        if not rule.jumps_to(result.chain):
            continue
        if rule.canonical == desired.jump:
            result.current_jumps.append(rule)
        elif rule.canonical in desired.other_jumps:
            result.foreign_jumps.append(rule)
        elif _comment(rule.canonical) == quoted or (
            (_comment(rule.canonical) or "").startswith("ip-masq-agent")
        ):
            result.old_jumps.append(rule)
        else:
            result.foreign_jumps.append(rule)
    agent_jumps = result.current_jumps + result.old_jumps
    if postrouting and agent_jumps:
        first = min(rule.position for rule in agent_jumps)
        result.foreign_ahead = [
            rule
            for rule in postrouting.rules[: first - 1]
            if not rule.jumps_to(result.chain) and _may_decide(rule.canonical)
        ]
    if len(result.current_jumps) > 1:
        result.jump_state = JUMP_DUPLICATED
    elif result.current_jumps:
        result.jump_state = JUMP_DUPLICATED if result.old_jumps else JUMP_OK
    else:
        result.jump_state = JUMP_OLD_FORMAT if result.old_jumps else JUMP_MISSING


def _may_decide(words: tuple[str, ...]) -> bool:
    """Whether a POSTROUTING rule may end the packet's way there (NAT it, accept or
    return it, or send it to a chain that may): its target is none of the passing ones
    and not kube-proxy's chain."""
    index = 0
    while index < len(words) - 1:
        if words[index] == "--comment":
            index += 2
            continue
        if words[index] in ("-j", "-g"):
            target = words[index + 1]
            return target not in _PASSING_TARGETS and target != _KUBE_PROXY_CHAIN
        index += 1
    return False


def _is_old_format(rule: SavedRule, known: set[str | None]) -> bool:
    """Whether the rule carries a comment of the 2017 agent format."""
    if rule.text in known:  # the line of a rendered rule, whose comment is current
        return False
    return any(may_hold(rule.text, comment) for comment in _OLD_COMMENTS) and (
        _comment(rule.canonical) in _OLD_COMMENTS
    )


def _live_keys(live: list[SavedRule], desired: Desired, known: set[str | None]) -> list[Key]:
    """The keys of the live rules (see Desired); ``known``: the rendered rules' lines."""
    chain = desired.rules.chain
    return [rule.text if rule.text in known else rule_key(rule, chain) for rule in live]


def _same_set(live_keys: list[Key], wanted: list[Key]) -> bool:
    """For an agent whose RETURN rules come in any order: the same rules, and the final
    MASQUERADE last (a RETURN after it would never be reached)."""
    return Counter(live_keys) == Counter(wanted) and live_keys[-1:] == wanted[-1:]


def _chain_matches(live: list[SavedRule], desired: Desired) -> bool:
    """Whether the live chain holds the rendered rules, in order (read as canonical)."""
    if len(live) != len(desired.rules.rules):
        return False
    if not desired.rules.ordered:
        return _same_set(_live_keys(live, desired, set(desired.saved_lines())), desired.keys())
    written = desired.saved_lines_as_written()
    live_texts = [rule.text for rule in live]
    if live_texts == written:  # the common case: each line a rendered rule's, in order
        return True
    texts = desired.saved_lines()
    return all(
        text in (written[index], texts[index])
        or live[index].canonical == desired.canonical_at(index)
        for index, text in enumerate(live_texts)
    )


def _compare_rules(result: FamilyDiff, live: list[SavedRule], desired: Desired) -> None:
    known = set(desired.saved_lines())
    result.old_format = any(_is_old_format(rule, known) for rule in live)
    live_keys = _live_keys(live, desired, known)
    wanted = desired.keys()
    if live_keys == wanted:
        return
    live_counts = Counter(live_keys)
    wanted_counts = Counter(wanted)
    missing = []
    common_wanted = []
    for position, key in enumerate(wanted, 1):
        if live_counts[key] > 0:
            live_counts[key] -= 1
            common_wanted.append(key)
        else:
            missing.append((position, desired.canonical_at(position - 1)))
    extra = []
    common_live = []
    common_live_keys = []
    for rule, key in zip(live, live_keys, strict=True):
        if wanted_counts[key] > 0:
            wanted_counts[key] -= 1
            common_live.append(rule)
            common_live_keys.append(key)
        else:
            extra.append(rule)
    # a missing rule and an extra one that differ only in comment are one finding
    by_body: dict[tuple[str, ...], deque[tuple[int, tuple[str, ...]]]] = {}
    for item in missing:
        by_body.setdefault(_without_comment(item[1]), deque()).append(item)
    paired = set()
    for rule in extra:
        candidates = by_body.get(_without_comment(rule.canonical))
        if candidates:
            position, words = candidates.popleft()
            paired.add(position)
            result.comment_only.append((rule, words))
        else:
            result.extra.append(rule)
    result.missing = [item for item in missing if item[0] not in paired]
    if desired.rules.ordered:
        result.out_of_order = _out_of_order(common_live, common_live_keys, common_wanted)
    elif wanted and wanted[-1] in common_live_keys:
        final = len(common_live_keys) - 1 - common_live_keys[::-1].index(wanted[-1])
        result.out_of_order = common_live[final + 1 :]  # never reached after MASQUERADE


def _out_of_order(
    common_live: list[SavedRule], live_keys: list[Key], wanted_keys: list[Key]
) -> list[SavedRule]:
    """Live rules outside the longest run kept in order (both lists hold the same rules)."""
    if live_keys == wanted_keys:
        return []
    from difflib import SequenceMatcher

    matcher = SequenceMatcher(None, live_keys, wanted_keys, autojunk=False)
    in_order = set()
    for block in matcher.get_matching_blocks():
        in_order.update(range(block.a, block.a + block.size))
    return [rule for index, rule in enumerate(common_live) if index not in in_order]


def diff_family(
    rules: FamilyRules,
    save: SaveFile,
    source: str,
    desired: Desired | None = None,
    *,
    settled: bool = True,
) -> FamilyDiff:
    """Compare one family's rendered chain and jump with the nat table of ``save``.

    ``settled=False``: when the chain differs, only say so (``unsettled``), which is all
    a plan needs; :func:`settle` works out how (apply does it while iptables writes).
    """
    desired = desired or Desired(rules)
    result = FamilyDiff(rules.family, rules.chain, source, desired, listed=save.listed)
    chains = save.chains("nat")
    _classify_jumps(result, chains.get("POSTROUTING"), desired)
    live_chain = chains.get(rules.chain)
    if live_chain is None:
        result.chain_missing = True
        return result
    result.live_rules = live_chain.rules
    if not _chain_matches(live_chain.rules, desired):
        result.unsettled = True
        if settled:
            settle(result)
    return result


def settle(result: FamilyDiff) -> None:
    """Work out how a differing chain differs: rules missing, extra, out of order..."""
    if result.unsettled:
        result.unsettled = False
        _compare_rules(result, result.live_rules, result.desired)


# ---- reporting ----------------------------------------------------------------------


def findings(result: FamilyDiff) -> list[str]:
    """The differences in words, one line each."""
    settle(result)
    chain = result.chain
    lines = []
    if result.chain_missing:
        lines.append(f"chain {chain} is missing")
    if result.old_format:
        lines.append(f"chain {chain} is in the old (2017) agent format")
    if result.jump_state == JUMP_MISSING:
        lines.append(f"POSTROUTING jump to {chain} is missing")
    elif result.jump_state == JUMP_OLD_FORMAT:
        where = ", ".join(result.place(rule) for rule in result.old_jumps)
        lines.append(f"POSTROUTING jump to {chain} is present only in an old format ({where})")
    elif result.jump_state == JUMP_DUPLICATED:
        count = len(result.current_jumps) + len(result.old_jumps)
        lines.append(f"POSTROUTING jump to {chain} is duplicated ({count} jumps)")
    for rule in result.foreign_jumps:
        owner = result.desired.other_jumps.get(rule.canonical)
        lines.append(
            f"a POSTROUTING rule ({result.place(rule)}) also jumps to {chain} "
            + (f"({owner}; left alone)" if owner else "(not the agent's; left alone)")
        )
    for position, words in result.missing:
        lines.append(f"rule {position} missing: {rule_line('-A', chain, words)}")
    for rule in result.extra:
        lines.append(f"extra rule ({result.place(rule)}): {rule_line('-A', chain, rule.canonical)}")
    for rule in result.out_of_order:
        lines.append(
            f"rule out of order ({result.place(rule)}): {rule_line('-A', chain, rule.canonical)}"
        )
    for rule, words in result.comment_only:
        lines.append(
            f"rule differs only in comment ({result.place(rule)}): "
            f"{_comment(rule.canonical)!r}, want {_comment(words)!r}"
        )
    lines.extend(f"could not check {item}" for item in result.unchecked)
    for rule in result.foreign_ahead:  # last: apply reports the first finding
        lines.append(
            f"a POSTROUTING rule ({result.place(rule)}) is ahead of the jump to {chain} and "
            f"may decide for the packet first (not drift): "
            f"{rule_line('-A', 'POSTROUTING', rule.canonical)}"
        )
    return lines


def _live_lines(result: FamilyDiff) -> list[str]:
    jumps = sorted(result.current_jumps + result.old_jumps, key=lambda rule: rule.position)
    lines = [rule_line("-A", "POSTROUTING", rule.canonical) for rule in jumps]
    if not result.chain_missing:
        lines.append(f":{result.chain} - [0:0]")
        lines.extend(rule_line("-A", result.chain, rule.canonical) for rule in result.live_rules)
    return lines


def _wanted_lines(result: FamilyDiff) -> list[str]:
    lines = (
        []
        if result.jump_state == JUMP_NOT_SHOWN
        else [rule_line("-A", "POSTROUTING", result.desired.jump)]
    )
    lines.append(f":{result.chain} - [0:0]")
    lines.extend(rule_line("-A", result.chain, words) for words in result.desired.canonical)
    return lines


def unified(result: FamilyDiff) -> str:
    """A unified diff of canonical rules: live (``-``) to rendered (``+``)."""
    if not result.drifted:
        return ""
    from difflib import unified_diff

    return "".join(
        f"{line}\n"
        for line in unified_diff(
            _live_lines(result),
            _wanted_lines(result),
            f"live {result.source}",
            f"rendered {result.family}",
            lineterm="",
        )
    )


def summary(result: FamilyDiff, found: list[str] | None = None) -> str:
    """One line: in sync, or the drift in counts (``found``: its findings, if known)."""
    if result.in_sync:
        count = len(result.desired.rules.rules)
        return f"{result.family}: {result.chain} in sync ({count} rules, jump present)"
    notes = len(result.unchecked) + len(result.foreign_jumps) + len(result.foreign_ahead)
    count = len(findings(result) if found is None else found) - notes  # drift alone
    if not result.drifted:
        return (
            f"{result.family}: {result.chain} no drift in what {result.source} shows; "
            f"{len(result.unchecked)} not checked"
        )
    return f"{result.family}: {result.chain} drifted ({count} findings)"


def diff_json(results: list[FamilyDiff]) -> dict[str, object]:
    """The stable machine form of ``diff --output json``."""
    return {
        "in_sync": all(result.in_sync for result in results),
        "families": [_family_json(result) for result in results],
    }


def _family_json(result: FamilyDiff) -> dict[str, object]:
    chain = result.chain
    return {
        "family": result.family,
        "source": result.source,
        "chain": chain,
        "in_sync": result.in_sync,
        "chain_missing": result.chain_missing,
        "old_format": result.old_format,
        "jump": {
            "state": result.jump_state,
            "positions": [rule.position for rule in result.current_jumps],
            "old_format_positions": [rule.position for rule in result.old_jumps],
            "foreign_positions": [rule.position for rule in result.foreign_jumps],
            "lines": [result.line_of(rule) for rule in result.current_jumps],
            "old_format_lines": [result.line_of(rule) for rule in result.old_jumps],
            "foreign_lines": [result.line_of(rule) for rule in result.foreign_jumps],
        },
        "foreign_ahead": [
            _live_rule_json(result, rule, "POSTROUTING") for rule in result.foreign_ahead
        ],
        "missing": [
            {"position": position, "rule": rule_line("-A", chain, words)}
            for position, words in result.missing
        ],
        "extra": [_live_rule_json(result, rule) for rule in result.extra],
        "out_of_order": [_live_rule_json(result, rule) for rule in result.out_of_order],
        "comment_only": [
            {
                "position": rule.position,
                "line": result.line_of(rule),
                "comment": _comment(rule.canonical),
                "want": _comment(words),
            }
            for rule, words in result.comment_only
        ],
        "unchecked": result.unchecked,
        "findings": findings(result),
        "diff": unified(result),
    }


def _live_rule_json(
    result: FamilyDiff, rule: SavedRule, chain: str | None = None
) -> dict[str, object]:
    """A live rule: its position in ``chain`` (the agent's by default), line and text."""
    return {
        "position": rule.position,
        "line": result.line_of(rule),
        "rule": rule_line("-A", chain or result.chain, rule.canonical),
    }


@dataclass(frozen=True)
class DiffRequest:
    """What ``masqctl diff`` was asked."""

    agent: AgentInputs
    dump_path: str | None = None
    dump6_path: str | None = None
    iptables_mode: str = "auto"
    output_format: str = "text"


def family_sources(
    request: DiffRequest, ruleset: Ruleset, reads: dict[str, PendingChains]
) -> list[tuple[str, str, SaveFile, Paste | None]]:
    """(family, source name, nat table, the paste it was read from) for every family the
    ruleset has: the dump or paste given, or the live chain and POSTROUTING only (never
    the whole table: ``reads``, started while the config loaded)."""
    if request.dump6_path is not None and "ipv6" not in ruleset.families:
        raise UsageError("--from6 goes with --enable-ipv6")
    if request.dump_path is not None and "ipv6" in ruleset.families and request.dump6_path is None:
        raise UsageError("with --enable-ipv6 and --from, give the ip6tables-save dump with --from6")
    if request.dump6_path is not None and request.dump_path is None:
        raise UsageError("--from6 goes with --from (the iptables-save dump)")
    sources = []
    for family in ruleset.families:
        path = request.dump_path if family == "ipv4" else request.dump6_path
        if path is not None:
            from masqctl.netfilter.paste import read_paste

            paste = read_paste(read_dump(path), path, lazy=True)
            sources.append((family, path, paste.save, paste))
        else:
            reading = reads.pop(family)
            save = reading.result()[0]
            sources.append((family, f"{reading.backend.command} -t nat", save, None))
    return sources


def _start_live_reads(request: DiffRequest, setup: AgentSetup) -> dict[str, PendingChains]:
    """Without --from, start reading each family's live chain and POSTROUTING, so that
    they are read while the config loads."""
    if request.dump_path is not None or request.dump6_path is not None:
        return {}
    if not setup.flavour.writes_chain:
        return {}
    from masqctl.netfilter.chains import start_agent_reads

    flags = setup.flags
    return start_agent_reads(request.iptables_mode, flag_families(flags), flags.masq_chain)


def run_diff(request: DiffRequest, setup: AgentSetup | None = None) -> tuple[str, int]:
    """diff's whole job: what to print and the exit code (0 in sync, 1 drift, 2 a pasted
    dump too incomplete to tell); ``setup``: the agent already resolved from the request."""
    require_choice("output", request.output_format, TEXT_OR_JSON)
    setup = setup or request.agent.resolve()
    reads = _start_live_reads(request, setup)
    try:
        ruleset = setup.ruleset()
        if not setup.flavour.writes_chain:
            return _map_diff(request, ruleset, setup.flavour.title)
        results = []
        for family, source, save, paste in family_sources(request, ruleset, reads):
            result = diff_family(ruleset.family(family), save, source)
            if paste is not None:
                from masqctl.diff_paste import note_gaps

                note_gaps(result, paste)
            results.append(result)
    finally:
        if reads:
            from masqctl.netfilter.chains import abandon_reads

            abandon_reads(reads)
    code = 1 if any(result.drifted for result in results) else 0
    code = 2 if code == 0 and any(result.unchecked for result in results) else code
    if request.output_format == "json":
        return json.dumps(diff_json(results), indent=2) + "\n", code
    out = []
    for result in results:
        found = findings(result)
        out.append(summary(result, found) + "\n")
        out.extend(f"  {line}\n" for line in found)
        out.append(unified(result))
    return "".join(out), code


def _map_diff(request: DiffRequest, ruleset: Ruleset, agent: str) -> tuple[str, int]:
    """diff for an agent that fills BPF maps: against a captured listing, as sets."""
    from masqctl.bpf_map import diff_json as map_json
    from masqctl.bpf_map import diff_maps, diff_text, read_listing

    if request.dump_path is None:
        raise UsageError(
            f"{agent} keeps its rules in BPF maps, which masqctl does not read live: give "
            "--from a captured listing (kubectl exec -n kube-system ds/cilium -- cilium-dbg "
            "bpf ipmasq list | masqctl diff --flavour cilium --from -)"
        )
    if request.dump6_path is not None:
        raise UsageError("--from6: the listing holds both families' maps; give it with --from")
    source = "<stdin>" if request.dump_path == "-" else request.dump_path
    results = diff_maps(ruleset, read_listing(read_dump(request.dump_path), source))
    code = 0 if all(result.in_sync for result in results) else 1
    if request.output_format == "json":
        return json.dumps(map_json(results, source), indent=2) + "\n", code
    return diff_text(results, source), code
