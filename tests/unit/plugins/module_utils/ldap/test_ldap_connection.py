"""oob_ldap without a server: settings checks, principal resolution against a fake session, and what each
connection failure is reported as (exceptions built as ldap3 and gssapi raise them)."""

from __future__ import annotations

import datetime
import socket
import ssl

import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap import connection as oob_ldap
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import (
    LdapError,
    check_settings,
    connect,
    ldap_argument_spec,
    merge_connection,
    resolve_principals,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import sid_to_bytes
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ldap3.core import exceptions as ldap_exc


def settings(**extra):
    base = {k: v.get("default") for k, v in ldap_argument_spec().items()}
    base.update(bind_user="admin@lab.example", bind_password="pw")
    base.update(extra)
    return merge_connection(base)


def test_defaults_are_safe():
    spec = ldap_argument_spec()
    assert spec["bind_password"]["no_log"] is True and spec["connection"]["options"]["bind_password"]["no_log"] is True
    merged = merge_connection({k: None for k in spec})
    assert merged["tls"] == "ldaps" and merged["validate_certs"] is True and merged["allow_plain"] is False
    assert merged["timeout"] == 10 and merged["auth"] == "simple"
    assert check_settings(settings()) == []


def test_single_options_win_over_the_connection_dict():
    params = {k: None for k in ldap_argument_spec()}
    params["connection"] = {"tls": "starttls", "timeout": 3, "bind_user": "a@lab.example", "validate_certs": False}
    params["timeout"] = 7
    merged = merge_connection(params)
    assert (merged["tls"], merged["timeout"], merged["bind_user"]) == ("starttls", 7, "a@lab.example")
    assert merged["validate_certs"] is False and merged["ca_file"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"tls": "none"}, "set allow_plain=true"),
        ({"bind_password": None}, "auth=simple needs bind_user and bind_password"),
        ({"timeout": 0}, "timeout must be a positive number"),
    ],
)
def test_bad_settings(extra, message):
    with pytest.raises(LdapError, match=message) as err:
        check_settings(settings(**extra))
    assert err.value.kind == "settings"


@pytest.mark.parametrize(
    ("extra", "warning"),
    [
        ({"tls": "none", "allow_plain": True}, "clear text"),
        ({"validate_certs": False}, "not checked"),
    ],
)
def test_risky_settings_warn(extra, warning):
    assert any(warning in w for w in check_settings(settings(**extra)))


def test_kerberos_needs_no_password():
    assert check_settings(settings(auth="kerberos", bind_user=None, bind_password=None)) == []


class FakeSession:
    """Answers the one search resolve_principals makes, and records it."""

    def __init__(self, accounts):
        self.accounts = accounts
        self.filters = []

    def search(self, base, flt, attributes, scope="BASE", **_kw):
        self.filters.append(flt)
        return [
            {
                "dn": f"CN={name},{base}",
                "attributes": {"samaccountname": [name.encode()], "objectsid": [sid_to_bytes(sid)]},
            }
            for name, sid in self.accounts
            if f"(sAMAccountName={name})" in flt
        ]


def test_resolve_principals_uses_one_search_and_keeps_sids():
    session = FakeSession([("SCCM01$", "S-1-5-21-1-2-3-1103"), ("Domain Users", "S-1-5-21-1-2-3-513")])
    found = resolve_principals(session, "DC=lab,DC=example", ["SCCM01$", "Domain Users", "s-1-5-11"], "lab.example")
    assert found == {"SCCM01$": "S-1-5-21-1-2-3-1103", "Domain Users": "S-1-5-21-1-2-3-513", "s-1-5-11": "S-1-5-11"}
    assert session.filters == ["(|(sAMAccountName=SCCM01$)(sAMAccountName=Domain Users))"]


