"""masqctl generate."""

from __future__ import annotations

from masqctl.errors import MasqctlError


def run(**options: object) -> int:
    """Not built yet."""
    raise MasqctlError("generate: not built yet")
