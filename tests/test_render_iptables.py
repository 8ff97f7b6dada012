"""render: the agent's exact iptables-restore payload (upstream's expected outputs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from masqctl.agent import AgentFlags
from masqctl.agent_setup import effective_ruleset
from masqctl.entry import main
from masqctl.errors import UsageError
from masqctl.render.iptables import restore_payload
from masqctl.ruleset import FamilyRules, payload_misreadings, payload_problems
from tests.rendering import render_output

RETURN = '-m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE"'
MASQ = (
    '-m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE '
    '(must be last in chain)"'
)


def payload(chain: str, *rules: str) -> str:
    return "".join(f"{line}\n" for line in ("*nat", f":{chain} - [0:0]", *rules, "COMMIT"))


def ret(cidr: str, chain: str = "IP-MASQ-AGENT") -> str:
    return f"-A {chain} {RETURN} -d {cidr} -j RETURN"


def masq(options: str = " --random-fully", chain: str = "IP-MASQ-AGENT") -> str:
    return f"-A {chain} {MASQ} -j MASQUERADE{options}"


def render(tmp_path: Path, config: str | None = None, family: str = "ipv4", **flags: object) -> str:
    path = None
    if config is not None:
        path = tmp_path / "config.yaml"
        path.write_text(config)
    return render_output(str(path) if path else None, AgentFlags(**flags), family, "iptables")  # type: ignore[arg-type]


def test_default_config(tmp_path: Path) -> None:
    assert render(tmp_path) == payload(
        "IP-MASQ-AGENT",
        ret("169.254.0.0/16"),
        ret("10.0.0.0/8"),
        ret("172.16.0.0/12"),
        ret("192.168.0.0/16"),
        masq(),
    )


def test_all_reserved_ranges(tmp_path: Path) -> None:
    cidrs = [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
    ]
    assert render(tmp_path, nomasq_all_reserved_ranges=True) == payload(
        "IP-MASQ-AGENT", ret("169.254.0.0/16"), *map(ret, cidrs), masq()
    )


def test_empty_cidr_list_masquerades_everything_but_link_local(tmp_path: Path) -> None:
    assert render(tmp_path, "nonMasqueradeCIDRs: []\n") == payload(
        "IP-MASQ-AGENT", ret("169.254.0.0/16"), masq()
    )


def test_ipv4_and_ipv6_config_splits_by_family(tmp_path: Path) -> None:
    config = "nonMasqueradeCIDRs: [10.244.0.0/16, 'fc00::/7']\n"
    assert render(tmp_path, config, enable_ipv6=True) == payload(
        "IP-MASQ-AGENT", ret("169.254.0.0/16"), ret("10.244.0.0/16"), masq()
    )
    assert render(tmp_path, config, "ipv6", enable_ipv6=True) == payload(
        "IP-MASQ-AGENT", ret("fe80::/10"), ret("fc00::/7"), masq()
    )


def test_ipv6_empty_config(tmp_path: Path) -> None:
    assert render(tmp_path, "nonMasqueradeCIDRs: []\n", "ipv6", enable_ipv6=True) == payload(
        "IP-MASQ-AGENT", ret("fe80::/10"), masq()
    )


def test_masq_link_local_ipv6_drops_only_the_ipv6_link_local_rule(tmp_path: Path) -> None:
    config = "nonMasqueradeCIDRs: []\nmasqLinkLocalIPv6: true\n"
    assert render(tmp_path, config, "ipv6", enable_ipv6=True) == payload("IP-MASQ-AGENT", masq())
    assert render(tmp_path, config, enable_ipv6=True) == payload(
        "IP-MASQ-AGENT", ret("169.254.0.0/16"), masq()
    )


def test_masq_link_local_drops_the_ipv4_link_local_rule(tmp_path: Path) -> None:
    assert render(tmp_path, "nonMasqueradeCIDRs: [10.0.0.0/8]\nmasqLinkLocal: true\n") == payload(
        "IP-MASQ-AGENT", ret("10.0.0.0/8"), masq()
    )


def test_random_fully_off(tmp_path: Path) -> None:
    assert render(tmp_path, "nonMasqueradeCIDRs: []\n", random_fully=False) == payload(
        "IP-MASQ-AGENT", ret("169.254.0.0/16"), masq("")
    )


def test_custom_chain_is_renamed_everywhere(tmp_path: Path) -> None:
    assert render(tmp_path, "nonMasqueradeCIDRs: [10.0.0.0/8]\n", masq_chain="MY-MASQ") == payload(
        "MY-MASQ",
        ret("169.254.0.0/16", "MY-MASQ"),
        ret("10.0.0.0/8", "MY-MASQ"),
        masq(chain="MY-MASQ"),
    )


def test_cidrs_are_written_as_given_in_config_order(tmp_path: Path) -> None:
    config = "nonMasqueradeCIDRs: [192.168.0.0/16, 10.0.0.0/8]\n"
    assert render(tmp_path, config) == payload(
        "IP-MASQ-AGENT", ret("169.254.0.0/16"), ret("192.168.0.0/16"), ret("10.0.0.0/8"), masq()
    )


@pytest.mark.parametrize(
    ("chain", "problem"),
    [
        (
            "A" * 29,
            "--masq-chain 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAA': chain name "
            "`AAAAAAAAAAAAAAAAAAAAAAAAAAAAA' too long (must be under 29 chars)",
        ),
        ("MY CHAIN", "--masq-chain 'MY CHAIN': chain name 'MY CHAIN' contains whitespace"),
        (
            "POSTROUTING",
            "--masq-chain 'POSTROUTING': POSTROUTING is a built-in chain or target: the agent "
            "would flush it and write its rules there",
        ),
        ("", "--masq-chain '': the chain name is empty"),
        ("-x", "--masq-chain '-x': chain name not allowed to start with `-'"),
        (
            'MY"CHAIN',
            "--masq-chain 'MY\"CHAIN': chain name 'MY\"CHAIN' contains a double quote, which "
            "iptables-restore reads as quoting",
        ),
    ],
)
def test_chain_names_iptables_refuses_are_written_as_the_agent_writes_them(
    chain: str, problem: str
) -> None:
    # the agent uses --masq-chain as it is (no check): its payload names the chain
    rules = effective_ruleset(None, AgentFlags(masq_chain=chain)).family("ipv4")
    assert restore_payload(rules).splitlines()[1] == f":{chain} - [0:0]"
    assert payload_problems(rules) == [problem]


def test_ipv6_family_needs_enable_ipv6(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no ip6tables rules without --enable-ipv6"):
        render(tmp_path, family="ipv6")


def test_invalid_config_prints_the_errors_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("nonMasqueradeCIDRs: [10.0.0.1/8]\n")
    result = subprocess.run(
        [sys.executable, "-m", "masqctl", "render", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "masqctl: the agent refuses this config (it writes no rules and keeps the ones it "
        'has; a new node gets none): CIDR "10.0.0.1/8" is not aligned to a CIDR block, ip: '
        '"10.0.0.1" network: "10.0.0.0/8"\n'
        f'{path}:1:22: error[MASQ003] CIDR "10.0.0.1/8" has host bits set; the agent rejects it '
        "(did you mean 10.0.0.0/8?)\n"
    )


def test_render_reads_a_configmap(tmp_path: Path) -> None:
    configmap = Path(__file__).parent / "data/configmaps/valid.yaml"
    assert render_output(str(configmap), AgentFlags(), "ipv4", "iptables") == render(tmp_path)


def to_ports_rules(options: str, intervals: list[tuple[str, str | None]]) -> list[str]:
    """The agent's per-protocol MASQUERADE rules: tcp, udp, sctp, one per interval."""
    rules = []
    for protocol in ("tcp", "udp", "sctp"):
        for ports, probability in intervals:
            statistic = (
                f" -m statistic --mode random --probability {probability}" if probability else ""
            )
            rules.append(masq(f"{options} -p {protocol}{statistic} --to-ports {ports}"))
    return rules


