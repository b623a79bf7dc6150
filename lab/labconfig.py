"""The lab's fixed facts: names, addresses, lab-only secrets.

Everything the lab builds, the integration tests and ``inventories/lab`` agree on these values.
Addresses come from the documentation ranges only (RFC 5737): 198.51.100.0/24 is the server subnet,
203.0.113.0/24 the AMT subnet. The passwords are for this throw-away lab only: they are public.
"""

from __future__ import annotations

import os
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent
STATE_DIR = Path(os.environ.get("OOB_LAB_STATE", LAB_DIR / ".state"))
RUN_DIR = STATE_DIR / "run"
LOG_DIR = STATE_DIR / "logs"
STATE_FILE = STATE_DIR / "lab.json"

PREFIX = "oobp"  # every namespace and root-namespace link the lab makes starts with this

SERVER_NET = "198.51.100.0/24"
AMT_NET = "203.0.113.0/24"
ROUTER_SERVER_IP = "198.51.100.254"
ROUTER_AMT_IP = "203.0.113.1"
CONTROLLER_IP = "198.51.100.2"
CONTROLLER_LINK = f"{PREFIX}-ctl"

# Lab-only secrets (public on purpose; the lab vault file holds the same values).
ADMIN_PASSWORD = "Lab-Only-Adm1n-Pw"
SITE_SERVER_PASSWORD = "Lab-Only-Sccm01-Pw"

FORESTS = {
    "lab": {
        "realm": "LAB.EXAMPLE",
        "domain": "LAB",
        "dns": "lab.example",
        "base_dn": "DC=lab,DC=example",
        "dc_host": "dc1",
        "dc_ip": "198.51.100.10",
        "ns": f"{PREFIX}-dc1",
        "dns_updates": None,  # None: the `lab.py up --dns-updates` option (default "secure only", AD's default)
    },
    "other": {
        "realm": "OTHER.EXAMPLE",
        "domain": "OTHER",
        "dns": "other.example",
        "base_dn": "DC=other,DC=example",
        "dc_host": "dc1",
        "dc_ip": "198.51.100.30",
        "ns": f"{PREFIX}-dc2",
        # fixed: an unauthenticated RFC 2136 update converges here, while lab.example stays "secure only"
        "dns_updates": "nonsecure",
    },
}

DHCP_IP = "198.51.100.11"

