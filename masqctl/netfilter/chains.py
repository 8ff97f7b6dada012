"""Reading only the chains masqctl needs from a node's live nat table.

A node's nat table can hold kube-proxy's 100,000 rules while masqctl's work is its own
chain and POSTROUTING, so the cost must follow those, not the table:

- iptables-nft: ``iptables -t nat --list-rules=CHAIN`` (``-S CHAIN``) asks the kernel for
  that chain alone, a few milliseconds whatever the table holds.  A chain that does not
  exist is reported as "incompatible" by iptables 1.8.9; ``iptables -t nat -C POSTROUTING
  -j CHAIN`` (read only) then tells a missing chain ("does not exist") from a really
  incompatible one.
- iptables-legacy: every listing fetches the whole table from the kernel.  One
  ``iptables-legacy-save -t nat``, cut to the wanted chains' lines, is the read: on
  kube-proxy's 110,000 rules ``-S POSTROUTING`` alone costs 0.7x that save (and one
  ``iptables-legacy-restore --test`` of several ``-S`` lines about the same), but both
  take the xtables lock, which the save does not, so a read would wait while
  kube-proxy writes.  A nat table the kernel does not have
  (``/proc/net/ip_tables_names``) is not read at all: naming it would make the kernel
  create it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from masqctl.netfilter.backend import (
    SAVE_TIMEOUT,
    Backend,
    IptablesError,
    Running,
    select_backend,
)
from masqctl.netfilter.save_parser import SaveFile, parse_lines

#: Built-in chains of the nat table and their policy when the table is empty.
NAT_BUILTINS = ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")
#: Targets that are not chains, so a walk never lists them.
TARGETS = frozenset(
    {
        "ACCEPT",
        "DROP",
        "RETURN",
        "QUEUE",
        "MASQUERADE",
        "SNAT",
        "DNAT",
        "REDIRECT",
        "NETMAP",
        "MARK",
        "CONNMARK",
        "LOG",
        "NFLOG",
        "TRACE",
        "AUDIT",
        "CLASSIFY",
        "NOTRACK",
        "CT",
        "TPROXY",
        "REJECT",
    }
)
_TABLE_NAMES = {"ipv4": "/proc/net/ip_tables_names", "ipv6": "/proc/net/ip6_tables_names"}


def legacy_tables(family: str) -> set[str]:
    """The legacy tables the kernel has for ``family`` in this network namespace."""
    try:
        with open(_TABLE_NAMES[family], encoding="ascii") as stream:
            return {line.strip() for line in stream if line.strip()}
    except OSError:  # no ip_tables module loaded: no legacy table at all
        return set()


def _listing_lines(table: str, listings: Iterable[str]) -> list[str]:
    """``-S`` output (``-P``/``-N``/``-A`` lines) as iptables-save lines of ``table``."""
    declarations: list[str] = []
    rules: list[str] = []
    for text in listings:
        for line in text.splitlines():
            if line.startswith("-P "):
                _, chain, policy = line.split()[:3]
                declarations.append(f":{chain} {policy} [0:0]")
            elif line.startswith("-N "):
                declarations.append(f":{line[3:].strip()} - [0:0]")
            elif line.startswith("-A "):
                rules.append(line)
    return [f"*{table}", *declarations, *rules, "COMMIT"]


@dataclass
class PendingChains:
    """Chains being read: started at once, so masqctl can work meanwhile."""

    backend: Backend
    names: tuple[str, ...]
    table: str
    listings: dict[str, Running] | None = None
    save: Running | None = None

    def result(self) -> tuple[SaveFile, str]:
        """The chains that exist, as a SaveFile of ``table``, and as iptables-save text."""
        if self.save is not None:
            lines = _filtered(self.save.wait(), self.table, self.names)
        elif self.listings is not None:
            texts = []
            for name, running in self.listings.items():
                try:
                    texts.append(running.wait())
                except IptablesError as error:
                    if not _is_missing(self.backend, self.table, name, str(error)):
                        raise
            lines = _listing_lines(self.table, texts)
        else:
            lines = [f"*{self.table}", "COMMIT"]
        return _listed(lines, f"{self.backend.command} -t {self.table}")

    def abandon(self) -> None:
        """Stop the reads (their result is no longer wanted)."""
        for running in [*(self.listings or {}).values(), *([self.save] if self.save else [])]:
            running.abandon()


def _filtered(text: str, table: str, names: Sequence[str]) -> list[str]:
    """The lines of a save of ``table`` that declare or fill one of ``names``, in their
    order, between the table's lines.  Found by searching the text for each line's start:
    a few scans of the text in C, where splitting a 100,000-rule save into lines and
    testing each one costs far more than reading it."""
    padded = "\n" + text
    found: list[tuple[int, str]] = []
    for start in [f":{name} " for name in names] + [f"-A {name} " for name in names]:
        needle = "\n" + start
        at = padded.find(needle)
        while at >= 0:
            end = padded.find("\n", at + 1)
            end = len(padded) if end < 0 else end
            found.append((at, padded[at + 1 : end]))
            at = padded.find(needle, end)
    found.sort()
    return [f"*{table}", *(line for _, line in found), "COMMIT"]


def _is_missing(backend: Backend, table: str, chain: str, message: str) -> bool:
    """Whether a failed ``-S chain`` means the chain does not exist."""
    if "No chain/target/match by that name" in message:
        return True
    if "incompatible" not in message:
        return False
    probe = Running(
        [backend.command, "-t", table, "-C", "POSTROUTING", "-j", chain], None, SAVE_TIMEOUT
    )
    try:
        probe.wait()
    except IptablesError as error:
        return "does not exist" in str(error)
    return False


def start_chain_read(backend: Backend, names: Sequence[str], table: str = "nat") -> PendingChains:
    """Start reading ``names`` of ``table`` the cheapest way ``backend`` allows."""
    pending = PendingChains(backend, tuple(names), table)
    if backend.name == "legacy":
        if table in legacy_tables(backend.family):
            pending.save = backend.start_save(table)
        return pending
    pending.listings = {
        name: Running(listing_args(backend, table, name), None, SAVE_TIMEOUT) for name in names
    }
    return pending


def listing_args(backend: Backend, table: str, chain: str) -> list[str]:
    """``iptables -t table -S chain``, the chain given as the option's own value: a name
    nft allows, ``-Z`` say, after a plain ``-S`` would be read as the next option
    (``-S -Z`` lists the whole table and zeroes its counters)."""
    return [backend.command, "-t", table, f"--list-rules={chain}"]


def start_agent_reads(mode: str, families: Sequence[str], chain: str) -> dict[str, PendingChains]:
    """Start reading POSTROUTING and the agent's ``chain`` of every family, on the backend
    ``--iptables-mode`` ``mode`` picks for it (so that masqctl reads its config meanwhile)."""
    reads: dict[str, PendingChains] = {}
    try:
        for family in families:
            reads[family] = start_chain_read(select_backend(mode, family), ("POSTROUTING", chain))
    except BaseException:
        abandon_reads(reads)
        raise
    return reads


def abandon_reads(reads: dict[str, PendingChains]) -> None:
    """Stop the reads still under way (their result is no longer wanted)."""
    for pending in reads.values():
        pending.abandon()


def read_chains(backend: Backend, names: Sequence[str], table: str = "nat") -> SaveFile:
    """The chains ``names`` of ``table`` that exist (see the module doc for the cost)."""
    return start_chain_read(backend, names, table).result()[0]


def read_reachable(backend: Backend, start: str = "POSTROUTING") -> tuple[SaveFile, str]:
    """The nat chain ``start`` and every chain reachable from it by jumps and gotos.

    On nft, one round of ``-S`` listings per depth of the walk; on legacy one save, from
    which the walk takes the chains it reaches (each rule of the others left unread).
    """
    if backend.name == "nft":

        def chains_of(names: Sequence[str]) -> tuple[SaveFile, str]:
            return start_chain_read(backend, names).result()

        source = f"{backend.command} -t nat"
    else:
        source = f"{backend.command}-save -t nat"
        if "nat" in legacy_tables(backend.family):
            text = backend.start_save("nat").wait()
        else:
            text = "".join(f":{name} ACCEPT [0:0]\n" for name in NAT_BUILTINS)

        def chains_of(names: Sequence[str]) -> tuple[SaveFile, str]:
            return _listed(_filtered(text, "nat", names), source)

    seen: list[str] = []
    wanted = [start]
    texts: list[str] = []
    while wanted:
        save, text_read = chains_of(wanted)
        texts.append(text_read)
        seen.extend(wanted)
        chains = save.chains("nat")
        wanted = sorted(
            {
                target
                for name in wanted
                if name in chains
                for rule in chains[name].rules
                if (target := _target(rule.canonical)) is not None
                and target not in TARGETS
                and target not in seen
            }
        )
    lines = ["*nat"]
    rules: list[str] = []
    for text_read in texts:
        for line in text_read.splitlines()[1:-1]:
            (lines if line.startswith(":") else rules).append(line)
    lines += [*rules, "COMMIT"]
    return _listed(lines, source)


def _listed(lines: list[str], source: str) -> tuple[SaveFile, str]:
    """Lines read from a live table as a SaveFile (rules named by position), and as text."""
    save = parse_lines(lines, source, lazy=True)
    save.listed = True
    return save, "\n".join(lines) + "\n"


def _target(words: tuple[str, ...]) -> str | None:
    """The chain or target a canonical rule jumps or goes to, if any."""
    if len(words) >= 2 and words[-2] in ("-j", "-g"):
        return words[-1]
    for index, word in enumerate(words[:-1]):
        if word in ("-j", "-g"):
            return words[index + 1]
    return None
