"""diff and apply against real iptables (nft and legacy) and ip6tables in network namespaces.

Every test makes its own namespace; masqctl runs inside it as a real process
(``python -m masqctl``), with the namespace's private xtables lock file.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netns import Namespace, agent_jump_args, namespace, require_netfilter, tool

pytestmark = pytest.mark.netfilter

DATA = Path(__file__).parent / "data"
CONFIG = str(DATA / "corpus" / "upstream-agent-config.yaml")
CHAIN = "IP-MASQ-AGENT"
JUMP_ARGS = agent_jump_args(CHAIN)


@pytest.fixture
def ns(tmp_path: Path) -> Iterator[Namespace]:
    require_netfilter()
    with namespace("mqapply") as created:
        created.env = dict(created.env, MASQCTL_STATE_DIR=str(tmp_path / "state"))
        yield created


def masqctl(
    ns: Namespace, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return ns.run([sys.executable, "-m", "masqctl", *args], check=False, env=env or ns.env)


def save_lines(
    ns: Namespace, backend: str, family: str = "ipv4", table: str | None = None
) -> list[str]:
    """iptables-save of every table (or one), without comment lines."""
    args = [tool(backend, "save", family)] + (["-t", table] if table else [])
    return [line for line in ns.run(args).stdout.splitlines() if not line.startswith("#")]


def agent_lines(lines: list[str]) -> list[str]:
    """The lines the agent owns: its chain, its rules, and POSTROUTING jumps to it."""
    return [
        line
        for line in lines
        if line == f":{CHAIN} - [0:0]"
        or line.startswith(f"-A {CHAIN} ")
        or (line.startswith("-A POSTROUTING ") and line.endswith(f"-j {CHAIN}"))
    ]


def other_lines(lines: list[str]) -> list[str]:
    owned = set(agent_lines(lines))
    return [line for line in lines if line not in owned]


def what_the_agent_writes(backend: str, *render_args: str, family: str = "ipv4") -> list[str]:
    """The agent's own sync in a fresh namespace: the restore payload, then EnsureRule's -A."""
    with namespace("mqref") as reference:
        payload = reference.run([sys.executable, "-m", "masqctl", "render", *render_args]).stdout
        reference.run([tool(backend, "restore", family), "--noflush"], input=payload)
        reference.run([tool(backend, "", family), "-t", "nat", "-A", "POSTROUTING", *JUMP_ARGS])
        return agent_lines(save_lines(reference, backend, family, "nat"))


def kube_node(ns: Namespace, backend: str) -> None:
    """kube-proxy-like chains, a filter rule, kubelet's hint chain and an own SNAT rule."""
    ipt = tool(backend)
    for args in (
        ["-t", "mangle", "-N", "KUBE-IPTABLES-HINT"],
        ["-t", "nat", "-N", "KUBE-SERVICES"],
        ["-t", "nat", "-N", "KUBE-POSTROUTING"],
        [
            "-t",
            "nat",
            "-A",
            "PREROUTING",
            "-m",
            "comment",
            "--comment",
            "kubernetes service portals",
            "-j",
            "KUBE-SERVICES",
        ],
        [
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-m",
            "comment",
            "--comment",
            "kubernetes postrouting rules",
            "-j",
            "KUBE-POSTROUTING",
        ],
        [
            "-t",
            "nat",
            "-A",
            "KUBE-POSTROUTING",
            "-m",
            "mark",
            "!",
            "--mark",
            "0x4000/0x4000",
            "-j",
            "RETURN",
        ],
        ["-t", "nat", "-A", "KUBE-POSTROUTING", "-j", "MASQUERADE", "--random-fully"],
        [
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-s",
            "10.244.0.0/16",
            "-d",
            "203.0.113.0/24",
            "-j",
            "SNAT",
            "--to-source",
            "198.51.100.7",
        ],
        ["-t", "filter", "-A", "FORWARD", "-s", "10.244.0.0/16", "-j", "ACCEPT"],
    ):
        ns.run([ipt, *args])


