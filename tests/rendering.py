"""render's output for a config path and flags, as tests ask for it."""

from __future__ import annotations

from masqctl.agent import AgentFlags
from masqctl.agent_setup import effective_ruleset
from masqctl.commands.render import render_text


def render_output(
    path: str | None,
    flags: AgentFlags,
    family: str = "ipv4",
    output_format: str = "iptables",
    cni_conf: str | None = None,
    write: bool = False,
) -> str:
    """What ``masqctl render`` prints for ``--config path`` (None: the defaults)."""
    ruleset = effective_ruleset([path] if path else None, flags)
    return render_text(ruleset, family, output_format, cni_conf, write)
