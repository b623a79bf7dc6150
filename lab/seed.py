"""Seed the lab forest with what an enterprise CA and a ConfigMgr 2007 SP1 site would have put in AD.

- the stock ``WebServer`` certificate template (schema version 1) with the values Windows ships for it [MS-CRTD]
- the forest OID (``msPKI-Cert-Template-OID`` on ``CN=OID``) that AD CS sets when the first enterprise CA installs
- an enterprise CA enrollment service ``LAB-CA`` (``pKIEnrollmentService``) with its CA certificate (RSA 2048, or
  4096 for the negative check) publishing ``WebServer``
- the primary site server's computer account ``SCCM01$`` and the out of band service point's ``OOBSP$``, with a lab
  password, so tests can act as them, and the simulated AMT computers' accounts ``AMT1$``..``AMT3$`` (domain members)
- DNS A records for the service point, the site server, the console and the AMT computers
- the reverse zone of the server subnet (``100.51.198.in-addr.arpa``) when provisioning did not make it, with PTR
  records for the service point and the console

Everything is written over LDAPS with the DC's certificate validated, and with samba-tool for DNS records.
"""

from __future__ import annotations

import datetime
import ssl
import subprocess
from concurrent.futures import ThreadPoolExecutor

import labconfig as C
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from ldap3 import MODIFY_REPLACE, Connection, Server, Tls

PKS = "CN=Public Key Services,CN=Services,CN=Configuration,{base}"

# The stock "Web Server" template as Windows Server 2008+ ships it (values from a default AD CS forest).
WEB_SERVER_TEMPLATE = {
    "objectClass": ["top", "pKICertificateTemplate"],
    "displayName": "Web Server",
    "flags": 66113,  # CT_FLAG_IS_DEFAULT | ADD_TEMPLATE_NAME | MACHINE_TYPE | 0x1
    "revision": 4,
    "msPKI-Template-Schema-Version": 1,
    "msPKI-Template-Minor-Revision": 1,
    "msPKI-Certificate-Name-Flag": 1,  # CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT
    "msPKI-Enrollment-Flag": 0,
    "msPKI-Private-Key-Flag": 0,
    "msPKI-RA-Signature": 0,
    "msPKI-Minimal-Key-Size": 2048,
    "pKIDefaultKeySpec": 1,
    "pKIMaxIssuingDepth": 0,
    "pKIKeyUsage": bytes.fromhex("a000"),  # digital signature + key encipherment
    "pKICriticalExtensions": ["2.5.29.15"],
    "pKIExtendedKeyUsage": ["1.3.6.1.5.5.7.3.1"],  # server authentication
    "pKIExpirationPeriod": bytes.fromhex("0080720e5dc2fdff"),  # 2 years
    "pKIOverlapPeriod": bytes.fromhex("0080a60affdeffff"),  # 6 weeks
    "pKIDefaultCSPs": [
        "2,Microsoft DH SChannel Cryptographic Provider",
        "1,Microsoft RSA SChannel Cryptographic Provider",
    ],
    "msPKI-Cert-Template-OID": C.FOREST_OID + ".1.16",
}


def connect(forest: str = "lab") -> Connection:
    f = C.FORESTS[forest]
    tls = Tls(ca_certs_file=str(C.dc_ca_file(forest)), validate=ssl.CERT_REQUIRED, valid_names=[C.dc_fqdn(forest)])
    server = Server(f["dc_ip"], port=636, use_ssl=True, tls=tls, connect_timeout=5)
    return Connection(
        server, user=f"Administrator@{f['dns']}", password=C.ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True
    )


