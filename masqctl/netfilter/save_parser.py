"""iptables-save text → SaveFile: tables, chains and rules, each rule also in canonical form.

iptables-save rewrites what was restored (argument order, addresses, quoting, implicit
matches), so rules are compared on a canonical form that reads the same however the
rule was written; see :func:`canonical_args`.  A rule keeps its text; its arguments and
canonical form are read from it on first use (at once with ``parse_save``, whose errors
name the line; only when asked with ``lazy=True``, which a 20,000-rule table needs when
the common case is comparing lines as text, see :func:`saved_line`).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from masqctl.errors import InputError, MasqctlError


class SaveParseError(MasqctlError):
    """An iptables-save document could not be read."""

    reason = "unreadable_table"


class SavedRule:
    """``-A chain args...``: its text, and the arguments as iptables-restore reads them,
    plain (``args``) and canonical (``canonical``), both read from the text on first use.
    """

    __slots__ = ("_args", "_canonical", "_source", "chain", "line", "position", "text")

    _args: tuple[str, ...]
    _canonical: tuple[str, ...]

    def __init__(
        self, chain: str, line: int, text: str, source: str = "<dump>", position: int = 0
    ) -> None:
        self.chain = chain
        self.line = line
        #: The rule's number in its chain (1 for the first), as ``iptables -L --line-numbers``.
        self.position = position
        #: The rule line without its counters: ``-A chain ...`` as the dump wrote it.
        self.text = text
        self._source = source

    @property
    def args(self) -> tuple[str, ...]:
        try:
            return self._args
        except AttributeError:  # not read yet
            self._read()
            return self._args

    @property
    def canonical(self) -> tuple[str, ...]:
        try:
            return self._canonical
        except AttributeError:  # not read yet
            self._read()
            return self._canonical

    def _read(self) -> None:
        """Read the arguments (unless the parser already split them) and canonical form."""
        try:
            args = self._args
        except AttributeError:  # not split yet
            shaped = _rule_by_shape(self.text)
            if shaped is not None:
                _, self._args, self._canonical = shaped
                return
            args = None
        try:
            if args is None:
                args = tuple(split_args(self.text)[2:])
            canonical = canonical_args(args)
        except ValueError as error:
            raise SaveParseError(f"{self._source}:{self.line}: {error}") from None
        self._args, self._canonical = args, canonical

    def jumps_to(self, chain: str) -> bool:
        """Whether the rule's target is ``-j chain`` or ``-g chain``."""
        if not may_hold(self.text, chain):
            return False
        words = self.canonical
        return len(words) >= 2 and words[-2] in ("-j", "-g") and words[-1] == chain

    def __repr__(self) -> str:
        return f"SavedRule({self.chain!r}, line {self.line}: {self.text!r})"


def may_hold(text: str, word: str) -> bool:
    """False only when no argument of the rule line ``text``, canonical or not, can contain
    ``word``: every argument is a piece of the line, less its quotes (and escapes)."""
    if word in text or "\\" in text:
        return True
    return '"' in text and '"' not in word and word in text.replace('"', "")


@dataclass(slots=True)
class Chain:
    """A chain with its policy (None for user chains, ``-`` in the dump) and rules."""

    name: str
    policy: str | None
    rules: list[SavedRule] = field(default_factory=list)


@dataclass(slots=True)
class Table:
    """One ``*table`` block; chains in declaration order."""

    name: str
    chains: dict[str, Chain] = field(default_factory=dict)


@dataclass(slots=True)
class SaveFile:
    """A whole iptables-save document (or the chains masqctl listed from a live table)."""

    tables: dict[str, Table] = field(default_factory=dict)
    #: Listed chain by chain from a live table: its line numbers mean nothing to a
    #: reader, so rules are named by their position in their chain.
    listed: bool = False

    def chains(self, table: str) -> dict[str, Chain]:
        """The chains of ``table``, none when the document has no such table."""
        found = self.tables.get(table)
        return found.chains if found is not None else {}


# A token is unquoted text, optionally ending in one double-quoted part; inside the
# quotes a backslash takes the next character literally (iptables-restore's tokenizer).
_TOKEN = re.compile(r'[^ \t"]*"(?:[^"\\]|\\.)*"|[^ \t"]+')
_ESCAPE = re.compile(r"\\(.)")
_COUNTERS = re.compile(r"\[\d+:\d+\]")


