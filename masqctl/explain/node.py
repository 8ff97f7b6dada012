"""What live mode reads from the node: nat tables, local addresses, other NAT hooks.

Every program runs with an argument list and a timeout; a failure of what explain needs
is one MasqctlError line quoting the program's stderr.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

from masqctl.errors import MasqctlError
from masqctl.explain.live import FamilyTable
from masqctl.ruleset import IPV4, IPV6

if TYPE_CHECKING:
    from masqctl.netfilter.backend import Backend

TIMEOUT = 30.0
LEGACY_WARNING = "# Warning: iptables-legacy tables present"
#: The nft tables iptables-nft itself keeps; other nat postrouting chains are foreign.
IPTABLES_NFT_TABLES = {("ip", "nat"), ("ip6", "nat")}


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a program; MasqctlError naming it when it cannot be started or times out."""
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except FileNotFoundError:
        raise MasqctlError(f"{args[0]} not found (apt-get install iproute2)") from None
    except subprocess.TimeoutExpired:
        raise MasqctlError(f"{args[0]} did not finish within {TIMEOUT:g} s") from None


def dump_notes(text: str) -> list[str]:
    """Notes about NAT hooks outside the dump that the dump itself reveals."""
    if LEGACY_WARNING in text:
        return [
            "iptables-legacy tables are present too (the dump says so): their nat "
            "POSTROUTING rules see the packet on the same hook and may NAT it as well"
        ]
    return []


def dump_table(path: str, agent_chain: str, assume_not_local: bool) -> FamilyTable:
    """--from FILE: a saved iptables-save document, or what operators paste."""
    from masqctl.explain.paste_notes import paste_notes
    from masqctl.netfilter.paste import read_paste
    from masqctl.netfilter.save_parser import read_dump

    text = read_dump(path)
    paste = read_paste(text, path)
    walk_notes, unseen = paste_notes(paste)
    notes = dump_notes(text) + walk_notes
    if assume_not_local:
        notes.append(
            "assumed the destination is not a local address of the node (give the "
            "node's addresses with --local-address)"
        )
    return FamilyTable(paste.save, path, agent_chain, notes, unseen)


def live_table(mode: str, family: str, agent_chain: str, nft_chains: NftChains) -> FamilyTable:
    """--live: POSTROUTING and the chains reachable from it, and notes about other nat
    POSTROUTING chains (``nft_chains``: the nftables listing, started before)."""
    from masqctl.netfilter.backend import Backend, select_backend
    from masqctl.netfilter.chains import read_reachable

    backend = select_backend(mode, family)
    save, text = read_reachable(backend)
    other = Backend("legacy" if backend.name == "nft" else "nft", family)
    notes = [*other_backend_notes(other, text), *nft_chains.foreign_notes(family)]
    return FamilyTable(save, f"{backend.command} -t nat", agent_chain, notes)


def other_backend_notes(other: Backend, text: str) -> list[str]:
    """The other iptables backend's nat POSTROUTING rules, which share the hook (``text``:
    what was read from this one, for the notes a dump makes when ``other`` cannot run)."""
    from masqctl.netfilter.backend import IptablesError
    from masqctl.netfilter.chains import legacy_tables, read_chains

    if shutil.which(other.command) is None:
        return dump_notes(text)
    if other.name == "legacy" and "nat" not in legacy_tables(other.family):
        return []
    try:
        chain = read_chains(other, ("POSTROUTING",)).chains("nat").get("POSTROUTING")
    except IptablesError:
        return dump_notes(text)
    if chain is None or not chain.rules:
        return []
    return [
        f"{other.command} also has {len(chain.rules)} rule(s) in nat POSTROUTING: they see "
        "the packet on the same hook and may NAT it too (a RETURN here does not exempt "
        "it there)"
    ]


#: A base chain in ``nft -j list chains``: its object has no braces inside.
_POSTROUTING_CHAIN = re.compile(r'\{"chain": (\{[^{}]*"hook": "postrouting"[^{}]*\})\}')


class NftChains:
    """``nft -j list chains``, started at once and read when the notes are made: it lists
    every chain, kube-proxy's tens of thousands in iptables-nft's nat table too, so it
    runs while masqctl reads the iptables chains."""

    def __init__(self) -> None:
        from masqctl.netfilter.backend import Running

        self._running = (
            Running(["nft", "-j", "list", "chains"], None, TIMEOUT) if shutil.which("nft") else None
        )
        self._chains: list[dict[str, object]] | str | None = None

    def _postrouting_chains(self) -> list[dict[str, object]] | str:
        """The chains on the postrouting hook, or why they could not be listed."""
        from masqctl.netfilter.backend import IptablesError

        if self._chains is None:
            assert self._running is not None
            try:
                text = self._running.wait()
            except IptablesError as error:
                self._chains = f"could not list nftables chains: {error}"
                return self._chains
            found = [json.loads(match) for match in _POSTROUTING_CHAIN.findall(text)]
            if len(found) != text.count('"hook": "postrouting"'):  # a name with braces
                items = json.loads(text or "{}").get("nftables", [])
                found = [item["chain"] for item in items if item.get("chain", {}).get("hook")]
            self._chains = found
        return self._chains

    def close(self) -> None:
        """Stop the listing if it still runs (nothing asked for its notes)."""
        if self._running is not None:
            self._running.abandon()

    def foreign_notes(self, family: str) -> list[str]:
        """Native nftables nat postrouting chains of ``family`` (not iptables-nft's own)."""
        if self._running is None:
            return []
        chains = self._postrouting_chains()
        if isinstance(chains, str):
            return [chains]
        families = {"ip", "inet"} if family == IPV4 else {"ip6", "inet"}
        return [
            f"nftables chain {chain['family']} {chain['table']} {chain['name']} "
            f"(priority {chain.get('prio')}) is also a nat postrouting chain and may "
            "NAT the packet too"
            for chain in chains
            if chain.get("hook") == "postrouting"
            and chain.get("type") == "nat"
            and chain.get("family") in families
            and (chain.get("family"), chain.get("table")) not in IPTABLES_NFT_TABLES
        ]


def local_routes() -> dict[str, list[tuple[int, int]]]:
    """The node's LOCAL addresses, as addrtype sees them: the kernel's local routing table."""
    from masqctl.explain.addresses import parse_target

    ranges: dict[str, list[tuple[int, int]]] = {IPV4: [], IPV6: []}
    for family, flag in ((IPV4, "-4"), (IPV6, "-6")):
        result = run(["ip", flag, "-j", "route", "show", "table", "local"])
        if result.returncode != 0:
            if "does not exist" in result.stderr:
                continue  # no local table yet: no address is up
            raise MasqctlError(f"ip route show table local failed: {result.stderr.strip()}")
        for route in json.loads(result.stdout or "[]"):
            if route.get("type") == "local":
                target = parse_target(route["dst"])
                ranges[family].append((target.first, target.last))
    return ranges
