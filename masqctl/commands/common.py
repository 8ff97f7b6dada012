"""What several commands share: the flavour, the agent flags, the effective Ruleset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from masqctl.agent import AgentFlags
from masqctl.flavours.base import Flavour
from masqctl.options import AGENT_FLAG_DESTS
from masqctl.ruleset import Ruleset


def agent_setup(values: Mapping[str, object]) -> tuple[Flavour, AgentFlags]:
    """The flavour (--flavour) and the flags its agent runs with (its defaults, then the
    agent flags given on the command line)."""
    from masqctl.flavours import get_flavour

    flavour = get_flavour(values.get("flavour"))  # type: ignore[arg-type]
    given = {dest: values.get(dest) for dest in AGENT_FLAG_DESTS}
    return flavour, flavour.agent_flags(given)


def effective_ruleset(config_paths: Sequence[str] | None, flags: AgentFlags) -> Ruleset:
    """--config (or the defaults) and the agent flags as one Ruleset."""
    from masqctl.config.load import load_config
    from masqctl.ruleset import build_ruleset

    return build_ruleset(load_config(config_paths, flags), flags)
