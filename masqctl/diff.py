"""diff: the rendered chain and jump against a live nat table, on canonical rules.

The rendered payload is parsed by the same parser as the live dump, so both sides are
compared in one canonical form.  An in-sync check is linear in the number of rules; only
on drift does difflib run (to place out-of-order rules, and for the unified diff text).
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from masqctl.agent import OLD_MASQUERADE_COMMENT, OLD_RETURN_COMMENT, AgentFlags
from masqctl.netfilter.save_parser import Chain, SavedRule, SaveFile, parse_save
from masqctl.render.iptables import restore_payload
from masqctl.ruleset import FamilyRules, Ruleset

JUMP_OK = "ok"
JUMP_MISSING = "missing"
JUMP_DUPLICATED = "duplicated"
JUMP_OLD_FORMAT = "old-format"
_OLD_COMMENTS = frozenset({OLD_RETURN_COMMENT, OLD_MASQUERADE_COMMENT})


def rendered_chain(rules: FamilyRules) -> tuple[tuple[str, ...], ...]:
    """The rendered payload parsed by the live parser: the chain's canonical rules."""
    table = parse_save(restore_payload(rules), "rendered").tables["nat"]
    return tuple(rule.canonical for rule in table.chains[rules.chain].rules)


def rendered_jump(rules: FamilyRules) -> tuple[str, ...]:
    """The agent's POSTROUTING jump, parsed by the live parser, canonical."""
    text = f"*nat\n:POSTROUTING ACCEPT [0:0]\n{rules.jump.restore_line()}\nCOMMIT\n"
    return parse_save(text, "rendered").tables["nat"].chains["POSTROUTING"].rules[0].canonical


class Desired:
    """The rendered chain and jump of one family, in canonical form.

    The chain is worked out on first use, by ``chain_source`` (apply passes a background
    computation, so that it overlaps iptables' own work).
    """

    def __init__(self, rules: FamilyRules,
                 chain_source: Callable[[], tuple[tuple[str, ...], ...]] | None = None) -> None:
        self.rules = rules
        self.jump = rendered_jump(rules)
        self._source = chain_source or (lambda: rendered_chain(rules))
        self._canonical: tuple[tuple[str, ...], ...] | None = None

    @property
    def canonical(self) -> tuple[tuple[str, ...], ...]:
        if self._canonical is None:
            self._canonical = self._source()
        return self._canonical


def desired_of(rules: FamilyRules) -> Desired:
    """The rendered side of a diff for ``rules``."""
    return Desired(rules)


@dataclass
class FamilyDiff:
    """How one family's live chain and jump differ from the rendered ones."""

    family: str
    chain: str
    source: str
    chain_missing: bool = False
    old_format: bool = False
    jump_state: str = JUMP_OK
    current_jumps: list[SavedRule] = field(default_factory=list)
    old_jumps: list[SavedRule] = field(default_factory=list)
    foreign_jumps: list[SavedRule] = field(default_factory=list)
    missing: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    extra: list[SavedRule] = field(default_factory=list)
    out_of_order: list[SavedRule] = field(default_factory=list)
    comment_only: list[tuple[SavedRule, tuple[str, ...]]] = field(default_factory=list)
    live_rules: list[SavedRule] = field(default_factory=list)
    desired: Desired | None = None

    @property
    def chain_in_sync(self) -> bool:
        return not self.chain_missing and not (
            self.missing or self.extra or self.out_of_order or self.comment_only
        )

    @property
    def in_sync(self) -> bool:
        return self.chain_in_sync and self.jump_state == JUMP_OK


def _targets(rule: SavedRule, chain: str) -> bool:
    words = rule.canonical
    return len(words) >= 2 and words[-2] in ("-j", "-g") and words[-1] == chain


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
    from masqctl.agent import jump_comment

    quoted = f'"{jump_comment(result.chain)}"'
    for rule in postrouting.rules if postrouting else ():
        if not _targets(rule, result.chain):
            continue
        if rule.canonical == desired.jump:
            result.current_jumps.append(rule)
        elif _comment(rule.canonical) == quoted or (
            (_comment(rule.canonical) or "").startswith("ip-masq-agent")
        ):
            result.old_jumps.append(rule)
        else:
            result.foreign_jumps.append(rule)
    if len(result.current_jumps) > 1:
        result.jump_state = JUMP_DUPLICATED
    elif result.current_jumps:
        result.jump_state = JUMP_DUPLICATED if result.old_jumps else JUMP_OK
    else:
        result.jump_state = JUMP_OLD_FORMAT if result.old_jumps else JUMP_MISSING