def test_resolve_principals_names_every_missing_one():
    session = FakeSession([("SCCM01$", "S-1-5-21-1-2-3-1103")])
    with pytest.raises(LdapError, match="principal 'SCCM02' not found in lab.example") as err:
        resolve_principals(session, "DC=lab,DC=example", ["SCCM01$", "SCCM02", "x*"], "lab.example")
    assert "did you mean SCCM02$?" in str(err.value) and "(sAMAccountName=x\\2a)" in str(err.value)
    assert err.value.kind == "principal"


def test_resolve_principals_refuses_a_malformed_sid():
    with pytest.raises(ValueError, match="SID"):
        resolve_principals(FakeSession([]), "DC=x", ["S-1-5-x"], "x")


# --- connection failures: each said with what to do (issue 8) -----------------------------------------------------


def make_ca(common_name: str = "Test CA"):
    """A self-signed CA certificate and its key (cryptography; EC keys are fast to make)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def ca_file_contents(kind: str) -> bytes:
    cert, key = make_ca()
    pem = cert.public_bytes(serialization.Encoding.PEM)
    return {
        "pem": pem,
        "empty": b"",
        "text": b"the CA is the one in the vault\n",
        "der": cert.public_bytes(serialization.Encoding.DER),
        "key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        "damaged": pem.replace(b"\nM", b"\n#", 1),
    }[kind]


@pytest.fixture()
def no_connection(monkeypatch):
    """Any attempt to build an LDAP server or connection fails the test."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(oob_ldap.ldap3, "Server", refuse)
    monkeypatch.setattr(oob_ldap.ldap3, "Connection", refuse)


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("missing", "does not exist: give the path, on the controller, of the PEM file with the certificate of the CA"),
        ("directory", "is a directory: give the PEM file with the CA certificate"),
        ("empty", "is empty: put the CA certificate in it, Base-64 encoded (PEM: -----BEGIN CERTIFICATE-----)"),
        ("text", "holds no PEM certificate (no -----BEGIN CERTIFICATE----- line): give the CA certificate"),
        ("der", "holds no PEM certificate (it looks like binary DER): convert it with 'openssl x509 -inform der"),
        ("key", "holds a PRIVATE KEY, not a certificate: give the CA certificate"),
        ("damaged", "holds a PEM certificate that cannot be read ("),
    ],
)
def test_ca_file_problems_are_named_before_any_connection(tmp_path, no_connection, kind, problem):
    path = tmp_path / "ca.pem"
    if kind == "directory":
        path = tmp_path
    elif kind != "missing":
        path.write_bytes(ca_file_contents(kind))
    with pytest.raises(LdapError) as err:
        connect(["dc1.lab.example"], settings(ca_file=str(path)))
    assert err.value.kind == "settings"
    assert str(err.value).startswith(f"ca_file {path} {problem}")


def test_unreadable_ca_file(tmp_path, monkeypatch, no_connection):
    path = tmp_path / "ca.pem"
    path.write_bytes(ca_file_contents("pem"))

    def denied(name, *_args, **_kwargs):
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr(oob_ldap, "open", denied, raising=False)  # root reads any file: fake the refusal
    with pytest.raises(LdapError, match="cannot be read") as err:
        connect(["dc1.lab.example"], settings(ca_file=str(path)))
    assert str(err.value) == (
        f"ca_file {path} cannot be read (Permission denied): let the user that runs Ansible on the controller read it"
    )


def test_ca_file_is_checked_only_when_it_is_used(tmp_path, no_connection):
    good = tmp_path / "ca.pem"
    good.write_bytes(ca_file_contents("pem"))
    missing = str(tmp_path / "missing.pem")
    for path, extra in ((str(good), {}), (missing, {"validate_certs": False}), (missing, {"tls": "none"})):
        params = settings(ca_file=path, allow_plain=True, **extra)
        with pytest.raises(AssertionError, match="a connection was attempted"):  # got past the ca_file check
            connect(["dc1.lab.example"], params)


