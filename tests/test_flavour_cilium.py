"""--flavour cilium: Cilium's BPF ip-masq-agent, rule by rule, with exact outputs.

The inputs are shaped as Cilium's users really have them: the ip-masq-agent ConfigMap as
the Helm chart renders ``ipMasqAgent.config`` (JSON under ``config: |-``), ConfigMaps made
with ``kubectl create configmap --from-file=config=...``, and ``cilium-dbg bpf ipmasq list``
output as cilium-dbg prints it (tests/data/cilium/, tests/data/README.md says how each was
made).  The agent's results and error texts were taken from Cilium's own code
(pkg/ipmasq/ipmasq.go run on the same files).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from masqctl.entry import main

DATA = Path(__file__).parent / "data"
HELM_TEMPLATE = "data/cluster/cilium-helm-template.yaml"
REFUSES = (
    'masqctl: the agent refuses this config (it logs a warning ("Failed to update") and '
    "leaves its maps as they are; a new node gets an empty map, without even link-local): "
)
#: The eleven reserved IPv4 ranges and link-local: the map without a config file.
DEFAULT_MAP = (
    "10.0.0.0/8\n100.64.0.0/10\n169.254.0.0/16\n172.16.0.0/12\n192.0.0.0/24\n192.0.2.0/24\n"
    "192.88.99.0/24\n192.168.0.0/16\n198.18.0.0/15\n198.51.100.0/24\n203.0.113.0/24\n"
    "240.0.0.0/4\n"
)


def helm_configmap(config: object) -> str:
    """The ip-masq-agent ConfigMap ``helm template`` prints for ``ipMasqAgent.config``:
    the chart's ``toJson`` (encoding/json.Marshal: keys sorted, no spaces, which is
    json.dumps's for ASCII text without <, > and &) under ``config: |-``."""
    body = json.dumps(config, separators=(",", ":"), sort_keys=True)
    return (
        "---\n# Source: cilium/templates/cilium-configmap.yaml\napiVersion: v1\nkind: ConfigMap\n"
        "metadata:\n  name: ip-masq-agent\n  namespace: kube-system\ndata:\n  config: |-\n"
        f"    {body}\n"
    )


#: What every command says first when the Helm template (with the cilium DaemonSet) is read.
HELM_NOTE = (
    "masqctl: note: read as DaemonSet kube-system/cilium's agent reads it: cilium, v1.17.7, "
    "flags --enable-ipv4-masquerade=true --enable-ipv6-masquerade=false\n"
)


