"""ad_cert_template and ad_pki_info: argument handling and bad input with the network refused (no I/O); ad_pki_info's
main() end to end with a fake LDAP session (pki.reader reads, pki.rows words the rows: tests of their own in
tests/unit/plugins/module_utils/pki)."""

from __future__ import annotations

import datetime
import re

import ad_cert_template
import ad_pki_info
import pytest
import yaml
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    Ace,
    SecurityDescriptor,
    sid_to_bytes,
)
from ansible_collections.oob.prep.plugins.module_utils.pki import reader as pki_reader
from ansible_collections.oob.prep.plugins.module_utils.pki.template_plan import enroll_aces
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CONN = {
    "servers": ["dc1.lab.example"],
    "forest_dns_name": "lab.example",
    "bind_user": "admin@lab.example",
    "bind_password": "s3cret-value",
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("the module tried to connect")

    monkeypatch.setattr(ad_cert_template, "connect", refuse)
    monkeypatch.setattr(ad_pki_info, "connect", refuse)
    monkeypatch.setattr(pki_reader, "connect", refuse)  # the principal_servers session is opened by the reader


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"schema_version": 3}, "version"),
        ({"schema_version": 1}, "version"),
        ({"minimal_key_size": 4096}, "2048"),
        ({"validity": "3 months"}, "month"),
        ({"validity": "soon"}, "soon"),
        ({"ekus": ["1..2"]}, "1..2"),
        ({"key_usage": ["telepathy"]}, "telepathy"),
        ({"forest_dns_name": "lab..example"}, "is not a DNS domain name"),
        ({"tls": "none"}, "allow_plain=true"),
    ],
)
def test_cert_template_bad_input_fails_before_any_io(run_module, extra, message):
    status, result = run_module(ad_cert_template.main, dict(CONN, name="AMT", **extra))
    assert status == "fail", result
    assert message in result["msg"]
    assert "s3cret-value" not in str(result)


def test_cert_template_spec_is_no_log_and_validates_tls():
    spec = ad_cert_template.argument_spec()
    assert spec["bind_password"]["no_log"] is True and spec["connection"]["options"]["bind_password"]["no_log"] is True
    assert spec["auto_approve"]["default"] is True and spec["allow_broad_enroll"]["default"] is False


def test_enroll_aces_are_read_and_enroll():
    sid = "S-1-5-21-1-2-3-1103"
    assert [a.to_sddl() for a in enroll_aces(sid)] == [
        f"(A;;LCRPLORC;;;{sid})",
        f"(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;{sid})",
    ]


def test_pki_info_requires_ca_names(run_module):
    status, result = run_module(ad_pki_info.main, dict(CONN))
    assert status == "fail" and "ca_names" in result["msg"]


# --- ad_pki_info main(): the whole read -> evaluate path, with a fake LDAP session --------------------------------

DOM = "S-1-5-21-1-2-3"
DA, DU, DC, SITE = f"{DOM}-512", f"{DOM}-513", f"{DOM}-515", f"{DOM}-1103"
ENROLL = "0e10c968-78fb-11d2-90d4-00c04f79dc55"
PKS = "CN=Public Key Services,CN=Services,CN=Configuration,DC=lab,DC=example"
SITE_ENROLL = [
    Ace(0x00, 0, 0xF01FF, DA),  # (A;;FA;;;DA)
    Ace(0x00, 0, 0x20094, "S-1-5-11"),  # (A;;LCRPLORC;;;AU)
    Ace(0x05, 0, 0x100, SITE, ENROLL),  # (OA;;CR;<Enroll>;;SITE)
]


def _ca_certificate() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LAB-CA")])
    now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.DER)


def _ca(name, templates):
    return {
        "dn": f"CN={name},CN=Enrollment Services,{PKS}",
        "attributes": {
            "cn": [name.encode()],
            "objectclass": [b"top", b"pKIEnrollmentService"],
            "dnshostname": [b"dc1.lab.example"],
            "cacertificate": [_ca_certificate()],
            "certificatetemplates": [t.encode() for t in templates],
        },
    }


def _template(name, dacl, name_flag=1, enrollment_flag=0, ekus=("1.3.6.1.5.5.7.3.1",)):
    sd = SecurityDescriptor(owner=DA, group=DA, dacl=list(dacl))
    return {
        "dn": f"CN={name},CN=Certificate Templates,{PKS}",
        "attributes": {
            "cn": [name.encode()],
            "objectclass": [b"top", b"pKICertificateTemplate"],
            "mspki-template-schema-version": [b"2"],
            "mspki-certificate-name-flag": [str(name_flag).encode()],
            "mspki-enrollment-flag": [str(enrollment_flag).encode()],
            "mspki-ra-signature": [b"0"],
            "pkiextendedkeyusage": [e.encode() for e in ekus],
            "ntsecuritydescriptor": [sd.to_bytes()],
        },
    }


