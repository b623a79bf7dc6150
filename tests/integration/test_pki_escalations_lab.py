"""ad_pki_info's escalation and enrollment checks against the lab's Samba AD, and Certipy as an independent judge.

Templates, an extra enrollment service and a low-privileged user are written with raw ldap3 (not with the project's
modules) and removed afterwards. Every name carries a random suffix: other runs share the lab.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid

import ad_pki_info
import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import Ace, SecurityDescriptor
from ansible_collections.oob.prep.plugins.module_utils.pki import checks as oob_pki_checks
from labutil import labconfig
from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE
from ldap3.protocol.formatters.formatters import format_sid
from ldap3.protocol.microsoft import security_descriptor_control

BASE = labconfig.FORESTS["lab"]["base_dn"]
PKS = f"CN=Public Key Services,CN=Services,CN=Configuration,{BASE}"
CA_DN = f"CN={labconfig.CA_NAME},CN=Enrollment Services,{PKS}"
CONN = {
    "servers": [{"host": labconfig.dc_fqdn("lab"), "address": labconfig.FORESTS["lab"]["dc_ip"]}],
    "forest_dns_name": "lab.example",
    "bind_user": "Administrator@lab.example",
    "bind_password": labconfig.ADMIN_PASSWORD,
    "ca_file": str(labconfig.dc_ca_file("lab")),
}
# [MS-CRTD] / [MS-ADA2] / [MS-ADA3] values, written out
G_ENROLL = "0e10c968-78fb-11d2-90d4-00c04f79dc55"
G_NAME_FLAG = "ea1dddc4-60ff-416e-8cc0-17cee534bce7"  # msPKI-Certificate-Name-Flag
G_DISPLAY_NAME = "bf967953-0de6-11d0-a285-00aa003049e2"  # displayName
SERVER_AUTH, CLIENT_AUTH, REQUEST_AGENT = "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.20.2.1"
SUPPLIES_SUBJECT, SUPPLIES_SAN, NO_SECURITY_EXTENSION = 0x1, 0x10000, 0x80000
DACL_ONLY = security_descriptor_control(sdflags=0x04)


def _sid(admin, sam):
    admin.search(BASE, f"(sAMAccountName={sam})", attributes=["objectSid"])
    [entry] = [e for e in admin.response if e.get("type") == "searchResEntry"]
    return format_sid(entry["raw_attributes"]["objectSid"][0])


def _ok(admin, what):
    assert admin.result["result"] == 0, f"{what}: {admin.result}"


class Lab:
    """Creates templates, enrollment services and users; removes everything it created (``cleanup``)."""

    def __init__(self, admin):
        self.admin, self.undo = admin, []
        self.site = _sid(admin, labconfig.SITE_SERVER["sam"])
        domain = self.site.rsplit("-", 1)[0]
        self.sids = {"DA": f"{domain}-512", "DU": f"{domain}-513", "DC": f"{domain}-515", "SITE": self.site,
                     "AU": "S-1-5-11", "WD": "S-1-1-0", "SY": "S-1-5-18"}  # fmt: skip

    def ace(self, kind, mask, who, object_type=None):
        return Ace({"A": 0x00, "D": 0x01, "OA": 0x05, "OD": 0x06}[kind], 0, mask, self.sids.get(who, who), object_type)

    def template(self, aces, *, name_flag=0, enrollment_flag=0, ekus=(SERVER_AUTH,), schema=2, publish=True):
        """A template with exactly these ACEs after Domain Admins' full control and Authenticated Users' read."""
        name = f"OobEsc{uuid.uuid4().hex[:10]}"
        dn = f"CN={name},CN=Certificate Templates,{PKS}"
        self.admin.add(dn, attributes={
            "objectClass": ["top", "pKICertificateTemplate"], "displayName": name, "flags": 131680, "revision": 100,
            "msPKI-Template-Schema-Version": schema, "msPKI-Template-Minor-Revision": 1,
            "msPKI-Certificate-Name-Flag": name_flag, "msPKI-Enrollment-Flag": enrollment_flag,
            "msPKI-Private-Key-Flag": 0, "msPKI-RA-Signature": 0, "msPKI-Minimal-Key-Size": 2048,
            "pKIDefaultKeySpec": 1, "pKIMaxIssuingDepth": 0, "pKIKeyUsage": bytes.fromhex("a000"),
            "pKIExpirationPeriod": bytes.fromhex("0080720e5dc2fdff"),
            "pKIOverlapPeriod": bytes.fromhex("0080a60affdeffff"),
            "msPKI-Cert-Template-OID": f"{labconfig.FOREST_OID}.{uuid.uuid4().int % 10**8}.{uuid.uuid4().int % 10**8}",
            **({"pKIExtendedKeyUsage": list(ekus), "msPKI-Certificate-Application-Policy": list(ekus)} if ekus else {}),
        })  # fmt: skip
        _ok(self.admin, f"add {dn}")
        self.undo.append(lambda: self.admin.delete(dn))
        base = [self.ace("A", 0xF01FF, "DA"), self.ace("A", 0x20094, "AU")]  # (A;;FA;;;DA)(A;;LCRPLORC;;;AU)
        self.set_dacl(dn, base + list(aces))
        if publish:
            self.publish(CA_DN, name)
        return name

    def set_dacl(self, dn, aces):
        self.admin.search(dn, "(objectClass=*)", "BASE", attributes=["nTSecurityDescriptor"], controls=DACL_ONLY)
        sd = SecurityDescriptor.from_bytes(self.admin.response[0]["raw_attributes"]["nTSecurityDescriptor"][0])
        sd.dacl = list(aces)
        self.admin.modify(dn, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [sd.to_bytes()])]}, controls=DACL_ONLY)
        _ok(self.admin, f"DACL of {dn}")

    def dacl(self, name):
        dn = f"CN={name},CN=Certificate Templates,{PKS}"
        self.admin.search(dn, "(objectClass=*)", "BASE", attributes=["nTSecurityDescriptor"], controls=DACL_ONLY)
        return SecurityDescriptor.from_bytes(self.admin.response[0]["raw_attributes"]["nTSecurityDescriptor"][0]).dacl

    def publish(self, ca_dn, name):
        self.admin.modify(ca_dn, {"certificateTemplates": [(MODIFY_ADD, [name])]})
        _ok(self.admin, f"publish {name} on {ca_dn}")
        self.undo.append(lambda: self.admin.modify(ca_dn, {"certificateTemplates": [(MODIFY_DELETE, [name])]}))

    def enrollment_service(self):
        name = f"OOBTEST-CA-{uuid.uuid4().hex[:8]}"
        dn = f"CN={name},CN=Enrollment Services,{PKS}"
        self.admin.add(dn, attributes={"objectClass": ["top", "pKIEnrollmentService"], "dNSHostName": "ca2.lab.example",
                                       "displayName": name, "flags": 10})  # fmt: skip
        _ok(self.admin, f"add {dn}")
        self.undo.append(lambda: self.admin.delete(dn))
        return name, dn

    def user(self):
        sam, password = f"oobesc{uuid.uuid4().hex[:8]}", f"Lab-Only-{uuid.uuid4().hex[:12]}-Pw1"
        dn = f"CN={sam},CN=Users,{BASE}"
        self.admin.add(dn, attributes={
            "objectClass": ["top", "person", "organizationalPerson", "user"], "sAMAccountName": sam,
            "userPrincipalName": f"{sam}@lab.example", "userAccountControl": 512,
            "unicodePwd": f'"{password}"'.encode("utf-16-le"),
        })  # fmt: skip
        _ok(self.admin, f"add {dn}")
        self.undo.append(lambda: self.admin.delete(dn))
        return sam, password, _sid(self.admin, sam)

    def cleanup(self):
        for step in reversed(self.undo):
            step()


@pytest.fixture()
def lab_objects(admin):
    objects = Lab(admin)
    yield objects
    objects.cleanup()


def info(run_module, **extra):
    args = dict(
        CONN, ca_names=[labconfig.CA_NAME], required_enrollers=["SCCM01$"], accepted_esc17_principals=["SCCM01$"]
    )
    status, result = run_module(ad_pki_info.main, dict(args, **extra))
    assert status == "exit", result
    return result, {c["id"]: c for c in result["checks"]}


def test_security_attributes_are_the_lab_schema_guids(admin):
    """The attribute GUIDs the ESC4 check relies on are the directory's own, and none is in a property set."""
    wanted = {**oob_pki_checks.SECURITY_ATTRIBUTES, oob_pki_checks.TEMPLATE_CLASS_GUID: "pKICertificateTemplate"}
    flt = "(|" + "".join(f"(lDAPDisplayName={name})" for name in wanted.values()) + ")"
    admin.search(f"CN=Schema,CN=Configuration,{BASE}", flt, attributes=["lDAPDisplayName", "schemaIDGUID",
                                                                         "attributeSecurityGUID"])  # fmt: skip
    found = {
        str(uuid.UUID(bytes_le=e["raw_attributes"]["schemaIDGUID"][0])): e["raw_attributes"]["lDAPDisplayName"][
            0
        ].decode()
        for e in admin.response
        if e.get("type") == "searchResEntry" and not e["raw_attributes"].get("attributeSecurityGUID")
    }
    assert found == wanted