def masqctl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``masqctl ARGS...``: exit code, stdout, stderr (after the note on the Helm
    template's DaemonSet, which must come first when it is read)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    if HELM_TEMPLATE in args and args[0] != "validate":
        assert err.startswith(HELM_NOTE)
        err = err.removeprefix(HELM_NOTE)
    return code, out, err


def cilium(capsys: pytest.CaptureFixture[str], command: str, *args: str) -> tuple[int, str, str]:
    """``masqctl COMMAND --flavour cilium ARGS...``: exit code, stdout, stderr."""
    return masqctl(capsys, command, "--flavour", "cilium", *args)


@pytest.fixture
def no_programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty PATH for refusals of live commands (apply, diff, explain --live) run in
    this process on the host: were one no longer refused, no iptables could run."""
    (tmp_path / "no-programs").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in a scratch directory where ``data`` is tests/data, so paths in
    messages read as the tests name them."""
    (tmp_path / "data").symlink_to(DATA)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def helm():  # type: ignore[no-untyped-def]
    """Write the chart's ConfigMap for a config as ``cm.yaml``; its name."""

    def write(config: object) -> str:
        Path("cm.yaml").write_text(helm_configmap(config))
        return "cm.yaml"

    return write


def stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


# ---- the inputs: the chart's rendering ---------------------------------------------------


def _rendered_configmap(path: str) -> str:
    """The ip-masq-agent document of a ``helm template`` output."""
    text = Path(path).read_text()
    start = text.index(
        "---\n# Source: cilium/templates/cilium-configmap.yaml\napiVersion: v1\n"
        "kind: ConfigMap\nmetadata:\n  name: ip-masq-agent\n"
    )
    end = text.find("\n---", start + 1)
    return text[start : end + 1 if end >= 0 else len(text)]


@pytest.mark.parametrize(
    ("values", "rendered"),
    [
        ("data/cluster/cilium-values.yaml", HELM_TEMPLATE),
        ("data/cilium/values-dual-stack.yaml", "data/cilium/helm-dual-stack.yaml"),
        ("data/cilium/values-host-bits.yaml", "data/cilium/helm-host-bits.yaml"),
        ("data/cilium/values-empty-list.yaml", "data/cilium/helm-empty-list.yaml"),
    ],
)
def test_helm_configmap_is_what_the_chart_renders(values: str, rendered: str) -> None:
    import yaml

    config = yaml.safe_load(Path(values).read_text())["ipMasqAgent"]["config"]
    assert helm_configmap(config) == _rendered_configmap(rendered)


def findings(capsys: pytest.CaptureFixture[str], *args: str) -> list[tuple[str, int, int, str]]:
    """validate --flavour cilium --format json ARGS: (rule, line, column, message) of each."""
    code, out, err = cilium(capsys, "validate", "--format", "json", *args)
    assert (code in (0, 1), err) == (True, "")
    return [(f["rule"], f["line"], f["column"], f["message"]) for f in json.loads(out)["findings"]]


# ---- which file, which keys ---------------------------------------------------------------


def test_the_charts_configmap_key_config_is_the_file_read(capsys) -> None:
    """helm template output: the DaemonSet's image says cilium, its volume mounts the
    ip-masq-agent ConfigMap's key config as /etc/config/ip-masq-agent."""
    for form in ((), ("--format", "cilium-map")):
        assert masqctl(capsys, "render", "-c", HELM_TEMPLATE, *form) == (
            0,
            "10.0.0.0/8\n169.254.0.0/16\n192.168.0.0/16\n",
            "",
        )


def test_a_docker_hub_short_image_name_is_ciliums_agent_too(capsys) -> None:
    """``cilium/cilium`` is docker.io/cilium/cilium, as the container runtime pulls it."""
    template = Path(HELM_TEMPLATE).read_text()
    Path("short.yaml").write_text(
        template.replace('"quay.io/cilium/cilium:v1.17.7@sha256:', '"cilium/cilium:v1.17.7@sha256:')
    )
    assert masqctl(capsys, "render", "-c", "short.yaml") == (
        0,
        "10.0.0.0/8\n169.254.0.0/16\n192.168.0.0/16\n",
        HELM_NOTE,
    )


def test_other_keys_of_the_configmap_are_not_read(capsys) -> None:
    Path("cm.yaml").write_text(
        helm_configmap({"nonMasqueradeCIDRs": ["10.0.0.0/8"]})
        + '  ip-masq-agent: |-\n    {"nonMasqueradeCIDRs":["172.16.0.0/12"]}\n'
    )
    assert cilium(capsys, "render", "-c", "cm.yaml") == (0, "10.0.0.0/8\n169.254.0.0/16\n", "")


def test_a_configmap_without_key_config_gives_nothing_to_read(capsys) -> None:
    Path("cm.yaml").write_text(helm_configmap({}).replace("  config: |-", "  ip-masq-agent: |-"))
    assert cilium(capsys, "render", "-c", "cm.yaml") == (
        2,
        "",
        "masqctl: cm.yaml: no config that Cilium's ip-masq-agent reads (a raw config file, or "
        "a ConfigMap's data key config)\n",
    )


def test_two_config_files_are_refused_the_agent_reads_one(capsys, helm) -> None:
    helm({"nonMasqueradeCIDRs": ["10.0.0.0/8"]})
    assert cilium(capsys, "render", "-c", "cm.yaml", "-c", "data/cilium/helm-empty-list.yaml") == (
        2,
        "",
        "masqctl: Cilium's ip-masq-agent reads one config file (/etc/config/ip-masq-agent); "
        "got 2: cm.yaml, data/cilium/helm-empty-list.yaml\n",
    )


def test_keys_match_case_insensitively_and_unknown_keys_are_ignored(capsys, helm) -> None:
    helm({"NonMasqueradeCIDRs": ["10.0.0.0/8"], "MASQLINKLOCAL": True, "foo": "bar"})
    assert cilium(capsys, "render", "-c", "cm.yaml") == (
        0,
        "10.0.0.0/8\n",  # masqLinkLocal: true, so no 169.254.0.0/16
        'masqctl: warning: cm.yaml:10:63: error[MASQ002] unknown key "foo": the agent silently '
        "ignores it (the agent runs this config all the same)\n",
    )
    assert findings(capsys, "cm.yaml") == [
        (
            "MASQ007",
            10,
            6,
            'key "MASQLINKLOCAL" is read by the agent as "masqLinkLocal" (keys match '
            'case-insensitively); spell it "masqLinkLocal"',
        ),
        (
            "MASQ007",
            10,
            27,
            'key "NonMasqueradeCIDRs" is read by the agent as "nonMasqueradeCIDRs" (keys match '
            'case-insensitively); spell it "nonMasqueradeCIDRs"',
        ),
        ("MASQ002", 10, 63, 'unknown key "foo": the agent silently ignores it'),
    ]


def test_cidr_limit_and_resync_interval_are_never_read(capsys, helm) -> None:
    """Two CIDRs with cidrLimit 1: Cilium has no limit, both are in the map."""
    helm(
        {
            "nonMasqueradeCIDRs": ["10.0.0.0/8", "192.168.0.0/16"],
            "cidrLimit": 1,
            "resyncInterval": "60s",
        }
    )
    assert findings(capsys, "cm.yaml") == [
        (
            "MASQ028",
            10,
            6,
            'key "cidrLimit": Cilium\'s ip-masq-agent has no cidrLimit and ignores this key',
        ),
        (
            "MASQ028",
            10,
            73,
            'key "resyncInterval": Cilium\'s ip-masq-agent ignores this key (it rereads the file '
            "when it changes)",
        ),
    ]
    assert cilium(capsys, "render", "-c", "cm.yaml") == (
        0,
        "10.0.0.0/8\n169.254.0.0/16\n192.168.0.0/16\n",
        "",
    )


# ---- CIDRs: netip.ParsePrefix, then masked -----------------------------------------------


def test_host_bits_are_masked_with_a_warning_and_duplicates_collapse(capsys) -> None:
    path = "data/cilium/helm-host-bits.yaml"
    assert findings(capsys, path) == [
        (
            "MASQ029",
            10,
            28,
            'CIDR "10.244.1.0/16" has host bits set: Cilium masks it to 10.244.0.0/16 without a '
            "word (did you mean that network?)",
        ),
        (
            "MASQ013",
            10,
            44,
            'CIDR "10.244.0.0/16" is listed twice (first as nonMasqueradeCIDRs[0], line 10)',
        ),
        (
            "MASQ029",
            10,
            60,
            'CIDR "192.168.10.1/24" has host bits set: Cilium masks it to 192.168.10.0/24 '
            "without a word (did you mean that network?)",
        ),
    ]
    assert cilium(capsys, "render", "-c", path) == (
        0,
        "10.244.0.0/16\n169.254.0.0/16\n192.168.10.0/24\n",
        "",
    )
    out = cilium(capsys, "render", "-c", path, "--format", "json")[1]
    entries = json.loads(out)["maps"]["ipv4"]["entries"]
    assert [(entry["cidr"], entry["label"]) for entry in entries] == [
        ("10.244.0.0/16", "nonMasqueradeCIDRs[0]"),
        ("169.254.0.0/16", "link-local default"),
        ("192.168.10.0/24", "nonMasqueradeCIDRs[2]"),
    ]
    assert cilium(capsys, "show", "-c", path) == (
        0,
        '{"nonMasqueradeCIDRs":["10.244.0.0/16","192.168.10.0/24"],"masqLinkLocal":false,'
        '"masqLinkLocalIPv6":false}\n',
        "",
    )


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ('"10.0.0.0"', 'Invalid CIDR "10.0.0.0": netip.ParsePrefix("10.0.0.0"): no \'/\''),
        (
            '"010.0.0.0/8"',
            'Invalid CIDR "010.0.0.0/8": netip.ParsePrefix("010.0.0.0/8"): '
            'ParseAddr("010.0.0.0"): IPv4 field has octet with leading zero',
        ),
        (
            '"10.0.0.0/08"',
            'Invalid CIDR "10.0.0.0/08": netip.ParsePrefix("10.0.0.0/08"): bad bits after '
            'slash: "08"',
        ),
        (
            '"fe80::1%eth0/64"',
            'Invalid CIDR "fe80::1%eth0/64": netip.ParsePrefix("fe80::1%eth0/64"): IPv6 zones '
            "cannot be present in a prefix",
        ),
        (
            '"10.0.0.0/33"',
            'Invalid CIDR "10.0.0.0/33": netip.ParsePrefix("10.0.0.0/33"): prefix length out of '
            "range",
        ),
        (
            '"::/129"',
            'Invalid CIDR "::/129": netip.ParsePrefix("::/129"): prefix length out of range',
        ),
        (
            '" 10.0.0.0/8"',
            'Invalid CIDR " 10.0.0.0/8": netip.ParsePrefix(" 10.0.0.0/8"): ParseAddr(" 10.0.0.0"): '
            'unexpected character (at " 10.0.0.0")',
        ),
        (
            '"10.0.0.0/8 "',
            'Invalid CIDR "10.0.0.0/8 ": netip.ParsePrefix("10.0.0.0/8 "): bad bits after slash: '
            '"8 "',
        ),
        (
            '"10.0.0.0 /8"',
            'Invalid CIDR "10.0.0.0 /8": netip.ParsePrefix("10.0.0.0 /8"): ParseAddr("10.0.0.0 "): '
            'unexpected character (at " ")',
        ),
        ("null", "Invalid CIDR: null"),
        ("10", "Invalid CIDR: 10"),
    ],
    ids=[
        "no-prefix",
        "leading-zero",
        "prefix-leading-zero",
        "zone",
        "v4-out-of-range",
        "v6-out-of-range",
        "leading-space",
        "trailing-space",
        "space-before-slash",
        "null",
        "number",
    ],
)
def test_a_cidr_netip_refuses_makes_the_agent_keep_its_maps(capsys, item, error) -> None:
    """The chart renders a values list item as JSON; Cilium's Ipnet gets the raw token."""
    Path("cm.yaml").write_text(
        helm_configmap({"nonMasqueradeCIDRs": ["10.0.0.0/8", "ITEM"]}).replace('"ITEM"', item)
    )
    assert cilium(capsys, "render", "-c", "cm.yaml") == (
        2,
        "",
        f"{REFUSES}Failed to de-serialize json: {error}\n"
        f"cm.yaml:10:41: error[MASQ004] nonMasqueradeCIDRs[1]: {error}\n",
    )
    assert findings(capsys, "cm.yaml") == [("MASQ004", 10, 41, f"nonMasqueradeCIDRs[1]: {error}")]


