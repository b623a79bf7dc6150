#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ad_forest_info
short_description: Check that the AMT computers, the site server and the service point are one forest and namespace
description:
  - Read-only readiness checks for the seed's row "Computers that will be managed out of band must belong to the same
    Active Directory forest as the out of band service point's forest and must share the same namespace", and its
    list of computers that cannot be provisioned (workgroup computers, another forest, a noncontiguous namespace).
  - Reads the forest's domains from the crossRef objects of its Partitions container (one search), then, in each
    domain of O(domains), the computer objects of the service point, the site server and the discovered AMT
    computers (one search per domain). One session per list of DCs; the forest root's DCs serve its domain too.
  - Two names share a namespace when one tree of the forest holds both - the tree is the forest's shortest domain
    that is a DNS suffix of the name (computer1.northwindtraders.com and contoso.com are two trees, as in the seed's
    example).
  - Check ids - C(forest.service_point), C(forest.site_server), C(forest.service_point.namespace),
    C(forest.suffix.<suffix>) (row C(same_forest_namespace)); C(forest.amt.<address>) (row C(no_workgroup_computers),
    or C(same_forest_namespace) when the computer is in another forest or tree).
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.ldap
  - oob.prep.oob_ldap
  - oob.prep.oob_ldap_forest
options:
  domains:
    description: The domains that hold AMT computers (and the site server's), with their DCs; computer objects are
      looked up there.
    type: list
    elements: dict
    default: []
    suboptions:
      dns_name:
        description: The domain's DNS name.
        type: str
        required: true
      base_dn:
        description: The domain's base DN. Derived from O(domains[].dns_name) when omitted.
        type: str
      servers:
        description: The domain's DCs, tried in order (same forms as O(servers)).
        type: list
        elements: raw
        required: true
  service_point:
    description: The out of band service point - C(fqdn), C(computer_account) and C(domain) (its computer account's
      domain).
    type: dict
    required: true
  site_server:
    description: The primary site server - C(computer_account) and C(domain).
    type: dict
    required: true
  amt_suffixes:
    description: The AMT subnets' DNS suffixes (DHCP option 015).
    type: list
    elements: str
    default: []
  amt_computers:
    description: Discovered AMT computers (C(amt_discovery)' C(devices)) - C(address), C(hostname), C(domain).
    type: list
    elements: dict
    default: []
attributes:
  check_mode:
    support: full
    description: Read-only; the same checks run in check mode.
"""

EXAMPLES = r"""
- name: One forest, one namespace, no workgroup computers
  ad_forest_info:
    servers: [dc01.corp.example.com]
    forest_dns_name: corp.example.com
    domains: [{dns_name: corp.example.com, servers: [dc01.corp.example.com]}]
    service_point: {fqdn: oobsp.corp.example.com, computer_account: OOBSP$, domain: corp.example.com}
    site_server: {computer_account: SCCM01$, domain: corp.example.com}
    amt_suffixes: [corp.example.com]
    amt_computers: "{{ discovered.devices }}"
    connection: "{{ oob_ldap }}"
"""

RETURN = r"""
checks:
  description: Every check with its id, row, status (V(pass), V(fail), V(skip)), evidence and remedy.
  returned: success
  type: list
  elements: dict
failed_checks:
  description: The checks that failed.
  returned: success
  type: list
  elements: dict
warned_checks:
  description: The checks that warned.
  returned: success
  type: list
  elements: dict
forest_domains:
  description: The DNS names of the forest's domains.
  returned: success
  type: list
  elements: str
ldap_operations:
  description: LDAP searches and writes per DC session, by the DC's name (writes are always 0).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.checks import summary
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import (
    check_settings,
    connect,
    domains_argument_spec,
    forest_argument_spec,
    run_ldap_module,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.forest import (
    checks,
    computer_filter,
    forest_domains,
    name,
    wanted,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import base_dn_from_dns

CROSSREF_FILTER = "(&(objectClass=crossRef)(systemFlags:1.2.840.113556.1.4.803:=2))"


def argument_spec() -> dict:
    spec = forest_argument_spec()
    spec.update(
        domains=domains_argument_spec(default=[]),
        service_point=dict(type="dict", required=True),
        site_server=dict(type="dict", required=True),
        amt_suffixes=dict(type="list", elements="str", default=[]),
        amt_computers=dict(type="list", elements="dict", default=[]),
    )  # fmt: skip
    return spec


def _text(attrs: dict, key: str) -> str:
    values = attrs.get(key.lower()) or []
    return values[0].decode("utf-8", "replace") if values else ""


def run(module: AnsibleModule) -> dict:
    p = module.params
    for warning in check_settings(p):
        module.warn(warning)
    forest = name(p["forest_dns_name"])
    sp = dict(p["service_point"])
    site = dict(p["site_server"])
    sp.setdefault("domain", site.get("domain"))
    sessions = {}  # one session per DC list: the forest root's DCs serve its domain's lookups too
    try:
        root = sessions[repr(p["servers"])] = connect(p["servers"], p)
        refs = root.search(f"CN=Partitions,CN=Configuration,{base_dn_from_dns(forest)}", CROSSREF_FILTER,
                           ["dnsRoot", "systemFlags", "nCName"], scope="LEVEL")  # fmt: skip
        domains = forest_domains([{"dnsRoot": _text(r["attributes"], "dnsRoot"),
                                   "systemFlags": _text(r["attributes"], "systemFlags")} for r in refs])  # fmt: skip
        if not domains:
            raise ValueError(f"no domain crossRef under CN=Partitions of {forest}: is {forest} the forest root "
                             "domain?")  # fmt: skip
        given = {name(d["dns_name"]): d for d in p["domains"]}
        given.setdefault(forest, {"dns_name": forest, "servers": p["servers"], "base_dn": None})
        found, searched = {}, []
        for dom, spec in sorted(given.items()):
            if dom not in domains:
                continue  # reported by checks() as not in the forest when it matters
            want = wanted(dom, sp, site, p["amt_computers"], domains)
            searched.append(dom)
            found[dom] = []
            if not (want["fqdns"] or want["sams"]):
                continue
            key = repr(spec["servers"])
            session = sessions[key] = sessions.get(key) or connect(spec["servers"], p)
            entries = session.search(spec.get("base_dn") or base_dn_from_dns(dom), computer_filter(want),
                                     ["dNSHostName", "sAMAccountName"], scope="SUBTREE")  # fmt: skip
            found[dom] = [{"dn": e["dn"], "dNSHostName": _text(e["attributes"], "dNSHostName"),
                           "sAMAccountName": _text(e["attributes"], "sAMAccountName")} for e in entries]  # fmt: skip
    finally:
        for session in sessions.values():
            session.close()
    ops = {s.server["host"]: dict(s.ops) for s in sessions.values()}
    rows = checks(forest, domains, searched, found, service_point=sp, site_server=site,
                  suffixes=p["amt_suffixes"], computers=p["amt_computers"])  # fmt: skip
    return {"changed": False, "forest_domains": domains, "ldap_operations": ops, **summary(rows)}


def main() -> None:
    run_ldap_module(argument_spec(), run, AnsibleModule)


if __name__ == "__main__":
    main()
