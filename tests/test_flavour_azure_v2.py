"""--flavour azure-v2: AKS's ip-masq-agent-v2, rule by rule, through the command line.

Every expected output is what Azure/ip-masq-agent-v2 does with the same input, as its
code and a run of its unmodified binary show (/scratch/notes/azure-v2.md, F-numbers
below): AKS's two ConfigMaps and DaemonSet as ``kubectl get -o yaml`` prints them
(tests/data/cluster/aks-*), kubelet's volume layout of them, and the agent's own
iptables-save output and log (tests/data/saves/azure-v2-*, tests/data/logs/azure-v2-*).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from masqctl.entry import main
from masqctl.flavours import ENVIRONMENT
from tests.netns import run as run_process

DATA = Path(__file__).parent / "data"
CLUSTER = DATA / "cluster"
USER = str(CLUSTER / "aks-configmap-user.yaml")
RECONCILED = str(CLUSTER / "aks-configmap-reconciled.yaml")
DAEMONSETS = [str(CLUSTER / "aks-daemonset.yaml"), str(CLUSTER / "aks-daemonset.json")]
AKS_NODE = str(DATA / "saves" / "azure-v2-aks-node.txt")
UPGRADED_NODE = str(DATA / "saves" / "azure-v2-upgraded-from-v0.1.8.txt")
BAD_FILE_LOG = str(DATA / "logs" / "azure-v2-later-resync-bad-file.log")
AZURE = ("--flavour", "azure-v2")

#: The agent's ``using config:`` JSON for the two AKS ConfigMaps (F8.1, e2e).
AKS_JSON = (
    '{"nonMasqueradeCIDRs":["10.0.0.0/8","100.64.0.0/10","10.244.0.0/16"],'
    '"masqLinkLocal":true,"masqLinkLocalIPv6":false}'
)
DEFAULTS_JSON = (
    '{"nonMasqueradeCIDRs":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"],'
    '"masqLinkLocal":false,"masqLinkLocalIPv6":false}'
)
EMPTY_JSON = '{"nonMasqueradeCIDRs":[],"masqLinkLocal":false,"masqLinkLocalIPv6":false}'
RETURN = (
    '-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: local traffic is not subject to '
    'MASQUERADE" -d {} -j RETURN'
)
MASQUERADE = (
    '-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: outbound traffic is subject to '
    'MASQUERADE (must be last in chain)" -j MASQUERADE'
)
QUOTED_JUMP = (
    '-A POSTROUTING -m comment --comment "\\"ip-masq-agent: ensure nat POSTROUTING directs '
    'all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain\\"" -m addrtype ! '
    "--dst-type LOCAL -j IP-MASQ-AGENT"
)
ORDER_NOTE = (
    "masqctl: note: Azure's ip-masq-agent-v2 writes these RETURN rules in a new order on "
    "every sync (it builds them through a Go map); shown in first-seen order\n"
)
FATAL = (
    "; for ip-masq-agent-v2 this is fatal: the agent exits (status 255) and its pod "
    "crash-loops on every node at once, not for one sync: nodes keep the rules of their last "
    "good sync, new nodes get none, no change applies"
)
REFUSED = (
    "masqctl: the agent refuses this config (it exits (klog.Fatalf, status 255) and its pod "
    "crash-loops, on every node that reads this: the chain keeps the rules of its last good "
    "sync, a new node gets none): the daemon encountered an error: error syncing "
    "configuration: "
)


def payload(*cidrs: str) -> str:
    """The agent's iptables-restore payload for these RETURN CIDRs (F6.1)."""
    rules = [RETURN.format(cidr) for cidr in cidrs]
    return "\n".join(["*nat", ":IP-MASQ-AGENT - [0:0]", *rules, MASQUERADE, "COMMIT", ""])


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def data_of(configmap: str) -> dict[str, str]:
    return yaml.safe_load(Path(configmap).read_text())["data"]  # type: ignore[no-any-return]


def kubelet_volume(directory: Path, files: dict[str, str]) -> Path:
    """/etc/config as kubelet lays out a projected volume: the files in a timestamped
    directory, ``..data`` pointing at it, and one symlink per file (F1.4)."""
    stamp = directory / "..2025_05_08_09_12_30.1234567890"
    stamp.mkdir(parents=True)
    for name, text in files.items():
        (stamp / name).write_text(text)
        (directory / name).symlink_to(f"..data/{name}")
    (directory / "..data").symlink_to(stamp.name)
    return directory


def write(directory: Path, files: dict[str, str]) -> list[str]:
    """Raw files of the agent's config directory; their paths."""
    for name, text in files.items():
        (directory / name).write_text(text)
    return [str(directory / name) for name in files]


def configs(*paths: str) -> list[str]:
    return [word for path in paths for word in ("-c", path)]


# ---- which files and keys it reads (F1) -----------------------------------------------


def test_both_aks_configmaps_merge_into_what_the_agent_logs(capsys) -> None:
    assert run(capsys, "show", *AZURE, *configs(USER, RECONCILED)) == (0, AKS_JSON + "\n", "")


