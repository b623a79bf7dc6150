# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCPv4 messages on the wire: build a client's DISCOVER, INFORM, REQUEST or RELEASE, parse any message.

Pure (stdlib only, no I/O, no Ansible), so a module, a test client and a device simulator can share it.

- RFC 2131: the BOOTP header (236 octets), then the magic cookie 99.130.83.99, then options; section 4.4.1 and
  table 5 say which fields and options each client message carries (DISCOVER: broadcast flag, no server id; INFORM:
  ``ciaddr``, no lease time, no requested address; REQUEST: server id and requested address when selecting).
- RFC 2132: options as code, length, value; pad (0) and end (255) have no length; option 52 (overload) moves more
  options into ``file`` and/or ``sname``.
- RFC 3396: an option that appears more than once is one option whose values are concatenated.
- RFC 4702: option 81 (client FQDN) is flags, RCODE1, RCODE2 (0 from a client, 255 from a server), then the name, in
  DNS wire format (no compression) when flag E is set; a name without its terminating root label is a partial name.

``parse`` raises :class:`DhcpFormatError` (a ValueError) with a message naming the field or option on any malformed
input; it never lets an IndexError or struct.error through.
"""

from __future__ import annotations

import ipaddress
import struct

MAGIC_COOKIE = bytes((99, 130, 83, 99))
HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # op htype hlen hops xid secs flags ciaddr yiaddr siaddr giaddr
HEADER_LEN = HEADER.size  # 236                          chaddr sname file
BOOTREQUEST, BOOTREPLY = 1, 2
HTYPE_ETHERNET = 1
FLAG_BROADCAST = 0x8000
MIN_MESSAGE_LEN = 300  # RFC 1542 section 2.1: relays may drop a BOOTP message shorter than this

MESSAGE_TYPES = {
    1: "DHCPDISCOVER",
    2: "DHCPOFFER",
    3: "DHCPREQUEST",
    4: "DHCPDECLINE",
    5: "DHCPACK",
    6: "DHCPNAK",
    7: "DHCPRELEASE",
    8: "DHCPINFORM",
}
MESSAGE_CODES = {name: code for code, name in MESSAGE_TYPES.items()}

OPTION_NAMES = {
    1: "subnet-mask",
    3: "routers",
    6: "domain-name-servers",
    12: "host-name",
    15: "domain-name",
    50: "dhcp-requested-address",
    51: "dhcp-lease-time",
    52: "dhcp-option-overload",
    53: "dhcp-message-type",
    54: "dhcp-server-identifier",
    55: "dhcp-parameter-request-list",
    61: "dhcp-client-identifier",
    81: "client-fqdn",
}
DEFAULT_REQUEST = (1, 3, 6, 15, 81)

# RFC 4702 section 2.1: the flags octet is MBZ (4 bits) | N | E | O | S
FQDN_S, FQDN_O, FQDN_E, FQDN_N = 0x01, 0x02, 0x04, 0x08
FQDN_CLIENT_FLAGS = FQDN_S | FQDN_E  # "please update the A record", name in canonical wire format


class DhcpFormatError(ValueError):
    """A DHCP message, or a value for one, that does not follow RFC 2131/2132/4702."""


# --- values ------------------------------------------------------------------------------------------------------
def mac_bytes(mac: str | bytes) -> bytes:
    """Six octets from ``aa:bb:cc:dd:ee:ff`` (``-`` or no separator also accepted) or from 6 bytes."""
    if isinstance(mac, (bytes, bytearray)):
        raw = bytes(mac)
    else:
        text = str(mac).strip().replace(":", "").replace("-", "")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
    if len(raw) != 6:
        raise DhcpFormatError(f"not an Ethernet MAC address: {mac!r} (expected six octets, e.g. 52:54:00:12:34:56)")
    return raw


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _ipv4(value, what: str) -> bytes:
    try:
        return ipaddress.IPv4Address(value).packed
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise DhcpFormatError(f"{what}: not an IPv4 address: {value!r}") from None


def encode_name(name: str) -> bytes:
    """A DNS name in canonical wire format, uncompressed (RFC 4702 section 2.3.1). A name that ends with a dot or has
    more than one label is fully qualified (root label added); a single label is a partial name (RFC 4702 2.3.1:
    no terminating zero-length label)."""
    text = str(name).strip()
    qualified = text.endswith(".") or "." in text
    labels = text.rstrip(".").split(".")
    if not text.rstrip(".") or any(not label for label in labels):
        raise DhcpFormatError(f"not a DNS name: {name!r} (empty label)")
    out = bytearray()
    for label in labels:
        try:
            raw = label.encode("ascii")
        except UnicodeEncodeError:
            raise DhcpFormatError(f"not a DNS name: {name!r} (only ASCII labels; use the IDNA A-label)") from None
        if len(raw) > 63:
            raise DhcpFormatError(f"not a DNS name: {name!r} (label {label!r} is longer than 63 octets)")
        out += bytes((len(raw),)) + raw
    if qualified:
        out += b"\x00"
    if len(out) > 255:
        raise DhcpFormatError(f"not a DNS name: {name!r} (longer than 255 octets)")
    return bytes(out)


def decode_name(data: bytes) -> tuple[str, bool]:
    """(name, fully qualified) from DNS wire format without compression (RFC 4702 section 2.3.1)."""
    labels, i = [], 0
    while i < len(data):
        length = data[i]
        if length == 0:
            if i != len(data) - 1:
                raise DhcpFormatError("option 81 (client-fqdn): data after the root label of the name")
            return ".".join(labels), True
        if length & 0xC0:
            raise DhcpFormatError("option 81 (client-fqdn): compressed or extended label in the name (RFC 4702 "
                                  "forbids compression)")  # fmt: skip
        if i + 1 + length > len(data):
            raise DhcpFormatError(f"option 81 (client-fqdn): label of {length} octets runs past the end of the name")
        labels.append(data[i + 1 : i + 1 + length].decode("ascii", "backslashreplace"))
        i += 1 + length
    return ".".join(labels), False


def fqdn_option(name: str, flags: int = FQDN_CLIENT_FLAGS) -> bytes:
    """The value of option 81 as a client sends it: flags, RCODE1 = RCODE2 = 0, the name (wire format with E)."""
    if not 0 <= flags <= 0x0F:
        raise DhcpFormatError(f"option 81 flags must be 0-15 (N E O S), not {flags}")
    if not str(name).isascii():
        raise DhcpFormatError(f"not a DNS name: {name!r} (only ASCII labels; use the IDNA A-label)")
    body = encode_name(name) if flags & FQDN_E else str(name).encode("ascii")
    return bytes((flags, 0, 0)) + body


def decode_fqdn(value: bytes) -> dict:
    """Option 81: {flags, s, o, e, n, rcode1, rcode2, name, fully_qualified}."""
    if len(value) < 3:
        raise DhcpFormatError(f"option 81 (client-fqdn) has {len(value)} octets; at least 3 (flags, RCODE1, RCODE2)")
    flags = value[0]
    if flags & FQDN_E:
        name, qualified = decode_name(value[3:])
    else:  # the deprecated ASCII encoding (RFC 4702 section 2.3.1)
        text = value[3:].rstrip(b"\x00").decode("ascii", "backslashreplace")
        name, qualified = text.rstrip("."), text.endswith(".")
    return {
        "flags": flags,
        "s": bool(flags & FQDN_S),
        "o": bool(flags & FQDN_O),
        "e": bool(flags & FQDN_E),
        "n": bool(flags & FQDN_N),
        "rcode1": value[1],
        "rcode2": value[2],
        "name": name,
        "fully_qualified": qualified,
    }


# --- building -----------------------------------------------------------------------------------------------------
def encode_options(options: list[tuple[int, bytes]]) -> bytes:
    """Options as TLV, then end (255). A value longer than 255 octets is split into several instances (RFC 3396)."""
    out = bytearray()
    for code, value in options:
        if not 1 <= code <= 254:
            raise DhcpFormatError(f"option code {code} cannot carry a value (1-254)")
        raw = bytes(value)
        chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
        for chunk in chunks:
            out += bytes((code, len(chunk))) + chunk
    return bytes(out + b"\xff")


def build(
    message_type: str | int,
    mac: str | bytes,
    xid: int,
    *,
    options: list[tuple[int, bytes]] = (),
    ciaddr: str = "0.0.0.0",
    broadcast: bool = False,
    secs: int = 0,
) -> bytes:
    """A client's message (BOOTREQUEST): header, cookie, option 53 first, then ``options``, end, padded to 300."""
    code = MESSAGE_CODES.get(message_type, message_type) if isinstance(message_type, str) else message_type
    if code not in MESSAGE_TYPES:
        raise DhcpFormatError(f"unknown DHCP message type {message_type!r} (one of {', '.join(MESSAGE_CODES)})")
    if not 0 <= int(xid) <= 0xFFFFFFFF:
        raise DhcpFormatError(f"xid must fit in 32 bits, not {xid}")
    if not 0 <= int(secs) <= 0xFFFF:
        raise DhcpFormatError(f"secs must fit in 16 bits, not {secs}")
    chaddr = mac_bytes(mac)
    header = HEADER.pack(
        BOOTREQUEST,
        HTYPE_ETHERNET,
        len(chaddr),
        0,
        int(xid),
        int(secs),
        FLAG_BROADCAST if broadcast else 0,
        _ipv4(ciaddr, "ciaddr"),
        bytes(4),
        bytes(4),
        bytes(4),
        chaddr.ljust(16, b"\x00"),
        bytes(64),
        bytes(128),
    )
    message = header + MAGIC_COOKIE + encode_options([(53, bytes((code,))), *options])
    return message.ljust(MIN_MESSAGE_LEN, b"\x00")


