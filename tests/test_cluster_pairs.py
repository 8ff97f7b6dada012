"""Acceptance: the agent's DaemonSet with its ConfigMaps, as each platform ships them,
through masqctl's command line.

For upstream's manifest, GKE's, AKS's and Cilium's Helm output: ``validate``, ``render``
and ``show`` from the files, and from the ``kind: List`` that ``kubectl get ds,cm -n
kube-system -o yaml`` prints, on stdin; one broken variant per wiring check; the
DaemonSet's findings at the DaemonSet's lines in every report format; and the notes that
say which DaemonSet was read and which flag of masqctl's command line overrides its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.netns import namespace, require_netfilter, tool
from tests.test_formats import masqctl as run_masqctl

DATA = Path(__file__).parent / "data"
UPSTREAM = ("corpus/upstream-daemonset.yaml", "configmaps/valid.yaml")
GCE = ("cluster/gce-addon-daemonset.yaml", "configmaps/valid.yaml")
GKE = ("cluster/gke-doc-daemonset.yaml", "cluster/gke-doc-configmap.yaml")
AKS = (
    "cluster/aks-daemonset.yaml",
    "cluster/aks-configmap-reconciled.yaml",
    "cluster/aks-configmap-user.yaml",
)
CILIUM = ("cluster/cilium-helm-template.yaml",)
#: GKE's doc manifest with the line its comment says to uncomment, as GKE's own
#: DaemonSet runs the agent (``/ip-masq-agent --masq-chain=IP-MASQ
#: --nomasq-all-reserved-ranges`` in the process listings of GKE nodes).
GKE_RESERVED = ((0, "# - --nomasq-all-reserved-ranges", "- --nomasq-all-reserved-ranges"),)
#: Every namespace holds this ConfigMap, so every ``kubectl get cm`` lists it.
ROOT_CA = """apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-root-ca.crt
  namespace: kube-system
data:
  ca.crt: |
    -----BEGIN CERTIFICATE-----
    MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Vy
    -----END CERTIFICATE-----
"""
RETURN = '-m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE"'
MASQUERADE = (
    '-m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be '
    'last in chain)" -j MASQUERADE'
)
RESERVED = (
    "100.64.0.0/10",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
)
HINT_059 = "  = hint: Nothing to fix; give flags on masqctl's command line to see another setting."
UPSTREAM_NOTE = (
    "masqctl: note: read as DaemonSet kube-system/ip-masq-agent's agent reads it: upstream, "
    "v2.8.0, no flags (their defaults)\n"
)
GKE_NOTE = (
    "masqctl: note: read as DaemonSet kube-system/ip-masq-agent's agent reads it: gke, "
    "v2.12.6-gke.15, flags --masq-chain=IP-MASQ --random-fully=false\n"
)
AKS_FLAGS = "azure-v2, v0.1.15-2, flags --resync-interval=60"
CILIUM_FLAGS = "cilium, v1.17.7, flags --enable-ipv4-masquerade=true --enable-ipv6-masquerade=false"


def masqctl(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``masqctl ARGS`` run in ``cwd`` (so reports name the files as given)."""
    return run_masqctl(*args, cwd=cwd, stdin=stdin)


def copies(tmp_path: Path, files: tuple[str, ...], edits=()) -> list[str]:  # type: ignore[no-untyped-def]
    """``files`` copied into ``tmp_path`` under their own names, each edit ``(file index,
    old, new)`` made once; the names, to run masqctl in ``tmp_path`` with."""
    names = []
    for index, name in enumerate(files):
        text = (DATA / name).read_text()
        for target, old, new in edits:
            if target == index:
                assert old in text, old
                text = text.replace(old, new, 1)
        (tmp_path / Path(name).name).write_text(text)
        names.append(Path(name).name)
    return names


class _KubectlDumper(yaml.SafeDumper):
    """YAML as kubectl -o yaml writes it (sigs.k8s.io/yaml over go-yaml v2): keys sorted,
    block style, multi-line strings as literal blocks, other quoting in double quotes."""

    def choose_scalar_style(self):  # type: ignore[no-untyped-def]
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_KubectlDumper.add_representer(str, _represent_str)


def kubectl_get(*texts: str) -> str:
    """What ``kubectl get ds,cm -n kube-system -o yaml`` prints for these objects: one
    ``List``, the DaemonSets first, then the ConfigMaps by name (the API server would add
    its defaults and status, which the agent's wiring does not depend on)."""
    objects = [doc for text in texts for doc in yaml.safe_load_all(text) if doc]
    objects.sort(key=lambda o: (o["kind"] != "DaemonSet", o["metadata"]["name"]))
    listing = {"apiVersion": "v1", "items": objects, "kind": "List"}
    listing["metadata"] = {"resourceVersion": ""}
    return yaml.dump(listing, Dumper=_KubectlDumper, sort_keys=True, default_flow_style=False)


def read(*names: str) -> list[str]:
    return [(DATA / name).read_text() for name in names]


def payload(chain: str, cidrs: tuple[str, ...], masquerade: str = MASQUERADE) -> str:
    """The restore payload of one sync: link-local first, then each CIDR's RETURN."""
    rules = [f"-A {chain} {RETURN} -d {cidr} -j RETURN\n" for cidr in ("169.254.0.0/16", *cidrs)]
    return f"*nat\n:{chain} - [0:0]\n{''.join(rules)}-A {chain} {masquerade}\nCOMMIT\n"


