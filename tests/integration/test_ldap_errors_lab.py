"""Connection and input errors that say what to do (issue 8), end to end through ad_container's main() against the
lab: a CA file that cannot work, a DC that accepts TCP and never answers, a DC name that does not resolve, no
Kerberos ticket, a name AD would refuse, a socket that dies under a write. Each fails with its own message and
writes nothing (the lab DC's highestCommittedUSN is unchanged).

The silent DCs are local listeners (127.0.0.1, a random port): one that accepts and never sends a byte, one that
completes the TLS handshake with a certificate for dc1.lab.example and then never answers.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import subprocess
import threading
import time
import uuid

import ad_container
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from labutil import highest_usn, labconfig
from test_ad_container_lab import BASE, SERVER, args, delete_tree

DC_NAME = labconfig.dc_fqdn("lab")
WHERE = f"{DC_NAME} ({SERVER['address']}:636)"
STAGES = {"ldaps": "the TLS handshake", "starttls": "the StartTLS request", "none": "the bind"}


def fails(run_module, path=None, **kw):
    status, res = run_module(ad_container.main, args(path or [f"AMT Err {uuid.uuid4().hex[:8]}"], **kw))
    assert status == "fail", res
    assert "Traceback" not in res["msg"]
    assert labconfig.ADMIN_PASSWORD not in str(res)
    return res


def entries(conn, flt: str) -> list[str]:
    """DNs under the lab's base that match ``flt`` (referrals left out)."""
    conn.search(BASE, flt, attributes=["objectClass"])
    return [e["dn"] for e in conn.response if e.get("type") == "searchResEntry"]


# --- certificates and silent DCs ------------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_cert(common_name: str, issuer=None, dns_names=(), expired: bool = False):
    """(certificate, key): a CA when ``issuer`` is None, else a server certificate that (cert, key) ``issuer`` signs;
    ``expired``: valid until two days ago."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=3 if expired else 0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer[0].subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256()), key


def write_pem(path, cert, key=None):
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return path


class SilentDC:
    """A TCP listener on 127.0.0.1 that accepts connections and never answers; with ``tls``, an ssl.SSLContext, it
    completes the TLS handshake first. ``accepted`` counts the connections."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.tls = tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _peer = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            self.accepted += 1
            if self.tls is not None:
                conn.settimeout(10)
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except OSError:
                    conn.close()
                    continue
            self.held.append(conn)  # and never write to it

    def server(self, host: str = DC_NAME) -> dict:
        return {"host": host, "address": "127.0.0.1", "port": self.port}

    def close(self):
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.fixture()
def silent_dc():
    dc = SilentDC()
    yield dc
    dc.close()


@pytest.fixture()
def tls_silent_dc(tmp_path):
    """A DC that completes the TLS handshake (as dc1.lab.example, from its own CA) and then never answers; yields the
    listener and the CA file to trust."""
    dc, ca_file = tls_listener(tmp_path)
    yield dc, ca_file
    dc.close()


def tls_listener(tmp_path, expired: bool = False):
    ca = make_cert("Silent Test CA")
    cert, key = make_cert(DC_NAME, issuer=ca, dns_names=[DC_NAME], expired=expired)
    chain = write_pem(tmp_path / "server.pem", cert, key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, chain.with_suffix(".key"))
    return SilentDC(context), write_pem(tmp_path / "ca.pem", ca[0])


