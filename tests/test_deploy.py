"""deploy/: every manifest valid for several Kubernetes versions (offline schemas), every
kustomization rendered by ``kubectl kustomize``, and the pieces wired to masqctl as
masqctl reads them (its own option parser, the agent's own DaemonSet, NPD's protocol)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import dockerfile
import kubernetes_validate
import pytest
import yaml

from masqctl.check import SUMMARY_LIMIT
from masqctl.entry import parse_plain
from masqctl.options import COMMANDS
from tests.programs import require_program

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"
DATA = Path(__file__).parent / "data"
#: The oldest Kubernetes the schemas cover, two between, and the newest.
VERSIONS = ("1.25.0", "1.29.0", "1.33.0", kubernetes_validate.latest_version())
#: YAML under deploy/ that is no Kubernetes object.
NOT_MANIFESTS = {"prometheus/rules.yaml"}
KUSTOMIZATIONS = sorted(path.parent for path in DEPLOY.rglob("kustomization.yaml"))


def objects(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def manifests() -> list[Path]:
    found = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        name = str(path.relative_to(DEPLOY))
        if path.name != "kustomization.yaml" and name not in NOT_MANIFESTS:
            found.append(path)
    return found


def kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = require_program("kubectl", "kubernetes-client")
    run = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return [document for document in yaml.safe_load_all(run.stdout) if document]


def workload(name: str) -> dict[str, Any]:
    (daemonset,) = objects(DEPLOY / name / "daemonset.yaml")
    return daemonset


def container(daemonset: dict[str, Any]) -> dict[str, Any]:
    (only,) = daemonset["spec"]["template"]["spec"]["containers"]
    return only


def run_steps(name: str) -> list[str]:
    """The RUN commands of deploy/NAME/Dockerfile, read by Docker's own parser, their
    whitespace (line continuations) made single spaces."""
    steps = dockerfile.parse_file(str(DEPLOY / name / "Dockerfile"))
    return [" ".join(step.value[0].split()) for step in steps if step.cmd == "RUN"]


def diff_options(args: list[str]) -> dict[str, object]:
    """``masqctl diff ARGS`` as masqctl's own parser reads them (None: it could not)."""
    values = parse_plain(COMMANDS["diff"], args)
    assert values is not None, f"masqctl's parser does not read {args}"
    return values


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", manifests(), ids=lambda path: str(path.relative_to(DEPLOY)))
def test_every_manifest_is_valid_kubernetes(path: Path, version: str) -> None:
    for document in objects(path):
        kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_refuses_a_misspelt_field() -> None:
    daemonset = workload("audit")
    container(daemonset)["securityContext"]["capabilites"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="'capabilites' was unexpected"):
        kubernetes_validate.validate(daemonset, VERSIONS[0], strict=True)


def test_every_yaml_under_deploy_is_a_manifest_or_known_not_to_be() -> None:
    for path in manifests():
        assert all({"apiVersion", "kind"} <= set(document) for document in objects(path)), path
    assert {str(path.relative_to(DEPLOY)) for path in KUSTOMIZATIONS} == {
        "audit",
        "node-problem-detector",
        "prometheus",
    }


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda path: path.name)
def test_kubectl_kustomize_renders_valid_objects(directory: Path) -> None:
    rendered = kustomize(directory)
    assert rendered
    for document in rendered:
        for version in VERSIONS:
            kubernetes_validate.validate(document, version, strict=True)


def test_kustomize_carries_the_plugin_config_and_the_rules_unchanged() -> None:
    monitor = (DEPLOY / "node-problem-detector" / "masqctl-monitor.json").read_text()
    rendered = kustomize(DEPLOY / "node-problem-detector")
    (config,) = [document for document in rendered if document["kind"] == "ConfigMap"]
    (npd,) = [document for document in rendered if document["kind"] == "DaemonSet"]
    assert config["data"] == {"masqctl-monitor.json": monitor}
    volumes = {volume["name"]: volume for volume in npd["spec"]["template"]["spec"]["volumes"]}
    assert volumes["monitor"]["configMap"]["name"] == config["metadata"]["name"]
    (rules,) = kustomize(DEPLOY / "prometheus")
    assert rules["data"] == {"rules.yaml": (DEPLOY / "prometheus" / "rules.yaml").read_text()}
    # a Prometheus elsewhere mounts it by name: no hash suffix that changes with the rules
    assert rules["metadata"]["name"] == "masqctl-prometheus-rules"
    (audit,) = kustomize(DEPLOY / "audit")
    assert container(audit)["image"] == "registry.example.com/masqctl:0.1.0"


