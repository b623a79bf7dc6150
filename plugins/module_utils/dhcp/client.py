# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCPv4 client sockets for probes: DISCOVER from an interface without an address, INFORM from one with an address.

Stdlib only (socket, struct, fcntl, select); Linux only. Messages come from ``dhcp.wire``.

- DISCOVER (:func:`probe` with ``message="discover"``): a client without an address cannot use a UDP socket (it has
  no source address, and the answer may be broadcast or sent to an address it does not have yet), so the frame is
  built by hand (Ethernet broadcast, IPv4 0.0.0.0 -> 255.255.255.255 with its header checksum, UDP 68 -> 67 with its
  checksum) and sent on an AF_PACKET socket bound to the interface; the same socket receives every IPv4 frame of
  the interface, and the answers are the UDP datagrams to port 68 whose BOOTP xid and chaddr are ours. Needs root
  (CAP_NET_RAW).
- INFORM (``message="inform"``): the client has an address, so a UDP socket bound to <address>:68 on the
  interface (SO_BINDTODEVICE) broadcasts to 255.255.255.255:67 (SO_BROADCAST); the answer is a DHCPACK unicast to
  <address>:68 (RFC 2131 4.3.5). Needs root (port 68, CAP_NET_BIND_SERVICE; SO_BINDTODEVICE, CAP_NET_RAW).

Every answer is collected until the timeout (several servers, or several relays, may answer). A probe never sends a
DHCPREQUEST, so it never takes a lease; :class:`RawDhcpSocket` can be used by a test client that does.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import select
import socket
import struct
import time

from ansible_collections.oob.prep.plugins.module_utils.dhcp.wire import (
    DEFAULT_REQUEST,
    DhcpFormatError,
    build_discover,
    build_inform,
    mac_bytes,
    mac_text,
    parse,
)

ETH_P_IP = 0x0800
ETH_P_8021Q = 0x8100
ARPHRD_ETHER = 1
PACKET_OUTGOING = 4
BROADCAST_MAC = b"\xff" * 6
SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFHWADDR = 0x8913, 0x8915, 0x8927
IFF_UP = 0x1
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
CLIENT_PORT, SERVER_PORT = 68, 67


class DhcpProbeError(Exception):
    """A probe that could not be made; ``kind``: interface, permission, socket, platform, input."""

    def __init__(self, kind: str, msg: str):
        super().__init__(msg)
        self.kind = kind


# --- frames (pure) ------------------------------------------------------------------------------------------------
def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement of the one's complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_header(src: str, dst: str, payload_len: int, *, ident: int = 0, ttl: int = 64, proto: int = 17) -> bytes:
    """A 20-octet IPv4 header (RFC 791) with its checksum; DF not set, no options."""
    src_b, dst_b = ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident & 0xFFFF, 0, ttl, proto, 0, src_b, dst_b)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


def udp_datagram(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    """UDP header and payload (RFC 768), checksummed over the IPv4 pseudo-header; a sum of 0 is sent as 0xFFFF."""
    length = 8 + len(payload)
    pseudo = ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed + struct.pack("!BBH", 0, 17, length)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    value = checksum(pseudo + header + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, value) + payload


def udp_frame(
    src_mac,
    payload: bytes,
    *,
    src_ip: str = "0.0.0.0",
    dst_ip: str = "255.255.255.255",
    sport: int = CLIENT_PORT,
    dport: int = SERVER_PORT,
    dst_mac=BROADCAST_MAC,
    ident: int = 0,
) -> bytes:
    """An Ethernet II frame carrying IPv4/UDP: what a DHCP client without an address sends."""
    datagram = udp_datagram(src_ip, dst_ip, sport, dport, payload)
    ethernet = mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_IP)
    return ethernet + ipv4_header(src_ip, dst_ip, len(datagram), ident=ident) + datagram


def parse_udp_frame(frame: bytes) -> dict | None:
    """{src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload} of an Ethernet/IPv4/UDP frame (one 802.1Q tag
    allowed); None for anything else, a fragment, or a frame too short for what its headers say."""
    if len(frame) < 14:
        return None
    offset, ethertype = 14, struct.unpack("!H", frame[12:14])[0]
    if ethertype == ETH_P_8021Q and len(frame) >= 18:
        offset, ethertype = 18, struct.unpack("!H", frame[16:18])[0]
    if ethertype != ETH_P_IP or len(frame) < offset + 20:
        return None
    ip = frame[offset:]
    version_ihl, _tos, total, _ident, fragment, _ttl, proto = struct.unpack("!BBHHHBB", ip[:10])
    ihl = (version_ihl & 0x0F) * 4
    if version_ihl >> 4 != 4 or ihl < 20 or proto != 17 or fragment & 0x3FFF or len(ip) < max(total, ihl + 8):
        return None
    sport, dport, length = struct.unpack("!HHH", ip[ihl : ihl + 6])
    if length < 8 or ihl + length > total:
        return None
    return {
        "src_mac": mac_text(frame[6:12]),
        "dst_mac": mac_text(frame[0:6]),
        "src_ip": str(ipaddress.IPv4Address(ip[12:16])),
        "dst_ip": str(ipaddress.IPv4Address(ip[16:20])),
        "sport": sport,
        "dport": dport,
        "payload": bytes(ip[ihl + 8 : ihl + length]),
    }


