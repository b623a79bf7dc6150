"""dns_provision_info's main(): every check row against a faked DNS world (the adapter's contract: query, where,
ops) and a faked LDAP session, plus bad input. The real servers are in tests/integration/test_dns_info_lab.py."""

from __future__ import annotations

import struct

import dns_provision_info
import pytest
from ansible_collections.oob.prep.plugins.module_utils.dns import lookup
from ansible_collections.oob.prep.plugins.module_utils.dns.plan import DnsError
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import LdapError

LAB_DC = "198.51.100.10"
DC2 = "198.51.100.11"
BIND = "198.51.100.12"
SOA_VALUE = "dc1.lab.example. hostmaster.lab.example. 1 900 600 86400 3600"


def lab_zone(**extra) -> dict:
    names = {
        "lab.example": {"NS": ["dc1.lab.example."]},
        "dc1.lab.example": {"A": [LAB_DC]},
        "provisionserver.lab.example": {"CNAME": ["oobsp.lab.example."]},
        "oobsp.lab.example": {"A": ["198.51.100.20"]},
        "console1.lab.example": {"A": ["198.51.100.21"]},
    }
    names.update(extra)
    return names


def reverse_zone(**extra) -> dict:
    names = {"20.100.51.198.in-addr.arpa": {"PTR": ["oobsp.lab.example."]},
             "21.100.51.198.in-addr.arpa": {"PTR": ["console1.lab.example."]}}  # fmt: skip
    names.update(extra)
    return names


class FakeServer:
    """An authoritative server: {'zones': {zone: {name: {type: [values]}}}, 'flavour': 'samba'|'bind', 'down'}.

    Samba answers a name outside its zones NXDOMAIN without a SOA and adds a CNAME target's A from its own zone to the
    answer; BIND refuses, and adds nothing. A name with NS records below a zone's apex is a delegation (a referral)."""

    world: dict = {}
    made: list = []

    def __init__(self, server, auth, timeout):
        assert auth == "none"
        self.host, self.address = server["host"], server.get("address") or server["host"]
        self.port, self.timeout = int(server.get("port") or 53), timeout
        self.ops = {"queries": 0, "updates": 0}
        self.asked: list = []
        FakeServer.made.append(self)

    @property
    def where(self):
        return f"{self.host} ({self.address}:{self.port})"

    def query(self, name, rdtype):  # noqa: PLR0911 - one return per kind of answer
        self.ops["queries"] += 1
        self.asked.append((name, rdtype))
        me = FakeServer.world.get(self.address, {})
        if me.get("down") or not me:
            raise DnsError("timeout", f"{self.where} did not answer a query for {name} {rdtype} within 5 s (timeout)")
        name = name.lower().rstrip(".")
        zones = [z for z in me["zones"] if name == z or name.endswith(f".{z}")]
        if not zones:
            rcode = "NXDOMAIN" if me.get("flavour", "samba") == "samba" else "REFUSED"
            return {"rcode": rcode, "answer": [], "authority": []}
        zone = max(zones, key=len)
        records = me["zones"][zone]
        soa = [(f"{zone}.", "SOA", 3600, [SOA_VALUE])]
        for cut in [n for n in records if n != zone and "NS" in records[n]]:
            if name == cut or name.endswith(f".{cut}"):
                return {"rcode": "NOERROR", "answer": [], "authority": [(f"{cut}.", "NS", 900, records[cut]["NS"])]}
        if rdtype == "SOA" and name == zone:
            return {"rcode": "NOERROR", "answer": soa, "authority": soa}
        here = records.get(name)
        if here is None:
            return {"rcode": "NXDOMAIN", "answer": [], "authority": soa}
        if rdtype in here:
            return {"rcode": "NOERROR", "answer": [(f"{name}.", rdtype, 900, here[rdtype])], "authority": soa}
        if "CNAME" in here:
            answer = [(f"{name}.", "CNAME", 3600, here["CNAME"])]
            target = here["CNAME"][0].rstrip(".").lower()
            if me.get("flavour", "samba") == "samba" and rdtype in records.get(target, {}):
                answer.append((f"{target}.", rdtype, 900, records[target][rdtype]))
            return {"rcode": "NOERROR", "answer": answer, "authority": soa}
        return {"rcode": "NOERROR", "answer": [], "authority": soa}


