# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AMT zones' dynamic-update setting in AD: each dnsZone object's dNSProperty, read over an LDAP session.

``read_zone_settings(session, domains, zones)`` reads the rootDSE once, then searches each DNS partition the DC holds
(``DomainDnsZones`` of each domain, the legacy ``CN=MicrosoftDNS,CN=System`` container, the forest's
``ForestDnsZones``) once for all the zones; ``plan.zone_allow_update`` decodes what it finds. ``session`` is a
``ldap.connection`` session (its ``search``); nothing is written.
"""

from __future__ import annotations

from ansible_collections.oob.prep.plugins.module_utils.dns.plan import zone_allow_update
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import escape_filter_value


def read_zone_settings(session, domains: list[dict], zones: list[str]) -> tuple[dict, list[str], list[str]]:
    """({zone: [(dn, setting)]}, partitions searched, partitions the DC does not hold). One rootDSE read, then one
    search per partition for all the zones."""
    root = session.search("", "(objectClass=*)", ["namingContexts", "rootDomainNamingContext"], "BASE")
    attrs = root[0]["attributes"] if root else {}
    held = {v.decode("utf-8").lower() for v in attrs.get("namingcontexts", [])}
    forest = (attrs.get("rootdomainnamingcontext") or [b""])[0].decode("utf-8")
    bases, missing = [], []
    candidates = [(f"DC=DomainDnsZones,{d['base_dn']}", "") for d in domains]
    candidates += [(d["base_dn"], "CN=System,") for d in domains]
    candidates += [(f"DC=ForestDnsZones,{forest}", "")] if forest else []
    for partition, container in candidates:
        base = f"CN=MicrosoftDNS,{container}{partition}"
        if partition.lower() not in held:
            missing.append(partition)
        elif base.lower() not in (b.lower() for b in bases):
            bases.append(base)
    terms = "".join(f"(dc={escape_filter_value(z)})" for z in zones)
    found: dict = {}
    for base in bases:
        for entry in session.search(base, f"(&(objectClass=dnsZone)(|{terms}))", ["dc", "dNSProperty"], "LEVEL"):
            name = (entry["attributes"].get("dc") or [b""])[0].decode("utf-8").lower()
            setting = zone_allow_update(entry["attributes"].get("dnsproperty", []))
            found.setdefault(name, []).append((entry["dn"], setting))
    return found, bases, list(dict.fromkeys(missing))
