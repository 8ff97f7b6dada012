"""masqctl explain --from/--live: walking a nat table's POSTROUTING for a pod's packet."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from masqctl.entry import main
from masqctl.explain import node
from masqctl.explain.matches import parse_rule
from masqctl.explain.walk import MAX_PATHS, apply_mark_target, implied
from masqctl.netfilter.save_parser import parse_save

NODE_DUMP = str(Path(__file__).parent / "data" / "explain" / "node-nat.save")
HEADER = "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"


def explain(capsys, monkeypatch, *args: str) -> tuple[int, list[dict], str]:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    code = main(["explain", "-o", "json", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def dump(tmp_path: Path, body: str, chains: str = "") -> str:
    path = tmp_path / "nat.save"
    path.write_text(HEADER + chains + body + "COMMIT\n")
    return str(path)


def test_cni_masquerade_before_the_agent_is_named_as_the_decider(capsys, monkeypatch):
    _, [line], _ = explain(
        capsys, monkeypatch, "10.1.2.3", "--from", NODE_DUMP, "--source", "10.244.1.2"
    )
    assert line["verdict"] == "masquerade"
    assert line["rule"] == {
        "chain": "FLANNEL-POSTRTG",
        "index": 3,
        "line": 21,
        "text": "-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "
        '"flanneld masq" -j MASQUERADE --random-fully',
    }
    assert line["source"] == {"file": NODE_DUMP, "line": 21, "entry": "nat FLANNEL-POSTRTG rule 3"}
    assert line["notes"] == [
        "assumed the packet mark is 0x0 (no mark set, as for pod traffic; override with --mark)",
        "decided before the packet reaches the agent's chain IP-MASQ-AGENT",
        "assumed the destination is not a local address of the node (give the node's "
        "addresses with --local-address)",
    ]


def test_agent_return_decides_for_other_sources(capsys, monkeypatch):
    _, [line], _ = explain(
        capsys, monkeypatch, "10.1.2.3", "--from", NODE_DUMP, "--source", "192.0.2.9"
    )
    assert (line["verdict"], line["rule"]["chain"], line["rule"]["index"]) == (
        "no-masquerade",
        "IP-MASQ-AGENT",
        2,
    )
    assert line["reason"] == (
        "rule 2 of IP-MASQ-AGENT: RETURN, and no later rule in nat POSTROUTING masquerades it"
    )


def test_unknown_source_gives_undetermined_naming_the_match(capsys, monkeypatch):
    _, [line], _ = explain(capsys, monkeypatch, "10.1.2.3", "--from", NODE_DUMP)
    assert line["verdict"] == "undetermined"
    assert line["reason"] == "depends on what masqctl cannot judge: -s 10.244.0.0/16"
    assert line["rule"] is None
    assert "masquerade when -s 10.244.0.0/16 holds" in line["notes"]
    assert "no-masquerade when -s 10.244.0.0/16 does not hold" in line["notes"]


def test_same_verdict_either_way_is_certain_and_says_who_else_decides(capsys, monkeypatch):
    _, [line], _ = explain(capsys, monkeypatch, "8.8.8.8", "--from", NODE_DUMP)
    assert (line["verdict"], line["rule"]["chain"]) == ("masquerade", "IP-MASQ-AGENT")
    assert (
        "when -s 10.244.0.0/16 holds: rule 3 of FLANNEL-POSTRTG decides instead, with the "
        "same verdict"
    ) in line["notes"]


def test_marked_packet_is_masqueraded_by_kube_proxy(capsys, monkeypatch):
    _, [line], _ = explain(
        capsys,
        monkeypatch,
        "10.1.2.3",
        "--from",
        NODE_DUMP,
        "--mark",
        "0x4000",
        "--source",
        "10.244.1.2",
    )
    assert (line["rule"]["chain"], line["rule"]["index"]) == ("KUBE-POSTROUTING", 3)
    assert not any(note.startswith("assumed the packet mark") for note in line["notes"])


def test_local_destination_never_reaches_the_agent(capsys, monkeypatch):
    _, [line], _ = explain(
        capsys,
        monkeypatch,
        "10.1.2.3",
        "--from",
        NODE_DUMP,
        "--local-address",
        "10.1.2.3",
        "--source",
        "192.0.2.9",
    )
    assert (line["verdict"], line["rule"]) == ("no-masquerade", None)
    assert line["reason"] == "no rule in nat POSTROUTING masquerades it"
    assert "the packet never reaches the agent's chain IP-MASQ-AGENT" in line["notes"]


def test_goto_returns_to_the_caller_of_the_calling_chain(capsys, monkeypatch, tmp_path):
    path = dump(
        tmp_path,
        "-A POSTROUTING -j A\n-A POSTROUTING -j SNAT --to-source 192.0.2.1\n"
        "-A A -g B\n-A A -j MASQUERADE\n-A B -d 198.51.100.0/24 -j RETURN\n",
        ":A - [0:0]\n:B - [0:0]\n",
    )
    _, lines, _ = explain(capsys, monkeypatch, "198.51.100.5", "203.0.113.5", "--from", path)
    assert [(line["verdict"], line["rule"]["chain"], line["rule"]["index"]) for line in lines] == [
        ("masquerade", "POSTROUTING", 2),
        ("masquerade", "POSTROUTING", 2),
    ]
    assert lines[0]["notes"][-2:] == [
        "this nat table has no IP-MASQ-AGENT chain (is the agent running?)",
        "assumed the destination is not a local address of the node (give the node's "
        "addresses with --local-address)",
    ]


def test_accept_and_passing_targets(capsys, monkeypatch, tmp_path):
    path = dump(
        tmp_path,
        "-A POSTROUTING -j LOG\n-A POSTROUTING -p udp -j ACCEPT\n"
        "-A POSTROUTING -p all -j MASQUERADE\n",
    )
    _, lines, _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", path, "--protocol", "17")
    assert lines[0]["reason"] == "rule 2 of POSTROUTING: ACCEPT ends the nat table unchanged"
    _, lines, _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", path, "--protocol", "tcp")
    assert lines[0]["rule"]["index"] == 3


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (
            "-A POSTROUTING -j DNAT --to-destination 192.0.2.2",
            "rule 1 of POSTROUTING: cannot tell what target DNAT does to the packet",
        ),
        (
            "-A POSTROUTING -j NOWHERE",
            "rule 1 of POSTROUTING: cannot tell what target NOWHERE does to the packet",
        ),
    ],
)
def test_unknown_targets_are_undetermined(capsys, monkeypatch, tmp_path, rule, reason):
    _, [line], _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", dump(tmp_path, rule + "\n"))
    assert line["verdict"] == "undetermined"
    assert line["reason"] == reason


def test_unjudgeable_matches_fork_and_negation_is_kept(capsys, monkeypatch, tmp_path):
    path = dump(
        tmp_path,
        "-A POSTROUTING -m conntrack ! --ctstate DNAT -j RETURN\n"
        "-A POSTROUTING -o eth0 -j MASQUERADE\n",
    )
    _, [line], _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", path)
    assert line["verdict"] == "undetermined"
    assert line["reason"] == (
        "depends on what masqctl cannot judge: -m conntrack ! --ctstate DNAT; -o eth0"
    )
    assert line["notes"][:3] == [
        "no-masquerade when -m conntrack ! --ctstate DNAT holds",
        "masquerade when -m conntrack ! --ctstate DNAT does not hold, -o eth0 holds",
        "no-masquerade when -m conntrack ! --ctstate DNAT does not hold, -o eth0 does not hold",
    ]


def test_a_condition_forked_once_keeps_its_answer(capsys, monkeypatch, tmp_path):
    path = dump(
        tmp_path,
        "-A POSTROUTING -s 10.244.0.0/16 -j RETURN\n"
        "-A POSTROUTING ! -s 10.244.0.0/16 -j RETURN\n-A POSTROUTING -j MASQUERADE\n",
    )
    _, [line], _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", path)
    assert line["verdict"] == "no-masquerade"


def test_mark_targets_change_what_later_matches_see(capsys, monkeypatch, tmp_path):
    path = dump(
        tmp_path,
        "-A POSTROUTING -j MARK --set-xmark 0x4000/0x0\n"
        "-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE\n",
    )
    _, [line], _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", path)
    assert (line["verdict"], line["rule"]["index"]) == ("masquerade", 2)


@pytest.mark.parametrize(
    ("args", "before", "after"),
    [
        (["--set-xmark", "0x4000/0x0"], 0, 0x4000),
        (["--set-xmark", "0x1/0xff"], 0x4F0, 0x401),
        (["--set-mark", "0x2/0xf"], 0x13, 0x12),
        (["--xor-mark", "0x4000"], 0x4001, 1),
        (["--or-mark", "0x10"], 1, 0x11),
        (["--and-mark", "0x1"], 3, 1),
        (["--set-xmark", "junk"], 0, None),
        (["--set-mark", "1", "--or-mark", "2"], 0, None),
    ],
)
def test_mark_target_arithmetic(args, before, after):
    assert apply_mark_target(args, before) == after


def test_comma_lists_and_other_family_addresses(capsys, monkeypatch, tmp_path):
    path = dump(
        tmp_path,
        "-A POSTROUTING -d 192.0.2.0/24,198.51.100.7 -j RETURN\n"
        "-A POSTROUTING -d 2001:db8::/32 -j RETURN\n-A POSTROUTING -j MASQUERADE\n",
    )
    _, lines, _ = explain(capsys, monkeypatch, "198.51.100.7", "198.51.100.8", "--from", path)
    assert [line["verdict"] for line in lines] == ["no-masquerade", "undetermined"]


def test_too_many_unknowns_is_undetermined(capsys, monkeypatch, tmp_path):
    rules = "".join(
        f"-A POSTROUTING -m conntrack --ctstate DNAT -m set --match-set s{number} dst -j LOG\n"
        for number in range(8)
    )
    _, [line], _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", dump(tmp_path, rules))
    assert (line["verdict"], line["reason"]) == (
        "undetermined",
        f"more than {MAX_PATHS} ways through the table depend on conditions that cannot be judged",
    )


def test_dump_with_legacy_tables_says_so(capsys, monkeypatch, tmp_path):
    path = dump(
        tmp_path,
        "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n",
    )
    _, [line], _ = explain(
        capsys, monkeypatch, "192.0.2.1", "--from", path, "--local-address", "10.0.0.1"
    )
    assert line["notes"][-1].startswith("iptables-legacy tables are present too")


def test_ipv6_needs_enable_ipv6_in_live_mode_and_cidrs_are_refused(capsys, monkeypatch, tmp_path):
    path = dump(tmp_path, "")
    code, _, err = explain(capsys, monkeypatch, "2001:db8::1", "192.0.2.0/24", "--from", path)
    assert code == 2
    assert err == "masqctl: '192.0.2.0/24': live mode explains addresses, not CIDRs\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no nat table with a POSTROUTING chain"),
        ("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n", "no nat table with a POSTROUTING chain"),
    ],
)
def test_dump_without_postrouting_is_an_error(capsys, monkeypatch, tmp_path, text, message):
    path = tmp_path / "empty.save"
    path.write_text(text)
    code, _, err = explain(capsys, monkeypatch, "192.0.2.1", "--from", str(path))
    assert (code, err) == (2, f"masqctl: {path}: {message}\n")


def test_unreadable_dump_and_bad_source(capsys, monkeypatch, tmp_path):
    code, _, err = explain(capsys, monkeypatch, "192.0.2.1", "--from", str(tmp_path / "none"))
    assert (code, err) == (
        2,
        f"masqctl: {tmp_path / 'none'}: cannot read: No such file or directory\n",
    )
    code, _, err = explain(capsys, monkeypatch, "192.0.2.1", "--from", NODE_DUMP, "--source", "pod")
    assert (code, err) == (2, "masqctl: --source 'pod' is not an IP address\n")


def test_rule_parsing_keeps_module_negation_inside_the_module():
    parsed = parse_rule(
        (
            "-m",
            "addrtype",
            "!",
            "--dst-type",
            "LOCAL",
            "!",
            "-d",
            "10.0.0.0/8",
            "--dport",
            "53",
            "-g",
            "X",
        )
    )
    assert [(c.kind, c.words, c.negated) for c in parsed.conditions] == [
        ("addrtype", ["-m", "addrtype", "!", "--dst-type", "LOCAL"], False),
        ("-d", ["-d", "10.0.0.0/8"], True),
        ("implicit", ["--dport", "53"], False),
    ]
    assert (parsed.target, parsed.goto) == ("X", True)


def completed(stdout: str = "", returncode: int = 0, stderr: str = ""):
    return subprocess.CompletedProcess([], returncode, stdout, stderr)


@pytest.mark.netfilter
def test_live_mode_reads_the_backend_local_routes_and_other_nat_hooks() -> None:
    """A real node in a namespace: the nat table of NODE_DUMP on nft, a legacy POSTROUTING
    rule, a native nftables nat chain, and 10.1.2.3 as a local address."""
    from tests.netns import namespace, require_netfilter

    require_netfilter()
    with namespace("mqexplain") as ns:
        ns.run(["iptables-nft-restore"], input=Path(NODE_DUMP).read_text())
        ns.run(["iptables-legacy", "-t", "nat", "-A", "POSTROUTING", "-j", "MASQUERADE"])
        ns.run(["nft", "add table inet cilium"])
        ns.run(["nft", "add chain inet cilium post { type nat hook postrouting priority 50 ; }"])
        ns.run(["ip", "link", "add", "node0", "type", "veth", "peer", "name", "node1"])
        ns.run(["ip", "address", "add", "10.1.2.3/24", "dev", "node0"])
        ns.run(["ip", "link", "set", "node0", "up"])
        result = ns.run(
            [
                *(sys.executable, "-m", "masqctl", "explain", "-o", "json", "10.1.2.3"),
                *("--live", "--iptables-mode", "nft", "--source", "192.0.2.9"),
            ]
        )
    line = json.loads(result.stdout)
    assert (line["verdict"], line["rule"], line["source"]) == ("no-masquerade", None, None)
    assert line["reason"] == "no rule in nat POSTROUTING masquerades it"
    assert line["notes"][-3:] == [
        "the packet never reaches the agent's chain IP-MASQ-AGENT",
        "iptables-legacy also has 1 rule(s) in nat POSTROUTING: they see the packet on the "
        "same hook and may NAT it too (a RETURN here does not exempt it there)",
        "nftables chain inet cilium post (priority 50) is also a nat postrouting chain and may "
        "NAT the packet too",
    ]


@pytest.mark.netfilter
@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_live_mode_names_the_deciding_rule_by_its_position_without_a_dump_line(
    backend: str,
) -> None:
    """--live reads chains, not a dump: a line number would be one of masqctl's own
    listing, which the user never sees."""
    from tests.netns import namespace, require_netfilter

    require_netfilter()
    masqctl = [sys.executable, "-m", "masqctl"]
    mode = ("--iptables-mode", backend)
    with namespace("mqexplain") as ns:
        ns.run([*masqctl, "apply", *mode, "--backup", "/dev/null"])
        result = ns.run([*masqctl, "explain", "-o", "json", "--live", *mode, "10.1.2.3"])
    line = json.loads(result.stdout)
    assert (line["rule"]["index"], "line" in line["rule"]) == (2, False)
    assert line["source"] == {
        "file": f"iptables-{backend} -t nat",
        "line": None,
        "entry": "nat IP-MASQ-AGENT rule 2",
    }


def test_live_mode_reports_a_failing_ip_command(capsys, monkeypatch):
    monkeypatch.setattr(node, "run", lambda args: completed(returncode=1, stderr="boom"))
    monkeypatch.setattr(node.shutil, "which", lambda name: None)
    table = HEADER + "COMMIT\n"
    monkeypatch.setattr(
        "masqctl.netfilter.chains.read_reachable", lambda backend: (parse_save(table), table)
    )
    code, _, err = explain(capsys, monkeypatch, "192.0.2.1", "--live", "--iptables-mode", "nft")
    assert (code, err) == (2, "masqctl: ip route show table local failed: boom\n")


def test_a_dump_of_one_family_refuses_addresses_of_the_other() -> None:
    from masqctl.errors import UsageError
    from masqctl.explain.addresses import parse_target
    from masqctl.explain.command import ExplainRequest
    from masqctl.explain.live import live_explainer

    dump = str(Path(__file__).parent / "data/saves/nft-agent-ipv6.txt")
    explainer = live_explainer(ExplainRequest(["fd00::1"], dump_path=dump))
    with pytest.raises(UsageError, match="holds only ipv6 rules"):
        explainer.explain(parse_target("10.0.0.1"))
    assert explainer.explain(parse_target("fd00::1")).outcome.verdict != "not-handled"


@pytest.mark.parametrize("from_stdin", [False, True])
def test_bytes_of_a_dump_that_are_not_utf8_are_printed_back_whatever_the_locale(
    tmp_path: Path, from_stdin: bool
) -> None:
    path = tmp_path / "nat.save"
    path.write_bytes(
        b'*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m comment --comment "caf\xe9" '
        b"-j MASQUERADE\nCOMMIT\n"
    )
    address = "-" if from_stdin else "192.0.2.1"
    result = subprocess.run(
        [sys.executable, "-m", "masqctl", "explain", "--from", str(path), address],
        input=b"192.0.2.1\n",
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},  # as an en_US.UTF-8 locale
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.splitlines()[:2] == [
        b"192.0.2.1: masquerade: rule 1 of POSTROUTING: MASQUERADE rewrites the source address",
        b"  -A POSTROUTING -m comment --comment caf\xe9 -j MASQUERADE",
    ]


def test_a_rule_that_surely_fails_forks_on_none_of_its_other_matches(capsys, monkeypatch, tmp_path):
    # iptables-save puts -s before -d: the -d that fails decides, whatever the source
    pools = "".join(
        f"-A POSTROUTING -s 10.{pool}.0.0/16 -d 10.{pool}.0.0/16 -j RETURN\n" for pool in range(7)
    )
    path = dump(tmp_path, pools + "-A POSTROUTING -o eth0 -j MASQUERADE\n")
    _, [line], _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", path)
    assert (line["verdict"], line["reason"]) == (
        "undetermined",
        "depends on what masqctl cannot judge: -o eth0",
    )
    assert line["notes"][:2] == [
        "masquerade when -o eth0 holds",
        "no-masquerade when -o eth0 does not hold",
    ]


def test_a_packet_has_one_protocol_one_source_and_one_output_interface(
    capsys, monkeypatch, tmp_path
):
    path = dump(
        tmp_path,
        "-A POSTROUTING -p tcp -j X\n"
        "-A POSTROUTING -s 10.0.0.0/8 -j Y\n"
        "-A POSTROUTING -o eth0 -j Z\n"
        "-A POSTROUTING -j ACCEPT\n"
        "-A X -p udp -j MASQUERADE\n"
        "-A Y -s 192.168.0.0/16 -j MASQUERADE\n"
        "-A Y -s 10.1.0.0/16 -j RETURN\n"
        "-A Z -o eth1 -j MASQUERADE\n"
        "-A Z -o eth+ -j RETURN\n",
        ":X - [0:0]\n:Y - [0:0]\n:Z - [0:0]\n",
    )
    _, [line], _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", path)
    assert (line["verdict"], line["reason"]) == (
        "no-masquerade",
        "rule 4 of POSTROUTING: ACCEPT ends the nat table unchanged",
    )
    assert not any("decides instead" in note for note in line["notes"])


@pytest.mark.parametrize(
    ("known", "taken", "wanted", "answer"),
    [
        ("-p tcp", True, "-p 6", True),
        ("-p tcp", True, "-p udp", False),
        ("-p tcp", False, "-p udp", None),
        ("-s 10.0.0.0/8", True, "-s 10.1.0.0/16", None),
        ("-s 10.0.0.0/8", True, "-s 0.0.0.0/0", True),
        ("-s 10.1.0.0/16", True, "-s 10.0.0.0/8", True),
        ("-s 10.0.0.0/8", True, "-s 192.168.0.0/16", False),
        ("-s 10.0.0.0/8", False, "-s 10.1.2.3", False),
        ("-s 10.1.0.0/16", False, "-s 10.0.0.0/8", None),
        ("-s 10.0.0.0/8", True, "-s fd00::/8", None),
        ("-o eth0", True, "-o eth1", False),
        ("-o eth0", True, "-o eth+", True),
        ("-o eth+", True, "-o eth0", None),
        ("-o eth+", True, "-o cali+", False),
        ("-o eth+", False, "-o eth0", False),
        ("-o eth0", False, "-o eth+", None),
        ("-i eth0", True, "-o eth1", None),
    ],
)
def test_what_earlier_forks_imply(known, taken, wanted, answer):
    [condition] = parse_rule(tuple(wanted.split())).conditions
    assert implied(condition, [(known, taken)]) is answer


def test_a_return_that_ends_postrouting_is_the_deciding_rule(capsys, monkeypatch, tmp_path):
    path = dump(
        tmp_path,
        "-A POSTROUTING -d 198.51.100.11/32 -j RETURN\n"
        "-A POSTROUTING -g CUST\n"
        "-A CUST -d 198.51.100.12/32 -j RETURN\n"
        "-A CUST -j IP-MASQ-AGENT\n"
        "-A IP-MASQ-AGENT -j MASQUERADE\n",
        ":CUST - [0:0]\n:IP-MASQ-AGENT - [0:0]\n",
    )
    _, lines, _ = explain(capsys, monkeypatch, "198.51.100.11", "198.51.100.12", "--from", path)
    reason = "RETURN ends nat POSTROUTING, whose policy ACCEPT lets the packet leave unchanged"
    assert [(line["verdict"], line["reason"], line["rule"]) for line in lines] == [
        (
            "no-masquerade",
            f"rule 1 of POSTROUTING: {reason}",
            {
                "chain": "POSTROUTING",
                "index": 1,
                "line": 6,
                "text": "-A POSTROUTING -d 198.51.100.11/32 -j RETURN",
            },
        ),
        (
            "no-masquerade",
            f"rule 1 of CUST: {reason}",
            {
                "chain": "CUST",
                "index": 1,
                "line": 8,
                "text": "-A CUST -d 198.51.100.12/32 -j RETURN",
            },
        ),
    ]
    assert "decided before the packet reaches the agent's chain IP-MASQ-AGENT" in lines[1]["notes"]


@pytest.mark.parametrize("protocol", ["tcp", "TCP", "6", "Tcp"])
def test_protocol_is_read_as_iptables_reads_p(capsys, monkeypatch, tmp_path, protocol):
    path = dump(tmp_path, "-A POSTROUTING -p tcp -j MASQUERADE\n")
    _, [line], _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", path, "--protocol", protocol)
    assert (line["verdict"], line["reason"]) == (
        "masquerade",
        "rule 1 of POSTROUTING: MASQUERADE rewrites the source address",
    )


def test_protocol_names_from_etc_protocols_match_numbers(capsys, monkeypatch, tmp_path):
    from tests.programs import require_file

    require_file("/etc/protocols", "netbase")  # iptables names protocols from it
    path = dump(tmp_path, "-A POSTROUTING -p 47 -j MASQUERADE\n-A POSTROUTING -j ACCEPT\n")
    _, lines, _ = explain(capsys, monkeypatch, "192.0.2.1", "--from", path, "--protocol", "GRE")
    assert [line["rule"]["index"] for line in lines] == [1]


@pytest.mark.parametrize(
    ("protocol", "message"),
    [
        ("bogus", "masqctl: --protocol 'bogus' is not a protocol name or number\n"),
        ("256", "masqctl: --protocol '256' is not a protocol name or number\n"),
        ("all", "masqctl: --protocol 'all': give the packet's own protocol (tcp, udp, ...)\n"),
        # bytes that are not UTF-8: it was an internal error (UnicodeEncodeError)
        ("tc\udcff", "masqctl: --protocol 'tc\\udcff' is not a protocol name or number\n"),
    ],
)
def test_a_protocol_iptables_does_not_know_is_refused(
    capsys, monkeypatch, tmp_path, protocol, message
):
    path = dump(tmp_path, "-A POSTROUTING -p tcp -j MASQUERADE\n")
    code, lines, err = explain(
        capsys, monkeypatch, "192.0.2.1", "--from", path, "--protocol", protocol
    )
    assert (code, lines, err) == (2, [], message)


def test_a_dump_rule_whose_protocol_holds_a_nul_is_one_no_name_matches(
    capsys, monkeypatch, tmp_path
):
    # It was an internal error (ValueError: embedded null character).
    path = dump(tmp_path, "-A POSTROUTING -p ab\0c -j MASQUERADE\n")
    code, [line], err = explain(capsys, monkeypatch, "192.0.2.1", "--from", path)
    assert (code, err) == (0, "")
    assert (line["verdict"], line["reason"]) == (
        "undetermined",
        "depends on what masqctl cannot judge: -p ab\0c",
    )
