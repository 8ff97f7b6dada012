"""apply: bring the live chain and jump in line with the config, once, safely.

Per family: read the nat table; if in sync write nothing; otherwise back the table up,
write the chain and jump in ONE ``iptables-restore --noflush --wait`` transaction, read
back and verify, and put the previous chain back if verification fails.  ``remove``
deletes the chain and every POSTROUTING jump to it the same way.  Only the agent's chain
and the POSTROUTING rules that jump to it are ever written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from masqctl.agent import AgentFlags
from masqctl.diff import Desired, FamilyDiff, diff_family, findings
from masqctl.errors import MasqctlError, UsageError
from masqctl.netfilter.backend import Backend, Running, select_backend
from masqctl.netfilter.save_parser import SavedRule, SaveFile, quote_arg
from masqctl.render.iptables import chain_line
from masqctl.ruleset import FAMILIES, IPV4, FamilyRules

DEFAULT_STATE_DIR = "/var/lib/masqctl"
LOCK_TIMEOUT = 60.0
OUTPUT_FORMATS = ("text", "json")
#: apply's text output lists this many differences per family (diff lists all).
FINDINGS_SHOWN = 10
#: Rules per piece of payload written to iptables-restore while the next is made.
PIECE_RULES = 2000


@dataclass(frozen=True)
class ApplyRequest:
    """What ``masqctl apply`` was asked."""

    config_path: str | None
    flags: AgentFlags
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


def _rule_line(command: str, rule: SavedRule) -> str:
    return " ".join([command, rule.chain, *(quote_arg(arg) for arg in rule.args)])


def sync_plan(result: FamilyDiff, rules: FamilyRules) -> tuple[list[str], str]:
    """The steps and the one restore payload that make the live side equal the rendered."""
    steps, pieces = plan_sync(result, rules)
    return steps, "".join(pieces)


def plan_sync(result: FamilyDiff, rules: FamilyRules) -> tuple[list[str], Iterator[str]]:
    """:func:`sync_plan`'s steps, and its payload in pieces made as they are read."""
    if result.in_sync:
        return [], iter(())
    steps: list[str] = []
    if not result.chain_in_sync:
        verb = "create" if result.chain_missing else "flush and refill"
        steps.append(f"{verb} chain {rules.chain} ({len(rules.rules)} rules)")
    for rule in result.old_jumps:
        steps.append(f"delete the old-format POSTROUTING jump (line {rule.line})")
    for rule in result.current_jumps[1:]:
        steps.append(f"delete a duplicate POSTROUTING jump (line {rule.line})")
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
    lines = [_rule_line("-D", rule) for rule in result.old_jumps]
    lines.extend(_rule_line("-D", rule) for rule in result.current_jumps[1:])
    if not result.current_jumps:
        lines.append(rules.jump.restore_line())
    lines.append("COMMIT")
    yield "".join(f"{line}\n" for line in lines)


def remove_plan(save: SaveFile, chain: str) -> tuple[list[str], str]:
    """The steps and payload that delete ``chain`` and every POSTROUTING jump to it."""
    nat = save.tables.get("nat")
    chains = nat.chains if nat else {}
    steps: list[str] = []
    lines: list[str] = []
    for other in chains.values():
        for rule in other.rules:
            if rule.jumps_to(chain):
                if other.name != "POSTROUTING":
                    raise MasqctlError(
                        f"chain {other.name} (line {rule.line}) also jumps to {chain}; "
                        "remove that rule first"
                    )
                steps.append(f"delete the POSTROUTING jump to {chain} (line {rule.line})")
                lines.append(_rule_line("-D", rule) + "\n")
    if chain in chains:
        steps.append(f"flush and delete chain {chain} ({len(chains[chain].rules)} rules)")
        lines.append(f"-F {chain}\n-X {chain}\n")
    if not steps:
        return [], ""
    return steps, "*nat\n" + "".join(lines) + "COMMIT\n"


def rollback_payload(before: SaveFile, chain: str, after: SaveFile) -> str:
    """Put ``chain`` and the POSTROUTING jumps to it back as they were in ``before``."""
    def jumps(save: SaveFile) -> list[SavedRule]:
        nat = save.tables.get("nat")
        postrouting = nat.chains.get("POSTROUTING") if nat else None
        return [rule for rule in (postrouting.rules if postrouting else ()) if rule.jumps_to(chain)]

    old_chains = before.tables["nat"].chains if "nat" in before.tables else {}
    new_chains = after.tables["nat"].chains if "nat" in after.tables else {}
    lines = ["*nat"]
    if chain in old_chains or chain in new_chains:
        lines.append(chain_line(chain))
    lines.extend(_rule_line("-D", rule) for rule in jumps(after))
    lines.extend(_rule_line("-A", rule) for rule in jumps(before))
    if chain in old_chains:
        lines.extend(_rule_line("-A", rule) for rule in old_chains[chain].rules)
    elif chain in new_chains:
        lines.append(f"-X {chain}")
    lines.append("COMMIT")
    return "".join(f"{line}\n" for line in lines)


# ---- side effects ---------------------------------------------------------------------


def lock_path() -> str:
    """MASQCTL_LOCKFILE, else masqctl.lock beside the xtables lock (/run by default)."""
    explicit = os.environ.get("MASQCTL_LOCKFILE")
    if explicit:
        return explicit
    xtables = os.environ.get("XTABLES_LOCKFILE", "/run/xtables.lock")
    return os.path.join(os.path.dirname(xtables) or ".", "masqctl.lock")


