"""masqctl diff: the rendered rules against a node's live chain, or a dump."""

from __future__ import annotations

import sys


def run(
    *,
    config: list[str] | None = None,
    dump: str | None = None,
    dump6: str | None = None,
    cni_conf: str | None = None,
    output_format: str = "text",
    metrics_file: str | None = None,
    watch: str | None = None,
    iptables_mode: str = "auto",
    **agent: object,
) -> int:
    """Print the drift; exit 0 in sync, 1 drift."""
    from masqctl.commands.common import agent_setup
    from masqctl.diff import DiffRequest, run_diff

    flavour, flags = agent_setup(agent)
    if cni_conf is not None:
        from masqctl.hns.diff import check_cni_options, run_cni_diff

        check_cni_options(dump, dump6, metrics_file, watch)
        text, code = run_cni_diff(cni_conf, config, flags, output_format)
        sys.stdout.write(text)
        return code
    text, code = run_diff(
        DiffRequest(config, flags, dump, dump6, iptables_mode, output_format, flavour)
    )
    sys.stdout.write(text)
    return code
