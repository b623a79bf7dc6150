"""ad_cert_template's main(): success, check mode and diff, on an in-memory directory loaded with objects captured from
the lab's Samba AD (fakedc). Expected values are written out from their sources: [MS-CRTD] flag values, the
period bytes of domain-facts (2 years = 00 80 72 0E 5D C2 FD FF), SDDL rights letters of [MS-DTYP] 2.5.1.1."""

from __future__ import annotations

import ad_cert_template
import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    ACCESS_ALLOWED,
    Ace,
    sid_from_bytes,
)
from fakedc import PKS, FakeDC, captured

CA_DN = f"CN=LAB-CA,CN=Enrollment Services,{PKS}"
NAME = "ConfigMgrAMTWebServer"
DN = f"CN={NAME},CN=Certificate Templates,{PKS}"


def _sid(dn_start: str) -> str:
    return sid_from_bytes(next(o for o in captured() if o["dn"].startswith(dn_start))["attributes"]["objectSid"][0])[0]


DOMAIN_SID, SCCM01 = _sid("DC=lab,DC=example"), _sid("CN=SCCM01,")
ENROLL = "0e10c968-78fb-11d2-90d4-00c04f79dc55"  # [MS-CRTD] 3.1.2.1.1, Certificate-Enrollment extended right


def args(**extra):
    base = dict(
        servers=["dc1.lab.example"],
        forest_dns_name="lab.example",
        bind_user="Administrator@lab.example",
        bind_password="s3cret-value",
        name=NAME,
        display_name="ConfigMgr AMT Web Server Certificate",
        source_template="WebServer",
        ekus=["server_auth"],
        enrollee_supplies_subject=True,
        validity="2 years",
        renewal="6 weeks",
        minimal_key_size=2048,
        enroll_principals=["SCCM01$"],
        publish_to=["LAB-CA"],
    )
    return dict(base, **extra)


@pytest.fixture()
def dc(monkeypatch):
    directory = FakeDC()
    monkeypatch.setattr(ad_cert_template, "connect", directory.connect)
    return directory


def _text(values):
    return [v.hex() if not v.isascii() else v.decode() for v in values]


def test_check_mode_plans_the_create_and_writes_nothing(run_module, dc):
    before = dc.snapshot()
    status, res = run_module(ad_cert_template.main, dict(args(), _ansible_check_mode=True, _ansible_diff=True))
    assert status == "exit", res
    assert res["changed"] is True and res["created"] is True and res["published"] == ["LAB-CA"]
    assert res["ldap_operations"] == {"searches": 2, "writes": 0}
    assert dc.snapshot() == before
    after = res["diff"]["after"]
    assert f"template {DN}:" in after and "published on LAB-CA: yes" in after
    assert f"owner: {DOMAIN_SID}-519" in after  # Enterprise Admins of the forest root ([MS-DTYP] 2.4.2.4: RID 519)
    assert res["diff"]["before"].startswith(f"OID object CN={res['oid'].rsplit('.', 1)[1]}.")


def test_create_writes_exactly_what_check_mode_showed(run_module, dc):
    _s, check = run_module(ad_cert_template.main, dict(args(), _ansible_check_mode=True))
    status, res = run_module(ad_cert_template.main, args())
    assert status == "exit", res
    assert res["diff"] == check["diff"] and res["oid"] == check["oid"]
    stored = dc.entry(DN)
    # every attribute line of the check-mode diff is what the directory now holds
    lines = [line.strip() for line in check["diff"]["after"].splitlines() if line.startswith("  ") and ": [" in line]
    assert len(lines) > 15
    for line in lines:
        attr, values = line.split(": ", 1)
        assert sorted(_text(stored[attr.lower()])) == sorted(eval(values)), attr  # noqa: S307 - our own repr of lists
    # documented values ([MS-CRTD] 2.4 flags; 0x10000 CT_FLAG_IS_DEFAULT cleared, 0x20000 IS_MODIFIED set on 66113)
    assert stored["flags"] == [b"131649"] and stored["mspki-template-schema-version"] == [b"2"]
    assert stored["mspki-enrollment-flag"] == [b"0"] and stored["mspki-ra-signature"] == [b"0"]
    assert stored["pkiexpirationperiod"] == [bytes.fromhex("0080720e5dc2fdff")]
    sd = dc.sd(DN)
    assert sd.owner == f"{DOMAIN_SID}-519"
    explicit = [a.to_sddl() for a in sd.dacl if not a.is_inherited]
    assert f"(A;;LCRPLORC;;;{SCCM01})" in explicit and f"(OA;;CR;{ENROLL};;{SCCM01})" in explicit
    # Domain Admins keep full control but Enroll (CR): CC DC LC SW RP WP DT LO SD RC WD WO
    assert f"(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;{DOMAIN_SID}-512)" in explicit
    oid_obj = dc.entry(res["oid_object_created"])
    assert oid_obj["mspki-cert-template-oid"] == [res["oid"].encode()] and oid_obj["flags"] == [b"1"]
    assert NAME.encode() in dc.entry(CA_DN)["certificatetemplates"]
    # and the next run changes nothing, in two searches
    status, again = run_module(ad_cert_template.main, args())
    assert again["changed"] is False and again["ldap_operations"] == {"searches": 2, "writes": 0}


