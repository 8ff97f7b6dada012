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
    "azure-v2": "azure_v2",
    "cilium": "cilium",
}
DEFAULT_FLAVOUR = "upstream"
ENVIRONMENT = "MASQCTL_FLAVOUR"


def get_flavour(name: str | None = None) -> Flavour:
    """The flavour called ``name``; without one, $MASQCTL_FLAVOUR, else upstream
    (``--flavour ''`` names none: an error, as any other unknown name)."""
    if name is not None:
        chosen = name
        require_choice("flavour", chosen, tuple(MODULES))
    else:
        chosen = os.environ.get(ENVIRONMENT) or DEFAULT_FLAVOUR
        require_choice(f"${ENVIRONMENT} flavour", chosen, tuple(MODULES))
    module = importlib.import_module(f"masqctl.flavours.{MODULES[chosen]}")
    return module.FLAVOUR  # type: ignore[no-any-return]


def flavour_of_image(image: str) -> Flavour | None:
    """The flavour whose agent ``image`` is (``repo:tag`` or ``repo@digest``), or None."""
    repository = image.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    registry = repository.split("/", 1)[0]
    if "/" in repository and not any(c in registry for c in ".:") and registry != "localhost":
        repository = f"docker.io/{repository}"  # a Docker Hub name (cilium/cilium)
    flavours = [get_flavour(name) for name in MODULES]
    for flavour in flavours:
        if repository in flavour.images:
            return flavour
    # a mirror (a private registry) keeps the path below the registry host
    for flavour in flavours:
        if any(repository.endswith("/" + known.split("/", 1)[1]) for known in flavour.images):
            return flavour
    return None
