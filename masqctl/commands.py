"""What each command does, as functions that return what to print (no Typer here)."""

from __future__ import annotations

import json

from masqctl.agent import AgentFlags
from masqctl.config.load import load_config
from masqctl.errors import UsageError, require_choice
from masqctl.ruleset import FAMILIES, Ruleset, build_ruleset

RENDER_FORMATS = ("iptables", "json", "windows-v1", "windows-v2")


def effective_ruleset(config_path: str | None, flags: AgentFlags) -> Ruleset:
    """--config (or the defaults) and the agent flags as one Ruleset."""
    return build_ruleset(load_config(config_path, flags), flags)


def render_output(
    config_path: str | None,
    flags: AgentFlags,
    family: str,
    output_format: str,
    cni_conf: str | None = None,
    write: bool = False,
) -> str:
    """render's output: a restore payload, the Ruleset as JSON, or a Windows CNI policy."""
    require_choice("format", output_format, RENDER_FORMATS)
    require_choice("family", family, FAMILIES)
    if (cni_conf or write) and not output_format.startswith("windows"):
        raise UsageError("--cni-conf and --write go with --format windows-v1 or windows-v2")
    ruleset = effective_ruleset(config_path, flags)
    if output_format == "iptables":
        from masqctl.render.iptables import restore_payload

        return restore_payload(ruleset.family(family))
    if output_format == "json":
        from masqctl.render.json_view import ruleset_json

        return json.dumps(ruleset_json(ruleset), indent=2) + "\n"
    from masqctl.render.windows import render_windows

    return render_windows(ruleset, output_format, cni_conf, write, family)
