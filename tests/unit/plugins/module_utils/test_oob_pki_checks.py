from __future__ import annotations

import datetime
import functools

import pytest
from ansible.module_utils.oob_pki_checks import (
    AUTOENROLL_GUID,
    ENROLL_GUID,
    GENERIC_ALL,
    GENERIC_WRITE,
    check_ca_certificate,
    dangerous_writers,
    enrollers,
    evaluate_escalations,
    is_admin,
    is_broad,
)
from ansible.module_utils.oob_sd import (
    ACCESS_ALLOWED,
    ACCESS_ALLOWED_OBJECT,
    ACCESS_DENIED,
    ACCESS_DENIED_OBJECT,
    CONTAINER_INHERIT,
    CONTROL_ACCESS,
    FULL_CONTROL,
    INHERIT_ONLY,
    INHERITED,
    READ_CONTROL,
    READ_PROPERTY,
    WRITE_DAC,
    WRITE_OWNER,
    WRITE_PROPERTY,
    Ace,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

DOM = "S-1-5-21-1-2-3"
DU, DC, DA, EA = f"{DOM}-513", f"{DOM}-515", f"{DOM}-512", f"{DOM}-519"
AU, EVERYONE, SYSTEM = "S-1-5-11", "S-1-1-0", "S-1-5-18"
SITE, USER = f"{DOM}-1105", f"{DOM}-1106"  # the site server's computer account, an ordinary user
ATTR_GUID = "bf967a86-0de6-11d0-a285-00aa003049e2"  # any GUID that is neither Enroll nor AutoEnroll

SERVER_AUTH, CLIENT_AUTH, ANY_PURPOSE = "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2", "2.5.29.37.0"
REQUEST_AGENT, SMART_CARD, PKINIT = "1.3.6.1.4.1.311.20.2.1", "1.3.6.1.4.1.311.20.2.2", "1.3.6.1.5.2.3.4"
CODE_SIGNING, AMT_PROVISIONING = "1.3.6.1.5.5.7.3.3", "2.16.840.1.113741.1.2.3"
SUPPLIES, PEND = 0x1, 0x2


def enroll(sid, flags=0, guid=ENROLL_GUID, ace_type=ACCESS_ALLOWED_OBJECT):
    return Ace(ace_type, flags, CONTROL_ACCESS, sid, object_type=guid)


def allow(sid, mask, flags=0):
    return Ace(ACCESS_ALLOWED, flags, mask, sid)


def read(sid):
    return allow(sid, READ_PROPERTY | READ_CONTROL)


# What a template duplicated from "Web Server" carries: admins full control + Enroll, Authenticated Users read
WEB_SERVER_ACL = [allow(DA, FULL_CONTROL), allow(EA, FULL_CONTROL), enroll(DA), enroll(EA), read(AU)]


def template(name="T", schema=2, enrollment_flag=0, name_flag=0, ra=0, ekus=()):
    return {"name": name, "schema_version": schema, "enrollment_flag": enrollment_flag, "name_flag": name_flag,
            "ra_signature": ra, "ekus": list(ekus)}  # fmt: skip


@pytest.mark.parametrize(
    ("sid", "broad", "admin"),
    [
        (EVERYONE, True, False), (AU, True, False), ("S-1-5-32-545", True, False), (DU, True, False),
        (DC, True, False), ("s-1-5-21-9-8-7-515", True, False), (DA, False, True), (EA, False, True),
        (f"{DOM}-516", False, True), (f"{DOM}-498", False, True), (SYSTEM, False, True), ("S-1-5-9", False, True),
        ("S-1-5-32-544", False, True), (SITE, False, False), (USER, False, False),
        ("S-1-5-21-1-2-513", False, False),  # too few sub-authorities for a domain SID
        ("S-1-5-32-513", False, False), ("not a sid", False, False), (None, False, False),
    ],
)  # fmt: skip
def test_principal_classes(sid, broad, admin):
    assert is_broad(sid) is broad
    assert is_admin(sid) is admin


@pytest.mark.parametrize(
    ("dacl", "expected"),
    [
        ([enroll(DU)], {DU: ["Enroll"]}),
        ([enroll(DU, guid=AUTOENROLL_GUID)], {DU: ["AutoEnroll"]}),
        ([enroll(DU), enroll(DU, guid=AUTOENROLL_GUID)], {DU: ["Enroll", "AutoEnroll"]}),
        ([allow(AU, GENERIC_ALL)], {AU: ["GenericAll"]}),
        ([allow(AU, FULL_CONTROL)], {AU: ["FullControl"]}),
        ([allow(AU, CONTROL_ACCESS)], {AU: ["AllExtendedRights"]}),
        ([Ace(ACCESS_ALLOWED_OBJECT, 0, CONTROL_ACCESS, AU)], {AU: ["AllExtendedRights"]}),
        ([enroll(DU, flags=INHERITED)], {DU: ["Enroll"]}),
        ([enroll(DU, flags=CONTAINER_INHERIT | INHERIT_ONLY)], {}),
        ([enroll(DU, guid=ATTR_GUID)], {}),
        ([read(DU), allow(DU, GENERIC_WRITE)], {}),
        ([Ace(ACCESS_ALLOWED_OBJECT, 0, READ_PROPERTY, DU, object_type=ENROLL_GUID)], {}),
        # an explicit deny comes first and wins over explicit and inherited allows
        ([enroll(DU, ace_type=ACCESS_DENIED_OBJECT), enroll(DU), enroll(DU, flags=INHERITED)], {}),
        ([Ace(ACCESS_DENIED, 0, CONTROL_ACCESS, DU), enroll(DU), enroll(DU, guid=AUTOENROLL_GUID)], {}),
        # denying Enroll leaves AutoEnroll, which is still reported
        ([enroll(DU, ace_type=ACCESS_DENIED_OBJECT), allow(DU, CONTROL_ACCESS)], {DU: ["AllExtendedRights"]}),
        # an explicit allow precedes an inherited deny: the allow wins, as in Windows' access check
        ([enroll(SITE), enroll(SITE, flags=INHERITED, ace_type=ACCESS_DENIED_OBJECT)], {SITE: ["Enroll"]}),
        # no group expansion: a deny for Domain Users does not remove Authenticated Users
        ([enroll(DU, ace_type=ACCESS_DENIED_OBJECT), enroll(AU)], {AU: ["Enroll"]}),
        (WEB_SERVER_ACL, {DA: ["FullControl", "Enroll"], EA: ["FullControl", "Enroll"]}),
        (None, {EVERYONE: ["GenericAll"]}),  # a NULL DACL grants everything to everyone
        ([], {}),
    ],
)  # fmt: skip
def test_enrollers(dacl, expected):
    assert enrollers(dacl) == expected


@pytest.mark.parametrize(
    ("dacl", "owner", "expected"),
    [
        ([allow(AU, GENERIC_WRITE)], None, {AU: ["GenericWrite"]}),
        ([allow(DA, GENERIC_ALL), allow(DA, GENERIC_WRITE)], DA, {}),
        ([allow(SYSTEM, FULL_CONTROL), allow("S-1-5-32-544", FULL_CONTROL), allow("S-1-5-9", WRITE_DAC)], SYSTEM, {}),
        ([allow(USER, GENERIC_ALL)], None, {USER: ["GenericAll"]}),
        ([allow(USER, FULL_CONTROL)], None, {USER: ["FullControl"]}),
        ([allow(USER, WRITE_DAC | WRITE_OWNER)], None, {USER: ["WriteDacl", "WriteOwner"]}),
        ([allow(USER, WRITE_PROPERTY)], None, {USER: ["WriteProperty"]}),
        ([Ace(ACCESS_ALLOWED_OBJECT, 0, WRITE_PROPERTY, USER)], None, {USER: ["WriteProperty"]}),
        ([Ace(ACCESS_ALLOWED_OBJECT, 0, WRITE_PROPERTY, USER, object_type=ATTR_GUID)], None, {}),
        ([allow(USER, WRITE_DAC, flags=CONTAINER_INHERIT | INHERIT_ONLY)], None, {}),
        ([Ace(ACCESS_DENIED, 0, WRITE_PROPERTY, AU), allow(AU, GENERIC_WRITE)], None, {}),
        (WEB_SERVER_ACL + [enroll(SITE), read(SITE)], DA, {}),
        ([], USER, {USER: ["Owner"]}),
        ([allow(USER, GENERIC_WRITE)], USER, {USER: ["GenericWrite", "Owner"]}),
        ([], None, {}),
    ],
)  # fmt: skip
def test_dangerous_writers(dacl, owner, expected):
    assert dangerous_writers(dacl, owner) == expected


ESC1_TEMPLATE = template(name_flag=SUPPLIES, ekus=[CLIENT_AUTH])
AMT_WEB = template("AMTWeb", name_flag=SUPPLIES, ekus=[SERVER_AUTH])


@pytest.mark.parametrize(
    ("tpl", "dacl", "owner", "published", "accepted", "expected"),
    [
        (ESC1_TEMPLATE, [enroll(DU)], DA, True, (), [("ESC1", "fail", [DU])]),
        (template(name_flag=SUPPLIES, enrollment_flag=PEND, ekus=[CLIENT_AUTH]), [enroll(DU)], DA, True, (), []),
        (template(name_flag=SUPPLIES, ra=1, ekus=[CLIENT_AUTH]), [enroll(DU)], DA, True, (), []),
        (ESC1_TEMPLATE, [enroll(DU)], DA, False, (), []),
        (ESC1_TEMPLATE, [enroll(DU), allow(AU, GENERIC_WRITE)], DA, False, (), [("ESC4", "fail", [AU])]),
        (ESC1_TEMPLATE, WEB_SERVER_ACL, DA, True, (), []),  # only admins can enroll or write
        (ESC1_TEMPLATE, [Ace(ACCESS_DENIED_OBJECT, 0, CONTROL_ACCESS, DU, object_type=ENROLL_GUID), enroll(DU)],
         DA, True, (), []),
        (template(name_flag=SUPPLIES, ekus=[SMART_CARD]), [enroll(USER)], DA, True, (), [("ESC1", "fail", [USER])]),
        (template(name_flag=SUPPLIES, ekus=[PKINIT]), [enroll(USER)], DA, True, (), [("ESC1", "fail", [USER])]),
        (template(ekus=[]), [enroll(DC)], DA, True, (), [("ESC2", "fail", [DC])]),
        (template(name_flag=SUPPLIES, ekus=[]), [enroll(DC)], DA, True, (),
         [("ESC1", "fail", [DC]), ("ESC2", "fail", [DC])]),
        (template(ekus=[ANY_PURPOSE]), [enroll(DC), enroll(AU)], DA, True, (), [("ESC2", "fail", [AU, DC])]),
        (template(ekus=[REQUEST_AGENT]), [enroll(DU)], DA, True, (), [("ESC3", "fail", [DU])]),
        (template(ekus=[CLIENT_AUTH]), [enroll(DU), allow(AU, GENERIC_WRITE)], DA, True, (),
         [("ESC4", "fail", [AU])]),
        (template(ekus=[CLIENT_AUTH]), [allow(DA, GENERIC_WRITE)], DA, True, (), []),
        (template(ekus=[CLIENT_AUTH]), [], USER, True, (), [("ESC4", "fail", [USER])]),
        (template(schema=1, name_flag=SUPPLIES, ekus=[CODE_SIGNING]), [enroll(USER)], DA, True, (),
         [("ESC15", "fail", [USER])]),
        (template(schema=2, name_flag=SUPPLIES, ekus=[CODE_SIGNING]), [enroll(USER)], DA, True, (), []),
        (AMT_WEB, WEB_SERVER_ACL + [read(SITE), enroll(SITE)], DA, True, [SITE], [("ESC17", "accepted", [SITE])]),
        (AMT_WEB, WEB_SERVER_ACL + [enroll(SITE), enroll(DC)], DA, True, [SITE], [("ESC17", "fail", [DC])]),
        (AMT_WEB, [enroll(SITE), enroll(DC)], DA, True, [SITE, DC], [("ESC17", "fail", [DC])]),  # broad: never ok
        (AMT_WEB, [enroll(SITE), enroll(USER)], DA, True, [SITE], [("ESC17", "fail", [USER])]),
        (AMT_WEB, [enroll(SITE)], DA, True, [], [("ESC17", "fail", [SITE])]),
        (AMT_WEB, [enroll(SITE)], DA, False, [], []),
        (template("AMTProv", ekus=[SERVER_AUTH, AMT_PROVISIONING]), [enroll(SITE)], DA, True, [SITE], []),
        (template(schema=1, name_flag=SUPPLIES, ekus=[SERVER_AUTH]), [enroll(SITE)], DA, True, [SITE],
         [("ESC15", "fail", [SITE]), ("ESC17", "accepted", [SITE])]),
    ],
)  # fmt: skip
def test_evaluate_escalations(tpl, dacl, owner, published, accepted, expected):
    found = evaluate_escalations(tpl, dacl, owner, published, accepted)
    assert [(f["rule"], f["severity"], f["principals"]) for f in found] == expected
    assert all(f["template"] == tpl["name"] and f["reason"].startswith(f"{f['rule']} on ") for f in found)


@pytest.mark.parametrize(
    ("tpl", "dacl", "owner", "accepted", "reasons"),
    [
        (template("X", name_flag=SUPPLIES, ekus=[CLIENT_AUTH]), [enroll(AU)], None, (),
         ["ESC1 on 'X': S-1-5-11 can enroll (Enroll), the enrollee supplies the subject and the EKUs allow client "
          "authentication"]),
        (template("X", ekus=[]), [enroll(AU), allow(DU, CONTROL_ACCESS)], None, (),
         ["ESC2 on 'X': S-1-5-11 (Enroll) and S-1-5-21-1-2-3-513 (AllExtendedRights) can enroll and the template has "
          "no EKU (valid for any purpose)"]),
        (template("X", ekus=[REQUEST_AGENT]), [enroll(USER)], None, (),
         ["ESC3 on 'X': S-1-5-21-1-2-3-1106 can enroll (Enroll) and the EKUs include Certificate Request Agent, so "
          "they can request certificates on behalf of other users"]),
        (template("X"), [allow(AU, GENERIC_WRITE)], USER, (),
         ["ESC4 on 'X': S-1-5-11 (GenericWrite) and S-1-5-21-1-2-3-1106 (Owner) can modify the template, so they "
          "can make it vulnerable"]),
        (template("X", schema=1, name_flag=SUPPLIES, ekus=[CODE_SIGNING]), [enroll(USER)], None, (),
         ["ESC15 on 'X': S-1-5-21-1-2-3-1106 can enroll (Enroll) and the enrollee supplies the subject on a schema "
          "version 1 template (application policies in the request are honoured)"]),
        (template("AMTWeb", name_flag=SUPPLIES, ekus=[SERVER_AUTH]), [enroll(SITE)], None, [SITE],
         ["ESC17 on 'AMTWeb': S-1-5-21-1-2-3-1105 can enroll (Enroll), the enrollee supplies the subject and the "
          "EKUs include server authentication; accepted by design (only accepted principals can enroll)"]),
        (template("AMTWeb", name_flag=SUPPLIES, ekus=[SERVER_AUTH]), [enroll(SITE), enroll(DC), enroll(USER)], None,
         [SITE],
         ["ESC17 on 'AMTWeb': S-1-5-21-1-2-3-1105 (Enroll), S-1-5-21-1-2-3-1106 (Enroll) and S-1-5-21-1-2-3-515 "
          "(Enroll) can enroll, the enrollee supplies the subject and the EKUs include server authentication; not "
          "accepted: S-1-5-21-1-2-3-1106 (not accepted), S-1-5-21-1-2-3-515 (broad group)"]),
    ],
)  # fmt: skip
def test_reasons(tpl, dacl, owner, accepted, reasons):
    assert [f["reason"] for f in evaluate_escalations(tpl, dacl, owner, True, accepted)] == reasons


@pytest.mark.parametrize(
    ("tpl", "dacl", "accepted", "message"),
    [
        ({"name": "X"}, [], (), "template is missing schema_version, enrollment_flag, name_flag, ra_signature, ekus"),
        ("X", [], (), "template must be a dict"),
        ({**template(), "name": ""}, [], (), "template name must be a non-empty string"),
        ({**template(), "name_flag": "1"}, [], (), "name_flag must be an integer"),
        ({**template(), "ra_signature": True}, [], (), "ra_signature must be an integer"),
        ({**template(), "ekus": SERVER_AUTH}, [], (), "ekus must be a list of OID strings"),
        ({**template(), "ekus": [b"1.2.3"]}, [], (), "ekus must be a list of OID strings"),
        (template(), ["(A;;GA;;;WD)"], (), "the DACL must hold oob_sd.Ace objects, got str"),
        (template(), [], ["SCCM01$"], "invalid SID string 'SCCM01\\$'"),
    ],
)  # fmt: skip
def test_evaluate_escalations_rejects_bad_input(tpl, dacl, accepted, message):
    with pytest.raises(ValueError, match=message):
        evaluate_escalations(tpl, dacl, None, True, accepted)


# --- CA certificate ---------------------------------------------------------------------------------------------

NOW = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "example"),
        x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "lab"),
        x509.NameAttribute(NameOID.COMMON_NAME, "LAB-CA"),
    ]
)


