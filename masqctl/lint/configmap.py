"""Checks of the ConfigMap around a config: would the upstream DaemonSet mount it?"""

from __future__ import annotations

from masqctl.config.sources import UPSTREAM_KEY, ConfigMapInfo
from masqctl.findings import Finding
from masqctl.lint.report import finding_at
from masqctl.model import Origin

EXPECTED_NAME = "ip-masq-agent"
EXPECTED_NAMESPACE = "kube-system"


def _origin(info: ConfigMapInfo, file: str, key: str) -> Origin:
    metadata = info.node.get("metadata")
    node = metadata.get(key) if metadata is not None else None
    target = node or metadata or info.node
    return Origin(file, target.line, target.column, f"metadata.{key}")


def check_configmap(info: ConfigMapInfo, file: str) -> list[Finding]:
    """Name, namespace and data key as the upstream DaemonSet expects them."""
    findings = []
    label = info.label
    if info.name != EXPECTED_NAME:
        findings.append(
            finding_at(
                "MASQ017",
                _origin(info, file, "name"),
                f'{label} is not named "{EXPECTED_NAME}": the upstream DaemonSet mounts '
                "only that name (optional: true), so the agent would run on its defaults",
            )
        )
    if info.namespace != EXPECTED_NAMESPACE:
        where = (
            f'is not in namespace "{EXPECTED_NAMESPACE}":'
            if info.namespace
            else "names no namespace: it lands wherever it is applied (kubectl -n, "
            f'kustomize); unless that is "{EXPECTED_NAMESPACE}",'
        )
        findings.append(
            finding_at(
                "MASQ018",
                _origin(info, file, "namespace"),
                f"{label} {where} the agent's pods cannot mount it and run on their defaults",
            )
        )
    if UPSTREAM_KEY not in info.data_keys:
        data = info.node.get("data") or info.node
        findings.append(
            finding_at(
                "MASQ019",
                Origin(file, data.line, data.column, "data"),
                f'{label} has no "{UPSTREAM_KEY}" key: the upstream DaemonSet mounts key '
                f'"{UPSTREAM_KEY}" as /etc/config/ip-masq-agent, so the agent would run on its '
                "defaults",
            )
        )
    return findings
