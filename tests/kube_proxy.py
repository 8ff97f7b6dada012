"""A nat table shaped as kube-proxy (iptables mode) writes it, for N Services.

The shape follows kube-proxy's proxier: KUBE-SERVICES with one rule per Service port,
a KUBE-SVC-* chain per Service (the masquerade mark for off-cluster sources, then one
rule per endpoint with kube-proxy's probabilities), a KUBE-SEP-* chain per endpoint
(hairpin mark, DNAT), and the fixed chains: KUBE-POSTROUTING, KUBE-MARK-MASQ,
KUBE-NODEPORTS.  With three endpoints a Service that is about eleven rules, so 10,000
Services are about 110,000 rules, as on a large node.
"""

from __future__ import annotations

import hashlib

POD_CIDRS = {"ipv4": "10.244.0.0/16", "ipv6": "fd00:10:244::/64"}
ENDPOINTS = 3


def _chain_suffix(kind: str, name: str) -> str:
    """kube-proxy's chain suffix: 16 characters of a base32 SHA-256, upper case."""
    import base64

    digest = hashlib.sha256(f"{kind}{name}".encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def _service_ip(index: int, family: str) -> str:
    if family == "ipv6":
        return f"fd00:10:96::{index + 1:x}"
    return f"10.96.{index // 250 % 250}.{index % 250 + 1}"


def _endpoint_ip(index: int, endpoint: int, family: str) -> str:
    number = index * ENDPOINTS + endpoint
    if family == "ipv6":
        return f"fd00:10:244::{number + 2:x}"
    return f"10.244.{number // 250 % 250}.{number % 250 + 2}"


def kube_proxy_nat(services: int, family: str = "ipv4") -> str:
    """An iptables-restore payload of the nat table kube-proxy writes for ``services``
    (``family`` ipv6: as ip6tables-restore reads it)."""
    host = "/128" if family == "ipv6" else "/32"
    chains = [
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        ":KUBE-MARK-MASQ - [0:0]",
        ":KUBE-NODEPORTS - [0:0]",
        ":KUBE-POSTROUTING - [0:0]",
        ":KUBE-SERVICES - [0:0]",
    ]
    rules = [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
        "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring '
        'SNAT" -j MASQUERADE --random-fully',
    ]
    for index in range(services):
        name = f"default/svc-{index}:http"
        service = _chain_suffix("svc", name)
        address = _service_ip(index, family)
        chains.append(f":KUBE-SVC-{service} - [0:0]")
        rules.append(
            f'-A KUBE-SERVICES -d {address}{host} -p tcp -m comment --comment "{name} cluster '
            f'IP" -m tcp --dport 80 -j KUBE-SVC-{service}'
        )
        rules.append(
            f"-A KUBE-SVC-{service} ! -s {POD_CIDRS[family]} -d {address}{host} -p tcp -m comment "
            f'--comment "{name} cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ'
        )
        for endpoint in range(ENDPOINTS):
            pod = _endpoint_ip(index, endpoint, family)
            target = f"[{pod}]:8080" if family == "ipv6" else f"{pod}:8080"
            sep = _chain_suffix("sep", f"{name}{pod}")
            chains.append(f":KUBE-SEP-{sep} - [0:0]")
            left = ENDPOINTS - endpoint
            statistic = (
                f"-m statistic --mode random --probability {1 / left:.11f} " if left > 1 else ""
            )
            rules.append(
                f'-A KUBE-SVC-{service} -m comment --comment "{name} -> {pod}:8080" '
                f"{statistic}-j KUBE-SEP-{sep}"
            )
            rules.append(
                f'-A KUBE-SEP-{sep} -s {pod}{host} -m comment --comment "{name}" -j KUBE-MARK-MASQ'
            )
            rules.append(
                f'-A KUBE-SEP-{sep} -p tcp -m comment --comment "{name}" -m tcp -j DNAT '
                f"--to-destination {target}"
            )
    rules.append(
        '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this '
        'must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS'
    )
    return "*nat\n" + "\n".join(chains + rules) + "\nCOMMIT\n"
