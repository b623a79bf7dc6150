from __future__ import annotations

import datetime
import functools

import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
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
from ansible_collections.oob.prep.plugins.module_utils.pki import checks as oob_pki_checks
from ansible_collections.oob.prep.plugins.module_utils.pki.checks import (
    AUTOENROLL_GUID,
    ENROLL_GUID,
    GENERIC_ALL,
    GENERIC_WRITE,
    check_ca_certificate,
    dangerous_writers,
    enroll_decision,
    enrollers,
    evaluate_escalations,
    is_admin,
    is_broad,
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
        # no EKU or Any Purpose: ESC2, and ESC3 too (Certipy 5: enrollment_agent = any_purpose or Request Agent)
        (template(ekus=[]), [enroll(DC)], DA, True, (), [("ESC2", "fail", [DC]), ("ESC3", "fail", [DC])]),
        (template(name_flag=SUPPLIES, ekus=[]), [enroll(DC)], DA, True, (),
         [("ESC1", "fail", [DC]), ("ESC2", "fail", [DC]), ("ESC3", "fail", [DC])]),
        (template(ekus=[ANY_PURPOSE]), [enroll(DC), enroll(AU)], DA, True, (),
         [("ESC2", "fail", [AU, DC]), ("ESC3", "fail", [AU, DC])]),
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
          "no EKU (valid for any purpose)",
          "ESC3 on 'X': S-1-5-11 (Enroll) and S-1-5-21-1-2-3-513 (AllExtendedRights) can enroll and the template has "
          "no EKU (valid for any purpose), which includes Certificate Request Agent, so they can request certificates "
          "on behalf of other users"]),
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
        (template(), ["(A;;GA;;;WD)"], (), "the DACL must hold ldap.security_descriptor.Ace objects, got str"),
        (template(), [], ["SCCM01$"], "invalid SID string 'SCCM01\\$'"),
    ],
)  # fmt: skip
def test_evaluate_escalations_rejects_bad_input(tpl, dacl, accepted, message):
    with pytest.raises(ValueError, match=message):
        evaluate_escalations(tpl, dacl, None, True, accepted)


# --- primary-source values, SDDL tables ---------------------------------------------------------------------------
# Values below are written out from the specifications, never taken from the code under test:
# [MS-CRTD] 2.26 msPKI-Enrollment-Flag, 2.28 msPKI-Certificate-Name-Flag; [MS-DTYP] 2.4.3 / [MS-ADTS] 5.1.3.2 access
# mask bits and 2.5.1.1 SDDL letters; [MS-CRTD] 2.5.2 / [MS-ADTS] 5.1.3.2.1 the Enroll and AutoEnroll extended
# rights; [MS-ADA2]/[MS-ADA3] schemaIDGUIDs of the template attributes; [MS-ADSC] pKICertificateTemplate.

NAME_FLAG_SAN = 0x00010000  # CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME
NO_SECURITY_EXTENSION = 0x00080000  # CT_FLAG_NO_SECURITY_EXTENSION
G_ENROLL, G_AUTOENROLL = "0e10c968-78fb-11d2-90d4-00c04f79dc55", "a05b8cc2-17bc-4802-a710-e7c15ab866a2"
G_TEMPLATE_CLASS = "e5209ca2-3bba-11d2-90cc-00c04fd91ab1"  # pKICertificateTemplate
G_NAME_FLAG = "ea1dddc4-60ff-416e-8cc0-17cee534bce7"  # msPKI-Certificate-Name-Flag
G_EKU = "18976af6-3b9e-11d2-90cc-00c04fd91ab1"  # pKIExtendedKeyUsage
G_RA_SIGNATURE = "fe17e04b-937d-4f7e-8e0e-9292c8d5683e"  # msPKI-RA-Signature
G_DISPLAY_NAME = "bf967953-0de6-11d0-a285-00aa003049e2"  # displayName: harmless
G_PUBLIC_INFORMATION = "e48d0154-bcf8-11d1-8702-00c04fb96050"  # property set of cn; no template attribute is in one

SDDL_TYPES = {"A": 0x00, "D": 0x01, "OA": 0x05, "OD": 0x06, "AU": 0x02}
SDDL_FLAGS = {"OI": 0x01, "CI": 0x02, "NP": 0x04, "IO": 0x08, "ID": 0x10}
SDDL_RIGHTS = {"CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "RP": 0x10, "WP": 0x20, "DT": 0x40, "LO": 0x80, "CR": 0x100,
               "SD": 0x10000, "RC": 0x20000, "WD": 0x40000, "WO": 0x80000, "GA": 0x10000000, "GX": 0x20000000,
               "GW": 0x40000000, "GR": 0x80000000}  # fmt: skip