def split_args(text: str) -> list[str]:
    """Split one rule line into arguments the way iptables-restore does; ValueError if bad."""
    if '"' not in text:
        return text.split()
    if "\\" in text:
        return _split_escaped(text)
    parts = text.split('"')
    if len(parts) % 2 == 0:
        raise ValueError("unterminated quote")
    tokens = parts[0].split()
    for index in range(1, len(parts), 2):
        before, quoted = parts[index - 1], parts[index]
        if before and before[-1] not in " \t" and tokens:
            tokens[-1] += quoted  # text"quoted": one argument
        else:
            tokens.append(quoted)
        tokens.extend(parts[index + 1].split())
    return tokens


def _split_escaped(text: str) -> list[str]:
    tokens = []
    position = 0
    for match in _TOKEN.finditer(text):
        if text[position : match.start()].strip(" \t"):
            raise ValueError("unterminated quote")
        token = match.group()
        quote = token.find('"')
        if quote >= 0:
            token = token[:quote] + _ESCAPE.sub(r"\1", token[quote + 1 : -1])
        tokens.append(token)
        position = match.end()
    if text[position:].strip(" \t"):
        raise ValueError("unterminated quote")
    return tokens


def read_dump(path: str) -> str:
    """The text of an iptables-save dump (``-``: stdin), or InputError in one line.

    Bytes that are not UTF-8 (in a comment, say) are kept as surrogate escapes, as
    masqctl keeps iptables-save's own output.
    """
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as stream:
                data = stream.read()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    return data.decode("utf-8", errors="surrogateescape")


def parse_save(text: str, source: str = "<dump>", *, lazy: bool = False) -> SaveFile:
    """Parse iptables-save output (or a restore payload of ``-A`` rules).

    ``lazy``: leave each rule's arguments unread until used (a rule iptables could not
    read then fails when used, still naming its line).
    """
    return parse_lines(text.splitlines(), source, lazy=lazy)


def parse_lines(lines: Iterable[str], source: str = "<dump>", *, lazy: bool = False) -> SaveFile:
    """Parse iptables-save output line by line (as it streams from iptables-save)."""
    from masqctl.collection import collection_paused

    with collection_paused():  # a rule per line, all kept
        return _parse_lines(lines, source, lazy)


def _parse_lines(lines: Iterable[str], source: str, lazy: bool) -> SaveFile:
    save = SaveFile()
    table: Table | None = None
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if table is not None and line[0] in "-[":
            _add_rule(table, line, number, source, lazy)
        elif line.startswith("#"):
            if line.startswith("# Table") and "incompatible" in line:
                raise _error(
                    (source, number), f"iptables cannot read this table ({line[1:].strip()})"
                )
        elif line.startswith("*"):
            where = (source, number)
            if table is not None:
                raise _error(where, f"table {line[1:]!r} starts before COMMIT of {table.name!r}")
            name = line[1:].strip()
            if name in save.tables:
                raise _error(where, f"table {name!r} appears twice (one family per dump)")
            table = save.tables.setdefault(name, Table(name))
        elif table is None:
            raise _error(
                (source, number), f"{line.split()[0]!r} outside a table (expected '*nat' first)"
            )
        elif line == "COMMIT":
            table = None
        elif line.startswith(":"):
            _declare_chain(table, line, (source, number))
        else:
            _add_rule(table, line, number, source, lazy)
    if table is not None:
        raise SaveParseError(f"{source}: table {table.name!r} has no COMMIT")
    return save


def _error(where: tuple[str, int], message: str) -> SaveParseError:
    return SaveParseError(f"{where[0]}:{where[1]}: {message}")


def _declare_chain(table: Table, line: str, where: tuple[str, int]) -> None:
    words = line[1:].split()
    if not words:
        raise _error(where, "chain declaration without a name")
    policy = words[1] if len(words) > 1 else "-"
    if words[0] in table.chains:
        raise _error(where, f"chain {words[0]!r} declared twice")
    table.chains[words[0]] = Chain(words[0], None if policy == "-" else policy)


