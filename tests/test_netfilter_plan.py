"""apply's plans as pure functions of a dump: the exact transaction it would run."""

from __future__ import annotations

from pathlib import Path

import pytest

from masqctl.agent import AgentFlags
from masqctl.agent_setup import effective_ruleset
from masqctl.apply import plan_sync, remove_plan, undo_after
from masqctl.diff import FamilyDiff, diff_family, rendered_jump
from masqctl.netfilter.save_parser import parse_save
from masqctl.render.iptables import restore_payload
from masqctl.ruleset import FamilyRules

SAVES = Path(__file__).parent / "data" / "saves"
OLD = parse_save((SAVES / "legacy-agent-2017-format.txt").read_text())
DEFAULTS = effective_ruleset(None, AgentFlags()).family("ipv4")  # the agent's defaults
JUMP = DEFAULTS.jump.restore_line()


def sync_plan(result: FamilyDiff, rules: FamilyRules) -> tuple[list[str], str]:
    """plan_sync's steps and its whole payload."""
    steps, pieces = plan_sync(result, rules)
    return steps, "".join(pieces)


def test_old_format_is_replaced_in_one_transaction() -> None:
    steps, payload = sync_plan(diff_family(DEFAULTS, OLD, "old"), DEFAULTS)
    old_jump = next(
        line
        for line in (SAVES / "legacy-agent-2017-format.txt").read_text().splitlines()
        if line.startswith("-A POSTROUTING")
    )
    assert steps == [
        "flush and refill chain IP-MASQ-AGENT (5 rules)",
        "delete the old-format POSTROUTING jump (line 8)",
        "append the POSTROUTING jump to IP-MASQ-AGENT",
    ]
    assert payload == (
        restore_payload(DEFAULTS).removesuffix("COMMIT\n")
        + old_jump.replace("-A POSTROUTING", "-D POSTROUTING", 1)
        + "\n"
        + JUMP
        + "\nCOMMIT\n"
    )


def test_only_the_jump_is_written_when_only_the_jump_is_missing() -> None:
    text = restore_payload(DEFAULTS).replace("*nat\n", "*nat\n:POSTROUTING ACCEPT [0:0]\n")
    steps, payload = sync_plan(diff_family(DEFAULTS, parse_save(text), "x"), DEFAULTS)
    assert (steps, payload) == (
        ["append the POSTROUTING jump to IP-MASQ-AGENT"],
        f"*nat\n{JUMP}\nCOMMIT\n",
    )


def test_in_sync_plans_nothing() -> None:
    text = (
        restore_payload(DEFAULTS)
        .replace("*nat\n", "*nat\n:POSTROUTING ACCEPT [0:0]\n")
        .replace("COMMIT", f"{JUMP}\nCOMMIT")
    )
    assert sync_plan(diff_family(DEFAULTS, parse_save(text), "x"), DEFAULTS) == ([], "")


def test_remove_deletes_jumps_then_the_chain() -> None:
    steps, payload = remove_plan(OLD, "IP-MASQ-AGENT")
    assert steps == [
        "delete the POSTROUTING jump to IP-MASQ-AGENT (line 8)",
        "flush and delete chain IP-MASQ-AGENT (5 rules)",
    ]
    assert payload.endswith("-F IP-MASQ-AGENT\n-X IP-MASQ-AGENT\nCOMMIT\n")
    assert payload.splitlines()[1].startswith('-D POSTROUTING -m comment --comment "\\"ip-masq')


def test_rollback_of_a_new_chain_deletes_it_and_its_jump() -> None:
    before = parse_save("*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n")
    after_text = (
        restore_payload(DEFAULTS)
        .replace("*nat\n", "*nat\n:POSTROUTING ACCEPT [0:0]\n")
        .replace("COMMIT", f"{JUMP}\nCOMMIT")
    )
    after = parse_save(after_text)
    payload = undo_after(before, "IP-MASQ-AGENT", after, [], rendered_jump(DEFAULTS))
    assert payload == (
        f"*nat\n:IP-MASQ-AGENT - [0:0]\n{JUMP.replace('-A', '-D', 1)}\n-X IP-MASQ-AGENT\nCOMMIT\n"
    )


@pytest.mark.parametrize(
    "flags",
    [
        AgentFlags(),
        AgentFlags(enable_ipv6=True, to_ports="1024-29999,32768-65535", random_fully=False),
        AgentFlags(nomasq_all_reserved_ranges=True, masq_chain="MY-CHAIN", enable_ipv6=True),
    ],
)
def test_the_chain_is_written_exactly_as_render_writes_it(
    tmp_path: Path, flags: AgentFlags
) -> None:
    config = tmp_path / "config.yaml"
    ipv6 = "  - FD00:0:0::/8\n  - 2001:db8::/32\nmasqLinkLocalIPv6: true\n"
    config.write_text(
        "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 198.51.100.7/32\n"
        + (ipv6 if flags.enable_ipv6 else "")
    )
    empty = parse_save("*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n")
    for rules in effective_ruleset([str(config)], flags).families.values():
        _, payload = sync_plan(diff_family(rules, empty, "x"), rules)
        assert payload == (
            restore_payload(rules).removesuffix("COMMIT\n")
            + rules.jump.restore_line()
            + "\nCOMMIT\n"
        )


def test_a_duplicated_jump_keeps_the_first_ones_place_ahead_of_a_rule_between() -> None:
    accept = "-A POSTROUTING -s 10.9.0.0/16 -j ACCEPT"
    text = (
        restore_payload(DEFAULTS)
        .replace("*nat\n", "*nat\n:POSTROUTING ACCEPT [0:0]\n")
        .replace("COMMIT", f"{JUMP}\n{accept}\n{JUMP}\nCOMMIT")
    )
    steps, payload = sync_plan(diff_family(DEFAULTS, parse_save(text), "x"), DEFAULTS)
    delete = JUMP.replace("-A", "-D", 1)
    assert (steps, payload) == (
        ["delete a duplicate POSTROUTING jump (line 11)"],
        f"*nat\n{delete}\n{delete}\n{JUMP.replace('-A POSTROUTING', '-I POSTROUTING 1', 1)}"
        "\nCOMMIT\n",
    )
