"""The catalogue of checks: every finding's stable ID, name, severity and documentation."""

from __future__ import annotations

from dataclasses import dataclass, replace

from masqctl.findings import ERROR, INFO, WARNING


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
    #: The flavours whose agents this check is about (empty: every flavour).
    flavours: tuple[str, ...] = ()
    #: With --strict, even this info fails (a file masqctl cannot check as it is).
    fails_strict: bool = False


_CHECKS = (
    Check(
        "MASQ001",
        "syntax-error",
        ERROR,
        "The config is not valid YAML or JSON as the agent parses it.",
        "The agent converts the file with apimachinery's ToJSON: text whose first "
        "non-space character is `{` is parsed as strict JSON (so a YAML flow mapping "
        "like `{nonMasqueradeCIDRs: [10.0.0.0/8]}` is a JSON error), anything else as "
        "YAML 1.1. A file it cannot parse is refused: upstream's agent writes no rules "
        "and keeps the ones it has (a new node gets none), Azure's v2 agent exits and "
        "crash-loops, Cilium's keeps its maps as they are.",
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
        "Use one of nonMasqueradeCIDRs, masqLinkLocal, masqLinkLocalIPv6 (upstream's agent "
        "also reads cidrLimit and resyncInterval; agent flags such as --enable-ipv6 belong "
        "on the DaemonSet).",
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
        "A key appears twice (possibly in different case).",
        "Spelled the same twice in YAML, go-yaml keeps only the later one. In different case "
        "(or twice in JSON) both reach Go's encoding/json, which matches keys "
        "case-insensitively and decodes each in turn onto the same field: a later null keeps "
        "the earlier value, a later list is written into the earlier one element by element. "
        "Either way a value the file states is silently lost or mixed with the other.",
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
        "The ConfigMap is not named as the flavour's DaemonSet mounts it.",
        "The agent's DaemonSet mounts ConfigMaps by name, with optional: true (upstream's, "
        "GKE's and Cilium's: ip-masq-agent; AKS's: azure-ip-masq-agent-config and "
        "azure-ip-masq-agent-config-reconciled): a differently named one is never read, "
        "without a word.",
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
        "The ConfigMap has no data key the flavour's DaemonSet mounts as a config file.",
        "The upstream DaemonSet (GKE's, Cilium's) mounts key `config` as "
        "/etc/config/ip-masq-agent; without it the file is absent and the agent runs on its "
        "defaults. (Azure's ip-masq-agent-v2 reads every key whose name starts with ip-masq.)",
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
        "iptables-restore payload, where iptables reads the length as octal: /010 becomes "
        "/8 (more is left unmasqueraded than the config says; a warning where octal reads "
        "the same, /07), and a length that is no octal number (/08, /09) makes "
        "iptables-restore reject the sync (invalid mask): every sync fails and the chain "
        "keeps its old rules.",
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
    Check(
        "MASQ030",
        "no-defaults",
        WARNING,
        "A config that makes the agent drop its defaults without listing any CIDR.",
        "Azure's ip-masq-agent-v2 uses its defaults only when no ip-masq* file exists, "
        "Cilium only when its file is missing or zero bytes: a file with no "
        "nonMasqueradeCIDRs (a comment, {}, an empty list, only masqLinkLocal) leaves "
        "only link-local unmasqueraded, so pod-to-pod and pod-to-node traffic is SNATed.",
        "List the ranges that must keep the pod's address (the pod and service CIDRs).",
    ),
    Check(
        "MASQ031",
        "merged-link-local",
        WARNING,
        "masqLinkLocal(IPv6) false in one file while another file sets it true.",
        "Azure's ip-masq-agent-v2 ORs the booleans of all its files: a file cannot turn "
        "link-local masquerading back off (AKS's reconciled file sets masqLinkLocal: true).",
        "Set it in one file only, knowing true wins.",
    ),
    Check(
        "MASQ032",
        "map-capacity",
        ERROR,
        "More prefixes than Cilium's BPF map holds (16,384 per family).",
        "Cilium ignores the error of each insert past the map's capacity: the prefixes left "
        "out are masqueraded, and which ones is random.",
        "Merge the prefixes into larger blocks (masqctl generate writes the shortest list).",
    ),
    # The agent's DaemonSet and its wiring (masqctl/cluster/).
    Check(
        "MASQ040",
        "configmap-not-found",
        WARNING,
        "A ConfigMap the agent's pods read is not among the inputs, or is in another namespace.",
        "Pods mount only ConfigMaps of their own namespace. When the volume says "
        "`optional: true` (upstream's manifest does), a missing ConfigMap is skipped and the "
        "agent silently runs on its defaults; when it does not, the kubelet cannot mount the "
        'volume (`configmap "NAME" not found`) and the pod stays in ContainerCreating. '
        "Given only the DaemonSet, masqctl cannot check what the agent reads.",
        "Give the ConfigMap with the DaemonSet (`kubectl get ds,cm -n kube-system -o yaml | "
        "masqctl validate -`), or create it in the DaemonSet's namespace under that name.",
    ),
    Check(
        "MASQ041",
        "configmap-key-missing",
        ERROR,
        "The volume's `items` name a key the ConfigMap does not have.",
        "With `optional: true` the kubelet skips the item, so the file is absent and the "
        "agent runs on its defaults; otherwise mounting fails (`configmap references "
        "non-existent config key`) and the pod stays in ContainerCreating.",
        "Name a key the ConfigMap has in `items[].key`, or add the key to the ConfigMap.",
    ),
    Check(
        "MASQ042",
        "config-key-mismatch",
        ERROR,
        "The ConfigMap holds the config under one key (`config`) while the DaemonSet mounts "
        "another (`ip-masq-agent`), or the reverse.",
        "Upstream's DaemonSet mounts key `config` as /etc/config/ip-masq-agent; Azure's "
        "mounts keys `ip-masq-agent*` by name. A ConfigMap written for the other layout "
        "never reaches the agent, which runs on its defaults.",
        "Rename the ConfigMap's key to the one the DaemonSet mounts (or change `items[].key`).",
    ),
    Check(
        "MASQ043",
        "config-file-not-read",
        ERROR,
        "The volume puts the config in a file the agent does not read.",
        "Upstream's agent and Cilium read exactly /etc/config/ip-masq-agent; Azure's v2 agent "
        "reads every file of /etc/config whose name starts with `ip-masq`, and none in "
        "subdirectories. A key mounted under another name (`items[].path`, or its own name "
        "without `items`) is never read; a `subPath` mount of one file at /etc/config makes "
        "the directory itself a file, and the agent fails on every read (not a directory).",
        "Map the key to the path the agent reads: `items: [{key: config, path: ip-masq-agent}]`.",
    ),
    Check(
        "MASQ044",
        "config-not-mounted",
        WARNING,
        "No ConfigMap reaches the agent's config directory /etc/config.",
        "The agent reads its config only from /etc/config; a ConfigMap volume mounted "
        "anywhere else (or not mounted by the agent's container) leaves it on its defaults. "
        "A volume of another type there (hostPath, emptyDir, ...) holds files masqctl cannot "
        "see.",
        "Mount the ConfigMap volume at `mountPath: /etc/config` in the agent's container.",
    ),
    Check(
        "MASQ045",
        "config-subpath",
        WARNING,
        "The config volume is mounted through `subPath`.",
        "The kubelet never updates subPath mounts: the agent keeps reading the ConfigMap as "
        "it was when the pod started, and edits reach it only when the pod is recreated.",
        "Mount the whole volume at /etc/config and select the file with `items`.",
    ),
    Check(
        "MASQ046",
        "configmap-source-null",
        ERROR,
        "A volume's `configMap:` is empty: its fields are indented beside it, not under it.",
        "Kubernetes reads `- configMap:` followed by `name:` at the same indentation as "
        "`configMap: null` with unknown fields beside it (Azure's example manifest has this "
        "shape): the source projects nothing (strict field validation refuses the object), "
        "so the agent never sees that ConfigMap.",
        "Indent `name`, `optional` and `items` two spaces further, under `configMap:`.",
    ),
    Check(
        "MASQ047",
        "volume-mode-decimal",
        WARNING,
        "A `defaultMode`/`mode` written like an octal mode but in decimal (`444` is 0674).",
        "YAML reads `444` as the decimal number 444, which is the file mode 0674 "
        "(rw-rwxr--), not 0444: Kubernetes takes the number as it is. One above 0777 (511), "
        "such as `644` or `755`, the API server refuses (an error): `must be a number between "
        "0 and 0777 (octal), both inclusive`.",
        "Write the octal mode with a leading zero (`0444`) or its decimal value (`292`).",
    ),
    Check(
        "MASQ048",
        "node-selector",
        INFO,
        "The DaemonSet runs only on nodes with certain labels.",
        "A node that does not match the DaemonSet's nodeSelector or required node affinity "
        "gets no agent pod, so nothing writes the agent's rules there.",
        "Label every node that needs the agent (`kubectl label node NODE KEY=VALUE`), or drop "
        "the selector.",
    ),
    Check(
        "MASQ049",
        "flag-not-in-release",
        ERROR,
        "A flag the image's release of the agent does not have yet.",
        "Go's flag package refuses flags it does not define: the agent exits at start-up "
        "with `flag provided but not defined` and its pod crash-loops.",
        "Upgrade the image to a release with the flag, or remove the flag.",
    ),
    Check(
        "MASQ050",
        "unknown-flag",
        ERROR,
        "A flag the agent does not define at all.",
        "Go's flag package refuses it: the agent exits at start-up with `flag provided but "
        "not defined` and its pod crash-loops.",
        "Remove the flag, or spell it as the agent defines it (the agent's `-h` lists them).",
    ),
    Check(
        "MASQ051",
        "flag-error",
        ERROR,
        "An argument the agent (or the API server) refuses: a bad value, a missing value, "
        "bad flag syntax, `-h`.",
        "The agent parses its arguments with Go's flag package and exits at the first one it "
        "cannot take (`invalid boolean value`, `flag needs an argument`, ...); with `-h` it "
        "prints its usage and exits. Either way its pod restarts in a loop.",
        "Write the flag as `--name=value`, with a value of the flag's type.",
    ),
    Check(
        "MASQ052",
        "flags-after-positional",
        ERROR,
        "A word that is not a flag among the arguments: the agent ignores it and every "
        "argument after it.",
        "Go's flag parsing stops at the first non-flag argument (and after `--`). A bool flag "
        "takes no separate value, so `--enable-ipv6 false` leaves enable-ipv6 true and stops "
        "there: the flags after it are silently ignored.",
        "Write bool values with `=` (`--enable-ipv6=false`) and remove stray words.",
    ),
    Check(
        "MASQ053",
        "args-unresolved",
        INFO,
        "An argument masqctl cannot read as the agent will: a `$(VAR)` only the node knows, "
        "or a shell command.",
        "The kubelet expands `$(VAR)` from the container's environment when the pod starts; "
        "a value from the node, a Secret or a ConfigMap not among the inputs is unknown here, "
        "so masqctl reads the argument with the reference as written.",
        "Give the ConfigMap among the inputs, or check the running agent's `FLAG:` log lines.",
    ),
    Check(
        "MASQ054",
        "agent-not-daemonset",
        INFO,
        "The agent's image runs in a workload that is not a DaemonSet.",
        "Only a DaemonSet puts the agent on every node; replicas of a Deployment or a bare "
        "Pod write rules only on the nodes they land on. masqctl reads the agent's wiring "
        "from DaemonSets only.",
        "Run the agent as a DaemonSet.",
    ),
    Check(
        "MASQ055",
        "cilium-ip-masq-agent-off",
        WARNING,
        "Cilium's DaemonSet mounts an ip-masq-agent config, but cilium-config does not turn "
        "the ip-masq-agent on.",
        'cilium-agent runs its BPF ip-masq-agent only with `enable-ip-masq-agent: "true"` '
        "in cilium-config; without it the mounted config is never read.",
        "Set `ipMasqAgent.enabled=true` in the chart's values (enable-ip-masq-agent in "
        "cilium-config).",
    ),
    Check(
        "MASQ056",
        "cilium-bpf-masquerade-required",
        ERROR,
        "Cilium's ip-masq-agent is on without BPF masquerading.",
        "cilium-agent refuses to start: `BPF ip-masq-agent requires "
        '(--enable-ipv4-masquerade="true" or --enable-ipv6-masquerade="true") and '
        '--enable-bpf-masquerade="true"`.',
        "Set `bpf.masquerade=true` in the chart's values (enable-bpf-masquerade in "
        "cilium-config) and keep IPv4 or IPv6 masquerading on.",
    ),
    Check(
        "MASQ057",
        "template",
        INFO,
        "The file is a template (Helm/Go `{{ }}`, Jinja `{% %}`, `${VAR}`), not a manifest yet.",
        "Placeholders are not YAML the API server or the agent can read; what matters is "
        "what the template renders.",
        "Check the rendered output: `helm template ... | masqctl validate -` (or render it "
        "with the tool that fills it in).",
        fails_strict=True,
    ),
    Check(
        "MASQ058",
        "helm-values",
        INFO,
        "A Helm values file whose ip-masq-agent settings no chart turns into the agent's "
        "config as written.",
        "Cilium's chart writes `ipMasqAgent.config` (as JSON) into the ip-masq-agent "
        "ConfigMap only when `ipMasqAgent.enabled` is true and the config is not empty; "
        "agent keys anywhere else in a values file are what some chart may or may not use.",
        "Put the config under `ipMasqAgent.config` with `ipMasqAgent.enabled: true`, and "
        "check the rendered chart with `helm template ... | masqctl validate -`.",
    ),
    Check(
        "MASQ059",
        "daemonset-context",
        INFO,
        "A config read as the DaemonSet among the inputs has its agent read it.",
        "What a config means depends on the agent that reads it: its flavour (the image), "
        "release (the tag) and flags (its args, or cilium-config). With the DaemonSet among "
        "the inputs, its ConfigMaps are validated with exactly those, and this says which.",
        "Nothing to fix; give flags on masqctl's command line to see another setting.",
    ),
    Check(
        "MASQ060",
        "flags-ignored",
        WARNING,
        "The image's release of the agent never reads its command line: every argument is ignored.",
        "Upstream's agent calls flag.Parse only from v2.1.0 on; v0.2.0 to v2.0.1 (such as "
        "`ip-masq-agent-amd64:v2.0.0`, which upstream's manifest named up to v2.6.1) start "
        "with every flag at its default and never look at `args`, so `--masq-chain` or "
        "`--nomasq-all-reserved-ranges` there change nothing, and a wrong flag does not "
        "even make them exit.",
        "Upgrade the image to a release that reads its flags (v2.1.0 or later, and late "
        "enough for the flags given), or remove the arguments.",
    ),
    Check(
        "MASQ061",
        "ipv6-without-cidrs",
        WARNING,
        "The agent runs with --enable-ipv6 but the config lists no IPv6 CIDR and does not "
        "set masqLinkLocalIPv6.",
        "With --enable-ipv6 the agent writes an ip6tables chain that returns only fe80::/10 "
        "and the config's IPv6 CIDRs, then masquerades the rest: with none listed, traffic "
        "to every other IPv6 destination, pods and nodes of the cluster included, is "
        "masqueraded.",
        "List the cluster's IPv6 ranges (pods, services, nodes) in nonMasqueradeCIDRs, or "
        "drop --enable-ipv6 if the cluster has no IPv6.",
    ),
)

_CHAIN_AGENTS = ("upstream", "gke", "azure-v2")
_UPSTREAM = ("upstream", "gke")
#: The checks that concern only some agents (the others' agents read differently).
_FLAVOURS = {
    "MASQ003": _CHAIN_AGENTS,
    "MASQ008": _CHAIN_AGENTS,
    "MASQ009": _CHAIN_AGENTS,
    "MASQ010": _UPSTREAM,
    "MASQ011": _UPSTREAM,
    "MASQ012": _UPSTREAM,  # Azure, Cilium: MASQ030 (no removed key brings defaults back)
    "MASQ022": _CHAIN_AGENTS,
    "MASQ023": _CHAIN_AGENTS,
    "MASQ027": _CHAIN_AGENTS,
    "MASQ028": ("azure-v2", "cilium"),
    "MASQ029": ("cilium",),
    "MASQ030": ("azure-v2", "cilium"),
    "MASQ031": ("azure-v2",),
    "MASQ032": ("cilium",),
    "MASQ055": ("cilium",),
    "MASQ056": ("cilium",),
    "MASQ060": _UPSTREAM,
    "MASQ061": _UPSTREAM,
}

CHECKS: dict[str, Check] = {
    check.id: replace(check, flavours=_FLAVOURS.get(check.id, ())) for check in _CHECKS
}


def check(check_id: str) -> Check:
    """The catalogue entry for ``check_id``."""
    return CHECKS[check_id]
