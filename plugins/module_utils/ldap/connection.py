# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""LDAP connection shared by every oob-prep LDAP module (ldap3).

- LDAPS (default) or StartTLS, with the server certificate validated against ``ca_file`` (or the system store) and
  its name checked against the DC's host name; plain LDAP only with ``allow_plain: true``.
- Simple bind, or Kerberos (SASL/GSSAPI) from the current ccache or, given a user and password, from credentials
  acquired in memory (no ccache is written).
- Several DCs per domain: tried in order, the next one when a DC is unreachable.
- Errors are ``LdapError`` with a message that says what failed and how to fix it; secrets never appear in them.
- Every search and write is counted (``Session.ops``), so benchmarks can report LDAP operations.
"""

from __future__ import annotations

import random
import ssl
import time

from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit
from ansible_collections.oob.prep.plugins.module_utils.ldap.kerberos import GSS_HINTS, KerberosError, gss_message
from ansible_collections.oob.prep.plugins.module_utils.ldap.kerberos import credentials as kerberos_credentials
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import escape_filter_value, parse_server
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import sid_from_bytes, sid_to_bytes

try:
    import ldap3
    from ldap3.core import exceptions as ldap_exc
    from ldap3.protocol.microsoft import security_descriptor_control

    HAS_LDAP3 = True
    LDAP3_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module through missing_required_lib
    HAS_LDAP3 = False
    LDAP3_IMPORT_ERROR = exc

DEFAULT_PORTS = {"ldaps": 636, "starttls": 389, "none": 389}
SD_FLAGS_DACL = 0x04
SD_FLAGS_OWNER = 0x01
MAX_WRITE_ATTEMPTS = 5

# LDAP result codes worth a specific message (RFC 4511 and AD)
RESULT_HINTS = {
    8: "the DC requires stronger authentication: use tls=ldaps or starttls (Samba: 'ldap server require strong auth')",
    32: "the object does not exist",
    49: "invalid credentials",
    50: "insufficient access rights",
    53: "the DC is unwilling to perform the operation",
    64: "naming violation (is the name valid for this object class?)",
    68: "the object already exists",
}


# The connection settings: one dict per environment (the ``connection`` option), or single options that override it
LDAP_DEFAULTS = {"auth": "simple", "bind_user": None, "bind_password": None, "tls": "ldaps", "ca_file": None,
                 "validate_certs": True, "allow_plain": False, "timeout": 10}  # fmt: skip


def _connection_options() -> dict:
    return dict(
        auth=dict(type="str", choices=["simple", "kerberos"]),
        bind_user=dict(type="str"),
        bind_password=dict(type="str", no_log=True),
        tls=dict(type="str", choices=["ldaps", "starttls", "none"]),
        ca_file=dict(type="path"),
        validate_certs=dict(type="bool"),
        allow_plain=dict(type="bool"),
        timeout=dict(type="int"),
    )


def ldap_argument_spec() -> dict:
    """Connection options shared by every LDAP module (documented in the oob_ldap doc fragment): ``connection``, a
    dict that an environment gives once, and the same settings as single options, which win over it."""
    spec = _connection_options()
    spec["connection"] = dict(type="dict", options=_connection_options())
    return spec


def merge_connection(params: dict) -> dict:
    """Fill the single connection options from ``connection`` where they are not given, then from LDAP_DEFAULTS."""
    given = params.get("connection") or {}
    for key, default in LDAP_DEFAULTS.items():
        if params.get(key) is None:
            params[key] = given.get(key) if given.get(key) is not None else default
    return params


def domains_argument_spec(**extra) -> dict:
    """The ``domains`` option of the modules that work in each AMT domain: a list of {dns_name, base_dn, servers}."""
    return dict(type="list", elements="dict", options=dict(
        dns_name=dict(type="str", required=True),
        base_dn=dict(type="str"),
        servers=dict(type="list", elements="raw", required=True),
    ), **extra)  # fmt: skip


def forest_argument_spec() -> dict:
    """The connection options plus where the forest is (documented in the oob_ldap_forest doc fragment)."""
    spec = ldap_argument_spec()
    spec.update(
        servers=dict(type="list", elements="raw", required=True),
        forest_dns_name=dict(type="str", required=True),
        principal_domain=dict(type="str"),
        principal_servers=dict(type="list", elements="raw"),
        principal_base_dn=dict(type="str"),
    )
    return spec


class LdapError(Exception):
    """A failure with a message fit for the user. ``kind`` lets callers and tests tell failures apart."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def check_settings(params: dict) -> list[str]:
    """Validate connection settings before any I/O; returns warnings. Raises LdapError on bad combinations."""
    warnings = []
    if params["tls"] == "none" and not params["allow_plain"]:
        raise LdapError("settings", "tls=none sends LDAP in clear text: set allow_plain=true to do it anyway")
    if params["auth"] == "simple" and not (params.get("bind_user") and params.get("bind_password")):
        raise LdapError("settings", "auth=simple needs bind_user and bind_password (or use auth=kerberos)")
    if params["auth"] == "simple" and params["tls"] == "none":
        warnings.append("a simple bind without TLS sends the password in clear text")
    if params["tls"] != "none" and not params["validate_certs"]:
        warnings.append(
            "validate_certs=false: the DC's certificate is not checked, anyone in the path can read the bind"
        )
    if params["timeout"] <= 0:
        raise LdapError("settings", "timeout must be a positive number of seconds")
    return warnings


