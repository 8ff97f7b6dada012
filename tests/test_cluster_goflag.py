"""Go's flag package as the agents' flag.Parse() reads a command line.

Every expected value here was checked against Go 1.27's own flag package (a FlagSet with
the same flags, ContinueOnError; the logging levels with flag.Values whose Set is klog/v2's
and glog's): messages are byte for byte what Go prints.
"""

from __future__ import annotations

import pytest

from masqctl.cluster.goflag import (
    BAD_VALUE,
    HELP,
    MISSING_VALUE,
    SYNTAX,
    UNDEFINED,
    Argument,
    FlagParse,
    go_quote,
    parse_flags,
)

DEFINED = {
    "masq-chain": "string",
    "enable-ipv6": "bool",
    "random-fully": "bool",
    "resync-interval": "int",
    "log_file_max_size": "uint",
    "v": "value",
}


def parse(*args: str) -> FlagParse[int]:
    return parse_flags([Argument(text, index) for index, text in enumerate(args)], DEFINED)


def values(result: FlagParse[int]) -> dict[str, object]:
    return {name: flag.value for name, flag in result.flags.items()}


def error(*args: str) -> tuple[str, str, int]:
    result = parse(*args)
    assert result.error is not None
    return result.error.kind, result.error.message, result.error.argument.where


@pytest.mark.parametrize(
    "args", [["-masq-chain=A"], ["--masq-chain=A"], ["-masq-chain", "A"], ["--masq-chain", "A"]]
)
def test_one_or_two_dashes_and_equals_or_next_argument_are_the_same(args: list[str]) -> None:
    assert values(parse(*args)) == {"masq-chain": "A"}


def test_value_is_split_at_the_first_equals_sign() -> None:
    assert values(parse("--masq-chain=a=b")) == {"masq-chain": "a=b"}


def test_empty_value_after_equals_is_an_empty_string() -> None:
    assert values(parse("--masq-chain=")) == {"masq-chain": ""}


def test_non_bool_flag_takes_the_next_argument_whatever_it_looks_like() -> None:
    result = parse("--masq-chain", "--random-fully=false")
    assert values(result) == {"masq-chain": "--random-fully=false"}
    assert result.flags["masq-chain"].value_argument == Argument("--random-fully=false", 1)


def test_a_lone_dash_is_a_value_for_a_non_bool_flag() -> None:
    assert values(parse("-masq-chain", "-")) == {"masq-chain": "-"}


def test_bare_bool_flag_is_true() -> None:
    assert values(parse("--enable-ipv6")) == {"enable-ipv6": True}


@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_bool_values_strconv_parsebool_reads_as_true(text: str) -> None:
    assert values(parse(f"--random-fully={text}")) == {"random-fully": True}


@pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
def test_bool_values_strconv_parsebool_reads_as_false(text: str) -> None:
    assert values(parse(f"--random-fully={text}")) == {"random-fully": False}


@pytest.mark.parametrize("text", ["yes", "no", "fAlse", "", "on"])
def test_other_bool_values_are_parse_errors(text: str) -> None:
    assert error(f"--enable-ipv6={text}") == (
        BAD_VALUE,
        f'invalid boolean value "{text}" for -enable-ipv6: parse error',
        0,
    )


def test_bool_flag_never_takes_a_separate_value_and_parsing_stops_at_it() -> None:
    result = parse("--random-fully", "false", "--masq-chain=IP-MASQ")
    assert values(result) == {"random-fully": True}
    assert result.positional == Argument("false", 1)
    assert result.ignored == [Argument("--masq-chain=IP-MASQ", 2)]
    assert result.last is result.flags["random-fully"]


def test_parsing_stops_at_the_first_non_flag_and_ignores_every_later_flag() -> None:
    result = parse("--masq-chain=A", "extra", "--enable-ipv6", "--masq-chain=B")
    assert values(result) == {"masq-chain": "A"}
    assert result.positional == Argument("extra", 1)
    assert [a.text for a in result.ignored] == ["--enable-ipv6", "--masq-chain=B"]


