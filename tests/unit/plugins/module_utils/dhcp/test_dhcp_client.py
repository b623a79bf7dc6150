"""dhcp.client without a network: the hand-built frame (Ethernet, IPv4 with its header checksum, UDP with its
checksum) checked against RFC 791/768/1071 independently, the answer filter fed by a fake socket, and the errors
that need no privileges (a missing interface, a non-Ethernet one, no permission). The real sockets are exercised in
tests/integration/test_dhcp_probe_lab.py."""

from __future__ import annotations

import socket
import struct

import pytest
from ansible_collections.oob.prep.plugins.module_utils.dhcp import client
from ansible_collections.oob.prep.plugins.module_utils.dhcp.wire import build_discover, parse

MAC = "52:54:00:12:34:56"
XID = 0x3903F326


def ones_complement_sum(data: bytes) -> int:
    """RFC 1071, written out again: a correct checksum makes the folded sum over the whole header 0xFFFF."""
    data = data + b"\x00" * (len(data) % 2)
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return total


def test_checksum_of_the_classic_example_header():
    # the IPv4 header of RFC 1071's usual worked example (checksum field zeroed): checksum 0xB861
    assert client.checksum(bytes.fromhex("450000730000400040110000c0a80001c0a800c7")) == 0xB861


def test_the_discover_frame_is_broadcast_ipv4_udp_68_to_67_with_valid_checksums():
    payload = build_discover(MAC, XID)
    frame = client.udp_frame(MAC, payload, ident=0x1234)
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == bytes.fromhex("525400123456") and frame[12:14] == b"\x08\x00"
    ip = frame[14:34]
    assert ip[0] == 0x45 and struct.unpack("!H", ip[2:4])[0] == 20 + 8 + len(payload)
    assert struct.unpack("!H", ip[4:6])[0] == 0x1234 and ip[8] == 64 and ip[9] == 17
    assert ip[12:16] == bytes(4) and ip[16:20] == b"\xff" * 4  # 0.0.0.0 -> 255.255.255.255
    assert ones_complement_sum(ip) == 0xFFFF  # the header checksum is right
    udp = frame[34:]
    assert struct.unpack("!HHH", udp[:6]) == (68, 67, 8 + len(payload)) and udp[8:] == payload
    pseudo = ip[12:20] + bytes((0, 17)) + struct.pack("!H", len(udp))
    assert ones_complement_sum(pseudo + udp) == 0xFFFF  # the UDP checksum is right


def test_parse_udp_frame_round_trip_and_refusals():
    payload = b"x" * 21
    frame = client.udp_frame(MAC, payload, src_ip="203.0.113.1", dst_ip="255.255.255.255", sport=67, dport=68)
    got = client.parse_udp_frame(frame + b"\x00" * 10)  # Ethernet padding after the datagram is ignored
    assert got == {"src_mac": MAC, "dst_mac": "ff:ff:ff:ff:ff:ff", "src_ip": "203.0.113.1",
                   "dst_ip": "255.255.255.255", "sport": 67, "dport": 68, "payload": payload}  # fmt: skip
    tagged = frame[:12] + bytes.fromhex("81000064") + frame[12:]  # 802.1Q, VLAN 100
    assert client.parse_udp_frame(tagged)["payload"] == payload
    assert client.parse_udp_frame(frame[:30]) is None  # truncated
    assert client.parse_udp_frame(frame[:12] + b"\x86\xdd" + frame[14:]) is None  # not IPv4
    tcp = bytearray(frame)
    tcp[14 + 9] = 6
    assert client.parse_udp_frame(bytes(tcp)) is None
    fragment = bytearray(frame)
    fragment[14 + 6] = 0x20  # more fragments
    assert client.parse_udp_frame(bytes(fragment)) is None


def offer_bytes(xid: int = XID, mac: str = MAC, op: int = 2, yiaddr: str = "203.0.113.100") -> bytes:
    """A minimal DHCPOFFER (RFC 2131 figure 1), assembled here."""
    head = struct.pack("!BBBBIHH", op, 1, 6, 1, xid, 0, 0x8000) + bytes(4) + socket.inet_aton(yiaddr) + bytes(4)
    head += socket.inet_aton("203.0.113.1") + bytes.fromhex(mac.replace(":", "")) + bytes(10 + 64 + 128)
    return head + bytes((99, 130, 83, 99)) + bytes.fromhex("350102" + "3604c633640b" + "ff")