class FakeSession:
    """An LDAP session over {dn: {attribute: [bytes]}}: the rootDSE and LEVEL searches by dc."""

    entries: dict = {}
    contexts = ["DC=lab,DC=example", "DC=DomainDnsZones,DC=lab,DC=example", "DC=ForestDnsZones,DC=lab,DC=example"]
    made: list = []

    def __init__(self, servers, params):
        self.servers, self.params = servers, dict(params)
        self.ops = {"searches": 0, "writes": 0}
        self.searches: list = []
        self.closed = False
        FakeSession.made.append(self)

    def search(self, base, flt, attributes, scope="BASE"):
        self.ops["searches"] += 1
        self.searches.append((base, flt, scope))
        if base == "":
            return [{"dn": "", "attributes": {"namingcontexts": [c.encode() for c in self.contexts],
                                              "rootdomainnamingcontext": [b"DC=lab,DC=example"]}}]  # fmt: skip
        hits = []
        for dn, attrs in FakeSession.entries.items():
            zone = dn.split(",", 1)[0][3:]
            if dn.split(",", 1)[1].lower() == base.lower() and f"(dc={zone})" in flt:
                hits.append({"dn": dn, "attributes": {"dc": [zone.encode()], **attrs}})
        return hits

    def close(self):
        self.closed = True


def dns_property(setting: int) -> bytes:
    """A dNSProperty value as Samba stores it: DSPROPERTY_ZONE_ALLOW_UPDATE, DataLength 1, padded data."""
    return struct.pack("<5I", 1, 0, 0, 1, 2) + bytes([setting, 0, 0, 0, 0])


def zone_dn(zone: str, partition: str = "DC=DomainDnsZones,DC=lab,DC=example") -> str:
    return f"DC={zone},CN=MicrosoftDNS,{partition}"


@pytest.fixture()
def world(monkeypatch):
    FakeServer.world = {LAB_DC: {"zones": {"lab.example": lab_zone(), "100.51.198.in-addr.arpa": reverse_zone()}}}
    FakeServer.made, FakeSession.made = [], []
    FakeSession.entries = {zone_dn("lab.example"): {"dnsproperty": [dns_property(2)]}}
    monkeypatch.setattr(lookup, "Rfc2136", FakeServer)  # the adapter the reader (dns.lookup.Dns) makes
    monkeypatch.setattr(dns_provision_info, "connect", FakeSession)
    return FakeServer.world


def args(**extra):
    base = {"suffixes": ["lab.example"], "service_point_fqdn": "oobsp.lab.example",
            "service_point_ipv4": "198.51.100.20", "consoles": [{"fqdn": "console1.lab.example",
                                                                  "ipv4": "198.51.100.21"}],
            "server": {"host": "dc1.lab.example", "address": LAB_DC},
            "ldap_servers": ["dc1.lab.example"], "domains": [{"dns_name": "lab.example"}],
            "bind_user": "Administrator@lab.example", "bind_password": "secret"}  # fmt: skip
    return dict(base, **extra)


def rows(res) -> dict:
    return {c["id"]: c for c in res["checks"]}


