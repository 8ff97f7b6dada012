"""The agent's own parsing rules, pinned one by one with the exact verdict and message."""

from __future__ import annotations

import pytest

from masqctl.agent import AgentFlags
from masqctl.config.agent_parser import ConfigText, decode_config
from masqctl.config.goparse import parse_duration

DEFAULT_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def decode(text: str, **flags: object):  # type: ignore[no-untyped-def]
    decoded = decode_config(ConfigText(text, "c.yaml"), AgentFlags(**flags))  # type: ignore[arg-type]
    return decoded.config, [(f.rule, f.line, f.column, f.message) for f in decoded.findings]


def cidrs(config) -> list[str]:  # type: ignore[no-untyped-def]
    return [entry.text for entry in config.non_masquerade_cidrs]


def rules(findings) -> list[str]:  # type: ignore[no-untyped-def]
    return [finding[0] for finding in findings]


# --- JSON or YAML, decided by the first non-space byte ----------------------------------


def test_yaml_flow_mapping_is_a_json_syntax_error_for_the_agent() -> None:
    _, findings = decode("{nonMasqueradeCIDRs: [10.0.0.0/8]}")
    assert findings == [
        (
            "MASQ001",
            1,
            2,
            "JSON: invalid character 'n' looking for beginning of object key string "
            "(text starting with '{' is parsed as JSON by the agent)",
        )
    ]


def test_json_config_is_read_as_json() -> None:
    config, findings = decode('  {"nonMasqueradeCIDRs": ["10.0.0.0/8"], "masqLinkLocal": true}')
    assert findings == []
    assert cidrs(config) == ["10.0.0.0/8"]
    assert config.masq_link_local is True


def test_json_trailing_garbage_is_an_error() -> None:
    _, findings = decode('{"cidrLimit": 3} x')
    assert findings == [
        (
            "MASQ001",
            1,
            18,
            "JSON: invalid character 'x' after top-level value "
            "(text starting with '{' is parsed as JSON by the agent)",
        )
    ]


def test_json_nan_is_refused_like_go() -> None:
    _, findings = decode('{"cidrLimit": NaN}')
    assert rules(findings) == ["MASQ001"]


def test_only_the_first_yaml_document_counts() -> None:
    config, findings = decode("nonMasqueradeCIDRs: [10.0.0.0/8]\n---\nnonMasqueradeCIDRs: []\n")
    assert cidrs(config) == ["10.0.0.0/8"]
    assert findings == [
        (
            "MASQ020",
            3,
            1,
            "a second YAML document: the agent reads only the first and ignores this one",
        )
    ]


def test_empty_file_means_all_defaults() -> None:
    config, findings = decode("")
    assert (cidrs(config), config.cidr_limit, findings) == (DEFAULT_CIDRS, 64, [])


def test_comment_only_file_means_all_defaults() -> None:
    config, findings = decode("# nothing here\n")
    assert (cidrs(config), findings) == (DEFAULT_CIDRS, [])


def test_yaml_syntax_error_has_a_position() -> None:
    _, findings = decode("nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n bad: [\n")
    assert rules(findings) == ["MASQ001"]
    assert findings[0][1] >= 3


def test_top_level_list_is_refused() -> None:
    _, findings = decode("- 10.0.0.0/8\n")
    assert findings == [
        (
            "MASQ021",
            1,
            1,
            "the config is array but the agent needs a mapping of keys "
            "(json: cannot unmarshal array into Go value of type main.MasqConfig)",
        )
    ]


# --- keys -------------------------------------------------------------------------------


def test_key_in_other_case_is_read_and_warned_with_the_exact_spelling() -> None:
    config, findings = decode("nonMasqueradeCidrs:\n  - 10.0.0.0/8\n")
    assert cidrs(config) == ["10.0.0.0/8"]
    assert findings == [
        (
            "MASQ007",
            1,
            1,
            'key "nonMasqueradeCidrs" is read by the agent as "nonMasqueradeCIDRs" '
            '(keys match case-insensitively); spell it "nonMasqueradeCIDRs"',
        )
    ]


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("nonMasqueradeCIDR", 'did you mean "nonMasqueradeCIDRs"?'),
        ("enableIPv6", "did you mean the agent flag --enable-ipv6 (it is not a config key)?"),
        ("masqChain", "did you mean the agent flag --masq-chain (it is not a config key)?"),
        ("resync", 'did you mean "resyncInterval"?'),
    ],
)
def test_unknown_key_is_an_error_with_did_you_mean(key: str, suggestion: str) -> None:
    config, findings = decode(f"{key}: x\n")
    assert cidrs(config) == DEFAULT_CIDRS
    assert findings == [
        ("MASQ002", 1, 1, f'unknown key "{key}": the agent silently ignores it; {suggestion}')
    ]