# --- 1. a CA file that cannot work ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "does not exist: give the path, on the controller, of the PEM file with the certificate of the CA"),
        (b"", "is empty: put the CA certificate in it, Base-64 encoded (PEM: -----BEGIN CERTIFICATE-----)"),
        (b"see the wiki\n", "holds no PEM certificate (no -----BEGIN CERTIFICATE----- line): give the CA certificate"),
        ("der", "holds no PEM certificate (it looks like binary DER): convert it with 'openssl x509 -inform der -in "),
    ],
    ids=["missing", "empty", "no-pem", "der"],
)
def test_bad_ca_file_is_named_before_any_connection(run_module, admin, silent_dc, tmp_path, content, problem):
    path = tmp_path / "ca.pem"
    if content == "der":
        path.write_bytes(make_cert("Some CA")[0].public_bytes(serialization.Encoding.DER))
    elif content is not None:
        path.write_bytes(content)
    usn = highest_usn(admin)
    domains = [{"dns_name": "lab.example", "servers": [silent_dc.server(), SERVER]}]
    res = fails(run_module, ca_file=str(path), domains=domains)
    assert res["error"] == "settings"
    assert res["msg"].startswith(f"ca_file {path} {problem}")
    if content == "der":
        assert res["msg"].endswith(f"-in {path} -out {path}.pem' and give the .pem file")
    assert "invalid CA public key file" not in res["msg"]
    assert silent_dc.accepted == 0, "a connection was made before the CA file was checked"
    assert highest_usn(admin) == usn


# --- 2. a DC that accepts TCP and never answers: a timeout, not a TLS failure -------------------------------------


@pytest.mark.parametrize("tls", ["ldaps", "starttls", "none"])
def test_silent_dc_is_a_timeout(run_module, silent_dc, tls):
    extra = {"allow_plain": True} if tls == "none" else {}
    started = time.monotonic()
    res = fails(
        run_module, domains=[{"dns_name": "lab.example", "servers": [silent_dc.server()]}], timeout=1, tls=tls, **extra
    )
    assert time.monotonic() - started < 5
    assert res["error"] == "timeout"
    assert res["msg"] == (
        f"no domain controller could be used: {DC_NAME} (127.0.0.1:{silent_dc.port}): timed out: the DC accepted the "
        f"connection but did not answer {STAGES[tls]} within 1 s (timeout); check that its LDAP service is running "
        "and not overloaded, or raise timeout"
    )
    assert "TLS validation" not in res["msg"] and "ca_file" not in res["msg"]


def test_dc_that_stops_after_the_handshake_is_a_timeout(run_module, tls_silent_dc):
    dc, ca_file = tls_silent_dc
    res = fails(
        run_module, domains=[{"dns_name": "lab.example", "servers": [dc.server()]}], timeout=1, ca_file=str(ca_file)
    )
    assert res["error"] == "timeout"
    assert (
        f"{DC_NAME} (127.0.0.1:{dc.port}): timed out: the DC accepted the connection but did not answer the bind "
        "within 1 s (timeout)" in res["msg"]
    )
    assert dc.accepted == 1


def test_silent_dc_of_one_domain_means_nothing_is_written(run_module, admin, silent_dc):
    """The first domain is read on the lab DC, the second one's DC never answers: nothing is written anywhere."""
    name = f"AMT Err {uuid.uuid4().hex[:8]}"
    domains = [
        {"dns_name": "lab.example", "servers": [SERVER]},
        {"dns_name": "silent.lab.example", "base_dn": BASE, "servers": [silent_dc.server()]},
    ]
    usn = highest_usn(admin)
    res = fails(run_module, [name], domains=domains, timeout=1)
    assert res["error"] == "timeout" and f"(127.0.0.1:{silent_dc.port}): timed out" in res["msg"]
    assert highest_usn(admin) == usn
    assert not entries(admin, f"(ou={name})")


def test_failover_past_a_silent_dc(run_module, admin, silent_dc):
    """state=absent on a container that does not exist reads and writes nothing: the failover itself is tested."""
    usn = highest_usn(admin)
    domains = [{"dns_name": "lab.example", "servers": [silent_dc.server(), SERVER]}]
    status, res = run_module(
        ad_container.main, args([f"AMT Err {uuid.uuid4().hex[:8]}"], domains=domains, timeout=1, state="absent")
    )
    assert status == "exit", res
    assert res["changed"] is False and res["containers"][0]["server"] == DC_NAME
    assert silent_dc.accepted == 1
    assert highest_usn(admin) == usn


# --- 2b. real TLS validation failures keep their advice ------------------------------------------------------------


