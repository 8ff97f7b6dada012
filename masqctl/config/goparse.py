"""Go's parsers and formatters the agent relies on: strconv, time.ParseDuration,
net.ParseCIDR, base64, and encoding/json's texts for numbers.

Python's own parsers accept inputs Go refuses (``ipaddress`` takes netmasks and, in
some versions, leading zeros; ``float`` takes non-ASCII digits), so these follow Go's
rules to the letter.
"""

from __future__ import annotations

import binascii
import math
import re
from dataclasses import dataclass

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1


def parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), falling back to ParseUint; None where both fail."""
    sign = 1
    body = text
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        return None
    base = 10
    lowered = body.lower()
    if lowered.startswith("0x"):
        base, body = 16, body[2:]
    elif lowered.startswith("0o"):
        base, body = 8, body[2:]
    elif lowered.startswith("0b"):
        base, body = 2, body[2:]
    elif body.startswith("0") and len(body) > 1:
        base, body = 8, body[1:]
    digits = "0123456789abcdef"[:base]
    if not body or any(ch not in digits for ch in body.lower()):
        return None
    value = sign * int(body, base)
    if INT64_MIN <= value <= INT64_MAX or (sign == 1 and text[:1] != "+" and value <= UINT64_MAX):
        return value
    return None


def go_bool(value: bool) -> str:
    """strconv.FormatBool, which is also json.Marshal's and fmt's ``%v``: true or false."""
    return "true" if value else "false"


def go_text(value: object) -> str:
    """fmt's ``%v`` of a flag's or a config key's value: a bool as go_bool, else as str."""
    return go_bool(value) if isinstance(value, bool) else str(value)


_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def _go_bytes(char: str) -> bytes:
    """The bytes of one character of a Go string (a surrogate escape is the byte it kept)."""
    if "\udc80" <= char <= "\udcff":
        return bytes([ord(char) - 0xDC00])
    return char.encode("utf-8", "surrogatepass")


def go_quote(text: str) -> str:
    """strconv.Quote (Go's ``%q``): printable runes as they are, the rest escaped."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    parts = []
    for char in text:
        code = ord(char)
        if char in _QUOTE_ESCAPES:
            parts.append(_QUOTE_ESCAPES[char])
        elif char.isprintable():
            parts.append(char)
        elif code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            parts.extend(f"\\x{byte:02x}" for byte in _go_bytes(char))
        elif code < 0x10000:
            parts.append(f"\\u{code:04x}")
        else:
            parts.append(f"\\U{code:08x}")
    return '"' + "".join(parts) + '"'


def go_time_quote(text: str) -> str:
    """The time package's quote(): every byte of a non-ASCII or control rune as ``\\xNN``."""
    parts = []
    for char in text:
        if char < " " or char > "\x7f":
            parts.extend(f"\\x{byte:02x}" for byte in _go_bytes(char))
        else:
            parts.append("\\" + char if char in '"\\' else char)
    return '"' + "".join(parts) + '"'


_REPLACE_SURROGATE_ESCAPES = {code: "\ufffd" for code in range(0xDC80, 0xDD00)}


def go_string(data: bytes) -> str:
    """A Go string of these bytes as encoding/json writes it: each byte that is not part
    of valid UTF-8 becomes U+FFFD."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return replace_surrogate_escapes(data.decode("utf-8", "surrogateescape"))


def replace_surrogate_escapes(text: str) -> str:
    """``text`` with every surrogate escape (a byte that was not UTF-8) as U+FFFD."""
    return text.translate(_REPLACE_SURROGATE_ESCAPES)


_BASE64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"


def go_base64_decode(text: str) -> bytes | None:
    """base64.StdEncoding.DecodeString (line breaks skipped, padding required); None
    where Go reports corrupt input."""
    text = text.replace("\r", "").replace("\n", "")
    if re.fullmatch(_BASE64, text) is None:
        return None
    return binascii.a2b_base64(text)


_DECIMAL_FLOAT = r"[+-]?(?:[0-9_]+(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?"


def go_parse_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64) for decimal text; None where Go fails, including
    out of range (``1e400``)."""
    if re.fullmatch(_DECIMAL_FLOAT, text) is None:
        return None
    try:
        value = float(text)  # the same underscore rules as Go
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _shortest_decimal(magnitude: float) -> tuple[str, int]:
    """The shortest digits that read back as ``magnitude`` (> 0), and where the point
    goes: ``magnitude == 0.<digits> * 10**point`` (Go's and Python's shortest agree)."""
    mantissa, _, exponent = repr(magnitude).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(all_digits) - len(digits))
    return digits.rstrip("0"), point


