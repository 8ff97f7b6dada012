"""The one effective config a command works from: --config, or the agent's defaults."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from masqctl.agent import AgentFlags
from masqctl.errors import MasqctlError
from masqctl.findings import ERROR, Finding
from masqctl.model import MasqConfig

if TYPE_CHECKING:
    from masqctl.config.sources import FoundConfig, ReadFile
    from masqctl.flavours.base import Flavour


class ConfigRejected(MasqctlError):
    """The agent refuses this config: its own error, what it then does, and the findings."""

    reason = "config_rejected"

    def __init__(self, agent_error: str, failure: str, findings: list[Finding]) -> None:
        self.agent_error = agent_error
        self.findings = findings
        lines = [
            f"{f.file}:{f.line}:{f.column}: {f.severity}[{f.rule}] {f.message}"
            for f in findings
            if f.severity == ERROR
        ]
        # the agent's own words, unless a finding already quotes them
        quoted = any(agent_error in f.message for f in findings if f.severity == ERROR)
        said = ":" if quoted else f": {agent_error}"
        head = f"the agent refuses this config ({failure}){said}"
        super().__init__(head + "".join(f"\n{line}" for line in lines))


def configs_of(reads: Sequence[ReadFile]) -> list[FoundConfig]:
    """Every agent config of the inputs read (raw files, ConfigMap data keys), in order;
    MasqctlError for ConfigMap data that is not text (the API server refuses it)."""
    found: list[FoundConfig] = []
    for read in reads:
        if not read.configs and read.non_text_data:
            key, node = read.non_text_data[0]
            raise MasqctlError(
                f'{read.path}:{node.line}:{node.column}: ConfigMap data "{key}" is '
                f'{node.describe()}, not text (write "{key}: |" with the config below it)'
            )
        found.extend(read.configs)
    return found


def decoded_config(
    flavour: Flavour,
    files: Sequence[FoundConfig] | None,
    flags: AgentFlags,
    paths: Sequence[str] = (),
) -> MasqConfig:
    """The config ``flavour``'s agent runs with from ``files`` (None: no input, its
    defaults); ConfigRejected where it refuses them.

    Errors the agent lives with (an unknown key it ignores, a null item keeping a
    default) do not stop the command: each is printed on stderr as a warning.
    """
    from masqctl.lint.catalogue import check

    if files is not None and not files:
        raise MasqctlError(
            f"{', '.join(paths)}: no config that {flavour.title} reads "
            f"({flavour.files_description})"
        )
    decoded = flavour.decode(files or [], flags)
    if decoded.agent_error is not None:
        raise ConfigRejected(decoded.agent_error, flavour.failure, decoded.findings)
    for finding in decoded.findings:
        if finding.severity == ERROR and not check(finding.rule).rejected_payload:
            sys.stderr.write(
                f"masqctl: warning: {finding.file}:{finding.line}:{finding.column}: "
                f"{finding.severity}[{finding.rule}] {finding.message} (the agent runs this "
                "config all the same)\n"
            )
    return decoded.config


def files_read(paths: Sequence[str] | None, flavour: Flavour) -> tuple[FoundConfig, ...] | None:
    """The files of the inputs ``paths`` that ``flavour``'s agent reads (None: no input)."""
    from masqctl.agent_setup import read_inputs

    return tuple(flavour.files_read(configs_of(read_inputs(paths)))) if paths else None


def load_config(paths: Sequence[str] | None, flags: AgentFlags, flavour: Flavour) -> MasqConfig:
    """The config ``flavour``'s agent runs with for the inputs ``paths`` (None: none)."""
    return decoded_config(flavour, files_read(paths, flavour), flags, paths or ())
