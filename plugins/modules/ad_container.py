#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ad_container
short_description: Ensure an AD container for AMT computer objects, with the site server's rights, in every domain
description:
  - Ensures an organizational unit or container at the same path in every listed Active Directory domain, as
    Configuration Manager 2007 SP1 out of band management requires, and grants the primary site server's computer
    account the rights to publish AMT computer objects in it.
  - Speaks LDAP to the domain controllers from the controller (ldap3); no Windows host is needed.
  - Manages only the access control entries it owns; every other ACE is left as it is. New ACEs are placed in
    canonical order (explicit deny, explicit allow, inherited).
  - Reads everything first (one search per domain for the container and its DACL, one for the principal), plans,
    and writes only where something differs, once per domain. Nothing is written when any domain cannot be read.
  - Concurrent runs cannot lose each other's ACEs. Active Directory has no conditional write for security
    descriptors, so every DACL write carries a compare-and-swap on a token in the container's C(extensionName)
    attribute (C(oob-prep:dacl-serial:N)) in the same, atomic modify request; a run whose token is stale re-reads,
    re-plans and tries again (up to 5 times). An ACE that a person or another tool adds in the milliseconds between
    this module's read and its write can still be lost, as with any tool that edits a DACL.
  - Never deletes a container.
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
options:
  domains:
    description:
      - Every domain that holds AMT computers. The container is ensured in each.
    type: list
    elements: dict
    required: true
    suboptions:
      dns_name:
        description: The domain's DNS name.
        type: str
        required: true
      base_dn:
        description: The domain's base DN. Derived from O(domains[].dns_name) when omitted.
        type: str
      servers:
        description:
          - Domain controllers to use, tried in order. Each is a host name, C(host:port), or a dict with C(host)
            (the name in the DC's certificate and Kerberos service name), optional C(address) (connect here instead of
            resolving C(host)) and optional C(port).
        type: list
        elements: raw
        required: true
  path:
    description:
      - The container's names from the domain root inward, for example V([Management, AMT Computers]).
      - Names are plain text; the module escapes them for DNs and filters.
    type: list
    elements: str
    required: true
  object_class:
    description:
      - V(organizationalUnit) creates C(OU=) objects, V(container) creates C(CN=) objects.
    type: str
    choices: [organizationalUnit, container]
    default: organizationalUnit
  create_parents:
    description:
      - Create missing parents of the container (with the same object class). Otherwise a missing parent is an error.
      - Parents it creates are protected from deletion too when O(protect_from_deletion=true); the diff names every
        object it creates.
    type: bool
    default: false
  principal:
    description:
      - Who gets the rights, usually the primary site server's computer account (V(SCCM01$)).
      - A sAMAccountName (of a user, computer or group) or a SID (V(S-1-5-21-...)).
    type: str
    required: true
  principal_domain:
    description:
      - The DNS name of the domain where O(principal) is looked up. The first listed domain when omitted. Its SID is
        then granted in every domain.
      - A domain that is not listed (for example an empty forest root that holds the site server but no AMT
        computers) needs O(principal_servers).
    type: str
  principal_servers:
    description:
      - DCs of O(principal_domain), when the principal is looked up in a domain that is not listed in O(domains) (or
        through other DCs). Same forms as O(domains[].servers).
    type: list
    elements: raw
  principal_base_dn:
    description: The base DN of O(principal_domain) when O(principal_servers) is given; derived from its DNS name
      when omitted.
    type: str
  rights:
    description:
      - V(full_control) is what Configuration Manager documents. Full control on the container and all descendants.
      - V(least_privilege) grants create/delete of computer objects on the container and full control on
        descendant computer objects only. The site server can then not change the container itself or other
        object classes in it, which Microsoft does not document as sufficient; use it where your security policy
        demands it and test provisioning.
      - ACEs of the other mode that this module set are removed.
    type: str
    choices: [full_control, least_privilege]
    default: full_control
  protect_from_deletion:
    description:
      - V(true) adds a deny of Delete and Delete-tree for Everyone on the container, as Active Directory Users and
        Computers does. V(false) removes exactly that ACE. Omit to leave it as it is.
    type: bool
  state:
    description:
      - V(present) ensures the container and the rights. V(absent) removes the rights ACEs this module owns; the
        container stays.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - oob.prep.oob_action_groups.ldap
  - oob.prep.oob_ldap
attributes:
  check_mode:
    support: full
    description: Reads and plans; writes nothing.
  diff_mode:
    support: full
    description: Shows the container's explicit ACEs as SDDL before and after, per domain.
notes:
  - The account that binds needs the right to create the container (or its parents) and Modify permissions on it.