SDDL_SIDS = {"WD": EVERYONE, "AU": AU, "SY": SYSTEM, "BA": "S-1-5-32-544", "BU": "S-1-5-32-545", "ED": "S-1-5-9",
             "DU": DU, "DC": DC, "DA": DA, "EA": EA, "SITE": SITE, "USER": USER}  # fmt: skip


def _sddl_ace(text):
    kind, flags, rights, object_type, inherited_object_type, sid = text.split(";")

    def letters(value, table):
        return sum(table[value[i : i + 2]] for i in range(0, len(value), 2))

    mask = int(rights, 16) if rights.startswith("0x") else letters(rights, SDDL_RIGHTS)
    return Ace(SDDL_TYPES[kind], letters(flags, SDDL_FLAGS), mask, SDDL_SIDS.get(sid, sid),
               object_type or None, inherited_object_type or None)  # fmt: skip


def sddl(text):
    """A DACL from SDDL: 'D:(A;;GA;;;DA)(OA;;CR;<guid>;;DU)'; 'D:NO_ACCESS_CONTROL' is a NULL DACL (None)."""
    assert text.startswith("D:")
    if text == "D:NO_ACCESS_CONTROL":
        return None
    return [_sddl_ace(part) for part in text[3:-1].split(")(")] if text != "D:" else []


def test_sddl_helper_agrees_with_oob_sd():
    text = f"(OA;CIIO;WPCR;{G_ENROLL};{G_TEMPLATE_CLASS};S-1-5-11)"
    expected = "(OA;CIIO;WPCR;0e10c968-78fb-11d2-90d4-00c04f79dc55;e5209ca2-3bba-11d2-90cc-00c04fd91ab1;AU)"
    assert sddl("D:" + text)[0].to_sddl() == expected
    assert sddl("D:(D;ID;0x40000;;;WD)")[0] == Ace(0x01, 0x10, 0x40000, "S-1-1-0")


def test_constants_match_the_specifications():
    assert oob_pki_checks.ENROLLEE_SUPPLIES_SUBJECT == 0x00000001
    assert oob_pki_checks.ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME == 0x00010000
    assert oob_pki_checks.PEND_ALL_REQUESTS == 0x00000002
    assert oob_pki_checks.NO_SECURITY_EXTENSION == 0x00080000
    assert (ENROLL_GUID, AUTOENROLL_GUID) == (G_ENROLL, G_AUTOENROLL)
    assert oob_pki_checks.TEMPLATE_CLASS_GUID == G_TEMPLATE_CLASS
    assert (GENERIC_ALL, GENERIC_WRITE) == (0x10000000, 0x40000000)
    assert oob_pki_checks.SECURITY_ATTRIBUTES == {
        "ea1dddc4-60ff-416e-8cc0-17cee534bce7": "msPKI-Certificate-Name-Flag",
        "d15ef7d8-f226-46db-ae79-b34e560bd12c": "msPKI-Enrollment-Flag",
        "fe17e04b-937d-4f7e-8e0e-9292c8d5683e": "msPKI-RA-Signature",
        "3c91fbbf-4773-4ccd-a87b-85d53e7bcf6a": "msPKI-RA-Application-Policies",
        "d546ae22-0951-4d47-817e-1c9f96faad46": "msPKI-RA-Policies",
        "18976af6-3b9e-11d2-90cc-00c04fd91ab1": "pKIExtendedKeyUsage",
        "dbd90548-aa37-4202-9966-8c537ba5ce32": "msPKI-Certificate-Application-Policy",
        "38942346-cc5b-424b-a7d8-6ffd12029c5f": "msPKI-Certificate-Policy",
        "0c15e9f5-491d-4594-918f-32813a091da9": "msPKI-Template-Schema-Version",
        "bf967976-0de6-11d0-a285-00aa003049e2": "flags",
    }


