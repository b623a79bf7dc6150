"""The AMT simulator (lab/standins/amt_sim.py), checked from the outside with independent clients: http.client,
ssl, requests' HTTPDigestAuth and a digest computed here by hand (RFC 2617), on 127.x loopback addresses."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from requests.auth import HTTPDigestAuth

ROOT = Path(__file__).resolve().parents[3]
SIM = ROOT / "lab" / "standins" / "amt_sim.py"
PASSWORD = "Sim-Test-Pw1!"
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsen": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "sw": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_SoftwareIdentity",
    "sc": "http://intel.com/wbem/wscim/1/amt-schema/1/AMT_SetupAndConfigurationService",
    "gs": "http://intel.com/wbem/wscim/1/amt-schema/1/AMT_GeneralSettings",
    "pm": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AssociatedPowerManagementService",
}
AMT = "http://intel.com/wbem/wscim/1/amt-schema/1/"
CIM = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
CHALLENGE = re.compile(r'^Digest realm="(Digest:[0-9A-F]{32})", nonce="([^"]+)",stale="false",qop="auth"$')


def soap(action: str, resource: str, body: str = "", message_id: str = "7") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
        'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><Header>'
        f"<a:Action>{action}</a:Action><a:To>/wsman</a:To><w:ResourceURI>{resource}</w:ResourceURI>"
        f"<a:MessageID>{message_id}</a:MessageID>"
        "<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>"
        f"<w:OperationTimeout>PT60S</w:OperationTimeout></Header><Body>{body}</Body></Envelope>"
    )


GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"


@pytest.fixture(scope="module")
def sim(tmp_path_factory, child_process):
    sys.path.insert(0, str(SIM.parent))
    import amt_sim

    folder = tmp_path_factory.mktemp("amtsim")
    net = f"127.{random.randint(100, 250)}.{random.randint(0, 250)}."  # noqa: S311 - avoid clashing runs
    addr = {name: net + str(i) for i, name in enumerate(["full", "amt", "me5", "stall", "tls", "none"], start=1)}
    cert, key = amt_sim.make_cert(folder, "tls", [addr["tls"]], ["amt-tls.lab.example"])
    devices = [
        {"address": addr["full"], "version": "6.0.3", "header_variant": "full", "hostname": "amt1",
         "domain": "lab.example", "provisioning_state": "post", "power_state": 8},
        {"address": addr["amt"], "version": "12.0.67", "header_variant": "amt", "provisioning_state": "pre"},
        {"address": addr["me5"], "version": "5.0.1", "header_variant": "me5",
         "uuid": "12345678-9abc-def0-1122-334455667788", "realm": "Digest:00112233445566778899AABBCCDDEEFF"},
        {"address": addr["stall"], "stall": True},
        {"address": addr["tls"], "version": "7.1.20", "tls": {"cert": cert.name, "key": key.name}},
    ]  # fmt: skip
    config = folder / "devices.json"
    config.write_text(json.dumps({"defaults": {"password": PASSWORD}, "devices": devices}))
    proc = child_process([sys.executable, str(SIM), "--config", str(config)], stdout=subprocess.PIPE, text=True)
    ready = json.loads(proc.stdout.readline())
    assert ready["event"] == "ready" and ready["devices"] == 5 and ready["listeners"] == 6
    yield {"addr": addr, "ca": str(folder / "amt-sim-ca.pem"), "cert": cert}
    proc.terminate()
    proc.wait(10)


def _conn(address: str, port: int = 16992) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(address, port, timeout=5)


@pytest.mark.parametrize(
    ("device", "server"),
    [
        ("full", "Intel(R) Active Management Technology 6.0.3"),
        ("amt", "AMT"),
        ("me5", "Intel(R) Con. Management Engine 5.0.1"),
    ],
)
def test_get_root_redirects_with_server_header(sim, device, server):
    conn = _conn(sim["addr"][device])
    conn.request("GET", "/")
    resp = conn.getresponse()
    assert (resp.status, resp.reason) == (303, "See Other")
    assert resp.getheader("Location") == "/logon.htm"
    assert resp.getheader("Server") == server


def test_wsman_without_auth_is_401_with_amt_challenge(sim):
    conn = _conn(sim["addr"]["me5"])
    conn.request("POST", "/wsman", body=soap(GET, AMT + "AMT_GeneralSettings"))
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 401
    header = resp.getheader("WWW-Authenticate")
    match = CHALLENGE.match(header)
    assert match, header
    assert match.group(1) == "Digest:00112233445566778899AABBCCDDEEFF"


def test_hand_computed_digest(sim):
    """RFC 2617 section 3.2.2, computed here, over one kept-alive connection."""
    address = sim["addr"]["me5"]
    conn = _conn(address)
    payload = soap(GET, AMT + "AMT_SetupAndConfigurationService")
    conn.request("POST", "/wsman", body=payload)
    resp = conn.getresponse()
    resp.read()
    realm, nonce = CHALLENGE.match(resp.getheader("WWW-Authenticate")).groups()

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the protocol's hash

    def authorization(password: str) -> str:
        cnonce, nc = "0a4f113b", "00000001"
        ha1, ha2 = md5(f"admin:{realm}:{password}"), md5("POST:/wsman")
        response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        return (f'Digest username="admin", realm="{realm}", nonce="{nonce}", uri="/wsman", qop=auth, nc={nc}, '
                f'cnonce="{cnonce}", response="{response}"')  # fmt: skip

    conn.request("POST", "/wsman", body=payload, headers={"Authorization": authorization("wrong")})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 401
    conn.request("POST", "/wsman", body=payload, headers={"Authorization": authorization(PASSWORD)})
    resp = conn.getresponse()
    assert resp.status == 200
    root = ET.fromstring(resp.read())
    assert root.findtext(".//sc:ProvisioningState", namespaces=NS) == "2"
    assert root.findtext(".//wsa:RelatesTo", namespaces=NS) == "7"


def _post(url: str, body: str, password: str = PASSWORD, **kwargs) -> requests.Response:
    return requests.post(url, data=body, auth=HTTPDigestAuth("admin", password), timeout=5,
                         headers={"Content-Type": "application/soap+xml;charset=UTF-8"}, **kwargs)  # fmt: skip


def _enumerate_pull(url: str, resource: str, **kwargs) -> ET.Element:
    resp = _post(url, soap(ENUMERATE, resource, "<n:Enumerate/>"), **kwargs)
    assert resp.status_code == 200, resp.text
    context = ET.fromstring(resp.content).findtext(".//wsen:EnumerationContext", namespaces=NS)
    assert context
    body = f"<n:Pull><n:EnumerationContext>{context}</n:EnumerationContext></n:Pull>"
    resp = _post(url, soap(PULL, resource, body, "8"), **kwargs)
    assert resp.status_code == 200, resp.text
    return ET.fromstring(resp.content)


@pytest.mark.parametrize(("device", "version"), [("full", "6.0.3"), ("amt", "12.0.67")])
def test_software_identity_enumerate_pull(sim, device, version):
    root = _enumerate_pull(f"http://{sim['addr'][device]}:16992/wsman", CIM + "CIM_SoftwareIdentity")
    assert root.findtext(".//wsa:Action", namespaces=NS).endswith("/enumeration/PullResponse")
    items = {i.findtext("sw:InstanceID", namespaces=NS): i.findtext("sw:VersionString", namespaces=NS)
             for i in root.iterfind(".//sw:CIM_SoftwareIdentity", NS)}  # fmt: skip
    assert items["AMT"] == version
    assert root.find(".//wsen:EndOfSequence", NS) is not None


def test_other_classes(sim):
    url = f"http://{sim['addr']['full']}:16992/wsman"
    general = ET.fromstring(_post(url, soap(GET, AMT + "AMT_GeneralSettings")).content)
    assert general.findtext(".//gs:HostName", namespaces=NS) == "amt1"
    assert general.findtext(".//gs:DomainName", namespaces=NS) == "lab.example"
    assert re.fullmatch(r"Digest:[0-9A-F]{32}", general.findtext(".//gs:DigestRealm", namespaces=NS))
    setup = ET.fromstring(_post(url.replace(sim["addr"]["full"], sim["addr"]["amt"]),
                                soap(GET, AMT + "AMT_SetupAndConfigurationService")).content)  # fmt: skip
    assert setup.findtext(".//sc:ProvisioningState", namespaces=NS) == "0"
    assert setup.findtext(".//sc:ProvisioningMode", namespaces=NS) == "1"
    power = _enumerate_pull(url, CIM + "CIM_AssociatedPowerManagementService")
    assert power.findtext(".//pm:PowerState", namespaces=NS) == "8"
    unknown = _post(url, soap(GET, AMT + "AMT_NoSuchClass"))
    assert unknown.status_code == 400 and "DestinationUnreachable" in unknown.text


def test_provisioning_certificate_hashes_default(sim):
    """A device whose spec names no hashes serves the simulator's default: the SHA-256/SHA-1 of three CA
    certificates of Debian's ca-certificates, compared here with what the openssl CLI computes from them."""
    cls = "AMT_ProvisioningCertificateHash"
    root = _enumerate_pull(f"http://{sim['addr']['full']}:16992/wsman", AMT + cls)
    ns = {"h": AMT + cls}
    assert root.findtext(".//wsa:Action", namespaces=NS).endswith("/enumeration/PullResponse")
    assert root.find(".//wsen:EndOfSequence", NS) is not None
    items = root.findall(".//wsen:Items/h:" + cls, {**NS, **ns})
    props = [[_local(e.tag) for e in item] for item in items]
    assert props == [["ElementName", "Enabled", "HashData", "HashType", "InstanceID", "IsDefault"]] * 3
    got = [(i.findtext("h:ElementName", namespaces=ns), i.findtext("h:HashType", namespaces=ns),
            base64.b64decode(i.findtext("h:HashData", namespaces=ns)).hex(), i.findtext("h:Enabled", namespaces=ns))
           for i in items]  # fmt: skip
    assert [g[1] for g in got] == ["2", "2", "1"] and [g[3] for g in got] == ["true", "true", "false"]
    assert got[0][0] == "DigiCert Global Root CA"
    if not shutil.which("openssl"):
        pytest.skip("openssl computes the expected hashes")
    files = ["DigiCert_Global_Root_CA.pem", "Go_Daddy_Root_Certificate_Authority_-_G2.pem", "Go_Daddy_Class_2_CA.pem"]
    expected = []
    for name, digest in zip(files, ("sha256", "sha256", "sha1"), strict=True):
        pem = Path("/etc/ssl/certs") / name
        if not pem.exists():
            pytest.skip(f"{pem} is not here (Debian's ca-certificates)")
        der = subprocess.run(["openssl", "x509", "-in", str(pem), "-outform", "DER"], capture_output=True,
                             check=True).stdout  # fmt: skip
        out = subprocess.run(["openssl", "dgst", f"-{digest}", "-r"], input=der, capture_output=True, check=True)
        expected.append(out.stdout.split()[0].decode())
    assert [g[2] for g in got] == expected


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def test_wrong_password_is_401(sim):
    resp = _post(f"http://{sim['addr']['full']}:16992/wsman", soap(GET, AMT + "AMT_GeneralSettings"), "nope")
    assert resp.status_code == 401
    assert CHALLENGE.match(resp.headers["WWW-Authenticate"])


