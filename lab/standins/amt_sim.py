"""Test double for Intel AMT firmware: many simulated AMT devices (HTTP/WS-MAN with digest auth, TLS, setup mode).

What it stands in for: the management engine firmware of Intel AMT (vPro) computers, which serves 16992 (HTTP: web
UI and WS-MAN SOAP at /wsman, HTTP digest authentication) and 16993 (the same over TLS) below the host OS, and which,
unprovisioned and in setup mode, takes a DHCP lease and sends the provisioning "hello" to ProvisionServer:9971. It
follows the published protocol, as recorded in docs/notes ("Intel AMT on the wire") and by public sources:

- ``Server:`` header ``Intel(R) Active Management Technology X.Y.Z`` or ``X.Y.Z.W`` (header_variant ``full``;
  four parts as in the 401 and 200 answers recorded in Open AMT's RPS and MPS tests, such as ``11.8.50.3425``),
  ``Intel(R) Active Management Technology`` with no version (``unversioned``; Greenbone's AMT detection reports such
  a device's version as unknown), ``AMT`` (ME 11+, ``amt``), ``Intel(R) Con. Management Engine 5.0.1`` (some ME 5.0.x,
  ``me5``), ``Intel(R) Standard Manageability X.Y.Z`` (``ism``: the non-vPro sibling of AMT; nmap's service probes,
  Greenbone's ISM detection); ``GET /`` answers ``303 See Other`` to ``/logon.htm`` (nmap's service probes). The
  answers of ``/wsman`` may carry another form (``wsman_header_variant``): ME 11 firmware says ``AMT`` on ``GET /``
  and its full product and version in the 401 of ``POST /wsman`` (RPS's recorded 401, with ``Connection: close``:
  ``close_on_401``).
- ``POST /wsman`` without credentials: 401 with
  ``WWW-Authenticate: Digest realm="Digest:<32 hex>", nonce="...",stale="false",qop="auth"`` (that punctuation);
  with an RFC 2617 digest (MD5, qop=auth, a nonce this device issued) the WS-MAN (DSP0226) SOAP 1.2 answers are
  shaped after the AMT responses recorded in Intel's go-wsman-messages (``pkg/wsman/wsmantesting/responses``):
  Get/Enumerate/Pull of AMT_GeneralSettings, AMT_SetupAndConfigurationService, CIM_SoftwareIdentity (InstanceID
  ``AMT`` carries the version's first three parts, ``Build Number`` the fourth) and
  CIM_AssociatedPowerManagementService (PowerState; also under CIM_ServiceAvailableToElement, as AMT lists it),
  and Enumerate/Pull of AMT_ProvisioningCertificateHash, the trusted root certificate hashes (``certificate_hashes``
  below). No recording of that class was found (not in go-wsman-messages' test data), so its answer has the shape of
  the recorded Pull answers of the other AMT classes (``h:`` the class's namespace, properties in alphabetical order,
  ``g:Items`` then ``g:EndOfSequence``) and the values Intel documents: ElementName the CA's name, Enabled and
  IsDefault ``true``/``false``, HashData the hash in base64, HashType 1 SHA-1, 2 SHA-256, 3 SHA-384 (intel/lms
  AMT_ProvisioningCertificateHash.mof and PTHI_Commands; see wire.HASH_TYPES), InstanceID ``Certificate Hash <n>``
  (as Intel's LMS names them). The SDK lists the class from AMT 3.0: a device below 3.0 answers it with the fault of
  an unknown class. Anything else gets a WS-Addressing fault. With ``chunked`` the 200 answers use
  ``Transfer-Encoding: chunked``, as the MPS recordings of real firmware do.
- Nonces that expire: with ``nonce_max_age`` (seconds) or ``nonce_max_uses`` (authenticated requests), a right
  digest with a nonce past either limit gets a 401 with a new nonce, ``stale="true"`` only with ``nonce_stale``
  (firmware often leaves it ``false``, so a client has to retry on a new nonce whatever stale says).
- Old TLS (``"tls": {..., "legacy": true}``): 16993 speaks TLS 1.0 only, as AMT firmware of the 3.x-6.x era does,
  with a 1024-bit RSA key in a SHA-1-signed certificate (``--make-cert ... --legacy``; ``cryptography`` refuses to
  sign certificates with SHA-1, so the to-be-signed part is made with it, its signature algorithm set to
  sha1WithRSAEncryption and signed with SHA-1 by the CA's key through ``cryptography``). The server context sets
  ``@SECLEVEL=0``: Debian's OpenSSL 3 refuses TLS 1.0 and such keys at its default level on the server side too.
  Tried on this project's machine (Python 3.11, OpenSSL 3.0, Debian): TLS 1.0 is served and read at SECLEVEL=0 on
  both sides. A client at the default level sees TLSV1_ALERT_PROTOCOL_VERSION from a blocking ssl server; this
  simulator's asyncio server drops the handshake without sending the alert, so the client sees a reset.
- Setup mode: DHCPDISCOVER/DHCPREQUEST on the interface, the leased address and default route configured with
  ``ip``, ``ProvisionServer.<option 15>`` resolved with the option-6 server, then the hello v3 (``oob_amt_hello``)
  to TCP 9971 in one write, and retries on ConfigMgr 2007 SP1's documented schedule (every minute for 5 minutes,
  every 5 minutes to the hour, hourly for 23 hours; scaled by ``retry_scale``), the retry count field incremented.

It is not AMT: no redirection (16994/16995), no provisioning over TLS (the service point's answer to a hello), no
RMCP, no state changes; the answers are fixed by the configuration.

One asyncio process serves every device of the configuration; each device's address is bound on its own (never the
wildcard address), so an address without a device refuses connections. Run::

    python lab/standins/amt_sim.py --config devices.json [--events events.jsonl]
    python lab/standins/amt_sim.py --make-cert DIR --name amt1 --address 203.0.113.11 [--dns amt1.lab.example]
    python lab/standins/amt_sim.py --make-cert DIR --name old1 --address 203.0.113.14 --legacy  # 1024-bit, SHA-1

Configuration (JSON)::

    {"ports": {"http": 16992, "https": 16993},           # optional, these are the defaults
     "defaults": {...any device key...},                 # optional, merged under each device
     "devices": [{
        "address": "127.0.1.1",                          # required unless "setup" is given
        "version": "6.0.3",                              # X.Y.Z or X.Y.Z.W (default 6.0.3)
        "header_variant": "full",                        # full | unversioned | amt | me5 | ism (default: amt
                                                         # from 11.0, else full)
        "wsman_header_variant": "full",                  # the Server header of /wsman answers (default: as above)
        "chunked": false, "close_on_401": false,         # chunked 200 answers; Connection: close on a 401
        "nonce_max_age": null, "nonce_max_uses": null,   # a nonce past either gets a 401 with a new nonce,
        "nonce_stale": false,                            # stale="true" only with this
        "uuid": "...", "realm": "Digest:<32 hex>",        # default uuid5 of the address; realm from the uuid
        "username": "admin", "password": "...",          # default admin / DEFAULT_PASSWORD
        "provisioning_state": "post",                    # pre | in | post (0/1/2)
        "provisioning_mode": 1,                          # 1 admin/enterprise, 2 small business, 4 client
        "power_state": 2,                                # 2 on, 8 off (CIM PowerState)
        "hostname": "amt1", "domain": "lab.example",
        "certificate_hashes": [{"name": "DigiCert Global Root CA", "type": "sha256", "hex": "4348...",
                                "default": true, "enabled": true}],   # AMT_ProvisioningCertificateHash; type
                                                 # sha1 | sha256 | sha384; default: DEFAULT_CERTIFICATE_HASHES
        "tls": {"cert": "amt1.pem", "key": "amt1.key"},  # serve 16993 with this certificate (paths relative
                                                         # to the configuration file); "legacy": true serves
                                                         # TLS 1.0 only (see --make-cert --legacy)
        "stall": false,                                  # accept connections, never answer (timeout tests)
        "setup": {"interface": "eth0", "retry_scale": 0.001, "hashes": [{"type": "sha256", "hex": "..."}],
                  "admin_credentials_set": false, "resend": false, "serve": true}
     }]}

Events (JSON lines on stdout, and appended to ``--events`` when given): ``ready`` (devices, listeners, seconds),
and for setup-mode devices ``dhcp_offer``, ``dhcp_ack``, ``address``, ``dns``, ``hello_sent``, ``hello_failed``,
``setup_failed``, ``gave_up``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import resource
import secrets
import ssl
import subprocess
import sys
import time
import uuid as uuidlib
import warnings
from collections import OrderedDict
from pathlib import Path
from xml.etree import ElementTree as ET

ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = ROOT / "lab"
DEFAULT_PASSWORD = "Lab-Only-Amt-Pw1!"  # lab-only (public on purpose); AMT demands upper, lower, digit, symbol
DEFAULT_PORTS = {"http": 16992, "https": 16993}
SERVER_HEADERS = {
    "full": "Intel(R) Active Management Technology {version}",
    "amt": "AMT",
    "me5": "Intel(R) Con. Management Engine 5.0.1",
    "unversioned": "Intel(R) Active Management Technology",
    "ism": "Intel(R) Standard Manageability {version}",
}
PROVISIONING_STATES = {"pre": 0, "in": 1, "post": 2}
PROVISIONING_MODES = {"admin": 1, "acm": 1, "enterprise": 1, "small_business": 2, "smb": 2, "client": 4, "ccm": 4}
# The trusted root hashes a device has when its spec names none: SHA-256 and SHA-1 of the DER of three CA certificates
# that AMT firmware ships hashes of, computed from Debian's ca-certificates with
#   openssl x509 -in /etc/ssl/certs/<file>.pem -outform DER | openssl dgst -sha256   (-sha1 for the last one)
# (DigiCert_Global_Root_CA.pem, Go_Daddy_Root_Certificate_Authority_-_G2.pem, Go_Daddy_Class_2_CA.pem).
DEFAULT_CERTIFICATE_HASHES = [
    {"name": "DigiCert Global Root CA", "type": "sha256", "default": True, "enabled": True,
     "hex": "4348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161"},
    {"name": "Go Daddy Root Certificate Authority - G2", "type": "sha256", "default": True, "enabled": True,
     "hex": "45140b3247eb9cc8c5b4f0d7b53091f73292089e6e5a63e2749dd3aca9198eda"},
    {"name": "Go Daddy Class 2 Certification Authority", "type": "sha1", "default": True, "enabled": False,
     "hex": "2796bae63f1801e277261ba0d77770028f20eee4"},
]  # fmt: skip
HASH_TYPES = {"sha1": (1, 20), "sha256": (2, 32), "sha384": (3, 48)}  # HashType and size (see the docstring)
IDLE_TIMEOUT = 30.0  # seconds a kept-alive connection may idle
MAX_BODY = 256 * 1024
MAX_NONCES = 64  # per device

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsen": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "wxf": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
}
AMT_SCHEMA = "http://intel.com/wbem/wscim/1/amt-schema/1/"
CIM_SCHEMA = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
ACTION_GET = NS["wxf"] + "/Get"
ACTION_ENUMERATE = NS["wsen"] + "/Enumerate"
ACTION_PULL = NS["wsen"] + "/Pull"
ACTION_RELEASE = NS["wsen"] + "/Release"


def emit(event: str, events: Path | None = None, **fields) -> None:
    line = json.dumps({"event": event, "time": round(time.time(), 3), **fields})
    print(line, flush=True)
    if events is not None:
        with events.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


# --- devices ------------------------------------------------------------------------------------------------------
class Device:
    """One simulated AMT device: its identity and what its WS-MAN classes answer."""

    def __init__(self, spec: dict, base: Path):
        self.spec = spec
        self.address = spec.get("address")
        self.version = str(spec.get("version", "6.0.3"))
        if not re.fullmatch(r"\d+\.\d+\.\d+(?:\.\d+)?", self.version):
            raise ValueError(f"device {self.address}: version must be X.Y.Z or X.Y.Z.W, not {self.version!r}")
        major = int(self.version.split(".")[0])
        variant = spec.get("header_variant") or ("amt" if major >= 11 else "full")
        wsman_variant = spec.get("wsman_header_variant") or variant
        for v in (variant, wsman_variant):
            if v not in SERVER_HEADERS:
                raise ValueError(f"device {self.address}: header variants must be among {', '.join(SERVER_HEADERS)}")
        self.server_header = SERVER_HEADERS[variant].format(version=self.version)
        self.wsman_header = SERVER_HEADERS[wsman_variant].format(version=self.version)
        self.chunked = bool(spec.get("chunked", False))
        self.close_on_401 = bool(spec.get("close_on_401", False))
        self.nonce_max_age = float(spec["nonce_max_age"]) if spec.get("nonce_max_age") is not None else None
        self.nonce_max_uses = int(spec["nonce_max_uses"]) if spec.get("nonce_max_uses") is not None else None
        self.nonce_stale = bool(spec.get("nonce_stale", False))
        self.stale = False  # the next challenge answers an expired nonce
        seed = self.address or spec.get("setup", {}).get("interface", "amt")
        self.uuid = str(uuidlib.UUID(str(spec["uuid"]))) if spec.get("uuid") else str(
            uuidlib.uuid5(uuidlib.NAMESPACE_DNS, f"{seed}.amt-sim.invalid"))  # fmt: skip
        self.realm = spec.get("realm") or "Digest:" + hashlib.md5(self.uuid.encode()).hexdigest().upper()  # noqa: S324
        if not re.fullmatch(r"Digest:[0-9A-Fa-f]{32}", self.realm):
            raise ValueError(f"device {self.address}: realm must be Digest:<32 hex>, not {self.realm!r}")
        self.username = spec.get("username", "admin")
        self.password = spec.get("password", DEFAULT_PASSWORD)
        state = spec.get("provisioning_state", "post")
        self.provisioning_state = PROVISIONING_STATES.get(state, state)
        if self.provisioning_state not in (0, 1, 2):
            raise ValueError(f"device {self.address}: provisioning_state must be pre, in or post, not {state!r}")
        mode = spec.get("provisioning_mode", 1)
        self.provisioning_mode = int(PROVISIONING_MODES.get(str(mode).lower(), mode))
        self.power_state = int(spec.get("power_state", 2))
        self.certificate_hashes = check_hashes(self.address, spec.get("certificate_hashes",
                                                                      DEFAULT_CERTIFICATE_HASHES))  # fmt: skip
        self.hostname = spec.get("hostname", "")
        self.domain = spec.get("domain", "")
        self.stall = bool(spec.get("stall", False))
        tls = spec.get("tls")
        self.tls = {k: str((base / tls[k]).resolve()) for k in ("cert", "key")} if tls else None
        if self.tls:
            self.tls["legacy"] = bool(tls.get("legacy", False))
        self.nonces: OrderedDict[str, list] = OrderedDict()  # nonce -> [issued (monotonic), authenticated uses]
        self.counter = 0
        self.contexts: dict[str, str] = {}

    # digest -------------------------------------------------------------------------------------------------------
    def new_nonce(self) -> str:
        nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        self.nonces[nonce] = [time.monotonic(), 0]
        while len(self.nonces) > MAX_NONCES:
            self.nonces.popitem(last=False)
        return nonce

    def challenge(self) -> str:
        stale = "true" if self.stale and self.nonce_stale else "false"
        self.stale = False
        return f'Digest realm="{self.realm}", nonce="{self.new_nonce()}",stale="{stale}",qop="auth"'

    def check_digest(self, method: str, target: str, header: str | None) -> bool:
        """RFC 2617 digest, MD5, qop=auth, a nonce this device issued, for this user and URI."""
        if not header or not header[:7].lower() == "digest ":
            return False
        params = {k.lower(): v1 if v1 else v2 for k, v1, v2 in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]*))',
                                                                          header[7:])}  # fmt: skip
        need = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if any(k not in params for k in need) or params["qop"] != "auth":
            return False
        if params.get("algorithm", "MD5").upper() != "MD5":
            return False
        if params["username"] != self.username or params["realm"] != self.realm or params["uri"] != target:
            return False
        if params["nonce"] not in self.nonces:
            return False
        ha1 = hashlib.md5(f"{self.username}:{self.realm}:{self.password}".encode()).hexdigest()  # noqa: S324
        ha2 = hashlib.md5(f"{method}:{params['uri']}".encode()).hexdigest()  # noqa: S324
        expected = hashlib.md5(  # noqa: S324
            f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}".encode()
        ).hexdigest()
        return secrets.compare_digest(expected, params["response"].lower()) and not self.expired(params["nonce"])

    def expired(self, nonce: str) -> bool:
        """Count one authenticated use of ``nonce``; past ``nonce_max_age`` or ``nonce_max_uses`` it is dropped (a
        right digest, a nonce no longer taken) and the next challenge may say stale."""
        issued, uses = self.nonces[nonce]
        self.nonces[nonce][1] = uses + 1
        too_old = self.nonce_max_age is not None and time.monotonic() - issued > self.nonce_max_age
        if too_old or (self.nonce_max_uses is not None and uses >= self.nonce_max_uses):
            self.nonces.pop(nonce, None)
            self.stale = True
            return True
        return False

    # WS-MAN instances ---------------------------------------------------------------------------------------------
    def instances(self, resource: str) -> tuple[str, list[list[tuple[str, object]]]] | None:
        """(class name, [instance as [(property, value)]]) for a resource URI, or None if unknown."""
        name = resource.rstrip("/").rsplit("/", 1)[-1]
        if resource == AMT_SCHEMA + "AMT_GeneralSettings":
            fqdn = f"{self.hostname}.{self.domain}" if self.hostname and self.domain else self.hostname
            return name, [[
                ("AMTNetworkEnabled", 1), ("DDNSPeriodicUpdateInterval", 1440), ("DDNSTTL", 900),
                ("DDNSUpdateByDHCPServerEnabled", "true"), ("DDNSUpdateEnabled", "false"),
                ("DHCPv6ConfigurationTimeout", 0), ("DigestRealm", self.realm), ("DomainName", self.domain),
                ("ElementName", "Intel(r) AMT: General Settings"), ("HostName", self.hostname),
                ("HostOSFQDN", fqdn), ("IdleWakeTimeout", 65535), ("InstanceID", "Intel(r) AMT: General Settings"),
                ("NetworkInterfaceEnabled", "true"), ("PingResponseEnabled", "true"), ("PowerSource", 0),
                ("PreferredAddressFamily", 0), ("PresenceNotificationInterval", 0), ("PrivacyLevel", 0),
                ("RmcpPingResponseEnabled", "true"), ("SharedFQDN", "true"), ("WsmanOnlyMode", "false"),
            ]]  # fmt: skip
        if resource == AMT_SCHEMA + "AMT_SetupAndConfigurationService":
            return name, [[
                ("CreationClassName", "AMT_SetupAndConfigurationService"),
                ("ElementName", "Intel(r) AMT Setup and Configuration Service"), ("EnabledState", 5),
                ("Name", "Intel(r) AMT Setup and Configuration Service"), ("PasswordModel", 1),
                ("ProvisioningMode", self.provisioning_mode), ("ProvisioningState", self.provisioning_state),
                ("RequestedState", 12), ("SystemCreationClassName", "CIM_ComputerSystem"),
                ("SystemName", "Intel(r) AMT"), ("ZeroTouchConfigurationEnabled", "true"),
            ]]  # fmt: skip
        if resource == CIM_SCHEMA + "CIM_SoftwareIdentity":
            parts = self.version.split(".")
            three = ".".join(parts[:3])
            build = parts[3] if len(parts) > 3 else str(1000 + sum(int(p) for p in parts))
            # SKU 16400 is Intel Standard Manageability, 16392 AMT (Open AMT's sample web UI, skuLookup)
            sku = "16400" if self.server_header.startswith("Intel(R) Standard Manageability") else "16392"
            rows = [("Flash", three), ("Netstack", three), ("AMTApps", three),
                    ("AMT", three), ("Sku", sku), ("VendorID", "8086"), ("Build Number", build),
                    ("Recovery Version", three), ("Recovery Build Num", build), ("Legacy Mode", "False"),
                    ("AMT FW Core Version", three)]  # fmt: skip
            return name, [[("InstanceID", i), ("IsEntity", "true"), ("VersionString", v)] for i, v in rows]
        if resource == AMT_SCHEMA + "AMT_ProvisioningCertificateHash" and int(self.version.split(".")[0]) >= 3:
            return name, [[
                ("ElementName", h["name"]), ("Enabled", str(h["enabled"]).lower()),
                ("HashData", base64.b64encode(bytes.fromhex(h["hex"])).decode()), ("HashType", h["code"]),
                ("InstanceID", f"Certificate Hash {n}"), ("IsDefault", str(h["default"]).lower()),
            ] for n, h in enumerate(self.certificate_hashes, start=1)]  # fmt: skip
        if resource in (CIM_SCHEMA + "CIM_AssociatedPowerManagementService",
                        CIM_SCHEMA + "CIM_ServiceAvailableToElement"):  # fmt: skip
            states = [("AvailableRequestedPowerStates", s) for s in (2, 8, 5, 4, 7, 10, 12, 14)]
            return "CIM_AssociatedPowerManagementService", [[
                *states, ("PowerState", self.power_state),
                ("ServiceProvided", _epr("CIM_PowerManagementService", [
                    ("CreationClassName", "CIM_PowerManagementService"),
                    ("Name", "Intel(r) AMT Power Management Service"),
                    ("SystemCreationClassName", "CIM_ComputerSystem"), ("SystemName", "Intel(r) AMT")])),
                ("UserOfService", _epr("CIM_ComputerSystem", [
                    ("CreationClassName", "CIM_ComputerSystem"), ("Name", "ManagedSystem")])),
            ]]  # fmt: skip
        return None

    def message_id(self) -> str:
        self.counter += 1
        return f"uuid:00000000-8086-8086-8086-{self.counter:012X}"


def check_hashes(address, hashes) -> list[dict]:
    """The ``certificate_hashes`` of a device spec, checked, each with its HashType ``code``."""
    if not isinstance(hashes, list):
        raise ValueError(f"device {address}: certificate_hashes must be a list")
    out = []
    for i, h in enumerate(hashes):
        kind = str(h.get("type", "")).lower() if isinstance(h, dict) else ""
        if kind not in HASH_TYPES:
            raise ValueError(f"device {address}: certificate_hashes[{i}].type must be one of {', '.join(HASH_TYPES)}")
        code, size = HASH_TYPES[kind]
        text = str(h.get("hex", "")).lower()
        if not re.fullmatch(r"[0-9a-f]*", text) or len(text) != 2 * size:
            raise ValueError(f"device {address}: certificate_hashes[{i}].hex must be {size} bytes of hex for {kind}")
        out.append({"name": str(h.get("name") or f"Hash {i + 1}"), "type": kind, "code": code, "hex": text,
                    "default": bool(h.get("default", False)), "enabled": bool(h.get("enabled", True))})  # fmt: skip
    return out


class _Raw(str):
    """XML already escaped (an endpoint reference)."""


def _esc(value) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _epr(cls: str, selectors: list[tuple[str, str]]) -> _Raw:
    sel = "".join(f'<c:Selector Name="{k}">{_esc(v)}</c:Selector>' for k, v in selectors)
    return _Raw(f"<b:Address>{ANONYMOUS}</b:Address><b:ReferenceParameters><c:ResourceURI>{CIM_SCHEMA}{cls}"
                f"</c:ResourceURI><c:SelectorSet>{sel}</c:SelectorSet></b:ReferenceParameters>")  # fmt: skip


def _instance_xml(cls: str, props: list[tuple[str, object]]) -> str:
    return (f"<h:{cls}>"
            + "".join(f"<h:{k}>{v if isinstance(v, _Raw) else _esc(v)}</h:{k}>" for k, v in props)
            + f"</h:{cls}>")  # fmt: skip


def envelope(device: Device, action: str, resource: str, relates_to: str, body: str, cls_ns: str = "") -> str:  # noqa: PLR0917
    ns_h = f' xmlns:h="{cls_ns}"' if cls_ns else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<a:Envelope xmlns:a="{NS["s"]}" xmlns:b="{NS["wsa"]}" xmlns:c="{NS["wsman"]}" xmlns:g="{NS["wsen"]}"'
        f'{ns_h} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<a:Header><b:To>{ANONYMOUS}</b:To><b:RelatesTo>{_esc(relates_to)}</b:RelatesTo>"
        f'<b:Action a:mustUnderstand="true">{action}</b:Action><b:MessageID>{device.message_id()}</b:MessageID>'
        f"<c:ResourceURI>{_esc(resource)}</c:ResourceURI></a:Header><a:Body>{body}</a:Body></a:Envelope>"
    )


def fault(device: Device, relates_to: str, subcode: str, reason: str) -> tuple[int, str]:
    body = (f'<a:Fault><a:Code><a:Value>a:Sender</a:Value><a:Subcode><a:Value>{subcode}</a:Value></a:Subcode>'
            f'</a:Code><a:Reason><a:Text xml:lang="en-US">{_esc(reason)}</a:Text></a:Reason></a:Fault>')  # fmt: skip
    return 400, envelope(device, NS["wsa"] + "/fault", "", relates_to, body)


def wsman(device: Device, payload: bytes) -> tuple[int, str]:  # noqa: PLR0911 - one return per answer
    """The HTTP status and SOAP answer to one WS-MAN request."""
    try:
        root = ET.fromstring(payload)  # noqa: S314 - lab-only stand-in, input from tests
    except ET.ParseError as exc:
        return fault(device, "", "b:InvalidMessageInformationHeader", f"not XML: {exc}")

    def text(path: str) -> str:
        node = root.find(path, NS)
        return (node.text or "").strip() if node is not None else ""

    action, resource = text("s:Header/wsa:Action"), text("s:Header/wsman:ResourceURI")
    relates = text("s:Header/wsa:MessageID")
    if action not in (ACTION_GET, ACTION_ENUMERATE, ACTION_PULL, ACTION_RELEASE):
        return fault(device, relates, "b:ActionNotSupported", f"the action {action!r} is not supported")
    if action == ACTION_RELEASE:
        device.contexts.pop(text("s:Body/wsen:Release/wsen:EnumerationContext"), None)
        return 200, envelope(device, NS["wsen"] + "/ReleaseResponse", resource, relates, "")
    if action == ACTION_PULL:
        context = text("s:Body/wsen:Pull/wsen:EnumerationContext")
        resource = device.contexts.pop(context, None) or ""
        if not resource:
            return fault(device, relates, "g:InvalidEnumerationContext", "the enumeration context is not valid")
    found = device.instances(resource)
    if found is None:
        return fault(device, relates, "b:DestinationUnreachable", f"no such resource: {resource!r}")
    cls, rows = found
    cls_ns = CIM_SCHEMA + cls if cls.startswith("CIM_") else AMT_SCHEMA + cls
    if action == ACTION_GET:
        wanted = {s.get("Name"): (s.text or "").strip() for s in root.iterfind(".//wsman:SelectorSet/wsman:Selector",
                                                                                NS)}  # fmt: skip
        match = [r for r in rows if all(str(dict(r).get(k, v)) == v for k, v in wanted.items())]
        if not match:
            return fault(device, relates, "c:InvalidSelectors", "no instance matches the selectors")
        return 200, envelope(device, NS["wxf"] + "/GetResponse", resource, relates, _instance_xml(cls, match[0]),
                             cls_ns)  # fmt: skip
    if action == ACTION_ENUMERATE:
        context = f"{secrets.randbits(32):08X}-0000-0000-0000-000000000000"
        device.contexts[context] = resource
        while len(device.contexts) > MAX_NONCES:
            device.contexts.pop(next(iter(device.contexts)))
        body = f"<g:EnumerateResponse><g:EnumerationContext>{context}</g:EnumerationContext></g:EnumerateResponse>"
        return 200, envelope(device, NS["wsen"] + "/EnumerateResponse", resource, relates, body)
    items = "".join(_instance_xml(cls, r) for r in rows)
    body = f"<g:PullResponse><g:Items>{items}</g:Items><g:EndOfSequence></g:EndOfSequence></g:PullResponse>"
    return 200, envelope(device, NS["wsen"] + "/PullResponse", resource, relates, body, cls_ns)


# --- HTTP ---------------------------------------------------------------------------------------------------------
REASONS = {200: "OK", 303: "See Other", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 413: "Request Entity Too Large"}  # fmt: skip
LOGON_HTML = ("<html><head><title>Intel&reg; Active Management Technology</title></head><body>"
              "<p>Log on to Intel&reg; Active Management Technology (simulated)</p></body></html>")  # fmt: skip


def respond(device: Device, status: int, body: str | bytes = b"", headers=(), close: bool = False, *,
            server: str | None = None, chunked: bool = False) -> bytes:  # fmt: skip
    data = body.encode("utf-8") if isinstance(body, str) else body
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(data)}"
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", *headers,
             f"Server: {server or device.server_header}", framing]  # fmt: skip
    if close:
        lines.append("Connection: close")
    if chunked:  # in two chunks, as firmware that streams its answer
        mid = len(data) // 2
        data = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (data[:mid], data[mid:]) if part)
        data += b"0\r\n\r\n"
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


async def serve_http(device: Device, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        if device.stall:
            while await reader.read(65536):  # accept, read, never answer
                pass
            await asyncio.Event().wait()  # the peer closed its side: still never answer
        while True:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                writer.write(respond(device, 400, close=True))
                break
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0") or 0)
            if length > MAX_BODY:
                writer.write(respond(device, 413, close=True))
                break
            body = await reader.readexactly(length) if length else b""
            close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            path = target.split("?", 1)[0]
            if path == "/wsman":
                if method != "POST":
                    out = respond(device, 405, headers=["Allow: POST"], close=close, server=device.wsman_header)
                elif not device.check_digest(method, target, headers.get("authorization")):
                    close = close or device.close_on_401
                    out = respond(device, 401, "<html><head></head><body>Unauthorized</body></html>",
                                  [f"WWW-Authenticate: {device.challenge()}", "Content-Type: text/html"], close,
                                  server=device.wsman_header)  # fmt: skip
                else:
                    status, xml = wsman(device, body)
                    out = respond(device, status, xml, ["Content-Type: application/soap+xml; charset=UTF-8"], close,
                                  server=device.wsman_header, chunked=device.chunked and status == 200)  # fmt: skip
            elif method == "GET" and path == "/":
                out = respond(device, 303, headers=["Location: /logon.htm", "Content-Type: text/html"], close=close)
            elif method == "GET" and path == "/logon.htm":
                out = respond(device, 200, LOGON_HTML, ["Content-Type: text/html"], close)
            else:
                out = respond(device, 404, "<html><body>Not Found</body></html>", ["Content-Type: text/html"], close)
            writer.write(out)
            await writer.drain()
            if close:
                break
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


# --- serving ------------------------------------------------------------------------------------------------------
_TLS: dict[tuple[str, str, bool], ssl.SSLContext] = {}


def tls_context(cert: str, key: str, legacy: bool = False) -> ssl.SSLContext:
    """One server context per certificate (devices that share a certificate share a context). ``legacy``: TLS 1.0
    only at OpenSSL security level 0, as old AMT firmware (and needed for a 1024-bit, SHA-1-signed certificate)."""
    if (cert, key, legacy) not in _TLS:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if legacy:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = ssl.TLSVersion.TLSv1
        ctx.load_cert_chain(cert, key)
        _TLS[(cert, key, legacy)] = ctx
    return _TLS[(cert, key, legacy)]


async def listen(device: Device, address: str, ports: dict) -> list[asyncio.Server]:
    servers = [await asyncio.start_server(lambda r, w: serve_http(device, r, w), address, ports["http"],
                                          reuse_address=True, backlog=64)]  # fmt: skip
    if device.tls:
        ctx = tls_context(device.tls["cert"], device.tls["key"], device.tls["legacy"])
        servers.append(await asyncio.start_server(lambda r, w: serve_http(device, r, w), address, ports["https"],
                                                  ssl=ctx, reuse_address=True, backlog=64))  # fmt: skip
    return servers


def load_config(path: Path) -> tuple[list[Device], dict]:
    config = json.loads(path.read_text(encoding="utf-8"))
    ports = {**DEFAULT_PORTS, **config.get("ports", {})}
    defaults = config.get("defaults", {})
    devices = [Device({**defaults, **spec}, path.parent) for spec in config.get("devices", [])]
    addresses = [d.address for d in devices if d.address]
    if len(addresses) != len(set(addresses)):
        raise ValueError("two devices share an address")
    for d in devices:
        if not d.address and not d.spec.get("setup"):
            raise ValueError("a device needs an address, or setup (which takes one by DHCP)")
    return devices, ports


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- setup mode ---------------------------------------------------------------------------------------------------
def _module_utils():
    path = str(ROOT / "collections")  # ansible_collections.oob.prep is this repository (scripts/collections links it)
    if path not in sys.path:
        sys.path.insert(0, path)
    from ansible_collections.oob.prep.plugins.module_utils.amt import hello as oob_amt_hello
    from ansible_collections.oob.prep.plugins.module_utils.dhcp import client as oob_dhcp_client
    from ansible_collections.oob.prep.plugins.module_utils.dhcp import wire as oob_dhcp_wire

    return oob_amt_hello, oob_dhcp_client, oob_dhcp_wire


def dhcp_lease(interface: str, attempts: int = 4, timeout: float = 3.0) -> dict:
    """DISCOVER, then REQUEST the first offer; returns the DHCPACK (parse()'s dict). Blocking; needs CAP_NET_RAW."""
    _hello, client, wire = _module_utils()
    info = client.interface_info(interface)
    request = (1, 3, 6, 15)
    for _ in range(attempts):
        xid = client.new_xid()
        with client.RawDhcpSocket(interface, info["mac"]) as sock:
            sock.send(wire.build_discover(info["mac"], xid, request=request), ident=xid & 0xFFFF)
            offers, _bad = client.collect(sock, xid, info["mac"], timeout, stop_after=1)
            offers = [o for o in offers if o["message_type"] == "DHCPOFFER"]
            if not offers:
                continue
            offer = offers[0]
            req = wire.build_request(info["mac"], xid, requested_ip=offer["yiaddr"], server_id=offer["server_id"],
                                     request=request)  # fmt: skip
            sock.send(req, ident=xid & 0xFFFF)
            acks, _bad = client.collect(sock, xid, info["mac"], timeout, stop_after=1)
            for ack in acks:
                if ack["message_type"] == "DHCPACK":
                    return {"offer": offer, "ack": ack, "mac": info["mac"]}
    raise RuntimeError(f"no DHCPOFFER/DHCPACK on {interface} after {attempts} attempts")


def _prefix(netmask: str | None) -> int:
    if not netmask:
        return 24
    return sum(bin(int(octet)).count("1") for octet in netmask.split("."))


def configure_address(interface: str, address: str, netmask: str | None, router: str | None) -> None:
    subprocess.run(["ip", "addr", "replace", f"{address}/{_prefix(netmask)}", "dev", interface], check=True)
    if router:
        subprocess.run(["ip", "route", "replace", "default", "via", router, "dev", interface], check=True)


def resolve(name: str, servers: list[str], timeout: float = 2.0) -> str:
    import dns.message
    import dns.query
    import dns.rdatatype

    last = "no DNS server (option 6)"
    for server in servers:
        try:
            answer = dns.query.udp(dns.message.make_query(name, "A"), server, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - any failure: try the next server, report the last
            last = f"{server}: {exc.__class__.__name__} {exc}"
            continue
        for rrset in answer.answer:
            if rrset.rdtype == dns.rdatatype.A:
                return rrset[0].address
        last = f"{server}: no A record for {name} (rcode {answer.rcode()})"
    raise RuntimeError(last)


async def send_hello(address: str, payload: bytes, port: int = 9971, timeout: float = 5.0) -> None:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
    writer.write(payload)  # one write, then close, as a device does
    await writer.drain()
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


async def setup_mode(device: Device, ports: dict, events: Path | None) -> None:
    hello_mod, _client, _wire = _module_utils()
    setup = device.spec["setup"]
    interface = setup["interface"]
    scale = float(setup.get("retry_scale", 1.0))
    hashes = [(h["type"], h["hex"]) for h in setup.get("hashes", [])]
    port = int(setup.get("port", 9971))
    try:
        lease = await asyncio.to_thread(dhcp_lease, interface)
    except Exception as exc:  # noqa: BLE001 - reported as an event; the device stays silent as a real one would
        emit("setup_failed", events, uuid=device.uuid, step="dhcp", error=str(exc))
        return
    ack, offer = lease["ack"], lease["offer"]
    opts = {**offer["options"], **ack["options"]}
    emit("dhcp_ack", events, uuid=device.uuid, mac=lease["mac"], address=ack["yiaddr"], server=ack["server_id"],
         options={str(k): v for k, v in opts.items() if k in (1, 3, 6, 15, 51)})  # fmt: skip
    routers, dns_servers, domain = opts.get(3) or [], opts.get(6) or [], opts.get(15)
    routers = routers if isinstance(routers, list) else [routers]
    dns_servers = dns_servers if isinstance(dns_servers, list) else [dns_servers]
    try:
        await asyncio.to_thread(
            configure_address, interface, ack["yiaddr"], opts.get(1), routers[0] if routers else None
        )
    except Exception as exc:  # noqa: BLE001
        emit("setup_failed", events, uuid=device.uuid, step="address", error=str(exc))
        return
    device.address = ack["yiaddr"]
    emit("address", events, uuid=device.uuid, address=device.address, router=routers[0] if routers else None)
    if setup.get("serve", True):
        await listen(device, device.address, ports)
    name = f"ProvisionServer.{domain}" if domain else "ProvisionServer"
    schedule = hello_mod.retry_schedule(scale)
    retry = 0
    while True:
        try:
            target = await asyncio.to_thread(resolve, name, dns_servers)
            emit("dns", events, uuid=device.uuid, name=name, address=target)
            admin = bool(setup.get("admin_credentials_set", False))
            payload = hello_mod.build(device.uuid, hashes, retry_count=retry, admin_credentials_set=admin)
            await send_hello(target, payload, port)
            emit("hello_sent", events, uuid=device.uuid, to=target, port=port, retry_count=retry, hex=payload.hex())
            if not setup.get("resend", False):
                return
        except Exception as exc:  # noqa: BLE001 - DNS or TCP failure: retry on the schedule
            emit("hello_failed", events, uuid=device.uuid, name=name, retry_count=retry, error=str(exc) or repr(exc))
            # before the next try, ask DHCP again (DHCPINFORM from the leased address), as a renewal would: options
            # 6 and 15 set on the scope since the lease reach the device
            try:
                answers = (await asyncio.to_thread(_client.probe, interface, "inform", 1.0))["answers"]
            except Exception:  # noqa: BLE001 - no answer this time: keep what the lease said
                answers = []
            if answers:
                fresh = answers[0]["options"]
                dns_servers = fresh.get(6) or dns_servers
                dns_servers = dns_servers if isinstance(dns_servers, list) else [dns_servers]
                domain = fresh.get(15) or domain
                name = f"ProvisionServer.{domain}" if domain else "ProvisionServer"
                emit("dhcp_inform", events, uuid=device.uuid, dns_servers=dns_servers, domain=domain)
        if retry >= len(schedule):
            emit("gave_up", events, uuid=device.uuid, retry_count=retry)
            return
        await asyncio.sleep(schedule[retry])
        retry += 1


# --- main ---------------------------------------------------------------------------------------------------------
async def run(config: Path, events: Path | None) -> None:
    started = time.monotonic()
    raise_fd_limit()
    devices, ports = load_config(config)
    servers = []
    for device in devices:
        if device.address and not device.spec.get("setup"):
            servers += await listen(device, device.address, ports)
    tasks = [asyncio.create_task(setup_mode(d, ports, events)) for d in devices if d.spec.get("setup")]
    emit("ready", events, devices=len(devices), listeners=len(servers), seconds=round(time.monotonic() - started, 3),
         pid=os.getpid())  # fmt: skip
    await asyncio.gather(*tasks)
    await asyncio.Event().wait()


SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")  # DER of OID 1.2.840.113549.1.1.11 (sha256WithRSAEncryption)
SHA1_RSA = bytes.fromhex("06092a864886f70d010105")  # 1.2.840.113549.1.1.5 (sha1WithRSAEncryption), same length


def _der(tag: int, body: bytes) -> bytes:
    n, width = len(body), (len(body).bit_length() + 7) // 8
    size = bytes([n]) if n < 0x80 else bytes([0x80 | width]) + n.to_bytes(width, "big")
    return bytes([tag]) + size + body


def sha1_resign(cert, signer_key):
    """``cert`` (made with SHA-256 by ``cryptography``) signed again with SHA-1 (RFC 5280: the algorithm named in the
    to-be-signed part and around the signature, then the signature over the new to-be-signed bytes)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    tbs = cert.tbs_certificate_bytes
    if tbs.count(SHA256_RSA) != 1:
        raise ValueError("the certificate's to-be-signed part should name sha256WithRSAEncryption once")
    tbs = tbs.replace(SHA256_RSA, SHA1_RSA)
    signature = signer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - old firmware's TLS, on purpose
    return x509.load_der_x509_certificate(_der(0x30, tbs + _der(0x30, SHA1_RSA + b"\x05\x00")
                                               + _der(0x03, b"\x00" + signature)))  # fmt: skip


def make_legacy_cert(
    folder: Path, name: str, addresses: list[str], dns_names: list[str], ca: tuple
) -> tuple[Path, Path]:
    """A 1024-bit RSA certificate signed with SHA-1 by the lab CA ``ca`` (cert, key): what AMT 3.x-6.x firmware
    presents on 16993."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert, ca_key = ca
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    now = datetime.datetime.now(datetime.UTC)
    sans = [x509.DNSName(d) for d in dns_names or [name]] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))  # fmt: skip
    cert = sha1_resign(cert, ca_key)
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    key_path.chmod(0o600)
    return cert_path, key_path


