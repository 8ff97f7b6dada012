"""The one effective config a command works from: --config, or the agent's defaults."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from masqctl.agent import AgentFlags
from masqctl.config.agent_parser import decode_config
from masqctl.config.sources import UPSTREAM_KEY, FoundConfig, read_input
from masqctl.errors import MasqctlError
from masqctl.findings import ERROR, Finding
from masqctl.lint.catalogue import check
from masqctl.model import MasqConfig, default_config


class ConfigRejected(MasqctlError):
    """The agent would refuse this config; the message lists why, one finding a line."""

    reason = "config_rejected"

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        lines = [
            f"{f.file}:{f.line}:{f.column}: {f.severity}[{f.rule}] {f.message}" for f in findings
        ]
        super().__init__("the agent would refuse this config:\n" + "\n".join(lines))


def _pick(configs: list[FoundConfig], path: str) -> FoundConfig:
    if len(configs) == 1:
        return configs[0]
    upstream = [found for found in configs if found.data_key == UPSTREAM_KEY]
    if len(upstream) == 1:
        return upstream[0]
    if not configs:
        raise MasqctlError(f"{path}: no ip-masq-agent config found (no ConfigMap key 'config')")
    raise MasqctlError(f"{path}: holds {len(configs)} agent configs; give a file with exactly one")


def load_config(paths: Sequence[str] | None, flags: AgentFlags) -> MasqConfig:
    """The config the agent would run with; ConfigRejected where it would refuse it.

    Errors the agent lives with (an unknown key it ignores, a duplicate key where the last
    wins) do not stop the command: each is printed on stderr as a warning.
    """
    if not paths:
        return default_config(flags)
    if len(paths) > 1:
        raise MasqctlError("give one --config for this flavour")
    read = read_input(paths[0])
    if read.syntax_error is not None:
        message, line, column = read.syntax_error
        raise MasqctlError(f"{read.path}:{line}:{column}: {message}")
    if not read.configs and read.non_text_data:
        key, node = read.non_text_data[0]
        raise MasqctlError(
            f'{read.path}:{node.line}:{node.column}: ConfigMap data "{key}" is '
            f'{node.describe()}, not text (write "{key}: |" with the config below it)'
        )
    decoded = decode_config(_pick(read.configs, read.path).text, flags)
    refused = [f for f in decoded.findings if check(f.rule).agent_refuses]
    if refused:
        raise ConfigRejected(refused)
    for finding in decoded.findings:
        if finding.severity == ERROR:
            sys.stderr.write(
                f"masqctl: warning: {finding.file}:{finding.line}:{finding.column}: "
                f"{finding.severity}[{finding.rule}] {finding.message} (the agent runs this "
                "config all the same)\n"
            )
    return decoded.config