def findings(result: subprocess.CompletedProcess[str]) -> list[str]:
    """validate --format json's findings as ``file:line:col: severity[ID] message``."""
    return [
        f"{f['file']}:{f['line']}:{f['column']}: {f['severity']}[{f['rule']}] {f['message']}"
        for f in json.loads(result.stdout)["findings"]
    ]


# -- upstream's ip-masq-agent.yaml -------------------------------------------------------


def test_upstream_manifest_with_its_configmap() -> None:
    validate = masqctl(DATA, "validate", *UPSTREAM)
    assert (validate.returncode, validate.stdout, validate.stderr) == (
        0,
        "configmaps/valid.yaml:4:5: info[MASQ059] read as DaemonSet kube-system/ip-masq-agent's "
        "agent reads it: upstream, v2.8.0, no flags (their defaults)\n"
        "  4 |     nonMasqueradeCIDRs:\n"
        "    |     ^\n"
        f"{HINT_059}\n"
        "\n"
        "2 files, 1 config, 1 object skipped: 0 errors, 0 warnings, 1 info\n",
        "",
    )
    render = masqctl(DATA, "render", "--config", UPSTREAM[0], "--config", UPSTREAM[1])
    # v2.8.0 writes no --random-fully (v2.10.0 added it, v2.11.0 the flag)
    assert (render.returncode, render.stdout, render.stderr) == (
        0,
        payload("IP-MASQ-AGENT", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
        UPSTREAM_NOTE,
    )
    show = masqctl(DATA, "show", "--config", UPSTREAM[0], "--config", UPSTREAM[1])
    assert (show.returncode, show.stdout, show.stderr) == (
        0,
        '{"nonMasqueradeCIDRs":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"],"cidrLimit":64,'
        '"masqLinkLocal":false,"masqLinkLocalIPv6":false,"resyncInterval":"1m0s"}\n',
        UPSTREAM_NOTE,
    )


def test_upstream_pair_from_kubectl_get_on_stdin() -> None:
    listing = kubectl_get(*read(*UPSTREAM), ROOT_CA)
    render = masqctl(DATA, "render", "--config", "-", stdin=listing)
    assert (render.returncode, render.stdout, render.stderr) == (
        0,
        payload("IP-MASQ-AGENT", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
        UPSTREAM_NOTE,
    )
    validate = masqctl(DATA, "validate", "--format", "json", "-", stdin=listing)
    assert json.loads(validate.stdout) == {
        "files": 1,
        "configs": 1,
        "skipped": 2,
        "findings": [
            {
                "file": "<stdin>",
                "line": 41,
                "column": 7,
                "rule": "MASQ059",
                "severity": "info",
                "message": "read as DaemonSet kube-system/ip-masq-agent's agent reads it: "
                "upstream, v2.8.0, no flags (their defaults)",
                "hint": HINT_059.removeprefix("  = hint: "),
            }
        ],
    }
    assert listing.splitlines()[38:41] == ["  data:", "    config: |", "      nonMasqueradeCIDRs:"]


def test_gce_addon_runs_upstreams_agent_with_gkes_flags_on_labelled_nodes() -> None:
    validate = masqctl(DATA, "validate", "--format", "json", *GCE)
    assert findings(validate) == [
        "cluster/gce-addon-daemonset.yaml:46:9: info[MASQ048] DaemonSet kube-system/ip-masq-agent "
        "runs only on nodes labelled kubernetes.io/os=linux,node.kubernetes.io/masq-agent-ds-ready"
        "=true (nodeSelector): any other node gets no agent, so nothing writes its rules there",
        "configmaps/valid.yaml:4:5: info[MASQ059] read as DaemonSet kube-system/ip-masq-agent's "
        "agent reads it: upstream, v2.12.0, flags --masq-chain=IP-MASQ "
        "--nomasq-all-reserved-ranges=true",
    ]
    render = masqctl(DATA, "render", "--config", GCE[0], "--config", GCE[1])
    assert render.stdout == payload(
        "IP-MASQ", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), MASQUERADE + " --random-fully"
    )


# -- GKE -----------------------------------------------------------------------------------


def test_gke_without_an_ip_masq_agent_configmap_runs_on_the_reserved_ranges(
    tmp_path: Path,
) -> None:
    [daemonset] = copies(tmp_path, GKE[:1], GKE_RESERVED)
    listing = kubectl_get((tmp_path / daemonset).read_text(), ROOT_CA)
    note = (
        "masqctl: note: read as DaemonSet kube-system/ip-masq-agent's agent reads it: gke, "
        "v2.12.6-gke.15, flags --masq-chain=IP-MASQ --nomasq-all-reserved-ranges=true "
        "--random-fully=false\n"
        "masqctl: note: DaemonSet kube-system/ip-masq-agent's agent reads no config file of the "
        "inputs (masqctl validate tells why): it runs on its defaults\n"
    )
    render = masqctl(tmp_path, "render", "--config", "-", stdin=listing)
    defaults = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", *RESERVED)
    assert (render.returncode, render.stdout, render.stderr) == (
        0,
        payload("IP-MASQ", defaults),
        note,
    )
    show = masqctl(tmp_path, "show", "--config", "-", stdin=listing)
    cidrs = ",".join(f'"{cidr}"' for cidr in defaults)
    assert (show.stdout, show.stderr) == (
        f'{{"nonMasqueradeCIDRs":[{cidrs}],"cidrLimit":64,"masqLinkLocal":false,'
        '"masqLinkLocalIPv6":false,"resyncInterval":"1m0s"}\n',
        note,
    )
    validate = masqctl(tmp_path, "validate", "-", stdin=listing)
    assert (validate.returncode, validate.stdout.splitlines()[0]) == (
        0,
        "<stdin>:55:19: warning[MASQ040] ConfigMap kube-system/ip-masq-agent (volume "
        "config-volume) is not among the inputs: masqctl cannot check what the agent reads; if "
        "it does not exist, the source is optional, so the agent runs without it",
    )
    assert listing.splitlines()[54] == "            name: ip-masq-agent"


def test_gke_doc_manifest_without_the_reserved_ranges_flag_runs_upstreams_default() -> None:
    show = masqctl(DATA, "show", "--config", GKE[0])
    assert show.stdout == (
        '{"nonMasqueradeCIDRs":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"],"cidrLimit":64,'
        '"masqLinkLocal":false,"masqLinkLocalIPv6":false,"resyncInterval":"1m0s"}\n'
    )


def test_gke_doc_manifest_with_its_configmap() -> None:
    validate = masqctl(DATA, "validate", "--format", "json", *GKE)
    assert (validate.returncode, findings(validate)) == (
        0,
        [
            "cluster/gke-doc-configmap.yaml:8:5: info[MASQ059] read as DaemonSet "
            "kube-system/ip-masq-agent's agent reads it: gke, v2.12.6-gke.15, flags "
            "--masq-chain=IP-MASQ --random-fully=false"
        ],
    )
    render = masqctl(DATA, "render", "--config", GKE[0], "--config", GKE[1])
    assert (render.stdout, render.stderr) == (
        payload("IP-MASQ", ("172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")),
        GKE_NOTE,
    )
    listing = kubectl_get(*read(*GKE), ROOT_CA)
    piped = masqctl(DATA, "render", "--config", "-", stdin=listing)
    assert (piped.stdout, piped.stderr) == (render.stdout, GKE_NOTE)


# -- AKS -----------------------------------------------------------------------------------

AKS_FINDINGS = [
    "cluster/aks-daemonset.yaml:34:13: info[MASQ048] DaemonSet kube-system/azure-ip-masq-agent "
    "runs only on nodes matching kubernetes.azure.com/cluster,type notin (virtual-kubelet),"
    "kubernetes.io/os in (linux) (node affinity): any other node gets no agent, so nothing "
    "writes its rules there",
    "cluster/aks-daemonset.yaml:95:23: warning[MASQ047] mode 444 is decimal: the file mode 0674 "
    "(rw-rwxr--), not 0444 (r--r--r--); write 0444 or 292",
    "cluster/aks-daemonset.yaml:102:23: warning[MASQ047] mode 444 is decimal: the file mode "
    "0674 (rw-rwxr--), not 0444 (r--r--r--); write 0444 or 292",
    "cluster/aks-configmap-reconciled.yaml:4:5: info[MASQ059] read as DaemonSet "
    f"kube-system/azure-ip-masq-agent's agent reads it: {AKS_FLAGS}",
    'cluster/aks-configmap-reconciled.yaml:5:9: warning[MASQ014] CIDR "10.244.0.0/16" is inside '
    '"10.0.0.0/8" (nonMasqueradeCIDRs[0], cluster/aks-configmap-user.yaml:5): redundant: '
    "ip-masq-agent-v2 writes its RETURN rules in a new order every sync, and whichever of "
    "the two comes first returns for it",
    "cluster/aks-configmap-user.yaml:4:5: info[MASQ059] read as DaemonSet "
    f"kube-system/azure-ip-masq-agent's agent reads it: {AKS_FLAGS}",
]
AKS_NOTES = (
    f"masqctl: note: read as DaemonSet kube-system/azure-ip-masq-agent's agent reads it: "
    f"{AKS_FLAGS}\n"
)


def test_aks_projected_volume_with_its_two_configmaps() -> None:
    validate = masqctl(DATA, "validate", "--format", "json", *AKS)
    assert (validate.returncode, findings(validate)) == (0, AKS_FINDINGS)
    configs = [arg for name in AKS for arg in ("--config", name)]
    render = masqctl(DATA, "render", *configs)
    assert (render.returncode, render.stdout, render.stderr) == (
        0,
        payload("IP-MASQ-AGENT", ("10.0.0.0/8", "100.64.0.0/10", "10.244.0.0/16")).replace(
            f"-A IP-MASQ-AGENT {RETURN} -d 169.254.0.0/16 -j RETURN\n", ""
        ),
        AKS_NOTES + "masqctl: note: Azure's ip-masq-agent-v2 writes these RETURN rules in a new "
        "order on every sync (it builds them through a Go map); shown in first-seen order\n",
    )
    show = masqctl(DATA, "show", *configs)
    assert (show.stdout, show.stderr) == (
        '{"nonMasqueradeCIDRs":["10.0.0.0/8","100.64.0.0/10","10.244.0.0/16"],'
        '"masqLinkLocal":true,"masqLinkLocalIPv6":false}\n',
        AKS_NOTES,
    )


def test_aks_from_kubectl_get_on_stdin_and_as_json() -> None:
    listing = kubectl_get(*read(*AKS))
    show = masqctl(DATA, "show", "--config", "-", stdin=listing)
    configs = ["--config", "cluster/aks-daemonset.json", "--config", AKS[1], "--config", AKS[2]]
    from_json = masqctl(DATA, "show", *configs)
    expected = (
        '{"nonMasqueradeCIDRs":["10.0.0.0/8","100.64.0.0/10","10.244.0.0/16"],'
        '"masqLinkLocal":true,"masqLinkLocalIPv6":false}\n'
    )
    assert (show.stdout, show.stderr) == (expected, AKS_NOTES)
    assert (from_json.stdout, from_json.stderr) == (expected, AKS_NOTES)


# -- Cilium --------------------------------------------------------------------------------

CILIUM_NOTE = (
    f"masqctl: note: read as DaemonSet kube-system/cilium's agent reads it: {CILIUM_FLAGS}\n"
)


def test_cilium_helm_template_output() -> None:
    validate = masqctl(DATA, "validate", *CILIUM)
    assert (validate.returncode, validate.stdout) == (
        0,
        f"cluster/cilium-helm-template.yaml:42:5: info[MASQ059] read as DaemonSet "
        f"kube-system/cilium's agent reads it: {CILIUM_FLAGS}\n"
        '  42 |     {"masqLinkLocal":false,"nonMasqueradeCIDRs":["10.0.0.0/8","192.168.0.0/16"]}\n'
        "     |     ^\n"
        f"{HINT_059}\n"
        "\n"
        "1 file, 1 config, 2 objects skipped: 0 errors, 0 warnings, 1 info\n",
    )
    render = masqctl(DATA, "render", "--config", CILIUM[0])
    assert (render.returncode, render.stdout, render.stderr) == (
        0,
        "10.0.0.0/8\n169.254.0.0/16\n192.168.0.0/16\n",
        CILIUM_NOTE,
    )
    show = masqctl(DATA, "show", "--config", CILIUM[0])
    assert (show.stdout, show.stderr) == (
        '{"nonMasqueradeCIDRs":["10.0.0.0/8","192.168.0.0/16"],"masqLinkLocal":false,'
        '"masqLinkLocalIPv6":false}\n',
        CILIUM_NOTE,
    )
    listing = kubectl_get(*read(*CILIUM))
    piped = masqctl(DATA, "render", "--config", "-", stdin=listing)
    assert (piped.stdout, piped.stderr) == (render.stdout, CILIUM_NOTE)


def test_cilium_values_file_is_read_with_ciliums_reading_at_its_own_lines(tmp_path: Path) -> None:
    [values] = copies(tmp_path, ("cluster/cilium-values.yaml",), ((0, "10.0.0.0/8", "10.0.0.1/8"),))
    validate = masqctl(tmp_path, "validate", "--format", "json", values)
    assert json.loads(validate.stdout)["configs"] == 1
    assert findings(validate) == [
        'cilium-values.yaml:4:26: warning[MASQ029] CIDR "10.0.0.1/8" has host bits set: Cilium '
        "masks it to 10.0.0.0/8 without a word (did you mean that network?)"
    ]


# -- broken variants, one per check of the DaemonSet's wiring ------------------------------

UPSTREAM_IMAGE = "        image: registry.k8s.io/networking/ip-masq-agent:v2.8.0\n"
MIS_INDENTED = (
    "          - configMap:\n"
    "              items:\n"
    "              - key: ip-masq-agent\n"
    "                mode: 444\n"
    "                path: ip-masq-agent\n"
    "              name: azure-ip-masq-agent-config\n"
    "              optional: true\n",
    "          - configMap:\n"
    "            items:\n"
    "            - key: ip-masq-agent\n"
    "              mode: 444\n"
    "              path: ip-masq-agent\n"
    "            name: azure-ip-masq-agent-config\n"
    "            optional: true\n",
)
UPSTREAM_059 = (
    "valid.yaml:4:5: info[MASQ059] read as DaemonSet kube-system/ip-masq-agent's agent reads "
    "it: upstream, v2.8.0, no flags (their defaults)"
)
GKE_059 = (
    "gke-doc-configmap.yaml:8:5: info[MASQ059] read as DaemonSet kube-system/ip-masq-agent's "
    "agent reads it: gke, v2.12.6-gke.15, "
)
AKS_AFFINITY = AKS_FINDINGS[0].removeprefix("cluster/")
AKS_MODE = (
    "warning[MASQ047] mode 444 is decimal: the file mode 0674 (rw-rwxr--), not 0444 "
    "(r--r--r--); write 0444 or 292"
)

BROKEN = [
    pytest.param(
        UPSTREAM[:1],
        ((0, "optional: true", "optional: false"),),
        0,
        [
            "upstream-daemonset.yaml:30:19: warning[MASQ040] ConfigMap kube-system/ip-masq-agent "
            "(volume config) is not among the inputs: masqctl cannot check what the agent reads; "
            "if it does not exist, the source is not optional, so the pod stays in "
            'ContainerCreating (MountVolume.SetUp failed: configmap "ip-masq-agent" not found)'
        ],
        id="MASQ040-configmap-not-found",
    ),
    pytest.param(
        AKS,
        ((0, "- key: ip-masq-agent-reconciled", "- key: reconciled"),),
        1,
        [
            AKS_AFFINITY,
            f"aks-daemonset.yaml:95:23: {AKS_MODE}",
            "aks-daemonset.yaml:101:22: error[MASQ041] ConfigMap "
            "kube-system/azure-ip-masq-agent-config-reconciled has no key reconciled (its keys: "
            "ip-masq-agent-reconciled): the kubelet skips the item (optional: true), so there is "
            "no /etc/config/ip-masq-agent-reconciled",
            f"aks-daemonset.yaml:102:23: {AKS_MODE}",
            "aks-configmap-user.yaml:4:5: info[MASQ059] read as DaemonSet "
            f"kube-system/azure-ip-masq-agent's agent reads it: {AKS_FLAGS}",
        ],
        id="MASQ041-configmap-key-missing",
    ),
    pytest.param(
        CILIUM,
        ((0, "  config: |-\n", "  ip-masq-agent: |-\n"),),
        1,
        [
            "cilium-helm-template.yaml:159:18: error[MASQ042] the DaemonSet mounts key config of "
            "ConfigMap kube-system/ip-masq-agent, whose config is under key ip-masq-agent "
            "(cilium-helm-template.yaml:41): the kubelet skips the item (optional: true), so "
            "there is no /etc/config/ip-masq-agent"
        ],
        id="MASQ042-config-key-mismatch",
    ),
    pytest.param(
        UPSTREAM,
        ((0, "path: ip-masq-agent", "path: ip-masq-agent.yaml"),),
        1,
        [
            "upstream-daemonset.yaml:35:23: error[MASQ043] items maps key config to path "
            "ip-masq-agent.yaml, /etc/config/ip-masq-agent.yaml (ConfigMap ip-masq-agent), which "
            "kubernetes-sigs/ip-masq-agent does not read"
        ],
        id="MASQ043-config-file-not-read",
    ),
    pytest.param(
        GKE,
        ((0, "mountPath: /etc/config", "mountPath: /etc/ip-masq-agent"),),
        0,
        [
            "gke-doc-daemonset.yaml:41:22: warning[MASQ044] volume config-volume (ConfigMap "
            "ip-masq-agent) is mounted at /etc/ip-masq-agent, but the agent reads /etc/config: "
            "the agent runs on its defaults"
        ],
        id="MASQ044-config-not-mounted",
    ),
    pytest.param(
        UPSTREAM,
        (
            (
                0,
                "mountPath: /etc/config",
                "mountPath: /etc/config/ip-masq-agent\n            subPath: ip-masq-agent",
            ),
        ),
        0,
        [
            "upstream-daemonset.yaml:26:22: warning[MASQ045] volume config is mounted at "
            "/etc/config/ip-masq-agent through subPath ip-masq-agent: the kubelet never updates "
            "subPath mounts, so the agent keeps the ConfigMap as it was when the pod started",
            UPSTREAM_059,
        ],
        id="MASQ045-config-subpath",
    ),
    pytest.param(
        AKS,
        ((0, *MIS_INDENTED),),
        1,
        [
            AKS_AFFINITY,
            "aks-daemonset.yaml:92:13: error[MASQ046] items, name, optional stand beside "
            "configMap instead of under it, so Kubernetes reads configMap: null: this source "
            "projects nothing (strict field validation refuses it), and the agent never sees the "
            "ConfigMap",
            f"aks-daemonset.yaml:95:21: {AKS_MODE}",
            f"aks-daemonset.yaml:102:23: {AKS_MODE}",
            "aks-configmap-reconciled.yaml:4:5: info[MASQ059] read as DaemonSet "
            f"kube-system/azure-ip-masq-agent's agent reads it: {AKS_FLAGS}",
        ],
        id="MASQ046-configmap-source-null",
    ),
    pytest.param(
        AKS,
        (),
        0,
        [finding.replace("cluster/", "") for finding in AKS_FINDINGS],
        id="MASQ047-volume-mode-decimal",  # as AKS ships it
    ),
    pytest.param(
        UPSTREAM,
        (
            (
                0,
                "      containers:",
                '      nodeSelector:\n        beta.kubernetes.io/masq-agent-ds-ready: "true"\n'
                "      containers:",
            ),
        ),
        0,
        [
            "upstream-daemonset.yaml:17:9: info[MASQ048] DaemonSet kube-system/ip-masq-agent "
            "runs only on nodes labelled beta.kubernetes.io/masq-agent-ds-ready=true "
            "(nodeSelector): any other node gets no agent, so nothing writes its rules there",
            UPSTREAM_059,
        ],
        id="MASQ048-node-selector",
    ),
    pytest.param(
        UPSTREAM,
        ((0, UPSTREAM_IMAGE, UPSTREAM_IMAGE + "        args: [--to-ports=1024-29999]\n"),),
        1,
        [
            "upstream-daemonset.yaml:19:16: error[MASQ049] --to-ports=1024-29999: "
            "kubernetes-sigs/ip-masq-agent v2.8.0 has no --to-ports (added in v2.12.0): the agent "
            'exits with "flag provided but not defined: -to-ports" and its pod crash-loops',
            UPSTREAM_059,
        ],
        id="MASQ049-flag-not-in-release",
    ),
    pytest.param(
        GKE,
        ((0, "- --masq-chain=IP-MASQ", "- --masq-chian=IP-MASQ"),),
        1,
        [
            "gke-doc-daemonset.yaml:25:11: error[MASQ050] --masq-chian=IP-MASQ: GKE's "
            'ip-masq-agent has no such flag: the agent exits with "flag provided but not '
            'defined: -masq-chian" and its pod crash-loops',
            GKE_059 + "no flags (their defaults)",
        ],
        id="MASQ050-unknown-flag",
    ),
    pytest.param(
        GKE,
        ((0, "- --random-fully=false", "- --random-fully false"),),
        1,
        [
            "gke-doc-daemonset.yaml:30:11: error[MASQ050] --random-fully false: GKE's "
            'ip-masq-agent has no such flag: the agent exits with "flag provided but not '
            'defined: -random-fully false" and its pod crash-loops (one args item holds both '
            "words: write --random-fully=false)",
            GKE_059 + "flags --masq-chain=IP-MASQ",
        ],
        id="MASQ050-flag-and-value-in-one-item",
    ),
    pytest.param(
        GKE,
        ((0, "- --v=2", "- --v=two"),),
        1,
        [
            'gke-doc-daemonset.yaml:20:11: error[MASQ051] --v=two: the agent exits with "invalid '
            'value "two" for flag -v: strconv.ParseInt: parsing "two": invalid syntax" and its '
            "pod crash-loops",
            GKE_059 + "no flags (their defaults)",
        ],
        id="MASQ051-flag-error",
    ),
    pytest.param(
        GKE,
        ((0, "- --random-fully=false", '- --random-fully\n        - "false"'),),
        1,
        [
            "gke-doc-daemonset.yaml:31:11: error[MASQ052] --random-fully false: a bool flag "
            "takes no separate value, so --random-fully is true; Go's flag parsing stops at "
            '"false", so the agent ignores it (write --random-fully=false)',
            GKE_059 + "flags --masq-chain=IP-MASQ --random-fully=true",
        ],
        id="MASQ052-flags-after-positional",
    ),
    pytest.param(
        CILIUM,
        ((0, 'enable-ip-masq-agent: "true"', 'enable-ip-masq-agent: "false"'),),
        0,
        [
            "cilium-helm-template.yaml:97:11: warning[MASQ055] cilium-agent mounts an "
            'ip-masq-agent config, but cilium-config says enable-ip-masq-agent: "false" '
            "(cilium-helm-template.yaml:29): the BPF ip-masq-agent does not run and the config "
            "is never read"
        ],
        id="MASQ055-cilium-ip-masq-agent-off",
    ),
    pytest.param(
        CILIUM,
        ((0, 'enable-bpf-masquerade: "true"', 'enable-bpf-masquerade: "false"'),),
        1,
        [
            "cilium-helm-template.yaml:29:25: error[MASQ056] cilium-config turns the "
            'ip-masq-agent on, but enable-bpf-masquerade is "false": cilium-agent refuses to '
            'start ("BPF ip-masq-agent requires (--enable-ipv4-masquerade="true" or '
            '--enable-ipv6-masquerade="true") and --enable-bpf-masquerade="true"")',
            "cilium-helm-template.yaml:42:5: info[MASQ059] read as DaemonSet kube-system/cilium's "
            f"agent reads it: {CILIUM_FLAGS}",
        ],
        id="MASQ056-cilium-bpf-masquerade-required",
    ),
    pytest.param(
        UPSTREAM,
        (
            (
                0,
                UPSTREAM_IMAGE,
                "        image: gcr.io/google-containers/ip-masq-agent-amd64:v2.0.0\n"
                "        args: [--masq-chain=IP-MASQ, --nomasq-all-reserved-ranges]\n",
            ),
        ),
        0,
        [
            "upstream-daemonset.yaml:19:16: warning[MASQ060] kubernetes-sigs/ip-masq-agent "
            "v2.0.0 never parses its command line (flag parsing arrived in v2.1.0): it ignores "
            "every argument (--masq-chain=IP-MASQ, --nomasq-all-reserved-ranges) and runs with "
            "its flags' defaults",
            UPSTREAM_059.replace("v2.8.0", "v2.0.0"),
        ],
        id="MASQ060-flags-ignored",
    ),
    pytest.param(
        UPSTREAM,
        ((0, UPSTREAM_IMAGE, UPSTREAM_IMAGE + "        args: [--enable-ipv6]\n"),),
        0,
        [
            UPSTREAM_059.replace("no flags (their defaults)", "flags --enable-ipv6=true"),
            "valid.yaml:4:5: warning[MASQ061] the agent runs with --enable-ipv6, but the config "
            "lists no IPv6 CIDR and does not set masqLinkLocalIPv6: it masquerades every IPv6 "
            "destination but fe80::/10, the cluster's own pods and nodes included",
        ],
        id="MASQ061-ipv6-without-cidrs",
    ),
    pytest.param(
        GKE,
        ((1, "      - 100.64.0.0/10\n", "      - 100.64.0.0/10\n      - fd00::/8\n"),),
        1,
        [
            GKE_059 + "flags --masq-chain=IP-MASQ --random-fully=false",
            "gke-doc-configmap.yaml:12:9: error[MASQ008] ipv6 is not enabled, but ipv6 cidr "
            "fd00::/8 provided. Enable ipv6 using --enable-ipv6 agent flag",
        ],
        id="MASQ008-ipv6-cidr-without-the-flag",
    ),
]


@pytest.mark.parametrize(("files", "edits", "code", "expected"), BROKEN)
def test_broken_wiring_through_validate(
    tmp_path: Path,
    files: tuple[str, ...],
    edits: tuple[tuple[int, str, str], ...],
    code: int,
    expected: list[str],
) -> None:
    result = masqctl(tmp_path, "validate", "--format", "json", *copies(tmp_path, files, edits))
    assert (result.returncode, findings(result), result.stderr) == (code, expected, "")


def test_every_wiring_check_of_the_issue_has_a_broken_variant_and_a_doc() -> None:
    from masqctl.lint.catalogue import CHECKS

    page = (Path(__file__).parent.parent / "docs" / "checks.md").read_text()
    wiring = {f"MASQ0{number}" for number in range(40, 62)} - {"MASQ053", "MASQ054"}
    wiring -= {"MASQ057", "MASQ058", "MASQ059"}  # templates, values files, the context
    covered = {param.id.split("-", 1)[0] for param in BROKEN}
    assert wiring <= covered
    assert all(f"## {check} {CHECKS[check].name}\n" in page for check in wiring)


def test_an_agent_that_does_not_start_renders_nothing(tmp_path: Path) -> None:
    names = copies(tmp_path, GKE, ((0, "- --v=2", "- --v=two"),))
    render = masqctl(tmp_path, "render", "--config", names[0], "--config", names[1])
    assert (render.returncode, render.stdout, render.stderr) == (
        2,
        "",
        "masqctl: DaemonSet kube-system/ip-masq-agent's agent does not start "
        '(gke-doc-daemonset.yaml:20:11: --v=two: the agent exits with "invalid value "two" for '
        'flag -v: strconv.ParseInt: parsing "two": invalid syntax" and its pod crash-loops): it '
        "writes no rules\n",
    )


def test_a_release_that_ignores_its_flags_renders_its_defaults(tmp_path: Path) -> None:
    image = "        image: gcr.io/google-containers/ip-masq-agent-amd64:v2.0.0\n"
    args = "        args: [--masq-chain=IP-MASQ, --nomasq-all-reserved-ranges]\n"
    names = copies(tmp_path, UPSTREAM, ((0, UPSTREAM_IMAGE, image + args),))
    render = masqctl(tmp_path, "render", "--config", names[0], "--config", names[1])
    assert render.stdout == payload(
        "IP-MASQ-AGENT", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    )


# -- the DaemonSet's findings at its lines, in every report format -------------------------

GKE_BOOL_VALUE = ((0, "- --random-fully=false", '- --random-fully\n        - "false"'),)
MASQ052 = (
    "--random-fully false: a bool flag takes no separate value, so --random-fully is true; Go's "
    'flag parsing stops at "false", so the agent ignores it (write --random-fully=false)'
)


def test_text_report_shows_the_args_item(tmp_path: Path) -> None:
    result = masqctl(tmp_path, "validate", *copies(tmp_path, GKE, GKE_BOOL_VALUE))
    assert result.stdout.splitlines()[:4] == [
        f"gke-doc-daemonset.yaml:31:11: error[MASQ052] {MASQ052}",
        '  31 |         - "false"',
        "     |           ^",
        "  = hint: Write bool values with `=` (`--enable-ipv6=false`) and remove stray words.",
    ]


def test_json_report_points_at_the_volume_item(tmp_path: Path) -> None:
    result = masqctl(tmp_path, "validate", "--format", "json", *copies(tmp_path, AKS))
    assert json.loads(result.stdout)["findings"][1] == {
        "file": "aks-daemonset.yaml",
        "line": 95,
        "column": 23,
        "rule": "MASQ047",
        "severity": "warning",
        "message": AKS_MODE.split("] ", 1)[1],
        "hint": "Write the octal mode with a leading zero (`0444`) or its decimal value (`292`).",
    }


def test_github_annotation_is_on_the_args_item(tmp_path: Path) -> None:
    result = masqctl(
        tmp_path, "validate", "--format", "github", *copies(tmp_path, GKE, GKE_BOOL_VALUE)
    )
    assert result.stdout.splitlines()[0] == (
        "::error file=gke-doc-daemonset.yaml,line=31,col=11,title=MASQ052 "
        f"(flags-after-positional)::{MASQ052}"
    )


def test_sarif_result_is_located_at_the_args_item(tmp_path: Path) -> None:
    result = masqctl(
        tmp_path, "validate", "--format", "sarif", *copies(tmp_path, GKE, GKE_BOOL_VALUE)
    )
    [run] = json.loads(result.stdout)["runs"]
    first = run["results"][0]
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == "MASQ052"
    assert {key: value for key, value in first.items() if key != "ruleIndex"} == {
        "ruleId": "MASQ052",
        "level": "error",
        "message": {"text": MASQ052},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "gke-doc-daemonset.yaml"},
                    "region": {"startLine": 31, "startColumn": 11},
                }
            }
        ],
    }