# ---- a node with other rules -----------------------------------------------------------


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_apply_writes_the_agents_chain_and_jump_and_leaves_every_other_line(
    ns: Namespace, backend: str
) -> None:
    kube_node(ns, backend)
    before = save_lines(ns, backend)
    result = masqctl(ns, "apply", "-c", CONFIG, "--backup", str(Path(ns.lockfile).parent / "b"))
    assert result.returncode == 0, result.stderr
    after = save_lines(ns, backend)
    assert agent_lines(after) == what_the_agent_writes(backend, "-c", CONFIG)
    assert other_lines(after) == before
    other = "legacy" if backend == "nft" else "nft"
    assert agent_lines(save_lines(ns, other)) == []  # auto picked the node's backend only
    assert result.stdout.splitlines()[-1] == (
        f"ipv4 (iptables-{backend}): written in one iptables-{backend}-restore transaction "
        "and verified"
    )
    second = masqctl(ns, "apply", "-c", CONFIG)
    assert (second.returncode, second.stdout) == (
        0,
        f"ipv4 (iptables-{backend}): {CHAIN} in sync; nothing written\n",
    )
    assert save_lines(ns, backend) == after


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_backup_holds_only_what_apply_changes_and_restores_it_exactly(
    ns: Namespace, tmp_path: Path, backend: str
) -> None:
    kube_node(ns, backend)
    ipt = tool(backend)
    ns.run([ipt, "-t", "nat", "-N", CHAIN])
    ns.run([ipt, "-t", "nat", "-A", CHAIN, "-d", "192.0.2.0/24", "-j", "RETURN"])
    old_jump = ["-m", "comment", "--comment", "ip-masq-agent: an old jump", "-j", CHAIN]
    ns.run([ipt, "-t", "nat", "-I", "POSTROUTING", "1", *old_jump])
    before = save_lines(ns, backend, table="nat")
    result = masqctl(ns, "apply")
    assert result.returncode == 0, result.stderr
    backup = next(line.split(": ")[-1] for line in result.stdout.splitlines() if "backup" in line)
    assert backup.startswith(str(tmp_path / "state" / "backups" / "nat-ipv4-"))
    text = Path(backup).read_text()
    assert "KUBE-" not in text  # none of kube-proxy's rules is copied
    assert [line for line in text.splitlines() if not line.startswith("# masqctl")] == [
        "# POSTROUTING rules that jump to it, as they were before apply wrote:",
        f'#   POSTROUTING rule 1: -A POSTROUTING -m comment --comment "ip-masq-agent: an old '
        f'jump" -j {CHAIN}',
        f"#   :{CHAIN} - [0:0]",
        f"#   -A {CHAIN} -d 192.0.2.0/24 -j RETURN",
        f"# This file undoes apply's change: iptables-{backend}-restore --noflush < FILE",
        "*nat",
        f":{CHAIN} - [0:0]",
        "-D POSTROUTING "
        + " ".join(JUMP_ARGS[:3])
        + f' "{JUMP_ARGS[3]}" '
        + " ".join(JUMP_ARGS[4:]),
        f'-I POSTROUTING 1 -m comment --comment "ip-masq-agent: an old jump" -j {CHAIN}',
        f"-A {CHAIN} -d 192.0.2.0/24 -j RETURN",
        "COMMIT",
    ]
    ns.run([f"{ipt}-restore", "--noflush"], input=text)
    assert save_lines(ns, backend, table="nat") == before


def test_dry_run_prints_plan_and_payload_and_writes_nothing(ns: Namespace) -> None:
    before = save_lines(ns, "nft")
    result = masqctl(ns, "apply", "--dry-run", "--iptables-mode", "nft")
    payload = ns.run([sys.executable, "-m", "masqctl", "render"]).stdout
    jump = " ".join(["-A", "POSTROUTING", *JUMP_ARGS[:3], f'"{JUMP_ARGS[3]}"', *JUMP_ARGS[4:]])
    assert result.returncode == 0
    assert result.stdout == (
        f"# ipv4 (iptables-nft): chain {CHAIN} is missing\n"
        f"# ipv4 (iptables-nft): POSTROUTING jump to {CHAIN} is missing\n"
        f"# would create chain {CHAIN} (5 rules)\n"
        f"# would append the POSTROUTING jump to {CHAIN}\n"
        "# payload for iptables-nft-restore --noflush --wait:\n"
        + payload.replace("COMMIT\n", f"{jump}\nCOMMIT\n")
    )
    assert save_lines(ns, "nft") == before


# ---- drift found by diff and repaired by apply ----------------------------------------


def _swap_first_two(ns: Namespace) -> None:
    rule = [line for line in save_lines(ns, "nft", table="nat") if line.startswith(f"-A {CHAIN} ")][
        1
    ]
    ns.run(["iptables-nft", "-t", "nat", "-D", CHAIN, "2"])
    ns.run(["iptables-nft", "-t", "nat", "-I", CHAIN, "1", *_args_of(rule)])


def _args_of(line: str) -> list[str]:
    from masqctl.netfilter.save_parser import split_args

    return split_args(line)[2:]


def _old_format(ns: Namespace) -> None:
    ns.run(["iptables-nft", "-t", "nat", "-D", "POSTROUTING", *JUMP_ARGS])
    old = (DATA / "saves" / "legacy-agent-2017-format.txt").read_text()
    rules = [line for line in old.splitlines() if line.startswith("-A")]
    ns.run(
        ["iptables-nft-restore", "--noflush"],
        input="*nat\n:IP-MASQ-AGENT - [0:0]\n" + "\n".join(rules) + "\nCOMMIT\n",
    )


