"""masqctl generate: the exact output of every format, per flavour, and its errors.

The use cases are the ones operators filed upstream: kubernetes-sigs/ip-masq-agent #61
(``10.0.0.0/8`` except ``10.100.10.0/24``) and #198 / PR #206 (masquerade only traffic
to ``10.8.0.0/16``).  Every config written is read back by masqctl's own reader and
must validate clean, even with --strict.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from masqctl.agent import AgentFlags
from masqctl.cli import run_app
from masqctl.config.load import load_config
from masqctl.entry import main
from masqctl.errors import MasqctlError, UsageError
from masqctl.flavours import get_flavour
from masqctl.generate import Intent, generate
from masqctl.render.generated import render_generated

ISSUE_61 = ["--non-masquerade", "10.0.0.0/8", "--except", "10.100.10.0/24"]
ISSUE_198 = ["--masquerade-only", "10.8.0.0/16"]
LINK_LOCAL_KEPT = (
    "# 169.254.0.0/16 (link-local): not masqueraded: masqLinkLocal: false, so the agent "
    "exempts it itself"
)
NO_IPV6 = "# fe80::/10 (IPv6 link-local): left out with all of IPv6 (no --enable-ipv6)"
#: 10.0.0.0/8 without 10.100.10.0/24, as the fewest CIDRs.
ISSUE_61_CIDRS = [
    "10.0.0.0/10",
    "10.64.0.0/11",
    "10.96.0.0/14",
    "10.100.0.0/21",
    "10.100.8.0/23",
    "10.100.11.0/24",
    "10.100.12.0/22",
    "10.100.16.0/20",
    "10.100.32.0/19",
    "10.100.64.0/18",
    "10.100.128.0/17",
    "10.101.0.0/16",
    "10.102.0.0/15",
    "10.104.0.0/13",
    "10.112.0.0/12",
    "10.128.0.0/9",
]
#: Every IPv4 destination but 10.8.0.0/16, as the fewest CIDRs (link-local inside 128/1).
ISSUE_198_CIDRS = [
    "0.0.0.0/5",
    "8.0.0.0/7",
    "10.0.0.0/13",
    "10.9.0.0/16",
    "10.10.0.0/15",
    "10.12.0.0/14",
    "10.16.0.0/12",
    "10.32.0.0/11",
    "10.64.0.0/10",
    "10.128.0.0/9",
    "11.0.0.0/8",
    "12.0.0.0/6",
    "16.0.0.0/4",
    "32.0.0.0/3",
    "64.0.0.0/2",
    "128.0.0.0/1",
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["generate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def items(cidrs: list[str], indent: str = "  ") -> str:
    return "".join(f"{indent}- {cidr}\n" for cidr in cidrs)


def validate_strict(capsys: pytest.CaptureFixture[str], path: Path, *flags: str) -> str:
    code = main(["validate", "--strict", *flags, str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_issue_61_non_masquerade_with_an_exception_is_sixteen_cidrs(capsys, tmp_path):
    code, out, err = run(capsys, *ISSUE_61)
    assert (code, err) == (0, "")
    assert out == (
        "# masqctl generate --non-masquerade 10.0.0.0/8 --except 10.100.10.0/24 "
        "--flavour upstream\n"
        f"{LINK_LOCAL_KEPT}\n{NO_IPV6}\n"
        "nonMasqueradeCIDRs:\n" + items(ISSUE_61_CIDRS) + "masqLinkLocal: false\n"
    )
    path = tmp_path / "config"
    path.write_text(out)
    assert validate_strict(capsys, path) == "1 file, 1 config: 0 errors, 0 warnings, 0 infos\n"


def test_issue_198_masquerade_only_as_a_configmap_the_upstream_daemonset_mounts(capsys, tmp_path):
    code, out, _ = run(capsys, *ISSUE_198, "--output", "configmap")
    header = (
        f"# masqctl generate --masquerade-only 10.8.0.0/16 --flavour upstream\n"
        f"{LINK_LOCAL_KEPT}\n{NO_IPV6}\n"
    )
    assert code == 0
    assert out == (
        header + "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: ip-masq-agent\n"
        "  namespace: kube-system\n"
        "data:\n"
        "  config: |\n"
        + "".join(f"    {line}\n" for line in header.splitlines())
        + "    nonMasqueradeCIDRs:\n"
        + items(ISSUE_198_CIDRS, "      ")
        + "    masqLinkLocal: false\n"
    )
    path = tmp_path / "cm.yaml"
    path.write_text(out)
    validate_strict(capsys, path)
    assert main(["explain", "--config", str(path), "10.8.1.1", "10.9.0.1", "8.8.8.8"]) == 0
    verdicts = [line.split(": ")[1] for line in capsys.readouterr().out.split("\n\n") if line]
    assert verdicts == ["masquerade", "no-masquerade", "no-masquerade"]


def test_gke_writes_what_upstream_writes_under_its_own_name(capsys):
    upstream = run(capsys, *ISSUE_198, "--output", "configmap")[1]
    gke = run(capsys, *ISSUE_198, "--output", "configmap", "--flavour", "gke")[1]
    assert gke == upstream.replace("--flavour upstream", "--flavour gke")


def test_repeated_and_comma_separated_values_mean_the_same(capsys):
    repeated = run(capsys, "--masquerade-only", "10.8.0.0/16", "--masquerade-only", "10.9.0.0/16")
    commas = run(capsys, "--masquerade-only", "10.8.0.0/16, 10.9.0.0/16")
    assert repeated == commas
    assert repeated[1].splitlines()[0] == (
        "# masqctl generate --masquerade-only 10.8.0.0/16,10.9.0.0/16 --flavour upstream"
    )
    assert "  - 10.8.0.0/15\n" not in repeated[1] and "  - 10.10.0.0/15\n" in repeated[1]


def test_typer_app_gives_what_the_fast_path_gives(capsys):
    fast = run(capsys, *ISSUE_61, "--output", "json")
    typer_code = run_app(["generate", *ISSUE_61, "--output", "json"])
    slow = capsys.readouterr()
    assert fast == (typer_code, slow.out, slow.err)


def test_json_says_the_files_the_sets_and_what_happens_to_link_local(capsys):
    code, out, _ = run(capsys, *ISSUE_61, "--enable-ipv6", "--output", "json")
    assert code == 0
    assert json.loads(out) == {
        "intent": "masqctl generate --non-masquerade 10.0.0.0/8 --except 10.100.10.0/24 "
        "--flavour upstream --enable-ipv6",
        "flavour": "upstream",
        "configMap": {"name": "ip-masq-agent", "namespace": "kube-system", "keys": ["config"]},
        "files": {
            "config": {
                "nonMasqueradeCIDRs": ISSUE_61_CIDRS,
                "masqLinkLocal": False,
                "masqLinkLocalIPv6": False,
            }
        },
        "families": {
            "ipv4": {
                "entries": 16,
                "nonMasquerade": [*ISSUE_61_CIDRS, "169.254.0.0/16"],
                "linkLocal": {
                    "cidr": "169.254.0.0/16",
                    "verdict": "no-masquerade",
                    "masqueraded": [],
                },
            },
            "ipv6": {
                "entries": 0,
                "nonMasquerade": ["fe80::/10"],
                "linkLocal": {"cidr": "fe80::/10", "verdict": "no-masquerade", "masqueraded": []},
            },
        },
        "notes": [
            LINK_LOCAL_KEPT[2:],
            "fe80::/10 (IPv6 link-local): not masqueraded: masqLinkLocalIPv6: false, so the "
            "agent exempts it itself",
        ],
    }


@pytest.mark.parametrize(
    ("output_format", "policy"),
    [
        ("windows-v1", '{{"Type": "OutBoundNAT", "ExceptionList": [{}]}}'),
        ("windows-v2", '{{"Type": "OutBoundNAT", "Settings": {{"Exceptions": [{}]}}}}'),
    ],
)
def test_windows_exceptions_list_link_local_first_as_render_does(capsys, output_format, policy):
    code, out, _ = run(capsys, *ISSUE_198, "--output", output_format)
    cidrs = ", ".join(f'"{cidr}"' for cidr in ["169.254.0.0/16", *ISSUE_198_CIDRS])
    assert (code, out) == (0, f'{{"name": "EndpointPolicy", "value": {policy.format(cidrs)}}}\n')


def test_windows_with_ipv6_prints_one_policy_per_family(capsys):
    code, out, _ = run(capsys, *ISSUE_61, "--enable-ipv6", "--output", "windows-v2")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [line["value"]["Settings"]["Exceptions"] for line in lines] == [
        ["169.254.0.0/16", *ISSUE_61_CIDRS],
        ["fe80::/10"],
    ]


def test_an_exception_inside_link_local_masquerades_link_local_and_lists_the_rest(capsys, tmp_path):
    code, out, _ = run(capsys, "--non-masquerade", "10.0.0.0/8", "--except", "169.254.169.254/32")
    assert code == 0
    assert out == (
        "# masqctl generate --non-masquerade 10.0.0.0/8 --except 169.254.169.254/32 "
        "--flavour upstream\n"
        "# 169.254.0.0/16 (link-local): masqueraded only to 169.254.169.254/32: "
        "masqLinkLocal: true, and the list exempts the rest\n"
        f"{NO_IPV6}\n"
        "nonMasqueradeCIDRs:\n"
        + items(
            [
                "10.0.0.0/8",
                "169.254.0.0/17",
                "169.254.128.0/19",
                "169.254.160.0/21",
                "169.254.168.0/24",
                "169.254.169.0/25",
                "169.254.169.128/26",
                "169.254.169.192/27",
                "169.254.169.224/28",
                "169.254.169.240/29",
                "169.254.169.248/30",
                "169.254.169.252/31",
                "169.254.169.255/32",
                "169.254.170.0/23",
                "169.254.172.0/22",
                "169.254.176.0/20",
                "169.254.192.0/18",
            ]
        )
        + "masqLinkLocal: true\n"
    )
    path = tmp_path / "config"
    path.write_text(out)
    validate_strict(capsys, path)


def test_masquerade_only_10_8_is_the_eight_cidrs_written_by_hand(capsys):
    """The list in cilium/cilium#40132; its 128.0.0.0/1 holds link-local anyway."""
    out = run(capsys, "--masquerade-only", "10.0.0.0/8")[1]
    by_hand = ["0.0.0.0/5", "8.0.0.0/7", *ISSUE_198_CIDRS[ISSUE_198_CIDRS.index("11.0.0.0/8") :]]
    assert by_hand[2:4] == ["11.0.0.0/8", "12.0.0.0/6"] and len(by_hand) == 8
    assert out.split("nonMasqueradeCIDRs:\n")[1] == items(by_hand) + "masqLinkLocal: false\n"