def test_files_are_read_in_name_order_whatever_the_command_line_order(capsys) -> None:
    # ip-masq-agent before ip-masq-agent-reconciled, as os.ReadDir lists them
    assert run(capsys, "show", *AZURE, *configs(RECONCILED, USER)) == (0, AKS_JSON + "\n", "")


def test_render_of_the_aks_configmaps_is_the_agents_payload(capsys) -> None:
    code, out, err = run(capsys, "render", *AZURE, *configs(USER, RECONCILED))
    assert (code, out, err) == (
        0,
        payload("10.0.0.0/8", "100.64.0.0/10", "10.244.0.0/16"),
        ORDER_NOTE,
    )
    assert len(out.encode()) == 542  # the e2e run's iptables-restore stdin (F6.1)


DAEMONSET_NOTE = (
    "masqctl: note: read as DaemonSet kube-system/azure-ip-masq-agent's agent reads it: "
    "azure-v2, v0.1.15-2, flags --resync-interval=60\n"
)


@pytest.mark.parametrize("daemonset", DAEMONSETS, ids=["yaml", "json"])
def test_the_aks_daemonset_gives_the_flavour_and_its_args(capsys, daemonset: str) -> None:
    code, out, err = run(
        capsys, "render", "--format", "json", *configs(daemonset, RECONCILED, USER)
    )
    document = json.loads(out)
    assert (code, err) == (0, DAEMONSET_NOTE + ORDER_NOTE)
    assert (document["flavour"], document["flags"]) == (
        "azure-v2",
        {
            "masqChain": "IP-MASQ-AGENT",
            "nomasqAllReservedRanges": False,
            "enableIPv6": False,
            "resyncInterval": 60,
        },
    )
    shown = run(capsys, "show", *configs(daemonset, USER, RECONCILED))
    assert shown == (0, AKS_JSON + "\n", DAEMONSET_NOTE)


def test_only_keys_starting_with_ip_masq_are_read(capsys, tmp_path: Path) -> None:
    # the harness's "names" case as one ConfigMap's keys: ip-masq, ip-masq-agent.yaml.bak
    # and ip-masquerade.conf are read; IP-MASQ-AGENT, config, .ip-masq-hidden, xip-masq not
    cidrs = {
        ".ip-masq-hidden": "5.5",
        "IP-MASQ-AGENT": "3.3",
        "config": "4.4",
        "ip-masq": "1.1",
        "ip-masq-agent.yaml.bak": "6.6",
        "ip-masquerade.conf": "2.2",
        "xip-masq": "7.7",
    }
    data = "".join(
        f"  {key}: 'nonMasqueradeCIDRs: [\"{prefix}.0.0/16\"]'\n" for key, prefix in cidrs.items()
    )
    configmap = tmp_path / "cm.yaml"
    configmap.write_text(
        f"apiVersion: v1\ndata:\n{data}kind: ConfigMap\nmetadata:\n"
        "  name: azure-ip-masq-agent-config\n  namespace: kube-system\n"
    )
    assert run(capsys, "show", *AZURE, "-c", str(configmap)) == (
        0,
        '{"nonMasqueradeCIDRs":["1.1.0.0/16","6.6.0.0/16","2.2.0.0/16"],'
        '"masqLinkLocal":false,"masqLinkLocalIPv6":false}\n',
        "",
    )


def test_a_kubelet_volume_is_read_as_the_agent_lists_it(capsys, tmp_path: Path) -> None:
    # ..data and the timestamped directory are never read, nor a file of another name,
    # nor a subdirectory's file (the agent does not recurse)
    files = {**data_of(USER), **data_of(RECONCILED), "config": "nonMasqueradeCIDRs: [1.1.0.0/16]"}
    volume = kubelet_volume(tmp_path / "config", files)
    (volume / "conf").mkdir()
    (volume / "conf" / "ip-masq-agent").write_text('nonMasqueradeCIDRs: ["1.1.0.0/16"]\n')
    assert run(capsys, "show", *AZURE, "-c", str(volume)) == (0, AKS_JSON + "\n", "")
    _, out, _ = run(capsys, "render", *AZURE, "--format", "json", "-c", str(volume))
    assert [
        rule["source"]["file"] for rule in json.loads(out)["families"]["ipv4"]["rules"][:3]
    ] == [
        f"{volume}/ip-masq-agent",
        f"{volume}/ip-masq-agent",
        f"{volume}/ip-masq-agent-reconciled",
    ]


