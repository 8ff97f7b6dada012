"""explain --cni-conf: whether HNS SNATs a Windows pod's traffic, and what decides.

Real samples from tests/data/cni (sources in tests/data/cni/README.md), and configs
written as the plugins read them for the cases the samples do not show.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from masqctl.entry import main

CNI = Path(__file__).parent / "data" / "cni"
FLANNEL_V2 = str(CNI / "win-bridge-flannel-sample-v2.conf")
LOOPBACK_DSR = str(CNI / "win-bridge-loopback-dsr-v1.conf")
FLANNEL_POLICY = (
    '{"name":"EndpointPolicy","value":{"Type":"OutBoundNAT","Settings":{"Exceptions":'
    '["192.168.0.0/16","11.0.0.0/8","10.137.196.0/23"]}}}'
)
FLANNEL_NOTES = [
    "flannel's network (FLANNEL_NETWORK in subnet.env) is exempt too: flannel passes it to "
    "win-bridge as ipMasqNetwork at run time",
    "loopbackDSR: traffic back to the pod's own address (through a service) is SNATed, by "
    "the OutBoundNAT policy with that destination the plugin adds",
]


def explain(capsys, monkeypatch, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    code = main(["explain", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def answers(capsys, monkeypatch, conf: str, *addresses: str) -> list[dict]:
    code, out, err = explain(capsys, monkeypatch, "--cni-conf", conf, "-o", "json", *addresses)
    assert (code, err) == (0, "")
    return [json.loads(line) for line in out.splitlines()]


def verdicts(capsys, monkeypatch, conf: str, *addresses: str) -> list[str]:
    return [found["verdict"] for found in answers(capsys, monkeypatch, conf, *addresses)]


def conf_file(tmp_path: Path, netconf: dict) -> str:
    path = tmp_path / "cni.conf"
    path.write_text(json.dumps(netconf, indent=2) + "\n")
    return str(path)


def outbound_nat(version: int, key: str, *entries: str) -> dict:
    """An OutBoundNAT EndpointPolicy in the plugins' layout for ``version``."""
    value: dict = {"Type": "OutBoundNAT"}
    if version == 2:
        value["Settings"] = {key: list(entries)}
    else:
        value[key] = list(entries)
    return {"name": "EndpointPolicy", "value": value}


def win_bridge(*policies: dict, version: int = 1, **fields: object) -> dict:
    netconf = {"cniVersion": "0.3.1", "name": "cbr0", "type": "win-bridge", **fields}
    if version == 2:
        netconf["apiVersion"] = 2
    return {**netconf, "policies": list(policies)}


def test_address_in_an_exception_is_not_snated_and_the_exception_decides(capsys, monkeypatch):
    code, out, err = explain(capsys, monkeypatch, "--cni-conf", FLANNEL_V2, "10.137.197.5")
    assert (code, err) == (0, "")
    assert out == (
        "10.137.197.5: no-masquerade: OutBoundNAT policy 1 of delegate.policies exempts "
        "10.137.196.0/23, from delegate.policies[0].value.Settings.Exceptions[2] "
        f"({FLANNEL_V2}:24): HNS does not SNAT it\n"
        f"  {FLANNEL_POLICY}\n"
        f"  note: {FLANNEL_NOTES[0]}\n"
        f"  note: {FLANNEL_NOTES[1]}\n\n"
    )


def test_address_outside_every_exception_is_snated_by_the_policy(capsys, monkeypatch):
    (found,) = answers(capsys, monkeypatch, FLANNEL_V2, "8.8.8.8")
    assert found == {
        "address": "8.8.8.8",
        "family": "ipv4",
        "verdict": "masquerade",
        "reason": "no exception contains it: OutBoundNAT policy 1 of delegate.policies SNATs it",
        "rule": {"chain": "delegate.policies", "index": 1, "text": FLANNEL_POLICY, "line": 16},
        "source": None,
        "shadowed": [],
        "notes": FLANNEL_NOTES,
    }


def test_first_and_last_address_of_an_exception_and_their_neighbours(capsys, monkeypatch):
    found = verdicts(
        capsys,
        monkeypatch,
        FLANNEL_V2,
        "10.137.195.255",
        "10.137.196.0",
        "10.137.197.255",
        "10.137.198.0",
    )
    assert found == ["masquerade", "no-masquerade", "no-masquerade", "masquerade"]


