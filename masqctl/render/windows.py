"""The Windows CNI OutBoundNAT policy: the agent's non-masquerade CIDRs as HNS exceptions.

``--format windows-v1|windows-v2`` prints the policy on its own; with ``--cni-conf FILE``
the whole CNI config is printed (or, with ``--write``, rewritten) with only the exception
list of its OutBoundNAT policy replaced, every other byte kept.  docs/windows.md explains
which CIDRs go in and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from masqctl.config.json_reader import read_json_document
from masqctl.config.nodes import FLOAT, INT, MAP, NULL, SCALAR, SEQ, STR, DocumentError, Node
from masqctl.errors import InputError, UsageError
from masqctl.render import json_source
from masqctl.render.json_source import member
from masqctl.ruleset import IPV4, IPV6, RETURN, Ruleset

#: --format → the CNI ``apiVersion`` whose policy layout it prints.
API_VERSIONS = {"windows-v1": 1, "windows-v2": 2}


def exceptions(ruleset: Ruleset, family: str) -> list[str]:
    """The destinations the agent leaves unmasqueraded for ``family``, in its chain order."""
    return [
        rule.cidr
        for rule in ruleset.family(family).rules
        if rule.kind == RETURN and rule.cidr is not None
    ]


def outbound_nat_policy(api_version: int, cidrs: list[str]) -> dict[str, object]:
    """The EndpointPolicy as the win-bridge plugin writes one (HNS v1 or HCN v2 layout)."""
    if api_version == 2:
        value: dict[str, object] = {"Type": "OutBoundNAT", "Settings": {"Exceptions": cidrs}}
    else:
        value = {"Type": "OutBoundNAT", "ExceptionList": cidrs}
    return {"name": "EndpointPolicy", "value": value}


def render_windows(
    ruleset: Ruleset,
    output_format: str,
    cni_conf: str | None,
    write: bool,
    family: str = IPV4,
) -> str:
    """The policy for ``family`` alone, or the CNI config with its exceptions replaced."""
    if output_format not in API_VERSIONS:
        raise UsageError(f"unknown Windows format {output_format!r}")
    if cni_conf is None:
        if write:
            raise UsageError("--write needs --cni-conf FILE")
        policy = outbound_nat_policy(API_VERSIONS[output_format], exceptions(ruleset, family))
        return json.dumps(policy) + "\n"
    if write and cni_conf == "-":
        raise UsageError("--write needs a file, not stdin")
    if family != IPV4:
        raise UsageError(
            "--family does not go with --cni-conf: the policy of every family the agent "
            "manages (IPv6 with --enable-ipv6) is updated"
        )
    from masqctl.config.sources import display_name
    from masqctl.render.cni_file import read_cni_conf, write_in_place

    original = read_cni_conf(cni_conf)
    updated = update_cni_conf(original, ruleset, display_name(cni_conf))
    if not write:
        return updated
    if updated == original:
        return f"{cni_conf}: OutBoundNAT exceptions already up to date; file not written\n"
    backup = write_in_place(cni_conf, original, updated)
    return f"{cni_conf}: OutBoundNAT exceptions updated (previous version kept as {backup})\n"


@dataclass
class PolicyHolder:
    """A plugin config with a ``policies`` list: the file's top level, a delegate, a plugin."""

    netconf: Node
    policies: Node
    api_version: int
    #: Where the list is, as a path into the file: ``policies``, ``delegate.policies``,
    #: ``plugins[0].delegate.policies``...
    path: str = "policies"


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` with ``replacement``."""

    start: int
    end: int
    replacement: str


def update_cni_conf(text: str, ruleset: Ruleset, source: str) -> str:
    """``text`` with the OutBoundNAT exceptions of each family the ruleset has replaced."""
    edits: list[Edit] = []
    for holder in read_policy_holders(text, source):
        edits.extend(holder_edits(text, holder, ruleset))
    for edit in sorted(edits, key=lambda edit: edit.start, reverse=True):
        text = text[: edit.start] + edit.replacement + text[edit.end :]
    return text


def read_policy_holders(text: str, source: str) -> list[PolicyHolder]:
    """Every ``policies`` list of a CNI config's text; InputError when there is none."""
    try:
        root = read_json_document(text)
    except DocumentError as error:
        message = error.message.removeprefix("JSON: ")
        raise InputError(f"{source}:{error.line}:{error.column}: invalid JSON: {message}") from None
    if root.kind != MAP:
        raise InputError(f"{source}:{root.line}:{root.column}: a CNI config is a JSON object")
    holders = policy_holders(root, source)
    if not holders:
        raise InputError(
            f'{source}: no "policies" list found (looked at the top level, "delegate" and '
            'each of "plugins")'
        )
    return holders


def policy_holders(root: Node, source: str) -> list[PolicyHolder]:
    """Where the Windows plugins read ``policies``, in file order.

    A conflist's plugins (libcni reads ``plugins`` with its exact name) or the flat config;
    in each, its own ``policies`` or else flannel's ``delegate.policies``.  Plugin configs
    are decoded by Go's encoding/json, so those keys match case-insensitively.
    """
    plugins = member(root, "plugins")
    if plugins is None or plugins.kind != SEQ:
        netconfs = [("", root)]
    else:
        netconfs = [(f"plugins[{index}].", item) for index, item in enumerate(plugins.value)]
    holders = []
    for prefix, netconf in netconfs:
        if netconf.kind != MAP:
            continue
        for where, candidate in ((prefix, netconf), (f"{prefix}delegate.", _delegate(netconf))):
            policies = None if candidate is None else member(candidate, "policies", fold=True)
            if candidate is not None and policies is not None and policies.kind == SEQ:
                version = api_version(candidate, source)
                path = f"{where}policies"
                if holder_plugin(candidate, path) in CNI_PLUGINS_NETCONF:
                    refuse_undecodable_policies(policies, path, source)
                holders.append(PolicyHolder(candidate, policies, version, path))
                break
    return holders


#: The plugins that decode their config into containernetworking's hns.NetConf, whose
#: ``policies`` are ``{"name": string, "value": any JSON}`` objects.
CNI_PLUGINS_NETCONF = ("win-bridge", "win-overlay")


def holder_plugin(netconf: Node, path: str) -> str:
    """The plugin that reads the holder at ``path``: its ``type``; for flannel's delegate
    without one, win-bridge (what flannel then delegates to)."""
    kind = member(netconf, "type", fold=True)
    plugin = kind.value if kind is not None and isinstance(kind.value, str) else ""
    return plugin or ("win-bridge" if path.endswith("delegate.policies") else "")


def refuse_undecodable_policies(policies: Node, path: str, source: str) -> None:
    """InputError at the first policy encoding/json cannot decode into hns.Policy (not an
    object, or a ``name`` that is no string): the plugin fails to load the whole config
    (``failed to load netconf``), so no pod on the node gets a network."""
    for index, item in enumerate(policies.value):
        if item.kind == SCALAR and item.value is None:
            continue  # null: a zero policy
        if item.kind != MAP:
            wrong, what, field = item, "an object", ""
        else:  # every key that matches "name" in any case is decoded into it
            names = [value for key, value in item.value if key.value.lower() == "name"]
            wrong = next((name for name in names if name.tag not in (STR, NULL)), None)
            if wrong is None:
                continue
            what, field = "a string", ".name"
        raise InputError(
            f"{source}:{wrong.line}:{wrong.column}: {path}[{index}]{field} is "
            f"{_a(wrong.describe())}, not {what}: the plugin cannot decode it and fails to "
            "load the whole config"
        )


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _delegate(netconf: Node) -> Node | None:
    return member(netconf, "delegate", fold=True)


def api_version(netconf: Node, source: str) -> int:
    """``apiVersion`` as the plugins read it: 2 selects HCN (v2) policies, anything else v1."""
    node = member(netconf, "apiVersion", fold=True)
    if node is None or node.value is None:
        return 1
    if node.tag != INT:
        shown = node.raw if node.tag == FLOAT else json.dumps(node.plain())  # 1e400 as written
        raise InputError(
            f"{source}:{node.line}:{node.column}: apiVersion must be a whole number (1 or 2); "
            f"the plugins fail on {shown}"
        )
    return 2 if node.value == 2 else 1


#: The key of the exception list in each API version's policy layout.
EXCEPTIONS_KEY = {1: "ExceptionList", 2: "Exceptions"}


def outbound_nat_value(policy: Node, version: int) -> Node | None:
    """The ``value`` of an OutBoundNAT EndpointPolicy, as HNS gets one: ``name``
    EndpointPolicy (any case) and ``value.Type`` exactly OutBoundNAT.  In API v2 the
    plugins decode ``value`` into HCN's EndpointPolicy with Go's encoding/json, so its
    ``Type`` key matches in any case (the last one wins)."""
    name = member(policy, "name", fold=True)
    value = member(policy, "value", fold=True)
    if name is None or not isinstance(name.value, str) or name.value.lower() != "endpointpolicy":
        return None
    if value is None or value.kind != MAP:
        return None
    kind = member(value, "Type", fold=version == 2)
    return value if kind is not None and kind.value == "OutBoundNAT" else None


def policy_setting(value: Node, version: int, key: str) -> Node | None:
    """A setting of a policy's ``value`` where HNS gets it: in ``value.Settings`` (v2,
    whose key matches in any case, as for ``Type``) or in ``value`` itself (v1)."""
    if version == 2:
        settings = member(value, "Settings", fold=True)
        return member(settings, key) if settings is not None else None
    return member(value, key)


def exception_list(policy: Node, version: int) -> Node | None:
    """The policy's exception list when it is an OutBoundNAT policy that has one.

    As the plugins' ApplyOutboundNatPolicy tells: an OutBoundNAT EndpointPolicy with the
    list at ``value.Settings.Exceptions`` (v2) or ``value.ExceptionList`` (v1).  The
    loopback-DSR OutBoundNAT policy has only ``Destinations`` and is not one.
    """
    value = outbound_nat_value(policy, version)
    found = None if value is None else policy_setting(value, version, EXCEPTIONS_KEY[version])
    return found if found is not None and found.kind == SEQ else None


def all_ipv6(cidrs: Node) -> bool:
    """Whether an exception list holds IPv6 prefixes only (then it is the IPv6 policy's)."""
    from masqctl.config.goparse import CIDRError
    from masqctl.ruleset import cidr_family

    if not cidrs.value:
        return False
    try:
        return all(
            isinstance(item.value, str) and cidr_family(item.value) == IPV6 for item in cidrs.value
        )
    except CIDRError:
        return False


def family_lists(holder: PolicyHolder) -> dict[str, list[tuple[int, Node]]]:
    """The holder's exception lists per family, in file order, each with the position of
    its policy in ``policies``: a list of IPv6 prefixes only is an IPv6 policy's, any
    other list an IPv4 policy's."""
    lists: dict[str, list[tuple[int, Node]]] = {IPV4: [], IPV6: []}
    for position, item in enumerate(holder.policies.value):
        found = exception_list(item, holder.api_version)
        if found is not None:
            lists[IPV6 if all_ipv6(found) else IPV4].append((position, found))
    return lists


def holder_edits(text: str, holder: PolicyHolder, ruleset: Ruleset) -> list[Edit]:
    """Replace each family's exception list in place; append the policies that are missing.

    HNS takes one exception list per address family, so an exception list that holds only
    IPv6 prefixes is the IPv6 policy, and the first other one is the IPv4 policy.  HNS
    applies the exceptions of every OutBoundNAT policy, so a later list of the family is
    emptied: its exceptions would still be exempt, which the config does not say.
    """
    lists = family_lists(holder)
    edits, missing = [], []
    for family in ruleset.families:
        cidrs = exceptions(ruleset, family)
        if not lists[family]:
            missing.append(outbound_nat_policy(holder.api_version, cidrs))
            continue
        (_, found), *later = lists[family]
        replacement = json_source.array_text(text, found, [json.dumps(c) for c in cidrs])
        edits.append(Edit(found.start, found.end, replacement))
        edits.extend(Edit(other.start, other.end, "[]") for _, other in later if other.value)
    if missing:
        edits.append(append_policies(text, holder, missing))
    return edits


def append_policies(text: str, holder: PolicyHolder, policies: list[dict[str, object]]) -> Edit:
    """Add policies at the end of the list, where the win-bridge plugin adds its own."""
    array = holder.policies
    colon = json_source.key_separator(text, holder.netconf)
    present = array.value
    if not present:
        inner = json_source.line_indent(text, array.start) + json_source.indent_unit(text)
        indent = inner if "\n" in text else None
        items = [json_source.value_text(text, policy, indent, colon) for policy in policies]
        return Edit(array.start, array.end, json_source.array_text(text, array, items))
    last = present[-1]
    opening = text[array.start + 1 : present[0].start]
    multiline = "\n" in opening
    indent = json_source.line_indent(text, present[0].start) if multiline else None
    if len(present) > 1:
        separator = text[present[-2].end : last.start]
    else:
        separator = "," + opening if multiline else json_source.inline_separator(text)
    added = "".join(
        separator + json_source.value_text(text, policy, indent, colon) for policy in policies
    )
    return Edit(last.end, last.end, added)
