"""Which agent runs, with which flags, on which config files: resolved once per command.

The inputs (``--config``, repeatable; ``-`` is stdin) may hold raw configs, ConfigMaps and
the agent's DaemonSet (``kubectl get ds,cm -o yaml``, ``helm template`` output).  A
DaemonSet among them gives the flavour (by image), the flags (from its args, or for
Cilium from cilium-config) and the files its volume mounts where the agent reads; flags
given on masqctl's command line override those (and say so).  Without a DaemonSet, the
flavour is --flavour ($MASQCTL_FLAVOUR, else upstream) and the files are those the
flavour reads of the inputs.  Every command works from the one AgentSetup this makes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from masqctl.agent import AgentFlags
from masqctl.errors import MasqctlError, UsageError
from masqctl.flavours.base import Flavour

if TYPE_CHECKING:
    from masqctl.cluster.model import AgentDeployment, MountedFile
    from masqctl.config.agent_parser import ConfigText
    from masqctl.config.sources import FoundConfig, ReadFile
    from masqctl.model import MasqConfig
    from masqctl.ruleset import Ruleset


@dataclass(frozen=True)
class AgentInputs:
    """What the command line says about the agent: --config, --flavour, the agent flags
    given (keywords of AgentFlags).  :meth:`resolve` reads the inputs and hands each of
    the setup's notes to ``notify`` (the command's way of telling the user)."""

    config_paths: tuple[str, ...] = ()
    flavour: str | None = None
    given: Mapping[str, object] = field(default_factory=dict)
    notify: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        config_paths: Sequence[str] | None,
        values: Mapping[str, object],
        notify: Callable[[str], None] | None = None,
    ) -> AgentInputs:
        """From a command's keywords: --config and everything of AGENT_FLAGS."""
        from masqctl.options import AGENT_FLAG_DESTS

        flavour = values.get("flavour")
        return cls(
            tuple(config_paths or ()),
            flavour if isinstance(flavour, str) else None,
            {dest: values[dest] for dest in AGENT_FLAG_DESTS if values.get(dest) is not None},
            notify,
        )

    def resolve(self) -> AgentSetup:
        """The AgentSetup these inputs make (see :func:`resolve`), its notes told."""
        setup = resolve(self.config_paths, self.flavour, self.given)
        if self.notify is not None:
            for note in setup.notes:
                self.notify(note)
        return setup


@dataclass(frozen=True)
class AgentSetup:
    """The agent a command reasons about: flavour, flags, and the config files it reads."""

    flavour: Flavour
    flags: AgentFlags
    #: The files the agent reads, in its order; None: no input given (its defaults).
    files: tuple[FoundConfig, ...] | None = None
    #: The inputs, as named (for messages).
    paths: tuple[str, ...] = ()
    #: Where the flavour and flags came from, and what the command line overrode.
    notes: tuple[str, ...] = ()

    def config(self) -> MasqConfig:
        """The agent's effective config; ConfigRejected where the agent refuses it."""
        from masqctl.collection import collection_paused
        from masqctl.config.load import decoded_config

        with collection_paused():
            return decoded_config(self.flavour, self.files, self.flags, self.paths)

    def ruleset(self, *, writes: bool = False, shows_table: bool = False) -> Ruleset:
        """What one sync of the agent writes.  A payload iptables-restore would reject,
        or would read otherwise than the config says (the agent writes it all the same),
        is a warning on stderr; an error for a command that ``writes`` it or that
        ``shows_table``, the table a sync leaves (render's save and list forms)."""
        from masqctl.collection import collection_paused
        from masqctl.ruleset import payload_misreadings, payload_problems

        with collection_paused():
            ruleset = self.flavour.ruleset(self.config(), self.flags)
        for family in ruleset.families.values():
            rejected = payload_problems(family)
            for detail in rejected + payload_misreadings(family):
                if shows_table:
                    raise MasqctlError(
                        f"{family.family}: no sync of the agent leaves these rules in the "
                        f"table ({detail}); --format iptables prints the payload it writes"
                    )
                refused = detail in rejected
                if writes:
                    what = (
                        "reject this payload"
                        if refused
                        else "take this payload otherwise than the config says"
                    )
                    raise MasqctlError(
                        f"{family.family}: iptables-restore would {what} ({detail}); "
                        "nothing was changed"
                    )
                sys.stderr.write(
                    f"masqctl: warning: {family.family}: the agent writes this payload and "
                    + (
                        f"iptables-restore rejects it ({detail}): every sync fails\n"
                        if refused
                        else f"iptables reads it otherwise than the config says ({detail})\n"
                    )
                )
        return ruleset


