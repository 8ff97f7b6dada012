"""find_agents: every ip-masq-agent the inputs deploy, with what each runs with.

An agent is a container of a DaemonSet whose image is a flavour's (upstream, GKE and
Azure images by repository; Cilium's ``cilium-agent`` when cilium-config turns its
ip-masq-agent on).  Init containers are not agents (they run to completion before the
agent starts).  The agent's image in any other workload (Deployment, Pod, ...) gets one
info finding and no further reading: only a DaemonSet runs it on every node.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from masqctl.cluster import cilium
from masqctl.cluster.commandline import read_command_line
from masqctl.cluster.expand import container_environment
from masqctl.cluster.model import AgentDeployment, ClusterAgents
from masqctl.cluster.objects import ClusterObjects, KubeObject, node_at
from masqctl.cluster.scheduling import node_selection
from masqctl.cluster.volumes import WiringReader
from masqctl.config.nodes import MAP, SEQ, Node
from masqctl.config.sources import ReadFile, scalar_text
from masqctl.flavours import flavour_of_image
from masqctl.flavours.base import Flavour
from masqctl.lint.report import finding_at

DAEMONSET = "DaemonSet"
#: Where each workload kind keeps its pod spec.
POD_SPEC_PATHS = {
    DAEMONSET: ("spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
#: Per-architecture image names (``ip-masq-agent-amd64``), as older releases pushed them.
_ARCH_SUFFIX = re.compile(r"-(amd64|arm|arm64|ppc64le|s390x)$")


def find_agents(reads: Iterable[ReadFile]) -> ClusterAgents:
    """Every agent container of every DaemonSet among ``reads`` (what
    masqctl.config.sources.read_input returned for each input), read against the
    ConfigMaps among them all."""
    objects = ClusterObjects(reads)
    result = ClusterAgents()
    for workload in objects.objects:
        path = POD_SPEC_PATHS.get(workload.kind)
        pod_spec = node_at(workload.node, *path) if path else None
        if pod_spec is None or pod_spec.kind != MAP:
            continue
        for container in _containers(pod_spec):
            image = scalar_text(container.get("image"))
            flavour = agent_flavour(image)
            if flavour is None:
                continue
            if cilium.is_cilium(flavour) and not cilium.is_cilium_agent(container):
                continue
            if workload.kind != DAEMONSET:
                result.findings.append(
                    finding_at(
                        "MASQ054",
                        workload.origin(container.get("image"), "image"),
                        f"{workload.kind} {workload.label} runs {flavour.title} ({image}): only "
                        "a DaemonSet runs it on every node, so masqctl does not read its wiring",
                    )
                )
                continue
            _read_agent(result, workload, pod_spec, container, flavour, image, objects)
    return result


def agent_flavour(image: str) -> Flavour | None:
    """The flavour whose agent ``image`` is, per-architecture image names included."""
    flavour = flavour_of_image(image)
    if flavour is not None or not image:
        return flavour
    repository, _ = split_image(image)
    return flavour_of_image(_ARCH_SUFFIX.sub("", repository))


def split_image(image: str) -> tuple[str, str | None]:
    """``registry/path:tag@digest`` → (``registry/path``, ``tag``); no tag: None."""
    reference = image.split("@", 1)[0]
    head, _, last = reference.rpartition("/")
    if ":" in last:
        name, tag = last.rsplit(":", 1)
        return (f"{head}/{name}" if head else name), tag
    return reference, None


def _read_agent(
    result: ClusterAgents,
    workload: KubeObject,
    pod_spec: Node,
    container: Node,
    flavour: Flavour,
    image: str,
    objects: ClusterObjects,
) -> None:
    _, version = split_image(image)
    deployment = AgentDeployment(
        file=workload.file,
        kind=workload.kind,
        name=workload.name,
        namespace=workload.namespace,
        node=workload.node,
        container=scalar_text(container.get("name")),
        container_node=container,
        image=image,
        flavour=flavour,
        version=version,
    )
    if cilium.is_cilium(flavour):
        settings = cilium.read_settings(objects, workload.namespace)
        if settings.node is not None and not cilium.setting(settings, cilium.ENABLE_IP_MASQ_AGENT):
            mount = _config_mount(container, flavour)
            if mount is not None:
                result.findings.append(cilium.agent_off_finding(workload, settings, mount))
            return
        deployment.cilium = settings
        deployment.flags, deployment.flag_origins = cilium.settings_flags(settings, flavour)
        deployment.findings.extend(cilium.settings_findings(workload, container, settings))
        deployment.exits = next((f for f in deployment.findings if f.rule == "MASQ056"), None)
    else:
        env = container_environment(
            container, workload.namespace, objects.configmap_data(workload.namespace)
        )
        command_line = read_command_line(workload, container, flavour, version, env)
        deployment.flags = command_line.flags
        deployment.flag_origins = command_line.origins
        deployment.logging_flags = command_line.logging_flags
        deployment.program = command_line.program
        deployment.arguments = command_line.arguments
        deployment.exits = command_line.exits
        deployment.findings.extend(command_line.findings)
    wiring = WiringReader(workload, pod_spec, container, flavour, objects).read()
    deployment.files = wiring.files
    deployment.findings.extend(wiring.findings)
    selection = node_selection(workload, pod_spec)
    if selection is not None:
        deployment.findings.append(selection)
    deployment.findings.sort(key=lambda f: (f.file, f.line, f.column, f.rule))
    result.deployments.append(deployment)


def _containers(pod_spec: Node) -> list[Node]:
    containers = pod_spec.get("containers")
    if containers is None or containers.kind != SEQ:
        return []
    return [container for container in containers.value if container.kind == MAP]


def _config_mount(container: Node, flavour: Flavour) -> Node | None:
    """The container's volumeMount at the flavour's config directory, if any."""
    mounts = container.get("volumeMounts")
    for mount in mounts.value if mounts is not None and mounts.kind == SEQ else []:
        path = scalar_text(mount.get("mountPath"))
        if path and posixpath.normpath(path) == posixpath.normpath(flavour.config_dir):
            return mount
    return None