def test_a_lone_dash_stops_parsing() -> None:
    result = parse("-", "--enable-ipv6")
    assert result.flags == {}
    assert result.positional == Argument("-", 0)


def test_an_empty_argument_stops_parsing() -> None:
    assert parse("", "--enable-ipv6").positional == Argument("", 0)


def test_double_dash_is_consumed_and_ends_the_flags() -> None:
    result = parse("--enable-ipv6", "--", "--masq-chain=A")
    assert values(result) == {"enable-ipv6": True}
    assert result.terminator == Argument("--", 1)
    assert result.positional is None
    assert result.ignored == [Argument("--masq-chain=A", 2)]


def test_the_last_of_repeated_flags_wins() -> None:
    assert values(parse("--masq-chain=A", "--masq-chain=B")) == {"masq-chain": "B"}
    assert values(parse("--random-fully=false", "--random-fully")) == {"random-fully": True}


def test_unknown_flag_is_not_defined() -> None:
    assert error("--v=2", "--to-ports=1024-2000") == (
        UNDEFINED,
        "flag provided but not defined: -to-ports",
        1,
    )


def test_flag_names_are_case_sensitive() -> None:
    assert error("-MASQ-CHAIN=A")[1] == "flag provided but not defined: -MASQ-CHAIN"


@pytest.mark.parametrize("text", ["-h", "-help", "--help", "--h", "-help=1"])
def test_undefined_h_and_help_ask_for_the_usage(text: str) -> None:
    assert error(text) == (HELP, "flag: help requested", 0)


@pytest.mark.parametrize("text", ["---masq-chain=A", "-=x", "--=x"])
def test_names_starting_with_dash_or_equals_are_bad_syntax(text: str) -> None:
    assert error(text) == (SYNTAX, f"bad flag syntax: {text}", 0)


def test_a_non_bool_flag_at_the_end_needs_an_argument() -> None:
    assert error("--v=2", "--masq-chain") == (
        MISSING_VALUE,
        "flag needs an argument: -masq-chain",
        1,
    )


def test_parsing_stops_at_the_first_error() -> None:
    result = parse("--masq-chain=A", "--unknown", "--enable-ipv6")
    assert values(result) == {"masq-chain": "A"}
    assert result.error is not None and result.error.argument == Argument("--unknown", 1)


def test_bad_int_value_points_at_the_separate_value() -> None:
    assert error("--resync-interval", "30s") == (
        BAD_VALUE,
        'invalid value "30s" for flag -resync-interval: parse error',
        1,
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("60", 60),
        ("0x3c", 60),
        ("060", 48),
        ("0o17", 15),
        ("0b11", 3),
        ("1_000", 1000),
        ("0x_1f", 31),
        ("0_7", 7),
        ("+5", 5),
        ("-5", -5),
        ("-0o17", -15),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_int_flags_read_as_strconv_parseint_with_base_0(text: str, value: int) -> None:
    assert values(parse(f"--resync-interval={text}")) == {"resync-interval": value}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("30s", "parse error"),
        ("", "parse error"),
        ("08", "parse error"),
        ("0b", "parse error"),
        ("_10", "parse error"),
        ("10_", "parse error"),
        ("\u0661", "parse error"),
        ("9223372036854775808", "value out of range"),
        ("-9223372036854775809", "value out of range"),
        ("99999999999999999999x", "value out of range"),
    ],
)
def test_int_flag_errors_are_gos(text: str, reason: str) -> None:
    assert error(f"--resync-interval={text}")[1] == (
        f"invalid value {go_quote(text)} for flag -resync-interval: {reason}"
    )