def test_a_ready_estate_passes_every_check_with_evidence(run_module, world):
    status, res = run_module(dns_provision_info.main, args())
    assert status == "exit", res
    assert res["changed"] is False and res["failed_checks"] == [] and res["warned_checks"] == []
    got = rows(res)
    assert list(got) == [
        "dns.suffix.lab.example.zone",
        "dns.zone.lab.example.ns.dc1.lab.example",
        "dns.provisionserver.lab.example.dc1.lab.example",
        "dns.host.oobsp.lab.example.a",
        "dns.host.oobsp.lab.example.ptr",
        "dns.host.console1.lab.example.a",
        "dns.host.console1.lab.example.ptr",
        "dns.zone.lab.example.updates",
    ]
    assert {c["status"] for c in res["checks"]} == {"pass"} and {c["remedy"] for c in res["checks"]} == {""}
    assert got["dns.provisionserver.lab.example.dc1.lab.example"] == {
        "id": "dns.provisionserver.lab.example.dc1.lab.example",
        "row": "dns_provisionserver",
        "status": "pass",
        "evidence": "dc1.lab.example (198.51.100.10:53) answered: ProvisionServer.lab.example CNAME oobsp.lab.example, "
        "oobsp.lab.example A 198.51.100.20: the service point's address",
        "remedy": "",
    }
    assert {c["row"] for c in res["checks"]} == {
        "dns_name_resolution", "dns_provisionserver", "dns_not_wins", "dns_auto_registration"
    }  # fmt: skip
    assert got["dns.zone.lab.example.updates"]["evidence"].endswith(
        "secure only: only secure (Kerberos-signed) updates"
    )
    assert res["zones"] == {"lab.example": {"servers": [{"host": "dc1.lab.example", "address": LAB_DC}],
                                            "dynamic_updates": "secure only",
                                            "distinguished_name": zone_dn("lab.example")}}  # fmt: skip
    # the suffix's SOA, NS, the NS's A, ProvisionServer (the target's A came in the same answer), then per host its
    # SOA, A and PTR; nothing is asked twice
    [server] = FakeServer.made
    assert len(server.asked) == len(set(server.asked)) == 10 and res["dns_operations"] == {"queries": 10, "updates": 0}
    # LDAP: the rootDSE, then one search per partition for all the zones
    [session] = FakeSession.made
    assert session.closed and res["ldap_operations"] == {"searches": 4, "writes": 0}
    assert [base for base, _f, _s in session.searches] == [
        "",
        "CN=MicrosoftDNS,DC=DomainDnsZones,DC=lab,DC=example",
        "CN=MicrosoftDNS,CN=System,DC=lab,DC=example",
        "CN=MicrosoftDNS,DC=ForestDnsZones,DC=lab,DC=example",
    ]


def test_check_mode_sends_the_same_queries_and_reports_the_same(run_module, world):
    _s, real = run_module(dns_provision_info.main, args())
    status, check = run_module(dns_provision_info.main, args(_ansible_check_mode=True))
    assert status == "exit" and check["checks"] == real["checks"] and check["changed"] is False
    assert check["dns_operations"] == real["dns_operations"]


def test_every_authoritative_server_is_asked_and_each_gets_its_row(run_module, world):
    zone = lab_zone(**{"lab.example": {"NS": ["dc1.lab.example.", "dc2.lab.example.", "dc3.lab.example.",
                                              "ns.elsewhere.example."]},
                       "dc2.lab.example": {"A": [DC2]}, "dc3.lab.example": {"A": ["198.51.100.13"]}})  # fmt: skip
    world[LAB_DC]["zones"]["lab.example"] = zone
    stale = lab_zone()
    del stale["provisionserver.lab.example"]
    world[DC2] = {"zones": {"lab.example": stale}}  # replication has not brought the record
    world["198.51.100.13"] = {"down": True}
    status, res = run_module(dns_provision_info.main, args(consoles=[]))
    assert status == "exit", res
    got = rows(res)
    prefix = "dns.provisionserver.lab.example."
    assert got[prefix + "dc1.lab.example"]["status"] == "pass"
    assert got[prefix + "dc2.lab.example"]["status"] == "fail"
    assert got[prefix + "dc2.lab.example"]["evidence"] == (
        "dc2.lab.example (198.51.100.11:53) answered: NXDOMAIN (authoritative for lab.example) for "
        "ProvisionServer.lab.example: ProvisionServer.lab.example does not lead to an address on this server"
    )
    assert "check the replication or zone transfer" in got[prefix + "dc2.lab.example"]["remedy"]
    assert got[prefix + "dc3.lab.example"]["status"] == "fail"
    assert "did not answer" in got[prefix + "dc3.lab.example"]["evidence"]
    assert "remove it from the NS records of lab.example" in got[prefix + "dc3.lab.example"]["remedy"]
    lame = got["dns.zone.lab.example.ns.ns.elsewhere.example"]
    assert lame["status"] == "fail" and lame["row"] == "dns_name_resolution"
    assert lame["evidence"] == (
        "name server ns.elsewhere.example of lab.example has no address: dc1.lab.example (198.51.100.10:53) "
        "answered NXDOMAIN without a SOA (it holds no zone for the name) for its A"
    )
    assert prefix + "ns.elsewhere.example" not in got  # a server without an address cannot be asked
    # the service point is asked of every server too: dc2 has it, dc3 does not answer
    host = got["dns.host.oobsp.lab.example.a"]
    assert host["status"] == "fail" and "not every name server of lab.example answered" in host["evidence"]