def test_between_lists_as_short_the_one_that_means_it_on_its_own_wins(capsys):
    """169.254.0.0/15 is one entry with link-local or without it (169.255.0.0/16)."""
    out = run(capsys, "--non-masquerade", "169.254.0.0/15")[1]
    assert out.endswith("nonMasqueradeCIDRs:\n  - 169.254.0.0/15\nmasqLinkLocal: false\n")


def test_masquerading_everything_is_an_empty_list_said_to_be_meant(capsys, tmp_path):
    code, out, _ = run(capsys, "--masquerade-only", "0.0.0.0/0")
    assert (code, out) == (
        0,
        "# masqctl generate --masquerade-only 0.0.0.0/0 --flavour upstream\n"
        "# 169.254.0.0/16 (link-local): masqueraded: masqLinkLocal: true\n"
        f"{NO_IPV6}\n"
        "nonMasqueradeCIDRs: []  # masqctl: ignore MASQ012 (the intent: nothing else stays "
        "unmasqueraded)\n"
        "masqLinkLocal: true\n",
    )
    path = tmp_path / "config"
    path.write_text(out)
    validate_strict(capsys, path)


@pytest.mark.parametrize("flavour", ["azure-v2", "cilium"])
def test_for_agents_without_defaults_to_fall_back_on_the_empty_list_is_masq030(
    capsys, tmp_path, flavour
):
    code, out, _ = run(capsys, "--masquerade-only", "0.0.0.0/0", "--flavour", flavour)
    assert code == 0
    assert "nonMasqueradeCIDRs: []  # masqctl: ignore MASQ030 (the intent: nothing else " in out
    path = tmp_path / "ip-masq-agent"
    path.write_text(out)
    validate_strict(capsys, path, "--flavour", flavour)