@pytest.mark.parametrize("tls", ["ldaps", "starttls"])
def test_unknown_ca_is_a_tls_validation_failure(run_module, admin, tmp_path, tls):
    other_ca = write_pem(tmp_path / "other-ca.pem", make_cert("Not The Lab CA")[0])
    usn = highest_usn(admin)
    res = fails(run_module, ca_file=str(other_ca), tls=tls)
    port = 636 if tls == "ldaps" else 389
    assert res["error"] == "tls"
    assert res["msg"] == (
        f"no domain controller could be used: {DC_NAME} ({SERVER['address']}:{port}): TLS validation failed "
        "(certificate verify failed: unable to get local issuer certificate); check ca_file holds the CA that issued "
        f"the DC's certificate and that '{DC_NAME}' is a name in it"
    )
    assert highest_usn(admin) == usn


def test_wrong_name_is_a_tls_validation_failure(run_module):
    res = fails(run_module, domains=[{"dns_name": "lab.example", "servers": [{**SERVER, "host": "evil.lab.example"}]}])
    assert res["error"] == "tls"
    assert f"TLS validation failed (the certificate is for {DC_NAME.upper().split('.')[0]}." in res["msg"]
    assert "not evil.lab.example); check ca_file holds the CA" in res["msg"]
    assert "'evil.lab.example' is a name in it" in res["msg"]


def test_expired_dc_certificate_says_renew(run_module, tmp_path):
    dc, ca_file = tls_listener(tmp_path, expired=True)
    try:
        res = fails(run_module, domains=[{"dns_name": "lab.example", "servers": [dc.server()]}], ca_file=str(ca_file))
    finally:
        dc.close()
    assert res["error"] == "tls"
    assert res["msg"] == (
        f"no domain controller could be used: {DC_NAME} (127.0.0.1:{dc.port}): TLS validation failed (certificate "
        "verify failed: certificate has expired); renew the DC's certificate, or correct the clock of the DC or of "
        "the controller"
    )


# --- 3. a DC name that does not resolve ----------------------------------------------------------------------------


def test_unresolvable_dc_name(run_module, admin):
    host = "dc9.nowhere.invalid"  # RFC 6761: .invalid never resolves
    usn = highest_usn(admin)
    res = fails(run_module, domains=[{"dns_name": "lab.example", "servers": [host]}])
    assert res["error"] == "resolve"
    assert res["msg"].startswith(
        f"no domain controller could be used: cannot resolve {host}: give its address (servers: - host: {host} "
        "address: <IPv4>) or fix DNS ("
    )
    assert "invalid server address" not in res["msg"]
    assert highest_usn(admin) == usn


def test_failover_past_an_unresolvable_dc(run_module, admin):
    usn = highest_usn(admin)
    domains = [{"dns_name": "lab.example", "servers": ["dc9.nowhere.invalid", SERVER]}]
    status, res = run_module(
        ad_container.main, args([f"AMT Err {uuid.uuid4().hex[:8]}"], domains=domains, state="absent")
    )
    assert status == "exit", res
    assert res["containers"][0]["server"] == DC_NAME
    assert highest_usn(admin) == usn


# --- 4. Kerberos without a ticket ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ccache", ["empty", "missing"])
def test_no_kerberos_ticket(run_module, admin, kerberos, monkeypatch, tmp_path, ccache):
    path = tmp_path / "no-ticket"
    if ccache == "empty":
        path.write_bytes(b"")
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{path}")
    usn = highest_usn(admin)
    res = fails(run_module, auth="kerberos", bind_user=None, bind_password=None)
    assert res["error"] == "credentials"
    assert res["msg"].startswith(
        f"no Kerberos ticket: run kinit <user>@{labconfig.FORESTS['lab']['realm']} (or give bind_user and "
        f"bind_password); binding to {WHERE}: No Kerberos credentials available"
    )
    assert str(path) in res["msg"]
    assert "NT_STATUS" not in res["msg"] and "operationsError" not in res["msg"]
    assert highest_usn(admin) == usn


