# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One forest, one namespace, no workgroup computers: the seed's row

  "Computers that will be managed out of band must belong to the same Active Directory forest as the out of band
  service point's forest and must share the same namespace." ... "The following AMT-based computers cannot be
  provisioned by Configuration Manager: Workgroup computers. Computers that reside in a different Active Directory
  forest ... Computers that reside in the same Active Directory forest ... but do not share the same namespace
  (noncontiguous namespace). For example, an AMT-based computer with the FQDN of computer1.northwindtraders.com
  cannot be provisioned by the out of band service point site system with the FQDN of contoso.com, even if they
  belong to the same Active Directory forest."

Pure: the forest's domains (the crossRef objects of its Partitions container) and the computer objects found in
them in, check rows out. Two names share a namespace when the same tree of the forest holds both: the tree is the
shortest domain of the forest that is a DNS suffix of the name (contoso.com and northwindtraders.com are two trees).
``wanted`` and ``computer_filter`` say what ad_forest_info searches for in each domain.
"""

from __future__ import annotations

from ansible_collections.oob.prep.plugins.module_utils.checks import check
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import escape_filter_value

ROW_FOREST = "same_forest_namespace"
ROW_WORKGROUP = "no_workgroup_computers"
SYSTEM_FLAGS_DOMAIN = 0x3  # FLAG_CR_NTDS_NC | FLAG_CR_NTDS_DOMAIN (MS-ADTS 6.1.1.2.1.1.5): a domain's crossRef


def name(value) -> str:
    return str(value or "").strip().rstrip(".").lower()


def forest_domains(crossrefs: list[dict]) -> list[str]:
    """The DNS names of the forest's domains, from crossRef entries ``{dnsRoot, systemFlags}``."""
    out = []
    for ref in crossrefs:
        flags = int(ref.get("systemFlags") or 0)
        if flags & SYSTEM_FLAGS_DOMAIN == SYSTEM_FLAGS_DOMAIN and ref.get("dnsRoot"):
            out.append(name(ref["dnsRoot"]))
    return sorted(set(out))


def tree_of(dns_name: str, domains: list[str]) -> str | None:
    """The tree of the forest whose namespace holds ``dns_name`` (its shortest domain suffix), or None."""
    dns_name = name(dns_name)
    held = [d for d in domains if dns_name == d or dns_name.endswith("." + d)]
    return min(held, key=lambda d: d.count(".")) if held else None


def owning_domain(dns_name: str, domains: list[str]) -> str | None:
    """The closest domain of the forest that holds ``dns_name`` (its longest domain suffix), or None."""
    dns_name = name(dns_name)
    held = [d for d in domains if dns_name == d or dns_name.endswith("." + d)]
    return max(held, key=lambda d: d.count(".")) if held else None


def _computer(found: dict, domain: str, fqdn: str = "", sam: str = "") -> str | None:
    """The DN of the computer object with this dNSHostName or sAMAccountName in ``domain``, or None."""
    for entry in found.get(domain, []):
        if (fqdn and name(entry.get("dNSHostName")) == name(fqdn)) or (
            sam and str(entry.get("sAMAccountName") or "").lower() == sam.lower()
        ):
            return entry["dn"]
    return None