class Session:
    """One bound connection to one DC, counting operations."""

    def __init__(self, conn, server: dict, user: str | None):
        self.conn = conn
        self.server = server
        self.user = user or "(Kerberos ticket)"
        self.ops = {"searches": 0, "writes": 0}

    # --- reads ---------------------------------------------------------------------------------------------------
    def search(
        self,
        base: str,
        flt: str,
        attributes: list[str],
        scope: str = "BASE",
        *,
        dacl_only: bool = False,
        sd_flags: int = 0,
    ) -> list[dict]:
        """Search and return entries as {'dn': ..., 'attributes': {name: [raw bytes, ...]}}; [] if base is absent."""
        sd_flags = sd_flags or (SD_FLAGS_DACL if dacl_only else 0)
        controls = security_descriptor_control(sdflags=sd_flags) if sd_flags else None
        self.ops["searches"] += 1
        try:
            self.conn.search(base, flt, search_scope=getattr(ldap3, scope), attributes=attributes, controls=controls)
        except ldap_exc.LDAPNoSuchObjectResult:
            return []
        except ldap_exc.LDAPOperationResult as exc:
            raise self._op_error("search", base, exc) from None
        except ldap_exc.LDAPException as exc:
            raise self._io_error("search", base, exc) from None
        return [
            {"dn": e["dn"], "attributes": {k.lower(): v for k, v in e["raw_attributes"].items()}}
            for e in self.conn.response
            if e.get("type") == "searchResEntry"
        ]

    # --- writes --------------------------------------------------------------------------------------------------
    def add(self, dn: str, object_class, attributes: dict | None = None, sd_flags: int = 0) -> None:
        """Create ``dn``. With ``sd_flags``, the nTSecurityDescriptor in ``attributes`` is applied for those parts
        (owner, DACL) instead of the schema's default descriptor."""
        self.ops["writes"] += 1
        controls = security_descriptor_control(sdflags=sd_flags) if sd_flags else None
        try:
            self.conn.add(dn, object_class, attributes or {}, controls=controls)
        except ldap_exc.LDAPEntryAlreadyExistsResult:
            raise LdapError("exists", f"{dn} already exists") from None
        except ldap_exc.LDAPOperationResult as exc:
            raise self._op_error("create", dn, exc) from None
        except ldap_exc.LDAPException as exc:
            raise self._io_error("create", dn, exc) from None

    def modify(self, dn: str, replace: dict) -> None:
        """Replace the attributes in ``replace`` (name -> values) in one modify request."""
        if not replace:
            return
        self.ops["writes"] += 1
        try:
            self.conn.modify(dn, {attr: [(ldap3.MODIFY_REPLACE, list(values))] for attr, values in replace.items()})
        except ldap_exc.LDAPOperationResult as exc:
            raise self._op_error("modify", dn, exc) from None
        except ldap_exc.LDAPException as exc:
            raise self._io_error("modify", dn, exc) from None

    def modify_guarded(
        self, dn: str, replace: dict, token: tuple, sd_bytes: bytes, sd_flags: int = SD_FLAGS_DACL
    ) -> None:
        """Write a security descriptor (the parts ``sd_flags`` selects) and the attributes in ``replace``, if the
        token is unchanged.

        ``token`` is (attribute, value read or None, next value). AD has no conditional write for
        nTSecurityDescriptor, but a modify request is atomic: deleting the token value we read and adding the next
        one in the same request fails as a whole (noSuchAttribute, or attributeOrValueExists when there was none) if
        another writer changed the token since our read. Raises LdapError('conflict') then (docs/adr/0002). The
        token moves only with a security descriptor: attribute-only writes use ``modify``.
        """
        token_attr, token_old, token_new = token
        request = {attr: [(ldap3.MODIFY_REPLACE, list(values))] for attr, values in replace.items()}
        token_ops = [(ldap3.MODIFY_DELETE, [token_old])] if token_old else []
        request[token_attr] = [*token_ops, (ldap3.MODIFY_ADD, [token_new])]
        request["nTSecurityDescriptor"] = [(ldap3.MODIFY_REPLACE, [sd_bytes])]
        self.ops["writes"] += 1
        try:
            self.conn.modify(dn, request, controls=security_descriptor_control(sdflags=sd_flags))
        except (ldap_exc.LDAPNoSuchAttributeResult, ldap_exc.LDAPAttributeOrValueExistsResult):
            raise LdapError("conflict", f"{dn} was changed by another writer since it was read") from None
        except ldap_exc.LDAPOperationResult as exc:
            raise self._op_error("modify", dn, exc) from None
        except ldap_exc.LDAPException as exc:
            raise self._io_error("modify", dn, exc) from None

    def add_values(self, dn: str, attr: str, values: list) -> None:
        """Add values to a multi-valued attribute (atomic on the DC: no read-modify-write)."""
        self._modify_values(dn, attr, ldap3.MODIFY_ADD if HAS_LDAP3 else None, values)

    def delete_values(self, dn: str, attr: str, values: list) -> None:
        """Remove values from a multi-valued attribute."""
        self._modify_values(dn, attr, ldap3.MODIFY_DELETE if HAS_LDAP3 else None, values)

    def _modify_values(self, dn: str, attr: str, operation, values: list) -> None:
        self.ops["writes"] += 1
        try:
            self.conn.modify(dn, {attr: [(operation, list(values))]})
        except (ldap_exc.LDAPAttributeOrValueExistsResult, ldap_exc.LDAPNoSuchAttributeResult):
            pass  # already as wanted (a concurrent run did it)
        except ldap_exc.LDAPOperationResult as exc:
            raise self._op_error("modify", dn, exc) from None
        except ldap_exc.LDAPException as exc:
            raise self._io_error("modify", dn, exc) from None

    def close(self) -> None:
        try:
            self.conn.unbind()
        except Exception:  # pylint: disable=broad-except  # closing a dead connection is not an error
            pass

    def _io_error(self, what: str, dn: str, exc) -> LdapError:
        """A socket or protocol failure (the DC went away, a timeout) during an operation."""
        return LdapError("connection", f"could not {what} {dn} on {self.server['host']}: the connection failed "
                                       f"({type(exc).__name__}: {exc}); check the DC and the network, then run "
                                       "again (the run converges from where it stopped)")  # fmt: skip

    def _op_error(self, what: str, dn: str, exc) -> LdapError:
        code = getattr(exc, "result", None)
        detail = (getattr(exc, "message", "") or getattr(exc, "description", "") or "").strip()
        if code == 50:
            return LdapError(
                "rights", f"insufficient rights to {what} {dn} as {self.user} on {self.server['host']}: {detail}"
            )
        hint = RESULT_HINTS.get(code, getattr(exc, "description", "error"))
        return LdapError("operation", f"could not {what} {dn} on {self.server['host']}: {hint} ({code}: {detail})")


