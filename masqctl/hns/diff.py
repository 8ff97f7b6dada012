"""diff --cni-conf: a CNI config's OutBoundNAT exceptions against what render writes.

For each ``policies`` list of the file and each family the agent manages, the exceptions
of the file's OutBoundNAT policies of that family (every list: HNS applies them all)
are compared with the ones ``render --format windows-v1|v2 --cni-conf`` writes.  HNS
matches exceptions as a set of prefixes, so only missing and extra prefixes are drift;
another order, a duplicate, or the same prefix spelt differently is a note.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from masqctl.agent import AgentFlags
from masqctl.config.goparse import parse_cidr
from masqctl.errors import TEXT_OR_JSON, UsageError, require_choice
from masqctl.hns.policies import Entry, NatPolicy, file_policies
from masqctl.render.windows import PolicyHolder, exceptions
from masqctl.ruleset import Ruleset


def prefix_key(cidr: str) -> str:
    """The prefix a rendered exception names, in Go's notation."""
    return parse_cidr(cidr).network_text()


def entry_key(entry: Entry) -> str | None:
    """The prefix a file's exception names; None when HNS's reading is not documented."""
    return prefix_key(entry.text) if entry.known else None


@dataclass
class ListDrift:
    """One family's exceptions in one ``policies`` list, against the rendered ones."""

    holder: str
    api_version: int
    family: str
    rendered: list[str]
    present: list[Entry]
    #: No OutBoundNAT policy of the family has an exception list (render adds one).
    policy_missing: bool = False
    missing: list[str] = field(default_factory=list)
    extra: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not (self.policy_missing or self.missing or self.extra)

    def findings(self) -> list[str]:
        """The drift in words, one line each."""
        lines = []
        if self.policy_missing:
            lines.append(f"no OutBoundNAT exception policy for {self.family} (render adds one)")
        lines.extend(f"exception missing: {cidr}" for cidr in self.missing)
        for entry in self.extra:
            why = f" ({entry.problem})" if entry.problem else ""
            lines.append(f"extra exception (line {entry.line}): {entry.text}{why}")
        return lines

    def summary(self, file: str) -> str:
        where = f"{file} {self.holder} {self.family}"
        if self.in_sync:
            count = len(self.rendered)
            return f"{where}: OutBoundNAT exceptions in sync ({count} exceptions)"
        return f"{where}: OutBoundNAT exceptions drifted ({len(self.findings())} findings)"

    def json(self) -> dict[str, object]:
        return {
            "policies": self.holder,
            "api_version": self.api_version,
            "family": self.family,
            "in_sync": self.in_sync,
            "policy_missing": self.policy_missing,
            "rendered": self.rendered,
            "exceptions": [_entry_json(entry) for entry in self.present],
            "missing": self.missing,
            "extra": [_entry_json(entry) for entry in self.extra],
            "findings": self.findings(),
            "notes": self.notes,
        }


def _entry_json(entry: Entry) -> dict[str, object]:
    return {"exception": entry.text, "entry": entry.entry, "line": entry.line}


def compare(
    holder: PolicyHolder, policies: list[NatPolicy], family: str, rendered: list[str]
) -> ListDrift:
    """How the holder's exceptions of ``family`` (``policies``: its file_policies) differ
    from ``rendered``."""
    listed = [p for p in policies if p.family == family and p.has_exception_list]
    present = [entry for policy in listed for entry in policy.exceptions]
    result = ListDrift(holder.path, holder.api_version, family, rendered, present)
    result.policy_missing = not listed
    wanted = [prefix_key(cidr) for cidr in rendered]
    keys = [entry_key(entry) for entry in present]
    result.missing = [cidr for cidr, key in zip(rendered, wanted, strict=True) if key not in keys]
    result.extra = [entry for entry, key in zip(present, keys, strict=True) if key not in wanted]
    result.notes = _notes(present, keys, wanted)
    return result


def _notes(present: list[Entry], keys: list[str | None], wanted: list[str]) -> list[str]:
    """What differs without being drift: spelling, duplicates, order."""
    notes = []
    for entry, key in zip(present, keys, strict=True):
        if key is not None and key != entry.text and key in wanted:
            notes.append(f"{entry.text} (line {entry.line}) is {key} written differently")
    counts = Counter(key for key in keys if key is not None)
    for key, count in counts.items():
        if count > 1:
            at = dict.fromkeys(e.line for e, k in zip(present, keys, strict=True) if k == key)
            where = f"line {next(iter(at))}" if len(at) == 1 else f"lines {', '.join(map(str, at))}"
            notes.append(f"{key} is listed {count} times ({where})")
    seen = list(dict.fromkeys(key for key in keys if key in wanted))
    if set(seen) == set(wanted) and seen != list(dict.fromkeys(wanted)):
        notes.append(
            "the exceptions are in another order than render writes them: HNS applies "
            "them as a set, so this is not drift"
        )
    return notes


def diff_cni_conf(text: str, source: str, ruleset: Ruleset) -> list[ListDrift]:
    """Every ``policies`` list's drift, for each family the ruleset has."""
    from masqctl.render.windows import read_policy_holders

    results = []
    for holder in read_policy_holders(text, source):
        policies, _ = file_policies(holder)
        results.extend(
            compare(holder, policies, family, exceptions(ruleset, family))
            for family in ruleset.families
        )
    return results


def drift_json(file: str, results: list[ListDrift]) -> dict[str, object]:
    """The stable machine form of ``diff --cni-conf --output json``."""
    return {
        "in_sync": all(result.in_sync for result in results),
        "file": file,
        "lists": [result.json() for result in results],
    }


def run_cni_diff(
    path: str,
    config_paths: Sequence[str] | None,
    flags: AgentFlags,
    output_format: str = "text",
) -> tuple[str, int]:
    """diff --cni-conf's whole job: what to print and the exit code (0 in sync, 1 drift)."""
    from masqctl.agent_setup import effective_ruleset
    from masqctl.config.sources import display_name
    from masqctl.render.cni_file import read_cni_conf

    require_choice("output", output_format, TEXT_OR_JSON)
    if path == "-" and "-" in (config_paths or ()):
        raise UsageError("--cni-conf - and --config - cannot both read stdin")
    ruleset = effective_ruleset(config_paths, flags)
    name = display_name(path)
    results = diff_cni_conf(read_cni_conf(path), name, ruleset)
    code = 0 if all(result.in_sync for result in results) else 1
    if output_format == "json":
        return json.dumps(drift_json(name, results), indent=2) + "\n", code
    out = []
    for result in results:
        out.append(result.summary(name) + "\n")
        out.extend(f"  {line}\n" for line in result.findings())
        out.extend(f"  note: {note}\n" for note in result.notes)
    return "".join(out), code


def check_cni_options(
    dump: str | None, dump6: str | None, metrics_file: str | None, watch: str | None
) -> None:
    """--cni-conf compares a file: refuse the options of the live-table comparison."""
    if dump is not None or dump6 is not None:
        raise UsageError("--cni-conf and --from/--from6 exclude each other")
    given = [
        name
        for name, value in (("--metrics-file", metrics_file), ("--watch", watch))
        if value is not None
    ]
    if given:
        raise UsageError(
            f"{' and '.join(given)} {'do' if len(given) > 1 else 'does'} not go with --cni-conf"
        )
