"""ad_cert_template and ad_pki_info against the lab's Samba AD: real templates, OID objects, ACEs, publication."""

from __future__ import annotations

import datetime
import uuid

import ad_cert_template
import ad_pki_info
import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    ACCESS_ALLOWED_OBJECT,
    CONTROL_ACCESS,
    Ace,
    SecurityDescriptor,
    canonical_insert,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from labutil import highest_usn, labconfig
from ldap3 import MODIFY_DELETE, MODIFY_REPLACE
from ldap3.protocol.microsoft import security_descriptor_control

PKS = "CN=Public Key Services,CN=Services,CN=Configuration,DC=lab,DC=example"
CA_DN = f"CN={labconfig.CA_NAME},CN=Enrollment Services,{PKS}"
SERVER = {"host": labconfig.dc_fqdn("lab"), "address": labconfig.FORESTS["lab"]["dc_ip"]}
ENROLL = "0e10c968-78fb-11d2-90d4-00c04f79dc55"
SD_CTL = security_descriptor_control(sdflags=0x04)
CONN = {
    "servers": [SERVER],
    "forest_dns_name": "lab.example",
    "bind_user": "Administrator@lab.example",
    "bind_password": labconfig.ADMIN_PASSWORD,
    "ca_file": str(labconfig.dc_ca_file("lab")),
}


def enroller(res) -> str:
    """The SID the module gave Enroll to (from its added_aces)."""
    return next(a for a in res["added_aces"] if a.startswith(f"(OA;;CR;{ENROLL};;")).split(";")[-1].rstrip(")")


def template_args(name, **extra):
    base = dict(
        CONN,
        name=name,
        display_name=f"ConfigMgr AMT Provisioning {name}",
        source_template="WebServer",
        ekus=["server_auth", "intel_amt_provisioning"],
        enrollee_supplies_subject=True,
        validity="2 years",
        renewal="6 weeks",
        minimal_key_size=2048,
        enroll_principals=["SCCM01$"],
        publish_to=[labconfig.CA_NAME],
    )
    base.update(extra)
    return base


def info_args(name, **extra):
    return dict(CONN, ca_names=[labconfig.CA_NAME], templates=[name], accepted_esc17_principals=["SCCM01$"], **extra)


def read(conn, dn, attrs):
    conn.search(dn, "(objectClass=*)", search_scope="BASE", attributes=attrs, controls=SD_CTL)
    return conn.response[0]["raw_attributes"] if conn.response else None


@pytest.fixture()
def template(admin):
    """A unique template name; afterwards the template, its OID object and its publication are removed."""
    name = f"AMTTest{uuid.uuid4().hex[:8]}"
    yield name
    admin.modify(CA_DN, {"certificateTemplates": [(MODIFY_DELETE, [name])]})
    dn = f"CN={name},CN=Certificate Templates,{PKS}"
    oid = (read(admin, dn, ["msPKI-Cert-Template-OID"]) or {}).get("msPKI-Cert-Template-OID", [b""])[0].decode()
    admin.delete(dn)
    if oid:
        admin.search(f"CN=OID,{PKS}", f"(msPKI-Cert-Template-OID={oid})", attributes=["cn"])
        for entry in [e for e in admin.response if e.get("type") == "searchResEntry"]:
            admin.delete(entry["dn"])


