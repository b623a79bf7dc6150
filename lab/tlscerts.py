"""Lab-only TLS certificates: a throw-away CA and server certificates it signs (names and IPv4 addresses in the SAN).

Used for kea-ctrl-agent's HTTPS API, the simulated AMT devices' TLS and the service point's AMT provisioning
certificate. The keys live in lab/.state and go away with `lab.py down`.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _write_key(key, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))  # fmt: skip
    path.chmod(0o600)


def make_ca(name: str, folder: Path) -> tuple:
    """A CA certificate and key (PEM files ``<name>-ca.pem`` / ``-ca.key`` in ``folder``); returns (cert, key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"oob-prep lab {name} CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (folder / f"{name}-ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, folder / f"{name}-ca.key")
    return cert, key


def make_server(ca: tuple, name: str, dns_names: list[str], addresses: list[str], folder: Path) -> tuple[Path, Path]:
    """A server certificate signed by ``ca`` for the names and addresses; returns (cert file, key file)."""
    ca_cert, ca_key = ca
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    san = [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_file)
    return cert_file, key_file


AMT_PROVISIONING_OID = x509.ObjectIdentifier("2.16.840.1.113741.1.2.3")  # Intel AMT provisioning (Intel AMT SDK)


def make_provisioning(ca: tuple, fqdn: str, path: Path) -> Path:
    """An AMT provisioning certificate for ``fqdn`` (Server Authentication + the Intel AMT provisioning OID, as the
    ConfigMgr AMT Provisioning template issues it), signed by ``ca``: one PEM file with the certificate, the CA's
    certificate and the private key, as an admin exports it from the service point's store."""
    ca_cert, ca_key = ca
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, fqdn)]))
        .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(fqdn)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, AMT_PROVISIONING_OID]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    pem += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip
    path.write_bytes(pem)
    path.chmod(0o600)
    return path


def root_sha256(pem_file: Path, algorithm: str = "sha256") -> str | None:
    """The SHA-256 (or ``algorithm``) of a root certificate's DER (what AMT firmware keeps as a trusted hash), or None
    without the file. The DER is the PEM's base64, hashed as it is (some old roots do not parse cleanly with newer
    libraries)."""
    import base64
    import hashlib
    import re

    try:
        block = re.search(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", pem_file.read_text(), re.S)
    except OSError:
        return None
    return hashlib.new(algorithm, base64.b64decode(block.group(1))).hexdigest() if block else None