def test_a_yaml_item_reaches_cilium_as_the_json_to_json_makes_of_it(capsys) -> None:
    """ToJSON marshals the item go-yaml decoded: the last of equal keys, keys sorted,
    YAML 1.1's ``y`` a bool."""
    Path("c.yaml").write_text("nonMasqueradeCIDRs: [{b: 1, a: [x, y], b: 2}]\n")
    error = 'Invalid CIDR: {"a":["x",true],"b":2}'
    assert cilium(capsys, "render", "-c", "c.yaml") == (
        2,
        "",
        f"{REFUSES}Failed to de-serialize json: {error}\n"
        f"c.yaml:1:22: error[MASQ004] nonMasqueradeCIDRs[0]: {error}\n",
    )


def test_json_escapes_inside_a_cidr_are_not_undone(capsys) -> None:
    """A JSON file from a tool that escapes '/' (PHP's json_encode does): Cilium trims
    the quotes off the raw token, so the backslash stays in the text it parses."""
    error = (
        'Invalid CIDR "10.0.0.0\\\\/8": netip.ParsePrefix("10.0.0.0\\\\/8"): '
        'ParseAddr("10.0.0.0\\\\"): unexpected character (at "\\\\")'
    )
    path = "data/cilium/kubectl-escaped-slash.yaml"
    assert cilium(capsys, "render", "-c", path) == (
        2,
        "",
        f"{REFUSES}Failed to de-serialize json: {error}\n"
        f"{path}:4:28: error[MASQ004] nonMasqueradeCIDRs[0]: {error}\n",
    )


def test_an_ipv4_mapped_ipv6_prefix_goes_to_the_ipv6_map(capsys, helm) -> None:
    helm({"nonMasqueradeCIDRs": ["::ffff:10.0.0.0/104"]})
    assert cilium(capsys, "render", "-c", "cm.yaml") == (0, "169.254.0.0/16\n", "")
    assert cilium(capsys, "render", "-c", "cm.yaml", "--enable-ipv6-masquerade") == (
        0,
        "169.254.0.0/16\n::ffff:10.0.0.0/104\nfe80::/10\n",
        "",
    )
    assert cilium(capsys, "explain", "-c", "cm.yaml", "10.1.2.3")[1] == (
        "10.1.2.3: masquerade: no prefix of cilium_ipmasq_v4 matches: Cilium's BPF "
        "masquerading SNATs it\n"
        "  note: Cilium leaves traffic to its native-routing CIDR (ipv4-native-routing-cidr, "
        "ipv6-native-routing-cidr in cilium-config) unmasqueraded too, though it is never in "
        "the map\n\n"
    )


# ---- defaults: only without a file, or a zero-byte one -------------------------------------


@pytest.mark.parametrize("config", [None, "data/cilium/kubectl-zero-bytes.yaml"])
def test_the_reserved_ranges_apply_without_a_file_or_with_zero_bytes(capsys, config) -> None:
    args = ["-c", config] if config else []
    assert cilium(capsys, "render", *args) == (0, DEFAULT_MAP, "")
    assert cilium(capsys, "render", *args, "--enable-ipv6-masquerade") == (
        0,
        DEFAULT_MAP + "fe80::/10\n",  # no IPv6 defaults: link-local only
        "",
    )


