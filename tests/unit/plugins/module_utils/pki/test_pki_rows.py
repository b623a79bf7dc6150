"""pki.rows: ad_pki_info's check rows from what pki.reader read, with no LDAP at all. Expected rows are written out;
flag values from [MS-CRTD] 2.26 (msPKI-Enrollment-Flag: CT_FLAG_PEND_ALL_REQUESTS 0x2) and 2.28
(msPKI-Certificate-Name-Flag: CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT 0x1), the Enroll extended right's GUID from
[MS-CRTD] 2.5.2. ad_pki_info's main() drives the same code end to end (tests/unit/plugins/modules)."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import Ace, SecurityDescriptor
from ansible_collections.oob.prep.plugins.module_utils.pki import rows
from ansible_collections.oob.prep.plugins.module_utils.pki.rows import (
    all_enrollers,
    enrollers_for,
    evaluate,
    template_facts,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PKS = "CN=Public Key Services,CN=Services,CN=Configuration,DC=lab,DC=example"
DOM = "S-1-5-21-1-2-3"
DA, DC, SITE, SP = f"{DOM}-512", f"{DOM}-515", f"{DOM}-1103", f"{DOM}-1104"
ENROLL = "0e10c968-78fb-11d2-90d4-00c04f79dc55"  # Certificate-Enrollment extended right [MS-CRTD] 2.5.2
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)  # noqa: UP017


def params(**extra) -> dict:
    base = {"ca_names": [], "templates": [], "required_enrollers": [], "template_enrollers": {},
            "accepted_esc17_principals": [], "max_ca_key_bits": 2048, "warn_days": 90}  # fmt: skip
    return dict(base, **extra)


def ca(name: str, templates=(), host: str | None = "ca1.lab.example", cert: bytes | None = None) -> dict:
    attrs = {"cn": [name.encode()], "objectclass": [b"top", b"pKIEnrollmentService"],
             "certificatetemplates": [t.encode() for t in templates]}  # fmt: skip
    if host:
        attrs["dnshostname"] = [host.encode()]
    if cert:
        attrs["cacertificate"] = [cert]
    return {"dn": f"CN={name},CN=Enrollment Services,{PKS}", "attributes": attrs}


def template(
    name: str, dacl=(), *, enrollment_flag=b"0", ra=b"0", name_flag=b"0", ekus=(), sd=True, schema=b"2"
) -> dict:
    attrs = {"cn": [name.encode()], "objectclass": [b"top", b"pKICertificateTemplate"],
             "mspki-template-schema-version": [schema], "mspki-enrollment-flag": [enrollment_flag],
             "mspki-ra-signature": [ra], "mspki-certificate-name-flag": [name_flag],
             "pkiextendedkeyusage": [e.encode() for e in ekus]}  # fmt: skip
    if sd:
        attrs["ntsecuritydescriptor"] = [SecurityDescriptor(owner=DA, group=DA, dacl=list(dacl)).to_bytes()]
    return {"dn": f"CN={name},CN=Certificate Templates,{PKS}", "attributes": attrs}


def state(entries, sids=None, missing=None, tokens=None) -> dict:
    return {"entries": entries, "sids": sids or {}, "missing": missing or {}, "tokens": tokens or {}}


def by_id(result: dict) -> dict:
    return {c["id"]: c for c in result["checks"]}


# --- reading a template's attributes -----------------------------------------------------------------------------


def test_pki_info_template_facts_normalise_negative_flags():
    facts = template_facts(
        "T",
        {
            "mspki-certificate-name-flag": [b"-2147483647"],  # 0x80000001 as AD stores it
            "mspki-enrollment-flag": [b"2"],
            "mspki-template-schema-version": [b"2"],
            "pkiextendedkeyusage": [b"1.3.6.1.5.5.7.3.1"],
            "mspki-certificate-application-policy": [b"2.16.840.1.113741.1.2.3"],
        },
    )
    assert facts["name_flag"] == 0x80000001 and facts["enrollment_flag"] == 2 and facts["ra_signature"] == 0
    assert facts["ekus"] == ["1.3.6.1.5.5.7.3.1", "2.16.840.1.113741.1.2.3"]


def test_template_facts_defaults_and_a_bad_integer():
    # no msPKI-Template-Schema-Version: a version 1 template (version 1 templates predate the attribute); absent flags 0
    assert template_facts("V1", {}) == {"name": "V1", "schema_version": 1, "enrollment_flag": 0, "name_flag": 0,
                                        "ra_signature": 0, "ekus": []}  # fmt: skip
    assert template_facts("T", {"mspki-enrollment-flag": [b"-2147483648"]})["enrollment_flag"] == 0x80000000
    with pytest.raises(ValueError, match=r"^msPKI-RA-Signature is not an integer: b'one'$"):
        template_facts("T", {"mspki-ra-signature": [b"one"]})


def test_who_must_enroll():
    p = params(templates=["AMTWeb", "AMTProv"], required_enrollers=["SCCM01$"],
               template_enrollers={"amtprov": "OOBSP$", "AMTWeb": ["SCCM01$", "Extra$"]})  # fmt: skip
    assert enrollers_for(p, "AMTWEB") == ["SCCM01$", "Extra$"]  # the key matches whatever its case
    assert enrollers_for(p, "AMTProv") == ["OOBSP$"]  # a single name is a list of one
    assert enrollers_for(p, "Other") == ["SCCM01$"]  # no entry: required_enrollers
    assert all_enrollers(p) == ["SCCM01$", "Extra$", "OOBSP$"]  # once each, first seen first


# --- rows ---------------------------------------------------------------------------------------------------------


def test_ca_rows_name_the_enrollment_service_and_what_is_missing():
    result = evaluate(params(ca_names=["CA1", "NOCA", "BARE"]), PKS, state([ca("CA1"), ca("BARE", host=None)]), NOW)
    d1, db = f"CN=CA1,CN=Enrollment Services,{PKS}", f"CN=BARE,CN=Enrollment Services,{PKS}"
    publish = "publish the CA certificate on the enrollment service (certutil -dspublish)"
    install = "install an enterprise CA (AD CS) with this name, or fix ca_names"
    assert result["checks"] == [
        {"id": "pki.ca.CA1.enrollment_service", "row": "enterprise_ca", "status": "pass",
         "evidence": f"CA CA1: {d1} has dNSHostName ca1.lab.example", "remedy": ""},
        {"id": "pki.ca.CA1.certificate", "row": "ca_key_length", "status": "fail",
         "evidence": f"CA CA1: {d1}: the enrollment service has no cACertificate", "remedy": publish},
        {"id": "pki.ca.NOCA.enrollment_service", "row": "enterprise_ca", "status": "fail",
         "evidence": f"CA NOCA: no enrollment service named NOCA under CN=Enrollment Services,{PKS}",
         "remedy": install},
        {"id": "pki.ca.NOCA.certificate", "row": "ca_key_length", "status": "skip",
         "evidence": "CA NOCA: no enrollment service, so no CA certificate to check (see "
                     "pki.ca.NOCA.enrollment_service)", "remedy": "see the failed check named"},
        {"id": "pki.ca.BARE.enrollment_service", "row": "enterprise_ca", "status": "fail",
         "evidence": f"CA BARE: {db} has no dNSHostName", "remedy": install},
        {"id": "pki.ca.BARE.certificate", "row": "ca_key_length", "status": "fail",
         "evidence": f"CA BARE: {db}: the enrollment service has no cACertificate", "remedy": publish},
    ]  # fmt: skip
    assert result["changed"] is False and result["published_on"] == {} and result["principals"] == {}
    assert [c["id"] for c in result["failed_checks"]] == [c["id"] for c in result["checks"] if c["status"] == "fail"]


def test_a_ca_key_longer_than_2048_bits_fails():
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LAB-CA")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
        .not_valid_before(datetime.datetime(2025, 1, 1)).not_valid_after(datetime.datetime(2030, 1, 1))
        .sign(key, hashes.SHA256())
    ).public_bytes(serialization.Encoding.DER)  # fmt: skip
    row = by_id(evaluate(params(ca_names=["CA1"]), PKS, state([ca("CA1", cert=cert)]), NOW))["pki.ca.CA1.certificate"]
    assert row["status"] == "fail"
    # 2026-01-01 to 2030-01-01: 365 + 365 + 366 (2028) + 365 days
    assert row["evidence"] == (
        "CA CA1: CN=LAB-CA: RSA 3072 bits, valid until 2030-01-01T00:00:00+00:00 (1461 days); the CA certificate has "
        "a 3072-bit RSA key; Intel AMT cannot use CA certificates with keys longer than 2048 bits"
    )
    assert row["remedy"] == (
        "issue CA CA1 a new certificate with an RSA key of at most 2048 bits (AMT cannot use longer keys) and a "
        "validity that covers the AMT certificates' lifetime"
    )


# ConfigMgr 2007 SP1: "Do not use version 3 certificate templates" for out of band management; the versions are
# msPKI-Template-Schema-Version as MS-CRTD 2.22 defines it (1 Windows 2000, 2 Server 2003, 3 Server 2008 CNG, 4 2012)
@pytest.mark.parametrize(("schema", "status"), [(b"1", "pass"), (b"2", "pass"), (b"3", "fail"), (b"4", "fail")])
def test_an_amt_template_of_schema_version_3_or_later_fails_with_configmgrs_reason(schema, status):
    entries = [ca("CA1", ["amtprov"]), template("AMTProv", schema=schema)]
    row = by_id(evaluate(params(ca_names=["CA1"], templates=["AMTProv"]), PKS, state(entries), NOW))[
        "pki.template.AMTProv.schema_version"
    ]
    assert (row["status"], row["row"]) == (status, "oob_certificates")
    assert row["evidence"].startswith(f"template AMTProv: msPKI-Template-Schema-Version {int(schema)}")
    if status == "fail":
        assert "not compatible" in row["evidence"] and "version 2 template" in row["remedy"]


def test_managed_template_rows_pending_approval_and_who_can_enroll():
    dacl = [Ace(0x00, 0, 0xF01FF, DA), Ace(0x05, 0, 0x100, SITE, ENROLL)]  # (A;;FA;;;DA)(OA;;CR;<Enroll>;;SITE)
    entries = [ca("CA1", ["amtweb"]), template("AMTWeb", dacl, enrollment_flag=b"2")]  # PEND_ALL_REQUESTS
    p = params(ca_names=["CA1"], templates=["AMTWeb"], required_enrollers=["SCCM01$"],
               template_enrollers={"AMTWeb": ["SCCM01$", "OOBSP$"]})  # fmt: skip
    st = state(entries, sids={"SCCM01$": SITE, "OOBSP$": SP},
               tokens={SITE: [SITE, DC, "S-1-1-0", "S-1-5-11"], SP: [SP, DC, "S-1-1-0", "S-1-5-11"]})  # fmt: skip
    result = evaluate(p, PKS, st, NOW)
    got = by_id(result)
    assert [(c["id"], c["status"]) for c in result["checks"][2:]] == [
        ("pki.principal.SCCM01$.resolved", "pass"),
        ("pki.principal.OOBSP$.resolved", "pass"),
        ("pki.template.AMTWeb.exists", "pass"),
        ("pki.template.AMTWeb.schema_version", "pass"),
        ("pki.template.AMTWeb.published", "pass"),
        ("pki.template.AMTWeb.auto_approval", "fail"),
        ("pki.template.AMTWeb.escalation", "pass"),
        ("pki.template.AMTWeb.enroll.SCCM01$", "pass"),
        ("pki.template.AMTWeb.enroll.OOBSP$", "fail"),
    ]
    assert got["pki.principal.OOBSP$.resolved"]["evidence"] == f"principal OOBSP$ is {SP}"
    assert (
        got["pki.template.AMTWeb.exists"]["evidence"] == f"template AMTWeb is CN=AMTWeb,CN=Certificate Templates,{PKS}"
    )
    assert got["pki.template.AMTWeb.published"]["evidence"] == "template AMTWeb is published on CA1"
    assert got["pki.template.AMTWeb.auto_approval"] == {
        "id": "pki.template.AMTWeb.auto_approval", "row": "ca_auto_approval", "status": "fail",
        "evidence": "template AMTWeb: PEND_ALL_REQUESTS set, msPKI-RA-Signature 0",
        "remedy": "clear CA manager approval and authorized signatures on template AMTWeb",
    }  # fmt: skip
    assert got["pki.template.AMTWeb.escalation"]["evidence"] == "template AMTWeb: no escalation rule applies"
    assert got["pki.template.AMTWeb.enroll.SCCM01$"]["evidence"] == (
        f"SCCM01$ ({SITE}) can enroll on template AMTWeb: Enroll allowed to itself by (OA;;CR;{ENROLL};;{SITE})"
    )
    assert got["pki.template.AMTWeb.enroll.OOBSP$"] == {
        "id": "pki.template.AMTWeb.enroll.OOBSP$", "row": "oob_certificates", "status": "fail",
        "evidence": f"OOBSP$ ({SP}) cannot enroll on template AMTWeb: no ACE allows Enroll to it or to any of its 3 "
                    "groups",
        "remedy": "grant OOBSP$ Enroll on AMTWeb and remove the deny ACEs for it and its groups",
    }  # fmt: skip
    assert result["findings"] == [] and result["published_on"] == {"AMTWeb": ["CA1"]}
    assert result["principals"] == {"SCCM01$": SITE, "OOBSP$": SP}


def test_other_templates_are_warnings_and_an_amt_template_under_another_name_is_named():
    entries = [
        ca("CA1", ["AMTWeb", "NoSD"]),
        ca("OTHER-CA", ["Elsewhere"]),
        template("AMTWeb", [Ace(0x05, 0, 0x100, SITE, ENROLL)]),
        template("NoSD", sd=False),  # on CA1, its descriptor unreadable
        template("Elsewhere", [Ace(0x05, 0, 0x100, f"{DOM}-513", ENROLL)], name_flag=b"1", ekus=["1.3.6.1.5.5.7.3.2"]),
        template("OldAMT", ekus=["2.16.840.1.113741.1.2.3"]),  # Intel AMT provisioning EKU, on no CA
    ]
    result = evaluate(params(ca_names=["CA1"], templates=["AMTWeb"]), PKS, state(entries), NOW)
    unmanaged = [c for c in result["checks"] if c["id"].startswith("pki.unmanaged_template.")]
    assert unmanaged == [
        {"id": "pki.unmanaged_template.NoSD.escalation", "row": "enterprise_ca", "status": "warn",
         "evidence": "template NoSD cannot be evaluated: no nTSecurityDescriptor was returned (the bind account needs "
                     "Read on the template) (template NoSD is not managed here; published on CA1)",
         "remedy": "review template NoSD: remove Enroll and write rights of the principals named, or unpublish it if "
                   "nothing uses it (this project does not change it)"},
        {"id": "pki.unmanaged_template.OldAMT.amt_provisioning", "row": "enterprise_ca", "status": "warn",
         "evidence": "template OldAMT carries the Intel AMT provisioning EKU (2.16.840.1.113741.1.2.3) and is not one "
                     "of the templates managed here (AMTWeb)",
         "remedy": "if OldAMT is your AMT provisioning template, reuse it: set oob_amt_templates.provisioning.name: "
                   "OldAMT in the estate; otherwise remove or unpublish it"},
    ]  # fmt: skip
    # Elsewhere trips ESC1 but only OTHER-CA offers it: not reported
    assert result["published_on"] == {"AMTWeb": ["CA1"], "NoSD": ["CA1"]} and result["unmanaged_findings"] == []
    # no managed template at all: the AMT provisioning EKU is not worth a row
    assert not any(
        c["id"].endswith(".amt_provisioning") for c in evaluate(params(), PKS, state(entries), NOW)["checks"]
    )


def test_the_row_names_are_the_seed_rows():
    assert rows.ROW_CERTIFICATES == "oob_certificates"
    assert rows.EKU_AMT_PROVISIONING == "2.16.840.1.113741.1.2.3"
