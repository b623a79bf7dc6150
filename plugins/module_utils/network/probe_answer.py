# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who answered a TCP probe: the destination, a firewall in between, or nobody (network_flow_probe).

A connect() says only open, refused or timed out. A firewall audit needs more: did the packet cross the firewall?
A firewall that rejects answers in one of two ways, and both can be told from the destination's own answer:

- ICMP destination unreachable (RFC 792) from the firewall's own address, usually with code 13 "communication
  administratively prohibited" (RFC 1812 5.2.7.1; codes 9 and 10 are the older host/network forms, RFC 1122
  3.2.2.1). The ICMP message carries the probe's IP header and first 8 bytes of TCP (RFC 792), so it is matched to
  the probe by the destination address and the two ports.
- A TCP reset forged in the destination's name (nftables ``reject with tcp reset``, iptables ``REJECT --reject-with
  tcp-reset``, PAN-OS ``reset-client``). Its source address is the destination's, but it is sent by the firewall, so
  it arrives with the firewall's hop count: IP's TTL (RFC 791) starts at a sender's initial value (64 on Linux and
  BSD, 128 on Windows, 255 on network gear, 32 on old stacks; RFC 1700's default is 64) and each router decrements it
  (RFC 1812 5.3.1). A reset whose hop count differs from that of the destination's SYN-ACK on an open port (the
  reference), or that comes from 0 hops for a destination behind a router, was not sent by the destination.

nmap's ``--reason`` (syn-ack, reset, no-response, admin-prohibited, with the answer's TTL) and hping3's TTL-based
firewalking read the same evidence. The answers are read with raw sockets (root or CAP_NET_RAW); without them the
module says "cannot tell" (a warning, never a pass).

Parsing and classification are pure (no I/O) and unit-tested from packets built by scapy, independently of this code;
``Sniffer`` is the raw-socket reader.
"""

from __future__ import annotations

import contextlib
import socket
import struct

ICMP_UNREACH = 3
# RFC 792 (0-5), RFC 1122 3.2.2.1 (6-12), RFC 1812 5.2.7.1 (13-15)
UNREACH_CODES = {
    0: "net-unreachable",
    1: "host-unreachable",
    2: "protocol-unreachable",
    3: "port-unreachable",
    4: "fragmentation-needed",
    5: "source-route-failed",
    6: "net-unknown",
    7: "host-unknown",
    8: "source-host-isolated",
    9: "net-prohibited",
    10: "host-prohibited",
    11: "net-tos-unreachable",
    12: "host-tos-unreachable",
    13: "admin-prohibited",
    14: "host-precedence-violation",
    15: "precedence-cutoff",
}
PROHIBITED = {9, 10, 13}  # "administratively prohibited": a filter's answer by definition
INITIAL_TTLS = (32, 64, 128, 255)

# who stopped (or did not stop) a probe
NOBODY, FIREWALL, DESTINATION, THIS_HOST, UNKNOWN = "nobody", "firewall", "destination", "this host", "unknown"


def initial_ttl(ttl: int) -> int:
    """The sender's likely initial TTL: the smallest common initial value at least ``ttl``."""
    return next(t for t in INITIAL_TTLS if ttl <= t)


def hops(ttl: int) -> int:
    """Routers between the sender and here, from the TTL an answer arrived with."""
    return initial_ttl(ttl) - ttl