def _compare_rules(result: FamilyDiff, live: list[SavedRule], desired: Desired) -> None:
    wanted = desired.canonical
    if len(live) == len(wanted) and all(
        rule.canonical == words for rule, words in zip(live, wanted, strict=True)
    ):
        return
    live_counts = Counter(rule.canonical for rule in live)
    wanted_counts = Counter(wanted)
    missing = []
    common_wanted = []
    for position, words in enumerate(wanted, 1):
        if live_counts[words] > 0:
            live_counts[words] -= 1
            common_wanted.append(words)
        else:
            missing.append((position, words))
    extra = []
    common_live = []
    for rule in live:
        if wanted_counts[rule.canonical] > 0:
            wanted_counts[rule.canonical] -= 1
            common_live.append(rule)
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
    result.out_of_order = _out_of_order(common_live, common_wanted)


def _out_of_order(
    common_live: list[SavedRule], common_wanted: list[tuple[str, ...]]
) -> list[SavedRule]:
    """Live rules outside the longest run kept in order (both lists hold the same rules)."""
    if [rule.canonical for rule in common_live] == common_wanted:
        return []
    from difflib import SequenceMatcher

    matcher = SequenceMatcher(None, [rule.canonical for rule in common_live], common_wanted,
                              autojunk=False)
    in_order = set()
    for block in matcher.get_matching_blocks():
        in_order.update(range(block.a, block.a + block.size))
    return [rule for index, rule in enumerate(common_live) if index not in in_order]


def diff_family(rules: FamilyRules, save: SaveFile, source: str,
                desired: Desired | None = None) -> FamilyDiff:
    """Compare one family's rendered chain and jump with the nat table of ``save``."""
    desired = desired or desired_of(rules)
    result = FamilyDiff(rules.family, rules.chain, source, desired=desired)
    nat = save.tables.get("nat")
    chains = nat.chains if nat else {}
    _classify_jumps(result, chains.get("POSTROUTING"), desired)
    live_chain = chains.get(rules.chain)
    if live_chain is None:
        result.chain_missing = True
        return result
    result.live_rules = live_chain.rules
    result.old_format = any(_comment(rule.canonical) in _OLD_COMMENTS for rule in live_chain.rules)
    _compare_rules(result, live_chain.rules, desired)
    return result


# ---- reporting ----------------------------------------------------------------------


def _rule_text(chain: str, words: tuple[str, ...]) -> str:
    from masqctl.netfilter.save_parser import quote_arg

    return " ".join(["-A", chain, *(quote_arg(word) for word in words)])


def findings(result: FamilyDiff) -> list[str]:
    """The differences in words, one line each."""
    chain = result.chain
    lines = []
    if result.chain_missing:
        lines.append(f"chain {chain} is missing")
    if result.old_format:
        lines.append(f"chain {chain} is in the old (2017) agent format")
    if result.jump_state == JUMP_MISSING:
        lines.append(f"POSTROUTING jump to {chain} is missing")
    elif result.jump_state == JUMP_OLD_FORMAT:
        where = ", ".join(f"line {rule.line}" for rule in result.old_jumps)
        lines.append(f"POSTROUTING jump to {chain} is present only in an old format ({where})")
    elif result.jump_state == JUMP_DUPLICATED:
        count = len(result.current_jumps) + len(result.old_jumps)
        lines.append(f"POSTROUTING jump to {chain} is duplicated ({count} jumps)")
    for rule in result.foreign_jumps:
        lines.append(f"POSTROUTING line {rule.line} also jumps to {chain} (not the agent's; "
                     "left alone)")
    for position, words in result.missing:
        lines.append(f"rule {position} missing: {_rule_text(chain, words)}")
    for rule in result.extra:
        lines.append(f"extra rule (line {rule.line}): {_rule_text(chain, rule.canonical)}")
    for rule in result.out_of_order:
        lines.append(f"rule out of order (line {rule.line}): {_rule_text(chain, rule.canonical)}")
    for rule, words in result.comment_only:
        lines.append(f"rule differs only in comment (line {rule.line}): "
                     f"{_comment(rule.canonical)!r}, want {_comment(words)!r}")
    return lines


