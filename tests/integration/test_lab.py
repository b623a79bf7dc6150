"""The lab is real: each test talks to a live service over the wire."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import sys
import time
import uuid

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename
import dns.tsig
import dns.update
import pytest
from labutil import ROOT, netns_run
from ldap3 import GSSAPI, SASL, Connection, Server, Tls
from ldap3.core.exceptions import LDAPSocketOpenError


def _ldaps_server(lab, valid_name: str) -> Server:
    f = lab.FORESTS["lab"]
    tls = Tls(ca_certs_file=str(lab.dc_ca_file("lab")), validate=ssl.CERT_REQUIRED, valid_names=[valid_name])
    return Server(f["dc_ip"], port=636, use_ssl=True, tls=tls, connect_timeout=5)


def _bound_as_administrator(conn: Connection) -> bool:
    """Samba has no "Who am I?" operation: read the tokenGroups of our own entry, which AD only computes for a
    bound principal, and check it holds Domain Admins (RID 512)."""
    conn.search("CN=Administrator,CN=Users,DC=lab,DC=example", "(objectClass=user)", search_scope="BASE",
                attributes=["tokenGroups"])  # fmt: skip
    groups = conn.response[0]["raw_attributes"]["tokenGroups"] if conn.entries else []
    return any(len(sid) == 28 and sid[-4:] == (512).to_bytes(4, "little") for sid in groups)  # domain SID + RID


def test_ldaps_bind_validates_the_dc_certificate(lab):
    conn = Connection(_ldaps_server(lab, lab.dc_fqdn("lab")), user="Administrator@lab.example",
                      password=lab.ADMIN_PASSWORD)  # fmt: skip
    assert conn.bind(), conn.result
    assert conn.server.tls.validate == ssl.CERT_REQUIRED
    assert _bound_as_administrator(conn)
    conn.unbind()


def test_ldaps_refuses_a_certificate_for_another_name(lab):
    conn = Connection(_ldaps_server(lab, "not-the-dc.lab.example"), user="Administrator@lab.example",
                      password=lab.ADMIN_PASSWORD)  # fmt: skip
    with pytest.raises(LDAPSocketOpenError, match="(?i)certificate|hostname|valid"):
        conn.open()


def test_kerberos_gssapi_bind(lab, kerberos):
    kerberos("Administrator@LAB.EXAMPLE", lab.ADMIN_PASSWORD)
    # GSSAPI inside TLS: Samba requires sign/seal for a plain-LDAP SASL bind, which ldap3 does not negotiate
    conn = Connection(
        _ldaps_server(lab, lab.dc_fqdn("lab")),
        authentication=SASL,
        sasl_mechanism=GSSAPI,
        sasl_credentials=(lab.dc_fqdn("lab"),),
    )
    assert conn.bind(), conn.result
    assert _bound_as_administrator(conn)
    conn.unbind()


def test_dc_answers_dns_for_the_service_point(lab):
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [lab.FORESTS["lab"]["dc_ip"]]
    answer = resolver.resolve(lab.SERVICE_POINT["fqdn"], "A")
    assert [r.to_text() for r in answer] == [lab.SERVICE_POINT["ip"]]
    assert answer.response.flags & dns.flags.AA  # authoritative: the DC's own AD-integrated zone


def test_second_forest_is_separate(lab):
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [lab.FORESTS["other"]["dc_ip"]]
    assert [r.to_text() for r in resolver.resolve("dc1.other.example", "A")] == [lab.FORESTS["other"]["dc_ip"]]
    with pytest.raises((dns.resolver.NXDOMAIN, dns.resolver.NoNameservers)):  # no forwarder, no lab.example
        resolver.resolve(lab.SERVICE_POINT["fqdn"], "A")


def test_dhcp_offer_through_the_router_relay_carries_options_6_and_15(dhcp_converged):
    lab = dhcp_converged
    proc = netns_run(f"{lab.PREFIX}-amtc", sys.executable, str(ROOT / "lab/probes/dhcp_discover.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    offer = json.loads(proc.stdout)
    assert offer["relay"] == lab.ROUTER_AMT_IP  # it crossed the router's relay
    assert offer["server_id"] == lab.DHCP_IP  # and Kea answered
    assert offer["options"]["6"] == [lab.FORESTS["lab"]["dc_ip"]]
    assert offer["options"]["15"] == "lab.example"
    assert offer["yiaddr"].startswith("203.0.113.")


def test_amt_subnet_reaches_the_service_point_and_it_records_the_bytes(lab):
    marker = uuid.uuid4().hex
    code = (
        "import socket,sys;"
        f"s=socket.create_connection(('{lab.SERVICE_POINT['ip']}',{lab.SERVICE_POINT['port']}),timeout=5);"
        f"s.sendall(bytes.fromhex('{marker}'));s.close()"
    )
    proc = netns_run(f"{lab.PREFIX}-amt1", sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stderr
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        entries = (
            [json.loads(line) for line in lab.SP_RECORD.read_text().splitlines()] if lab.SP_RECORD.exists() else []
        )
        mine = [e for e in entries if e["data_hex"] == marker]
        if mine:
            assert mine[0]["peer"] == lab.AMT_HOSTS["amt1"]  # routed, not NATed
            assert mine[0]["local_port"] == 9971
            return
        time.sleep(0.1)
    pytest.fail("the service point stand-in recorded no connection with our bytes")


@pytest.mark.parametrize("port", [16993, 16995])  # the seed's console flows: open with the matrix loaded or not
def test_console_reaches_amt_placeholders_through_the_router(lab, port):
    code = f"import socket; socket.create_connection(('{lab.AMT_HOSTS['amt2']}', {port}), timeout=3).close()"
    proc = netns_run(f"{lab.PREFIX}-con", sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------------------------------- DNS


def _bind_key(lab, secret: str | None = None) -> dns.tsig.Key:
    t = lab.BIND["tsig"]
    return dns.tsig.Key(t["name"], secret or t["secret"], t["algorithm"])


def _a_records(server: str, name: str) -> list[str]:
    """The A records of name, asked of server directly; [] for NXDOMAIN or no A."""
    reply = dns.query.tcp(dns.message.make_query(name, "A"), server, timeout=5)
    return sorted(r.to_text() for rrset in reply.answer if rrset.rdtype == dns.rdatatype.A for r in rrset)


@pytest.mark.parametrize("query", [dns.query.udp, dns.query.tcp], ids=["udp", "tcp"])
def test_bind_answers_for_its_zone_from_the_controller(lab, query):
    b = lab.BIND
    reply = query(dns.message.make_query(b["zone"], "SOA"), b["ip"], timeout=5)
    assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
    assert reply.answer[0][0].mname.to_text() == b["fqdn"] + "."
    assert _a_records(b["ip"], b["fqdn"]) == [b["ip"]]
    for name, ip in b["records"].items():  # seeded at start, e.g. a target for CNAMEs
        assert _a_records(b["ip"], f"{name}.{b['zone']}") == [ip]


def test_bind_answers_over_udp_and_tcp_from_the_server_subnet(lab):
    # asked from the console's namespace: the AMT subnet reaches only the DNS servers of option 006 once the port
    # matrix is loaded on the router (tests/integration/test_network_lab.py), and BIND is not one of them
    b = lab.BIND
    code = (
        "import dns.message, dns.query, dns.flags, json\n"
        "out = {}\n"
        "for q in (dns.query.udp, dns.query.tcp):\n"
        f"    r = q(dns.message.make_query('{b['zone']}', 'SOA'), '{b['ip']}', timeout=5)\n"
        "    out[q.__name__] = [r.rcode(), bool(r.flags & dns.flags.AA), r.answer[0][0].mname.to_text()]\n"
        "print(json.dumps(out))\n"
    )
    proc = netns_run(f"{lab.PREFIX}-con", sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    want = [dns.rcode.NOERROR, True, b["fqdn"] + "."]
    assert json.loads(proc.stdout) == {"udp": want, "tcp": want}


def test_bind_takes_an_update_signed_with_the_lab_key_and_refuses_a_wrong_secret(lab):
    b = lab.BIND
    name = f"t-{uuid.uuid4().hex[:12]}"
    fqdn = f"{name}.{b['zone']}"
    update = dns.update.UpdateMessage(b["zone"], keyring=_bind_key(lab))
    update.add(name, 60, "A", "198.51.100.99")
    try:
        assert dns.query.tcp(update, b["ip"], timeout=5).rcode() == dns.rcode.NOERROR  # the reply's TSIG validated
        assert _a_records(b["ip"], fqdn) == ["198.51.100.99"]

        wrong = dns.update.UpdateMessage(b["zone"], keyring=_bind_key(lab, base64.b64encode(b"\0" * 32).decode()))
        wrong.replace(name, 60, "A", "198.51.100.98")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(wrong.to_wire(), (b["ip"], 53))
            reply = dns.message.from_wire(sock.recv(65535), keyring=False)  # unsigned error reply: read as is
        assert reply.rcode() == dns.rcode.NOTAUTH
        assert reply.tsig_error == dns.rcode.BADSIG
        with pytest.raises(dns.tsig.PeerBadSignature):  # what a dnspython client sees
            dns.query.udp(wrong, b["ip"], timeout=5)

        unsigned = dns.update.UpdateMessage(b["zone"])
        unsigned.replace(name, 60, "A", "198.51.100.97")
        assert dns.query.tcp(unsigned, b["ip"], timeout=5).rcode() == dns.rcode.REFUSED
        assert _a_records(b["ip"], fqdn) == ["198.51.100.99"]  # neither changed it
    finally:
        cleanup = dns.update.UpdateMessage(b["zone"], keyring=_bind_key(lab))
        cleanup.delete(name)
        assert dns.query.tcp(cleanup, b["ip"], timeout=5).rcode() == dns.rcode.NOERROR
    assert _a_records(b["ip"], fqdn) == []


def test_other_forest_takes_an_unauthenticated_update_and_the_lab_forest_refuses_one(lab):
    state = json.loads(lab.STATE_FILE.read_text())
    assert state["dns_updates"] == {"lab": "secure only", "other": "nonsecure"}
    name = f"t-{uuid.uuid4().hex[:12]}"
    other = lab.FORESTS["other"]
    update = dns.update.UpdateMessage(other["dns"])
    update.add(name, 60, "A", "198.51.100.99")
    try:
        assert dns.query.tcp(update, other["dc_ip"], timeout=5).rcode() == dns.rcode.NOERROR
        assert _a_records(other["dc_ip"], f"{name}.{other['dns']}") == ["198.51.100.99"]  # converged
    finally:
        cleanup = dns.update.UpdateMessage(other["dns"])
        cleanup.delete(name)
        assert dns.query.tcp(cleanup, other["dc_ip"], timeout=5).rcode() == dns.rcode.NOERROR
    assert _a_records(other["dc_ip"], f"{name}.{other['dns']}") == []

    f = lab.FORESTS["lab"]
    update = dns.update.UpdateMessage(f["dns"])
    update.add(name, 60, "A", "198.51.100.99")
    assert dns.query.tcp(update, f["dc_ip"], timeout=5).rcode() == dns.rcode.REFUSED  # secure only
    assert _a_records(f["dc_ip"], f"{name}.{f['dns']}") == []


def test_lab_dc_has_the_reverse_zone_with_ptr_records(lab):
    f = lab.FORESTS["lab"]
    reply = dns.query.tcp(dns.message.make_query(lab.REVERSE_ZONE, "SOA"), f["dc_ip"], timeout=5)
    assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [f["dc_ip"]]
    for ip, fqdn in lab.PTR_RECORDS.items():
        answer = resolver.resolve(dns.reversename.from_address(ip), "PTR")
        assert [r.to_text() for r in answer] == [fqdn + "."]
