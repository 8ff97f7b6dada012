"""diff against saved dumps (offline, no root): every kind of drift, in words and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from masqctl.entry import main

SAVES = Path(__file__).parent / "data" / "saves"
CONFIG = str(Path(__file__).parent / "data" / "corpus" / "upstream-agent-config.yaml")
TO_PORTS = ["--to-ports", "1024-29999,32768-65535"]
IN_SYNC = (SAVES / "nft-agent-to-ports.txt").read_text()
RETURN_10 = (
    '-A IP-MASQ-AGENT -d 10.0.0.0/8 -m comment --comment "ip-masq-agent: local traffic '
    'is not subject to MASQUERADE" -j RETURN'
)
RETURN_172 = RETURN_10.replace("10.0.0.0/8", "172.16.0.0/12")
JUMP = next(line for line in IN_SYNC.splitlines() if line.startswith("-A POSTROUTING"))


def run_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dump: str, *args: str
) -> tuple[int, str, str]:
    path = tmp_path / "dump.txt"
    path.write_text(dump)
    code = main(["diff", "--from", str(path), "-c", CONFIG, *TO_PORTS, *args])
    out, err = capsys.readouterr()
    return code, out, err


def findings_of(out: str) -> list[str]:
    return [line[2:] for line in out.splitlines() if line.startswith("  ")]


def test_a_dump_of_what_the_agent_wrote_is_in_sync(tmp_path, capsys) -> None:
    assert run_diff(tmp_path, capsys, IN_SYNC) == (
        0,
        "ipv4: IP-MASQ-AGENT in sync (11 rules, jump present)\n",
        "",
    )


def test_a_dump_with_a_comment_that_is_not_utf8_is_still_read(tmp_path, capsys) -> None:
    foreign = b'-A PREROUTING -m comment --comment "caf\xe9" -j RETURN\n'
    path = tmp_path / "dump.txt"
    path.write_bytes(IN_SYNC.encode().replace(b"-A POSTROUTING", foreign + b"-A POSTROUTING", 1))
    code = main(["diff", "--from", str(path), "-c", CONFIG, *TO_PORTS])
    assert (code, capsys.readouterr()) == (
        0,
        ("ipv4: IP-MASQ-AGENT in sync (11 rules, jump present)\n", ""),
    )


def test_missing_chain_and_jump(tmp_path, capsys) -> None:
    dump = "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
    code, out, _ = run_diff(tmp_path, capsys, dump)
    assert code == 1
    assert findings_of(out) == [
        "chain IP-MASQ-AGENT is missing",
        "POSTROUTING jump to IP-MASQ-AGENT is missing",
    ]


def test_duplicated_jump(tmp_path, capsys) -> None:
    code, out, _ = run_diff(tmp_path, capsys, IN_SYNC.replace(JUMP, f"{JUMP}\n{JUMP}"))
    assert (code, findings_of(out)) == (
        1,
        ["POSTROUTING jump to IP-MASQ-AGENT is duplicated (2 jumps)"],
    )


def test_missing_and_extra_rules(tmp_path, capsys) -> None:
    dump = IN_SYNC.replace(RETURN_172 + "\n", "").replace(
        RETURN_10, RETURN_10 + "\n" + RETURN_10.replace("10.0.0.0/8", "203.0.113.0/24")
    )
    code, out, _ = run_diff(tmp_path, capsys, dump)
    assert code == 1
    assert findings_of(out) == [
        f"rule 3 missing: {RETURN_172}",
        f"extra rule (line 11): {RETURN_10.replace('10.0.0.0/8', '203.0.113.0/24')}",
    ]
    assert f"\n-{RETURN_10.replace('10.0.0.0/8', '203.0.113.0/24')}\n" in out
    assert f"\n+{RETURN_172}\n" in out


def test_out_of_order_rules(tmp_path, capsys) -> None:
    dump = (
        IN_SYNC.replace(RETURN_10, "SWAP")
        .replace(RETURN_172, RETURN_10)
        .replace("SWAP", RETURN_172)
    )
    code, out, _ = run_diff(tmp_path, capsys, dump)
    assert (code, findings_of(out)) == (1, [f"rule out of order (line 11): {RETURN_10}"])


def test_rule_differing_only_in_comment(tmp_path, capsys) -> None:
    dump = IN_SYNC.replace(RETURN_10, RETURN_10.replace("local traffic is", "LOCAL traffic is"))
    code, out, _ = run_diff(tmp_path, capsys, dump)
    assert (code, findings_of(out)) == (
        1,
        [
            "rule differs only in comment (line 10): 'ip-masq-agent: LOCAL traffic is not "
            "subject to MASQUERADE', want 'ip-masq-agent: local traffic is not subject to "
            "MASQUERADE'",
        ],
    )


def test_old_2017_format_is_named_as_such(tmp_path, capsys) -> None:
    dump = (SAVES / "legacy-agent-2017-format.txt").read_text()
    path = tmp_path / "old.txt"
    path.write_text(dump)
    code = main(["diff", "--from", str(path), "--no-random-fully"])
    out, _ = capsys.readouterr()
    old = "'ip-masq-agent: cluster-local traffic should not be subject to MASQUERADE'"
    new = "'ip-masq-agent: local traffic is not subject to MASQUERADE'"
    assert code == 1
    assert findings_of(out) == [
        "chain IP-MASQ-AGENT is in the old (2017) agent format",
        "POSTROUTING jump to IP-MASQ-AGENT is present only in an old format (line 8)",
        *[
            f"rule differs only in comment (line {line}): {old}, want {new}"
            for line in range(9, 13)
        ],
        "rule differs only in comment (line 13): 'ip-masq-agent: outbound traffic should be "
        "subject to MASQUERADE (this match must come after cluster-local CIDR matches)', want "
        "'ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)'",
    ]


def test_foreign_jump_to_the_chain_is_reported_but_is_not_drift(tmp_path, capsys) -> None:
    foreign = "-A POSTROUTING -s 10.0.0.0/8 -j IP-MASQ-AGENT"
    code, out, _ = run_diff(tmp_path, capsys, IN_SYNC.replace(JUMP, f"{JUMP}\n{foreign}"))
    assert (code, findings_of(out)) == (
        0,
        ["a POSTROUTING rule (line 9) also jumps to IP-MASQ-AGENT (not the agent's; left alone)"],
    )


def test_json_output_is_stable(tmp_path, capsys) -> None:
    code, out, _ = run_diff(
        tmp_path, capsys, IN_SYNC.replace(RETURN_172 + "\n", ""), "--output", "json"
    )
    document = json.loads(out)
    family = document["families"][0]
    assert code == 1 and document["in_sync"] is False
    assert {key: family[key] for key in ("family", "chain", "chain_missing", "old_format")} == {
        "family": "ipv4",
        "chain": "IP-MASQ-AGENT",
        "chain_missing": False,
        "old_format": False,
    }
    assert family["jump"] == {
        "state": "ok",
        "positions": [1],
        "old_format_positions": [],
        "foreign_positions": [],
        "lines": [8],
        "old_format_lines": [],
        "foreign_lines": [],
    }
    assert family["missing"] == [{"position": 3, "rule": RETURN_172}]
    assert family["extra"] == family["out_of_order"] == family["comment_only"] == []
    assert family["diff"].startswith("--- live ")


def test_ipv6_dump_is_read_with_from6(tmp_path, capsys) -> None:
    ipv4 = tmp_path / "v4.txt"
    ipv4.write_text(
        "".join(line for line in IN_SYNC.splitlines(keepends=True) if "--to-ports" not in line)
    )
    code = main(
        [
            "diff",
            "--enable-ipv6",
            "-c",
            CONFIG,
            "--from",
            str(ipv4),
            "--from6",
            str(SAVES / "nft-agent-ipv6.txt"),
        ]
    )
    out, _ = capsys.readouterr()
    assert (code, out) == (
        0,
        "ipv4: IP-MASQ-AGENT in sync (5 rules, jump present)\n"
        "ipv6: IP-MASQ-AGENT in sync (2 rules, jump present)\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--enable-ipv6"],
            "with --enable-ipv6 and --from, give the ip6tables-save dump with --from6",
        ),
        (["--from6", "x"], "--from6 goes with --enable-ipv6"),
        (["-o", "yaml"], "unknown output 'yaml' (choose from text, json, summary, prometheus)"),
    ],
)
def test_usage_errors_are_one_line_exit_2(tmp_path, capsys, args: list[str], message: str) -> None:
    code, out, err = run_diff(tmp_path, capsys, IN_SYNC, *args)
    assert (code, out, err) == (2, "", f"masqctl: {message}\n")


def test_unreadable_or_incompatible_dump_is_exit_2(tmp_path, capsys) -> None:
    assert main(["diff", "--from", str(tmp_path / "none.txt")]) == 2
    assert capsys.readouterr().err.endswith("none.txt: cannot read: No such file or directory\n")
    assert main(["diff", "--from", str(SAVES / "nft-incompatible-nat.txt")]) == 2
    assert "nft-incompatible-nat.txt:1: iptables cannot read this table" in capsys.readouterr().err


NODE_DUMP = Path(__file__).parent / "data" / "explain" / "node-nat.save"
FLANNEL_JUMP = '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG'


def node_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str], dump: str, *args: str):
    """diff of a kube-proxy and flannel node's dump, with the config its agent synced."""
    path = tmp_path / "nat.save"
    path.write_text(dump)
    config = tmp_path / "config.yaml"
    config.write_text("nonMasqueradeCIDRs: [10.0.0.0/8]\n")
    code = main(["diff", "--from", str(path), "-c", str(config), "--random-fully", *args])
    return code, *capsys.readouterr()