def _delete_chain(ns: Namespace) -> None:
    ns.run(["iptables-nft", "-t", "nat", "-D", "POSTROUTING", *JUMP_ARGS])
    ns.run(["iptables-nft", "-t", "nat", "-F", CHAIN])
    ns.run(["iptables-nft", "-t", "nat", "-X", CHAIN])


DRIFTS = {
    "chain missing": (_delete_chain, f"chain {CHAIN} is missing"),
    "jump missing": (
        lambda ns: ns.run(["iptables-nft", "-t", "nat", "-D", "POSTROUTING", *JUMP_ARGS]),
        f"POSTROUTING jump to {CHAIN} is missing",
    ),
    "jump duplicated": (
        lambda ns: ns.run(["iptables-nft", "-t", "nat", "-A", "POSTROUTING", *JUMP_ARGS]),
        f"POSTROUTING jump to {CHAIN} is duplicated (2 jumps)",
    ),
    "old format": (_old_format, f"chain {CHAIN} is in the old (2017) agent format"),
    "rule missing": (
        lambda ns: ns.run(["iptables-nft", "-t", "nat", "-D", CHAIN, "3"]),
        "rule 3 missing: ",
    ),
    "rule extra": (
        lambda ns: ns.run(
            ["iptables-nft", "-t", "nat", "-I", CHAIN, "1", "-d", "198.51.100.0/24", "-j", "RETURN"]
        ),
        f"extra rule ({CHAIN} rule 1): -A {CHAIN} -d 198.51.100.0/24 -j RETURN",
    ),
    "rules out of order": (
        _swap_first_two,
        f"rule out of order ({CHAIN} rule 2): -A {CHAIN} -d 169.254.0.0/16 -m comment "
        '--comment "ip-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN',
    ),
    "comment differs": (
        lambda ns: ns.run(
            [
                "iptables-nft",
                "-t",
                "nat",
                "-R",
                CHAIN,
                "2",
                "-d",
                "10.0.0.0/8",
                "-m",
                "comment",
                "--comment",
                "edited",
                "-j",
                "RETURN",
            ]
        ),
        f"rule differs only in comment ({CHAIN} rule 2): 'edited', want 'ip-masq-agent: "
        "local traffic is not subject to MASQUERADE'",
    ),
}


@pytest.mark.parametrize("kind", list(DRIFTS))
def test_drift_is_found_by_diff_and_repaired_by_apply(ns: Namespace, kind: str) -> None:
    assert masqctl(ns, "apply", "-c", CONFIG).returncode == 0
    in_sync = save_lines(ns, "nft")
    make_drift, finding = DRIFTS[kind]
    make_drift(ns)
    found = masqctl(ns, "diff", "-c", CONFIG)
    assert found.returncode == 1, found.stderr
    assert any(line.startswith(f"  {finding}") for line in found.stdout.splitlines()), found.stdout
    repaired = masqctl(ns, "apply", "-c", CONFIG)
    assert repaired.returncode == 0, repaired.stderr
    assert masqctl(ns, "diff", "-c", CONFIG).returncode == 0
    assert save_lines(ns, "nft") == in_sync


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_a_duplicated_jump_is_removed_and_the_first_keeps_its_place(
    ns: Namespace, backend: str
) -> None:
    assert masqctl(ns, "apply", "--iptables-mode", backend).returncode == 0
    ipt = tool(backend)
    accept = ["-s", "10.9.0.0/16", "-j", "ACCEPT"]
    ns.run([ipt, "-t", "nat", "-A", "POSTROUTING", *accept])
    ns.run([ipt, "-t", "nat", "-A", "POSTROUTING", *JUMP_ARGS])
    result = masqctl(ns, "apply", "--iptables-mode", backend)
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stdout.splitlines() if "backup" not in line] == [
        f"ipv4 (iptables-{backend}): POSTROUTING jump to {CHAIN} is duplicated (2 jumps)",
        f"ipv4 (iptables-{backend}): delete a duplicate POSTROUTING jump (POSTROUTING rule 3)",
        f"ipv4 (iptables-{backend}): written in one iptables-{backend}-restore transaction "
        "and verified",
    ]
    postrouting = [
        line for line in save_lines(ns, backend, table="nat") if line.startswith("-A POSTROUTING")
    ]
    assert postrouting == [AGENT_JUMP, "-A POSTROUTING -s 10.9.0.0/16 -j ACCEPT"]