def _client_options(hostname, fqdn, request, client_id, fqdn_flags) -> list[tuple[int, bytes]]:
    options = []
    if client_id is not None:
        options.append((61, bytes(client_id)))
    if hostname:
        if not str(hostname).isascii():
            raise DhcpFormatError(f"host name {hostname!r}: only ASCII (RFC 2132 option 12)")
        options.append((12, str(hostname).encode("ascii")))
    if fqdn:
        options.append((81, fqdn_option(fqdn, fqdn_flags)))
    if request:
        codes = [int(c) for c in request]
        if any(not 1 <= c <= 254 for c in codes):
            raise DhcpFormatError(f"parameter request list: codes must be 1-254, not {codes}")
        options.append((55, bytes(codes)))
    return options


def client_id_from_mac(mac: str | bytes) -> bytes:
    """Option 61 as most clients send it: hardware type 1 (Ethernet), then the MAC (RFC 2132 section 9.14)."""
    return bytes((HTYPE_ETHERNET,)) + mac_bytes(mac)


def build_discover(
    mac,
    xid: int,
    *,
    hostname=None,
    fqdn=None,
    request=DEFAULT_REQUEST,
    client_id=None,
    fqdn_flags: int = FQDN_CLIENT_FLAGS,
    broadcast: bool = True,
) -> bytes:
    """DHCPDISCOVER (RFC 2131 4.4.1): ``ciaddr`` 0, broadcast flag set (the client has no address to be answered
    at), options 12 / 81 / 61 when given, 55 the parameter request list."""
    options = _client_options(hostname, fqdn, request, client_id, fqdn_flags)
    return build("DHCPDISCOVER", mac, xid, options=options, broadcast=broadcast)


