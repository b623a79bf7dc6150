#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ad_cert_template
short_description: Ensure an AD CS certificate template, its enroll rights and its publication on enterprise CAs
description:
  - Ensures a version 2 certificate template in the forest's configuration partition, created from a full
    specification or by duplicating a template that exists (for example the stock C(WebServer)), with its
    C(msPKI-Enterprise-Oid) object under C(CN=OID), Read and Enroll rights for the given principals, and its
    publication on enterprise CAs (C(certificateTemplates) of their enrollment service objects).
  - Speaks LDAP to any DC of the forest from the controller (ldap3); no Windows host is needed.
  - Auto-approval, as out of band management needs it, is the default. The template does not require CA
    manager approval (C(PEND_ALL_REQUESTS) cleared) and needs no authorized signatures (C(msPKI-RA-Signature) 0).
    The CA's policy module must also issue automatically (role oob_pki_ca_windows).
  - Writes only what differs, in one modify request per object, with C(revision)/C(msPKI-Template-Minor-Revision)
    bumped so that clients refresh the template. Template writes carry the same compare-and-swap token as
    the ad_container module (C(extensionName)), so two concurrent runs cannot lose each other's changes.
  - Refuses to give Enroll to broad groups (Everyone, Authenticated Users, Domain Users, Domain Computers, Users)
    unless O(allow_broad_enroll=true); such a template with a subject supplied in the request lets anyone obtain a
    server certificate for any name (ESC17). For the same reason it removes explicit ACEs that give broad groups
    Enroll, AutoEnroll, full control or write rights on the template; read access stays.
  - Reads everything it needs in two searches (the Public Key Services objects, and the principals).
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
options:
  name:
    description: The template's common name (C(cn)), which CAs publish and requests name.
    type: str
    required: true
  display_name:
    description: The name shown in the consoles. O(name) when omitted.
    type: str
  source_template:
    description:
      - The common name of a template to duplicate when O(name) does not exist yet, for example V(WebServer).
        Its attributes are the base, and the options given here are applied on top.
      - Ignored once the template exists; then only the options given here are enforced.
    type: str
  schema_version:
    description: Only version 2 is supported. Configuration Manager 2007 SP1 does not support version 3 templates.
    type: int
    default: 2
  ekus:
    description:
      - Extended key usages, written to both C(pKIExtendedKeyUsage) and C(msPKI-Certificate-Application-Policy).
      - Names (V(server_auth), V(client_auth), V(intel_amt_provisioning), ...) or dotted OIDs.
    type: list
    elements: str
  key_usage:
    description: Key usages, for example V([digital_signature, key_encipherment]).
    type: list
    elements: str
  minimal_key_size:
    description: Minimal key size in bits. At most 2048 when O(amt=true).
    type: int
  amt:
    description: The certificates are for Intel AMT, which cannot use keys longer than 2048 bits.
    type: bool
    default: true
  validity:
    description: The validity period, for example V(2 years) or V(90 days).
    type: str
  renewal:
    description: The renewal (overlap) period, for example V(6 weeks).
    type: str
  enrollee_supplies_subject:
    description: The subject comes from the request (the site server names each AMT device).
    type: bool
  auto_approve:
    description: Clear manager approval and require no authorized signatures.
    type: bool
    default: true
  enroll_principals:
    description:
      - Who gets Read and Enroll on the template, usually the primary site server's computer account
        (sAMAccountName such as V(SCCM01$), or a SID).
      - ACEs for other principals are left alone.
    type: list
    elements: str
    default: []
  allow_broad_enroll:
    description: Allow O(enroll_principals) to contain broad groups. A warning says so when it is used.
    type: bool
    default: false
  publish_to:
    description: Names of enterprise CAs (their enrollment service objects) that must offer the template.
    type: list
    elements: str
    default: []
  unpublish_from:
    description: Names of enterprise CAs that must not offer the template.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - oob_ldap
  - oob_ldap_forest
attributes:
  check_mode:
    support: full
    description: Reads and plans; writes nothing.
  diff_mode:
    support: full
    description: Shows changed attributes, ACEs (SDDL) and publications.
notes:
  - A new template gets its OID from the forest OID (C(msPKI-Cert-Template-OID) of C(CN=OID)); a forest without one
    (no enterprise CA was ever installed) is an error.