def test_changed_config_is_applied(ns: Namespace, tmp_path: Path) -> None:
    assert masqctl(ns, "apply", "-c", CONFIG).returncode == 0
    changed = tmp_path / "config.yaml"
    changed.write_text(
        "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 198.51.100.0/24\nmasqLinkLocal: true\n"
    )
    assert masqctl(ns, "diff", "-c", str(changed)).returncode == 1
    assert masqctl(ns, "apply", "-c", str(changed)).returncode == 0
    assert agent_lines(save_lines(ns, "nft", table="nat")) == what_the_agent_writes(
        "nft", "-c", str(changed)
    )


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_ipv6_is_applied_with_ip6tables(ns: Namespace, backend: str) -> None:
    result = masqctl(ns, "apply", "--enable-ipv6", "--iptables-mode", backend)
    assert result.returncode == 0, result.stderr
    assert agent_lines(save_lines(ns, backend, "ipv6", "nat")) == what_the_agent_writes(
        backend, "--enable-ipv6", "--family", "ipv6", family="ipv6"
    )
    assert agent_lines(save_lines(ns, backend, "ipv4", "nat")) == what_the_agent_writes(backend)
    check = masqctl(ns, "diff", "--enable-ipv6", "--iptables-mode", backend)
    assert (check.returncode, check.stdout) == (
        0,
        f"ipv4: {CHAIN} in sync (5 rules, jump present)\n"
        f"ipv6: {CHAIN} in sync (2 rules, jump present)\n",
    )


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_live_diff_names_a_cni_masquerade_ahead_of_the_jump_by_its_position(
    ns: Namespace, backend: str
) -> None:
    mode = ("--iptables-mode", backend)
    assert masqctl(ns, "apply", *mode).returncode == 0
    iptables = [f"iptables-{backend}", "-t", "nat"]
    kube_proxy = ["-m", "comment", "--comment", "kubernetes postrouting rules"]
    ns.run([*iptables, "-N", "KUBE-POSTROUTING"])
    ns.run([*iptables, "-I", "POSTROUTING", "1", *kube_proxy, "-j", "KUBE-POSTROUTING"])
    ns.run([*iptables, "-I", "POSTROUTING", "2", "-s", "10.244.0.0/16", "-j", "MASQUERADE"])
    ns.run([*iptables, "-A", "POSTROUTING", "-j", "MASQUERADE"])  # after the jump
    result = masqctl(ns, "diff", "-o", "json", *mode)
    family = json.loads(result.stdout)["families"][0]
    assert (result.returncode, family["in_sync"], family["foreign_ahead"]) == (
        0,
        True,
        [{"position": 2, "line": None, "rule": "-A POSTROUTING -s 10.244.0.0/16 -j MASQUERADE"}],
    )


@pytest.mark.parametrize("backend", ["nft", "legacy"])
@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_iptables_save_prints_the_rendered_rules_as_diff_expects_them(
    ns: Namespace, tmp_path: Path, backend: str, family: str
) -> None:
    # the common case diff and apply compare as text, not canonical form
    from masqctl.agent import AgentFlags
    from masqctl.agent_setup import effective_ruleset
    from masqctl.diff import Desired
    from masqctl.render.iptables import restore_payload

    config = tmp_path / "config.yaml"
    config.write_text(
        "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 198.51.100.7/32\n  - 0.0.0.0/0\n"
        "  - fd00::/8\n  - 2001:db8:1::/48\n  - ::/0\n"
    )
    rules = effective_ruleset([str(config)], AgentFlags(enable_ipv6=True)).family(family)
    ns.run([tool(backend, "restore", family), "--noflush"], input=restore_payload(rules))
    saved = save_lines(ns, backend, family, "nat")
    assert Desired(rules).saved_lines_as_written() == [
        line for line in saved if line.startswith(f"-A {CHAIN} ")
    ]


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_rules_iptables_prints_otherwise_than_written_read_back_in_sync(
    ns: Namespace, tmp_path: Path, backend: str
) -> None:
    # upper-case or uncompressed IPv6, --to-ports' probabilities and -d of every address
    # come back from iptables-save spelled otherwise than in the payload, or left out
    config = tmp_path / "config.yaml"
    config.write_text(
        "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 198.51.100.7/32\n  - FD00:0:0::/8\n"
        "  - 2001:DB8::/32\n  - 0.0.0.0/0\n  - ::/0\n"
    )
    args = [
        "-c",
        str(config),
        "--enable-ipv6",
        "--iptables-mode",
        backend,
        "--to-ports",
        "1024-29999,32768-65535",
    ]
    first = masqctl(ns, "apply", *args)
    assert first.returncode == 0, first.stderr
    assert "written in one" in first.stdout
    second = masqctl(ns, "apply", *args)
    assert (second.returncode, second.stdout) == (
        0,
        f"ipv4 (iptables-{backend}): {CHAIN} in sync; nothing written\n"
        f"ipv6 (ip6tables-{backend}): {CHAIN} in sync; nothing written\n",
    )
    assert agent_lines(save_lines(ns, backend, "ipv6", "nat")) == what_the_agent_writes(
        backend,
        *args[:2],
        "--enable-ipv6",
        "--to-ports",
        args[-1],
        "--family",
        "ipv6",
        family="ipv6",
    )


