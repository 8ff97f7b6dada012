"""Real programs the tests drive (promtool, node_exporter, kubectl): found, or skipped.

tests/run installs them as root (apt-get); there, and in CI, a missing one fails the
test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest


def require_program(name: str, package: str) -> str:
    """The path of ``name``; skip (fail in CI, or where tests/run installed it) without it."""
    path = shutil.which(name)
    if path is None:
        _missing(name, package)
    return path


def require_file(path: str, package: str) -> None:
    """Skip (fail in CI, or where tests/run installed it) without the file ``path``."""
    if not os.path.exists(path):
        _missing(path, package)


def _missing(name: str, package: str) -> None:
    reason = f"{name} is missing (apt-get install {package})"
    if os.environ.get("CI") == "true" or os.environ.get("MASQCTL_REQUIRE_TOOLS") == "1":
        pytest.fail(f"tests/run installs {package}: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
