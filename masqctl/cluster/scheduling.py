"""Which nodes a DaemonSet's pods land on: its nodeSelector and required node affinity."""

from __future__ import annotations

from masqctl.cluster.objects import KubeObject, node_at
from masqctl.config.nodes import MAP, SEQ, Node
from masqctl.config.sources import scalar_text
from masqctl.findings import Finding
from masqctl.lint.report import finding_at

#: Labels the kubelet puts on every node itself.
KUBELET_LABELS = (
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "kubernetes.io/hostname",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
)


def node_selection(workload: KubeObject, pod_spec: Node) -> Finding | None:
    """An info finding naming the labels a node needs to get the agent, when the pods
    select nodes by labels other than the kubelet's own."""
    selector = pod_spec.get("nodeSelector")
    required = [
        f"{scalar_text(key)}={scalar_text(value)}"
        for key, value in (selector.items() if selector is not None else [])
    ]
    affinity = node_at(
        pod_spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"
    )
    terms_node = affinity.get("nodeSelectorTerms") if affinity is not None else None
    listed = terms_node.value if terms_node is not None and terms_node.kind == SEQ else []
    terms = [term for term in map(_term, listed) if term]
    keys = [requirement.split("=", 1)[0] for requirement in required]
    keys += [key for term in terms for key, _ in term]
    if all(key in KUBELET_LABELS for key in keys):
        return None
    parts = []
    if required:
        parts.append(f"labelled {','.join(required)} (nodeSelector)")
    if terms:
        alternatives = " or ".join(",".join(text for _, text in term) for term in terms)
        parts.append(f"matching {alternatives} (node affinity)")
    node, entry = (selector, "nodeSelector") if required else (affinity, "affinity")
    assert node is not None
    return finding_at(
        "MASQ048",
        workload.origin(node, entry),
        f"{workload.kind} {workload.label} runs only on nodes {' and '.join(parts)}: any other "
        "node gets no agent, so nothing writes its rules there",
    )


def _term(term: Node) -> list[tuple[str, str]]:
    """One nodeSelectorTerm as (label key, selector text) pairs, in kubectl's -l syntax."""
    expressions = term.get("matchExpressions") if term.kind == MAP else None
    result = []
    for expression in (
        expressions.value if expressions is not None and expressions.kind == SEQ else []
    ):
        key = scalar_text(expression.get("key"))
        if not key:
            continue  # (the API server refuses a requirement without a key)
        operator = scalar_text(expression.get("operator"))
        values_node = expression.get("values")
        values = [
            scalar_text(value)
            for value in (
                values_node.value if values_node is not None and values_node.kind == SEQ else []
            )
        ]
        text = {
            "In": f"{key} in ({','.join(values)})",
            "NotIn": f"{key} notin ({','.join(values)})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
            "Gt": f"{key}>{''.join(values)}",
            "Lt": f"{key}<{''.join(values)}",
        }.get(operator, f"{key} {operator} {','.join(values)}")
        result.append((key, text))
    return result
