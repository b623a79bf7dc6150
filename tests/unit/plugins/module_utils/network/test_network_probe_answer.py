"""Who answered a probe (network.probe_answer), from packets built with scapy - independently of the parser - as a raw
socket hands them over (IPv4 header first).

The values come from the RFCs: ICMP destination unreachable is type 3 (RFC 792), code 3 port unreachable (RFC 792),
code 13 communication administratively prohibited (RFC 1812 5.2.7.1), codes 9/10 network/host administratively
prohibited (RFC 1122 3.2.2.1); the ICMP message carries the original IP header and the first 8 bytes of its payload
(RFC 792); a router decrements TTL by one per hop (RFC 1812 5.3.1); Linux sends with TTL 64, Windows with 128.
The scene: a probe host 203.0.113.11 behind the router 203.0.113.1 probes the service point 198.51.100.20, one hop
away, from local port 40000.
"""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.network.probe_answer import (
    classify,
    gateway_for,
    hops,
    parse_icmp,
    parse_routes,
    parse_tcp,
)
from scapy.layers.inet import ICMP, IP, TCP

HOST, ROUTER, DEST, LPORT = "203.0.113.11", "203.0.113.1", "198.51.100.20", 40000


def reset(ttl: int, src: str = DEST, port: int = 3389) -> bytes:
    return bytes(IP(src=src, dst=HOST, ttl=ttl) / TCP(sport=port, dport=LPORT, flags="RA"))


def syn_ack(ttl: int, port: int = 9971) -> bytes:
    return bytes(IP(src=DEST, dst=HOST, ttl=ttl) / TCP(sport=port, dport=LPORT, flags="SA"))


def unreachable(code: int, src: str, ttl: int, port: int = 3389) -> bytes:
    probe = bytes(IP(src=HOST, dst=DEST, ttl=63) / TCP(sport=LPORT, dport=port, flags="S"))
    quoted = probe[:28]  # the IP header and the first 8 bytes of TCP (RFC 792)
    return bytes(IP(src=src, dst=HOST, ttl=ttl) / ICMP(type=3, code=code) / quoted)


def test_a_reset_parses_with_its_ttl_and_ports():
    assert parse_tcp(reset(63)) == {"kind": "reset", "src": DEST, "ttl": 63, "key": (DEST, 3389, LPORT)}
    assert parse_tcp(syn_ack(127))["kind"] == "syn-ack"
    assert parse_tcp(bytes(IP(src=DEST, dst=HOST) / TCP(sport=1, dport=2, flags="A"))) is None  # a bare ACK


def test_an_icmp_unreachable_parses_to_the_probe_it_quotes():
    got = parse_icmp(unreachable(13, ROUTER, 64))
    assert got == {"kind": "icmp", "src": ROUTER, "ttl": 64, "code": 13, "key": (DEST, 3389, LPORT)}
    echo_reply = bytes(IP(src=ROUTER, dst=HOST) / ICMP(type=0))
    assert parse_icmp(echo_reply) is None
    assert parse_icmp(b"\x45\x00") is None


@pytest.mark.parametrize(("ttl", "expected"), [(64, 0), (63, 1), (128, 0), (127, 1), (120, 8), (255, 0), (250, 5),
                                               (32, 0), (30, 2)])  # fmt: skip
def test_hops_from_the_common_initial_ttls(ttl, expected):
    assert hops(ttl) == expected