def test_remove_deletes_chain_and_every_jump_and_nothing_else(ns: Namespace) -> None:
    kube_node(ns, "nft")
    before = save_lines(ns, "nft")
    assert masqctl(ns, "apply").returncode == 0
    ns.run(["iptables-nft", "-t", "nat", "-A", "POSTROUTING", *JUMP_ARGS])  # a duplicate too
    result = masqctl(ns, "apply", "--remove")
    assert result.returncode == 0, result.stderr
    assert save_lines(ns, "nft") == before
    again = masqctl(ns, "apply", "--remove")
    assert (again.returncode, again.stdout) == (
        0,
        f"ipv4 (iptables-nft): {CHAIN} absent; nothing written\n",
    )


# ---- faults --------------------------------------------------------------------------


def shim(directory: Path, name: str, script: str) -> dict[str, str]:
    """An executable ``name`` in ``directory``; the environment that finds it first."""
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return {"PATH": f"{directory}:{os.environ['PATH']}"}


def shim_env(ns: Namespace, tmp_path: Path, name: str, script: str) -> dict[str, str]:
    """The namespace's environment with :func:`shim`'s ``name`` first on PATH."""
    return dict(ns.env, **shim(tmp_path / "bin", name, script))


def test_failing_restore_leaves_the_table_as_it_was(ns: Namespace, tmp_path: Path) -> None:
    kube_node(ns, "nft")
    before = save_lines(ns, "nft")
    env = shim_env(
        ns,
        tmp_path,
        "iptables-nft-restore",
        "cat >/dev/null\necho 'iptables-nft-restore v1.8.9 (nf_tables): "
        "Chain MASQUERADE does not exist' >&2\n"
        "echo 'Error occurred at line: 3' >&2\nexit 1\n",
    )
    result = masqctl(ns, "apply", env=env)
    assert (result.returncode, result.stderr) == (
        2,
        (
            "masqctl: iptables-nft-restore failed: iptables-nft-restore v1.8.9 (nf_tables): "
            "Chain MASQUERADE does not exist; Error occurred at line: 3\n"
        ),
    )
    assert save_lines(ns, "nft") == before


@pytest.mark.parametrize("chain_before", [True, False])
def test_failed_verification_puts_the_previous_chain_back(
    ns: Namespace, tmp_path: Path, chain_before: bool
) -> None:
    kube_node(ns, "nft")
    if chain_before:
        ns.run(["iptables-nft", "-t", "nat", "-N", CHAIN])
        ns.run(["iptables-nft", "-t", "nat", "-A", CHAIN, "-d", "192.0.2.0/24", "-j", "RETURN"])
    before = save_lines(ns, "nft")
    result = masqctl(ns, "apply", env=dict(ns.env, **_tampering_restore(tmp_path)))
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"masqctl: ipv4: verification failed after writing (extra rule ({CHAIN} rule "
    )
    assert "the previous chain is back (backup: " in result.stderr
    assert save_lines(ns, "nft") == before


def _tampering_restore(tmp_path: Path) -> dict[str, str]:
    """iptables-nft-restore that, the first time, adds a rule to the chain after writing:
    apply's verification then fails."""
    real = shutil.which("iptables-nft-restore")
    marker = tmp_path / "tampered"
    return shim(
        tmp_path / "bin",
        "iptables-nft-restore",
        (
            f'{real} "$@" || exit $?\n'
            f"if [ ! -e {marker} ]; then touch {marker}; "
            f"iptables-nft -t nat -A {CHAIN} -d 203.0.113.0/24 -j RETURN; fi\n"
        ),
    )


OLD_JUMP = (DATA / "saves" / "legacy-agent-2017-format.txt").read_text().splitlines()[7]
FOREIGN_JUMP = f"-A POSTROUTING -s 10.0.0.0/8 -j {CHAIN}"
AGENT_JUMP = " ".join(["-A", "POSTROUTING", *JUMP_ARGS[:3], f'"{JUMP_ARGS[3]}"', *JUMP_ARGS[4:]])


@pytest.mark.parametrize(
    "jumps",
    [
        # the old-format jump (deleted, the current one appended) before KUBE-POSTROUTING
        [(1, OLD_JUMP), (3, FOREIGN_JUMP)],
        # a duplicate and an old-format jump deleted, between other rules
        [(1, AGENT_JUMP), (3, AGENT_JUMP), (4, FOREIGN_JUMP), (6, OLD_JUMP)],
    ],
)
def test_rollback_puts_every_postrouting_rule_back_in_its_place(
    ns: Namespace, tmp_path: Path, jumps: list[tuple[int, str]]
) -> None:
    kube_node(ns, "nft")  # POSTROUTING: -j KUBE-POSTROUTING, then an SNAT rule
    ns.run(
        ["iptables-nft-restore", "--noflush"],
        input=f"*nat\n:{CHAIN} - [0:0]\n-A {CHAIN} -d 192.0.2.0/24 -j RETURN\n"
        + "".join(
            line.replace("-A POSTROUTING", f"-I POSTROUTING {place}", 1) + "\n"
            for place, line in jumps
        )
        + "COMMIT\n",
    )
    counters = lambda lines: [re.sub(r"\[\d+:\d+\]", "[0:0]", line) for line in lines]  # noqa: E731
    before = counters(save_lines(ns, "nft"))
    postrouting = [line for line in before if line.startswith("-A POSTROUTING ")]
    assert [postrouting[place - 1] for place, _ in jumps] == [line for _, line in jumps]
    result = masqctl(ns, "apply", env=dict(ns.env, **_tampering_restore(tmp_path)))
    assert result.returncode == 2
    assert "the previous chain is back (backup: " in result.stderr
    assert counters(save_lines(ns, "nft")) == before