def _live_lines(result: FamilyDiff) -> list[str]:
    jumps = sorted(result.current_jumps + result.old_jumps, key=lambda rule: rule.line)
    lines = [_rule_text("POSTROUTING", rule.canonical) for rule in jumps]
    if not result.chain_missing:
        lines.append(f":{result.chain} - [0:0]")
        lines.extend(_rule_text(result.chain, rule.canonical) for rule in result.live_rules)
    return lines


def _wanted_lines(result: FamilyDiff) -> list[str]:
    assert result.desired is not None
    lines = [_rule_text("POSTROUTING", result.desired.jump), f":{result.chain} - [0:0]"]
    lines.extend(_rule_text(result.chain, words) for words in result.desired.canonical)
    return lines


def unified(result: FamilyDiff) -> str:
    """A unified diff of canonical rules: live (``-``) to rendered (``+``)."""
    if result.in_sync:
        return ""
    from difflib import unified_diff

    return "".join(
        f"{line}\n" for line in unified_diff(
            _live_lines(result), _wanted_lines(result),
            f"live {result.source}", f"rendered {result.family}", lineterm="",
        )
    )


def summary(result: FamilyDiff) -> str:
    """One line: in sync, or the drift in counts."""
    count = len(result.desired.rules.rules) if result.desired else 0
    if result.in_sync:
        return f"{result.family}: {result.chain} in sync ({count} rules, jump present)"
    return f"{result.family}: {result.chain} drifted ({len(findings(result))} findings)"


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
            "lines": [rule.line for rule in result.current_jumps],
            "old_format_lines": [rule.line for rule in result.old_jumps],
            "foreign_lines": [rule.line for rule in result.foreign_jumps],
        },
        "missing": [{"position": position, "rule": _rule_text(chain, words)}
                    for position, words in result.missing],
        "extra": [{"line": rule.line, "rule": _rule_text(chain, rule.canonical)}
                  for rule in result.extra],
        "out_of_order": [{"line": rule.line, "rule": _rule_text(chain, rule.canonical)}
                         for rule in result.out_of_order],
        "comment_only": [{"line": rule.line, "comment": _comment(rule.canonical),
                          "want": _comment(words)} for rule, words in result.comment_only],
        "findings": findings(result),
        "diff": unified(result),
    }


@dataclass(frozen=True)
class DiffRequest:
    """What ``masqctl diff`` was asked."""

    config_path: str | None
    flags: AgentFlags
    dump_path: str | None = None
    dump6_path: str | None = None
    iptables_mode: str = "auto"
    output_format: str = "text"


OUTPUT_FORMATS = ("text", "json")


def _read_dump(path: str) -> str:
    from masqctl.errors import InputError

    try:
        if path == "-":
            import sys

            return sys.stdin.read()
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None


def family_sources(request: DiffRequest, ruleset: Ruleset) -> list[tuple[str, str, str]]:
    """(family, source name, iptables-save text) for every family the ruleset has."""
    from masqctl.errors import UsageError

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
            sources.append((family, path, _read_dump(path)))
        else:
            from masqctl.netfilter.backend import select_backend

            backend = select_backend(request.iptables_mode, family)
            sources.append((family, f"{backend.prefix}-save -t nat", backend.save("nat")))
    return sources


def run_diff(request: DiffRequest) -> tuple[str, int]:
    """diff's whole job: what to print and the exit code (0 in sync, 1 drift)."""
    from masqctl.commands import effective_ruleset
    from masqctl.errors import UsageError

    if request.output_format not in OUTPUT_FORMATS:
        raise UsageError(f"unknown output {request.output_format!r} (choose from text, json)")
    ruleset = effective_ruleset(request.config_path, request.flags)
    results = []
    for family, source, text in family_sources(request, ruleset):
        save = parse_save(text, source)
        results.append(diff_family(ruleset.family(family), save, source))
    code = 0 if all(result.in_sync for result in results) else 1
    if request.output_format == "json":
        return json.dumps(diff_json(results), indent=2) + "\n", code
    out = []
    for result in results:
        out.append(summary(result) + "\n")
        out.extend(f"  {line}\n" for line in findings(result))
        out.append(unified(result))
    return "".join(out), code