def test_unmanaged_template_with_esc1_is_a_warning(run_module, lab_objects):
    L = lab_objects
    managed = L.template([L.ace("OA", 0x100, "SITE", G_ENROLL)], name_flag=SUPPLIES_SUBJECT)
    other = L.template([L.ace("OA", 0x100, "DU", G_ENROLL)], name_flag=SUPPLIES_SAN, ekus=(CLIENT_AUTH,))
    unpublished = L.template([L.ace("OA", 0x100, "DU", G_ENROLL)], name_flag=SUPPLIES_SUBJECT, ekus=(CLIENT_AUTH,),
                             publish=False)  # fmt: skip
    result, checks = info(run_module, templates=[managed])
    row = checks[f"pki.unmanaged_template.{other}.escalation"]
    assert row["status"] == "warn" and row["remedy"]
    assert row["evidence"] == (
        f"ESC1 on '{other}': {L.sids['DU']} can enroll (Enroll), the enrollee supplies the subject alternative name "
        f"and the EKUs allow client authentication (template {other} is not managed here; published on LAB-CA)"
    )
    assert [(f["rule"], f["severity"]) for f in result["unmanaged_findings"] if f["template"] == other] == [
        ("ESC1", "warn")
    ]
    assert f"pki.unmanaged_template.{unpublished}.escalation" not in checks
    assert [c["id"] for c in result["failed_checks"]] == [], result["failed_checks"]
    assert checks[f"pki.template.{managed}.enroll.SCCM01$"]["status"] == "pass"
    assert [(f["rule"], f["severity"]) for f in result["findings"]] == [("ESC17", "accepted")]