def test_a_zero_byte_file_raises_no_warning(capsys) -> None:
    assert findings(capsys, "data/cilium/kubectl-zero-bytes.yaml") == []


NO_DEFAULTS = (
    "the file lists no nonMasqueradeCIDRs and is not empty: Cilium's ip-masq-agent uses its "
    "default ranges only when the file is missing or zero bytes, so only link-local is left "
    "unmasqueraded (copying the chart's commented example does this)"
)


@pytest.mark.parametrize(
    ("path", "position", "left"),
    [
        ("data/cilium/kubectl-commented-example.yaml", (4, 5), "169.254.0.0/16\n"),
        ("data/cilium/helm-empty-list.yaml", (10, 6), "169.254.0.0/16\n"),
        ("data/cilium/kubectl-braces.yaml", (3, 11), "169.254.0.0/16\n"),
        ("data/cilium/kubectl-newline.yaml", (4, 5), "169.254.0.0/16\n"),
        ("cm.yaml", (10, 5), ""),
    ],
    ids=["commented-example", "empty-list", "braces", "newline", "only-masqLinkLocal"],
)
def test_any_other_file_without_cidrs_drops_the_defaults_with_a_warning(
    capsys, helm, path, position, left
) -> None:
    """Only masqLinkLocal: true leaves not even 169.254.0.0/16: the IPv4 map is empty."""
    helm({"masqLinkLocal": True})
    assert findings(capsys, path) == [("MASQ030", *position, NO_DEFAULTS)]
    assert cilium(capsys, "render", "-c", path) == (0, left, "")


def test_a_generated_empty_list_says_it_is_meant(capsys) -> None:
    code, out, _ = masqctl(
        capsys, "generate", "--masquerade-only", "0.0.0.0/0", "--flavour", "cilium"
    )
    assert (code, out.splitlines()[3:]) == (
        0,
        [
            "nonMasqueradeCIDRs: []  # masqctl: ignore MASQ030 (the intent: nothing else stays "
            "unmasqueraded)",
            "masqLinkLocal: true",
        ],
    )
    Path("config").write_text(out)
    assert cilium(capsys, "validate", "--strict", "config") == (
        0,
        "1 file, 1 config: 0 errors, 0 warnings, 0 infos\n",
        "",
    )


# ---- link-local and the two maps ---------------------------------------------------------


def test_link_local_is_in_each_map_unless_masq_link_local_says_otherwise(capsys, helm) -> None:
    dual = ("--enable-ipv6-masquerade",)
    helm({"nonMasqueradeCIDRs": ["10.0.0.0/8", "fd00:10:244::/56"]})
    assert cilium(capsys, "render", "-c", "cm.yaml", *dual)[1] == (
        "10.0.0.0/8\n169.254.0.0/16\nfd00:10:244::/56\nfe80::/10\n"
    )
    helm({"nonMasqueradeCIDRs": ["10.0.0.0/8", "fd00:10:244::/56"], "masqLinkLocal": True})
    assert cilium(capsys, "render", "-c", "cm.yaml", *dual)[1] == (
        "10.0.0.0/8\nfd00:10:244::/56\nfe80::/10\n"
    )
    helm({"nonMasqueradeCIDRs": ["10.0.0.0/8", "fd00:10:244::/56"], "masqLinkLocalIPv6": True})
    assert cilium(capsys, "render", "-c", "cm.yaml", *dual)[1] == (
        "10.0.0.0/8\n169.254.0.0/16\nfd00:10:244::/56\n"
    )


def test_a_listed_link_local_range_stays_with_masq_link_local(capsys, helm) -> None:
    helm({"nonMasqueradeCIDRs": ["169.254.0.0/16"], "masqLinkLocal": True})
    assert cilium(capsys, "render", "-c", "cm.yaml") == (0, "169.254.0.0/16\n", "")


@pytest.mark.parametrize(
    ("flags", "maps"),
    [
        ((), "10.96.0.0/12\n10.244.0.0/16\n169.254.0.0/16\n"),
        (
            ("--enable-ipv6-masquerade",),
            "10.96.0.0/12\n10.244.0.0/16\n169.254.0.0/16\n2001:db8:1234:5600::/56\n"
            "fd00:10:96::/112\nfd00:10:244::/56\nfe80::/10\n",
        ),
        (
            ("--enable-ipv6-masquerade", "--no-enable-ipv4-masquerade"),
            "2001:db8:1234:5600::/56\nfd00:10:96::/112\nfd00:10:244::/56\nfe80::/10\n",
        ),
        (("--no-enable-ipv4-masquerade",), ""),
    ],
    ids=["default-v4-only", "both", "v6-only", "neither"],
)
def test_each_map_exists_only_with_its_familys_masquerading(capsys, flags, maps) -> None:
    """Sorted by address per map, IPv4 first: an LPM trie has no rule order."""
    assert cilium(capsys, "render", "-c", "data/cilium/helm-dual-stack.yaml", *flags) == (
        0,
        maps,
        "",
    )


def test_render_of_one_family_without_its_map_is_refused(capsys) -> None:
    assert cilium(capsys, "render", "--family", "ipv6") == (
        2,
        "",
        "masqctl: --family ipv6: Cilium makes no cilium_ipmasq_v6 map without "
        "enable-ipv6-masquerade (--enable-ipv6-masquerade)\n",
    )
    assert cilium(capsys, "render", "--family", "ipv6", "--enable-ipv6-masquerade") == (
        0,
        "fe80::/10\n",
        "",
    )


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("bogus", """not a CIDR (netip.ParsePrefix("bogus"): no '/')"""),
        ("fd00::/8", "not an IPv4 CIDR"),
    ],
)
def test_a_native_routing_cidr_masqctl_cannot_read_is_one_error_line(
    capsys, value: str, why: str
) -> None:
    for command in (("render",), ("explain", "10.1.1.1")):
        assert cilium(capsys, *command, "--ipv4-native-routing-cidr", value)[::2] == (
            2,
            f"masqctl: --ipv4-native-routing-cidr {value!r}: {why}\n",
        )