def test_a_cni_rule_ahead_of_the_jump_is_named_and_kube_proxys_is_not(tmp_path, capsys) -> None:
    # flannel's jump (line 11) masquerades pod traffic before the agent's chain sees it;
    # kube-proxy's (line 10) NATs only packets it marked for a Service
    code, out, err = node_diff(tmp_path, capsys, NODE_DUMP.read_text())
    assert (code, out, err) == (
        0,
        "ipv4: IP-MASQ-AGENT in sync (3 rules, jump present)\n"
        "  a POSTROUTING rule (line 11) is ahead of the jump to IP-MASQ-AGENT and may decide "
        f"for the packet first (not drift): {FLANNEL_JUMP}\n",
        "",
    )
    code, out, _ = node_diff(tmp_path, capsys, NODE_DUMP.read_text(), "--output", "json")
    family = json.loads(out)["families"][0]
    assert (code, family["in_sync"], family["foreign_ahead"]) == (
        0,
        True,
        [{"position": 2, "line": 11, "rule": FLANNEL_JUMP}],
    )


@pytest.mark.parametrize(
    "rule",
    [
        "-A POSTROUTING -j LOG --log-prefix nat",
        "-A POSTROUTING -j MARK --set-xmark 0x1/0x1",
        "-A POSTROUTING -d 192.0.2.0/24",
    ],
    ids=["log", "mark", "no-target"],
)
def test_a_rule_ahead_that_always_passes_the_packet_on_is_not_named(
    tmp_path, capsys, rule: str
) -> None:
    dump = NODE_DUMP.read_text().replace(FLANNEL_JUMP, rule)
    code, out, _ = node_diff(tmp_path, capsys, dump, "--output", "json")
    assert (code, json.loads(out)["families"][0]["foreign_ahead"]) == (0, [])


