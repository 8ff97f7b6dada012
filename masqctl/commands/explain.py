"""masqctl explain: masqueraded or not, and which rule decides."""

from __future__ import annotations


def run(
    *,
    addresses: list[str],
    config: list[str] | None = None,
    output_format: str = "text",
    live: bool = False,
    dump: str | None = None,
    local_addresses: list[str] | None = None,
    source: str | None = None,
    protocol: str | None = None,
    mark: str | None = None,
    cni_conf: str | None = None,
    iptables_mode: str = "auto",
    **agent: object,
) -> int:
    """Explain every address; exit 0 (malformed input exits 2)."""
    from masqctl.commands.common import agent_inputs
    from masqctl.explain.command import (
        ExplainRequest,
        parse_mark,
        parse_protocol,
        run_explain,
    )

    if cni_conf is not None:
        from masqctl.hns.explain import check_cni_options, cni_explainer

        check_cni_options(
            cni_conf, addresses, config, live, dump, local_addresses, source, protocol, mark
        )
        request = ExplainRequest(addresses=addresses, output_format=output_format)
        return run_explain(request, explainer=cni_explainer(cni_conf))
    return run_explain(
        ExplainRequest(
            addresses=addresses,
            agent=agent_inputs(config, agent),
            output_format=output_format,
            live=live,
            dump_path=dump,
            local_addresses=local_addresses or [],
            source=source,
            protocol=parse_protocol(protocol),
            mark=parse_mark(mark),
            iptables_mode=iptables_mode,
        )
    )
