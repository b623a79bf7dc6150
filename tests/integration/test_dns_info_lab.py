"""dns_provision_info against the lab's real DNS servers (Samba's internal DNS on both forests' DCs, BIND 9) and the
lab DC's LDAP. Records are created and removed independently of the project's code (samba-tool, raw dnspython), with
a random label each, since others share the lab; the module's verdicts are compared with raw reads."""

from __future__ import annotations

import struct
import uuid

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns_provision_info
import pytest
from labutil import highest_usn, labconfig, samba_tool_dns

LAB_DC = {"host": labconfig.dc_fqdn("lab"), "address": labconfig.FORESTS["lab"]["dc_ip"]}
OTHER_DC = {"host": labconfig.dc_fqdn("other"), "address": labconfig.FORESTS["other"]["dc_ip"]}
BIND = {"host": labconfig.BIND["fqdn"], "address": labconfig.BIND["ip"]}
SP = labconfig.SERVICE_POINT
LDAP = {
    "ldap_servers": [LAB_DC],
    "domains": [{"dns_name": "lab.example"}],
    "connection": {
        "bind_user": "Administrator@lab.example",
        "bind_password": labconfig.ADMIN_PASSWORD,
        "ca_file": str(labconfig.dc_ca_file("lab")),
    },
}
ZONE_DN = "DC=lab.example,CN=MicrosoftDNS,DC=DomainDnsZones,DC=lab,DC=example"


def ask(server: dict, name: str, rdtype: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype), server["address"], timeout=5)


def soa_serial(server: dict, zone: str) -> int:
    return ask(server, zone, "SOA").answer[0][0].serial


def holds(server: dict, zone: str) -> bool:
    """Whether ``server`` answers for ``zone`` with its SOA (the lab may not have it yet)."""
    try:
        response = ask(server, f"{zone}.", "SOA")
    except (dns.exception.Timeout, OSError):
        return False
    return response.rcode() == dns.rcode.NOERROR and bool(response.answer)


def update(server: dict, zone: str, build, keyring=None) -> int:
    message = dns.update.UpdateMessage(f"{zone}.", keyring=keyring)
    build(message)
    return dns.query.tcp(message, server["address"], timeout=5).rcode()


def rows(res) -> dict:
    return {c["id"]: c for c in res["checks"]}


def args(**extra) -> dict:
    base = {"suffixes": ["lab.example"], "service_point_fqdn": SP["fqdn"], "service_point_ipv4": SP["ip"],
            "server": LAB_DC}  # fmt: skip
    return dict(base, **extra)


@pytest.fixture()
def label(lab):
    return f"ps-{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def lab_records(lab):
    """Adds records to lab.example with samba-tool: add(name, type, value); all are deleted afterwards."""
    added = []

    def add(name: str, rtype: str, value: str) -> None:
        samba_tool_dns("add", "lab.example", name, rtype, value)
        added.append((name, rtype, value))

    yield add
    for name, rtype, value in added:
        samba_tool_dns("delete", "lab.example", name, rtype, value)


def zone_allow_update_raw(admin) -> int:
    """lab.example's DSPROPERTY_ZONE_ALLOW_UPDATE, read and decoded here ([MS-DNSP] 2.3.2.1), not by the project."""
    admin.search(ZONE_DN, "(objectClass=dnsZone)", search_scope="BASE", attributes=["dNSProperty"])
    for raw in admin.response[0]["raw_attributes"]["dNSProperty"]:
        length, _n, _f, _v, prop = struct.unpack_from("<5I", raw)
        if prop == 2:
            return raw[20]
    raise AssertionError("lab.example's zone object has no ZONE_ALLOW_UPDATE")