def test_converge_reads_back_documented_values_and_is_idempotent(run_module, admin, template):
    usn = highest_usn(admin)
    status, check = run_module(ad_cert_template.main, dict(template_args(template), _ansible_check_mode=True))
    assert highest_usn(admin) == usn
    status, res = run_module(ad_cert_template.main, template_args(template))
    assert status == "exit", res
    # what check mode showed is what was written, in three writes: the OID object, the template with its owner and
    # DACL (the DC's inherited ACEs were foreseen: no second DACL write), the publication
    assert res["diff"] == check["diff"] and res["ldap_operations"]["writes"] == 3
    assert res["created"] is True and res["published"] == [labconfig.CA_NAME]
    assert (
        res["oid"].startswith(labconfig.FOREST_OID + ".")
        and res["oid"].count(".") == labconfig.FOREST_OID.count(".") + 2
    )
    attrs = read(admin, res["distinguished_name"], ["*", "nTSecurityDescriptor"])
    assert attrs["msPKI-Template-Schema-Version"] == [b"2"]
    assert attrs["msPKI-Enrollment-Flag"] == [b"0"]  # no PEND_ALL_REQUESTS: auto-approval
    assert attrs["msPKI-RA-Signature"] == [b"0"]
    assert int(attrs["msPKI-Certificate-Name-Flag"][0]) & 0x1  # subject supplied in the request
    assert sorted(attrs["pKIExtendedKeyUsage"]) == [b"1.3.6.1.5.5.7.3.1", b"2.16.840.1.113741.1.2.3"]
    assert sorted(attrs["msPKI-Certificate-Application-Policy"]) == sorted(attrs["pKIExtendedKeyUsage"])
    assert attrs["pKIExpirationPeriod"] == [bytes.fromhex("0080720e5dc2fdff")]
    assert attrs["pKIOverlapPeriod"] == [bytes.fromhex("0080a60affdeffff")]
    assert attrs["pKIKeyUsage"] == [bytes.fromhex("a000")] and attrs["msPKI-Minimal-Key-Size"] == [b"2048"]
    assert attrs["revision"] == [b"100"] and attrs["msPKI-Template-Minor-Revision"] == [b"1"]
    sid = enroller(res)
    dacl = SecurityDescriptor.from_bytes(attrs["nTSecurityDescriptor"][0]).dacl
    assert Ace(ACCESS_ALLOWED_OBJECT, 0, CONTROL_ACCESS, sid, object_type=ENROLL) in dacl
    # the OID object under CN=OID
    admin.search(f"CN=OID,{PKS}", f"(msPKI-Cert-Template-OID={res['oid']})", attributes=["flags", "displayName", "cn"])
    [oid_obj] = [e for e in admin.response if e.get("type") == "searchResEntry"]
    assert oid_obj["attributes"]["flags"] == ["1"]
    assert oid_obj["attributes"]["cn"][0].startswith(res["oid"].rsplit(".", 1)[1] + ".")
    # published on the CA
    assert template.encode() in read(admin, CA_DN, ["certificateTemplates"])["certificateTemplates"]

    status, again = run_module(ad_cert_template.main, template_args(template))
    assert again["changed"] is False and again["ldap_operations"] == {"searches": 2, "writes": 0}

    status, info = run_module(ad_pki_info.main, info_args(template))
    assert info["failed_checks"] == [], info["checks"]
    assert [f["rule"] for f in info["findings"]] == ["ESC17"] and info["findings"][0]["severity"] == "accepted"
    assert info["findings"][0]["principals"] == [sid]


def test_drift_is_shown_in_check_mode_and_fixed(run_module, admin, template):
    status, res = run_module(ad_cert_template.main, template_args(template))
    dn = res["distinguished_name"]
    domain_users = res["added_aces"][0].split(";")[-1].rstrip(")").rsplit("-", 1)[0] + "-513"
    # someone sets manager approval, grants Domain Users Enroll, and unpublishes the template
    admin.modify(dn, {"msPKI-Enrollment-Flag": [(MODIFY_REPLACE, ["2"])]})
    sd = SecurityDescriptor.from_bytes(read(admin, dn, ["nTSecurityDescriptor"])["nTSecurityDescriptor"][0])
    sd.dacl = canonical_insert(sd.dacl, Ace(ACCESS_ALLOWED_OBJECT, 0, CONTROL_ACCESS, domain_users, object_type=ENROLL))
    admin.modify(dn, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [sd.to_bytes()])]}, controls=SD_CTL)
    admin.modify(CA_DN, {"certificateTemplates": [(MODIFY_DELETE, [template])]})

    status, info = run_module(ad_pki_info.main, info_args(template))
    failed = {c["id"]: c["evidence"] for c in info["failed_checks"]}
    # unpublished, the template cannot be enrolled in: the escalation rules apply again once it is published
    assert set(failed) == {f"pki.template.{template}.{c}" for c in ("published", "auto_approval")}

    usn = highest_usn(admin)
    status, check = run_module(ad_cert_template.main, dict(template_args(template), _ansible_check_mode=True))
    assert status == "exit" and check["changed"] is True
    assert check["changes"]["msPKI-Enrollment-Flag"] == {"before": ["2"], "after": ["0"]}
    assert check["removed_aces"] == [f"(OA;;CR;{ENROLL};;{domain_users})"]
    assert check["published"] == [labconfig.CA_NAME]
    assert "published on LAB-CA: yes" in check["diff"]["after"]
    assert highest_usn(admin) == usn, "check mode wrote to the directory"

    status, fix = run_module(ad_cert_template.main, template_args(template))
    assert fix["changed"] is True
    attrs = read(admin, dn, ["msPKI-Enrollment-Flag", "msPKI-Template-Minor-Revision"])
    assert attrs["msPKI-Enrollment-Flag"] == [b"0"] and attrs["msPKI-Template-Minor-Revision"] == [b"2"]
    status, info = run_module(ad_pki_info.main, info_args(template))
    assert info["failed_checks"] == []