# --- the interface ------------------------------------------------------------------------------------------------
def _ifreq(name: str, request: int) -> bytes:
    import fcntl  # Linux (and POSIX) only; imported here so the pure parts load anywhere

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return fcntl.ioctl(sock.fileno(), request, struct.pack("256s", name.encode("utf-8")[:15]))


def _interfaces() -> str:
    try:
        return ", ".join(name for _index, name in socket.if_nameindex()) or "none"
    except OSError:
        return "unknown"


def interface_info(name: str) -> dict:
    """{name, index, mac, up, ipv4}: what a probe needs of the interface; DhcpProbeError(kind interface) when it is
    missing, not Ethernet, or down."""
    if not name or "/" in name or len(name.encode("utf-8")) > 15:
        raise DhcpProbeError("interface", f"not an interface name: {name!r}")
    try:
        index = socket.if_nametoindex(name)
    except OSError:
        known = _interfaces()
        raise DhcpProbeError("interface", f"interface {name} does not exist on this host (it has: {known})") from None
    try:
        hwaddr = _ifreq(name, SIOCGIFHWADDR)
        flags = struct.unpack("H", _ifreq(name, SIOCGIFFLAGS)[16:18])[0]
    except OSError as exc:
        raise DhcpProbeError("interface", f"interface {name}: {exc.strerror or exc}") from None
    family = struct.unpack("H", hwaddr[16:18])[0]
    if family != ARPHRD_ETHER:
        raise DhcpProbeError("interface", f"interface {name} is not an Ethernet interface (ARP hardware type "
                             f"{family}); a DHCP probe needs one in the AMT subnet")  # fmt: skip
    if not flags & IFF_UP:
        raise DhcpProbeError("interface", f"interface {name} is down: bring it up (ip link set {name} up)")
    try:
        ipv4 = str(ipaddress.IPv4Address(_ifreq(name, SIOCGIFADDR)[20:24]))
    except OSError:  # EADDRNOTAVAIL: no IPv4 address
        ipv4 = None
    return {"name": name, "index": index, "mac": mac_text(hwaddr[18:24]), "up": True, "ipv4": ipv4}


def _permission(what: str, exc: OSError) -> DhcpProbeError:
    return DhcpProbeError("permission", f"{what} needs root (CAP_NET_RAW, CAP_NET_BIND_SERVICE); running as uid "
                          f"{os.geteuid()}: {exc.strerror or exc}. Run the task with become: true")  # fmt: skip


