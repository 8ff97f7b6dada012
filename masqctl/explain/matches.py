"""One iptables rule as conditions and a target, and each condition judged for a packet.

A condition is True, False, or None when it cannot be judged for "a packet from a pod to
ADDRESS" (interfaces, conntrack, ipsets, ports...); the walker then follows both branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from masqctl.config.goparse import parse_address, parse_cidr

BASIC = {
    "-s": "-s",
    "--source": "-s",
    "--src": "-s",
    "-d": "-d",
    "--destination": "-d",
    "--dst": "-d",
    "-p": "-p",
    "--protocol": "-p",
    "-i": "-i",
    "--in-interface": "-i",
    "-o": "-o",
    "--out-interface": "-o",
    "-f": "-f",
    "--fragment": "-f",
}
PROTOCOL_NAMES = {
    "6": "tcp",
    "17": "udp",
    "1": "icmp",
    "132": "sctp",
    "58": "ipv6-icmp",
    "icmpv6": "ipv6-icmp",
    "0": "all",
    "136": "udplite",
    "33": "dccp",
}


def protocol_key(text: str) -> str:
    """A protocol as ``-p`` names it, in one spelling: ``TCP``, ``tcp`` and ``6`` are
    ``tcp`` (iptables takes names in any case, and numbers); others by their number."""
    lowered = text.lower()
    if lowered in PROTOCOL_NAMES or lowered.isdigit():
        return PROTOCOL_NAMES.get(lowered.lstrip("0") or "0", lowered.lstrip("0") or "0")
    if lowered in PROTOCOL_NAMES.values():
        return lowered
    number = _protocol_number(lowered)
    return lowered if number is None else protocol_key(str(number))


@lru_cache(maxsize=64)
def _protocol_number(name: str) -> int | None:
    """The number /etc/protocols gives ``name`` (None: no such name, or no file)."""
    import socket

    try:
        return socket.getprotobyname(name)
    except (OSError, ValueError):  # ValueError: a NUL, or bytes that are not UTF-8
        return None


@dataclass
class Condition:
    """One match: a basic option (``-d``), or a ``-m`` module with its options."""

    kind: str
    words: list[str] = field(default_factory=list)
    negated: bool = False

    def text(self) -> str:
        return " ".join(
            (["!"] if self.negated and self.kind in BASIC.values() else []) + self.words
        )


@dataclass
class ParsedRule:
    conditions: list[Condition]
    target: str | None
    goto: bool
    target_args: list[str]


def parse_rule(args: tuple[str, ...]) -> ParsedRule:
    """Split a saved rule's arguments into conditions and the target."""
    conditions: list[Condition] = []
    current: Condition | None = None
    negate = False
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word == "!":
            if index < len(args) and args[index] in BASIC:
                negate = True
            elif current is not None:
                current.words.append(word)
            continue
        if word in BASIC:
            kind = BASIC[word]
            value = [] if kind == "-f" else [args[index]]
            index += len(value)
            current = Condition(kind, [kind, *value], negate)
            conditions.append(current)
        elif word in ("-m", "--match"):
            current = Condition(args[index], ["-m", args[index]])
            conditions.append(current)
            index += 1
        elif word in ("-j", "--jump", "-g", "--goto"):
            return ParsedRule(
                conditions, args[index], word in ("-g", "--goto"), list(args[index + 1 :])
            )
        elif current is None or current.kind in BASIC.values():
            # options of the protocol's implicit match: -p tcp --dport 80
            current = Condition("implicit", [word])
            conditions.append(current)
        else:
            current.words.append(word)
        negate = False
    return ParsedRule(conditions, None, False, [])


def in_cidr(text: str, family: str, address: int) -> bool | None:
    """Whether ``address`` is in ``text`` (``-d``'s value, comma lists too); None if unreadable."""
    hits = []
    for part in text.split(","):
        if "/" not in part:
            part += "/32" if ":" not in part else "/128"
        try:
            cidr = parse_cidr(part)
        except ValueError:
            return None
        if (cidr.version == 4) != (family == "ipv4"):
            return None
        hits.append(cidr.network <= address <= cidr.last())
    return any(hits)


def option_values(words: list[str]) -> dict[str, tuple[bool, str | None]]:
    """A module's ``--option [value]`` pairs, each with whether ``!`` preceded it."""
    options: dict[str, tuple[bool, str | None]] = {}
    negate = False
    index = 2
    while index < len(words):
        word = words[index]
        if word == "!":
            negate = True
        elif word.startswith("--"):
            value = None
            if (
                index + 1 < len(words)
                and not words[index + 1].startswith("--")
                and words[index + 1] != "!"
            ):
                value = words[index + 1]
                index += 1
            options[word] = (negate, value)
            negate = False
        index += 1
    return options


def parse_mark_value(text: str) -> tuple[int, int]:
    """``0x4000/0x4000`` → (value, mask); a bare value has mask 0xffffffff."""
    value, _, mask = text.partition("/")
    return int(value, 0), int(mask, 0) if mask else 0xFFFFFFFF


def address_of(text: str) -> tuple[str, int] | None:
    """``(family, integer)`` for an address text, or None."""
    parsed = parse_address(text)
    if parsed is None:
        return None
    return ("ipv4" if parsed[0] == 4 else "ipv6"), parsed[1]
