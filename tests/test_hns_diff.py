"""diff --cni-conf: a Windows CNI config's OutBoundNAT exceptions against what render writes.

The configs are the real samples of tests/data/cni (tests/data/cni/README.md names their
sources) and variants of them written the way the plugins read them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from masqctl.agent import AgentFlags
from masqctl.entry import main
from tests.rendering import render_output

CNI = Path(__file__).parent / "data" / "cni"
FLANNEL_V2 = str(CNI / "win-bridge-flannel-sample-v2.conf")
SAMPLE_V1 = str(CNI / "win-bridge-sample-v1.conf")
CONFLIST = str(CNI / "flannel-win-bridge.conflist")
REAL_AND_MADE = sorted(str(path) for path in CNI.glob("*.conf*"))
#: The sample's own exceptions, in another order, as an agent config.
SAMPLE_CONFIG = """\
nonMasqueradeCIDRs:
  - 11.0.0.0/8
  - 10.137.196.0/23
  - 192.168.0.0/16
masqLinkLocal: true
"""


def run(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    """masqctl ``argv`` with ``stdin``: its exit code, stdout and stderr."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def diff(capsys, monkeypatch, *args: str, stdin: str = "") -> tuple[int, str, str]:
    return run(capsys, monkeypatch, "diff", *args, stdin=stdin)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def v1_conf(*lists: list[str]) -> str:
    """A win-bridge config (API v1) with an OutBoundNAT policy per list, one exception a
    line (the first on line 4)."""
    policies = ",\n".join(
        '  {"name": "EndpointPolicy", "value": {"Type": "OutBoundNAT", "ExceptionList": [\n'
        + ",\n".join(f"    {json.dumps(cidr)}" for cidr in cidrs)
        + "]}}"
        for cidrs in lists
    )
    head = '{"cniVersion": "0.3.1", "name": "cbr0", "type": "win-bridge",\n"policies": [\n'
    return f"{head}{policies}\n]}}\n"


def test_flannel_sample_drifts_from_the_agents_defaults(capsys, monkeypatch):
    code, out, err = diff(capsys, monkeypatch, "--cni-conf", FLANNEL_V2)
    assert (code, err) == (1, "")
    assert out == (
        f"{FLANNEL_V2} delegate.policies ipv4: OutBoundNAT exceptions drifted (5 findings)\n"
        "  exception missing: 169.254.0.0/16\n"
        "  exception missing: 10.0.0.0/8\n"
        "  exception missing: 172.16.0.0/12\n"
        "  extra exception (line 23): 11.0.0.0/8\n"
        "  extra exception (line 24): 10.137.196.0/23\n"
    )


@pytest.mark.parametrize("conf", REAL_AND_MADE, ids=[Path(p).name for p in REAL_AND_MADE])
@pytest.mark.parametrize("enable_ipv6", [False, True])
def test_what_render_writes_is_in_sync(capsys, monkeypatch, tmp_path, conf, enable_ipv6):
    cidrs = "10.244.0.0/16, fd00::/8" if enable_ipv6 else "10.244.0.0/16"
    config = write(tmp_path, "config.yaml", f"nonMasqueradeCIDRs: [{cidrs}]\n")
    rendered = render_output(
        config, AgentFlags(enable_ipv6=enable_ipv6), "ipv4", "windows-v2", conf
    )
    args = ["--cni-conf", "-", "--config", config] + (["--enable-ipv6"] if enable_ipv6 else [])
    code, out, _ = diff(capsys, monkeypatch, *args, stdin=rendered)
    assert code == 0, out
    assert "drifted" not in out


def test_another_order_is_not_drift(capsys, monkeypatch, tmp_path):
    config = write(tmp_path, "config.yaml", SAMPLE_CONFIG)
    code, out, _ = diff(capsys, monkeypatch, "--cni-conf", FLANNEL_V2, "--config", config)
    assert code == 0
    assert out == (
        f"{FLANNEL_V2} delegate.policies ipv4: OutBoundNAT exceptions in sync (3 exceptions)\n"
        "  note: the exceptions are in another order than render writes them: HNS applies "
        "them as a set, so this is not drift\n"
    )


def test_api_v1_exception_list_is_compared_too(capsys, monkeypatch, tmp_path):
    config = write(tmp_path, "config.yaml", SAMPLE_CONFIG)
    code, out, _ = diff(capsys, monkeypatch, "--cni-conf", SAMPLE_V1, "--config", config)
    assert code == 0
    assert out.startswith(f"{SAMPLE_V1} policies ipv4: OutBoundNAT exceptions in sync")


def test_conflist_plugin_delegate_is_named_by_its_path(capsys, monkeypatch):
    code, out, _ = diff(capsys, monkeypatch, "--cni-conf", CONFLIST)
    assert code == 1
    assert out.splitlines()[0] == (
        f"{CONFLIST} plugins[0].delegate.policies ipv4: OutBoundNAT exceptions drifted (6 findings)"
    )