def test_an_ipv4_only_intent_with_ipv6_leaves_all_of_ipv6_unmasqueraded(capsys, tmp_path):
    code, out, _ = run(capsys, "--masquerade-only", "10.8.0.0/16", "--enable-ipv6")
    assert code == 0
    assert out.endswith(
        "  - 128.0.0.0/1\n"
        "  - ::/0  # masqctl: ignore MASQ015 (the intent: no IPv6 destination is masqueraded)\n"
        "masqLinkLocal: false\n"
        "masqLinkLocalIPv6: false\n"
    )
    path = tmp_path / "config"
    path.write_text(out)
    validate_strict(capsys, path, "--enable-ipv6")


def test_the_ipv4_mapped_block_is_never_listed_and_the_header_says_so(capsys, tmp_path):
    code, out, _ = run(capsys, "--masquerade-only", "::fffe:0:0/96", "--enable-ipv6")
    assert code == 0
    assert (
        "# ::ffff:0:0/96 (IPv4-mapped): masqueraded all the same: the agent cannot list it "
        "(it files such CIDRs as IPv4), and no IPv6 packet is sent to it\n"
    ) in out
    assert "::ffff:" not in out.split("nonMasqueradeCIDRs:")[1]
    path = tmp_path / "config"
    path.write_text(out)
    validate_strict(capsys, path, "--enable-ipv6")