class FakeSession:
    """The three kinds of search ad_pki_info makes, answered from ``entries`` and ``accounts`` {name: (SID, groups)}."""

    def __init__(self, entries, accounts):
        self.entries, self.accounts = entries, accounts
        self.calls, self.ops, self.closed = [], {"searches": 0, "writes": 0}, False

    def search(self, base, flt, attributes, scope="BASE", *, dacl_only=False, sd_flags=0):
        self.calls.append((base, flt, scope, sd_flags))
        self.ops["searches"] += 1
        if base == PKS:
            assert (flt, scope, sd_flags) == (pki_reader.PKI_FILTER, "SUBTREE", 0x5)
            return self.entries
        if base.startswith("<SID="):
            sid = base[5:-1]
            hits = [groups for s, groups in self.accounts.values() if s == sid]
            return [{"dn": base, "attributes": {"tokengroups": [sid_to_bytes(g) for g in hits[0]]}}] if hits else []
        wanted = re.findall(r"\(sAMAccountName=([^)]*)\)", flt)
        return [
            {"dn": f"CN={n},DC=lab,DC=example", "attributes": {"samaccountname": [n.encode()],
                                                               "objectsid": [sid_to_bytes(self.accounts[n][0])]}}
            for n in wanted if n in self.accounts
        ]  # fmt: skip

    def close(self):
        self.closed = True


@pytest.fixture()
def fake_ldap(monkeypatch):
    def install(entries, accounts):
        session = FakeSession(entries, accounts)
        monkeypatch.setattr(ad_pki_info, "connect", lambda servers, params: session)
        return session

    return install


def _statuses(result):
    return {c["id"]: c["status"] for c in result["checks"]}


def test_pki_info_main_all_good_and_unmanaged_templates_warn(run_module, fake_ldap):
    other_esc1 = _template("UserSAN", [Ace(0x05, 0, 0x100, DU, ENROLL)], name_flag=0x10000, ekus=["1.3.6.1.5.5.7.3.2"])
    unpublished = _template("Draft", [Ace(0x05, 0, 0x100, DU, ENROLL)], ekus=["1.3.6.1.5.5.7.3.2"])
    elsewhere = _template("Elsewhere", [Ace(0x05, 0, 0x100, DU, ENROLL)], ekus=["1.3.6.1.5.5.7.3.2"])
    session = fake_ldap(
        [_ca("LAB-CA", ["AMTWeb", "UserSAN"]), _ca("OTHER-CA", ["AMTWeb", "Elsewhere"]),
         _template("AMTWeb", SITE_ENROLL), other_esc1, unpublished, elsewhere],
        {"SCCM01$": (SITE, [DC])},
    )  # fmt: skip
    args = dict(CONN, ca_names=["LAB-CA"], templates=["AMTWeb"], required_enrollers=["SCCM01$"],
                accepted_esc17_principals=["SCCM01$"])  # fmt: skip
    status, result = run_module(ad_pki_info.main, args)
    assert status == "exit", result
    assert _statuses(result) == {
        "pki.ca.LAB-CA.enrollment_service": "pass",
        "pki.ca.LAB-CA.certificate": "pass",
        "pki.principal.SCCM01$.resolved": "pass",
        "pki.template.AMTWeb.exists": "pass",
        "pki.template.AMTWeb.published": "pass",
        "pki.template.AMTWeb.auto_approval": "pass",
        "pki.template.AMTWeb.escalation": "pass",
        "pki.template.AMTWeb.schema_version": "pass",
        "pki.template.AMTWeb.enroll.SCCM01$": "pass",
        "pki.unmanaged_template.UserSAN.escalation": "warn",  # Elsewhere and Draft are not on LAB-CA
    }
    assert result["failed_checks"] == [] and result["changed"] is False
    [warned] = result["warned_checks"]
    assert warned["evidence"] == (
        f"ESC1 on 'UserSAN': {DU} can enroll (Enroll), the enrollee supplies the subject alternative name and the EKUs "
        "allow client authentication (template UserSAN is not managed here; published on LAB-CA)"
    )
    assert warned["remedy"].startswith("review template UserSAN")
    checks = {c["id"]: c for c in result["checks"]}
    assert checks["pki.template.AMTWeb.published"]["evidence"] == "template AMTWeb is published on LAB-CA, OTHER-CA"
    assert checks["pki.template.AMTWeb.enroll.SCCM01$"]["evidence"] == (
        f"SCCM01$ ({SITE}) can enroll on template AMTWeb: Enroll allowed to itself by (OA;;CR;{ENROLL};;{SITE})"
    )
    assert [(f["rule"], f["severity"], f["principals"]) for f in result["findings"]] == [("ESC17", "accepted", [SITE])]
    assert [(f["rule"], f["severity"], f["template"]) for f in result["unmanaged_findings"]] == [
        ("ESC1", "warn", "UserSAN")
    ]
    assert result["published_on"] == {"AMTWeb": ["LAB-CA", "OTHER-CA"], "UserSAN": ["LAB-CA"]}
    assert result["principals"] == {"SCCM01$": SITE}
    # one search for the PKI objects, one for the principals, one for the site server's groups
    assert result["ldap_operations"] == {"searches": 3, "writes": 0} and session.closed
    assert session.calls[2][0] == f"<SID={SITE}>"


