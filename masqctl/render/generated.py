"""A generated config as each flavour's agent takes it.

Raw config, ConfigMap, Cilium's Helm values, JSON, or the Windows OutBoundNAT
exceptions.  What differs between flavours (where the ConfigMap lives, how many CIDRs
one file may hold, which keys the agent reads, how big its map is) is the flavour's
``config_output``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from masqctl.agent import DEFAULT_CIDR_LIMIT, AgentFlags
from masqctl.config.goparse import format_duration, go_text
from masqctl.errors import MasqctlError, UsageError
from masqctl.explain.verdict import MASQUERADE, NO_MASQUERADE
from masqctl.generate import (
    IPV4_MAPPED,
    LINK_LOCAL,
    LINK_LOCAL_KEY,
    FamilyList,
    Generated,
    cidr_text,
)
from masqctl.model import CIDREntry, MasqConfig, Origin
from masqctl.ruleset import IPV4, IPV6

if TYPE_CHECKING:
    from masqctl.flavours.base import ConfigOutput

FORMATS = ("config", "configmap", "helm-values", "windows-v1", "windows-v2", "json")
FAMILY_NAMES = {IPV4: "IPv4", IPV6: "IPv6"}


@dataclass(frozen=True)
class ConfigFile:
    """One config file of the output: its data key, header lines and keys in order."""

    key: str
    header: tuple[str, ...]
    values: tuple[tuple[str, object], ...]
    empty_list_check: str = "MASQ012"


def flavour_output(flavour: str) -> ConfigOutput:
    """How ``flavour``'s agent takes a config masqctl writes."""
    from masqctl.flavours import get_flavour

    return get_flavour(flavour).config_output


def link_local_line(generated: Generated, family: str) -> str:
    """What happens to the family's link-local range, in words."""
    cidr = LINK_LOCAL[family]
    name = f"{cidr} ({'link-local' if family == IPV4 else 'IPv6 link-local'})"
    found = generated.family(family)
    if found is None:
        return f"{name}: left out with all of IPv6 (no --enable-ipv6)"
    key = LINK_LOCAL_KEY[family]
    verdict = found.link_local_verdict()
    if verdict == NO_MASQUERADE:
        return f"{name}: not masqueraded: {key}: false, so the agent exempts it itself"
    if verdict == MASQUERADE:
        return f"{name}: masqueraded: {key}: true"
    parts = ", ".join(found.masqueraded_link_local())
    return f"{name}: masqueraded only to {parts}: {key}: true, and the list exempts the rest"


def _cidr_limit(generated: Generated, output: ConfigOutput) -> int | None:
    """cidrLimit for the list: --from's value, raised to the list's length if needed."""
    if not output.reads_limits:
        return None
    entries = len(generated.cidrs)
    if generated.cidr_limit is None:
        return entries if entries > DEFAULT_CIDR_LIMIT else None
    return max(generated.cidr_limit, entries)


def header(generated: Generated, output: ConfigOutput) -> tuple[str, ...]:
    """The header every generated file starts with: the intent, then the notes."""
    return (generated.intent.command_line(), *notes(generated, output))


def notes(generated: Generated, output: ConfigOutput) -> list[str]:
    """The header's explanations: link-local, IPv4-mapped IPv6, a raised cidrLimit."""
    lines = [link_local_line(generated, IPV4), link_local_line(generated, IPV6)]
    ipv6 = generated.family(IPV6)
    if ipv6 is not None and ipv6.mapped_left_out:
        lines.append(
            f"{IPV4_MAPPED} (IPv4-mapped): masqueraded all the same: the agent cannot list "
            "it (it files such CIDRs as IPv4), and no IPv6 packet is sent to it"
        )
    limit = _cidr_limit(generated, output)
    if limit is not None and limit == len(generated.cidrs) != generated.cidr_limit:
        lines.append(
            f"cidrLimit raised to {limit}: the agent refuses a list longer than cidrLimit "
            f"(default {DEFAULT_CIDR_LIMIT})"
        )
    return lines


def _check_map_limit(generated: Generated, output: ConfigOutput) -> None:
    if output.map_limit is None:
        return
    for family in generated.families:
        entries = len(family.cidrs) + (0 if family.masq_link_local else 1)
        if entries > output.map_limit:
            raise MasqctlError(
                f"the {FAMILY_NAMES[family.family]} list needs {entries} entries in the "
                f"agent's map (link-local included), which holds at most {output.map_limit}: "
                "give fewer, larger ranges"
            )


def config_files(generated: Generated, flavour: str) -> list[ConfigFile]:
    """The config files the flavour's agent reads for ``generated``, in order."""
    output = flavour_output(flavour)
    _check_map_limit(generated, output)
    cidrs = generated.cidrs
    size = output.per_file_limit or max(len(cidrs), 1)
    chunks = [cidrs[start : start + size] for start in range(0, len(cidrs), size)] or [()]
    settings: list[tuple[str, object]] = []
    limit = _cidr_limit(generated, output)
    if limit is not None:
        settings.append(("cidrLimit", limit))
    for family in generated.families:
        settings.append((LINK_LOCAL_KEY[family.family], family.masq_link_local))
    if output.reads_limits and generated.resync_interval_ns is not None:
        settings.append(("resyncInterval", format_duration(generated.resync_interval_ns)))
    common = header(generated, output)
    files = []
    for number, chunk in enumerate(chunks, 1):
        key = output.key if number == 1 else f"{output.key}-{number}"
        lines = common
        if len(chunks) > 1:
            lines += (
                f"file {number} of {len(chunks)}: the agent reads every file whose name "
                "starts with ip-masq and merges their lists",
            )
        values = (("nonMasqueradeCIDRs", chunk), *settings)
        files.append(ConfigFile(key, lines, values, output.empty_list_check))
    return files


