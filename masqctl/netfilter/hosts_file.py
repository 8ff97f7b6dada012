"""Names from the hosts file, found as glibc's ``files`` source finds them for an address.

``iptables -L`` without ``-n`` names an address with getnameinfo(): the hosts database
first (``/etc/hosts``: the first line holding the address gives its first name), then DNS.
masqctl reads the file only and never asks DNS (see docs/render.md).
"""

from __future__ import annotations

import socket

HOSTS_PATH = "/etc/hosts"


def read_hosts(path: str = HOSTS_PATH) -> dict[tuple[int, bytes], str]:
    """(address family, packed address) → the name the first line with it gives; an
    unreadable or missing file names nothing."""
    names: dict[tuple[int, bytes], str] = {}
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as stream:
            lines = stream.read().splitlines()
    except OSError:
        return names
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        for key in _keys(fields[0]):
            names.setdefault(key, fields[1])
    return names


def _keys(address: str) -> list[tuple[int, bytes]]:
    """The lookups a line's address answers: an IPv6 line also answers IPv4 lookups when
    it is IPv4-mapped, or ``::1`` (as 127.0.0.1), as glibc's files-hosts parser has it."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        packed = socket.inet_pton(family, address)
    except OSError:
        return []
    keys = [(family, packed)]
    if family == socket.AF_INET6 and packed[:12] == _MAPPED:
        keys.append((socket.AF_INET, packed[12:]))
    elif family == socket.AF_INET6 and packed == _LOOPBACK6:
        keys.append((socket.AF_INET, _LOOPBACK4))
    return keys


_MAPPED = bytes(10) + b"\xff\xff"
_LOOPBACK6 = bytes(15) + b"\x01"
_LOOPBACK4 = bytes((127, 0, 0, 1))