def run_ldap_module(argument_spec: dict, run, module_class=None) -> None:
    """main() of every LDAP module: build the module, run ``run(module)``, and turn bad input (ValueError) and
    LdapError into a clear failure (``error`` says which kind) instead of a traceback."""
    if module_class is None:  # pragma: no cover - modules pass their AnsibleModule so tests can patch it
        from ansible.module_utils.basic import AnsibleModule as module_class  # pylint: disable=import-outside-toplevel
    module = module_class(argument_spec=argument_spec, supports_check_mode=True)
    merge_connection(module.params)
    run_and_exit(module, run, (LdapError,))


def converge_guarded(read, plan, write, what: str, *, state=None, attempts: int = MAX_WRITE_ATTEMPTS) -> int:
    """The compare-and-swap loop of every security-descriptor write (docs/adr/0002); returns the writes made.

    ``read()`` returns the object's current state, ``plan(state)`` what to write (None when the state is already as
    wanted), ``write(state, planned)`` makes the guarded write and raises LdapError('conflict') when another writer
    moved the token since ``read``. Then the object is read again, re-planned and written again, up to ``attempts``
    times. Every write is followed by a read: the loop ends only when the DC holds what was planned. ``state``,
    when given, is a fresh read to start from (saves one search).
    """
    state, writes = read() if state is None else state, 0
    for attempt in range(1, attempts + 1):
        planned = plan(state)
        if planned is None:
            return writes
        try:
            write(state, planned)
            writes += 1
        except LdapError as exc:
            if exc.kind != "conflict":
                raise
            time.sleep(random.uniform(0.02, 0.1) * attempt)  # another run won the race: re-read and re-plan
        state = read()
    if plan(state) is None:
        return writes
    raise LdapError("conflict", f"{what}: after {attempts} writes the security descriptor still lacks our changes "
                                "(another tool keeps rewriting it, or the DC does not store them)")  # fmt: skip


