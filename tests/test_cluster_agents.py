"""find_agents over DaemonSet/ConfigMap pairs as each platform ships them, and broken
variants of each: one per wiring check, with the exact findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from masqctl.agent import AgentFlags
from masqctl.cluster.agents import agent_flavour, find_agents, split_image
from masqctl.cluster.model import AgentDeployment, ClusterAgents
from masqctl.config.sources import read_input

DATA = Path(__file__).parent / "data"
UPSTREAM_DS = "corpus/upstream-daemonset.yaml"
UPSTREAM_CM = "configmaps/valid.yaml"
GCE_DS = "cluster/gce-addon-daemonset.yaml"
GKE_DS = "cluster/gke-doc-daemonset.yaml"
GKE_CM = "cluster/gke-doc-configmap.yaml"
AZURE_EXAMPLE_DS = "corpus/azure-v2-daemonset.yaml"
AKS_DS = "cluster/aks-daemonset.yaml"
AKS_RECONCILED = "cluster/aks-configmap-reconciled.yaml"
AKS_USER = "cluster/aks-configmap-user.yaml"
CILIUM = "cluster/cilium-helm-template.yaml"
AKS = (AKS_DS, AKS_RECONCILED, AKS_USER)

#: The findings every unchanged AKS DaemonSet has (its node affinity, its decimal modes).
AKS_AFFINITY = (
    "0-aks-daemonset.yaml:34:13: info[MASQ048] DaemonSet kube-system/azure-ip-masq-agent runs "
    "only on nodes matching kubernetes.azure.com/cluster,type notin (virtual-kubelet),"
    "kubernetes.io/os in (linux) (node affinity): any other node gets no agent, so nothing "
    "writes its rules there"
)
MODE_444 = (
    "warning[MASQ047] mode 444 is decimal: the file mode 0674 (rw-rwxr--), not 0444 "
    "(r--r--r--); write 0444 or 292"
)
GCE_SELECTOR = (
    "info[MASQ048] DaemonSet kube-system/ip-masq-agent runs only on nodes labelled "
    "kubernetes.io/os=linux,node.kubernetes.io/masq-agent-ds-ready=true (nodeSelector): any "
    "other node gets no agent, so nothing writes its rules there"
)


def agents(*paths: str | Path) -> ClusterAgents:
    return find_agents([read_input(str(path)) for path in paths])


def variant(
    tmp_path: Path, *files: str, edits: tuple[tuple[int, str, str], ...] = ()
) -> ClusterAgents:
    """find_agents over copies of ``files`` (named ``<index>-<name>``), each edit
    ``(file index, old, new)`` applied once."""
    paths = []
    for index, name in enumerate(files):
        text = (DATA / name).read_text()
        for target, old, new in edits:
            if target == index:
                assert text.count(old) >= 1, old
                text = text.replace(old, new, 1)
        path = tmp_path / f"{index}-{Path(name).name}"
        path.write_text(text)
        paths.append(path)
    return agents(*paths)


def report(result: ClusterAgents, tmp_path: Path) -> list[str]:
    """Every finding as ``file:line:col: severity[ID] message``, paths below tmp_path."""
    prefix = f"{tmp_path}/"
    return [
        f"{f.file.removeprefix(prefix)}:{f.line}:{f.column}: {f.severity}[{f.rule}] "
        f"{f.message.replace(prefix, '')}"
        for f in result.all_findings()
    ]


def only(result: ClusterAgents) -> AgentDeployment:
    [deployment] = result.deployments
    return deployment


def files(deployment: AgentDeployment) -> list[tuple[str, str, str, bool, bool]]:
    return [(f.filename, f.configmap, f.key, f.optional, f.read) for f in deployment.files]


# -- the platforms' own shapes ----------------------------------------------------------


def test_upstream_manifest_with_its_configmap_mounts_key_config_as_the_file_read() -> None:
    deployment = only(agents(DATA / UPSTREAM_DS, DATA / UPSTREAM_CM))
    assert (deployment.label, deployment.container, deployment.flavour.name) == (
        "DaemonSet kube-system/ip-masq-agent",
        "ip-masq-agent",
        "upstream",
    )
    assert deployment.version == "v2.8.0"
    assert (deployment.program, deployment.arguments, deployment.flags) == (None, [], {})
    assert files(deployment) == [("ip-masq-agent", "ip-masq-agent", "config", True, True)]
    [mounted] = deployment.files
    assert mounted.configmap_file == str(DATA / UPSTREAM_CM)
    assert mounted.value is not None and (mounted.value.line, mounted.value.style) == (3, "|")
    assert (mounted.node.line, mounted.node.column) == (34, 17)
    assert deployment.findings == []
    assert deployment.starts


def test_gce_addon_flags_become_the_flavours_agent_flags() -> None:
    result = agents(DATA / GCE_DS, DATA / UPSTREAM_CM)
    deployment = only(result)
    assert (deployment.flavour.name, deployment.version) == ("upstream", "v2.12.0")
    assert deployment.flags == {"masq_chain": "IP-MASQ", "nomasq_all_reserved_ranges": True}
    origins = {dest: (o.line, o.column, o.entry) for dest, o in deployment.flag_origins.items()}
    assert origins == {
        "masq_chain": (34, 13, "args[0]"),
        "nomasq_all_reserved_ranges": (35, 13, "args[1]"),
    }
    assert deployment.flavour.agent_flags(deployment.flags) == AgentFlags(
        masq_chain="IP-MASQ", nomasq_all_reserved_ranges=True
    )
    assert report(result, DATA) == [f"cluster/gce-addon-daemonset.yaml:46:9: {GCE_SELECTOR}"]


def test_gke_doc_manifest_runs_gkes_agent_with_klog_flags() -> None:
    deployment = only(agents(DATA / GKE_DS, DATA / GKE_CM))
    assert (deployment.flavour.name, deployment.version) == ("gke", "v2.12.6-gke.15")
    assert deployment.flags == {"masq_chain": "IP-MASQ", "random_fully": False}
    assert deployment.logging_flags == {
        "v": "2",
        "logtostderr": "false",
        "log_file": "/dev/stdout",
        "log_file_max_size": "0",
    }
    assert files(deployment) == [("ip-masq-agent", "ip-masq-agent", "config", True, True)]
    assert deployment.findings == []


def test_gke_with_reserved_ranges_uncommented_as_its_doc_suggests(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        GKE_DS,
        GKE_CM,
        edits=((0, "# - --nomasq-all-reserved-ranges", "- --nomasq-all-reserved-ranges"),),
    )
    assert only(result).flags == {
        "masq_chain": "IP-MASQ",
        "nomasq_all_reserved_ranges": True,
        "random_fully": False,
    }
    assert report(result, tmp_path) == []


def test_aks_projected_volume_merges_both_configmaps_in_file_name_order() -> None:
    result = agents(*(DATA / name for name in AKS))
    deployment = only(result)
    assert (deployment.flavour.name, deployment.version) == ("azure-v2", "v0.1.15-2")
    assert deployment.flags == {"resync_interval": 60}
    assert deployment.logging_flags == {"v": "2"}
    assert files(deployment) == [
        ("ip-masq-agent", "azure-ip-masq-agent-config", "ip-masq-agent", True, True),
        (
            "ip-masq-agent-reconciled",
            "azure-ip-masq-agent-config-reconciled",
            "ip-masq-agent-reconciled",
            True,
            True,
        ),
    ]
    assert [f.configmap_file for f in deployment.read_files] == [
        str(DATA / AKS_USER),
        str(DATA / AKS_RECONCILED),
    ]
    assert report(result, DATA / "cluster") == [
        AKS_AFFINITY.replace("0-aks", "aks"),
        f"aks-daemonset.yaml:95:23: {MODE_444}",
        f"aks-daemonset.yaml:102:23: {MODE_444}",
    ]


def test_aks_as_json_points_at_columns_of_its_one_line() -> None:
    deployment = only(agents(DATA / "cluster/aks-daemonset.json", DATA / AKS_RECONCILED))
    assert files(deployment)[1][0] == "ip-masq-agent-reconciled"
    assert deployment.flags == {"resync_interval": 60}
    assert [(f.rule, f.line, f.column) for f in deployment.findings] == [
        ("MASQ048", 1, 839),
        ("MASQ047", 1, 2292),
        ("MASQ040", 1, 2332),
        ("MASQ047", 1, 2451),
    ]


def test_aks_without_the_user_configmap_says_the_optional_source_is_absent(tmp_path: Path) -> None:
    result = variant(tmp_path, AKS_DS, AKS_RECONCILED)
    assert [f.filename for f in only(result).read_files] == [
        "ip-masq-agent",
        "ip-masq-agent-reconciled",
    ]
    assert report(result, tmp_path)[2] == (
        "0-aks-daemonset.yaml:97:21: warning[MASQ040] ConfigMap "
        "kube-system/azure-ip-masq-agent-config (volume azure-ip-masq-agent-config-volume) is "
        "not among the inputs: masqctl cannot check what the agent reads; if it does not exist, "
        "the source is optional, so the agent runs without it"
    )


def test_azure_example_manifest_is_read_as_kubernetes_reads_its_indentation() -> None:
    result = agents(
        DATA / AZURE_EXAMPLE_DS,
        DATA / "corpus/azure-v2-config-custom.yaml",
        DATA / "corpus/azure-v2-config-cloud.yaml",
    )
    deployment = only(result)
    assert (deployment.version, deployment.files, deployment.starts) == ("v0.1.1", [], False)
    null = (
        "error[MASQ046] name, optional, items stand beside configMap instead of under it, so "
        "Kubernetes reads configMap: null: this source projects nothing (strict field validation "
        "refuses it), and the agent never sees the ConfigMap"
    )
    assert report(result, DATA / "corpus") == [
        "azure-v2-daemonset.yaml:26:13: error[MASQ049] --v=2: Azure's ip-masq-agent-v2 v0.1.1 "
        'has no logging flag -v (newer releases have): the agent exits with "flag provided but '
        'not defined: -v" and its pod crash-loops',
        f"azure-v2-daemonset.yaml:41:15: {null}",
        f"azure-v2-daemonset.yaml:47:25: {MODE_444}",
        f"azure-v2-daemonset.yaml:48:15: {null}",
        f"azure-v2-daemonset.yaml:55:25: {MODE_444}",
    ]


def test_azure_example_indented_right_mounts_both_files(tmp_path: Path) -> None:
    text = (DATA / AZURE_EXAMPLE_DS).read_text()
    start = text.index("            - configMap:")
    body = text[start:].splitlines()
    # indent every line under each "- configMap:" two spaces further, as it is meant
    fixed = "\n".join(
        line if line.lstrip().startswith(("- configMap:", "# Note")) else "  " + line
        for line in body
    )
    path = tmp_path / "ds.yaml"
    path.write_text(text[:start] + fixed.replace("mode: 444", "mode: 0444") + "\n")
    deployment = only(
        agents(
            path,
            DATA / "corpus/azure-v2-config-custom.yaml",
            DATA / "corpus/azure-v2-config-cloud.yaml",
        )
    )
    assert [(f.filename, f.configmap, f.read) for f in deployment.files] == [
        ("ip-masq-agent", "ip-masq-agent-config", True),
        ("ip-masq-agent-reconciled", "ip-masq-agent-config-reconciled", True),
    ]
    assert [f.rule for f in deployment.findings] == ["MASQ049"]


def test_cilium_helm_template_reads_settings_from_cilium_config() -> None:
    result = agents(DATA / CILIUM)
    deployment = only(result)
    assert (deployment.label, deployment.container, deployment.flavour.name) == (
        "DaemonSet kube-system/cilium",
        "cilium-agent",
        "cilium",
    )
    assert deployment.version == "v1.17.7"
    # the chart writes enable-ipv6-masquerade "true", but enable-ipv6 is "false": no IPv6 map
    assert deployment.flags == {"enable_ipv4_masquerade": True, "enable_ipv6_masquerade": False}
    assert {d: (o.line, o.entry) for d, o in deployment.flag_origins.items()} == {
        "enable_ipv4_masquerade": (21, "enable-ipv4-masquerade"),
        "enable_ipv6_masquerade": (24, "enable-ipv6-masquerade"),
    }
    assert deployment.cilium is not None
    assert (
        deployment.cilium.enable_ip_masq_agent,
        deployment.cilium.enable_bpf_masquerade,
        deployment.cilium.ipv4_native_routing_cidr,
    ) == ("true", "true", None)
    assert files(deployment) == [("ip-masq-agent", "ip-masq-agent", "config", True, True)]
    [mounted] = deployment.files
    assert mounted.value is not None and mounted.value.value == (
        '{"masqLinkLocal":false,"nonMasqueradeCIDRs":["10.0.0.0/8","192.168.0.0/16"]}'
    )
    assert result.all_findings() == []


def test_kubectl_get_list_of_daemonsets_and_configmaps(tmp_path: Path) -> None:
    import yaml

    items = [
        *yaml.safe_load_all((DATA / GCE_DS).read_text()),
        yaml.safe_load((DATA / UPSTREAM_CM).read_text()),
    ]
    listing = {
        "apiVersion": "v1",
        "items": items,
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(listing))
    deployment = only(agents(path))
    assert deployment.flags == {"masq_chain": "IP-MASQ", "nomasq_all_reserved_ranges": True}
    assert files(deployment) == [("ip-masq-agent", "ip-masq-agent", "config", True, True)]
    assert [f.rule for f in deployment.findings] == ["MASQ048"]


def test_node_selection_is_said_from_what_selects_nodes(tmp_path: Path) -> None:
    # an empty nodeSelector selects nothing; an expression without a key (which the API
    # server refuses) and a term left empty name no label
    edits = (
        (0, "    spec:\n      affinity:", "    spec:\n      nodeSelector: {}\n      affinity:"),
        (
            0,
            "            - matchExpressions:",
            "            - matchExpressions: [{operator: Exists}]\n            - matchExpressions:",
        ),
    )
    result = variant(tmp_path, *AKS, edits=edits)
    assert [f for f in report(result, tmp_path) if "MASQ048" in f] == [
        AKS_AFFINITY.replace(":34:13:", ":35:13:")
    ]


# -- broken variants, one per check ------------------------------------------------------


def test_configmap_not_among_the_inputs(tmp_path: Path) -> None:
    assert report(variant(tmp_path, UPSTREAM_DS), tmp_path) == [
        "0-upstream-daemonset.yaml:30:19: warning[MASQ040] ConfigMap kube-system/ip-masq-agent "
        "(volume config) is not among the inputs: masqctl cannot check what the agent reads; if "
        "it does not exist, the source is optional, so the agent runs without it"
    ]


UPSTREAM_VARIANTS = [
    pytest.param(
        (UPSTREAM_DS,),
        ((0, "optional: true", "optional: false"),),
        "0-upstream-daemonset.yaml:30:19: warning[MASQ040] ConfigMap kube-system/ip-masq-agent "
        "(volume config) is not among the inputs: masqctl cannot check what the agent reads; if "
        "it does not exist, the source is not optional, so the pod stays in ContainerCreating "
        '(MountVolume.SetUp failed: configmap "ip-masq-agent" not found)',
        id="MASQ040-not-optional",
    ),
    pytest.param(
        (UPSTREAM_DS, UPSTREAM_CM),
        ((1, "namespace: kube-system", "namespace: default"),),
        "0-upstream-daemonset.yaml:30:19: warning[MASQ040] ConfigMap ip-masq-agent is in "
        "namespace default, the DaemonSet in kube-system: pods mount only ConfigMaps of their own "
        "namespace; the source is optional, so the agent runs without it",
        id="MASQ040-other-namespace",
    ),
    pytest.param(
        (UPSTREAM_DS, UPSTREAM_CM),
        ((0, "- key: config", "- key: conf"),),
        "0-upstream-daemonset.yaml:34:22: error[MASQ041] ConfigMap kube-system/ip-masq-agent has "
        "no key conf (its keys: config): the kubelet skips the item (optional: true), so there "
        "is no /etc/config/ip-masq-agent",
        id="MASQ041-optional",
    ),
    pytest.param(
        (UPSTREAM_DS, UPSTREAM_CM),
        ((0, "- key: config", "- key: conf"), (0, "optional: true", "optional: false")),
        "0-upstream-daemonset.yaml:34:22: error[MASQ041] ConfigMap kube-system/ip-masq-agent has "
        "no key conf (its keys: config): the volume cannot be mounted (configmap references "
        "non-existent config key: conf) and the pod stays in ContainerCreating",
        id="MASQ041-not-optional",
    ),
    pytest.param(
        (UPSTREAM_DS, UPSTREAM_CM),
        ((0, "- key: config", "- key: ip-masq-agent"),),
        "0-upstream-daemonset.yaml:34:22: error[MASQ042] the DaemonSet mounts key ip-masq-agent "
        "of ConfigMap kube-system/ip-masq-agent, whose config is under key config "
        "(1-valid.yaml:3): the kubelet skips the item (optional: true), so there is no "
        "/etc/config/ip-masq-agent",
        id="MASQ042-mounts-ip-masq-agent-holds-config",
    ),
    pytest.param(
        (UPSTREAM_DS, UPSTREAM_CM),
        ((0, "path: ip-masq-agent", "path: conf/ip-masq-agent"),),
        "0-upstream-daemonset.yaml:35:23: error[MASQ043] key config of ConfigMap ip-masq-agent "
        "is mounted as /etc/config/conf/ip-masq-agent: the agent reads no subdirectory, so it "
        "never sees the file",
        id="MASQ043-subdirectory",
    ),
    pytest.param(
        (UPSTREAM_DS, UPSTREAM_CM),
        ((0, "mountPath: /etc/config", "mountPath: /etc/config/ip-masq-agent"),),
        "0-upstream-daemonset.yaml:25:24: error[MASQ043] volume config is mounted at "
        "/etc/config/ip-masq-agent: /etc/config/ip-masq-agent is a directory, which the agent "
        "cannot read as its config",
        id="MASQ043-directory-where-the-file-is-read",
    ),
    pytest.param(
        (UPSTREAM_DS, UPSTREAM_CM),
        ((0, "mountPath: /etc/config", "mountPath: /etc/ip-masq-agent"),),
        "0-upstream-daemonset.yaml:25:24: warning[MASQ044] volume config (ConfigMap "
        "ip-masq-agent) is mounted at /etc/ip-masq-agent, but the agent reads /etc/config: the "
        "agent runs on its defaults",
        id="MASQ044-mounted-elsewhere",
    ),
]


@pytest.mark.parametrize(("inputs", "edits", "finding"), UPSTREAM_VARIANTS)
def test_broken_upstream_wiring(
    tmp_path: Path, inputs: tuple[str, ...], edits: tuple[tuple[int, str, str], ...], finding: str
) -> None:
    assert report(variant(tmp_path, *inputs, edits=edits), tmp_path) == [finding]


def test_aks_user_configmap_written_with_upstreams_key_config(tmp_path: Path) -> None:
    result = variant(tmp_path, *AKS, edits=((2, "  ip-masq-agent: |-", "  config: |-"),))
    assert report(result, tmp_path)[1] == (
        "0-aks-daemonset.yaml:94:22: error[MASQ042] the DaemonSet mounts key ip-masq-agent of "
        "ConfigMap kube-system/azure-ip-masq-agent-config, whose config is under key config "
        "(2-aks-configmap-user.yaml:3): the kubelet skips the item (optional: true), so there "
        "is no /etc/config/ip-masq-agent"
    )
    assert [f.filename for f in only(result).read_files] == [
        "ip-masq-agent",
        "ip-masq-agent-reconciled",
    ]


def test_items_path_the_agent_does_not_read(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        UPSTREAM_DS,
        UPSTREAM_CM,
        edits=((0, "path: ip-masq-agent", "path: ip-masq-agent.yaml"),),
    )
    assert files(only(result)) == [("ip-masq-agent.yaml", "ip-masq-agent", "config", True, False)]
    assert report(result, tmp_path) == [
        "0-upstream-daemonset.yaml:35:23: error[MASQ043] items maps key config to path "
        "ip-masq-agent.yaml, /etc/config/ip-masq-agent.yaml (ConfigMap ip-masq-agent), which "
        "kubernetes-sigs/ip-masq-agent does not read"
    ]


AKS_PROJECTED = """        projected:
          defaultMode: 420
          sources:
          - configMap:
              items:
              - key: ip-masq-agent
                mode: 444
                path: ip-masq-agent
              name: azure-ip-masq-agent-config
              optional: true
          - configMap:
              items:
              - key: ip-masq-agent-reconciled
                mode: 444
                path: ip-masq-agent-reconciled
              name: azure-ip-masq-agent-config-reconciled
              optional: true"""


def test_azure_agent_given_an_upstream_configmap_without_items(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        AKS_DS,
        UPSTREAM_CM,
        edits=((0, AKS_PROJECTED, "        configMap:\n          name: ip-masq-agent"),),
    )
    assert files(only(result)) == [("config", "ip-masq-agent", "config", False, False)]
    assert report(result, tmp_path)[1:] == [
        "0-aks-daemonset.yaml:90:17: error[MASQ043] without items, key config is mounted under "
        "its own name, /etc/config/config (ConfigMap ip-masq-agent), which Azure's "
        "ip-masq-agent-v2 does not read"
    ]


def test_volume_not_mounted_by_the_agent_container(tmp_path: Path) -> None:
    mounts = "        volumeMounts:\n          - name: config\n            mountPath: /etc/config\n"
    result = variant(tmp_path, UPSTREAM_DS, UPSTREAM_CM, edits=((0, mounts, ""),))
    assert report(result, tmp_path) == [
        "0-upstream-daemonset.yaml:24:11: warning[MASQ044] volume config (ConfigMap "
        "ip-masq-agent) is not mounted by container ip-masq-agent: the agent runs on its defaults"
    ]


def test_no_config_volume_at_all(tmp_path: Path) -> None:
    text = (DATA / UPSTREAM_DS).read_text()
    path = tmp_path / "ds.yaml"
    path.write_text(text[: text.index("        volumeMounts:")])
    assert report(agents(path), tmp_path) == [
        "ds.yaml:17:9: warning[MASQ044] container ip-masq-agent mounts no ConfigMap at "
        "/etc/config: the agent runs on its defaults"
    ]


def test_config_dir_from_a_host_path(tmp_path: Path) -> None:
    source = DATA / UPSTREAM_DS
    text = source.read_text()
    start = text.index("          configMap:")
    path = tmp_path / "ds.yaml"
    path.write_text(text[:start] + "          hostPath:\n            path: /etc/ip-masq-agent\n")
    assert report(agents(path), tmp_path) == [
        "ds.yaml:24:13: warning[MASQ044] /etc/config is volume config (hostPath), not a "
        "ConfigMap: masqctl cannot see the files the agent reads there"
    ]


def test_config_file_mounted_through_subpath(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        UPSTREAM_DS,
        UPSTREAM_CM,
        edits=(
            (
                0,
                "mountPath: /etc/config",
                "mountPath: /etc/config/ip-masq-agent\n            subPath: ip-masq-agent",
            ),
        ),
    )
    assert [(f.filename, f.read, f.sub_path) for f in only(result).files] == [
        ("ip-masq-agent", True, True)
    ]
    assert report(result, tmp_path) == [
        "0-upstream-daemonset.yaml:26:22: warning[MASQ045] volume config is mounted at "
        "/etc/config/ip-masq-agent through subPath ip-masq-agent: the kubelet never updates "
        "subPath mounts, so the agent keeps the ConfigMap as it was when the pod started"
    ]


def test_subpath_file_mounted_as_the_config_directory(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        UPSTREAM_DS,
        UPSTREAM_CM,
        edits=(
            (
                0,
                "mountPath: /etc/config",
                "mountPath: /etc/config\n            subPath: ip-masq-agent",
            ),
        ),
    )
    assert only(result).files == []
    assert report(result, tmp_path) == [
        "0-upstream-daemonset.yaml:26:22: error[MASQ043] volume config is mounted at "
        "/etc/config through subPath ip-masq-agent, the file of key config of ConfigMap "
        "ip-masq-agent: /etc/config is then no directory, and the agent fails to read its "
        "config there (not a directory): it writes no rules and keeps the ones it has; a new "
        "node gets none"
    ]


def test_a_mount_onto_the_config_file_hides_the_directorys_own(tmp_path: Path) -> None:
    extra_mount = (
        "mountPath: /etc/config\n"
        "          - name: config\n"
        "            mountPath: /etc/config/ip-masq-agent\n"
        "            subPath: ip-masq-agent"
    )
    result = variant(
        tmp_path, UPSTREAM_DS, UPSTREAM_CM, edits=((0, "mountPath: /etc/config", extra_mount),)
    )
    assert [(f.filename, f.sub_path) for f in only(result).files] == [("ip-masq-agent", True)]
    assert [f.rule for f in result.all_findings()] == ["MASQ045"]


MIS_INDENTED_VOLUME = (
    """            name: ip-masq-agent
            optional: true
            items:
              # The daemon looks for its config in a YAML file at /etc/config/ip-masq-agent
              - key: config
                path: ip-masq-agent""",
    """          name: ip-masq-agent
          optional: true
          items:
            - key: config
              path: ip-masq-agent""",
)


def test_volume_configmap_fields_indented_beside_it(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        UPSTREAM_DS,
        UPSTREAM_CM,
        edits=((0, MIS_INDENTED_VOLUME[0], MIS_INDENTED_VOLUME[1]),),
    )
    assert report(result, tmp_path) == [
        "0-upstream-daemonset.yaml:28:11: error[MASQ046] name, optional, items stand beside "
        "configMap instead of under it, so Kubernetes reads configMap: null: the volume has no "
        "source and the API server refuses the object, and the agent never sees the ConfigMap"
    ]


@pytest.mark.parametrize(
    ("written", "flagged"),
    [("444", True), ("400", True), ("420", False), ("0444", False), ("292", False)],
)
def test_decimal_modes_that_look_octal(tmp_path: Path, written: str, flagged: bool) -> None:
    result = variant(
        tmp_path,
        UPSTREAM_DS,
        UPSTREAM_CM,
        edits=(
            (0, "path: ip-masq-agent", f"path: ip-masq-agent\n                mode: {written}"),
        ),
    )
    assert [f.rule for f in only(result).findings] == (["MASQ047"] if flagged else [])


def test_decimal_mode_above_0777_is_refused_by_the_api_server(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        UPSTREAM_DS,
        UPSTREAM_CM,
        edits=((0, "path: ip-masq-agent", "path: ip-masq-agent\n                mode: 644"),),
    )
    assert report(result, tmp_path) == [
        "0-upstream-daemonset.yaml:36:23: error[MASQ047] mode 644 is decimal, above 0777 (511): "
        "the API server refuses the DaemonSet (Invalid value: 644: must be a number between 0 "
        "and 0777 (octal), both inclusive); write 0644 or 420"
    ]


def test_flag_newer_than_the_image(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        GCE_DS,
        UPSTREAM_CM,
        edits=(
            (0, "ip-masq-agent:v2.12.0", "ip-masq-agent:v2.10.0"),
            (
                0,
                "- --nomasq-all-reserved-ranges",
                "- --nomasq-all-reserved-ranges\n          - --random-fully=false",
            ),
        ),
    )
    assert not only(result).starts
    assert report(result, tmp_path) == [
        "0-gce-addon-daemonset.yaml:36:13: error[MASQ049] --random-fully=false: "
        "kubernetes-sigs/ip-masq-agent v2.10.0 has no --random-fully (added in v2.11.0): the "
        'agent exits with "flag provided but not defined: -random-fully" and its pod crash-loops',
        f"0-gce-addon-daemonset.yaml:47:9: {GCE_SELECTOR}",
    ]


def test_klog_flag_on_a_glog_release(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        GKE_DS,
        GKE_CM,
        edits=(
            (
                0,
                "v2.12.6-gke.15@sha256:c51e89bdc5073fdbaaff8bf42b32765f7f1eb0fec7d6189de5f14c48ac489448",
                "v2.11.0-gke.3",
            ),
        ),
    )
    assert only(result).logging_flags == {"v": "2", "logtostderr": "false"}
    assert report(result, tmp_path) == [
        "0-gke-doc-daemonset.yaml:22:11: error[MASQ049] --log_file=/dev/stdout: GKE's "
        "ip-masq-agent v2.11.0-gke.3 has no logging flag -log_file (newer releases have): the "
        'agent exits with "flag provided but not defined: -log_file" and its pod crash-loops'
    ]


@pytest.mark.parametrize(
    ("tag", "release"),
    [
        ("v2.12.6-gke.15", (2, 12, 6)),
        ("v0.1.15-2", (0, 1, 15)),
        ("v2.1\u00b2", (2, 1)),  # a superscript two is no digit of a release
        ("v\u0662.\u0661\u0662", None),  # nor are Arabic-Indic digits
        ("latest", None),
    ],
)
def test_a_tag_names_a_release_by_its_ascii_digits(tag: str, release: object) -> None:
    from masqctl.flavours.logging import version_key

    assert version_key(tag) == release


def test_upstream_flag_on_azures_agent(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        *AKS,
        edits=(
            (0, "- --resync-interval=60", "- --resync-interval=60\n        - --random-fully=false"),
        ),
    )
    assert report(result, tmp_path)[1] == (
        "0-aks-daemonset.yaml:51:11: error[MASQ050] --random-fully=false: Azure's "
        'ip-masq-agent-v2 has no such flag: the agent exits with "flag provided but not defined: '
        '-random-fully" and its pod crash-loops'
    )


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        (
            ("- --resync-interval=60", "- --resync-interval=60s"),
            50,
            '--resync-interval=60s: the agent exits with "invalid value "60s" for flag '
            '-resync-interval: parse error" and its pod crash-loops',
        ),
        (
            ("- --v=2", "- --enable-ipv6=yes"),
            49,
            '--enable-ipv6=yes: the agent exits with "invalid boolean value "yes" for '
            '-enable-ipv6: parse error" and its pod crash-loops',
        ),
        (
            ("- --resync-interval=60", "- --masq-chain"),
            50,
            '--masq-chain: the agent exits with "flag needs an argument: -masq-chain" and its '
            "pod crash-loops",
        ),
        (
            ("- --v=2", "- -help"),
            49,
            "-help: the agent prints its usage and exits instead of running, so its pod restarts "
            "in a loop",
        ),
        (
            ("- --v=2", "- ---v=2"),
            49,
            '---v=2: the agent exits with "bad flag syntax: ---v=2" and its pod crash-loops',
        ),
        (
            ("- --resync-interval=60", "- --resync-interval\n        - 60"),
            51,
            "args[2] is the number 60, not a string: the API server refuses the DaemonSet "
            "(command and args are lists of strings; quote it)",
        ),
    ],
)
def test_arguments_the_agent_refuses(
    tmp_path: Path, edit: tuple[str, str], line: int, message: str
) -> None:
    result = variant(tmp_path, *AKS, edits=((0, *edit),))
    assert not only(result).starts
    [finding] = [f for f in result.all_findings() if f.rule == "MASQ051"]
    assert (finding.line, finding.column, finding.severity, finding.message) == (
        line,
        11,
        "error",
        message,
    )


def test_bool_flag_with_a_separate_value_stops_parsing(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        GCE_DS,
        UPSTREAM_CM,
        edits=(
            (
                0,
                "          - --masq-chain=IP-MASQ\n          - --nomasq-all-reserved-ranges",
                "          - --nomasq-all-reserved-ranges\n"
                '          - "false"\n'
                "          - --masq-chain=IP-MASQ",
            ),
        ),
    )
    assert only(result).flags == {"nomasq_all_reserved_ranges": True}
    assert only(result).starts
    assert report(result, tmp_path)[0] == (
        "0-gce-addon-daemonset.yaml:35:13: error[MASQ052] --nomasq-all-reserved-ranges false: a "
        "bool flag takes no separate value, so --nomasq-all-reserved-ranges is true; Go's flag "
        'parsing stops at "false", so the agent ignores it and every argument after it '
        "(--masq-chain=IP-MASQ) (write --nomasq-all-reserved-ranges=false)"
    )


def test_a_word_after_a_bool_flag_that_is_no_bool_gets_no_fix(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        GCE_DS,
        UPSTREAM_CM,
        edits=(
            (
                0,
                "- --nomasq-all-reserved-ranges",
                "- --nomasq-all-reserved-ranges\n          - 'yes'",
            ),
        ),
    )
    assert report(result, tmp_path)[0] == (
        "0-gce-addon-daemonset.yaml:36:13: error[MASQ052] --nomasq-all-reserved-ranges yes: a "
        "bool flag takes no separate value, so --nomasq-all-reserved-ranges is true; Go's flag "
        'parsing stops at "yes", so the agent ignores it'
    )


def test_flag_written_without_dashes_stops_parsing(tmp_path: Path) -> None:
    result = variant(tmp_path, *AKS, edits=((0, "- --v=2", "- v=2"),))
    assert only(result).flags == {}
    assert report(result, tmp_path)[1] == (
        '0-aks-daemonset.yaml:49:11: error[MASQ052] Go\'s flag parsing stops at "v=2", so the '
        "agent ignores it and every argument after it (--resync-interval=60) (did you mean "
        "--v=2?)"
    )


def test_double_dash_ends_the_flags(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        GCE_DS,
        UPSTREAM_CM,
        edits=((0, "- --masq-chain", "- --\n          - --masq-chain"),),
    )
    assert only(result).flags == {}
    assert report(result, tmp_path)[0] == (
        "0-gce-addon-daemonset.yaml:34:13: error[MASQ052] -- ends the agent's flags: it ignores "
        "every argument after it (--masq-chain=IP-MASQ, --nomasq-all-reserved-ranges)"
    )


ENV = """        env:
        - name: CHAIN
          value: IP-MASQ
        - name: LEVEL
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['level']
        resources:"""


def test_variables_expand_from_the_containers_environment(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        GCE_DS,
        UPSTREAM_CM,
        edits=(
            (0, "- --masq-chain=IP-MASQ", "- --masq-chain=$(CHAIN)\n          - --v=$(LEVEL)"),
            (0, "        resources:", ENV),
        ),
    )
    deployment = only(result)
    assert deployment.arguments == [
        "--masq-chain=IP-MASQ",
        "--v=$(LEVEL)",
        "--nomasq-all-reserved-ranges",
    ]
    assert deployment.flags == {"masq_chain": "IP-MASQ", "nomasq_all_reserved_ranges": True}
    assert report(result, tmp_path)[0] == (
        "0-gce-addon-daemonset.yaml:35:13: info[MASQ053] args[1] '--v=$(LEVEL)' uses $(LEVEL), "
        "whose value masqctl cannot know (metadata.labels['level'] is set for each pod when it "
        "starts): it reads the argument with $(LEVEL) as written"
    )


def test_shell_command_hides_the_flags(tmp_path: Path) -> None:
    command = "        command: [sh, -c, 'exec /ip-masq-agent \"$@\"', --]\n        args:"
    result = variant(tmp_path, GCE_DS, UPSTREAM_CM, edits=((0, "        args:", command),))
    assert (only(result).program, only(result).flags) == ("sh", {})
    assert report(result, tmp_path)[0] == (
        "0-gce-addon-daemonset.yaml:33:19: info[MASQ053] the container runs sh, not the agent "
        "directly: masqctl cannot read the agent's flags from a script (and distroless agent "
        "images from upstream's v2.8.0 on have no shell)"
    )


def test_command_replaces_the_entrypoint_and_its_arguments_come_first(tmp_path: Path) -> None:
    command = "        command: [/ip-masq-agent, --masq-chain=FROM-COMMAND]\n        args:"
    result = variant(tmp_path, GCE_DS, UPSTREAM_CM, edits=((0, "        args:", command),))
    deployment = only(result)
    assert deployment.program == "/ip-masq-agent"
    assert deployment.flags["masq_chain"] == "IP-MASQ"
    assert deployment.flag_origins["masq_chain"].entry == "args[0]"


def test_agent_image_in_a_deployment(tmp_path: Path) -> None:
    result = variant(
        tmp_path, GCE_DS, UPSTREAM_CM, edits=((0, "kind: DaemonSet", "kind: Deployment"),)
    )
    assert result.deployments == []
    assert report(result, tmp_path) == [
        "0-gce-addon-daemonset.yaml:32:16: info[MASQ054] Deployment kube-system/ip-masq-agent "
        "runs kubernetes-sigs/ip-masq-agent (registry.k8s.io/networking/ip-masq-agent:v2.12.0): "
        "only a DaemonSet runs it on every node, so masqctl does not read its wiring"
    ]


def test_cilium_with_its_ip_masq_agent_off(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        CILIUM,
        edits=((0, 'enable-ip-masq-agent: "true"', 'enable-ip-masq-agent: "false"'),),
    )
    assert result.deployments == []
    assert report(result, tmp_path) == [
        "0-cilium-helm-template.yaml:97:11: warning[MASQ055] cilium-agent mounts an ip-masq-agent "
        'config, but cilium-config says enable-ip-masq-agent: "false" '
        "(0-cilium-helm-template.yaml:29): the BPF ip-masq-agent does not run and the config is "
        "never read"
    ]


def test_cilium_without_bpf_masquerade_refuses_to_start(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        CILIUM,
        edits=((0, 'enable-bpf-masquerade: "true"', 'enable-bpf-masquerade: "false"'),),
    )
    assert not only(result).starts
    assert report(result, tmp_path) == [
        "0-cilium-helm-template.yaml:29:25: error[MASQ056] cilium-config turns the ip-masq-agent "
        'on, but enable-bpf-masquerade is "false": cilium-agent refuses to start ("BPF '
        'ip-masq-agent requires (--enable-ipv4-masquerade="true" or '
        '--enable-ipv6-masquerade="true") and --enable-bpf-masquerade="true"")'
    ]


def test_cilium_without_cilium_config(tmp_path: Path) -> None:
    result = variant(
        tmp_path, CILIUM, edits=((0, "  name: cilium-config", "  name: cilium-config-old"),)
    )
    assert only(result).flags == {}
    assert report(result, tmp_path) == [
        "0-cilium-helm-template.yaml:73:9: warning[MASQ040] ConfigMap kube-system/cilium-config "
        "is not among the inputs: masqctl cannot tell whether cilium-agent runs its ip-masq-agent "
        "(enable-ip-masq-agent) nor with which masquerade settings"
    ]


# -- images ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "repository", "tag"),
    [
        (
            "registry.k8s.io/networking/ip-masq-agent:v2.8.0",
            "registry.k8s.io/networking/ip-masq-agent",
            "v2.8.0",
        ),
        (
            "gke.gcr.io/ip-masq-agent:v2.12.6-gke.15@sha256:c51e",
            "gke.gcr.io/ip-masq-agent",
            "v2.12.6-gke.15",
        ),
        ("quay.io/cilium/cilium@sha256:b224", "quay.io/cilium/cilium", None),
        ("localhost:5000/ip-masq-agent", "localhost:5000/ip-masq-agent", None),
        ("ip-masq-agent:latest", "ip-masq-agent", "latest"),
    ],
)
def test_image_references_split_into_repository_and_tag(
    image: str, repository: str, tag: str | None
) -> None:
    assert split_image(image) == (repository, tag)


def test_per_architecture_image_names_are_the_agents() -> None:
    flavour = agent_flavour("k8s.gcr.io/ip-masq-agent-amd64:v2.0.2")
    assert flavour is not None and flavour.name == "upstream"
    assert agent_flavour("quay.io/cilium/operator-generic:v1.17.7") is None


def test_found_deployments_serialise_their_files_for_reports() -> None:
    deployment = only(agents(DATA / UPSTREAM_DS, DATA / UPSTREAM_CM))
    summary = {
        "agent": deployment.label,
        "files": [
            {"file": f.filename, "configmap": f.configmap, "key": f.key} for f in deployment.files
        ],
    }
    assert json.dumps(summary) == (
        '{"agent": "DaemonSet kube-system/ip-masq-agent", "files": [{"file": "ip-masq-agent", '
        '"configmap": "ip-masq-agent", "key": "config"}]}'
    )


def test_read_input_keeps_every_object_in_order_lists_flattened(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: apps/v1, kind: DaemonSet, "
        "metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    )
    read = read_input(str(path))
    assert [(o.get("kind").value, o.line) for o in read.objects] == [  # type: ignore[union-attr]
        ("DaemonSet", 4),
        ("ConfigMap", 5),
        ("ConfigMap", 7),
    ]
    assert read.skipped_objects == 3


def test_variables_from_a_configmap_among_the_inputs_expand(tmp_path: Path) -> None:
    env = """        env:
        - name: CHAIN
          valueFrom:
            configMapKeyRef: {name: agent-flags, key: chain}
        envFrom:
        - configMapRef: {name: agent-flags}
          prefix: FLAG_
        resources:"""
    flags_cm = tmp_path / "flags.yaml"
    flags_cm.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: agent-flags, namespace: kube-system}\n"
        "data: {chain: IP-MASQ, ipv6: 'false'}\n"
    )
    result = variant(
        tmp_path,
        GCE_DS,
        UPSTREAM_CM,
        str(flags_cm),
        edits=(
            (
                0,
                "- --masq-chain=IP-MASQ",
                "- --masq-chain=$(CHAIN)\n          - --enable-ipv6=$(FLAG_ipv6)",
            ),
            (0, "        resources:", env),
        ),
    )
    assert only(result).flags == {
        "masq_chain": "IP-MASQ",
        "enable_ipv6": False,
        "nomasq_all_reserved_ranges": True,
    }


def test_an_unknown_variable_is_not_taken_for_a_bad_value(tmp_path: Path) -> None:
    result = variant(
        tmp_path,
        GCE_DS,
        UPSTREAM_CM,
        edits=(
            (0, "- --masq-chain=IP-MASQ", "- --enable-ipv6=$(IPV6)"),
            (0, "        resources:", ENV.replace("LEVEL", "IPV6")),
        ),
    )
    assert [f.rule for f in only(result).findings] == ["MASQ053", "MASQ048"]
    assert only(result).starts