def test_owner_drift_is_shown_then_fixed_with_a_revision_bump(run_module, dc):
    run_module(ad_cert_template.main, args())
    sd = dc.sd(DN)
    sd.owner = f"{DOMAIN_SID}-513"  # Domain Users (RID 513)
    dc.conn.modify(DN, {"nTSecurityDescriptor": [("MODIFY_REPLACE", [sd.to_bytes()])]})
    _s, check = run_module(ad_cert_template.main, dict(args(), _ansible_check_mode=True))
    assert check["changed"] is True and check["owner"] == {"before": f"{DOMAIN_SID}-513", "after": f"{DOMAIN_SID}-519"}
    assert f"owner: {DOMAIN_SID}-513" in check["diff"]["before"]
    _s, fix = run_module(ad_cert_template.main, args())
    assert fix["changed"] is True and dc.sd(DN).owner == f"{DOMAIN_SID}-519"
    assert dc.entry(DN)["mspki-template-minor-revision"] == [b"2"]
    _s, again = run_module(ad_cert_template.main, args())
    assert again["changed"] is False


def test_broad_group_keeps_read_when_its_full_control_is_taken(run_module, dc):
    run_module(ad_cert_template.main, args())
    sd = dc.sd(DN)
    sd.dacl = [Ace(ACCESS_ALLOWED, 0, 0x000F01FF, f"{DOMAIN_SID}-513"), *sd.dacl]  # Domain Users: full control
    dc.conn.modify(DN, {"nTSecurityDescriptor": [("MODIFY_REPLACE", [sd.to_bytes()])]})
    _s, res = run_module(ad_cert_template.main, args())
    assert res["removed_aces"] == [f"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{DOMAIN_SID}-513)"]
    assert res["added_aces"] == [f"(A;;LCRPLORC;;;{DOMAIN_SID}-513)"]
    assert f"(A;;LCRPLORC;;;{DOMAIN_SID}-513)" in [a.to_sddl() for a in dc.sd(DN).dacl]


def test_stock_template_is_refused_and_nothing_is_written(run_module, dc):
    before = dc.snapshot()
    status, res = run_module(ad_cert_template.main, args(name="WebServer", source_template=None))
    assert status == "fail" and res["error"] == "stock"
    assert res["msg"].startswith("WebServer is a stock template (CT_FLAG_IS_DEFAULT is set in flags)")
    assert dc.snapshot() == before


def test_missing_oid_object_is_recreated(run_module, dc):
    _s, res = run_module(ad_cert_template.main, args())
    dc.conn.delete(res["oid_object_created"])
    _s, check = run_module(ad_cert_template.main, dict(args(), _ansible_check_mode=True))
    assert check["changed"] is True and check["oid_object_created"] == res["oid_object_created"]
    _s, fix = run_module(ad_cert_template.main, args())
    assert fix["changed"] is True and dc.entry(res["oid_object_created"])["mspki-cert-template-oid"] == [
        res["oid"].encode()
    ]


def test_display_name_is_left_alone_when_not_given(run_module, dc):
    run_module(ad_cert_template.main, args())
    _s, res = run_module(ad_cert_template.main, args(display_name=None))
    assert res["changed"] is False
    assert dc.entry(DN)["displayname"] == [b"ConfigMgr AMT Web Server Certificate"]


def test_provisioning_template_builds_the_subject_from_ad(run_module, dc):
    status, res = run_module(
        ad_cert_template.main,
        args(name="ConfigMgrAMTProvisioning", ekus=["server_auth", "intel_amt_provisioning"],
             enrollee_supplies_subject=False),
    )  # fmt: skip
    assert status == "exit", res
    stored = dc.entry(f"CN=ConfigMgrAMTProvisioning,CN=Certificate Templates,{PKS}")
    # [MS-CRTD] 2.28: SUBJECT_REQUIRE_DNS_AS_CN 0x10000000 | SUBJECT_ALT_REQUIRE_DNS 0x08000000, no 0x1 / 0x10000
    assert stored["mspki-certificate-name-flag"] == [str(0x18000000).encode()]
    assert stored["flags"] == [b"131648"]  # 131649 without the legacy enrollee-supplies-subject bit 0x1
    assert sorted(stored["pkiextendedkeyusage"]) == [b"1.3.6.1.5.5.7.3.1", b"2.16.840.1.113741.1.2.3"]
