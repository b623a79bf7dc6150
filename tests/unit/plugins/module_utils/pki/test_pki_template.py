from __future__ import annotations

import random
import re

import pytest
from ansible_collections.oob.prep.plugins.module_utils.pki.template import (
    EKUS,
    ENROLLMENT_FLAGS,
    GENERAL_FLAGS,
    KEY_USAGE,
    NAME_FLAGS,
    PRIVATE_KEY_FLAGS,
    V2_BASE,
    build_template_attributes,
    eku_names,
    flags_to_names,
    key_usage_from_ad,
    key_usage_to_ad,
    names_to_flags,
    normalise_attrs,
    normalise_flag,
    period_from_ad,
    period_to_ad,
    plan_template,
    resolve_ekus,
    template_oid,
    to_ad_int,
)

FOREST_OID = "1.3.6.1.4.1.311.21.8.5734392.6195358.14893705.12992936.3444171.114"
TWO_YEARS = bytes.fromhex("0080720E5DC2FDFF")
ONE_YEAR = bytes.fromhex("004039872EE1FEFF")
SIX_WEEKS = bytes.fromhex("0080A60AFFDEFFFF")
AMT_OID = "2.16.840.1.113741.1.2.3"
SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
CSPS = ["2,Microsoft DH SChannel Cryptographic Provider", "1,Microsoft RSA SChannel Cryptographic Provider"]

# The stock Web Server template (schema version 1) as read from AD, plus its identity attributes
WEBSERVER = {
    "cn": "WebServer",
    "name": "WebServer",
    "displayName": "Web Server",
    "distinguishedName": "CN=WebServer,CN=Certificate Templates,CN=Public Key Services,CN=Services,CN=Configuration,"
    "DC=corp,DC=example,DC=com",
    "objectClass": ["top", "pKICertificateTemplate"],
    "objectGUID": b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\xff",
    "whenCreated": "20240101000000.0Z",
    "uSNChanged": 12345,
    "msPKI-Cert-Template-OID": "1.3.6.1.4.1.311.21.8.1.2.16",
    "flags": 66113,
    "revision": 4,
    "msPKI-Template-Schema-Version": 1,
    "msPKI-Template-Minor-Revision": 1,
    "msPKI-Certificate-Name-Flag": 1,
    "msPKI-Enrollment-Flag": 0,
    "msPKI-Private-Key-Flag": 0,
    "msPKI-RA-Signature": 0,
    "msPKI-Minimal-Key-Size": 2048,
    "pKIDefaultKeySpec": 1,
    "pKIMaxIssuingDepth": 0,
    "pKIKeyUsage": bytes.fromhex("A000"),
    "pKICriticalExtensions": ["2.5.29.15"],
    "pKIExtendedKeyUsage": [SERVER_AUTH],
    "pKIExpirationPeriod": TWO_YEARS,
    "pKIOverlapPeriod": SIX_WEEKS,
    "pKIDefaultCSPs": CSPS,
}


def as_ldap3(attrs: dict) -> dict:
    """attrs the way ldap3's raw_attributes hand them back: lower-cased names, lists of bytes."""
    out = {}
    for attr, values in attrs.items():
        items = values if isinstance(values, list) else [values]
        out[attr.lower()] = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in items]
    return out


# ------------------------------------------------------------------------------------------------ flags

ALL_TABLES = [GENERAL_FLAGS, ENROLLMENT_FLAGS, NAME_FLAGS, PRIVATE_KEY_FLAGS]
TABLE_ENTRIES = [(table, name, bit) for table in ALL_TABLES for name, bit in table.items()]


@pytest.mark.parametrize(("table", "name", "bit"), TABLE_ENTRIES)
def test_each_flag_both_directions(table, name, bit):
    assert flags_to_names(table, bit) == [name]
    assert names_to_flags(table, [name]) == bit
    assert re.fullmatch(r"[a-z][a-z_]*", name)


