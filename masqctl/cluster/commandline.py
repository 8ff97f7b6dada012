"""The agent container's command line: argv from ``command``/``args``, ``$(VAR)``
expanded, then the agent's flags as its Go flag package parses them."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from masqctl.cluster.expand import Environment, expand, references
from masqctl.cluster.goflag import (
    BOOL,
    HELP,
    UNDEFINED,
    Argument,
    FlagError,
    FlagParse,
    parse_bool,
    parse_flags,
)
from masqctl.cluster.objects import KubeObject
from masqctl.config.goparse import go_quote
from masqctl.config.nodes import NULL, SCALAR, SEQ, STR, Node
from masqctl.findings import Finding
from masqctl.flavours.base import FlagDef, Flavour
from masqctl.lint.report import finding_at
from masqctl.model import Origin

#: Programs whose arguments are a script, not the agent's flags.
SHELLS = ("sh", "bash", "ash", "dash", "busybox")


@dataclass(frozen=True)
class ArgItem:
    """Where an argument was written: ``args[2]`` of the container, and its node."""

    field: str
    index: int
    node: Node

    @property
    def entry(self) -> str:
        return f"{self.field}[{self.index}]"


@dataclass
class CommandLine:
    """What the agent's Go flag package makes of the container's command line."""

    #: ``command[0]`` when the container gives a command (None: the image's entrypoint).
    program: str | None = None
    #: The arguments the agent's flag parsing reads (argv[1:]), ``$(VAR)`` expanded.
    arguments: list[str] = field(default_factory=list)
    #: The flavour's flags given: ``{FlagDef.dest: value}``, and where each came from.
    flags: dict[str, object] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    #: Logging-library flags given: Go name → the value text ("true" for a bare bool).
    logging_flags: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: Why the agent exits while parsing its flags (None: it starts).
    exits: Finding | None = None


def read_command_line(
    workload: KubeObject,
    container: Node,
    flavour: Flavour,
    version: str | None,
    env: Environment,
) -> CommandLine:
    """The flags the agent of ``flavour`` (release ``version``) runs with, and findings
    about every argument it refuses or ignores."""
    result = CommandLine()
    command, args = _items(container, "command"), _items(container, "args")
    arguments: list[Argument[ArgItem]] = []
    for item in [*command, *args]:
        argument = _argument(workload, item, env, result.findings)
        if argument is None:
            result.exits = result.findings[-1]
            return result
        arguments.append(argument)
    if command:
        program = arguments.pop(0)
        result.program = program.text
        if posixpath.basename(program.text) in SHELLS:
            result.findings.append(
                finding_at(
                    "MASQ053",
                    _origin(workload, program.where),
                    f"the container runs {program.text}, not the agent directly: masqctl "
                    "cannot read the agent's flags from a script (and distroless agent "
                    "images from upstream's v2.8.0 on have no shell)",
                )
            )
            return result
    result.arguments = [argument.text for argument in arguments]
    if arguments and not flavour.parses_flags(version):
        result.findings.append(_ignored_finding(workload, arguments, flavour, version))
        return result
    defined = {
        flag.go_name: flag.kind for flag in flavour.flags if flavour.flag_exists(flag, version)
    }
    known = {**flavour.logging_flags(version), **defined}
    # An argument whose $(VAR) masqctl cannot know may well be fine on the node.
    unresolved = {(f.line, f.column) for f in result.findings if f.rule == "MASQ053"}

    def unknown(argument: Argument[ArgItem]) -> bool:
        return (argument.where.node.line, argument.where.node.column) in unresolved

    parsed = parse_flags(arguments, known, unknown)
    by_go_name = {flag.go_name: flag for flag in flavour.flags}
    for name, flag in parsed.flags.items():
        definition = by_go_name.get(name)
        if definition is None:
            result.logging_flags[name] = flag.text
        elif flag.value is not None:
            result.flags[definition.dest] = flag.value
            result.origins[definition.dest] = _origin(workload, flag.argument.where)
    error = parsed.error
    if error is not None and not unknown(error.argument):
        result.exits = _error_finding(workload, error, flavour, version, by_go_name)
        result.findings.append(result.exits)
    stop = _stop_finding(workload, parsed, known)
    if stop is not None:
        result.findings.append(stop)
    return result


def _items(container: Node, name: str) -> list[ArgItem]:
    node = container.get(name)
    if node is None or node.kind != SEQ:
        return []
    return [ArgItem(name, index, item) for index, item in enumerate(node.value)]


def _origin(workload: KubeObject, item: ArgItem) -> Origin:
    return workload.origin(item.node, item.entry)


def _argument(
    workload: KubeObject, item: ArgItem, env: Environment, findings: list[Finding]
) -> Argument[ArgItem] | None:
    """The argument the kubelet passes for ``item``; None (with a finding) when the API
    server refuses the item."""
    node = item.node
    if node.kind != SCALAR or node.tag not in (STR, NULL):
        findings.append(
            finding_at(
                "MASQ051",
                _origin(workload, item),
                f"{item.entry} is {_what(node)}, not a string: the API server refuses the "
                f"{workload.kind} (command and args are lists of strings; quote it)",
            )
        )
        return None
    written = "" if node.value is None else str(node.value)
    for name in references(written):
        why = env.why_unknown(name)
        if why is not None:
            findings.append(
                finding_at(
                    "MASQ053",
                    _origin(workload, item),
                    f"{item.entry} {written!r} uses $({name}), whose value masqctl cannot know "
                    f"({why}): it reads the argument with $({name}) as written",
                )
            )
    return Argument(expand(written, env.lookup), item)


def _what(node: Node) -> str:
    """``the number 60``, ``a mapping``: a non-string item as a message names it."""
    if node.kind == SCALAR:
        return f"the {node.describe()} {node.raw or node.value}"
    return "a mapping" if node.describe() == "object" else "a list"


def _release(flavour: Flavour, version: str | None) -> str:
    return f"{flavour.title} {version}" if version else f"the newest {flavour.title}"


def _ignored_finding(
    workload: KubeObject,
    arguments: list[Argument[ArgItem]],
    flavour: Flavour,
    version: str | None,
) -> Finding:
    """MASQ060: a release that never parses its command line."""
    listed = ", ".join(argument.text for argument in arguments)
    return finding_at(
        "MASQ060",
        _origin(workload, arguments[0].where),
        f"{_release(flavour, version)} never parses its command line (flag parsing arrived "
        f"in {flavour.parses_flags_since}): it ignores every argument ({listed}) and runs "
        "with its flags' defaults",
    )


def _error_finding(
    workload: KubeObject,
    error: FlagError[ArgItem],
    flavour: Flavour,
    version: str | None,
    by_go_name: dict[str, FlagDef],
) -> Finding:
    where = _origin(workload, error.argument.where)
    text = error.argument.text
    exits = f'the agent exits with "{error.message}" and its pod crash-loops'
    if error.kind == UNDEFINED:
        definition = by_go_name.get(error.name)
        if definition is not None and definition.since:
            return finding_at(
                "MASQ049",
                where,
                f"{text}: {_release(flavour, version)} has no --{error.name} (added in "
                f"{definition.since}): {exits}",
            )
        if error.name in flavour.logging_flags(None):
            return finding_at(
                "MASQ049",
                where,
                f"{text}: {_release(flavour, version)} has no logging flag -{error.name} "
                f"(newer releases have): {exits}",
            )
        written, _, value = error.name.partition(" ")
        if value and (written in by_go_name or written in flavour.logging_flags(version)):
            exits += f" (one args item holds both words: write --{written}={value.strip()})"
        return finding_at("MASQ050", where, f"{text}: {flavour.title} has no such flag: {exits}")
    if error.kind == HELP:
        return finding_at(
            "MASQ051",
            where,
            f"{text}: the agent prints its usage and exits instead of running, so its pod "
            "restarts in a loop",
        )
    return finding_at("MASQ051", where, f"{text}: {exits}")


def _stop_finding(
    workload: KubeObject, parsed: FlagParse[ArgItem], defined: dict[str, str]
) -> Finding | None:
    ignored = ", ".join(a.text for a in parsed.ignored)
    if parsed.terminator is not None:
        if not parsed.ignored:
            return None
        return finding_at(
            "MASQ052",
            _origin(workload, parsed.terminator.where),
            f"-- ends the agent's flags: it ignores every argument after it ({ignored})",
        )
    positional = parsed.positional
    if positional is None:
        return None
    rest = f"it and every argument after it ({ignored})" if ignored else "it"
    stops = f"Go's flag parsing stops at {go_quote(positional.text)}, so the agent ignores {rest}"
    last = parsed.last
    if last is not None and last.kind == BOOL and "=" not in last.argument.text:
        name = last.argument.text
        meant = f"{name}={positional.text}"
        fix = f" (write {meant})" if parse_bool(positional.text) is not None else ""
        return finding_at(
            "MASQ052",
            _origin(workload, positional.where),
            f"{name} {positional.text}: a bool flag takes no separate value, so {name} is "
            f"true; {stops}{fix}",
        )
    if positional.text.split("=", 1)[0] in defined:
        stops += f" (did you mean --{positional.text}?)"
    return finding_at("MASQ052", _origin(workload, positional.where), stops)