def make_cert(folder: Path, name: str, addresses: list[str], dns_names: list[str],
              legacy: bool = False) -> tuple[Path, Path]:  # fmt: skip
    """A certificate for a simulated device, signed by a lab CA made once in ``folder`` (``amt-sim-ca.pem``);
    ``legacy``: 1024-bit and SHA-1-signed (:func:`make_legacy_cert`)."""
    sys.path.insert(0, str(LAB_DIR))
    import tlscerts
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    folder.mkdir(parents=True, exist_ok=True)
    ca_pem, ca_key = folder / "amt-sim-ca.pem", folder / "amt-sim-ca.key"
    if ca_pem.exists() and ca_key.exists():
        ca = (x509.load_pem_x509_certificate(ca_pem.read_bytes()),
              serialization.load_pem_private_key(ca_key.read_bytes(), None))  # fmt: skip
    else:
        ca = tlscerts.make_ca("amt-sim", folder)
    if legacy:
        return make_legacy_cert(folder, name, addresses, dns_names, ca)
    return tlscerts.make_server(ca, name, dns_names or [name], addresses, folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="the devices (JSON)")
    parser.add_argument("--events", type=Path, help="also append the events (JSON lines) to this file")
    parser.add_argument("--make-cert", type=Path, metavar="DIR", help="make a device certificate in DIR and exit")
    parser.add_argument("--name", default="amt", help="with --make-cert: file name and default DNS name")
    parser.add_argument("--address", action="append", default=[], help="with --make-cert: IP SAN (repeatable)")
    parser.add_argument("--dns", action="append", default=[], help="with --make-cert: DNS SAN (repeatable)")
    parser.add_argument("--legacy", action="store_true", help="with --make-cert: 1024-bit key, SHA-1 signature")
    args = parser.parse_args()
    if args.make_cert:
        cert, key = make_cert(args.make_cert, args.name, args.address, args.dns, legacy=args.legacy)
        print(json.dumps({"cert": str(cert), "key": str(key), "ca": str(args.make_cert / "amt-sim-ca.pem")}))
        return
    if not args.config:
        parser.error("--config is required (or --make-cert)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.config, args.events))


if __name__ == "__main__":
    main()
