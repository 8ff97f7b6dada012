"""The Typer app: argument parsing and printing only; the work lives in the modules below.

Heavy modules are imported inside the commands, so ``--help`` stays quick.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from masqctl import __version__
from masqctl.agent import DEFAULT_CHAIN, AgentFlags
from masqctl.entry import VALIDATE_FORMATS, guarded, run_apply_command, run_validate

app = typer.Typer(
    name="masqctl",
    help="Validate, render, diff, apply and explain ip-masq-agent configs, exactly as the "
    "agent reads them.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        help="Agent config (YAML or JSON) or ConfigMap manifest; '-' is stdin. "
        "Default: the agent's built-in defaults.",
    ),
]
MasqChainOption = Annotated[
    str, typer.Option("--masq-chain", help="Agent flag: name of the nat chain.")
]
ReservedOption = Annotated[
    bool,
    typer.Option(
        "--nomasq-all-reserved-ranges",
        help="Agent flag: also leave all reserved IPv4 ranges unmasqueraded by default.",
    ),
]
IPv6Option = Annotated[bool, typer.Option("--enable-ipv6", help="Agent flag: enable IPv6.")]
RandomFullyOption = Annotated[
    bool,
    typer.Option("--random-fully/--no-random-fully", help="Agent flag: MASQUERADE --random-fully."),
]
ToPortsOption = Annotated[
    str,
    typer.Option(
        "--to-ports",
        help="Agent flag: source port ranges for MASQUERADE, e.g. 1024-29999,32768-65535.",
    ),
]
TextOrJsonOption = Annotated[str, typer.Option("--output", "--format", "-o", help="text, or json.")]
IptablesModeOption = Annotated[
    str,
    typer.Option("--iptables-mode", help="auto (as Kubernetes' iptables-wrapper), nft or legacy."),
]


def _flags(
    masq_chain: str, reserved: bool, ipv6: bool, random_fully: bool, to_ports: str
) -> AgentFlags:
    return AgentFlags(
        masq_chain=masq_chain,
        nomasq_all_reserved_ranges=reserved,
        enable_ipv6=ipv6,
        random_fully=random_fully,
        to_ports=to_ports,
    )


def _exit(code: int) -> None:
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"masqctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """masqctl: the operator's toolkit for the Kubernetes ip-masq-agent."""


@app.command()
def validate(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Configs, ConfigMap manifests, Lists or directories; '-' is stdin."),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "--output",
            "-o",
            help=f"One of {', '.join(VALIDATE_FORMATS)} (github when GITHUB_ACTIONS=true).",
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    select: Annotated[
        str, typer.Option("--select", help="Only these checks, e.g. MASQ003,MASQ012.")
    ] = "",
    ignore: Annotated[str, typer.Option("--ignore", help="Skip these checks.")] = "",
    output_file: Annotated[
        str | None, typer.Option("--output-file", help="Write the report here instead of stdout.")
    ] = None,
    skip_unrelated: Annotated[
        bool,
        typer.Option(
            "--skip-unrelated",
            help="Skip files that are neither manifests nor agent configs (as for files "
            "found in directories); for pre-commit and other whole-repo runs.",
        ),
    ] = False,
    list_checks: Annotated[
        bool, typer.Option("--list-checks", help="Print every check and exit.")
    ] = False,
    enable_ipv6: IPv6Option = False,
    nomasq_all_reserved_ranges: ReservedOption = False,
) -> None:
    """Check configs and ConfigMaps as the agent reads them (exit 1 on errors)."""
    if list_checks:
        from masqctl.lint.catalogue import CHECKS

        for check in CHECKS.values():
            typer.echo(f"{check.id}  {check.name:28} {check.severity:8} {check.summary}")
        _exit(0)
    _exit(
        guarded(
            run_validate,
            paths or [],
            output_format=output_format,
            strict=strict,
            enable_ipv6=enable_ipv6,
            nomasq_all_reserved_ranges=nomasq_all_reserved_ranges,
            select=select,
            ignore=ignore,
            output_file=output_file,
            skip_unrelated=skip_unrelated,
        )
    )


@app.command()
def render(
    config: ConfigOption = None,
    family: Annotated[
        str,
        typer.Option("--family", help="ipv4 (iptables) or ipv6 (ip6tables, needs --enable-ipv6)."),
    ] = "ipv4",
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "--output",
            "-o",
            help="iptables (the restore payload), json (the Ruleset), windows-v1, windows-v2.",
        ),
    ] = "iptables",
    cni_conf: Annotated[
        str | None,
        typer.Option(
            "--cni-conf",
            help="With windows formats: print this CNI config with its "
            "OutBoundNAT exceptions replaced.",
        ),
    ] = None,
    write: Annotated[
        bool,
        typer.Option("--write", help="With --cni-conf: update the file in place (backup kept)."),
    ] = False,
    masq_chain: MasqChainOption = DEFAULT_CHAIN,
    nomasq_all_reserved_ranges: ReservedOption = False,
    enable_ipv6: IPv6Option = False,
    random_fully: RandomFullyOption = True,
    to_ports: ToPortsOption = "",
) -> None:
    """Print exactly what the agent would write (iptables-restore payload or Windows policy)."""
    flags = _flags(masq_chain, nomasq_all_reserved_ranges, enable_ipv6, random_fully, to_ports)

    def body() -> int:
        from masqctl.commands import render_output

        sys.stdout.write(render_output(config, flags, family, output_format, cni_conf, write))
        return 0

    _exit(guarded(body))


