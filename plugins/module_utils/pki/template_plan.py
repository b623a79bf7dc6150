# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole plan for one certificate template this project manages. Pure: no I/O, no Ansible.

``plan_managed_template(want, have)`` takes what the playbook asks for and what was read from the forest's
configuration partition (the template and its security descriptor, the source template, the template's
msPKI-Enterprise-Oid object, every enrollment service) and returns everything a run must write, in the order that a
later run can always repair: the OID object, the template (attributes), its security descriptor (owner and DACL),
its publication. The module shows that plan as the diff (in check mode too) and applies it; re-planning what it then
reads back must give an empty plan.

Rules, with their sources:
- Attributes: pki.template.build_template_attributes ([MS-CRTD]); a new template is a duplicate of
  ``source_template`` (or of pki.template.V2_BASE), an existing one keeps everything the options do not name.
- Guardrail: a stock template (CT_FLAG_IS_DEFAULT, 0x10000 in ``flags``, [MS-CRTD] 2.4) or a version 1 template is
  never turned into a managed one unless ``manage_stock`` is set: ``name: WebServer`` would otherwise rewrite the
  template every web server in the forest enrolls from.
- Security descriptor of a new template: the source template's owner and explicit ACEs, as the Certificate Templates
  console's "Duplicate Template" copies them (its inherited ACEs, which the new template inherits as well, are
  planned with but not written); without a source, the schema's defaultSecurityDescriptor of
  pKICertificateTemplate ([MS-ADSC] PKI-Certificate-Template:
  ``D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)(A;;RPLCLORC;;;AU)``).
  Inherited ACEs are the DC's business and are never written.
- Owner: ``owner`` (default: Enterprise Admins of the forest root). An owner may always rewrite the DACL, so a
  non-admin owner is an ESC4 path.
