"""amt_discovery's main() against small asyncio fakes of AMT devices on 127.0.0.x (ports 16992/16993).

The fakes answer the way the notes describe AMT on the wire ("Intel AMT on the wire"): ``GET /`` → 303 with the
``Server:`` header; ``POST /wsman`` → 401 with AMT's digest challenge (no space before stale and qop), then the
recorded go-wsman-messages answers (tests/unit/plugins/module_utils/fixtures/amt/) when the digest response checks
out - checked here with hashlib, independently of the module's client. Others stall, or answer something that is
not HTTP, or present a certificate on 16993.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import re
import socket
import ssl
import threading
import time
from pathlib import Path

import amt_discovery
import pytest
from ansible_collections.oob.prep.plugins.module_utils.amt.scan import raw_allowed
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

FIXTURES = Path(__file__).resolve().parents[1] / "module_utils" / "fixtures" / "amt"
REALM = "Digest:6EE8C61BA74893E059F032EA919D699E"
NONCE = "Yx3aVQAAAAAAAAAAAAAAAAAAAAAAAAAA"
USER, PASSWORD = "admin", "P@ssw0rd"
BASE = "127.0.0."


def _addr(n: int) -> str:
    return f"{BASE}{n}"


def _loopback_ok() -> bool:
    s = socket.socket()
    try:
        s.bind((_addr(201), 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


pytestmark = pytest.mark.skipif(not _loopback_ok(), reason="127.0.0.x addresses cannot be bound here")


def _self_signed() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pc1.lab.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0x1234).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
            .sign(key, hashes.SHA256()))  # fmt: skip
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))  # fmt: skip


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _digest_ok(header: str, method: str) -> bool:
    """The server side of RFC 2617 qop=auth, written here from the RFC, not from the module."""
    params = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', header)}
    if params.get("username") != USER or params.get("realm") != REALM or params.get("nonce") != NONCE:
        return False
    ha1 = _md5(f"{USER}:{REALM}:{PASSWORD}")
    ha2 = _md5(f"{method}:{params['uri']}")
    want = _md5(f"{ha1}:{NONCE}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
    return params.get("response") == want


def _wsman_answer(body: bytes, version_xml: str) -> bytes:
    text = body.decode()
    uri = re.search(r"<w:ResourceURI>([^<]+)</w:ResourceURI>", text).group(1)
    action = re.search(r"<a:Action>([^<]+)</a:Action>", text).group(1).rsplit("/", 1)[-1]
    cls = uri.rsplit("/", 1)[-1]
    if action == "Enumerate":
        answer = (FIXTURES / "cim_softwareidentity_enumerate.xml").read_text()
        return answer.replace("cim-schema/2/CIM_SoftwareIdentity", f"{uri.split('/wbem/')[1]}").encode()
    if cls == "CIM_SoftwareIdentity":
        return version_xml.encode()
    if cls == "AMT_GeneralSettings":
        text = (FIXTURES / "amt_generalsettings_pull.xml").read_text()
        return (text.replace("<h:HostName></h:HostName>", "<h:HostName>PC1</h:HostName>")
                .replace("<h:DomainName></h:DomainName>", "<h:DomainName>lab.example</h:DomainName>")
                .encode())  # fmt: skip
    if cls == "AMT_SetupAndConfigurationService":
        return (FIXTURES / "amt_setupandconfigurationservice_get.xml").read_bytes()
    return (FIXTURES / "cim_associatedpowermanagementservice_pull.xml").read_bytes()


class Fakes:
    """AMT-like servers on their own event loop in a thread (main() runs its own asyncio.run)."""

    def __init__(self, tmp: Path):
        self.loop = asyncio.new_event_loop()
        self.servers = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        cert, key = _self_signed()
        (tmp / "c.pem").write_bytes(cert)
        (tmp / "k.pem").write_bytes(key)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
        self.ca_file = str(tmp / "c.pem")
        self.seen_auth = []

    def add(self, address: str, port: int, handler, tls: bool = False):
        async def start():
            return await asyncio.start_server(handler, address, port, ssl=self.tls if tls else None,
                                              reuse_address=True)  # fmt: skip

        self.servers.append(asyncio.run_coroutine_threadsafe(start(), self.loop).result(5))

    def close(self):
        async def stop():
            for s in self.servers:
                s.close()
            for s in self.servers:
                await s.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def amt_handler(server: str, fakes: Fakes | None = None, version_xml: str | None = None, chunked: bool = True):
    async def handle(reader, writer):
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            length = int(re.search(r"(?im)^content-length:\s*(\d+)", head).group(1)) if "ontent-Length" in head else 0
            body = await reader.readexactly(length) if length else b""
            method = head.split(" ", 1)[0]
            if method == "GET":
                writer.write(f"HTTP/1.1 303 See Other\r\nLocation: /logon.htm\r\nServer: {server}\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())  # fmt: skip
            else:
                auth = re.search(r"(?im)^authorization:\s*(.+?)\r?$", head)
                if fakes is not None and auth:
                    fakes.seen_auth.append(auth.group(1))
                if not auth or not _digest_ok(auth.group(1), "POST"):
                    writer.write(("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\n"
                                  f'WWW-Authenticate: Digest realm="{REALM}", nonce="{NONCE}",stale="false",'
                                  f'qop="auth"\r\nServer: {server}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
                                 .encode())  # fmt: skip
                else:
                    data = _wsman_answer(body, version_xml)
                    if chunked:
                        mid = len(data) // 2
                        payload = (
                            b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (data[:mid], data[mid:])) + b"0\r\n\r\n"
                        )
                        hdr = "Transfer-Encoding: chunked"
                    else:
                        payload, hdr = data, f"Content-Length: {len(data)}"
                    writer.write((f"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=UTF-8\r\n{hdr}\r\n"
                                  f"Server: {server}\r\nConnection: close\r\n\r\n").encode() + payload)  # fmt: skip
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


def stall_handler():
    async def handle(reader, writer):
        await asyncio.sleep(30)
        writer.close()

    return handle


def garbage_handler():
    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\nProtocol mismatch.\r\n")
        await writer.drain()
        writer.close()

    return handle


def plain_http_handler():
    async def handle(reader, writer):
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nServer: AMT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    return handle


def _version_pull(version: str) -> str:
    return (
        (FIXTURES / "cim_softwareidentity_pull.xml")
        .read_text()
        .replace(
            "<h:InstanceID>AMT</h:InstanceID>\n                    <h:IsEntity>true</h:IsEntity>\n"
            "                    <h:VersionString>12.0.67</h:VersionString>",
            f"<h:InstanceID>AMT</h:InstanceID>\n                    <h:IsEntity>true</h:IsEntity>\n"
            f"                    <h:VersionString>{version}</h:VersionString>",
        )
    )


@pytest.fixture()
def fakes(tmp_path):
    f = Fakes(tmp_path)
    f.add(_addr(201), 16992, amt_handler("Intel(R) Active Management Technology 3.2.1"))
    f.add(_addr(202), 16992, amt_handler("Intel(R) Active Management Technology 3.2.0"))
    f.add(_addr(203), 16992, amt_handler("AMT", f, (FIXTURES / "cim_softwareidentity_pull.xml").read_text()))
    f.add(_addr(203), 16993, amt_handler("AMT", f, (FIXTURES / "cim_softwareidentity_pull.xml").read_text()), tls=True)
    f.add(_addr(204), 16992, amt_handler("Intel(R) Con. Management Engine 5.0.1", f, _version_pull("5.0.1"), False))
    f.add(_addr(205), 16992, stall_handler())
    f.add(_addr(205), 16993, stall_handler())
    f.add(_addr(206), 16992, garbage_handler())
    f.add(_addr(207), 16993, plain_http_handler())  # plain HTTP where TLS is expected
    f.add(_addr(208), 16992, amt_handler("Apache/2.4.57 (Debian)"))
    # 127.0.0.209 and .210: nothing listens
    yield f
    f.close()


def _by_address(result: dict) -> dict:
    return {d["address"]: d for d in result["devices"]}


def test_versions_from_headers_and_support_class(run_module, fakes):
    status, res = run_module(amt_discovery.main, {"targets": [f"{_addr(201)}", f"{_addr(202)}", f"{_addr(204)}",
                                                              f"{_addr(209)}"], "timeout": 1})  # fmt: skip
    assert status == "exit", res
    devs = _by_address(res)
    assert devs[_addr(201)]["version"] == "3.2.1"
    assert devs[_addr(201)]["version_source"] == "header"
    assert devs[_addr(201)]["support_class"] == "native"
    assert devs[_addr(201)]["ports"] == [16992]
    assert devs[_addr(201)]["error"] is None
    assert devs[_addr(202)]["support_class"] == "translator"
    assert devs[_addr(204)]["version"] == "5.0.1"
    assert devs[_addr(204)]["support_class"] == "native"
    assert _addr(209) not in devs  # no device, not listed
    assert res["scanned"] == 4
    assert res["summary"]["support_class"] == {"native": 2, "translator": 1}
    assert res["changed"] is False


def test_digest_wsman_version_provisioning_power_and_certificate(run_module, fakes):
    status, res = run_module(amt_discovery.main, {"targets": [f"{_addr(203)}/32", _addr(204)], "timeout": 2,
                                                  "username": USER, "password": PASSWORD})  # fmt: skip
    assert status == "exit", res
    dev = _by_address(res)[_addr(203)]
    assert dev["server"] == "AMT"
    assert dev["header_version"] is None
    assert dev["version"] == "12.0.67"
    assert dev["version_source"] == "wsman"
    assert dev["support_class"] == "native"
    assert dev["fqdn"] == "pc1.lab.example"
    assert dev["digest_realm"] == REALM
    assert dev["provisioning_state"] == "post"
    assert dev["provisioning_mode"] == "enterprise"
    assert dev["power_state"] == "on"
    assert dev["ports"] == [16992, 16993]
    assert dev["tls"]["subject"] == "CN=pc1.lab.example"
    assert dev["tls"]["key_size"] == 2048
    assert dev["tls"]["not_after"] == "2030-01-01T00:00:00Z"
    assert dev["error"] is None, dev["error"]
    assert all(a.startswith("Digest ") and "qop=auth" in a for a in fakes.seen_auth)
    me5 = _by_address(res)[_addr(204)]  # Content-Length answers, not chunked
    assert me5["version"] == "5.0.1" and me5["version_source"] == "wsman"
    assert "P@ssw0rd" not in str(res)


def test_wrong_password_is_a_device_error(run_module, fakes):
    status, res = run_module(amt_discovery.main, {"targets": [_addr(203)], "username": USER, "password": "nope"})
    assert status == "exit", res
    dev = res["devices"][0]
    assert "refused the credentials" in dev["error"]
    assert dev["support_class"] == "unknown"  # ME 11+: no version without WS-MAN


def test_stalled_device_reported_within_host_timeout(run_module, fakes):
    start = time.monotonic()
    status, res = run_module(amt_discovery.main, {"targets": [_addr(205), _addr(201)], "timeout": 1,
                                                  "host_timeout": 1.5})  # fmt: skip
    took = time.monotonic() - start
    assert status == "exit", res
    devs = _by_address(res)
    assert "host_timeout=1.5" in devs[_addr(205)]["error"]
    assert devs[_addr(205)]["support_class"] == "unknown"
    assert devs[_addr(201)]["version"] == "3.2.1"
    assert took < 4


def test_malformed_http_and_tls_are_per_device_errors(run_module, fakes):
    status, res = run_module(amt_discovery.main, {"targets": [_addr(206), _addr(207), _addr(208)], "timeout": 1})
    assert status == "exit", res
    devs = _by_address(res)
    assert "not an HTTP/1.x status line" in devs[_addr(206)]["error"]
    assert devs[_addr(207)]["error"].startswith("16993: TLS handshake failed")
    assert "'Apache/2.4.57 (Debian)' is not a form of Intel's firmware" in devs[_addr(208)]["error"]
    assert devs[_addr(208)]["amt"] is False
    assert res["summary"]["errors"] == 3


def test_ca_file_validation_of_wsman_over_tls(run_module, fakes):
    status, res = run_module(amt_discovery.main, {"targets": [_addr(203)], "username": USER, "password": PASSWORD,
                                                  "wsman_port": 16993, "ca_file": fakes.ca_file})  # fmt: skip
    assert status == "exit", res
    assert res["devices"][0]["error"] is None
    status, res = run_module(amt_discovery.main, {"targets": [_addr(203)], "username": USER, "password": PASSWORD,
                                                  "wsman_port": 16993})  # fmt: skip
    assert "CERTIFICATE_VERIFY_FAILED" in res["devices"][0]["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"targets": ["2001:db8::/64"]}, "IPv6"),
        ({"targets": ["2001:db8::1"]}, "IPv6"),
        ({"targets": ["10.0.0.0/15"]}, "more than max_targets=65536"),
        ({"targets": ["10.0.0.0/8"], "max_targets": 20000000}, "allow_large"),
        ({"targets": ["10.0.0.1/24"]}, "host bits are set"),
        ({"targets": ["10.0.0.0/24"], "ports": [80]}, "not AMT ports"),
        ({"targets": ["10.0.0.0/24"], "username": "admin"}, "password"),
    ],
)
def test_refused_before_anything_is_sent(run_module, args, message):
    status, res = run_module(amt_discovery.main, args)
    assert status == "fail"
    assert message in res["msg"]


@pytest.mark.parametrize(
    "extra",
    [
        {"processes": 2},
        pytest.param({"scan_method": "syn"}, marks=pytest.mark.skipif(not raw_allowed(), reason="needs a raw socket")),
    ],
)
def test_scanner_processes_find_the_same_devices(run_module, fakes, extra):
    """The connect phase in child scanners (a large scan's path), here forced on a small range."""
    status, res = run_module(amt_discovery.main, {"targets": [f"{BASE}200/29"], "timeout": 1, "host_timeout": 1.5,
                                                  **extra})  # fmt: skip
    assert status == "exit", res
    devs = _by_address(res)
    assert sorted(devs) == [_addr(n) for n in range(201, 207)]  # .200 (network) and .207 (broadcast) are not scanned
    assert devs[_addr(201)]["version"] == "3.2.1"
    assert devs[_addr(203)]["ports"] == [16992, 16993]
    assert res["scan_method"] == extra.get("scan_method", "connect")
    assert res["processes"] == extra.get("processes", 1)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"processes": 2},
        pytest.param({"scan_method": "syn"}, marks=pytest.mark.skipif(not raw_allowed(), reason="needs a raw socket")),
    ],
)
def test_adjacent_addresses_given_one_by_one_are_all_scanned(run_module, fakes, extra):
    """Twelve /32s from .200 to .211, as an admin pastes them from a CMDB: every device among them is found (merged
    into .200/29 and .208/30 and walked host by host, .207 and .208 would be lost), and the count is twelve."""
    targets = [f"{_addr(n)}/32" if n % 2 else _addr(n) for n in range(200, 212)]
    status, res = run_module(amt_discovery.main, {"targets": targets, "timeout": 1, "host_timeout": 1.5, **extra})
    assert status == "exit", res
    assert sorted(_by_address(res)) == [_addr(n) for n in (201, 202, 203, 204, 205, 206, 207, 208)]
    assert res["scanned"] == 12