def make_ca_certificate(key_size: int) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "example"),
                      x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, C.CA_NAME)])  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=5 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def samba_tool_dns(*args: str) -> None:
    """samba-tool dns against the lab DC; an object that already exists is not an error."""
    f = C.FORESTS["lab"]
    empty = C.dc_dir("lab") / "empty.conf"
    cmd = ["samba-tool", "dns", args[0], f["dc_ip"], *args[1:], "-s", str(empty), f"-UAdministrator%{C.ADMIN_PASSWORD}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 and not any(s in proc.stderr for s in ("already exist", "ALREADY_EXISTS")):
        raise RuntimeError(f"samba-tool dns {' '.join(args)} failed: {proc.stderr.strip()}")


def add_dns_record(name: str, ip: str) -> None:
    samba_tool_dns("add", C.FORESTS["lab"]["dns"], name, "A", ip)


def seed_reverse_zone() -> None:
    """The server subnet's reverse zone on the lab DC, if it is missing, and PTRs for the service point and console."""
    samba_tool_dns("zonecreate", C.REVERSE_ZONE)  # WERR_DNS_ERROR_ZONE_ALREADY_EXISTS when provisioning made it
    with ThreadPoolExecutor(max_workers=len(C.PTR_RECORDS)) as pool:
        for job in [
            pool.submit(samba_tool_dns, "add", C.REVERSE_ZONE, ip.rsplit(".", 1)[1], "PTR", fqdn + ".")
            for ip, fqdn in C.PTR_RECORDS.items()
        ]:
            job.result()


def seed_lab(options: dict) -> None:
    f = C.FORESTS["lab"]
    base = f["base_dn"]
    pks = PKS.format(base=base)
    conn = connect("lab")
    try:
        conn.modify(f"CN=OID,{pks}", {"msPKI-Cert-Template-OID": [(MODIFY_REPLACE, [C.FOREST_OID])]})
        conn.add(f"CN=WebServer,CN=Certificate Templates,{pks}", attributes=WEB_SERVER_TEMPLATE)
        conn.add(
            f"CN={C.CA_NAME},CN=Enrollment Services,{pks}",
            attributes={
                "objectClass": ["top", "pKIEnrollmentService"],
                "displayName": C.CA_NAME,
                "dNSHostName": C.CA_HOST,
                "flags": 10,
                "cACertificate": make_ca_certificate(options["ca_key_size"]),
                "cACertificateDN": f"CN={C.CA_NAME}, DC=lab, DC=example",
                "certificateTemplates": ["WebServer"],
            },
        )
        for computer in (C.SITE_SERVER, C.SERVICE_POINT):
            conn.add(
                f"CN={computer['sam'].rstrip('$')},CN=Computers,{base}",
                attributes={
                    "objectClass": ["top", "person", "organizationalPerson", "user", "computer"],
                    "sAMAccountName": computer["sam"],
                    "userAccountControl": 4096,  # WORKSTATION_TRUST_ACCOUNT
                    "dNSHostName": computer["fqdn"],
                    "unicodePwd": f'"{C.SITE_SERVER_PASSWORD}"'.encode("utf-16-le"),
                },
            )
        # The simulated AMT computers are domain members (their operating system's computer account), as the seed
        # requires: "Workgroup computers" cannot be provisioned.
        for host in C.AMT_HOSTS:
            conn.add(
                f"CN={host.upper()},CN=Computers,{base}",
                attributes={
                    "objectClass": ["top", "person", "organizationalPerson", "user", "computer"],
                    "sAMAccountName": f"{host.upper()}$",
                    "userAccountControl": 4096,
                    "dNSHostName": f"{host}.{C.FORESTS['lab']['dns']}",
                },
            )
    finally:
        conn.unbind()


def seed_all(options: dict) -> None:
    records = {
        C.SERVICE_POINT["fqdn"]: C.SERVICE_POINT["ip"],
        C.SITE_SERVER["fqdn"]: C.SITE_SERVER["ip"],
        C.CONSOLE["fqdn"]: C.CONSOLE["ip"],
        **{f"{host}.{C.FORESTS['lab']['dns']}": ip for host, ip in C.AMT_HOSTS.items()},
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit(add_dns_record, fqdn.split(".")[0], ip) for fqdn, ip in records.items()]
        jobs.append(pool.submit(seed_lab, options))
        jobs.append(pool.submit(seed_reverse_zone))
        for job in jobs:
            job.result()