@functools.cache
def key(kind):
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    return ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else ed25519.Ed25519PrivateKey.generate()


def ca_cert(kind="rsa2048", not_before=NOW - 365 * DAY, not_after=NOW + 1825 * DAY):
    private = key(kind)
    builder = (x509.CertificateBuilder().subject_name(CA_NAME).issuer_name(CA_NAME).public_key(private.public_key())
               .serial_number(1).not_valid_before(not_before).not_valid_after(not_after))  # fmt: skip
    cert = builder.sign(private, None if kind == "ed25519" else hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.DER)


AMT_LIMIT = "Intel AMT cannot use CA certificates with keys longer than 2048 bits"


@pytest.mark.parametrize(
    ("der", "status", "key_type", "bits", "days_left", "problems"),
    [
        (ca_cert(), "pass", "RSA", 2048, 1825, []),
        (ca_cert("rsa4096"), "fail", "RSA", 4096, 1825, [f"the CA certificate has a 4096-bit RSA key; {AMT_LIMIT}"]),
        (ca_cert("ec"), "fail", "EC", 256, 1825,
         ["the CA certificate's key is EC (256 bits); Intel AMT needs an RSA CA key of at most 2048 bits"]),
        (ca_cert("ed25519"), "fail", "Ed25519", 256, 1825,
         ["the CA certificate's key is Ed25519 (256 bits); Intel AMT needs an RSA CA key of at most 2048 bits"]),
        (ca_cert(not_after=NOW - 10 * DAY), "fail", "RSA", 2048, -10,
         ["the CA certificate expired on 2025-05-22T12:00:00+00:00"]),
        (ca_cert(not_before=NOW + DAY), "fail", "RSA", 2048, 1825,
         ["the CA certificate is not valid before 2025-06-02T12:00:00+00:00"]),
        (ca_cert(not_after=NOW + 30 * DAY), "warn", "RSA", 2048, 30,
         ["the CA certificate expires in 30 days (on 2025-07-01T12:00:00+00:00), fewer than 90"]),
        (ca_cert("rsa4096", not_after=NOW + 30 * DAY), "fail", "RSA", 4096, 30,
         [f"the CA certificate has a 4096-bit RSA key; {AMT_LIMIT}",
          "the CA certificate expires in 30 days (on 2025-07-01T12:00:00+00:00), fewer than 90"]),
    ],
)  # fmt: skip
def test_check_ca_certificate(der, status, key_type, bits, days_left, problems):
    result = check_ca_certificate(der, NOW)
    assert result["status"] == status
    assert (result["key_type"], result["key_bits"], result["days_left"]) == (key_type, bits, days_left)
    assert result["problems"] == problems
    assert result["subject"] == "CN=LAB-CA,DC=lab,DC=example"


def test_check_ca_certificate_fields_and_limits():
    result = check_ca_certificate(ca_cert("rsa4096"), NOW.replace(tzinfo=None), max_key_bits=4096, warn_days=2000)
    assert result == {"status": "warn", "subject": "CN=LAB-CA,DC=lab,DC=example", "key_type": "RSA",
                      "key_bits": 4096, "not_after": "2030-05-31T12:00:00+00:00", "days_left": 1825,
                      "problems": ["the CA certificate expires in 1825 days (on 2030-05-31T12:00:00+00:00), fewer than "
                                   "2000"]}  # fmt: skip


@pytest.mark.parametrize(
    "der", [b"", b"garbage", b"\x30\x03\x02\x01\x01", b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"]
)
def test_check_ca_certificate_rejects_garbage(der):
    with pytest.raises(ValueError, match="^cACertificate is not a DER X.509 certificate: "):
        check_ca_certificate(der, NOW)


def test_check_ca_certificate_rejects_bad_now():
    with pytest.raises(ValueError, match="now must be a datetime"):
        check_ca_certificate(ca_cert(), "2025-06-01")