@pytest.mark.parametrize(
    ("to_ports", "intervals"),
    [
        ("32768-65535", [("32768-65535", None)]),
        ("1024-29999,32768-65535", [("1024-29999", "0.469292562840114"), ("32768-65535", None)]),
        ("1024,65535", [("1024", "0.5"), ("65535", None)]),
        (
            "1024-29999,32768-49151,61000-65535",
            [
                ("1024-29999", "0.5807279140612474"),
                ("32768-49151", "0.7831739961759082"),
                ("61000-65535", None),
            ],
        ),
    ],
)
@pytest.mark.parametrize("random_fully", [True, False])
def test_to_ports_split_per_protocol_with_go_formatted_probabilities(
    tmp_path: Path, to_ports: str, intervals: list[tuple[str, str | None]], random_fully: bool
) -> None:
    options = " --random-fully" if random_fully else ""
    assert render(
        tmp_path, "nonMasqueradeCIDRs: []\n", to_ports=to_ports, random_fully=random_fully
    ) == payload(
        "IP-MASQ-AGENT", ret("169.254.0.0/16"), *to_ports_rules(options, intervals), masq(options)
    )


def test_probabilities_never_use_exponent_notation() -> None:
    from masqctl.ruleset import format_go_float

    assert format_go_float(1 / 65535) == "0.000015259021896696422"
    assert format_go_float(0.5) == "0.5"