def test_cidr_is_split_into_parts_by_exception(capsys, monkeypatch):
    (found,) = answers(capsys, monkeypatch, FLANNEL_V2, "10.137.196.0/22")
    assert found["verdict"] == "mixed"
    assert [(part["cidrs"], part["verdict"]) for part in found["parts"]] == [
        (["10.137.196.0/23"], "no-masquerade"),
        (["10.137.198.0/23"], "masquerade"),
    ]


def test_loopback_dsr_destination_is_snated_and_nothing_else_is(capsys, monkeypatch):
    dsr, other = answers(capsys, monkeypatch, LOOPBACK_DSR, "10.244.1.2", "10.244.1.3")
    assert (dsr["verdict"], dsr["source"]) == (
        "masquerade",
        {"file": LOOPBACK_DSR, "line": 11, "entry": "policies[0].value.Destinations[0]"},
    )
    assert dsr["reason"].startswith(
        "OutBoundNAT policy 1 of policies SNATs traffic to 10.244.1.2 (its Destinations"
    )
    # No exception policy and no ipMasqNetwork: win-bridge adds no SNAT policy at all.
    assert (other["verdict"], other["reason"]) == (
        "no-masquerade",
        "no OutBoundNAT policy for IPv4 in policies: HNS does not SNAT the pod's traffic",
    )


def two_policies(tmp_path: Path, version: int, first: str, second: str) -> str:
    """A win-bridge config with two OutBoundNAT policies of one exception each."""
    key = "Exceptions" if version == 2 else "ExceptionList"
    policies = (outbound_nat(version, key, first), outbound_nat(version, key, second))
    return conf_file(tmp_path, win_bridge(*policies, version=version))


def test_exceptions_of_several_policies_add_up(capsys, monkeypatch, tmp_path):
    conf = two_policies(tmp_path, 1, "10.0.0.0/8", "192.168.0.0/16")
    first, second, outside = answers(
        capsys, monkeypatch, conf, "10.1.1.1", "192.168.1.1", "8.8.8.8"
    )
    assert (first["verdict"], first["rule"]["index"]) == ("no-masquerade", 1)
    assert (second["verdict"], second["rule"]["index"]) == ("no-masquerade", 2)
    assert (outside["verdict"], outside["rule"]["index"]) == ("masquerade", 1)


def test_address_in_two_exceptions_names_the_first_and_notes_the_other(
    capsys, monkeypatch, tmp_path
):
    conf = conf_file(
        tmp_path, win_bridge(outbound_nat(1, "ExceptionList", "10.0.0.0/8", "10.1.0.0/16"))
    )
    (found,) = answers(capsys, monkeypatch, conf, "10.1.2.3")
    assert found["source"]["entry"] == "policies[0].value.ExceptionList[0]"
    assert found["notes"] == [
        f"also exempted by 10.1.0.0/16 of OutBoundNAT policy 1 of policies ({conf}:12)"
    ]


def test_win_bridge_ip_masq_network_adds_a_policy_at_run_time(capsys, monkeypatch, tmp_path):
    conf = conf_file(tmp_path, win_bridge(version=2, ipMasqNetwork="10.244.0.0/16"))
    pod, outside = answers(capsys, monkeypatch, conf, "10.244.3.4", "8.8.8.8")
    assert pod["verdict"] == "no-masquerade"
    assert pod["reason"] == (
        "the OutBoundNAT policy win-bridge (ipMasqNetwork) adds at run time exempts "
        f"10.244.0.0/16, from ipMasqNetwork ({conf}:5): HNS does not SNAT it"
    )
    assert pod["rule"] == {
        "chain": "policies",
        "index": 1,
        "text": '{"name":"EndpointPolicy","value":{"Type":"OutBoundNAT","Settings":'
        '{"Exceptions":["10.244.0.0/16"]}}}',
    }
    assert outside["verdict"] == "masquerade"