def test_object_aces_with_write_rights_are_esc4(run_module, lab_objects):
    L = lab_objects
    name = L.template([
        L.ace("OA", 0x100, "SITE", G_ENROLL),
        L.ace("OA", 0x40000, "DU", G_DISPLAY_NAME),  # (OA;;WD;<displayName>;;DU): WriteDacl, whatever the object type
        L.ace("OA", 0x20, "AU", G_NAME_FLAG),  # (OA;;WP;<msPKI-Certificate-Name-Flag>;;AU)
        L.ace("OA", 0x20, "DC", G_DISPLAY_NAME),  # (OA;;WP;<displayName>;;DC): harmless
    ])  # fmt: skip
    result, checks = info(run_module, templates=[name])
    row = checks[f"pki.template.{name}.escalation"]
    assert row["status"] == "fail"
    assert row["evidence"].startswith(
        f"ESC4 on '{name}': S-1-5-11 (WriteProperty(msPKI-Certificate-Name-Flag)) and {L.sids['DU']} (WriteDacl) can "
        "modify the template, so they can make it vulnerable"
    )
    assert L.sids["DC"] not in row["evidence"]
    assert [c["id"] for c in result["failed_checks"]] == [row["id"]]


def test_deny_enroll_makes_the_required_enroller_check_fail(run_module, lab_objects):
    L = lab_objects
    allowed = L.template([L.ace("OA", 0x100, "SITE", G_ENROLL)])
    denied = L.template([L.ace("OD", 0x100, "SITE", G_ENROLL), L.ace("OA", 0x100, "SITE", G_ENROLL)])
    group_denied = L.template([L.ace("OD", 0x100, "DC", G_ENROLL), L.ace("OA", 0x100, "SITE", G_ENROLL)])
    autoenroll_only = L.template([L.ace("OA", 0x100, "SITE", oob_pki_checks.AUTOENROLL_GUID)])
    # the DC keeps the explicit ACEs in the order they were written: the deny before the allow
    explicit = [a.to_sddl() for a in L.dacl(denied) if not a.is_inherited]
    assert explicit[-2:] == [f"(OD;;CR;{G_ENROLL};;{L.site})", f"(OA;;CR;{G_ENROLL};;{L.site})"]
    result, checks = info(run_module, templates=[allowed, denied, group_denied, autoenroll_only])
    status = {t: checks[f"pki.template.{t}.enroll.SCCM01$"]["status"] for t in (allowed, denied, group_denied,
                                                                                 autoenroll_only)}  # fmt: skip
    assert status == {allowed: "pass", denied: "fail", group_denied: "fail", autoenroll_only: "fail"}
    site, dc = L.sids["SITE"], L.sids["DC"]
    assert checks[f"pki.template.{denied}.enroll.SCCM01$"]["evidence"] == (
        f"SCCM01$ ({site}) cannot enroll on template {denied}: Enroll is denied to itself by "
        f"(OD;;CR;{G_ENROLL};;{site}), which comes before any allow"
    )
    assert checks[f"pki.template.{group_denied}.enroll.SCCM01$"]["evidence"] == (
        f"SCCM01$ ({site}) cannot enroll on template {group_denied}: Enroll is denied to its group {dc} by "
        f"(OD;;CR;{G_ENROLL};;{dc}), which comes before any allow"
    )
    assert "no ACE allows Enroll" in checks[f"pki.template.{autoenroll_only}.enroll.SCCM01$"]["evidence"]
    # every failure is listed, each naming its template and principal
    assert sorted(c["id"] for c in result["failed_checks"]) == sorted(
        f"pki.template.{t}.enroll.SCCM01$" for t in (denied, group_denied, autoenroll_only)
    )
    # the deny also removes the site server from the enrollers: no ESC17 for it on that template
    assert not [f for f in result["findings"] if f["template"] == denied]