# --- the header forms of real firmware, the 401's header, expiring nonces (issue 20) --------------------------------
# Forms and their sources (see test_oob_amt.HEADER_FORMS): the unversioned product name (Greenbone's AMT detection),
# Intel Standard Manageability (nmap-service-probes, Greenbone), a four-part version and the full header only in the
# 401 of POST /wsman while GET / says "AMT" (Open AMT RPS recorded 401: "Intel(R) Active Management Technology
# 11.8.50.3425", Connection: close; nmap-service-probes: "Server: AMT" on the 303 of GET /).


class NonceFake:
    """One device: GET / answers ``get_server``; POST /wsman answers 401 (header ``wsman_server``, Connection: close,
    as recorded) until a digest checks out - against the nonce this fake issued last, computed here with hashlib -
    then the recorded WS-MAN answers. ``policy``: ``fixed`` (one nonce), ``expire_once`` (the first authenticated
    request gets a 401 with a new nonce and stale="false"), ``always_new`` (every authenticated request does)."""

    def __init__(self, get_server: str, wsman_server: str | None = None, policy: str = "fixed",
                 version_xml: str | None = None):  # fmt: skip
        self.get_server, self.wsman_server = get_server, wsman_server or get_server
        self.policy, self.version_xml = policy, version_xml or _version_pull("11.8.50")
        self.nonce, self.issued = "bm9uY2UtMQ==", 1
        self.authenticated, self.unauthenticated, self.expired = 0, 0, 0

    def _new_nonce(self) -> None:
        self.issued += 1
        self.nonce = f"bm9uY2Ut{self.issued:04d}"

    def _check(self, header: str) -> bool:
        params = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', header)}
        if params.get("username") != USER or params.get("realm") != REALM or params.get("nonce") != self.nonce:
            return False
        ha1 = _md5(f"{USER}:{REALM}:{PASSWORD}")
        ha2 = _md5(f"POST:{params['uri']}")
        return params.get("response") == _md5(f"{ha1}:{self.nonce}:{params['nc']}:{params['cnonce']}:auth:{ha2}")

    async def __call__(self, reader, writer):
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            m = re.search(r"(?im)^content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(m.group(1))) if m else b""
            if head.startswith("GET "):
                writer.write(f"HTTP/1.1 303 See Other\r\nLocation: /logon.htm\r\nContent-Length: 0\r\n"
                             f"Server: {self.get_server}\r\n\r\n".encode())  # fmt: skip
            else:
                auth = re.search(r"(?im)^authorization:\s*(.+?)\r?$", head)
                ok = False
                if auth is None:
                    self.unauthenticated += 1
                else:
                    self.authenticated += 1
                    ok = self._check(auth.group(1))
                    if ok and (self.policy == "always_new" or (self.policy == "expire_once" and self.expired == 0)):
                        ok = False  # a right digest with a nonce the device no longer takes
                        self.expired += 1
                        self._new_nonce()
                if ok:
                    data = _wsman_answer(body, self.version_xml)
                    head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=UTF-8\r\n"
                            f"Content-Length: {len(data)}\r\nServer: {self.wsman_server}\r\n\r\n")  # fmt: skip
                    writer.write(head.encode() + data)
                else:
                    writer.write((f'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="{REALM}", '
                                  f'nonce="{self.nonce}",stale="false",qop="auth"\r\nContent-Type: text/html\r\n'
                                  f"Server: {self.wsman_server}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                                 .encode())  # fmt: skip
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


FORMS = {
    231: NonceFake("Intel(R) Active Management Technology"),
    232: NonceFake("Intel(R) Standard Manageability 11.8.50"),
    233: NonceFake("Intel(R) Active Management Technology 11.8.50.3425"),
    234: NonceFake("AMT", "Intel(R) Active Management Technology 11.8.50.3425"),
    235: NonceFake("AMT", policy="expire_once", version_xml=_version_pull("12.0.67")),
    236: NonceFake("AMT", policy="always_new"),
    237: NonceFake("Microsoft-HTTPAPI/2.0"),
}


@pytest.fixture()
def forms(tmp_path):
    f = Fakes(tmp_path)
    fakes = {n: NonceFake(d.get_server, d.wsman_server, d.policy, d.version_xml) for n, d in FORMS.items()}
    for n, fake in fakes.items():
        f.add(_addr(n), 16992, fake)
    yield fakes
    f.close()


def test_new_header_forms_without_credentials(run_module, forms):
    status, res = run_module(amt_discovery.main, {"targets": [_addr(n) for n in (231, 232, 233, 234, 237)],
                                                  "timeout": 1})  # fmt: skip
    assert status == "exit", res
    devs = _by_address(res)
    unversioned = devs[_addr(231)]
    assert (unversioned["amt"], unversioned["header_form"], unversioned["version"]) == (True, "amt_unversioned", None)
    assert unversioned["support_class"] == "unknown" and unversioned["error"] is None
    ism = devs[_addr(232)]
    assert (ism["amt"], ism["header_form"], ism["version"], ism["support_class"]) == (True, "ism", "11.8.50", "ism")
    four = devs[_addr(233)]
    assert (four["version"], four["version_source"], four["support_class"]) == ("11.8.50.3425", "header", "native")
    in401 = devs[_addr(234)]
    assert (in401["server"], in401["server_401"]) == ("AMT", "Intel(R) Active Management Technology 11.8.50.3425")
    assert (in401["version"], in401["version_source"], in401["support_class"]) == ("11.8.50.3425", "header_401",
                                                                                  "native")  # fmt: skip
    assert forms[234].authenticated == 0 and forms[234].unauthenticated == 1  # no credentials were sent
    unknown = devs[_addr(237)]  # answered on an AMT port: listed, with the reason
    assert (unknown["amt"], unknown["support_class"]) == (False, "unknown")
    assert "'Microsoft-HTTPAPI/2.0'" in unknown["error"] and "not a form" in unknown["error"]
    rows = {c["id"].split(".device.")[1].rsplit(".", 1)[0]: c for c in res["checks"]}
    assert rows[_addr(231)]["status"] == "skip"
    assert rows[_addr(232)]["status"] == "fail" and "Standard Manageability" in rows[_addr(232)]["evidence"]
    assert rows[_addr(233)]["status"] == "pass" and rows[_addr(234)]["status"] == "pass"
    assert rows[_addr(237)]["status"] == "warn" and "Microsoft-HTTPAPI/2.0" in rows[_addr(237)]["evidence"]
    assert res["summary"]["support_class"] == {"unknown": 2, "ism": 1, "native": 2}


def test_a_nonce_that_expires_once_is_retried_once(run_module, forms):
    status, res = run_module(amt_discovery.main, {"targets": [_addr(235)], "username": USER, "password": PASSWORD,
                                                  "timeout": 2})  # fmt: skip
    assert status == "exit", res
    dev = res["devices"][0]
    assert dev["error"] is None, dev["error"]
    assert (dev["version"], dev["version_source"], dev["support_class"]) == ("12.0.67", "wsman", "native")
    assert forms[235].expired == 1
    # CIM_SoftwareIdentity Enumerate + Pull, three Gets/Enumerate+Pull: 6 answered requests, plus the one retried
    assert forms[235].authenticated == 7


def test_a_nonce_that_always_changes_fails_after_one_retry(run_module, forms):
    start = time.monotonic()
    status, res = run_module(amt_discovery.main, {"targets": [_addr(236)], "username": USER, "password": PASSWORD,
                                                  "timeout": 2})  # fmt: skip
    assert status == "exit", res
    dev = res["devices"][0]
    assert "refused the credentials again after one retry with its new nonce" in dev["error"]
    assert forms[236].authenticated == 2  # one request with the credentials, one retry: no loop
    assert dev["support_class"] == "unknown"
    assert time.monotonic() - start < 5
    assert PASSWORD not in str(res)


@pytest.fixture()
def old_tls(tmp_path):
    """A blocking ssl server on 127.0.0.238:16993 as old AMT firmware: TLS 1.0 only, a 1024-bit key in a SHA-1-signed
    certificate (made by the simulator's --legacy path), @SECLEVEL=0 on its side (Debian's OpenSSL 3 needs it)."""
    import sys
    import warnings

    sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "lab" / "standins"))
    import amt_sim

    cert, key = amt_sim.make_cert(tmp_path, "old", [_addr(238)], ["old.lab.example"], legacy=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
    ctx.load_cert_chain(cert, key)
    listener = socket.create_server((_addr(238), 16993))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _peer = listener.accept()
            except TimeoutError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(4096)
                    tls.sendall(b"HTTP/1.1 303 See Other\r\nLocation: /logon.htm\r\nContent-Length: 0\r\n"
                                b"Server: Intel(R) Active Management Technology 4.0.1\r\n\r\n")  # fmt: skip
            except (ssl.SSLError, OSError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(5)
    listener.close()


def test_old_tls_is_named_and_read_with_legacy_tls(run_module, old_tls):
    status, res = run_module(amt_discovery.main, {"targets": [_addr(238)], "ports": [16993], "timeout": 2})
    assert status == "exit", res
    dev = res["devices"][0]  # still listed
    assert dev["tls"] is None and dev["amt"] is False
    assert "TLSV1_ALERT_PROTOCOL_VERSION" in dev["error"] and "legacy_tls=true" in dev["error"]
    assert [c["status"] for c in res["checks"]] == ["warn"]
    status, res = run_module(amt_discovery.main, {"targets": [_addr(238)], "ports": [16993], "timeout": 2,
                                                  "legacy_tls": True})  # fmt: skip
    assert status == "exit", res
    dev = res["devices"][0]
    assert dev["error"] is None, dev["error"]
    assert (dev["tls"]["key_size"], dev["tls"]["subject"]) == (1024, "CN=old")
    assert (dev["version"], dev["support_class"]) == ("4.0.1", "native")