def test_pki_info_main_lists_every_failure(run_module, fake_ldap):
    denied = [Ace(0x06, 0, 0x100, DC, ENROLL), *SITE_ENROLL]  # (OD;;CR;<Enroll>;;DC) before the site server's allow
    writable = [*SITE_ENROLL, Ace(0x05, 0, 0x40000, DU, ENROLL)]  # (OA;;WD;<Enroll>;;DU): WriteDacl for Domain Users
    fake_ldap(
        [_ca("LAB-CA", ["Denied", "Writable"]), _template("Denied", denied), _template("Writable", writable),
         _template("Approval", SITE_ENROLL, enrollment_flag=0x2)],
        {"SCCM01$": (SITE, [DC])},
    )  # fmt: skip
    args = dict(CONN, ca_names=["LAB-CA", "NO-CA"], templates=["Denied", "Writable", "Approval", "Missing"],
                required_enrollers=["SCCM01$", "SCCM02$"], accepted_esc17_principals=["SCCM01$"])  # fmt: skip
    status, result = run_module(ad_pki_info.main, args)
    assert status == "exit", result
    failed = {c["id"]: c["evidence"] for c in result["failed_checks"]}
    assert set(failed) == {
        "pki.ca.NO-CA.enrollment_service",
        "pki.principal.SCCM02$.resolved",
        "pki.template.Denied.published",
        "pki.template.Denied.enroll.SCCM01$",
        "pki.template.Denied.enroll.SCCM02$",
        "pki.template.Writable.published",
        "pki.template.Writable.escalation",
        "pki.template.Writable.enroll.SCCM02$",
        "pki.template.Approval.published",
        "pki.template.Approval.auto_approval",
        "pki.template.Approval.enroll.SCCM02$",
        "pki.template.Missing.exists",
    }
    assert failed["pki.template.Denied.enroll.SCCM01$"] == (
        f"SCCM01$ ({SITE}) cannot enroll on template Denied: Enroll is denied to its group {DC} by "
        f"(OD;;CR;{ENROLL};;{DC}), which comes before any allow"
    )
    assert failed["pki.template.Denied.enroll.SCCM02$"].startswith(
        "SCCM02$ cannot enroll on template Denied: principal 'SCCM02$' not found in lab.example"
    )
    assert failed["pki.template.Writable.escalation"] == (
        f"ESC4 on 'Writable': {DU} can modify the template (WriteDacl), so they can make it vulnerable; ESC17 on "
        f"'Writable': {SITE} can enroll (Enroll), the enrollee supplies the subject and the EKUs include server "
        "authentication; accepted by design (only accepted principals can enroll)"
    )
    assert failed["pki.template.Denied.published"] == "template Denied is published on LAB-CA; not on NO-CA"
    assert failed["pki.template.Approval.auto_approval"] == (
        "template Approval: PEND_ALL_REQUESTS set, msPKI-RA-Signature 0"
    )
    statuses = _statuses(result)
    assert statuses["pki.ca.NO-CA.certificate"] == "skip"
    assert [statuses[f"pki.template.Missing.{c}"] for c in ("published", "auto_approval", "escalation")] == ["skip"] * 3
    assert statuses["pki.template.Missing.enroll.SCCM01$"] == "skip"
    assert all(c["remedy"] for c in result["checks"] if c["status"] != "pass")
    assert result["principals"] == {"SCCM01$": SITE}


def test_pki_info_unreadable_descriptor_is_a_failed_check(run_module, fake_ldap):
    entry = _template("AMTWeb", SITE_ENROLL)
    del entry["attributes"]["ntsecuritydescriptor"]
    fake_ldap([_ca("LAB-CA", ["AMTWeb"]), entry], {"SCCM01$": (SITE, [DC])})
    status, result = run_module(
        ad_pki_info.main, dict(CONN, ca_names=["LAB-CA"], templates=["AMTWeb"], required_enrollers=["SCCM01$"])
    )
    statuses = _statuses(result)
    assert statuses["pki.template.AMTWeb.escalation"] == "fail"
    assert statuses["pki.template.AMTWeb.enroll.SCCM01$"] == "skip"
    assert "no nTSecurityDescriptor was returned" in result["failed_checks"][0]["evidence"]


def test_pki_info_spec_and_docs_agree():
    spec = ad_pki_info.argument_spec()
    options = yaml.safe_load(ad_pki_info.DOCUMENTATION)["options"]
    own = {k: v for k, v in spec.items() if k in options}
    assert set(own) == {"ca_names", "templates", "required_enrollers", "template_enrollers",
                        "accepted_esc17_principals", "max_ca_key_bits", "warn_days"}  # fmt: skip
    for name, entry in own.items():
        assert options[name]["type"] == entry["type"], name
        assert options[name].get("elements") == entry.get("elements"), name
        assert options[name].get("default") == entry.get("default"), name
    returned = yaml.safe_load(ad_pki_info.RETURN)
    assert set(returned) == {"checks", "failed_checks", "warned_checks", "findings", "unmanaged_findings",
                             "published_on", "principals", "ldap_operations"}  # fmt: skip
