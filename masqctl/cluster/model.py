"""What masqctl knows about each agent the inputs deploy: the data find_agents returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from masqctl.config.nodes import Node
from masqctl.config.sources import scalar_text
from masqctl.findings import Finding
from masqctl.flavours.base import Flavour
from masqctl.model import Origin


@dataclass(frozen=True)
class MountedFile:
    """One file of the agent's config directory, and the ConfigMap key behind it.

    ``filename`` is its name in the directory (``ip-masq-agent`` in /etc/config); it
    comes from key ``key`` of ConfigMap ``configmap`` in ``namespace`` (the agent's, as
    pods mount only their own namespace's ConfigMaps).  ``node`` is where the DaemonSet
    declares it (the ``items`` entry, else the volume's ``configMap``), so findings about
    the wiring point there.  ``configmap_node`` and ``value`` are the ConfigMap object and
    its data value among the inputs (None when the ConfigMap is not among them), and
    ``configmap_file`` the input file that holds them: the config to validate with the
    agent's flags and flavour is ``value``.
    """

    filename: str
    configmap: str
    namespace: str
    key: str
    #: The volume source says ``optional: true`` (a missing ConfigMap or key is skipped).
    optional: bool
    #: The flavour reads this file (upstream and Cilium: ``ip-masq-agent`` only; Azure's
    #: v2 agent: every name starting with ``ip-masq``).
    read: bool
    node: Node
    configmap_node: Node | None = None
    value: Node | None = None
    configmap_file: str | None = None
    #: Mounted through ``subPath``: the kubelet never refreshes it when the ConfigMap
    #: changes, so the agent keeps reading the first version.
    sub_path: bool = False


@dataclass(frozen=True)
class CiliumSettings:
    """The ``cilium-config`` keys that decide what Cilium's ip-masq-agent does.

    Each property is the key's text as the ConfigMap has it (None: the key is absent, so
    cilium-agent uses its own default); ``node`` is the ConfigMap (None when it is not
    among the inputs, and every setting is then unknown).
    """

    node: Node | None = None
    file: str | None = None
    #: Each key's value node, by key (``enable-ip-masq-agent``, ...).
    nodes: dict[str, Node] = field(default_factory=dict)

    def text(self, key: str) -> str | None:
        """Key ``key``'s text, None when cilium-config has no such key."""
        return scalar_text(self.nodes[key]) if key in self.nodes else None

    @property
    def enable_ip_masq_agent(self) -> str | None:
        return self.text("enable-ip-masq-agent")

    @property
    def enable_ipv4_masquerade(self) -> str | None:
        return self.text("enable-ipv4-masquerade")

    @property
    def enable_ipv6_masquerade(self) -> str | None:
        return self.text("enable-ipv6-masquerade")

    @property
    def enable_bpf_masquerade(self) -> str | None:
        return self.text("enable-bpf-masquerade")

    @property
    def ipv4_native_routing_cidr(self) -> str | None:
        return self.text("ipv4-native-routing-cidr")


@dataclass
class AgentDeployment:
    """One agent container of one DaemonSet: what it runs with, and its wiring findings.

    ``flags`` holds the flags the command line (or, for Cilium, cilium-config) sets, as
    ``{FlagDef.dest: value}`` with the value already parsed (bool, int or str) and only
    for flags given: pass it to ``flavour.agent_flags(flags)`` for the AgentFlags the
    agent runs with.  ``flag_origins`` says where each came from (the ``args`` item);
    ``logging_flags`` are the logging library's flags given (Go name → text).

    ``files`` are the files the agent finds in its config directory, sorted by name as
    the agents list them, each saying whether the flavour reads it and which ConfigMap
    key it holds.  ``findings`` are the wiring checks (MASQ040–MASQ061), each pointing at
    the DaemonSet's lines (or the ConfigMap's).  ``exits`` is the finding why the
    container would exit at start-up (an unknown flag, a bad value), so nothing it reads
    matters; None when it starts.
    """

    file: str
    kind: str
    name: str
    namespace: str
    #: The DaemonSet object.
    node: Node
    container: str
    container_node: Node
    image: str
    flavour: Flavour
    #: The image tag (``v2.12.6-gke.15``), None when the image names no tag (a digest,
    #: or none): the flavour then assumes its newest release.
    version: str | None
    flags: dict[str, object] = field(default_factory=dict)
    flag_origins: dict[str, Origin] = field(default_factory=dict)
    logging_flags: dict[str, str] = field(default_factory=dict)
    #: ``command[0]`` when the container gives a command (None: the image's entrypoint).
    program: str | None = None
    #: The arguments the agent's flag parsing reads (argv[1:]), ``$(VAR)`` expanded.
    arguments: list[str] = field(default_factory=list)
    files: list[MountedFile] = field(default_factory=list)
    cilium: CiliumSettings | None = None
    findings: list[Finding] = field(default_factory=list)
    exits: Finding | None = None

    @property
    def starts(self) -> bool:
        """Whether the agent container gets past its start-up."""
        return self.exits is None

    @property
    def label(self) -> str:
        """``DaemonSet kube-system/ip-masq-agent``, as reports name the agent."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    @property
    def read_files(self) -> list[MountedFile]:
        """The files the agent reads, in the order it reads them."""
        return [mounted for mounted in self.files if mounted.read]


@dataclass
class ClusterAgents:
    """Every agent the inputs deploy, and the findings that belong to no one agent
    (agent images in workloads other than DaemonSets, Cilium with its ip-masq-agent off)."""

    deployments: list[AgentDeployment] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def all_findings(self) -> list[Finding]:
        """Every finding, the deployments' included, in file and line order."""
        findings = [*self.findings, *(f for d in self.deployments for f in d.findings)]
        return sorted(findings, key=lambda f: (f.file, f.line, f.column, f.rule))