def test_a_ready_lab_passes_and_the_run_reads_only(run_module, admin, label, lab_records):
    lab_records(label, "CNAME", SP["fqdn"])
    usn, serial = highest_usn(admin), soa_serial(LAB_DC, "lab.example.")
    consoles = [{"fqdn": labconfig.CONSOLE["fqdn"], "ipv4": labconfig.CONSOLE["ip"]}]
    status, res = run_module(dns_provision_info.main, args(record_name=label, consoles=consoles, **LDAP))
    assert status == "exit" and res["changed"] is False, res
    assert res["failed_checks"] == [] and res["warned_checks"] == [], res["failed_checks"] + res["warned_checks"]
    got = rows(res)
    record = got[f"dns.provisionserver.lab.example.{LAB_DC['host']}"]
    assert record["status"] == "pass" and record["evidence"] == (
        f"{LAB_DC['host']} ({LAB_DC['address']}:53) answered: {label}.lab.example CNAME {SP['fqdn']}, {SP['fqdn']} A "
        f"{SP['ip']}: the service point's address"
    )
    assert got[f"dns.host.{SP['fqdn']}.a"]["status"] == "pass"
    assert got[f"dns.host.{labconfig.CONSOLE['fqdn']}.a"]["status"] == "pass"
    # What Samba stores for lab.example, read independently: ZONE_UPDATE_SECURE (2), whatever smb.conf says
    assert zone_allow_update_raw(admin) == 2
    security = got["dns.zone.lab.example.updates"]
    assert security["status"] == "pass" and f"{ZONE_DN}: secure only" in security["evidence"]
    assert res["zones"]["lab.example"] == {"servers": [{"host": LAB_DC["host"], "address": LAB_DC["address"]}],
                                           "dynamic_updates": "secure only", "distinguished_name": ZONE_DN}  # fmt: skip
    # the rootDSE, then DomainDnsZones, CN=System and ForestDnsZones: one search each for all the zones
    assert res["ldap_operations"] == {"searches": 4, "writes": 0}
    assert res["dns_operations"]["updates"] == 0
    assert highest_usn(admin) == usn and soa_serial(LAB_DC, "lab.example.") == serial
    status, check = run_module(dns_provision_info.main, args(record_name=label, consoles=consoles,
                                                             _ansible_check_mode=True, **LDAP))  # fmt: skip
    assert status == "exit" and check["checks"] == res["checks"]


def test_missing_and_misdirected_records_and_names_dns_does_not_know_fail(run_module, label, lab_records):
    wrong = f"{label}-w"
    lab_records(wrong, "CNAME", LAB_DC["host"])  # leads to the DC, not the service point
    ghost = f"ghost-{label}.lab.example"
    status, res = run_module(dns_provision_info.main, args(record_name=label, consoles=[{"fqdn": ghost}]))
    assert status == "exit", res
    missing = rows(res)[f"dns.provisionserver.lab.example.{LAB_DC['host']}"]
    assert missing["status"] == "fail" and "NXDOMAIN (authoritative for lab.example)" in missing["evidence"]
    assert "dns_provision_record" in missing["remedy"]
    unknown = rows(res)[f"dns.host.{ghost}.a"]
    assert unknown["status"] == "fail" and unknown["row"] == "dns_not_wins"
    assert unknown["evidence"].endswith(
        "Only WINS or a hosts file could resolve it; WINS cannot be used for resolving computer names, and DNS is "
        "required"
    )
    assert rows(res)["dns.zone.lab.example.updates"]["status"] == "skip"  # no LDAP given: says so
    assert "LDAP not given" in rows(res)["dns.zone.lab.example.updates"]["evidence"]
    status, res = run_module(dns_provision_info.main, args(record_name=wrong))
    misdirected = rows(res)[f"dns.provisionserver.lab.example.{LAB_DC['host']}"]
    assert misdirected["status"] == "fail"
    assert misdirected["evidence"].endswith(
        f"CNAME {LAB_DC['host']}, {LAB_DC['host']} A {LAB_DC['address']}: not the service point's address {SP['ip']}"
    )


def test_ptr_records_in_the_lab_dcs_reverse_zone(run_module, label, lab_records):
    if not holds(LAB_DC, labconfig.REVERSE_ZONE):
        pytest.skip(f"the lab DC has no reverse zone {labconfig.REVERSE_ZONE} yet (lab/seed.py seed_reverse_zone)")
    unpaired = f"nptr-{label}"
    lab_records(unpaired, "A", "198.51.100.199")  # an A record without a PTR
    consoles = [{"fqdn": labconfig.CONSOLE["fqdn"], "ipv4": labconfig.CONSOLE["ip"]},
                {"fqdn": f"{unpaired}.lab.example"}]  # fmt: skip
    status, res = run_module(dns_provision_info.main, args(consoles=consoles))
    assert status == "exit", res
    got = rows(res)
    for fqdn, ip in ((SP["fqdn"], SP["ip"]), (labconfig.CONSOLE["fqdn"], labconfig.CONSOLE["ip"])):
        row = got[f"dns.host.{fqdn}.ptr"]
        reverse = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
        assert row["status"] == "pass" and f"{reverse} PTR {fqdn}" in row["evidence"], row
    missing = got[f"dns.host.{unpaired}.lab.example.ptr"]
    assert missing["status"] == "fail"
    assert f"199.100.51.198.in-addr.arpa: NXDOMAIN in reverse zone {labconfig.REVERSE_ZONE}" in missing["evidence"]


