"""dns_provision_record's main(): success, check mode, diff and bad input, with the DNS server faked (the adapter's
contract: query / zone_of / update). The real server is in tests/integration/test_dns_lab.py."""

from __future__ import annotations

import dns_provision_record
import pytest
from ansible_collections.oob.prep.plugins.module_utils.dns.plan import DnsError
from ansible_collections.oob.prep.plugins.module_utils.dns.rfc2136 import Rfc2136


class FakeServer:
    """An authoritative server holding {name: {type: (ttl, [values])}}. It answers as RFC 1034 4.3.2 says: QTYPE ANY
    gets every RRset at the name, another type its RRset or the name's CNAME. Updates are checked against their RFC
    2136 3.2 prerequisites first (a failed one refuses the whole update, as a server does), then applied."""

    instances: list = []
    zones = ("lab.example",)
    read_name = Rfc2136.read_name  # the adapter's own reading, over this server's answers

    def __init__(self, server, auth, timeout, tsig):
        self.records = {name: dict(rrsets) for name, rrsets in FakeServer.initial.items()}
        self.ops = {"queries": 0, "updates": 0}
        self.warnings, self.where, self.creds = [], f"{server['host']} (fake)", None
        FakeServer.instances.append(self)

    def query(self, name, rdtype):
        self.ops["queries"] += 1
        found = self.records.get(name.lower(), {})
        if rdtype != "ANY":
            found = {t: v for t, v in found.items() if t in (rdtype, "CNAME")}
        answer = [(f"{name.lower()}.", t, ttl, values) for t, (ttl, values) in found.items()]
        authoritative = name.lower().endswith(tuple(FakeServer.zones))
        rcode = "NOERROR" if self.records.get(name.lower()) else "NXDOMAIN"
        return {"rcode": rcode, "answer": answer, "authority": [], "authoritative": authoritative}

    def zone_of(self, name):
        return name.split(".", 1)[1]

    def update(self, zone, name, plan):
        self.ops["updates"] += 1
        current = dict(self.records.get(name.lower(), {}))
        for kind, rtype in plan["prerequisites"]:  # RFC 2136 3.2.5: YXDOMAIN, NXRRSET, YXRRSET
            held = {"exists": rtype in current, "absent": rtype not in current, "name_absent": not current}[kind]
            if not held:
                raise DnsError("conflict", f"{name} changed on {self.where} since it was read; run again")
        for change in plan["changes"]:
            if change[0] == "delete_name":
                current = {}
            elif change[0] == "delete":
                current.pop(change[1], None)
            else:
                current[change[1]] = (change[2], [change[3]])
        self.records[name.lower()] = current


@pytest.fixture()
def server(monkeypatch):
    FakeServer.initial, FakeServer.instances = {}, []
    monkeypatch.setattr(dns_provision_record, "Rfc2136", FakeServer)
    return FakeServer


def args(**extra):
    base = {"suffixes": ["lab.example", "branch.lab.example"], "target": "oobsp.lab.example",
            "server": {"host": "dc1.lab.example", "address": "198.51.100.10"}}  # fmt: skip
    return dict(base, **extra)


def test_check_mode_queries_only_and_shows_each_rrset(run_module, server):
    status, res = run_module(dns_provision_record.main, args(_ansible_check_mode=True, _ansible_diff=True))
    assert status == "exit", res
    [fake] = server.instances
    assert res["changed"] is True and fake.ops == {"queries": 2, "updates": 0} and fake.records == {}
    assert [d["after"] for d in res["diff"]] == [
        "ProvisionServer.lab.example. 3600 IN CNAME oobsp.lab.example\n",
        "ProvisionServer.branch.lab.example. 3600 IN CNAME oobsp.lab.example\n",
    ]
    assert [d["before"] for d in res["diff"]] == ["", ""]


def test_converge_then_no_op_with_one_query_per_name(run_module, server):
    status, res = run_module(dns_provision_record.main, args())
    assert status == "exit" and res["changed"] is True, res
    server.initial = dict(server.instances[0].records)
    assert server.initial["provisionserver.lab.example"] == {"CNAME": (3600, ["oobsp.lab.example"])}
    status, again = run_module(dns_provision_record.main, args())
    assert again["changed"] is False and again["dns_operations"] == {"queries": 2, "updates": 0}


def test_drift_to_an_a_record_is_a_conflict_unless_replaced(run_module, server):
    server.initial = {"provisionserver.lab.example": {"A": (300, ["192.0.2.66"])}}
    status, res = run_module(dns_provision_record.main, args(suffixes=["lab.example"]))
    assert status == "fail" and res["error"] == "conflict" and "IN A 192.0.2.66" in res["msg"]
    assert server.instances[-1].ops["updates"] == 0
    status, res = run_module(dns_provision_record.main, args(suffixes=["lab.example"], replace_conflicts=True))
    assert status == "exit" and res["records"][0]["after"] == [
        "ProvisionServer.lab.example. 3600 IN CNAME oobsp.lab.example"
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"type": "A", "ipv4": "2001:db8::20"}, "is an IPv6 address"),
        ({"target": "not_a_name"}, "is not a valid DNS name"),
        ({"auth": "tsig", "tsig_key_name": "k.", "tsig_key_secret": "%%%"}, "tsig_key_secret is not valid base64"),
        ({"auth": "tsig"}, "auth=tsig needs tsig_key_name and tsig_key_secret"),
        ({"suffixes": ["lab.example", "LAB.example."]}, "a suffix is listed twice"),
        ({"suffixes": []}, "suffixes must list at least one"),
    ],
)
def test_bad_input_fails_before_any_query(run_module, server, extra, message):
    status, res = run_module(dns_provision_record.main, args(**extra))
    assert status == "fail" and message in res["msg"], res
    assert not server.instances  # no adapter was even made
    assert "%%%" not in str(res)