def test_an_upstream_agent_flag_is_no_setting_of_cilium(capsys) -> None:
    assert cilium(capsys, "render", "--masq-chain", "IP-MASQ") == (
        2,
        "",
        "masqctl: --masq-chain: Cilium's ip-masq-agent has no such setting (it reads only "
        "enable-ipv4-masquerade, enable-ipv6-masquerade and ipv4-native-routing-cidr from "
        "cilium-config)\n",
    )


@pytest.mark.parametrize(
    ("cidr", "family", "key"),
    [
        ("10.{high}.{low}.0/24", "v4", "masqLinkLocal"),
        ("fd00:{high:x}:{low:x}::/48", "v6", "masqLinkLocalIPv6"),
    ],
    ids=["ipv4", "ipv6"],
)
def test_more_prefixes_than_a_map_holds_is_an_error(capsys, helm, cidr, family, key) -> None:
    """16,384 CIDRs and link-local: one insert fails, silently, and which one is random."""
    cidrs = [cidr.format(high=index >> 8, low=index & 255) for index in range(16384)]
    helm({"nonMasqueradeCIDRs": cidrs})
    assert findings(capsys, "cm.yaml", "--enable-ipv6-masquerade") == [
        (
            "MASQ032",
            10,
            6,
            f"16385 prefixes for cilium_ipmasq_{family}, which holds 16384: the inserts past it "
            "fail without a word (which ones is random)",
        )
    ]
    helm({"nonMasqueradeCIDRs": cidrs, key: True})
    assert findings(capsys, "cm.yaml", "--enable-ipv6-masquerade") == []


# ---- a bad file: a warning in the agent's log, the maps left as they are ----------------------


def test_a_refused_file_is_refused_by_every_command_with_the_agents_failure_mode(
    capsys, helm
) -> None:
    helm({"nonMasqueradeCIDRs": ["10.0.0.0/8", None]})
    refused = (
        2,
        "",
        f"{REFUSES}Failed to de-serialize json: Invalid CIDR: null\n"
        "cm.yaml:10:41: error[MASQ004] nonMasqueradeCIDRs[1]: Invalid CIDR: null\n",
    )
    assert cilium(capsys, "render", "-c", "cm.yaml") == refused
    assert cilium(capsys, "explain", "-c", "cm.yaml", "10.0.0.1") == refused
    assert (
        cilium(capsys, "diff", "-c", "cm.yaml", "--from", "data/cilium/dbg-list-helm.txt")
        == refused
    )
    assert cilium(capsys, "show", "-c", "cm.yaml") == (
        2,
        "",
        "masqctl: the agent refuses this config: Failed to de-serialize json: Invalid CIDR: null\n",
    )


def test_a_type_the_decoder_refuses_is_the_same_failure(capsys, helm) -> None:
    helm({"nonMasqueradeCIDRs": ["10.0.0.0/8"], "masqLinkLocal": "true"})
    error = "json: cannot unmarshal string into Go struct field config.masqLinkLocal of type bool"
    assert cilium(capsys, "render", "-c", "cm.yaml") == (
        2,
        "",
        f"{REFUSES}Failed to de-serialize json: {error}\n"
        f"cm.yaml:10:22: error[MASQ005] masqLinkLocal: the agent cannot decode string into bool "
        f"({error})\n",
    )


def test_a_refused_file_raises_no_list_warnings(capsys, helm) -> None:
    """The agent never takes the list: no 'empty list' or 'no defaults' on top."""
    helm({"nonMasqueradeCIDRs": [None]})
    assert findings(capsys, "cm.yaml") == [
        ("MASQ004", 10, 28, "nonMasqueradeCIDRs[0]: Invalid CIDR: null")
    ]


# ---- render: the maps, not a chain -------------------------------------------------------------


def test_render_prints_no_chain(capsys) -> None:
    for form in ("iptables", "save", "list", "windows-v1"):
        assert cilium(capsys, "render", "--format", form, "-c", HELM_TEMPLATE) == (
            2,
            "",
            f"masqctl: --format {form}: Cilium's ip-masq-agent writes no iptables chain: it "
            "fills the BPF maps cilium_ipmasq_v4 and _v6; render prints cilium-map, json\n",
        )


def test_render_json_is_the_config_and_each_maps_entries_with_their_sources(capsys) -> None:
    code, out, err = cilium(capsys, "render", "--format", "json", "-c", HELM_TEMPLATE)
    source = {"file": HELM_TEMPLATE, "line": 42}
    assert (code, json.loads(out), err) == (
        0,
        {
            "version": 1,
            "flavour": "cilium",
            "flags": {
                "enableIPv4Masquerade": True,
                "enableIPv6Masquerade": False,
                "ipv4NativeRoutingCIDR": "",
            },
            "config": {
                "source": HELM_TEMPLATE,
                "nonMasqueradeCIDRs": ["10.0.0.0/8", "192.168.0.0/16"],
                "masqLinkLocal": False,
                "masqLinkLocalIPv6": False,
            },
            "maps": {
                "ipv4": {
                    "name": "cilium_ipmasq_v4",
                    "capacity": 16384,
                    "entries": [
                        {"cidr": "10.0.0.0/8", "label": "nonMasqueradeCIDRs[0]", "source": source},
                        {"cidr": "169.254.0.0/16", "label": "link-local default", "source": None},
                        {
                            "cidr": "192.168.0.0/16",
                            "label": "nonMasqueradeCIDRs[1]",
                            "source": source,
                        },
                    ],
                }
            },
            "families": {},
        },
        "",
    )


