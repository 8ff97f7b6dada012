"""Every command's options and arguments, declared once, as plain data.

Two parsers are built from these declarations: the fast parser of :mod:`masqctl.entry`
(no Typer import, for the calls people and CI make) and the Typer app of
:mod:`masqctl.cli` (``--help``, shell completion, usage errors).  They cannot drift
apart: neither lists an option of its own.  Nothing heavy is imported here.

Values are checked by the commands themselves (``require_choice`` and friends), never
by a parser, so both paths give the same errors.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ``--name VALUE`` or ``--name=VALUE``; the last one given wins.
VALUE = "value"
#: ``--name VALUE``, repeatable; the values as a list (None when never given).
MULTI = "multi"
#: ``--name``: True when given, else False.
SWITCH = "switch"
#: ``--name`` / ``--no-name``: True or False, None when neither is given.
TOGGLE = "toggle"


@dataclass(frozen=True, slots=True)
class Option:
    """One option: its keyword, spellings, kind, help and default."""

    dest: str
    names: tuple[str, ...]
    help: str
    kind: str = VALUE
    default: object = None
    #: The spellings that set a TOGGLE to False.
    off_names: tuple[str, ...] = ()
    metavar: str = ""


@dataclass(frozen=True, slots=True)
class Arguments:
    """A command's positional arguments (any number of them), as one list."""

    dest: str
    help: str
    metavar: str


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its name, help, options, arguments, and the function that runs it."""

    name: str
    help: str
    #: ``module:function``, called with every option as a keyword; returns the exit code.
    runner: str
    options: tuple[Option, ...]
    arguments: Arguments | None = None

    def option_named(self, name: str) -> Option | None:
        """The option spelt ``name`` (on or off spelling), or None."""
        for option in self.options:
            if name in option.names or name in option.off_names:
                return option
        return None


# ---- options several commands share -------------------------------------------------

CONFIG = Option(
    "config",
    ("--config", "-c"),
    "Agent config (YAML or JSON), ConfigMap, DaemonSet or kubectl/helm output, or the "
    "agent's config directory (the files of it the agent reads); '-' is stdin; repeatable "
    "(Azure v2 reads several files). Default: the agent's built-in defaults.",
    MULTI,
    metavar="PATH",
)
FLAVOUR = Option(
    "flavour",
    ("--flavour", "--flavor"),
    "Which agent reads the config: upstream, gke, azure-v2 or cilium (default: from the "
    "DaemonSet's image, else $MASQCTL_FLAVOUR, else upstream).",
    metavar="NAME",
)
MASQ_CHAIN = Option(
    "masq_chain", ("--masq-chain",), "Agent flag: name of the nat chain.", metavar="CHAIN"
)
NOMASQ_ALL_RESERVED_RANGES = Option(
    "nomasq_all_reserved_ranges",
    ("--nomasq-all-reserved-ranges",),
    "Agent flag: also leave all reserved IPv4 ranges unmasqueraded by default.",
    TOGGLE,
    off_names=("--no-nomasq-all-reserved-ranges",),
)
ENABLE_IPV6 = Option(
    "enable_ipv6",
    ("--enable-ipv6",),
    "Agent flag: enable IPv6 (ip6tables rules).",
    TOGGLE,
    off_names=("--no-enable-ipv6",),
)
RANDOM_FULLY = Option(
    "random_fully",
    ("--random-fully",),
    "Agent flag: MASQUERADE --random-fully (upstream, gke; default on).",
    TOGGLE,
    off_names=("--no-random-fully",),
)
TO_PORTS = Option(
    "to_ports",
    ("--to-ports",),
    "Agent flag: source port ranges for MASQUERADE, e.g. 1024-29999,32768-65535 (upstream, gke).",
    metavar="PORTS",
)
RESYNC_INTERVAL = Option(
    "resync_interval",
    ("--resync-interval",),
    "Agent flag (azure-v2): seconds between syncs.",
    metavar="SECONDS",
)
ENABLE_IPV4_MASQUERADE = Option(
    "enable_ipv4_masquerade",
    ("--enable-ipv4-masquerade",),
    "Cilium setting enable-ipv4-masquerade (default on): the IPv4 map exists.",
    TOGGLE,
    off_names=("--no-enable-ipv4-masquerade",),
)
ENABLE_IPV6_MASQUERADE = Option(
    "enable_ipv6_masquerade",
    ("--enable-ipv6-masquerade",),
    "Cilium setting enable-ipv6-masquerade (default off): the IPv6 map exists.",
    TOGGLE,
    off_names=("--no-enable-ipv6-masquerade",),
)

IPV4_NATIVE_ROUTING_CIDR = Option(
    "ipv4_native_routing_cidr",
    ("--ipv4-native-routing-cidr",),
    "Cilium setting ipv4-native-routing-cidr: traffic to it is not masqueraded.",
    metavar="CIDR",
)

#: The agent's own flags: every flavour reads the ones it has and refuses the others.
AGENT_FLAGS = (
    MASQ_CHAIN,
    NOMASQ_ALL_RESERVED_RANGES,
    ENABLE_IPV6,
    RANDOM_FULLY,
    TO_PORTS,
    RESYNC_INTERVAL,
    ENABLE_IPV4_MASQUERADE,
    ENABLE_IPV6_MASQUERADE,
    IPV4_NATIVE_ROUTING_CIDR,
)
#: What every command that works from a config takes.
AGENT_INPUTS = (CONFIG, FLAVOUR, *AGENT_FLAGS)

IPTABLES_MODE = Option(
    "iptables_mode",
    ("--iptables-mode",),
    "auto (as Kubernetes' iptables-wrapper decides), nft or legacy.",
    default="auto",
    metavar="MODE",
)


def _output(choices: str, default: object = "text") -> Option:
    return Option(
        "output_format", ("--output", "--format", "-o"), choices, default=default, metavar="FORMAT"
    )


# ---- the commands -------------------------------------------------------------------

VALIDATE = Command(
    "validate",
    "Check configs, ConfigMaps and DaemonSets as the agent reads them (exit 1 on errors).",
    "masqctl.commands.validate:run",
    (
        _output(
            "One of text, json, github, sarif, gitlab, junit (github when GITHUB_ACTIONS=true).",
            default=None,
        ),
        Option("strict", ("--strict",), "Warnings fail too.", SWITCH, False),
        Option("select", ("--select",), "Only these checks, e.g. MASQ003,MASQ012.", default=""),
        Option("ignore", ("--ignore",), "Skip these checks.", default=""),
        Option(
            "output_file",
            ("--output-file",),
            "Write the report here instead of stdout.",
            metavar="PATH",
        ),
        Option(
            "skip_unrelated",
            ("--skip-unrelated",),
            "Skip files that are neither manifests nor agent configs (as for files found "
            "in directories); for pre-commit and other whole-repo runs.",
            SWITCH,
            False,
        ),
        Option(
            "list_checks",
            ("--list-checks",),
            "Print every check (and the flavours it applies to) and exit.",
            SWITCH,
            False,
        ),
        FLAVOUR,
        *AGENT_FLAGS,
    ),
    Arguments(
        "paths", "Configs, manifests, Lists, directories or Helm values; '-' is stdin.", "PATH"
    ),
)

RENDER = Command(
    "render",
    "Print exactly what the agent writes (iptables-restore payload, save or list form, "
    "Cilium map, Windows policy).",
    "masqctl.commands.render:run",
    (
        *AGENT_INPUTS,
        Option(
            "family",
            ("--family",),
            "ipv4 (iptables; the default) or ipv6 (ip6tables, needs --enable-ipv6); for "
            "Cilium's maps, one family's map (default both).",
            metavar="FAMILY",
        ),
        _output(
            "iptables (the restore payload), save (as iptables-save prints it), list (as "
            "iptables -L prints it), json (the Ruleset), cilium-map, windows-v1, windows-v2.",
            default=None,
        ),
        Option(
            "numeric", ("--numeric", "-n"), "With --format list: as iptables -L -n.", SWITCH, False
        ),
        Option(
            "verbose",
            ("--verbose", "-v"),
            "With --format list: as iptables -L -v (zero counters; with --numeric, -L -n -v).",
            SWITCH,
            False,
        ),
        Option(
            "cni_conf",
            ("--cni-conf",),
            "With windows formats: print this CNI config with its OutBoundNAT exceptions replaced.",
            metavar="FILE",
        ),
        Option(
            "write",
            ("--write",),
            "With --cni-conf: update the file in place (backup kept).",
            SWITCH,
            False,
        ),
    ),
)

DIFF = Command(
    "diff",
    "Compare the live chain (or a dump, or a Cilium map listing) with the config: exit 0 "
    "in sync, 1 drift.",
    "masqctl.commands.diff:run",
    (
        *AGENT_INPUTS,
        Option(
            "optional_config",
            ("--optional-config",),
            "A --config file that does not exist is left out (none left: the agent's "
            "defaults), as the agent reads a ConfigMap mounted with optional: true.",
            SWITCH,
            False,
        ),
        Option(
            "dump",
            ("--from",),
            "Compare with this iptables-save dump, iptables -S/-L output or cilium-dbg bpf "
            "ipmasq list output instead of the live table ('-' is stdin; no root needed).",
            metavar="FILE",
        ),
        Option(
            "dump6",
            ("--from6",),
            "With --enable-ipv6 and --from: the ip6tables dump.",
            metavar="FILE",
        ),
        Option(
            "cni_conf",
            ("--cni-conf",),
            "Compare this Windows CNI config's OutBoundNAT exceptions instead.",
            metavar="FILE",
        ),
        _output(
            "text, json, summary (one line, for node-problem-detector), or prometheus "
            "(node_exporter textfile format)."
        ),
        Option(
            "metrics_file",
            ("--metrics-file",),
            "Write the metrics here atomically, for node_exporter's textfile collector "
            "(with --output prometheus, json or summary).",
            metavar="PATH",
        ),
        Option(
            "watch",
            ("--watch",),
            "Repeat the check every SECONDS until SIGTERM, printing each result (JSON: "
            "one line each) and rewriting the metrics file (for a DaemonSet).",
            metavar="SECONDS",
        ),
        IPTABLES_MODE,
    ),
)

APPLY = Command(
    "apply",
    "Write the agent's chain and jump once (backup, one transaction, verify, roll back).",
    "masqctl.commands.apply:run",
    (
        *AGENT_INPUTS,
        Option(
            "dry_run",
            ("--dry-run",),
            "Print the plan and the exact payload; write nothing.",
            SWITCH,
            False,
        ),
        Option(
            "backup",
            ("--backup",),
            "Back up what apply changes here (IPv6: PATH.ipv6). Default: a new file "
            "under $MASQCTL_STATE_DIR/backups (/var/lib/masqctl/backups).",
            metavar="PATH",
        ),
        Option(
            "remove",
            ("--remove",),
            "Delete the chain and every POSTROUTING jump to it.",
            SWITCH,
            False,
        ),
        _output("text, or json."),
        IPTABLES_MODE,
    ),
)

EXPLAIN = Command(
    "explain",
    "Say whether traffic from a pod to each address is masqueraded, and which rule decides.",
    "masqctl.commands.explain:run",
    (
        *AGENT_INPUTS,
        _output("text, or json (JSON Lines)."),
        Option("live", ("--live",), "Walk this node's nat POSTROUTING.", SWITCH, False),
        Option(
            "dump",
            ("--from",),
            "Walk the nat POSTROUTING of this iptables-save dump or iptables -S/-L "
            "output ('-' is stdin), or answer from a cilium-dbg bpf ipmasq list.",
            metavar="FILE",
        ),
        Option(
            "local_addresses",
            ("--local-address",),
            "An address local to the node (repeatable); --live reads them from 'ip route "
            "show table local'.",
            MULTI,
            metavar="ADDRESS",
        ),
        Option(
            "source",
            ("--source",),
            "Live mode: the pod's address, for -s matches.",
            metavar="ADDRESS",
        ),
        Option(
            "protocol",
            ("--protocol",),
            "Live mode: the packet's protocol, for -p matches.",
            metavar="PROTOCOL",
        ),
        Option(
            "mark",
            ("--mark",),
            "Live mode: the packet mark (default 0, as for pod traffic).",
            metavar="MARK",
        ),
        Option(
            "cni_conf",
            ("--cni-conf",),
            "Explain for a Windows node: this CNI config's OutBoundNAT exceptions.",
            metavar="FILE",
        ),
        IPTABLES_MODE,
    ),
    Arguments("addresses", "Addresses or CIDRs; '-' reads one a line from stdin.", "ADDRESS"),
)

SHOW = Command(
    "show",
    "Print the effective config exactly as the agent logs it ('Using config: ...').",
    "masqctl.commands.show:run",
    (
        *AGENT_INPUTS,
        _output("text (the agent's log JSON), json, or yaml (a canonical config file)."),
        Option(
            "from_log",
            ("--from-log",),
            "Compare with the last 'Using config:' line of this agent log (kubectl logs "
            "output; '-' is stdin): exit 0 when the agent runs what the config says.",
            metavar="FILE",
        ),
    ),
)

GENERATE = Command(
    "generate",
    "Write the smallest config with exactly the meaning you say (masquerade only these; "
    "non-masquerade with exceptions).",
    "masqctl.commands.generate:run",
    (
        Option(
            "masquerade_only",
            ("--masquerade-only",),
            "Masquerade traffic to these CIDRs only (repeatable or comma-separated).",
            MULTI,
            metavar="CIDR",
        ),
        Option(
            "non_masquerade",
            ("--non-masquerade",),
            "Leave traffic to these CIDRs unmasqueraded (repeatable or comma-separated).",
            MULTI,
            metavar="CIDR",
        ),
        Option(
            "exceptions",
            ("--except",),
            "With --non-masquerade or --from: masquerade these after all.",
            MULTI,
            metavar="CIDR",
        ),
        Option(
            "start_from",
            ("--from",),
            "Start from this config (its non-masquerade list).",
            metavar="PATH",
        ),
        FLAVOUR,
        ENABLE_IPV6,
        NOMASQ_ALL_RESERVED_RANGES,
        _output(
            "config (a raw agent config), configmap, helm-values (Cilium), windows-v1, "
            "windows-v2, or json.",
            default="config",
        ),
    ),
)

FLEET = Command(
    "fleet",
    "Summarise many nodes' 'masqctl diff --output json' results (exit 1 when a node "
    "drifted, 2 when one has no verdict).",
    "masqctl.commands.fleet:run",
    (
        _output("text, or json."),
        Option(
            "nodes",
            ("--nodes",),
            "The nodes there should be results for, one a line ('kubectl get nodes -o "
            "name' output): a node without one shows as 'no result'.",
            metavar="FILE",
        ),
    ),
    Arguments(
        "paths",
        "Result files or directories; '-' (the default) reads 'kubectl logs --prefix' output.",
        "PATH",
    ),
)

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (VALIDATE, RENDER, DIFF, APPLY, EXPLAIN, SHOW, GENERATE, FLEET)
}

#: The agent flag options' keywords, as the commands receive them.
AGENT_FLAG_DESTS = tuple(option.dest for option in AGENT_FLAGS)