@pytest.mark.parametrize(
    ("dacl", "expected"),
    [
        # WriteDacl / WriteOwner in object ACEs count whatever the object type
        ("D:(OA;;WD;;;DU)", {DU: ["WriteDacl"]}),
        (f"D:(OA;;WD;{G_ENROLL};;DU)", {DU: ["WriteDacl"]}),
        (f"D:(OA;;WO;{G_DISPLAY_NAME};;DU)", {DU: ["WriteOwner"]}),
        (f"D:(OA;;CRWD;{G_ENROLL};;AU)", {AU: ["WriteDacl"]}),
        # WriteProperty: all properties (no object type, or the template class), or a security-relevant attribute
        ("D:(OA;;WP;;;DU)", {DU: ["WriteProperty"]}),
        ("D:(OA;;CRWP;;;DU)", {DU: ["WriteProperty"]}),  # what Certipy 5 reports as ESC4 for WriteProperty
        (f"D:(OA;;WP;{G_TEMPLATE_CLASS};;DU)", {DU: ["WriteProperty"]}),
        (f"D:(OA;;WP;{G_NAME_FLAG};;DU)", {DU: ["WriteProperty(msPKI-Certificate-Name-Flag)"]}),
        (f"D:(OA;;WP;{G_EKU};;USER)", {USER: ["WriteProperty(pKIExtendedKeyUsage)"]}),
        (f"D:(OA;;WP;{G_RA_SIGNATURE};;USER)(OA;;WP;{G_EKU};;USER)",
         {USER: ["WriteProperty(msPKI-RA-Signature)", "WriteProperty(pKIExtendedKeyUsage)"]}),
        (f"D:(OA;;WP;{G_DISPLAY_NAME};;DU)", {}),  # a harmless attribute
        (f"D:(OA;;WP;{G_PUBLIC_INFORMATION};;DU)", {}),  # a property set that holds no template attribute
        (f"D:(OA;;RPWP;{G_ENROLL};;DU)", {}),  # WriteProperty "on" an extended right is no property at all
        ("D:(OA;;GW;;;DU)", {DU: ["GenericWrite"]}),
        ("D:(A;;RCSWWP;;;DU)", {DU: ["WriteProperty"]}),  # GENERIC_WRITE as AD stores it (0x20028)
        (f"D:(OA;CIIO;WD;;{G_TEMPLATE_CLASS};DU)", {}),  # inherit-only
        (f"D:(OA;ID;WP;{G_NAME_FLAG};;DU)", {DU: ["WriteProperty(msPKI-Certificate-Name-Flag)"]}),  # inherited counts
        ("D:(A;;GA;;;DA)(OA;;WD;;;DA)(OA;;WP;;;SY)", {}),  # admins
        # denies: the first ACE that allows or denies a right decides, per right
        (f"D:(OD;;WP;{G_NAME_FLAG};;DU)(OA;;WP;{G_NAME_FLAG};;DU)", {}),
        (f"D:(D;;WP;;;DU)(OA;;WP;{G_NAME_FLAG};;DU)", {}),
        (f"D:(OD;;WP;{G_TEMPLATE_CLASS};;DU)(OA;;WP;{G_EKU};;DU)", {}),
        (f"D:(OD;;WP;{G_NAME_FLAG};;DU)(A;;WP;;;DU)", {DU: ["WriteProperty"]}),  # the other attributes stay writable
        ("D:(OD;;WD;;;DU)(OA;;WD;{G};;DU)".replace("{G}", G_EKU), {}),
        (f"D:(OD;;WD;{G_NAME_FLAG};;DU)(A;;WD;;;DU)", {DU: ["WriteDacl"]}),  # Windows ignores that deny for WriteDacl
        ("D:(D;;WDWO;;;DU)(A;;GA;;;DU)", {DU: ["GenericAll"]}),  # GenericAll still gives WriteProperty
        ("D:(D;;GA;;;DU)(A;;GA;;;DU)", {}),
        ("D:(A;;WD;;;DU)(D;;WD;;;DU)", {DU: ["WriteDacl"]}),  # a deny after the allow changes nothing
        ("D:(OA;ID;WO;;;AU)(OD;ID;WO;;;AU)", {AU: ["WriteOwner"]}),
        ("D:(D;;WO;;;DU)(A;;WOWD;;;AU)", {AU: ["WriteDacl", "WriteOwner"]}),  # no group expansion per SID
        ("D:NO_ACCESS_CONTROL", {EVERYONE: ["GenericAll"]}),
    ],
)  # fmt: skip
def test_dangerous_writers_object_aces_and_denies(dacl, expected):
    assert dangerous_writers(sddl(dacl), DA) == expected


