"""dhcp.wire against messages assembled by hand, octet by octet, from the layouts of RFC 2131 (figure 1, the
BOOTP header; section 3, the magic cookie), RFC 2132 (options as code, length, value) and RFC 4702 (option 81): no
byte string below is made with the code under test."""

from __future__ import annotations

import random

import pytest
from ansible_collections.oob.prep.plugins.module_utils.dhcp.wire import (
    DhcpFormatError,
    build_discover,
    build_inform,
    build_release,
    build_request,
    client_id_from_mac,
    decode_fqdn,
    encode_name,
    fqdn_option,
    mac_bytes,
    parse,
)

MAC = "52:54:00:12:34:56"
XID = 0x3903F326


def ZEROS(n: int) -> str:  # noqa: N802 - reads as a constant in the layouts below
    return "00" * n


def header(op: str, flags: str, ciaddr: str = "00000000", yiaddr: str = "00000000", giaddr: str = "00000000",
           hops: str = "00") -> str:  # fmt: skip
    """RFC 2131 figure 1, field by field, as hex."""
    return (
        op + "01" + "06" + hops  # op, htype 1 (Ethernet), hlen 6, hops
        + "3903f326"  # xid
        + "0000" + flags  # secs, flags
        + ciaddr + yiaddr + "00000000" + giaddr  # ciaddr, yiaddr, siaddr, giaddr
        + "525400123456" + ZEROS(10)  # chaddr: 6 octets of MAC, 10 of padding
        + ZEROS(64) + ZEROS(128)  # sname, file
    )  # fmt: skip


COOKIE = "63825363"  # 99.130.83.99
FQDN_WIRE = "03616d74" + "036c6162" + "076578616d706c65" + "00"  # amt . lab . example . (root)

OFFER_OPTIONS = (
    "350102"  # 53 message type, 1 octet: 2 DHCPOFFER
    "3604c633640b"  # 54 server id 198.51.100.11
    "330400000e10"  # 51 lease time 3600
    "0104ffffff00"  # 1 subnet mask 255.255.255.0
    "0304cb007101"  # 3 routers 203.0.113.1
    "0608c633640ac633640c"  # 6 DNS servers 198.51.100.10, 198.51.100.12 (in that order)
    "0f0c6c61622e6578616d706c6500"  # 15 domain name "lab.example" + NUL
    "00"  # a pad option
    "5114" "07ffff" + FQDN_WIRE +  # 81 client FQDN: flags S|O|E, RCODE1 = RCODE2 = 255 (a server), the name
    "2b03010203"  # 43 vendor specific, not decoded: hex
    "ff"  # end
)  # fmt: skip


def reply(options: str) -> bytes:
    """A BOOTREPLY without flags or addresses, the cookie, then ``options`` (hex)."""
    return bytes.fromhex(header("02", "0000") + COOKIE + options)


OFFER = bytes.fromhex(header("02", "8000", yiaddr="cb007164", giaddr="cb007101", hops="01") + COOKIE + OFFER_OPTIONS)


def test_parse_a_hand_assembled_offer():
    got = parse(OFFER)
    assert got["op"] == "BOOTREPLY" and got["message_type"] == "DHCPOFFER"
    assert (got["xid"], got["hops"], got["broadcast"]) == (XID, 1, True)
    assert (got["yiaddr"], got["giaddr"], got["ciaddr"], got["siaddr"]) == (
        "203.0.113.100", "203.0.113.1", "0.0.0.0", "0.0.0.0")  # fmt: skip
    assert got["chaddr"] == MAC and got["server_id"] == "198.51.100.11"
    o = got["options"]
    assert o[1] == "255.255.255.0" and o[3] == ["203.0.113.1"] and o[51] == 3600 and o[54] == "198.51.100.11"
    assert o[6] == ["198.51.100.10", "198.51.100.12"]  # order kept
    assert o[15] == "lab.example"  # NUL stripped
    assert o[81] == {"flags": 7, "s": True, "o": True, "e": True, "n": False, "rcode1": 255, "rcode2": 255,
                     "name": "amt.lab.example", "fully_qualified": True}  # fmt: skip
    assert o[43] == "010203"  # unknown: raw hex
    assert got["option_order"] == [53, 54, 51, 1, 3, 6, 15, 81, 43]


