"""What operators paste, read into a SaveFile, with a record of what the paste lacks.

``diff --from`` and ``explain --from`` take a whole ``iptables-save`` dump (read by
save_parser's parser, unchanged and as fast as before) and also what people paste into
tickets: ``iptables -t nat -S`` (``-P``/``-N`` lines, no ``*nat``/``COMMIT``), ``-S CHAIN``,
``iptables -t nat -L`` listings (``-n``, ``-v``; see listing_reader), bare ``-A`` lines,
``iptables-save | grep PATTERN`` excerpts, a dump flattened onto one line, each with or
without the shell prompt line of the command that printed it (``$ sudo iptables-save
-t nat``, ``root@node:~# iptables -t nat -L -n``); several such outputs one after the other.

A Paste says which chains it shows (in full, or only the lines a grep kept), what its
form cannot show (interfaces, without ``-v``) and which listed rules could not be read
back; the commands say so instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from masqctl.netfilter.save_parser import (
    Chain,
    SavedRule,
    SaveFile,
    SaveParseError,
    Table,
    parse_lines,
    rule_line,
    split_args,
)

BUILTIN_CHAINS = ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")
FULL_DUMP = "iptables-save"
HIDDEN_INTERFACES = "interfaces (-i, -o): iptables -L shows them only with -v"

#: A shell prompt (optional) and a command running iptables, ip6tables or their -save.
_PROMPT = re.compile(
    r"(?:[^\s\"]*(?: [^\s\"]*)?[$#%>]\s+)?(?:sudo\s+(?:-\S+\s+)*)?"
    r"(?P<command>ip6?tables(?:-nft|-legacy)?(?:-save)?(?:\s.*)?)"
)
#: Where a flattened dump's next line starts: a declaration, rule, table or COMMIT.
_LINE_START = re.compile(
    r"(?:-[ANP] \S|:\S+ \S+ \[\d+:\d+\]|\*\S+(?: |$)|COMMIT(?: |$)|# (?:Completed|Generated) )"
)
_RULE_LINE = re.compile(r"(?:\[\d+:\d+\] )?-[ANP] ")


@dataclass
class Command:
    """What the prompt line says about the output after it."""

    text: str
    table: str | None = None
    listed_chain: str | None = None
    listing: bool = False
    rules: bool = False
    grep: str | None = None
    grep_ignores_case: bool = False
    grep_unknown: bool = False


@dataclass
class Paste:
    """A pasted nat table: the SaveFile, and what the paste does not show."""

    save: SaveFile
    source: str
    form: str = FULL_DUMP
    #: Chains whose rules the paste shows; None: the whole table.
    shown: set[str] | None = None
    #: Chains shown only in the lines a grep kept: chain → (pattern, ignores case), the
    #: pattern None when the grep's filter is not known.
    filtered: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    #: What the paste's form cannot show, in words.
    hidden: list[str] = field(default_factory=list)
    #: Rules read from a listing with something not read back: chain → (line, text).
    unread: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    #: Chains with rules in the paste but no line that declares them (-P, -N, :CHAIN):
    #: whether all their rules are there, the paste does not say.
    undeclared: set[str] = field(default_factory=set)

    def shows(self, chain: str) -> bool:
        """Whether the paste shows ``chain`` (in full or as a grep kept it)."""
        return self.shown is None or chain in self.shown

    def shows_rules_naming(self, chain: str, word: str) -> bool:
        """Whether every rule of ``chain`` whose line names ``word`` is in the paste."""
        if not self.shows(chain):
            return False
        if chain not in self.filtered:
            return True
        return _grep_keeps(*self.filtered[chain], word)

    def lacks(self, chain: str) -> str | None:
        """Why the paste cannot stand for all of ``chain``, or None when it can."""
        if not self.shows(chain):
            return f"{self.source} does not show chain {chain}"
        if chain in self.filtered:
            pattern, _ = self.filtered[chain]
            kept = f"the lines with {pattern!r}" if pattern else "the lines a filter kept"
            return f"{self.source} shows only {kept} of chain {chain}"
        if chain in self.unread:
            line, text = self.unread[chain][0]
            return f"{self.source}:{line} shows {text}"
        return None


def read_paste(text: str, source: str = "<dump>", *, lazy: bool = False) -> Paste:
    """The nat table a paste holds (a full dump: parse_lines, at parse_save's speed)."""
    lines = text.splitlines()
    if _is_full_dump(lines):
        return Paste(parse_lines(lines, source, lazy=lazy), source)
    table = Table("nat")
    paste = Paste(SaveFile({"nat": table}), source, form="", shown=set())
    forms = [
        _read_section(paste, table, command, indexes, lines, lazy)
        for command, indexes in _sections(lines)
    ]
    paste.form = ", ".join(dict.fromkeys(forms))
    return paste


def _is_full_dump(lines: list[str]) -> bool:
    """Whether ``lines`` are an iptables-save document: the first that is not a comment
    is a table line (``*nat``), or there is no such line at all."""
    for line in lines:
        line = line.strip()
        if line.startswith("#") and " *" in line and _LINE_START.search(line, 1):
            return False  # a flattened dump, its first line a comment
        if line and not line.startswith("#"):
            return line.startswith("*") and " " not in line
    return True


def _sections(lines: list[str]) -> list[tuple[Command | None, list[int]]]:
    """The outputs of a paste: each command (None: not shown) and its lines' indexes."""
    sections: list[tuple[Command | None, list[int]]] = [(None, [])]
    for index, line in enumerate(lines):
        stripped = line.strip()
        prompt = None if _RULE_LINE.match(stripped) else _PROMPT.fullmatch(stripped)
        if prompt:
            sections.append((_command(prompt.group("command")), []))
        else:
            sections[-1][1].append(index)
    return [(command, indexes) for command, indexes in sections if command or indexes]


def _words(text: str) -> list[str]:
    import shlex

    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _command(text: str) -> Command:
    """Read the options of an iptables command line (and a ``| grep`` after it)."""
    pipeline, _, grep = text.partition("|")
    command = Command(text.strip())
    words = _words(pipeline)
    command.rules = words[0].endswith("-save")
    index = 1
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else None
        if word in ("-t", "--table"):
            command.table = following
            index += 1
        elif word in ("--list-rules", "--list") or (
            word.startswith("-") and not word.startswith("--") and word[-1] in "SL"
        ):
            command.listing = word in ("--list",) or word[-1] == "L"
            command.rules = not command.listing
            if following is not None and not following.startswith("-"):
                command.listed_chain = following
                index += 1
        index += 1
    if grep.strip():
        grep_words = _words(grep)
        options = [word for word in grep_words[1:] if word.startswith("-")]
        patterns = [word for word in grep_words[1:] if not word.startswith("-")]
        known = grep_words[:1] == ["grep"] and len(patterns) == 1 and options in ([], ["-i"])
        command.grep = patterns[0] if known else None
        command.grep_ignores_case = options == ["-i"]
        command.grep_unknown = not known
    return command


def _read_section(
    paste: Paste,
    table: Table,
    command: Command | None,
    indexes: list[int],
    lines: list[str],
    lazy: bool,
) -> str:
    """Add one output of the paste to ``table``; its form, in words."""
    if command is not None and command.table not in (None, "nat"):
        raise SaveParseError(
            f"{paste.source}:{indexes[0] + 1 if indexes else 1}: the paste shows the "
            f"{command.table} table ({command.text}); masqctl reads the nat table"
        )
    if any(_is_listing(lines[index]) for index in indexes) or (command and command.listing):
        form, seen, whole = _add_listing(paste, table, command, indexes, lines)
    else:
        pieces = [(index + 1, piece) for index in indexes for piece in _unflatten(lines[index])]
        if any(piece.startswith("*") for _, piece in pieces):
            form, seen, whole = _add_dump(paste, table, pieces, lazy)
        else:
            form, seen, whole = _add_rules(paste, table, command, pieces, lazy)
    if command is not None:
        form = command.text
        if command.grep is not None or command.grep_unknown:
            whole = False
            grep = (command.grep, command.grep_ignores_case)
            for chain in seen:
                if not _grep_keeps(*grep, chain):  # else every line of the chain holds it
                    paste.filtered[chain] = grep
    if whole:
        paste.shown = None
    elif paste.shown is not None:
        paste.shown |= seen
    return form


def _is_listing(line: str) -> bool:
    """Whether ``line`` is a listing's chain line or column titles."""
    words = line.split()
    return line.startswith("Chain ") or ("target" in words[:4] and words[-1:] == ["destination"])


def _grep_keeps(pattern: str | None, ignores_case: bool, word: str) -> bool:
    """Whether a grep for ``pattern`` keeps every line that holds ``word`` (None: the
    grep's filter is not known, so it may keep none)."""
    if pattern is None:
        return False
    return (pattern.lower() in word.lower()) if ignores_case else pattern in word


def _unflatten(line: str) -> list[str]:
    """A line split where a flattened dump's lines started (outside quotes)."""
    line = line.strip()
    if line.count(" ") < 3:
        return [line] if line else []
    starts = [0]
    quoted = escaped = False
    for position, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == " " and not quoted and _LINE_START.match(line, position + 1):
            starts.append(position + 1)
    return [line[start:end].strip() for start, end in zip(starts, [*starts[1:], None], strict=True)]


Added = tuple[str, set[str], bool]
"""What a section added: its form in words, the chains it shows, whether it is the
whole table."""


def _add_dump(paste: Paste, table: Table, pieces: list[tuple[int, str]], lazy: bool) -> Added:
    """A whole dump after a prompt line, or flattened: read by the dump parser."""
    numbered: list[str] = []
    for number, piece in pieces:
        numbered.extend([""] * (number - len(numbered) - 1))
        numbered.append(piece)  # a flattened line's pieces count on from its number
    saved = parse_lines(numbered, paste.source, lazy=lazy).tables.get("nat")
    chains = saved.chains if saved is not None else {}
    for chain in chains.values():
        table.chains.setdefault(chain.name, chain)
    flattened = len(pieces) > len({number for number, _ in pieces})
    return ("a flattened iptables-save" if flattened else "iptables-save"), set(chains), True


def _add_rules(
    paste: Paste,
    table: Table,
    command: Command | None,
    pieces: list[tuple[int, str]],
    lazy: bool,
) -> Added:
    """``-S`` output, ``-A`` lines, a grep excerpt of a dump: rules without a table."""
    declared: set[str] = set()
    policies: set[str] = set()
    for number, piece in pieces:
        words = piece.split()
        if piece.startswith("#"):
            continue
        if piece.startswith(("-P ", "-N ")) and len(words) == (3 if words[0] == "-P" else 2):
            if words[1] == "FORWARD":
                raise SaveParseError(
                    f"{paste.source}:{number}: chain FORWARD is not in the nat table "
                    "(paste iptables -t nat -S)"
                )
            if words[0] == "-P":
                policies.add(words[1])
            _declare(table, words[1], words[2] if words[0] == "-P" else None)
            declared.add(words[1])
        elif piece.startswith(":") and len(words) >= 2:
            _declare(table, words[0][1:], None if words[1] == "-" else words[1])
            declared.add(words[0][1:])
        elif _RULE_LINE.match(piece):
            _add_rule(table, piece, number, paste.source, lazy)
        else:
            raise SaveParseError(
                f"{paste.source}:{number}: cannot read this line as iptables output: {piece!r}"
            )
    seen = {name for name, chain in table.chains.items() if chain.rules} | declared
    paste.undeclared |= seen - declared - (paste.shown or set())
    whole = bool(command and command.rules and not command.listed_chain)
    whole = whole or policies >= set(BUILTIN_CHAINS)
    form = "iptables -S" if policies or whole else "saved lines" if declared else "-A lines"
    return form, seen, whole


def _declare(table: Table, name: str, policy: str | None) -> Chain:
    if name not in table.chains:
        table.chains[name] = Chain(name, policy)
    return table.chains[name]


def _add_rule(table: Table, line: str, number: int, source: str, lazy: bool) -> None:
    if line.startswith("["):
        line = line.split(" ", 1)[1]
    try:
        words = split_args(line)
    except ValueError as error:
        raise SaveParseError(f"{source}:{number}: {error}") from None
    chain = _declare(table, words[1], "ACCEPT" if words[1] in BUILTIN_CHAINS else None)
    rule = SavedRule(chain.name, number, line, source, len(chain.rules) + 1)
    if not lazy:
        rule.canonical  # noqa: B018 - read now, so a bad rule fails here with its line
    chain.rules.append(rule)


def _add_listing(
    paste: Paste,
    table: Table,
    command: Command | None,
    indexes: list[int],
    lines: list[str],
) -> Added:
    """An ``iptables -L`` listing, read by listing_reader."""
    from masqctl.netfilter.listing_reader import read_listing

    listed_chain = command.listed_chain if command else None
    listing = read_listing(
        [(index + 1, lines[index]) for index in indexes], paste.source, listed_chain
    )
    for listed in listing.chains.values():
        chain = _declare(table, listed.name, listed.policy)
        for rule in listed.rules:
            text = rule_line("-A", chain.name, rule.args)
            position = len(chain.rules) + 1  # among the rules the paste shows
            chain.rules.append(SavedRule(chain.name, rule.line, text, paste.source, position))
            if rule.unread:
                paste.unread.setdefault(chain.name, []).append((rule.line, rule.unread))
    if not listing.verbose and HIDDEN_INTERFACES not in paste.hidden:
        paste.hidden.append(HIDDEN_INTERFACES)
    whole = bool(command and not listed_chain) or all(
        listing.chains.get(name) is not None and listing.chains[name].policy
        for name in BUILTIN_CHAINS
    )
    return "iptables -L" + (" -v" if listing.verbose else ""), set(listing.chains), whole