@pytest.mark.parametrize(
    ("dacl", "expected"),
    [
        (f"D:(OA;;CR;{G_ENROLL};;DU)", {DU: ["Enroll"]}),
        (f"D:(OA;;CR;{G_TEMPLATE_CLASS};;DU)", {DU: ["AllExtendedRights"]}),  # the class: every extended right
        ("D:(OA;;CR;;;DU)", {DU: ["AllExtendedRights"]}),
        (f"D:(OA;;CR;{G_NAME_FLAG};;DU)", {}),  # control access for something that is no enrollment right
        (f"D:(OA;;RPWPCR;{G_ENROLL};;DU)", {DU: ["Enroll"]}),
        # Enroll/AutoEnroll/AllExtendedRights combinations with denies
        (f"D:(OD;;CR;{G_ENROLL};;DU)(OD;;CR;{G_AUTOENROLL};;DU)(A;;CR;;;DU)", {}),
        (f"D:(D;;CR;;;DU)(OA;;CR;{G_ENROLL};;DU)(OA;;CR;{G_AUTOENROLL};;DU)", {}),
        (f"D:(OD;;CR;;;DU)(OA;;CR;{G_ENROLL};;DU)", {}),
        (f"D:(OD;;CR;{G_TEMPLATE_CLASS};;DU)(A;;GA;;;DU)", {}),
        (f"D:(OD;;CR;{G_ENROLL};;DU)(OA;;CR;{G_ENROLL};;DU)(OA;;CR;{G_AUTOENROLL};;DU)", {DU: ["AutoEnroll"]}),
        (f"D:(OD;;CR;{G_AUTOENROLL};;DU)(OA;;CR;;;DU)", {DU: ["AllExtendedRights"]}),  # Enroll stays
        (f"D:(OD;;CR;{G_ENROLL};;DU)(OD;;CR;{G_AUTOENROLL};;DU)(A;;GA;;;DU)", {}),
        (f"D:(OD;;CR;{G_ENROLL};;DU)(OD;;CR;{G_AUTOENROLL};;DU)(A;;GA;;;DU)(A;;GA;;;AU)", {AU: ["GenericAll"]}),
        (f"D:(OA;;CR;{G_ENROLL};;DU)(OD;;CR;{G_ENROLL};;DU)", {DU: ["Enroll"]}),  # allow first: it stays
        (f"D:(OD;;WP;;;DU)(OA;;CR;{G_ENROLL};;DU)", {DU: ["Enroll"]}),  # a deny of other rights
        (f"D:(OD;CIIO;CR;{G_ENROLL};;DU)(OA;;CR;{G_ENROLL};;DU)", {DU: ["Enroll"]}),  # inherit-only deny: not here
    ],
)  # fmt: skip
def test_enrollers_object_aces_and_denies(dacl, expected):
    assert enrollers(sddl(dacl)) == expected


TOKEN = [SITE, DC, EVERYONE, AU]  # the site server's computer account: itself, Domain Computers, Everyone, AU


@pytest.mark.parametrize(
    ("dacl", "allowed", "sid"),
    [
        (f"D:(A;;RPLCLORC;;;AU)(OA;;CR;{G_ENROLL};;SITE)", True, SITE),
        (f"D:(OA;;CR;{G_ENROLL};;DC)", True, DC),  # through its group
        ("D:(A;;CR;;;DC)", True, DC),  # AllExtendedRights
        ("D:(A;;GA;;;SITE)", True, SITE),
        (f"D:(OA;;CR;{G_TEMPLATE_CLASS};;SITE)", True, SITE),
        (f"D:(OA;ID;CR;{G_ENROLL};;SITE)", True, SITE),  # inherited
        (f"D:(OD;;CR;{G_ENROLL};;SITE)(OA;;CR;{G_ENROLL};;SITE)", False, SITE),
        (f"D:(OD;;CR;{G_ENROLL};;DC)(OA;;CR;{G_ENROLL};;SITE)", False, DC),  # a deny for its group comes first
        (f"D:(D;;CR;;;WD)(OA;;CR;{G_ENROLL};;SITE)", False, EVERYONE),
        ("D:(D;;GA;;;AU)(A;;GA;;;SITE)", False, AU),
        (f"D:(OA;;CR;{G_ENROLL};;SITE)(OD;;CR;{G_ENROLL};;DC)", True, SITE),  # the allow comes first
        (f"D:(OD;;CR;{G_ENROLL};;USER)(OA;;CR;{G_ENROLL};;SITE)", True, SITE),  # a deny for someone else
        (f"D:(OD;;CR;{G_AUTOENROLL};;SITE)(OA;;CR;{G_ENROLL};;SITE)", True, SITE),  # AutoEnroll denied only
        (f"D:(OA;;CR;{G_AUTOENROLL};;SITE)", False, None),  # AutoEnroll alone is no Enroll
        (f"D:(OA;CIIO;CR;{G_ENROLL};;SITE)", False, None),
        (f"D:(OA;;CR;{G_ENROLL};;USER)", False, None),
        (f"D:(OD;;CR;{G_ENROLL};;DU)(OA;;CR;{G_ENROLL};;DC)", True, DC),  # Domain Users is not in a computer's token
        ("D:", False, None),
        ("D:NO_ACCESS_CONTROL", True, EVERYONE),
    ],
)  # fmt: skip
def test_enroll_decision(dacl, allowed, sid):
    decision = enroll_decision(sddl(dacl), TOKEN)
    assert (decision["allowed"], decision["sid"]) == (allowed, sid)
    assert decision["ace"] is None if sid is None else decision["ace"]