@pytest.mark.parametrize(
    ("table", "name", "bit"),
    [
        (GENERAL_FLAGS, "auto_enrollment", 0x20),
        (GENERAL_FLAGS, "machine_type", 0x40),
        (GENERAL_FLAGS, "is_ca", 0x80),
        (GENERAL_FLAGS, "add_template_name", 0x200),
        (GENERAL_FLAGS, "is_cross_ca", 0x800),
        (GENERAL_FLAGS, "is_default", 0x10000),
        (GENERAL_FLAGS, "is_modified", 0x20000),
        (ENROLLMENT_FLAGS, "pend_all_requests", 0x2),
        (ENROLLMENT_FLAGS, "include_symmetric_algorithms", 0x1),
        (ENROLLMENT_FLAGS, "no_security_extension", 0x80000),
        (NAME_FLAGS, "enrollee_supplies_subject", 0x1),
        (NAME_FLAGS, "enrollee_supplies_subject_alt_name", 0x10000),
        (NAME_FLAGS, "subject_require_directory_path", 0x80000000),
        (PRIVATE_KEY_FLAGS, "require_private_key_archival", 0x1),
        (PRIVATE_KEY_FLAGS, "exportable_key", 0x10),
        (PRIVATE_KEY_FLAGS, "strong_key_protection_required", 0x20),
    ],
)
def test_documented_flag_values(table, name, bit):
    assert table[name] == bit


@pytest.mark.parametrize(
    ("table", "value", "names"),
    [
        (GENERAL_FLAGS, 66113, ["enrollee_supplies_subject", "machine_type", "add_template_name", "is_default"]),
        (GENERAL_FLAGS, 131649, ["enrollee_supplies_subject", "machine_type", "add_template_name", "is_modified"]),
        (GENERAL_FLAGS, 0, []),
        (GENERAL_FLAGS, 0x4, ["0x4"]),
        (ENROLLMENT_FLAGS, 0x2 | 0x20, ["pend_all_requests", "auto_enrollment"]),
        (ENROLLMENT_FLAGS, 0x80000000, ["0x80000000"]),
        (NAME_FLAGS, 0x1 | 0x10000, ["enrollee_supplies_subject", "enrollee_supplies_subject_alt_name"]),
        (NAME_FLAGS, 0x18000000, ["subject_alt_require_dns", "subject_require_dns_as_cn"]),
        (PRIVATE_KEY_FLAGS, 0x31, ["require_private_key_archival", "exportable_key", "strong_key_protection_required"]),
        (PRIVATE_KEY_FLAGS, 0x01000000 | 0x10, ["exportable_key", "0x1000000"]),
    ],
)
def test_flag_values_both_directions(table, value, names):
    assert flags_to_names(table, value) == names
    assert names_to_flags(table, names) == value


@pytest.mark.parametrize(
    ("raw", "unsigned"),
    [
        (-2147483648, 0x80000000),
        (-2147483647, 0x80000001),
        ("-2147483648", 0x80000000),
        (b"-2113929216", 0x82000000),
        (-1, 0xFFFFFFFF),
        (b"66113", 66113),
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0, 0),
    ],
)
def test_negative_ints_are_normalised(raw, unsigned):
    assert normalise_flag(raw) == unsigned


def test_negative_name_flag_as_names():
    assert flags_to_names(NAME_FLAGS, -2147483647) == ["enrollee_supplies_subject", "subject_require_directory_path"]
    assert flags_to_names(NAME_FLAGS, b"-2113929216") == ["subject_alt_require_upn", "subject_require_directory_path"]


@pytest.mark.parametrize(
    ("value", "ad"),
    [(0, "0"), (66113, "66113"), (0x7FFFFFFF, "2147483647"), (0x80000000, "-2147483648"),
     (0x82000000, "-2113929216"), (0xFFFFFFFF, "-1"), (-5, "-5"), ("2147483648", "-2147483648")],
)  # fmt: skip
def test_to_ad_int(value, ad):
    assert to_ad_int(value) == ad
    assert normalise_flag(ad) == normalise_flag(value)


@pytest.mark.parametrize("value", [2**32, -(2**31) - 1])
def test_flag_out_of_range(value):
    with pytest.raises(ValueError, match="must fit in 32 bits"):
        normalise_flag(value)


@pytest.mark.parametrize("value", ["abc", b"\xff", None, "1.5"])
def test_flag_not_a_number(value):
    with pytest.raises(ValueError, match="must be an integer"):
        normalise_flag(value)


def test_unknown_flag_name_lists_valid_names():
    message = "unknown flag 'pend_all'; valid names: include_symmetric_algorithms, pend_all_requests, "
    with pytest.raises(ValueError, match=re.escape(message)):
        names_to_flags(ENROLLMENT_FLAGS, ["pend_all"])
    with pytest.raises(ValueError, match="unknown flag '0x100000000'"):
        names_to_flags(ENROLLMENT_FLAGS, ["0x100000000"])


def test_names_are_case_insensitive():
    assert names_to_flags(ENROLLMENT_FLAGS, [" Pend_All_Requests "]) == 2


