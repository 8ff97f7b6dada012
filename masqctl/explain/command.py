"""explain's whole job, without Typer: build the explainer, answer, print."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from masqctl.agent_setup import AgentInputs
from masqctl.errors import TEXT_OR_JSON, UsageError, require_choice
from masqctl.explain.addresses import parse_target
from masqctl.explain.stream import Explainer, explain_arguments, explain_lines


@dataclass(frozen=True)
class ExplainRequest:
    """What the user asked: addresses, where the rules come from, and the assumptions."""

    addresses: Sequence[str]
    agent: AgentInputs = field(default_factory=AgentInputs)
    output_format: str = "text"
    live: bool = False
    dump_path: str | None = None
    local_addresses: Sequence[str] = ()
    source: str | None = None
    protocol: str | None = None
    #: The packet mark from --mark; None: assume 0 and say so.
    mark: int | None = None
    iptables_mode: str = "auto"


def build_explainer(request: ExplainRequest) -> Explainer:
    """Config mode by default; live mode with --live or --from."""
    if request.live or request.dump_path is not None:
        from masqctl.explain.live import live_explainer

        return live_explainer(request)
    from masqctl.commands.common import note_order
    from masqctl.explain.config_mode import ConfigExplainer

    setup = request.agent.resolve()
    ruleset = setup.ruleset()
    note_order(setup, ruleset)
    return ConfigExplainer(ruleset, request.local_addresses)


def check_request(request: ExplainRequest) -> None:
    require_choice("output", request.output_format, TEXT_OR_JSON)
    if not request.addresses:
        raise UsageError("give at least one ADDRESS, or '-' to read addresses from stdin")
    if request.addresses.count("-") > 1:
        raise UsageError("'-' (stdin) may be given once")
    if request.live and request.dump_path is not None:
        raise UsageError("--live and --from exclude each other")
    if request.agent.config_paths and (request.live or request.dump_path is not None):
        raise UsageError("--config explains the config; --live and --from explain a nat table")


def run_explain(
    request: ExplainRequest,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    explainer: Explainer | None = None,
) -> int:
    """Explain every address (with ``explainer``, or the one the request asks for);
    exit 0, or 2 (MasqctlError) for malformed input."""
    check_request(request)
    stdout = stdout or sys.stdout
    targets = [None if text == "-" else parse_target(text) for text in request.addresses]
    explainer = explainer or build_explainer(request)
    for target in targets:
        if target is None:
            stdout.flush()
            explain_lines(
                explainer,
                stdin or sys.stdin.buffer,
                request.output_format,
                stdout.buffer.write,
                _report,
            )
        else:
            explain_arguments(explainer, [target], request.output_format, stdout.write)
    stdout.flush()
    return 0


def _report(message: str) -> None:
    sys.stderr.write(f"masqctl: {message}\n")


def parse_mark(text: str | None) -> int | None:
    """--mark: a number in decimal or 0x hex, as iptables prints marks."""
    if text is None:
        return None
    try:
        value = int(text, 0)
    except ValueError:
        raise UsageError(f"--mark: {text!r} is not a number") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise UsageError(f"--mark: {text!r} is not a 32-bit mark")
    return value


def parse_protocol(text: str | None) -> str | None:
    """--protocol: a name (any case, /etc/protocols' too) or a number, as -p takes it."""
    if text is None:
        return None
    from masqctl.explain.matches import PROTOCOL_NAMES, protocol_key

    key = protocol_key(text)
    if key == "all":
        raise UsageError(f"--protocol {text!r}: give the packet's own protocol (tcp, udp, ...)")
    if not (key in PROTOCOL_NAMES.values() or (key.isdigit() and int(key) <= 255)):
        raise UsageError(f"--protocol {text!r} is not a protocol name or number")
    return key
