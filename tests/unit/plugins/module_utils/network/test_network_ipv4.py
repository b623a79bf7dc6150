"""Target expansion (network.ipv4.expand_targets): exactly the addresses given are scanned.

The expected address sets are written out by hand from the rule the modules document (an address alone or as a /32
is scanned; a subnet in CIDR form without its network and broadcast addresses, RFC 919/922; a /31 for both of its
addresses, RFC 3021), never computed with the code under test or with ipaddress.
"""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import expand_targets, range_addresses, range_count


def spelled(prefix: str, *last: int) -> set[str]:
    return {f"{prefix}.{n}" for n in last}


CASES = {
    # twelve devices on twelve adjacent addresses, pasted from a CMDB: all twelve (collapse_addresses would merge
    # them into .132/30, .136/30 ... and a host walk would then leave out .132, .135, .136, .139)
    "adjacent /32s": ([f"203.0.113.{n}/32" for n in range(131, 143)],
                      spelled("203.0.113", 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142)),
    "adjacent bare addresses": (["203.0.113.4", "203.0.113.5", "203.0.113.6", "203.0.113.7"],
                                spelled("203.0.113", 4, 5, 6, 7)),
    "a /32 that is a subnet's network address": (["203.0.113.0/30", "203.0.113.0/32"],
                                                 spelled("203.0.113", 0, 1, 2)),
    "a /32 that is a subnet's broadcast address": (["203.0.113.3", "203.0.113.0/30"], spelled("203.0.113", 1, 2, 3)),
    "a /32 inside a subnet": (["203.0.113.0/29", "203.0.113.5"], spelled("203.0.113", 1, 2, 3, 4, 5, 6)),
    "overlapping subnets": (["203.0.113.0/29", "203.0.113.4/30"], spelled("203.0.113", 1, 2, 3, 4, 5, 6)),
    "a /31": (["203.0.113.6/31"], spelled("203.0.113", 6, 7)),
    "a /32": (["203.0.113.9/32"], spelled("203.0.113", 9)),
    "a /30": (["203.0.113.8/30"], spelled("203.0.113", 9, 10)),
    "duplicates": (["203.0.113.9", "203.0.113.9/32", " 203.0.113.9 "], spelled("203.0.113", 9)),
    # two /24s that collapse to a /23 keep their own network and broadcast addresses out (.0.255 and .1.0 are not
    # scanned: nobody gave the /23)
    "/24 pair that would collapse to a /23": (
        ["198.51.100.0/24", "198.51.101.0/24"],
        spelled("198.51.100", *range(1, 255)) | spelled("198.51.101", *range(1, 255)),
    ),
    "a /23 given as such": (["198.51.100.0/23"],
                            spelled("198.51.100", *range(1, 256)) | spelled("198.51.101", *range(0, 255))),
}  # fmt: skip


@pytest.mark.parametrize(("targets", "expected"), list(CASES.values()), ids=list(CASES))
def test_exactly_the_addresses_given(targets, expected):
    ranges = expand_targets(targets)
    scanned = list(range_addresses(ranges))
    assert len(scanned) == len(set(scanned)), "an address is scanned twice"
    assert set(scanned) == expected
    assert range_count(ranges) == len(expected)


@pytest.mark.parametrize("order", [1, -1])
def test_the_order_of_targets_changes_nothing(order):
    targets = ["203.0.113.0/30", "203.0.113.3", "203.0.113.4/31", "203.0.113.200"][::order]
    assert set(range_addresses(expand_targets(targets))) == spelled("203.0.113", 1, 2, 3, 4, 5, 200)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("203.0.113.7/24", "targets[0] 203.0.113.7/24 is not a network: its host bits are set (the network is "
                           "203.0.113.0/24)"),
        ("2001:db8::1", "targets[0] 2001:db8::1 is an IPv6 address"),
        ("2001:db8::/64", "targets[0] 2001:db8::/64 is an IPv6 subnet"),
        ("amt1.lab.example", "targets[0] 'amt1.lab.example' is not an IPv4 address or a subnet in CIDR form"),
        ("", "targets[0] '' is not an IPv4 address or a subnet in CIDR form"),
    ],
)  # fmt: skip
def test_bad_targets_are_named(target, message):
    with pytest.raises(ValueError) as err:
        expand_targets([target])
    assert str(err.value).startswith(message)