def _add_rule(table: Table, line: str, number: int, source: str, lazy: bool) -> None:
    if line[0] == "[":
        counters = _COUNTERS.match(line)
        if counters:
            line = line[counters.end() :].lstrip()
    # The common line: "-A CHAIN ...", no tab, no escape.  Its chain is the word up to the
    # first space (declared chain names hold no whitespace).  A line whose quotes do not
    # pair fails when read (at once unless lazy: a foreign rule nobody reads never fails).
    if line.startswith("-A ") and "\t" not in line and "\\" not in line:
        end = line.find(" ", 3)
        name = line[3:end] if end > 0 else line[3:]
        chain = table.chains.get(name)
        if chain is not None and '"' not in name:
            rule = SavedRule(name, number, line, source, len(chain.rules) + 1)
            if not lazy:
                rule._read()
            chain.rules.append(rule)
            return
    where = (source, number)
    try:
        words = split_args(line)
    except ValueError as error:
        raise _error(where, str(error)) from None
    if len(words) < 2 or words[0] not in ("-A", "--append"):
        raise _error(where, f"expected '-A CHAIN ...', found {line[:40]!r}")
    chain = table.chains.get(words[1])
    if chain is None:
        raise _error(where, f"rule for chain {words[1]!r}, which is not declared")
    rule = SavedRule(chain.name, number, line, source, len(chain.rules) + 1)
    rule._args = tuple(words[2:])  # split once: _read() builds the canonical form from them
    if not lazy:
        rule._read()
    chain.rules.append(rule)


# Rules of one chain mostly differ only in their addresses: a line with its addresses
# left out (its shape) is tokenized and put in canonical order once, then reused.
_LINE_ADDRESS = re.compile(
    r"(?<= )(?:-[sd]|--source|--destination|--src|--dst) ([0-9A-Fa-f.:]+/[0-9]+)(?= )"
)
_Shape = tuple[str, tuple[str, ...], tuple[int, ...], tuple[str, ...], tuple[int, ...]]
_line_shapes: dict[str, _Shape | None] = {}


def _rule_by_shape(line: str) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """(chain, args, canonical) of ``line`` from the cache of shapes, or None."""
    spans = [match.span(1) for match in _LINE_ADDRESS.finditer(line)]
    if not spans or len(spans) > len(_SLOTS):
        return None
    pieces = []
    start = 0
    for slot, (first, last) in zip(_SLOTS, spans, strict=False):
        pieces += [line[start:first], slot]
        start = last
    pieces.append(line[start:])
    key = "".join(pieces)
    if key in _line_shapes:
        shape = _line_shapes[key]
    else:
        shape = _make_shape(key, len(spans))
        if len(_line_shapes) < 4096:
            _line_shapes[key] = shape
    if shape is None:
        return None
    chain, args_template, args_at, canonical_template, canonical_at = shape
    raw = [line[first:last] for first, last in spans]
    args = list(args_template)
    canonical = list(canonical_template)
    for index, address in zip(args_at, raw, strict=True):
        args[index] = address
    for index, address in zip(canonical_at, raw, strict=True):
        canonical[index] = known = canonical_address(address)
        if known in _WHOLE_RANGES:
            return None  # left out of the canonical form: see canonical_args
    return chain, tuple(args), tuple(canonical)


def _make_shape(key: str, count: int) -> _Shape | None:
    """The shape of a rule line with ``count`` address slots, or None if it has none."""
    try:
        words = split_args(key)
        if len(words) < 2 or words[0] not in ("-A", "--append"):
            return None
        args = tuple(words[2:])
        canonical = canonical_args(args)
    except (ValueError, IndexError):
        return None
    slots = _SLOTS[:count]
    if any(args.count(slot) != 1 or canonical.count(slot) != 1 for slot in slots):
        return None  # an address-like text inside a quoted argument
    return (
        words[1],
        args,
        tuple(args.index(slot) for slot in slots),
        canonical,
        tuple(canonical.index(slot) for slot in slots),
    )


_PLAIN = re.compile(r"[^\s\"'\\]+")


def quote_arg(word: str) -> str:
    """``word`` as iptables-restore reads it back: quoted (with escapes) when needed."""
    if _PLAIN.fullmatch(word):
        return word
    return double_quoted(word)


def double_quoted(word: str) -> str:
    """``word`` in double quotes, ``\\`` and ``"`` escaped, as iptables-restore reads it."""
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


_SAVE_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


def rule_line(command: str, chain: str, words: Iterable[str]) -> str:
    """``command chain words...`` as a restore line (``-A``, ``-D``): each word quoted by
    :func:`quote_arg`, so iptables-restore reads back exactly ``words``."""
    return " ".join([command, chain, *(quote_arg(word) for word in words)])


def save_quote(word: str) -> str:
    """A string option as iptables-save prints it (``xtables_save_string``): bare when it
    is ``[A-Za-z0-9_-]+``, else in double quotes with ``" ' \\`` escaped."""
    if _SAVE_PLAIN.fullmatch(word):
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")
    return f'"{escaped}"'


