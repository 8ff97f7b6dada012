"""azure-v2: AKS's ip-masq-agent-v2 (Azure/ip-masq-agent-v2).

It reads every file whose name starts with ``ip-masq`` in /etc/config/, in name order;
each is decoded as upstream decodes its one file, but into a struct of three keys with
no defaults filled in, and validated on its own (at most 64 entries).  The files are then
merged: the CIDRs united by exact text through a Go map (so the RETURN rules come in a
new order every sync), the booleans OR'ed.  The defaults apply only when no such file
exists.  Any error is fatal: the agent exits and its pod crash-loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from masqctl.agent import DEFAULT_CHAIN, AgentFlags, jump_comment
from masqctl.config.goparse import go_quote
from masqctl.flavours.base import ConfigOutput, FlagDef, Flavour, three_key_json
from masqctl.flavours.logging import GLOG, KLOG, version_key

if TYPE_CHECKING:
    from masqctl.config.agent_parser import DecodedConfig
    from masqctl.config.sources import FoundConfig
    from masqctl.findings import Finding
    from masqctl.model import MasqConfig
    from masqctl.ruleset import Rule, Ruleset

#: The agent's only flags, all there since v0.1.0; --resync-interval is whole seconds.
AZURE_FLAGS = (
    FlagDef("masq_chain", "masq-chain", "string", DEFAULT_CHAIN),
    FlagDef("nomasq_all_reserved_ranges", "nomasq-all-reserved-ranges", "bool", False),
    FlagDef("enable_ipv6", "enable-ipv6", "bool", False),
    FlagDef("resync_interval", "resync-interval", "int", 60),
)
#: The limit of entries in one file (no cidrLimit key), duplicates counted.
FILE_LIMIT = 64
#: Hints of checks whose catalogue fix names upstream's keys, as this agent has them.
_HINTS = {
    "MASQ002": "Use one of nonMasqueradeCIDRs, masqLinkLocal, masqLinkLocalIPv6 (the only "
    "keys ip-masq-agent-v2 reads; agent flags such as --resync-interval belong on the "
    "DaemonSet).",
    "MASQ009": "Merge CIDRs into larger blocks, or split the list across several ip-masq* "
    "keys (the limit is per file; masqctl generate --flavour azure-v2 splits it).",
    "MASQ014": "Remove the contained CIDR (reordering the list changes nothing: the agent "
    "shuffles its rules every sync).",
}
#: What an entry inside an earlier one is, its rules coming in a new order every sync.
_CONTAINED = (
    "redundant: ip-masq-agent-v2 writes its RETURN rules in a new order every sync, and "
    "whichever of the two comes first returns for it"
)
#: How each phase's error is wrapped before the agent's fatal "the daemon encountered an
#: error: error syncing configuration: ..." (%s: the file's name, Go-quoted).
_WRAPPING = {
    "tojson": "failed to convert config file {name} to JSON, error: {error}",
    "unmarshal": "failed to unmarshal config file {name}, error: {error}",
    "validate": "config file {name} is invalid: {error}",
}


class AzureV2(Flavour):
    """Azure/ip-masq-agent-v2, as every AKS cluster runs it."""

    name = "azure-v2"
    title = "Azure's ip-masq-agent-v2"
    flags = AZURE_FLAGS
    images = (
        "mcr.microsoft.com/aks/ip-masq-agent-v2",
        "mcr.microsoft.com/oss/v2/azure/ip-masq-agent-v2",
        "mcr.microsoft.com/oss/azure/ip-masq-agent-v2",
    )
    failure = (
        "it exits (klog.Fatalf, status 255) and its pod crash-loops, on every node that reads "
        "this: the chain keeps the rules of its last good sync, a new node gets none"
    )
    files_description = "a raw config file, or ConfigMap data keys starting with ip-masq"
    configmap_names = ("azure-ip-masq-agent-config", "azure-ip-masq-agent-config-reconciled")
    # One file may hold FILE_LIMIT CIDRs; no cidrLimit key.  The labels are those of its
    # examples/config-custom.yaml, which AKS's addon manager needs to leave the ConfigMap
    # alone (EnsureExists).
    config_output = ConfigOutput(
        "azure-ip-masq-agent-config",
        "kube-system",
        "ip-masq-agent",
        labels=(
            ("component", "ip-masq-agent"),
            ("kubernetes.io/cluster-service", '"true"'),
            ("addonmanager.kubernetes.io/mode", "EnsureExists"),
        ),
        per_file_limit=FILE_LIMIT,
        empty_list_check="MASQ030",
    )
    keys_description = "key starting with ip-masq (each is a file the agent reads)"
    merges_files = True
    log_marker = "using config: "
    defaults_log_marker = None  # it logs "using config:" for its defaults too
    # klog.Fatalf, right after the "using config:" line of the files merged so far
    refused_log_marker = "the daemon encountered an error: "
    cidrs_unordered = True

    def reads_file(self, name: str) -> bool:
        """Every file whose name starts with ``ip-masq`` (case-sensitive)."""
        return name.startswith("ip-masq")

    def reads_key(self, key: str) -> bool:
        """Its projected volume mounts every key as a file of that name."""
        return self.reads_file(key)

    def files_read(self, found: Sequence[FoundConfig]) -> list[FoundConfig]:
        """Raw files, and ConfigMap keys starting with ``ip-masq``, in name order (the
        agent lists /etc/config/ with os.ReadDir, sorted by name)."""
        return sorted(
            super().files_read(found),
            key=lambda config: config.file_name.encode("utf-8", "surrogateescape"),
        )

    def decode(self, files: Sequence[FoundConfig], flags: AgentFlags) -> DecodedConfig:
        """Each file decoded and validated on its own, then merged (see the module doc)."""
        from masqctl.config.agent_parser import (
            DecodedConfig,
            Struct,
            decode_struct,
            with_validation,
        )
        from masqctl.model import CIDREntry, MasqConfig, Origin, default_config

        if not files:
            return DecodedConfig(default_config(flags))
        struct = Struct(
            fields=("nonMasqueradeCIDRs", "masqLinkLocal", "masqLinkLocalIPv6"),
            prefilled=False,
            unread=(
                (
                    "cidrLimit",
                    f"{self.title} has no cidrLimit and ignores this key (its limit is "
                    f"{FILE_LIMIT} CIDRs per file)",
                ),
                (
                    "resyncInterval",
                    f"{self.title} ignores this key (its interval is the agent flag "
                    "--resync-interval, in whole seconds)",
                ),
            ),
        )
        findings = []
        error = None
        seen: dict[str, CIDREntry] = {}
        key_origins: dict[str, Origin] = {}
        masq_link_local = masq_link_local_ipv6 = False
        for found in files:
            decoded, exposed = decode_struct(found.text, flags, struct)
            decoded = with_validation(decoded, flags, exposed)
            findings.extend(_fatal(finding) for finding in decoded.findings)
            if decoded.agent_error is not None and error is None:
                wrapped = _WRAPPING[decoded.phase or "validate"].format(
                    name=go_quote(found.file_name), error=decoded.agent_error
                )
                error = f"the daemon encountered an error: error syncing configuration: {wrapped}"
            for entry in decoded.config.non_masquerade_cidrs:
                seen.setdefault(entry.text, replace(entry, index=len(seen)))
            masq_link_local |= decoded.config.masq_link_local
            masq_link_local_ipv6 |= decoded.config.masq_link_local_ipv6
            for key, origin in decoded.config.key_origins.items():
                key_origins.setdefault(key, origin)
        merged = MasqConfig(
            non_masquerade_cidrs=tuple(seen.values()),
            masq_link_local=masq_link_local,
            masq_link_local_ipv6=masq_link_local_ipv6,
            source=", ".join(found.text.file for found in files),
            key_origins=key_origins,
        )
        return DecodedConfig(merged, findings, error)

    def lint(
        self, files: Sequence[FoundConfig], decoded: DecodedConfig, flags: AgentFlags
    ) -> list[Finding]:
        """Besides upstream's: no CIDRs at all (the defaults never apply once a file
        exists), and a file's masqLinkLocal false that another file's true overrides."""
        from masqctl.lint.cidrs import check_cidr_list
        from masqctl.lint.report import finding_at
        from masqctl.model import Origin

        # an empty list is MASQ030 here: removing the key brings no defaults back
        listed = check_cidr_list(decoded.config, _CONTAINED)
        findings = [
            replace(f, hint=_HINTS.get(f.rule, f.hint)) for f in listed if f.rule != "MASQ012"
        ]
        first = files[0].text if files else None
        refused = decoded.agent_error is not None
        if first is not None and not refused and not decoded.config.non_masquerade_cidrs:
            line, column = first.locate(1, 1)
            findings.append(
                finding_at(
                    "MASQ030",
                    decoded.config.key_origins.get("nonMasqueradeCIDRs")
                    or Origin(first.file, line, column, ""),
                    f"no file lists nonMasqueradeCIDRs: because an ip-masq* file exists, "
                    f"{self.title} uses none of its defaults and masquerades everything but "
                    "link-local (on AKS the reconciled file always exists too, so the "
                    "defaults never apply there: only the CIDRs AKS puts in it stay unmasqueraded)",
                )
            )
        singles = [(found.file_name, self.decode([found], flags).config) for found in files]
        for key, value in (
            ("masqLinkLocal", lambda config: config.masq_link_local),
            ("masqLinkLocalIPv6", lambda config: config.masq_link_local_ipv6),
        ):
            setting = next((name for name, single in singles if value(single)), None)
            for _, single in singles if setting is not None else ():
                origin = single.key_origins.get(key)
                if origin is not None and not value(single):
                    findings.append(
                        finding_at(
                            "MASQ031",
                            origin,
                            f"{key} is false here, but {setting} sets it true and "
                            f"{self.title} ORs its files' {key}: true wins",
                        )
                    )
        return findings

    def ruleset(self, config: MasqConfig, flags: AgentFlags) -> Ruleset:
        """Upstream's RETURN rules (in an order that changes every sync), a plain final
        MASQUERADE, and a jump whose comment holds literal double quotes."""
        from masqctl.model import DEFAULTS_SOURCE
        from masqctl.ruleset import build_ruleset

        plain = replace(flags, random_fully=False, to_ports="")
        return build_ruleset(
            config,
            plain,
            jump=quoted_jump,
            # its defaults skip the Go map: their order is fixed
            ordered=config.source == DEFAULTS_SOURCE,
            other_jumps=lambda chain: (upstream_jump(chain),),
            flavour=self.name,
        )

    def effective_json(self, config: MasqConfig) -> str:
        """The agent's ``using config:`` log line: json.Marshal of its three-key struct."""
        return three_key_json((entry.text for entry in config.non_masquerade_cidrs), config)

    def logging_flags(self, version: str | None) -> dict[str, str]:
        """glog in v0.1.0, none in v0.1.1 and v0.1.2 (klog not initialised), klog's 13
        flags from v0.1.3."""
        key = version_key(version)
        if key is None or key >= (0, 1, 3):
            return KLOG
        return GLOG if key < (0, 1, 1) else {}