def test_tls_answers_with_configured_certificate(sim):
    address = sim["addr"]["tls"]
    ctx = ssl.create_default_context(cafile=sim["ca"])
    with (
        socket.create_connection((address, 16993), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=address) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der == ssl.PEM_cert_to_DER_cert(sim["cert"].read_text())
    root = _enumerate_pull(f"https://{address}:16993/wsman", CIM + "CIM_SoftwareIdentity", verify=sim["ca"])
    assert "7.1.20" in [e.text for e in root.iterfind(".//sw:VersionString", NS)]
    with pytest.raises(ConnectionRefusedError):  # no certificate configured: no 16993 on the others
        socket.create_connection((sim["addr"]["full"], 16993), timeout=5)


def test_address_without_device_refuses(sim):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((sim["addr"]["none"], 16992), timeout=5)


def test_stalled_device_never_answers(sim):
    with socket.create_connection((sim["addr"]["stall"], 16992), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(1.5)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            sock.recv(1)
        assert time.monotonic() - started >= 1.4


# --- setup mode, end to end in throw-away namespaces --------------------------------------------------------------
NEEDS_ROOT = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip"), reason="setup mode needs root and iproute2"
)

# A DHCP server and a DNS server that answer one client, for the setup-mode test only (the lab has Kea and BIND).
FAKE_SERVERS = r"""
import socket, struct, sys, threading
sys.path.insert(0, sys.argv[1])  # the collections folder: ansible_collections.oob.prep is this repository
import dns.message, dns.rrset
from ansible_collections.oob.prep.plugins.module_utils.dhcp import wire as w

SERVER, CLIENT, DOMAIN, IFACE = "192.0.2.1", "192.0.2.50", "sim.example", sys.argv[2]
ip = socket.inet_aton

def dhcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, 25, IFACE.encode() + b"\0")
    s.bind(("0.0.0.0", 67))
    while True:
        data, _ = s.recvfrom(2048)
        msg = w.parse(data)
        kind = {"DHCPDISCOVER": 2, "DHCPREQUEST": 5}.get(msg["message_type"])
        if kind is None:
            continue
        header = w.HEADER.pack(2, 1, 6, 0, msg["xid"], 0, 0x8000, bytes(4), ip(CLIENT), ip(SERVER), bytes(4),
                               data[28:44], bytes(64), bytes(128))
        options = [(53, bytes((kind,))), (54, ip(SERVER)), (51, struct.pack("!I", 3600)),
                   (1, ip("255.255.255.0")), (3, ip(SERVER)), (6, ip(SERVER)), (15, DOMAIN.encode())]
        s.sendto(header + w.MAGIC_COOKIE + w.encode_options(options), ("255.255.255.255", 68))

def dns_server():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((SERVER, 53))
    while True:
        data, peer = s.recvfrom(2048)
        query = dns.message.from_wire(data)
        answer = dns.message.make_response(query)
        name = query.question[0].name.to_text()
        if name.lower() == f"provisionserver.{DOMAIN}.":
            answer.answer.append(dns.rrset.from_text(name, 60, "IN", "A", SERVER))
        else:
            answer.set_rcode(3)
        s.sendto(answer.to_wire(), peer)

threading.Thread(target=dns_server, daemon=True).start()
print("ready", flush=True)
dhcp()
"""


def _ns(name: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", name, *cmd], check=check, capture_output=True, text=True)


def _wait_event(path: Path, event: str, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            events = [json.loads(line) for line in path.read_text().splitlines()]
            if any(e["event"] == event for e in events):
                return events
        time.sleep(0.1)
    raise AssertionError(f"no {event} event in {timeout}s: {path.read_text() if path.exists() else 'no file'}")


@NEEDS_ROOT
def test_setup_mode_end_to_end(tmp_path):
    """DHCP, address and route, option 6/15 DNS, a hello refused then retried with the count incremented, recorded
    and parsed by the service point stand-in; then the device answers on its leased address."""
    tag = f"{os.getpid() % 100000}"
    dev, srv = f"oobtmp-sim-{tag}-dev", f"oobtmp-sim-{tag}-srv"
    procs = []
    try:
        for ns in (dev, srv):
            subprocess.run(["ip", "netns", "add", ns], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", dev, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0s", "netns", srv],
                       check=True)  # fmt: skip
        subprocess.run(["ip", "-n", dev, "link", "set", "eth0", "up"], check=True)
        subprocess.run(["ip", "-n", srv, "addr", "add", "192.0.2.1/24", "dev", "eth0s"], check=True)
        subprocess.run(["ip", "-n", srv, "link", "set", "eth0s", "up"], check=True)
        servers = tmp_path / "fake_servers.py"
        servers.write_text(FAKE_SERVERS)
        fake = subprocess.Popen(["ip", "netns", "exec", srv, sys.executable, str(servers),
                                 str(ROOT / "collections"), "eth0s"],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        procs.append(fake)
        assert fake.stdout.readline().strip() == "ready"
        uuid = "4c4c4544-0042-3510-8044-b4c04f4e3732"
        sha256 = "ab" * 32
        config = tmp_path / "setup.json"
        config.write_text(json.dumps({"devices": [{
            "uuid": uuid, "version": "3.2.1", "password": PASSWORD,
            "setup": {"interface": "eth0", "retry_scale": 0.01, "hashes": [{"type": "sha256", "hex": sha256}]},
        }]}))  # fmt: skip
        events = tmp_path / "events.jsonl"
        procs.append(subprocess.Popen(["ip", "netns", "exec", dev, sys.executable, str(SIM), "--config", str(config),
                                       "--events", str(events)], stdout=subprocess.DEVNULL))  # fmt: skip
        seen = _wait_event(events, "hello_failed")  # nothing listens on 9971 yet
        ack = next(e for e in seen if e["event"] == "dhcp_ack")
        assert ack["address"] == "192.0.2.50"
        assert ack["options"]["15"] == "sim.example"
        assert "192.0.2.50/24" in _ns(dev, "ip", "-4", "addr", "show", "eth0").stdout
        assert "default via 192.0.2.1" in _ns(dev, "ip", "route").stdout
        assert next(e for e in seen if e["event"] == "dns")["address"] == "192.0.2.1"
        record = tmp_path / "sp.jsonl"
        procs.append(subprocess.Popen(["ip", "netns", "exec", srv, sys.executable,
                                       str(ROOT / "lab" / "standins" / "service_point.py"), "--host", "192.0.2.1",
                                       "--record", str(record)], stdout=subprocess.DEVNULL))  # fmt: skip
        seen = _wait_event(events, "hello_sent")
        sent = next(e for e in seen if e["event"] == "hello_sent")
        failed = [e["retry_count"] for e in seen if e["event"] == "hello_failed"]
        assert failed == list(range(len(failed))) and sent["retry_count"] == len(failed) >= 1
        deadline = time.monotonic() + 10
        while not (record.exists() and record.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.1)
        entry = json.loads(record.read_text().splitlines()[0])
        assert entry["peer"] == "192.0.2.50" and entry["data_hex"] == sent["hex"]
        assert entry["hello_error"] is None
        hello = entry["hello"]
        assert (hello["uuid"], hello["version"], hello["retry_count"]) == (uuid, 3, sent["retry_count"])
        assert hello["hashes"] == [{"type": 2, "name": "sha256", "size": 32, "hex": sha256}]
        probe = _ns(srv, "curl", "-si", "-m", "5", "http://192.0.2.50:16992/", check=False).stdout
        assert "303 See Other" in probe and "Intel(R) Active Management Technology 3.2.1" in probe
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        for ns in (dev, srv):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