def test_a_name_server_that_does_not_hold_the_zone_and_one_without_address(run_module, world):
    zone = lab_zone(
        **{"lab.example": {"NS": ["dc1.lab.example.", "dc2.lab.example."]}, "dc2.lab.example": {"A": [DC2]}}
    )
    world[LAB_DC]["zones"]["lab.example"] = zone
    world[LAB_DC]["zones"]["sp.example"] = {"sp.example": {"NS": ["ns1.sp.example."]}}  # no address for ns1
    world[DC2] = {"flavour": "bind", "zones": {}}  # lame: named in NS, holds nothing
    consoles = [{"fqdn": "pc1.sp.example"}, {"fqdn": "oobsp.lab.example", "ipv4": "198.51.100.20"}]
    _s, res = run_module(dns_provision_info.main, args(consoles=consoles))
    got = rows(res)
    lame = got["dns.provisionserver.lab.example.dc2.lab.example"]
    assert lame["status"] == "fail" and "is a name server of lab.example but does not hold the zone" in lame["evidence"]
    host = got["dns.host.oobsp.lab.example.a"]
    assert host["status"] == "fail" and "does not resolve on every name server of lab.example" in host["evidence"]
    assert host["evidence"].startswith("oobsp.lab.example (service point and console) ")
    assert got["dns.zone.sp.example.ns.ns1.sp.example"]["status"] == "fail"
    skipped = got["dns.host.pc1.sp.example.a"]
    assert skipped["status"] == "skip" and "see dns.zone.sp.example.ns" in skipped["evidence"]
    assert "dns.zone.sp.example.updates" not in got  # only the suffixes' and the service point's zones matter


def test_a_start_server_that_refuses_a_suffix(run_module, world):
    world[LAB_DC]["flavour"] = "bind"
    _s, res = run_module(dns_provision_info.main, args(suffixes=["x.test"]))
    row = rows(res)["dns.suffix.x.test.zone"]
    assert row["status"] == "fail" and "refused the SOA query for x.test (REFUSED)" in row["evidence"]


def test_a_cname_target_not_in_the_answer_is_asked_of_the_same_server(run_module, world):
    world[LAB_DC]["flavour"] = "bind"
    status, res = run_module(dns_provision_info.main, args())
    assert status == "exit" and res["failed_checks"] == [], res
    [server] = FakeServer.made
    assert ("oobsp.lab.example", "A") in server.asked


def test_a_cname_target_in_another_zone_is_asked_of_that_zones_servers(run_module, world):
    """dc2, the name server of lab.example, does not hold sp.example; the start server finds sp.example's servers."""
    zone = lab_zone(**{"lab.example": {"NS": ["dc2.lab.example."]}, "dc2.lab.example": {"A": [DC2]},
                       "provisionserver.lab.example": {"CNAME": ["oobsp.sp.example."]}})  # fmt: skip
    world[LAB_DC]["zones"].update({"lab.example": zone, "sp.example": {"sp.example": {"NS": ["ns1.sp.example."]},
                                                                       "ns1.sp.example": {"A": [BIND]}}})  # fmt: skip
    world[DC2] = {"flavour": "bind", "zones": {"lab.example": zone}}
    world[BIND] = {"flavour": "bind", "zones": {"sp.example": {"oobsp.sp.example": {"A": ["198.51.100.20"]}}}}
    status, res = run_module(dns_provision_info.main, args(consoles=[]))
    row = rows(res)["dns.provisionserver.lab.example.dc2.lab.example"]
    assert row["status"] == "pass", row
    assert row["evidence"] == (
        "dc2.lab.example (198.51.100.11:53) answered: ProvisionServer.lab.example CNAME oobsp.sp.example, REFUSED (it "
        "holds no zone for the name) for oobsp.sp.example; oobsp.sp.example A 198.51.100.20 from ns1.sp.example "
        "(198.51.100.12:53): the service point's address"
    )
    assert "sp.example" in res["zones"]


