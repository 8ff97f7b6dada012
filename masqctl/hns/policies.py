"""A CNI config's OutBoundNAT policies as the Windows plugins hand them to HNS.

Read the way ``render --cni-conf`` finds them (masqctl.render.windows): per ``policies``
list, every OutBoundNAT EndpointPolicy with its exceptions (``ExceptionList`` in API v1,
``Settings.Exceptions`` in v2) and its destinations (``Destinations``, the loopback-DSR
form), plus the OutBoundNAT policy win-bridge and win-overlay add at run time.
docs/windows.md says what HNS does with them and where that is known from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from masqctl.config.goparse import CIDRError, is_ipv4_mapped, parse_address, parse_cidr
from masqctl.config.nodes import SCALAR, SEQ, STR, Node
from masqctl.render.json_source import member
from masqctl.render.windows import (
    EXCEPTIONS_KEY,
    PolicyHolder,
    all_ipv6,
    holder_plugin,
    outbound_nat_policy,
    outbound_nat_value,
    policy_setting,
)
from masqctl.ruleset import IPV4, IPV6

#: The highest address of each family.
LAST_ADDRESS = {IPV4: (1 << 32) - 1, IPV6: (1 << 128) - 1}
DESTINATIONS_KEY = "Destinations"


@dataclass(frozen=True, slots=True)
class Entry:
    """One exception or destination as written, where it is, and the addresses it names.

    ``problem`` says why HNS's reading of it is not documented (for an exception:
    anything but a CIDR without host bits, or a list that mixes IPv4 and IPv6; for a
    destination: anything but an address), "" when it is; ``first``/``last`` are then
    the addresses it might name, and ``family`` is None when it might name any address.
    """

    text: str
    entry: str
    line: int
    column: int
    family: str | None
    first: int
    last: int
    problem: str = ""

    @property
    def known(self) -> bool:
        return not self.problem


@dataclass(frozen=True, slots=True)
class NatPolicy:
    """One OutBoundNAT policy of a ``policies`` list, or one a plugin adds at run time."""

    holder: str
    #: Its position in the list, from 1 (a policy added at run time comes after the last).
    index: int
    #: The policy as JSON text, compact (as the plugin writes it, for one it adds).
    text: str
    #: Its line in the file; 0 for a policy added at run time.
    line: int
    family: str
    exceptions: tuple[Entry, ...]
    destinations: tuple[Entry, ...]
    #: Whether it has an exception list (be it empty) in its API version's layout.
    has_exception_list: bool = True
    #: Which plugin adds it at run time, and from what ("" for a policy of the file).
    added_by: str = ""
    #: Why it may not be added after all ("" when it is sure to be).
    condition: str = ""

    def describe(self) -> str:
        """``OutBoundNAT policy 1 of delegate.policies``, or who adds it at run time."""
        if self.added_by:
            return f"the OutBoundNAT policy {self.added_by} adds at run time"
        return f"OutBoundNAT policy {self.index} of {self.holder}"


@dataclass(frozen=True)
class HolderPolicies:
    """The OutBoundNAT policies HNS gets for the endpoints of one ``policies`` list."""

    holder: PolicyHolder
    file: str
    policies: tuple[NatPolicy, ...]
    #: What the plugins do at run time that the file cannot show, and layout mistakes.
    notes: tuple[str, ...]


def entry_text(node: Node) -> str:
    """A list item as text: the string itself, or the JSON of any other value."""
    if node.kind == SCALAR and node.tag == STR:
        return str(node.value)
    return json.dumps(node.plain())


def exception_entry(node: Node, entry: str) -> Entry:
    """An exception: a CIDR without host bits is a prefix HNS matches by containment."""
    text = entry_text(node)
    try:
        cidr = parse_cidr(text) if node.tag == STR else None
    except CIDRError:
        cidr = None
    if cidr is None:
        return _address_entry(node, entry, text, "an address, not a CIDR")
    problem = ""
    if not cidr.aligned:
        problem = f"a CIDR with host bits set (the network is {cidr.network_text()})"
    elif is_ipv4_mapped(cidr):
        problem = "an IPv4-mapped IPv6 prefix"
    family = IPV4 if cidr.version == 4 else IPV6
    return Entry(text, entry, node.line, node.column, family, cidr.network, cidr.last(), problem)


def destination_entry(node: Node, entry: str) -> Entry:
    """A destination: an address, as the plugins write the pod's own for loopback DSR."""
    return _address_entry(node, entry, entry_text(node), "")