class FakeSocket:
    """What collect() reads: receive(timeout) -> (payload, source, source_mac) or None."""

    def __init__(self, datagrams):
        self.datagrams = list(datagrams)

    def receive(self, timeout):
        assert timeout > 0
        return self.datagrams.pop(0) if self.datagrams else None


def test_collect_keeps_our_answers_and_reports_malformed_ones():
    datagrams = [
        (offer_bytes(xid=1), "203.0.113.1", None),  # another client's exchange
        (offer_bytes(mac="52:54:00:00:00:01"), "203.0.113.1", None),  # our xid, another MAC
        (offer_bytes(op=1), "203.0.113.1", None),  # a request, not a reply
        (offer_bytes()[:-1] + b"\x06\x08\xc6", "203.0.113.9", None),  # ours, option 6 cut short
        (b"\x00\x01", "203.0.113.9", None),  # too short to hold an xid
        (offer_bytes(), "203.0.113.1", "aa:bb:cc:dd:ee:ff"),
        (offer_bytes(yiaddr="203.0.113.101"), "203.0.113.2", None),  # a second server or relay
    ]
    answers, malformed = client.collect(FakeSocket(datagrams), XID, MAC.upper(), 5.0)
    assert [(a["yiaddr"], a["source"], a["source_mac"]) for a in answers] == [
        ("203.0.113.100", "203.0.113.1", "aa:bb:cc:dd:ee:ff"),
        ("203.0.113.101", "203.0.113.2", None),
    ]
    assert all(a["elapsed"] >= 0 and a["message_type"] == "DHCPOFFER" for a in answers)
    assert len(malformed) == 1 and malformed[0]["source"] == "203.0.113.9"
    assert "option 6 in the options field at offset 9: length 8 runs past the end" in malformed[0]["error"]


def test_collect_can_stop_after_the_first_answer():
    answers, _ = client.collect(FakeSocket([(offer_bytes(), "a", None)] * 3), XID, MAC, 5.0, stop_after=1)
    assert len(answers) == 1


def test_a_missing_interface_is_named_with_the_ones_there_are():
    with pytest.raises(
        client.DhcpProbeError, match=r"interface oobp-none0 does not exist on this host \(it has: "
    ) as e:
        client.interface_info("oobp-none0")
    assert e.value.kind == "interface" and "lo" in str(e.value)


@pytest.mark.parametrize("name", ["", "a/b", "x" * 16])
def test_bad_interface_names(name):
    with pytest.raises(client.DhcpProbeError, match="not an interface name"):
        client.interface_info(name)


def test_loopback_is_not_ethernet():
    with pytest.raises(client.DhcpProbeError, match="lo is not an Ethernet interface"):
        client.interface_info("lo")


def test_inform_needs_an_address(monkeypatch):
    monkeypatch.setattr(client, "interface_info", lambda name: {"name": name, "mac": MAC, "ipv4": None})
    with pytest.raises(client.DhcpProbeError, match="eth0 has no IPv4 address: DHCPINFORM .* send a DHCPDISCOVER") as e:
        client.probe("eth0", "inform", 1)
    assert e.value.kind == "interface"


def test_no_permission_for_a_raw_socket_says_become(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(client.socket, "socket", refuse)
    with pytest.raises(client.DhcpProbeError, match="needs root .* become: true") as e:
        client.RawDhcpSocket("eth0", MAC)
    assert e.value.kind == "permission"


def test_probe_sends_one_discover_and_never_a_request(monkeypatch):
    sent = []

    class Raw(FakeSocket):
        def __init__(self, interface, mac):
            super().__init__([(offer_bytes(xid=XID), "203.0.113.1", None)])
            self.interface, self.mac = interface, mac

        def send(self, payload, ident=0):
            sent.append(payload)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    monkeypatch.setattr(client, "interface_info", lambda name: {"name": name, "mac": MAC, "ipv4": None})
    monkeypatch.setattr(client, "RawDhcpSocket", Raw)
    result = client.probe("eth0", "discover", 0.2, hostname="amt", fqdn="amt.lab.example", xid=XID)
    assert [parse(p)["message_type"] for p in sent] == ["DHCPDISCOVER"]
    assert parse(sent[0])["broadcast"] and parse(sent[0])["options"][81]["name"] == "amt.lab.example"
    assert result["message"] == "DHCPDISCOVER" and result["xid"] == XID and len(result["answers"]) == 1