def resolve(
    paths: Sequence[str] | None,
    flavour_name: str | None,
    given: Mapping[str, object],
) -> AgentSetup:
    """The AgentSetup for ``--config`` ``paths``, ``--flavour`` and the agent flags
    ``given`` on the command line (keywords of AgentFlags; None: not given)."""
    from masqctl.flavours import get_flavour

    if not paths:
        flavour = get_flavour(flavour_name)
        return AgentSetup(flavour, flavour.agent_flags(given))
    files = [file for path in paths for file in config_dir_files(path, flavour_name)]
    if not files:  # only directories, holding no file the agent reads: its defaults
        flavour = get_flavour(flavour_name)
        return AgentSetup(flavour, flavour.agent_flags(given), None, tuple(paths))
    reads = read_inputs(files)
    deployment, passed_over = _deployment(reads, flavour_name)
    if deployment is None:
        from masqctl.config.load import configs_of

        flavour = get_flavour(flavour_name)
        found = configs_of(reads)
        notes = tuple(
            f"--flavour {flavour.name}: {other.label} runs {other.flavour.name}'s agent, so "
            f"the inputs are read as {flavour.name}'s agent reads them, without that "
            "DaemonSet's flags and volumes"
            for other in passed_over
        )
        return AgentSetup(
            flavour,
            flavour.agent_flags(given),
            tuple(flavour.files_read(found)),
            tuple(paths),
            notes,
        )
    return _from_deployment(deployment, reads, given, tuple(paths))


def config_dir_files(path: str, flavour_name: str | None) -> list[str]:
    """``path``; or, for a directory, the files of it the agent reads as its /etc/config/
    (``--flavour``'s agent): the top level only, in name order, those whose names it
    reads (so kubelet's ``..data`` and timestamped directories never are)."""
    from masqctl.flavours import get_flavour

    if not os.path.isdir(path):
        return [path]
    flavour = get_flavour(flavour_name)
    names = sorted(os.listdir(path), key=os.fsencode)
    return [os.path.join(path, name) for name in names if flavour.reads_file(name)]


def read_inputs(paths: Sequence[str]) -> list[ReadFile]:
    """Every input read, or MasqctlError for one that cannot be (with its position)."""
    from masqctl.config.sources import read_input

    reads = []
    for path in paths:
        read = read_input(path)
        if read.syntax_error is not None:
            message, line, column = read.syntax_error
            raise MasqctlError(f"{read.path}:{line}:{column}: {message}")
        reads.append(read)
    return reads


def _deployment(
    reads: list[ReadFile], flavour_name: str | None
) -> tuple[AgentDeployment | None, list[AgentDeployment]]:
    """The one agent DaemonSet among the inputs (of ``--flavour``, when given), or None;
    and the DaemonSets of other flavours that ``--flavour`` passed over."""
    from masqctl.cluster.agents import find_agents

    deployments = find_agents(reads).deployments
    passed_over: list[AgentDeployment] = []
    if flavour_name:
        passed_over = [d for d in deployments if d.flavour.name != flavour_name]
        deployments = [d for d in deployments if d.flavour.name == flavour_name]
    if len(deployments) > 1:
        raise UsageError(
            f"the inputs deploy {len(deployments)} agents ("
            + ", ".join(f"{d.label} ({d.flavour.name})" for d in deployments)
            + "): give one, or choose with --flavour"
        )
    return (deployments[0], []) if deployments else (None, passed_over)


def _from_deployment(
    deployment: AgentDeployment,
    reads: list[ReadFile],
    given: Mapping[str, object],
    paths: tuple[str, ...],
) -> AgentSetup:
    """The setup the DaemonSet's agent runs with, the command line's flags on top."""
    if deployment.exits is not None:
        failure = deployment.exits
        raise MasqctlError(
            f"{deployment.label}'s agent does not start ({failure.file}:{failure.line}:"
            f"{failure.column}: {failure.message}): it writes no rules"
        )
    flavour = deployment.flavour
    notes = deployment_notes(deployment, given)
    flags = flavour.deployed_flags({**deployment.flags, **given}, deployment.version)
    files = tuple(mounted_configs(deployment, reads))
    if not files:
        notes.append(
            f"{deployment.label}'s agent reads no config file of the inputs (masqctl validate "
            "tells why): it runs on its defaults"
        )
    return AgentSetup(flavour, flags, files or None, paths, tuple(notes))


