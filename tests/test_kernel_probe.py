"""The kernel is the judge: UDP probes from a pod namespace through a node namespace
(running the agent's rules) to an external namespace, whose listener records the source
address each probe arrives with; explain --config and --live must have predicted each.

    pod 10.244.1.2/24 ── node 10.244.1.1/24 | 198.51.100.1/24 (forwarding) ── ext 198.51.100.2/24
                                                                  destinations on ext's loopback

Only documentation ranges, link-local and addresses assigned here are used; everything
runs inside namespaces this test creates and deletes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.netns import Namespace, namespace, require_netfilter

POD, NODE_INSIDE, NODE_OUTSIDE, EXT = "10.244.1.2", "10.244.1.1", "198.51.100.1", "198.51.100.2"
CONFIG = "nonMasqueradeCIDRs: [203.0.113.0/25, 192.0.2.0/24]\nmasqLinkLocal: false\n"
#: Destination → expected verdict with the config above.
DESTINATIONS = {
    "203.0.113.1": "no-masquerade",
    "203.0.113.127": "no-masquerade",
    "203.0.113.129": "masquerade",  # just past the /25
    "192.0.2.7": "no-masquerade",
    "198.51.100.77": "masquerade",
    "169.254.7.7": "no-masquerade",  # the link-local default
}
PORT = 9
LISTENER = """
import json, socket, sys
count, seconds = int(sys.argv[1]), float(sys.argv[2])
listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
listener.bind(("0.0.0.0", int(sys.argv[3])))
listener.settimeout(seconds)
print("ready", flush=True)
seen = {}
try:
    while len(seen) < count:
        data, (source, _) = listener.recvfrom(512)
        seen[data.decode()] = source
except TimeoutError:
    pass
print(json.dumps(seen), flush=True)
"""
PROBE = """
import socket, sys
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for destination in sys.argv[2:]:
    sender.sendto(destination.encode(), (destination, int(sys.argv[1])))
"""


@dataclass
class Lab:
    pod: Namespace
    node: Namespace
    ext: Namespace


@pytest.fixture
def lab() -> Iterator[Lab]:
    require_netfilter()
    with namespace("mqpod") as pod, namespace("mqnode") as node, namespace("mqext") as ext:
        link(pod, "p0", POD, node, "n0", NODE_INSIDE)
        link(node, "n1", NODE_OUTSIDE, ext, "e0", EXT)
        pod.run(["ip", "route", "add", "default", "via", NODE_INSIDE])
        node.run(["ip", "route", "add", "default", "via", EXT])
        node.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        ext.run(["ip", "route", "add", "10.244.1.0/24", "via", NODE_OUTSIDE])
        for destination in DESTINATIONS:
            ext.run(["ip", "addr", "add", f"{destination}/32", "dev", "lo"])
        yield Lab(pod, node, ext)


def link(
    left: Namespace,
    left_name: str,
    left_address: str,
    right: Namespace,
    right_name: str,
    right_address: str,
) -> None:
    """A veth pair between two namespaces, with a /24 address on each end."""
    left.run(
        [
            "ip",
            "link",
            "add",
            left_name,
            "type",
            "veth",
            "peer",
            "name",
            right_name,
            "netns",
            right.name,
        ]
    )
    left.run(["ip", "addr", "add", f"{left_address}/24", "dev", left_name])
    right.run(["ip", "addr", "add", f"{right_address}/24", "dev", right_name])
    left.run(["ip", "link", "set", left_name, "up"])
    right.run(["ip", "link", "set", right_name, "up"])


def observed_sources(lab: Lab) -> dict[str, str]:
    """Send one UDP probe from the pod to each destination; the source each arrived with."""
    listener = subprocess.Popen(
        lab.ext.exec_args([sys.executable, "-c", LISTENER, str(len(DESTINATIONS)), "5", str(PORT)]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=lab.ext.env,
    )
    try:
        assert listener.stdout is not None
        assert listener.stdout.readline().strip() == "ready"
        lab.pod.run([sys.executable, "-c", PROBE, str(PORT), *DESTINATIONS])
        out, err = listener.communicate(timeout=15)
    finally:
        listener.kill()
        listener.wait()
    assert listener.returncode == 0, err
    return json.loads(out)


def explain_in_node(lab: Lab, *args: str) -> dict[str, dict]:
    """masqctl explain inside the node namespace: address → JSON object."""
    result = lab.node.run(
        [sys.executable, "-m", "masqctl", "explain", *DESTINATIONS, "-o", "json", *args]
    )
    return {line["address"]: line for line in map(json.loads, result.stdout.splitlines())}


def masqueraded(source: str) -> str:
    assert source in (POD, NODE_OUTSIDE), source
    return "masquerade" if source == NODE_OUTSIDE else "no-masquerade"


@pytest.mark.netfilter
@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_explain_predicts_the_source_address_the_kernel_gives_each_probe(
    lab: Lab, backend: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    lab.node.run(
        [
            sys.executable,
            "-m",
            "masqctl",
            "apply",
            "--config",
            str(config),
            "--iptables-mode",
            backend,
            "--backup",
            str(tmp_path / "backup"),
        ]
    )

    seen = {address: masqueraded(source) for address, source in observed_sources(lab).items()}
    assert seen == DESTINATIONS
    by_config = explain_in_node(lab, "--config", str(config))
    by_live = explain_in_node(lab, "--live", "--iptables-mode", backend)
    assert {address: line["verdict"] for address, line in by_config.items()} == seen
    assert {address: line["verdict"] for address, line in by_live.items()} == seen
    assert by_live["203.0.113.129"]["rule"]["chain"] == "IP-MASQ-AGENT"
    assert by_live["192.0.2.7"]["rule"]["text"].startswith("-A IP-MASQ-AGENT -d 192.0.2.0/24 ")

    # Another rule masquerades before the agent's jump: only --live can know.
    lab.node.run(
        [
            f"iptables-{backend}",
            "-t",
            "nat",
            "-I",
            "POSTROUTING",
            "1",
            "-d",
            "192.0.2.0/24",
            "-j",
            "MASQUERADE",
        ]
    )
    lab.node.run(["conntrack", "-F"])
    seen = {address: masqueraded(source) for address, source in observed_sources(lab).items()}
    assert seen == DESTINATIONS | {"192.0.2.7": "masquerade"}
    by_live = explain_in_node(lab, "--live", "--iptables-mode", backend)
    assert {address: line["verdict"] for address, line in by_live.items()} == seen
    decider = by_live["192.0.2.7"]
    assert (decider["rule"]["chain"], decider["rule"]["index"]) == ("POSTROUTING", 1)
    assert "decided before the packet reaches the agent's chain IP-MASQ-AGENT" in decider["notes"]