def test_broad_enroll_is_refused_unless_overridden(run_module, admin, template):
    usn = highest_usn(admin)
    status, res = run_module(
        ad_cert_template.main, template_args(template, enroll_principals=["SCCM01$", "Domain Users"])
    )
    assert status == "fail" and res["error"] == "policy"
    assert res["msg"].startswith(f"refusing Enroll for broad group(s) Domain Users on {template}")
    assert highest_usn(admin) == usn
    status, res = run_module(
        ad_cert_template.main, template_args(template, enroll_principals=["Domain Users"], allow_broad_enroll=True)
    )
    assert status == "exit", res
    status, info = run_module(ad_pki_info.main, info_args(template))
    [esc] = [c for c in info["failed_checks"] if c["id"].endswith(".escalation")]
    assert "ESC17" in esc["evidence"] and "-513" in esc["evidence"]


def test_bad_template_input(run_module, template):
    for extra, message in [
        ({"schema_version": 3}, "version"),
        ({"minimal_key_size": 4096}, "2048"),
        ({"validity": "3 months"}, "month"),
        ({"ekus": ["not-an-eku"]}, "not-an-eku"),
        ({"publish_to": ["NO-SUCH-CA"]}, "enterprise CA(s) NO-SUCH-CA not found"),
        ({"source_template": "NoSuchTemplate"}, "source template 'NoSuchTemplate' not found"),
    ]:
        status, res = run_module(ad_cert_template.main, template_args(template, **extra))
        assert status == "fail", (extra, res)
        assert message in res["msg"], (extra, res["msg"])


def _certificate(key_size: int) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LAB-CA")])
    now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.DER)


def test_ca_with_a_4096_bit_key_fails_with_the_size(run_module, admin):
    original = read(admin, CA_DN, ["cACertificate"])["cACertificate"][0]
    admin.modify(CA_DN, {"cACertificate": [(MODIFY_REPLACE, [_certificate(4096)])]})
    try:
        status, info = run_module(ad_pki_info.main, dict(CONN, ca_names=[labconfig.CA_NAME]))
        assert status == "exit", info
        [ca] = [c for c in info["failed_checks"] if c["id"] == f"pki.ca.{labconfig.CA_NAME}.certificate"]
        assert "4096-bit RSA key" in ca["evidence"] and "2048" in ca["evidence"]
        assert ca["row"] == "ca_key_length" and ca["remedy"]
    finally:
        admin.modify(CA_DN, {"cACertificate": [(MODIFY_REPLACE, [original])]})


def test_empty_forest_oid_is_a_clear_error(run_module, admin, template):
    oid_dn = f"CN=OID,{PKS}"
    usn = highest_usn(admin)
    admin.modify(oid_dn, {"msPKI-Cert-Template-OID": [(MODIFY_DELETE, [])]})
    try:
        status, res = run_module(ad_cert_template.main, template_args(template))
        assert status == "fail" and res["error"] == "oid"
        assert res["msg"].startswith(f"the forest OID (msPKI-Cert-Template-OID on {oid_dn}) is empty")
    finally:
        admin.modify(oid_dn, {"msPKI-Cert-Template-OID": [(MODIFY_REPLACE, [labconfig.FOREST_OID])]})
    assert highest_usn(admin) == usn + 2  # our own two edits of CN=OID, nothing from the module


def _sd(admin, dn, flags=0x5):
    admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["nTSecurityDescriptor"],
                 controls=security_descriptor_control(sdflags=flags))  # fmt: skip
    return SecurityDescriptor.from_bytes(admin.response[0]["raw_attributes"]["nTSecurityDescriptor"][0])


def test_owner_set_to_domain_users_is_reported_then_fixed_once(run_module, admin, template):
    status, res = run_module(ad_cert_template.main, template_args(template))
    dn, sid = res["distinguished_name"], enroller(res)
    domain = sid.rsplit("-", 1)[0]
    assert _sd(admin, dn).owner == f"{domain}-519"  # Enterprise Admins, read back independently
    # an admin hands the template to Domain Users (RID 513): whoever is in it can rewrite the template (ESC4)
    sd = _sd(admin, dn, 0x1)
    sd.owner = f"{domain}-513"
    admin.modify(dn, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [sd.to_bytes()])]},
                 controls=security_descriptor_control(sdflags=0x1))  # fmt: skip
    status, info = run_module(ad_pki_info.main, info_args(template))
    esc4 = [f for f in info["findings"] if f["rule"] == "ESC4"]
    assert esc4 and esc4[0]["principals"] == [f"{domain}-513"] and esc4[0]["severity"] == "fail"

    usn = highest_usn(admin)
    status, check = run_module(ad_cert_template.main, dict(template_args(template), _ansible_check_mode=True))
    assert check["changed"] is True and check["owner"] == {"before": f"{domain}-513", "after": f"{domain}-519"}
    assert f"owner: {domain}-513" in check["diff"]["before"] and f"owner: {domain}-519" in check["diff"]["after"]
    assert highest_usn(admin) == usn, "check mode wrote to the directory"

    status, fix = run_module(ad_cert_template.main, template_args(template))
    assert status == "exit" and fix["changed"] is True and fix["ldap_operations"]["writes"] == 1
    assert _sd(admin, dn).owner == f"{domain}-519"
    status, again = run_module(ad_cert_template.main, template_args(template))
    assert again["changed"] is False and again["ldap_operations"] == {"searches": 2, "writes": 0}
    status, info = run_module(ad_pki_info.main, info_args(template))
    assert not [f for f in info["findings"] if f["rule"] == "ESC4"], info["findings"]