def test_ip_masq_network_already_listed_adds_nothing(capsys, monkeypatch, tmp_path):
    conf = conf_file(
        tmp_path,
        win_bridge(
            outbound_nat(1, "ExceptionList", "10.244.0.0/16"), ipMasqNetwork="10.244.0.0/16"
        ),
    )
    (found,) = answers(capsys, monkeypatch, conf, "10.244.3.4")
    assert (found["rule"]["index"], found["rule"]["line"]) == (1, 7)


def test_flannel_win_overlay_without_policy_depends_on_flannels_ipmasq(
    capsys, monkeypatch, tmp_path
):
    conf = conf_file(
        tmp_path,
        {"name": "vxlan0", "type": "flannel", "delegate": {"type": "win-overlay", "policies": []}},
    )
    (found,) = answers(capsys, monkeypatch, conf, "8.8.8.8")
    assert found["verdict"] == "undetermined"
    assert found["reason"] == (
        "no exception contains it, and the OutBoundNAT policy win-overlay (ipMasq) adds at "
        "run time exists only when flannel's FLANNEL_IPMASQ (subnet.env) is true: SNATed if "
        "it does, not SNATed otherwise"
    )


def test_calico_snat_depends_on_the_ip_pools_nat_outgoing(capsys, monkeypatch, tmp_path):
    netconf = win_bridge(outbound_nat(1, "ExceptionList", "10.96.0.0/12"), type="calico")
    conf = conf_file(tmp_path, netconf)
    inside, outside = answers(capsys, monkeypatch, conf, "10.96.0.1", "8.8.8.8")
    assert inside["verdict"] == "no-masquerade"
    assert (outside["verdict"], outside["reason"]) == (
        "undetermined",
        "no exception contains it, and OutBoundNAT policy 1 of policies exists only when the "
        "pod's IP pool has natOutgoing: true (Calico drops it otherwise): SNATed if it does, "
        "not SNATed otherwise",
    )
    assert outside["notes"] == [
        "Calico's IP pools and the node's management subnet are exempt too: Calico adds them "
        "to the OutBoundNAT exceptions at run time"
    ]


def test_win_overlay_ip_masq_notes_the_networks_subnet(capsys, monkeypatch, tmp_path):
    netconf = win_bridge(outbound_nat(2, "Exceptions", "10.96.0.0/12"), version=2, ipMasq=True)
    conf = conf_file(tmp_path, {**netconf, "type": "win-overlay"})
    (found,) = answers(capsys, monkeypatch, conf, "8.8.8.8")
    assert found["verdict"] == "masquerade"
    assert found["notes"] == [
        "the HNS network's subnet is exempt too: win-overlay (ipMasq) adds it at run time"
    ]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("10.1.2.3", "an address, not a CIDR"),
        ("10.1.2.3/8", "a CIDR with host bits set (the network is 10.0.0.0/8)"),
    ],
)
def test_entries_hns_reading_is_not_documented_are_undetermined(
    capsys, monkeypatch, tmp_path, entry, problem
):
    conf = conf_file(
        tmp_path, win_bridge(outbound_nat(1, "ExceptionList", "192.168.0.0/16", entry))
    )
    covered, outside, exempt = answers(
        capsys, monkeypatch, conf, "10.1.2.3", "172.16.0.1", "192.168.0.1"
    )
    assert covered["verdict"] == "undetermined"
    assert covered["reason"] == (
        f"policies[0].value.ExceptionList[1] {entry!r} of OutBoundNAT policy 1 of policies is "
        f"{problem} ({conf}:12): how HNS reads it is not documented, so whether it exempts this "
        "address is not known"
    )
    assert (outside["verdict"], exempt["verdict"]) == ("masquerade", "no-masquerade")


def test_list_mixing_families_is_undetermined(capsys, monkeypatch, tmp_path):
    conf = conf_file(
        tmp_path, win_bridge(outbound_nat(1, "ExceptionList", "10.0.0.0/8", "fd00::/8"))
    )
    assert verdicts(capsys, monkeypatch, conf, "10.1.1.1", "fd00::1", "8.8.8.8") == [
        "undetermined",
        "undetermined",
        "masquerade",
    ]