seealso:
  - name: How to Prepare Active Directory Domain Services for Out of Band Management
    description: The requirement this module implements.
    link: https://learn.microsoft.com/en-us/previous-versions/system-center/configuration-manager-2007/cc161804(v=technet.10)
"""

EXAMPLES = r"""
- name: Ensure the AMT container and the site server's rights in both domains
  ad_container:
    domains:
      - dns_name: corp.example.com
        servers: [dc01.corp.example.com, dc02.corp.example.com]
      - dns_name: emea.corp.example.com
        servers: [dc01.emea.corp.example.com]
    path: [Management, AMT Computers]
    create_parents: true
    principal: SCCM01$
    principal_domain: corp.example.com
    protect_from_deletion: true
    auth: kerberos
    ca_file: /etc/pki/corp-root.pem
  delegate_to: localhost

- name: Least privilege instead of full control (see the trade-off in the rights option)
  ad_container:
    domains: [{dns_name: corp.example.com, servers: [dc01.corp.example.com]}]
    path: [AMT Computers]
    principal: SCCM01$
    rights: least_privilege
    bind_user: svc-oobprep@corp.example.com
    bind_password: "{{ vault_oob_ldap_bind_password }}"
"""

RETURN = r"""
checks:
  description: >-
    The readiness row of each domain (id C(ad.container.<domain>), row C(ad_container)), from the state read before
    any change - pass when nothing is to be done, fail naming a missing container or the ACEs that differ.
  returned: success
  type: list
  elements: dict
failed_checks:
  description: The checks that failed.
  returned: success
  type: list
  elements: dict
warned_checks:
  description: The checks that warned (none).
  returned: success
  type: list
  elements: dict
principal_sid:
  description: The SID the rights are granted to.
  returned: success
  type: str
  sample: S-1-5-21-1060923269-3126424444-3273150578-1103