def test_stock_webserver_is_refused_and_nothing_is_written(run_module, admin):
    usn = highest_usn(admin)
    status, res = run_module(ad_cert_template.main, template_args("WebServer", source_template=None))
    assert status == "fail" and res["error"] == "stock"
    assert "WebServer is a stock template" in res["msg"] and "manage_stock_template=true" in res["msg"]
    assert highest_usn(admin) == usn


def test_deleted_oid_object_comes_back_in_one_run(run_module, admin, template):
    status, res = run_module(ad_cert_template.main, template_args(template))
    oid_dn = res["oid_object_created"]
    assert admin.delete(oid_dn)
    status, fix = run_module(ad_cert_template.main, template_args(template))
    assert fix["changed"] is True and fix["oid_object_created"] == oid_dn
    attrs = read(admin, oid_dn, ["msPKI-Cert-Template-OID", "flags", "displayName"])
    assert attrs["msPKI-Cert-Template-OID"] == [res["oid"].encode()] and attrs["flags"] == [b"1"]
    status, again = run_module(ad_cert_template.main, template_args(template))
    assert again["changed"] is False


def test_admins_lose_enroll_and_the_provisioning_subject_comes_from_ad(run_module, admin, template):
    status, res = run_module(
        ad_cert_template.main,
        template_args(template, enrollee_supplies_subject=False, enroll_principals=[labconfig.SERVICE_POINT["sam"]]),
    )
    assert status == "exit", res
    attrs = read(admin, res["distinguished_name"], ["msPKI-Certificate-Name-Flag", "flags", "nTSecurityDescriptor"])
    # [MS-CRTD] 2.28: SUBJECT_REQUIRE_DNS_AS_CN 0x10000000 | SUBJECT_ALT_REQUIRE_DNS 0x08000000, nothing supplied
    assert attrs["msPKI-Certificate-Name-Flag"] == [str(0x18000000).encode()]
    domain = enroller(res).rsplit("-", 1)[0]
    dacl = [a.to_sddl() for a in _sd(admin, res["distinguished_name"]).dacl]
    # explicit ACEs of Domain Admins keep no control access (CR); Enterprise Admins' full control is inherited from
    # the configuration partition, so an explicit deny of Enroll comes first
    assert f"(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;{domain}-512)" in dacl
    assert dacl[0] == f"(OD;;CR;{ENROLL};;{domain}-519)", dacl
    assert f"(A;CIID;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{domain}-519)" in dacl
    status, info = run_module(ad_pki_info.main, dict(info_args(template), accepted_esc17_principals=[]))
    assert info["failed_checks"] == [], info["checks"]  # subject from AD: no ESC1/ESC17, nobody but OOBSP$ enrolls


def test_per_template_enrollers_and_an_amt_template_of_another_name(run_module, admin, template):
    status, res = run_module(
        ad_cert_template.main,
        template_args(template, enrollee_supplies_subject=False, enroll_principals=[labconfig.SERVICE_POINT["sam"]]),
    )
    assert status == "exit", res
    sp, site = labconfig.SERVICE_POINT["sam"], labconfig.SITE_SERVER["sam"]
    status, info = run_module(ad_pki_info.main, dict(CONN, ca_names=[labconfig.CA_NAME], templates=[template],
                                                     template_enrollers={template: [sp, site]}))  # fmt: skip
    rows = {c["id"]: c["status"] for c in info["checks"]}
    assert rows[f"pki.template.{template}.enroll.{sp}"] == "pass"
    assert rows[f"pki.template.{template}.enroll.{site}"] == "fail"  # Enroll is the service point's only
    # managed under other names, our template is an AMT provisioning template that the estate could reuse
    status, info = run_module(ad_pki_info.main, dict(CONN, ca_names=[labconfig.CA_NAME], templates=["WebServer"]))
    [row] = [c for c in info["warned_checks"] if c["id"] == f"pki.unmanaged_template.{template}.amt_provisioning"]
    assert f"oob_amt_templates.provisioning.name: {template}" in row["remedy"]