@contextmanager
def apply_lock(path: str | None = None, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Serialize masqctl's own read-modify-write of the nat table."""
    import fcntl

    path = path or lock_path()
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise MasqctlError(f"{path}: cannot open the masqctl lock: {error.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MasqctlError(
                        f"another masqctl apply held {path} for more than {timeout:g} s"
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
        raise MasqctlError(f"{path}: cannot write the backup: {error.strerror}; "
                           "nothing was changed (choose another place with --backup)") from None


def apply_family(request: ApplyRequest, rules: FamilyRules, backend: Backend,
                 reading: Running | None = None) -> FamilyOutcome:
    """Plan, back up, write, verify (and roll back) one family.

    ``reading``: the save of the nat table, if already started.  A plan needs only to
    know whether the chain differs; how it differs (the findings) is worked out while
    iptables-restore runs, and so are the lines the verifying read should show.
    """
    desired = Desired(rules)
    before_text, before = backend.finish_read(reading or backend.start_read("nat"))
    pieces: Iterable[str]
    result: FamilyDiff | None = None
    if request.remove:
        steps, payload = remove_plan(before, rules.chain)
        pieces = (payload,)
    else:
        result = diff_family(rules, before, backend.prefix, desired, settled=False)
        steps, pieces = plan_sync(result, rules)
    outcome = FamilyOutcome(rules.family, backend.prefix, rules.chain, [], steps)
    if not steps or request.dry_run:
        outcome.payload = "".join(pieces)
        outcome.findings = findings(result) if result else []
        return outcome
    outcome.backup = backup_file(rules.family, request.backup_path)
    write_backup(outcome.backup, before_text)
    written: list[str] = []
    running = backend.start_restore(_kept(pieces, written))
    try:
        outcome.payload = "".join(written)
        if result is not None:
            outcome.findings = findings(result)
            desired.saved_lines_as_written()
    finally:
        running.wait()
    outcome.written = True
    _, after = backend.read("nat")
    problem = _verify(after, rules, desired, request.remove)
    if problem:
        rollback = rollback_payload(before, rules.chain, after)
        try:
            backend.restore(rollback)
        except MasqctlError as error:
            raise MasqctlError(f"{rules.family}: verification failed ({problem}) and putting "
                               f"the previous chain back failed too ({error}); the table was "
                               f"backed up to {outcome.backup}") from None
        raise MasqctlError(f"{rules.family}: verification failed after writing ({problem}); "
                           f"the previous chain is back (backup: {outcome.backup})")
    return outcome


def _kept(pieces: Iterable[str], kept: list[str]) -> Iterator[str]:
    for piece in pieces:
        kept.append(piece)
        yield piece


def _verify(after: SaveFile, rules: FamilyRules, desired: Desired, remove: bool) -> str:
    """'' when the table now reads as intended, else the first difference."""
    if remove:
        leftover, _ = remove_plan(after, rules.chain)
        return leftover[0].replace("delete", "still present:", 1) if leftover else ""
    check = diff_family(rules, after, "after", desired, settled=False)
    if check.in_sync:
        return ""
    return findings(check)[0]


@contextmanager
def _collection_paused() -> Iterator[None]:
    """No garbage collection meanwhile: the config and the tables read make many objects
    that all stay alive, so collecting them only costs time (also after: they are moved
    out of the collector's sight, else the first collection would walk them all)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def run_apply(request: ApplyRequest) -> tuple[str, int]:
    """apply's whole job: what to print, and exit code 0 (errors raise MasqctlError)."""
    from masqctl.commands import effective_ruleset

    if request.output_format not in OUTPUT_FORMATS:
        raise UsageError(f"unknown output {request.output_format!r} (choose from text, json)")
    outcomes = []
    with _collection_paused(), apply_lock():
        # each family's table is read while the config loads
        families = FAMILIES if request.flags.enable_ipv6 else (IPV4,)
        backends = {family: select_backend(request.iptables_mode, family) for family in families}
        reads = {family: backend.start_read("nat") for family, backend in backends.items()}
        try:
            ruleset = effective_ruleset(request.config_path, request.flags)
            for family, rules in ruleset.families.items():
                backend = backends.get(family) or select_backend(request.iptables_mode, family)
                outcomes.append(apply_family(request, rules, backend, reads.pop(family, None)))
        finally:
            for running in reads.values():
                running.abandon()
    if request.output_format == "json":
        return json.dumps(apply_json(request, outcomes), indent=2) + "\n", 0
    return "".join(_text(request, outcome) for outcome in outcomes), 0


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
        lines.append(f"{head}: ... and {len(outcome.findings) - len(shown)} more differences "
                     "(masqctl diff lists them all)")
    if request.dry_run:
        lines = [f"# {line}" for line in lines]
        lines += [f"# would {step}" for step in outcome.steps]
        lines.append(f"# payload for {outcome.backend}-restore --noflush --wait:")
        return "".join(f"{line}\n" for line in lines) + outcome.payload
    lines.append(f"{head}: backup of the nat table: {outcome.backup}")
    lines += [f"{head}: {step}" for step in outcome.steps]
    lines.append(f"{head}: written in one {outcome.backend}-restore transaction and verified")
    return "".join(f"{line}\n" for line in lines)