def test_publication_is_read_from_every_enrollment_service(run_module, lab_objects):
    L = lab_objects
    ca2, ca2_dn = L.enrollment_service()
    name = L.template([L.ace("OA", 0x100, "DU", G_ENROLL)], name_flag=SUPPLIES_SUBJECT, ekus=(CLIENT_AUTH,),
                      publish=False)  # fmt: skip
    L.publish(ca2_dn, name)
    elsewhere = L.template([L.ace("OA", 0x100, "DU", G_ENROLL)], name_flag=SUPPLIES_SUBJECT, ekus=(CLIENT_AUTH,),
                           publish=False)  # fmt: skip
    L.publish(ca2_dn, elsewhere)
    result, checks = info(run_module, templates=[name], required_enrollers=[])
    published = checks[f"pki.template.{name}.published"]
    assert published["status"] == "fail"
    assert published["evidence"] == f"template {name} is published on {ca2}; not on LAB-CA"
    assert result["published_on"][name] == [ca2]
    # offered by a CA of the forest, so the enrollment rules apply
    assert checks[f"pki.template.{name}.escalation"]["evidence"].startswith(f"ESC1 on '{name}': {L.sids['DU']}")
    # only templates on the configured CAs are reported as unmanaged
    assert f"pki.unmanaged_template.{elsewhere}.escalation" not in checks


