"""dns.ad_zones: the zones' dynamic-update setting read over a faked LDAP session (rootDSE, then one LEVEL search per
DNS partition the DC holds). dns_provision_info's main() drives it too (tests/unit/plugins/modules)."""

from __future__ import annotations

import struct

from ansible_collections.oob.prep.plugins.module_utils.dns.ad_zones import read_zone_settings

DOMAIN = {"dns_name": "lab.example", "base_dn": "DC=lab,DC=example"}


class Session:
    def __init__(self, contexts, entries):
        self.contexts, self.entries, self.searches = contexts, entries, []

    def search(self, base, flt, attributes, scope):
        self.searches.append((base, flt, scope))
        if base == "":
            return [{"dn": "", "attributes": {"namingcontexts": [c.encode() for c in self.contexts],
                                              "rootdomainnamingcontext": [b"DC=lab,DC=example"]}}]  # fmt: skip
        return [{"dn": dn, "attributes": attrs} for dn, attrs in self.entries.items() if dn.endswith(f",{base}")]


def test_one_search_per_held_partition_for_all_zones_and_the_missing_ones_named():
    secure = struct.pack("<5I", 1, 0, 0, 1, 2) + bytes([2, 0, 0, 0, 0])
    dn = "DC=lab.example,CN=MicrosoftDNS,DC=DomainDnsZones,DC=lab,DC=example"
    session = Session(["DC=lab,DC=example", "DC=DomainDnsZones,DC=lab,DC=example"],
                      {dn: {"dc": [b"lab.example"], "dnsproperty": [secure]}})  # fmt: skip
    found, searched, missing = read_zone_settings(session, [DOMAIN], ["lab.example", "bind.example"])
    assert found == {"lab.example": [(dn, "secure only")]}
    assert searched == [
        "CN=MicrosoftDNS,DC=DomainDnsZones,DC=lab,DC=example",
        "CN=MicrosoftDNS,CN=System,DC=lab,DC=example",
    ]
    assert missing == ["DC=ForestDnsZones,DC=lab,DC=example"]
    assert [s[2] for s in session.searches] == ["BASE", "LEVEL", "LEVEL"]
    assert all("(|(dc=lab.example)(dc=bind.example))" in flt for base, flt, _s in session.searches if base)