def test_duplicate_yaml_key_of_the_same_spelling_keeps_only_the_later() -> None:
    config, findings = decode("cidrLimit: 5\ncidrLimit: 7\n")
    assert config.cidr_limit == 7
    assert findings == [
        (
            "MASQ006",
            1,
            1,
            'key "cidrLimit" is given again at line 2: go-yaml keeps only the later one',
        )
    ]


def test_keys_differing_in_case_are_both_decoded_in_go_sorted_order_in_yaml() -> None:
    # ToJSON marshals a Go map: keys sorted, so "nonMasqueradeCIDRs" ('I') is decoded
    # before "nonMasqueradeCidrs" ('i'), whatever the document order; the second list is
    # written into the first (agent: ["10.0.0.0/8"]).
    config, findings = decode(
        "nonMasqueradeCidrs: [10.0.0.0/8]\nnonMasqueradeCIDRs: [192.168.0.0/16]\n"
    )
    assert cidrs(config) == ["10.0.0.0/8"]
    assert (
        "MASQ006",
        1,
        1,
        'key "nonMasqueradeCidrs" is given more than once (also line 2): the agent decodes '
        "each in turn onto the same value (a null keeps what the other gave, a list is "
        "written into the other's element by element)",
    ) in findings


def test_keys_differing_in_case_follow_document_order_in_json() -> None:
    config, _ = decode('{"nonMasqueradeCidrs": ["10.0.0.0/8"], "nonMasqueradeCIDRs": []}')
    assert cidrs(config) == []


# --- YAML 1.1 scalars -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("yes", True),
        ("no", False),
        ("on", True),
        ("off", False),
        ("y", True),
        ("n", False),
        ("True", True),
        ("FALSE", False),
    ],
)
def test_yaml_1_1_booleans(word: str, value: bool) -> None:
    config, findings = decode(f"masqLinkLocal: {word}\n")
    assert (config.masq_link_local, findings) == (value, [])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("010", 8),
        ("0x40", 64),
        ("64", 64),
        ("+5", 5),
        ("1_000", 1000),
        ("64.0", 64),
    ],
)
def test_yaml_integers_as_go_yaml_reads_them(text: str, value: int) -> None:
    config, findings = decode(f"cidrLimit: {text}\n")
    assert (config.cidr_limit, findings) == (value, [])


@pytest.mark.parametrize("null", ["~", "null", "", "Null"])
def test_null_keeps_the_default_for_scalars(null: str) -> None:
    config, findings = decode(f"cidrLimit: {null}\nmasqLinkLocal: {null}\n")
    assert (config.cidr_limit, config.masq_link_local, findings) == (64, False, [])


def test_empty_cidr_list_masquerades_everything_but_link_local() -> None:
    config, findings = decode("nonMasqueradeCIDRs: []\n")
    assert cidrs(config) == []
    assert findings == []  # MASQ012 is a lint check, see test_validate


def test_null_cidr_list_means_no_cidrs() -> None:
    config, _ = decode("nonMasqueradeCIDRs:\n")
    assert cidrs(config) == []


def test_missing_key_keeps_the_default() -> None:
    config, _ = decode("masqLinkLocal: true\n")
    assert cidrs(config) == DEFAULT_CIDRS


def test_null_item_keeps_the_default_at_its_index() -> None:
    # agent: Using config {"nonMasqueradeCIDRs":["10.0.0.0/8","172.16.0.0/12"],...}
    config, findings = decode("nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  -\n")
    assert cidrs(config) == ["10.0.0.0/8", "172.16.0.0/12"]
    assert findings == [
        (
            "MASQ023",
            3,
            4,
            "nonMasqueradeCIDRs[1] is null: the agent keeps the default 172.16.0.0/12 that "
            "sat at index 1 and leaves it unmasqueraded (a null item does not remove anything)",
        )
    ]


# --- types as Go's encoding/json ------------------------------------------------------


def test_quoted_bool_is_a_type_error() -> None:
    _, findings = decode('masqLinkLocal: "true"\n')
    assert findings == [
        (
            "MASQ005",
            1,
            16,
            "masqLinkLocal: the agent cannot decode string into bool "
            "(json: cannot unmarshal string into Go struct field MasqConfig.masqLinkLocal "
            "of type bool)",
        )
    ]


def test_string_cidr_limit_is_a_type_error() -> None:
    _, findings = decode("cidrLimit: many\n")
    assert rules(findings) == ["MASQ005"]


def test_json_float_cidr_limit_is_a_type_error() -> None:
    _, findings = decode('{"cidrLimit": 1.0}')
    assert findings == [
        (
            "MASQ005",
            1,
            15,
            "cidrLimit: the agent cannot decode number 1.0 into int "
            "(json: cannot unmarshal number 1.0 into Go struct field MasqConfig.cidrLimit "
            "of type int)",
        )
    ]


