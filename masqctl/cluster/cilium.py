"""Cilium: the ``cilium-agent`` container of the ``cilium`` DaemonSet runs the BPF
ip-masq-agent when its ``cilium-config`` ConfigMap says ``enable-ip-masq-agent: "true"``.

cilium-agent reads its settings from cilium-config (its ``--config-dir``), not from Go
flags: the flavour's flags are cilium-config keys of the same names, read as
strconv.ParseBool reads them.  cilium-agent refuses to start with the ip-masq-agent on
unless IPv4 or IPv6 masquerading and BPF masquerading are on (daemon/cmd/daemon.go:
``BPF ip-masq-agent requires ...``); the defaults are on, on and off.
"""

from __future__ import annotations

import posixpath

from masqctl.cluster.goflag import BOOL, parse_bool
from masqctl.cluster.model import CiliumSettings
from masqctl.cluster.objects import ClusterObjects, KubeObject
from masqctl.config.nodes import SEQ, Node
from masqctl.config.sources import scalar_text
from masqctl.findings import Finding
from masqctl.flavours.base import Flavour
from masqctl.lint.report import finding_at
from masqctl.model import Origin

FLAVOUR_NAME = "cilium"
SETTINGS_CONFIGMAP = "cilium-config"
AGENT_PROGRAM = "cilium-agent"

ENABLE_IP_MASQ_AGENT = "enable-ip-masq-agent"
ENABLE_IPV4_MASQUERADE = "enable-ipv4-masquerade"
ENABLE_IPV6_MASQUERADE = "enable-ipv6-masquerade"
ENABLE_BPF_MASQUERADE = "enable-bpf-masquerade"
#: IPv6 itself: without it there is no IPv6 masquerading, so no IPv6 map (the chart
#: writes enable-ipv6-masquerade "true" on IPv4-only clusters too).
ENABLE_IPV6 = "enable-ipv6"
#: cilium-agent's own defaults (daemon/cmd flags) for the keys the prerequisite reads.
DEFAULTS = {
    ENABLE_IP_MASQ_AGENT: False,
    ENABLE_IPV4_MASQUERADE: True,
    ENABLE_IPV6_MASQUERADE: True,
    ENABLE_IPV6: False,
    ENABLE_BPF_MASQUERADE: False,
}
PREREQUISITE = (
    'BPF ip-masq-agent requires (--enable-ipv4-masquerade="true" or '
    '--enable-ipv6-masquerade="true") and --enable-bpf-masquerade="true"'
)


def is_cilium(flavour: Flavour) -> bool:
    """Whether the flavour is Cilium's, whose settings come from cilium-config."""
    return flavour.name == FLAVOUR_NAME


def is_cilium_agent(container: Node) -> bool:
    """Whether a container of Cilium's image is cilium-agent (not an init step or tool)."""
    command = container.get("command")
    if command is not None and command.kind == SEQ and command.value:
        return posixpath.basename(scalar_text(command.value[0])) == AGENT_PROGRAM
    return scalar_text(container.get("name")) == AGENT_PROGRAM


def read_settings(objects: ClusterObjects, namespace: str) -> CiliumSettings:
    """The cilium-config keys of ``namespace`` (all None when it is not among the inputs)."""
    found = objects.configmap(SETTINGS_CONFIGMAP, namespace)
    if found is None:
        return CiliumSettings()
    data = found.node.get("data")
    nodes = {str(key.value): value for key, value in (data.items() if data is not None else [])}
    return CiliumSettings(node=found.node, file=found.file, nodes=nodes)


def setting(settings: CiliumSettings, key: str) -> bool:
    """A bool setting as cilium-agent takes it: the key's value, else its default."""
    node = settings.nodes.get(key)
    parsed = parse_bool(scalar_text(node)) if node is not None else None
    return DEFAULTS[key] if parsed is None else parsed


def settings_flags(
    settings: CiliumSettings, flavour: Flavour
) -> tuple[dict[str, object], dict[str, Origin]]:
    """The flavour's flags cilium-config sets (``{dest: value}``) and where."""
    flags: dict[str, object] = {}
    origins: dict[str, Origin] = {}
    for flag in flavour.flags:
        node = settings.nodes.get(flag.go_name)
        if node is None or settings.file is None:
            continue
        value = parse_bool(scalar_text(node)) if flag.kind == BOOL else scalar_text(node)
        if value is not None:
            flags[flag.dest] = value
            origins[flag.dest] = Origin(settings.file, node.line, node.column, flag.go_name)
    if flags.get("enable_ipv6_masquerade") and not setting(settings, ENABLE_IPV6):
        flags["enable_ipv6_masquerade"] = False
    return flags, origins


def settings_findings(
    workload: KubeObject, container: Node, settings: CiliumSettings
) -> list[Finding]:
    """cilium-config missing, or the ip-masq-agent on without what it requires."""
    if settings.node is None or settings.file is None:
        where = (
            f"{workload.namespace}/{SETTINGS_CONFIGMAP}"
            if workload.namespace
            else SETTINGS_CONFIGMAP
        )
        return [
            finding_at(
                "MASQ040",
                workload.origin(container, "containers"),
                f"ConfigMap {where} is not among the inputs: masqctl cannot tell whether "
                f"cilium-agent runs its ip-masq-agent ({ENABLE_IP_MASQ_AGENT}) nor with which "
                "masquerade settings",
            )
        ]
    masquerading = setting(settings, ENABLE_IPV4_MASQUERADE) or setting(
        settings, ENABLE_IPV6_MASQUERADE
    )
    if masquerading and setting(settings, ENABLE_BPF_MASQUERADE):
        return []
    node = settings.nodes[ENABLE_IP_MASQ_AGENT]
    return [
        finding_at(
            "MASQ056",
            Origin(settings.file, node.line, node.column, ENABLE_IP_MASQ_AGENT),
            f"cilium-config turns the ip-masq-agent on, but {_why_off(settings)}: cilium-agent "
            f'refuses to start ("{PREREQUISITE}")',
        )
    ]


def _why_off(settings: CiliumSettings) -> str:
    reasons = []
    if not setting(settings, ENABLE_BPF_MASQUERADE):
        written = settings.enable_bpf_masquerade
        reasons.append(
            f'{ENABLE_BPF_MASQUERADE} is "{written}"'
            if written is not None
            else f"{ENABLE_BPF_MASQUERADE} is not set (off by default)"
        )
    if not (setting(settings, ENABLE_IPV4_MASQUERADE) or setting(settings, ENABLE_IPV6_MASQUERADE)):
        reasons.append(f"both {ENABLE_IPV4_MASQUERADE} and {ENABLE_IPV6_MASQUERADE} are off")
    return " and ".join(reasons)


def agent_off_finding(workload: KubeObject, settings: CiliumSettings, mount: Node) -> Finding:
    """The ip-masq-agent config is mounted, but cilium-config leaves the agent off."""
    written = settings.enable_ip_masq_agent
    node = settings.nodes.get(ENABLE_IP_MASQ_AGENT) or settings.node
    assert node is not None
    state = (
        f'says {ENABLE_IP_MASQ_AGENT}: "{written}"'
        if written is not None
        else f"has no {ENABLE_IP_MASQ_AGENT} key (off by default)"
    )
    return finding_at(
        "MASQ055",
        workload.origin(mount, "volumeMounts"),
        f"cilium-agent mounts an ip-masq-agent config, but {SETTINGS_CONFIGMAP} {state} "
        f"({settings.file}:{node.line}): the BPF ip-masq-agent does not run and the config is "
        "never read",
    )
