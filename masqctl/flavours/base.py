"""Flavour: everything that differs between the agents operators run, as one object.

Commands ask the flavour (which flags exist and their defaults, which files the agent
reads and how, what it writes, how it fails, which checks apply); they never branch on
its name.  A new flavour is one module of this package and its tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from masqctl.agent import AgentFlags
from masqctl.errors import UsageError
from masqctl.flavours.logging import version_key

if TYPE_CHECKING:
    from masqctl.config.agent_parser import DecodedConfig
    from masqctl.config.sources import FoundConfig
    from masqctl.findings import Finding
    from masqctl.model import MasqConfig
    from masqctl.ruleset import Ruleset


@dataclass(frozen=True, slots=True)
class FlagDef:
    """One flag of an agent: masqctl's keyword, the agent's own name, kind and default."""

    dest: str
    go_name: str
    #: bool, string or int: how Go's flag package parses it.
    kind: str
    default: object
    #: The first release of the agent that has the flag (None: every release).
    since: str | None = None


@dataclass(frozen=True, slots=True)
class ConfigOutput:
    """How the agent takes a config masqctl writes (``generate``)."""

    #: The ConfigMap the agent's DaemonSet mounts, and its first (or only) data key.
    configmap: str
    namespace: str
    key: str
    labels: tuple[tuple[str, str], ...] = ()
    #: At most this many CIDRs per file; more are split across keys KEY, KEY-2, ...
    per_file_limit: int | None = None
    #: The agent reads cidrLimit (raised when the list needs it) and resyncInterval.
    reads_limits: bool = False
    #: The agent's map holds at most this many entries per family (link-local included).
    map_limit: int | None = None
    #: The flavour is installed by a Helm chart that takes the config as values.
    helm_values: bool = False
    #: The check that warns of an empty list (a generated one says it is meant).
    empty_list_check: str = "MASQ012"


class Flavour:
    """The reading, defaults, flags and output of one agent (upstream's by default)."""

    #: The name given to --flavour.
    name: str = ""
    #: The agent, as people know it.
    title: str = ""
    #: The flags the agent defines; any other agent flag is refused.
    flags: tuple[FlagDef, ...] = ()
    #: Container image repositories of this agent (registry and path, no tag).
    images: tuple[str, ...] = ()
    #: The directory, in the agent's container, where it reads its config files.
    config_dir: str = "/etc/config"
    #: The ConfigMaps its DaemonSet mounts (in kube-system), and their data keys it reads.
    configmap_names: tuple[str, ...] = ("ip-masq-agent",)
    keys_description: str = '"config" key (its DaemonSet mounts it as /etc/config/ip-masq-agent)'
    #: The agent reads several files and merges them (else it reads one).
    merges_files: bool = False
    #: How it takes a config masqctl generates.
    config_output: ConfigOutput = ConfigOutput(
        "ip-masq-agent", "kube-system", "config", reads_limits=True
    )
    #: What the agent does when it cannot take its config.
    failure: str = "it writes no rules and keeps the ones it has; a new node gets none"
    #: Which inputs hold the config it reads, in words (for errors).
    files_description: str = "a raw config file, or a ConfigMap's data key config"
    #: What the agent writes, in words; whether it is an iptables chain.
    writes_what: str = "writes an iptables chain and its POSTROUTING jump"
    writes_chain: bool = True
    #: The forms ``render`` can print of what this agent writes; the first is the default.
    render_formats: tuple[str, ...] = (
        "iptables",
        "save",
        "list",
        "json",
        "windows-v1",
        "windows-v2",
    )
    #: What precedes the effective config in the agent's log (None: it logs none), and
    #: what it logs when it finds no config file and runs on its defaults.
    log_marker: str | None = "Using config: "
    defaults_log_marker: str | None = "No config file found at "
    #: The first release whose agent parses its command line (None: every release);
    #: an older one ignores every argument and runs with its flags' defaults.
    parses_flags_since: str | None = None
    #: What it logs right after a config it refuses (the error follows).
    refused_log_marker: str = "Error syncing configuration: "
    #: Its CIDR list comes in a new order every sync (a Go map): compared as a set.
    cidrs_unordered: bool = False

    def files_read(self, found: Sequence[FoundConfig]) -> list[FoundConfig]:
        """The configs among ``found`` this agent reads (raw files, and the ConfigMap key
        its DaemonSet mounts), in the order it reads them."""
        return [
            config for config in found if not config.data_key or self.reads_key(config.data_key)
        ]

    def reads_key(self, key: str) -> bool:
        """Whether its DaemonSet mounts the ConfigMap data key ``key`` as a file it reads."""
        return key == "config"

    def lint(
        self, files: Sequence[FoundConfig], decoded: DecodedConfig, flags: AgentFlags
    ) -> list[Finding]:
        """The checks of what the agent takes but almost surely not as meant."""
        from masqctl.lint.cidrs import check_cidr_list

        return check_cidr_list(decoded.config)

    def decode(self, files: Sequence[FoundConfig], flags: AgentFlags) -> DecodedConfig:
        """The agent's effective config from the files it reads (none: its defaults)."""
        raise NotImplementedError

    def effective_json(self, config: MasqConfig) -> str:
        """The effective config exactly as the agent logs it."""
        raise NotImplementedError

    def ruleset(self, config: MasqConfig, flags: AgentFlags) -> Ruleset:
        """What one sync of the agent writes for ``config``."""
        from masqctl.ruleset import build_ruleset

        return build_ruleset(config, flags, flavour=self.name)

    def reads_file(self, name: str) -> bool:
        """Whether the agent reads the file ``name`` of its config directory."""
        return name == "ip-masq-agent"

    def logging_flags(self, version: str | None) -> dict[str, str]:
        """The logging library's flags the agent's binary of ``version`` (an image tag;
        None: the newest) accepts: Go flag name → kind."""
        return {}

    def parses_flags(self, version: str | None) -> bool:
        """Whether the agent's release ``version`` (None: the newest) parses its command
        line at all (older upstream releases never call flag.Parse)."""
        return released(version, self.parses_flags_since)

    def flag_exists(self, flag: FlagDef, version: str | None) -> bool:
        """Whether the agent's release ``version`` (None: the newest) has ``flag``."""
        return released(version, flag.since)

    def flag(self, dest: str) -> FlagDef | None:
        """The flag kept under ``dest``, or None when this agent has none."""
        return next((flag for flag in self.flags if flag.dest == dest), None)

    def missing_flag_message(self, flag_name: str) -> str:
        """Why passing a flag this agent does not define is an error."""
        return (
            f"--{flag_name}: {self.title} has no such flag (the agent would exit with "
            f'"flag provided but not defined: -{flag_name}" and its pod crash-loop)'
        )

    def agent_flags(self, given: Mapping[str, object]) -> AgentFlags:
        """The flags the agent runs with: its defaults, then ``given`` (keywords of
        AgentFlags, None for not given); UsageError for a flag the agent lacks."""
        values: dict[str, object] = {flag.dest: flag.default for flag in self.flags}
        for dest, value in given.items():
            if value is None:
                continue
            flag = self.flag(dest)
            if flag is None:
                raise UsageError(self.missing_flag_message(dest.replace("_", "-")))
            values[dest] = flag_value(flag, value)
        known = {field.name for field in fields(AgentFlags)}
        return AgentFlags(**{dest: value for dest, value in values.items() if dest in known})

    def deployed_flags(self, given: Mapping[str, object], version: str | None) -> AgentFlags:
        """The flags the agent of release ``version`` (an image tag; None: the newest)
        runs with when its DaemonSet's command line sets ``given``: as agent_flags, but a
        flag not given has the default of that release's binary."""
        return self.agent_flags({**self.binary_defaults(version), **given})

    def binary_defaults(self, version: str | None) -> dict[str, object]:
        """Where the agent's binary of release ``version`` runs otherwise than the flags'
        defaults say (what it did before a flag existed): ``{FlagDef.dest: value}``."""
        return {}


def released(version: str | None, since: str | None) -> bool:
    """Whether release ``version`` (an image tag; None, or no release: the newest) is
    ``since`` or later (None: every release)."""
    key, first = version_key(version), version_key(since)
    return key is None or first is None or key >= first


def flag_value(flag: FlagDef, value: object) -> object:
    """A flag's value as the agent's Go flag package reads it (text from a command line)."""
    if not isinstance(value, str) or flag.kind == "string":
        return value
    if flag.kind == "int":
        from masqctl.cluster.goflag import parse_go_int

        try:
            return parse_go_int(value)
        except ValueError as reason:
            raise UsageError(
                f'invalid value "{value}" for flag -{flag.go_name}: {reason}'
            ) from None
    raise UsageError(f"-{flag.go_name}: cannot read {value!r} as {flag.kind}")


def three_key_json(cidrs: Iterable[str], config: MasqConfig) -> str:
    """json.Marshal of an agent struct with only nonMasqueradeCIDRs, masqLinkLocal and
    masqLinkLocalIPv6 (Azure's and Cilium's), the list never null."""
    from masqctl.config.goparse import go_bool, go_json_string

    listed = ",".join(go_json_string(cidr) for cidr in cidrs)
    return (
        f'{{"nonMasqueradeCIDRs":[{listed}],'
        f'"masqLinkLocal":{go_bool(config.masq_link_local)},'
        f'"masqLinkLocalIPv6":{go_bool(config.masq_link_local_ipv6)}}}'
    )