@pytest.mark.parametrize(
    ("record", "status", "words"),
    [
        ({"A": ["198.51.100.66"]}, "fail", "not the service point's address 198.51.100.20"),
        ({"A": ["198.51.100.20", "198.51.100.66"]}, "fail", "it also leads to 198.51.100.66"),
        ({"A": ["198.51.100.20"]}, "pass", "ProvisionServer.lab.example A 198.51.100.20"),
        ({"CNAME": ["loop.lab.example."]}, "fail", "a CNAME loop"),
        ({"TXT": ["hello"]}, "fail", "NOERROR (authoritative for lab.example) for ProvisionServer.lab.example"),
    ],
)
def test_provisionserver_must_lead_to_the_service_point_only(run_module, world, record, status, words):
    world[LAB_DC]["zones"]["lab.example"]["provisionserver.lab.example"] = record
    world[LAB_DC]["zones"]["lab.example"]["loop.lab.example"] = {"CNAME": ["provisionserver.lab.example."]}
    _s, res = run_module(dns_provision_info.main, args())
    row = rows(res)["dns.provisionserver.lab.example.dc1.lab.example"]
    assert row["status"] == status and words in row["evidence"], row


def test_names_dns_does_not_resolve_fail_saying_dns_is_required(run_module, world):
    consoles = [{"fqdn": "ghost.lab.example"}, {"fqdn": "pc7.corp.example", "ipv4": "198.51.100.77"}]
    status, res = run_module(dns_provision_info.main, args(consoles=consoles))
    assert status == "exit", res
    got = rows(res)
    ghost = got["dns.host.ghost.lab.example.a"]
    assert ghost["status"] == "fail" and ghost["row"] == "dns_not_wins"
    assert ghost["evidence"] == (
        "ghost.lab.example (console) does not resolve through DNS: dc1.lab.example (198.51.100.10:53) answered "
        "NXDOMAIN (authoritative for lab.example) for ghost.lab.example. Only WINS or a hosts file could resolve it; "
        "WINS cannot be used for resolving computer names, and DNS is required"
    )
    assert ghost["remedy"] == "create an A record for ghost.lab.example in lab.example"
    assert got["dns.host.ghost.lab.example.ptr"]["status"] == "skip"  # no address known
    foreign = got["dns.host.pc7.corp.example.a"]
    assert foreign["status"] == "fail" and "DNS is required" in foreign["evidence"]
    assert "holds no zone for pc7.corp.example" in foreign["evidence"]
    assert {c["id"] for c in res["failed_checks"]} >= {ghost["id"], foreign["id"]}


def test_an_address_other_than_the_one_given_fails(run_module, world):
    _s, res = run_module(dns_provision_info.main, args(consoles=[{"fqdn": "console1.lab.example",
                                                                  "ipv4": "198.51.100.99"}]))  # fmt: skip
    row = rows(res)["dns.host.console1.lab.example.a"]
    assert row["status"] == "fail" and "does not resolve to 198.51.100.99" in row["evidence"]


def test_ptr_missing_in_a_reverse_zone_fails_other_host_warns_no_reverse_zone_skips(run_module, world):
    reverse = world[LAB_DC]["zones"]["100.51.198.in-addr.arpa"]
    del reverse["21.100.51.198.in-addr.arpa"]
    reverse["20.100.51.198.in-addr.arpa"] = {"PTR": ["sccm01.lab.example."]}
    consoles = [{"fqdn": "console1.lab.example"}, {"fqdn": "console2.lab.example", "ipv4": "192.0.2.9"}]
    world[LAB_DC]["zones"]["lab.example"]["console2.lab.example"] = {"A": ["192.0.2.9"]}
    _s, res = run_module(dns_provision_info.main, args(consoles=consoles))
    got = rows(res)
    missing = got["dns.host.console1.lab.example.ptr"]
    assert missing["status"] == "fail" and missing["row"] == "dns_name_resolution"
    assert "NXDOMAIN in reverse zone 100.51.198.in-addr.arpa" in missing["evidence"]
    assert missing["remedy"] == (
        "add a PTR record for 198.51.100.21 to console1.lab.example in 100.51.198.in-addr.arpa"
    )
    other = got["dns.host.oobsp.lab.example.ptr"]
    assert other["status"] == "warn" and "PTR sccm01.lab.example" in other["evidence"]
    none = got["dns.host.console2.lab.example.ptr"]
    assert none["status"] == "skip" and none["evidence"].endswith("no reverse zone")
    world[LAB_DC]["flavour"] = "bind"  # REFUSED: also no reverse zone
    _s, res = run_module(dns_provision_info.main, args(consoles=consoles))
    assert (
        "REFUSED (it holds no zone for the name): no reverse zone"
        in rows(res)["dns.host.console2.lab.example.ptr"]["evidence"]
    )