def test_secrets_are_no_log():
    spec = dns_provision_record.argument_spec()
    assert spec["tsig_key_secret"]["no_log"] is True and spec["bind_password"]["no_log"] is True
    assert spec["auth"]["default"] == "gss-tsig"


def test_documentation_parses_and_matches_the_spec():
    import yaml  # noqa: PLC0415

    options = yaml.safe_load(dns_provision_record.DOCUMENTATION)["options"]
    spec = dns_provision_record.argument_spec()
    assert set(options) == set(spec)
    for name, entry in spec.items():
        assert options[name]["type"] == entry["type"], name
        assert options[name].get("default") == entry.get("default"), name
        assert options[name].get("choices") == entry.get("choices"), name
    assert set(yaml.safe_load(dns_provision_record.RETURN)) == {"records", "dns_operations"}


def test_a_suffix_whose_zone_the_server_does_not_hold_fails_before_any_write(run_module, server):
    status, res = run_module(dns_provision_record.main, args(suffixes=["lab.example", "nozone.example"]))
    assert status == "fail" and res["error"] == "zone"
    assert "holds no zone for the suffix nozone.example" in res["msg"]
    assert server.instances[0].ops["updates"] == 0  # lab.example was only read: nothing is written when one is bad


# a TXT record and the DHCID record a DHCP server writes beside the name it registered (RFC 4701 3.3, 3.5)
TXT = ("TXT", 3600, ['"v=owner dhcp1"'])
DHCID = ("DHCID", 3600, ["AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="])


def test_txt_and_dhcid_beside_an_a_record_are_left_alone_and_the_add_converges(run_module, server):
    server.initial = {"provisionserver.lab.example": {t: (ttl, v) for t, ttl, v in (TXT, DHCID)}}
    extra = {"suffixes": ["lab.example"], "type": "A", "ipv4": "198.51.100.20", "_ansible_diff": True}
    status, res = run_module(dns_provision_record.main, args(**extra))
    assert status == "exit" and res["changed"] is True, res
    held = server.instances[-1].records["provisionserver.lab.example"]
    assert held == {"TXT": (3600, TXT[2]), "DHCID": (3600, DHCID[2]), "A": (3600, ["198.51.100.20"])}
    assert res["diff"][0]["after"] == (
        "ProvisionServer.lab.example. 3600 IN DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=\n"
        'ProvisionServer.lab.example. 3600 IN TXT "v=owner dhcp1"\n'
        "ProvisionServer.lab.example. 3600 IN A 198.51.100.20\n"
    )
    server.initial = dict(server.instances[-1].records)
    status, again = run_module(dns_provision_record.main, args(**extra))
    assert status == "exit" and again["changed"] is False
    assert again["dns_operations"] == {"queries": 1, "updates": 0}  # still one query per name (ANY)


def test_check_mode_beside_a_txt_record_writes_nothing(run_module, server):
    server.initial = {"provisionserver.lab.example": {"TXT": TXT[1:]}}
    extra = {"suffixes": ["lab.example"], "type": "A", "ipv4": "198.51.100.20", "_ansible_check_mode": True}
    status, res = run_module(dns_provision_record.main, args(**extra))
    assert status == "exit" and res["changed"] is True
    assert server.instances[-1].ops["updates"] == 0
    assert server.instances[-1].records == {"provisionserver.lab.example": {"TXT": TXT[1:]}}


def test_a_cname_cannot_join_a_txt_record_the_failure_names_it_and_what_to_do(run_module, server):
    server.initial = {"provisionserver.lab.example": {"TXT": TXT[1:]}}
    status, res = run_module(dns_provision_record.main, args(suffixes=["lab.example"]))
    assert status == "fail" and res["error"] == "conflict", res
    assert 'ProvisionServer.lab.example. 3600 IN TXT "v=owner dhcp1"' in res["msg"]
    assert "RFC 1034 3.6.2" in res["msg"] and "type=A" in res["msg"] and "replace_conflicts=true" in res["msg"]
    assert "run again" not in res["msg"] and server.instances[-1].ops["updates"] == 0
    status, res = run_module(dns_provision_record.main, args(suffixes=["lab.example"], replace_conflicts=True))
    assert status == "exit" and res["changed"] is True, res
    assert server.instances[-1].records["provisionserver.lab.example"] == {"CNAME": (3600, ["oobsp.lab.example"])}


def test_an_a_record_cannot_join_a_cname(run_module, server):
    server.initial = {"provisionserver.lab.example": {"CNAME": (300, ["old.lab.example"])}}
    status, res = run_module(dns_provision_record.main,
                             args(suffixes=["lab.example"], type="A", ipv4="198.51.100.20"))  # fmt: skip
    assert status == "fail" and res["error"] == "conflict"
    assert "ProvisionServer.lab.example. 300 IN CNAME old.lab.example" in res["msg"] and "type=CNAME" in res["msg"]
