"""The template planner, without I/O. Expected values are written out from their sources, not from the code's tables:
access-mask bits and SDDL letters [MS-DTYP] 2.4.3 / 2.5.1.1 and [MS-ADTS] 5.1.3.2, template flags [MS-CRTD] 2.4 /
2.28, the schema's default descriptor [MS-ADSC] PKI-Certificate-Template, well-known RIDs [MS-DTYP] 2.4.2.4, and the
objects captured from the lab's Samba AD (tests/unit/plugins/modules/fixtures/lab_pki.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    ACCESS_ALLOWED,
    ACCESS_ALLOWED_OBJECT,
    ACCESS_DENIED,
    Ace,
    SecurityDescriptor,
)
from ansible_collections.oob.prep.plugins.module_utils.pki.template_plan import (
    PolicyError,
    derived_oid,
    plan_acl,
    plan_diff,
    plan_managed_template,
    reduce_rights,
    schema_default_aces,
)

DOM = "S-1-5-21-1-2-3"
DU, DA, EA, SITE = f"{DOM}-513", f"{DOM}-512", f"{DOM}-519", f"{DOM}-1103"
ENROLL = "0e10c968-78fb-11d2-90d4-00c04f79dc55"
AUTOENROLL = "a05b8cc2-17bc-4802-a710-e7c15ab866a2"
OTHER_RIGHT = "00299570-246d-11d0-a768-00aa006e0529"  # User-Force-Change-Password, an unrelated extended right
FULL = 0x000F01FF  # [MS-ADTS] 5.1.3.2: GENERIC_ALL on a DS object
PKS = "CN=Public Key Services,CN=Services,CN=Configuration,DC=lab,DC=example"
FIXTURE = Path(__file__).parents[2] / "modules" / "fixtures" / "lab_pki.json"


def captured(dn_start: str) -> dict:
    for obj in json.loads(FIXTURE.read_text())["objects"]:
        if obj["dn"].startswith(dn_start):
            return {"dn": obj["dn"], "attributes": {k.lower(): [bytes.fromhex(v) for v in vals]
                                                    for k, vals in obj["attributes"].items()}}  # fmt: skip
    raise KeyError(dn_start)


WEBSERVER = captured("CN=WebServer,")
WEBSERVER_SD = SecurityDescriptor.from_bytes(WEBSERVER["attributes"]["ntsecuritydescriptor"][0])


@pytest.mark.parametrize(
    ("ace", "expected"),
    [
        # a broad group's full control becomes read: RP LC LO RC
        (Ace(ACCESS_ALLOWED, 0, FULL, DU), [f"(A;;LCRPLORC;;;{DU})"]),
        # GENERIC_ALL (0x10000000) is mapped first
        (Ace(ACCESS_ALLOWED, 0, 0x10000000, "S-1-5-11"), ["(A;;LCRPLORC;;;AU)"]),
        # GENERIC_WRITE (0x40000000) is RC|SW|WP: read control stays
        (Ace(ACCESS_ALLOWED, 0, 0x40000000, "S-1-1-0"), ["(A;;RC;;;WD)"]),
        # Enroll, for a broad group: nothing left
        (Ace(ACCESS_ALLOWED_OBJECT, 0, 0x100, DU, object_type=ENROLL), []),
        # read only: untouched
        (Ace(ACCESS_ALLOWED, 0, 0x20094, "S-1-5-11"), ["(A;;LCRPLORC;;;AU)"]),
        # denies and inherited ACEs are not ours to reduce
        (Ace(ACCESS_DENIED, 0, FULL, DU), [f"(D;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{DU})"]),
        (Ace(ACCESS_ALLOWED, 0x10, FULL, DU), [f"(A;ID;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{DU})"]),
        # not a broad group
        (Ace(ACCESS_ALLOWED, 0, FULL, SITE), [f"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{SITE})"]),
    ],
)
def test_broad_groups_keep_only_read(ace, expected):
    from ansible_collections.oob.prep.plugins.module_utils.pki.checks import is_broad

    result = reduce_rights([ace], is_broad, ~0x20094 & 0xFFFFFFFF)
    assert [a.to_sddl() for a in result["aces"]] == expected


@pytest.mark.parametrize(
    ("ace", "expected"),
    [
        (Ace(ACCESS_ALLOWED, 0, FULL, DA), [f"(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;{DA})"]),
        (Ace(ACCESS_ALLOWED_OBJECT, 0, 0x100, EA, object_type=ENROLL), []),
        (Ace(ACCESS_ALLOWED_OBJECT, 0, 0x100, EA, object_type=AUTOENROLL), []),
        (Ace(ACCESS_ALLOWED_OBJECT, 0, 0x100, DA, object_type=OTHER_RIGHT),
         [f"(OA;;CR;{OTHER_RIGHT};;{DA})"]),
        (Ace(ACCESS_ALLOWED, 0, 0x20094, EA), [f"(A;;LCRPLORC;;;{EA})"]),
    ],
)  # fmt: skip
def test_admins_lose_enroll_and_autoenroll_only(ace, expected):
    result = plan_acl(SecurityDescriptor(owner=EA, dacl=[ace]), {"owner": EA})
    assert [a.to_sddl() for a in result["aces"]] == expected
    assert result["changed"] is ([ace.to_sddl()] != expected)


def test_keep_admin_enroll_and_allow_broad_leave_the_dacl_alone():
    dacl = [Ace(ACCESS_ALLOWED, 0, FULL, DA), Ace(ACCESS_ALLOWED, 0, FULL, DU)]
    result = plan_acl(SecurityDescriptor(owner=EA, dacl=dacl),
                      {"owner": EA, "keep_admin_enroll": True, "allow_broad_enroll": True})  # fmt: skip
    assert result["changed"] is False and result["aces"] == dacl


def test_enroll_principals_get_read_and_enroll_in_canonical_order():
    dacl = [Ace(ACCESS_DENIED, 0, 0x40, "S-1-1-0"), Ace(ACCESS_ALLOWED, 0x10, 0x20094, "S-1-5-11")]
    result = plan_acl(SecurityDescriptor(owner=EA, dacl=dacl), {"owner": EA, "enroll_names": {"SCCM01$": SITE}})
    assert [a.to_sddl() for a in result["aces"]] == [
        "(D;;DT;;;WD)",
        f"(A;;LCRPLORC;;;{SITE})",
        f"(OA;;CR;{ENROLL};;{SITE})",
        "(A;ID;LCRPLORC;;;AU)",
    ]


@pytest.mark.parametrize(("owner", "changed"), [(DU, True), (EA, False), (None, True)])
def test_owner_is_enterprise_admins(owner, changed):
    result = plan_acl(SecurityDescriptor(owner=owner, dacl=[]), {"owner": EA})
    assert result["changed"] is changed
    assert result["owner"] == ({"before": owner, "after": EA} if changed else None)


def test_schema_default_descriptor():
    # [MS-ADSC] PKI-Certificate-Template defaultSecurityDescriptor:
    # D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)(A;;RPLCLORC;;;AU)
    assert [a.to_sddl() for a in schema_default_aces(DOM)] == [
        f"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{DA})",
        "(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)",
        "(A;;LCRPLORC;;;AU)",
    ]


def test_derived_oid_has_windows_format_and_is_stable():
    forest = "1.3.6.1.4.1.311.21.8.1.2.3.4.5.6.7"
    oid, cn = derived_oid(forest, "ConfigMgrAMTWebServer")
    first, second = (int(x) for x in oid[len(forest) + 1 :].split("."))
    assert oid.startswith(forest + ".") and 1000000 <= first <= 16777215 and 1000000 <= second <= 99999999
    assert re.fullmatch(rf"{second}\.[0-9A-F]{{32}}", cn)
    assert derived_oid(forest, "configmgramtwebserver") == (oid, cn)
    assert derived_oid(forest, "ConfigMgrAMTProvisioning")[0] != oid


def want(**extra):
    base = {
        "name": "AMTWeb",
        "spec": {"display_name": "AMT Web", "ekus": ["server_auth"], "enrollee_supplies_subject": True},
        "source_template": "WebServer",
        "enroll_names": {"SCCM01$": SITE},
        "owner": EA,
        "publish_to": ["LAB-CA"],
        "unpublish_from": [],
    }
    return dict(base, **extra)


def have(**extra):
    base = {
        "pks": PKS,
        "forest_oid": "1.3.6.1.4.1.311.21.8.1.2",
        "root_sid": DOM,
        "template": None,
        "sd": None,
        "source": WEBSERVER,
        "source_sd": WEBSERVER_SD,
        "oid_objects": [],
        "cas": {"lab-ca": {"name": "LAB-CA", "dn": f"CN=LAB-CA,CN=Enrollment Services,{PKS}", "templates": []}},
    }
    return dict(base, **extra)


def test_create_plan_is_the_whole_template():
    plan = plan_managed_template(want(), have())
    attrs = plan["attributes"]
    assert plan["created"] and plan["changed"] and plan["modify"] == {}
    # [MS-CRTD] 2.4: the captured WebServer has flags 66113 (CT_FLAG_IS_DEFAULT 0x10000 set); a duplicate clears it
    # and sets CT_FLAG_IS_MODIFIED 0x20000: 66113 - 65536 + 131072
    assert attrs["flags"] == ["131649"] and attrs["msPKI-Template-Schema-Version"] == ["2"]
    assert attrs["msPKI-Cert-Template-OID"] == [plan["oid"]] and attrs["displayName"] == ["AMT Web"]
    assert attrs["revision"] == ["100"] and attrs["msPKI-Template-Minor-Revision"] == ["1"]
    assert plan["oid_object"]["attributes"]["flags"] == ["1"]
    assert plan["sd"].owner == EA
    assert plan["publish"] == [{"ca": "LAB-CA", "dn": f"CN=LAB-CA,CN=Enrollment Services,{PKS}"}]
    diff = plan_diff(plan, have())
    assert "  pKIExpirationPeriod: ['0080720e5dc2fdff']" in diff["after"].splitlines()  # 2 years
    assert f"  (OA;;CR;{ENROLL};;{SITE})" in diff["after"].splitlines()


def test_create_without_a_source_uses_the_schema_default():
    plan = plan_managed_template(want(source_template=None), have(source=None, source_sd=None))
    assert [a.to_sddl() for a in plan["sd"].dacl] == [
        f"(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;{DA})",  # full control without Enroll (CR)
        "(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)",
        "(A;;LCRPLORC;;;AU)",
        f"(A;;LCRPLORC;;;{SITE})",
        f"(OA;;CR;{ENROLL};;{SITE})",
    ]


def existing(plan: dict, **attrs) -> dict:
    stored = {k.lower(): [v.encode() if isinstance(v, str) else v for v in values]
              for k, values in plan["attributes"].items()}  # fmt: skip
    stored.update({k.lower(): v for k, v in attrs.items()})
    return {"dn": plan["dn"], "attributes": stored}


def converged():
    plan = plan_managed_template(want(), have())
    oid_object = {"dn": plan["oid_object"]["dn"],
                  "attributes": {"mspki-cert-template-oid": [plan["oid"].encode()]}}  # fmt: skip
    cas = {"lab-ca": dict(have()["cas"]["lab-ca"], templates=["AMTWeb"])}
    return plan, have(template=existing(plan), sd=plan["sd"], oid_objects=[oid_object], cas=cas)


def test_converged_template_plans_nothing():
    _plan, state = converged()
    again = plan_managed_template(want(), state)
    assert again["changed"] is False and again["oid_object"] is None and again["modify"] == {}


def test_missing_oid_object_is_planned_again():
    plan, state = converged()
    again = plan_managed_template(want(), dict(state, oid_objects=[]))
    assert again["changed"] is True and again["oid_object"]["dn"] == plan["oid_object"]["dn"]
    assert again["oid_object"]["attributes"]["msPKI-Cert-Template-OID"] == [plan["oid"]]


def test_rights_only_change_bumps_the_minor_revision():
    plan, state = converged()
    drifted = SecurityDescriptor(owner=DU, dacl=plan["sd"].dacl)
    again = plan_managed_template(want(), dict(state, sd=drifted))
    assert again["acl"]["owner"] == {"before": DU, "after": EA}
    assert again["modify"] == {"msPKI-Template-Minor-Revision": ["2"]} and again["changes"] == {}


def test_display_name_left_alone_when_not_given():
    plan, state = converged()
    spec = {k: v for k, v in want()["spec"].items() if k != "display_name"}
    state["template"]["attributes"]["displayname"] = [b"Renamed by an admin"]
    assert plan_managed_template(want(spec=spec), state)["changed"] is False


@pytest.mark.parametrize(
    ("attrs", "why"),
    [
        ({"flags": [b"66113"], "mspki-template-schema-version": [b"1"]}, "a stock template"),  # CT_FLAG_IS_DEFAULT
        ({"flags": [b"66113"], "mspki-template-schema-version": [b"2"]}, "a stock template"),
        ({"flags": [b"577"], "mspki-template-schema-version": [b"1"]}, "a version 1 template"),
        ({"flags": [b"577"], "mspki-template-schema-version": None}, "a version 1 template"),  # absent: version 1
    ],
)
def test_stock_and_version_1_templates_are_refused(attrs, why):
    plan, state = converged()
    state["template"]["attributes"].update({k: v for k, v in attrs.items() if v is not None})
    for key in [k for k, v in attrs.items() if v is None]:
        del state["template"]["attributes"][key]
    with pytest.raises(PolicyError, match=f"AMTWeb is {why}") as err:
        plan_managed_template(want(), state)
    assert err.value.kind == "stock"
    assert plan_managed_template(want(manage_stock=True), state)["dn"] == plan["dn"]


@pytest.mark.parametrize(
    ("wanted", "state", "kind", "text"),
    [
        ({"enroll_names": {"Domain Users": DU}}, {}, "policy", "refusing Enroll for broad group(s) Domain Users"),
        ({"enroll_names": {"Domain Admins": DA}}, {}, "policy", "Domain Admins cannot get Enroll on AMTWeb"),
        ({"publish_to": ["NO-CA"]}, {}, "ca", "enterprise CA(s) NO-CA not found"),
        ({}, {"forest_oid": ""}, "oid", "the forest OID (msPKI-Cert-Template-OID on CN=OID,"),
        ({}, {"source": None}, "template", "source template 'WebServer' not found"),
    ],
)
def test_refusals_name_what_to_change(wanted, state, kind, text):
    with pytest.raises(PolicyError) as err:
        plan_managed_template(want(**wanted), have(**state))
    assert err.value.kind == kind and text in str(err.value)


def test_broad_and_admin_enroll_when_explicitly_allowed():
    plan = plan_managed_template(
        want(enroll_names={"Domain Users": DU, "Domain Admins": DA}, allow_broad_enroll=True, keep_admin_enroll=True),
        have(),
    )
    sddl = [a.to_sddl() for a in plan["sd"].dacl]
    assert f"(OA;;CR;{ENROLL};;{DU})" in sddl and f"(OA;;CR;{ENROLL};;{DA})" in sddl
    # the captured WebServer's Domain Admins keep full control, Enroll (CR) included
    assert [s for s in sddl if s.endswith("-512)") and s.startswith("(A;;")][0].startswith("(A;;CCDCLCSWRPWPDTLOCRSD")


def test_unpublish_and_publish():
    _plan, state = converged()
    again = plan_managed_template(want(publish_to=[], unpublish_from=["LAB-CA"]), state)
    assert again["unpublish"] == [{"ca": "LAB-CA", "dn": f"CN=LAB-CA,CN=Enrollment Services,{PKS}"}]
    assert "published on LAB-CA: no" in plan_diff(again, state)["after"]


def test_inherited_admin_enroll_is_denied_explicitly():
    # Enterprise Admins' full control inherited from the configuration partition (as the lab's Samba gives it)
    inherited = Ace(ACCESS_ALLOWED, 0x12, FULL, EA)  # CI | ID
    result = plan_acl(SecurityDescriptor(owner=EA, dacl=[inherited]), {"owner": EA})
    assert [a.to_sddl() for a in result["aces"]] == [
        f"(OD;;CR;{ENROLL};;{EA})",
        f"(A;CIID;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{EA})",
    ]
    again = plan_acl(SecurityDescriptor(owner=EA, dacl=result["aces"]), {"owner": EA})
    assert again["changed"] is False
    kept = plan_acl(SecurityDescriptor(owner=EA, dacl=[inherited]), {"owner": EA, "keep_admin_enroll": True})
    assert kept["changed"] is False
    # an inherited read-only ACE needs no deny
    assert plan_acl(SecurityDescriptor(owner=EA, dacl=[Ace(ACCESS_ALLOWED, 0x10, 0x20094, EA)]),
                    {"owner": EA})["changed"] is False  # fmt: skip