def test_a_suffix_outside_the_servers_zones_or_delegated_fails_and_its_record_is_skipped(run_module, world):
    world[LAB_DC]["zones"]["lab.example"]["emea.lab.example"] = {"NS": ["dc1.emea.lab.example."]}
    _s, res = run_module(dns_provision_info.main, args(suffixes=["lab.example", "emea.lab.example", "x.test"]))
    got = rows(res)
    delegated = got["dns.suffix.emea.lab.example.zone"]
    assert delegated["status"] == "fail"
    assert delegated["evidence"] == (
        "suffix emea.lab.example: dc1.lab.example (198.51.100.10:53) is not authoritative for emea.lab.example: it "
        "refers emea.lab.example to dc1.emea.lab.example (a delegation, not followed)"
    )
    assert got["dns.suffix.x.test.zone"]["status"] == "fail"
    skipped = got["dns.provisionserver.x.test"]
    assert skipped["status"] == "skip" and "see dns.suffix.x.test.zone" in skipped["evidence"]
    assert "dns.zone.x.test.updates" not in got


def test_zones_taking_nonsecure_updates_warn_others_skip_saying_why(run_module, world):
    FakeSession.entries = {zone_dn("lab.example"): {"dnsproperty": [dns_property(1)]}}
    world[LAB_DC]["zones"]["bind.example"] = {"bind.example": {"NS": ["dc1.lab.example."]},
                                              "provisionserver.bind.example": {"A": ["198.51.100.20"]}}  # fmt: skip
    status, res = run_module(dns_provision_info.main, args(suffixes=["lab.example", "bind.example"]))
    assert status == "exit", res
    got = rows(res)
    warned = got["dns.zone.lab.example.updates"]
    assert warned["status"] == "warn" and warned["row"] == "dns_auto_registration"
    assert "nonsecure and secure: it takes non-secure dynamic updates" in warned["evidence"]
    assert "ProvisionServer spoofing a security risk" in warned["evidence"]
    assert "Secure only" in warned["remedy"]
    assert res["warned_checks"] == [warned]
    skipped = got["dns.zone.bind.example.updates"]
    assert skipped["status"] == "skip" and "is not AD-integrated" in skipped["evidence"]
    [session] = FakeSession.made  # both zones in each partition's one search
    assert all("(dc=lab.example)(dc=bind.example)" in flt for base, flt, _s in session.searches if base)


@pytest.mark.parametrize(
    ("value", "status", "words"),
    [
        (0, "pass", "takes no dynamic updates"),
        (7, "warn", "cannot be told from AD"),
    ],
)
def test_zone_update_settings(run_module, world, value, status, words):
    FakeSession.entries = {zone_dn("lab.example", "DC=ForestDnsZones,DC=lab,DC=example"):
                           {"dnsproperty": [dns_property(value)]}}  # fmt: skip
    _s, res = run_module(dns_provision_info.main, args())
    row = rows(res)["dns.zone.lab.example.updates"]
    assert row["status"] == status and words in row["evidence"] and "ForestDnsZones" in row["evidence"]


def test_without_ldap_the_security_check_is_skipped_saying_so(run_module, world):
    status, res = run_module(dns_provision_info.main, args(ldap_servers=[], domains=[]))
    row = rows(res)["dns.zone.lab.example.updates"]
    assert row["status"] == "skip" and "LDAP not given" in row["evidence"]
    assert res["ldap_operations"] == {"searches": 0, "writes": 0} and not FakeSession.made