def test_number_resync_interval_is_a_type_error() -> None:
    _, findings = decode("resyncInterval: 60\n")
    assert findings == [
        (
            "MASQ005",
            1,
            17,
            'resyncInterval must be a quoted duration such as "60s" (json: cannot unmarshal '
            "number into Go struct field MasqConfig.resyncInterval of type string)",
        )
    ]


def test_null_resync_interval_is_an_empty_duration_for_metav1_duration() -> None:
    _, findings = decode("resyncInterval:\n")
    assert findings == [
        ("MASQ010", 1, 16, 'resyncInterval: time: invalid duration "" (the value is null)')
    ]


def test_json_escapes_in_resync_interval_are_decoded() -> None:
    # upstream's "valid json file, just resyncInterval but escaped"
    config, findings = decode('{"resyncInterval": "\\u0035\\u006d"}')
    assert (config.resync_interval_ns, findings) == (300_000_000_000, [])


def test_cidr_list_of_numbers_is_a_type_error() -> None:
    _, findings = decode("nonMasqueradeCIDRs: [10]\n")
    assert rules(findings) == ["MASQ005"]


def test_cidr_list_as_a_string_is_a_type_error() -> None:
    _, findings = decode("nonMasqueradeCIDRs: 10.0.0.0/8\n")
    assert findings[0][:3] == ("MASQ005", 1, 21)


# --- resyncInterval ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("60s", 60_000_000_000),
        ("1h30m", 5_400_000_000_000),
        ("1.5h", 5_400_000_000_000),
        ("500ms", 500_000_000),
        ("1µs", 1000),
        ("1us", 1000),
        ("-1s", -1_000_000_000),
        ("0", 0),
    ],
)
def test_go_durations(text: str, nanos: int) -> None:
    assert parse_duration(text) == nanos


def test_days_are_not_a_go_duration() -> None:
    _, findings = decode("resyncInterval: 1d\n")
    assert findings == [
        ("MASQ010", 1, 17, 'resyncInterval: time: unknown unit "d" in duration "1d"')
    ]


@pytest.mark.parametrize("text", ["0s", "-5m"])
def test_zero_or_negative_resync_interval_warns_of_a_busy_loop(text: str) -> None:
    _, findings = decode(f"resyncInterval: {text}\n")
    assert rules(findings) == ["MASQ011"]
    assert "busy loop" in findings[0][3]


# --- CIDRs as net.ParseCIDR plus the alignment check ----------------------------------


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        (
            "192.168.0.0",
            'CIDR "192.168.0.0" could not be parsed, invalid CIDR address: '
            "192.168.0.0 (a prefix length is required, e.g. /32)",
        ),
        (
            "10.0.0.0/255.0.0.0",
            'CIDR "10.0.0.0/255.0.0.0" could not be parsed, invalid CIDR '
            "address: 10.0.0.0/255.0.0.0 (write a prefix length, not a netmask)",
        ),
        (
            "010.0.0.0/8",
            'CIDR "010.0.0.0/8" could not be parsed, invalid CIDR address: '
            "010.0.0.0/8 (leading zeros are not allowed)",
        ),
        (
            "fe80::%eth0/64",
            'CIDR "fe80::%eth0/64" could not be parsed, invalid CIDR address: '
            "fe80::%eth0/64 (zones are not allowed)",
        ),
        (
            "10.256.0.0/16",
            'CIDR "10.256.0.0/16" could not be parsed, invalid CIDR address: 10.256.0.0/16',
        ),
        (
            "abcdefg",
            'CIDR "abcdefg" could not be parsed, invalid CIDR address: abcdefg '
            "(a prefix length is required, e.g. /32)",
        ),
        (
            "10.0.0.0/33",
            'CIDR "10.0.0.0/33" could not be parsed, invalid CIDR address: 10.0.0.0/33',
        ),
    ],
)
def test_cidrs_go_refuses(cidr: str, message: str) -> None:
    _, findings = decode(f'nonMasqueradeCIDRs: ["{cidr}"]\n', enable_ipv6=True)
    assert findings == [("MASQ004", 1, 22, message)]


def test_host_bits_set_is_an_error_with_the_aligned_form() -> None:
    _, findings = decode("nonMasqueradeCIDRs:\n  - 10.0.0.1/8\n")
    assert findings == [
        (
            "MASQ003",
            2,
            5,
            'CIDR "10.0.0.1/8" has host bits set; the agent rejects it (did you mean 10.0.0.0/8?)',
        )
    ]


def test_ipv6_cidr_without_enable_ipv6_is_an_error() -> None:
    _, findings = decode("nonMasqueradeCIDRs: [fc00::/7]\n")
    assert findings == [
        (
            "MASQ008",
            1,
            22,
            "ipv6 is not enabled, but ipv6 cidr fc00::/7 provided. Enable ipv6 "
            "using --enable-ipv6 agent flag",
        )
    ]