def test_gitlab_issue_is_located_at_the_volume_item(tmp_path: Path) -> None:
    result = masqctl(tmp_path, "validate", "--format", "gitlab", *copies(tmp_path, AKS))
    issue = json.loads(result.stdout)[1]
    assert {key: value for key, value in issue.items() if key != "fingerprint"} == {
        "description": "MASQ047: " + AKS_MODE.split("] ", 1)[1],
        "check_name": "MASQ047",
        "severity": "minor",
        "location": {"path": "aks-daemonset.yaml", "lines": {"begin": 95}},
    }


# -- flags of masqctl's command line override the DaemonSet's, and say so -----------------

OVERRIDE_NOTES = (
    GKE_NOTE
    + "masqctl: note: --masq-chain=MY-CHAIN of masqctl's command line overrides the DaemonSet's "
    "--masq-chain=IP-MASQ (cluster/gke-doc-daemonset.yaml:25:11)\n"
    "masqctl: note: --enable-ipv6=true of masqctl's command line overrides the agent's default "
    "--enable-ipv6=false\n"
)
OVERRIDES = ("--masq-chain", "MY-CHAIN", "--enable-ipv6")
GKE_CONFIGS = ("--config", GKE[0], "--config", GKE[1])


def test_render_and_show_say_which_flags_override_the_daemonsets() -> None:
    render = masqctl(DATA, "render", *GKE_CONFIGS, *OVERRIDES, "--random-fully")
    assert render.stderr == OVERRIDE_NOTES + (
        "masqctl: note: --random-fully=true of masqctl's command line overrides the DaemonSet's "
        "--random-fully=false (cluster/gke-doc-daemonset.yaml:30:11)\n"
    )
    assert render.stdout == payload(
        "MY-CHAIN",
        ("172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"),
        MASQUERADE + " --random-fully",
    )
    show = masqctl(DATA, "show", "--output", "json", *GKE_CONFIGS, *OVERRIDES)
    assert show.stderr == OVERRIDE_NOTES
    assert json.loads(show.stdout)["nonMasqueradeCIDRs"] == [
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    ]


