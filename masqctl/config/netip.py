"""Go's net/netip ParsePrefix, with its exact errors, and Prefix.String().

Cilium's ip-masq-agent parses each CIDR with ``netip.ParsePrefix`` and masks it; its
errors reach the agent's log word for word, so they are reproduced here exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from masqctl.config.goparse import format_address, go_quote


class NetipError(ValueError):
    """netip refused the text; the message is Go's ``err.Error()``."""


@dataclass(frozen=True, slots=True)
class Prefix:
    """A netip.Prefix: an address (4 or 16 bytes) and a prefix length."""

    version: int
    address: int
    bits: int

    def masked(self) -> Prefix:
        """Prefix.Masked(): the host bits cleared."""
        width = 32 if self.version == 4 else 128
        mask = ((1 << width) - 1) ^ ((1 << (width - self.bits)) - 1)
        return Prefix(self.version, self.address & mask, self.bits)

    def __str__(self) -> str:
        return f"{addr_string(self.address, self.version)}/{self.bits}"


def addr_string(address: int, version: int) -> str:
    """netip.Addr.String(): dotted IPv4; IPv6 per RFC 5952, ``::ffff:a.b.c.d`` when mapped."""
    if version == 6 and address >> 32 == 0xFFFF:
        return "::ffff:" + format_address(address & 0xFFFFFFFF, 4)
    return format_address(address, version)


def _addr_error(given: str, message: str, at: str = "") -> NetipError:
    text = f"ParseAddr({go_quote(given)}): {message}"
    return NetipError(f"{text} (at {go_quote(at)})" if at else text)


def _ipv4_fields(given: str, text: str) -> list[int]:
    fields: list[int] = []
    value, digits = 0, 0
    for index, char in enumerate(text):
        if "0" <= char <= "9":
            if digits == 1 and value == 0:
                raise _addr_error(given, "IPv4 field has octet with leading zero")
            value = value * 10 + ord(char) - 48
            digits += 1
            if value > 255:
                raise _addr_error(given, "IPv4 field has value >255")
        elif char == ".":
            if index == 0 or index == len(text) - 1 or text[index - 1] == ".":
                raise _addr_error(given, "IPv4 field must have at least one digit", text[index:])
            if len(fields) == 3:
                raise _addr_error(given, "IPv4 address too long")
            fields.append(value)
            value, digits = 0, 0
        else:
            raise _addr_error(given, "unexpected character", text[index:])
    if len(fields) < 3:
        raise _addr_error(given, "IPv4 address too short")
    return [*fields, value]


def _parse_ipv6(given: str) -> tuple[int, str]:
    """(address, zone) of an IPv6 text, or NetipError."""
    text, _, zone = given.partition("%")
    if "%" in given and not zone:
        raise _addr_error(given, "zone must be a non-empty string")
    groups: list[int] = []  # 16-bit groups, an embedded IPv4 as two
    ellipsis = -1
    if text.startswith("::"):
        ellipsis, text = 0, text[2:]
        if not text:
            return 0, zone
    while len(groups) < 8:
        count = 0
        value = 0
        while count < len(text) and text[count] in "0123456789abcdefABCDEF":
            value = value << 4 | int(text[count], 16)
            if count > 3:
                raise _addr_error(given, "each group must have 4 or less digits", text)
            if value > 0xFFFF:
                raise _addr_error(given, "IPv6 field has value >=2^16", text)
            count += 1
        if count == 0:
            raise _addr_error(
                given, "each colon-separated field must have at least one digit", text
            )
        if count < len(text) and text[count] == ".":
            if ellipsis < 0 and len(groups) != 6:
                raise _addr_error(
                    given,
                    "embedded IPv4 address must replace the final 2 fields of the address",
                    text,
                )
            if len(groups) + 2 > 8:
                raise _addr_error(
                    given,
                    "too many hex fields to fit an embedded IPv4 at the end of the address",
                    text,
                )
            octets = _ipv4_fields(given, text)
            groups += [octets[0] << 8 | octets[1], octets[2] << 8 | octets[3]]
            text = ""
            break
        groups.append(value)
        text = text[count:]
        if not text:
            break
        if text[0] != ":":
            raise _addr_error(given, "unexpected character, want colon", text)
        if len(text) == 1:
            raise _addr_error(given, "colon must be followed by more characters", text)
        text = text[1:]
        if text[0] == ":":
            if ellipsis >= 0:
                raise _addr_error(given, "multiple :: in address", text)
            ellipsis, text = len(groups), text[1:]
            if not text:
                break
    if text:
        raise _addr_error(given, "trailing garbage after address", text)
    if len(groups) < 8:
        if ellipsis < 0:
            raise _addr_error(given, "address string too short")
        groups[ellipsis:ellipsis] = [0] * (8 - len(groups))
    elif ellipsis >= 0:
        raise _addr_error(given, "the :: must expand to at least one field of zeros")
    address = 0
    for group in groups:
        address = address << 16 | group
    return address, zone


def parse_addr(text: str) -> tuple[int, int, str]:
    """netip.ParseAddr: (version, address, zone), or NetipError with Go's message."""
    for char in text:
        if char == ".":
            octets = _ipv4_fields(text, text)
            return 4, octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3], ""
        if char == ":":
            address, zone = _parse_ipv6(text)
            return 6, address, zone
        if char == "%":
            raise _addr_error(text, "missing IPv6 address")
    raise _addr_error(text, "unable to parse IP")


def parse_prefix(text: str) -> Prefix:
    """netip.ParsePrefix (host bits kept; see Prefix.masked), or NetipError."""

    def failed(message: str) -> NetipError:
        return NetipError(f"netip.ParsePrefix({go_quote(text)}): {message}")

    address_text, slash, bits_text = text.rpartition("/")
    if not slash:
        raise failed("no '/'")
    try:
        version, address, zone = parse_addr(address_text)
    except NetipError as error:
        raise failed(str(error)) from None
    if version == 6 and zone:
        raise failed("IPv6 zones cannot be present in a prefix")
    if (len(bits_text) > 1 and not "1" <= bits_text[0] <= "9") or not (
        bits_text.isascii() and bits_text.isdigit()
    ):
        raise failed(f"bad bits after slash: {go_quote(bits_text)}")
    bits = int(bits_text)
    if bits > 2**63 - 1:  # strconv.Atoi: out of range
        raise failed(f"bad bits after slash: {go_quote(bits_text)}")
    if bits > (32 if version == 4 else 128):
        raise failed("prefix length out of range")
    return Prefix(version, address, bits)