def test_show_is_the_three_keys(capsys) -> None:
    assert cilium(capsys, "show", "-c", HELM_TEMPLATE) == (
        0,
        '{"nonMasqueradeCIDRs":["10.0.0.0/8","192.168.0.0/16"],"masqLinkLocal":false,'
        '"masqLinkLocalIPv6":false}\n',
        "",
    )
    assert cilium(capsys, "show", "-c", HELM_TEMPLATE, "--output", "yaml") == (
        0,
        "nonMasqueradeCIDRs:\n- 10.0.0.0/8\n- 192.168.0.0/16\nmasqLinkLocal: false\n"
        "masqLinkLocalIPv6: false\n",
        "",
    )


def test_show_has_no_log_line_to_compare_with(capsys) -> None:
    Path("agent.log").write_text('level=info msg="Adding CIDR" cidr=10.0.0.0/8 subsys=ipmasq\n')
    assert cilium(capsys, "show", "--from-log", "agent.log") == (
        2,
        "",
        "masqctl: --from-log: Cilium's ip-masq-agent logs no effective config\n",
    )


def test_apply_is_refused_cilium_fills_its_maps_itself(capsys, no_programs) -> None:
    assert cilium(capsys, "apply", "--dry-run", "-c", HELM_TEMPLATE) == (
        2,
        "",
        "masqctl: Cilium's ip-masq-agent writes no iptables chain: it fills the BPF maps "
        "cilium_ipmasq_v4 and _v6, and keeps them filled itself; masqctl apply writes iptables "
        "chains only\n",
    )


# ---- diff: a captured cilium-dbg bpf ipmasq list, as sets ---------------------------------------


@pytest.mark.parametrize(
    "listing",
    [
        "dbg-list-helm.txt",
        "kubectl-exec-dbg-list.txt",
        "cilium-list-v1.14.txt",
        "dbg-list-helm.json",
        "cilium-list-v1.14.json",
    ],
    ids=["table", "kubectl-defaulted-line", "cilium-1.14-table", "json", "cilium-1.14-json"],
)
def test_a_listing_of_the_maps_the_config_makes_is_in_sync(capsys, listing) -> None:
    """Trailing spaces, a new order each time, kubectl's Defaulted-container line, the
    JSON of 1.17+ (prefixes) and of 1.8 to 1.16 (IP and base64 Mask)."""
    path = f"data/cilium/{listing}"
    assert masqctl(capsys, "diff", "-c", HELM_TEMPLATE, "--from", path) == (
        0,
        f"cilium_ipmasq_v4: in sync (3 prefixes, {path})\n",
        "",
    )


def test_kubectl_exec_piped_into_diff(capsys, monkeypatch) -> None:
    """kubectl exec -n kube-system ds/cilium -- cilium-dbg bpf ipmasq list 2>&1 | masqctl
    diff --flavour cilium --from -"""
    stdin(monkeypatch, Path("data/cilium/kubectl-exec-dbg-list.txt").read_bytes())
    assert cilium(capsys, "diff", "-c", HELM_TEMPLATE, "--from", "-") == (
        0,
        "cilium_ipmasq_v4: in sync (3 prefixes, <stdin>)\n",
        "",
    )


@pytest.mark.parametrize("listing", ["dbg-list-dual-stack.txt", "dbg-list-dual-stack.json"])
def test_both_families_in_one_listing_are_two_maps(capsys, listing) -> None:
    path = f"data/cilium/{listing}"
    args = ("-c", "data/cilium/helm-dual-stack.yaml", "--from", path)
    assert cilium(capsys, "diff", *args, "--enable-ipv6-masquerade") == (
        0,
        f"cilium_ipmasq_v4: in sync (3 prefixes, {path})\n"
        f"cilium_ipmasq_v6: in sync (4 prefixes, {path})\n",
        "",
    )


DUAL_STACK = "data/cilium/dbg-list-dual-stack.txt"
#: Its IPv6 map compared with a config that makes none.
V6_NOT_MADE = (
    f"cilium_ipmasq_v6: the config makes no such map, but {DUAL_STACK} lists it\n"
    "  extra: fe80::/10 (line 2)\n"
    "  extra: 2001:db8:1234:5600::/56 (line 6)\n"
    "  extra: fd00:10:96::/112 (line 7)\n"
    "  extra: fd00:10:244::/56 (line 8)\n"
)


def test_a_map_the_config_does_not_make_is_all_extra(capsys) -> None:
    path = DUAL_STACK
    assert cilium(capsys, "diff", "-c", "data/cilium/helm-dual-stack.yaml", "--from", path) == (
        1,
        f"cilium_ipmasq_v4: in sync (3 prefixes, {path})\n" + V6_NOT_MADE,
        "",
    )


def test_missing_and_extra_prefixes(capsys) -> None:
    assert masqctl(capsys, "diff", "-c", HELM_TEMPLATE, "--from", DUAL_STACK) == (
        1,
        "cilium_ipmasq_v4: drifted (4 findings)\n"
        f"  missing: 10.0.0.0/8 (nonMasqueradeCIDRs[0], {HELM_TEMPLATE}:42)\n"
        f"  missing: 192.168.0.0/16 (nonMasqueradeCIDRs[1], {HELM_TEMPLATE}:42)\n"
        "  extra: 10.96.0.0/12 (line 3)\n"
        "  extra: 10.244.0.0/16 (line 4)\n" + V6_NOT_MADE,
        "",
    )