def ldap3_error(wrapper, cause: Exception, text: str):
    """An exception as ldap3 raises it: its own class merged with the one the socket or ssl module raised."""
    return ldap_exc.communication_exception_factory(wrapper, cause)(text)


WHERE = "dc1.lab.example (198.51.100.10:636)"
SPEC = {"host": "dc1.lab.example", "address": "198.51.100.10", "port": None}
CERT_DICT = (
    "{'subject': ((('commonName', 'DC1.lab.example'),),), 'subjectAltName': (('DNS', 'DC1.lab.example'), "
    "('DNS', 'dc1.lab.example'))}"
)


@pytest.mark.parametrize(
    ("exc", "stage", "kind", "message"),
    [
        (
            ldap3_error(
                ldap_exc.LDAPSocketOpenError, TimeoutError(), "socket connection error while opening: timed out"
            ),
            "connect",
            "unreachable",
            f"{WHERE}: unreachable: no TCP connection within 2 s (timeout); check the address, and that the DC is up "
            "and port 636 open",
        ),
        (
            ldap3_error(
                ldap_exc.LDAPSocketOpenError,
                TimeoutError(),
                "socket ssl wrapping error: _ssl.c:989: The handshake operation timed out",
            ),
            "connect",
            "timeout",
            f"{WHERE}: timed out: the DC accepted the connection but did not answer the TLS handshake within 2 s "
            "(timeout); check that its LDAP service is running and not overloaded, or raise timeout",
        ),
        (
            ldap3_error(ldap_exc.LDAPSocketReceiveError, TimeoutError(), "error receiving data: timed out"),
            "starttls",
            "timeout",
            f"{WHERE}: timed out: the DC accepted the connection but did not answer the StartTLS request within 2 s",
        ),
        (
            ldap3_error(
                ldap_exc.LDAPSocketOpenError,
                ssl.SSLCertVerificationError(),
                "(\"('socket ssl wrapping error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable "
                "to get local issuer certificate (_ssl.c:1006)',)\",)",
            ),
            "connect",
            "tls",
            f"{WHERE}: TLS validation failed (certificate verify failed: unable to get local issuer certificate); "
            "check ca_file holds the CA that issued the DC's certificate and that 'dc1.lab.example' is a name in it",
        ),
        (
            ldap3_error(
                ldap_exc.LDAPSocketOpenError,
                ssl.SSLCertVerificationError(),
                "socket ssl wrapping error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate "
                "has expired (_ssl.c:1006)",
            ),
            "connect",
            "tls",
            f"{WHERE}: TLS validation failed (certificate verify failed: certificate has expired); renew the DC's "
            "certificate, or correct the clock of the DC or of the controller",
        ),
        (
            ldap3_error(
                ldap_exc.LDAPSocketOpenError,
                ldap_exc.LDAPCertificateError(),
                f"socket ssl wrapping error: certificate {CERT_DICT} doesn't match any name in ['dc1.lab.example']",
            ),
            "connect",
            "tls",
            f"{WHERE}: TLS validation failed (the certificate is for DC1.lab.example, dc1.lab.example, not "
            "dc1.lab.example); check ca_file",
        ),
        (
            ldap3_error(
                ldap_exc.LDAPSocketOpenError,
                ConnectionResetError(104, "Connection reset by peer"),
                "socket ssl wrapping error: [Errno 104] Connection reset by peer",
            ),
            "connect",
            "tls",
            f"{WHERE}: the TLS handshake failed (socket ssl wrapping error: [Errno 104] Connection reset by peer); "
            "is 636 the LDAPS port (636)? for 389 use tls=starttls",
        ),
        (
            ldap3_error(
                ldap_exc.LDAPSocketReceiveError,
                ConnectionResetError(104, "Connection reset by peer"),
                "error receiving data: [Errno 104] Connection reset by peer",
            ),
            "starttls",
            "tls",
            f"{WHERE}: the StartTLS request failed (error receiving data: [Errno 104] Connection reset by peer); "
            "does the DC offer StartTLS on port 636 (389)? for 636 use tls=ldaps",
        ),
        (
            ldap3_error(
                ldap_exc.LDAPSocketOpenError,
                ConnectionRefusedError(111, "Connection refused"),
                "socket connection error while opening: [Errno 111] Connection refused",
            ),
            "connect",
            "unreachable",
            f"{WHERE}: unreachable after 0.0 s (socket connection error while opening: [Errno 111] Connection "
            "refused); check the address, and that the DC is up and listens on port 636",
        ),
    ],
    ids=[
        "tcp-timeout",
        "tls-timeout",
        "starttls-timeout",
        "unknown-ca",
        "expired",
        "wrong-name",
        "reset",
        "starttls-reset",
        "refused",
    ],
)
def test_open_failures_say_what_happened(exc, stage, kind, message):
    got_kind, text = oob_ldap._open_failure(exc, stage=stage, where=WHERE, spec=SPEC, port=636, timeout=2, elapsed=0.01)
    assert (got_kind, text[: len(message)]) == (kind, message)
    if kind != "tls":
        assert "ca_file" not in text and "TLS validation" not in text