- DACL: Read (RPLCLORC) and Enroll (the 0e10c968-... extended right) for ``enroll_names``; broad groups (Everyone,
  Authenticated Users, Users, Domain Users, Domain Computers) lose every right but read (an ACE that also reads is
  split, not dropped) unless ``allow_broad_enroll``; Domain Admins and Enterprise Admins lose Enroll and AutoEnroll
  (ConfigMgr's PKI procedure) unless ``keep_admin_enroll``: their explicit ACEs lose the rights, and where they can
  enroll through an inherited ACE (Enterprise Admins' full control inherited from the configuration partition), an
  explicit deny of Enroll is added, since an inherited ACE cannot be edited on the template. Every other ACE is kept,
  in canonical order.
- OID: a new template's OID is the forest OID plus two arcs, and its OID object's CN is the second arc plus 32 hex
  digits, as Windows makes them; the arcs and hex are derived from the template's name (SHA-256), not drawn at random,
  so that a check run shows the OID a real run then writes, and a template created again gets its OID object back
  (docs/adr/0003). An existing template keeps its OID; its OID object is recreated when it is missing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.oob.prep.plugins.module_utils.ldap.names import escape_dn_value
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    ACCESS_ALLOWED,
    ACCESS_ALLOWED_OBJECT,
    ACCESS_DENIED_OBJECT,
    CONTROL_ACCESS,
    FULL_CONTROL,
    INHERIT_ONLY,
    LIST_CHILDREN,
    LIST_OBJECT,
    READ_CONTROL,
    READ_PROPERTY,
    SE_DACL_PROTECTED,
    SE_SELF_RELATIVE,
    SELF_WRITE,
    WRITE_PROPERTY,
    Ace,
    SecurityDescriptor,
    plan_owned_aces,
    sid_from_bytes,
    sid_to_bytes,
)
from ansible_collections.oob.prep.plugins.module_utils.pki.checks import AUTOENROLL_GUID, ENROLL_GUID, is_broad
from ansible_collections.oob.prep.plugins.module_utils.pki.template import (
    GENERAL_FLAGS,
    build_template_attributes,
    bumped_minor_revision,
    normalise_flag,
    plan_template,
)

READ = READ_PROPERTY | LIST_CHILDREN | LIST_OBJECT | READ_CONTROL  # "RPLCLORC", what the templates console grants
GENERIC_ALL, GENERIC_EXECUTE, GENERIC_WRITE, GENERIC_READ = 0x10000000, 0x20000000, 0x40000000, 0x80000000
# [MS-ADTS] 5.1.3.2: how AD maps the generic rights (GENERIC_EXECUTE is RC|LC)
_GENERIC_MAP = (
    (GENERIC_ALL, FULL_CONTROL), (GENERIC_EXECUTE, READ_CONTROL | LIST_CHILDREN),
    (GENERIC_WRITE, READ_CONTROL | SELF_WRITE | WRITE_PROPERTY), (GENERIC_READ, READ),
)  # fmt: skip
ENTERPRISE_ADMINS_RID, DOMAIN_ADMINS_RID = 519, 512
SYSTEM, AUTHENTICATED_USERS = "S-1-5-18", "S-1-5-11"
ENROLL_RIGHTS = frozenset((ENROLL_GUID, AUTOENROLL_GUID))
TEMPLATE_OID_FLAG = "1"  # msPKI-Enterprise-Oid flags: 1 = certificate template OID ([MS-CRTD] 2.4 of the OID object)


class PolicyError(ValueError):
    """The plan refuses what was asked (``kind`` names why: stock, policy, ca, oid, template)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def domain_rid_sid(domain_sid: str, rid: int) -> str:
    """``S-1-5-21-a-b-c`` + RID, e.g. Enterprise Admins (519) of the forest root."""
    return sid_from_bytes(sid_to_bytes(f"{domain_sid}-{rid}"))[0]


def _rid(sid: str) -> int | None:
    parts = sid.split("-")
    return int(parts[-1]) if sid.upper().startswith("S-1-5-21-") and len(parts) == 8 else None


def is_domain_or_enterprise_admins(sid: str) -> bool:
    """Domain Admins (RID 512) of any domain, or Enterprise Admins (519)."""
    return _rid(sid) in (DOMAIN_ADMINS_RID, ENTERPRISE_ADMINS_RID)


def enroll_aces(sid: str) -> list[Ace]:
    """Read + Enroll, as the Certificate Templates console writes them."""
    return [
        Ace(ACCESS_ALLOWED, 0, READ, sid),
        Ace(ACCESS_ALLOWED_OBJECT, 0, CONTROL_ACCESS, sid, object_type=ENROLL_GUID),
    ]


def schema_default_aces(root_sid: str) -> list[Ace]:
    """The pKICertificateTemplate class's defaultSecurityDescriptor DACL, for the forest root domain ([MS-ADSC])."""
    return [
        Ace(ACCESS_ALLOWED, 0, FULL_CONTROL, domain_rid_sid(root_sid, DOMAIN_ADMINS_RID)),
        Ace(ACCESS_ALLOWED, 0, FULL_CONTROL, SYSTEM),
        Ace(ACCESS_ALLOWED, 0, READ, AUTHENTICATED_USERS),
    ]


def deny_enroll_ace(sid: str) -> Ace:
    """An explicit deny of Enroll: what takes Enroll from a principal that holds it through an inherited ACE."""
    return Ace(ACCESS_DENIED_OBJECT, 0, CONTROL_ACCESS, sid, object_type=ENROLL_GUID)


def inherited_enrollers(aces: Sequence[Ace], match) -> list[str]:
    """SIDs (for which ``match`` holds) that an inherited allow ACE lets enroll: control access on the object, or
    the Enroll / AutoEnroll right. Only an explicit deny can take that away (an explicit ACE comes first)."""
    sids: list[str] = []
    for ace in aces:
        if not ace.is_inherited or ace.is_deny or ace.flags & INHERIT_ONLY or not match(ace.sid):
            continue
        if _expanded(ace.mask) & CONTROL_ACCESS and ace.object_type in (None, *ENROLL_RIGHTS) and ace.sid not in sids:
            sids.append(ace.sid)
    return sids


def _expanded(mask: int) -> int:
    for generic, rights in _GENERIC_MAP:
        if mask & generic:
            mask = (mask & ~generic) | rights
    return mask


def reduce_rights(aces: Sequence[Ace], match, remove: int, object_rights: frozenset | None = None) -> dict:
    """Take the rights in ``remove`` away from the explicit allow ACEs of SIDs for which ``match(sid)`` holds.

    An ACE keeps its position and whatever else it grants (a broad group's full control becomes read), and is
    dropped only when nothing is left. ``object_rights``, when given, limits the removal of control access on object
    ACEs to those extended rights (GUIDs); object ACEs for other rights keep it. Generic rights are mapped first
    ([MS-ADTS] 5.1.3.2). Returns {'aces', 'added', 'removed'} (a reduced ACE is one removed and one added).
    """
    new, added, removed = [], [], []
    for ace in aces:
        if ace.is_inherited or ace.ace_type not in (ACCESS_ALLOWED, ACCESS_ALLOWED_OBJECT) or not match(ace.sid):
            new.append(ace)
            continue
        take = remove
        if ace.object_type and object_rights is not None and ace.object_type not in object_rights:
            take &= ~CONTROL_ACCESS
        mask = _expanded(ace.mask)
        if not mask & take:
            new.append(ace)
            continue
        removed.append(ace)
        if mask & ~take:
            kept = Ace(ace.ace_type, ace.flags, mask & ~take, ace.sid, ace.object_type, ace.inherited_object_type)
            new.append(kept)
            added.append(kept)
    return {"aces": new, "added": added, "removed": removed}


def plan_acl(sd: SecurityDescriptor | None, want: Mapping[str, Any]) -> dict:
    """The owner and DACL a managed template must have, from its current descriptor (None: not read or not there).

    Returns {'owner': {'before', 'after'} or None, 'aces': the new DACL, 'added', 'removed', 'changed'}.
    """
    dacl = list(sd.dacl or []) if sd else []
    added, removed = [], []
    if not want.get("allow_broad_enroll"):
        step = reduce_rights(dacl, is_broad, ~READ & 0xFFFFFFFF)
        dacl, added, removed = step["aces"], added + step["added"], removed + step["removed"]
    if not want.get("keep_admin_enroll"):
        step = reduce_rights(dacl, is_domain_or_enterprise_admins, CONTROL_ACCESS, ENROLL_RIGHTS)
        dacl, added, removed = step["aces"], added + step["added"], removed + step["removed"]
    wanted = [ace for sid in (want.get("enroll_names") or {}).values() for ace in enroll_aces(sid)]
    if not want.get("keep_admin_enroll"):
        wanted += [deny_enroll_ace(sid) for sid in inherited_enrollers(dacl, is_domain_or_enterprise_admins)]
    step = plan_owned_aces(dacl, wanted, [])
    dacl, added = step["aces"], added + step["added"]
    # an ACE removed and then put back unchanged is no change
    for ace in [a for a in removed if a in added]:
        removed.remove(ace)
        added.remove(ace)
    owner_before = sd.owner if sd else None
    owner_after = want.get("owner") or owner_before
    owner = {"before": owner_before, "after": owner_after} if owner_after != owner_before else None
    return {
        "owner": owner,
        "aces": dacl,
        "added": added,
        "removed": removed,
        "changed": bool(owner or added or removed),
    }


def derived_oid(forest_oid: str, name: str) -> tuple[str, str]:
    """The OID of a new template and the CN of its msPKI-Enterprise-Oid object, in Windows' format (forest OID +
    an arc of 1000000..16777215 + an arc of 1000000..99999999; CN = second arc + '.' + 32 uppercase hex digits),
    derived from the template's name so that every run (check mode included) computes the same ones."""
    digest = hashlib.sha256(f"oob-prep certificate template:{name.strip().lower()}".encode()).digest()
    first = 1000000 + int.from_bytes(digest[0:4], "big") % (16777215 - 1000000 + 1)
    second = 1000000 + int.from_bytes(digest[4:8], "big") % (99999999 - 1000000 + 1)
    return f"{forest_oid}.{first}.{second}", f"{second}.{digest[8:24].hex().upper()}"


def oid_object_cn(oid: str, name: str) -> str:
    """The CN for the OID object of an existing template's ``oid`` (its last arc + 32 hex digits from the name)."""
    digest = hashlib.sha256(f"oob-prep certificate template:{name.strip().lower()}".encode()).digest()
    return f"{oid.rsplit('.', 1)[-1]}.{digest[8:24].hex().upper()}"


def value_text(value) -> str:
    """An LDAP value as text for a diff or a result: UTF-8 text, or hex for binary values."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8") if value.isascii() else value.hex()
        except UnicodeDecodeError:  # pragma: no cover - isascii() guards it
            return value.hex()
    return str(value)


def _first_text(attrs: Mapping[str, Any] | None, name: str) -> str:
    values = (attrs or {}).get(name.lower()) or []
    return value_text(values[0]) if values else ""


def _is_stock(attrs: Mapping[str, Any]) -> str:
    """Why a template counts as stock ('' if it does not)."""
    version = int(_first_text(attrs, "msPKI-Template-Schema-Version") or 1)
    flags = normalise_flag(_first_text(attrs, "flags") or 0)
    if flags & GENERAL_FLAGS["is_default"]:
        return "a stock template (CT_FLAG_IS_DEFAULT is set in flags)"
    if version == 1:
        return "a version 1 template"
    return ""


def _oid_plan(want, have, template_attrs, display_name) -> tuple[str, dict | None]:
    """(the template's OID, the OID object to add or None)."""
    pks = have["pks"]
    objects = have.get("oid_objects") or []
    if template_attrs is not None:
        oid = _first_text(template_attrs, "msPKI-Cert-Template-OID")
        if not oid:
            raise PolicyError("oid", f"template {want['name']} has no msPKI-Cert-Template-OID; recreate it, or give "
                                     "it its OID back by hand")  # fmt: skip
        cn = oid_object_cn(oid, want["name"])
    else:
        forest_oid = (have.get("forest_oid") or "").strip()
        if not forest_oid:
            raise PolicyError(
                "oid",
                f"the forest OID (msPKI-Cert-Template-OID on CN=OID,{pks}) is empty: an enterprise CA sets it when it "
                "is installed; install one, or set it, first",
            )
        oid, cn = derived_oid(forest_oid, want["name"])
    mine = [o for o in objects if _first_text(o["attributes"], "msPKI-Cert-Template-OID") == oid]
    if mine:
        return oid, None
    clash = [o for o in objects if o["dn"].lower() == f"CN={cn},CN=OID,{pks}".lower()]
    if clash:
        other = _first_text(clash[0]["attributes"], "msPKI-Cert-Template-OID")
        raise PolicyError("oid", f"{clash[0]['dn']} exists with another OID ({other}), not {oid}")
    attributes = {
        "objectClass": ["top", "msPKI-Enterprise-Oid"],
        "msPKI-Cert-Template-OID": [oid],
        "displayName": [display_name],
        "flags": [TEMPLATE_OID_FLAG],
    }
    return oid, {"dn": f"CN={cn},CN=OID,{pks}", "attributes": attributes}


def _publication(want, have) -> tuple[list[dict], list[dict]]:
    cas = have.get("cas") or {}
    missing = [ca for ca in [*want.get("publish_to", []), *want.get("unpublish_from", [])] if ca.lower() not in cas]
    if missing:
        found = ", ".join(sorted(c["name"] for c in cas.values())) or "none"
        raise PolicyError("ca", f"enterprise CA(s) {', '.join(missing)} not found under CN=Enrollment Services,"
                                f"{have['pks']} (found: {found})")  # fmt: skip
    name = want["name"].lower()

    def offers(ca: str) -> bool:
        return name in [t.lower() for t in cas[ca.lower()]["templates"]]

    publish = [{"ca": ca, "dn": cas[ca.lower()]["dn"]} for ca in want.get("publish_to", []) if not offers(ca)]
    unpublish = [{"ca": ca, "dn": cas[ca.lower()]["dn"]} for ca in want.get("unpublish_from", []) if offers(ca)]
    return publish, unpublish


def _check_principals(want: Mapping[str, Any]) -> None:
    broad = sorted(n for n, sid in want.get("enroll_names", {}).items() if is_broad(sid))
    if broad and not want.get("allow_broad_enroll"):
        raise PolicyError("policy", f"refusing Enroll for broad group(s) {', '.join(broad)} on {want['name']}: anyone "
                                    "in them could request certificates from this template; set "
                                    "allow_broad_enroll=true to override")  # fmt: skip
    admins = sorted(n for n, sid in want.get("enroll_names", {}).items() if is_domain_or_enterprise_admins(sid))
    if admins and not want.get("keep_admin_enroll"):
        raise PolicyError("policy", f"{', '.join(admins)} cannot get Enroll on {want['name']}: Domain Admins and "
                                    "Enterprise Admins lose Enroll on the AMT templates; set keep_admin_enroll=true "
                                    "to keep it")  # fmt: skip


def plan_managed_template(want: Mapping[str, Any], have: Mapping[str, Any]) -> dict:
    """Plan one template. ``want``: name, spec (pki.template options), source_template, enroll_names
    ({name: SID}), owner (SID or None), allow_broad_enroll, keep_admin_enroll, manage_stock, publish_to,
    unpublish_from. ``have``: pks (DN of Public Key Services), forest_oid, root_sid (the forest root domain's SID),
    template / source ({'dn', 'attributes'} with lower-case names and raw values, or None), sd (the template's
    SecurityDescriptor or None), oid_objects ([{'dn', 'attributes'}]), cas ({lower name: {'name', 'dn',
    'templates'}}).

    Returns {'dn', 'created', 'oid', 'oid_object', 'attributes', 'changes', 'modify', 'acl', 'sd', 'publish',
    'unpublish', 'changed'}: ``oid_object`` is the object to add (or None); ``attributes`` what a new template is
    created with (None for an existing one); ``modify`` the attributes to replace on an existing one; ``sd`` the
    security descriptor to write (owner and DACL), or None when it stays. Raises PolicyError or ValueError.
    """
    name = want["name"]
    _check_principals(want)
    spec = dict(want.get("spec") or {}, name=name)
    current = have.get("template")
    dn = f"CN={escape_dn_value(name)},CN=Certificate Templates,{have['pks']}"
    if current is not None:
        dn = current["dn"]
        stock = _is_stock(current["attributes"])
        if stock and not want.get("manage_stock"):
            raise PolicyError("stock", f"{name} is {stock}: this module manages its own duplicates and will not "
                                       f"rewrite it. Choose another name (with source_template: {name} to duplicate "
                                       "it), or set manage_stock_template=true to take it over")  # fmt: skip
        attrs = current["attributes"]
        desired = build_template_attributes(spec, attrs, "", create=False)
        template_plan = plan_template(desired, attrs)
        display = _first_text(attrs, "displayName") or name
        sd = have.get("sd")
        if sd is None:
            raise ValueError(f"{dn}: no security descriptor was read")
    else:
        source_name = want.get("source_template")
        source = have.get("source")
        if source_name and source is None:
            raise PolicyError("template", f"source template {source_name!r} not found in CN=Certificate Templates,"
                                          f"{have['pks']}")  # fmt: skip
        desired = build_template_attributes(spec, source["attributes"] if source else None, "", create=True)
        template_plan = plan_template(desired, None)
        display = value_text(desired["displayName"][0])
        source_sd = have.get("source_sd") if source else None
        root_sid = have.get("root_sid")
        # the source's inherited ACEs are what the new template inherits too (same container): they are planned
        # with, so that the plan is what the DC ends up holding, and never written (the DC adds them)
        base = list(source_sd.dacl or []) if source_sd else None
        if base is None:
            if not root_sid:
                raise ValueError("the forest root domain's SID is needed for a template without a source")
            base = schema_default_aces(root_sid)
        protected = source_sd.control & SE_DACL_PROTECTED if source_sd else 0
        sd = SecurityDescriptor(control=SE_SELF_RELATIVE | protected, owner=source_sd.owner if source_sd else None,
                                dacl=base)  # fmt: skip
    oid, oid_object = _oid_plan(want, have, current["attributes"] if current else None, display)
    acl = plan_acl(sd, want)
    new_sd = None
    if acl["changed"] or current is None:
        new_sd = SecurityDescriptor(
            revision=sd.revision, control=sd.control, owner=acl["owner"]["after"] if acl["owner"] else sd.owner,
            group=None if current is None else sd.group, dacl=[a for a in acl["aces"] if current or not a.is_inherited],
            dacl_revision=sd.dacl_revision, order=sd.order,
        )  # fmt: skip
    publish, unpublish = _publication(want, have)
    modify = {attr: c["after"] for attr, c in template_plan["modify"].items()}
    if current is not None and acl["changed"] and not modify:  # clients must notice a change of rights too
        modify = bumped_minor_revision(current["attributes"])
    attributes = None
    if current is None:
        attributes = dict(template_plan["attributes"], **{"msPKI-Cert-Template-OID": [oid]})
    return {
        "dn": dn,
        "created": current is None,
        "oid": oid,
        "oid_object": oid_object,
        "attributes": attributes,
        "changes": template_plan["changes"],
        "modify": modify if current is not None else {},
        "acl": acl,
        "sd": new_sd,
        "publish": publish,
        "unpublish": unpublish,
        "changed": bool(current is None or oid_object or modify or acl["changed"] or publish or unpublish),
    }


def _sddl_lines(aces: Sequence[Ace]) -> list[str]:
    return [ace.to_sddl() for ace in aces if not ace.is_inherited]


def plan_diff(plan: Mapping[str, Any], have: Mapping[str, Any]) -> dict:
    """The plan as Ansible's diff: before and after as lines a PKI admin reads (binary values in hex)."""
    before, after = [], []
    if plan["oid_object"]:
        before.append(f"OID object {plan['oid_object']['dn']}: absent")
        after.append(f"OID object {plan['oid_object']['dn']}: {plan['oid']}")
    if plan["created"]:
        before.append(f"template {plan['dn']}: absent")
        after.append(f"template {plan['dn']}:")
        after += [f"  {a}: {[value_text(v) for v in vals]}" for a, vals in sorted(plan["attributes"].items())]
    else:
        for attr, change in sorted(plan["changes"].items()):
            before.append(f"{attr}: {[value_text(v) for v in change['before']]}")
            after.append(f"{attr}: {[value_text(v) for v in change['after']]}")
    acl = plan["acl"]
    if plan["created"] or acl["changed"]:
        sd = have.get("sd")
        if not plan["created"]:
            before.append(f"owner: {sd.owner}")
            before += ["explicit ACEs:"] + [f"  {line}" for line in _sddl_lines(sd.dacl or [])]
        after.append(f"owner: {plan['sd'].owner}")
        after += ["explicit ACEs:"] + [f"  {line}" for line in _sddl_lines(acl["aces"])]
    for item in plan["publish"]:
        before.append(f"published on {item['ca']}: no")
        after.append(f"published on {item['ca']}: yes")
    for item in plan["unpublish"]:
        before.append(f"published on {item['ca']}: yes")
        after.append(f"published on {item['ca']}: no")
    text = "\n".join
    return {
        "before_header": plan["dn"],
        "after_header": plan["dn"],
        "before": text(before) + "\n" if before else "",
        "after": text(after) + "\n" if after else "",
    }