def test_build_discover_is_the_rfc_layout():
    expected = bytes.fromhex(
        header("01", "8000")  # BOOTREQUEST, broadcast flag
        + COOKIE
        + "350101"  # 53: DHCPDISCOVER
        + "0c03616d74"  # 12 host name "amt"
        + "5114" + "050000" + FQDN_WIRE  # 81: flags S|E, RCODE1 = RCODE2 = 0 (a client), the name in wire format
        + "3705010306 0f51"  # 55 parameter request list 1 3 6 15 81
        + "ff"
    )  # fmt: skip
    expected += bytes(300 - len(expected))  # padded to the BOOTP minimum (RFC 1542 2.1)
    assert build_discover(MAC, XID, hostname="amt", fqdn="amt.lab.example", request=(1, 3, 6, 15, 81)) == expected


def test_build_discover_without_names_and_with_a_client_id():
    expected = bytes.fromhex(header("01", "8000") + COOKIE + "350101" + "3d07" + "01525400123456" + "37020306" + "ff")
    expected += bytes(300 - len(expected))
    got = build_discover(MAC.upper().replace(":", "-"), XID, request=(3, 6), client_id=client_id_from_mac(MAC))
    assert got == expected


def test_build_inform_carries_ciaddr_and_no_broadcast_flag():
    expected = bytes.fromhex(header("01", "0000", ciaddr="cb00710b") + COOKIE + "350108" + "3703010306" + "ff")
    expected += bytes(300 - len(expected))
    assert build_inform(MAC, XID, "203.0.113.11", request=(1, 3, 6)) == expected
    with pytest.raises(DhcpFormatError, match="needs the client's own address"):
        build_inform(MAC, XID, "0.0.0.0")


def test_build_request_selecting_and_renewing_and_release():
    selecting = parse(build_request(MAC, XID, requested_ip="203.0.113.100", server_id="198.51.100.11"))
    assert selecting["message_type"] == "DHCPREQUEST" and selecting["broadcast"]
    assert selecting["options"][50] == "203.0.113.100" and selecting["options"][54] == "198.51.100.11"
    assert selecting["option_order"][:3] == [53, 50, 54]
    renewing = parse(build_request(MAC, XID, ciaddr="203.0.113.100"))
    assert renewing["ciaddr"] == "203.0.113.100" and 50 not in renewing["options"] and not renewing["broadcast"]
    with pytest.raises(DhcpFormatError, match="neither requested_ip nor server_id"):
        build_request(MAC, XID, ciaddr="203.0.113.100", server_id="198.51.100.11")
    with pytest.raises(DhcpFormatError, match="give requested_ip"):
        build_request(MAC, XID)
    release = bytes.fromhex(header("01", "0000", ciaddr="cb007164") + COOKIE + "350107" + "3604c633640b" + "ff")
    assert build_release(MAC, XID, "203.0.113.100", "198.51.100.11") == release + bytes(300 - len(release))


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("amt.lab.example", FQDN_WIRE),
        ("amt.lab.example.", FQDN_WIRE),
        ("amt", "03616d74"),  # a partial name: no root label (RFC 4702 2.3.1)
    ],
)
def test_names_in_wire_format(name, wire):
    assert encode_name(name) == bytes.fromhex(wire)
    decoded = decode_fqdn(bytes.fromhex("050000" + wire))
    assert decoded["name"] == name.rstrip(".") and decoded["fully_qualified"] is ("." in name)


def test_fqdn_flags_and_ascii_encoding():
    assert fqdn_option("amt.lab.example") == bytes.fromhex("050000" + FQDN_WIRE)
    assert fqdn_option("amt.lab.example", flags=0x01) == b"\x01\x00\x00amt.lab.example"  # E clear: ASCII
    assert decode_fqdn(b"\x08\x00\x00amt.lab.example.")["n"] is True
    assert decode_fqdn(b"\x08\x00\x00amt.lab.example.")["name"] == "amt.lab.example"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a..b", "empty label"),
        ("", "empty label"),
        ("x" * 64 + ".example", "longer than 63"),
        ("h\u00e9te.example", "only ASCII"),
    ],
)
def test_bad_names(value, message):
    with pytest.raises(DhcpFormatError, match=message):
        encode_name(value)


