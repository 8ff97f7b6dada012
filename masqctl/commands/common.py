"""What several commands share: the flavour and the agent flags the command line gives."""

from __future__ import annotations

from collections.abc import Mapping

from masqctl.agent import AgentFlags
from masqctl.flavours.base import Flavour
from masqctl.options import AGENT_FLAG_DESTS


def agent_setup(values: Mapping[str, object]) -> tuple[Flavour, AgentFlags]:
    """The flavour (--flavour) and the flags its agent runs with (its defaults, then the
    agent flags given on the command line)."""
    from masqctl.flavours import get_flavour

    flavour = get_flavour(values.get("flavour"))  # type: ignore[arg-type]
    given = {dest: values.get(dest) for dest in AGENT_FLAG_DESTS}
    return flavour, flavour.agent_flags(given)