def test_each_extra_prefix_of_the_json_form_is_named_at_its_line(capsys) -> None:
    path = "data/cilium/dbg-list-dual-stack.json"
    assert masqctl(capsys, "diff", "-c", HELM_TEMPLATE, "--from", path) == (
        1,
        "cilium_ipmasq_v4: drifted (4 findings)\n"
        f"  missing: 10.0.0.0/8 (nonMasqueradeCIDRs[0], {HELM_TEMPLATE}:42)\n"
        f"  missing: 192.168.0.0/16 (nonMasqueradeCIDRs[1], {HELM_TEMPLATE}:42)\n"
        "  extra: 10.96.0.0/12 (line 2)\n"
        "  extra: 10.244.0.0/16 (line 3)\n"
        f"cilium_ipmasq_v6: the config makes no such map, but {path} lists it\n"
        "  extra: 2001:db8:1234:5600::/56 (line 5)\n"
        "  extra: fd00:10:96::/112 (line 6)\n"
        "  extra: fd00:10:244::/56 (line 7)\n"
        "  extra: fe80::/10 (line 8)\n",
        "",
    )
    # Cilium 1.8 to 1.16: {"IP", "Mask"} objects, after kubectl's line
    old = (
        'Defaulted container "cilium-agent" out of: cilium-agent\n[\n  {\n    "IP": "10.0.0.0",\n'
        '    "Mask": "/wAAAA=="\n  },\n  {\n    "IP": "172.16.0.0",\n    "Mask": "//AAAA=="\n'
        "  }"
    )
    Path("old.json").write_text(old + "\n]\n\n")
    assert masqctl(capsys, "diff", "-c", HELM_TEMPLATE, "--from", "old.json") == (
        1,
        "cilium_ipmasq_v4: drifted (3 findings)\n"
        "  missing: 169.254.0.0/16 (link-local default)\n"
        f"  missing: 192.168.0.0/16 (nonMasqueradeCIDRs[1], {HELM_TEMPLATE}:42)\n"
        "  extra: 172.16.0.0/12 (line 7)\n",
        "",
    )
    Path("old.json").write_text(old + ',\n  "x"\n]\n\n')
    assert masqctl(capsys, "diff", "-c", HELM_TEMPLATE, "--from", "old.json") == (
        2,
        "",
        "masqctl: old.json:11: not a prefix of the map (netip.ParsePrefix(\"x\"): no '/')\n",
    )


def test_an_empty_map_lists_no_entries_and_misses_everything(capsys) -> None:
    """What a fresh node shows after a bad file: not even link-local."""
    path = "data/cilium/dbg-list-empty.txt"
    assert masqctl(capsys, "diff", "-c", HELM_TEMPLATE, "--from", path) == (
        1,
        "cilium_ipmasq_v4: drifted (3 findings)\n"
        f"  missing: 10.0.0.0/8 (nonMasqueradeCIDRs[0], {HELM_TEMPLATE}:42)\n"
        "  missing: 169.254.0.0/16 (link-local default)\n"
        f"  missing: 192.168.0.0/16 (nonMasqueradeCIDRs[1], {HELM_TEMPLATE}:42)\n",
        "",
    )


def test_diff_json_and_summary_of_maps(capsys) -> None:
    path = DUAL_STACK
    args = ("diff", "-c", "data/cilium/helm-dual-stack.yaml", "--from", path)
    code, out, err = cilium(capsys, *args, "--output", "json")
    document = json.loads(out)
    assert document["check"]["flavour"] == "cilium"
    del document["check"]
    assert (code, document, err) == (
        1,
        {
            "in_sync": False,
            "source": path,
            "maps": [
                {
                    "family": "ipv4",
                    "name": "cilium_ipmasq_v4",
                    "in_sync": True,
                    "expected": True,
                    "missing": [],
                    "extra": [],
                    "findings": [],
                },
                {
                    "family": "ipv6",
                    "name": "cilium_ipmasq_v6",
                    "in_sync": False,
                    "expected": False,
                    "missing": [],
                    "extra": [
                        {"cidr": "fe80::/10", "line": 2},
                        {"cidr": "2001:db8:1234:5600::/56", "line": 6},
                        {"cidr": "fd00:10:96::/112", "line": 7},
                        {"cidr": "fd00:10:244::/56", "line": 8},
                    ],
                    "findings": [
                        "extra: fe80::/10 (line 2)",
                        "extra: 2001:db8:1234:5600::/56 (line 6)",
                        "extra: fd00:10:96::/112 (line 7)",
                        "extra: fd00:10:244::/56 (line 8)",
                    ],
                },
            ],
        },
        "",
    )
    assert cilium(capsys, *args, "--output", "summary") == (
        1,
        "drift: ipv4 cilium_ipmasq_v4 in sync; ipv6 cilium_ipmasq_v6: 4 extra\n",
        "",
    )
    assert cilium(capsys, *args, "--enable-ipv6-masquerade", "--output", "summary") == (
        0,
        "in sync: ipv4 cilium_ipmasq_v4; ipv6 cilium_ipmasq_v6\n",
        "",
    )


def test_a_nodes_map_result_feeds_its_metrics_and_the_fleet_report(capsys) -> None:
    args = ("diff", "-c", HELM_TEMPLATE, "--from", "data/cilium/dbg-list-empty.txt")
    code, out, _ = cilium(capsys, *args, "--output", "prometheus")
    assert code == 1
    wanted = ('chain="cilium_ipmasq_v4"', 'kind="missing"', 'kind="extra"')
    assert [line for line in out.splitlines() if any(key in line for key in wanted)] == [
        'masqctl_chain_in_sync{family="ipv4",chain="cilium_ipmasq_v4"} 0',
        'masqctl_drift_findings{family="ipv4",kind="missing"} 3',
        'masqctl_drift_findings{family="ipv4",kind="extra"} 0',
    ]
    Path("node.json").write_text(cilium(capsys, *args, "--output", "json")[1])
    code, out, _ = masqctl(capsys, "fleet", "node.json")
    assert (code, out.split("\n\n")[1]) == (
        1,
        "Nodes that drifted the same way:\n"
        f"  1 node: {json.loads(Path('node.json').read_text())['check']['node']}\n"
        "    ipv4 cilium_ipmasq_v4:\n"
        f"      missing: 10.0.0.0/8 (nonMasqueradeCIDRs[0], {HELM_TEMPLATE}:42)\n"
        "      missing: 169.254.0.0/16 (link-local default)\n"
        f"      missing: 192.168.0.0/16 (nonMasqueradeCIDRs[1], {HELM_TEMPLATE}:42)",
    )