def resolve_principals(session: Session, base_dn: str, names: list[str], where: str) -> dict:
    """Map each name (a sAMAccountName, or a SID which is kept as it is) to its SID, with one search for all.

    Raises LdapError('principal') naming every principal that is missing or ambiguous.
    """
    return read_domain_principals(session, base_dn, names, where, domain_sid=False)[1]


def read_domain_principals(
    session: Session, base_dn: str, names: list[str], where: str, domain_sid: bool = True
) -> tuple[str | None, dict]:
    """(the domain's SID, {name: SID}) with one search: the domain object and every named principal.

    Names that are SIDs are kept as they are; a missing or ambiguous name raises LdapError('principal') naming every
    such principal.
    """
    own_sid, sids, missing = lookup_principals(session, base_dn, names, where, domain_sid)
    if missing:
        raise LdapError("principal", "; ".join(missing.values()))
    return own_sid, sids


def lookup_principals(
    session: Session, base_dn: str, names: list[str], where: str, domain_sid: bool = False
) -> tuple[str | None, dict, dict]:
    """(the domain's SID, {name: SID}, {name: why it was not resolved}) with one search, raising for nothing that a
    name can cause (a read-only check reports the missing ones one by one). The domain object's absence is listed
    under the key '' when ``domain_sid`` is asked for."""
    sids = {n: n.upper() for n in names if n.upper().startswith("S-1-")}
    for sid in sids.values():
        sid_to_bytes(sid)  # a malformed SID is refused here (ValueError)
    wanted = [n for n in names if n not in sids]
    if not wanted and not domain_sid:
        return None, sids, {}
    terms = "".join(f"(sAMAccountName={escape_filter_value(n)})" for n in wanted)
    terms += "(objectClass=domainDNS)" if domain_sid else ""
    found: dict = {}
    own_sid = None
    for entry in session.search(base_dn, f"(|{terms})", ["sAMAccountName", "objectSid", "objectClass"], "SUBTREE"):
        attrs = entry["attributes"]
        if domain_sid and entry["dn"].lower() == base_dn.lower() and attrs.get("objectsid"):
            own_sid = sid_from_bytes(attrs["objectsid"][0])[0]
        elif attrs.get("objectsid") and attrs.get("samaccountname"):
            found.setdefault(attrs["samaccountname"][0].decode("utf-8").lower(), []).append(attrs["objectsid"][0])
    missing = {}
    for name in wanted:
        hits = found.get(name.lower(), [])
        if len(hits) == 1:
            sids[name] = sid_from_bytes(hits[0])[0]
        elif not hits:
            hint = f"; computer accounts end in $: did you mean {name}$?" if not name.endswith("$") else ""
            missing[name] = (
                f"principal {name!r} not found in {where} (searched (sAMAccountName={escape_filter_value(name)}) "
                f"under {base_dn}){hint}"
            )
        else:
            missing[name] = f"principal {name!r} is ambiguous in {where}"
    if domain_sid and own_sid is None:
        missing[""] = f"the domain object {base_dn} of {where} was not found or has no objectSid"
    return own_sid, sids, missing