def build_inform(
    mac,
    xid: int,
    ciaddr: str,
    *,
    hostname=None,
    fqdn=None,
    request=DEFAULT_REQUEST,
    client_id=None,
    fqdn_flags: int = FQDN_CLIENT_FLAGS,
) -> bytes:
    """DHCPINFORM (RFC 2131 4.4.3): the client has ``ciaddr`` and asks for its configuration only; the answer is a
    DHCPACK unicast to ``ciaddr``; no lease is involved."""
    if ipaddress.IPv4Address(_ipv4(ciaddr, "ciaddr")).is_unspecified:
        raise DhcpFormatError("DHCPINFORM needs the client's own address in ciaddr, not 0.0.0.0")
    options = _client_options(hostname, fqdn, request, client_id, fqdn_flags)
    return build("DHCPINFORM", mac, xid, options=options, ciaddr=ciaddr)


def build_request(
    mac,
    xid: int,
    *,
    requested_ip: str | None = None,
    server_id: str | None = None,
    ciaddr: str | None = None,
    hostname=None,
    fqdn=None,
    request=DEFAULT_REQUEST,
    client_id=None,
    fqdn_flags: int = FQDN_CLIENT_FLAGS,
    broadcast: bool = True,
) -> bytes:
    """DHCPREQUEST (RFC 2131 4.3.2), which takes a lease: SELECTING (``server_id`` and ``requested_ip`` from the
    offer), INIT-REBOOT (``requested_ip`` only) or RENEWING/REBINDING (``ciaddr`` only)."""
    options = []
    if ciaddr:
        if requested_ip or server_id:
            raise DhcpFormatError("DHCPREQUEST: a renewing client (ciaddr) sends neither requested_ip nor server_id")
    elif not requested_ip:
        raise DhcpFormatError("DHCPREQUEST: give requested_ip (and server_id when answering an offer), or ciaddr")
    else:
        options.append((50, _ipv4(requested_ip, "requested_ip")))
        if server_id:
            options.append((54, _ipv4(server_id, "server_id")))
    options += _client_options(hostname, fqdn, request, client_id, fqdn_flags)
    broadcast = broadcast and not ciaddr  # a renewing client can take a unicast answer
    return build("DHCPREQUEST", mac, xid, options=options, ciaddr=ciaddr or "0.0.0.0", broadcast=broadcast)