def test_a_flavour_other_than_the_daemonsets_says_the_daemonset_is_passed_over() -> None:
    render = masqctl(DATA, "render", *GKE_CONFIGS, "--flavour", "upstream")
    assert render.returncode == 0
    assert render.stderr == (
        "masqctl: note: --flavour upstream: DaemonSet kube-system/ip-masq-agent runs gke's "
        "agent, so the inputs are read as upstream's agent reads them, without that "
        "DaemonSet's flags and volumes\n"
    )
    assert render.stdout == payload(
        "IP-MASQ-AGENT",
        ("172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"),
        MASQUERADE + " --random-fully",
    )
    assert masqctl(DATA, "render", *GKE_CONFIGS, "--flavour", "gke").stderr == GKE_NOTE


def test_a_flag_with_the_daemonsets_own_value_overrides_nothing() -> None:
    render = masqctl(DATA, "render", *GKE_CONFIGS, "--masq-chain", "IP-MASQ", "--no-random-fully")
    assert render.stderr == GKE_NOTE


def test_diff_and_explain_say_so_on_stderr_and_keep_json_on_stdout(tmp_path: Path) -> None:
    dump = tmp_path / "nat.txt"
    saved = masqctl(DATA, "render", "--format", "save", *GKE_CONFIGS, *OVERRIDES)
    dump.write_text(saved.stdout)
    diff = masqctl(
        DATA,
        "diff",
        "--output",
        "json",
        "--from",
        str(dump),
        *GKE_CONFIGS,
        "--masq-chain",
        "MY-CHAIN",
    )
    assert diff.stderr == OVERRIDE_NOTES.replace(OVERRIDE_NOTES.splitlines(True)[-1], "")
    assert (diff.returncode, json.loads(diff.stdout)["in_sync"]) == (0, True)
    explain = masqctl(DATA, "explain", "--output", "json", "100.64.1.2", *GKE_CONFIGS, *OVERRIDES)
    assert explain.stderr == OVERRIDE_NOTES
    assert json.loads(explain.stdout)["verdict"] == "no-masquerade"