# A BIND 9 server, authoritative for a zone that takes RFC 2136 updates signed with a TSIG key (a non-AD DNS, as
# sites whose DNS is not Windows have). The key is a lab-only secret: public on purpose.
BIND = {
    "ns": f"{PREFIX}-bind",
    "ip": "198.51.100.12",
    "fqdn": "ns1.bind.example",
    "zone": "bind.example",
    "tsig": {
        "name": "oob-prep-lab-key.",
        "algorithm": "hmac-sha256",
        "secret": "vFMxHn08Wdnjfnrxkh1wRlqyu71sINIWUPwEb8LU9Hs=",
    },
    # records the zone holds from the start (relative name -> IPv4), e.g. a target for CNAMEs
    "records": {"oobsp": "198.51.100.20"},
    # The AMT subnet's reverse zone: kea-dhcp-ddns registers the DHCP clients' PTR records here (and their A records
    # in `zone`), signed with the same key. Samba's DNS cannot take TSIG-signed updates and Kea's GSS-TSIG hook is not
    # free software, so the lab's AD zones cannot take them from Kea (inventories/lab/group_vars/all/estate.yml).
    "reverse_zone": "113.0.203.in-addr.arpa",
}
BIND_DIR = STATE_DIR / "bind"
# The out of band service point's own computer account: it enrolls for the AMT provisioning certificate. A site system
# separate from the primary site server (SCCM01$), as in sites where the role is not on the site server.
SERVICE_POINT = {"fqdn": "oobsp.lab.example", "ip": "198.51.100.20", "port": 9971, "sam": "OOBSP$"}
CONSOLE = {"fqdn": "console1.lab.example", "ip": "198.51.100.21"}
SITE_SERVER = {"sam": "SCCM01$", "fqdn": "sccm01.lab.example", "ip": "198.51.100.20"}
# The lab DC's reverse zone for the server subnet, with PTR records for the service point and the console (the site
# server shares the service point's address and has no PTR of its own).
REVERSE_ZONE = "100.51.198.in-addr.arpa"
PTR_RECORDS = {SERVICE_POINT["ip"]: SERVICE_POINT["fqdn"], CONSOLE["ip"]: CONSOLE["fqdn"]}
AMT_HOSTS = {
    "amt1": "203.0.113.11",
    "amt2": "203.0.113.12",
    "amt3": "203.0.113.13",
}
AMT_PORTS = (16992, 16993)  # WS-MAN over HTTP and TLS: lab/standins/amt_sim.py, a simulated AMT device per host
AMT_REDIRECTION_PORTS = (16994, 16995)  # serial over LAN / IDE redirection: plain TCP listeners (amt_placeholder.py)
# The simulated AMT computers (lab/standins/amt_sim.py; the lab's CA signs their 16993 certificates). Three kinds of
# firmware: a version ConfigMgr 2007 SP1 supports natively, an older one (Intel's translator), and an ME 11+ device
# whose Server header says only "AMT" (its version comes from WS-MAN, with the password).
# The forms real firmware answers with (lab/standins/amt_sim.py, docs/adr/0008): amt1's nonces expire after three
# authenticated requests (a 401 with a new nonce, retried once); amt3 says only "AMT" on GET /, its four-part version
# in the Server header of /wsman answers, Connection: close on each 401, and chunked 200s (as Open AMT's recordings).
AMT_DEVICES = {
    "amt1": {"version": "6.2.10", "header_variant": "full", "provisioning_state": "post", "power_state": 2,
             "nonce_max_uses": 3},
    "amt2": {"version": "2.6.0", "header_variant": "full", "provisioning_state": "pre", "power_state": 8},
    "amt3": {"version": "11.8.50.3425", "header_variant": "amt", "wsman_header_variant": "full",
             "provisioning_state": "post", "power_state": 2, "close_on_401": True, "chunked": True},
}  # fmt: skip
AMT_USER, AMT_PASSWORD = "admin", "Lab-Only-Amt-Pw1!"  # the simulated devices' digest credentials (public)
AMT_CA = STATE_DIR / "amt-ca.pem"
# An unprovisioned AMT computer in setup mode, in its own namespace of the AMT subnet without an address: it takes a
# lease, resolves ProvisionServer.<option 15> and sends its hello to 9971, on the documented retry schedule scaled down.
AMT_SETUP = {
    "ns": f"{PREFIX}-amts",
    "uuid": "8c4d5e6f-0a1b-4c2d-9e3f-405162738495",
    "trusts_lab_root": True,
    "retry_scale": 0.01,  # 1 minute -> 0.6 s between hellos while the path is broken
}
AMT_EVENTS = LOG_DIR / "amt-setup-events.jsonl"
# Real firmware trusts the SHA-256 hashes of public roots out of the box (Intel's default hash lists name these CAs:
# Go Daddy, Starfield, Entrust, DigiCert, Comodo/USERTrust, GlobalSign, Baltimore): the setup-mode devices' hellos
# carry the hashes of these roots, computed at `lab up` from the machine's CA bundle (a root missing there is left out).
FIRMWARE_ROOTS = ("Go_Daddy_Class_2_CA", "Starfield_Class_2_CA", "Entrust_Root_Certification_Authority",
                  "Entrust_Root_Certification_Authority_-_G2", "DigiCert_Global_Root_CA",
                  "DigiCert_High_Assurance_EV_Root_CA", "Comodo_AAA_Services_root", "GlobalSign_Root_CA",
                  "Baltimore_CyberTrust_Root")  # fmt: skip