def checks(forest: str, domains: list[str], searched: list[str], found: dict, *, service_point: dict,
           site_server: dict, suffixes: list[str], computers: list[dict]) -> list[dict]:  # fmt: skip
    """The rows. ``domains``: the forest's domains; ``searched``: the domains whose computer objects were read;
    ``found``: {domain: [{dn, dNSHostName, sAMAccountName}]}; ``service_point``: {fqdn, computer_account, domain};
    ``site_server``: {computer_account, domain}; ``computers``: discovered AMT devices {address, hostname, domain}."""
    rows = []
    listed = ", ".join(domains) or "none"
    sp_fqdn = name(service_point.get("fqdn"))
    sp_tree = tree_of(sp_fqdn, domains)
    fix_estate = "correct the estate (oob_forest, oob_domains, oob_service_point)"

    # the service point and the site server: computer objects of this forest
    for role, who in (("service_point", service_point), ("site_server", site_server)):
        sam, dom = who.get("computer_account") or "", name(who.get("domain"))
        cid = f"forest.{role}"
        label = role.replace("_", " ")
        if dom not in domains:
            rows.append(
                check(
                    cid,
                    ROW_FOREST,
                    "fail",
                    f"the {label}'s domain {dom} is not a domain of forest {forest} (its domains: {listed})",
                    fix_estate,
                )
            )
            continue
        if dom not in searched:
            rows.append(
                check(
                    cid,
                    ROW_FOREST,
                    "skip",
                    f"the {label}'s domain {dom} was not read (no DC of it given)",
                    "list the domain with its DCs in oob_domains",
                )
            )
            continue
        dn = _computer(found, dom, sam=sam)
        evidence = f"the {label} {sam} is {dn} in {dom}, forest {forest}" if dn else \
            f"no computer object {sam} in {dom} (forest {forest})"  # fmt: skip
        rows.append(check(cid, ROW_FOREST, bool(dn), evidence, f"join the {label} to {dom}, or {fix_estate}"))
    if sp_fqdn:
        rows.append(check("forest.service_point.namespace", ROW_FOREST, bool(sp_tree),
                          f"the service point {sp_fqdn} is in the namespace of tree {sp_tree} of forest {forest}"
                          if sp_tree else f"the service point {sp_fqdn} is in no namespace of forest {forest} "
                          f"(its domains: {listed})", fix_estate))  # fmt: skip

    # the AMT subnets' DNS suffix (option 015): the AMT computers' names end in it
    for suffix in sorted({name(s) for s in suffixes if s}):
        tree = tree_of(suffix, domains)
        cid = f"forest.suffix.{suffix}"
        if not tree:
            status, evidence = "fail", f"AMT suffix {suffix} is not in forest {forest} (its domains: {listed})"
        elif sp_tree and tree != sp_tree:
            status, evidence = "fail", (f"AMT suffix {suffix} is in tree {tree}, the service point {sp_fqdn} in tree "
                                        f"{sp_tree}: a noncontiguous namespace")  # fmt: skip
        else:
            status, evidence = (
                "pass",
                f"AMT suffix {suffix} is in tree {tree} of forest {forest}"
                + (f", as the service point {sp_fqdn}" if sp_tree else ""),
            )
        rows.append(
            check(
                cid,
                ROW_FOREST,
                status,
                evidence,
                "give the AMT subnets a DNS suffix (option 015) of a domain in the service point's tree",
            )
        )

    # each discovered AMT computer: a name in a domain of the forest, and a computer object there
    for dev in computers:
        address = dev.get("address") or "?"
        host = name(dev.get("hostname"))
        dom = name(dev.get("domain"))
        fqdn = f"{host}.{dom}" if host and dom else host
        cid = f"forest.amt.{address}"
        if not host:
            rows.append(
                check(
                    cid,
                    ROW_WORKGROUP,
                    "skip",
                    f"{address}: its name is unknown (WS-MAN did not answer, or without credentials)",
                    "give the AMT credentials (oob_amt_discovery)",
                )
            )
            continue
        if not dom:
            rows.append(
                check(
                    cid,
                    ROW_WORKGROUP,
                    "fail",
                    f"{address} ({host}): AMT has no domain name: a workgroup computer",
                    "join the computer to a domain of the forest",
                )
            )
            continue
        tree = tree_of(dom, domains)
        owner = owning_domain(dom, domains)
        if not tree:
            rows.append(
                check(
                    cid,
                    ROW_FOREST,
                    "fail",
                    f"{fqdn} ({address}) is in no domain of forest {forest} "
                    f"(its domains: {listed}): another forest, or a workgroup computer with a DNS suffix",
                    "join the computer to a domain of the service point's forest",
                )
            )
            continue
        if sp_tree and tree != sp_tree:
            rows.append(
                check(
                    cid,
                    ROW_FOREST,
                    "fail",
                    f"{fqdn} ({address}) is in tree {tree}, the service point "
                    f"{sp_fqdn} in tree {sp_tree}: a noncontiguous namespace",
                    "name the computer in a domain of the service point's tree",
                )
            )
            continue
        if owner not in searched:
            rows.append(
                check(
                    cid,
                    ROW_WORKGROUP,
                    "skip",
                    f"{fqdn} ({address}): its domain {owner} was not read (no DC of it given)",
                    "list the domain with its DCs in oob_domains",
                )
            )
            continue
        dn = _computer(found, owner, fqdn=fqdn, sam=f"{host.split('.', maxsplit=1)[0]}$")
        rows.append(check(cid, ROW_WORKGROUP, bool(dn),
                          f"{fqdn} ({address}) is {dn} in {owner}" if dn else
                          f"{fqdn} ({address}): no computer object with that name in {owner}: a workgroup computer, "
                          "or not joined", "join the computer to the domain"))  # fmt: skip
    return rows


def wanted(domain: str, service_point: dict, site_server: dict, computers: list[dict], domains: list[str]) -> dict:
    """What to look for in one domain: {'fqdns': [...], 'sams': [...]} (one search per domain)."""
    fqdns, sams = set(), set()
    for who in (service_point, site_server):
        if name(who.get("domain")) == domain and who.get("computer_account"):
            sams.add(who["computer_account"])
    for dev in computers:
        host, dom = name(dev.get("hostname")), name(dev.get("domain"))
        if host and dom and owning_domain(dom, domains) == domain:
            fqdns.add(f"{host}.{dom}")
            sams.add(f"{host.split('.', maxsplit=1)[0]}$")
    return {"fqdns": sorted(fqdns), "sams": sorted(sams)}


def computer_filter(want: dict) -> str:
    """The LDAP filter of one domain's computer search, from ``wanted``: the computer objects with one of its
    dNSHostNames or sAMAccountNames."""
    terms = [f"(dNSHostName={escape_filter_value(f)})" for f in want["fqdns"]]
    terms += [f"(sAMAccountName={escape_filter_value(s)})" for s in want["sams"]]
    return f"(&(objectCategory=computer)(|{''.join(terms)}))"