def test_validate_says_which_flags_override_the_daemonsets() -> None:
    result = masqctl(DATA, "validate", "--format", "json", *GKE, *OVERRIDES)
    assert findings(result)[0] == (
        "cluster/gke-doc-configmap.yaml:8:5: info[MASQ059] read as DaemonSet "
        "kube-system/ip-masq-agent's agent reads it: gke, v2.12.6-gke.15, flags "
        "--masq-chain=IP-MASQ --random-fully=false; --masq-chain=MY-CHAIN of masqctl's command "
        "line overrides the DaemonSet's --masq-chain=IP-MASQ (cluster/gke-doc-daemonset.yaml:"
        "25:11); --enable-ipv6=true of masqctl's command line overrides the agent's default "
        "--enable-ipv6=false"
    )
    assert result.stderr == ""


def test_notes_are_printed_once_however_often_the_inputs_are_resolved(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from masqctl.commands.common import agent_inputs

    inputs = agent_inputs([str(DATA / name) for name in GKE], {"masq_chain": "IP-MASQ"})
    first, again = inputs.resolve(), inputs.resolve()
    assert first.flags == again.flags
    assert capsys.readouterr().err == GKE_NOTE


@pytest.fixture
def netns():  # type: ignore[no-untyped-def]
    require_netfilter()
    with namespace("mqpair") as created:
        yield created


@pytest.mark.netfilter
def test_apply_writes_what_the_daemonsets_agent_writes_and_says_what_overrides(
    netns,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    env = dict(netns.env, MASQCTL_STATE_DIR=str(tmp_path / "state"))
    apply = [sys.executable, "-m", "masqctl", "apply", *GKE_CONFIGS, "--enable-ipv6"]
    applied = netns.run(apply, check=False, env=env, cwd=DATA)
    assert (applied.returncode, applied.stderr) == (
        0,
        GKE_NOTE
        + "masqctl: note: --enable-ipv6=true of masqctl's command line overrides the agent's "
        "default --enable-ipv6=false\n",
    )
    comment = '-m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE"'
    # auto picks nft on a node without rules: read it with nft's save, not with whichever
    # backend the host's iptables-save alternative points to
    for family, cidrs in (
        ("ipv4", ("169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")),
        ("ipv6", ("fe80::/10",)),
    ):
        saved = netns.run([tool("nft", "save", family), "-t", "nat"]).stdout.splitlines()
        assert [line for line in saved if line.startswith("-A IP-MASQ ")] == [
            *(f"-A IP-MASQ -d {cidr} {comment} -j RETURN" for cidr in cidrs),
            f"-A IP-MASQ {MASQUERADE}",
        ]
