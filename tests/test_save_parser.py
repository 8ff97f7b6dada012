"""iptables-save text → SaveFile, and the canonical form rules are compared on."""

from __future__ import annotations

from pathlib import Path

import pytest

from masqctl.netfilter.save_parser import (
    SaveParseError,
    canonical_args,
    parse_save,
    quote_arg,
    read_dump,
    rule_line,
    save_quote,
    saved_line,
    split_args,
)

SAVES = Path(__file__).parent / "data" / "saves"


def canonical(line: str) -> tuple[str, ...]:
    return canonical_args(split_args(line))


def test_real_nft_dump_parses_into_tables_chains_and_rules() -> None:
    save = parse_save((SAVES / "nft-agent-to-ports.txt").read_text(), "dump.txt")
    nat = save.tables["nat"]
    assert list(nat.chains) == ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "IP-MASQ-AGENT"]
    assert nat.chains["POSTROUTING"].policy == "ACCEPT"
    assert nat.chains["IP-MASQ-AGENT"].policy is None
    first = nat.chains["IP-MASQ-AGENT"].rules[0]
    assert (first.chain, first.line) == ("IP-MASQ-AGENT", 9)
    assert first.args == (
        "-d",
        "169.254.0.0/16",
        "-m",
        "comment",
        "--comment",
        "ip-masq-agent: local traffic is not subject to MASQUERADE",
        "-j",
        "RETURN",
    )


def test_quotes_are_removed_and_escapes_resolved_as_iptables_restore_reads_them() -> None:
    assert split_args('-m comment --comment "a \\"q\\" b\\\\c" -j X') == [
        "-m",
        "comment",
        "--comment",
        'a "q" b\\c',
        "-j",
        "X",
    ]
    assert split_args('--comment "" -j X') == ["--comment", "", "-j", "X"]
    assert split_args('a"b c"') == ["ab c"]


def test_jump_comment_wrapped_in_literal_quotes_keeps_its_quotes() -> None:
    save = parse_save((SAVES / "legacy-agent-2017-format.txt").read_text())
    jump = save.tables["nat"].chains["POSTROUTING"].rules[0]
    assert jump.args[3].startswith('"ip-masq-agent: ensure') and jump.args[3].endswith('chain"')


@pytest.mark.parametrize("word", ["plain", "two words", 'say "hi"', "back\\slash", "", "!"])
def test_quote_arg_reads_back_as_the_same_argument(word: str) -> None:
    assert split_args(f"-x {quote_arg(word)} -y") == ["-x", word, "-y"]


def test_canonical_form_puts_basic_matches_first_in_fixed_order() -> None:
    assert canonical(
        "-m comment --comment c -p tcp -o eth0 ! -d 10.0.0.1/8 -s 192.0.2.8 -j ACCEPT"
    ) == (
        "-s",
        "192.0.2.8/32",
        "!",
        "-d",
        "10.0.0.0/8",
        "-o",
        "eth0",
        "-p",
        "tcp",
        "-m",
        "comment",
        "--comment",
        "c",
        "-j",
        "ACCEPT",
    )


def test_long_option_names_read_as_short_ones() -> None:
    assert canonical("--destination 10.0.0.0/8 --protocol udp --jump RETURN") == canonical(
        "-d 10.0.0.0/8 -p udp -j RETURN"
    )


def test_implicit_tcp_match_is_dropped() -> None:
    assert canonical("-p tcp -m tcp --dport 80 -j ACCEPT") == canonical(
        "-p tcp --dport 80 -j ACCEPT"
    )
    assert canonical("-p tcp --dport 80 -j ACCEPT") == (
        "-p",
        "tcp",
        "--dport",
        "80",
        "-j",
        "ACCEPT",
    )


