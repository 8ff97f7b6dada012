"""Network namespaces that tests create, use and always delete.

Everything that touches netfilter runs inside a namespace made here (names carry the
process id), never in the host's own tables.  Commands are argument lists with a
timeout; a failing command raises with its stderr.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

_counter = itertools.count()
TIMEOUT = 30


def netfilter_missing_reason() -> str | None:
    """Why netfilter tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces (CI runs as root)"
    for tool in (
        "ip",
        "iptables-nft",
        "iptables-legacy",
        "ip6tables-nft",
        "ip6tables-legacy",
        "conntrack",
        "nft",
    ):
        if shutil.which(tool) is None:
            return f"{tool} is missing (apt-get install iptables iproute2 conntrack nftables)"
    return None


def require_netfilter() -> None:
    """Skip the calling test, with the reason, where namespaces cannot be made."""
    reason = netfilter_missing_reason()
    if reason is not None:
        if os.environ.get("CI") == "true" or os.environ.get("MASQCTL_REQUIRE_NETFILTER") == "1":
            pytest.fail(f"netfilter tests must run in CI: {reason}")
        pytest.skip(reason)


def run(
    args: Sequence[str],
    *,
    input: str | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = TIMEOUT,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a program; raise with its stderr when it fails and ``check`` is set."""
    result = subprocess.run(
        list(args),
        input=input,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()}"
        )
    return result


def agent_jump_args(chain: str = "IP-MASQ-AGENT") -> list[str]:
    """The POSTROUTING jump's arguments as the agent adds them (``iptables -t nat -A
    POSTROUTING ...``)."""
    from masqctl.agent import jump_comment

    return [
        *("-m", "comment", "--comment", jump_comment(chain)),
        *("-m", "addrtype", "!", "--dst-type", "LOCAL", "-j", chain),
    ]


def tool(backend: str, name: str = "", family: str = "ipv4") -> str:
    """An iptables program: ``tool("nft", "save", "ipv6")`` is ``ip6tables-nft-save``."""
    base = "ip6tables" if family == "ipv6" else "iptables"
    return f"{base}-{backend}{'-' + name if name else ''}"


@dataclass
class Namespace:
    """A network namespace of this test run."""

    name: str
    lockfile: str
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def exec_args(self, args: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, args: Sequence[str], **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
        """Run ``args`` inside the namespace (with a private xtables lock file)."""
        env = kwargs.pop("env", None) or self.env
        return run(self.exec_args(args), env=env, **kwargs)


@contextmanager
def namespace(prefix: str = "mq", etc: dict[str, str] | None = None) -> Iterator[Namespace]:
    """A fresh namespace with loopback up; deleted on exit, whatever happened.

    ``etc``: files (name → text) that programs run in the namespace see in /etc instead
    of the host's (``ip netns exec`` mounts /etc/netns/NAME/FILE over /etc/FILE).
    """
    name = f"{prefix}{os.getpid()}-{next(_counter)}"
    lock_dir = tempfile.mkdtemp(prefix="masqctl-xtables-")
    lockfile = os.path.join(lock_dir, "xtables.lock")
    env = dict(os.environ, XTABLES_LOCKFILE=lockfile)
    etc_dir = os.path.join("/etc/netns", name)
    run(["ip", "netns", "add", name])
    try:
        if etc:
            os.makedirs(etc_dir)
            for file_name, text in etc.items():
                with open(os.path.join(etc_dir, file_name), "w") as stream:
                    stream.write(text)
        ns = Namespace(name, lockfile, env)
        ns.run(["ip", "link", "set", "lo", "up"])
        yield ns
    finally:
        run(["ip", "netns", "del", name], check=False)
        shutil.rmtree(lock_dir, ignore_errors=True)
        if etc:
            shutil.rmtree(etc_dir, ignore_errors=True)
