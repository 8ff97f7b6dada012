"""masqctl render: exactly what the agent writes, in the chosen form."""

from __future__ import annotations

import json
import sys

from masqctl.errors import UsageError, require_choice
from masqctl.ruleset import FAMILIES, Ruleset

FORMATS = ("iptables", "save", "list", "json", "windows-v1", "windows-v2", "cilium-map")


def render_text(
    ruleset: Ruleset,
    family: str | None = None,
    output_format: str = "iptables",
    cni_conf: str | None = None,
    write: bool = False,
    numeric: bool = False,
    verbose: bool = False,
) -> str:
    """render's output: a restore payload, its iptables-save or iptables -L form, the
    Ruleset as JSON, a Windows CNI policy, or the BPF maps an agent fills."""
    if output_format == "cilium-map":
        from masqctl.render.cilium_map import map_text

        return map_text(ruleset, family)
    family = family or "ipv4"
    if output_format == "iptables":
        from masqctl.render.iptables import restore_payload

        return restore_payload(ruleset.family(family))
    if output_format == "save":
        from masqctl.render.save_form import save_text

        return save_text(ruleset.family(family))
    if output_format == "list":
        from masqctl.render.listing import listing_text

        return listing_text(ruleset.family(family), numeric, verbose)
    if output_format == "json":
        from masqctl.render.json_view import ruleset_json

        return json.dumps(ruleset_json(ruleset), indent=2) + "\n"
    from masqctl.render.windows import render_windows

    return render_windows(ruleset, output_format, cni_conf, write, family)


def run(
    *,
    config: list[str] | None = None,
    family: str | None = None,
    output_format: str | None = None,
    numeric: bool = False,
    verbose: bool = False,
    cni_conf: str | None = None,
    write: bool = False,
    **agent: object,
) -> int:
    """Print what render renders; exit 0."""
    from masqctl.commands.common import agent_inputs, note_order

    setup = agent_inputs(config, agent).resolve()
    flavour = setup.flavour
    if output_format is None:
        output_format = flavour.render_formats[0]
    require_choice("format", output_format, FORMATS)
    if output_format not in flavour.render_formats:
        raise UsageError(
            f"--format {output_format}: {flavour.title} {flavour.writes_what}; render prints "
            f"{', '.join(flavour.render_formats)}"
        )
    if family is not None:
        require_choice("family", family, FAMILIES)
    if (cni_conf or write) and not output_format.startswith("windows"):
        raise UsageError("--cni-conf and --write go with --format windows-v1 or windows-v2")
    if (numeric or verbose) and output_format != "list":
        raise UsageError("--numeric and --verbose go with --format list")
    # the save and list forms show the table a sync leaves: none when iptables refuses it
    ruleset = setup.ruleset(shows_table=output_format in ("save", "list"))
    note_order(setup, ruleset)
    sys.stdout.write(render_text(ruleset, family, output_format, cni_conf, write, numeric, verbose))
    return 0