@pytest.mark.parametrize("table", ALL_TABLES)
def test_every_value_round_trips(table):
    rng = random.Random(7)
    for _round in range(200):
        value = rng.getrandbits(32)
        assert names_to_flags(table, flags_to_names(table, value)) == value


# ------------------------------------------------------------------------------------------------ periods


@pytest.mark.parametrize(
    ("text", "raw", "natural"),
    [
        ("2 years", TWO_YEARS, "2 years"),
        ("1 year", ONE_YEAR, "1 year"),
        ("6 weeks", SIX_WEEKS, "6 weeks"),
        ("90 days", (-90 * 86400 * 10**7).to_bytes(8, "little", signed=True), "90 days"),
        ("12 hours", (-12 * 3600 * 10**7).to_bytes(8, "little", signed=True), "12 hours"),
        ("14 days", (-14 * 86400 * 10**7).to_bytes(8, "little", signed=True), "2 weeks"),
        ("365 days", ONE_YEAR, "1 year"),
        ("730 days", TWO_YEARS, "2 years"),
        ("7 days", (-7 * 86400 * 10**7).to_bytes(8, "little", signed=True), "1 week"),
        ("48 hours", (-2 * 86400 * 10**7).to_bytes(8, "little", signed=True), "2 days"),
        ("1 year 2 weeks", (-(365 + 14) * 86400 * 10**7).to_bytes(8, "little", signed=True), "379 days"),
        ("1 Year, 1 day", (-366 * 86400 * 10**7).to_bytes(8, "little", signed=True), "366 days"),
        ("5 years", (-5 * 365 * 86400 * 10**7).to_bytes(8, "little", signed=True), "5 years"),
        ("1 hour", (-3600 * 10**7).to_bytes(8, "little", signed=True), "1 hour"),
        ("2years", TWO_YEARS, "2 years"),
    ],
)
def test_periods_both_directions(text, raw, natural):
    assert period_to_ad(text) == raw
    assert period_from_ad(raw) == natural
    assert period_to_ad(natural) == raw
    assert period_from_ad(period_to_ad(natural)) == natural


