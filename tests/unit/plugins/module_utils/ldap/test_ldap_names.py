from __future__ import annotations

import re
from pathlib import Path

import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import (
    RDN_MAX_LENGTH,
    base_dn_from_dns,
    check_rdn_value,
    check_template_name,
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


def test_rdn_limits_are_the_schema_s():
    """rangeUpper of ou and cn in the AD schema Samba ships (the Windows Server 2016 attributes file)."""
    schema = Path("/usr/share/samba/setup/ad-schema/AD_DS_Attributes__Windows_Server_2016.ldf")
    if not schema.exists():
        pytest.skip(f"{schema} is not installed (Debian: samba-ad-provision)")
    text = schema.read_text(encoding="cp1252").replace("\r\n", "\n")  # Microsoft's LDIF: CRLF, Windows-1252
    entries = {m.group(1): m.group(0) for m in re.finditer(r"^cn: (\S+)\n(?:.+\n)*", text, re.M)}
    for rdn_type, attribute in (("OU", "Organizational-Unit-Name"), ("CN", "Common-Name")):
        assert f"rangeUpper: {RDN_MAX_LENGTH[rdn_type]}\n" in entries[attribute]


@pytest.mark.parametrize(
    "name",
    ["AMT Computers", "x" * 64, "Zürich ÄÖÜ", "mid  spaces", '#hash, "quotes" +plus', "中" * 64, "\U0001f600" * 32],
)
def test_accepted_rdn_values(name):
    assert check_rdn_value(name, "OU", "path element") == name
    assert check_template_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "x" * 300,
            f"path element {'x' * 32!r}... is 300 characters long; AD allows at most 64 (rangeUpper of ou in the AD "
            "schema): shorten it",
        ),
        ("x" * 65, "is 65 characters long; AD allows at most 64"),
        ("\U0001f600" * 33, "is 66 UTF-16 code units long; AD allows at most 64"),
        (
            "nul\x00inside",
            "path element 'nul\\x00inside' contains control characters (U+0000): remove them (AD refuses NUL and "
            "line feed in a name, MS-ADTS 3.1.1.5.1.2; the others are invisible)",
        ),
        ("line\nfeed", "contains control characters (U+000A)"),
        ("tab\tand\rcr\x7f", "contains control characters (U+0009, U+000D, U+007F)"),
        (
            " leading",
            "path element ' leading' starts or ends with white space: remove it (it is invisible in AD tools and lost "
            "wherever the name is typed or trimmed)",
        ),
        ("trailing ", "starts or ends with white space"),
        ("no-break\u00a0", "starts or ends with white space"),
        ("\ud800lone", "is not valid Unicode (a lone surrogate)"),
        ("", "path element must be a non-empty name"),
        ("   ", "path element must be a non-empty name"),
    ],
)
def test_refused_rdn_values(name, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_rdn_value(name, "OU", "path element")


def test_template_names_follow_the_cn_rules():
    with pytest.raises(ValueError, match=re.escape("template name 'x")) as err:
        check_template_name("x" * 65)
    assert "AD allows at most 64 (rangeUpper of cn in the AD schema): shorten it" in str(err.value)


@pytest.mark.parametrize(
    ("path", "cls", "message"),
    [
        (
            ["Management", "y" * 65],
            "organizationalUnit",
            "is 65 characters long; AD allows at most 64 (rangeUpper of ou",
        ),
        (["z" * 300], "container", "is 300 characters long; AD allows at most 64 (rangeUpper of cn"),
        (["ok", "bad\x00"], "organizationalUnit", "contains control characters (U+0000)"),
        ([" AMT"], "container", "starts or ends with white space"),
    ],
)
def test_container_dn_refuses_names_ad_would_refuse(path, cls, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        container_dn(path, cls, "DC=x")
