#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ad_cert_template
short_description: Ensure an AD CS certificate template, its owner, enroll rights and publication on enterprise CAs
description:
  - Ensures a version 2 certificate template in the forest's configuration partition, created by duplicating a
    template that exists (for example the stock C(WebServer)) or from a full specification, with its
    C(msPKI-Enterprise-Oid) object under C(CN=OID), its owner, Read and Enroll rights for the given principals, and
    its publication on enterprise CAs (C(certificateTemplates) of their enrollment service objects).
  - Speaks LDAP to any DC of the forest from the controller (ldap3); no Windows host is needed.
  - Reads everything first (two searches when nothing differs), plans the whole change with one pure planner
    (module_utils pki.template_plan), shows that plan as the diff (in check mode the diff of a new template is
    exactly what a real run then writes), and applies it in an order that a later run can always repair - the OID
    object, the template, its owner and DACL, its publication - then reads it back and fails if the DC does not hold
    what was planned. A missing OID object of an existing template is recreated.
  - Auto-approval, as out of band management needs it, is the default. The template does not require CA
    manager approval (C(PEND_ALL_REQUESTS) cleared) and needs no authorized signatures (C(msPKI-RA-Signature) 0).
    The CA's policy module must also issue automatically (role oob_pki_ca_windows).
  - Writes only what differs. Attribute changes bump C(msPKI-Template-Minor-Revision) so that clients refresh the
    template, and so does a change of its rights. Security descriptor writes carry the same compare-and-swap token as
    the ad_container module (C(extensionName)), so two concurrent runs cannot lose each other's changes.
  - Refuses to give Enroll to broad groups (Everyone, Authenticated Users, Users, Domain Users, Domain Computers)
    unless O(allow_broad_enroll=true); such a template with a subject supplied in the request lets anyone obtain a
    server certificate for any name (ESC17). For the same reason broad groups lose every right but read on the
    template (an ACE that also grants read is reduced, not removed).
  - Removes Enroll and AutoEnroll from Domain Admins and Enterprise Admins, as ConfigMgr's PKI procedure does for
    the AMT templates, unless O(keep_admin_enroll=true).
  - Refuses to take over a stock or version 1 template (C(name=WebServer) fails and writes nothing) unless
    O(manage_stock_template=true).
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
options:
  name:
    description: The template's common name (C(cn)), which CAs publish and requests name.
    type: str
    required: true
  display_name:
    description:
      - The name shown in the consoles. A new template gets O(name) when this is omitted; an existing template's
        display name is left as it is unless this is given.
    type: str
  source_template:
    description:
      - The common name of a template to duplicate when O(name) does not exist yet, for example V(WebServer).
        Its attributes, owner and explicit ACEs are the base (as the Certificate Templates console's Duplicate
        Template does), and the options given here are applied on top.
      - Without it, a new template starts from the values of a version 2 duplicate of Web Server and the schema's
        default security descriptor.
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
    description:
      - V(true) takes the subject from the request (the site server names each AMT device in its requests for the
        AMT web server certificates).
      - V(false) builds it from Active Directory (the requester's DNS name as the common name and as a DNS name in
        the subject alternative name), so that whoever holds Enroll can obtain a certificate for its own name only.
    type: bool
  auto_approve:
    description: Clear manager approval and require no authorized signatures.
    type: bool
    default: true
  enroll_principals:
    description:
      - Who gets Read and Enroll on the template, usually a computer account (sAMAccountName such as V(SCCM01$),
        or a SID).
      - ACEs for other principals are left alone, except the broad groups' and the admins' (see above).
    type: list
    elements: str
    default: []
  allow_broad_enroll:
    description:
      - Allow O(enroll_principals) to contain broad groups, and leave broad groups' rights on the template alone. A
        warning says so when it is used.
    type: bool
    default: false
  keep_admin_enroll:
    description: Leave Enroll and AutoEnroll of Domain Admins and Enterprise Admins on the template.
    type: bool
    default: false
  owner:
    description:
      - The template's owner (sAMAccountName or SID). The owner can always rewrite the template's DACL, so an owner
        that is not an admin principal is an escalation path (ESC4).
      - Enterprise Admins of the forest root when omitted.
    type: str
  manage_stock_template:
    description:
      - Allow O(name) to be a stock template (C(CT_FLAG_IS_DEFAULT)) or a version 1 template that exists, and
        rewrite it. Every other user of that template is affected; duplicate it instead (O(source_template)).
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
  - oob.prep.oob_action_groups.ldap
  - oob.prep.oob_ldap
  - oob.prep.oob_ldap_forest
attributes:
  check_mode:
    support: full
    description: Reads and plans; writes nothing.
  diff_mode:
    support: full
    description: Shows the plan - the OID object, the template's changed attributes (all of them for a new template),
      its owner and explicit ACEs (SDDL), and its publication.