def mounted_config(daemonset: dict[str, Any], name: str) -> tuple[dict[str, Any], str]:
    """The agent's ConfigMap volume in ``daemonset`` and where the container mounts it."""
    spec = daemonset["spec"]["template"]["spec"]
    volume = next(volume for volume in spec["volumes"] if volume["name"] == name)
    (mount,) = [mount for mount in container(daemonset)["volumeMounts"] if mount["name"] == name]
    return volume["configMap"], mount["mountPath"]


@pytest.mark.parametrize("name", ["audit", "node-problem-detector"])
def test_the_agents_configmap_is_mounted_exactly_as_the_agents_daemonset_mounts_it(
    name: str,
) -> None:
    (agent,) = objects(DATA / "corpus" / "upstream-daemonset.yaml")
    daemonset = workload(name)
    assert mounted_config(daemonset, "config") == mounted_config(agent, "config")
    assert daemonset["metadata"]["namespace"] == agent["metadata"]["namespace"]
    assert daemonset["spec"]["template"]["spec"]["hostNetwork"] is True


@pytest.mark.parametrize("name", ["audit", "node-problem-detector"])
def test_the_pod_reads_the_nat_table_and_nothing_more(name: str) -> None:
    context = container(workload(name))["securityContext"]
    assert context == {
        "runAsUser": 0,
        "runAsNonRoot": False,
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]},
        **({"seccompProfile": {"type": "RuntimeDefault"}} if name == "audit" else {}),
    }
    mounts = {mount["mountPath"] for mount in container(workload(name))["volumeMounts"]}
    assert "/tmp" in mounts  # what iptables prints reaches masqctl through temporary files
    assert workload(name)["spec"]["template"]["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_the_audit_runs_the_check_masqctl_understands() -> None:
    daemonset = workload("audit")
    audit = container(daemonset)
    options = diff_options(audit["args"][1:])
    configmap, mount = mounted_config(daemonset, "config")
    textfile = next(m for m in audit["volumeMounts"] if m["name"] == "textfile")["mountPath"]
    assert audit["args"][0] == "diff"
    assert options["config"] == [f"{mount}/{configmap['items'][0]['path']}"]
    assert (options["optional_config"], options["output_format"], options["watch"]) == (
        True,
        "json",
        "60",
    )
    assert str(options["metrics_file"]).startswith(textfile + "/")
    assert str(options["metrics_file"]).endswith(".prom")
    assert audit["env"] == [
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
    ]
    requests, limits = audit["resources"]["requests"], audit["resources"]["limits"]
    assert (requests, limits) == ({"cpu": "10m", "memory": "64Mi"}, {"memory": "192Mi"})


#: README's install: a venv, and pip installing the source tree into it.
VENV = re.compile(r"python3 -m venv (\S+) && \1/bin/pip install -q --no-cache-dir /src")
MONITOR = json.loads((DEPLOY / "node-problem-detector" / "masqctl-monitor.json").read_text())


def go_duration(text: str) -> float:
    """Seconds of a Go duration as NPD's config writes them (``30s``, ``5m``, ``1m30s``)."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    assert parts is not None and text, f"not a duration: {text!r}"
    hours, minutes, seconds = (int(part or 0) for part in parts.groups())
    return hours * 3600 + minutes * 60 + seconds


def test_the_plugin_config_is_what_node_problem_detector_accepts() -> None:
    # pkg/custompluginmonitor/types/config.go: Validate()
    settings = MONITOR["pluginConfig"]
    assert MONITOR["plugin"] == "custom"
    assert go_duration(settings["invoke_interval"]) > 0
    conditions = {condition["type"] for condition in MONITOR["conditions"]}
    for rule in MONITOR["rules"]:
        assert go_duration(rule["timeout"]) <= go_duration(settings["timeout"])
        assert rule["type"] != "permanent" or rule["condition"] in conditions
    assert settings["max_output_length"] == SUMMARY_LIMIT


def test_the_plugin_runs_masqctl_where_its_image_installs_it() -> None:
    (rule,) = MONITOR["rules"]
    npd = container(workload("node-problem-detector"))
    # the image is the audit's (see the next tests), where masqctl has its venv
    (venv,) = [m for run in run_steps("audit") if (m := VENV.search(run))]
    assert rule["path"] == f"{venv.group(1)}/bin/masqctl"
    assert rule["args"][0] == "diff"
    options = diff_options(rule["args"][1:])
    configmap, mount = mounted_config(workload("node-problem-detector"), "config")
    assert options["config"] == [f"{mount}/{configmap['items'][0]['path']}"]
    assert (options["output_format"], options["optional_config"]) == ("summary", True)
    assert "--config.custom-plugin-monitor=/config/masqctl-monitor.json" in npd["command"]


def npd_result(args: list[str]) -> tuple[str, str]:
    """Run a plugin as pkg/custompluginmonitor/plugin/plugin.go does: its status from
    the exit code (0 OK, 1 NonOK, else Unknown) and its message: stdout (read up to
    4 KiB), spaces trimmed, cut at max_output_length."""
    run = subprocess.run(args, capture_output=True, timeout=60, check=False)
    message = run.stdout[: 4 * 1024].decode(errors="replace").strip()
    status = {0: "OK", 1: "NonOK"}.get(run.returncode, "Unknown")
    return status, message[: MONITOR["pluginConfig"]["max_output_length"]]


@pytest.mark.parametrize(
    ("dump", "status", "message"),
    [
        ("nft-agent-to-ports.txt", "OK", "in sync: ipv4 IP-MASQ-AGENT"),
        ("legacy-agent-2017-format.txt", "NonOK", None),
        ("absent.txt", "Unknown", None),
    ],
)
def test_node_problem_detector_reads_each_verdict_whole(
    dump: str, status: str, message: str | None
) -> None:
    (rule,) = MONITOR["rules"]
    args = [arg for arg in rule["args"] if not arg.startswith("--config=")]
    config = ["--config", str(DATA / "corpus" / "upstream-agent-config.yaml")]
    if dump.startswith("nft"):
        config += ["--to-ports", "1024-29999,32768-65535"]
    elif dump.startswith("legacy"):
        config = []
    command = [
        sys.executable,
        "-m",
        "masqctl",
        *args,
        *config,
        "--from",
        str(DATA / "saves" / dump),
    ]
    got_status, got_message = npd_result(command)
    full = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False
    ).stdout.strip()
    assert got_status == status
    assert got_message == full  # nothing cut
    assert message is None or got_message == message


def test_the_audit_image_installs_masqctl_and_iptables_as_the_readme_does() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "python3 -m venv .venv && .venv/bin/pip install -q ." in readme
    runs = run_steps("audit")
    assert any(
        re.search(r"apt-get install .*\biptables python3 python3-venv\b", run) for run in runs
    )
    assert any(VENV.search(run) for run in runs), runs
    steps = dockerfile.parse_file(str(DEPLOY / "audit" / "Dockerfile"))
    assert [step.value for step in steps if step.cmd == "COPY"] == [(".", "/src")]
    assert [step.value for step in steps if step.cmd == "ENTRYPOINT"] == [("masqctl",)]


def test_the_npd_image_is_the_audit_image_with_npds_binary() -> None:
    steps = dockerfile.parse_file(str(DEPLOY / "node-problem-detector" / "Dockerfile"))
    arguments = dict(step.value[0].split("=", 1) for step in steps if step.cmd == "ARG")
    (audit,) = kustomize(DEPLOY / "audit")
    assert arguments["MASQCTL_IMAGE"] == container(audit)["image"]
    assert arguments["NPD_IMAGE"].startswith("registry.k8s.io/node-problem-detector/")
    assert [step.value for step in steps if step.cmd == "FROM"] == [
        ("${NPD_IMAGE}", "AS", "npd"),
        ("${MASQCTL_IMAGE}",),
    ]
    copies = [(step.flags, step.value) for step in steps if step.cmd == "COPY"]
    assert copies == [(("--from=npd",), ("/node-problem-detector", "/node-problem-detector"))]
    npd = container(workload("node-problem-detector"))
    assert npd["command"][0] == "/node-problem-detector"