def test_ipv6_addresses_are_lowercase_and_compressed() -> None:
    assert canonical("-d FC00:0:0::/7 -j RETURN")[:2] == ("-d", "fc00::/7")
    # iptables-save prints ::1:0/112 as ::0.1.0.0/112
    assert canonical("-d ::0.1.0.0/112 -j RETURN") == canonical("-d ::1:0/112 -j RETURN")


def test_statistic_probability_compares_as_the_kernel_stores_it() -> None:
    saved = canonical("-m statistic --mode random --probability 0.46929256292 -j MASQUERADE")
    rendered = canonical("-m statistic --mode random --probability 0.469292562840114 -j MASQUERADE")
    assert saved == rendered
    assert saved[5] == "1007798105"


def test_target_options_are_ordered_to_ports_random_random_fully() -> None:
    rendered = canonical(
        "-m comment --comment c -j MASQUERADE --random-fully -p tcp --to-ports 1024-29999"
    )
    assert rendered == (
        "-p",
        "tcp",
        "-m",
        "comment",
        "--comment",
        "c",
        "-j",
        "MASQUERADE",
        "--to-ports",
        "1024-29999",
        "--random-fully",
    )


def test_negated_match_option_keeps_its_bang_before_the_option() -> None:
    assert canonical("-m addrtype ! --dst-type LOCAL -j X") == (
        "-m",
        "addrtype",
        "!",
        "--dst-type",
        "LOCAL",
        "-j",
        "X",
    )


def test_comments_are_compared_cut_at_255_bytes_as_iptables_keeps_them() -> None:
    long = "é" * 200  # 400 bytes; the kernel keeps 255, half of the 128th "é" with them
    assert canonical(f'-m comment --comment "{long}" -j X')[3] == "é" * 127 + "\udcc3"


def test_a_comment_that_is_not_utf8_is_compared_as_its_bytes() -> None:
    line = b'-A X -m comment --comment "caf\xe9" -j RETURN'.decode("utf-8", "surrogateescape")
    assert canonical(line)[5] == "caf\udce9"


@pytest.mark.parametrize("value", ["1e400", "inf", "nan"])
def test_a_probability_that_is_no_number_is_an_error_naming_it(value: str) -> None:
    with pytest.raises(ValueError, match=f"^--probability '{value}' is not a number"):
        canonical(f"-m statistic --mode random --probability {value} -j X")


def test_lazy_parse_leaves_a_rule_with_unpaired_quotes_unread_until_used() -> None:
    text = '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j q"x\n-A POSTROUTING -j Y\nCOMMIT\n'
    rules = parse_save(text, "dump", lazy=True).tables["nat"].chains["POSTROUTING"].rules
    assert [(rule.position, rule.jumps_to("Y")) for rule in rules] == [(1, False), (2, True)]
    with pytest.raises(SaveParseError, match=r"^dump:3: unterminated quote$"):
        rules[0].canonical  # noqa: B018


def test_rendered_payload_and_its_save_read_the_same() -> None:
    save = parse_save((SAVES / "nft-agent-to-ports.txt").read_text())
    payload = "\n".join(
        [
            "*nat",
            ":IP-MASQ-AGENT - [0:0]",
            '-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: outbound traffic is subject to '
            'MASQUERADE (must be last in chain)" -j MASQUERADE --random-fully -p tcp -m statistic '
            "--mode random --probability 0.469292562840114 --to-ports 1024-29999",
            "COMMIT",
            "",
        ]
    )
    rendered = parse_save(payload).tables["nat"].chains["IP-MASQ-AGENT"].rules[0]
    assert rendered.canonical == save.tables["nat"].chains["IP-MASQ-AGENT"].rules[4].canonical


def test_counters_and_comment_lines_are_ignored() -> None:
    save = parse_save(
        "# hi\n*nat\n:POSTROUTING ACCEPT [5:300]\n[3:180] -A POSTROUTING -j X\nCOMMIT\n"
    )
    assert save.tables["nat"].chains["POSTROUTING"].rules[0].args == ("-j", "X")


