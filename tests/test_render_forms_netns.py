"""render --format save / list against what real iptables prints, byte for byte.

In a namespace of its own, each case restores the agent's payload with the real
iptables-restore (nft and legacy, IPv4 and IPv6), adds the POSTROUTING jump as the agent
does (``iptables -t nat -A POSTROUTING ...``), and compares iptables-save -t nat (the
chain's declaration, the jump and the chain's rules) and iptables -t nat -L CHAIN, -L -n,
-L -v and -L -n -v with masqctl's forms.  The namespace's resolver reads its own
/etc/hosts only (nsswitch ``hosts: files``): a node whose DNS knows no name for these
addresses, and no DNS query leaves the test.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from masqctl.agent import (
    OLD_MASQUERADE_COMMENT,
    OLD_RETURN_COMMENT,
    AgentFlags,
    jump_comment,
)
from masqctl.diff import Desired, diff_family
from masqctl.model import CIDREntry, MasqConfig, Origin
from masqctl.netfilter.hosts_file import read_hosts
from masqctl.netfilter.save_parser import parse_save
from masqctl.render.iptables import restore_payload
from masqctl.render.listing import Lister, listing_lines
from masqctl.render.save_form import save_lines
from masqctl.ruleset import (
    IPV6,
    RETURN,
    FamilyRules,
    build_ruleset,
    payload_misreadings,
    payload_problems,
)
from tests.netns import Namespace, namespace, require_netfilter, tool

BACKENDS = ("nft", "legacy")
FAMILIES = ("ipv4", "ipv6")
HOSTS = "127.0.0.1 localhost\n192.0.2.10 gateway.example gateway\n2001:db8::10 six.example\n"
ETC = {"nsswitch.conf": "hosts: files\nnetworks: files\n", "hosts": HOSTS}
CIDRS = (
    "10.0.0.0/8",
    "192.0.2.10/32",
    "198.51.100.0/24",
    "fd00:10::/64",
    "2001:db8::10/128",
    "::1.2.3.0/120",
)
#: The -L options compared, and the (numeric, verbose) they stand for.
LISTINGS = {(): (False, False), ("-n",): (True, False), ("-v",): (False, True)}
LISTINGS[("-n", "-v")] = (True, True)
#: Azure's ip-masq-agent-v2 writes its jump comment with the quote characters in it.
QUOTED_JUMP_COMMENT = f'"{jump_comment("IP-MASQ-AGENT")}"'
IPV6_FLAGS = ("--enable-ipv6", "--family", "ipv6")


def config_of(cidrs: tuple[str, ...]) -> MasqConfig:
    entries = tuple(
        CIDREntry(text, index, Origin("t.yaml", index + 1, 5, f"nonMasqueradeCIDRs[{index}]"))
        for index, text in enumerate(cidrs)
    )
    return MasqConfig(non_masquerade_cidrs=entries)


def agent_rules(family: str, flags: AgentFlags, cidrs: tuple[str, ...] = CIDRS) -> FamilyRules:
    flags = replace(flags, enable_ipv6=True)
    return build_ruleset(config_of(cidrs), flags).family(family)


def with_jump_comment(rules: FamilyRules, comment: str) -> FamilyRules:
    args = list(rules.jump.args)
    args[args.index("--comment") + 1] = comment
    return replace(rules, jump=replace(rules.jump, args=tuple(args)))


def _comment(text: str) -> tuple[str, ...]:
    return ("-m", "comment", "--comment", text)


def old_format_rules(family: str) -> FamilyRules:
    """The 2017 agent's chain (tests/data/saves/legacy-agent-2017-format.txt): its comments,
    ``-m addrtype ! --dst-type LOCAL`` on every rule, its jump comment in quotes."""
    current = agent_rules(family, AgentFlags(random_fully=False), ())
    local = ("-m", "addrtype", "!", "--dst-type", "LOCAL")
    rules = tuple(
        replace(
            rule,
            args=(*_comment(OLD_RETURN_COMMENT), *local, "-d", rule.cidr, "-j", "RETURN"),
        )
        if rule.kind == RETURN and rule.cidr
        else replace(
            rule,
            args=(*_comment(OLD_MASQUERADE_COMMENT), *local, "-j", "MASQUERADE"),
        )
        for rule in current.rules
    )
    return with_jump_comment(replace(current, rules=rules), QUOTED_JUMP_COMMENT)


def quoted_rules(family: str) -> FamilyRules:
    """Upstream's chain with Azure's quoted jump comment."""
    return with_jump_comment(agent_rules(family, AgentFlags()), QUOTED_JUMP_COMMENT)


VARIANTS = {
    "default": lambda family: agent_rules(family, AgentFlags()),
    "no-random-fully": lambda family: agent_rules(family, AgentFlags(random_fully=False)),
    "to-ports": lambda family: agent_rules(
        family, AgentFlags(to_ports="1024-29999,30000-31000,32768-65535")
    ),
    "to-ports-two": lambda family: agent_rules(
        family, AgentFlags(random_fully=False, to_ports="1024-29999,32768")
    ),
    "old-format": old_format_rules,
    "quoted-comments": quoted_rules,
}


def write_like_the_agent(ns: Namespace, backend: str, rules: FamilyRules) -> None:
    """One sync (restore --noflush), then the jump as the agent appends it."""
    ns.run([tool(backend, "restore", rules.family), "--noflush"], input=restore_payload(rules))
    ns.run([tool(backend, "", rules.family), "-t", "nat", "-A", "POSTROUTING", *rules.jump.args])


def agents_saved_lines(saved: str, chain: str) -> list[str]:
    """The lines of iptables-save -t nat that are the chain's and its jump's."""
    return [
        line
        for line in saved.splitlines()
        if line.startswith((f":{chain} ", f"-A {chain} "))
        or (line.startswith("-A POSTROUTING ") and line.endswith(f"-j {chain}"))
    ]


@pytest.mark.netfilter
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_save_and_list_forms_are_what_real_iptables_prints(
    backend: str, family: str, variant: str
) -> None:
    require_netfilter()
    rules = VARIANTS[variant](family)
    iptables = tool(backend, "", family)
    with namespace("mqforms", ETC) as ns:
        write_like_the_agent(ns, backend, rules)
        saved = ns.run([tool(backend, "save", family), "-t", "nat"]).stdout
        assert agents_saved_lines(saved, rules.chain) == save_lines(rules)
        hosts = read_hosts(f"/etc/netns/{ns.name}/hosts")
        for options, (numeric, verbose) in LISTINGS.items():
            listed = ns.run([iptables, "-t", "nat", "-L", rules.chain, *options]).stdout
            assert listed.splitlines() == listing_lines(rules, numeric, verbose, hosts), options
            postrouting = ns.run([iptables, "-t", "nat", "-L", "POSTROUTING", *options]).stdout
            jump = Lister(family, numeric, verbose, hosts).line(Desired(rules).jump)
            assert postrouting.splitlines()[2:] == [jump], options
    if variant in ("default", "no-random-fully", "to-ports", "to-ports-two"):
        rendered = "\n".join(["*nat", ":POSTROUTING ACCEPT [0:0]", *save_lines(rules), "COMMIT"])
        for text in (saved, rendered):
            assert diff_family(rules, parse_save(text), "save").in_sync


@pytest.mark.netfilter
def test_render_list_reads_the_hosts_file_of_the_machine_it_runs_on() -> None:
    require_netfilter()
    config = "nonMasqueradeCIDRs: [192.0.2.10/32, 2001:db8::10/128]\n"
    with namespace("mqforms", ETC) as ns:
        rules = agent_rules(IPV6, AgentFlags(), ("2001:db8::10/128",))
        write_like_the_agent(ns, "nft", rules)
        listed = ns.run(["ip6tables-nft", "-t", "nat", "-L", rules.chain]).stdout
        rendered = ns.run(
            [sys.executable, "-m", "masqctl", "render", "-c", "-", "--format", "list", *IPV6_FLAGS],
            input=config,
        ).stdout
    assert rendered == listed
    assert "six.example" in rendered


def test_a_listing_shows_a_comment_with_its_quotes_as_they_are() -> None:
    rules = with_jump_comment(agent_rules("ipv4", AgentFlags()), QUOTED_JUMP_COMMENT)
    line = Lister("ipv4", numeric=True).line(Desired(rules).jump)
    assert line == (
        "IP-MASQ-AGENT  0    --  0.0.0.0/0            0.0.0.0/0            "
        f"/* {QUOTED_JUMP_COMMENT} */ ADDRTYPE match dst-type !LOCAL"
    )
    assert save_lines(rules)[1] == (
        '-A POSTROUTING -m comment --comment "\\"ip-masq-agent: ensure nat POSTROUTING '
        'directs all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain\\"" '
        "-m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT"
    )


@pytest.mark.netfilter
def test_names_come_from_the_hosts_file_as_glibc_reads_it() -> None:
    require_netfilter()
    hosts = (
        "# glibc: the first line with the address names it; ::1 and IPv4-mapped lines\n"
        "::1 lo6name\n::ffff:192.0.2.7 mapped  # a comment\n127.0.0.1 later\nnot-an-address x\n"
    )
    rules = agent_rules("ipv4", AgentFlags(), ("192.0.2.7/32", "127.0.0.1/32"))
    with namespace("mqforms", {**ETC, "hosts": hosts}) as ns:
        write_like_the_agent(ns, "nft", rules)
        listed = ns.run(["iptables-nft", "-t", "nat", "-L", rules.chain]).stdout
        names = read_hosts(f"/etc/netns/{ns.name}/hosts")
    assert listed.splitlines() == listing_lines(rules, hosts=names)
    assert [line.split()[4] for line in listed.splitlines()[3:5]] == ["mapped", "lo6name"]


def test_a_hosts_file_that_cannot_be_read_names_nothing(tmp_path) -> None:
    assert read_hosts(str(tmp_path / "missing")) == {}


#: CIDRs the agent takes whose prefix lengths have a leading zero, and the network
#: iptables-save then shows (None: iptables-restore refuses the payload).
LEADING_ZERO = {
    "ipv4": {
        "10.0.0.0/010": "10.0.0.0/8",
        "10.1.0.0/016": "10.0.0.0/14",
        "10.0.0.0/07": "10.0.0.0/7",
        "10.0.0.0/08": None,
    },
    "ipv6": {"fd00::/064": "fd00::/52", "fd00::/0100": "fd00::/64", "fd00::/0128": None},
}


@pytest.mark.netfilter
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_leading_zero_prefix_length_is_octal_to_real_iptables(backend: str, family: str) -> None:
    require_netfilter()
    with namespace("mqoctal") as ns:
        for cidr, kernel in LEADING_ZERO[family].items():
            rules = agent_rules(family, AgentFlags(), (cidr,))
            restore = [tool(backend, "restore", family), "--noflush"]
            restored = ns.run(restore, input=restore_payload(rules), check=False)
            mask = cidr.rpartition("/")[2]
            if kernel is None:
                assert f"invalid mask `{mask}' specified" in restored.stderr, cidr
                assert payload_problems(rules) == [f"-d {cidr}: invalid mask `{mask}' specified"]
                continue
            assert restored.returncode == 0, restored.stderr
            saved = ns.run([tool(backend, "save", family), "-t", "nat"]).stdout
            assert f"-A {rules.chain} -d {kernel} -m comment" in saved, cidr
            assert payload_problems(rules) == []
            misread = f"{kernel}, not /{int(mask)}"
            assert payload_misreadings(rules) == (
                []
                if kernel.endswith(f"/{int(mask)}")
                else [f"-d {cidr}: its prefix length is octal to iptables: {misread}"]
            )
