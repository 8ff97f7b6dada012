"""The agents masqctl knows: one Flavour each (see masqctl.flavours.base)."""

from __future__ import annotations

import importlib
import os

from masqctl.errors import require_choice
from masqctl.flavours.base import Flavour

#: --flavour name → its module in this package.
MODULES = {
    "upstream": "upstream",
    "gke": "gke",
}
DEFAULT_FLAVOUR = "upstream"
ENVIRONMENT = "MASQCTL_FLAVOUR"


def get_flavour(name: str | None = None) -> Flavour:
    """The flavour called ``name``; without one, $MASQCTL_FLAVOUR, else upstream."""
    chosen = name or os.environ.get(ENVIRONMENT) or DEFAULT_FLAVOUR
    require_choice("flavour", chosen, tuple(MODULES))
    module = importlib.import_module(f"masqctl.flavours.{MODULES[chosen]}")
    return module.FLAVOUR  # type: ignore[no-any-return]