# --- sockets ------------------------------------------------------------------------------------------------------
class _Socket:
    """A socket held as ``self.sock``, closed when the ``with`` block ends."""

    sock = None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RawDhcpSocket(_Socket):
    """An AF_PACKET socket on one interface: sends hand-built frames from 0.0.0.0:68, receives the replies to
    port 68. Open it before sending so no answer is missed; close it (or use ``with``)."""

    def __init__(self, interface: str, mac: str):
        self.interface, self.mac = interface, mac
        if not hasattr(socket, "AF_PACKET"):
            raise DhcpProbeError("platform", "a DHCPDISCOVER probe needs Linux (AF_PACKET sockets)")
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        except PermissionError as exc:
            raise _permission(f"a raw (AF_PACKET) socket on {interface}", exc) from None
        except OSError as exc:
            raise DhcpProbeError("socket", f"cannot open a raw socket on {interface}: {exc.strerror or exc}") from None
        try:
            self.sock.bind((interface, ETH_P_IP))
        except OSError as exc:
            self.sock.close()
            why = exc.strerror or str(exc)
            raise DhcpProbeError("interface", f"cannot bind a raw socket to {interface}: {why}") from None

    def send(self, payload: bytes, ident: int = 0) -> None:
        try:
            self.sock.send(udp_frame(self.mac, payload, ident=ident))
        except OSError as exc:
            raise DhcpProbeError("socket", f"sending on {self.interface} failed: {exc.strerror or exc}") from None

    def receive(self, timeout: float):
        """(payload, source ip, source mac) of the next UDP datagram to port 68, or None at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            frame, address = self.sock.recvfrom(65535)
            if address[0] != self.interface or address[2] == PACKET_OUTGOING:
                continue
            udp = parse_udp_frame(frame)
            if udp and udp["dport"] == CLIENT_PORT:
                return udp["payload"], udp["src_ip"], udp["src_mac"]


class UdpDhcpSocket(_Socket):
    """A UDP socket bound to <address>:68 on one interface, broadcasting to 255.255.255.255:67."""

    def __init__(self, interface: str, address: str):
        self.interface, self.address = interface, address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            self.sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, interface.encode("utf-8") + b"\x00")
            self.sock.bind((address, CLIENT_PORT))
        except PermissionError as exc:
            self.sock.close()
            raise _permission(f"a UDP socket on {address}:{CLIENT_PORT} bound to {interface}", exc) from None
        except OSError as exc:
            self.sock.close()
            why = exc.strerror or str(exc)
            if exc.errno == errno.EADDRINUSE:
                why += " (another DHCP client holds the port: stop it, or send a DHCPDISCOVER instead)"
            raise DhcpProbeError("socket", f"cannot bind {address}:{CLIENT_PORT} on {interface}: {why}") from None

    def send(self, payload: bytes, ident: int = 0) -> None:  # noqa: ARG002 - same signature as RawDhcpSocket
        try:
            self.sock.sendto(payload, ("255.255.255.255", SERVER_PORT))
        except OSError as exc:
            raise DhcpProbeError("socket", f"sending on {self.interface} failed: {exc.strerror or exc}") from None

    def receive(self, timeout: float):
        if timeout <= 0 or not select.select([self.sock], [], [], timeout)[0]:
            return None
        payload, (source, _port) = self.sock.recvfrom(65535)
        return payload, source, None


def collect(sock, xid: int, mac: str, timeout: float, *, started: float | None = None, stop_after: int | None = None):
    """(answers, malformed): every BOOTREPLY with our xid and chaddr until the timeout (or ``stop_after`` answers).
    Each answer is parse()'s dict plus ``source`` (the IP it came from), ``source_mac`` and ``elapsed`` (seconds
    since ``started``). A datagram with our xid that does not parse is reported in ``malformed``."""
    started = time.monotonic() if started is None else started
    deadline = started + timeout
    answers, malformed = [], []
    while stop_after is None or len(answers) < stop_after:
        got = sock.receive(deadline - time.monotonic())
        if got is None:
            break
        payload, source, source_mac = got
        if len(payload) < 8 or struct.unpack("!I", payload[4:8])[0] != xid:
            continue  # another client's exchange
        try:
            message = parse(payload)
        except DhcpFormatError as exc:
            malformed.append({"source": source, "source_mac": source_mac, "error": str(exc), "hex": payload.hex()})
            continue
        if message["op"] != "BOOTREPLY" or message["chaddr"] != mac.lower():
            continue
        message.update(source=source, source_mac=source_mac, elapsed=round(time.monotonic() - started, 6))
        answers.append(message)
    return answers, malformed


def new_xid() -> int:
    return struct.unpack("!I", os.urandom(4))[0]


def probe(
    interface: str,
    message: str = "discover",
    timeout: float = 5.0,
    *,
    hostname: str | None = None,
    fqdn: str | None = None,
    request=DEFAULT_REQUEST,
    xid: int | None = None,
) -> dict:
    """Send one DHCPDISCOVER (broadcast flag set, from 0.0.0.0) or DHCPINFORM (from the interface's address) and
    collect every answer until ``timeout``. Returns {interface, mac, ciaddr, message, xid, timeout, answers,
    malformed}; raises DhcpProbeError (interface, permission, socket). Never sends a DHCPREQUEST."""
    info = interface_info(interface)
    xid = new_xid() if xid is None else xid
    if message not in ("discover", "inform"):
        raise DhcpProbeError("input", f"message must be discover or inform, not {message!r}")
    ciaddr = info["ipv4"] if message == "inform" else None
    if message == "inform" and not ciaddr:
        raise DhcpProbeError("interface", f"interface {interface} has no IPv4 address: DHCPINFORM is sent from the "
                             "client's own address; send a DHCPDISCOVER on an interface without one")  # fmt: skip
    if message == "discover":
        payload = build_discover(info["mac"], xid, hostname=hostname, fqdn=fqdn, request=request)
        sock = RawDhcpSocket(interface, info["mac"])
    else:
        payload = build_inform(info["mac"], xid, ciaddr, hostname=hostname, fqdn=fqdn, request=request)
        sock = UdpDhcpSocket(interface, ciaddr)
    with sock:
        started = time.monotonic()
        sock.send(payload, ident=xid & 0xFFFF)
        answers, malformed = collect(sock, xid, info["mac"], timeout, started=started)
    return {
        "interface": interface,
        "mac": info["mac"],
        "ciaddr": ciaddr,
        "message": "DHCPDISCOVER" if message == "discover" else "DHCPINFORM",
        "xid": xid,
        "timeout": timeout,
        "answers": answers,
        "malformed": malformed,
    }
