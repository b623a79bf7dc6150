# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Addresses, subnets and DNS names as out of band management takes them: IPv4 only, one set of messages.

The seed says it plainly ("IPv6 is not supported"): Intel AMT provisioning and ConfigMgr 2007 SP1 out of band
management use IPv4. Every module validates its addresses here, so an IPv6 address is refused the same way
everywhere. Each function raises ValueError naming ``what`` (the option or key) and saying what to give instead.
"""

from __future__ import annotations

import ipaddress
import re

IPV4_ONLY = "ConfigMgr 2007 SP1 out of band management (Intel AMT) is IPv4 only"
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def check_address(value, what: str) -> ipaddress.IPv4Address:
    """One IPv4 host address (no prefix length)."""
    text = str(value if value is not None else "").strip()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        if "/" in text:
            raise ValueError(f"{what} {value!r} must be a single IPv4 address, without a prefix length") from None
        raise ValueError(f"{what} {value!r} is not an IPv4 address (a dotted quad such as 198.51.100.10)") from None
    if address.version != 4:
        raise ValueError(f"{what} {text} is an IPv6 address: {IPV4_ONLY}; give the IPv4 address")
    return address


def ipv4(value, what: str) -> str:
    """:func:`check_address` as text."""
    return str(check_address(value, what))


def check_network(value, what: str) -> ipaddress.IPv4Network:
    """An IPv4 subnet in CIDR form with its host bits clear (203.0.113.5/24 is a host, not a subnet)."""
    text = str(value if value is not None else "").strip()
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an IPv4 subnet in CIDR form (for example 203.0.113.0/24)") from None
    if loose.version != 4:
        raise ValueError(f"{what} {text} is an IPv6 subnet: {IPV4_ONLY}; give the IPv4 subnet")
    if "/" not in text:
        raise ValueError(f"{what} {value!r} has no prefix length: give the subnet in CIDR form, for example "
                         f"{loose.network_address}/24")  # fmt: skip
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise ValueError(f"{what} {value} is not a network: its host bits are set (the network is {loose})") from None


def dns_name(value, what: str) -> str:
    """A DNS name in canonical form (lower case, no final dot); RFC 1123 labels of letters, digits and hyphens."""
    name = str(value if value is not None else "").strip().lower()
    name = name[:-1] if name.endswith(".") else name
    if not name:
        raise ValueError(f"{what} is empty: give a DNS name")
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValueError(f"{what} {value!r} is not a valid DNS name: dot-separated labels of 1 to 63 letters, digits "
                         "or hyphens, no hyphen at either end (RFC 1123)")  # fmt: skip
    return name


# --- targets: exactly the addresses given ----------------------------------------------------------------------------


def target_range(value, what: str) -> tuple[int, int]:
    """One scan target as the inclusive range of addresses it stands for, as integers. An address given alone (or as a
    /32) is that address; a /31 is both of its addresses (RFC 3021); any other subnet in CIDR form is its host
    addresses, without its network and broadcast addresses."""
    text = str(value if value is not None else "").strip()
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an IPv4 address or a subnet in CIDR form (for example 203.0.113.7 "
                         "or 203.0.113.0/24)") from None  # fmt: skip
    net = check_network(text, what) if "/" in text else ipaddress.ip_network(check_address(text, what))
    first, last = int(net.network_address), int(net.broadcast_address)
    return (first, last) if net.prefixlen >= 31 else (first + 1, last - 1)


def expand_targets(targets, what: str = "targets") -> list[tuple[int, int]]:
    """The addresses a list of targets stands for, as sorted, disjoint inclusive integer ranges: the union of each
    target's own :func:`target_range`. Merging is done on the addresses, never on the networks, so it cannot change
    which addresses are scanned: twelve adjacent /32s stay twelve addresses (``collapse_addresses`` would turn them
    into /30s whose network and broadcast addresses a host walk leaves out), a /32 inside a subnet keeps an address
    the subnet alone would skip, and two /24s that would collapse to a /23 still skip their own network and broadcast
    addresses. Duplicates and overlaps count once. ValueError names the target on bad input."""
    ranges = sorted(target_range(t, f"{what}[{i}]") for i, t in enumerate(targets or []))
    merged: list[tuple[int, int]] = []
    for first, last in ranges:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def range_count(ranges) -> int:
    """How many addresses :func:`expand_targets`' ranges hold."""
    return sum(last - first + 1 for first, last in ranges)


def range_addresses(ranges):
    """Each address of :func:`expand_targets`' ranges once, in order, as text."""
    for first, last in ranges:
        for n in range(first, last + 1):
            yield str(ipaddress.IPv4Address(n))
