"""ad_forest_info's main() on a fake forest: contoso.com (with child.contoso.com) and northwindtraders.com, two trees
of one forest, as in the seed's example. The fake sessions stand in for oob_ldap.connect: they answer the crossRef
search of the Partitions container and the computer searches per domain, and record every operation."""

from __future__ import annotations

import json
import re

import ad_forest_info
import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import LdapError

PARTITIONS = "CN=Partitions,CN=Configuration,DC=contoso,DC=com"


def _entry(dn: str, **attrs) -> dict:
    return {"dn": dn, "attributes": {k.lower(): [str(v).encode()] for k, v in attrs.items()}}


CROSSREFS = [
    _entry(f"CN=CONTOSO,{PARTITIONS}", dnsRoot="contoso.com", systemFlags=3, nCName="DC=contoso,DC=com"),
    _entry(f"CN=CHILD,{PARTITIONS}", dnsRoot="child.contoso.com", systemFlags=3, nCName="DC=child,DC=contoso,DC=com"),
    _entry(f"CN=NWT,{PARTITIONS}", dnsRoot="northwindtraders.com", systemFlags=3, nCName="DC=northwindtraders,DC=com"),
    _entry(f"CN=Enterprise Configuration,{PARTITIONS}", dnsRoot="contoso.com", systemFlags=1),
    _entry(f"CN=dns-zones,{PARTITIONS}", dnsRoot="ForestDnsZones.contoso.com", systemFlags=5),
]
COMPUTERS = {
    "DC=contoso,DC=com": [
        _entry("CN=OOBSP,OU=Servers,DC=contoso,DC=com", dNSHostName="oobsp.contoso.com", sAMAccountName="OOBSP$"),
        _entry("CN=SCCM01,OU=Servers,DC=contoso,DC=com", dNSHostName="sccm01.contoso.com", sAMAccountName="SCCM01$"),
    ],
    "DC=child,DC=contoso,DC=com": [
        _entry("CN=PC1,OU=AMT,DC=child,DC=contoso,DC=com", dNSHostName="pc1.child.contoso.com", sAMAccountName="PC1$"),
    ],
    "DC=northwindtraders,DC=com": [
        _entry("CN=COMPUTER1,DC=northwindtraders,DC=com", dNSHostName="computer1.northwindtraders.com",
               sAMAccountName="COMPUTER1$"),
    ],
}  # fmt: skip


class FakeSession:
    def __init__(self, forest: FakeForest, host: str):
        self.forest, self.server, self.ops, self.closed = forest, {"host": host}, {"searches": 0, "writes": 0}, False

    def search(self, base, flt, attributes, scope="BASE", **_kw):
        self.ops["searches"] += 1
        self.forest.searches.append((self.server["host"], base, flt, scope))
        if self.forest.fail_on and self.forest.fail_on in base:
            raise LdapError("rights", f"search of {base} on {self.server['host']}: insufficient access rights")
        if base == PARTITIONS:
            assert scope == "LEVEL" and "systemFlags:1.2.840.113556.1.4.803:=2" in flt
            return list(self.forest.crossrefs)
        # the module's filter: (&(objectCategory=computer)(|(dNSHostName=...)(sAMAccountName=...)))
        assert scope == "SUBTREE" and flt.startswith("(&(objectCategory=computer)(|")
        terms = {(k.lower(), v.lower()) for k, v in re.findall(r"\((dNSHostName|sAMAccountName)=([^()]*)\)", flt)}
        out = []
        for e in self.forest.computers.get(base, []):
            named = ("dnshostname", "samaccountname")
            values = {(k, v[0].decode().lower()) for k, v in e["attributes"].items() if k in named}
            if terms & values:
                out.append(e)
        return out

    def add(self, *_a, **_k):  # pragma: no cover - the module must never write
        self.ops["writes"] += 1
        raise AssertionError("ad_forest_info wrote")

    modify = modify_guarded = add_values = delete_values = add

    def close(self):
        self.closed = True


class FakeForest:
    def __init__(self):
        self.crossrefs = list(CROSSREFS)
        self.computers = {k: list(v) for k, v in COMPUTERS.items()}
        self.searches: list[tuple] = []
        self.sessions: list[FakeSession] = []
        self.fail_on = ""

    def connect(self, servers, params):  # the signature of oob_ldap.connect
        first = servers[0]
        session = FakeSession(self, first if isinstance(first, str) else first.get("host", "?"))
        self.sessions.append(session)
        return session


@pytest.fixture()
def forest(monkeypatch):
    f = FakeForest()
    monkeypatch.setattr(ad_forest_info, "connect", f.connect)
    return f