def test_documented_period_bytes():
    assert period_to_ad("2 years").hex(" ") == "00 80 72 0e 5d c2 fd ff"
    assert period_to_ad("1 year").hex(" ") == "00 40 39 87 2e e1 fe ff"
    assert period_to_ad("6 weeks").hex(" ") == "00 80 a6 0a ff de ff ff"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3 months", "months are ambiguous in '3 months': use days or weeks"),
        ("1 month", "months are ambiguous"),
        ("2 fortnights", "unknown unit 'fortnights'"),
        ("two years", "cannot read the period"),
        ("1.5 years", "cannot read the period"),
        ("years", "cannot read the period"),
        ("", "a period must be text"),
        ("   ", "a period must be text"),
        (None, "a period must be text"),
        (730, "a period must be text"),
        ("0 days", "must be longer than zero"),
        ("30000 years", "shorter than 29000 years"),
    ],
)
def test_bad_period_text(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        period_to_ad(text)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00" * 7, "a period must be 8 bytes"),
        (b"\x00" * 9, "a period must be 8 bytes"),
        ("0080720E5DC2FDFF", "a period must be 8 bytes"),
        ((10**7).to_bytes(8, "little", signed=True), "must be a negative count of 100 ns, not 10000000"),
        (b"\x00" * 8, "must be a negative count of 100 ns, not 0"),
        ((-5).to_bytes(8, "little", signed=True), "not a whole number of seconds"),
    ],
)
def test_bad_period_bytes(raw, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        period_from_ad(raw)


# ------------------------------------------------------------------------------------------------ key usage


@pytest.mark.parametrize(
    ("names", "raw"),
    [
        (["digital_signature", "key_encipherment"], b"\xa0\x00"),
        (["digital_signature"], b"\x80\x00"),
        (["non_repudiation"], b"\x40\x00"),
        (["key_encipherment"], b"\x20\x00"),
        (["data_encipherment"], b"\x10\x00"),
        (["key_agreement"], b"\x08\x00"),
        (["key_cert_sign"], b"\x04\x00"),
        (["crl_sign"], b"\x02\x00"),
        (["encipher_only"], b"\x01\x00"),
        (["decipher_only"], b"\x00\x80"),
        (["digital_signature", "key_cert_sign", "crl_sign"], b"\x86\x00"),
        (["key_agreement", "decipher_only"], b"\x08\x80"),
        ([], b"\x00\x00"),
    ],
)
def test_key_usage_both_directions(names, raw):
    assert key_usage_to_ad(names) == raw
    assert key_usage_from_ad(raw) == names


def test_key_usage_stock_webserver_value():
    assert key_usage_to_ad(["key_encipherment", "digital_signature"]) == bytes.fromhex("A000")
    assert key_usage_from_ad(bytes.fromhex("A000")) == ["digital_signature", "key_encipherment"]


def test_key_usage_one_byte_and_unknown_bits():
    assert key_usage_from_ad(b"\xa0") == ["digital_signature", "key_encipherment"]
    assert key_usage_from_ad(b"\x00\x41") == ["0x40", "0x1"]
    assert key_usage_to_ad(["0x40", "0x1"]) == b"\x00\x41"
    assert len(KEY_USAGE) == 9


@pytest.mark.parametrize(
    ("call", "arg", "message"),
    [
        (key_usage_to_ad, ["sign"], "unknown key usage 'sign'; valid names: digital_signature, non_repudiation"),
        (key_usage_to_ad, ["0x10000"], "key usage bits must fit in 16 bits"),
        (key_usage_from_ad, b"", "pKIKeyUsage must be 1 or 2 bytes"),
        (key_usage_from_ad, b"\xa0\x00\x00", "pKIKeyUsage must be 1 or 2 bytes"),
        (key_usage_from_ad, "A000", "pKIKeyUsage must be 1 or 2 bytes"),
    ],
)
def test_bad_key_usage(call, arg, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call(arg)


# ------------------------------------------------------------------------------------------------ EKUs


@pytest.mark.parametrize(
    ("name", "oid"),
    [
        ("server_auth", "1.3.6.1.5.5.7.3.1"),
        ("client_auth", "1.3.6.1.5.5.7.3.2"),
        ("any_purpose", "2.5.29.37.0"),
        ("certificate_request_agent", "1.3.6.1.4.1.311.20.2.1"),
        ("smart_card_logon", "1.3.6.1.4.1.311.20.2.2"),
        ("pkinit_client", "1.3.6.1.5.2.3.4"),
        ("intel_amt_provisioning", "2.16.840.1.113741.1.2.3"),
    ],
)
def test_eku_names_both_directions(name, oid):
    assert EKUS[name] == oid
    assert resolve_ekus([name]) == [oid]
    assert resolve_ekus([oid]) == [oid]
    assert eku_names([oid]) == [name]
    assert eku_names([oid.encode()]) == [name]


def test_resolve_ekus_keeps_order_and_deduplicates():
    items = ["intel_amt_provisioning", "Server_Auth", "1.3.6.1.5.5.7.3.1", AMT_OID, "1.2.3.4"]
    assert resolve_ekus(items) == [AMT_OID, SERVER_AUTH, "1.2.3.4"]
    assert resolve_ekus([]) == []
    assert eku_names(["1.2.3.4", SERVER_AUTH]) == ["1.2.3.4", "server_auth"]


@pytest.mark.parametrize("item", ["web_server", "1.3.6.01.5", "3.1.2", "1", ".1.3.6", "1.3.6.", "1..3", "1.3.a", ""])
def test_bad_eku(item):
    with pytest.raises(ValueError, match=r"unknown EKU .*: give a dotted OID or one of server_auth, client_auth"):
        resolve_ekus([item])


def test_ekus_must_be_a_list():
    with pytest.raises(ValueError, match="EKUs must be a list"):
        resolve_ekus("server_auth")


# ------------------------------------------------------------------------------------------------ OIDs


def test_template_oid_with_seeded_random():
    first = template_oid(FOREST_OID, random.Random(42))
    assert first == template_oid(FOREST_OID, random.Random(42))
    for seed in range(50):
        oid, cn = template_oid(FOREST_OID, random.Random(seed))
        assert oid.startswith(FOREST_OID + ".")
        assert not oid.startswith(".")
        part1, part2 = oid[len(FOREST_OID) + 1 :].split(".")
        assert 1000000 <= int(part1) <= 16777215
        assert 1000000 <= int(part2) <= 99999999
        assert re.fullmatch(r"[1-9][0-9]{6,7}", part1) and re.fullmatch(r"[1-9][0-9]{6,7}", part2)
        assert re.fullmatch(r"[1-9][0-9]{6,7}\.[0-9A-F]{32}", cn)
        assert cn.split(".")[0] == part2


def test_template_oid_without_seed_and_with_padding():
    oid, cn = template_oid(f"  {FOREST_OID}\n")
    assert re.fullmatch(re.escape(FOREST_OID) + r"\.[0-9]{7,8}\.[0-9]{7,8}", oid)
    assert cn.startswith(oid.rsplit(".", 1)[1] + ".")
    assert template_oid(FOREST_OID.encode(), random.Random(1))[0].startswith(FOREST_OID + ".")


@pytest.mark.parametrize("forest_oid", [None, "", "   ", b""])
def test_template_oid_empty_forest_oid(forest_oid):
    message = "the forest OID (msPKI-Cert-Template-OID on CN=OID,CN=Public Key Services,"
    with pytest.raises(ValueError, match=re.escape(message) + r".*\) is empty: "):
        template_oid(forest_oid)


@pytest.mark.parametrize("forest_oid", [".1.3.6", "1.3.6.", "1..3", "abc", "1.3.6.1 4", "1"])
def test_template_oid_bad_forest_oid(forest_oid):
    with pytest.raises(ValueError, match=r"the forest OID .* is not a dotted-decimal OID"):
        template_oid(forest_oid)


# ------------------------------------------------------------------------------------------------ normalising


@pytest.mark.parametrize(
    ("attrs", "normal"),
    [
        ({"msPKI-Minimal-Key-Size": 2048}, {"msPKI-Minimal-Key-Size": ["2048"]}),
        ({"msPKI-Minimal-Key-Size": [b"2048"]}, {"msPKI-Minimal-Key-Size": ["2048"]}),
        ({"msPKI-Certificate-Name-Flag": 0x80000000}, {"msPKI-Certificate-Name-Flag": ["-2147483648"]}),
        ({"mspki-certificate-name-flag": [b"-2147483648"]}, {"mspki-certificate-name-flag": ["-2147483648"]}),
        ({"flags": "66113"}, {"flags": ["66113"]}),
        ({"pKIKeyUsage": [bytearray(b"\xa0\x00")]}, {"pKIKeyUsage": [b"\xa0\x00"]}),
        ({"pKIKeyUsage": [b"\x08\x00"]}, {"pKIKeyUsage": [b"\x08\x00"]}),
        ({"pKIExpirationPeriod": "x"}, {"pKIExpirationPeriod": [b"x"]}),
        ({"showInAdvancedViewOnly": True}, {"showInAdvancedViewOnly": ["TRUE"]}),
        ({"objectGUID": b"\xff\xfe"}, {"objectGUID": [b"\xff\xfe"]}),
        ({"displayName": None}, {"displayName": []}),
        ({"pKIDefaultCSPs": CSPS}, {"pKIDefaultCSPs": CSPS}),
        (None, {}),
    ],
)
def test_normalise_attrs(attrs, normal):
    assert normalise_attrs(attrs) == normal


def test_normalise_attrs_duplicate_name():
    with pytest.raises(ValueError, match="attribute 'Flags' is given twice"):
        normalise_attrs({"flags": 1, "Flags": 1})


# ------------------------------------------------------------------------------------------------ planner

DESIRED = {
    "displayName": "ConfigMgr AMT Web Server Certificate",
    "msPKI-Minimal-Key-Size": 2048,
    "pKIExtendedKeyUsage": [SERVER_AUTH, AMT_OID],
    "msPKI-Certificate-Name-Flag": 0x80000001,
    "pKIKeyUsage": b"\xa0\x00",
    "pKIDefaultCSPs": CSPS,
    "revision": 4,
    "msPKI-Template-Minor-Revision": 9,
}
ACTUAL = as_ldap3({
    "displayName": "ConfigMgr AMT Web Server Certificate",
    "msPKI-Minimal-Key-Size": 2048,
    "pKIExtendedKeyUsage": [AMT_OID, SERVER_AUTH],
    "msPKI-Certificate-Name-Flag": -2147483647,
    "pKIKeyUsage": b"\xa0\x00",
    "pKIDefaultCSPs": CSPS,
    "revision": 100,
    "msPKI-Template-Minor-Revision": 3,
    "msPKI-RA-Signature": 1,
    "cn": "ConfigMgrAMTWebServer",
})  # fmt: skip


def test_plan_create():
    plan = plan_template({**DESIRED, "pKICriticalExtensions": []}, None)
    assert plan["create"] is True
    assert plan["modify"] == {}
    attrs = plan["attributes"]
    assert attrs["revision"] == ["100"]
    assert attrs["msPKI-Template-Minor-Revision"] == ["1"]
    assert "pKICriticalExtensions" not in attrs
    assert attrs["msPKI-Certificate-Name-Flag"] == ["-2147483647"]
    assert attrs["msPKI-Minimal-Key-Size"] == ["2048"]
    assert attrs["pKIKeyUsage"] == [b"\xa0\x00"]
    assert plan["changes"]["pKIExtendedKeyUsage"] == {"before": [], "after": [SERVER_AUTH, AMT_OID]}
    assert "revision" not in plan["changes"]


def test_plan_no_op_despite_order_case_types_and_revisions():
    plan = plan_template(DESIRED, ACTUAL)
    assert plan == {
        "create": False,
        "changes": {},
        "modify": {},
        "attributes": {**normalise_attrs(DESIRED), "revision": ["100"], "msPKI-Template-Minor-Revision": ["3"]},
    }


def test_plan_change_bumps_minor_revision():
    plan = plan_template({**DESIRED, "msPKI-RA-Signature": 0, "pKIExtendedKeyUsage": [SERVER_AUTH]}, ACTUAL)
    assert plan["create"] is False
    assert plan["changes"] == {
        "msPKI-RA-Signature": {"before": ["1"], "after": ["0"]},
        "pKIExtendedKeyUsage": {"before": [AMT_OID, SERVER_AUTH], "after": [SERVER_AUTH]},
    }
    assert plan["modify"] == {
        **plan["changes"],
        "msPKI-Template-Minor-Revision": {"before": ["3"], "after": ["4"]},
    }
    assert plan["attributes"]["msPKI-Template-Minor-Revision"] == ["4"]
    assert plan["attributes"]["revision"] == ["100"]


def test_plan_minor_revision_missing_or_bad():
    actual = {k: v for k, v in ACTUAL.items() if k != "mspki-template-minor-revision"}
    plan = plan_template({"msPKI-RA-Signature": 0}, actual)
    assert plan["modify"]["msPKI-Template-Minor-Revision"] == {"before": [], "after": ["1"]}
    with pytest.raises(ValueError, match="msPKI-Template-Minor-Revision is not a number: 'x'"):
        plan_template({"msPKI-RA-Signature": 0}, {**actual, "msPKI-Template-Minor-Revision": [b"x"]})


def test_plan_revisions_alone_are_no_change():
    plan = plan_template({"revision": 7, "msPKI-Template-Minor-Revision": 1}, ACTUAL)
    assert plan["changes"] == {} and plan["modify"] == {}


def test_plan_csp_order_matters():
    plan = plan_template({"pKIDefaultCSPs": list(reversed(CSPS))}, ACTUAL)
    assert plan["changes"] == {"pKIDefaultCSPs": {"before": CSPS, "after": list(reversed(CSPS))}}


def test_plan_unmentioned_attributes_left_alone_and_empty_list_removes():
    plan = plan_template({"pKIKeyUsage": b"\xa0\x00"}, ACTUAL)
    assert plan["changes"] == {}
    plan = plan_template({"msPKI-RA-Signature": []}, ACTUAL)
    assert plan["changes"] == {"msPKI-RA-Signature": {"before": ["1"], "after": []}}
    plan = plan_template({"msPKI-Certificate-Policy": ["1.2.3"]}, ACTUAL)
    assert plan["changes"] == {"msPKI-Certificate-Policy": {"before": [], "after": ["1.2.3"]}}


def test_plan_eku_application_policy_and_critical_extensions_unordered():
    actual = as_ldap3({"msPKI-Certificate-Application-Policy": [AMT_OID, SERVER_AUTH],
                       "pKICriticalExtensions": ["2.5.29.15", "2.5.29.7"]})  # fmt: skip
    desired = {"msPKI-Certificate-Application-Policy": [SERVER_AUTH, AMT_OID],
               "pKICriticalExtensions": ["2.5.29.7", "2.5.29.15"]}  # fmt: skip
    assert plan_template(desired, actual)["changes"] == {}


# ------------------------------------------------------------------------------------------------ building

AMT_PROVISIONING = {
    "name": "ConfigMgrAMTProvisioning",
    "display_name": "ConfigMgr AMT Provisioning",
    "ekus": ["server_auth", "intel_amt_provisioning"],
    "minimal_key_size": 2048,
    "amt": True,
    "auto_approve": True,
}
AMT_WEB_SERVER = {
    "name": "ConfigMgrAMTWebServer",
    "display_name": "ConfigMgr AMT Web Server Certificate",
    "ekus": ["server_auth"],
    "key_usage": ["digital_signature", "key_encipherment"],
    "validity": "2 years",
    "renewal": "6 weeks",
    "enrollee_supplies_subject": True,
    "minimal_key_size": 2048,
    "amt": True,
    "auto_approve": True,
}
EXPECTED_COMMON = {
    "flags": ["131649"],  # 66113 with is_default cleared and is_modified set
    "msPKI-Template-Schema-Version": ["2"],
    "msPKI-Certificate-Name-Flag": ["1"],
    "msPKI-Enrollment-Flag": ["0"],
    "msPKI-Private-Key-Flag": ["0"],
    "msPKI-RA-Signature": ["0"],
    "msPKI-Minimal-Key-Size": ["2048"],
    "pKIDefaultKeySpec": ["1"],
    "pKIMaxIssuingDepth": ["0"],
    "pKIKeyUsage": [b"\xa0\x00"],
    "pKICriticalExtensions": ["2.5.29.15"],
    "pKIExpirationPeriod": [TWO_YEARS],
    "pKIOverlapPeriod": [SIX_WEEKS],
    "pKIDefaultCSPs": CSPS,
}


@pytest.mark.parametrize("as_read", [dict, as_ldap3], ids=["python-values", "ldap3-raw"])
def test_build_amt_provisioning_from_webserver(as_read):
    attrs = build_template_attributes(AMT_PROVISIONING, as_read(WEBSERVER), FOREST_OID)
    assert attrs == {
        **EXPECTED_COMMON,
        "displayName": ["ConfigMgr AMT Provisioning"],
        "pKIExtendedKeyUsage": [SERVER_AUTH, AMT_OID],
        "msPKI-Certificate-Application-Policy": [SERVER_AUTH, AMT_OID],
    }


@pytest.mark.parametrize("as_read", [dict, as_ldap3], ids=["python-values", "ldap3-raw"])
def test_build_amt_web_server_from_webserver(as_read):
    attrs = build_template_attributes(AMT_WEB_SERVER, as_read(WEBSERVER), FOREST_OID)
    assert attrs == {
        **EXPECTED_COMMON,
        "displayName": ["ConfigMgr AMT Web Server Certificate"],
        "pKIExtendedKeyUsage": [SERVER_AUTH],
        "msPKI-Certificate-Application-Policy": [SERVER_AUTH],
    }
    assert flags_to_names(GENERAL_FLAGS, attrs["flags"][0]) == [
        "enrollee_supplies_subject", "machine_type", "add_template_name", "is_modified"]  # fmt: skip
    for identity in ("cn", "name", "objectGUID", "msPKI-Cert-Template-OID", "revision", "objectClass", "uSNChanged"):
        assert identity not in attrs and identity.lower() not in attrs


def test_build_then_plan_create_and_update_round_trip():
    attrs = build_template_attributes(AMT_WEB_SERVER, WEBSERVER, FOREST_OID)
    created = plan_template(attrs, None)
    stored = as_ldap3({**created["attributes"], "cn": "ConfigMgrAMTWebServer", "whenChanged": "20250101000000.0Z"})
    again = build_template_attributes(AMT_WEB_SERVER, stored, FOREST_OID)
    assert plan_template(again, stored)["changes"] == {}
    edited = build_template_attributes({**AMT_WEB_SERVER, "validity": "1 year"}, stored, "")
    plan = plan_template(edited, stored)
    assert plan["changes"] == {"pKIExpirationPeriod": {"before": [TWO_YEARS], "after": [ONE_YEAR]}}
    assert plan["modify"]["msPKI-Template-Minor-Revision"] == {"before": ["1"], "after": ["2"]}


def test_build_without_source_uses_v2_base():
    attrs = build_template_attributes({"name": "Bare"}, None, "1.2.3")
    assert attrs == {**V2_BASE, "displayName": ["Bare"], "msPKI-Template-Schema-Version": ["2"]}
    assert "msPKI-Cert-Template-OID" not in attrs


def test_build_source_without_application_policy_gets_a_copy():
    attrs = build_template_attributes({"name": "X"}, WEBSERVER, "")
    assert attrs["msPKI-Certificate-Application-Policy"] == [SERVER_AUTH]


def test_build_flag_options():
    source = {**WEBSERVER, "msPKI-Enrollment-Flag": 0x2 | 0x20, "msPKI-RA-Signature": 1}
    attrs = build_template_attributes({"name": "X", "auto_approve": True}, source, "")
    assert attrs["msPKI-Enrollment-Flag"] == ["32"] and attrs["msPKI-RA-Signature"] == ["0"]
    attrs = build_template_attributes({"name": "X", "auto_approve": False}, WEBSERVER, "")
    assert attrs["msPKI-Enrollment-Flag"] == ["2"] and attrs["msPKI-RA-Signature"] == ["0"]
    attrs = build_template_attributes({"name": "X", "enrollee_supplies_subject": False}, WEBSERVER, "")
    assert flags_to_names(NAME_FLAGS, attrs["msPKI-Certificate-Name-Flag"][0]) == [
        "subject_alt_require_dns", "subject_require_dns_as_cn"]  # fmt: skip
    assert flags_to_names(GENERAL_FLAGS, attrs["flags"][0])[0] == "machine_type"
    built_from_ad = {**WEBSERVER, "msPKI-Certificate-Name-Flag": 0x82000000, "flags": 0x10240}
    attrs = build_template_attributes({"name": "X", "enrollee_supplies_subject": True}, built_from_ad, "")
    assert attrs["msPKI-Certificate-Name-Flag"] == ["1"] and attrs["flags"] == [str(0x20241)]
    attrs = build_template_attributes(
        {"name": "X", "private_key_flags": ["exportable_key"], "name_flags": ["subject_require_directory_path"],
         "enrollment_flags": ["include_symmetric_algorithms", "publish_to_ds"]}, WEBSERVER, "")  # fmt: skip
    assert attrs["msPKI-Private-Key-Flag"] == ["16"]
    assert attrs["msPKI-Certificate-Name-Flag"] == ["-2147483648"]
    assert attrs["msPKI-Enrollment-Flag"] == ["9"]
    assert attrs["flags"] == [str(0x20240)]  # the legacy enrollee bit follows the name flag


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"schema_version": 1}, "schema_version must be 2, not 1: version 1 templates cannot be edited"),
        ({"schema_version": 3}, "not 3: Configuration Manager 2007 SP1 does not support version 3"),
        ({"schema_version": 4}, "not 4: Configuration Manager 2007 SP1 does not support version 3"),
        ({"schema_version": "2"}, "schema_version must be 2, not '2'"),
        ({"minimal_key_size": 4096, "amt": True}, "AMT cannot use keys longer than 2048 bits (minimal key size 4096)"),
        ({"minimal_key_size": 0}, "minimal_key_size must be a number of bits from 1 to 16384, not 0"),
        ({"minimal_key_size": "2048"}, "minimal_key_size must be a number of bits"),
        ({"minimal_key_size": True}, "minimal_key_size must be a number of bits"),
        ({"ekus": "server_auth"}, "ekus must be a list, not 'server_auth'"),
        ({"ekus": ["web"]}, "unknown EKU 'web'"),
        ({"key_usage": ["sign"]}, "unknown key usage 'sign'"),
        ({"enrollment_flags": ["pend"]}, "unknown flag 'pend'; valid names: include_symmetric_algorithms"),
        ({"name_flags": "enrollee_supplies_subject"}, "name_flags must be a list"),
        ({"validity": "2 months"}, "months are ambiguous"),
        ({"renewal": "2 years"}, "the renewal period (2 years) must be shorter than the validity period (2 years)"),
        ({"validity": "4 weeks"}, "the renewal period (6 weeks) must be shorter than the validity period (4 weeks)"),
        ({"auto_approve": "yes"}, "auto_approve must be true or false, not 'yes'"),
        ({"auto_approve": True, "enrollment_flags": ["pend_all_requests"]}, "auto_approve contradicts"),
        ({"enrollee_supplies_subject": True, "name_flags": []}, "enrollee_supplies_subject contradicts name_flags"),
        ({"template_oid": "1.2.3"}, "unknown template option(s) template_oid; valid: name, display_name"),
        ({"name": ""}, "the template name (cn) must be 1 to 64 characters, not ''"),
        ({"name": None}, "the template name (cn) must be 1 to 64 characters, not None"),
        ({"name": "x" * 65}, "the template name (cn) must be 1 to 64 characters"),
    ],
)
def test_build_errors(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_template_attributes({"name": "X", **spec}, WEBSERVER, FOREST_OID)


def test_build_amt_checks_the_inherited_key_size():
    with pytest.raises(ValueError, match="AMT cannot use keys longer than 2048 bits"):
        build_template_attributes({"name": "X", "amt": True}, {**WEBSERVER, "msPKI-Minimal-Key-Size": 4096}, "")
    attrs = build_template_attributes({"name": "X", "minimal_key_size": 4096, "amt": False}, WEBSERVER, "")
    assert attrs["msPKI-Minimal-Key-Size"] == ["4096"]


def test_build_checks_a_given_forest_oid():
    with pytest.raises(ValueError, match="is not a dotted-decimal OID: '.1.2'"):
        build_template_attributes({"name": "X"}, WEBSERVER, ".1.2")