def test_remove_with_an_invalid_config_still_removes(ns: Namespace, tmp_path: Path) -> None:
    assert masqctl(ns, "apply").returncode == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text("nonMasqueradeCIDRs: [not-a-cidr\n")
    result = masqctl(ns, "apply", "--remove", "-c", str(broken))
    assert result.returncode == 0, result.stderr
    assert agent_lines(save_lines(ns, "nft", table="nat")) == []


def test_ipv6_failing_after_ipv4_was_written_names_the_ipv4_backup(
    ns: Namespace, tmp_path: Path
) -> None:
    env = shim_env(
        ns,
        tmp_path,
        "ip6tables-nft-restore",
        "cat >/dev/null\necho 'ip6tables-nft-restore v1.8.9 (nf_tables): "
        "Chain MASQUERADE does not exist' >&2\nexit 1\n",
    )
    backup = tmp_path / "nat.rules"
    result = masqctl(
        ns, "apply", "--enable-ipv6", "--iptables-mode", "nft", "--backup", str(backup), env=env
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "masqctl: ip6tables-nft-restore failed: ip6tables-nft-restore v1.8.9 (nf_tables): "
        "Chain MASQUERADE does not exist; ipv4 (iptables-nft) was already written and "
        f"verified (backup: {backup})\n",
    )
    assert agent_lines(save_lines(ns, "nft", "ipv4", "nat")) == what_the_agent_writes("nft")
    assert agent_lines(save_lines(ns, "nft", "ipv6", "nat")) == []
    assert backup.exists()