def saved_line(chain: str, canonical: tuple[str, ...]) -> str | None:
    """``-A chain ...`` as iptables-save prints a rule of this canonical form, or None.

    iptables-save prints basic matches, match blocks and the target in the canonical
    order, with comments quoted by :func:`save_quote`; so a live line equal to this text
    has exactly this canonical form.  None when the text would not read back as
    ``canonical`` (a ``--probability``, canonical as the kernel's integer, for one): such
    rules are compared on their canonical form only.
    """
    words = ["-A", chain]
    previous = ""
    for word in canonical:
        words.append(save_quote(word) if previous == "--comment" else word)
        previous = word
    text = " ".join(words)
    try:
        if split_args(text) != ["-A", chain, *canonical] or canonical_args(canonical) != canonical:
            return None
    except ValueError:
        return None
    return text


# ---- canonical form ---------------------------------------------------------------

_BASIC = {
    "-s": "-s",
    "--source": "-s",
    "--src": "-s",
    "-d": "-d",
    "--destination": "-d",
    "--dst": "-d",
    "-i": "-i",
    "--in-interface": "-i",
    "-o": "-o",
    "--out-interface": "-o",
    "-p": "-p",
    "--protocol": "-p",
}
_BASIC_ORDER = ("-s", "-d", "-i", "-o", "-p")
_MATCH = ("-m", "--match")
_TARGET = ("-j", "--jump", "-g", "--goto")
#: Options of the nat targets, kept with the target wherever they were written.
_TARGET_OPTIONS = frozenset(
    {
        "--to-ports",
        "--random",
        "--random-fully",
        "--to-source",
        "--to-destination",
        "--persistent",
        "--to",
    }
)
_TARGET_OPTION_ORDER = {"--to-ports": 0, "--random": 1, "--random-fully": 2}
#: Options that take no value.
_FLAGS = frozenset(
    {
        "--random",
        "--random-fully",
        "--persistent",
        "--syn",
        "--rsource",
        "--rdest",
        "--set",
        "--update",
        "--rcheck",
        "--remove",
    }
)
_PROTOCOL_NUMBERS = {
    "6": "tcp",
    "17": "udp",
    "132": "sctp",
    "1": "icmp",
    "58": "ipv6-icmp",
    "icmpv6": "ipv6-icmp",
    "136": "udplite",
    "33": "dccp",
    "0": "all",
}
COMMENT_LIMIT = 255


_IPV4_NETWORK = re.compile(
    r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})"
    r"\.(0|[1-9][0-9]{0,2})/([1-9]?[0-9])"
)


_ipv4_network = _IPV4_NETWORK.fullmatch
_canonical_addresses: dict[str, str] = {}


def canonical_address(text: str) -> str:
    """``10.0.0.1/8`` → ``10.0.0.0/8``, ``192.0.2.8`` → ``192.0.2.8/32``, IPv6 as
    ip6tables-save spells it (:func:`ipv6_text`); names unchanged."""
    known = _canonical_addresses.get(text)
    if known is None:
        known = _canonical_address(text)
        if len(_canonical_addresses) < 1 << 17:
            _canonical_addresses[text] = known
    return known


def _canonical_address(text: str) -> str:
    match = _ipv4_network(text)
    if match:  # the common case, already canonical: no ipaddress objects
        a, b, c, d, prefix = map(int, match.groups())
        if (
            a <= 255
            and b <= 255
            and c <= 255
            and d <= 255
            and prefix <= 32
            and (a << 24 | b << 16 | c << 8 | d) & ((1 << (32 - prefix)) - 1) == 0
        ):
            return text
    return _canonical_address_slow(text)


def _canonical_address_slow(text: str) -> str:
    if "," in text:
        return ",".join(canonical_address(part) for part in text.split(","))
    import ipaddress

    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return text
    if network.version == 4:
        return network.with_prefixlen
    return f"{ipv6_text(network.network_address.packed)}/{network.prefixlen}"


def ipv6_text(packed: bytes) -> str:
    """An IPv6 address as ip6tables prints it: libc's inet_ntop (``::1.2.3.0``, where
    Python would write ``::102:300``)."""
    import socket

    return socket.inet_ntop(socket.AF_INET6, packed)


def _probability(text: str) -> str:
    value = float(text) * 2**31
    if not math.isfinite(value):
        raise ValueError(f"--probability {text!r} is not a number between 0 and 1")
    return str(int(value + 0.5))  # lround, as libxt_statistic stores it