@pytest.mark.parametrize(
    "name", ["win-bridge-loopback-dsr-v1.conf", "win-overlay-compact-empty-v2.conf"]
)
def test_config_without_exception_policy_misses_the_whole_policy(capsys, monkeypatch, name):
    code, out, _ = diff(capsys, monkeypatch, "--cni-conf", str(CNI / name))
    assert code == 1
    assert out.splitlines()[1:] == [
        "  no OutBoundNAT exception policy for ipv4 (render adds one)",
        "  exception missing: 169.254.0.0/16",
        "  exception missing: 10.0.0.0/8",
        "  exception missing: 172.16.0.0/12",
        "  exception missing: 192.168.0.0/16",
    ]


def test_exceptions_of_every_outbound_nat_policy_count(capsys, monkeypatch, tmp_path):
    conf = write(
        tmp_path,
        "cni.conf",
        v1_conf(
            ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12"], ["192.168.0.0/16", "10.96.0.0/12"]
        ),
    )
    code, out, _ = diff(capsys, monkeypatch, "--cni-conf", conf)
    assert code == 1
    assert out.splitlines()[1:] == ["  extra exception (line 9): 10.96.0.0/12"]


def test_render_empties_a_later_list_so_what_it_writes_is_in_sync(capsys, monkeypatch, tmp_path):
    conf = write(tmp_path, "cni.conf", v1_conf(["10.0.0.0/8"], ["1.2.3.0/24", "10.0.0.0/8"]))
    rendered = render_output(None, AgentFlags(), "ipv4", "windows-v1", conf)
    assert rendered == v1_conf(
        ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], []
    ).replace("[\n]", "[]")
    code, out, _ = diff(capsys, monkeypatch, "--cni-conf", "-", stdin=rendered)
    assert (code, out) == (
        0,
        "<stdin> policies ipv4: OutBoundNAT exceptions in sync (4 exceptions)\n",
    )


def test_render_order_with_a_duplicate_in_the_config_is_not_another_order(
    capsys, monkeypatch, tmp_path
):
    config = write(tmp_path, "config.yaml", "nonMasqueradeCIDRs: [10.0.0.0/8, 10.0.0.0/8]\n")
    conf = write(tmp_path, "cni.conf", v1_conf(["169.254.0.0/16", "10.0.0.0/8", "10.0.0.0/8"]))
    code, out, _ = diff(capsys, monkeypatch, "--cni-conf", conf, "--config", config)
    assert (code, out) == (
        0,
        f"{conf} policies ipv4: OutBoundNAT exceptions in sync (3 exceptions)\n"
        "  note: 10.0.0.0/8 is listed 2 times (lines 5, 6)\n",
    )


def test_duplicates_and_other_spellings_are_notes_not_drift(capsys, monkeypatch, tmp_path):
    config = write(tmp_path, "config.yaml", "nonMasqueradeCIDRs: [fd00:10::/64]\n")
    conf = write(
        tmp_path,
        "cni.conf",
        v1_conf(["169.254.0.0/16", "169.254.0.0/16"], ["fe80::/10", "fd00:10:0::/64"]),
    )
    code, out, _ = diff(
        capsys, monkeypatch, "--cni-conf", conf, "--config", config, "--enable-ipv6"
    )
    assert code == 0, out
    assert out == (
        f"{conf} policies ipv4: OutBoundNAT exceptions in sync (1 exceptions)\n"
        "  note: 169.254.0.0/16 is listed 2 times (lines 4, 5)\n"
        f"{conf} policies ipv6: OutBoundNAT exceptions in sync (2 exceptions)\n"
        "  note: fd00:10:0::/64 (line 8) is fd00:10::/64 written differently\n"
    )


