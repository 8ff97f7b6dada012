"""Checks of a ConfigMap given without its DaemonSet: would the flavour's agent mount it?

Each flavour's DaemonSet mounts ConfigMaps of given names in kube-system and reads given
data keys (``Flavour.configmap_names``, ``Flavour.reads_key``).  With the DaemonSet among
the inputs, its own wiring checks (masqctl.cluster) take the place of these.
"""

from __future__ import annotations

from masqctl.config.sources import ConfigMapInfo
from masqctl.findings import Finding
from masqctl.flavours.base import Flavour
from masqctl.lint.report import finding_at
from masqctl.model import Origin

EXPECTED_NAMESPACE = "kube-system"


def _origin(info: ConfigMapInfo, file: str, key: str) -> Origin:
    metadata = info.node.get("metadata")
    node = metadata.get(key) if metadata is not None else None
    target = node or metadata or info.node
    return Origin(file, target.line, target.column, f"metadata.{key}")


def _names(names: tuple[str, ...]) -> str:
    return " or ".join(f'"{name}"' for name in names)


def check_configmap(info: ConfigMapInfo, file: str, flavour: Flavour) -> list[Finding]:
    """Name, namespace and data keys as ``flavour``'s DaemonSet expects them."""
    findings = []
    label = info.label
    if info.name not in flavour.configmap_names:
        findings.append(
            finding_at(
                "MASQ017",
                _origin(info, file, "name"),
                f"{label} is not named {_names(flavour.configmap_names)}: {flavour.title}'s "
                "DaemonSet mounts only that name (optional: true), so the agent would not read "
                "it",
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
    if not any(flavour.reads_key(key) for key in info.data_keys):
        data = info.node.get("data") or info.node
        others = sorted(key for key in info.data_keys if key.startswith("ip-masq"))
        hint = (
            f" (its keys {', '.join(others)} are how Azure's ip-masq-agent-v2 names them: "
            "--flavour azure-v2)"
            if others and not flavour.merges_files
            else ""
        )
        findings.append(
            finding_at(
                "MASQ019",
                Origin(file, data.line, data.column, "data"),
                f"{label} has no {flavour.keys_description}: {flavour.title} would find no "
                f"config file in it and run on its defaults{hint}",
            )
        )
    return findings