@pytest.mark.parametrize("value", ["52:54:00:12:34", "zz:54:00:12:34:56", "", b"\x00" * 7])
def test_bad_mac(value):
    with pytest.raises(DhcpFormatError, match="not an Ethernet MAC address"):
        mac_bytes(value)


def test_round_trip_of_what_is_built():
    got = parse(build_discover(MAC, XID, hostname="amt", fqdn="amt"))
    assert got["op"] == "BOOTREQUEST" and got["message_type"] == "DHCPDISCOVER" and got["xid"] == XID
    assert got["options"][12] == "amt" and got["options"][81]["name"] == "amt"
    assert got["options"][81]["fully_qualified"] is False and got["options"][55] == [1, 3, 6, 15, 81]


def test_an_option_split_in_two_is_one_option_rfc3396():
    data = reply("350105" + "0604c633640a" + "0604c633640c" + "ff")
    assert parse(data)["options"][6] == ["198.51.100.10", "198.51.100.12"]


def test_options_in_the_file_and_sname_fields_when_overloaded():
    base = header("02", "0000")
    sname = "0f046c616200" + "ff"  # 15 "lab\0" in sname
    file_ = "0604c633640a" + "ff"  # 6 in file
    data = base[: -2 * 192] + sname + ZEROS(64 - len(sname) // 2) + file_ + ZEROS(128 - len(file_) // 2)
    data += COOKIE + "350102" + "340103" + "ff"  # 52 overload: 3 = both fields
    got = parse(bytes.fromhex(data))
    assert got["options"][15] == "lab" and got["options"][6] == ["198.51.100.10"]
    assert got["sname"] == "" and got["file"] == ""


def test_no_end_option_is_accepted_and_pad_is_skipped():
    assert parse(reply("00" + "350102"))["message_type"] == "DHCPOFFER"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (OFFER[:100], "truncated DHCP message: 100 octets"),
        (OFFER[:239], "truncated DHCP message: 239 octets"),
        (OFFER[:236] + bytes.fromhex("63825364") + OFFER[240:], r"bad magic cookie 99\.130\.83\.100"),
        (bytes.fromhex(header("02", "0000")) + bytes(4), "bad magic cookie 0.0.0.0"),
        (reply("350102" + "0608c633640a"), "length 8 runs past the end"),
        (reply("350102" + "06"), "its length octet is missing"),
        (reply("3501"), "length 1 runs past the end"),
        (reply("350102" + "0605c633640a00ff"), "not a multiple of 4|multiple"),
        (reply("350102" + "0600ff"), "expected a non-empty multiple of 4"),
        (reply("350102" + "0103ffffffff"), "an IPv4 address has 4"),
        (reply("35020202ff"), "option 53 .* has 2 octets"),
        (reply("350102" + "33020e10ff"), "option 51 .* has 2 octets"),
        (reply("0f03616263ff"), "no option 53"),
        (bytes.fromhex(header("03", "0000") + COOKIE + "350102ff"), "not a BOOTP message: op 3"),
        (bytes.fromhex(header("02", "0000").replace("020106", "020111", 1) + COOKIE + "350102ff"), "length 17"),
        (reply("350102" + "5102" + "0500ff"), "option 81 .* has 2 octets"),
        (reply("350102" + "5105" + "050000c00cff"), "compress"),
        (reply("350102" + "5105" + "0500000561" + "ff"), "runs past the end"),
        (
            reply("350102" + "5106" + "050000006161" + "ff"),
            "after the root label",
        ),
        (reply("350102" + "340104ff"), "option 52 .* must be one octet"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_messages_raise_a_clear_error(data, message):
    with pytest.raises(DhcpFormatError, match=message):
        parse(data)


def test_the_format_error_is_a_value_error():
    assert issubclass(DhcpFormatError, ValueError)


def test_random_corruption_never_raises_anything_else():
    """Truncations and flipped octets of a valid offer: parse() returns or raises DhcpFormatError, nothing else."""
    rng = random.Random(4702)
    for _ in range(3000):
        data = bytearray(OFFER)
        for _flip in range(rng.randint(1, 4)):
            data[rng.randrange(236, len(data))] = rng.randrange(256)
        data = data[: rng.randint(200, len(data))] if rng.random() < 0.3 else data
        try:
            parse(bytes(data))
        except DhcpFormatError:
            pass