def _tls(params: dict, host: str):
    if not params["validate_certs"]:
        return ldap3.Tls(validate=ssl.CERT_NONE)
    return ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=params.get("ca_file"), valid_names=[host])


def _check_ca_file(path: str) -> None:
    """Refuse a ca_file that cannot work, before any connection. ldap3 says only "invalid CA public key file" for a
    missing one, and a file without a certificate would fail only at the first handshake, as a TLS failure."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except FileNotFoundError:
        raise LdapError(
            "settings",
            f"ca_file {path} does not exist: give the path, on the controller, of the PEM "
            "file with the certificate of the CA that issued the DCs' certificates",
        ) from None
    except IsADirectoryError:
        raise LdapError(
            "settings", f"ca_file {path} is a directory: give the PEM file with the CA certificate"
        ) from None
    except OSError as exc:
        raise LdapError(
            "settings",
            f"ca_file {path} cannot be read ({exc.strerror}): let the user that runs Ansible on the controller read it",
        ) from None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except ssl.SSLError as exc:
        raise LdapError("settings", f"ca_file {path} {_ca_file_problem(path, head, exc)}") from None


def _ca_file_problem(path: str, head: bytes, exc: ssl.SSLError) -> str:
    """What is wrong with a CA file OpenSSL could not load, from its first bytes."""
    if b"-----BEGIN CERTIFICATE-----" in head or b"-----BEGIN TRUSTED CERTIFICATE-----" in head:
        return (
            f"holds a PEM certificate that cannot be read ({exc.reason or exc}): export the CA certificate "
            "again, Base-64 encoded (PEM)"
        )
    if not head.strip():
        return "is empty: put the CA certificate in it, Base-64 encoded (PEM: -----BEGIN CERTIFICATE-----)"
    if head[:1] == b"\x30":  # an ASN.1 SEQUENCE: DER
        return (
            "holds no PEM certificate (it looks like binary DER): convert it with "
            f"'openssl x509 -inform der -in {path} -out {path}.pem' and give the .pem file"
        )
    if b"-----BEGIN " in head:
        label = head.split(b"-----BEGIN ", 1)[1].split(b"-----", 1)[0].decode("ascii", "replace")
        return f"holds a {label}, not a certificate: give the CA certificate (PEM: -----BEGIN CERTIFICATE-----)"
    return "holds no PEM certificate (no -----BEGIN CERTIFICATE----- line): give the CA certificate, Base-64 encoded"


# Kerberos errors from a bind with user and password, and what to do (matched in the mechanism's message)
_GSS_HINTS = GSS_HINTS


def _kerberos_credentials(params: dict):
    """In-memory Kerberos credentials from bind_user/bind_password, or None to use the default ccache."""
    try:
        return kerberos_credentials(params.get("bind_user"), params.get("bind_password"), "auth=kerberos")
    except KerberosError as exc:
        raise LdapError(exc.kind, str(exc)) from None


_gss_message = gss_message


def _gss_cause(exc):
    """The gssapi error behind a failed bind, or None. ldap3 answers a failed GSSAPI step by aborting the SASL bind
    and raises the DC's answer to the abort (Samba: operationsError, NT_STATUS_INVALID_PARAMETER): the cause is in
    the exception's context."""
    for _depth in range(5):
        if exc is None or type(exc).__module__.startswith("gssapi"):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _realm_of(host: str) -> str:
    """The realm a DC's name suggests (dc1.corp.example.com -> CORP.EXAMPLE.COM), for hints."""
    labels = host.rstrip(".").split(".")
    if len(labels) < 2 or all(label.isdigit() for label in labels):
        return "<REALM>"
    return ".".join(labels[1:]).upper()


def _kerberos_bind_error(gss, where: str, host: str) -> LdapError:
    """A Kerberos (SASL/GSSAPI) bind that failed on the controller's side, said with what to do."""
    detail = _gss_message(gss)
    text = detail.lower()
    kinit = f"kinit <user>@{_realm_of(host)}"
    if type(gss).__name__ == "MissingCredentialsError" or "no kerberos credentials" in text:
        message = f"no Kerberos ticket: run {kinit} (or give bind_user and bind_password); binding to {where}: {detail}"
    elif "expired" in text:
        message = f"the Kerberos ticket has expired: run {kinit} (or give bind_user and bind_password); {where}: "
        message += detail
    elif "server not found" in text:
        message = (
            f"Kerberos does not know the DC as '{host}' ({detail}): set host to the DC's full DNS name (the "
            f"name in its ldap/<name> service principal) and address to its IP ({where})"
        )
    elif "clock skew" in text:
        message = f"Kerberos bind to {where} failed: {detail}; synchronise the controller's clock with the DC's (NTP)"
    else:
        message = (
            f"Kerberos bind to {where} failed: {detail} (run kinit, or give bind_user and bind_password; "
            "check KRB5_CONFIG)"
        )
    return LdapError("credentials", message)


