"""The kubelet's $(VAR) expansion of command and args, and the environment it draws on."""

from __future__ import annotations

import pytest

from masqctl.cluster.expand import Environment, container_environment, expand, references
from masqctl.config.yaml_reader import read_yaml_documents

VARS = {"CHAIN": "IP-MASQ", "EMPTY": "", "VAR_A": "A", "REF": "$(CHAIN)"}


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("--masq-chain=$(CHAIN)", "--masq-chain=IP-MASQ"),
        ("--masq-chain=$(MISSING)", "--masq-chain=$(MISSING)"),
        ("--masq-chain=$$(CHAIN)", "--masq-chain=$(CHAIN)"),
        ("$$$(CHAIN)", "$IP-MASQ"),
        ("$$$$(CHAIN)", "$$(CHAIN)"),
        ("$$$$$$(BIG)", "$$$(BIG)"),
        ("$$$$$$$(VAR_A)", "$$$A"),
        ("$$", "$"),
        ("$$$", "$$"),
        ("$", "$"),
        ("100$", "100$"),
        ("$CHAIN", "$CHAIN"),
        ("${CHAIN}", "${CHAIN}"),
        ("$?_x_$!", "$?_x_$!"),
        ("$(CHAIN", "$(CHAIN"),
        ("$(", "$("),
        ("$()", "$()"),
        ("$(A$(CHAIN))", "$(A$(CHAIN))"),
        ("$(foo$$var)", "$(foo$$var)"),
        ("$(EMPTY)x", "x"),
        ("$(REF)", "$(CHAIN)"),
        ("$(CHAIN)))", "IP-MASQ))"),
    ],
)
def test_expansion_is_kubelets_single_pass(text: str, expanded: str) -> None:
    assert expand(text, VARS.get) == expanded


def test_references_are_the_names_expand_reads() -> None:
    assert references("$(A)-$$(B)-$(C$(D))") == ["A", "C$(D"]


def environment(
    container_yaml: str, configmaps: dict[str, dict[str, str]] | None = None
) -> Environment:
    [container] = read_yaml_documents(container_yaml)
    assert container is not None
    return container_environment(container, "kube-system", (configmaps or {}).get)


def test_env_values_see_earlier_entries_and_envfrom_but_not_later_ones() -> None:
    env = environment(
        """
envFrom:
- configMapRef: {name: agent-env}
  prefix: CM_
env:
- {name: FOO, value: foo}
- {name: ZOO, value: $(FOO)-1-$(CM_X)}
- {name: BLU, value: $(LATER)-2}
- {name: LATER, value: late}
""",
        {"agent-env": {"X": "x"}},
    )
    assert env.values == {
        "CM_X": "x",
        "FOO": "foo",
        "ZOO": "foo-1-x",
        "BLU": "$(LATER)-2",
        "LATER": "late",
    }


def test_env_overrides_envfrom_and_the_last_entry_wins() -> None:
    env = environment(
        "envFrom: [{configMapRef: {name: a}}]\nenv: [{name: X, value: '1'}, {name: X, value: '2'}]",
        {"a": {"X": "0"}},
    )
    assert env.lookup("X") == "2"


def test_pod_fields_are_known_only_on_the_node_except_the_namespace() -> None:
    env = environment(
        """
env:
- name: NS
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
- name: NODE_IP
  valueFrom: {fieldRef: {fieldPath: status.hostIP}}
"""
    )
    assert env.values == {"NS": "kube-system"}
    assert env.why_unknown("NODE_IP") == "status.hostIP is set for each pod when it starts"


def test_configmap_key_refs_resolve_from_the_inputs() -> None:
    text = """
env:
- name: CHAIN
  valueFrom: {configMapKeyRef: {name: agent-env, key: chain}}
- name: GONE
  valueFrom: {configMapKeyRef: {name: agent-env, key: gone, optional: true}}
- name: SECRET
  valueFrom: {secretKeyRef: {name: s, key: k}}
"""
    env = environment(text, {"agent-env": {"chain": "IP-MASQ"}})
    assert env.values == {"CHAIN": "IP-MASQ"}
    assert env.why_unknown("GONE") is None
    assert env.why_unknown("SECRET") == "it comes from a secretKeyRef"
    assert environment(text).why_unknown("CHAIN") == "ConfigMap agent-env is not among the inputs"


def test_service_variables_and_opaque_sources_are_unknown_but_others_are_unset() -> None:
    env = environment("envFrom: [{secretRef: {name: creds}}]")
    assert env.why_unknown("KUBERNETES_SERVICE_HOST") == (
        "a service variable the kubelet sets from the cluster's services"
    )
    assert env.why_unknown("ANYTHING") == "it may come from envFrom Secret creds"
    assert environment("env: []").why_unknown("ANYTHING") is None


def test_an_env_value_built_from_an_unknown_variable_is_unknown() -> None:
    env = environment("env: [{name: API, value: 'https://$(KUBERNETES_SERVICE_HOST)'}]")
    assert env.why_unknown("API") == "its value refers to $(KUBERNETES_SERVICE_HOST)"