def test_a_directory_without_an_ip_masq_file_gives_the_defaults(capsys, tmp_path: Path) -> None:
    # an upstream-style ConfigMap (key config) mounted without items (F1.8)
    volume = kubelet_volume(tmp_path / "config", {"config": "nonMasqueradeCIDRs: [1.1.0.0/16]"})
    assert run(capsys, "show", *AZURE, "-c", str(volume)) == (0, DEFAULTS_JSON + "\n", "")
    code, out, err = run(capsys, "render", *AZURE, "-c", str(volume))
    # its defaults skip the Go map: a fixed order, and no note (669 bytes, F6.1)
    assert (code, out, err) == (
        0,
        payload("169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
        "",
    )
    assert len(out.encode()) == 669


def test_the_first_bad_file_in_name_order_is_the_one_reported(capsys, tmp_path: Path) -> None:
    paths = write(
        tmp_path,
        {
            "ip-masq-b": 'nonMasqueradeCIDRs: ["bad-b"]\n',
            "ip-masq-a": 'nonMasqueradeCIDRs: ["bad-a"]\n',
            "ip-masq-0": 'nonMasqueradeCIDRs: ["10.9.0.0/16"]\n',
        },
    )
    bad = "could not be parsed, invalid CIDR address: bad-{0} (a prefix length is required"
    assert run(capsys, "render", *AZURE, *configs(*paths)) == (
        2,
        "",
        REFUSED + 'config file "ip-masq-a" is invalid: CIDR "bad-a" could not be parsed, '
        "invalid CIDR address: bad-a\n"
        f'{tmp_path}/ip-masq-a:1:22: error[MASQ004] CIDR "bad-a" {bad.format("a")}, e.g. '
        f"/32){FATAL}\n"
        f'{tmp_path}/ip-masq-b:1:22: error[MASQ004] CIDR "bad-b" {bad.format("b")}, e.g. '
        f"/32){FATAL}\n",
    )


# ---- each file on its own: no defaults filled in (F2, F3) -------------------------------


def test_a_null_item_is_empty_and_refused(capsys, tmp_path: Path) -> None:
    # upstream's agent keeps its default 172.16.0.0/12 at that index; this one reads ""
    (path,) = write(tmp_path, {"ip-masq-agent": "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  -\n"})
    assert run(capsys, "show", *AZURE, "-c", path) == (
        2,
        "",
        "masqctl: the agent refuses this config: the daemon encountered an error: error "
        'syncing configuration: config file "ip-masq-agent" is invalid: CIDR "" could not be '
        "parsed, invalid CIDR address: \n",
    )
    assert run(capsys, "validate", *AZURE, path) == (
        1,
        f'{path}:3:4: error[MASQ023] nonMasqueradeCIDRs[1] is null: the agent reads it as "" '
        f'and refuses the config (CIDR "" could not be parsed, invalid CIDR address: ){FATAL}\n'
        "  3 |   -\n"
        "    |    ^\n"
        "  = hint: Remove the null item, or write the CIDR you mean.\n"
        "\n"
        "1 file, 1 config: 1 error, 0 warnings, 0 infos\n",
        "",
    )


@pytest.mark.parametrize(
    ("text", "stderr"),
    [
        ("", ""),
        ("\n  \n", ""),
        ("# nothing\n", ""),
        ("nonMasqueradeCIDRs: []\n", ""),
        ("nonMasqueradeCIDRs:\n", ""),
        ("masqLinkLocal: null\n", ""),
        (
            "foo: bar\n",
            'masqctl: warning: {path}:1:1: error[MASQ002] unknown key "foo": the agent '
            "silently ignores it (the agent runs this config all the same)\n",
        ),
    ],
    ids=["empty", "whitespace", "comment", "empty-list", "null-list", "null-bool", "no-key"],
)
def test_a_file_without_a_cidr_list_gives_no_cidrs(
    capsys, tmp_path: Path, text: str, stderr: str
) -> None:
    (path,) = write(tmp_path, {"ip-masq-agent": text})
    assert run(capsys, "show", *AZURE, "-c", path) == (
        0,
        EMPTY_JSON + "\n",
        stderr.format(path=path),
    )
    assert run(capsys, "render", *AZURE, "-c", path)[1] == payload("169.254.0.0/16")


def test_a_top_level_list_is_refused(capsys, tmp_path: Path) -> None:
    (path,) = write(tmp_path, {"ip-masq-agent": "[]\n"})
    unmarshal = "json: cannot unmarshal array into Go value of type main.MasqConfig"
    assert run(capsys, "render", *AZURE, "-c", path) == (
        2,
        "",
        f'{REFUSED}failed to unmarshal config file "ip-masq-agent", error: {unmarshal}\n'
        f"{path}:1:1: error[MASQ021] the config is array but the agent needs a mapping of keys "
        f"({unmarshal}){FATAL}\n",
    )


def test_cidr_limit_and_resync_interval_are_ignored_with_a_warning(capsys, tmp_path) -> None:
    (path,) = write(
        tmp_path,
        {
            "ip-masq-agent": "nonMasqueradeCIDRs:\n  - 10.1.0.0/16\ncidrLimit: 2\n"
            "resyncInterval: 5s\nmasqLinkLocal: true\n"
        },
    )
    hint = (
        "  = hint: Remove the key (Azure v2: its limit is 64 CIDRs per file and "
        "--resync-interval is a flag; Cilium has neither).\n"
    )
    assert run(capsys, "validate", *AZURE, path) == (
        0,
        f'{path}:3:1: warning[MASQ028] key "cidrLimit": Azure\'s ip-masq-agent-v2 has no '
        "cidrLimit and ignores this key (its limit is 64 CIDRs per file)\n"
        "  3 | cidrLimit: 2\n"
        "    | ^\n"
        f"{hint}"
        f'{path}:4:1: warning[MASQ028] key "resyncInterval": Azure\'s ip-masq-agent-v2 '
        "ignores this key (its interval is the agent flag --resync-interval, in whole seconds)\n"
        "  4 | resyncInterval: 5s\n"
        "    | ^\n"
        f"{hint}"
        "\n"
        "1 file, 1 config: 0 errors, 2 warnings, 0 infos\n",
        "",
    )
    assert run(capsys, "show", *AZURE, "-c", path) == (
        0,
        '{"nonMasqueradeCIDRs":["10.1.0.0/16"],"masqLinkLocal":true,"masqLinkLocalIPv6":false}\n',
        "",
    )


def test_a_file_takes_64_entries_duplicates_counted(capsys, tmp_path: Path) -> None:
    (full,) = write(tmp_path, {"ip-masq-agent": "nonMasqueradeCIDRs:\n" + "  - 10.0.0.0/8\n" * 64})
    assert run(capsys, "show", *AZURE, "-c", full) == (
        0,
        '{"nonMasqueradeCIDRs":["10.0.0.0/8"],"masqLinkLocal":false,"masqLinkLocalIPv6":false}\n',
        "",
    )
    over = tmp_path / "over"
    over.mkdir()
    (path,) = write(over, {"ip-masq-agent": "nonMasqueradeCIDRs:\n" + "  - 10.0.0.0/8\n" * 65})
    limit = (
        "the daemon can only accept up to 64 CIDRs (excluding link-local), but got 65 CIDRs "
        "(excluding link local)"
    )
    assert run(capsys, "validate", *AZURE, path) == (
        1,
        f"{path}:66:5: error[MASQ009] {limit}{FATAL}\n"
        "  66 |   - 10.0.0.0/8\n"
        "     |     ^\n"
        "  = hint: Merge CIDRs into larger blocks, or split the list across several ip-masq* "
        "keys (the limit is per file; masqctl generate --flavour azure-v2 splits it).\n"
        "\n"
        "1 file, 1 config: 1 error, 0 warnings, 0 infos\n",
        "",
    )
    assert run(capsys, "show", *AZURE, "-c", path)[2] == (
        "masqctl: the agent refuses this config: the daemon encountered an error: error "
        f'syncing configuration: config file "ip-masq-agent" is invalid: {limit}\n'
    )


def test_the_merged_files_have_no_limit(capsys, tmp_path: Path) -> None:
    cidrs = [f"10.{index}.0.0/16" for index in range(80)]
    paths = write(
        tmp_path,
        {
            "ip-masq-a": "nonMasqueradeCIDRs:\n" + "".join(f"  - {c}\n" for c in cidrs[:40]),
            "ip-masq-b": "nonMasqueradeCIDRs:\n" + "".join(f"  - {c}\n" for c in cidrs[40:]),
        },
    )
    assert run(capsys, "validate", *AZURE, *paths) == (
        0,
        "2 files, 2 configs: 0 errors, 0 warnings, 0 infos\n",
        "",
    )
    assert run(capsys, "render", *AZURE, *configs(*paths)) == (
        0,
        payload("169.254.0.0/16", *cidrs),
        ORDER_NOTE,
    )


def test_ipv6_cidrs_need_enable_ipv6(capsys, tmp_path: Path) -> None:
    (path,) = write(tmp_path, {"ip-masq-agent": "nonMasqueradeCIDRs: [10.0.0.0/8, fd00::/8]\n"})
    assert run(capsys, "show", *AZURE, "-c", path)[2] == (
        "masqctl: the agent refuses this config: the daemon encountered an error: error "
        'syncing configuration: config file "ip-masq-agent" is invalid: ipv6 is not enabled, '
        "but ipv6 cidr fd00::/8 provided. Enable ipv6 using --enable-ipv6 agent flag\n"
    )
    ipv6 = run(capsys, "render", *AZURE, "--enable-ipv6", "--family", "ipv6", "-c", path)
    assert ipv6 == (0, payload("fe80::/10", "fd00::/8"), ORDER_NOTE)
    assert len(ipv6[1].encode()) == 411  # F6.2


# ---- the merge: CIDRs united by their text, booleans OR'ed (F4) -------------------------


def test_cidrs_unite_by_exact_text_in_first_seen_order(capsys, tmp_path: Path) -> None:
    (single,) = write(
        tmp_path, {"ip-masq-agent": "nonMasqueradeCIDRs: [10.0.0.0/8, 10.0.0.0/8, 10.0.0.0/08]\n"}
    )
    assert run(capsys, "show", *AZURE, "-c", single) == (
        0,
        '{"nonMasqueradeCIDRs":["10.0.0.0/8","10.0.0.0/08"],"masqLinkLocal":false,'
        '"masqLinkLocalIPv6":false}\n',
        "",
    )
    merge = tmp_path / "merge"
    merge.mkdir()
    paths = write(
        merge,
        {
            "ip-masq-1": "nonMasqueradeCIDRs: [10.1.0.0/16, 10.2.0.0/16]\nmasqLinkLocal: false\n",
            "ip-masq-2": "nonMasqueradeCIDRs: [10.2.0.0/16, 10.3.0.0/16]\nmasqLinkLocal: true\n",
        },
    )
    assert run(capsys, "show", *AZURE, *configs(*paths)) == (
        0,
        '{"nonMasqueradeCIDRs":["10.1.0.0/16","10.2.0.0/16","10.3.0.0/16"],'
        '"masqLinkLocal":true,"masqLinkLocalIPv6":false}\n',
        "",
    )


def test_render_json_says_the_return_rules_are_unordered(capsys) -> None:
    code, out, err = run(capsys, "render", *AZURE, "--format", "json", *configs(USER, RECONCILED))
    assert (code, json.loads(out)["families"]["ipv4"]["order"], err) == (
        0,
        "unordered",
        ORDER_NOTE,
    )
    code, out, err = run(capsys, "render", *AZURE, "--format", "json")
    assert (code, json.loads(out)["families"]["ipv4"]["order"], err) == (0, "ordered", "")


USER_WITHOUT_LIST = """\
apiVersion: v1
data:
  ip-masq-agent: |-
    masqLinkLocal: false
kind: ConfigMap
metadata:
  name: azure-ip-masq-agent-config
  namespace: kube-system
"""


@pytest.fixture
def user_without_list(tmp_path: Path) -> Path:
    """The user's ConfigMap with only masqLinkLocal: false."""
    path = tmp_path / "user.yaml"
    path.write_text(USER_WITHOUT_LIST)
    return path


OR_WARNING = (
    "{path}:4:5: warning[MASQ031] masqLinkLocal is false here, but ip-masq-agent-reconciled "
    "sets it true and Azure's ip-masq-agent-v2 ORs its files' masqLinkLocal: true wins\n"
    "  4 |     masqLinkLocal: false\n"
    "    |     ^\n"
    "  = hint: Set it in one file only, knowing true wins.\n"
)


def test_a_false_bool_that_another_file_makes_true_is_a_warning(
    capsys, user_without_list: Path
) -> None:
    user = user_without_list
    assert run(capsys, "validate", *AZURE, str(user), RECONCILED) == (
        0,
        OR_WARNING.format(path=user) + "\n2 files, 2 configs: 0 errors, 1 warning, 0 infos\n",
        "",
    )
    assert run(capsys, "show", *AZURE, *configs(str(user), RECONCILED)) == (
        0,
        '{"nonMasqueradeCIDRs":["10.244.0.0/16"],"masqLinkLocal":true,"masqLinkLocalIPv6":false}\n',
        "",
    )


def test_a_cidr_inside_another_is_redundant_either_may_come_first(capsys, tmp_path) -> None:
    """F4.2: the RETURN rules come in a new order every sync, so the inner one is not
    unreachable: on some syncs it decides, always with the same verdict."""
    (path,) = write(
        tmp_path, {"ip-masq-agent": "nonMasqueradeCIDRs: [10.0.0.0/8, 10.244.0.0/16]\n"}
    )
    assert run(capsys, "validate", *AZURE, path) == (
        0,
        f'{path}:1:34: warning[MASQ014] CIDR "10.244.0.0/16" is inside "10.0.0.0/8" '
        "(nonMasqueradeCIDRs[0], line 1): redundant: ip-masq-agent-v2 writes its RETURN rules "
        "in a new order every sync, and whichever of the two comes first returns for it\n"
        "  1 | nonMasqueradeCIDRs: [10.0.0.0/8, 10.244.0.0/16]\n"
        "    |                                  ^\n"
        "  = hint: Remove the contained CIDR (reordering the list changes nothing: the agent "
        "shuffles its rules every sync).\n\n1 file, 1 config: 0 errors, 1 warning, 0 infos\n",
        "",
    )


def test_an_earlier_cidr_of_another_file_is_named_with_its_file(capsys, tmp_path) -> None:
    user, reconciled = write(
        tmp_path,
        {
            "ip-masq-agent": "nonMasqueradeCIDRs: [10.0.0.0/8]\n",
            "ip-masq-agent-reconciled": "nonMasqueradeCIDRs: [10.244.0.0/16, 10.0.0.0/08]\n",
        },
    )
    code, out, err = run(capsys, "validate", *AZURE, "--format", "json", user, reconciled)
    messages = [(f["rule"], f["file"], f["message"]) for f in json.loads(out)["findings"]]
    assert (code, err) == (1, "")
    assert messages[:2] == [
        (
            "MASQ014",
            reconciled,
            'CIDR "10.244.0.0/16" is inside "10.0.0.0/8" (nonMasqueradeCIDRs[0], '
            f"{user}:1): redundant: ip-masq-agent-v2 writes its RETURN rules in a new order "
            "every sync, and whichever of the two comes first returns for it",
        ),
        (
            "MASQ013",
            reconciled,
            f'CIDR "10.0.0.0/08" is listed twice (first as nonMasqueradeCIDRs[0], {user}:1)',
        ),
    ]


# ---- defaults only without any ip-masq* file (F4.4) --------------------------------------


def test_the_defaults_apply_only_without_any_file(capsys, tmp_path: Path) -> None:
    flag = "--nomasq-all-reserved-ranges"
    assert run(capsys, "show", *AZURE, flag) == (
        0,
        '{"nonMasqueradeCIDRs":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16","100.64.0.0/10",'
        '"192.0.0.0/24","192.0.2.0/24","192.88.99.0/24","198.18.0.0/15","198.51.100.0/24",'
        '"203.0.113.0/24","240.0.0.0/4"],"masqLinkLocal":false,"masqLinkLocalIPv6":false}\n',
        "",
    )
    (empty,) = write(tmp_path, {"ip-masq-agent": ""})
    assert run(capsys, "show", *AZURE, flag, "-c", empty) == (0, EMPTY_JSON + "\n", "")


NO_CIDRS = (
    "warning[MASQ030] no file lists nonMasqueradeCIDRs: because an ip-masq* file exists, "
    "Azure's ip-masq-agent-v2 uses none of its defaults and masquerades everything but "
    "link-local (on AKS the reconciled file always exists too, so the defaults never apply "
    "there: only the CIDRs AKS puts in it stay unmasqueraded)"
)


def test_validate_says_the_defaults_never_apply_on_aks(capsys, user_without_list: Path) -> None:
    user = user_without_list
    assert run(capsys, "validate", *AZURE, str(user)) == (
        0,
        f"{user}:4:5: {NO_CIDRS}\n"
        "  4 |     masqLinkLocal: false\n"
        "    |     ^\n"
        "  = hint: List the ranges that must keep the pod's address (the pod and service "
        "CIDRs).\n"
        "\n"
        "1 file, 1 config: 0 errors, 1 warning, 0 infos\n",
        "",
    )


def test_validate_reads_the_daemonsets_files_together(capsys, user_without_list: Path) -> None:
    user = user_without_list
    code, out, _ = run(
        capsys,
        "validate",
        "--select",
        "MASQ030,MASQ031,MASQ059",
        DAEMONSETS[0],
        str(user),
        RECONCILED,
    )
    read_as = (
        "info[MASQ059] read as DaemonSet kube-system/azure-ip-masq-agent's agent reads it: "
        "azure-v2, v0.1.15-2, flags --resync-interval=60"
    )
    assert [line for line in out.splitlines() if "[MASQ" in line] == [
        OR_WARNING.format(path=user).splitlines()[0],
        f"{user}:4:5: {read_as}",
        f"{RECONCILED}:4:5: {read_as}",
    ]
    assert code == 0


# ---- flags (F5) -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["render", "validate", "show", "explain"])
@pytest.mark.parametrize(
    ("flag", "name"),
    [
        (["--random-fully"], "random-fully"),
        (["--no-random-fully"], "random-fully"),
        (["--to-ports", "1024-29999"], "to-ports"),
    ],
)
def test_upstreams_own_flags_are_usage_errors(
    capsys, command: str, flag: list[str], name: str
) -> None:
    operand = {"validate": [USER], "explain": ["8.8.8.8"]}.get(command, [])
    assert run(capsys, command, *AZURE, *flag, *operand) == (
        2,
        "",
        f"masqctl: --{name}: Azure's ip-masq-agent-v2 has no such flag (the agent would exit "
        f'with "flag provided but not defined: -{name}" and its pod crash-loop)\n',
    )


def test_the_flavour_from_the_environment_refuses_them_in_a_real_process() -> None:
    result = run_process(
        [sys.executable, "-m", "masqctl", "render", "--to-ports", "1024-29999"],
        env=dict(os.environ, **{ENVIRONMENT: "azure-v2"}),
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        "masqctl: --to-ports: Azure's ip-masq-agent-v2 has no such flag (the agent would exit "
        'with "flag provided but not defined: -to-ports" and its pod crash-loop)\n',
    )


def test_resync_interval_is_whole_seconds_as_go_parses_an_int(capsys) -> None:
    assert run(capsys, "render", *AZURE, "--resync-interval", "30s") == (
        2,
        "",
        'masqctl: invalid value "30s" for flag -resync-interval: parse error\n',
    )
    for text, seconds in (("60", 60), ("060", 48), ("0x3c", 60), ("1_0", 10)):
        out = run(capsys, "render", *AZURE, "--resync-interval", text, "--format", "json")[1]
        assert json.loads(out)["flags"]["resyncInterval"] == seconds


# ---- what it writes (F6) ----------------------------------------------------------------


def test_the_final_masquerade_never_has_random_fully(capsys) -> None:
    for args in ([], configs(DAEMONSETS[0], USER, RECONCILED)):
        out = run(capsys, "render", *AZURE, *args)[1]
        assert out.splitlines()[-2] == MASQUERADE


def test_render_save_prints_what_iptables_save_shows_on_the_node(capsys) -> None:
    node = Path(AKS_NODE).read_text().splitlines()
    agents = [line for line in node if "IP-MASQ-AGENT" in line]
    assert agents[1] == QUOTED_JUMP
    code, out, _ = run(capsys, "render", *AZURE, "--format", "save", *configs(USER, RECONCILED))
    assert (code, out.splitlines()) == (0, agents)


def test_render_json_holds_the_jump_with_its_quotes(capsys) -> None:
    jump = json.loads(run(capsys, "render", *AZURE, "--format", "json")[1])["families"]["ipv4"][
        "jump"
    ]
    comment = (
        '"ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to '
        'our custom IP-MASQ-AGENT chain"'
    )
    assert jump["args"][:4] == ["-m", "comment", "--comment", comment]
    assert jump["text"] == QUOTED_JUMP


def test_diff_of_the_agents_node_is_in_sync(capsys) -> None:
    assert run(capsys, "diff", *AZURE, "--from", AKS_NODE, *configs(USER, RECONCILED)) == (
        0,
        "ipv4: IP-MASQ-AGENT in sync (4 rules, jump present)\n",
        "",
    )


def aks_case(tmp_path: Path) -> list[str]:
    """The files behind azure-v2-upgraded-from-v0.1.8.txt."""
    return write(
        tmp_path,
        {
            "ip-masq-agent": "nonMasqueradeCIDRs:\n  - 192.168.0.0/16\n  - 10.244.0.0/16\n"
            "masqLinkLocal: false\n",
            "ip-masq-agent-reconciled": "nonMasqueradeCIDRs:\n  - 10.224.0.0/12\n"
            "  - 10.244.0.0/16\nmasqLinkLocal: true\n",
        },
    )


UNQUOTED = (
    "a POSTROUTING rule (line 7) also jumps to IP-MASQ-AGENT (the unquoted jump of "
    "kubernetes-sigs/ip-masq-agent and of ip-masq-agent-v2 before v0.1.9, which Azure's agent "
    "neither matches nor deletes; left alone)"
)


def test_upstreams_unquoted_jump_is_another_agents_rule(capsys, tmp_path: Path) -> None:
    # a node upgraded from v0.1.8 keeps both jumps: the agent's -C never matches the old one
    args = ("diff", *AZURE, "--from", UPGRADED_NODE, *configs(*aks_case(tmp_path)))
    assert run(capsys, *args) == (
        0,
        f"ipv4: IP-MASQ-AGENT in sync (4 rules, jump present)\n  {UNQUOTED}\n",
        "",
    )
    jump = json.loads(run(capsys, *args, "--output", "json")[1])["families"][0]["jump"]
    assert jump == {
        "state": "ok",
        "positions": [2],
        "old_format_positions": [],
        "foreign_positions": [1],
        "lines": [8],
        "old_format_lines": [],
        "foreign_lines": [7],
    }


def test_only_upstreams_jump_means_the_agents_own_is_missing(capsys, tmp_path: Path) -> None:
    dump = tmp_path / "dump.txt"
    dump.write_text(
        "".join(
            f"{line}\n"
            for line in Path(UPGRADED_NODE).read_text().splitlines()
            if line != QUOTED_JUMP
        )
    )
    code, out, _ = run(capsys, "diff", *AZURE, "--from", str(dump), *configs(*aks_case(tmp_path)))
    assert (code, out.splitlines()[:3]) == (
        1,
        [
            "ipv4: IP-MASQ-AGENT drifted (1 findings)",
            "  POSTROUTING jump to IP-MASQ-AGENT is missing",
            f"  {UNQUOTED}",
        ],
    )


def reordered(tmp_path: Path, order: list[int]) -> str:
    """The AKS node's dump with its chain's rules (0-3) in ``order``."""
    lines = Path(AKS_NODE).read_text().splitlines()
    first = lines.index(QUOTED_JUMP) + 1
    rules = lines[first : first + 4]
    lines[first : first + 4] = [rules[index] for index in order]
    path = tmp_path / "dump.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_diff_compares_the_return_rules_as_a_set(capsys, tmp_path: Path) -> None:
    assert run(
        capsys,
        "diff",
        *AZURE,
        "--from",
        reordered(tmp_path, [2, 0, 1, 3]),
        *configs(USER, RECONCILED),
    ) == (0, "ipv4: IP-MASQ-AGENT in sync (4 rules, jump present)\n", "")


def test_a_return_rule_after_the_masquerade_is_drift(capsys, tmp_path: Path) -> None:
    code, out, _ = run(
        capsys,
        "diff",
        *AZURE,
        "--from",
        reordered(tmp_path, [0, 1, 3, 2]),
        *configs(USER, RECONCILED),
    )
    assert (code, out.splitlines()[:2]) == (
        1,
        [
            "ipv4: IP-MASQ-AGENT drifted (1 findings)",
            "  rule out of order (line 11): -A IP-MASQ-AGENT -d 10.244.0.0/16 -m comment "
            '--comment "ip-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN',
        ],
    )


# ---- a bad config is fatal, on every node (F7) ------------------------------------------


def test_validate_says_a_refused_config_takes_down_every_node(capsys, tmp_path: Path) -> None:
    user = tmp_path / "user.yaml"
    user.write_text(Path(USER).read_text().replace("10.0.0.0/8", "10.0.0.1/8"))
    assert run(capsys, "validate", *AZURE, str(user), RECONCILED) == (
        1,
        f'{user}:5:9: error[MASQ003] CIDR "10.0.0.1/8" has host bits set; the agent rejects it '
        f"(did you mean 10.0.0.0/8?){FATAL}\n"
        "  5 |       - 10.0.0.1/8\n"
        "    |         ^\n"
        "  = hint: Write the network address, as suggested in the message.\n"
        "\n"
        "2 files, 2 configs: 1 error, 0 warnings, 0 infos\n",
        "",
    )


# ---- show: the agent's "using config:" line (F8) ----------------------------------------


def test_show_prints_the_line_the_agent_logs(capsys, tmp_path: Path) -> None:
    # the e2e run's log of these files (its Go map happened to give first-seen order)
    logged = next(
        line.split("using config: ", 1)[1]
        for line in Path(BAD_FILE_LOG).read_text().splitlines()
        if "using config: " in line
    )
    assert run(capsys, "show", *AZURE, *configs(*aks_case(tmp_path))) == (0, logged + "\n", "")


def test_from_log_takes_the_last_config_before_the_fatal_line(capsys, tmp_path: Path) -> None:
    args = ("show", *AZURE, *configs(*aks_case(tmp_path)), "--from-log", BAD_FILE_LOG)
    assert run(capsys, *args) == (
        0,
        f"the agent runs what the config says ({BAD_FILE_LOG}:6)\n"
        f"  note: {BAD_FILE_LOG}:10 logs a config the agent then refused (error syncing "
        'configuration: config file "ip-masq-zz-bad" is invalid: CIDR "10.0.0.1/8" is not '
        'aligned to a CIDR block, ip: "10.0.0.1" network: "10.0.0.0/8"); it kept the one above\n',
        "",
    )


def test_from_log_refuses_the_partial_config_logged_before_a_fatal_line(
    capsys, tmp_path: Path
) -> None:
    # the "using config:" line of the files merged so far comes before the fatal (F8.2)
    log = tmp_path / "crash.log"
    log.write_text("".join(Path(BAD_FILE_LOG).read_text().splitlines(keepends=True)[-5:]))
    assert run(capsys, "show", *AZURE, "--from-log", str(log)) == (
        2,
        "",
        f"masqctl: {log}: no 'using config:' line of an applied config: every one of them was "
        "refused\n",
    )


def test_from_log_compares_the_cidrs_as_a_set(capsys, tmp_path: Path) -> None:
    (path,) = write(
        tmp_path,
        {
            "ip-masq-agent": "nonMasqueradeCIDRs: [10.224.0.0/12, 10.244.0.0/16, 192.168.0.0/16]\n"
            "masqLinkLocal: true\n"
        },
    )
    assert run(capsys, "show", *AZURE, "-c", path, "--from-log", BAD_FILE_LOG)[:2] == (
        0,
        f"the agent runs what the config says ({BAD_FILE_LOG}:6)\n"
        f"  note: {BAD_FILE_LOG}:10 logs a config the agent then refused (error syncing "
        'configuration: config file "ip-masq-zz-bad" is invalid: CIDR "10.0.0.1/8" is not '
        'aligned to a CIDR block, ip: "10.0.0.1" network: "10.0.0.0/8"); it kept the one above\n',
    )
    path_text = Path(path).read_text().replace("192.168.0.0/16", "192.168.0.0/24")
    Path(path).write_text(path_text)
    assert run(capsys, "show", *AZURE, "-c", path, "--from-log", BAD_FILE_LOG)[:2] == (
        1,
        f"the agent runs another config ({BAD_FILE_LOG}:6):\n"
        '  nonMasqueradeCIDRs: log ["192.168.0.0/16", "10.244.0.0/16", "10.224.0.0/12"], config '
        '["10.224.0.0/12", "10.244.0.0/16", "192.168.0.0/24"]\n'
        f"  note: {BAD_FILE_LOG}:10 logs a config the agent then refused (error syncing "
        'configuration: config file "ip-masq-zz-bad" is invalid: CIDR "10.0.0.1/8" is not '
        'aligned to a CIDR block, ip: "10.0.0.1" network: "10.0.0.0/8"); it kept the one above\n',
    )


# ---- explain ----------------------------------------------------------------------------


def test_explain_answers_from_the_merged_files(capsys) -> None:
    assert run(
        capsys, "explain", *AZURE, *configs(USER, RECONCILED), "10.244.1.5", "169.254.169.254"
    ) == (
        0,
        f"10.244.1.5: no-masquerade: rule 1 of IP-MASQ-AGENT returns for 10.0.0.0/8, from "
        f"nonMasqueradeCIDRs[0] ({USER}:5)\n"
        f"  {RETURN.format('10.0.0.0/8')}\n"
        f"  shadowed: rule 3 of IP-MASQ-AGENT 10.244.0.0/16 (nonMasqueradeCIDRs[0], "
        f"{RECONCILED}:5) also contains it\n"
        "\n"
        # AKS's reconciled file sets masqLinkLocal: the metadata service (IMDS) is masqueraded
        "169.254.169.254: masquerade: no earlier rule matches: rule 4 of IP-MASQ-AGENT, the "
        "final MASQUERADE, masquerades it\n"
        f"  {MASQUERADE}\n"
        "\n",
        ORDER_NOTE,
    )


def test_a_file_name_that_is_not_utf8_is_read_in_byte_order(capsys, tmp_path: Path) -> None:
    # It was an internal error (UnicodeEncodeError: surrogates not allowed).
    (tmp_path / os.fsdecode(b"ip-masq-\xff")).write_text("nonMasqueradeCIDRs: [2.2.0.0/16]\n")
    (tmp_path / "ip-masq-a").write_text("nonMasqueradeCIDRs: [1.1.0.0/16]\n")
    assert run(capsys, "show", *AZURE, "-c", str(tmp_path)) == (
        0,
        '{"nonMasqueradeCIDRs":["1.1.0.0/16","2.2.0.0/16"],'
        '"masqLinkLocal":false,"masqLinkLocalIPv6":false}\n',
        "",
    )
