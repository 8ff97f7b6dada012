"""What several commands share: the flavour and the agent flags the command line gives,
the agent inputs (--config with them), and the notes printed about them."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from masqctl.agent import AgentFlags
from masqctl.flavours.base import Flavour
from masqctl.options import AGENT_FLAG_DESTS

if TYPE_CHECKING:
    from masqctl.agent_setup import AgentInputs, AgentSetup
    from masqctl.ruleset import Ruleset


def agent_setup(values: Mapping[str, object]) -> tuple[Flavour, AgentFlags]:
    """The flavour (--flavour) and the flags its agent runs with (its defaults, then the
    agent flags given on the command line)."""
    from masqctl.flavours import get_flavour

    flavour = get_flavour(values.get("flavour"))  # type: ignore[arg-type]
    given = {dest: values.get(dest) for dest in AGENT_FLAG_DESTS}
    return flavour, flavour.agent_flags(given)


def agent_inputs(config: Sequence[str] | None, values: Mapping[str, object]) -> AgentInputs:
    """--config and the agent flags of ``values``; resolving them prints each note of the
    setup (the DaemonSet read, the flags of the command line that override its own) once,
    however often it is resolved (diff --watch resolves every round)."""
    from masqctl.agent_setup import AgentInputs

    told: set[str] = set()

    def tell(note: str) -> None:
        if note not in told:
            told.add(note)
            print_note(note)

    return AgentInputs.of(config, values, tell)


def print_note(text: str) -> None:
    """One ``masqctl: note: ...`` line on stderr (stdout may be a JSON document)."""
    sys.stderr.write(f"masqctl: note: {text}\n")


def note_order(setup: AgentSetup, ruleset: Ruleset) -> None:
    """Say that the rules shown are in first-seen order, for an agent that writes its
    RETURN rules in a new order every sync."""
    if any(not rules.ordered for rules in ruleset.families.values()):
        print_note(
            f"{setup.flavour.title} writes these RETURN rules in a new order on every sync "
            "(it builds them through a Go map); shown in first-seen order"
        )