# --- Certipy as an independent judge ------------------------------------------------------------------------------
# Rules per template, for a low-privileged user (Domain Users, Authenticated Users, Everyone): what ad_pki_info reports
# and what Certipy 5 reports. Where they differ, the comment says why (see oob_pki_checks' docstring).
CASES = [
    # (key, template kwargs, ACEs as (type, mask, who, object type), ours, Certipy's)
    ("esc1", dict(name_flag=SUPPLIES_SUBJECT, ekus=(CLIENT_AUTH,)), [("OA", 0x100, "DU", G_ENROLL)],
     {"ESC1"}, {"ESC1"}),
    # Certipy looks at ENROLLEE_SUPPLIES_SUBJECT only; a SAN from the request impersonates as well
    ("esc1-san", dict(name_flag=SUPPLIES_SAN, ekus=(CLIENT_AUTH,)), [("OA", 0x100, "DU", G_ENROLL)], {"ESC1"}, set()),
    ("esc2", dict(ekus=()), [("OA", 0x100, "AU", G_ENROLL)], {"ESC2", "ESC3"}, {"ESC2", "ESC3"}),
    ("esc3", dict(ekus=(REQUEST_AGENT,)), [("A", 0x100, "DU")], {"ESC3"}, {"ESC3"}),
    ("esc9", dict(enrollment_flag=NO_SECURITY_EXTENSION, ekus=(CLIENT_AUTH,)), [("OA", 0x100, "DU", G_ENROLL)],
     {"ESC9"}, {"ESC9"}),
    ("esc4-cr", dict(), [("OA", 0x40100, "DU", G_ENROLL)], {"ESC4"}, {"ESC4"}),  # (OA;;WDCR;<Enroll>;;DU)
    ("esc4-gw", dict(), [("A", 0x20028, "AU")], {"ESC4"}, {"ESC4"}),  # GenericWrite as AD stores it
    # Certipy 5 reads object ACEs only when they carry control access
    ("esc4-object-wd", dict(), [("OA", 0x40000, "DU", G_DISPLAY_NAME)], {"ESC4"}, set()),
    ("esc4-object-wp", dict(), [("OA", 0x20, "DU", G_NAME_FLAG)], {"ESC4"}, set()),
    # Certipy 5 does not evaluate deny ACEs ("TODO: Handle DENIED ACEs")
    ("deny", dict(name_flag=SUPPLIES_SUBJECT, ekus=(CLIENT_AUTH,)),
     [("OD", 0x100, "DU", G_ENROLL), ("OA", 0x100, "DU", G_ENROLL)], set(), {"ESC1"}),
    ("esc17", dict(name_flag=SUPPLIES_SUBJECT), [("OA", 0x100, "DU", G_ENROLL)], {"ESC17"}, {"ESC17"}),
    ("esc15", dict(schema=1, name_flag=SUPPLIES_SUBJECT), [("OA", 0x100, "DU", G_ENROLL)], {"ESC15", "ESC17"},
     {"ESC15", "ESC17"}),
    ("clean", dict(name_flag=SUPPLIES_SUBJECT), [("OA", 0x100, "SITE", G_ENROLL)], set(), set()),
]  # fmt: skip


def _certipy() -> str:
    """The certipy executable: $OOB_CERTIPY, or certipy on PATH; skip when there is none or it is older than 5."""
    exe = os.environ.get("OOB_CERTIPY") or shutil.which("certipy")
    if not exe:
        pytest.skip("Certipy is not installed: pip install certipy-ad (5.x needs Python >= 3.12) in a separate venv "
                    "and set OOB_CERTIPY to its bin/certipy")  # fmt: skip
    proc = subprocess.run([exe, "-h"], capture_output=True, text=True, timeout=60)
    banner = proc.stdout + proc.stderr
    version = re.search(r"Certipy v(\d+)\.", banner)
    if not version or int(version.group(1)) < 5:
        pytest.skip(f"{exe} is not Certipy 5 ({version and version.group(0)}); the expected verdicts are Certipy 5's")
    return exe