def test_cidr_limit_is_raised_when_the_list_needs_it(capsys, tmp_path):
    """Three separate /32s leave 83 blocks: 85 trie nodes on their paths, two children
    each, less the 84 that are path nodes themselves and the 3 addresses."""
    code, out, _ = run(capsys, "--masquerade-only", "192.0.2.1/32,198.51.100.1/32,203.0.113.1/32")
    assert (code, out.count("\n  - ")) == (0, 83)
    assert out.splitlines()[3] == (
        "# cidrLimit raised to 83: the agent refuses a list longer than cidrLimit (default 64)"
    )
    assert out.endswith("cidrLimit: 83\nmasqLinkLocal: false\n")
    path = tmp_path / "config"
    path.write_text(out)
    validate_strict(capsys, path)


def test_from_keeps_the_configs_meaning_and_its_settings(capsys, tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(
        "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 192.168.0.0/16\ncidrLimit: 20\n"
        "masqLinkLocal: true\nresyncInterval: 30s\n"
    )
    code, out, _ = run(capsys, "--from", str(base), "--except", "10.100.10.0/24")
    assert code == 0
    assert out == (
        f"# masqctl generate --from {base} --except 10.100.10.0/24 --flavour upstream\n"
        "# 169.254.0.0/16 (link-local): masqueraded: masqLinkLocal: true\n"
        f"{NO_IPV6}\n"
        "nonMasqueradeCIDRs:\n" + items([*ISSUE_61_CIDRS, "192.168.0.0/16"]) + "cidrLimit: 20\n"
        "masqLinkLocal: true\n"
        "resyncInterval: 30s\n"
    )


def test_from_alone_rewrites_a_config_as_its_shortest_equivalent(capsys, tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("nonMasqueradeCIDRs:\n  - 10.0.0.0/9\n  - 10.128.0.0/9\n  - 10.1.0.0/16\n")
    out = run(capsys, "--from", str(base))[1]
    assert out.endswith("nonMasqueradeCIDRs:\n  - 10.0.0.0/8\nmasqLinkLocal: false\n")


def test_from_without_the_key_starts_from_the_agents_defaults(capsys, tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("masqLinkLocal: false\n")
    plain = run(capsys, "--from", str(base), "--except", "10.100.10.0/24")[1]
    reserved = run(capsys, "--from", str(base), "--nomasq-all-reserved-ranges")[1]
    assert plain.endswith(
        "nonMasqueradeCIDRs:\n"
        + items([*ISSUE_61_CIDRS, "172.16.0.0/12", "192.168.0.0/16"])
        + "masqLinkLocal: false\n"
    )
    assert "  - 100.64.0.0/10\n" in reserved and "  - 240.0.0.0/4\n" in reserved


# ---- flavours the lead is adding: their output rules, from the table ----------------


def rendered(flavour: str, output_format: str, **intent: object) -> str:
    return render_generated(generate(Intent(flavour=flavour, **intent)), flavour, output_format)


def test_cilium_helm_values_hold_the_config_under_ip_masq_agent():
    out = rendered("cilium", "helm-values", masquerade_only=("10.8.0.0/16",))
    assert out == (
        "# masqctl generate --masquerade-only 10.8.0.0/16 --flavour cilium\n"
        f"{LINK_LOCAL_KEPT}\n{NO_IPV6}\n"
        "ipMasqAgent:\n"
        "  enabled: true\n"
        "  config:\n"
        "    nonMasqueradeCIDRs:\n"
        + items(ISSUE_198_CIDRS, "      ")
        + "    masqLinkLocal: false\n"
    )
    values = yaml.safe_load(out)["ipMasqAgent"]
    assert values["config"]["nonMasqueradeCIDRs"] == ISSUE_198_CIDRS


def test_cilium_refuses_more_than_its_map_holds():
    every_other = tuple(f"10.{n >> 15}.{(n >> 7) & 255}.{(2 * n) & 255}/32" for n in range(16384))
    with pytest.raises(MasqctlError) as refused:
        rendered("cilium", "config", non_masquerade=every_other)
    assert str(refused.value) == (
        "the IPv4 list needs 16385 entries in the agent's map (link-local included), which "
        "holds at most 16384: give fewer, larger ranges"
    )
    assert rendered("cilium", "config", non_masquerade=every_other[:-1]).count("\n  - ") == 16383


def test_cilium_and_azure_write_no_cidr_limit(capsys):
    addresses = tuple(f"203.0.113.{2 * n}/32" for n in range(8))
    for flavour in ("cilium", "azure-v2"):
        out = rendered(flavour, "configmap", masquerade_only=addresses)
        assert "cidrLimit" not in out


def azure_split() -> tuple[tuple[str, ...], str]:
    """65 separate /32s: one more than ip-masq-agent-v2 takes from one file."""
    cidrs = tuple(f"10.0.{n // 128}.{(2 * n) % 256}/32" for n in range(65))
    return cidrs, rendered("azure-v2", "configmap", non_masquerade=cidrs)


def test_azure_splits_more_than_64_cidrs_across_ip_masq_agent_keys():
    cidrs, out = azure_split()
    header = (
        f"# masqctl generate --non-masquerade {','.join(cidrs)} --flavour azure-v2\n"
        f"{LINK_LOCAL_KEPT}\n{NO_IPV6}\n"
    )
    indented = "".join(f"    {line}\n" for line in header.splitlines())
    merged = (
        "# file {} of 2: the agent reads every file whose name starts with ip-masq and "
        "merges their lists"
    )
    assert out == (
        header + "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: azure-ip-masq-agent-config\n"
        "  namespace: kube-system\n"
        "  labels:\n"
        "    component: ip-masq-agent\n"
        '    kubernetes.io/cluster-service: "true"\n'
        "    addonmanager.kubernetes.io/mode: EnsureExists\n"
        "data:\n"
        "  ip-masq-agent: |\n"
        + indented
        + f"    {merged.format(1)}\n"
        + "    nonMasqueradeCIDRs:\n"
        + items(list(cidrs[:64]), "      ")
        + "    masqLinkLocal: false\n"
        "  ip-masq-agent-2: |\n"
        + indented
        + f"    {merged.format(2)}\n"
        + "    nonMasqueradeCIDRs:\n"
        + items(list(cidrs[64:]), "      ")
        + "    masqLinkLocal: false\n"
    )


def test_each_azure_key_is_a_config_the_agent_accepts(capsys, tmp_path):
    _, out = azure_split()
    data = yaml.safe_load(out)["data"]
    assert list(data) == ["ip-masq-agent", "ip-masq-agent-2"]
    for key, text in data.items():
        path = tmp_path / key
        path.write_text(text)
        assert (
            len(
                load_config([str(path)], AgentFlags(), get_flavour("upstream")).non_masquerade_cidrs
            )
            <= 64
        )
        validate_strict(capsys, path)


def test_an_unknown_flavour_is_refused_with_the_choices():
    with pytest.raises(UsageError) as refused:
        rendered("kops", "config", masquerade_only=("10.8.0.0/16",))
    assert str(refused.value) == (
        "unknown flavour 'kops' (choose from upstream, gke, azure-v2, cilium)"
    )


def test_a_raw_config_cannot_hold_an_azure_split():
    cidrs, _ = azure_split()
    with pytest.raises(UsageError) as refused:
        rendered("azure-v2", "config", non_masquerade=cidrs)
    assert str(refused.value) == (
        "azure-v2 reads at most 64 CIDRs per file and this list has 65: use --output "
        "configmap, which splits it across the data keys ip-masq-agent, ip-masq-agent-2, ..."
    )


# ---- errors: one line, exit 2 -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [],
            "say what to generate: --masquerade-only CIDR..., or --non-masquerade CIDR... "
            "and/or --from CONFIG, with --except CIDR... for the exceptions",
        ),
        (
            ["--except", "10.0.0.0/8"],
            "say what to generate: --masquerade-only CIDR..., or --non-masquerade CIDR... "
            "and/or --from CONFIG, with --except CIDR... for the exceptions",
        ),
        (
            [*ISSUE_198, "--except", "10.8.1.0/24"],
            "--masquerade-only already says that everything else is not masqueraded: give it "
            "alone, or use --non-masquerade/--from with --except",
        ),
        (
            ["--masquerade-only", "10.0.0.1/8"],
            '--masquerade-only: CIDR "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)',
        ),
        (
            ["--except", "10.0.0/8", "--non-masquerade", "10.0.0.0/8"],
            "--except: invalid CIDR address: 10.0.0/8",
        ),
        (
            ["--masquerade-only", "10.0.0.0/8,"],
            "--masquerade-only: empty CIDR in '10.0.0.0/8,'",
        ),
        (
            ["--non-masquerade", "2001:db8::/32"],
            '--non-masquerade: "2001:db8::/32" is IPv6: add --enable-ipv6 (the agent refuses '
            "IPv6 CIDRs without it)",
        ),
        (
            ["--masquerade-only", "::ffff:10.0.0.0/104", "--enable-ipv6"],
            '--masquerade-only: "::ffff:10.0.0.0/104" is an IPv4-mapped IPv6 CIDR, which the '
            "agent files as IPv4; write 10.0.0.0/8",
        ),
        (
            [*ISSUE_198, "--output", "yaml"],
            "unknown output 'yaml' (choose from config, configmap, helm-values, windows-v1, "
            "windows-v2, json)",
        ),
        (
            [*ISSUE_198, "--output", "helm-values"],
            "--output helm-values is for Cilium's Helm chart (ipMasqAgent.config); upstream "
            "takes a ConfigMap: use --output configmap",
        ),
        (["--from", "/nonexistent.yaml"], "/nonexistent.yaml: no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert (code, out, err) == (2, "", f"masqctl: {message}\n")


def test_from_refuses_a_config_the_agent_refuses(capsys, tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("nonMasqueradeCIDRs:\n  - fd00::/8\n")
    code, out, err = run(capsys, "--from", str(base))
    assert (code, out) == (2, "")
    assert err.startswith("masqctl: the agent refuses this config (")
    assert "error[MASQ008]" in err


@pytest.mark.parametrize(
    ("cidr", "problem"),
    [
        ('"::ffff:10.0.0.0/104"', "-d ::ffff:10.0.0.0/104: invalid mask `104' specified"),
        ("10.0.0.0/08", "-d 10.0.0.0/08: invalid mask `08' specified"),
    ],
)
def test_from_refuses_a_config_whose_payload_iptables_restore_rejects(
    capsys, tmp_path, cidr, problem
):
    base = tmp_path / "base.yaml"
    base.write_text(f"nonMasqueradeCIDRs: [{cidr}, 10.1.0.0/16]\n")
    code, out, err = run(capsys, "--from", str(base))
    assert (code, out, err) == (
        2,
        "",
        f"masqctl: {base}: the agent writes a payload iptables-restore rejects for this config "
        f"({problem}), so every sync fails and it means nothing to start from: fix it first "
        f"(masqctl validate {base})\n",
    )