def test_two_applies_at_once_end_in_one_correct_chain(ns: Namespace) -> None:
    kube_node(ns, "nft")
    command = ns.exec_args([sys.executable, "-m", "masqctl", "apply", "-c", CONFIG])
    processes = [
        subprocess.Popen(
            command, env=ns.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert sum("nothing written" in out for out, _ in outputs) == 1
    assert agent_lines(save_lines(ns, "nft", table="nat")) == what_the_agent_writes(
        "nft", "-c", CONFIG
    )


@pytest.fixture
def readable_package() -> Iterator[str]:
    """masqctl copied where any user can read it: the unprivileged run must work wherever
    the checkout is (a clone under a 0700 home directory is unreadable to nobody)."""
    import masqctl

    directory = tempfile.mkdtemp(prefix="masqctl-readable-")
    try:
        os.chmod(directory, 0o755)
        shutil.copytree(
            Path(masqctl.__file__).parent,
            Path(directory) / "masqctl",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        for path in Path(directory).rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("command", [["diff"], ["apply"], ["apply", "--dry-run"]])
def test_not_root_is_one_line_exit_2(
    ns: Namespace, command: list[str], readable_package: str
) -> None:
    as_root = masqctl(ns, *command, "--iptables-mode", "nft", env=dict(ns.env))
    unprivileged = ns.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "masqctl",
            *command,
            "--iptables-mode",
            "nft",
        ],
        check=False,
        # nobody cannot write coverage data files: measure this run not at all
        env={
            **{k: v for k, v in ns.env.items() if not k.startswith("COVERAGE")},
            "PYTHONPATH": readable_package,
        },
        cwd="/",
    )
    assert as_root.returncode == (1 if command == ["diff"] else 0), as_root.stderr
    assert unprivileged.returncode == 2
    # apply takes its lock first (beside the xtables lock); a dry run takes none
    program = (
        "iptables-nft" if command != ["apply"] else str(Path(ns.lockfile).parent / "masqctl.lock")
    )
    assert unprivileged.stderr.startswith(
        f"masqctl: {program}: permission denied: masqctl needs root (CAP_NET_ADMIN)"
    ), unprivileged.stderr
    assert unprivileged.stderr.count("\n") == 1


def _detected(ns: Namespace) -> str:
    result = masqctl(ns, "diff", "-o", "json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)["families"][0]["source"]


def test_auto_picks_nft_on_an_empty_node(ns: Namespace) -> None:
    assert _detected(ns) == "iptables-nft -t nat"


def _legacy_postrouting_rules(ns: Namespace, count: int) -> None:
    for number in range(count):
        address = f"192.0.2.{number + 1}"
        ns.run(["iptables-legacy", "-t", "nat", "-A", "POSTROUTING", "-s", address, "-j", "ACCEPT"])


def test_auto_picks_the_backend_whose_nat_postrouting_holds_more_rules(ns: Namespace) -> None:
    _legacy_postrouting_rules(ns, 1)
    assert _detected(ns) == "iptables-legacy -t nat"


def test_auto_ignores_rules_outside_nat_without_kubelet_chains(ns: Namespace) -> None:
    ns.run(["iptables-legacy", "-t", "filter", "-A", "INPUT", "-s", "192.0.2.1", "-j", "ACCEPT"])
    assert _detected(ns) == "iptables-nft -t nat"


def test_auto_prefers_kubelets_nft_hint_over_more_legacy_rules(ns: Namespace) -> None:
    _legacy_postrouting_rules(ns, 2)
    ns.run(["ip6tables-nft", "-t", "mangle", "-N", "KUBE-KUBELET-CANARY"])
    assert _detected(ns) == "iptables-nft -t nat"


def test_auto_follows_kubelets_legacy_hint(ns: Namespace) -> None:
    ns.run(["iptables-nft", "-t", "nat", "-A", "POSTROUTING", "-s", "192.0.2.1", "-j", "ACCEPT"])
    ns.run(["iptables-legacy", "-t", "mangle", "-N", "KUBE-IPTABLES-HINT"])
    assert _detected(ns) == "iptables-legacy -t nat"


def test_auto_on_a_legacy_node_whose_xtables_lock_stays_held_fails_naming_it(
    ns: Namespace,
) -> None:
    ns.run(["iptables-legacy", "-t", "mangle", "-N", "KUBE-IPTABLES-HINT"])
    detect = (
        "import masqctl.netfilter.backend as backend; backend.LOCK_WAIT_SECONDS = 1\n"
        "try:\n    print(backend.detect_mode())\n"
        "except backend.IptablesError as error:\n    print(error.reason, error)"
    )
    # held here (iptables takes it with flock), before masqctl starts: no race with a
    # helper process that might not have taken it yet
    with open(ns.lockfile, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = ns.run([sys.executable, "-c", detect])
    # legacy listings wait for the lock as restore does, a bounded time (1 s, iptables'
    # own words say), never ns.run's 30 s; a choice made without seeing the hint would be
    # wrong
    assert result.stdout == (
        "xtables_lock iptables-legacy: another program held the xtables lock too long "
        f"(Can't lock {ns.lockfile}: Resource temporarily unavailable; Another app is "
        "currently holding the xtables lock. Stopped waiting after 1s.)\n"
    )


def test_apply_json_reports_steps_payload_and_backup(ns: Namespace, tmp_path: Path) -> None:
    result = masqctl(ns, "apply", "-o", "json", "--backup", str(tmp_path / "nat.rules"))
    document = json.loads(result.stdout)
    family = document["families"][0]
    assert (result.returncode, document["changed"], document["dry_run"]) == (0, True, False)
    assert family["steps"] == [
        f"create chain {CHAIN} (5 rules)",
        f"append the POSTROUTING jump to {CHAIN}",
    ]
    assert (family["backup"], family["written"], family["in_sync"]) == (
        str(tmp_path / "nat.rules"),
        True,
        False,
    )
    assert family["payload"].startswith(f"*nat\n:{CHAIN} - [0:0]\n")


# ---- the entry point's fast path runs apply exactly as the Typer app does -------------

TYPER_APP = "import sys; from masqctl.cli import run_app; sys.exit(run_app(sys.argv[1:]))"
FAST_PATH_ARGS = [
    ["--dry-run", "-c", CONFIG, "--iptables-mode", "nft"],
    [
        "--dry-run",
        "--output=json",
        "--iptables-mode",
        "legacy",
        "--enable-ipv6",
        "--to-ports",
        "1024-29999,32768-65535",
        "--no-random-fully",
        "--masq-chain",
        "MY-CHAIN",
        "--nomasq-all-reserved-ranges",
    ],
    ["--remove", "--dry-run", "--format", "json", "--random-fully"],
    ["-o", "xml"],
    ["--iptables-mode", "bogus"],
    ["--config", "/nonexistent.yaml", "--iptables-mode", "nft"],
]


@pytest.mark.parametrize("args", FAST_PATH_ARGS)
def test_apply_fast_path_and_typer_app_give_the_same_result(ns: Namespace, args: list[str]) -> None:
    from masqctl.entry import parse_plain
    from masqctl.options import COMMANDS

    assert parse_plain(COMMANDS["apply"], args) is not None
    fast = masqctl(ns, "apply", *args)
    typer = ns.run([sys.executable, "-c", TYPER_APP, "apply", *args], check=False)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        typer.returncode,
        typer.stdout,
        typer.stderr,
    )


def test_apply_writes_the_same_through_the_fast_path_and_the_typer_app(
    ns: Namespace, tmp_path: Path
) -> None:
    args = ["apply", "-c", CONFIG, "--backup", str(tmp_path / "nat.rules")]
    fast = masqctl(ns, *args)
    written = save_lines(ns, "nft", table="nat")
    assert masqctl(ns, "apply", "--remove", "--backup", str(tmp_path / "x")).returncode == 0
    typer = ns.run([sys.executable, "-c", TYPER_APP, *args], check=False)
    assert (fast.returncode, fast.stdout, fast.stderr) == (0, typer.stdout, typer.stderr)
    assert "written in one iptables-nft-restore transaction and verified" in fast.stdout
    assert save_lines(ns, "nft", table="nat") == written


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_remove_while_another_chain_jumps_to_it_changes_nothing_and_says_why(
    ns: Namespace, backend: str
) -> None:
    ipt = tool(backend)
    assert masqctl(ns, "apply", "--iptables-mode", backend).returncode == 0
    ns.run([ipt, "-t", "nat", "-N", "KUBE-X"])
    ns.run([ipt, "-t", "nat", "-A", "KUBE-X", "-j", CHAIN])
    before = save_lines(ns, backend)
    result = masqctl(ns, "apply", "--remove", "--iptables-mode", backend)
    assert result.returncode == 2
    assert result.stderr.endswith(
        f"(is another chain still jumping to {CHAIN}? find it with {ipt} -t nat -S | grep "
        f"-e '-[jg] {CHAIN}'); nothing was changed\n"
    ), result.stderr
    assert result.stderr.count("\n") == 1
    assert save_lines(ns, backend) == before


@pytest.mark.parametrize("remove", [[], ["--remove"]])
def test_a_chain_name_with_a_double_quote_is_refused_and_nothing_written(
    ns: Namespace, remove: list[str]
) -> None:
    before = save_lines(ns, "nft")
    result = masqctl(ns, "apply", "--iptables-mode", "nft", "--masq-chain", 'A"B', *remove)
    problem = (
        "--masq-chain 'A\"B': chain name 'A\"B' contains a double quote, which "
        "iptables-restore reads as quoting"
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"masqctl: {problem}\n"
        if remove
        else f"masqctl: ipv4: iptables-restore would reject this payload ({problem}); "
        "nothing was changed\n",
    )
    assert save_lines(ns, "nft") == before


def test_remove_failing_for_the_xtables_lock_gives_no_hint_about_other_chains(
    ns: Namespace, tmp_path: Path
) -> None:
    assert masqctl(ns, "apply", "--iptables-mode", "nft").returncode == 0
    before = save_lines(ns, "nft")
    env = shim_env(
        ns,
        tmp_path,
        "iptables-nft-restore",
        "cat >/dev/null\necho 'Another app is currently holding the xtables lock. "
        "Stopped waiting after 10s.' >&2\nexit 4\n",
    )
    result = masqctl(ns, "apply", "--remove", "--iptables-mode", "nft", env=env)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "masqctl: iptables-nft-restore: another program held the xtables lock too long "
        "(Another app is currently holding the xtables lock. Stopped waiting after 10s.)\n",
    )
    assert save_lines(ns, "nft") == before


def test_ipv6_failing_before_its_write_leaves_ipv4_unwritten_too(
    ns: Namespace, tmp_path: Path
) -> None:
    before = {family: save_lines(ns, "nft", family) for family in ("ipv4", "ipv6")}
    backup = tmp_path / "nat.rules"
    (tmp_path / "nat.rules.ipv6").mkdir()  # IPv6's backup cannot be written
    args = ["apply", "--enable-ipv6", "--iptables-mode", "nft", "--backup", str(backup)]
    result = masqctl(ns, *args)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"masqctl: {backup}.ipv6: cannot write the backup: Is a directory; nothing was "
        "changed (choose another place with --backup)\n",
    )
    assert {family: save_lines(ns, "nft", family) for family in before} == before
    env = shim_env(
        ns,
        tmp_path,
        "ip6tables-nft",
        "cat >&2 <<'EOF'\nip6tables v1.8.9 (nf_tables): can't initialize ip6tables table "
        "`nat': Table does not exist (do you need to insmod?)\nEOF\nexit 3\n",
    )
    result = masqctl(ns, "apply", "--enable-ipv6", "--iptables-mode", "nft", env=env)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "masqctl: ip6tables-nft failed: ip6tables v1.8.9 (nf_tables): can't initialize "
        "ip6tables table `nat': Table does not exist (do you need to insmod?)\n",
    )
    assert {family: save_lines(ns, "nft", family) for family in before} == before