def test_expired_kerberos_ticket(run_module, admin, kerberos):
    proc = subprocess.run(
        ["kinit", "-l", "1s", "Administrator@LAB.EXAMPLE"],
        input=labconfig.ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    time.sleep(2.5)
    usn = highest_usn(admin)
    res = fails(run_module, auth="kerberos", bind_user=None, bind_password=None)
    assert res["error"] == "credentials"
    assert res["msg"].startswith(
        "the Kerberos ticket has expired: run kinit <user>@LAB.EXAMPLE (or give bind_user and bind_password); "
        f"{WHERE}: "
    )
    assert highest_usn(admin) == usn


# --- 5. names AD would refuse --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "object_class", "message"),
    [
        (
            "A" * 300,
            "organizationalUnit",
            f"invalid input: path element {'A' * 32!r}... is 300 characters long; AD allows at most 64 (rangeUpper "
            "of ou in the AD schema): shorten it",
        ),
        (
            "C" * 65,
            "container",
            f"invalid input: path element {'C' * 32!r}... is 65 characters long; AD allows at most 64 (rangeUpper of "
            "cn in the AD schema): shorten it",
        ),
        (
            "nul\x00inside",
            "organizationalUnit",
            "invalid input: path element 'nul\\x00inside' contains control characters (U+0000): remove them (AD "
            "refuses NUL and line feed in a name, MS-ADTS 3.1.1.5.1.2; the others are invisible)",
        ),
        ("line\nfeed", "organizationalUnit", "contains control characters (U+000A): remove them"),
        (
            " spaces around ",
            "organizationalUnit",
            "invalid input: path element ' spaces around ' starts or ends with white space: remove it (it is "
            "invisible in AD tools and lost wherever the name is typed or trimmed)",
        ),
    ],
    ids=["ou-300", "cn-65", "nul", "line-feed", "spaces"],
)
def test_names_ad_would_refuse_are_refused_before_any_write(run_module, admin, name, object_class, message):
    usn = highest_usn(admin)
    res = fails(run_module, ["AMT Err parent", name], object_class=object_class, create_parents=True)
    assert res["error"] == "input"
    assert message in res["msg"]
    assert highest_usn(admin) == usn
    assert not entries(admin, "(|(ou=AMT Err parent)(cn=AMT Err parent))")


# --- 6. the connection dies under a write ---------------------------------------------------------------------------


def break_before(monkeypatch, method: str):
    """Let ad_container's sessions read normally; the first ``method`` (add or modify) finds its socket shut down."""
    real_connect = ad_container.connect

    def connect(servers, params):
        session = real_connect(servers, params)
        real = getattr(session.conn, method)

        def broken(*a, **kw):
            session.conn.socket.shutdown(socket.SHUT_RDWR)
            return real(*a, **kw)

        setattr(session.conn, method, broken)
        return session

    monkeypatch.setattr(ad_container, "connect", connect)


def test_socket_error_while_creating(run_module, admin, monkeypatch):
    name = f"AMT Err {uuid.uuid4().hex[:8]}"
    dn = f"OU={name},{BASE}"
    break_before(monkeypatch, "add")
    usn = highest_usn(admin)
    try:
        res = fails(run_module, [name])
        assert res["error"] == "connection"
        assert res["msg"].startswith(
            f"could not create {dn} on {DC_NAME}: the connection failed (LDAPSocketSendError: socket sending error"
        )
        assert highest_usn(admin) == usn
    finally:
        delete_tree(admin, dn)


def test_socket_error_while_writing_the_dacl(run_module, admin, monkeypatch):
    name = f"AMT Err {uuid.uuid4().hex[:8]}"
    dn = f"OU={name},{BASE}"
    assert admin.add(dn, "organizationalUnit"), admin.result  # exists, without our ACE: the DACL write is next
    break_before(monkeypatch, "modify")
    usn = highest_usn(admin)
    try:
        res = fails(run_module, [name])
        assert res["error"] == "connection"
        assert res["msg"].startswith(
            f"could not modify {dn} on {DC_NAME}: the connection failed (LDAPSocketSendError: socket sending error"
        )
        assert highest_usn(admin) == usn
    finally:
        delete_tree(admin, dn)