def _is_tls_failure(exc) -> bool:
    """A real TLS validation failure: the DC's certificate is not trusted (OpenSSL) or does not name it (ldap3).
    A timeout or a reset during the handshake is not one."""
    return isinstance(exc, (ssl.SSLCertVerificationError, ldap_exc.LDAPCertificateError))


def _tls_detail(exc, host: str) -> str:
    """What ldap3's TLS validation error says, without its wrapping (tuples, the whole certificate as a dict)."""
    import re  # pylint: disable=import-outside-toplevel

    text = str(exc)
    if isinstance(exc, ldap_exc.LDAPCertificateError):
        names = dict.fromkeys(re.findall(r"\('(?:commonName|DNS|IP Address)', '([^']+)'\)", text))
        return f"the certificate is for {', '.join(names)}, not {host}" if names else text
    found = re.search(r"certificate verify failed: ([^(\"']+)", text)
    return f"certificate verify failed: {found.group(1).strip()}" if found else text


# what the DC had been asked when it stopped answering
_STAGES = {"tls": "the TLS handshake", "starttls": "the StartTLS request", "bind": "the bind"}


def _timeout_failure(where: str, stage: str, timeout) -> str:
    return (
        f"{where}: timed out: the DC accepted the connection but did not answer {_STAGES[stage]} within "
        f"{timeout} s (timeout); check that its LDAP service is running and not overloaded, or raise timeout"
    )


def _resolve_failure(spec: dict, port: int) -> str:
    """ldap3 says only "invalid server address" for a name that does not resolve: ask the resolver why."""
    import socket  # pylint: disable=import-outside-toplevel

    name = spec["address"] or spec["host"]
    try:
        socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        reason = "no usable address"
    except (OSError, UnicodeError) as exc:  # socket.gaierror; UnicodeError for a name IDNA cannot encode
        reason = getattr(exc, "strerror", None) or str(exc)
    if spec["address"]:
        return f"cannot resolve the address '{name}' given for {spec['host']}: give its IPv4 address ({reason})"
    return f"cannot resolve {name}: give its address (servers: - host: {name} address: <IPv4>) or fix DNS ({reason})"


def _open_failure(exc, *, stage: str, where: str, spec: dict, port: int, timeout: int, elapsed: float):
    """(kind, message) for a DC that could not be connected to; ``stage`` is 'connect' (TCP, and the TLS handshake
    for ldaps) or 'starttls'."""
    if stage == "connect" and "ssl wrapping" in str(exc):  # ldap3's words: TCP stood, the TLS handshake failed
        stage = "tls"
    if _is_tls_failure(exc):
        detail = _tls_detail(exc, spec["host"])
        if "expired" in detail or "not yet valid" in detail:
            advice = "renew the DC's certificate, or correct the clock of the DC or of the controller"
        else:
            advice = (
                f"check ca_file holds the CA that issued the DC's certificate and that '{spec['host']}' is a name in it"
            )
        return "tls", f"{where}: TLS validation failed ({detail}); {advice}"
    if str(exc) == "invalid server address":
        return "resolve", _resolve_failure(spec, port)
    if isinstance(exc, TimeoutError):
        if stage == "connect":
            return "unreachable", (
                f"{where}: unreachable: no TCP connection within {timeout} s (timeout); check the address, and that "
                f"the DC is up and port {port} open"
            )
        return "timeout", _timeout_failure(where, stage, timeout)
    if stage != "connect":
        advice = (
            f"is {port} the LDAPS port (636)? for 389 use tls=starttls"
            if stage == "tls"
            else f"does the DC offer StartTLS on port {port} (389)? for 636 use tls=ldaps"
        )
        return "tls", f"{where}: {_STAGES[stage]} failed ({exc}); {advice}"
    return "unreachable", (
        f"{where}: unreachable after {elapsed:.1f} s ({exc}); check the address, and that the DC "
        f"is up and listens on port {port}"
    )