def _canonical_comment(text: str) -> str:
    """The comment as the kernel keeps it: its first 255 bytes, cut where they end (a
    character cut in two is kept as the byte that is left, as iptables-save prints it);
    bytes that are not UTF-8 are surrogate escapes (see :func:`read_dump`)."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= COMMENT_LIMIT:
        return text
    return data[:COMMENT_LIMIT].decode("utf-8", "surrogateescape")


#: The options that take a source or destination address.
ADDRESS_OPTIONS = frozenset({"-s", "--source", "--src", "-d", "--destination", "--dst"})
#: Addresses that match every address: iptables-save leaves ``-s``/``-d`` of them out.
_WHOLE_RANGES = frozenset({"0.0.0.0/0", "::/0"})


def matches_every_address(address: str) -> bool:
    """Whether ``address`` is ``0.0.0.0/0`` or ``::/0`` in any spelling."""
    return "/0" in address and canonical_address(address) in _WHOLE_RANGES


_SLOTS = ("\0address0", "\0address1")
#: Stands for an address in a rule's form (masqctl.diff).
ADDRESS_SLOT = _SLOTS[0]


def canonical_args(args: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The rule's arguments in canonical order and spelling (see the module doc).

    Basic matches ``-s -d -i -o -p`` first (``!`` before the option; ``-s``/``-d`` of
    every address, ``0.0.0.0/0`` or ``::/0``, left out as iptables-save leaves them out
    unless negated), then ``-m`` blocks
    in written order (a protocol's own match block without its ``-m tcp``), then the
    target with its options ``--to-ports --random --random-fully`` first.
    """
    basic: dict[str, tuple[str, ...]] = {}
    blocks: list[list[str]] = []
    target: list[str] = []
    target_options: list[tuple[str, ...]] = []
    current: list[str] | None = None  # the block unknown options go to
    negate = False
    index = 0
    count = len(args)
    while index < count:
        word = args[index]
        index += 1
        if word == "!":
            negate = True
            continue
        if word in _BASIC:
            if index >= count:
                raise ValueError(f"{word} needs a value")
            value = args[index]
            index += 1
            if value == "!":  # old syntax: -d ! ADDRESS
                if index >= count:
                    raise ValueError(f"{word} needs a value")
                negate, value = True, args[index]
                index += 1
            name = _BASIC[word]
            if name in ("-s", "-d") and not value.startswith("\0"):
                value = canonical_address(value)
                if value in _WHOLE_RANGES and not negate:
                    current = None
                    continue  # iptables-save prints no -s/-d that matches every address
            elif name == "-p":
                value = _PROTOCOL_NUMBERS.get(value.lower(), value.lower())
            basic[name] = ("!", name, value) if negate else (name, value)
            negate = False
            current = None
            continue
        if word in _MATCH or word in _TARGET:
            if index >= count:
                raise ValueError(f"{word} needs a name")
            name = args[index]
            index += 1
            if word in _MATCH:
                current = ["-m", name]
                blocks.append(current)
            else:
                target = ["-j" if word in ("-j", "--jump") else "-g", name]
                current = target
            continue
        # an option of a match or of the target, with its value(s)
        values: list[str] = []
        if word == "--comment" and index < count:  # a comment may start with "-"
            values.append(args[index])
            index += 1
        while (
            word not in _FLAGS
            and index < count
            and not args[index].startswith("-")
            and args[index] != "!"
        ):
            values.append(args[index])
            index += 1
        if word == "--comment" and values:
            values = [_canonical_comment(values[0]), *values[1:]]
        elif word == "--probability" and values:
            values = [_probability(values[0])]
        option = (("!", word) if negate else (word,)) + tuple(values)
        negate = False
        if target and (word in _TARGET_OPTIONS or current is target):
            target_options.append(option)
        elif current is None:
            protocol = basic.get("-p", ("-p", ""))[-1]
            current = ["-m", protocol]  # implicit protocol match: -p tcp --dport 80
            blocks.append(current)
            current.extend(option)
        else:
            current.extend(option)
    if negate:
        raise ValueError("'!' at the end of the rule")
    words: list[str] = []
    for name in _BASIC_ORDER:
        words.extend(basic.get(name, ()))
    protocol = basic.get("-p", ("-p", ""))[-1]
    for block in blocks:
        words.extend(block[2:] if block[1] == protocol else block)
    words.extend(target)
    target_options.sort(key=lambda option: _TARGET_OPTION_ORDER.get(option[0], 3))
    for option in target_options:
        words.extend(option)
    return tuple(words)
