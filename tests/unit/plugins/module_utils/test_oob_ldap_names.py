from __future__ import annotations

import pytest
from ansible.module_utils.oob_ldap_names import (
    base_dn_from_dns,
    container_dn,
    escape_dn_value,
    escape_filter_value,
    parse_server,
)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("AMT Computers", "AMT Computers"),
        ("a,b", "a\\,b"),
        ("a+b", "a\\+b"),
        ('say "hi"', 'say \\"hi\\"'),
        ("back\\slash", "back\\\\slash"),
        ("<semi;colon>=", "\\<semi\\;colon\\>\\="),
        ("#first", "\\#first"),
        ("mid#dle", "mid#dle"),
        (" lead", "\\ lead"),
        ("trail ", "trail\\ "),
        ("in side", "in side"),
        ("nul\x00byte", "nul\\00byte"),
        ("*(star)", "*(star)"),  # not special in DNs
        ("Zürich", "Zürich"),
    ],
)
def test_escape_dn_value(raw, escaped):
    assert escape_dn_value(raw) == escaped


def test_escape_dn_value_refuses_empty():
    with pytest.raises(ValueError, match="non-empty"):
        escape_dn_value("")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("SCCM01$", "SCCM01$"),
        ("*", "\\2a"),
        ("a(b)c", "a\\28b\\29c"),
        ("back\\slash", "back\\5cslash"),
        ("nul\x00", "nul\\00"),
        ("*)(objectClass=*", "\\2a\\29\\28objectClass=\\2a"),
        ("comma,plus+", "comma,plus+"),  # not special in filters
    ],
)
def test_escape_filter_value(raw, escaped):
    assert escape_filter_value(raw) == escaped


@pytest.mark.parametrize(
    ("dns", "dn"),
    [("lab.example", "DC=lab,DC=example"), ("corp.example.com.", "DC=corp,DC=example,DC=com"), ("x", "DC=x")],
)
def test_base_dn_from_dns(dns, dn):
    assert base_dn_from_dns(dns) == dn


@pytest.mark.parametrize("bad", ["", "lab..example", "-lab.example", "lab_x.example", "a b.example"])
def test_base_dn_from_dns_refuses(bad):
    with pytest.raises(ValueError, match="is not a DNS domain name"):
        base_dn_from_dns(bad)


def test_container_dn_levels_outermost_first():
    assert container_dn(["Management", "AMT, Computers"], "organizationalUnit", "DC=lab,DC=example") == [
        "OU=Management,DC=lab,DC=example",
        "OU=AMT\\, Computers,OU=Management,DC=lab,DC=example",
    ]
    assert container_dn(["AMT"], "container", "DC=x") == ["CN=AMT,DC=x"]


@pytest.mark.parametrize(
    ("path", "cls", "message"),
    [([], "organizationalUnit", "at least one"), ([""], "container", "non-empty"), (["a"], "group", "object class")],
)
def test_container_dn_refuses(path, cls, message):
    with pytest.raises(ValueError, match=message):
        container_dn(path, cls, "DC=x")


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("dc1.lab.example", {"host": "dc1.lab.example", "address": None, "port": None}),
        ("dc1.lab.example:3269", {"host": "dc1.lab.example", "address": None, "port": 3269}),
        ({"host": "dc1", "address": "198.51.100.10"}, {"host": "dc1", "address": "198.51.100.10", "port": None}),
        ({"host": "dc1", "port": "636"}, {"host": "dc1", "address": None, "port": 636}),
    ],
)
def test_parse_server(spec, parsed):
    assert parse_server(spec) == parsed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "host name"),
        ({"address": "198.51.100.10"}, "host name"),
        ("dc1:ldaps", "must be a number"),
        ("dc1:70000", "out of range"),
        ({"host": "dc1", "ip": "x"}, "unknown server key"),
        (42, "host name"),
    ],
)
def test_parse_server_refuses(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_server(spec)
