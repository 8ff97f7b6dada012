"""Live mode: explain addresses from a node's nat table (iptables-save, or a dump file)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from masqctl.errors import MasqctlError, UsageError
from masqctl.explain.addresses import Target, parse_target
from masqctl.explain.matches import address_of
from masqctl.explain.verdict import (
    NOT_HANDLED,
    UNDETERMINED,
    Explanation,
    Outcome,
    RuleRef,
    SourceRef,
)
from masqctl.explain.walk import Packet, Path, TableWalker
from masqctl.netfilter.save_parser import rule_line
from masqctl.ruleset import IPV4, IPV6, flag_families

if TYPE_CHECKING:
    from masqctl.explain.command import ExplainRequest
    from masqctl.netfilter.save_parser import SaveFile

IPV6_NOT_READ = Outcome(
    NOT_HANDLED,
    "an IPv6 destination: without --enable-ipv6 the agent writes no ip6tables rules and "
    "masqctl reads only the IPv4 nat table",
)


class FamilyTable:
    """One family's nat table with where it came from."""

    def __init__(
        self,
        save: SaveFile,
        source: str,
        agent_chain: str,
        notes: Sequence[str] = (),
        unseen: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        table = save.tables.get("nat")
        if table is None or "POSTROUTING" not in table.chains:
            raise MasqctlError(f"{source}: no nat table with a POSTROUTING chain")
        self.walker = TableWalker(table, agent_chain)
        self.save = save
        self.source = source
        self.notes = tuple(notes)
        #: Chains the walk reaches that the source (a paste) does not show.
        self.unseen = frozenset(unseen)


class LiveExplainer:
    """Walk the nat POSTROUTING of each family for each address."""

    def __init__(
        self,
        tables: dict[str, FamilyTable],
        agent_chain: str,
        packet: Packet,
        source: tuple[str, int] | None,
        local: dict[str, list[tuple[int, int]]],
        single_family_dump: tuple[str, str] | None = None,
    ) -> None:
        #: ``(path, family)`` when --from gave a dump whose rules name one family only.
        self.single_family_dump = single_family_dump
        self.tables = tables
        self.agent_chain = agent_chain
        self.packet = packet
        self.source = source
        self.local = local

    def explain(self, target: Target) -> Explanation:
        table = self.tables.get(target.family)
        if table is None:
            if self.single_family_dump is not None:
                dump, family = self.single_family_dump
                raise UsageError(
                    f"{target.text}: {dump} holds only {family} rules; explain "
                    f"{target.family} addresses with a dump of that family"
                )
            return Explanation(target.text, target.family, IPV6_NOT_READ)
        if target.is_cidr:
            raise UsageError(f"{target.text!r}: live mode explains addresses, not CIDRs")
        source = None
        if self.source is not None and self.source[0] == target.family:
            source = self.source[1]
        packet = replace(
            self.packet,
            family=target.family,
            destination=target.first,
            source=source,
            local=tuple(self.local.get(target.family, ())),
        )
        paths = table.walker.walk(packet)
        return Explanation(target.text, target.family, self.outcome(paths, table))

    def outcome(self, paths: list[Path], table: FamilyTable) -> Outcome:
        notes = [note for path in paths for note in path.notes]
        verdicts = {path.verdict for path in paths}
        chosen = min(paths, key=lambda path: sum(taken for _, taken in path.forks))
        conditions = list(dict.fromkeys(text for path in paths for text, _ in path.forks))
        if len(verdicts) == 1:
            reason = chosen.reason
            for path in paths:
                if path.decider is not None and path.decider != chosen.decider:
                    notes.append(
                        f"when {when_text(path)}: rule {path.decider.index} of "
                        f"{path.decider.chain} decides instead, with the same verdict"
                    )
        else:
            chosen = paths[0]
            reason = "depends on what masqctl cannot judge: " + "; ".join(conditions)
            notes.extend(f"{path.verdict} when {when_text(path)}" for path in paths)
        notes.extend(self._agent_notes(chosen, table))
        notes.extend(table.notes)
        decider = chosen.decider
        rule = source = None
        if decider is not None and len(verdicts) == 1:
            text = rule_line("-A", decider.chain, decider.rule.args)
            line = 0 if table.save.listed else decider.rule.line  # listed: no dump lines
            rule = RuleRef(decider.chain, decider.index, text, line)
            source = SourceRef(table.source, line, f"nat {decider.chain} rule {decider.index}")
            reason = f"{rule.describe()}: {reason}"
        verdict = chosen.verdict if len(verdicts) == 1 else UNDETERMINED
        return Outcome(verdict, reason, rule, source, notes=tuple(dict.fromkeys(notes)))

    def _agent_notes(self, path: Path, table: FamilyTable) -> list[str]:
        chain = self.agent_chain
        if chain not in table.walker.table.chains:
            if chain in table.unseen:
                return []  # the paste does not show it: a note says so
            return [f"this nat table has no {chain} chain (is the agent running?)"]
        if not any(step.chain == chain for step in path.trace):
            return [
                f"decided before the packet reaches the agent's chain {chain}"
                if path.decider is not None
                else f"the packet never reaches the agent's chain {chain}"
            ]
        return []


def when_text(path: Path) -> str:
    return ", ".join(
        f"{text} {'holds' if taken else 'does not hold'}" for text, taken in path.forks
    )


def parse_source(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    parsed = address_of(text)
    if parsed is None:
        raise UsageError(f"--source {text!r} is not an IP address")
    return parsed


def local_ranges(addresses: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    ranges: dict[str, list[tuple[int, int]]] = {IPV4: [], IPV6: []}
    for text in addresses:
        target = parse_target(text)
        ranges[target.family].append((target.first, target.last))
    return ranges


def dump_family(save: SaveFile) -> str | None:
    """The family of a dump, from the addresses its rules name (None when it names none)."""
    for table in save.tables.values():
        for chain in table.chains.values():
            for rule in chain.rules:
                for option, value in zip(rule.args, rule.args[1:], strict=False):
                    if option in ("-s", "-d", "--source", "--destination"):
                        return IPV6 if ":" in value else IPV4
    return None


def live_explainer(request: ExplainRequest) -> LiveExplainer:
    """Read the tables (live or from --from) and the node's local addresses."""
    from masqctl.explain import node

    setup = request.agent.resolve()
    if not setup.flavour.writes_chain:
        raise UsageError(
            f"--live and --from walk the nat table, but {setup.flavour.title} "
            f"{setup.flavour.writes_what}; explain answers from its config (--config)"
        )
    flags = setup.flags

    if request.dump_path is not None:
        table = node.dump_table(
            request.dump_path,
            flags.masq_chain,
            assume_not_local=not request.local_addresses,
        )
        family = dump_family(table.save)
        tables = {family: table} if family else {IPV4: table, IPV6: table}
        local = local_ranges(request.local_addresses)
    else:
        nft_chains = node.NftChains()
        try:
            tables = {
                family: node.live_table(request.iptables_mode, family, flags.masq_chain, nft_chains)
                for family in flag_families(flags)
            }
        finally:
            nft_chains.close()
        local = local_ranges(request.local_addresses)
        for family, ranges in node.local_routes().items():
            local[family].extend(ranges)
    packet = Packet(
        IPV4, 0, None, request.protocol, request.mark or 0, mark_assumed=request.mark is None
    )
    single = None
    if request.dump_path is not None and len(tables) == 1:
        single = (request.dump_path, next(iter(tables)))
    return LiveExplainer(
        tables, flags.masq_chain, packet, parse_source(request.source), local, single
    )