def args(**extra):
    base = {
        "servers": ["dc1.contoso.com"],
        "forest_dns_name": "contoso.com",
        "domains": [{"dns_name": "child.contoso.com", "servers": ["dc1.child.contoso.com"]},
                    {"dns_name": "northwindtraders.com", "servers": ["dc1.northwindtraders.com"]}],
        "service_point": {"fqdn": "oobsp.contoso.com", "computer_account": "OOBSP$", "domain": "contoso.com"},
        "site_server": {"computer_account": "SCCM01$", "domain": "contoso.com"},
        "amt_suffixes": ["child.contoso.com"],
        "amt_computers": [{"address": "10.0.0.11", "hostname": "PC1", "domain": "child.contoso.com"}],
        "bind_user": "svc@contoso.com",
        "bind_password": "s3cret-value",
    }  # fmt: skip
    base.update(extra)
    return base


def test_one_forest_one_namespace_passes(run_module, forest):
    status, res = run_module(ad_forest_info.main, args())
    assert status == "exit", res
    assert res["changed"] is False
    assert res["forest_domains"] == ["child.contoso.com", "contoso.com", "northwindtraders.com"]
    assert {c["id"]: c["status"] for c in res["checks"]} == {
        "forest.service_point": "pass", "forest.site_server": "pass", "forest.service_point.namespace": "pass",
        "forest.suffix.child.contoso.com": "pass", "forest.amt.10.0.0.11": "pass",
    }  # fmt: skip
    assert res["failed_checks"] == [] and res["warned_checks"] == []
    # one search for the crossRefs, then one per domain with something to look up (northwindtraders.com: nothing)
    bases = [s[1] for s in forest.searches]
    assert bases == [PARTITIONS, "DC=child,DC=contoso,DC=com", "DC=contoso,DC=com"]
    assert sum(s.ops["searches"] for s in forest.sessions) == 3
    assert sum(s.ops["writes"] for s in forest.sessions) == 0
    assert all(v["writes"] == 0 for v in res["ldap_operations"].values())
    assert sum(v["searches"] for v in res["ldap_operations"].values()) == 3
    assert all(s.closed for s in forest.sessions)
    contoso_filter = forest.searches[2][2]
    assert "(sAMAccountName=OOBSP$)" in contoso_filter and "(sAMAccountName=SCCM01$)" in contoso_filter
    assert "s3cret-value" not in json.dumps(res)


def test_check_mode_gives_the_same_checks(run_module, forest):
    _s, real = run_module(ad_forest_info.main, args())
    status, check = run_module(ad_forest_info.main, args(_ansible_check_mode=True))
    assert status == "exit" and check["checks"] == real["checks"]


def test_a_missing_computer_is_a_failed_check_not_a_failed_module(run_module, forest):
    forest.computers["DC=child,DC=contoso,DC=com"] = []
    status, res = run_module(ad_forest_info.main, args())
    assert status == "exit", res
    [failed] = res["failed_checks"]
    assert failed["id"] == "forest.amt.10.0.0.11" and failed["row"] == "no_workgroup_computers"
    assert "no computer object" in failed["evidence"] and failed["remedy"]


def test_the_seeds_example_fails_as_a_noncontiguous_namespace(run_module, forest):
    computers = [{"address": "10.0.0.12", "hostname": "computer1", "domain": "northwindtraders.com"}]
    status, res = run_module(ad_forest_info.main, args(amt_computers=computers, amt_suffixes=["northwindtraders.com"]))
    assert status == "exit", res
    failed = {c["id"]: c for c in res["failed_checks"]}
    assert set(failed) == {"forest.amt.10.0.0.12", "forest.suffix.northwindtraders.com"}
    assert all(c["row"] == "same_forest_namespace" and "noncontiguous" in c["evidence"] for c in failed.values())


def test_a_workgroup_computer_fails_its_row(run_module, forest):
    computers = [{"address": "10.0.0.13", "hostname": "pc13", "domain": None}]
    status, res = run_module(ad_forest_info.main, args(amt_computers=computers))
    assert status == "exit", res
    [failed] = res["failed_checks"]
    assert failed["row"] == "no_workgroup_computers" and "workgroup" in failed["evidence"]


def test_an_ldap_error_fails_with_its_kind(run_module, forest):
    forest.fail_on = "DC=child"
    status, res = run_module(ad_forest_info.main, args())
    assert status == "fail"
    assert res["error"] == "rights" and "insufficient access rights" in res["msg"]
    assert "Traceback" not in json.dumps(res) and "s3cret-value" not in json.dumps(res)
    assert all(s.closed for s in forest.sessions)


def test_an_unreachable_dc_fails_with_its_kind(run_module, monkeypatch):
    def unreachable(servers, params):
        raise LdapError("unreachable", "no domain controller could be used: dc1.contoso.com: unreachable")

    monkeypatch.setattr(ad_forest_info, "connect", unreachable)
    status, res = run_module(ad_forest_info.main, args())
    assert status == "fail" and res["error"] == "unreachable"
    assert res["msg"].startswith("no domain controller could be used")


def test_no_domain_crossref_is_bad_input(run_module, forest):
    forest.crossrefs = [c for c in CROSSREFS if c["attributes"]["systemflags"] != [b"3"]]
    status, res = run_module(ad_forest_info.main, args())
    assert status == "fail" and res["error"] == "input"
    assert "no domain crossRef" in res["msg"] and "forest root" in res["msg"]