def test_enroll_decision_names_the_deciding_ace():
    decision = enroll_decision(sddl(f"D:(OD;;CR;{G_ENROLL};;DC)(OA;;CR;{G_ENROLL};;SITE)"), [SITE.lower(), DC])
    assert decision == {"allowed": False, "sid": DC, "ace": f"(OD;;CR;{G_ENROLL};;{DC})"}
    with pytest.raises(ValueError, match=r"invalid SID string 'SCCM01\$'"):
        enroll_decision([], ["SCCM01$"])


ENROLL_DU = f"D:(A;;GA;;;DA)(OA;;CR;{G_ENROLL};;DA)(A;;RPLCLORC;;;AU)(OA;;CR;{G_ENROLL};;DU)"


@pytest.mark.parametrize(
    ("tpl", "dacl", "published", "expected"),
    [
        # ESC1: the enrollee supplies the subject (0x1) or only its alternative name (0x10000)
        (template(name_flag=NAME_FLAG_SAN, ekus=[CLIENT_AUTH]), ENROLL_DU, True, [("ESC1", "fail", [DU])]),
        (template(name_flag=0x00010001, ekus=[SMART_CARD]), ENROLL_DU, True, [("ESC1", "fail", [DU])]),
        (template(name_flag=0x00400000 | 0x08000000, ekus=[CLIENT_AUTH]), ENROLL_DU, True, []),  # SAN from AD only
        (template(name_flag=NAME_FLAG_SAN, ekus=[]), ENROLL_DU, True,
         [("ESC1", "fail", [DU]), ("ESC2", "fail", [DU]), ("ESC3", "fail", [DU])]),
        (template(schema=1, name_flag=NAME_FLAG_SAN, ekus=[CODE_SIGNING]), ENROLL_DU, True, [("ESC15", "fail", [DU])]),
        (template(name_flag=NAME_FLAG_SAN, ekus=[SERVER_AUTH]), ENROLL_DU, True, [("ESC17", "fail", [DU])]),
        (template(name_flag=NAME_FLAG_SAN, ekus=[CLIENT_AUTH]), ENROLL_DU, False, []),
        # ESC9: no security extension on a client-authentication template is a warning
        (template(enrollment_flag=NO_SECURITY_EXTENSION, ekus=[CLIENT_AUTH]), ENROLL_DU, True,
         [("ESC9", "warn", [DU])]),
        (template(enrollment_flag=NO_SECURITY_EXTENSION, ekus=[]), ENROLL_DU, True,
         [("ESC2", "fail", [DU]), ("ESC3", "fail", [DU]), ("ESC9", "warn", [DU])]),
        (template(enrollment_flag=NO_SECURITY_EXTENSION, ekus=[SERVER_AUTH]), ENROLL_DU, True, []),
        (template(enrollment_flag=NO_SECURITY_EXTENSION | 0x2, ekus=[CLIENT_AUTH]), ENROLL_DU, True, []),
        (template(enrollment_flag=NO_SECURITY_EXTENSION, ekus=[CLIENT_AUTH]), ENROLL_DU, False, []),
        (template(enrollment_flag=NO_SECURITY_EXTENSION, ekus=[PKINIT]),
         f"D:(OA;;CR;{G_ENROLL};;DA)(A;;RPLCLORC;;;AU)", True, []),  # only admins can enroll
        (template(enrollment_flag=NO_SECURITY_EXTENSION, name_flag=1, ekus=[CLIENT_AUTH]), ENROLL_DU, True,
         [("ESC1", "fail", [DU]), ("ESC9", "warn", [DU])]),
        # ESC4 from object ACEs, published or not
        (template(ekus=[SERVER_AUTH]), f"D:(OA;;WD;{G_ENROLL};;DU)", False, [("ESC4", "fail", [DU])]),
        (template(ekus=[SERVER_AUTH]), f"D:(OA;;WP;{G_NAME_FLAG};;AU)", False, [("ESC4", "fail", [AU])]),
        (template(ekus=[SERVER_AUTH]), f"D:(OD;;WP;{G_NAME_FLAG};;AU)(OA;;WP;{G_NAME_FLAG};;AU)", False, []),
        # deny ACEs for Enroll
        (template(name_flag=1, ekus=[CLIENT_AUTH]), f"D:(OD;;CR;{G_ENROLL};;DU)(OD;;CR;{G_AUTOENROLL};;DU)(A;;CR;;;DU)",
         True, []),
        (template(name_flag=1, ekus=[CLIENT_AUTH]), f"D:(OD;;CR;{G_ENROLL};;DU)(A;;CR;;;DU)", True,
         [("ESC1", "fail", [DU])]),  # AutoEnroll remains: reported (errs on the side of reporting)
    ],
)  # fmt: skip
def test_evaluate_escalations_new_rules(tpl, dacl, published, expected):
    found = evaluate_escalations(tpl, sddl(dacl), DA, published)
    assert [(f["rule"], f["severity"], f["principals"]) for f in found] == expected


