"""Benchmark: ``masqctl explain -`` on 1,000,000 IPv4 addresses against 10,000 CIDRs.

Prints the wall time of the real command (JSON Lines read through a pipe) and the speedup over a
naive loop that checks every CIDR with ``ipaddress`` for each address (measured on a
sample and extrapolated, since the naive loop would take hours on the full input).
The issue's target: under 3 s wall.

    python tests/benchmarks/bench_explain.py [--addresses N] [--cidrs N]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 5


def make_cidrs(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct aligned IPv4 CIDRs, /12 to /28, some nested in others."""
    cidrs: set[str] = set()
    while len(cidrs) < count:
        prefix = rng.randint(12, 28)
        network = ipaddress.IPv4Network(
            (rng.getrandbits(32) >> (32 - prefix) << (32 - prefix), prefix)
        )
        cidrs.add(str(network))
    return sorted(cidrs, key=lambda _: rng.random())


def make_addresses(count: int, cidrs: list[str], rng: random.Random) -> list[str]:
    """Half anywhere in IPv4, half inside one of the CIDRs."""
    networks = [ipaddress.IPv4Network(cidr) for cidr in cidrs]
    addresses = []
    for number in range(count):
        if number % 2:
            network = networks[rng.randrange(len(networks))]
            value = int(network.network_address) + rng.randrange(network.num_addresses)
        else:
            value = rng.getrandbits(32)
        addresses.append(str(ipaddress.IPv4Address(value)))
    return addresses


def naive_verdicts(addresses: list[str], cidrs: list[str]) -> list[str]:
    """The first configured CIDR containing each address, checked one by one."""
    networks = [ipaddress.ip_network(cidr) for cidr in ("169.254.0.0/16", *cidrs)]
    verdicts = []
    for text in addresses:
        address = ipaddress.ip_address(text)
        verdict = "masquerade"
        for network in networks:
            if address in network:
                verdict = "no-masquerade"
                break
        verdicts.append(verdict)
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--cidrs", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=2_000)
    options = parser.parse_args()
    rng = random.Random(SEED)
    cidrs = make_cidrs(options.cidrs, rng)
    addresses = make_addresses(options.addresses, cidrs, rng)
    with tempfile.TemporaryDirectory(prefix="masqctl-bench-") as work:
        config = Path(work, "config.yaml")
        config.write_text(
            f"cidrLimit: {options.cidrs}\nnonMasqueradeCIDRs:\n"
            + "".join(f"  - {cidr}\n" for cidr in cidrs)
        )
        stdin_path = Path(work, "addresses.txt")
        stdin_path.write_text("".join(f"{address}\n" for address in addresses))
        command = [
            sys.executable,
            "-m",
            "masqctl",
            "explain",
            "-",
            "--config",
            str(config),
            "--output",
            "json",
        ]
        with stdin_path.open() as stdin:
            started = time.perf_counter()
            process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE)
            head = process.stdout.readline  # the first lines, for the naive comparison
            fast = [json.loads(head())["verdict"] for _ in range(options.naive_sample)]
            output_bytes = sum(
                len(block) for block in iter(lambda: process.stdout.read(1 << 20), b"")
            )
            if process.wait(timeout=600) != 0:
                print(f"masqctl exited {process.returncode}", file=sys.stderr)
                return 2
            wall = time.perf_counter() - started
    sample = addresses[: options.naive_sample]
    started = time.perf_counter()
    naive = naive_verdicts(sample, cidrs)
    naive_per_address = (time.perf_counter() - started) / len(sample)
    naive_total = naive_per_address * len(addresses)
    if naive != fast:
        print("MISMATCH between masqctl and the naive loop on the sample", file=sys.stderr)
        return 1
    print(
        f"masqctl explain: {len(addresses):,} addresses, {len(cidrs):,} CIDRs, JSON Lines "
        f"({output_bytes / 1e6:,.0f} MB through a pipe): {wall:.2f} s wall "
        f"({len(addresses) / wall:,.0f} addresses/s)"
    )
    print(
        f"naive ipaddress loop: {naive_per_address * 1e6:.1f} µs/address on "
        f"{len(sample):,} addresses, {naive_total:,.0f} s extrapolated"
    )
    print(f"speedup: {naive_total / wall:,.0f}x; target < 3 s: {'met' if wall < 3 else 'MISSED'}")
    return 0 if wall < 3 else 1


if __name__ == "__main__":
    sys.exit(main())