def test_incompatible_table_is_an_error_naming_the_line() -> None:
    with pytest.raises(
        SaveParseError,
        match=r"^dump:1: iptables cannot read this table "
        r"\(Table `nat' is incompatible, use 'nft' tool.\)$",
    ):
        parse_save((SAVES / "nft-incompatible-nat.txt").read_text(), "dump")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-A X -j Y\n", "dump:1: '-A' outside a table (expected '*nat' first)"),
        ("*nat\n-A X -j Y\nCOMMIT\n", "dump:2: rule for chain 'X', which is not declared"),
        ('*nat\n:X - [0:0]\n-A X --comment "open\nCOMMIT\n', "dump:3: unterminated quote"),
        ("*nat\n:X - [0:0]\n", "dump: table 'nat' has no COMMIT"),
        ("*nat\nCOMMIT\n*nat\nCOMMIT\n", "dump:3: table 'nat' appears twice (one family per dump)"),
        (
            "*nat\n:X - [0:0]\n-I X 1 -j Y\nCOMMIT\n",
            "dump:3: expected '-A CHAIN ...', found '-I X 1 -j Y'",
        ),
    ],
)
def test_malformed_dumps_fail_with_file_and_line(text: str, message: str) -> None:
    with pytest.raises(SaveParseError) as caught:
        parse_save(text, "dump")
    assert str(caught.value) == message


def test_an_address_matching_everything_reads_as_none_as_iptables_save_leaves_it_out() -> None:
    assert canonical("-d 0.0.0.0/0 -m comment --comment c -j RETURN") == canonical(
        "-m comment --comment c -j RETURN"
    )
    assert canonical("-s ::/0 -d 10.0.0.0/0 -j RETURN") == ("-j", "RETURN")
    assert canonical("! -d 0.0.0.0/0 -j RETURN") == ("!", "-d", "0.0.0.0/0", "-j", "RETURN")
    save = parse_save("*nat\n:X - [0:0]\n-A X -d 0.0.0.0/0 -j RETURN\nCOMMIT\n", lazy=True)
    assert save.tables["nat"].chains["X"].rules[0].canonical == ("-j", "RETURN")


#: Dumps of a table iptables cannot read (made with nft): no parse reads them.
UNREADABLE = {"nft-incompatible-nat.txt"}


@pytest.mark.parametrize("lazy", [False, True])
def test_a_table_iptables_cannot_read_fails_eager_and_lazy_parse(lazy: bool) -> None:
    text = (SAVES / "nft-incompatible-nat.txt").read_text()
    with pytest.raises(SaveParseError, match=r"^dump:1: iptables cannot read this table \("):
        parse_save(text, "dump", lazy=lazy)


@pytest.mark.parametrize(
    "name", sorted(path.name for path in SAVES.glob("*.txt") if path.name not in UNREADABLE)
)
def test_lazy_parse_reads_every_rule_as_the_eager_one(name: str) -> None:
    text = (SAVES / name).read_text()
    eager = parse_save(text)
    lazy = parse_save(text, lazy=True)
    assert list(lazy.tables) == list(eager.tables)
    for table in eager.tables.values():
        for chain in table.chains.values():
            read = lazy.tables[table.name].chains[chain.name].rules
            assert [(rule.line, rule.text, rule.args, rule.canonical) for rule in read] == [
                (rule.line, rule.text, rule.args, rule.canonical) for rule in chain.rules
            ]


def test_lazy_parse_names_the_line_of_an_unreadable_rule_when_it_is_used() -> None:
    save = parse_save("*nat\n:X - [0:0]\n-A X -j\nCOMMIT\n", "dump", lazy=True)
    rule = save.tables["nat"].chains["X"].rules[0]
    with pytest.raises(SaveParseError, match=r"^dump:3: -j needs a name$"):
        rule.canonical  # noqa: B018