CA_BUNDLE_DIR = Path("/etc/ssl/certs")
# The out of band service point's AMT provisioning certificate (the stand-in holds it; the estate names the file):
# oobsp.lab.example, Server Authentication + the Intel AMT provisioning OID, issued by a lab root that no firmware
# trusts by default. The first setup-mode device trusts it (its hash added in MEBx, as an admin does: the last hash of
# its hello); the second does not (only the firmware's defaults): the service point does not answer it.
PROVISIONING_ROOT = STATE_DIR / "provisioning-ca.pem"
PROVISIONING_CERT = STATE_DIR / "oobsp-provisioning.pem"  # the certificate, its root, and its private key (PEM)
# AMT computers whose trusted root hashes an admin wrote down (MEBx: Manage Certificate Hashes) because the device
# cannot tell them over the network: amt2's AMT 2.6 predates AMT_ProvisioningCertificateHash (AMT 3.0). Its list holds
# the lab root's SHA-1 (firmware before AMT 11 keeps SHA-1 hashes): the estate names this file (hashes_file).
AMT_HASHES_FILE = STATE_DIR / "amt-device-hashes.yml"
AMT_HASHES_BY_HAND = ("amt2",)
AMT_SETUP_UNTRUSTED = {
    "ns": f"{PREFIX}-amtu",
    "uuid": "3f2a1b0c-5d6e-4f70-8a9b-c0d1e2f30415",
    "trusts_lab_root": False,
    "retry_scale": 0.01,
}
AMT_EVENTS_UNTRUSTED = LOG_DIR / "amt-setup-untrusted-events.jsonl"
DHCP_POOL = "203.0.113.100 - 203.0.113.199"

# What an enterprise CA and a ConfigMgr site would have put in AD.
CA_NAME = "LAB-CA"
CA_HOST = "dc1.lab.example"
FOREST_OID = "1.3.6.1.4.1.311.21.8.4185361.9482105.6392274.1508426.2748305.12"

# Options `lab up` accepts, with their defaults (AD's own defaults where AD has one).
DEFAULT_OPTIONS = {
    "ca_key_size": 2048,  # 4096 seeds a CA certificate AMT cannot use (negative check)
    # Samba: ldap server require strong auth. "allow_sasl_over_tls" is what Windows AD does when LDAP signing is
    # required (TLS satisfies it); "yes" also demands GSSAPI sign/seal, which ldap3 cannot negotiate; "no" lets
    # simple binds through on plain 389.
    "strong_auth": "allow_sasl_over_tls",
    "dns_updates": "secure only",  # Samba: allow dns updates (secure only | nonsecure), for the lab forest
}


def dns_updates(forest: str, options: dict) -> str:
    """The forest DC's `allow dns updates`: fixed in FORESTS, or else the `lab up` option."""
    return FORESTS[forest]["dns_updates"] or options["dns_updates"]


def dc_fqdn(forest: str) -> str:
    f = FORESTS[forest]
    return f"{f['dc_host']}.{f['dns']}"


def dc_dir(forest: str) -> Path:
    return RUN_DIR / f"samba-{forest}"


def dc_ca_file(forest: str) -> Path:
    """The DC's TLS CA certificate, exported for validation by LDAPS clients."""
    return STATE_DIR / f"{forest}-dc-ca.pem"


KRB5_CONFIG = STATE_DIR / "krb5.conf"
SP_RECORD = STATE_DIR / "service-point-connections.jsonl"
KEA_SOCKET = RUN_DIR / "kea4.sock"
KEA_CONFIG = RUN_DIR / "kea-dhcp4.json"  # the file Kea started from; `config-write` saves there
D2_SOCKET = RUN_DIR / "kea-d2.sock"
D2_CONFIG = RUN_DIR / "kea-dhcp-ddns.json"
D2_PORT = 53001  # kea-dhcp-ddns listens on the DHCP server's loopback for name change requests
# kea-ctrl-agent: Kea's HTTPS API for both daemons, with a certificate from a lab-only CA and basic authentication
KEA_AGENT = {"url": f"https://{DHCP_IP}:8000/", "fqdn": "kea.lab.example", "user": "oob-prep",
             "password": "Lab-Only-Kea-Pw"}  # fmt: skip
KEA_AGENT_CA = STATE_DIR / "kea-ca.pem"  # validates the agent's certificate
KEA_AGENT_CONFIG = RUN_DIR / "kea-ctrl-agent.json"