@app.command()
def explain(
    addresses: Annotated[
        list[str] | None,
        typer.Argument(help="Addresses or CIDRs; '-' reads one a line from stdin."),
    ] = None,
    config: ConfigOption = None,
    output_format: Annotated[
        str, typer.Option("--output", "--format", "-o", help="text, or json (JSON Lines).")
    ] = "text",
    live: Annotated[
        bool, typer.Option("--live", help="Walk this node's nat POSTROUTING (iptables-save).")
    ] = False,
    dump: Annotated[
        str | None,
        typer.Option("--from", help="Walk the nat POSTROUTING of this iptables-save dump."),
    ] = None,
    local_addresses: Annotated[
        list[str] | None,
        typer.Option(
            "--local-address",
            help="An address local to the node (repeatable); "
            "--live reads them from 'ip route show table local'.",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Live mode: the pod's address, for -s matches."),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option("--protocol", help="Live mode: the packet's protocol, for -p matches."),
    ] = None,
    mark: Annotated[
        str | None,
        typer.Option("--mark", help="Live mode: the packet mark (default 0, as for pod traffic)."),
    ] = None,
    iptables_mode: IptablesModeOption = "auto",
    masq_chain: MasqChainOption = DEFAULT_CHAIN,
    nomasq_all_reserved_ranges: ReservedOption = False,
    enable_ipv6: IPv6Option = False,
    random_fully: RandomFullyOption = True,
    to_ports: ToPortsOption = "",
) -> None:
    """Say whether traffic from a pod to each address is masqueraded, and which rule decides."""
    flags = _flags(masq_chain, nomasq_all_reserved_ranges, enable_ipv6, random_fully, to_ports)

    def body() -> int:
        from masqctl.explain.command import ExplainRequest, parse_mark, run_explain

        return run_explain(
            ExplainRequest(
                addresses=addresses or [],
                flags=flags,
                config_path=config,
                output_format=output_format,
                live=live,
                dump_path=dump,
                local_addresses=local_addresses or [],
                source=source,
                protocol=protocol,
                mark=parse_mark(mark),
                iptables_mode=iptables_mode,
            )
        )

    _exit(guarded(body))


@app.command()
def diff(
    config: ConfigOption = None,
    dump: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Compare with this iptables-save dump instead of the live "
            "table ('-' is stdin; no root needed).",
        ),
    ] = None,
    dump6: Annotated[
        str | None,
        typer.Option("--from6", help="With --enable-ipv6 and --from: the ip6tables-save dump."),
    ] = None,
    output_format: TextOrJsonOption = "text",
    iptables_mode: IptablesModeOption = "auto",
    masq_chain: MasqChainOption = DEFAULT_CHAIN,
    nomasq_all_reserved_ranges: ReservedOption = False,
    enable_ipv6: IPv6Option = False,
    random_fully: RandomFullyOption = True,
    to_ports: ToPortsOption = "",
) -> None:
    """Compare the live chain (or a dump) with the config: exit 0 in sync, 1 drift."""
    flags = _flags(masq_chain, nomasq_all_reserved_ranges, enable_ipv6, random_fully, to_ports)

    def body() -> int:
        from masqctl.diff import DiffRequest, run_diff

        text, code = run_diff(DiffRequest(config, flags, dump, dump6, iptables_mode, output_format))
        sys.stdout.write(text)
        return code

    _exit(guarded(body))


@app.command()
def apply(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and the exact payload; write nothing.")
    ] = False,
    backup: Annotated[
        str | None,
        typer.Option(
            "--backup",
            help="Back the nat table up here before writing (IPv6: PATH.ipv6)."
            " Default: a new file under /var/lib/masqctl/backups.",
        ),
    ] = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="Delete the chain and every POSTROUTING jump to it.")
    ] = False,
    output_format: TextOrJsonOption = "text",
    iptables_mode: IptablesModeOption = "auto",
    masq_chain: MasqChainOption = DEFAULT_CHAIN,
    nomasq_all_reserved_ranges: ReservedOption = False,
    enable_ipv6: IPv6Option = False,
    random_fully: RandomFullyOption = True,
    to_ports: ToPortsOption = "",
) -> None:
    """Write the agent's chain and jump once (backup, one transaction, verify, roll back)."""
    _exit(
        guarded(
            run_apply_command,
            config=config,
            dry_run=dry_run,
            backup=backup,
            remove=remove,
            output_format=output_format,
            iptables_mode=iptables_mode,
            masq_chain=masq_chain,
            nomasq_all_reserved_ranges=nomasq_all_reserved_ranges,
            enable_ipv6=enable_ipv6,
            random_fully=random_fully,
            to_ports=to_ports,
        )
    )


def run_app(args: list[str]) -> int:
    """Run the Typer app on ``args``; returns the exit code instead of exiting."""
    try:
        app(args=args, prog_name="masqctl", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0