def test_diff_reads_no_live_map(capsys, no_programs) -> None:
    assert masqctl(capsys, "diff", "-c", HELM_TEMPLATE) == (
        2,
        "",
        "masqctl: Cilium's ip-masq-agent keeps its rules in BPF maps, which masqctl does not "
        "read live: give --from a captured listing (kubectl exec -n kube-system ds/cilium -- "
        "cilium-dbg bpf ipmasq list | masqctl diff --flavour cilium --from -)\n",
    )
    code, _, err = cilium(capsys, "diff", "--live")
    assert (code, err.splitlines()[-1]) == (2, "Error: No such option: --live")
    assert cilium(
        capsys, "diff", "--from", "data/cilium/dbg-list-helm.txt", "--from6", "x.txt"
    ) == (2, "", "masqctl: --from6: the listing holds both families' maps; give it with --from\n")


@pytest.mark.parametrize(
    ("listing", "error"),
    [
        (
            "IP PREFIX/ADDRESS   \nerror opening ip-masq-agent map: no such file\n",
            "listing.txt:2: not a prefix of the map (netip.ParsePrefix(\"error\"): no '/')",
        ),
        ('[{"IP": "10.0.0.0", "Mask": "%%"}]\n', "listing.txt:1: Mask '%%' is not base64"),
        ('{"IP": "10.0.0.0"}\n', "listing.txt:1: the listing's JSON is not an array"),
        ("[" * 100_000 + "\n", "listing.txt:1: not the listing's JSON (nested too deep)"),
    ],
    ids=["error-text", "bad-mask", "not-an-array", "nested-too-deep"],
)
def test_a_listing_that_is_not_one_is_refused_at_its_line(capsys, listing, error) -> None:
    Path("listing.txt").write_text(listing)
    assert masqctl(capsys, "diff", "-c", HELM_TEMPLATE, "--from", "listing.txt") == (
        2,
        "",
        f"masqctl: {error}\n",
    )


# ---- explain: the longest prefix of the map ----------------------------------------------------


def test_explain_takes_the_longest_matching_prefix_a_hit_is_not_masqueraded(capsys, helm) -> None:
    helm({"nonMasqueradeCIDRs": ["10.0.0.0/8", "10.1.0.0/16"]})
    assert cilium(capsys, "explain", "-c", "cm.yaml", "10.1.2.3", "10.2.0.1", "8.8.8.8") == (
        0,
        "10.1.2.3: no-masquerade: entry 2 of cilium_ipmasq_v4 (10.1.0.0/16) is its longest "
        "match, from nonMasqueradeCIDRs[1] (cm.yaml:10)\n"
        "  10.1.0.0/16\n\n"
        "10.2.0.1: no-masquerade: entry 1 of cilium_ipmasq_v4 (10.0.0.0/8) is its longest "
        "match, from nonMasqueradeCIDRs[0] (cm.yaml:10)\n"
        "  10.0.0.0/8\n\n"
        "8.8.8.8: masquerade: no prefix of cilium_ipmasq_v4 matches: Cilium's BPF "
        "masquerading SNATs it\n"
        "  note: Cilium leaves traffic to its native-routing CIDR (ipv4-native-routing-cidr, "
        "ipv6-native-routing-cidr in cilium-config) unmasqueraded too, though it is never in "
        "the map\n\n",
        "",
    )
    assert findings(capsys, "cm.yaml") == [
        (
            "MASQ014",
            10,
            41,
            'CIDR "10.1.0.0/16" is inside "10.0.0.0/8" (nonMasqueradeCIDRs[0], line 10): '
            "redundant: Cilium's map leaves both unmasqueraded, whichever matches longest",
        )
    ]


def test_the_native_routing_cidr_is_not_masqueraded_though_never_in_the_map(capsys) -> None:
    args = ("explain", "-c", HELM_TEMPLATE, "--ipv4-native-routing-cidr", "172.16.0.0/12")
    assert cilium(capsys, *args, "172.16.0.1", "8.8.8.8") == (
        0,
        "172.16.0.1: no-masquerade: no prefix of cilium_ipmasq_v4 matches, but it is inside "
        "the native-routing CIDR 172.16.0.0/12 (ipv4-native-routing-cidr), which Cilium never "
        "masquerades\n\n"
        "8.8.8.8: masquerade: no prefix of cilium_ipmasq_v4 matches: Cilium's BPF "
        "masquerading SNATs it\n\n",
        "masqctl: note: --ipv4-native-routing-cidr=172.16.0.0/12 of masqctl's command line "
        "overrides the agent's default --ipv4-native-routing-cidr=\n",
    )
    assert (
        cilium(
            capsys, "render", "-c", HELM_TEMPLATE, "--ipv4-native-routing-cidr", "172.16.0.0/12"
        )[1]
        == "10.0.0.0/8\n169.254.0.0/16\n192.168.0.0/16\n"
    )


def test_explain_of_ipv6_without_the_ipv6_map(capsys) -> None:
    assert cilium(capsys, "explain", "2001:db8::1") == (
        0,
        "2001:db8::1: not-handled: an IPv6 destination, and Cilium has no IPv6 map: it "
        "masquerades no IPv6 traffic without enable-ipv6-masquerade (and enable-ipv6)\n\n",
        "",
    )


def test_explain_of_ipv4_without_the_ipv4_map(capsys, monkeypatch) -> None:
    """Arguments and a stream of addresses (explain's batch path) alike."""
    not_handled = (
        "10.1.2.3: not-handled: an IPv4 destination, and Cilium has no IPv4 map: it "
        "masquerades no IPv4 traffic without enable-ipv4-masquerade\n\n"
    )
    args = ("explain", "--no-enable-ipv4-masquerade", "--enable-ipv6-masquerade")
    assert cilium(capsys, *args, "10.1.2.3") == (0, not_handled, "")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"10.1.2.3\n")))
    assert cilium(capsys, *args, "-") == (0, not_handled, "")


@pytest.mark.parametrize("where", [("--live",), ("--from", "data/cilium/dbg-list-helm.txt")])
def test_explain_walks_no_nat_table_for_cilium(capsys, no_programs, where) -> None:
    assert cilium(capsys, "explain", *where, "8.8.8.8") == (
        2,
        "",
        "masqctl: --live and --from walk the nat table, but Cilium's ip-masq-agent writes no "
        "iptables chain: it fills the BPF maps cilium_ipmasq_v4 and _v6; explain answers from "
        "its config (--config)\n",
    )