notes:
  - A new template gets its OID from the forest OID (C(msPKI-Cert-Template-OID) of C(CN=OID)); a forest without one
    (no enterprise CA was ever installed) is an error. The two extra arcs are derived from the template's name, in
    the format Windows uses, so that a check run shows the OID that a real run writes (docs/adr/0003).
  - The account that binds must be allowed to set the owner it asks for (a member of Enterprise Admins, for the
    default).
seealso:
  - name: Certificate templates for out of band management (ConfigMgr 2007 SP1)
    description: The PKI requirements this module implements.
    link: https://learn.microsoft.com/en-us/previous-versions/system-center/configuration-manager-2007/cc161804(v=technet.10)
"""

EXAMPLES = r"""
- name: AMT web server certificate template (the site server supplies each AMT device's name)
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
  delegate_to: localhost

- name: AMT provisioning certificate template (subject built from AD for the out of band service point)
  ad_cert_template:
    servers: [dc01.corp.example.com]
    forest_dns_name: corp.example.com
    name: ConfigMgrAMTProvisioning
    source_template: WebServer
    ekus: [server_auth, intel_amt_provisioning]
    enrollee_supplies_subject: false
    enroll_principals: [OOBSP01$]
    publish_to: [CORP-ISSUING-CA]
    auth: kerberos
  delegate_to: localhost
"""

RETURN = r"""
distinguished_name:
  description: The template's DN (also in check mode).
  returned: success
  type: str
  sample: "CN=ConfigMgrAMTWebServer,CN=Certificate Templates,CN=Public Key Services,CN=Services,\
    CN=Configuration,DC=corp,DC=example,DC=com"
oid:
  description: The template's OID (also in check mode, for a new template the one a real run writes).
  returned: success
  type: str
created:
  description: Whether the template was (or would be) created.
  returned: success
  type: bool
oid_object_created:
  description: The DN of the msPKI-Enterprise-Oid object that was (or would be) created, or null.
  returned: success
  type: str
changes:
  description: Changed attributes with their values before and after (binary values in hex).
  returned: success
  type: dict
owner:
  description: The owner's SID before and after, when it changes; null otherwise.
  returned: success
  type: dict
  sample: {before: S-1-5-21-1-2-3-513, after: S-1-5-21-1-2-3-519}
added_aces:
  description: ACEs added to the template, as SDDL (a reduced ACE appears here and in RV(removed_aces)).
  returned: success
  type: list
  elements: str
removed_aces:
  description: ACEs removed (broad groups' Enroll or write rights, admins' Enroll), as SDDL.
  returned: success
  type: list
  elements: str
published:
  description: CAs the template was (or would be) published on by this run.
  returned: success
  type: list
  elements: str
unpublished:
  description: CAs the template was (or would be) removed from by this run.
  returned: success
  type: list
  elements: str
ldap_operations:
  description: LDAP searches and writes of this run.
  returned: success
  type: dict
  sample: {searches: 2, writes: 0}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import (
    SD_FLAGS_DACL,
    SD_FLAGS_OWNER,
    LdapError,
    check_settings,
    connect,
    converge_guarded,
    forest_argument_spec,
    merge_connection,
    read_domain_principals,
    run_ldap_module,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.container_plan import (
    TOKEN_ATTRIBUTE,
    next_token,
    read_token,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import (
    base_dn_from_dns,
    check_template_name,
    escape_filter_value,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import SecurityDescriptor
from ansible_collections.oob.prep.plugins.module_utils.pki.checks import is_broad
from ansible_collections.oob.prep.plugins.module_utils.pki.template import SPEC_KEYS, build_template_attributes
from ansible_collections.oob.prep.plugins.module_utils.pki.template_plan import (
    ENTERPRISE_ADMINS_RID,
    derived_oid,
    domain_rid_sid,
    plan_acl,
    plan_diff,
    plan_managed_template,
    value_text,
)

PKS = "CN=Public Key Services,CN=Services,CN=Configuration,{forest}"
SD_FLAGS = SD_FLAGS_OWNER | SD_FLAGS_DACL
OPTION_KEYS = tuple(k for k in SPEC_KEYS if k not in ("name", "enrollment_flags", "name_flags", "private_key_flags"))


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
        keep_admin_enroll=dict(type="bool", default=False),
        owner=dict(type="str"),
        manage_stock_template=dict(type="bool", default=False),
        publish_to=dict(type="list", elements="str", default=[]),
        unpublish_from=dict(type="list", elements="str", default=[]),
    )
    return spec


def _entry_cn(entry: dict) -> str:
    return entry["attributes"].get("cn", [b""])[0].decode("utf-8")


def read_pki(session, pks: str, name: str, source: str | None) -> dict:
    """One search: the template and its source (with owner and DACL), every enrollment service, CN=OID, and the OID
    object a template of this name gets from this project (derived_oid). A template whose OID object is not that
    one costs a second search (its OID object by OID)."""
    names = "".join(f"(cn={escape_filter_value(n)})" for n in (name, source) if n)
    oid_cn = derived_oid("0", name)[1]
    flt = (
        f"(|(&(objectClass=pKICertificateTemplate)(|{names}))(objectClass=pKIEnrollmentService)"
        f"(distinguishedName=CN=OID,{pks})(&(objectClass=msPKI-Enterprise-Oid)(cn={escape_filter_value(oid_cn)})))"
    )
    have: dict = {"pks": pks, "template": None, "source": None, "sd": None, "source_sd": None, "cas": {},
                  "forest_oid": None, "oid_objects": []}  # fmt: skip
    for entry in session.search(pks, flt, ["*", "nTSecurityDescriptor"], scope="SUBTREE", sd_flags=SD_FLAGS):
        attrs = entry["attributes"]
        classes = {c.decode().lower() for c in attrs.get("objectclass", [])}
        cn = _entry_cn(entry)
        raw_sd = attrs.get("ntsecuritydescriptor")
        sd = SecurityDescriptor.from_bytes(raw_sd[0]) if raw_sd else None
        if "pkicertificatetemplate" in classes:
            if cn.lower() == name.lower():
                have["template"], have["sd"] = entry, sd
            if source and cn.lower() == source.lower():
                have["source"], have["source_sd"] = entry, sd
        elif "pkienrollmentservice" in classes:
            templates = [t.decode("utf-8") for t in attrs.get("certificatetemplates", [])]
            have["cas"][cn.lower()] = {"name": cn, "dn": entry["dn"], "templates": templates}
        elif entry["dn"].lower() == f"cn=oid,{pks}".lower():
            values = attrs.get("mspki-cert-template-oid", [])
            have["forest_oid"] = values[0].decode("ascii") if values else None
        elif "mspki-enterprise-oid" in classes:
            have["oid_objects"].append(entry)
    if have["template"] is not None:
        oid = have["template"]["attributes"].get("mspki-cert-template-oid", [b""])[0].decode("ascii")
        known = [o["attributes"].get("mspki-cert-template-oid", [b""])[0].decode("ascii") for o in have["oid_objects"]]
        if oid and oid not in known:
            have["oid_objects"] += session.search(
                f"CN=OID,{pks}", f"(msPKI-Cert-Template-OID={escape_filter_value(oid)})",
                ["cn", "displayName", "flags", "msPKI-Cert-Template-OID"], scope="LEVEL",
            )  # fmt: skip
    return have


def read_want(session, p: dict, pks: str) -> tuple[dict, dict]:
    """What the options ask for, with principals resolved (one search) and the forest root's SID."""
    forest = p["forest_dns_name"].rstrip(".").lower()
    pdom = (p.get("principal_domain") or forest).rstrip(".").lower()
    owner = p.get("owner")
    names = list(dict.fromkeys(p["enroll_principals"] + ([owner] if owner else [])))
    if pdom == forest and not p.get("principal_servers") and not p.get("principal_base_dn"):
        root_sid, sids = read_domain_principals(session, base_dn_from_dns(forest), names, pdom)
    else:  # the principals live elsewhere (a child domain): Enterprise Admins' SID still comes from the root
        root_sid, _none = read_domain_principals(session, base_dn_from_dns(forest), [], forest)
        lookup = connect(p["principal_servers"], p) if p.get("principal_servers") else session
        try:
            base = p.get("principal_base_dn") or base_dn_from_dns(pdom)
            sids = read_domain_principals(lookup, base, names, pdom, domain_sid=False)[1]
        finally:
            if lookup is not session:
                session.ops["searches"] += lookup.ops["searches"]
                lookup.close()
    spec = {k: p[k] for k in OPTION_KEYS if p.get(k) is not None}
    want = {
        "name": p["name"],
        "spec": spec,
        "source_template": p.get("source_template"),
        "enroll_names": {n: sids[n] for n in p["enroll_principals"]},
        "owner": sids[owner] if owner else domain_rid_sid(root_sid, ENTERPRISE_ADMINS_RID),
        "allow_broad_enroll": p["allow_broad_enroll"],
        "keep_admin_enroll": p["keep_admin_enroll"],
        "manage_stock": p["manage_stock_template"],
        "publish_to": p["publish_to"],
        "unpublish_from": p["unpublish_from"],
    }
    return want, {"root_sid": root_sid}


def apply(session, plan: dict, want: dict, have: dict) -> None:
    """Write the plan: OID object, template, owner and DACL (compare-and-swap), publication."""
    dn = plan["dn"]
    if plan["oid_object"]:
        try:
            session.add(plan["oid_object"]["dn"], plan["oid_object"]["attributes"]["objectClass"],
                        {k: v for k, v in plan["oid_object"]["attributes"].items() if k != "objectClass"})  # fmt: skip
        except LdapError as exc:
            if exc.kind != "exists":
                raise
    if plan["created"]:
        attrs = dict(plan["attributes"], nTSecurityDescriptor=[plan["sd"].to_bytes()])
        session.add(dn, ["top", "pKICertificateTemplate"], attrs, sd_flags=SD_FLAGS)
    elif plan["modify"] and not plan["acl"]["changed"]:
        session.modify(dn, plan["modify"])
    pending = {} if plan["created"] else dict(plan["modify"]) if plan["acl"]["changed"] else {}

    def read():
        entries = session.search(dn, "(objectClass=*)", ["nTSecurityDescriptor", TOKEN_ATTRIBUTE], sd_flags=SD_FLAGS)
        if not entries or not entries[0]["attributes"].get("ntsecuritydescriptor"):
            raise LdapError("verify", f"{dn} is not there (or its security descriptor cannot be read) after the write")
        attrs = entries[0]["attributes"]
        sd = SecurityDescriptor.from_bytes(attrs["ntsecuritydescriptor"][0])
        return sd, read_token(attrs.get(TOKEN_ATTRIBUTE.lower()))

    def plan_sd(state):
        acl = plan_acl(state[0], want)
        return acl if acl["changed"] else None

    def write(state, acl):
        sd, token = state
        sd.dacl = acl["aces"]
        if acl["owner"]:
            sd.owner = acl["owner"]["after"]
        session.modify_guarded(dn, pending, (TOKEN_ATTRIBUTE, token, next_token(token)), sd.to_bytes(), SD_FLAGS)
        pending.clear()  # the attributes went with the first successful write

    if plan["created"]:
        converge_guarded(read, plan_sd, write, dn)  # reads back what the add stored
    elif plan["acl"]["changed"]:
        token = read_token(have["template"]["attributes"].get(TOKEN_ATTRIBUTE.lower()))
        converge_guarded(read, plan_sd, write, dn, state=(have["sd"], token))
    for item in plan["publish"]:
        session.add_values(item["dn"], "certificateTemplates", [want["name"]])
    for item in plan["unpublish"]:
        session.delete_values(item["dn"], "certificateTemplates", [want["name"]])


def run(module: AnsibleModule) -> dict:
    p = module.params
    merge_connection(p)
    for warning in check_settings(p):
        module.warn(warning)
    # validate the options before any I/O (ValueError names what is wrong)
    check_template_name(p["name"])
    build_template_attributes(dict({k: p[k] for k in OPTION_KEYS if p.get(k) is not None}, name=p["name"]), None, "")
    pks = PKS.format(forest=base_dn_from_dns(p["forest_dns_name"]))
    session = connect(p["servers"], p)
    try:
        have = read_pki(session, pks, p["name"], p.get("source_template"))
        want, extra = read_want(session, p, pks)
        have.update(extra)
        plan = plan_managed_template(want, have)
        diff = plan_diff(plan, have)
        broad = sorted(n for n, sid in want["enroll_names"].items() if is_broad(sid))
        if broad:
            module.warn(f"allow_broad_enroll is set: {', '.join(broad)} can enroll in {p['name']}")
        if plan["changed"] and not module.check_mode:
            apply(session, plan, want, have)
            reread = read_pki(session, pks, p["name"], p.get("source_template"))
            again = plan_managed_template(want, dict(reread, **extra))
            if again["changed"]:
                left = plan_diff(again, have)["after"]
                raise LdapError("verify", f"{plan['dn']} does not hold what was written; still different:\n{left}")
        return {
            "changed": plan["changed"],
            "distinguished_name": plan["dn"],
            "oid": plan["oid"],
            "created": plan["created"],
            "oid_object_created": plan["oid_object"]["dn"] if plan["oid_object"] else None,
            "changes": {
                a: {k: [value_text(v) for v in c[k]] for k in ("before", "after")} for a, c in plan["changes"].items()
            },
            "owner": plan["acl"]["owner"],
            "added_aces": [ace.to_sddl() for ace in plan["acl"]["added"]],
            "removed_aces": [ace.to_sddl() for ace in plan["acl"]["removed"]],
            "published": [item["ca"] for item in plan["publish"]],
            "unpublished": [item["ca"] for item in plan["unpublish"]],
            "diff": diff,
            "ldap_operations": dict(session.ops),
        }
    finally:
        session.close()


def main() -> None:
    run_ldap_module(argument_spec(), run, AnsibleModule)


if __name__ == "__main__":
    main()
