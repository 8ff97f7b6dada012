"""What upstream's agent really does, rule by rule (issue 9), and ``masqctl show``.

Every expected value here was produced by running kubernetes-sigs/ip-masq-agent's own
code (its syncConfig, validate and rule writers, built from its vendored modules, Go
1.26.4 as its Makefile pins) on the same input; the agent's words are quoted as it
prints them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from masqctl.agent import AgentFlags
from masqctl.config.agent_parser import ConfigText, decode_config
from masqctl.entry import main
from masqctl.flavours import get_flavour
from masqctl.render.iptables import restore_payload

DATA = Path(__file__).parent / "data"
UPSTREAM = get_flavour("upstream")
DEFAULT_LOG_JSON = (
    '{"nonMasqueradeCIDRs":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"],"cidrLimit":64,'
    '"masqLinkLocal":false,"masqLinkLocalIPv6":false,"resyncInterval":"1m0s"}'
)


def decoded(text: str, **flags: object):  # type: ignore[no-untyped-def]
    return decode_config(ConfigText(text, "c.yaml"), AgentFlags(**flags))  # type: ignore[arg-type]


def agent_cidrs(text: str, **flags: object) -> list[str]:
    """The CIDRs the agent writes RETURN rules for (after link-local), IPv4 payload."""
    result = decoded(text, **flags)
    assert result.agent_error is None, result.agent_error
    rules = UPSTREAM.ruleset(result.config, AgentFlags(**flags)).family("ipv4")  # type: ignore[arg-type]
    return [rule.cidr for rule in rules.rules[1:] if rule.cidr is not None]


def masqctl(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "masqctl", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# ---- 1. a null list item keeps the default that sat at its index ---------------------


@pytest.mark.parametrize(
    ("text", "cidrs"),
    [
        ("nonMasqueradeCIDRs: [~]\n", ["10.0.0.0/8"]),
        ("nonMasqueradeCIDRs:\n  -\n", ["10.0.0.0/8"]),
        ("nonMasqueradeCIDRs:\n  - null\n", ["10.0.0.0/8"]),
        ('{"nonMasqueradeCIDRs": [null]}', ["10.0.0.0/8"]),
        ("nonMasqueradeCIDRs: [10.1.0.0/16, ~]\n", ["10.1.0.0/16", "172.16.0.0/12"]),
        (
            "nonMasqueradeCIDRs: [10.1.0.0/16, ~, 10.3.0.0/16]\n",
            ["10.1.0.0/16", "172.16.0.0/12", "10.3.0.0/16"],
        ),
        ("nonMasqueradeCIDRs: [~, ~, ~]\n", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]),
    ],
)
def test_null_item_keeps_the_default_at_its_index(text: str, cidrs: list[str]) -> None:
    assert agent_cidrs(text) == cidrs


def test_null_item_past_the_defaults_is_empty_and_refused() -> None:
    result = decoded("nonMasqueradeCIDRs: [~, ~, ~, ~]\n")
    assert result.agent_error == 'CIDR "" could not be parsed, invalid CIDR address: '
    [finding] = [f for f in result.findings if f.rule == "MASQ023" and f.severity == "error"]
    assert (finding.line, finding.column) == (1, 31)


def test_the_reserved_ranges_make_eleven_defaults_to_keep() -> None:
    assert agent_cidrs("nonMasqueradeCIDRs: [~, ~, ~, ~]\n", nomasq_all_reserved_ranges=True) == [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    ]
    twelve = decoded(
        "nonMasqueradeCIDRs: [" + ", ".join(["~"] * 12) + "]\n", nomasq_all_reserved_ranges=True
    )
    assert twelve.agent_error == 'CIDR "" could not be parsed, invalid CIDR address: '


def test_a_later_list_is_written_into_the_earlier_one() -> None:
    # keys differing in case are both decoded, the upper-case one first
    text = "NonMasqueradeCIDRs: [10.1.0.0/16, 10.2.0.0/16]\nnonMasqueradeCIDRs: [~, ~, ~]\n"
    assert agent_cidrs(text) == ["10.1.0.0/16", "10.2.0.0/16", "192.168.0.0/16"]


def test_a_json_duplicate_resurrects_elements_of_the_backing_array() -> None:
    text = (
        '{"nonMasqueradeCIDRs": ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16"], '
        '"nonMasqueradeCIDRs": ["10.9.0.0/16"], "nonMasqueradeCIDRs": [null, null, null]}'
    )
    assert agent_cidrs(text) == ["10.9.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]


def test_a_later_null_keeps_the_earlier_value() -> None:
    result = decoded("MasqLinkLocal: true\nmasqLinkLocal: ~\n")
    assert (result.agent_error, result.config.masq_link_local) == (None, True)


def test_a_type_error_in_a_shadowed_duplicate_still_refuses() -> None:
    result = decoded('{"cidrLimit": "x", "cidrLimit": 5}')
    assert result.agent_error == (
        "json: cannot unmarshal string into Go struct field MasqConfig.cidrLimit of type int"
    )


def test_a_resync_interval_error_stops_decoding_even_when_shadowed() -> None:
    assert decoded("ResyncInterval: ~\nresyncInterval: 5s\n").agent_error == (
        'time: invalid duration ""'
    )


def test_a_null_item_over_an_empty_string_an_earlier_list_left_is_refused() -> None:
    # the first list's null at index 3 leaves "" in the backing array; the second's keeps it
    text = (
        '{"nonMasqueradeCIDRs": ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", null], '
        '"nonMasqueradeCIDRs": ["10.5.0.0/16", "10.6.0.0/16", "10.7.0.0/16", null]}'
    )
    result = decoded(text)
    assert result.agent_error == 'CIDR "" could not be parsed, invalid CIDR address: '
    refusal = (
        "nonMasqueradeCIDRs[3] is null, past the 3 default CIDRs the agent decodes into: the "
        'agent reads it as "" and refuses the config (CIDR "" could not be parsed, invalid '
        "CIDR address: )"
    )
    assert [(f.severity, f.column, f.message) for f in result.findings if f.rule == "MASQ023"] == [
        ("error", 70, refusal),
        ("error", 145, refusal),
    ]


@pytest.mark.parametrize(
    ("text", "position", "what", "go_value"),
    [
        ("foo: .inf\n", (1, 6), "foo: .inf", "+Inf"),
        ("nonMasqueradeCIDRs: [10.1.0.0/16]\nfoo: [1, .nan]\n", (2, 10), "foo[1]: .nan", "NaN"),
        # json.Marshal sorts the keys: a's NaN comes before b's infinities
        ("a: [1, {b: -.inf, a: .nan}]\nb: .inf\n", (1, 22), "a[1].a: .nan", "NaN"),
        (".inf\n", (1, 1), ".inf", "+Inf"),
        # ToJSON fails before json.Unmarshal could meet the bad duration
        ("cidrLimit: .inf\nresyncInterval: bad\n", (1, 12), "cidrLimit: .inf", "+Inf"),
    ],
)
def test_a_nan_or_an_infinity_anywhere_makes_to_json_refuse_the_config(
    text: str, position: tuple[int, int], what: str, go_value: str
) -> None:
    result = decoded(text)
    assert result.agent_error == f"json: unsupported value: {go_value}"
    assert [(f.rule, f.line, f.column, f.message) for f in result.findings] == [
        (
            "MASQ005",
            *position,
            f"{what} has no JSON form, so the agent cannot convert the config "
            f"(json: unsupported value: {go_value})",
        )
    ]


def test_an_infinity_go_yaml_drops_for_a_later_equal_key_refuses_nothing() -> None:
    assert decoded("a: .inf\na: 1\n").agent_error is None


def test_validate_warns_which_cidr_the_agent_silently_keeps(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text("nonMasqueradeCIDRs:\n  - 10.1.0.0/16\n  - ~\n")
    result = masqctl("validate", "-o", "json", str(path))
    assert result.returncode == 0
    assert json.loads(result.stdout)["findings"] == [
        {
            "file": str(path),
            "line": 3,
            "column": 5,
            "rule": "MASQ023",
            "severity": "warning",
            "message": "nonMasqueradeCIDRs[1] is null: the agent keeps the default "
            "172.16.0.0/12 that sat at index 1 and leaves it unmasqueraded (a null item does "
            "not remove anything)",
            "hint": "Remove the null item, or write the CIDR you mean.",
        }
    ]


def test_render_writes_the_cidr_the_agent_keeps(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("nonMasqueradeCIDRs: [~]\n")
    result = masqctl("render", "-c", str(path))
    assert result.returncode == 0
    assert "-d 10.0.0.0/8 -j RETURN" in result.stdout
    assert "172.16.0.0/12" not in result.stdout


# ---- 2. a null key, and the other keys that are not strings ----------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("null: 1\n", "unsupported map key of type: %!s(<nil>), key: <nil>, value: 1"),
        ("~: 1\n", "unsupported map key of type: %!s(<nil>), key: <nil>, value: 1"),
        ("? \n: 1\n", "unsupported map key of type: %!s(<nil>), key: <nil>, value: 1"),
        ('~: "x"\n', 'unsupported map key of type: %!s(<nil>), key: <nil>, value: "x"'),
        ("? [a]\n: x\n", 'yaml: invalid map key: []interface {}{"a"}'),
        ("? {a: b}\n: x\n", 'yaml: invalid map key: map[interface {}]interface {}{"a":"b"}'),
        (
            "18446744073709551615: x\n",
            'unsupported map key of type: uint64, key: 0xffffffffffffffff, value: "x"',
        ),
        ("foo: {~: 1}\n", "unsupported map key of type: %!s(<nil>), key: <nil>, value: 1"),
    ],
)
def test_keys_the_agent_cannot_make_strings_refuse_the_config(text: str, error: str) -> None:
    assert decoded(text).agent_error == error


@pytest.mark.parametrize(
    "key", ["true", "yes", "1", "0x10", "1.5", "1e30", "2001-12-14", ".inf", "18446744073709551616"]
)
def test_keys_the_agent_makes_strings_are_ignored(key: str) -> None:
    result = decoded(f"{key}: x\nnonMasqueradeCIDRs: [10.1.0.0/16]\n")
    assert result.agent_error is None
    assert [e.text for e in result.config.non_masquerade_cidrs] == ["10.1.0.0/16"]


def test_the_first_refused_key_in_document_order_is_the_one_reported() -> None:
    result = decoded("a: {~: 1}\n18446744073709551615: x\n")
    assert result.agent_error == "unsupported map key of type: %!s(<nil>), key: <nil>, value: 1"


DEPTH = 9990  # go-yaml decodes up to 10000 nested collections, and so does the agent


@pytest.mark.parametrize(
    "nested",
    ["[" * DEPTH + "]" * DEPTH, "{a: " * DEPTH + "1" + "}" * DEPTH],
    ids=["sequences", "mappings"],
)
def test_an_ignored_key_nested_as_deep_as_go_yaml_allows_is_decoded(nested: str) -> None:
    result = decoded(f"x: {nested}\nnonMasqueradeCIDRs: [10.1.0.0/16]\n")
    assert result.agent_error is None
    assert [e.text for e in result.config.non_masquerade_cidrs] == ["10.1.0.0/16"]


def test_a_null_key_nested_as_deep_as_go_yaml_allows_prints_its_whole_value() -> None:
    result = decoded("~: " + "[" * DEPTH + "]" * DEPTH + "\n")
    prefix = "unsupported map key of type: %!s(<nil>), key: <nil>, value: "
    assert result.agent_error == prefix + "[]interface {}{" * DEPTH + "}" * DEPTH


def test_a_null_key_is_a_validate_error_at_its_position(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("nonMasqueradeCIDRs: [10.1.0.0/16]\n~: 1\n")
    result = masqctl("validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"{path}:2:1: error[MASQ025] a null key (null, ~ or an empty ?): the agent refuses "
        "the whole config (unsupported map key of type: %!s(<nil>), key: <nil>, value: 1)"
    )
    rendered = masqctl("render", "-c", str(path))
    assert (rendered.returncode, rendered.stdout) == (2, "")
    assert rendered.stderr.startswith("masqctl: the agent refuses this config (it writes no")


# ---- 3. an IPv4-mapped IPv6 CIDR: the agent takes it, iptables-restore does not ----------


def test_ipv4_mapped_cidr_is_written_into_the_ipv4_payload_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text('nonMasqueradeCIDRs: ["::ffff:10.0.0.0/104"]\n')
    result = masqctl("render", "-c", str(path))
    assert result.returncode == 0
    assert result.stdout.splitlines()[3] == (
        '-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: local traffic is not subject '
        'to MASQUERADE" -d ::ffff:10.0.0.0/104 -j RETURN'
    )
    assert result.stderr == (
        "masqctl: warning: ipv4: the agent writes this payload and iptables-restore rejects "
        "it (-d ::ffff:10.0.0.0/104: invalid mask `104' specified): every sync fails\n"
    )
    with_ipv6 = masqctl("render", "-c", str(path), "--enable-ipv6", "--family", "ipv6")
    assert "::ffff" not in with_ipv6.stdout


def test_ipv4_mapped_cidr_is_a_validate_error_that_tells_the_true_story(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text('nonMasqueradeCIDRs: ["::ffff:10.0.0.0/104"]\n')
    result = masqctl("validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f'{path}:1:22: error[MASQ022] CIDR "::ffff:10.0.0.0/104" is an IPv4-mapped IPv6 CIDR: '
        "the agent takes it as IPv4 and writes it into the iptables payload, which "
        "iptables-restore rejects (invalid mask `104' specified): every sync then fails and "
        "the chain keeps its old rules, or never appears on a new node"
    )


def test_only_checks_the_agent_really_refuses_for_say_so() -> None:
    from masqctl.lint.catalogue import CHECKS

    refusing = sorted(check.id for check in CHECKS.values() if check.agent_refuses)
    assert refusing == [
        "MASQ001",
        "MASQ003",
        "MASQ004",
        "MASQ005",
        "MASQ008",
        "MASQ009",
        "MASQ010",
        "MASQ021",
        "MASQ025",
        "MASQ026",
    ]


# ---- 4. durations as Go prints them ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (".5s", "500ms"),
        ("10us", "10µs"),
        ("1.5s", "1.5s"),
        ("60s", "1m0s"),
        ("90m", "1h30m0s"),
        ("9223372036854775807ns", "2562047h47m16.854775807s"),
        ("0", "0s"),
        ("9.999999999999999999s", "10s"),
    ],
)
def test_resync_interval_prints_as_go_prints_it(tmp_path: Path, text: str, shown: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f'resyncInterval: "{text}"\n')
    result = masqctl("render", "-c", str(path), "--format", "json")
    assert json.loads(result.stdout)["config"]["resyncInterval"] == shown


# ---- show -----------------------------------------------------------------------------


def test_show_prints_the_agents_log_json_for_the_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["show"]) == 0
    assert capsys.readouterr().out == DEFAULT_LOG_JSON + "\n"


def test_show_prints_a_null_list_as_null_and_the_kept_default(tmp_path: Path) -> None:
    null_list = tmp_path / "null.yaml"
    null_list.write_text("nonMasqueradeCIDRs:\nresyncInterval: .5s\n")
    assert masqctl("show", "-c", str(null_list)).stdout == (
        '{"nonMasqueradeCIDRs":null,"cidrLimit":64,"masqLinkLocal":false,'
        '"masqLinkLocalIPv6":false,"resyncInterval":"500ms"}\n'
    )
    kept = tmp_path / "kept.yaml"
    kept.write_text("nonMasqueradeCIDRs: [10.1.0.0/16, ~]\n")
    assert json.loads(masqctl("show", "-c", str(kept)).stdout)["nonMasqueradeCIDRs"] == [
        "10.1.0.0/16",
        "172.16.0.0/12",
    ]


def test_show_yaml_is_a_canonical_config_the_agent_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("NonMasqueradeCidrs: [10.1.0.0/16, '::1/128']\nresyncinterval: 90s\n")
    yaml_text = masqctl("show", "-c", str(path), "--enable-ipv6", "-o", "yaml").stdout
    assert yaml_text == (
        "nonMasqueradeCIDRs:\n- 10.1.0.0/16\n- ::1/128\ncidrLimit: 64\nmasqLinkLocal: false\n"
        "masqLinkLocalIPv6: false\nresyncInterval: 1m30s\n"
    )
    canonical = tmp_path / "canonical.yaml"
    canonical.write_text(yaml_text)
    same = [masqctl("show", "-c", str(p), "--enable-ipv6").stdout for p in (path, canonical)]
    assert same[0] == same[1]
    assert masqctl("validate", "--strict", "--enable-ipv6", str(canonical)).returncode == 0


def test_show_of_a_refused_config_is_the_agents_own_error() -> None:
    result = masqctl("show", "-c", "-", stdin="nonMasqueradeCIDRs: [10.0.0.1/8]\n")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        'masqctl: the agent refuses this config: CIDR "10.0.0.1/8" is not aligned to a CIDR '
        'block, ip: "10.0.0.1" network: "10.0.0.0/8"\n'
    )


LOG = DATA / "logs" / "upstream-kubectl-logs-prefix.log"


def test_from_log_is_in_sync_with_the_config_the_agent_applied(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("nonMasqueradeCIDRs:\n  - 10.1.0.0/16\n  - 10.2.0.0/16\n")
    result = masqctl("show", "-c", str(path), "--from-log", str(LOG))
    assert (result.returncode, result.stdout) == (
        0,
        f"the agent runs what the config says ({LOG}:2)\n"
        f'  note: {LOG}:6 logs a config the agent then refused (CIDR "10.0.0.1/8" is not '
        'aligned to a CIDR block, ip: "10.0.0.1" network: "10.0.0.0/8"); it kept the one above\n',
    )


def test_from_log_names_the_keys_that_differ(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("nonMasqueradeCIDRs: [10.1.0.0/16]\nmasqLinkLocal: true\n")
    result = masqctl(
        "show", "-c", str(path), "--from-log", "-", "-o", "json", stdin=LOG.read_text()
    )
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["differences"] == [
        {
            "key": "nonMasqueradeCIDRs",
            "log": ["10.1.0.0/16", "10.2.0.0/16"],
            "config": ["10.1.0.0/16"],
        },
        {"key": "masqLinkLocal", "log": False, "config": True},
    ]
    assert document["log_line"] == 2


def test_from_log_reads_the_defaults_when_the_agent_found_no_file() -> None:
    log = (
        "I1201 12:00:00.000000       1 ip-masq-agent.go:224] No config file found at "
        '"/etc/config/ip-masq-agent", using default values: file does not exist\n'
    )
    assert masqctl("show", "--from-log", "-", stdin=log).returncode == 0


def test_from_log_without_a_config_line_says_why() -> None:
    result = masqctl("show", "--from-log", "-", stdin="I1201 12:00:00 something else\n")
    assert result.returncode == 2
    assert result.stderr == (
        "masqctl: <stdin>: no 'Using config:' line of an applied config: the agent logs it "
        "only with --v=2 or more (upstream's DaemonSet runs at the default 0)\n"
    )


def test_payload_of_the_defaults_is_unchanged() -> None:
    rules = UPSTREAM.ruleset(decoded("").config, AgentFlags()).family("ipv4")
    assert restore_payload(rules).count("-j RETURN") == 4