def _format_float(value: float, exponent_form: bool) -> str:
    """strconv's 'e' (``1.5e+21``) or 'f' (``1500``) formatting with the shortest digits."""
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    digits, point = _shortest_decimal(abs(value))
    if exponent_form:
        power = point - 1
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{head}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_format_g(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 64), which is also fmt's ``%v``: ``1e+06``,
    ``100000``, ``1.5``, ``1e-05``, ``+Inf``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return _format_float(value, False)
    power = _shortest_decimal(abs(value))[1] - 1
    return _format_float(value, power < -4 or power >= 6)


def go_json_number(value: float) -> str:
    """json.Marshal's text for a float64: shortest digits, an exponent only below 1e-6
    or from 1e21 (``9223372036854775000``, ``1e+21``, ``1e-7``); ValueError with Go's
    message for NaN and the infinities."""
    if not math.isfinite(value):
        raise ValueError(f"json: unsupported value: {go_format_g(value)}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        return _format_float(value, True).replace("e-0", "e-")  # Go's e-07 -> e-7
    return _format_float(value, False)


_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")
_UINT63 = 1 << 63


def _leading_int(digits: str) -> int | None:
    """time's leadingInt: the digits' value, None where it passes 1<<63 on the way."""
    value = 0
    for digit in digits:
        if value > _UINT63 // 10:
            return None
        value = value * 10 + ord(digit) - 48
        if value > _UINT63:
            return None
    return value


def _leading_fraction(digits: str) -> tuple[int, float]:
    """time's leadingFraction: ``(value, scale)`` of the digits it could take in."""
    value, scale = 0, 1.0
    for digit in digits:
        if value > (_UINT63 - 1) // 10:
            break
        following = value * 10 + ord(digit) - 48
        if following > _UINT63:
            break
        value, scale = following, scale * 10
    return value, scale


def parse_duration(text: str) -> int:
    """time.ParseDuration: nanoseconds, or ValueError with Go's own message.

    Fractions go through float64 as in Go (``1.99999999999999999999s`` is 2s).
    """
    invalid = f"time: invalid duration {go_time_quote(text)}"
    body = text
    negative = False
    if body[:1] in ("-", "+"):
        negative = body[0] == "-"
        body = body[1:]
    if body == "0":
        return 0
    if not body:
        raise ValueError(invalid)
    total = 0
    position = 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        whole, fraction, unit = match.group(1), match.group(2), match.group(3)
        nanos = _leading_int(whole)
        if nanos is None or (not whole and not fraction):
            raise ValueError(invalid)
        if not unit:
            raise ValueError(f"time: missing unit in duration {go_time_quote(text)}")
        if unit not in _DURATION_UNITS:
            raise ValueError(
                f"time: unknown unit {go_time_quote(unit)} in duration {go_time_quote(text)}"
            )
        scale = _DURATION_UNITS[unit]
        if nanos > _UINT63 // scale:
            raise ValueError(invalid)
        nanos *= scale
        numerator, denominator = _leading_fraction(fraction or "")
        if numerator:
            nanos += int(float(numerator) * (float(scale) / denominator))
            if nanos > _UINT63:
                raise ValueError(invalid)
        total += nanos
        if total > _UINT63:
            raise ValueError(invalid)
        position = match.end()
    if negative:
        return -total
    if total > INT64_MAX:
        raise ValueError(invalid)
    return total


def _fraction(value: int, digits: int) -> tuple[str, int]:
    """time's fmtFrac: ``value``'s last ``digits`` digits as ".123" (trailing zeros and an
    empty fraction left out), and the value without them."""
    value, fraction = divmod(value, 10**digits)
    text = f"{fraction:0{digits}d}".rstrip("0") if digits else ""
    return (f".{text}" if text else ""), value


def format_duration(nanos: int) -> str:
    """time.Duration.String(): ``500ms``, ``10µs``, ``1.5s``, ``1m0s``, ``1h30m0s``, ``0s``."""
    sign = "-" if nanos < 0 else ""
    value = abs(nanos)
    if value == 0:
        return "0s"
    if value < 1_000_000_000:
        unit, digits = ("ns", 0) if value < 1000 else ("µs", 3) if value < 1_000_000 else ("ms", 6)
        fraction, whole = _fraction(value, digits)
        return f"{sign}{whole}{fraction}{unit}"
    fraction, seconds = _fraction(value, 9)
    text = f"{seconds % 60}{fraction}s"
    minutes = seconds // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        if minutes // 60:
            text = f"{minutes // 60}h{text}"
    return sign + text


@dataclass(frozen=True, slots=True)
class ParsedCIDR:
    """A CIDR as net.ParseCIDR returns it: the address, the prefix and the network."""

    version: int
    address: int
    prefix: int
    network: int

    @property
    def aligned(self) -> bool:
        """Whether the address has no host bits set (the agent's alignment check)."""
        return self.address == self.network

    @property
    def bits(self) -> int:
        return 32 if self.version == 4 else 128

    def network_text(self) -> str:
        """The network in Go's notation, e.g. ``10.0.0.0/8``."""
        return f"{format_address(self.network, self.version)}/{self.prefix}"

    def last(self) -> int:
        """The highest address of the network."""
        return self.network | ((1 << (self.bits - self.prefix)) - 1)


class CIDRError(ValueError):
    """net.ParseCIDR refused the text; the message is Go's."""


_OCTET = r"(0|[1-9][0-9]{0,2})"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}", re.ASCII)
_IPV4_CIDR = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/([0-9]{{1,2}})", re.ASCII)