def test_rules_after_the_jump_or_without_one_are_not_ahead(tmp_path, capsys) -> None:
    agent_jump = next(
        line for line in NODE_DUMP.read_text().splitlines() if "-j IP-MASQ-AGENT" in line
    )
    after = NODE_DUMP.read_text().replace(
        f"{FLANNEL_JUMP}\n{agent_jump}", f"{agent_jump}\n{FLANNEL_JUMP}"
    )
    code, out, _ = node_diff(tmp_path, capsys, after, "--output", "json")
    assert (code, json.loads(out)["families"][0]["foreign_ahead"]) == (0, [])
    code, out, _ = node_diff(tmp_path, capsys, after.replace(agent_jump + "\n", ""), "-o", "json")
    family = json.loads(out)["families"][0]
    assert (code, family["jump"]["state"], family["foreign_ahead"]) == (1, "missing", [])


def test_the_drift_count_leaves_out_what_is_not_drift(tmp_path, capsys) -> None:
    agent_jump = next(
        line for line in NODE_DUMP.read_text().splitlines() if "-j IP-MASQ-AGENT" in line
    )
    drifted = (
        NODE_DUMP.read_text()
        .replace(agent_jump, f"{agent_jump}\n-A POSTROUTING -s 10.0.0.0/8 -j IP-MASQ-AGENT")
        .replace("-A IP-MASQ-AGENT -d 10.0.0.0/8", "-A IP-MASQ-AGENT -d 10.9.0.0/16")
    )
    code, out, _ = node_diff(tmp_path, capsys, drifted)
    # the foreign jump and the rule ahead are listed, but the count is the drift alone
    assert (code, out.splitlines()[0], [line[:40] for line in findings_of(out)]) == (
        1,
        "ipv4: IP-MASQ-AGENT drifted (2 findings)",
        [
            "a POSTROUTING rule (line 13) also jumps ",
            "rule 2 missing: -A IP-MASQ-AGENT -d 10.0",
            "extra rule (line 15): -A IP-MASQ-AGENT -",
            "a POSTROUTING rule (line 11) is ahead of",
        ],
    )
