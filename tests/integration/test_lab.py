"""The lab is real: each test talks to a live service over the wire."""

from __future__ import annotations

import json
import ssl
import sys
import time
import uuid

import dns.resolver
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


def test_dhcp_offer_through_the_router_relay_carries_options_6_and_15(lab):
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


@pytest.mark.parametrize("port", [16992, 16993])
def test_console_reaches_amt_placeholders_through_the_router(lab, port):
    code = f"import socket; socket.create_connection(('{lab.AMT_HOSTS['amt2']}', {port}), timeout=3).close()"
    proc = netns_run(f"{lab.PREFIX}-con", sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stderr