def _address_entry(node: Node, entry: str, text: str, problem: str) -> Entry:
    """An entry that should be an address: ``problem`` when it is one, else unknown."""
    parsed = parse_address(text) if node.tag == STR else None
    if parsed is None:
        last = LAST_ADDRESS[IPV6]
        return Entry(text, entry, node.line, node.column, None, 0, last, "not an IP address")
    version, value = parsed
    family = IPV4 if version == 4 else IPV6
    return Entry(text, entry, node.line, node.column, family, value, value, problem)


def _single_family(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    """Entries of a list that mixes IPv4 and IPv6: none has a documented reading."""
    if {IPV4, IPV6} <= {entry.family for entry in entries}:
        problem = "in a list that mixes IPv4 and IPv6 prefixes (HNS takes one family per list)"
        return tuple(replace(entry, problem=entry.problem or problem) for entry in entries)
    return entries


def _entries(
    found: Node | None, path: str, read: Callable[[Node, str], Entry]
) -> tuple[Entry, ...]:
    if found is None or found.kind != SEQ:
        return ()
    return tuple(read(item, f"{path}[{index}]") for index, item in enumerate(found.value))


def _setting_path(holder: PolicyHolder, position: int, key: str) -> str:
    settings = "Settings." if holder.api_version == 2 else ""
    return f"{holder.path}[{position}].value.{settings}{key}"


def file_policies(holder: PolicyHolder) -> tuple[list[NatPolicy], list[str]]:
    """The holder's own OutBoundNAT policies, in file order, and notes on their layout."""
    version = holder.api_version
    other = 1 if version == 2 else 2
    policies, notes = [], []
    for position, item in enumerate(holder.policies.value):
        value = outbound_nat_value(item, version)
        if value is None:
            continue
        listed = policy_setting(value, version, EXCEPTIONS_KEY[version])
        exceptions = _single_family(
            _entries(
                listed, _setting_path(holder, position, EXCEPTIONS_KEY[version]), exception_entry
            )
        )
        destinations = _entries(
            policy_setting(value, version, DESTINATIONS_KEY),
            _setting_path(holder, position, DESTINATIONS_KEY),
            destination_entry,
        )
        misplaced = policy_setting(value, other, EXCEPTIONS_KEY[other])
        if not exceptions and misplaced is not None and misplaced.kind == SEQ:
            notes.append(
                f"{holder.path}[{position}] has its exceptions in the API v{other} layout "
                f"({EXCEPTIONS_KEY[other]}), which apiVersion {version} does not read: HNS "
                "gets that policy without exceptions"
            )
        has_list = listed is not None and listed.kind == SEQ
        family = IPV6 if listed is not None and has_list and all_ipv6(listed) else IPV4
        text = json.dumps(item.plain(), separators=(",", ":"))
        policies.append(
            NatPolicy(
                holder.path,
                position + 1,
                text,
                item.line,
                family,
                exceptions,
                destinations,
                has_list,
            )
        )
    return policies, notes


def read_holder(holder: PolicyHolder, file: str) -> HolderPolicies:
    """Everything HNS gets for the endpoints of ``holder``: the file's OutBoundNAT
    policies, the one its plugin adds at run time, and notes on what the file cannot say."""
    policies, notes = file_policies(holder)
    netconf = holder.netconf
    flannel = holder.path.endswith("delegate.policies")
    plugin = holder_plugin(netconf, holder.path)
    snat_v4 = any(p.family == IPV4 and not p.destinations for p in policies)
    added = None
    if plugin == "win-bridge":
        added = _win_bridge_policy(holder, policies, flannel, snat_v4, notes)
    elif plugin == "win-overlay":
        added = _win_overlay_policy(holder, flannel, snat_v4, notes)
    elif plugin == "calico":
        policies, added = _calico_policies(holder, policies, snat_v4, notes)
    if added is not None:
        policies.append(added)
    dsr = member(netconf, "loopbackDSR", fold=True)
    if dsr is not None and dsr.value is True:
        notes.append(
            "loopbackDSR: traffic back to the pod's own address (through a service) is "
            "SNATed, by the OutBoundNAT policy with that destination the plugin adds"
        )
    return HolderPolicies(holder, file, tuple(policies), tuple(notes))


def _runtime_policy(
    holder: PolicyHolder,
    exceptions: tuple[Entry, ...],
    added_by: str,
    shown: str = "",
    condition: str = "",
) -> NatPolicy:
    """The policy ApplyOutboundNatPolicy appends, laid out as the plugin writes it
    (``shown``: its exception when only the node knows it)."""
    value = outbound_nat_policy(holder.api_version, [e.text for e in exceptions] or [shown])
    family = exceptions[0].family if exceptions and exceptions[0].family else IPV4
    return NatPolicy(
        holder.path,
        len(holder.policies.value) + 1,
        json.dumps(value, separators=(",", ":")),
        0,
        family,
        exceptions,
        (),
        added_by=added_by,
        condition=condition,
    )


def _listed_anywhere(policies: list[NatPolicy], text: str) -> bool:
    """Whether an exception list of these policies holds ``text`` exactly (how the plugin
    decides that it need not add a policy)."""
    return any(entry.text == text for policy in policies for entry in policy.exceptions)


def _win_bridge_policy(
    holder: PolicyHolder,
    policies: list[NatPolicy],
    flannel: bool,
    snat_v4: bool,
    notes: list[str],
) -> NatPolicy | None:
    """win-bridge exempts its ``ipMasqNetwork`` (flannel sets it to its network)."""
    if flannel:
        notes.append(
            "flannel's network (FLANNEL_NETWORK in subnet.env) is exempt too: flannel "
            "passes it to win-bridge as ipMasqNetwork at run time"
        )
        if snat_v4:
            return None
        return _runtime_policy(
            holder, (), "win-bridge (for flannel's network)", "<FLANNEL_NETWORK>"
        )
    node = member(holder.netconf, "ipMasqNetwork", fold=True)
    if node is None or node.tag != STR or not node.value:
        return None
    if _listed_anywhere(policies, str(node.value)):
        return None
    entry = exception_entry(node, "ipMasqNetwork")
    return _runtime_policy(holder, (entry,), "win-bridge (ipMasqNetwork)")


#: When Calico hands HNS an OutBoundNAT policy at all.
CALICO_CONDITION = "only when the pod's IP pool has natOutgoing: true (Calico drops it otherwise)"


def _calico_policies(
    holder: PolicyHolder, policies: list[NatPolicy], snat_v4: bool, notes: list[str]
) -> tuple[list[NatPolicy], NatPolicy | None]:
    """Calico keeps the OutBoundNAT policies only for an IP pool with natOutgoing, adds
    its IP pools and the node's management subnet to their exceptions, and adds a
    policy of its own for them when the file has none."""
    notes.append(
        "Calico's IP pools and the node's management subnet are exempt too: Calico adds "
        "them to the OutBoundNAT exceptions at run time"
    )
    kept = [
        replace(policy, condition=CALICO_CONDITION) if not policy.destinations else policy
        for policy in policies
    ]
    if snat_v4:
        return kept, None
    added = _runtime_policy(holder, (), "Calico", "<Calico's IP pools>", CALICO_CONDITION)
    return kept, added


def _win_overlay_policy(
    holder: PolicyHolder,
    flannel: bool,
    snat_v4: bool,
    notes: list[str],
) -> NatPolicy | None:
    """win-overlay with ``ipMasq`` exempts the HNS network's subnet (flannel sets
    ``ipMasq`` from FLANNEL_IPMASQ)."""
    condition = ""
    if flannel:
        condition = "only when flannel's FLANNEL_IPMASQ (subnet.env) is true"
        notes.append(
            "the HNS network's subnet is exempt too when flannel's FLANNEL_IPMASQ is "
            "true: win-overlay adds it at run time"
        )
    else:
        node = member(holder.netconf, "ipMasq", fold=True)
        if node is None or node.value is not True:
            return None
        notes.append(
            "the HNS network's subnet is exempt too: win-overlay (ipMasq) adds it at run time"
        )
    if snat_v4:
        return None
    return _runtime_policy(
        holder, (), "win-overlay (ipMasq)", "<the HNS network's subnet>", condition
    )