def test_ipv6_cidr_with_enable_ipv6_is_fine() -> None:
    config, findings = decode("nonMasqueradeCIDRs: [fc00::/7, 10.0.0.0/8]\n", enable_ipv6=True)
    assert (cidrs(config), findings) == (["fc00::/7", "10.0.0.0/8"], [])


def test_ipv4_mapped_ipv6_cidr_is_an_error() -> None:
    _, findings = decode('nonMasqueradeCIDRs: ["::ffff:10.0.0.0/104"]\n', enable_ipv6=True)
    assert rules(findings) == ["MASQ022"]


def test_more_cidrs_than_the_limit_is_an_error_at_the_first_one_too_many() -> None:
    _, findings = decode(
        "cidrLimit: 2\nnonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]\n"
    )
    assert findings == [
        (
            "MASQ009",
            2,
            49,
            "the daemon can only accept up to 2 CIDRs (excluding link-local), "
            "but got 3 CIDRs (excluding link local)",
        )
    ]


def test_limit_counts_ipv4_and_ipv6_together() -> None:
    _, findings = decode(
        "cidrLimit: 1\nnonMasqueradeCIDRs: [10.0.0.0/8, fc00::/7]\n", enable_ipv6=True
    )
    assert rules(findings) == ["MASQ009"]


def test_nomasq_all_reserved_ranges_changes_the_defaults() -> None:
    config, _ = decode("", nomasq_all_reserved_ranges=True)
    assert cidrs(config) == [
        *DEFAULT_CIDRS,
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
    ]


def test_upstream_agent_config_is_valid() -> None:
    # kubernetes-sigs/ip-masq-agent agent-config/config (tests/data/corpus)
    from pathlib import Path

    text = (Path(__file__).parent / "data/corpus/upstream-agent-config.yaml").read_text()
    config, findings = decode(text)
    assert findings == []
    assert (cidrs(config), config.cidr_limit, config.resync_interval_ns) == (
        DEFAULT_CIDRS,
        64,
        60_000_000_000,
    )


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        ("cidrLimit: .inf\n", ("MASQ005", 1, 12)),
        ("masqLinkLocal: .nan\n", ("MASQ005", 1, 16)),
        ("cidrLimit: -1\nnonMasqueradeCIDRs: []\n", ("MASQ009", 1, 1)),
        ("cidrLimit: 1\n", ("MASQ009", 1, 1)),
    ],
)
def test_edge_values_are_findings_not_crashes(text: str, finding: tuple[str, int, int]) -> None:
    _, findings = decode(text)
    assert [f[:3] for f in findings] == [finding]


def test_non_finite_float_message_names_go_error() -> None:
    _, findings = decode("cidrLimit: .inf\n")
    assert findings[0][3] == (
        "cidrLimit: .inf has no JSON form, so the agent cannot convert the config "
        "(json: unsupported value: +Inf)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cidrLimit: !!str 5\n", ["MASQ005"]),
        ('masqLinkLocal: !!bool "true"\n', []),
        ("cidrLimit: !!int abc\n", ["MASQ001"]),
        ("cidrLimit: !!float 3\n", []),
    ],
)
def test_explicit_yaml_tags_are_honoured(text: str, expected: list[str]) -> None:
    _, findings = decode(text)
    assert rules(findings) == expected


def test_merge_list_earlier_mapping_wins() -> None:
    config, _ = decode(
        "a: &a {cidrLimit: 1}\nb: &b {cidrLimit: 2}\n<<: [*a, *b]\nnonMasqueradeCIDRs: []\n"
    )
    assert config.cidr_limit == 1


def test_a_prefix_length_with_a_leading_zero_says_what_iptables_makes_of_it() -> None:
    # the agent writes it as it is; iptables reads it as octal (test_render_forms_netns.py)
    decoded = decode_config(
        ConfigText("nonMasqueradeCIDRs: [10.0.0.0/010, 10.0.0.0/07, 10.0.0.0/08]\n", "c.yaml"),
        AgentFlags(),
    )
    said = "has a prefix length with leading zeros: the agent takes it and writes it as it is"
    assert decoded.agent_error is None
    assert [(f.severity, f.column, f.message) for f in decoded.findings] == [
        (
            "error",
            22,
            f'CIDR "10.0.0.0/010" {said}, and iptables reads such a length as octal: the rule '
            "it makes is 10.0.0.0/8, not /10, so more is left unmasqueraded than the config says",
        ),
        (
            "warning",
            36,
            f'CIDR "10.0.0.0/07" {said}; iptables reads such a length as octal, here the same /7',
        ),
        (
            "error",
            49,
            f'CIDR "10.0.0.0/08" {said}, and iptables-restore rejects it (invalid mask `08\' '
            "specified): every sync then fails",
        ),
    ]