# (status from connect, packets read, reference SYN-ACK TTL, gateway) -> (reason, answered_by)
CASES = {
    "dropped": ("filtered", [], None, ROUTER, ("no-response", "nobody")),
    "syn-ack": ("open", [syn_ack(63)], 63, ROUTER, ("syn-ack", "destination")),
    # the router's own address, code 13 (nftables reject with icmp type admin-prohibited)
    "router admin-prohibited": ("unreachable", [unreachable(13, ROUTER, 64)], 63, ROUTER,
                                ("admin-prohibited", "firewall")),
    "router host-prohibited": ("unreachable", [unreachable(10, ROUTER, 64)], None, ROUTER,
                               ("host-prohibited", "firewall")),
    # a firewall farther away, answering from its own address
    "far firewall port-unreachable": ("refused", [unreachable(3, "192.0.2.7", 62)], None, ROUTER,
                                      ("port-unreachable", "firewall")),
    # the destination's own stack: a reset as far away as its SYN-ACK (1 hop) - the packet crossed the router
    "destination reset": ("refused", [reset(63)], 63, ROUTER, ("reset", "destination")),
    "windows destination reset": ("refused", [reset(127)], 127, ROUTER, ("reset", "destination")),
    # forged by the router (nftables reject with tcp reset): 0 hops, while the SYN-ACK came from 1
    "forged reset vs reference": ("refused", [reset(64)], 63, ROUTER, ("reset", "firewall")),
    "forged reset vs windows reference": ("refused", [reset(64)], 127, ROUTER, ("reset", "firewall")),
    # no reference, but the destination is behind a router and the reset came from 0 hops: the first hop sent it
    "forged reset, known hop count": ("refused", [reset(64)], None, ROUTER, ("reset", "firewall")),
    # no reference and 1 hop: the destination or a firewall one hop further - cannot tell
    "reset, no reference": ("refused", [reset(63)], None, ROUTER, ("reset", "unknown")),
    "reset, on-link, no reference": ("refused", [reset(64)], None, None, ("reset", "unknown")),
    # port unreachable from the destination's address at the destination's distance: the host itself
    "destination port-unreachable": ("refused", [unreachable(3, DEST, 63)], 63, ROUTER,
                                     ("port-unreachable", "destination")),
    # in the destination's name from closer than the destination
    "forged icmp": ("unreachable", [unreachable(13, DEST, 64)], 63, ROUTER, ("admin-prohibited", "firewall")),
    "refused, nothing read": ("refused", [], 63, ROUTER, ("refused", "unknown")),
    # an ICMP message from this host itself: the probe never left
    "no neighbour": ("unreachable", [unreachable(1, HOST, 64)], None, ROUTER, ("host-unreachable", "this host")),
}  # fmt: skip


@pytest.mark.parametrize(("status", "packets", "reference", "gateway", "expected"), list(CASES.values()),
                         ids=list(CASES))  # fmt: skip
def test_who_answered(status, packets, reference, gateway, expected):
    answers = [parse_tcp(p) or parse_icmp(p) for p in packets]
    got = classify(status, answers, dest=DEST, reference_ttl=reference, gateway=gateway, local=frozenset({HOST}))
    assert (got["reason"], got["answered_by"]) == expected, got["evidence"]


def test_the_evidence_names_ttl_hops_and_icmp_code():
    got = classify("refused", [parse_tcp(reset(64))], dest=DEST, reference_ttl=63, gateway=ROUTER)
    assert got["evidence"] == (f"TCP reset from {DEST}, TTL 64 (0 hops): forged in {DEST}'s name by a device closer "
                               f"than {DEST} (its SYN-ACK came with TTL 63, 1 hops)")  # fmt: skip
    got = classify("unreachable", [parse_icmp(unreachable(13, ROUTER, 64))], dest=DEST, gateway=ROUTER)
    assert got["evidence"] == (f"ICMP unreachable admin-prohibited (type 3 code 13) from {ROUTER}, TTL 64: refused "
                               f"by {ROUTER}, before {DEST}")  # fmt: skip


def test_without_raw_sockets_a_refusal_is_cannot_tell_and_a_timeout_is_dropped():
    got = classify("refused", [], dest=DEST, sniffed=False)
    assert got["answered_by"] == "unknown" and "raw socket" in got["evidence"]
    assert classify("filtered", [], dest=DEST, sniffed=False)["answered_by"] == "nobody"


# /proc/net/route as the kernel writes it (little-endian hex; flags 0001 RTF_UP, 0002 RTF_GATEWAY): the lab's AMT host
ROUTES = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t017100CB\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t007100CB\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def test_the_gateway_of_a_destination_from_proc_net_route():
    routes = parse_routes(ROUTES)
    assert gateway_for(routes, DEST) == ROUTER  # 203.0.113.1 is CB.00.71.01 -> 017100CB little-endian
    assert gateway_for(routes, "203.0.113.12") is None  # on-link
    assert gateway_for(routes, "127.0.0.1") is None