def _cidr_line(cidr: str) -> str:
    """A list item; a match-all CIDR says that it is meant (so validate does not warn)."""
    if not cidr.endswith("/0"):
        return f"  - {cidr}"
    family = FAMILY_NAMES[IPV4 if "." in cidr else IPV6]
    return (
        f"  - {cidr}  # masqctl: ignore MASQ015 (the intent: no {family} destination is "
        "masqueraded)"
    )


def config_lines(file: ConfigFile, with_header: bool = True) -> list[str]:
    """The config file as YAML lines, its header first."""
    lines = [f"# {line}" for line in file.header] if with_header else []
    for key, value in file.values:
        if not isinstance(value, tuple):
            lines.append(f"{key}: {go_text(value)}")
        elif value:
            lines += [f"{key}:", *(_cidr_line(cidr) for cidr in value)]
        else:
            lines.append(
                f"{key}: []  # masqctl: ignore {file.empty_list_check} (the intent: nothing "
                "else stays unmasqueraded)"
            )
    return lines


def _indented(lines: list[str], indent: str) -> list[str]:
    return [indent + line for line in lines]


def configmap_lines(files: list[ConfigFile], output: ConfigOutput) -> list[str]:
    """A kubectl-appliable ConfigMap with one data key per config file."""
    lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        f"  name: {output.configmap}",
        f"  namespace: {output.namespace}",
    ]
    if output.labels:
        lines += ["  labels:", *(f"    {name}: {value}" for name, value in output.labels)]
    lines.append("data:")
    for file in files:
        lines += [f"  {file.key}: |", *_indented(config_lines(file), "    ")]
    return lines


def helm_values_lines(file: ConfigFile) -> list[str]:
    """Cilium's Helm values: ipMasqAgent enabled, with the config as ipMasqAgent.config."""
    return [
        "ipMasqAgent:",
        "  enabled: true",
        "  config:",
        *_indented(config_lines(file, with_header=False), "    "),
    ]


def json_view(generated: Generated, flavour: str) -> dict[str, object]:
    """The documented JSON form (docs/generate.md)."""
    output = flavour_output(flavour)
    files = config_files(generated, flavour)
    return {
        "intent": generated.intent.command_line(),
        "flavour": flavour,
        "configMap": {
            "name": output.configmap,
            "namespace": output.namespace,
            "keys": [file.key for file in files],
        },
        "files": {
            file.key: {key: list(v) if isinstance(v, tuple) else v for key, v in file.values}
            for file in files
        },
        "families": {family.family: _family_json(family) for family in generated.families},
        "notes": notes(generated, output),
    }


def _family_json(family: FamilyList) -> dict[str, object]:
    return {
        "entries": len(family.cidrs),
        "nonMasquerade": [cidr_text(network) for network in family.intended.iter_cidrs()],
        "linkLocal": {
            "cidr": family.link_local,
            "verdict": family.link_local_verdict(),
            "masqueraded": family.masqueraded_link_local(),
        },
    }


def generated_config(generated: Generated) -> MasqConfig:
    """The generated config as the model holds it (for the Windows exceptions)."""
    ipv4, ipv6 = generated.family(IPV4), generated.family(IPV6)
    entries = tuple(
        CIDREntry(cidr, index, Origin("<generated>", 0, 0, f"nonMasqueradeCIDRs[{index}]"))
        for index, cidr in enumerate(generated.cidrs)
    )
    return MasqConfig(
        entries,
        masq_link_local=ipv4 is not None and ipv4.masq_link_local,
        masq_link_local_ipv6=ipv6 is not None and ipv6.masq_link_local,
    )


def windows_policies(generated: Generated, output_format: str) -> str:
    """One OutBoundNAT policy per family (a JSON line each), as render prints them."""
    from masqctl.render.windows import render_windows
    from masqctl.ruleset import build_ruleset

    flags = AgentFlags(enable_ipv6=generated.intent.enable_ipv6)
    ruleset = build_ruleset(generated_config(generated), flags)
    return "".join(
        render_windows(ruleset, output_format, None, False, family) for family in ruleset.families
    )


def render_generated(generated: Generated, flavour: str, output_format: str) -> str:
    """The output in ``output_format`` (one of FORMATS) for ``flavour``."""
    if output_format.startswith("windows"):
        return windows_policies(generated, output_format)
    if output_format == "json":
        return json.dumps(json_view(generated, flavour), indent=2) + "\n"
    output = flavour_output(flavour)
    if output_format == "helm-values" and not output.helm_values:
        raise UsageError(
            f"--output helm-values is for Cilium's Helm chart (ipMasqAgent.config); "
            f"{flavour} takes a ConfigMap: use --output configmap"
        )
    files = config_files(generated, flavour)
    comments = [f"# {line}" for line in header(generated, output)]
    if output_format == "configmap":
        return "\n".join([*comments, *configmap_lines(files, output)]) + "\n"
    if len(files) > 1:
        raise UsageError(
            f"{flavour} reads at most {output.per_file_limit} CIDRs per file and this list has "
            f"{len(generated.cidrs)}: use --output configmap, which splits it across the data "
            f"keys {files[0].key}, {files[1].key}, ..."
        )
    if output_format == "helm-values":
        return "\n".join([*comments, *helm_values_lines(files[0])]) + "\n"
    return "\n".join(config_lines(files[0])) + "\n"
