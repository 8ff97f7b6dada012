"""diff --from / explain --from read what operators paste: -S, -L listings, excerpts.

The inputs are real iptables 1.8.9 output captured in a namespace
(tests/data/pastes/capture.py; README there), the listings of the Kubernetes
documentation's ip-masq-agent page, and those outputs as people paste them: after the
shell prompt line of the command, grepped, flattened onto one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from masqctl.entry import main
from masqctl.netfilter.paste import read_paste
from masqctl.netfilter.save_parser import SaveFile, SaveParseError, parse_save

PASTES = Path(__file__).parent / "data" / "pastes"
CIDRS_CONFIG = "nonMasqueradeCIDRs: [10.0.0.0/8, 192.168.0.0/16]\n"
SAVED = (PASTES / "nft-save.txt").read_text()


def text_of(name: str) -> str:
    return (PASTES / name).read_text()


def rules_by_chain(save: SaveFile) -> dict[str, list[tuple[str, ...]]]:
    return {
        name: [rule.canonical for rule in chain.rules] for name, chain in save.chains("nat").items()
    }


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, paste: str, *args: str):  # type: ignore[no-untyped-def]
    dump = tmp_path / "paste.txt"
    dump.write_text(paste)
    config = tmp_path / "config.yaml"
    config.write_text(CIDRS_CONFIG)
    code = main(
        [args[0], "--from", str(dump), *args[1:]]
        + (["-c", str(config)] if args[0] == "diff" else [])
    )
    out, err = capsys.readouterr()
    return code, out.replace(str(dump), "paste.txt"), err.replace(str(dump), "paste.txt")


@pytest.mark.parametrize("name", ["nft-S.txt", "nft-L.txt", "nft-L-n.txt", "nft-L-n-v.txt"])
def test_each_form_of_a_table_reads_as_the_rules_its_dump_holds(name: str) -> None:
    assert rules_by_chain(read_paste(text_of(name)).save) == rules_by_chain(parse_save(SAVED))


@pytest.mark.parametrize(
    "name", ["nft-L-chain.txt", "nft-L-chain-v.txt", "nft-L-chain-n-v-line-numbers.txt"]
)
def test_a_listing_of_one_chain_reads_as_that_chain_of_the_dump(name: str) -> None:
    chain = rules_by_chain(read_paste(text_of(name)).save)
    assert chain == {"IP-MASQ-AGENT": rules_by_chain(parse_save(SAVED))["IP-MASQ-AGENT"]}


def test_an_ipv6_listing_reads_as_the_rules_of_its_S_output() -> None:
    listed = read_paste(text_of("nft6-L-n-v.txt")).save
    assert rules_by_chain(listed) == rules_by_chain(read_paste(text_of("nft6-S.txt")).save)


def test_a_whole_dump_is_read_by_the_dump_parser_and_stands_for_the_whole_table() -> None:
    paste = read_paste(SAVED, "nat.txt")
    assert (paste.form, paste.shown, paste.hidden) == ("iptables-save", None, [])
    assert rules_by_chain(paste.save) == rules_by_chain(parse_save(SAVED))


@pytest.mark.parametrize(
    ("prompt", "name", "form"),
    [
        ("$ sudo iptables-save -t nat", "nft-save.txt", "iptables-save -t nat"),
        ("root@node:~# iptables -t nat -S", "nft-S.txt", "iptables -t nat -S"),
        ("[root@node ~]# iptables -t nat -nvL", "nft-L-n-v.txt", "iptables -t nat -nvL"),
        ("node$ sudo -E iptables-nft -t nat -L", "nft-L.txt", "iptables-nft -t nat -L"),
    ],
)
def test_a_prompt_line_before_the_output_is_read_as_the_command(
    prompt: str, name: str, form: str
) -> None:
    paste = read_paste(f"{prompt}\n{text_of(name)}")
    assert (paste.form, paste.shown) == (form, None)
    assert rules_by_chain(paste.save) == rules_by_chain(parse_save(SAVED))


def test_outputs_of_several_commands_in_one_paste_add_up(capsys, tmp_path) -> None:
    paste = (
        "$ sudo iptables -t nat -S POSTROUTING\n"
        + text_of("nft-S-POSTROUTING.txt")
        + "$ sudo iptables -t nat -L IP-MASQ-AGENT -n -v\n"
        + text_of("nft-L-chain-v.txt")
    )
    assert read_paste(paste).shown == {"POSTROUTING", "IP-MASQ-AGENT"}
    assert run(capsys, tmp_path, paste, "diff") == (
        0,
        "ipv4: IP-MASQ-AGENT in sync (4 rules, jump present)\n",
        "",
    )


def test_a_dump_flattened_onto_one_line_reads_as_the_dump() -> None:
    paste = read_paste(" ".join(SAVED.splitlines()))
    assert paste.form == "a flattened iptables-save"
    assert rules_by_chain(paste.save) == rules_by_chain(parse_save(SAVED))


def test_a_grep_excerpt_shows_only_the_lines_with_its_pattern() -> None:
    paste = read_paste("$ iptables-save | grep IP-MASQ\n" + text_of("nft-save-grep-IP-MASQ.txt"))
    assert paste.filtered == {"POSTROUTING": ("IP-MASQ", False)}
    assert paste.lacks("IP-MASQ-AGENT") is None
    assert (
        paste.lacks("POSTROUTING")
        == "<dump> shows only the lines with 'IP-MASQ' of chain POSTROUTING"
    )
    assert paste.shows_rules_naming("POSTROUTING", "IP-MASQ-AGENT")


def test_diff_of_a_full_dump_and_of_every_complete_form_is_in_sync(capsys, tmp_path) -> None:
    for name in ("nft-save.txt", "nft-S.txt", "nft-L-n-v.txt", "nft-save-grep-IP-MASQ.txt"):
        assert run(capsys, tmp_path, text_of(name), "diff") == (
            0,
            "ipv4: IP-MASQ-AGENT in sync (4 rules, jump present)\n",
            "",
        ), name


def test_diff_of_the_chain_alone_compares_it_and_says_the_jump_was_not_checked(
    capsys, tmp_path
) -> None:
    assert run(capsys, tmp_path, text_of("nft-S-chain.txt"), "diff") == (
        2,
        "ipv4: IP-MASQ-AGENT no drift in what paste.txt shows; 1 not checked\n"
        "  could not check the POSTROUTING jump to IP-MASQ-AGENT: paste.txt does not show "
        "chain POSTROUTING\n",
        "",
    )


def test_diff_of_bare_rule_lines_finds_the_drift_they_show(capsys, tmp_path) -> None:
    lines = [line for line in text_of("nft-S-chain.txt").splitlines() if "10.0.0.0/8" not in line]
    code, out, _ = run(capsys, tmp_path, "\n".join(lines[1:]) + "\n", "diff")
    assert code == 1
    assert out.splitlines()[:3] == [
        "ipv4: IP-MASQ-AGENT drifted (1 findings)",
        '  rule 2 missing: -A IP-MASQ-AGENT -d 10.0.0.0/8 -m comment --comment "ip-masq-agent: '
        'local traffic is not subject to MASQUERADE" -j RETURN',
        "  could not check the POSTROUTING jump to IP-MASQ-AGENT: paste.txt does not show "
        "chain POSTROUTING",
    ]


def test_diff_of_a_listing_without_v_says_it_hides_interfaces(capsys, tmp_path) -> None:
    assert run(capsys, tmp_path, text_of("nft-L-n.txt"), "diff") == (
        2,
        "ipv4: IP-MASQ-AGENT no drift in what paste.txt shows; 1 not checked\n"
        "  could not check interfaces (-i, -o): iptables -L shows them only with -v\n",
        "",
    )


def test_diff_of_a_listing_with_names_says_which_name_it_cannot_read(capsys, tmp_path) -> None:
    code, out, _ = run(capsys, tmp_path, text_of("nft-L-chain-resolver-down.txt"), "diff")
    assert (code, out.splitlines()[1]) == (
        2,
        "  could not check chain IP-MASQ-AGENT: paste.txt:3 shows the name 'link-local/16' "
        "where iptables -L -n shows an address",
    )


def test_the_kubernetes_docs_listing_of_the_2017_agent_is_read_as_the_old_format(
    capsys, tmp_path
) -> None:
    code, out, _ = run(capsys, tmp_path, text_of("k8s-docs-default-rules.txt"), "diff")
    found = [line[2:] for line in out.splitlines() if line.startswith("  ")]
    assert code == 1
    assert found[0] == "chain IP-MASQ-AGENT is in the old (2017) agent format"
    assert found[-2:] == [
        "could not check the POSTROUTING jump to IP-MASQ-AGENT: paste.txt does not show "
        "chain POSTROUTING",
        "could not check interfaces (-i, -o): iptables -L shows them only with -v",
    ]


def test_the_kubernetes_docs_listing_with_a_cut_off_line_says_so(capsys, tmp_path) -> None:
    assert run(capsys, tmp_path, text_of("k8s-docs-after-config.txt"), "diff") == (
        2,
        "ipv4: IP-MASQ-AGENT no drift in what paste.txt shows; 2 not checked\n"
        "  could not check chain IP-MASQ-AGENT: paste.txt:5 shows '/* ip-masq-agent: "
        "cluster-local', which masqctl cannot read back\n"
        "  could not check the POSTROUTING jump to IP-MASQ-AGENT: paste.txt does not show "
        "chain POSTROUTING\n",
        "",
    )


def test_explain_of_a_listing_walks_it_and_notes_the_hidden_interfaces(capsys, tmp_path) -> None:
    code, out, _ = run(capsys, tmp_path, text_of("nft-L.txt"), "explain", "8.8.8.8")
    assert code == 0
    assert out.splitlines()[0] == (
        "8.8.8.8: masquerade: rule 4 of IP-MASQ-AGENT: MASQUERADE rewrites the source address"
    )
    assert (
        "  note: interfaces (-i, -o): iptables -L shows them only with -v: a rule that matches "
        "only some interfaces looks like one that matches all"
    ) in out.splitlines()


def test_explain_names_the_chains_the_paste_leaves_out(capsys, tmp_path) -> None:
    paste = "$ iptables -t nat -S POSTROUTING\n" + text_of("nft-S-POSTROUTING.txt")
    code, out, _ = run(capsys, tmp_path, paste, "explain", "8.8.8.8")
    assert (code, out.splitlines()[0]) == (
        0,
        "8.8.8.8: undetermined: rule 1 of POSTROUTING: cannot tell what target "
        "KUBE-POSTROUTING does to the packet",
    )
    assert out.splitlines()[2:4] == [
        "  note: paste.txt does not show chain KUBE-POSTROUTING, which chain POSTROUTING "
        "(line 3) jumps to",
        "  note: paste.txt does not show chain IP-MASQ-AGENT, which chain POSTROUTING "
        "(line 4) jumps to",
    ]


def test_explain_judges_a_listed_match_it_cannot_read_neither_way(capsys, tmp_path) -> None:
    code, out, _ = run(capsys, tmp_path, text_of("nft-L-n-v-ctstate.txt"), "explain", "8.8.8.8")
    lines = out.splitlines()
    assert (code, lines[0]) == (
        0,
        "8.8.8.8: undetermined: depends on what masqctl cannot judge: -m listing --shows "
        "ctstate DNAT",
    )
    assert (
        "  note: paste.txt:12 shows 'ctstate DNAT', which masqctl cannot read back: explain "
        "judges that rule neither way"
    ) in lines


def test_diff_is_not_held_up_by_a_rule_it_does_not_compare(capsys, tmp_path) -> None:
    # the ACCEPT of DNATed packets ahead of the jump decides first: a note, not drift
    assert run(capsys, tmp_path, text_of("nft-L-n-v-ctstate.txt"), "diff")[:2] == (
        0,
        "ipv4: IP-MASQ-AGENT in sync (4 rules, jump present)\n"
        "  a POSTROUTING rule (line 12) is ahead of the jump to IP-MASQ-AGENT and may decide "
        'for the packet first (not drift): -A POSTROUTING -m listing --shows "ctstate DNAT" '
        "-j ACCEPT\n",
    )


def test_explain_of_a_paste_without_postrouting_says_what_it_needs(capsys, tmp_path) -> None:
    assert run(capsys, tmp_path, text_of("nft-S-chain.txt"), "explain", "8.8.8.8") == (
        2,
        "",
        "masqctl: paste.txt does not show chain POSTROUTING, where explain starts (paste "
        "iptables-save -t nat, iptables -t nat -S or iptables -t nat -L -n -v)\n",
    )


@pytest.mark.parametrize(
    ("paste", "message"),
    [
        (
            "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n",
            "x.txt:2: chain FORWARD is not in the nat table (paste iptables -t nat -S)",
        ),
        (
            "$ iptables -S\n-P FORWARD DROP\n",
            "x.txt:2: chain FORWARD is not in the nat table (paste iptables -t nat -S)",
        ),
        (
            "$ iptables -t filter -L -n\nChain INPUT (policy ACCEPT)\n",
            "x.txt:2: the paste shows the filter table (iptables -t filter -L -n); masqctl "
            "reads the nat table",
        ),
        (
            "target     prot opt source               destination\n"
            "RETURN     all  --  anywhere             10.0.0.0/8\n",
            "x.txt:2: a rule before any 'Chain NAME' line: which chain the listing shows is "
            "not in the paste",
        ),
        ("hello there\n", "x.txt:1: cannot read this line as iptables output: 'hello there'"),
    ],
)
def test_a_paste_that_is_not_the_nat_table_is_one_line_naming_where(
    paste: str, message: str
) -> None:
    with pytest.raises(SaveParseError) as raised:
        read_paste(paste, "x.txt")
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("where", "ahead"),
    [("after", []), ("before", ["a POSTROUTING rule (line 9) is ahead of the jump"])],
)
def test_a_rule_of_an_s_paste_is_ahead_of_the_jump_only_when_listed_before_it(
    capsys, tmp_path, where: str, ahead: list[str]
) -> None:
    # rules read from a paste keep their order: the Docker rule after the jump is not ahead
    paste = text_of("nft-S.txt")
    jump = next(line for line in paste.splitlines() if line.endswith("-j IP-MASQ-AGENT"))
    docker = "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"
    later = "-A POSTROUTING -j RETURN"
    placed = f"{jump}\n{docker}\n{later}" if where == "after" else f"{docker}\n{jump}"
    code, out, _ = run(capsys, tmp_path, paste.replace(jump, placed), "diff", "--random-fully")
    noted = [line[2:50] for line in out.splitlines() if "ahead of the jump" in line]
    assert (code, noted) == (0, ahead)
