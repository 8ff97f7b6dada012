"""``iptables -L`` listings (``-n``, ``-v``, ``--line-numbers``) read back into rules.

A listing prints each rule's fields in columns (target, protocol, options, with ``-v``
the interfaces, source, destination) and then what each match and the target print
(iptables 1.8.9's print functions; see masqctl.render.listing, which prints them).  This
reads them back into ``-A`` arguments.  What a listing cannot say is recorded, never
guessed: an address shown as a name (``-L`` without ``-n``), text no known print
function writes (kept as the rule's ``unread`` text), and, without ``-v``, interfaces.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from masqctl.netfilter.save_parser import SaveParseError

#: libxtables' xtables_chain_protos: the names -L prints for protocol numbers.
PROTOCOLS = {
    "tcp": 6,
    "sctp": 132,
    "udp": 17,
    "udplite": 136,
    "icmp": 1,
    "ipv6-icmp": 58,
    "esp": 50,
    "ah": 51,
    "mobility-header": 135,
    "all": 0,
}
PROTOCOL_NAMES = {number: name for name, number in reversed(PROTOCOLS.items())}
#: Stands, in a rule read from a listing, for what could not be read back: a match no
#: rule can meet or miss for sure (explain names it instead of judging it).
UNREAD_MATCH = "listing"

_CHAIN = re.compile(r"Chain (\S+) \((?:policy (\S+)[^)]*|\d+ references|ERROR obtaining refs)\)$")
_OPTIONS = frozenset({"--", "-f", "!f"})
#: A match's or the target's printed words, read back (each follows a single space).
_COMMENT = re.compile(r" /\* (.*?) \*/(?= |$)")
_ADDRTYPE = re.compile(
    r" ADDRTYPE match(?: src-type (!?)([A-Z,]+))?(?: dst-type (!?)([A-Z,]+))?"
    r"( limit-in)?( limit-out)?(?= |$)"
)
_STATISTIC = re.compile(r" statistic mode random( !)? probability ([0-9.]+)(?= |$)")
_MARK_MATCH = re.compile(r" mark match( !)? (0x[0-9a-f]+(?:/0x[0-9a-f]+)?)(?= |$)")
_MARK_TARGET = re.compile(r" MARK (and|or|xor|set|xset) (0x[0-9a-f]+)(?:/(0x[0-9a-f]+))?$")
_NAT_TARGET = re.compile(
    r"(?: (?:masq ports: |redir ports |to:)(\S+))?( random)?( random-fully)?( persistent)?$"
)
_NAT_RANGE_OPTION = {
    "MASQUERADE": "--to-ports",
    "REDIRECT": "--to-ports",
    "SNAT": "--to-source",
    "DNAT": "--to-destination",
}
_PROTOCOL_NUMBERS = {str(number): name for number, name in PROTOCOL_NAMES.items()}


@dataclass
class ListedRule:
    """One rule of a listing: its arguments as far as they could be read."""

    chain: str
    line: int
    args: tuple[str, ...]
    #: What the listing shows that could not be read back, in words (None: read in full).
    unread: str | None = None


@dataclass
class ListedChain:
    name: str
    policy: str | None
    rules: list[ListedRule] = field(default_factory=list)


@dataclass
class Listing:
    """The chains of one listing, and whether it shows interfaces (``-v``)."""

    chains: dict[str, ListedChain] = field(default_factory=dict)
    verbose: bool = False


def read_listing(lines: list[tuple[int, str]], source: str, chain: str | None = None) -> Listing:
    """Read ``(line number, text)`` lines of one listing; ``chain``: the one a listing
    without a ``Chain`` line shows (from the command that printed it)."""
    listing = Listing()
    current: ListedChain | None = None
    line_numbers = False
    for number, text in lines:
        if not text.strip():
            continue
        header = _CHAIN.match(text.strip())
        if header:
            current = listing.chains.setdefault(
                header.group(1), ListedChain(header.group(1), header.group(2))
            )
            continue
        words = text.split()
        if "target" in words[:4] and "prot" in words and "destination" in words:
            listing.verbose = words[0] == "pkts" or words[:2] == ["num", "pkts"]
            line_numbers = words[0] == "num"
            continue
        if current is None:
            if chain is None:
                raise SaveParseError(
                    f"{source}:{number}: a rule before any 'Chain NAME' line: which chain "
                    "the listing shows is not in the paste"
                )
            current = listing.chains.setdefault(chain, ListedChain(chain, None))
        skip = int(line_numbers) + 2 * int(listing.verbose)
        current.rules.append(_rule(current.name, number, text, skip, listing.verbose, source))
    return listing


def _rule(chain: str, number: int, text: str, skip: int, verbose: bool, source: str) -> ListedRule:
    spans = [match.span() for match in re.finditer(r"\S+", text)]
    words = [text[start:end] for start, end in spans]
    opt = next((index for index in range(skip, len(words)) if words[index] in _OPTIONS), None)
    fields = 5 if verbose else 3
    if opt is None or opt < skip + 1 or opt + fields > len(words):
        raise SaveParseError(f"{source}:{number}: cannot read this line as a listed rule")
    target = words[skip] if opt - skip == 2 else ""
    args: list[str] = []
    unread: list[str] = []
    shown: list[str] = []  # the listing's own text of what could not be read
    protocol = words[opt - 1]
    negated, protocol = protocol.startswith("!"), protocol.lstrip("!")
    protocol = _PROTOCOL_NUMBERS.get(protocol, protocol)
    if protocol != "all":
        args += ["!", "-p", protocol] if negated else ["-p", protocol]
    if words[opt] != "--":
        args += ["!", "-f"] if words[opt].startswith("!") else ["-f"]
    position = opt + 1
    if verbose:
        for option, word in zip(("-i", "-o"), words[position : position + 2], strict=True):
            if word not in ("*", "any"):
                args += ["!", option, word[1:]] if word.startswith("!") else [option, word]
        position += 2
    for option, word in zip(("-s", "-d"), words[position : position + 2], strict=True):
        address, problem = _address(word)
        if problem:
            unread.append(problem)
            shown.append(word)
        elif address:
            args += ["!", option, address] if word.startswith("!") else [option, address]
    rest = text[spans[position + 1][1] :].lstrip(" ")
    goto = rest.startswith("[goto] ")
    rest = " " + rest.removeprefix("[goto] ") if rest else ""
    matches, rest = _matches(rest)
    args += matches
    target_args, rest = _target_args(target, rest)
    if rest.strip():
        unread.append(f"{rest.strip()!r}, which masqctl cannot read back")
        shown.append(rest.strip())
    if unread:
        args += ["-m", UNREAD_MATCH, "--shows", " ".join(shown)]
    if target:
        args += ["-g" if goto else "-j", target, *target_args]
    return ListedRule(chain, number, tuple(args), "; ".join(unread) or None)


def _address(word: str) -> tuple[str, str | None]:
    """(the address, or "" for every address; a problem when it is a name)."""
    text = word.removeprefix("!")
    if text in ("anywhere", "0.0.0.0/0", "::/0"):
        return "", None
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return "", f"the name {text!r} where iptables -L -n shows an address"
    return text, None


def _matches(rest: str) -> tuple[list[str], str]:
    """The match arguments of the printed text, and what is left of it."""
    args: list[str] = []
    while rest:
        if found := _COMMENT.match(rest):
            args += ["-m", "comment", "--comment", found.group(1)]
        elif found := _ADDRTYPE.match(rest):
            args += ["-m", "addrtype"]
            for negated, option, types in (
                (found.group(1), "--src-type", found.group(2)),
                (found.group(3), "--dst-type", found.group(4)),
            ):
                if types:
                    args += (["!"] if negated else []) + [option, types]
            args += ["--limit-iface-in"] if found.group(5) else []
            args += ["--limit-iface-out"] if found.group(6) else []
        elif found := _STATISTIC.match(rest):
            args += ["-m", "statistic", "--mode", "random"]
            args += (["!"] if found.group(1) else []) + ["--probability", found.group(2)]
        elif found := _MARK_MATCH.match(rest):
            args += ["-m", "mark", *(["!"] if found.group(1) else []), "--mark", found.group(2)]
        else:
            break
        rest = rest[found.end() :]
    return args, rest


def _target_args(target: str, rest: str) -> tuple[list[str], str]:
    """The target's options from what it prints, and the text it does not explain."""
    if target == "MARK" and (found := _MARK_TARGET.match(rest)):
        operation, value, mask = found.groups()
        number = int(value, 16)
        mark, mask = {
            "and": (0, ~number & 0xFFFFFFFF),
            "or": (number, number),
            "xor": (number, 0),
            "set": (number, 0xFFFFFFFF),
            "xset": (number, int(mask or "0x0", 16)),
        }[operation]
        return ["--set-xmark", f"{mark:#x}/{mask:#x}"], ""
    if target in _NAT_RANGE_OPTION and (found := _NAT_TARGET.match(rest)):
        value, *flags = found.groups()
        args = [_NAT_RANGE_OPTION[target], value] if value else []
        args += [f"--{flag.strip()}" for flag in flags if flag]
        return args, ""
    return [], rest