def build_release(mac, xid: int, ciaddr: str, server_id: str, *, client_id=None) -> bytes:
    """DHCPRELEASE (RFC 2131 4.4.6): gives the lease on ``ciaddr`` back to ``server_id`` (sent unicast)."""
    options = [(54, _ipv4(server_id, "server_id"))] + ([(61, bytes(client_id))] if client_id is not None else [])
    return build("DHCPRELEASE", mac, xid, options=options, ciaddr=ciaddr)


# --- parsing ------------------------------------------------------------------------------------------------------
def _tlv(data: bytes, where: str, found: dict, order: list) -> bool:
    """Walk TLV options in ``data``; values of a code seen again are appended (RFC 3396). True when end was seen."""
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            return True
        if i + 1 >= len(data):
            raise DhcpFormatError(f"option {code} in {where} at offset {i}: its length octet is missing")
        length = data[i + 1]
        if i + 2 + length > len(data):
            raise DhcpFormatError(f"option {code} in {where} at offset {i}: length {length} runs past the end "
                                  f"({len(data) - i - 2} octets left)")  # fmt: skip
        if code not in found:
            order.append(code)
            found[code] = b""
        found[code] += data[i + 2 : i + 2 + length]
        i += 2 + length
    return False


def _addresses(code: int, value: bytes, single: bool = False):
    name = f"option {code} ({OPTION_NAMES.get(code, 'unknown')})"
    if single and len(value) != 4:
        raise DhcpFormatError(f"{name} has {len(value)} octets; an IPv4 address has 4")
    if not value or len(value) % 4:
        raise DhcpFormatError(f"{name} has {len(value)} octets; expected a non-empty multiple of 4 (IPv4 addresses)")
    addresses = [str(ipaddress.IPv4Address(value[i : i + 4])) for i in range(0, len(value), 4)]
    return addresses[0] if single else addresses