def test_unresolvable_names(monkeypatch):
    def gai(name, *_args, **_kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", gai)
    exc = ldap_exc.LDAPSocketOpenError("invalid server address")  # what ldap3 raises: no cause, no detail
    spec = {"host": "dc9.corp.example", "address": None, "port": None}
    assert oob_ldap._open_failure(
        exc,
        stage="connect",
        where="dc9.corp.example (dc9.corp.example:636)",
        spec=spec,
        port=636,
        timeout=2,
        elapsed=0.0,
    ) == (
        "resolve",
        "cannot resolve dc9.corp.example: give its address (servers: - host: dc9.corp.example address: <IPv4>) or "
        "fix DNS (Name or service not known)",
    )
    spec["address"] = "dc9-ip.corp.example"
    assert oob_ldap._resolve_failure(spec, 636) == (
        "cannot resolve the address 'dc9-ip.corp.example' given for dc9.corp.example: give its IPv4 address (Name or "
        "service not known)"
    )


def test_bind_failures():
    params = settings(timeout=3)
    timeout = ldap3_error(ldap_exc.LDAPSocketReceiveError, TimeoutError(), "error receiving data: timed out")
    failure = oob_ldap._bind_failure(timeout, WHERE, "dc1.lab.example", params)
    assert failure.kind == "timeout"
    assert str(failure).startswith(f"{WHERE}: timed out: the DC accepted the connection but did not answer the bind")
    assert "within 3 s (timeout)" in str(failure)
    refused = ldap_exc.LDAPInvalidCredentialsResult(result=49, description="invalidCredentials", message="52e")
    failure = oob_ldap._bind_failure(refused, WHERE, "dc1.lab.example", params)
    assert (failure.kind, str(failure)) == (
        "credentials",
        f"{WHERE} rejected the bind as admin@lab.example: invalid credentials; check bind_user and bind_password",
    )
    assert oob_ldap._bind_failure(KeyError("a bug"), WHERE, "dc1.lab.example", params) is None


class FakeGSSError(Exception):
    """Stands for a gssapi error (the real ones need the Kerberos mechanism to print their message)."""

    def __init__(self, text: str):
        super().__init__(text)
        self.min_code, self.text = 1, text

    def get_all_statuses(self, _code, _is_major):
        return [self.text]

    def gen_message(self):
        return f"Major (851968): Unspecified GSS failure, Minor (1): {self.text}"


class MissingCredentialsError(FakeGSSError):
    pass


FakeGSSError.__module__ = MissingCredentialsError.__module__ = "gssapi.raw.misc"


def failed_sasl_bind(gss):
    """What ldap3 raises when a GSSAPI step fails: the DC's answer to the SASL abort, the gssapi error as context."""
    try:
        try:
            raise gss
        except FakeGSSError:
            raise ldap_exc.LDAPOperationsErrorResult(  # noqa: B904 - ldap3 raises it this way, the context kept
                result=1,
                description="operationsError",
                message="SASL: Failed to start authentication system: NT_STATUS_INVALID_PARAMETER",
            )
    except ldap_exc.LDAPOperationsErrorResult as exc:
        return exc


@pytest.mark.parametrize(
    ("gss", "message"),
    [
        (
            MissingCredentialsError("No Kerberos credentials available (default cache: FILE:/tmp/empty)"),
            "no Kerberos ticket: run kinit <user>@LAB.EXAMPLE (or give bind_user and bind_password); binding to "
            f"{WHERE}: No Kerberos credentials available (default cache: FILE:/tmp/empty)",
        ),
        (
            FakeGSSError("Ticket expired"),
            "the Kerberos ticket has expired: run kinit <user>@LAB.EXAMPLE (or give bind_user and bind_password); "
            f"{WHERE}: Ticket expired",
        ),
        (
            FakeGSSError("Server not found in Kerberos database"),
            "Kerberos does not know the DC as 'dc1.lab.example' (Server not found in Kerberos database): set host to "
            "the DC's full DNS name (the name in its ldap/<name> service principal) and address to its IP",
        ),
        (
            FakeGSSError("Clock skew too great"),
            f"Kerberos bind to {WHERE} failed: Clock skew too great; synchronise the controller's clock with the DC's",
        ),
        (
            FakeGSSError("Something else"),
            f"Kerberos bind to {WHERE} failed: Something else (run kinit, or give bind_user and bind_password; check "
            "KRB5_CONFIG)",
        ),
    ],
)
def test_kerberos_bind_failures_say_what_to_do(gss, message):
    for exc in (failed_sasl_bind(gss), gss):  # the DC's answer to ldap3's abort, or the gssapi error itself
        failure = oob_ldap._bind_failure(exc, WHERE, "dc1.lab.example", settings(auth="kerberos"))
        assert failure.kind == "credentials"
        assert str(failure).startswith(message)
        assert "NT_STATUS_INVALID_PARAMETER" not in str(failure)


@pytest.mark.parametrize(
    ("host", "realm"),
    [
        ("dc1.lab.example", "LAB.EXAMPLE"),
        ("DC01.Corp.Example.COM.", "CORP.EXAMPLE.COM"),
        ("dc1", "<REALM>"),
        ("198.51.100.10", "<REALM>"),
    ],  # fmt: skip
)
def test_realm_of(host, realm):
    assert oob_ldap._realm_of(host) == realm


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("Preauthentication failed", "check bind_password"),
        ("Client 'x@LAB.EXAMPLE' not found in Kerberos database", "check bind_user: an existing account"),
        ('Cannot find KDC for realm "LAB.EXAMPLE"', "set KRB5_CONFIG to a krb5.conf that names the realm's KDCs"),
        ("Configuration file does not specify default realm", "give bind_user as user@REALM"),
        ("Something new", "check bind_user, bind_password and KRB5_CONFIG"),
    ],
)
def test_kerberos_password_failures_say_what_to_do(monkeypatch, text, hint):
    gssapi = pytest.importorskip("gssapi")

    class Refused(gssapi.exceptions.GSSError):
        def get_all_statuses(self, _code, _is_major):
            return [text]

    def acquire(*_args, **_kwargs):
        raise Refused(851968, 1)

    monkeypatch.setattr(gssapi.raw, "acquire_cred_with_password", acquire)
    with pytest.raises(LdapError) as err:
        oob_ldap._kerberos_credentials(settings(auth="kerberos", bind_user="x@LAB.EXAMPLE", bind_password="pw"))
    assert err.value.kind == "credentials"
    assert str(err.value).startswith(f"Kerberos refused x@LAB.EXAMPLE: {text}; {hint}")