def _fatal(finding: Finding) -> Finding:
    """A finding with this agent's hint; a refusal told that for this agent it is fatal,
    on every node."""
    from masqctl.findings import ERROR
    from masqctl.lint.catalogue import check

    finding = replace(finding, hint=_HINTS.get(finding.rule, finding.hint))
    entry = check(finding.rule)
    # a check raised to an error for one finding (a null item read as "") is a refusal too
    raised = finding.severity == ERROR and entry.severity != ERROR
    if not (entry.agent_refuses or raised):
        return finding
    return replace(
        finding,
        message=f"{finding.message}; for ip-masq-agent-v2 this is fatal: the agent exits "
        "(status 255) and its pod crash-loops on every node at once, not for one sync: nodes "
        "keep the rules of their last good sync, new nodes get none, no change applies",
    )


def quoted_jump(chain: str) -> Rule:
    """The v2 agent's POSTROUTING jump (v0.1.9 and later): its comment argument carries
    literal double quotes, so iptables-save shows ``"\\"ip-masq-agent: ...\\""``."""
    from masqctl.ruleset import jump_rule

    return jump_rule(chain, f'"{jump_comment(chain)}"')


def upstream_jump(chain: str) -> Rule:
    """The jump kubernetes-sigs/ip-masq-agent writes, and this agent did before v0.1.9:
    its -C never matches it and nothing deletes it, so an upgraded node keeps both."""
    from masqctl.ruleset import jump_rule

    return replace(
        jump_rule(chain),
        label="the unquoted jump of kubernetes-sigs/ip-masq-agent and of ip-masq-agent-v2 "
        "before v0.1.9, which Azure's agent neither matches nor deletes",
    )


FLAVOUR = AzureV2()