def test_ipv6_policy_exempts_ipv6_prefixes(capsys, monkeypatch, tmp_path):
    conf = two_policies(tmp_path, 2, "10.0.0.0/8", "fd00:10::/64")
    inside, outside = answers(capsys, monkeypatch, conf, "fd00:10::5", "2001:db8::1")
    assert (inside["verdict"], inside["rule"]["index"]) == ("no-masquerade", 2)
    assert (outside["verdict"], outside["rule"]["index"]) == ("masquerade", 2)


def test_exceptions_in_the_other_versions_layout_are_not_read(capsys, monkeypatch, tmp_path):
    conf = conf_file(
        tmp_path, win_bridge(outbound_nat(1, "ExceptionList", "10.0.0.0/8"), version=2)
    )
    (found,) = answers(capsys, monkeypatch, conf, "10.1.1.1")
    assert found["verdict"] == "masquerade"
    assert found["notes"] == [
        "policies[0] has its exceptions in the API v1 layout (ExceptionList), which "
        "apiVersion 2 does not read: HNS gets that policy without exceptions"
    ]


def test_v2_type_and_settings_keys_match_in_any_case(capsys, monkeypatch, tmp_path):
    policy = {
        "name": "EndpointPolicy",
        "value": {"type": "OutBoundNAT", "settings": {"Exceptions": ["10.0.0.0/8"]}},
    }
    conf = conf_file(tmp_path, win_bridge(policy, version=2))
    inside, outside = answers(capsys, monkeypatch, conf, "10.1.1.1", "8.8.8.8")
    assert (inside["verdict"], inside["source"]["entry"]) == (
        "no-masquerade",
        "policies[0].value.Settings.Exceptions[0]",
    )
    assert (outside["verdict"], outside["rule"]["index"]) == ("masquerade", 1)


def test_addresses_on_stdin_are_answered_one_a_line(capsys, monkeypatch):
    code, out, _ = explain(
        capsys,
        monkeypatch,
        "--cni-conf",
        FLANNEL_V2,
        "-o",
        "json",
        "-",
        stdin="8.8.8.8\n192.168.0.1\n",
    )
    assert code == 0
    assert [json.loads(line)["verdict"] for line in out.splitlines()] == [
        "masquerade",
        "no-masquerade",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--config", "c.yaml"],
            "--cni-conf explains the CNI config's own policies; drop --config",
        ),
        (["--live"], "--cni-conf goes with none of --live, --from"),
        (["--local-address", "10.0.0.1"], "--cni-conf goes with none of --live, --from"),
    ],
)
def test_options_of_other_modes_are_refused(capsys, monkeypatch, args, message):
    code, out, err = explain(capsys, monkeypatch, "--cni-conf", FLANNEL_V2, *args, "8.8.8.8")
    assert (code, out) == (2, "")
    assert err.startswith(f"masqctl: {message}")
    assert err.count("\n") == 1


def test_a_config_with_two_policy_lists_is_refused(capsys, monkeypatch, tmp_path):
    plugin = win_bridge(outbound_nat(1, "ExceptionList", "10.0.0.0/8"))
    conf = conf_file(tmp_path, {"cniVersion": "0.3.1", "name": "x", "plugins": [plugin, plugin]})
    code, _, err = explain(capsys, monkeypatch, "--cni-conf", conf, "8.8.8.8")
    assert code == 2
    assert err == (
        f"masqctl: {conf}: 2 plugin configs have a policies list (plugins[0].policies, "
        "plugins[1].policies); explain answers for one endpoint: give the config of the "
        "plugin that creates it\n"
    )


def test_config_and_addresses_cannot_both_come_from_stdin(capsys, monkeypatch):
    code, out, err = explain(capsys, monkeypatch, "--cni-conf", "-", "-", stdin="{}")
    assert (code, out, err) == (
        2,
        "",
        "masqctl: --cni-conf - reads stdin: give the addresses as arguments\n",
    )


def test_config_on_stdin_with_addresses_as_arguments(capsys, monkeypatch):
    text = Path(FLANNEL_V2).read_text()
    code, out, _ = explain(capsys, monkeypatch, "--cni-conf", "-", "8.8.8.8", stdin=text)
    assert code == 0
    assert out.startswith("8.8.8.8: masquerade: no exception contains it")