@pytest.mark.parametrize(
    ("tpl", "dacl", "accepted", "expected"),
    [
        (template(name_flag=1, ekus=[CLIENT_AUTH]), f"D:(OA;;CR;{G_ENROLL};;DU)(OA;;WD;;;USER)", (),
         [("ESC1", "warn", [DU]), ("ESC4", "warn", [USER])]),
        (template(name_flag=1, ekus=[SERVER_AUTH]), f"D:(OA;;CR;{G_ENROLL};;SITE)", [SITE],
         [("ESC17", "accepted", [SITE])]),
        (template(name_flag=1, ekus=[SERVER_AUTH]), f"D:(OA;;CR;{G_ENROLL};;DC)", [SITE], [("ESC17", "warn", [DC])]),
        (template(enrollment_flag=NO_SECURITY_EXTENSION, ekus=[CLIENT_AUTH]), f"D:(OA;;CR;{G_ENROLL};;DU)", (),
         [("ESC9", "warn", [DU])]),
    ],
)  # fmt: skip
def test_unmanaged_templates_only_warn(tpl, dacl, accepted, expected):
    found = evaluate_escalations(tpl, sddl(dacl), DA, True, accepted, managed=False)
    assert [(f["rule"], f["severity"], f["principals"]) for f in found] == expected


@pytest.mark.parametrize(
    ("tpl", "dacl", "reason"),
    [
        (template("X", name_flag=NAME_FLAG_SAN, ekus=[CLIENT_AUTH]), f"D:(OA;;CR;{G_ENROLL};;AU)",
         "ESC1 on 'X': S-1-5-11 can enroll (Enroll), the enrollee supplies the subject alternative name and the EKUs "
         "allow client authentication"),
        (template("X", name_flag=0x00010001, ekus=[CLIENT_AUTH]), f"D:(OA;;CR;{G_ENROLL};;AU)",
         "ESC1 on 'X': S-1-5-11 can enroll (Enroll), the enrollee supplies the subject and the subject alternative "
         "name and the EKUs allow client authentication"),
        (template("X", enrollment_flag=NO_SECURITY_EXTENSION, ekus=[CLIENT_AUTH]), f"D:(OA;;CR;{G_ENROLL};;AU)",
         "ESC9 on 'X': S-1-5-11 can enroll (Enroll), msPKI-Enrollment-Flag has NO_SECURITY_EXTENSION (0x80000) and "
         "the EKUs allow client authentication: the certificates carry no SID security extension, so where "
         "certificate mapping is weak an enrollee who can change an account's userPrincipalName or dNSHostName can "
         "authenticate as another account"),
        (template("X"), f"D:(OA;;WP;{G_NAME_FLAG};;AU)(OA;;WO;{G_DISPLAY_NAME};;AU)",
         "ESC4 on 'X': S-1-5-11 can modify the template (WriteProperty(msPKI-Certificate-Name-Flag), WriteOwner), so "
         "they can make it vulnerable"),
    ],
)  # fmt: skip
def test_new_reasons(tpl, dacl, reason):
    assert [f["reason"] for f in evaluate_escalations(tpl, sddl(dacl), None, True)] == [reason]


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
