"""masqctl diff: the rendered rules against a node's live chain, or a dump."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from masqctl.errors import UsageError, require_choice

if TYPE_CHECKING:
    from masqctl.diff import DiffRequest

OUTPUTS = ("text", "json", "summary", "prometheus")


def run(
    *,
    config: list[str] | None = None,
    optional_config: bool = False,
    dump: str | None = None,
    dump6: str | None = None,
    cni_conf: str | None = None,
    output_format: str = "text",
    metrics_file: str | None = None,
    watch: str | None = None,
    iptables_mode: str = "auto",
    **agent: object,
) -> int:
    """Print the drift; exit 0 in sync, 1 drift (with --watch: check until stopped)."""
    from masqctl.commands.common import agent_inputs, agent_setup
    from masqctl.diff import DiffRequest

    flavour, flags = agent_setup(agent)
    if cni_conf is not None:
        from masqctl.hns.diff import check_cni_options, run_cni_diff

        check_cni_options(dump, dump6, metrics_file, watch)
        text, code = run_cni_diff(cni_conf, config, flags, output_format)
        sys.stdout.write(text)
        return code
    require_choice("output", output_format, OUTPUTS)
    if metrics_file is not None and output_format == "text":
        raise UsageError("--metrics-file goes with --output prometheus, json or summary")
    if watch is not None and "-" in (*(config or ()), dump, dump6):
        raise UsageError("--watch reads its inputs again every round: give files, not - (stdin)")
    inputs = agent_inputs(config, agent)
    request = DiffRequest(inputs, dump, dump6, iptables_mode, output_format)
    watching = watch is not None

    def once() -> int:
        if optional_config:
            from masqctl.check import present_configs

            paths = tuple(present_configs(config))
        else:
            paths = tuple(config or ())
        checked = replace(request, agent=replace(inputs, config_paths=paths))
        return check_once(checked, flavour.name, metrics_file, watching)

    if not watching:
        return once()
    from masqctl.entry import fail
    from masqctl.watch import interval_seconds, repeat

    return repeat(once, interval_seconds(watch), fail)


def check_once(request: DiffRequest, flavour: str, metrics_file: str | None, watching: bool) -> int:
    """One check, printed as asked and its metrics written; its exit code."""
    if request.dump_path is None:
        from masqctl.netfilter.backend import detect_mode

        detect_mode.cache_clear()  # every check decides nft or legacy afresh
    if request.output_format == "text":
        from masqctl.diff import run_diff

        text, code = run_diff(request)
        sys.stdout.write(text)
        return code
    from masqctl.check import run_check
    from masqctl.entry import fail

    check = run_check(request, flavour)
    code = check.code
    if check.error is not None:
        code = fail(str(check.error))  # before the result: the log's last line is the result
    if metrics_file is None or request.output_format != "prometheus":
        sys.stdout.write(rendered(check.document, request.output_format, watching))
    if metrics_file is not None:
        from masqctl.metrics import exposition, write_atomically

        write_atomically(metrics_file, exposition(check.document))
    return code


def rendered(document: dict[str, Any], output_format: str, watching: bool) -> str:
    """The check's document as json (one line a check when watching: a log line each),
    summary (one line) or prometheus (the text format)."""
    if output_format == "json":
        if watching:
            return json.dumps(document, separators=(",", ":")) + "\n"
        return json.dumps(document, indent=2) + "\n"
    if output_format == "summary":
        from masqctl.check import summary_line

        return summary_line(document) + "\n"
    from masqctl.metrics import exposition

    return exposition(document)