def deployment_notes(deployment: AgentDeployment, given: Mapping[str, object]) -> list[str]:
    """What reading as ``deployment``'s agent means: its flavour, release and flags, then
    each flag ``given`` on masqctl's command line that overrides what the agent runs with."""
    flavour = deployment.flavour
    flags = " ".join(_flag_text(flavour, dest, value) for dest, value in deployment.flags.items())
    notes = [
        f"read as {deployment.label}'s agent reads it: {flavour.name}, "
        f"{deployment.version or 'the newest release'}, "
        + (f"flags {flags}" if flags else "no flags (their defaults)")
    ]
    deployed = flavour.deployed_flags(deployment.flags, deployment.version)
    for dest, value in given.items():
        ours = _flag_text(flavour, dest, value)
        theirs = _flag_text(flavour, dest, deployment.flags.get(dest, getattr(deployed, dest, "")))
        if ours == theirs:
            continue
        origin = deployment.flag_origins.get(dest)
        if origin is None:
            theirs = f"the agent's default {theirs}"
        else:
            theirs = f"the DaemonSet's {theirs} ({origin.file}:{origin.line}:{origin.column})"
        notes.append(f"{ours} of masqctl's command line overrides {theirs}")
    return notes


def _flag_text(flavour: Flavour, dest: str, value: object) -> str:
    """``--masq-chain=IP-MASQ``, ``--enable-ipv6=true``: a flag as Go's flag package takes it."""
    from masqctl.config.goparse import go_text

    definition = flavour.flag(dest)
    name = definition.go_name if definition is not None else dest.replace("_", "-")
    return f"--{name}={go_text(value)}"


def mounted_configs(deployment: AgentDeployment, reads: list[ReadFile]) -> list[FoundConfig]:
    """The configs behind the files the deployment's agent reads, in its order (a file
    whose ConfigMap is not among the inputs is left out: the agent does not see it)."""
    from masqctl.config.sources import FoundConfig, embedded_config

    found = [config for read in reads for config in read.configs]
    lines = {read.path: read.lines for read in reads}
    configs = []
    for mounted in deployment.read_files:
        if mounted.value is None or mounted.configmap_node is None:
            continue
        match = next(
            (
                config
                for config in found
                if config.configmap is not None
                and config.configmap.node is mounted.configmap_node
                and config.data_key == mounted.key
            ),
            None,
        )
        if match is None:
            file = mounted.configmap_file or ""
            text = _binary_config(mounted, file) or embedded_config(
                mounted.value, file, lines.get(file, [])
            )
            match = FoundConfig(text, None, mounted.key)
        configs.append(FoundConfig(match.text, match.configmap, match.data_key, mounted.filename))
    return configs


def _binary_config(mounted: MountedFile, file: str) -> ConfigText | None:
    """The config of a ``binaryData`` key: the bytes the kubelet writes into the file (the
    value base64-decoded), as the agent reads them; None for a ``data`` key, or a value
    that is not base64 (the API server refuses it) or not text."""
    import base64
    import binascii

    from masqctl.config.agent_parser import ConfigText
    from masqctl.config.nodes import DocumentError
    from masqctl.config.sources import decode_text

    assert mounted.configmap_node is not None and mounted.value is not None
    node = mounted.value
    binary = mounted.configmap_node.get("binaryData")
    if binary is None or not any(value is node for _, value in binary.items()):
        return None
    encoded = "" if node.value is None else str(node.value)
    try:
        text = decode_text(base64.b64decode(encoded.replace("\n", ""), validate=True))
    except (binascii.Error, ValueError, DocumentError):
        return None
    return ConfigText(text, file, lambda _line, _column: (node.line, node.column))


def effective_ruleset(
    config_paths: Sequence[str] | None,
    flags: AgentFlags,
    flavour: Flavour | None = None,
    *,
    writes: bool = False,
) -> Ruleset:
    """The Ruleset of ``flavour`` (default upstream) for ``config_paths`` and ``flags``."""
    from masqctl.config.load import files_read
    from masqctl.flavours import get_flavour

    flavour = flavour or get_flavour("upstream")
    files = files_read(config_paths, flavour)
    return AgentSetup(flavour, flags, files, tuple(config_paths or ())).ruleset(writes=writes)