def _bind_failure(exc, where: str, host: str, params: dict):
    """What a failed bind means: an LdapError (kinds 'timeout' and 'unreachable' let the next DC be tried), or None
    for an exception that is no bind failure (a bug: it must show)."""
    gss = _gss_cause(exc)
    failure = None
    if gss is not None:
        failure = _kerberos_bind_error(gss, where, host)
    elif isinstance(exc, ldap_exc.LDAPInvalidCredentialsResult):
        failure = LdapError(
            "credentials",
            f"{where} rejected the bind as {params['bind_user']}: invalid credentials; "
            "check bind_user and bind_password",
        )
    elif isinstance(exc, ldap_exc.LDAPStrongerAuthRequiredResult):
        failure = LdapError("credentials", f"{where}: {RESULT_HINTS[8]}")
    elif isinstance(exc, ldap_exc.LDAPOperationResult):
        failure = LdapError("credentials", f"{where} refused the bind: {exc.description} ({exc.message})")
    elif isinstance(exc, TimeoutError):
        failure = LdapError("timeout", _timeout_failure(where, "bind", params["timeout"]))
    elif isinstance(exc, ldap_exc.LDAPException):
        failure = LdapError("unreachable", f"{where}: bind failed ({exc})")
    return failure


def _discard(conn) -> None:
    """Close a connection that failed (its socket may be half open or dead)."""
    try:
        conn.unbind()
    except Exception:  # pylint: disable=broad-except  # closing a dead connection is not an error
        pass


def connect(servers: list, params: dict) -> Session:
    """Bind to the first DC of ``servers`` that answers. Raises LdapError."""
    if not HAS_LDAP3:  # pragma: no cover
        raise LdapError("settings", f"the Python package ldap3 is required on the controller ({LDAP3_IMPORT_ERROR})")
    specs = [parse_server(s) for s in servers]
    if not specs:
        raise LdapError("settings", "no LDAP server given")
    if params["tls"] != "none" and params["validate_certs"] and params.get("ca_file"):
        _check_ca_file(params["ca_file"])
    creds = _kerberos_credentials(params) if params["auth"] == "kerberos" else None
    failures = []
    kind = "unreachable"
    for spec in specs:
        port = spec["port"] or DEFAULT_PORTS[params["tls"]]
        where = f"{spec['host']} ({spec['address'] or spec['host']}:{port})"
        server = ldap3.Server(
            spec["address"] or spec["host"],
            port=port,
            use_ssl=params["tls"] == "ldaps",
            tls=_tls(params, spec["host"]) if params["tls"] != "none" else None,
            get_info=ldap3.NONE,
            connect_timeout=params["timeout"],
        )
        kwargs = dict(receive_timeout=params["timeout"], raise_exceptions=True, check_names=False, auto_referrals=False)
        if params["auth"] == "kerberos":
            kwargs.update(
                authentication=ldap3.SASL, sasl_mechanism=ldap3.KERBEROS, sasl_credentials=(spec["host"], None, creds)
            )
        else:
            kwargs.update(authentication=ldap3.SIMPLE, user=params["bind_user"], password=params["bind_password"])
        conn = ldap3.Connection(server, **kwargs)
        started = time.monotonic()
        stage = "connect"
        try:
            conn.open()
            if params["tls"] == "starttls":
                stage = "starttls"
                conn.start_tls()
        except (ldap_exc.LDAPException, OSError) as exc:  # ssl.SSLError is an OSError
            kind, text = _open_failure(
                exc,
                stage=stage,
                where=where,
                spec=spec,
                port=port,
                timeout=params["timeout"],
                elapsed=time.monotonic() - started,
            )
            failures.append(text)
            _discard(conn)
            continue
        try:
            conn.bind()
        except Exception as exc:  # pylint: disable=broad-except  # gssapi raises its own GSSError family
            failure = _bind_failure(exc, where, spec["host"], params)
            if failure is None:
                raise
            if failure.kind not in ("timeout", "unreachable"):
                raise failure from None
            kind = failure.kind
            failures.append(str(failure))
            _discard(conn)
            continue
        return Session(conn, spec, params.get("bind_user"))
    raise LdapError(kind, "no domain controller could be used: " + "; ".join(failures))