def test_saved_line_is_the_line_iptables_save_prints_for_the_canonical_form() -> None:
    save = parse_save((SAVES / "nft-agent-to-ports.txt").read_text())
    nat = save.tables["nat"]
    for rule in nat.chains["IP-MASQ-AGENT"].rules + nat.chains["POSTROUTING"].rules:
        printed = saved_line(rule.chain, rule.canonical)
        # a probability is canonical as the kernel's integer, printed as a fraction
        assert printed == (None if "--probability" in rule.args else rule.text)


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("-A POSTROUTING -j IP-MASQ-AGENT", True),
        ('-A POSTROUTING -j "IP-MASQ-AGENT"', True),
        ('-A POSTROUTING -j IP-"MASQ-AGENT"', True),
        ("-A POSTROUTING -g IP-MASQ-AGENT", True),
        ('-A POSTROUTING -m comment --comment "to IP-MASQ-AGENT" -j ACCEPT', False),
        ("-A POSTROUTING -j IP-MASQ-AGENT-2", False),
    ],
)
def test_jumps_to_reads_the_target_however_quoted(text: str, target: bool) -> None:
    save = parse_save(f"*nat\n:POSTROUTING ACCEPT [0:0]\n{text}\nCOMMIT\n", lazy=True)
    assert save.tables["nat"].chains["POSTROUTING"].rules[0].jumps_to("IP-MASQ-AGENT") is target


def test_save_quote_quotes_as_iptables_save_does() -> None:
    assert [save_quote(word) for word in ["plain-1_x", "two words", "", "a\"b\\c'd"]] == [
        "plain-1_x",
        '"two words"',
        '""',
        '"a\\"b\\\\c\\\'d"',
    ]


def test_rule_line_quotes_each_word_so_restore_reads_it_back() -> None:
    words = ("-d", "10.0.0.0/8", "-m", "comment", "--comment", 'say "hi" \\ there', "-j", "")
    line = rule_line("-D", "X", words)
    assert line == '-D X -d 10.0.0.0/8 -m comment --comment "say \\"hi\\" \\\\ there" -j ""'
    assert split_args(line) == ["-D", "X", *words]


def test_chains_of_a_table_and_of_a_missing_one() -> None:
    save = parse_save("*nat\n:X - [0:0]\nCOMMIT\n")
    assert list(save.chains("nat")) == ["X"]
    assert save.chains("filter") == {}


def test_read_dump_keeps_bytes_that_are_not_utf8_and_reads_stdin(tmp_path, monkeypatch) -> None:
    import io
    import sys

    data = b'-A X -m comment --comment "caf\xe9" -j RETURN\n'
    path = tmp_path / "dump.txt"
    path.write_bytes(data)
    assert read_dump(str(path)).encode("utf-8", "surrogateescape") == data
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert read_dump("-").encode("utf-8", "surrogateescape") == data


def test_read_dump_of_a_missing_file_is_one_line(tmp_path) -> None:
    from masqctl.errors import InputError

    with pytest.raises(InputError) as caught:
        read_dump(str(tmp_path / "none.txt"))
    assert str(caught.value) == f"{tmp_path / 'none.txt'}: cannot read: No such file or directory"


@pytest.mark.netfilter
@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_a_long_comment_reads_back_from_iptables_save_in_its_canonical_form(backend: str) -> None:
    import subprocess

    from tests.netns import namespace, require_netfilter, tool

    require_netfilter()
    args = ["-m", "comment", "--comment", "é" * 200, "-j", "RETURN"]
    with namespace("mqsave") as ns:
        ns.run([tool(backend), "-t", "nat", "-A", "POSTROUTING", *args])
        saved = subprocess.run(
            ns.exec_args([tool(backend, "save"), "-t", "nat"]),
            capture_output=True,
            env=ns.env,
            timeout=30,
            check=True,
        ).stdout.decode("utf-8", "surrogateescape")
    (rule,) = parse_save(saved).tables["nat"].chains["POSTROUTING"].rules
    assert rule.canonical == canonical_args(args)