"""

EXAMPLES = r"""
- name: AMT web server certificate template, from the stock Web Server template
  ad_cert_template:
    servers: [dc01.corp.example.com]
    forest_dns_name: corp.example.com
    name: ConfigMgrAMTWebServer
    display_name: ConfigMgr AMT Web Server Certificate
    source_template: WebServer
    ekus: [server_auth]
    enrollee_supplies_subject: true
    minimal_key_size: 2048
    enroll_principals: [SCCM01$]
    publish_to: [CORP-ISSUING-CA]
    auth: kerberos
"""

RETURN = r"""
distinguished_name:
  description: The template's DN (also in check mode).
  returned: success
  type: str
oid:
  description: The template's OID (in check mode for a new template, the one that would have been used).
  returned: success
  type: str
created:
  description: Whether the template was (or would be) created.
  returned: success
  type: bool
changes:
  description: Changed attributes with their values before and after (binary values in hex).
  returned: success
  type: dict
added_aces:
  description: ACEs added to the template, as SDDL.
  returned: success
  type: list
  elements: str
removed_aces:
  description: ACEs removed (broad groups' Enroll or write rights), as SDDL.
  returned: success
  type: list
  elements: str
published:
  description: CAs the template was published on by this run.
  returned: success
  type: list
  elements: str
unpublished:
  description: CAs the template was removed from by this run.
  returned: success
  type: list
  elements: str
ldap_operations:
  description: LDAP searches and writes of this run.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.oob_ad_container import TOKEN_ATTRIBUTE, next_token, read_token
from ansible.module_utils.oob_cert_template import (
    build_template_attributes,
    bumped_minor_revision,
    plan_template,
    template_oid,
)
from ansible.module_utils.oob_ldap import (
    LdapError,
    check_settings,
    connect,
    forest_argument_spec,
    resolve_principals,
    run_ldap_module,
)
from ansible.module_utils.oob_ldap_names import base_dn_from_dns, escape_dn_value, escape_filter_value
from ansible.module_utils.oob_pki_checks import ENROLL_GUID, is_broad, risky_broad_aces
from ansible.module_utils.oob_sd import (
    ACCESS_ALLOWED,
    ACCESS_ALLOWED_OBJECT,
    CONTROL_ACCESS,
    LIST_CHILDREN,
    LIST_OBJECT,
    READ_CONTROL,
    READ_PROPERTY,
    Ace,
    SecurityDescriptor,
    plan_owned_aces,
)

READ = READ_PROPERTY | LIST_CHILDREN | LIST_OBJECT | READ_CONTROL  # "RPLCLORC", what the templates console grants
PKS = "CN=Public Key Services,CN=Services,CN=Configuration,{forest}"
SPEC_KEYS = (
    "display_name", "schema_version", "ekus", "key_usage", "minimal_key_size", "amt", "validity", "renewal",
    "enrollee_supplies_subject", "auto_approve",
)  # fmt: skip


def argument_spec() -> dict:
    spec = forest_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        display_name=dict(type="str"),
        source_template=dict(type="str"),
        schema_version=dict(type="int", default=2),
        ekus=dict(type="list", elements="str"),
        key_usage=dict(type="list", elements="str"),
        minimal_key_size=dict(type="int"),
        amt=dict(type="bool", default=True),
        validity=dict(type="str"),
        renewal=dict(type="str"),
        enrollee_supplies_subject=dict(type="bool"),
        auto_approve=dict(type="bool", default=True),
        enroll_principals=dict(type="list", elements="str", default=[]),
        allow_broad_enroll=dict(type="bool", default=False),
        publish_to=dict(type="list", elements="str", default=[]),
        unpublish_from=dict(type="list", elements="str", default=[]),
    )
    return spec


def enroll_aces(sid: str) -> list[Ace]:
    """Read + Enroll, as the Certificate Templates console writes them."""
    return [
        Ace(ACCESS_ALLOWED, 0, READ, sid),
        Ace(ACCESS_ALLOWED_OBJECT, 0, CONTROL_ACCESS, sid, object_type=ENROLL_GUID),
    ]


def _text(value) -> str:
    return value.hex() if isinstance(value, bytes) and not value.isascii() else (
        value.decode("ascii") if isinstance(value, bytes) else str(value))  # fmt: skip


