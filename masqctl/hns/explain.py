"""explain --cni-conf: whether HNS SNATs a Windows pod's traffic to an address, and why.

HNS matches OutBoundNAT exceptions as a set of prefixes: a destination inside any
exception of the endpoint's OutBoundNAT policies of its family leaves with the pod's
address, any other destination is SNATed; a policy with ``Destinations`` (loopback DSR)
SNATs traffic to exactly those addresses.  docs/windows.md gives the evidence.  Answers
use explain's own Explanation, so text and JSON read as in config mode: ``rule`` is the
deciding policy (``chain`` its ``policies`` list, ``index`` its position, ``line`` its
line), ``source`` the deciding entry of the file.
"""

from __future__ import annotations

from masqctl.errors import InputError
from masqctl.explain.addresses import Target
from masqctl.explain.config_mode import FamilyExplainer
from masqctl.explain.index import IntervalIndex
from masqctl.explain.verdict import (
    MASQUERADE,
    NO_MASQUERADE,
    UNDETERMINED,
    Explanation,
    Outcome,
    RuleRef,
    SourceRef,
)
from masqctl.hns.policies import LAST_ADDRESS, Entry, HolderPolicies, NatPolicy, read_holder
from masqctl.ruleset import IPV4, IPV6

FAMILY_NAMES = {IPV4: "IPv4", IPV6: "IPv6"}


def _rule(policy: NatPolicy) -> RuleRef:
    return RuleRef(policy.holder, policy.index, policy.text, policy.line)


def _source(file: str, entry: Entry) -> SourceRef:
    return SourceRef(file, entry.line, entry.entry)


def _where(file: str, entry: Entry) -> str:
    return f"from {entry.entry} ({_source(file, entry).describe()})"


class _Outcomes:
    """The outcome of each kind of deciding entry, for one family of one holder."""

    def __init__(self, found: HolderPolicies, family: str) -> None:
        self.found = found
        self.family = family
        self.notes = found.notes

    def destination(self, policy: NatPolicy, entry: Entry) -> Outcome:
        return Outcome(
            MASQUERADE,
            f"{policy.describe()} SNATs traffic to {entry.text} (its Destinations, as for "
            f"loopback DSR), {_where(self.found.file, entry)}",
            _rule(policy),
            _source(self.found.file, entry),
            notes=self.notes,
        )

    def exception(
        self, policy: NatPolicy, entry: Entry, also: list[tuple[NatPolicy, Entry]]
    ) -> Outcome:
        notes = tuple(
            f"also exempted by {other.text} of {other_policy.describe()} "
            f"({_source(self.found.file, other).describe()})"
            for other_policy, other in also
        )
        return Outcome(
            NO_MASQUERADE,
            f"{policy.describe()} exempts {entry.text}, {_where(self.found.file, entry)}: "
            "HNS does not SNAT it",
            _rule(policy),
            _source(self.found.file, entry),
            notes=notes + self.notes,
        )

    def unknown(self, policy: NatPolicy, entry: Entry) -> Outcome:
        return Outcome(
            UNDETERMINED,
            f"{entry.entry} {entry.text!r} of {policy.describe()} is {entry.problem} "
            f"({_source(self.found.file, entry).describe()}): how HNS reads it is not "
            "documented, so whether it exempts this address is not known",
            _rule(policy),
            _source(self.found.file, entry),
            notes=self.notes,
        )

    def default(self) -> Outcome:
        """No entry contains the address: the family's first SNAT policy decides."""
        snat = [p for p in self.found.policies if p.family == self.family and not p.destinations]
        name = FAMILY_NAMES[self.family]
        if not snat:
            return Outcome(
                NO_MASQUERADE,
                f"no OutBoundNAT policy for {name} in {self.found.holder.path}: HNS does not "
                "SNAT the pod's traffic",
                notes=self.notes,
            )
        policy = snat[0]
        if policy.condition:
            return Outcome(
                UNDETERMINED,
                f"no exception contains it, and {policy.describe()} exists "
                f"{policy.condition}: SNATed if it does, not SNATed otherwise",
                _rule(policy),
                notes=self.notes,
            )
        return Outcome(
            MASQUERADE,
            f"no exception contains it: {policy.describe()} SNATs it",
            _rule(policy),
            notes=self.notes,
        )


def family_explainer(found: HolderPolicies, family: str) -> FamilyExplainer:
    """Index one family's destinations, exceptions and unreadable entries (in that order
    of precedence) and give each segment of the address space its outcome."""
    last_address = LAST_ADDRESS[family]
    ours = [
        (policy, entry)
        for policy in found.policies
        for entry in (*policy.destinations, *policy.exceptions)
        if entry.family in (family, None)
    ]
    ranked = [
        *(("destination", p, e) for p, e in ours if e.known and e in p.destinations),
        *(("exception", p, e) for p, e in ours if e.known and e in p.exceptions),
        *(("unknown", p, e) for p, e in ours if not e.known),
    ]
    index = IntervalIndex.build(
        (min(entry.first, last_address), min(entry.last, last_address), key)
        for key, (_, _, entry) in enumerate(ranked)
    )
    outcomes = _Outcomes(found, family)
    result = []
    for keys in index.keys:
        if not keys:
            result.append(outcomes.default())
            continue
        kind, policy, entry = ranked[keys[0]]
        if kind == "destination":
            result.append(outcomes.destination(policy, entry))
        elif kind == "exception":
            also = [ranked[key][1:] for key in keys[1:] if ranked[key][0] == "exception"]
            result.append(outcomes.exception(policy, entry, also))
        else:
            result.append(outcomes.unknown(policy, entry))
    return FamilyExplainer(family, index, result)


class CniExplainer:
    """Explain addresses against the OutBoundNAT policies of one CNI config."""

    def __init__(self, found: HolderPolicies) -> None:
        self.families = {family: family_explainer(found, family) for family in (IPV4, IPV6)}

    def explain(self, target: Target) -> Explanation:
        return self.families[target.family].explain(target)


def cni_explainer(path: str) -> CniExplainer:
    """The explainer for the CNI config at ``path`` (``-``: stdin)."""
    from masqctl.config.sources import display_name
    from masqctl.render.cni_file import read_cni_conf
    from masqctl.render.windows import read_policy_holders

    name = display_name(path)
    holders = read_policy_holders(read_cni_conf(path), name)
    if len(holders) > 1:
        where = ", ".join(holder.path for holder in holders)
        raise InputError(
            f"{name}: {len(holders)} plugin configs have a policies list ({where}); explain "
            "answers for one endpoint: give the config of the plugin that creates it"
        )
    return CniExplainer(read_holder(holders[0], name))


def check_cni_options(
    cni_conf: str, addresses: list[str], config: object, live: bool, *others: object
) -> None:
    """--cni-conf explains the CNI config alone: refuse the options of the other modes."""
    from masqctl.errors import UsageError

    if config is not None:
        raise UsageError("--cni-conf explains the CNI config's own policies; drop --config")
    if live or any(other is not None and other != [] for other in others):
        raise UsageError(
            "--cni-conf goes with none of --live, --from, --local-address, --source, "
            "--protocol and --mark (they describe a Linux node's nat table)"
        )
    if cni_conf == "-" and "-" in addresses:
        raise UsageError("--cni-conf - reads stdin: give the addresses as arguments")