def test_bind_zone_checked_from_bind_and_not_ad_integrated(run_module, label):
    if not holds(BIND, labconfig.BIND["zone"]):
        pytest.skip(f"no BIND server answering for {labconfig.BIND['zone']} at {BIND['address']} in this lab")
    zone, tsig = labconfig.BIND["zone"], labconfig.BIND["tsig"]
    keyring = dns.tsigkeyring.from_text({tsig["name"]: (tsig["algorithm"], tsig["secret"])})
    target = f"oobsp.{zone}"  # labconfig.BIND["records"]
    assert update(BIND, zone, lambda m: m.add(label, 300, "CNAME", f"{target}."), keyring) == dns.rcode.NOERROR
    try:
        status, res = run_module(dns_provision_info.main, args(suffixes=[zone], record_name=label, server=BIND,
                                                               service_point_fqdn=target, **LDAP))  # fmt: skip
        assert status == "exit", res
        got = rows(res)
        assert got[f"dns.suffix.{zone}.zone"]["status"] == "pass"
        assert got[f"dns.zone.{zone}.ns.{BIND['host']}"]["status"] == "pass"
        assert got[f"dns.provisionserver.{zone}.{BIND['host']}"]["status"] == "pass", got
        assert got[f"dns.host.{target}.a"]["status"] == "pass"
        ptr = got[f"dns.host.{target}.ptr"]  # BIND refuses the reverse name: it holds no reverse zone
        assert ptr["status"] == "skip" and ptr["evidence"].endswith(
            "REFUSED (it holds no zone for the name): no reverse zone"
        )
        security = got[f"dns.zone.{zone}.updates"]
        assert (
            security["status"] == "skip"
            and f"zone {zone} (holds {label}.{zone}) is not AD-integrated" in (security["evidence"])
        )
    finally:
        update(BIND, zone, lambda m: m.delete(label), keyring)
    assert ask(BIND, f"{label}.{zone}.", "CNAME").rcode() == dns.rcode.NXDOMAIN


def test_samba_takes_unsigned_updates_while_ad_says_secure_only(run_module, label):
    """Samba's smb.conf, not the zone's dNSProperty, decides: other.example accepts an unsigned update although AD
    stores "secure only" for it, and the module reports what AD says (its documented note)."""
    if update(OTHER_DC, "other.example", lambda m: m.add(label, 300, "A", SP["ip"])) != dns.rcode.NOERROR:
        pytest.skip("other.example refuses unsigned updates in this lab (allow dns updates is not nonsecure)")
    try:
        ldap = dict(LDAP, ldap_servers=[OTHER_DC], domains=[{"dns_name": "other.example"}],
                    connection={"bind_user": "Administrator@other.example", "bind_password": labconfig.ADMIN_PASSWORD,
                                "ca_file": str(labconfig.dc_ca_file("other"))})  # fmt: skip
        status, res = run_module(dns_provision_info.main, args(suffixes=["other.example"], record_name=label,
                                                               server=OTHER_DC, **ldap))  # fmt: skip
        assert status == "exit", res
        got = rows(res)
        assert got[f"dns.provisionserver.other.example.{OTHER_DC['host']}"]["status"] == "pass"
        assert got["dns.zone.other.example.updates"]["status"] == "pass"
        assert res["zones"]["other.example"]["dynamic_updates"] == "secure only"
        # the service point's zone, lab.example, is not on the other forest's DC
        assert got[f"dns.host.{SP['fqdn']}.a"]["status"] == "fail"
    finally:
        update(OTHER_DC, "other.example", lambda m: m.delete(label))


def test_a_start_server_that_does_not_answer_fails_clearly(run_module, lab):
    nobody = {"host": "dns.lab.example", "address": "198.51.100.199"}  # no lab machine has this address
    status, res = run_module(dns_provision_info.main, args(server=nobody, timeout=1))
    assert status == "fail" and res["error"] in ("timeout", "unreachable"), res
    assert res["msg"].startswith("dns.lab.example (198.51.100.199:53)")