def _text(code: int, value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("ascii", "backslashreplace") if value else ""


def _lease_time(code: int, value: bytes) -> int:
    if len(value) != 4:
        raise DhcpFormatError(f"option {code} (dhcp-lease-time) has {len(value)} octets; expected 4")
    return struct.unpack("!I", value)[0]


def _message_type(code: int, value: bytes) -> str:
    if len(value) != 1:
        raise DhcpFormatError(f"option {code} (dhcp-message-type) has {len(value)} octets; expected 1")
    return MESSAGE_TYPES.get(value[0], f"unknown({value[0]})")


DECODERS = {
    1: lambda c, v: _addresses(c, v, single=True),
    3: _addresses,
    6: _addresses,
    12: _text,
    15: _text,
    50: lambda c, v: _addresses(c, v, single=True),
    51: _lease_time,
    53: _message_type,
    54: lambda c, v: _addresses(c, v, single=True),
    55: lambda _c, v: list(v),
    81: lambda _c, v: decode_fqdn(v),
}


def decode_option(code: int, value: bytes):
    """A decoded value for the options of DECODERS (addresses as text, lists in wire order, text with its NUL
    stripped, option 81 as a dict); hex text for the others."""
    decoder = DECODERS.get(code)
    return decoder(code, value) if decoder else value.hex()


def parse(data: bytes) -> dict:
    """Parse any DHCPv4 message. Returns {op, message_type, xid, secs, broadcast, ciaddr, yiaddr, siaddr, giaddr,
    chaddr, hops, server_id, options, option_order}; ``options`` maps each code (int) to its decoded value (hex text
    for codes not decoded here). Raises DhcpFormatError on anything malformed."""
    data = bytes(data)
    if len(data) < HEADER_LEN + len(MAGIC_COOKIE):
        raise DhcpFormatError(f"truncated DHCP message: {len(data)} octets, the BOOTP header and magic cookie need "
                              f"{HEADER_LEN + len(MAGIC_COOKIE)}")  # fmt: skip
    op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname, file_ = HEADER.unpack(
        data[:HEADER_LEN]
    )
    if op not in (BOOTREQUEST, BOOTREPLY):
        raise DhcpFormatError(f"not a BOOTP message: op {op} (1 BOOTREQUEST or 2 BOOTREPLY)")
    if hlen > 16:
        raise DhcpFormatError(f"hardware address length {hlen} is longer than the 16-octet chaddr field")
    cookie = data[HEADER_LEN : HEADER_LEN + 4]
    if cookie != MAGIC_COOKIE:
        raise DhcpFormatError(f"bad magic cookie {'.'.join(str(b) for b in cookie)} (DHCP uses 99.130.83.99): "
                              "a BOOTP message without DHCP options, or not DHCP at all")  # fmt: skip
    found: dict[int, bytes] = {}
    order: list[int] = []
    _tlv(data[HEADER_LEN + 4 :], "the options field", found, order)
    overload = found.get(52)
    if overload is not None:
        if len(overload) != 1 or overload[0] not in (1, 2, 3):
            raise DhcpFormatError(f"option 52 (dhcp-option-overload) must be one octet 1, 2 or 3, not {overload.hex()}")
        if overload[0] & 1:
            _tlv(file_, "the file field (overloaded)", found, order)
        if overload[0] & 2:
            _tlv(sname, "the sname field (overloaded)", found, order)
    if 53 not in found:
        raise DhcpFormatError("no option 53 (dhcp-message-type): a BOOTP message, not DHCP")
    options = {code: decode_option(code, found[code]) for code in order}
    return {
        "op": "BOOTREPLY" if op == BOOTREPLY else "BOOTREQUEST",
        "message_type": options[53],
        "xid": xid,
        "secs": secs,
        "broadcast": bool(flags & FLAG_BROADCAST),
        "hops": hops,
        "htype": htype,
        "chaddr": mac_text(chaddr[:hlen]),
        "ciaddr": str(ipaddress.IPv4Address(ciaddr)),
        "yiaddr": str(ipaddress.IPv4Address(yiaddr)),
        "siaddr": str(ipaddress.IPv4Address(siaddr)),
        "giaddr": str(ipaddress.IPv4Address(giaddr)),
        "sname": "" if overload and overload[0] & 2 else _text(0, sname),
        "file": "" if overload and overload[0] & 1 else _text(0, file_),
        "server_id": options.get(54),
        "options": options,
        "option_order": order,
    }
