"""Regenerate the captures in this directory (root; run from the repository root).

    python3 -m tests.data.pastes.capture

In a throw-away namespace whose resolver reads only its own /etc/hosts (as a node whose
DNS knows no name for these addresses), this writes kube-proxy's nat rules for
masquerading (restored as kube-proxy restores them), one sync of the agent (masqctl
render | iptables-restore --noflush) and its POSTROUTING jump, then saves what iptables
prints: every file named here is one command's stdout, unchanged.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from masqctl.agent import AgentFlags
from masqctl.model import CIDREntry, MasqConfig, Origin
from masqctl.render.iptables import restore_payload
from masqctl.ruleset import build_ruleset
from tests.netns import namespace, tool

HERE = Path(__file__).parent
CHAIN = "IP-MASQ-AGENT"
ETC = {"nsswitch.conf": "hosts: files\nnetworks: files\n", "hosts": "127.0.0.1 localhost\n"}
#: A node whose resolver fails outright (nothing answers on 127.0.0.1:53): iptables 1.8.9
#: then names networks from /etc/networks (Debian's default line for 169.254.0.0 here).
RESOLVER_DOWN = {
    "nsswitch.conf": "hosts: files dns\nnetworks: files\n",
    "hosts": "127.0.0.1 localhost\n",
    "resolv.conf": "nameserver 127.0.0.1\n",
    "networks": "link-local\t169.254.0.0\n",
}
#: kube-proxy's (iptables mode) masquerading rules, as it restores them.
KUBE_PROXY = """*nat
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" \
-j MASQUERADE --random-fully
COMMIT
"""
#: A rule whose match (conntrack) masqctl does not read back from a listing.
CTSTATE_RULE = ("-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT")
CIDRS = ("10.0.0.0/8", "192.168.0.0/16", "fd00:10::/64")
#: file name → (family, command after the program name).
CAPTURES = {
    "nft-save.txt": ("ipv4", ["save", "-t", "nat"]),
    "nft-S.txt": ("ipv4", ["-t", "nat", "-S"]),
    "nft-S-chain.txt": ("ipv4", ["-t", "nat", "-S", CHAIN]),
    "nft-S-POSTROUTING.txt": ("ipv4", ["-t", "nat", "-S", "POSTROUTING"]),
    "nft-L.txt": ("ipv4", ["-t", "nat", "-L"]),
    "nft-L-n.txt": ("ipv4", ["-t", "nat", "-L", "-n"]),
    "nft-L-n-v.txt": ("ipv4", ["-t", "nat", "-L", "-n", "-v"]),
    "nft-L-chain.txt": ("ipv4", ["-t", "nat", "-L", CHAIN]),
    "nft-L-chain-v.txt": ("ipv4", ["-t", "nat", "-L", CHAIN, "-v"]),
    "nft-L-chain-n-v-line-numbers.txt": (
        "ipv4",
        ["-t", "nat", "-L", CHAIN, "-nvx", "--line-numbers"],
    ),
    "nft6-L-n-v.txt": ("ipv6", ["-t", "nat", "-L", "-n", "-v"]),
    "nft6-S.txt": ("ipv6", ["-t", "nat", "-S"]),
}


def write_table(ns, ruleset) -> None:  # type: ignore[no-untyped-def]
    """kube-proxy's rules, one sync of the agent and its jump, IPv4 and IPv6."""
    for family in ("ipv4", "ipv6"):
        rules = ruleset.family(family)
        restore = tool("nft", "restore", family)
        ns.run([restore, "--noflush"], input=KUBE_PROXY)
        ns.run([restore, "--noflush"], input=restore_payload(rules))
        ns.run([tool("nft", "", family), "-t", "nat", "-A", "POSTROUTING", *rules.jump.args])


def main() -> None:
    entries = tuple(
        CIDREntry(text, index, Origin("capture", index + 1, 5, f"nonMasqueradeCIDRs[{index}]"))
        for index, text in enumerate(CIDRS)
    )
    flags = AgentFlags(enable_ipv6=True)
    ruleset = build_ruleset(MasqConfig(non_masquerade_cidrs=entries), flags)
    with namespace("mqpaste", ETC) as ns:
        write_table(ns, ruleset)
        for name, (family, args) in CAPTURES.items():
            program = tool("nft", args[0], family) if args[0] == "save" else tool("nft", "", family)
            output = ns.run([program, *(args[1:] if args[0] == "save" else args)]).stdout
            (HERE / name).write_text(output)
        saved = (HERE / "nft-save.txt").read_text()
        grep = subprocess.run(
            ["grep", "IP-MASQ"], input=saved, capture_output=True, text=True, timeout=10, check=True
        )
        (HERE / "nft-save-grep-IP-MASQ.txt").write_text(grep.stdout)
    with namespace("mqpaste", ETC) as ns:
        write_table(ns, ruleset)
        ns.run(["iptables-nft", "-t", "nat", "-I", "POSTROUTING", "1", *CTSTATE_RULE])
        listed = ns.run(["iptables-nft", "-t", "nat", "-L", "-n", "-v"]).stdout
        (HERE / "nft-L-n-v-ctstate.txt").write_text(listed)
    with namespace("mqpaste", RESOLVER_DOWN) as ns:
        write_table(ns, ruleset)
        listed = ns.run(["iptables-nft", "-t", "nat", "-L", CHAIN]).stdout
        (HERE / "nft-L-chain-resolver-down.txt").write_text(listed)
    print(f"wrote {len(CAPTURES) + 3} files in {HERE}", file=sys.stderr)


if __name__ == "__main__":
    main()
