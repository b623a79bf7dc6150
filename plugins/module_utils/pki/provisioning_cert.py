# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the AMT provisioning certificate the out of band service point presents to AMT devices. No I/O: the
caller passes the bytes (a PEM file, a PKCS#12 file, or the DER certificates a Windows store reader found).

What the certificate must be, and where each rule comes from:

- EKU Server Authentication (1.3.6.1.5.5.7.3.1) and the Intel AMT provisioning OID 2.16.840.1.113741.1.2.3, or
  Server Authentication and the subject OU exactly ``Intel(R) Client Setup Certificate`` (case-sensitive).
  [ConfigMgr 2007 SP1 docs, "Certificate Requirements for Out of Band Management"; Intel AMT Implementation and
  Reference Guide, "Acquiring an Intel vPro Certificate"]
- Its domain must match the DNS suffix the AMT device got (DHCP option 15, or the PKI DNS suffix set in MEBx). The
  rule is ``suffix_matches``: for AMT 3.2.1 and later "only the last two domain names are checked and not the
  complete DNS suffix" (sales.contoso.com in AMT matches a certificate in marketing.contoso.com; marketing.
  northwindtraders.com does not, and neither does a blank suffix in AMT). [Microsoft, WEMD UA - SMS writing team
  blog, "Out of Band Management Requirements for In-Band AMT Provisioning and DHCP", 2008-12-09,
  https://learn.microsoft.com/en-us/archive/blogs/wemd_ua_-_sms_writing_team/out-of-band-management-requirements-for-in-band-amt-provisioning-and-dhcp]
  The same post says earlier AMT versions may check the complete suffix; ConfigMgr 2007 SP1 supports AMT 3.2.1 and
  later natively (older firmware goes through Intel's translator), so the two-label rule is the one checked here.
  Intel described a first form of it for AMT 2.6, restricted to .com and .net names [Intel communities, "Remote
  Configuation and AMT release 3.0", 2007-09-28]; that restriction is not applied here.
- AMT cannot use CA certificates whose key is longer than 2048 bits: every CA certificate of the chain must have an
  RSA key of at most 2048 bits. [ConfigMgr 2007 SP1 docs]
- The chain must reach a self-signed root, every signature verified: AMT's hello lists the hashes of the roots it
  trusts, and the service point answers only when one matches the root of its provisioning certificate; those
  hashes are SHA-1, SHA-256 or SHA-384 thumbprints of the root's DER. [ConfigMgr 2007 SP1 docs, "AMT Provisioning
  Process"; Intel AMT Implementation and Reference Guide]
- The service point must hold the private key (it makes the TLS session with it).

``check_provisioning_certificate`` returns the check rows (row ``oob_certificates``; the key-length row is
``ca_key_length``) and the certificate's facts.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import re

from ansible_collections.oob.prep.plugins.module_utils.checks import check

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - the loaders report it
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

AMT_PROVISIONING_OID = "2.16.840.1.113741.1.2.3"
SERVER_AUTH_OID = "1.3.6.1.5.5.7.3.1"
INTEL_SETUP_OU = "Intel(R) Client Setup Certificate"
ROW = "oob_certificates"
ROW_CA_KEY = "ca_key_length"
MAX_CA_KEY_BITS = 2048
MAX_CHAIN = 16  # longer is a loop or nonsense

EKU_NAMES = {
    SERVER_AUTH_OID: "Server Authentication",
    AMT_PROVISIONING_OID: "Intel AMT provisioning",
    "1.3.6.1.5.5.7.3.2": "Client Authentication",
    "2.5.29.37.0": "Any Purpose",
}
_PRIVATE_KEY_RE = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----")
_DNS_NAME_RE = re.compile(r"^(?:\*\.)?(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)+[A-Za-z0-9-]{1,63}\.?$")
_UTC = datetime.timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11

REMEDY_EKU = (
    "issue the provisioning certificate from the ConfigMgr AMT Provisioning template (EKUs Server Authentication "
    f"{SERVER_AUTH_OID} and Intel AMT provisioning {AMT_PROVISIONING_OID}), or with Server Authentication and the "
    f'subject OU exactly "{INTEL_SETUP_OU}"'
)
REMEDY_RENEW = (
    "renew the AMT provisioning certificate from the same template and import it with its private key into the out "
    "of band service point's computer store (LocalMachine\\My)"
)
REMEDY_KEY = (
    "import the AMT provisioning certificate with its private key (a PFX) into the out of band service point's "
    "computer store (LocalMachine\\My)"
)
REMEDY_CA_KEY = (
    f"Intel AMT cannot use CA certificates with keys longer than {MAX_CA_KEY_BITS} bits: issue the provisioning "
    f"certificate from a CA hierarchy whose CA keys are RSA of at most {MAX_CA_KEY_BITS} bits"
)


class CertificateError(ValueError):
    """The certificate data cannot be read (bad format, wrong password); ``kind`` names it for fail_json."""

    kind = "certificate"


@dataclasses.dataclass
class Bundle:
    """The provisioning certificate (``leaf``), the other certificates that came with it, and whether the private
    key came too (None: not known, e.g. a store reader that could not tell)."""

    leaf: x509.Certificate
    others: list[x509.Certificate]
    has_private_key: bool | None


def _need_cryptography() -> None:
    if not HAS_CRYPTOGRAPHY:
        raise CertificateError(
            f"the cryptography library is required to read the provisioning certificate: {CRYPTOGRAPHY_IMPORT_ERROR}"
        )


def _is_ca(cert: x509.Certificate) -> bool:
    ext = _extension(cert, x509.BasicConstraints)
    return bool(ext and ext.ca)


def _extension(cert: x509.Certificate, cls):
    """The value of ``cls``'s extension, or None when absent or unreadable."""
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _bundle(certs: list, has_private_key: bool | None, leaf=None) -> Bundle:
    if leaf is None:
        leaf = next((c for c in certs if not _is_ca(c)), certs[0])
    others = []
    for cert in certs:
        if cert != leaf and cert not in others:
            others.append(cert)
    return Bundle(leaf=leaf, others=others, has_private_key=has_private_key)


def load_pem(data: bytes) -> Bundle:
    """Every CERTIFICATE block of ``data``; the leaf is the first certificate that is not a CA. ``has_private_key``
    is True when a private key block (encrypted or not) is there too."""
    _need_cryptography()
    data = bytes(data)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertificateError("the PEM data holds no certificate (no -----BEGIN CERTIFICATE----- block)")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CertificateError(f"the PEM data holds a certificate that cannot be read: {exc}") from exc
    return _bundle(certs, bool(_PRIVATE_KEY_RE.search(data)))


def load_pkcs12(data: bytes, password: str | None) -> Bundle:
    """The certificate that goes with the key, and the other certificates, of a PKCS#12 (PFX) file. A wrong
    password is a CertificateError that does not repeat it."""
    _need_cryptography()
    secret = password.encode("utf-8") if password is not None else None
    try:
        key, cert, additional = pkcs12.load_key_and_certificates(bytes(data), secret)
    except (ValueError, TypeError):
        # cryptography says the same for a wrong password and for data that is not PKCS#12: say both, echo neither
        raise CertificateError(
            "cannot open the PKCS#12 (PFX) data: the password is wrong, or missing, or the data is not PKCS#12; "
            "check the password option"
        ) from None
    certs = ([cert] if cert is not None else []) + list(additional or [])
    if not certs:
        raise CertificateError("the PKCS#12 (PFX) data holds no certificate")
    return _bundle(certs, key is not None, leaf=cert)


def load_der_chain(ders: list[bytes], has_private_key: bool | None) -> Bundle:
    """DER certificates, leaf first (as a Windows store reader returns the certificate and its chain)."""
    _need_cryptography()
    if isinstance(ders, (bytes, bytearray)) or not ders:
        raise CertificateError("expected a list of DER certificates, the provisioning certificate first")
    certs = []
    for number, der in enumerate(ders, 1):
        try:
            certs.append(x509.load_der_x509_certificate(bytes(der)))
        except (ValueError, TypeError) as exc:
            raise CertificateError(f"certificate {number} of the chain is not a DER X.509 certificate: {exc}") from exc
    return _bundle(certs, has_private_key, leaf=certs[0])


def thumbprints(cert) -> dict:
    """{"sha1", "sha256", "sha384"}: lowercase hex hashes of the certificate's DER, as AMT keeps its root hashes."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return {name: hashlib.new(name, der).hexdigest() for name in ("sha1", "sha256", "sha384")}


def _name(name) -> str:
    return name.rfc4514_string() or "(empty name)"


def _verifies(cert, issuer) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def build_chain(bundle: Bundle, extra: list = ()) -> tuple[list, str | None]:
    """The chain from the leaf up to a self-signed root, from the bundle's other certificates and ``extra``; and
    None, or what stops it, in words. When something stops it the chain is as far as it got."""
    pool = []
    for cert in [*bundle.others, *extra]:
        if cert not in pool:
            pool.append(cert)
    chain = [bundle.leaf]
    while True:
        cert = chain[-1]
        self_issued = cert.issuer == cert.subject
        if self_issued and _verifies(cert, cert):
            return chain, None
        same_name = [c for c in pool if c.subject == cert.issuer and c not in chain]
        issuer = next((c for c in same_name if _verifies(cert, c)), None)
        if issuer is not None:
            chain.append(issuer)
            if len(chain) > MAX_CHAIN:
                return chain, f"the chain is longer than {MAX_CHAIN} certificates; it loops"
            continue
        subject, issuer_name = _name(cert.subject), _name(cert.issuer)
        if self_issued:
            return chain, f'the self-signed certificate "{subject}" does not verify with its own key'
        if same_name:
            return chain, (
                f'the signature on "{subject}" does not verify with the key of the CA certificate "{issuer_name}" '
                "found: that is not the CA certificate that issued it (a renewed CA key?)"
            )
        return chain, f'the issuer of "{subject}", "{issuer_name}", is missing'


def certificate_fqdn(cert) -> str | None:
    """The FQDN the certificate names: its subject CN when that is a DNS name, else its first SAN dNSName."""
    for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = str(attr.value).strip()
        if _DNS_NAME_RE.match(value):
            return value.rstrip(".")
    san = _extension(cert, x509.SubjectAlternativeName)
    names = san.get_values_for_type(x509.DNSName) if san is not None else []
    return names[0].strip().rstrip(".") if names else None


def _labels(name: str) -> list[str]:
    return [label for label in name.strip().strip(".").lower().split(".") if label]


def suffix_matches(fqdn: str, suffix: str) -> tuple[bool, str]:
    """Whether AMT accepts a provisioning certificate for ``fqdn`` on a network whose DNS suffix is ``suffix``,
    and the rule applied, in words. AMT 3.2.1 and later compare the last two labels (Microsoft, see the module's
    docstring). Case-insensitive; leading and trailing dots are ignored. With a one-label suffix the documented
    rule has nothing to compare two labels with: the certificate's name must then end in that label."""
    cert_labels, amt_labels = _labels(fqdn or ""), _labels(suffix or "")
    if not amt_labels:
        return False, "AMT has no DNS suffix: a blank suffix never matches the provisioning certificate"
    if not cert_labels:
        return False, "the certificate names no FQDN to compare with the AMT DNS suffix"
    if len(amt_labels) == 1:
        ok = len(cert_labels) > 1 and cert_labels[-1] == amt_labels[0]
        return ok, (
            f"a one-label suffix is compared whole: the certificate's name must end in .{amt_labels[0]} "
            f"({'it does' if ok else 'it does not'})"
        )
    cert_tail, amt_tail = ".".join(cert_labels[-2:]), ".".join(amt_labels[-2:])
    ok = cert_tail == amt_tail
    return ok, (
        f"AMT 3.2.1 and later compare only the last two labels: {cert_tail} (certificate) "
        f"{'=' if ok else '!='} {amt_tail} (AMT DNS suffix)"
    )


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


def _when(value: datetime.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _days(delta: datetime.timedelta) -> str:
    days = delta.days
    return "less than a day" if days < 1 else "1 day" if days == 1 else f"{days} days"


def _eku_oids(cert) -> list[str]:
    eku = _extension(cert, x509.ExtendedKeyUsage)
    return [oid.dotted_string for oid in eku] if eku is not None else []


def _ous(cert) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]


def _eku_label(oid: str) -> str:
    return f"{EKU_NAMES[oid]} ({oid})" if oid in EKU_NAMES else oid


def _check_eku(cert, where: str) -> dict:
    oids, ous = _eku_oids(cert), _ous(cert)
    subject = _name(cert.subject)
    found = ", ".join(_eku_label(o) for o in oids) or "no EKU extension"
    server_auth, amt_oid, setup_ou = SERVER_AUTH_OID in oids, AMT_PROVISIONING_OID in oids, INTEL_SETUP_OU in ous
    if server_auth and (amt_oid or setup_ou):
        how = f"the Intel AMT provisioning OID {AMT_PROVISIONING_OID}" if amt_oid else f'the OU "{INTEL_SETUP_OU}"'
        evidence = (
            f"the provisioning certificate {subject} in {where} has Server Authentication and {how} (EKUs: {found})"
        )
        return check("pki.provisioning.eku", ROW, True, evidence)
    missing = [] if server_auth else [f"Server Authentication ({SERVER_AUTH_OID})"]
    if not (amt_oid or setup_ou):
        missing.append(f'the Intel AMT provisioning OID {AMT_PROVISIONING_OID} or the OU "{INTEL_SETUP_OU}"')
    near = [ou for ou in ous if ou != INTEL_SETUP_OU and ou.lower() == INTEL_SETUP_OU.lower()]
    note = f'; its OU "{near[0]}" differs in case, and AMT compares it case-sensitively' if near else ""
    evidence = f"the provisioning certificate {subject} in {where} lacks {' and '.join(missing)} (EKUs: {found}){note}"
    return check("pki.provisioning.eku", ROW, False, evidence, REMEDY_EKU)


def _check_validity(cert, where: str, now: datetime.datetime, warn_days: int) -> dict:
    not_before, not_after = _utc(cert.not_valid_before_utc), _utc(cert.not_valid_after_utc)
    what = f"the provisioning certificate {_name(cert.subject)} in {where}"
    cid = "pki.provisioning.validity"
    if now < not_before:
        evidence = f"{what} is not valid before {_when(not_before)} (in {_days(not_before - now)})"
        remedy = "check the clock of the out of band service point and of the CA, or wait until it is valid"
        return check(cid, ROW, False, evidence, remedy)
    if now >= not_after:
        evidence = f"{what} expired on {_when(not_after)}, {_days(now - not_after)} ago"
        return check(cid, ROW, False, evidence, REMEDY_RENEW)
    left = not_after - now
    if left < datetime.timedelta(days=warn_days):
        evidence = f"{what} expires on {_when(not_after)}, in {_days(left)} (warning at {warn_days} days)"
        return check(cid, ROW, "warn", evidence, REMEDY_RENEW)
    return check(cid, ROW, True, f"{what} is valid until {_when(not_after)} ({_days(left)} left)")


def _check_chain(chain: list, problem: str | None, where: str) -> dict:
    names = " -> ".join(_name(c.subject) for c in chain)
    if problem is None:
        return check(
            "pki.provisioning.chain", ROW, True, f"the chain in {where} is complete: {names} (self-signed root)"
        )
    remedy = (
        "add the missing CA certificates to the bundle, or import them into the out of band service point's computer "
        "store (intermediate CAs into Intermediate Certification Authorities, the root into Trusted Root "
        "Certification Authorities); a certificate whose signature does not verify needs the CA certificate that "
        "really issued it"
    )
    evidence = f"the chain in {where} is incomplete: {problem} (found: {names})"
    return check("pki.provisioning.chain", ROW, False, evidence, remedy)


def _key_info(cert) -> tuple[str, int]:
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError) as exc:
        return f"unsupported ({exc})", 0
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}", key.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return type(key).__name__.replace("PublicKey", ""), 0
    return type(key).__name__, 0  # pragma: no cover - every key type cryptography parses is above


def _check_ca_keys(chain: list, complete: bool, where: str) -> dict:
    cid = "pki.provisioning.ca_key_length"
    cas = chain[1:] if len(chain) > 1 or not complete else chain  # a lone self-signed certificate is its own CA
    if not cas:
        evidence = (
            f"no CA certificate of the provisioning certificate's chain was found in {where}: key length not checked"
        )
        return check(cid, ROW_CA_KEY, "skip", evidence)
    found, bad = [], []
    for cert in cas:
        key_type, bits = _key_info(cert)
        size = f"{bits}-bit " if bits else ""
        found.append(f'"{_name(cert.subject)}": {size}{key_type}')
        if key_type != "RSA" or bits > MAX_CA_KEY_BITS:
            bad.append(f'"{_name(cert.subject)}" ({size}{key_type})')
    partial = "" if complete else "; the chain is incomplete: CA certificates not found were not checked"
    if bad:
        evidence = (
            f"Intel AMT needs RSA CA keys of at most {MAX_CA_KEY_BITS} bits and cannot use {', '.join(bad)} "
            f"(CA certificates in {where}: {'; '.join(found)}){partial}"
        )
        return check(cid, ROW_CA_KEY, False, evidence, REMEDY_CA_KEY)
    evidence = f"every CA certificate in {where} has an RSA key of at most {MAX_CA_KEY_BITS} bits: {'; '.join(found)}"
    return check(cid, ROW_CA_KEY, True, evidence + partial)


def _check_suffixes(cert, suffixes: list[str], where: str) -> list[dict]:
    wanted = []
    for suffix in suffixes:
        normal = ".".join(_labels(suffix))
        if normal and normal not in wanted:
            wanted.append(normal)
    if not wanted:
        evidence = (
            "no AMT DNS suffix is known (DHCP option 015 or MEBx's PKI DNS suffix): the domain match is not checked"
        )
        return [check("pki.provisioning.suffix", ROW, "skip", evidence)]
    fqdn = certificate_fqdn(cert)
    rows = []
    for suffix in wanted:
        cid = f"pki.provisioning.suffix.{suffix}"
        tail = ".".join(_labels(suffix)[-2:])
        remedy = (
            f"use a provisioning certificate for a name in {suffix} (any name ending in .{tail} matches), or set "
            f"DHCP option 015 (or MEBx's PKI DNS suffix) of the AMT computers to a suffix that matches "
            f"{fqdn or 'the certificate'}"
        )
        if fqdn is None:
            evidence = (
                f"the provisioning certificate {_name(cert.subject)} in {where} names no FQDN (no DNS name in its "
                f"CN, no SAN dNSName) to compare with the AMT DNS suffix {suffix}"
            )
            rows.append(check(cid, ROW, False, evidence, remedy))
            continue
        ok, rule = suffix_matches(fqdn, suffix)
        verdict = "matches" if ok else "does not match"
        evidence = f"the provisioning certificate's FQDN {fqdn} ({where}) {verdict} the AMT DNS suffix {suffix}: {rule}"
        rows.append(check(cid, ROW, ok, evidence, remedy))
    return rows


def _check_private_key(has_private_key: bool | None, where: str) -> dict:
    cid = "pki.provisioning.private_key"
    if has_private_key is None:
        evidence = f"whether {where} holds the provisioning certificate's private key is not known: not checked"
        return check(cid, ROW, "skip", evidence)
    if has_private_key:
        return check(cid, ROW, True, f"the provisioning certificate's private key is in {where}")
    evidence = (
        f"the provisioning certificate's private key is not in {where}; the out of band service point needs it for "
        "the TLS session with AMT"
    )
    return check(cid, ROW, False, evidence, REMEDY_KEY)


def _facts(cert, chain: list, complete: bool) -> dict:
    serial = f"{cert.serial_number:x}"
    root = chain[-1] if complete else None
    return {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "fqdn": certificate_fqdn(cert),
        "not_before": _utc(cert.not_valid_before_utc).isoformat(),
        "not_after": _utc(cert.not_valid_after_utc).isoformat(),
        "eku": _eku_oids(cert),
        "ou": _ous(cert),
        "serial": serial.zfill(len(serial) + len(serial) % 2),
        "thumbprints": thumbprints(cert),
        "chain": [_name(c.subject) for c in chain],
        "root": {"subject": _name(root.subject), "thumbprints": thumbprints(root)} if root is not None else None,
    }


def check_provisioning_certificate(
    bundle: Bundle, *, amt_suffixes: list[str], now: datetime.datetime, warn_days: int = 30, where: str
) -> tuple[list[dict], dict]:
    """The provisioning certificate's check rows (EKU, validity, chain, CA key length, one per AMT DNS suffix,
    private key) and its facts. ``now`` without a time zone is taken as UTC; ``where`` names the source in the
    evidence ("the PEM /etc/oob/prov.pem", "LocalMachine\\\\My on oobsp.corp.example")."""
    if not isinstance(bundle, Bundle):
        raise ValueError(f"bundle must be a Bundle, got {type(bundle).__name__}")
    if not isinstance(now, datetime.datetime):
        raise ValueError(f"now must be a datetime, got {type(now).__name__}")
    if isinstance(amt_suffixes, str) or not all(isinstance(s, str) for s in amt_suffixes or []):
        raise ValueError("amt_suffixes must be a list of DNS suffixes")
    now = _utc(now)
    cert = bundle.leaf
    chain, problem = build_chain(bundle)
    complete = problem is None
    checks = [
        _check_eku(cert, where),
        _check_validity(cert, where, now, warn_days),
        _check_chain(chain, problem, where),
        _check_ca_keys(chain, complete, where),
        *_check_suffixes(cert, list(amt_suffixes or []), where),
        _check_private_key(bundle.has_private_key, where),
    ]
    return checks, _facts(cert, chain, complete)
