"""apply: bring the live chain and jump in line with the config, once, safely.

Per family: read POSTROUTING and the agent's chain (never the whole nat table, which
kube-proxy can fill with 100,000 rules); if in sync write nothing; otherwise back up
what will change, write the chain and jump in ONE ``iptables-restore --noflush --wait``
transaction, read the same chains back and verify, and put the previous chain back if
verification fails.  ``remove``
deletes the chain and every POSTROUTING jump to it the same way.  Only the agent's chain
and the POSTROUTING rules that jump to it are ever written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from masqctl.agent_setup import AgentInputs
from masqctl.collection import collection_paused
from masqctl.diff import Desired, FamilyDiff, diff_family, findings
from masqctl.errors import TEXT_OR_JSON, MasqctlError, UsageError, require_choice
from masqctl.netfilter.backend import IPTABLES_FAILED, Backend, IptablesError
from masqctl.netfilter.chains import (
    PendingChains,
    abandon_reads,
    read_chains,
    start_agent_reads,
    start_chain_read,
)
from masqctl.netfilter.save_parser import SavedRule, SaveFile, rule_line
from masqctl.render.iptables import chain_line
from masqctl.ruleset import FamilyRules, check_chain_name, flag_families

DEFAULT_STATE_DIR = "/var/lib/masqctl"
LOCK_TIMEOUT = 60.0
#: apply's text output lists this many differences per family (diff lists all).
FINDINGS_SHOWN = 10
#: Rules per piece of payload written to iptables-restore while the next is made.
PIECE_RULES = 2000


@dataclass(frozen=True)
class ApplyRequest:
    """What ``masqctl apply`` was asked."""

    agent: AgentInputs
    iptables_mode: str = "auto"
    dry_run: bool = False
    backup_path: str | None = None
    remove: bool = False
    output_format: str = "text"


@dataclass
class FamilyOutcome:
    """What apply found and did for one family."""

    family: str
    backend: str
    chain: str
    findings: list[str]
    steps: list[str] = field(default_factory=list)
    payload: str = ""
    backup: str | None = None
    written: bool = False

    @property
    def in_sync(self) -> bool:
        return not self.steps


# ---- planning: pure functions of the live table -------------------------------------


def plan_sync(result: FamilyDiff, rules: FamilyRules) -> tuple[list[str], Iterator[str]]:
    """The steps that make the live side equal the rendered, and the one restore payload
    that does it, in pieces made as they are read."""
    if result.in_sync:
        return [], iter(())
    steps: list[str] = []
    if not result.chain_in_sync:
        verb = "create" if result.chain_missing else "flush and refill"
        steps.append(f"{verb} chain {rules.chain} ({len(rules.rules)} rules)")
    for rule in result.old_jumps:
        steps.append(f"delete the old-format POSTROUTING jump ({result.place(rule)})")
    for rule in result.current_jumps[1:]:
        steps.append(f"delete a duplicate POSTROUTING jump ({result.place(rule)})")
    if not result.current_jumps:
        steps.append(f"append the POSTROUTING jump to {rules.chain}")
    return steps, _sync_pieces(result, rules)


def _sync_pieces(result: FamilyDiff, rules: FamilyRules) -> Iterator[str]:
    """The payload of :func:`plan_sync`: the chain as ``render`` writes it, then the jumps."""
    yield "*nat\n"
    if not result.chain_in_sync:
        yield f"{chain_line(rules.chain)}\n"
        desired = result.desired or Desired(rules)
        for start in range(0, len(rules.rules), PIECE_RULES):
            yield desired.written(start, start + PIECE_RULES)
    lines = [rule_line("-D", rule.chain, rule.args) for rule in _deleted_jumps(result)]
    if len(result.current_jumps) > 1:
        # ``-D`` deletes the first of identical rules: all go, and the first comes back
        first = result.current_jumps[0].position
        place = first - sum(rule.position < first for rule in result.old_jumps)
        lines.append(rule_line("-I", "POSTROUTING", [str(place), *rules.jump.args]))
    elif not result.current_jumps:
        lines.append(rule_line("-A", "POSTROUTING", rules.jump.args))
    lines.append("COMMIT")
    yield "".join(f"{line}\n" for line in lines)


def _deleted_jumps(result: FamilyDiff) -> list[SavedRule]:
    """The jumps :func:`plan_sync` deletes: the old-format ones, and every current one
    when it is duplicated (the first is inserted again where it stood)."""
    duplicated = result.current_jumps if len(result.current_jumps) > 1 else []
    return [*result.old_jumps, *duplicated]


def _postrouting(save: SaveFile) -> list[SavedRule]:
    postrouting = save.chains("nat").get("POSTROUTING")
    return postrouting.rules if postrouting else []


def deleted_by_sync(result: FamilyDiff, save: SaveFile) -> list[SavedRule]:
    """The POSTROUTING rules of ``save`` that :func:`plan_sync`'s ``-D`` lines delete: each
    deletes the first rule still there that reads the same (of duplicates, the first)."""
    remaining = list(_postrouting(save))
    deleted = []
    for rule in _deleted_jumps(result):
        first = next(other for other in remaining if other.canonical == rule.canonical)
        remaining.remove(first)
        deleted.append(first)
    return deleted


def deleted_by_remove(save: SaveFile, chain: str) -> list[SavedRule]:
    """The POSTROUTING jumps :func:`remove_plan` deletes: every one to ``chain``."""
    return [rule for rule in _postrouting(save) if rule.jumps_to(chain)]


def remove_plan(save: SaveFile, chain: str) -> tuple[list[str], str]:
    """The steps and payload that delete ``chain`` and every POSTROUTING jump to it.

    A jump to ``chain`` from another chain makes iptables refuse the whole transaction
    (nothing changes); only POSTROUTING and the chain are read, so the refusal says so.
    """
    chains = save.chains("nat")
    steps: list[str] = []
    lines: list[str] = []
    for rule in deleted_by_remove(save, chain):
        where = f"POSTROUTING rule {rule.position}" if save.listed else f"line {rule.line}"
        steps.append(f"delete the POSTROUTING jump to {chain} ({where})")
        lines.append(rule_line("-D", rule.chain, rule.args) + "\n")
    if chain in chains:
        steps.append(f"flush and delete chain {chain} ({len(chains[chain].rules)} rules)")
        lines.append(f"-F {chain}\n-X {chain}\n")
    if not steps:
        return [], ""
    return steps, "*nat\n" + "".join(lines) + "COMMIT\n"


def rollback_payload(
    before: SaveFile,
    chain: str,
    chain_after: bool,
    postrouting_after: list[SavedRule],
    deleted: list[SavedRule],
    appended: tuple[str, ...] | None = None,
) -> str:
    """Undo a plan, given what it left (``chain_after``: the chain exists;
    ``postrouting_after``: POSTROUTING's rules): delete the jump it appended or inserted
    (``appended``, canonical), put each jump it deleted (rules of ``before``) back at its
    old place in POSTROUTING, and give ``chain`` its rules of ``before`` again (or delete
    it when ``before`` had none).  Other POSTROUTING rules are left where they are."""
    old_chains = before.chains("nat")
    lines = ["*nat"]
    if chain in old_chains or chain_after:
        lines.append(chain_line(chain))
    now = list(postrouting_after)
    if appended is not None:
        added = [rule for rule in now if rule.jumps_to(chain) and rule.canonical == appended]
        if added:
            lines.append(rule_line("-D", added[-1].chain, added[-1].args))
            now.remove(added[-1])
    length = len(now)
    # in order of their old places: each goes back behind the ones put back before it
    for rule in sorted(deleted, key=lambda rule: rule.position):
        place = min(rule.position, length + 1)
        lines.append(rule_line("-I", "POSTROUTING", [str(place), *rule.args]))
        length += 1
    if chain in old_chains:
        lines.extend(rule_line("-A", rule.chain, rule.args) for rule in old_chains[chain].rules)
    elif chain_after:
        lines.append(f"-X {chain}")
    lines.append("COMMIT")
    return "".join(f"{line}\n" for line in lines)


def undo_after(
    before: SaveFile,
    chain: str,
    after: SaveFile,
    deleted: list[SavedRule],
    appended: tuple[str, ...] | None = None,
) -> str:
    """:func:`rollback_payload` for the table as read back after writing."""
    return rollback_payload(
        before, chain, chain in after.chains("nat"), _postrouting(after), deleted, appended
    )


def backup_text(before: SaveFile, backend: Backend, chain: str, undo: str) -> str:
    """The backup: what apply is about to change, as it was, and the transaction that puts
    it back once apply has written (``iptables-restore --noflush`` of this file)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    chains = before.chains("nat")
    was = [
        f"#   POSTROUTING rule {rule.position}: {rule.text}"
        for rule in deleted_by_remove(before, chain)
    ]
    if chain in chains:
        was.append(f"#   {chain_line(chain)}")
        was.extend(f"#   {rule.text}" for rule in chains[chain].rules)
    header = [
        f"# masqctl apply backup ({backend.command}, {stamp}): the nat chain {chain} and the",
        "# POSTROUTING rules that jump to it, as they were before apply wrote:",
        *(was or ["#   (neither existed)"]),
        f"# This file undoes apply's change: {backend.command}-restore --noflush < FILE",
    ]
    return "\n".join(header) + "\n" + undo


# ---- side effects ---------------------------------------------------------------------


def lock_path() -> str:
    """MASQCTL_LOCKFILE, else masqctl.lock beside the xtables lock (/run by default)."""
    explicit = os.environ.get("MASQCTL_LOCKFILE")
    if explicit:
        return explicit
    xtables = os.environ.get("XTABLES_LOCKFILE", "/run/xtables.lock")
    return os.path.join(os.path.dirname(xtables) or ".", "masqctl.lock")


@contextmanager
def apply_lock() -> Iterator[None]:
    """Serialize masqctl's own read-modify-write of the nat table."""
    import errno
    import fcntl

    path = lock_path()
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EPERM):
            raise MasqctlError(
                f"{path}: permission denied: masqctl needs root (CAP_NET_ADMIN) "
                "to read and write the nat table (cannot open the masqctl lock)"
            ) from None
        raise MasqctlError(f"{path}: cannot open the masqctl lock: {error.strerror}") from None
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MasqctlError(
                        f"another masqctl apply held {path} for more than {LOCK_TIMEOUT:g} s"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(descriptor)


def backup_file(family: str, explicit: str | None) -> str:
    """Where the table is backed up: --backup (``.ipv6`` added for IPv6), or a new file."""
    if explicit:
        return explicit if family == "ipv4" else f"{explicit}.ipv6"
    state = os.environ.get("MASQCTL_STATE_DIR", DEFAULT_STATE_DIR)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return os.path.join(state, "backups", f"nat-{family}-{stamp}-{os.getpid()}.rules")


def write_backup(path: str, text: str) -> None:
    try:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", errors="surrogateescape") as stream:
            stream.write(text)
    except OSError as error:
        raise MasqctlError(
            f"{path}: cannot write the backup: {error.strerror}; "
            "nothing was changed (choose another place with --backup)"
        ) from None


#: Writes a prepared family's change: restore, verify, roll back (a no-op: nothing to do).
Write = Callable[[], None]


def apply_family(
    request: ApplyRequest,
    rules: FamilyRules,
    backend: Backend,
    reading: PendingChains | None = None,
) -> FamilyOutcome:
    """Plan, back up, write, verify (and roll back) one family's chain and jump."""
    outcome, write = prepare_family(request, rules, backend, reading)
    write()
    return outcome


def _nothing() -> None:
    """The write of a family with nothing to write."""


def prepare_family(
    request: ApplyRequest,
    rules: FamilyRules,
    backend: Backend,
    reading: PendingChains | None = None,
) -> tuple[FamilyOutcome, Write]:
    """Plan and back up one family's chain and jump; and what writes them.

    Only POSTROUTING and the agent's chain are read (``reading``, if already started).
    A plan needs only to know whether the chain differs; how it differs (the findings)
    is worked out while iptables-restore runs, and so are the lines the verifying read
    should show.
    """
    desired = Desired(rules)
    before, _ = (reading or _start(backend, rules.chain)).result()
    result = diff_family(rules, before, backend.command, desired, settled=False)
    steps, pieces = plan_sync(result, rules)
    outcome = FamilyOutcome(rules.family, backend.command, rules.chain, [], steps)
    if not steps or request.dry_run:
        outcome.payload = "".join(pieces)
        outcome.findings = findings(result)
        return outcome, _nothing

    def work_meanwhile() -> None:
        outcome.findings = findings(result)
        desired.saved_lines_as_written()

    def verify(after: SaveFile) -> str:
        check = diff_family(rules, after, "after", desired, settled=False)
        return "" if check.in_sync else findings(check)[0]

    deleted = deleted_by_sync(result, before)
    appended = None if len(result.current_jumps) == 1 else desired.jump
    kept = [rule for rule in _postrouting(before) if rule not in deleted]
    if appended is not None:
        kept.append(SavedRule("POSTROUTING", 0, rules.jump.restore_line()))
    expected_undo = rollback_payload(before, rules.chain, True, kept, deleted, appended)
    return outcome, _writer(
        request,
        outcome,
        backend,
        backup_text(before, backend, rules.chain, expected_undo),
        pieces,
        work_meanwhile,
        verify,
        lambda after: undo_after(before, rules.chain, after, deleted, appended),
    )


def prepare_removal(
    request: ApplyRequest,
    family: str,
    chain: str,
    backend: Backend,
    reading: PendingChains | None = None,
) -> tuple[FamilyOutcome, Write]:
    """Plan and back up deleting ``chain`` and every POSTROUTING jump to it; and what
    deletes them (verified, undone if the table does not read back without them)."""
    before, _ = (reading or _start(backend, chain)).result()
    steps, payload = remove_plan(before, chain)
    outcome = FamilyOutcome(family, backend.command, chain, [], steps)
    if not steps or request.dry_run:
        outcome.payload = payload
        return outcome, _nothing

    def verify(after: SaveFile) -> str:
        if deleted_by_remove(after, chain):
            return f"still present: POSTROUTING jump to {chain}"
        return f"still present: chain {chain}" if chain in after.chains("nat") else ""

    deleted = deleted_by_remove(before, chain)
    kept = [rule for rule in _postrouting(before) if rule not in deleted]
    return outcome, _writer(
        request,
        outcome,
        backend,
        backup_text(before, backend, chain, rollback_payload(before, chain, False, kept, deleted)),
        (payload,),
        lambda: None,
        verify,
        lambda after: undo_after(before, chain, after, deleted),
        refused_hint=(
            f"is another chain still jumping to {chain}? find it with "
            f"{backend.command} -t nat -S | grep -e '-[jg] {chain}'"
        ),
    )


def _start(backend: Backend, chain: str) -> PendingChains:
    """Start reading what apply works on: POSTROUTING and ``chain``."""
    return start_chain_read(backend, ("POSTROUTING", chain))


def _writer(
    request: ApplyRequest,
    outcome: FamilyOutcome,
    backend: Backend,
    backup: str,
    pieces: Iterable[str],
    work_meanwhile: Callable[[], None],
    verify: Callable[[SaveFile], str],
    undo: Callable[[SaveFile], str],
    refused_hint: str = "",
) -> Write:
    """Save ``backup`` now; the write: ``pieces`` in one transaction (doing
    ``work_meanwhile`` while iptables-restore runs), read back and ``verify``; ``undo`` if
    that fails.  ``refused_hint`` is added to iptables-restore's message when it refuses
    the payload."""
    outcome.backup = backup_file(outcome.family, request.backup_path)
    write_backup(outcome.backup, backup)
    return lambda: _write(outcome, backend, pieces, work_meanwhile, verify, undo, refused_hint)


def _write(
    outcome: FamilyOutcome,
    backend: Backend,
    pieces: Iterable[str],
    work_meanwhile: Callable[[], None],
    verify: Callable[[SaveFile], str],
    undo: Callable[[SaveFile], str],
    refused_hint: str,
) -> None:
    """The write :func:`_writer` returns."""
    written: list[str] = []
    running = backend.start_restore(_kept(pieces, written))
    try:
        outcome.payload = "".join(written)
        work_meanwhile()
    finally:
        try:
            running.wait()
        except IptablesError as error:
            if not refused_hint or error.reason != IPTABLES_FAILED:  # not a refusal
                raise
            raise MasqctlError(f"{error} ({refused_hint}); nothing was changed") from None
    outcome.written = True
    after = read_chains(backend, ("POSTROUTING", outcome.chain))
    problem = verify(after)
    if problem:
        try:
            backend.restore(undo(after))
        except MasqctlError as error:
            raise MasqctlError(
                f"{outcome.family}: verification failed ({problem}) and putting "
                f"the previous chain back failed too ({error}); what apply changed was "
                f"backed up to {outcome.backup}"
            ) from None
        raise MasqctlError(
            f"{outcome.family}: verification failed after writing ({problem}); "
            f"the previous chain is back (backup: {outcome.backup})"
        )


def _kept(pieces: Iterable[str], kept: list[str]) -> Iterator[str]:
    for piece in pieces:
        kept.append(piece)
        yield piece


def run_apply(request: ApplyRequest) -> tuple[str, int]:
    """apply's whole job: what to print, and exit code 0 (errors raise MasqctlError)."""
    require_choice("output", request.output_format, TEXT_OR_JSON)
    outcomes: list[FamilyOutcome] = []
    lock = nullcontext() if request.dry_run else apply_lock()
    # the config and the tables read stay alive to the end: out of the collector's sight
    with collection_paused(), lock:
        # each family's table is read while the config loads
        setup = request.agent.resolve()
        if not setup.flavour.writes_chain:
            raise UsageError(
                f"{setup.flavour.title} {setup.flavour.writes_what}, and keeps them filled "
                "itself; masqctl apply writes iptables chains only"
            )
        flags = setup.flags
        families = flag_families(flags)
        reads = start_agent_reads(request.iptables_mode, families, flags.masq_chain)
        try:
            if request.remove:
                check_chain_name(flags.masq_chain)
            else:
                ruleset = setup.ruleset(writes=True)
            # every family is read, planned and backed up before any is written
            prepared = []
            for family in families:
                reading = reads.pop(family)
                backend = reading.backend
                if request.remove:
                    prepared.append(
                        prepare_removal(request, family, flags.masq_chain, backend, reading)
                    )
                else:
                    prepared.append(
                        prepare_family(request, ruleset.families[family], backend, reading)
                    )
            for outcome, write in prepared:
                try:
                    write()
                except MasqctlError as error:
                    raise _naming_what_was_written(error, outcomes) from None
                outcomes.append(outcome)
        finally:
            abandon_reads(reads)
    if request.output_format == "json":
        return json.dumps(apply_json(request, outcomes), indent=2) + "\n", 0
    return "".join(_text(request, outcome) for outcome in outcomes), 0


def _naming_what_was_written(error: MasqctlError, outcomes: list[FamilyOutcome]) -> MasqctlError:
    """``error``, told which families were already written before it (and their backups)."""
    written = [
        f"{outcome.family} ({outcome.backend}) was already written and verified "
        f"(backup: {outcome.backup})"
        for outcome in outcomes
        if outcome.written
    ]
    return MasqctlError("; ".join([str(error), *written])) if written else error


def apply_json(request: ApplyRequest, outcomes: list[FamilyOutcome]) -> dict[str, object]:
    """The stable machine form of ``apply --output json``."""
    return {
        "dry_run": request.dry_run,
        "remove": request.remove,
        "changed": any(outcome.written for outcome in outcomes),
        "families": [
            {
                "family": outcome.family,
                "backend": outcome.backend,
                "chain": outcome.chain,
                "in_sync": outcome.in_sync,
                "findings": outcome.findings,
                "steps": outcome.steps,
                "payload": outcome.payload,
                "backup": outcome.backup,
                "written": outcome.written,
            }
            for outcome in outcomes
        ],
    }


def _text(request: ApplyRequest, outcome: FamilyOutcome) -> str:
    head = f"{outcome.family} ({outcome.backend})"
    if outcome.in_sync:
        state = "absent" if request.remove else "in sync"
        return f"{head}: {outcome.chain} {state}; nothing written\n"
    shown = outcome.findings[:FINDINGS_SHOWN]
    lines = [f"{head}: {finding}" for finding in shown]
    if len(outcome.findings) > len(shown):
        lines.append(
            f"{head}: ... and {len(outcome.findings) - len(shown)} more differences "
            "(masqctl diff lists them all)"
        )
    if request.dry_run:
        lines = [f"# {line}" for line in lines]
        lines += [f"# would {step}" for step in outcome.steps]
        lines.append(f"# payload for {outcome.backend}-restore --noflush --wait:")
        return "".join(f"{line}\n" for line in lines) + outcome.payload
    lines.append(f"{head}: backup of the nat table: {outcome.backup}")
    lines += [f"{head}: {step}" for step in outcome.steps]
    lines.append(f"{head}: written in one {outcome.backend}-restore transaction and verified")
    return "".join(f"{line}\n" for line in lines)