def test_entries_hns_reading_is_not_documented_are_extra(capsys, monkeypatch, tmp_path):
    conf = write(
        tmp_path,
        "cni.conf",
        v1_conf(["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "10.1.2.3"]),
    )
    code, out, _ = diff(capsys, monkeypatch, "--cni-conf", conf)
    assert code == 1
    assert out.splitlines()[1:] == ["  extra exception (line 8): 10.1.2.3 (an address, not a CIDR)"]


def test_json_output_is_the_documented_form(capsys, monkeypatch):
    code, out, _ = diff(capsys, monkeypatch, "--cni-conf", SAMPLE_V1, "-o", "json")
    assert code == 1
    entry = "policies[0].value.ExceptionList"
    assert json.loads(out) == {
        "in_sync": False,
        "file": SAMPLE_V1,
        "lists": [
            {
                "policies": "policies",
                "api_version": 1,
                "family": "ipv4",
                "in_sync": False,
                "policy_missing": False,
                "rendered": ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                "exceptions": [
                    {"exception": "192.168.0.0/16", "entry": f"{entry}[0]", "line": 18},
                    {"exception": "11.0.0.0/8", "entry": f"{entry}[1]", "line": 19},
                    {"exception": "10.137.196.0/23", "entry": f"{entry}[2]", "line": 20},
                ],
                "missing": ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12"],
                "extra": [
                    {"exception": "11.0.0.0/8", "entry": f"{entry}[1]", "line": 19},
                    {"exception": "10.137.196.0/23", "entry": f"{entry}[2]", "line": 20},
                ],
                "findings": [
                    "exception missing: 169.254.0.0/16",
                    "exception missing: 10.0.0.0/8",
                    "exception missing: 172.16.0.0/12",
                    "extra exception (line 19): 11.0.0.0/8",
                    "extra exception (line 20): 10.137.196.0/23",
                ],
                "notes": [],
            }
        ],
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cni-conf", "missing.conf"], "missing.conf: cannot read: No such file or directory"),
        (["--cni-conf", FLANNEL_V2, "--from", "x.txt"], "--cni-conf and --from/--from6 exclude"),
        (["--cni-conf", FLANNEL_V2, "--watch", "10"], "--watch does not go"),
        (["--cni-conf", FLANNEL_V2, "-o", "prometheus"], "unknown output 'prometheus'"),
    ],
)
def test_what_diff_cannot_do_is_exit_2_with_one_line(capsys, monkeypatch, args, message):
    code, out, err = diff(capsys, monkeypatch, *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"masqctl: {message}")
    assert err.count("\n") == 1


def test_cni_conf_and_config_cannot_both_come_from_stdin(capsys, monkeypatch):
    code, out, err = diff(capsys, monkeypatch, "--cni-conf", "-", "--config", "-")
    assert (code, out, err) == (
        2,
        "",
        "masqctl: --cni-conf - and --config - cannot both read stdin\n",
    )


def test_a_cidr_listed_twice_on_one_line_names_that_line_once(capsys, monkeypatch, tmp_path):
    config = write(tmp_path, "config.yaml", "nonMasqueradeCIDRs: [10.0.0.0/8]\n")
    conf = v1_conf(["169.254.0.0/16", "10.0.0.0/8"]).replace(
        '"10.0.0.0/8"', '"10.0.0.0/8", "10.0.0.0/8"'
    )
    code, out, _ = diff(capsys, monkeypatch, "--cni-conf", "-", "--config", config, stdin=conf)
    assert (code, out) == (
        0,
        "<stdin> policies ipv4: OutBoundNAT exceptions in sync (2 exceptions)\n"
        "  note: 10.0.0.0/8 is listed 2 times (line 5)\n",
    )


@pytest.mark.parametrize(
    ("policies", "where", "message"),
    [
        ("[5]", "1:37", "policies[0] is a number, not an object"),
        ('[null, "OutBoundNAT"]', "1:43", "policies[1] is a string, not an object"),
        (
            '[{"name": "EndpointPolicy", "Name": 7, "value": {}}]',
            "1:72",
            "policies[0].name is a number, not a string",
        ),
        (
            '[{"NAME": ["EndpointPolicy"], "value": {}}]',
            "1:46",
            "policies[0].name is an array, not a string",
        ),
    ],
    ids=["number", "string", "name-number-in-other-case", "name-array"],
)
def test_a_policy_the_plugin_cannot_decode_fails_the_whole_config(
    capsys, monkeypatch, policies: str, where: str, message: str
) -> None:
    conf = f'{{"type": "win-bridge", "policies": {policies}}}\n'
    error = (
        f"masqctl: <stdin>:{where}: {message}: the plugin cannot decode it and fails to load "
        "the whole config\n"
    )
    for command in (("diff", "--cni-conf", "-"), ("explain", "--cni-conf", "-", "8.8.8.8")):
        assert run(capsys, monkeypatch, *command, stdin=conf) == (2, "", error)


def test_policies_calico_decodes_otherwise_are_not_judged(capsys, monkeypatch) -> None:
    conf = '{"type": "calico", "policies": [5]}\n'
    code, _, err = diff(capsys, monkeypatch, "--cni-conf", "-", stdin=conf)
    assert (code, "cannot decode" in err) == (1, False)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--watch", "60"), "--watch does"),
        (("--metrics-file", "m.prom"), "--metrics-file does"),
        (("--watch", "60", "--metrics-file", "m.prom"), "--metrics-file and --watch do"),
    ],
)
def test_the_live_checks_options_are_refused_by_name(capsys, monkeypatch, options, named) -> None:
    assert diff(capsys, monkeypatch, "--cni-conf", "-", *options) == (
        2,
        "",
        f"masqctl: {named} not go with --cni-conf\n",
    )
