"""The one effective config a command works from: --config, or the agent's defaults."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from masqctl.agent import AgentFlags
from masqctl.config.sources import FoundConfig, read_input
from masqctl.errors import MasqctlError
from masqctl.findings import ERROR, Finding
from masqctl.model import MasqConfig

if TYPE_CHECKING:
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


def read_configs(paths: Sequence[str]) -> list[FoundConfig]:
    """Every agent config in ``paths`` (raw files, ConfigMap data keys), in order."""
    found: list[FoundConfig] = []
    for path in paths:
        read = read_input(path)
        if read.syntax_error is not None:
            message, line, column = read.syntax_error
            raise MasqctlError(f"{read.path}:{line}:{column}: {message}")
        if not read.configs and read.non_text_data:
            key, node = read.non_text_data[0]
            raise MasqctlError(
                f'{read.path}:{node.line}:{node.column}: ConfigMap data "{key}" is '
                f'{node.describe()}, not text (write "{key}: |" with the config below it)'
            )
        found.extend(read.configs)
    return found


def load_config(paths: Sequence[str] | None, flags: AgentFlags, flavour: Flavour) -> MasqConfig:
    """The config ``flavour``'s agent would run with; ConfigRejected where it refuses it.

    Errors the agent lives with (an unknown key it ignores, a null item keeping a
    default) do not stop the command: each is printed on stderr as a warning.
    """
    files = flavour.files_read(read_configs(paths)) if paths else []
    if paths and not files:
        raise MasqctlError(
            f"{', '.join(paths)}: no config that {flavour.title} reads "
            f"({flavour.files_description})"
        )
    decoded = flavour.decode(files, flags)
    if decoded.agent_error is not None:
        raise ConfigRejected(decoded.agent_error, flavour.failure, decoded.findings)
    from masqctl.lint.catalogue import check

    for finding in decoded.findings:
        if finding.severity == ERROR and not check(finding.rule).rejected_payload:
            sys.stderr.write(
                f"masqctl: warning: {finding.file}:{finding.line}:{finding.column}: "
                f"{finding.severity}[{finding.rule}] {finding.message} (the agent runs this "
                "config all the same)\n"
            )
    return decoded.config