def run_certipy(exe: str, sam: str, password: str, cwd) -> dict:
    """`certipy find` over LDAP (simple bind: Samba refuses its NTLM bind) as ``sam``; its JSON report."""
    proc = subprocess.run(
        [exe, "find", "-u", f"{sam}@lab.example", "-p", password, "-dc-ip", labconfig.FORESTS["lab"]["dc_ip"],
         "-ldap-simple-auth", "-dc-only", "-json", "-output", "certipy"],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((cwd / "certipy_Certipy.json").read_text())


def test_certipy_verdicts_match_ours(run_module, lab_objects, tmp_path):
    exe = _certipy()
    L = lab_objects
    names = {key: L.template([L.ace(*ace) for ace in aces], **kwargs) for key, kwargs, aces, _o, _c in CASES}
    sam, password, user_sid = L.user()
    report = run_certipy(exe, sam, password, tmp_path)
    theirs = {
        t["Template Name"]: set(t.get("[!] Vulnerabilities", {}))
        for t in report["Certificate Templates"].values()
        if t["Template Name"] in names.values()
    }
    result, _checks = info(run_module, templates=[])
    token = {user_sid, L.sids["DU"], L.sids["AU"], L.sids["WD"], "S-1-5-32-545"}
    ours = {name: set() for name in names.values()}
    for finding in result["unmanaged_findings"]:
        if finding["template"] in ours and token & set(finding["principals"]):
            ours[finding["template"]].add(finding["rule"])
    got = {key: (ours[names[key]], theirs.get(names[key])) for key, *_ in CASES}
    assert got == {key: (expected_ours, expected_certipy) for key, _k, _a, expected_ours, expected_certipy in CASES}


def _certipy_findings(exe, sam, password, cwd, template) -> set:
    report = run_certipy(exe, sam, password, cwd)
    [found] = [t for t in report["Certificate Templates"].values() if t["Template Name"] == template]
    return set(found.get("[!] Vulnerabilities", {}))


def test_certipy_sees_no_esc4_once_the_owner_is_fixed(run_module, lab_objects, admin, tmp_path):
    """Issue 7: a template handed to Domain Users by hand is ESC4 for Certipy; one converge of ad_cert_template
    gives it back to Enterprise Admins, and Certipy (run as a plain Domain Users member) then sees no ESC4."""
    import ad_cert_template  # noqa: PLC0415 - the module under test, imported where used

    exe = _certipy()
    sam, password, _user_sid = lab_objects.user()
    name = f"AMTOwner{uuid.uuid4().hex[:8]}"
    args = dict(CONN, name=name, source_template="WebServer", ekus=["server_auth"], enrollee_supplies_subject=True,
                enroll_principals=[labconfig.SITE_SERVER["sam"]], publish_to=[labconfig.CA_NAME])  # fmt: skip
    status, res = run_module(ad_cert_template.main, args)
    assert status == "exit", res
    dn = res["distinguished_name"]
    try:
        owner_only = security_descriptor_control(sdflags=0x01)
        admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["nTSecurityDescriptor"],
                     controls=owner_only)  # fmt: skip
        sd = SecurityDescriptor.from_bytes(admin.response[0]["raw_attributes"]["nTSecurityDescriptor"][0])
        sd.owner = lab_objects.sids["DU"]
        admin.modify(dn, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [sd.to_bytes()])]}, controls=owner_only)
        _ok(admin, "hand the template to Domain Users")
        (tmp_path / "before").mkdir()
        assert "ESC4" in _certipy_findings(exe, sam, password, tmp_path / "before", name)
        status, fix = run_module(ad_cert_template.main, args)
        assert status == "exit" and fix["owner"]["after"].endswith("-519"), fix
        (tmp_path / "after").mkdir()
        assert "ESC4" not in _certipy_findings(exe, sam, password, tmp_path / "after", name)
    finally:
        admin.modify(CA_DN, {"certificateTemplates": [(MODIFY_DELETE, [name])]})
        admin.delete(dn)
        if res.get("oid_object_created"):
            admin.delete(res["oid_object_created"])