containers:
  description: One entry per domain.
  returned: success
  type: list
  elements: dict
  contains:
    domain:
      description: The domain's DNS name.
      type: str
      sample: corp.example.com
    distinguished_name:
      description: The container's DN (also in check mode).
      type: str
      sample: OU=AMT Computers,OU=Management,DC=corp,DC=example,DC=com
    created:
      description: The DNs created (or, in check mode, that would be), outermost first.
      type: list
      elements: str
    added:
      description: The ACEs added, as SDDL.
      type: list
      elements: str
      sample: ["(A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1060923269-3126424444-3273150578-1103)"]
    removed:
      description: The ACEs removed, as SDDL.
      type: list
      elements: str
    server:
      description: The DC that was used.
      type: str
    ldap_operations:
      description: LDAP searches and writes made in this domain (the principal lookup counts in its domain).
      type: dict
      sample: {searches: 2, writes: 0}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.checks import check, summary
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import (
    LdapError,
    check_settings,
    connect,
    converge_guarded,
    domains_argument_spec,
    ldap_argument_spec,
    merge_connection,
    resolve_principals,
    run_ldap_module,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.container_plan import (
    TOKEN_ATTRIBUTE,
    explicit_sddl_lines,
    next_token,
    plan_dacl,
    protection_ace,
    read_token,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import (
    base_dn_from_dns,
    container_dn,
    parse_server,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    SecurityDescriptor,
    plan_owned_aces,
    sid_to_bytes,
)

CLASS_NAMES = {"organizationalunit": "organizationalUnit", "container": "container"}


def argument_spec() -> dict:
    spec = ldap_argument_spec()
    spec.update(
        domains=domains_argument_spec(required=True),
        path=dict(type="list", elements="str", required=True),
        object_class=dict(type="str", default="organizationalUnit", choices=["organizationalUnit", "container"]),
        create_parents=dict(type="bool", default=False),
        principal=dict(type="str", required=True),
        principal_domain=dict(type="str"),
        principal_servers=dict(type="list", elements="raw"),
        principal_base_dn=dict(type="str"),
        rights=dict(type="str", default="full_control", choices=["full_control", "least_privilege"]),
        protect_from_deletion=dict(type="bool"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    return spec


REMEDY = "playbooks/ad.yml (--tags area::ad): creates the container and sets the site server's rights"


class Domain:
    """One domain's target: its DNs, its session, what was read, what is planned."""

    def __init__(self, spec: dict, path: list, object_class: str):
        self.dns_name = spec["dns_name"].rstrip(".").lower()
        self.base_dn = spec.get("base_dn") or base_dn_from_dns(self.dns_name)
        self.servers = [parse_server(s) for s in spec["servers"]]
        if not self.servers:
            raise ValueError(f"domain {self.dns_name}: servers must list at least one domain controller")
        self.levels = container_dn(path, object_class, self.base_dn)
        self.dn = self.levels[-1]
        self.session = None
        self.sd = None  # SecurityDescriptor of the container, None when it does not exist
        self.token = None  # our write token (compare-and-swap), see oob_ldap.Session.modify_guarded
        self.missing: list[str] = []  # levels of the path that do not exist (yet)
        self.to_create: list[str] = []
        self.plan: dict = {}


def validate(params: dict) -> list[Domain]:
    """Every input check that needs no I/O, so bad input never leads to a partial write."""
    if not params["domains"]:
        raise ValueError("domains must list at least one domain")
    domains = [Domain(d, params["path"], params["object_class"]) for d in params["domains"]]
    names = [d.dns_name for d in domains]
    if len(set(names)) != len(names):
        raise ValueError(f"a domain is listed twice: {names}")
    pdom = (params.get("principal_domain") or names[0]).rstrip(".").lower()
    if pdom not in names and not params.get("principal_servers"):
        raise ValueError(f"principal_domain {pdom} is not one of the listed domains ({', '.join(names)}): give "
                         "principal_servers (its DCs) to look the principal up there")  # fmt: skip
    principal = params["principal"]
    if not principal or not principal.strip():
        raise ValueError("principal must not be empty")
    if principal.upper().startswith("S-1-"):
        sid_to_bytes(principal)  # raises ValueError for a malformed SID
    return domains


def read_container(domain: Domain) -> None:
    attrs = ["nTSecurityDescriptor", "objectClass", TOKEN_ATTRIBUTE]
    entries = domain.session.search(domain.dn, "(objectClass=*)", attrs, dacl_only=True)
    if entries:
        domain.token = read_token(entries[0]["attributes"].get(TOKEN_ATTRIBUTE.lower()))
        raw = entries[0]["attributes"].get("ntsecuritydescriptor")
        if not raw:
            raise LdapError(
                "rights",
                f"{domain.dn}: the DC returned no security descriptor; "
                f"the bind account {domain.session.user} cannot read its permissions",
            )
        domain.sd = SecurityDescriptor.from_bytes(raw[0])
        domain.missing = []
    else:
        domain.sd = None
        domain.missing = [dn for dn in domain.levels if not _exists(domain, dn)]


def _exists(domain: Domain, dn: str) -> bool:
    if dn == domain.levels[-1]:
        return False
    return bool(domain.session.search(dn, "(objectClass=*)", ["objectClass"]))


def protect_parent(session, dn: str) -> None:
    """Deny Delete and Delete-tree to Everyone on a parent this module created (as on the container itself)."""

    def read():
        entries = session.search(dn, "(objectClass=*)", ["nTSecurityDescriptor", TOKEN_ATTRIBUTE], dacl_only=True)
        attrs = entries[0]["attributes"] if entries else {}
        if not attrs.get("ntsecuritydescriptor"):
            raise LdapError("rights", f"{dn}: the DC returned no security descriptor for the parent just created")
        return SecurityDescriptor.from_bytes(attrs["ntsecuritydescriptor"][0]), read_token(
            attrs.get(TOKEN_ATTRIBUTE.lower())
        )

    def plan(state):
        result = plan_owned_aces(state[0].dacl or [], [protection_ace()], [])
        return result if result["added"] else None

    def write(state, planned):
        sd, token = state
        sd.dacl = planned["aces"]
        session.modify_guarded(dn, {}, (TOKEN_ATTRIBUTE, token, next_token(token)), sd.to_bytes())

    converge_guarded(read, plan, write, dn)


def apply_domain(domain: Domain, params: dict, sid: str) -> None:
    """Create what is missing, then write the DACL (compare-and-swap, oob_ldap.converge_guarded) until our ACEs are
    in it."""
    for dn in domain.missing:
        try:
            domain.session.add(dn, params["object_class"])
        except LdapError as exc:
            if exc.kind != "exists":  # a concurrent run created it first: fine
                raise
        if dn != domain.dn and params["protect_from_deletion"]:
            protect_parent(domain.session, dn)

    def read(_domain=domain):
        read_container(_domain)
        return _domain

    def plan(state):
        result = plan_dacl(state.sd.dacl or [], sid, params["rights"], params["state"], params["protect_from_deletion"])
        return result if result["added"] or result["removed"] else None

    def write(state, planned):
        state.sd.dacl = planned["aces"]
        token = (TOKEN_ATTRIBUTE, state.token, next_token(state.token))
        state.session.modify_guarded(state.dn, {}, token, state.sd.to_bytes())

    converge_guarded(read, plan, write, domain.dn, state=None if domain.missing else domain)


def _create_line(dn: str, domain: Domain, params: dict) -> str:
    protected = " (protected from deletion)" if dn != domain.dn and params["protect_from_deletion"] else ""
    return f"create {dn}{protected}\n"


def domain_check(domain: Domain, params: dict) -> dict:
    """The readiness row of one domain (seed row ``ad_container``), from the state read before any change: a pass
    when nothing is to be done, else a failure naming what is missing or wrong."""
    cid, who = f"ad.container.{domain.dns_name}", params["principal"]
    if params["state"] == "absent":
        return check(cid, "ad_container", "skip", f"{domain.dns_name}: state=absent removes {who}'s rights")
    if domain.missing:
        return check(
            cid,
            "ad_container",
            "fail",
            f"{domain.dn} does not exist in {domain.dns_name}"
            + (f" (nor {', '.join(domain.missing[:-1])})" if len(domain.missing) > 1 else ""),
            REMEDY,
        )
    wrong = [f"missing {a.to_sddl()}" for a in domain.plan["added"]]
    wrong += [f"to remove {a.to_sddl()}" for a in domain.plan["removed"]]
    if wrong:
        return check(
            cid,
            "ad_container",
            "fail",
            f"{domain.dn} in {domain.dns_name}: the explicit ACEs of {who} "
            f"({params['rights']}) and the deletion protection differ: {'; '.join(wrong)}",
            REMEDY,
        )
    protected = " and protection from deletion" if params["protect_from_deletion"] else ""
    evidence = f"{domain.dn} exists in {domain.dns_name} with {who}'s {params['rights']} ACEs{protected}"
    return check(cid, "ad_container", "pass", evidence)


def run(module: AnsibleModule) -> dict:
    params = module.params
    merge_connection(params)
    for warning in check_settings(params):
        module.warn(warning)
    domains = validate(params)
    pdom = (params.get("principal_domain") or domains[0].dns_name).rstrip(".").lower()
    try:
        # 1. read every domain before planning anything
        sid = None
        principal = params["principal"]
        if params.get("principal_servers"):  # the principal's domain is not (or not only) one of these
            lookup = connect(params["principal_servers"], params)
            try:
                base = params.get("principal_base_dn") or base_dn_from_dns(pdom)
                sid = resolve_principals(lookup, base, [principal], pdom)[principal]
            finally:
                lookup.close()
        for domain in sorted(domains, key=lambda d: d.dns_name != pdom):  # the principal's domain first
            domain.session = connect(domain.servers, params)
            if sid is None:
                sid = resolve_principals(domain.session, domain.base_dn, [principal], domain.dns_name)[principal]
            read_container(domain)
            if (
                domain.missing
                and len(domain.missing) > 1
                and not params["create_parents"]
                and params["state"] == "present"
            ):
                raise LdapError("parent", f"{domain.missing[0]} does not exist in {domain.dns_name}: create it, "
                                          "or set create_parents=true (in the estate: oob_amt_container."
                                          "create_parents)")  # fmt: skip
        # 2. plan
        changed = False
        diffs, results = [], []
        for domain in domains:
            current = domain.sd.dacl if domain.sd else []
            if params["state"] == "absent" and domain.sd is None:
                domain.plan = {"aces": [], "added": [], "removed": []}
                domain.missing = []  # absent never creates
            else:
                domain.plan = plan_dacl(
                    current or [], sid, params["rights"], params["state"], params["protect_from_deletion"]
                )
            domain.to_create = list(domain.missing)
            domain_changed = bool(domain.missing or domain.plan["added"] or domain.plan["removed"])
            changed = changed or domain_changed
            diffs.append({
                "before_header": f"{domain.dns_name}: {domain.dn}",
                "after_header": f"{domain.dns_name}: {domain.dn}",
                "before": "" if domain.sd is None else explicit_sddl_lines(current),
                "after": "".join(_create_line(dn, domain, params) for dn in domain.to_create)
                + (explicit_sddl_lines(domain.plan["aces"]) if domain_changed else explicit_sddl_lines(current)),
            })  # fmt: skip
            results.append(domain)
        rows = [domain_check(d, params) for d in results]  # the state read, before anything is applied
        # 3. apply
        if changed and not module.check_mode:
            for domain in domains:
                if domain.missing or domain.plan["added"] or domain.plan["removed"]:
                    apply_domain(domain, params, sid)
    finally:
        for domain in domains:
            if domain.session:
                domain.session.close()
    return {
        "changed": changed,
        "principal_sid": sid,
        "diff": diffs,
        **summary(rows),
        "containers": [
            {
                "domain": d.dns_name,
                "distinguished_name": d.dn,
                "created": d.to_create,
                "added": [a.to_sddl() for a in d.plan["added"]],
                "removed": [a.to_sddl() for a in d.plan["removed"]],
                "server": d.session.server["host"] if d.session else None,
                "ldap_operations": dict(d.session.ops) if d.session else {},
            }
            for d in results
        ],
    }


def main() -> None:
    run_ldap_module(argument_spec(), run, AnsibleModule)


if __name__ == "__main__":
    main()