def test_partitions_the_dc_does_not_hold_are_named(run_module, world, monkeypatch):
    monkeypatch.setattr(FakeSession, "contexts", ["DC=lab,DC=example"])
    _s, res = run_module(dns_provision_info.main, args())
    row = rows(res)["dns.zone.lab.example.updates"]
    assert row["status"] == "skip"
    assert (
        "the DC does not hold DC=DomainDnsZones,DC=lab,DC=example, DC=ForestDnsZones,DC=lab,DC=example"
        in (row["evidence"])
    )


def test_timeout_is_5_s_for_dns_and_the_connection_dicts_for_ldap(run_module, world):
    run_module(dns_provision_info.main, args(connection={"timeout": 30}))
    assert FakeServer.made[0].timeout == 5.0 and FakeSession.made[0].params["timeout"] == 30
    FakeServer.made, FakeSession.made = [], []
    run_module(dns_provision_info.main, args(timeout=2, connection={"timeout": 30}))
    assert FakeServer.made[0].timeout == 2.0 and FakeSession.made[0].params["timeout"] == 2


def test_the_start_server_not_answering_fails_clearly(run_module, world):
    world[LAB_DC]["down"] = True
    status, res = run_module(dns_provision_info.main, args())
    assert status == "fail" and res["error"] == "timeout"
    assert res["msg"] == (
        "dc1.lab.example (198.51.100.10:53) did not answer a query for lab.example SOA within 5 s (timeout)"
    )


def test_an_ldap_failure_fails_clearly(run_module, world, monkeypatch):
    def refuse(servers, params):
        raise LdapError("credentials", "invalid credentials for Administrator@lab.example on dc1.lab.example")

    monkeypatch.setattr(dns_provision_info, "connect", refuse)
    status, res = run_module(dns_provision_info.main, args())
    assert status == "fail" and res["error"] == "credentials" and "secret" not in str(res)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"service_point_ipv4": "2001:db8::20"}, "is an IPv6 address"),
        ({"service_point_ipv4": "oobsp"}, "service_point_ipv4 'oobsp' is not an IPv4 address"),
        ({"suffixes": []}, "suffixes must list at least one"),
        ({"suffixes": ["lab.example", "LAB.example."]}, "a suffix is listed twice"),
        ({"suffixes": ["not_a_name"]}, "suffix 'not_a_name' is not a valid DNS name"),
        ({"record_name": "Provision.Server"}, "record_name 'Provision.Server' is not a valid DNS label"),
        ({"consoles": [{"fqdn": "c1.lab.example", "ipv4": "300.1.1.1"}]}, "consoles[0].ipv4"),
        ({"consoles": [{"fqdn": "oobsp.lab.example", "ipv4": "198.51.100.9"}]}, "is given twice"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"server": {"host": "dc1", "port": "x"}}, "server port must be a number"),
        ({"server": {"host": "dc1", "address": "dc1.lab"}}, "is not an IP address"),
        ({"domains": []}, "needs both ldap_servers"),
        ({"ldap_servers": []}, "needs both ldap_servers"),
        ({"domains": [{"dns_name": "lab..example"}]}, "domains[0].dns_name"),
    ],
)
def test_bad_input_fails_before_any_query(run_module, world, extra, message):
    status, res = run_module(dns_provision_info.main, args(**extra))
    assert status == "fail" and res["error"] == "input" and message in res["msg"], res
    assert not FakeServer.made and not FakeSession.made


def test_bad_ldap_settings_fail_before_any_query(run_module, world):
    status, res = run_module(dns_provision_info.main, args(bind_password=None))
    assert status == "fail" and res["error"] == "settings" and "auth=simple needs bind_user" in res["msg"]
    assert not FakeServer.made


def test_required_options_and_secrets():
    spec = dns_provision_info.argument_spec()
    assert spec["bind_password"]["no_log"] is True
    assert spec["connection"]["options"]["bind_password"]["no_log"] is True
    assert {k for k, v in spec.items() if v.get("required")} == {
        "suffixes", "service_point_fqdn", "service_point_ipv4", "server"
    }  # fmt: skip
    assert spec["record_name"]["default"] == "ProvisionServer"
