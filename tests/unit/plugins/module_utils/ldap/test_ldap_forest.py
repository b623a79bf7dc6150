"""One forest, one namespace, no workgroup computers: the pure logic of oob_forest.

The seed: "Computers that will be managed out of band must belong to the same Active Directory forest as the out of
band service point's forest and must share the same namespace", and its example: "an AMT-based computer with the
FQDN of computer1.northwindtraders.com cannot be provisioned by the out of band service point site system with the
FQDN of contoso.com, even if they belong to the same Active Directory forest."
"""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.forest import (
    ROW_FOREST,
    ROW_WORKGROUP,
    computer_filter,
    forest_domains,
    owning_domain,
    tree_of,
    wanted,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.forest import checks as forest_checks

# MS-ADTS 6.1.1.2.1.1.5: FLAG_CR_NTDS_NC (1) | FLAG_CR_NTDS_DOMAIN (2) = 3 for a domain; 1 alone is an application
# partition or the configuration/schema naming context
CROSSREFS = [
    {"dnsRoot": "contoso.com", "systemFlags": "3"},
    {"dnsRoot": "Child.Contoso.com.", "systemFlags": 3},
    {"dnsRoot": "northwindtraders.com", "systemFlags": "3"},
    {"dnsRoot": "DomainDnsZones.contoso.com", "systemFlags": "5"},  # 1 | 4 (FLAG_CR_NTDS_NOT_GC_REPLICATED)
    {"dnsRoot": "ForestDnsZones.contoso.com", "systemFlags": "1"},
    {"dnsRoot": "", "systemFlags": "3"},
    {"systemFlags": None, "dnsRoot": "nothing.example"},
]
DOMAINS = ["child.contoso.com", "contoso.com", "northwindtraders.com"]
SP = {"fqdn": "oobsp.contoso.com", "computer_account": "OOBSP$", "domain": "contoso.com"}
SITE = {"computer_account": "SCCM01$", "domain": "contoso.com"}
FOUND = {
    "contoso.com": [
        {"dn": "CN=OOBSP,OU=Servers,DC=contoso,DC=com", "dNSHostName": "oobsp.contoso.com", "sAMAccountName": "OOBSP$"},
        {"dn": "CN=SCCM01,OU=Servers,DC=contoso,DC=com", "dNSHostName": "sccm01.contoso.com",
         "sAMAccountName": "SCCM01$"},
    ],
    "child.contoso.com": [
        {"dn": "CN=PC1,OU=AMT,DC=child,DC=contoso,DC=com", "dNSHostName": "pc1.child.contoso.com",
         "sAMAccountName": "PC1$"},
    ],
    "northwindtraders.com": [
        {"dn": "CN=COMPUTER1,DC=northwindtraders,DC=com", "dNSHostName": "computer1.northwindtraders.com",
         "sAMAccountName": "COMPUTER1$"},
    ],
}  # fmt: skip


def run(computers=(), suffixes=(), searched=DOMAINS, found=None, sp=SP, site=SITE, domains=DOMAINS):
    return forest_checks(
        "contoso.com",
        list(domains),
        list(searched),
        FOUND if found is None else found,
        service_point=sp,
        site_server=site,
        suffixes=list(suffixes),
        computers=list(computers),
    )


def by_id(rows):
    return {r["id"]: r for r in rows}


def test_forest_domains_keeps_the_domain_crossrefs_only():
    assert forest_domains(CROSSREFS) == DOMAINS
    assert forest_domains([]) == []
    assert forest_domains([{"dnsRoot": "a.example", "systemFlags": "1"}]) == []


@pytest.mark.parametrize(
    ("fqdn", "tree", "owner"),
    [
        ("contoso.com", "contoso.com", "contoso.com"),
        ("pc1.contoso.com", "contoso.com", "contoso.com"),
        ("pc1.child.contoso.com", "contoso.com", "child.contoso.com"),
        ("PC1.Child.Contoso.COM.", "contoso.com", "child.contoso.com"),
        ("a.b.child.contoso.com", "contoso.com", "child.contoso.com"),
        ("computer1.northwindtraders.com", "northwindtraders.com", "northwindtraders.com"),
        ("pc1.notcontoso.com", None, None),  # a suffix of the text, not of the DNS name
        ("pc1.fabrikam.com", None, None),
        ("", None, None),
    ],
)
def test_tree_and_owning_domain(fqdn, tree, owner):
    assert tree_of(fqdn, DOMAINS) == tree
    assert owning_domain(fqdn, DOMAINS) == owner


def test_all_in_one_tree_passes():
    rows = run(computers=[{"address": "10.0.0.11", "hostname": "PC1", "domain": "child.contoso.com"}],
               suffixes=["child.contoso.com", "Contoso.com."])  # fmt: skip
    assert all(r["status"] == "pass" for r in rows), rows
    ids = by_id(rows)
    assert set(ids) == {
        "forest.service_point",
        "forest.site_server",
        "forest.service_point.namespace",
        "forest.suffix.child.contoso.com",
        "forest.suffix.contoso.com",
        "forest.amt.10.0.0.11",
    }
    assert ids["forest.amt.10.0.0.11"]["row"] == ROW_WORKGROUP
    assert "CN=PC1,OU=AMT,DC=child,DC=contoso,DC=com" in ids["forest.amt.10.0.0.11"]["evidence"]
    assert ids["forest.service_point"]["row"] == ROW_FOREST
    assert "CN=OOBSP,OU=Servers,DC=contoso,DC=com" in ids["forest.service_point"]["evidence"]
    assert all(r["remedy"] == "" for r in rows)


def test_the_seeds_example_is_a_noncontiguous_namespace():
    rows = by_id(run(computers=[{"address": "10.0.0.12", "hostname": "computer1", "domain": "northwindtraders.com"}],
                     suffixes=["northwindtraders.com"]))  # fmt: skip
    device = rows["forest.amt.10.0.0.12"]
    assert device["status"] == "fail" and device["row"] == ROW_FOREST
    assert "noncontiguous namespace" in device["evidence"] and "computer1.northwindtraders.com" in device["evidence"]
    assert device["remedy"]
    suffix = rows["forest.suffix.northwindtraders.com"]
    assert suffix["status"] == "fail" and suffix["row"] == ROW_FOREST and "noncontiguous" in suffix["evidence"]


def test_a_workgroup_device_fails():
    rows = by_id(run(computers=[{"address": "10.0.0.13", "hostname": "pc13", "domain": ""}]))
    row = rows["forest.amt.10.0.0.13"]
    assert row["status"] == "fail" and row["row"] == ROW_WORKGROUP and "workgroup" in row["evidence"]


def test_a_device_without_a_computer_object_fails():
    rows = by_id(run(computers=[{"address": "10.0.0.14", "hostname": "pc14", "domain": "child.contoso.com"}]))
    row = rows["forest.amt.10.0.0.14"]
    assert row["status"] == "fail" and row["row"] == ROW_WORKGROUP
    assert "no computer object" in row["evidence"] and "child.contoso.com" in row["evidence"]


def test_a_device_is_found_by_its_account_name_too():
    found = {**FOUND, "child.contoso.com": [{"dn": "CN=PC1,DC=child,DC=contoso,DC=com", "dNSHostName": "",
                                             "sAMAccountName": "pc1$"}]}  # fmt: skip
    rows = by_id(run(computers=[{"address": "10.0.0.11", "hostname": "PC1", "domain": "child.contoso.com"}],
                     found=found))  # fmt: skip
    assert rows["forest.amt.10.0.0.11"]["status"] == "pass"


def test_a_device_without_a_name_is_skipped():
    rows = by_id(run(computers=[{"address": "10.0.0.15", "hostname": None, "domain": "contoso.com"}]))
    row = rows["forest.amt.10.0.0.15"]
    assert row["status"] == "skip" and row["row"] == ROW_WORKGROUP and row["remedy"]


def test_a_device_in_a_domain_not_searched_is_skipped():
    rows = by_id(run(computers=[{"address": "10.0.0.16", "hostname": "pc16", "domain": "child.contoso.com"}],
                     searched=["contoso.com"]))  # fmt: skip
    row = rows["forest.amt.10.0.0.16"]
    assert row["status"] == "skip" and "was not read" in row["evidence"]


def test_a_device_in_another_forest_fails():
    rows = by_id(run(computers=[{"address": "10.0.0.17", "hostname": "pc17", "domain": "fabrikam.com"}]))
    row = rows["forest.amt.10.0.0.17"]
    assert row["status"] == "fail" and row["row"] == ROW_FOREST and "no domain of forest contoso.com" in row["evidence"]


@pytest.mark.parametrize("role", ["service_point", "site_server"])
def test_service_point_and_site_server_found_missing_or_elsewhere(role):
    assert by_id(run())[f"forest.{role}"]["status"] == "pass"
    missing = {**FOUND, "contoso.com": []}
    row = by_id(run(found=missing))[f"forest.{role}"]
    assert row["status"] == "fail" and "no computer object" in row["evidence"] and row["remedy"]
    skipped = by_id(run(searched=["child.contoso.com"]))[f"forest.{role}"]
    assert skipped["status"] == "skip" and "was not read" in skipped["evidence"]
    who = {"service_point": SP, "site_server": SITE}[role]
    elsewhere = {**who, "domain": "fabrikam.com"}
    kwargs = {"sp": elsewhere} if role == "service_point" else {"site": elsewhere}
    row = by_id(run(**kwargs))[f"forest.{role}"]
    assert row["status"] == "fail" and "not a domain of forest contoso.com" in row["evidence"]


def test_a_service_point_name_outside_the_forest_fails():
    rows = by_id(run(sp={**SP, "fqdn": "oobsp.fabrikam.com"}))
    assert rows["forest.service_point.namespace"]["status"] == "fail"


def test_a_suffix_outside_the_forest_fails():
    row = by_id(run(suffixes=["amt.fabrikam.com"]))["forest.suffix.amt.fabrikam.com"]
    assert row["status"] == "fail" and "not in forest contoso.com" in row["evidence"] and row["remedy"]


def test_no_service_point_name_leaves_the_tree_unchecked():
    rows = by_id(run(sp={**SP, "fqdn": ""}, suffixes=["northwindtraders.com"]))
    assert "forest.service_point.namespace" not in rows
    assert rows["forest.suffix.northwindtraders.com"]["status"] == "pass"  # nothing to compare its tree with


def test_every_row_is_a_well_formed_check():
    rows = run(computers=[{"address": "10.0.0.12", "hostname": "computer1", "domain": "northwindtraders.com"},
                          {"address": "10.0.0.13", "hostname": "pc13", "domain": ""},
                          {"address": "10.0.0.15"}], suffixes=["contoso.com", "x.example"])  # fmt: skip
    for r in rows:
        assert set(r) == {"id", "row", "status", "evidence", "remedy"}
        assert r["row"] in (ROW_FOREST, ROW_WORKGROUP) and r["status"] in ("pass", "fail", "skip")
        assert (r["remedy"] == "") == (r["status"] == "pass")


def test_wanted_builds_one_lookup_per_domain():
    computers = [
        {"address": "10.0.0.11", "hostname": "PC1", "domain": "Child.Contoso.com"},
        {"address": "10.0.0.12", "hostname": "computer1", "domain": "northwindtraders.com"},
        {"address": "10.0.0.13", "hostname": "pc13", "domain": ""},
        {"address": "10.0.0.15", "hostname": None, "domain": "contoso.com"},
        {"address": "10.0.0.18", "hostname": "pc18", "domain": "sub.contoso.com"},  # owned by contoso.com
    ]
    assert wanted("contoso.com", SP, SITE, computers, DOMAINS) == {
        "fqdns": ["pc18.sub.contoso.com"], "sams": ["OOBSP$", "SCCM01$", "pc18$"],
    }  # fmt: skip
    assert wanted("child.contoso.com", SP, SITE, computers, DOMAINS) == {
        "fqdns": ["pc1.child.contoso.com"], "sams": ["pc1$"],
    }  # fmt: skip
    assert wanted("northwindtraders.com", SP, SITE, computers, DOMAINS) == {
        "fqdns": ["computer1.northwindtraders.com"], "sams": ["computer1$"],
    }  # fmt: skip
    assert wanted("fabrikam.com", SP, SITE, computers, DOMAINS) == {"fqdns": [], "sams": []}


def test_computer_filter_one_term_per_name_escaped():
    # RFC 4515 3: '*' is written \2a in a filter value
    assert computer_filter({"fqdns": ["pc1.contoso.com"], "sams": ["PC1$", "a*b"]}) == (
        "(&(objectCategory=computer)(|(dNSHostName=pc1.contoso.com)(sAMAccountName=PC1$)(sAMAccountName=a\\2ab)))"
    )