def _ipv4(packet: bytes) -> tuple[int, int, str, str] | None:
    """(header length, protocol, source, destination) of an IPv4 header, or None."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if ihl < 20 or len(packet) < ihl:
        return None
    return ihl, packet[9], socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])


def parse_tcp(packet: bytes) -> dict | None:
    """An IPv4 packet carrying TCP (as a raw IPPROTO_TCP socket reads it) as {kind: syn-ack|reset, src, ttl, key}
    where key is (remote address, remote port, local port); None for anything else."""
    ip = _ipv4(packet)
    if ip is None or ip[1] != socket.IPPROTO_TCP or len(packet) < ip[0] + 14:
        return None
    sport, dport = struct.unpack_from("!HH", packet, ip[0])
    flags = packet[ip[0] + 13]
    if flags & 0x04:  # RST (RFC 793)
        kind = "reset"
    elif flags & 0x12 == 0x12:  # SYN+ACK
        kind = "syn-ack"
    else:
        return None
    return {"kind": kind, "src": ip[2], "ttl": packet[8], "key": (ip[2], sport, dport)}


def parse_icmp(packet: bytes) -> dict | None:
    """An IPv4 ICMP destination unreachable about a TCP segment we sent (as a raw IPPROTO_ICMP socket reads it) as
    {kind: icmp, src, ttl, code, key} where key is (the probe's destination, its port, its source port); None for
    anything else."""
    outer = _ipv4(packet)
    if outer is None or outer[1] != socket.IPPROTO_ICMP or len(packet) < outer[0] + 8:
        return None
    icmp_type, code = packet[outer[0]], packet[outer[0] + 1]
    if icmp_type != ICMP_UNREACH:
        return None
    inner_at = outer[0] + 8  # RFC 792: type, code, checksum, 4 unused bytes, then the original IP header + 8 bytes
    inner = _ipv4(packet[inner_at:])
    if inner is None or inner[1] != socket.IPPROTO_TCP or len(packet) < inner_at + inner[0] + 4:
        return None
    sport, dport = struct.unpack_from("!HH", packet, inner_at + inner[0])
    return {"kind": "icmp", "src": outer[2], "ttl": packet[8], "code": code, "key": (inner[3], dport, sport)}


def _said(answer: dict) -> str:
    if answer["kind"] == "icmp":
        name = UNREACH_CODES.get(answer["code"], f"code {answer['code']}")
        return f"ICMP unreachable {name} (type 3 code {answer['code']}) from {answer['src']}, TTL {answer['ttl']}"
    return f"TCP {answer['kind']} from {answer['src']}, TTL {answer['ttl']} ({hops(answer['ttl'])} hops)"


def classify(status: str, answers: list[dict], *, dest: str, reference_ttl: int | None = None,
             gateway: str | None = None, local: frozenset = frozenset(), sniffed: bool = True) -> dict:  # fmt: skip
    """Who answered one probe: {reason, answered_by, evidence}.

    ``status`` is the connect's (open, refused, filtered, unreachable, error); ``answers`` the packets read for it
    (parse_tcp / parse_icmp); ``reference_ttl`` the TTL of a SYN-ACK from ``dest`` (any port) in the same run;
    ``gateway`` the router this host sends ``dest``'s packets to (None: on-link); ``local`` this host's addresses;
    ``sniffed`` whether answers could be read at all. answered_by: nobody (dropped), firewall, destination, this host
    (an error raised before the packet left), unknown (cannot tell, with the reason)."""
    by_kind = {a["kind"]: a for a in answers}
    if status == "open":
        seen = f": {_said(by_kind['syn-ack'])}" if "syn-ack" in by_kind else ""
        return _verdict("syn-ack", DESTINATION, f"the handshake completed{seen}")
    if "icmp" in by_kind or "reset" in by_kind:
        answer = by_kind.get("icmp") or by_kind["reset"]
        reason = UNREACH_CODES.get(answer["code"], f"code-{answer['code']}") if answer["kind"] == "icmp" else "reset"
        who, why = _who(answer, dest, reference_ttl, gateway, local)
        return _verdict(reason, who, f"{_said(answer)}: {why}")
    if status == "filtered":
        return _verdict("no-response", NOBODY, "no answer: dropped on the way")
    if not sniffed:
        return _verdict(status, UNKNOWN, "cannot tell who answered: reading the answers needs a raw socket (root or "
                        "CAP_NET_RAW)")  # fmt: skip
    return _verdict(status, UNKNOWN, f"cannot tell who answered: the connect said {status}, but no reset or ICMP "
                    "message about it was read")  # fmt: skip


def _verdict(reason: str, who: str, evidence: str) -> dict:
    return {"reason": reason, "answered_by": who, "evidence": evidence}


def _by_reference(got: int, reference_ttl: int, dest: str) -> tuple:
    """(answered_by, why): an answer in ``dest``'s name from ``got`` hops, against its SYN-ACK's TTL."""
    ref = f"its SYN-ACK came with TTL {reference_ttl}, {hops(reference_ttl)} hops"
    if got == hops(reference_ttl):
        return DESTINATION, f"sent by {dest} itself, as far away as its own SYN-ACK ({ref})"
    if got < hops(reference_ttl):
        return FIREWALL, f"forged in {dest}'s name by a device closer than {dest} ({ref})"
    return UNKNOWN, f"from farther away than {dest} itself ({ref}); cannot tell who sent it"


def _who(answer: dict, dest: str, reference_ttl: int | None, gateway: str | None, local: frozenset) -> tuple:
    """(answered_by, why) for a reset or an ICMP unreachable about a probe to ``dest``."""
    if answer["src"] == dest and dest in local:
        return DESTINATION, f"{dest} is this host"
    if answer["src"] in local:  # an ICMP message this host sent itself: no route, no neighbour
        return THIS_HOST, "this host could not send it"
    if answer["src"] != dest:  # only an ICMP message can come from another address
        return FIREWALL, f"refused by {answer['src']}, before {dest}"
    if reference_ttl:
        return _by_reference(hops(answer["ttl"]), reference_ttl, dest)
    if gateway and hops(answer["ttl"]) == 0:
        return FIREWALL, f"sent from 0 hops away, but {dest} is behind the router {gateway}"
    where = f"{dest} is behind {gateway}" if gateway else f"{dest} is on this host's own subnet"
    return UNKNOWN, (f"cannot tell whether {dest} or a firewall in its name sent it ({where}, and no open port of "
                     f"{dest} answered in this run to compare hop counts with)")  # fmt: skip


# --- routes and addresses (Linux /proc, this network namespace) -------------------------------------------------------


def parse_routes(text: str) -> list[tuple[int, int, str | None]]:
    """/proc/net/route as [(network, mask, gateway or None)], addresses as host-order integers, longest mask first."""
    routes = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        dest, gw, mask = (struct.unpack("<I", bytes.fromhex(f))[0] for f in (fields[1], fields[2], fields[7]))
        flags = int(fields[3], 16)
        if not flags & 0x1:  # RTF_UP
            continue
        gateway = socket.inet_ntoa(struct.pack("!I", gw)) if flags & 0x2 and gw else None  # RTF_GATEWAY
        routes.append((dest, mask, gateway))
    routes.sort(key=lambda r: -bin(r[1]).count("1"))
    return routes


def gateway_for(routes: list, address: str) -> str | None:
    """The router this host sends ``address``'s packets to, or None when it is on-link (or unroutable)."""
    n = struct.unpack("!I", socket.inet_aton(address))[0]
    if n >> 24 == 127:  # loopback: the local routing table, never a router
        return None
    for dest, mask, gateway in routes:
        if n & mask == dest & mask:
            return gateway
    return None


def read_routes() -> list:
    try:
        with open("/proc/net/route", encoding="ascii") as f:
            return parse_routes(f.read())
    except OSError:
        return []


# --- the raw-socket reader -------------------------------------------------------------------------------------------


class Sniffer:
    """Reads the TCP segments and ICMP messages that reach this host (raw sockets) and keeps those about the probes
    registered with ``expect``. ``ok`` is False (and nothing is read) without root or CAP_NET_RAW."""

    def __init__(self):
        self.socks: list[socket.socket] = []
        self.wanted: set = set()
        self.answers: dict = {}
        self.error = ""
        try:
            for proto in (socket.IPPROTO_TCP, socket.IPPROTO_ICMP):
                s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
                s.setblocking(False)
                with contextlib.suppress(OSError):
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
                self.socks.append(s)
        except OSError as exc:
            self.close()
            self.error = exc.strerror or str(exc)

    @property
    def ok(self) -> bool:
        return bool(self.socks)

    def expect(self, dest: str, port: int, local_port: int) -> None:
        self.wanted.add((dest, port, local_port))

    def drain(self) -> None:
        for s in self.socks:
            parse = parse_tcp if s.proto == socket.IPPROTO_TCP else parse_icmp
            while True:
                try:
                    packet = s.recv(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                answer = parse(packet)
                if answer is not None and answer["key"] in self.wanted:
                    self.answers.setdefault(answer["key"], []).append(answer)

    def of(self, dest: str, port: int, local_port: int) -> list[dict]:
        return self.answers.get((dest, port, local_port), [])

    def close(self) -> None:
        for s in self.socks:
            s.close()
        self.socks = []