def test_uint_flags_refuse_signs_and_take_base_prefixes() -> None:
    assert values(parse("--log_file_max_size=0x10")) == {"log_file_max_size": 16}
    assert values(parse("--log_file_max_size=18446744073709551615")) == {
        "log_file_max_size": 2**64 - 1
    }
    assert error("--log_file_max_size=-1")[1] == (
        'invalid value "-1" for flag -log_file_max_size: parse error'
    )
    assert error("--log_file_max_size=18446744073709551616")[1] == (
        'invalid value "18446744073709551616" for flag -log_file_max_size: value out of range'
    )


def test_value_flags_take_any_text() -> None:
    assert values(parse("--v", "abc")) == {"v": "abc"}


def level(kind: str, text: str) -> FlagParse[int]:
    return parse_flags([Argument(f"--v={text}", 0)], {"v": kind})


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("klog-level", "2", 2),
        ("klog-level", "+3", 3),
        ("klog-level", "-1", -1),
        ("klog-level", "007", 7),
        ("klog-level", "2147483647", 2**31 - 1),
        ("glog-level", "2", 2),
        ("glog-level", "-1", -1),
        # strconv.Atoi is 64-bit; glog keeps int32(v)
        ("glog-level", "2147483648", -(2**31)),
        ("glog-level", "-2147483649", 2**31 - 1),
        ("glog-level", "4294967298", 2),
    ],
)
def test_logging_levels_are_read_as_klog_and_glog_set_them(
    kind: str, text: str, value: int
) -> None:
    assert values(level(kind, text)) == {"v": value}


@pytest.mark.parametrize(
    ("kind", "text", "reason"),
    [
        ("klog-level", "two", 'strconv.ParseInt: parsing "two": invalid syntax'),
        ("klog-level", "", 'strconv.ParseInt: parsing "": invalid syntax'),
        ("klog-level", "0x2", 'strconv.ParseInt: parsing "0x2": invalid syntax'),
        ("klog-level", "1_0", 'strconv.ParseInt: parsing "1_0": invalid syntax'),
        ("klog-level", " 2", 'strconv.ParseInt: parsing " 2": invalid syntax'),
        ("klog-level", "-", 'strconv.ParseInt: parsing "-": invalid syntax'),
        ("klog-level", "\u0663", 'strconv.ParseInt: parsing "\u0663": invalid syntax'),
        ("klog-level", "2147483648", 'strconv.ParseInt: parsing "2147483648": value out of range'),
        (
            "klog-level",
            "-2147483649",
            'strconv.ParseInt: parsing "-2147483649": value out of range',
        ),
        ("glog-level", "two", 'strconv.Atoi: parsing "two": invalid syntax'),
        ("glog-level", "+", 'strconv.Atoi: parsing "+": invalid syntax'),
        (
            "glog-level",
            "99999999999999999999",
            'strconv.Atoi: parsing "99999999999999999999": value out of range',
        ),
    ],
)
def test_logging_level_errors_are_strconvs_own_text(kind: str, text: str, reason: str) -> None:
    result = level(kind, text)
    assert result.error is not None
    assert result.error.message == f"invalid value {go_quote(text)} for flag -v: {reason}"


def test_a_value_only_the_node_knows_is_taken_and_parsing_goes_on() -> None:
    arguments = [Argument(text, index) for index, text in enumerate(["--v=$(LEVEL)", "--a"])]
    result = parse_flags(arguments, {"v": "klog-level", "a": "bool"}, lambda a: a.where == 0)
    assert (values(result), result.error) == ({"v": None, "a": True}, None)


def test_bare_bool_records_true_as_the_text_set_received() -> None:
    assert parse("--enable-ipv6").flags["enable-ipv6"].text == "true"


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("\t\n\x01\x7f", '"\\t\\n\\x01\\x7f"'),
        ("é\u200b", '"é\\u200b"'),
        ("\U0001f600", '"\U0001f600"'),
    ],
)
def test_go_quote_is_strconv_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted
