"""The catalogue of checks: every finding's stable ID, name, severity and documentation."""

from __future__ import annotations

from dataclasses import dataclass

from masqctl.findings import ERROR, WARNING


@dataclass(frozen=True, slots=True)
class Check:
    """One check: what triggers it, why it matters to the agent, how to fix it."""

    id: str
    name: str
    severity: str
    summary: str
    why: str
    fix: str
    #: The agent refuses the whole config (it keeps its previous rules): render, diff,
    #: apply and explain cannot go on.  Other errors are configs the agent runs, wrongly.
    agent_refuses: bool = False
    #: The agent takes the config but writes a payload iptables-restore rejects: commands
    #: report it with the payload (render warns, apply refuses), not as a config warning.
    rejected_payload: bool = False


_CHECKS = (
    Check(
        "MASQ001",
        "syntax-error",
        ERROR,
        "The config is not valid YAML or JSON as the agent parses it.",
        "The agent converts the file with apimachinery's ToJSON: text whose first "
        "non-space character is `{` is parsed as strict JSON (so a YAML flow mapping "
        "like `{nonMasqueradeCIDRs: [10.0.0.0/8]}` is a JSON error), anything else as "
        "YAML 1.1. A file it cannot parse is refused and the agent keeps its previous "
        "rules (or its defaults on a fresh node).",
        "Fix the syntax at the reported position; quote JSON keys, or drop the leading "
        "`{` and write block YAML.",
        agent_refuses=True,
    ),
    Check(
        "MASQ002",
        "unknown-key",
        ERROR,
        "A key the agent does not know; the agent silently ignores it.",
        "The agent decodes with Go's encoding/json, which drops unknown keys without a "
        "word: `nonMasqueradeCIDR` or `enableIPv6` leave the defaults in force.",
        "Use one of nonMasqueradeCIDRs, cidrLimit, masqLinkLocal, masqLinkLocalIPv6, "
        "resyncInterval (agent flags such as --enable-ipv6 belong on the DaemonSet).",
    ),
    Check(
        "MASQ003",
        "cidr-host-bits",
        ERROR,
        "A CIDR has host bits set; the agent rejects the whole config.",
        "After net.ParseCIDR the agent checks that the address equals its network "
        "(`10.0.0.1/8` fails) and refuses the config.",
        "Write the network address, as suggested in the message.",
        agent_refuses=True,
    ),
    Check(
        "MASQ004",
        "cidr-invalid",
        ERROR,
        "A CIDR that Go's net.ParseCIDR refuses.",
        "A missing prefix length, a netmask (`/255.0.0.0`), a zone, leading zeros or "
        "an out-of-range octet make the agent refuse the whole config.",
        "Write the CIDR as address/prefix-length, e.g. 10.0.0.0/8.",
        agent_refuses=True,
    ),
    Check(
        "MASQ005",
        "wrong-type",
        ERROR,
        "A value has a type the agent's decoder refuses.",
        'Go\'s encoding/json is strict: a quoted "true" for a bool, a string for '
        "cidrLimit or a number for resyncInterval make the agent refuse the config.",
        "Write booleans unquoted, cidrLimit as a whole number, resyncInterval as a "
        "quoted duration such as 60s.",
        agent_refuses=True,
    ),
    Check(
        "MASQ006",
        "duplicate-key",
        ERROR,
        "A key appears twice (possibly in different case); only the last one counts.",
        "Keys match case-insensitively and the last occurrence silently wins, so the "
        "first value is lost.",
        "Keep one occurrence of each key.",
    ),
    Check(
        "MASQ007",
        "key-case",
        WARNING,
        "A key is spelled with different letter case; the agent reads it all the same.",
        "Go's decoder matches keys case-insensitively, so `nonMasqueradeCidrs` works, but "
        "tools and reviewers that compare exact names will miss it.",
        "Spell the key exactly as the agent documents it.",
    ),
    Check(
        "MASQ008",
        "ipv6-not-enabled",
        ERROR,
        "An IPv6 CIDR while the agent runs without --enable-ipv6.",
        'The agent refuses the whole config: "ipv6 is not enabled, but ipv6 cidr ... provided".',
        "Add --enable-ipv6 to the agent (and to masqctl), or remove the IPv6 CIDR.",
        agent_refuses=True,
    ),
    Check(
        "MASQ009",
        "cidr-limit",
        ERROR,
        "More CIDRs than cidrLimit allows.",
        "The agent refuses configs with more nonMasqueradeCIDRs (IPv4 and IPv6 together) "
        "than cidrLimit (default 64).",
        "Merge CIDRs into larger blocks, or raise cidrLimit deliberately.",
        agent_refuses=True,
    ),
    Check(
        "MASQ010",
        "resync-interval-invalid",
        ERROR,
        "resyncInterval is not a Go duration.",
        "The agent parses it with time.ParseDuration (units ns, us, ms, s, m, h; no d) "
        "and refuses the config otherwise.",
        "Write a duration such as 60s, 5m or 1h30m.",
        agent_refuses=True,
    ),
    Check(
        "MASQ011",
        "resync-interval-nonpositive",
        WARNING,
        "resyncInterval is zero or negative.",
        "The agent sleeps resyncInterval between syncs; zero or less makes it busy-loop, "
        "rewriting iptables continuously.",
        "Use a positive interval, such as the default 60s.",
    ),
    Check(
        "MASQ012",
        "empty-cidr-list",
        WARNING,
        "nonMasqueradeCIDRs is empty or null: everything but link-local is masqueraded.",
        "An explicit empty (or null) list replaces the RFC 1918 defaults with nothing, so "
        "pod-to-pod and pod-to-node traffic leaves with the node's address.",
        "List the cluster's pod and service ranges, or remove the key to keep the defaults.",
    ),
    Check(
        "MASQ013",
        "duplicate-cidr",
        WARNING,
        "The same CIDR is listed twice.",
        "The agent writes one RETURN rule per entry; the second never matches and counts "
        "against cidrLimit.",
        "Remove the repeated entry.",
    ),
    Check(
        "MASQ014",
        "shadowed-cidr",
        WARNING,
        "A CIDR is contained in an earlier one; its rule can never match.",
        "Rules are evaluated in order and the earlier, larger block already returns every "
        "address of the later one.",
        "Remove the contained CIDR (or reorder if you meant something else).",
    ),
    Check(
        "MASQ015",
        "match-all-cidr",
        WARNING,
        "0.0.0.0/0 or ::/0 is listed: nothing of that family is masqueraded.",
        "A RETURN for every destination turns the agent off for that family, including "
        "traffic to the internet.",
        "List the specific ranges that must keep the pod address.",
    ),
    Check(
        "MASQ016",
        "redundant-link-local",
        WARNING,
        "A link-local range is listed while masqLinkLocal(IPv6) is false.",
        "The agent already writes a RETURN for 169.254.0.0/16 (fe80::/10) first, so the "
        "entry is redundant and uses up cidrLimit.",
        "Remove the entry; set masqLinkLocal: true if link-local must be masqueraded.",
    ),
    Check(
        "MASQ017",
        "configmap-name",
        WARNING,
        "The ConfigMap is not named ip-masq-agent.",
        "The upstream DaemonSet mounts the ConfigMap named ip-masq-agent, with "
        "optional: true: a differently named one is never read and the agent silently "
        "runs on its defaults.",
        "Name the ConfigMap ip-masq-agent (or change the DaemonSet's volume to match).",
    ),
    Check(
        "MASQ018",
        "configmap-namespace",
        WARNING,
        "The ConfigMap is not in the kube-system namespace.",
        "A pod can only mount ConfigMaps of its own namespace; the upstream DaemonSet "
        "runs in kube-system, so the agent silently runs on its defaults.",
        "Create the ConfigMap in kube-system (the namespace of the agent's DaemonSet).",
    ),
    Check(
        "MASQ019",
        "configmap-config-key",
        WARNING,
        "The ConfigMap has no `config` key.",
        "The upstream DaemonSet mounts key `config` as /etc/config/ip-masq-agent; without "
        "it the file is absent and the agent runs on its defaults. (Azure's "
        "ip-masq-agent-v2 reads keys named ip-masq-agent*.)",
        "Create it with `kubectl create configmap ip-masq-agent --from-file=config ...` or "
        "rename the data key to config.",
    ),
    Check(
        "MASQ020",
        "extra-document",
        WARNING,
        "A config file holds more than one YAML document; the agent reads only the first.",
        "go-yaml's Unmarshal stops after the first document, so the rest is ignored.",
        "Keep the config in one document.",
    ),
    Check(
        "MASQ021",
        "not-a-mapping",
        ERROR,
        "The config is not a mapping of keys to values.",
        "The agent decodes the file into its config struct; a list or a plain value is refused.",
        "Write the config as `key: value` lines.",
        agent_refuses=True,
    ),
    Check(
        "MASQ022",
        "ipv4-mapped-cidr",
        ERROR,
        "An IPv4-mapped IPv6 CIDR (::ffff:a.b.c.d/n).",
        "The agent takes it: Go prints such an address as IPv4, so it files the CIDR under "
        "IPv4 and writes it into the iptables-restore payload as it is, and iptables-restore "
        "rejects the whole sync (invalid mask). Every sync then fails: the chain keeps its "
        "old rules, or never appears on a new node.",
        "Write the IPv4 CIDR itself (a.b.c.d/n-96).",
        rejected_payload=True,
    ),
    Check(
        "MASQ023",
        "null-cidr",
        WARNING,
        "A null item in nonMasqueradeCIDRs.",
        "The agent decodes the list into its default list (or an earlier occurrence of the "
        "key): a null item leaves the element at its index as it is, so it silently keeps "
        "the default CIDR that sat there (an error when the item is past the defaults: then "
        'the agent reads it as "" and refuses the config).',
        "Remove the null item, or write the CIDR you mean.",
    ),
    Check(
        "MASQ024",
        "configmap-data-not-text",
        ERROR,
        "A ConfigMap's agent config is a mapping, list, number or bool instead of text.",
        "ConfigMap data values are strings: the API server refuses the object (a common slip "
        "is `config:` followed by the keys without `|`), so the agent never sees it and keeps "
        "whatever it read before (its defaults on a new cluster).",
        "Write `config: |` and indent the agent config below it as text.",
    ),
    Check(
        "MASQ025",
        "null-key",
        ERROR,
        "A mapping key that is null (`null:`, `~:`, or `?` with no key).",
        "sigs.k8s.io/yaml turns every key into a string before the agent decodes the file, "
        "and a null key has no string form, so the agent refuses the whole config "
        "(unsupported map key of type: %!s(<nil>)).",
        "Remove the key or quote it.",
        agent_refuses=True,
    ),
    Check(
        "MASQ026",
        "unsupported-key",
        ERROR,
        "A mapping key that is a sequence, a mapping, or a number go-yaml reads as uint64.",
        "go-yaml cannot use a sequence or mapping as a key (invalid map key) and "
        "sigs.k8s.io/yaml cannot turn a uint64 key into a string: the agent refuses the whole "
        "config.",
        "Use plain string keys.",
        agent_refuses=True,
    ),
    Check(
        "MASQ027",
        "cidr-prefix-leading-zero",
        ERROR,
        "A CIDR whose prefix length has a leading zero (10.0.0.0/08).",
        "Go's net.ParseCIDR accepts it, so the agent writes the CIDR as it is into the "
        "iptables-restore payload, and iptables-restore rejects the sync (invalid mask): "
        "every sync fails and the chain keeps its old rules.",
        "Write the prefix length without leading zeros (10.0.0.0/8).",
        rejected_payload=True,
    ),
    Check(
        "MASQ028",
        "key-not-read",
        WARNING,
        "A key of upstream's config that this flavour's agent does not have.",
        "Azure's ip-masq-agent-v2 and Cilium read only nonMasqueradeCIDRs, masqLinkLocal and "
        "masqLinkLocalIPv6: cidrLimit and resyncInterval are silently ignored, though "
        "operators expect them to work.",
        "Remove the key (Azure v2: its limit is 64 CIDRs per file and --resync-interval is a "
        "flag; Cilium has neither).",
    ),
    Check(
        "MASQ029",
        "cidr-masked",
        WARNING,
        "A CIDR with host bits set, which Cilium masks without a word.",
        "Cilium parses each CIDR with netip.ParsePrefix and masks it: 10.1.2.3/8 becomes "
        "10.0.0.0/8 and the config is taken, where upstream's agent refuses it. The network "
        "left unmasqueraded is probably larger than meant.",
        "Write the network address you mean.",
    ),
)

CHECKS: dict[str, Check] = {check.id: check for check in _CHECKS}


def check(check_id: str) -> Check:
    """The catalogue entry for ``check_id``."""
    return CHECKS[check_id]
