"""masqctl apply: write the agent's chain and jump once, safely."""

from __future__ import annotations

import sys


def run(
    *,
    config: list[str] | None = None,
    dry_run: bool = False,
    backup: str | None = None,
    remove: bool = False,
    output_format: str = "text",
    iptables_mode: str = "auto",
    **agent: object,
) -> int:
    """Apply once; exit 0 (errors exit 2)."""
    from masqctl.apply import ApplyRequest, run_apply
    from masqctl.commands.common import agent_inputs

    inputs = agent_inputs(config, agent)
    text, code = run_apply(
        ApplyRequest(inputs, iptables_mode, dry_run, backup, remove, output_format)
    )
    sys.stdout.write(text)
    return code
