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


def effective_ruleset(
    config_paths: Sequence[str] | None,
    flags: AgentFlags,
    flavour: Flavour | None = None,
    *,
    writes: bool = False,
) -> Ruleset:
    """--config (or the defaults) and the agent flags as one Ruleset of ``flavour``.

    A payload iptables-restore would reject (the agent writes it all the same) is a
    warning on stderr, or, for a command that ``writes`` it, an error.
    """
    import sys

    from masqctl.config.load import load_config
    from masqctl.errors import MasqctlError
    from masqctl.flavours import get_flavour
    from masqctl.ruleset import payload_problems

    flavour = flavour or get_flavour("upstream")
    ruleset = flavour.ruleset(load_config(config_paths, flags, flavour), flags)
    for family in ruleset.families.values():
        for problem in payload_problems(family):
            if writes:
                raise MasqctlError(
                    f"{family.family}: iptables-restore would reject this payload ({problem}); "
                    "nothing was changed"
                )
            sys.stderr.write(
                f"masqctl: warning: {family.family}: the agent writes this payload and "
                f"iptables-restore rejects it ({problem}): every sync fails\n"
            )
    return ruleset
