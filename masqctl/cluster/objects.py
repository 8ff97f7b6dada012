"""The Kubernetes objects of every input, and the ConfigMaps among them by namespace/name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from masqctl.config.nodes import MAP, SCALAR, Node
from masqctl.config.sources import ReadFile, scalar_text
from masqctl.model import Origin


@dataclass(frozen=True)
class KubeObject:
    """One object of one input file."""

    file: str
    node: Node
    kind: str
    name: str
    #: ``metadata.namespace`` ("" when the object names none: it lands wherever it is
    #: applied, so it is taken to share the namespace of any object it is read with).
    namespace: str

    @property
    def label(self) -> str:
        """``kube-system/ip-masq-agent``, as messages name it."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def origin(self, node: Node | None, entry: str = "") -> Origin:
        """Where ``node`` (or the object itself) stands in its file."""
        target = node or self.node
        return Origin(self.file, target.line, target.column, entry)


def kube_object(file: str, node: Node) -> KubeObject:
    metadata = node.get("metadata")
    return KubeObject(
        file,
        node,
        scalar_text(node.get("kind")),
        scalar_text(metadata.get("name")) if metadata is not None else "",
        scalar_text(metadata.get("namespace")) if metadata is not None else "",
    )


def same_namespace(first: str, second: str) -> bool:
    """Whether objects of these namespaces meet (an unset one is applied beside the other)."""
    return first == second or not first or not second


def node_at(node: Node | None, *keys: str) -> Node | None:
    """The node under ``keys`` (mapping by mapping) below ``node``; None where one is missing."""
    for key in keys:
        if node is None or node.kind != MAP:
            return None
        node = node.get(key)
    return node


def is_true(node: Node | None) -> bool:
    """Whether a field is YAML ``true`` (``optional: true``); absent or anything else: no."""
    return node is not None and node.value is True


def configmap_keys(configmap: Node) -> dict[str, Node]:
    """A ConfigMap's keys (``data`` and ``binaryData``) and their value nodes."""
    keys: dict[str, Node] = {}
    for section in ("data", "binaryData"):
        values = configmap.get(section)
        if values is not None and values.kind == MAP:
            keys.update((str(key.value), value) for key, value in values.items())
    return keys


def configmap_text(configmap: Node) -> dict[str, str]:
    """A ConfigMap's ``data`` as the strings a container's environment gets."""
    data = configmap.get("data")
    return {
        str(key.value): "" if value.value is None else str(value.value)
        for key, value in (data.items() if data is not None else [])
        if value.kind == SCALAR
    }


class ClusterObjects:
    """Every object of the inputs, with the look-ups the wiring checks need."""

    def __init__(self, reads: Iterable[ReadFile]) -> None:
        self.objects = [kube_object(read.path, node) for read in reads for node in read.objects]

    def of_kind(self, kind: str) -> list[KubeObject]:
        return [obj for obj in self.objects if obj.kind == kind]

    def configmap(self, name: str, namespace: str) -> KubeObject | None:
        """The ConfigMap ``name`` a pod of ``namespace`` mounts (the last one given wins,
        as the last ``kubectl apply`` does)."""
        found = None
        for obj in self.of_kind("ConfigMap"):
            if obj.name == name and same_namespace(obj.namespace, namespace):
                found = obj
        return found

    def configmap_elsewhere(self, name: str, namespace: str) -> KubeObject | None:
        """A ConfigMap ``name`` among the inputs, in a namespace other than ``namespace``."""
        return next(
            (
                obj
                for obj in self.of_kind("ConfigMap")
                if obj.name == name and not same_namespace(obj.namespace, namespace)
            ),
            None,
        )

    def configmap_data(self, namespace: str) -> ConfigMapLookup:
        """ConfigMap data by name, for the environment of a pod in ``namespace``."""
        return ConfigMapLookup(self, namespace)


class ConfigMapLookup:
    """``lookup(name)``: the data of ConfigMap ``name`` in one namespace, or None."""

    def __init__(self, objects: ClusterObjects, namespace: str) -> None:
        self.objects = objects
        self.namespace = namespace

    def __call__(self, name: str) -> dict[str, str] | None:
        found = self.objects.configmap(name, self.namespace)
        return configmap_text(found.node) if found is not None else None