def read_pki(session, pks: str, names: list[str]) -> dict:
    """One search for the templates we care about, every enrollment service, and CN=OID."""
    tpl = "".join(f"(cn={escape_filter_value(n)})" for n in names if n)
    flt = (
        f"(|(&(objectClass=pKICertificateTemplate)(|{tpl}))(objectClass=pKIEnrollmentService)"
        f"(distinguishedName=CN=OID,{pks}))"
    )
    entries = session.search(pks, flt, ["*", "nTSecurityDescriptor"], scope="SUBTREE", dacl_only=True)
    out: dict = {"templates": {}, "cas": {}, "forest_oid": None}
    for entry in entries:
        attrs = entry["attributes"]
        classes = {c.decode().lower() for c in attrs.get("objectclass", [])}
        cn = attrs.get("cn", [b""])[0].decode("utf-8")
        if "pkicertificatetemplate" in classes:
            out["templates"][cn.lower()] = entry
        elif "pkienrollmentservice" in classes:
            out["cas"][cn.lower()] = entry
        elif cn.lower() == "oid":
            values = attrs.get("mspki-cert-template-oid", [])
            out["forest_oid"] = values[0].decode("ascii") if values else None
    return out


def run(module: AnsibleModule) -> dict:  # noqa: PLR0914 - one linear read → plan → apply
    p = module.params
    for warning in check_settings(p):
        module.warn(warning)
    spec = {k: p[k] for k in SPEC_KEYS if p.get(k) is not None}
    spec["name"] = p["name"]
    spec.setdefault("display_name", p["name"])
    build_template_attributes(spec, None, "1.2.3")  # validates the spec before any I/O (ValueError)
    forest_base = base_dn_from_dns(p["forest_dns_name"])
    pdom = p.get("principal_domain") or p["forest_dns_name"]
    pks = PKS.format(forest=forest_base)
    dn = f"CN={escape_dn_value(p['name'])},CN=Certificate Templates,{pks}"

    session = connect(p["servers"], p)
    try:
        pki = read_pki(session, pks, [p["name"], p.get("source_template")])
        sids = (
            resolve_principals(session, base_dn_from_dns(pdom), p["enroll_principals"], pdom)
            if p["enroll_principals"]
            else {}
        )
        broad = sorted(name for name, sid in sids.items() if is_broad(sid))
        if broad and not p["allow_broad_enroll"]:
            raise LdapError(
                "policy",
                f"refusing Enroll for broad group(s) {', '.join(broad)}: anyone in them could request certificates "
                "from this template; set allow_broad_enroll=true to override",
            )
        if broad:
            module.warn(f"allow_broad_enroll is set: {', '.join(broad)} can enroll in {p['name']}")
        missing_cas = [ca for ca in p["publish_to"] + p["unpublish_from"] if ca.lower() not in pki["cas"]]
        if missing_cas:
            found = ", ".join(sorted(e["attributes"]["cn"][0].decode() for e in pki["cas"].values())) or "none"
            raise LdapError("ca", f"enterprise CA(s) {', '.join(missing_cas)} not found under CN=Enrollment Services "
                                  f"(found: {found})")  # fmt: skip

        # plan the template
        current = pki["templates"].get(p["name"].lower())
        created, oid = current is None, None
        if created:
            source = None
            if p.get("source_template"):
                src = pki["templates"].get(p["source_template"].lower())
                if src is None:
                    raise LdapError("template", f"source template {p['source_template']!r} not found in {pks}")
                source = src["attributes"]
            if not (pki["forest_oid"] or "").strip():
                raise LdapError(
                    "oid",
                    f"the forest OID (msPKI-Cert-Template-OID on CN=OID,{pks}) is empty: an enterprise CA sets it "
                    "when it is installed; install one, or set it, first",
                )
            oid, oid_cn = template_oid(pki["forest_oid"])
            desired = build_template_attributes(spec, source, pki["forest_oid"])
            plan = plan_template(desired, None)
            actual_attrs, aces_before, token = {}, [], None
        else:
            actual_attrs = current["attributes"]
            # the template as it is is the base: only what the options ask for changes
            desired = build_template_attributes(spec, actual_attrs, "")
            plan = plan_template(desired, actual_attrs)
            sd = SecurityDescriptor.from_bytes(actual_attrs["ntsecuritydescriptor"][0])
            aces_before, token = sd.dacl or [], read_token(actual_attrs.get(TOKEN_ATTRIBUTE.lower()))
            oid = actual_attrs.get("mspki-cert-template-oid", [b""])[0].decode("ascii")
        wanted = [ace for sid in sids.values() for ace in enroll_aces(sid)]
        # broad groups never keep Enroll or write rights on a template this module manages (unless allowed)
        risky = [] if p["allow_broad_enroll"] else risky_broad_aces(aces_before)
        ace_plan = plan_owned_aces(aces_before, wanted, risky)
        published = pki["cas"]

        def offers(ca: str) -> bool:
            values = published[ca.lower()]["attributes"].get("certificatetemplates", [])
            return p["name"].lower() in [t.decode("utf-8").lower() for t in values]

        to_publish = [ca for ca in p["publish_to"] if not offers(ca)]
        to_unpublish = [ca for ca in p["unpublish_from"] if offers(ca)]
        ace_changes = bool(ace_plan["added"] or ace_plan["removed"])
        changed = bool(created or plan["changes"] or ace_changes or to_publish or to_unpublish)

        diff = {
            "before_header": dn,
            "after_header": dn,
            "before": "" if created else "".join(
                [f"{a}: {[_text(v) for v in c['before']]}\n" for a, c in sorted(plan["changes"].items())]
                + [ace.to_sddl() + "\n" for ace in aces_before if not ace.is_inherited]
                + [f"published on: {ca}\n" for ca in to_unpublish]),
            "after": "".join(
                [f"{a}: {[_text(v) for v in c['after']]}\n" for a, c in sorted(plan["changes"].items())]
                + [ace.to_sddl() + "\n" for ace in ace_plan["aces"] if not ace.is_inherited]
                + [f"published on: {ca}\n" for ca in to_publish]),
        }  # fmt: skip

        if changed and not module.check_mode:
            if created:
                attrs = dict(plan["attributes"])
                attrs["msPKI-Cert-Template-OID"] = oid
                session.add(dn, ["top", "pKICertificateTemplate"], attrs)
                oid_dn = f"CN={escape_dn_value(oid_cn)},CN=OID,{pks}"
                session.add(oid_dn, ["top", "msPKI-Enterprise-Oid"], {
                    "msPKI-Cert-Template-OID": oid, "displayName": spec["display_name"], "flags": 1})  # fmt: skip
                fresh = read_pki(session, pks, [p["name"]])["templates"][p["name"].lower()]["attributes"]
                aces_before = SecurityDescriptor.from_bytes(fresh["ntsecuritydescriptor"][0])
                ace_plan = plan_owned_aces(aces_before.dacl or [], wanted, [])
                if ace_plan["added"]:
                    aces_before.dacl = ace_plan["aces"]
                    session.modify_guarded(dn, {}, (TOKEN_ATTRIBUTE, None, next_token(None)), aces_before.to_bytes())
            elif plan["changes"] or ace_changes:
                changes = {attr: c["after"] for attr, c in plan["modify"].items()}
                if ace_changes and not plan["changes"]:  # clients must refresh a template whose rights changed too
                    changes = bumped_minor_revision(actual_attrs)
                sd_bytes = None
                if ace_changes:
                    sd.dacl = ace_plan["aces"]
                    sd_bytes = sd.to_bytes()
                session.modify_guarded(dn, changes, (TOKEN_ATTRIBUTE, token, next_token(token)), sd_bytes)
            for ca in to_publish:
                session.add_values(published[ca.lower()]["dn"], "certificateTemplates", [p["name"]])
            for ca in to_unpublish:
                session.delete_values(published[ca.lower()]["dn"], "certificateTemplates", [p["name"]])
        return {
            "changed": changed,
            "distinguished_name": dn,
            "oid": oid,
            "created": created,
            "changes": {
                a: {k: [_text(v) for v in c[k]] for k in ("before", "after")} for a, c in plan["changes"].items()
            },
            "added_aces": [ace.to_sddl() for ace in ace_plan["added"]],
            "removed_aces": [ace.to_sddl() for ace in ace_plan["removed"]],
            "published": to_publish,
            "unpublished": to_unpublish,
            "diff": diff,
            "ldap_operations": dict(session.ops),
        }
    finally:
        session.close()


def main() -> None:
    run_ldap_module(argument_spec(), run, AnsibleModule)


if __name__ == "__main__":
    main()