def _parse_ipv4(text: str) -> int | None:
    """Four decimal octets, no leading zeros (netip.ParseAddr's IPv4)."""
    match = _IPV4.fullmatch(text)
    if match is None:
        return None
    a, b, c, d = map(int, match.groups())
    if a > 255 or b > 255 or c > 255 or d > 255:
        return None
    return a << 24 | b << 16 | c << 8 | d


def _parse_ipv6_groups(half: str, allow_ipv4_tail: bool) -> list[int] | None:
    """The 16-bit groups of one side of ``::`` (an embedded IPv4 only at the very end)."""
    if not half:
        return []
    groups: list[int] = []
    parts = half.split(":")
    for index, part in enumerate(parts):
        if "." in part and allow_ipv4_tail and index == len(parts) - 1:
            embedded = _parse_ipv4(part)
            if embedded is None:
                return None
            groups.extend((embedded >> 16, embedded & 0xFFFF))
        elif part and len(part) <= 4 and all(c in "0123456789abcdefABCDEF" for c in part):
            groups.append(int(part, 16))
        else:
            return None
    return groups


def _parse_ipv6(text: str) -> int | None:
    if "%" in text:
        return None
    head, sep, tail = text.partition("::")
    if "::" in tail:
        return None
    head_groups = _parse_ipv6_groups(head, allow_ipv4_tail=not sep)
    tail_groups = _parse_ipv6_groups(tail, allow_ipv4_tail=True) if sep else []
    if head_groups is None or tail_groups is None:
        return None
    missing = 8 - len(head_groups) - len(tail_groups)
    if (sep and missing < 1) or (not sep and missing != 0):
        return None
    value = 0
    for group in head_groups + [0] * missing + tail_groups:
        value = value << 16 | group
    return value


def parse_address(text: str) -> tuple[int, int] | None:
    """netip.ParseAddr without zones: ``(version, integer)`` or None."""
    if "." in text and ":" not in text:
        value = _parse_ipv4(text)
        return None if value is None else (4, value)
    if ":" in text:
        value = _parse_ipv6(text)
        return None if value is None else (6, value)
    return None


def parse_cidr(text: str) -> ParsedCIDR:
    """net.ParseCIDR: raises CIDRError with Go's message ``invalid CIDR address: X``."""
    common = _IPV4_CIDR.fullmatch(text)
    if common is not None:
        a, b, c, d, prefix = map(int, common.groups())
        if a <= 255 and b <= 255 and c <= 255 and d <= 255 and prefix <= 32:
            address = a << 24 | b << 16 | c << 8 | d
            return ParsedCIDR(4, address, prefix, address & ~((1 << (32 - prefix)) - 1))
    address_text, sep, mask = text.partition("/")
    parsed = parse_address(address_text) if sep else None
    if parsed is None or not mask or not mask.isascii() or not mask.isdigit():
        raise CIDRError(f"invalid CIDR address: {text}")
    version, address = parsed
    bits = 32 if version == 4 else 128
    significant = mask.lstrip("0")  # Go's dtoi takes any number of leading zeros
    prefix = int(significant or "0") if len(significant) <= 3 else bits + 1
    if prefix > bits:
        raise CIDRError(f"invalid CIDR address: {text}")
    host_mask = (1 << (bits - prefix)) - 1
    return ParsedCIDR(version, address, prefix, address & ~host_mask & ((1 << bits) - 1))


def is_ipv4_mapped(cidr: ParsedCIDR) -> bool:
    """An IPv6 CIDR whose address is ``::ffff:a.b.c.d`` (Go prints and treats it as IPv4)."""
    return cidr.version == 6 and cidr.address >> 32 == 0xFFFF


def format_address(value: int, version: int) -> str:
    """An address in Go's canonical text (IPv6 compressed, lowercase)."""
    if version == 4:
        return ".".join(str(value >> shift & 0xFF) for shift in (24, 16, 8, 0))
    import ipaddress

    return str(ipaddress.IPv6Address(value))


def go_json_string(text: str) -> str:
    """json.Marshal of a string: JSON escapes, with ``<``, ``>``, ``&``, U+2028 and U+2029
    escaped too, and invalid UTF-8 (kept as surrogates) as U+FFFD."""
    import json

    text = "".join("\ufffd" if 0xDC80 <= ord(char) <= 0xDCFF else char for char in text)
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        encoded = encoded.replace(char, escape)
    return encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
