"""dhcp.plan, the pure part of the DHCP scope modules: input, reverse zones, the plan and its diff."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import diff, normalize_scopes, plan, reverse_zone


@pytest.mark.parametrize(
    ("network", "zone"),
    [  # RFC 1035 section 3.5: the address's octets reversed under in-addr.arpa; whole octets only
        ("203.0.113.0/24", "113.0.203.in-addr.arpa"),
        ("10.20.0.0/16", "20.10.in-addr.arpa"),
        ("10.20.30.0/23", "20.10.in-addr.arpa"),
        ("10.0.0.0/8", "10.in-addr.arpa"),
        ("192.0.2.128/25", "2.0.192.in-addr.arpa"),
    ],
)
def test_reverse_zone(network, zone):
    assert reverse_zone(ipaddress.ip_network(network)) == zone


def test_scopes_are_normalized_with_ddns_defaults_from_the_scope():
    (scope,) = normalize_scopes(
        [{"network": "10.20.0.0/16", "dns_servers": ["10.1.0.10"], "domain_name": "Corp.Example."}]
    )
    assert scope["domain_name"] == "corp.example"
    assert scope["ddns"] == {"enabled": True, "forward_zone": "corp.example", "reverse_zone": "20.10.in-addr.arpa",
                             "servers": ["10.1.0.10"], "port": 53, "key": None, "given": {}}  # fmt: skip


@pytest.mark.parametrize(
    ("scope", "words"),
    [
        ({"network": "2001:db8::/64"}, "IPv4 only"),
        ({"network": "10.0.0.1/8"}, "not a network"),
        ({"dns_servers": []}, "dns_servers (option 006) is empty"),
        ({"dns_servers": ["fe80::1"]}, "IPv6"),
        ({"dns_servers": ["dns1"]}, "not an IPv4 address"),
        ({"domain_name": " "}, "empty"),
        ({"domain_name": "-bad.example"}, "not a valid DNS name"),
        ({"ddns": {"servers": ["2001:db8::53"]}}, "IPv6"),
    ],
)
def test_bad_scopes_are_refused_naming_the_scope(scope, words):
    base = {"network": "10.20.0.0/16", "dns_servers": ["10.1.0.10"], "domain_name": "corp.example"}
    with pytest.raises(ValueError, match="scope") as err:
        normalize_scopes([{**base, **scope}])
    assert words in str(err.value)


def test_no_scopes_and_a_scope_twice_are_refused():
    with pytest.raises(ValueError, match="no scopes"):
        normalize_scopes([])
    one = {"network": "10.20.0.0/16", "dns_servers": ["10.1.0.10"], "domain_name": "corp.example"}
    with pytest.raises(ValueError, match="given twice"):
        normalize_scopes([one, one])


def test_plan_compares_only_the_desired_keys_and_diff_groups_by_target():
    current = {"10.20.0.0/16": {"option 15 domain-name": "old.example", "other": 1}, "d2": {}}
    desired = {"10.20.0.0/16": {"option 15 domain-name": "corp.example", "option 6 domain-name-servers": ["10.1.0.10"]},
               "d2": {}}  # fmt: skip
    changes = plan(current, desired)
    assert changes == [
        {"target": "10.20.0.0/16", "key": "option 15 domain-name", "before": "old.example", "after": "corp.example"},
        {"target": "10.20.0.0/16", "key": "option 6 domain-name-servers", "before": None, "after": ["10.1.0.10"]},
    ]
    assert diff(changes)["before"] == {"10.20.0.0/16": {"option 15 domain-name": "old.example",
                                                        "option 6 domain-name-servers": None}}  # fmt: skip
    assert plan(desired, desired) == []