def test_ports_the_agent_takes_are_written_and_iptables_refuses_only_those_above_65535() -> None:
    # no range check in the agent; iptables-restore takes port 0 and refuses 70000
    rules = effective_ruleset(None, AgentFlags(to_ports="0-10,70000")).family("ipv4")
    assert "--to-ports 0-10" in restore_payload(rules)
    assert payload_problems(rules) == ["--to-ports 70000: Port `70000' not valid"]


def leading_zero_rules(tmp_path: Path) -> dict[str, FamilyRules]:
    """The IPv4 and IPv6 rules for CIDRs whose prefix lengths have a leading zero."""
    path = tmp_path / "c.yaml"
    path.write_text(
        "nonMasqueradeCIDRs: [10.0.0.0/010, 10.0.0.0/07, 10.0.0.0/08, fd00::/064, fd00::/0128]\n"
    )
    ruleset = effective_ruleset([str(path)], AgentFlags(enable_ipv6=True))
    return {family: ruleset.family(family) for family in ("ipv4", "ipv6")}


def test_a_leading_zero_prefix_length_is_octal_to_iptables_or_refused(tmp_path: Path) -> None:
    # iptables reads a prefix length in base 0 (xtables_strtoui): 010 is 8, 08 fails;
    # tests/test_render_forms_netns.py pins this against real iptables-restore
    rules = leading_zero_rules(tmp_path)
    assert [payload_problems(rules[family]) for family in rules] == [
        ["-d 10.0.0.0/08: invalid mask `08' specified"],
        ["-d fd00::/0128: invalid mask `0128' specified"],
    ]
    assert [payload_misreadings(rules[family]) for family in rules] == [
        ["-d 10.0.0.0/010: its prefix length is octal to iptables: 10.0.0.0/8, not /10"],
        ["-d fd00::/064: its prefix length is octal to iptables: fd00::/52, not /64"],
    ]


def test_render_warns_of_a_misread_payload_and_refuses_to_show_its_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("nonMasqueradeCIDRs: [10.0.0.0/010]\n")
    assert main(["render", "-c", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == payload("IP-MASQ-AGENT", ret("169.254.0.0/16"), ret("10.0.0.0/010"), masq())
    assert err == (
        "masqctl: warning: ipv4: the agent writes this payload and iptables reads it otherwise "
        "than the config says (-d 10.0.0.0/010: its prefix length is octal to iptables: "
        "10.0.0.0/8, not /10)\n"
    )
    for form in ("save", "list"):
        assert main(["render", "-c", str(path), "--format", form]) == 2
        assert capsys.readouterr() == (
            "",
            "masqctl: ipv4: no sync of the agent leaves these rules in the table (-d "
            "10.0.0.0/010: its prefix length is octal to iptables: 10.0.0.0/8, not /10); "
            "--format iptables prints the payload it writes\n",
        )


@pytest.mark.parametrize(
    ("to_ports", "message"),
    [
        ("abc", 'Invalid --to-ports flag "abc": strconv.Atoi: parsing "abc": invalid syntax'),
        ("42-", 'Invalid --to-ports flag "42-": strconv.Atoi: parsing "": invalid syntax'),
        ("1-2,", 'Invalid --to-ports flag "1-2,": strconv.Atoi: parsing "": invalid syntax'),
        ("1-2-3", 'Invalid --to-ports flag "1-2-3": invalid interval "1-2-3"'),
        ("10-5", 'Invalid --to-ports flag "10-5": first is greater than last in "10-5"'),
    ],
)
def test_invalid_to_ports_is_refused_with_the_agents_words(
    tmp_path: Path, to_ports: str, message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        render(tmp_path, to_ports=to_ports)
    assert str(raised.value) == message


def test_a_rule_line_quotes_each_comment_and_only_comments() -> None:
    from masqctl.ruleset import RETURN, Rule

    args = ("-m", "comment", "--comment", "a b", "-d", "10.0.0.0/8", "-m", "comment")
    rule = Rule("C", (*args, "--comment", "c", "-j", "RETURN"), RETURN, "")
    assert rule.restore_line() == (
        '-A C -m comment --comment "a b" -d 10.0.0.0/8 -m comment --comment "c" -j RETURN'
    )


def test_a_chain_name_with_bytes_that_are_not_utf8_counts_them_one_each() -> None:
    # It was an internal error (UnicodeEncodeError: surrogates not allowed).
    chain = b"A" * 28 + b"\xff"
    result = subprocess.run(
        [sys.executable, "-m", "masqctl", "render", "--masq-chain", chain],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout.splitlines()[1]) == (0, b":" + chain + b" - [0:0]")
    name = "A" * 28 + "\\udcff"
    assert result.stderr.decode() == (
        "masqctl: warning: ipv4: the agent writes this payload and iptables-restore rejects it "
        f"(--masq-chain '{name}': chain name `{name}' too long (must be under 29 chars)): "
        "every sync fails\n"
    )
