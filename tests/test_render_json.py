"""render --format json: the Ruleset with the config entry behind each rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from masqctl.agent import AgentFlags
from masqctl.errors import MasqctlError, UsageError
from tests.rendering import render_output


def test_ruleset_json_names_the_config_line_of_each_rule(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("# pods\nnonMasqueradeCIDRs:\n  - 10.244.0.0/16\nresyncInterval: 90s\n")
    document = json.loads(render_output(str(config), AgentFlags(), "ipv4", "json"))
    assert document["config"] == {
        "source": str(config),
        "nonMasqueradeCIDRs": ["10.244.0.0/16"],
        "cidrLimit": 64,
        "masqLinkLocal": False,
        "masqLinkLocalIPv6": False,
        "resyncInterval": "1m30s",
    }
    rules = document["families"]["ipv4"]["rules"]
    assert [(r["index"], r["kind"], r["cidr"]) for r in rules] == [
        (1, "return", "169.254.0.0/16"),
        (2, "return", "10.244.0.0/16"),
        (3, "masquerade", None),
    ]
    assert rules[0]["source"] is None
    assert rules[1]["source"] == {"file": str(config), "line": 3, "entry": "nonMasqueradeCIDRs[0]"}
    assert document["families"]["ipv4"]["jump"]["text"] == (
        '-A POSTROUTING -m comment --comment "ip-masq-agent: ensure nat POSTROUTING directs all '
        'non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain" -m addrtype ! '
        "--dst-type LOCAL -j IP-MASQ-AGENT"
    )
    assert list(document["families"]) == ["ipv4"]


def test_json_holds_both_families_with_enable_ipv6() -> None:
    document = json.loads(render_output(None, AgentFlags(enable_ipv6=True), "ipv4", "json"))
    assert list(document["families"]) == ["ipv4", "ipv6"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"output_format": "yaml"}, "unknown format 'yaml'"),
        ({"family": "ipv5"}, "unknown family 'ipv5'"),
        ({"cni_conf": "x.conf"}, "--cni-conf and --write go with --format windows"),
    ],
)
def test_render_usage_errors(kwargs: dict[str, str], message: str) -> None:
    from masqctl.commands.render import run

    with pytest.raises(UsageError, match=message):
        run(**kwargs)  # type: ignore[arg-type]


def test_upstream_reads_no_azure_style_keys(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ip-masq-agent}\ndata:\n"
        "  ip-masq-agent-a: 'cidrLimit: 3'\n  ip-masq-agent-b: 'cidrLimit: 4'\n"
    )
    with pytest.raises(MasqctlError) as raised:
        render_output(str(path), AgentFlags(), "ipv4", "iptables")
    assert str(raised.value) == (
        f"{path}: no config that kubernetes-sigs/ip-masq-agent reads (a raw config file, or "
        "a ConfigMap's data key config)"
    )


def test_configmap_key_config_is_preferred(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ip-masq-agent}\ndata:\n"
        "  ip-masq-agent-a: 'nonMasqueradeCIDRs: [10.1.0.0/16]'\n"
        "  config: 'nonMasqueradeCIDRs: [10.2.0.0/16]'\n"
    )
    assert "-d 10.2.0.0/16 -j RETURN" in render_output(str(path), AgentFlags(), "ipv4", "iptables")


def test_manifest_without_agent_config_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n")
    with pytest.raises(MasqctlError, match="no config that kubernetes-sigs/ip-masq-agent reads"):
        render_output(str(path), AgentFlags(), "ipv4", "iptables")


def test_unparseable_manifest_is_an_error_with_position(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\n---\n: [\n")
    with pytest.raises(MasqctlError, match=r"cm.yaml:4:1: yaml: line 3: did not find expected key"):
        render_output(str(path), AgentFlags(), "ipv4", "iptables")


def test_config_the_agent_runs_despite_an_unknown_key_renders_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("nonMasqueradeCIDR: [100.64.0.0/10]\n")
    payload = render_output(str(path), AgentFlags(), "ipv4", "iptables")
    assert "-d 10.0.0.0/8 -j RETURN" in payload  # the agent ignores the key: defaults
    assert capsys.readouterr().err == (
        f'masqctl: warning: {path}:1:1: error[MASQ002] unknown key "nonMasqueradeCIDR": the '
        'agent silently ignores it; did you mean "nonMasqueradeCIDRs"? (the agent runs this '
        "config all the same)\n"
    )


def test_configmap_config_written_as_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ip-masq-agent, namespace: kube-system}"
        "\ndata:\n  config:\n    nonMasqueradeCIDRs: [10.0.0.0/8]\n"
    )
    with pytest.raises(MasqctlError) as raised:
        render_output(str(path), AgentFlags(), "ipv4", "iptables")
    assert str(raised.value) == (
        f'{path}:6:5: ConfigMap data "config" is object, not text (write "config: |" with the '
        "config below it)"
    )
