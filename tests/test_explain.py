"""masqctl explain in config mode: verdicts, deciding rules, sources, batches, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from masqctl.entry import main
from masqctl.explain.addresses import parse_target, range_to_cidrs
from masqctl.explain.command import parse_mark
from masqctl.explain.index import IntervalIndex
from masqctl.explain.stream import MAX_REPORTED

CONFIG = str(Path(__file__).parent / "data" / "explain" / "config.yaml")
RETURN_TEXT = (
    '-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: local traffic is not '
    'subject to MASQUERADE" -d {} -j RETURN'
)
MASQUERADE_TEXT = (
    '-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: outbound traffic is '
    'subject to MASQUERADE (must be last in chain)" -j MASQUERADE --random-fully'
)


def explain(capsys, monkeypatch, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    code = main(["explain", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_default_config_masquerades_8_8_8_8_with_the_final_masquerade_rule(capsys, monkeypatch):
    code, out, err = explain(capsys, monkeypatch, "8.8.8.8")
    assert (code, err) == (0, "")
    assert out == (
        "8.8.8.8: masquerade: no earlier rule matches: rule 5 of IP-MASQ-AGENT, the final "
        f"MASQUERADE, masquerades it\n  {MASQUERADE_TEXT}\n\n"
    )


def test_default_config_keeps_10_1_2_3_by_the_10_0_0_0_8_default(capsys, monkeypatch):
    code, out, _ = explain(capsys, monkeypatch, "10.1.2.3")
    assert code == 0
    assert out == (
        "10.1.2.3: no-masquerade: rule 2 of IP-MASQ-AGENT returns for 10.0.0.0/8, from default "
        f"nonMasqueradeCIDRs[0] (<agent defaults>)\n  {RETURN_TEXT.format('10.0.0.0/8')}\n\n"
    )


def test_json_names_rule_config_line_and_shadowed_entries(capsys, monkeypatch):
    code, out, _ = explain(capsys, monkeypatch, "192.0.2.7", "-c", CONFIG, "-o", "json")
    assert code == 0
    assert json_lines(out) == [
        {
            "address": "192.0.2.7",
            "family": "ipv4",
            "verdict": "no-masquerade",
            "reason": f"rule 3 of IP-MASQ-AGENT returns for 192.0.2.0/24, from "
            f"nonMasqueradeCIDRs[1] ({CONFIG}:4)",
            "rule": {
                "chain": "IP-MASQ-AGENT",
                "index": 3,
                "text": RETURN_TEXT.format("192.0.2.0/24"),
            },
            "source": {"file": CONFIG, "line": 4, "entry": "nonMasqueradeCIDRs[1]"},
            "shadowed": [
                {
                    "chain": "IP-MASQ-AGENT",
                    "index": 4,
                    "cidr": "192.0.2.0/26",
                    "source": {"file": CONFIG, "line": 5, "entry": "nonMasqueradeCIDRs[2]"},
                }
            ],
            "notes": [],
        }
    ]


def test_text_lists_shadowed_entries(capsys, monkeypatch):
    _, out, _ = explain(capsys, monkeypatch, "192.0.2.7", "-c", CONFIG)
    assert out.splitlines()[2] == (
        f"  shadowed: rule 4 of IP-MASQ-AGENT 192.0.2.0/26 (nonMasqueradeCIDRs[2], {CONFIG}:5) "
        "also contains it"
    )


@pytest.mark.parametrize(
    ("address", "verdict", "index"),
    [
        ("203.0.113.127", "no-masquerade", 2),
        ("203.0.113.128", "masquerade", 6),
        ("169.254.169.254", "no-masquerade", 1),
        ("198.51.100.77", "masquerade", 6),
    ],
)
def test_verdicts_at_boundaries_and_link_local(capsys, monkeypatch, address, verdict, index):
    _, out, _ = explain(capsys, monkeypatch, address, "-c", CONFIG, "-o", "json")
    [line] = json_lines(out)
    assert (line["verdict"], line["rule"]["index"]) == (verdict, index)


def test_link_local_default_is_named_as_such(capsys, monkeypatch):
    _, out, _ = explain(capsys, monkeypatch, "169.254.1.1", "-o", "json")
    [line] = json_lines(out)
    assert line["reason"] == (
        "rule 1 of IP-MASQ-AGENT returns for 169.254.0.0/16, the "
        "link-local default (masqLinkLocal is false)"
    )
    assert line["source"] is None


def test_cidr_is_split_into_masqueraded_and_kept_parts(capsys, monkeypatch):
    _, out, _ = explain(capsys, monkeypatch, "203.0.113.0/24", "-c", CONFIG, "-o", "json")
    [line] = json_lines(out)
    assert line["verdict"] == "mixed"
    assert line["reason"] == "its parts get different verdicts (1 masquerade, 1 no-masquerade)"
    assert [(part["cidrs"], part["verdict"], part["rule"]["index"]) for part in line["parts"]] == [
        (["203.0.113.0/25"], "no-masquerade", 2),
        (["203.0.113.128/25"], "masquerade", 6),
    ]


def test_cidr_inside_one_entry_reads_like_an_address(capsys, monkeypatch):
    _, out, _ = explain(capsys, monkeypatch, "10.9.0.0/16", "-c", CONFIG)
    assert out.startswith(
        "10.9.0.0/16: no-masquerade: rule 5 of IP-MASQ-AGENT returns for 10.0.0.0/8"
    )


def test_cidr_text_lists_each_part(capsys, monkeypatch):
    _, out, _ = explain(capsys, monkeypatch, "192.0.2.0/23", "-c", CONFIG)
    assert out.splitlines()[0] == (
        "192.0.2.0/23: mixed: its parts get different verdicts (1 masquerade, 1 no-masquerade)"
    )
    assert out.splitlines()[1].startswith("  192.0.2.0/24: no-masquerade: rule 3 of")
    assert out.splitlines()[3].startswith("  192.0.3.0/24: masquerade: no earlier rule")


def test_cidr_with_a_local_address_has_three_kinds_of_parts(capsys, monkeypatch):
    _, out, _ = explain(
        capsys, monkeypatch, "10.0.0.0/7", "-o", "json", "--local-address", "10.0.0.1"
    )
    [line] = json_lines(out)
    assert line["reason"] == (
        "its parts get different verdicts (1 masquerade, 2 no-masquerade, 1 not-handled)"
    )
    assert [part["cidrs"][0] for part in line["parts"]] == [
        "10.0.0.0/32",
        "10.0.0.1/32",
        "10.0.0.2/31",
        "11.0.0.0/8",
    ]


def test_cidr_kept_by_different_rules_has_one_verdict(capsys, monkeypatch, tmp_path):
    config = tmp_path / "halves.yaml"
    config.write_text("nonMasqueradeCIDRs: [10.0.0.0/9, 10.128.0.0/9]\n")
    _, out, _ = explain(capsys, monkeypatch, "10.0.0.0/8", "-c", str(config), "-o", "json")
    [line] = json_lines(out)
    assert (line["verdict"], line["reason"], line["rule"]) == (
        "no-masquerade",
        "every part has this verdict, from different rules",
        None,
    )
    assert [part["rule"]["index"] for part in line["parts"]] == [2, 3]


def test_ipv6_is_not_handled_without_enable_ipv6(capsys, monkeypatch):
    _, out, _ = explain(capsys, monkeypatch, "2001:db8::1", "-o", "json")
    [line] = json_lines(out)
    assert (line["verdict"], line["family"], line["rule"]) == ("not-handled", "ipv6", None)
    assert line["reason"] == (
        "an IPv6 destination, and without --enable-ipv6 the agent writes no ip6tables rules"
    )


def test_ipv6_with_enable_ipv6(capsys, monkeypatch):
    _, out, _ = explain(
        capsys, monkeypatch, "fe80::1", "2001:db8::1", "--enable-ipv6", "-o", "json"
    )
    first, second = json_lines(out)
    assert first["reason"] == (
        "rule 1 of IP-MASQ-AGENT returns for fe80::/10, the link-local "
        "default (masqLinkLocalIPv6 is false)"
    )
    assert (second["verdict"], second["rule"]["index"]) == ("masquerade", 2)


def test_local_destination_is_not_handled(capsys, monkeypatch):
    _, out, _ = explain(
        capsys,
        monkeypatch,
        "198.51.100.1",
        "198.51.100.2",
        "--local-address",
        "198.51.100.1",
        "-o",
        "json",
    )
    local, remote = json_lines(out)
    assert local["verdict"] == "not-handled"
    assert local["reason"] == (
        "a local address of the node: the agent's POSTROUTING jump to "
        "IP-MASQ-AGENT matches only addrtype ! --dst-type LOCAL"
    )
    assert remote["verdict"] == "masquerade"


def test_local_address_must_be_an_address(capsys, monkeypatch):
    code, out, err = explain(capsys, monkeypatch, "1.1.1.1", "--local-address", "10.0.0.0/8")
    assert (code, out) == (2, "")
    assert err == "masqctl: --local-address '10.0.0.0/8': give an address, not a CIDR\n"


def test_to_ports_notes_the_per_protocol_rules(capsys, monkeypatch):
    _, out, _ = explain(
        capsys, monkeypatch, "9.9.9.9", "--to-ports", "1024-2047,4096-8191", "-o", "json"
    )
    [line] = json_lines(out)
    assert line["rule"]["index"] == 11
    assert line["notes"] == [
        "tcp, udp and sctp packets are masqueraded first by rules 5-10 of "
        "IP-MASQ-AGENT, with --to-ports"
    ]


def test_malformed_argument_fails_before_any_output(capsys, monkeypatch):
    code, out, err = explain(capsys, monkeypatch, "8.8.8.8", "10.0.0.256")
    assert (code, out) == (2, "")
    assert err == "masqctl: '10.0.0.256' is not an IP address or CIDR\n"


def test_host_bits_in_a_cidr_are_refused(capsys, monkeypatch):
    code, _, err = explain(capsys, monkeypatch, "10.1.2.3/8")
    assert code == 2
    assert err == "masqctl: '10.1.2.3/8' has host bits set (did you mean 10.0.0.0/8?)\n"


def test_stdin_answers_good_lines_and_reports_bad_ones_by_line(capsys, monkeypatch):
    code, out, err = explain(
        capsys,
        monkeypatch,
        "-",
        "-o",
        "json",
        stdin="8.8.8.8\n\n010.1.2.3\n 10.1.2.3 \r\n2001:db8::/32\n",
    )
    assert code == 2
    assert [(line["address"], line["verdict"]) for line in json_lines(out)] == [
        ("8.8.8.8", "masquerade"),
        ("10.1.2.3", "no-masquerade"),
        ("2001:db8::/32", "not-handled"),
    ]
    assert err == (
        "masqctl: stdin line 3: '010.1.2.3' is not an IP address or CIDR\n"
        "masqctl: stdin: 1 malformed line(s); the others were answered\n"
    )


def test_stdin_error_report_is_bounded(capsys, monkeypatch):
    code, _, err = explain(capsys, monkeypatch, "-", stdin="x\n" * (MAX_REPORTED + 5))
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == MAX_REPORTED + 2
    assert lines[-2] == f"masqctl: stdin: {MAX_REPORTED + 5} malformed lines in all (5 not shown)"


@pytest.mark.parametrize("output", ["json", "text"])
def test_stdin_fast_path_prints_what_arguments_print(capsys, monkeypatch, output):
    addresses = [
        "0.0.0.0",
        "255.255.255.255",
        "203.0.113.127",
        "203.0.113.128",
        "192.0.2.63",
        "192.0.2.64",
        "169.254.0.0",
        "10.255.255.255",
        "11.0.0.0",
        "198.51.100.1",
    ]
    local = ["--local-address", "198.51.100.1"]
    _, by_argument, _ = explain(capsys, monkeypatch, *addresses, "-c", CONFIG, "-o", output, *local)
    code, by_stdin, _ = explain(
        capsys, monkeypatch, "-", "-c", CONFIG, "-o", output, *local, stdin="\n".join(addresses)
    )
    assert code == 0
    assert by_stdin == by_argument


def test_arguments_and_stdin_are_answered_in_order(capsys, monkeypatch):
    _, out, _ = explain(
        capsys, monkeypatch, "1.1.1.1", "-", "10.0.0.1", "-o", "json", stdin="2.2.2.2\n"
    )
    assert [line["address"] for line in json_lines(out)] == ["1.1.1.1", "2.2.2.2", "10.0.0.1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1.1.1.1", "-o", "yaml"], "unknown output 'yaml' (choose from text, json)"),
        ([], "give at least one ADDRESS, or '-' to read addresses from stdin"),
        (["-", "-"], "'-' (stdin) may be given once"),
        (["1.1.1.1", "--live", "--from", "x"], "--live and --from exclude each other"),
        (
            ["1.1.1.1", "--from", "x", "-c", "y"],
            "--config explains the config; --live and --from explain a nat table",
        ),
        (["1.1.1.1", "--mark", "zz"], "--mark: 'zz' is not a number"),
        (["1.1.1.1", "--mark", "0x100000000"], "--mark: '0x100000000' is not a 32-bit mark"),
    ],
)
def test_usage_errors(capsys, monkeypatch, args, message):
    code, out, err = explain(capsys, monkeypatch, *args)
    assert (code, out, err) == (2, "", f"masqctl: {message}\n")


def test_mark_accepts_hex_like_iptables_prints_it():
    assert parse_mark("0x4000") == 0x4000
    assert parse_mark("16") == 16


def test_interval_index_keeps_every_containing_rule_lowest_first():
    index = IntervalIndex.build([(10, 19, 2), (0, 99, 5), (15, 15, 1)])
    assert index.starts == [0, 10, 15, 16, 20, 100]
    assert index.keys == [(5,), (2, 5), (1, 2, 5), (2, 5), (5,), ()]
    assert index.pieces(12, 30) == [(12, 14, 1), (15, 15, 2), (16, 19, 3), (20, 30, 4)]


def test_range_to_cidrs_is_minimal_and_ordered():
    assert range_to_cidrs(
        parse_target("10.0.0.1").first, parse_target("10.0.0.6").first, "ipv4"
    ) == ("10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32")
    assert range_to_cidrs(0, 2**32 - 1, "ipv4") == ("0.0.0.0/0",)


def test_ipv6_parts_of_a_cidr_are_in_go_notation(capsys, monkeypatch, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("nonMasqueradeCIDRs:\n  - ::1:0/112\n")
    args = ("::/110", "--enable-ipv6", "-c", str(config), "-o", "json")
    _, out, _ = explain(capsys, monkeypatch, *args)
    [line] = json_lines(out)
    assert [(part["cidrs"], part["verdict"]) for part in line["parts"]] == [
        (["::/112"], "masquerade"),
        (["::1:0/112"], "no-masquerade"),
        (["::2:0/111"], "masquerade"),
    ]


@pytest.mark.parametrize("flags", [(), ("--enable-ipv6",)])
def test_an_ipv4_mapped_address_is_answered_by_the_ipv4_rules(capsys, monkeypatch, flags):
    code, out, err = explain(capsys, monkeypatch, "::ffff:10.1.2.3", *flags)
    assert (code, err) == (0, "")
    assert out == (
        "::ffff:10.1.2.3: no-masquerade: rule 2 of IP-MASQ-AGENT returns for 10.0.0.0/8, from "
        f"default nonMasqueradeCIDRs[0] (<agent defaults>)\n  {RETURN_TEXT.format('10.0.0.0/8')}\n"
        "  note: ::ffff:10.1.2.3 is IPv4-mapped: a pod's socket sends to it as IPv4, to "
        "10.1.2.3, which the IPv4 rules decide\n\n"
    )


def test_an_ipv4_mapped_cidr_and_stdin_line_are_answered_as_ipv4(capsys, monkeypatch):
    code, out, _ = explain(capsys, monkeypatch, "-", "-o", "json", stdin="::ffff:8.0.0.0/103\n")
    [line] = json_lines(out)
    assert (code, line["family"], line["verdict"], line["notes"]) == (
        0,
        "ipv4",
        "masquerade",
        [
            "::ffff:8.0.0.0/103 is IPv4-mapped: a pod's socket sends to it as IPv4, to "
            "8.0.0.0/7, which the IPv4 rules decide"
        ],
    )


def test_stdin_fast_path_of_a_chain_name_that_is_not_utf8_prints_its_bytes() -> None:
    # It was an internal error (UnicodeEncodeError: surrogates not allowed); the answers
    # to arguments printed the name's bytes already.
    import subprocess
    import sys

    def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "masqctl", "explain", "--masq-chain", b"X\xff", *args]
        return subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)

    by_stdin, by_argument = run("-", stdin=b"8.8.8.8\n"), run("8.8.8.8")
    assert (by_stdin.returncode, by_stdin.stdout) == (0, by_argument.stdout)
    assert by_stdin.stdout.startswith(
        b"8.8.8.8: masquerade: no earlier rule matches: rule 5 of X\xff, the final MASQUERADE"
    )
