"""masqctl generate: the config for an intent the agent cannot say directly."""

from __future__ import annotations

import sys

from masqctl.errors import require_choice


def run(
    *,
    masquerade_only: list[str] | None = None,
    non_masquerade: list[str] | None = None,
    exceptions: list[str] | None = None,
    start_from: str | None = None,
    flavour: str | None = None,
    enable_ipv6: bool | None = None,
    nomasq_all_reserved_ranges: bool | None = None,
    output_format: str = "config",
) -> int:
    """Print the generated config in the chosen form; exit 0."""
    from dataclasses import replace

    from masqctl.flavours import get_flavour
    from masqctl.generate import Intent, generate, refuse_rejected_start, split_cidr_values
    from masqctl.render.generated import FORMATS, render_generated

    require_choice("output", output_format, FORMATS)
    chosen = get_flavour(flavour)
    intent = Intent(
        masquerade_only=split_cidr_values("--masquerade-only", masquerade_only),
        non_masquerade=split_cidr_values("--non-masquerade", non_masquerade),
        exceptions=split_cidr_values("--except", exceptions),
        start_from=start_from,
        enable_ipv6=bool(enable_ipv6),
        flavour=chosen.name,
        nomasq_all_reserved_ranges=nomasq_all_reserved_ranges,
    )
    base = None
    if start_from is not None:
        from masqctl.config.load import load_config

        given = {"nomasq_all_reserved_ranges": nomasq_all_reserved_ranges}
        flags = replace(chosen.agent_flags(given), enable_ipv6=intent.enable_ipv6)
        base = load_config([start_from], flags, chosen)
        refuse_rejected_start(start_from, base, chosen, flags)
    sys.stdout.write(render_generated(generate(intent, base), chosen.name, output_format))
    return 0
