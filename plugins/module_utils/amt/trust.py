# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does an AMT device trust the root of the service point's provisioning certificate? Pure: stdlib only, no I/O.

ConfigMgr 2007 SP1's out of band service point reads, from each AMT device's provisioning hello (TCP 9971), the device
UUID and the list of trusted root certificate hashes (``amt.hello``), and provisions the device only when one of those
hashes is the hash of the root of its AMT provisioning certificate. Intel's words: "In remote configuration, the remote
setup and configuration application must have a certificate that traces to one of the root certificates. The 'Hello'
message contains the root hashes so that the application can validate that it has a matching certificate" (Intel AMT
SDK, Implementation and Reference Guide, "Root Certificate Hashes", [intel-sdk] below).

- :data:`DEFAULT_ROOT_HASHES`, :func:`default_hashes`, :func:`default_trusted`: the root hashes Intel AMT firmware
  ships with, as published, by AMT version.
- :func:`devices_from_hello_records`, :func:`devices_from_list`: what each device trusts, from the service point's
  record of the hellos it received, or from a list the estate gives.
- :func:`trust_check`, :func:`trust_summary`: the ``oob_certificates`` row of one device, and the rows counted.

The default list
----------------
This is not a dump of any firmware. Every hash below was found in a published source ([DEFAULT_LIST_SOURCES]); none is
computed or guessed here. The entries are of two kinds, by the hash the firmware holds:

* SHA-1 entries (AMT before 11.0). Intel: "Starting with Release 2.6, Intel AMT contains embedded root certificate
  hashes" and "Releases 7.0 through 10.x support the following SHA1 root certificates" ([intel-sdk]); the stored copy
  of that page keeps its introduction, the 7.0-10.x table is read from public notes that quote it (VeriSign Class 3
  Public Primary CA G1, G1.5, G2, G3, G5, Go Daddy Class 2 CA, Comodo AAA CA, Starfield Class 2 CA, with their SHA-1
  fingerprints). [symantec-2010] gives "the original list of certificate hashes" (VeriSign G1 and G3, Go Daddy Class 2,
  Comodo AAA, Starfield Class 2) and says VeriSign G2 came with newer firmware. ``since`` is "2.6" for the original
  list (Intel's first release with embedded hashes: a reading of the two sources together, neither states the list of
  2.6 itself) and "7.0" for G1.5, G2 and G5 (the first release whose list a source shows; they may be older).
* SHA-256 entries (AMT 11.0 and later). Intel: "In Intel ME 11.0 the default SHA1 certificate hashes were removed from
  the firmware" ([intel-sdk]); :func:`default_hashes` drops the SHA-1 entries from 11.0 on. The hashes are the
  ``certHashes`` an AMT 11.8.50 (build 3425) device reported, recorded in Open AMT's RPS test ([open-amt-rps]); hence
  ``since`` "11.8". That source gives hashes without names: each name here is the root whose SHA-256 fingerprint it
  is, found with ``openssl x509 -fingerprint -sha256`` over Debian's ca-certificates (the unit test recomputes it) or,
  for VeriSign roots no longer in the bundle, in OpenJDK's list of Symantec roots ([openjdk]; VeriSign G5's SHA-1 and
  SHA-256 together in [ms365]). Six hashes of that device are left out, no source at hand naming them:
  ``e7685634...``, ``a4b6b399...`` (OpenJDK's "Class 3 Public Primary Certification Authority", which Intel's G1 or
  G1.5 it is is not stated; Intel removed G1 "starting Releases 11.8.65.3580 and 12.0.32.1420"), ``a5312518...``,
  ``960adf00...``, ``68ad5090...``, ``70a73f7f...``.
* SHA-256 entries with ``since`` None: roots (DigiCert, GlobalSign) in the sample hello of MeshCentral's provisioning
  server ([meshcentral-hello]), a device whose AMT version it does not give. :func:`default_hashes` never returns an
  entry whose release is unknown; they name a matched hash, they do not infer one.

Intel's own note on its list: "This list is subject to change, both by Intel and by OEMs". An OEM may add roots, an
admin may add a hash in MEBx or by USB key: a device's hello (or WS-MAN) is the truth, the defaults only an inference.

DEFAULT_LIST_SOURCES (short name: source):

- intel-sdk: Intel AMT SDK, Implementation and Reference Guide, "Root Certificate Hashes",
  https://software.intel.com/sites/manageability/AMT_Implementation_and_Reference_Guide/WordDocuments/rootcertificatehashes.htm
- symantec-2010: Symantec Connect, "VeriSign and GoDaddy Changes to Root Certificates for vPro Provisioning"
  (11 Mar 2010), https://www.symantec.com/connect/articles/verisign-and-godaddy-changes-root-certificates-vpro-provisioning
- open-amt-rps: open-amt-cloud-toolkit/rps, src/test/activator.test.ts (``certHashes`` of an AMT 11.8.50 device)
- meshcentral-hello: Ylianst/MeshCentral, amtprovisioningserver.js ("Example hello data for testing")
- openjdk: openjdk/jdk, src/java.base/share/classes/sun/security/validator/SymantecTLSPolicy.java
- ms365: MicrosoftDocs/microsoft-365-docs, microsoft-365/compliance/encryption-office-365-certificate-chains.md
- debian-ca: Debian's ca-certificates (/etc/ssl/certs), the fingerprint computed with openssl: names a hash only

The hello record
----------------
:func:`devices_from_hello_records` reads JSON Lines, one connection to the service point's TCP 9971 a line, as the lab's
stand-in (lab/standins/service_point.py) writes them and as the estate's file must be: ``{"peer", "peer_port",
"local_port", "opened", "closed", "data_hex", "hello": {"admin_credentials_set", "version", "retry_count", "uuid",
"hashes": [{"type", "name", "size", "hex"}]} or null, "hello_error"}``; ``hello`` is ``amt.hello.parse`` of the data.
"""

from __future__ import annotations

import json
import uuid as _uuid
from collections.abc import Iterable

from ansible_collections.oob.prep.plugins.module_utils.checks import check

ROW = "oob_certificates"
HASH_TYPES = {1: ("sha1", 20), 2: ("sha256", 32), 3: ("sha384", 48)}  # the hello's codes (amt.hello)
HASH_CODES = {name: code for code, (name, _size) in HASH_TYPES.items()}
LABELS = {"sha1": "SHA-1", "sha256": "SHA-256", "sha384": "SHA-384"}
SHA1_DEFAULTS_REMOVED = (11, 0)  # intel-sdk: "In Intel ME 11.0 the default SHA1 certificate hashes were removed"
SOURCES = {
    "hello": "the service point's recorded hello",
    "wsman": "AMT_ProvisioningCertificateHash read over WS-MAN",
    "default": "the published default list",
    "file": "the device hash list the estate gives",
}

DEFAULT_LIST_SOURCES = (
    ("intel-sdk", "Intel AMT SDK, Implementation and Reference Guide, 'Root Certificate Hashes', https://software.intel."
     "com/sites/manageability/AMT_Implementation_and_Reference_Guide/WordDocuments/rootcertificatehashes.htm"),
    ("symantec-2010", "Symantec Connect, 'VeriSign and GoDaddy Changes to Root Certificates for vPro Provisioning' "
     "(11 Mar 2010), https://www.symantec.com/connect/articles/verisign-and-godaddy-changes-root-certificates-vpro-"
     "provisioning"),
    ("open-amt-rps", "open-amt-cloud-toolkit/rps, src/test/activator.test.ts (certHashes of an AMT 11.8.50 device)"),
    ("meshcentral-hello", "Ylianst/MeshCentral, amtprovisioningserver.js (example hello data)"),
    ("openjdk", "openjdk/jdk, src/java.base/share/classes/sun/security/validator/SymantecTLSPolicy.java"),
    ("ms365", "MicrosoftDocs/microsoft-365-docs, microsoft-365/compliance/encryption-office-365-certificate-chains.md"),
    ("debian-ca", "Debian ca-certificates (/etc/ssl/certs), fingerprint computed with openssl: names a hash only"),
)  # fmt: skip


def _sha1(name: str, hexdigest: str, since: str, source: str) -> dict:
    return {"name": name, "sha256": None, "sha1": hexdigest, "since": since, "source": source}


def _sha256(name: str, hexdigest: str, since: str | None, source: str) -> dict:
    return {"name": name, "sha256": hexdigest, "sha1": None, "since": since, "source": source}


_RPS = "open-amt-rps; name: debian-ca"
_RPS_JDK = "open-amt-rps; name: openjdk"
_MESH = "meshcentral-hello; name: debian-ca"

DEFAULT_ROOT_HASHES = (
    # SHA-1, AMT 2.6 to 10.x: the original list (symantec-2010), and the 7.0-10.x table (intel-sdk)
    _sha1("VeriSign Class 3 Public Primary CA - G1", "742c3192e607e424eb4549542be1bbc53e6174e2", "2.6",
          "symantec-2010; intel-sdk"),
    _sha1("VeriSign Class 3 Public Primary CA - G3", "132d0d45534b6997cdb2d5c339e25576609b5cc6", "2.6",
          "symantec-2010; intel-sdk"),
    _sha1("Go Daddy Class 2 CA", "2796bae63f1801e277261ba0d77770028f20eee4", "2.6", "symantec-2010; intel-sdk"),
    _sha1("Comodo AAA CA", "d1eb23a46d17d68fd92564c2f1f1601764d8e349", "2.6", "symantec-2010; intel-sdk"),
    _sha1("Starfield Class 2 CA", "ad7e1c28b064ef8f6003402014c3d0e3370eb58a", "2.6", "symantec-2010; intel-sdk"),
    _sha1("VeriSign Class 3 Public Primary CA - G2", "85371ca6e550143dce2803471bde3a09e8f8770f", "7.0",
          "symantec-2010; intel-sdk"),
    _sha1("VeriSign Class 3 Public Primary CA - G1.5", "a1db6393916f17e4185509400415c70240b0ae6b", "7.0", "intel-sdk"),
    _sha1("VeriSign Class 3 Public Primary CA - G5", "4eb6d578499b1ccf5f581ead56be3d9b6744a5e5", "7.0",
          "intel-sdk; ms365"),
    # SHA-256, AMT 11.8.50 as reported in open-amt-rps, in its order
    _sha256("VeriSign Class 3 Public Primary CA - G3",
            "eb04cf5eb1f39afa762f2bb120f296cba520c1b97db1589565b81cb9a17b7244",
            "11.8", _RPS_JDK),
    _sha256("Go Daddy Class 2 CA", "c3846bf24b9e93ca64274c0ec67c1ecc5e024ffcacd2d74019350e81fe546ae4", "11.8", _RPS),
    _sha256("Comodo AAA CA", "d7a7a0fb5d7e2731d771e9484ebcdef71d5f0c3e0a2948782bc83ee0ea699ef4", "11.8", _RPS),
    _sha256("Starfield Class 2 CA", "1465fa205397b876faa6f0a9958e5590e40fcc7faa4fb7c2c8677521fb5fb658", "11.8", _RPS),
    _sha256("VeriSign Class 3 Public Primary CA - G2",
            "83ce3c1229688a593d485f81973c0f9195431eda37cc5e36430e79c7a888638b",
            "11.8", _RPS_JDK),
    _sha256("VeriSign Class 3 Public Primary CA - G5",
            "9acfab7e43c8d880d06b262a94deeee4b4659989c3d0caf19baf6405e41ab7df",
            "11.8", _RPS_JDK + ", ms365"),
    _sha256("Baltimore CyberTrust Root", "16af57a9f676b0ab126095aa5ebadef22ab31119d644ac95cd4b93dbf3f26aeb", "11.8",
            _RPS),
    _sha256("Entrust.net CA (2048)", "6dc47172e01cbcb0bf62580d895fe2b8ac9ad4f873801e0c10b9c837d21eb177", "11.8", _RPS),
    _sha256("Entrust Root CA", "73c176434f1bc6d5adf45b0e76e727287c8de57616c1e6e6141a2b2cbc7d8e4c", "11.8", _RPS),
    _sha256("VeriSign Universal Root CA", "2399561127a57125de8cefea610ddf2fa078b5c8067f4e828290bfb860e84b3c", "11.8",
            _RPS_JDK),
    _sha256("Go Daddy Root CA - G2", "45140b3247eb9cc8c5b4f0d7b53091f73292089e6e5a63e2749dd3aca9198eda", "11.8", _RPS),
    _sha256("Entrust Root CA - G2", "43df5774b03e7fef5fe40d931a7bedf1bb2e6b42738c4e6d3841103d3aa7f339", "11.8", _RPS),
    _sha256("Starfield Root CA - G2", "2ce1cb0bf9d2f9e102993fbe215152c3b2dd0cabde1c68e5319b839154dbb7f5", "11.8", _RPS),
    # SHA-256 in MeshCentral's sample hello, AMT version not given
    _sha256("DigiCert Global Root CA", "4348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161", None, _MESH),
    _sha256("DigiCert Global Root G2", "cb3ccbb76031e5e0138f8dd39a23f9de47ffc35e43c1144cea27d46a5ab1cb5f", None, _MESH),
    _sha256("DigiCert Global Root G3", "31ad6648f8104138c738f39ea4320133393e3a18cc02296ef97c2ac9ef6731d0", None, _MESH),
    _sha256("DigiCert Trusted Root G4", "552f7bdcf1a7af9e6ce672017f4f12abf77240c78e761ac203d1d9d20ac89988", None,
            _MESH),
    _sha256("GlobalSign Root CA - R3", "cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b", None, _MESH),
    _sha256("GlobalSign ECC Root CA - R5", "179fbc148a3dd00fd24ea13458cc43bfa7f59c8182d783a513f6ebec100c8924", None,
            _MESH),
    _sha256("GlobalSign Root CA - R6", "2cabeafe37d06ca22aba7391c0033d25982952c453647349763a3ab5ad6ccf69", None, _MESH),
)  # fmt: skip


# --- versions and hashes ------------------------------------------------------------------------------------------


def version_tuple(version: str) -> tuple[int, ...]:
    """``"3.2.1"`` -> (3, 2, 1); ``"11.8.50.3425"`` -> (11, 8, 50, 3425). ValueError for anything else."""
    parts = str(version).strip().split(".")
    if not all(p.isdigit() for p in parts):
        raise ValueError(f"AMT version {version!r} is not of the form 3.2.1 or 11.8.50.3425")
    return tuple(int(p) for p in parts)


def _at_least(version: tuple[int, ...], bound: tuple[int, ...]) -> bool:
    width = max(len(version), len(bound))
    return version + (0,) * (width - len(version)) >= bound + (0,) * (width - len(bound))


def default_hashes(amt_version: str | None) -> list[dict]:
    """The entries of :data:`DEFAULT_ROOT_HASHES` that firmware of ``amt_version`` carries, as published: those whose
    ``since`` is at most the version, SHA-1 ones only before 11.0 (Intel removed them in ME 11.0). None (the version
    is unknown) and entries with an unknown ``since`` give nothing: the defaults are never guessed."""
    if amt_version is None:
        return []
    version = version_tuple(amt_version)
    return [
        dict(entry)
        for entry in DEFAULT_ROOT_HASHES
        if entry["since"] is not None
        and _at_least(version, version_tuple(entry["since"]))
        and not (entry["sha1"] and _at_least(version, SHA1_DEFAULTS_REMOVED))
    ]


def default_trusted(amt_version: str | None) -> list[dict]:
    """:func:`default_hashes` in the form :func:`trust_check` takes: [{type, name, hex, ca}]."""
    out = []
    for entry in default_hashes(amt_version):
        for name in ("sha1", "sha256"):
            if entry[name]:
                out.append({"type": HASH_CODES[name], "name": name, "hex": entry[name], "ca": entry["name"]})
    return out


def _hash_name(kind) -> str:
    """'sha1'/'sha256'/'sha384' of a type given as 1/2/3 or a name ('SHA-256' too)."""
    if isinstance(kind, int) and not isinstance(kind, bool) and kind in HASH_TYPES:
        return HASH_TYPES[kind][0]
    name = str(kind).strip().lower().replace("-", "")
    if name.isdigit() and int(name) in HASH_TYPES:
        return HASH_TYPES[int(name)][0]
    if name not in HASH_CODES:
        raise ValueError(f"unknown hash type {kind!r}: one of sha1, sha256, sha384 (or 1, 2, 3)")
    return name


def _hex(value, name: str) -> str:
    """The hex digest in lower case, separators (spaces, colons) dropped; ValueError when it is not a ``name`` hash."""
    text = "".join(str(value).split()).replace(":", "").lower()
    size = HASH_TYPES[HASH_CODES[name]][1]
    if len(text) != 2 * size or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"a {LABELS[name]} hash is {2 * size} hex digits, not {value!r}")
    return text


def _hash_item(item: dict, where: str) -> dict:
    """{type, name, hex} of a device's hash given as {type or name, hex}."""
    if not isinstance(item, dict):
        raise ValueError(f"{where}: a hash is a mapping with type and hex, not {item!r}")
    kind = item.get("type", item.get("name"))
    if kind is None:
        raise ValueError(f"{where}: no type (sha1, sha256 or sha384)")
    if "hex" not in item:
        raise ValueError(f"{where}: no hex")
    try:
        name = _hash_name(kind)
        return {"type": HASH_CODES[name], "name": name, "hex": _hex(item["hex"], name)}
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


# --- what each device trusts ---------------------------------------------------------------------------------------


def devices_from_hello_records(lines: Iterable[str]) -> dict[str, dict]:
    """{uuid: {uuid, address, hashes: [{type, name, hex}], seen, hellos}} of the service point's hello record (JSON
    Lines, the module docstring's format): the hashes and address of the latest hello of each UUID (by ``closed``;
    the later line when equal), ``seen`` its ``closed`` time, ``hellos`` how many hellos that UUID sent. Connections
    whose ``hello`` is null (a port probe, data that is no hello) are left out. A malformed line raises ValueError
    naming its number."""
    devices: dict[str, dict] = {}
    order: dict[str, tuple] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{where}: not JSON ({exc})") from None
        if not isinstance(record, dict) or "hello" not in record:
            raise ValueError(f"{where}: not a connection record (a JSON object with peer, closed and hello)")
        hello = record["hello"]
        if hello is None:
            continue
        if not isinstance(hello, dict) or not isinstance(hello.get("hashes"), list) or not hello.get("uuid"):
            raise ValueError(f"{where}: hello has no uuid or no list of hashes")
        try:
            key = str(_uuid.UUID(str(hello["uuid"])))
        except ValueError:
            raise ValueError(f"{where}: hello uuid {hello['uuid']!r} is not a UUID") from None
        closed = record.get("closed")
        if closed is not None and not isinstance(closed, (int, float)):
            raise ValueError(f"{where}: closed must be a time in seconds, not {closed!r}")
        hashes = [_hash_item(h, f"{where}: hash {i}") for i, h in enumerate(hello["hashes"], start=1)]
        rank = (closed if closed is not None else float("-inf"), number)
        count = devices[key]["hellos"] + 1 if key in devices else 1
        if key not in devices or rank >= order[key]:
            order[key] = rank
            devices[key] = {"uuid": key, "address": record.get("peer"), "hashes": hashes, "seen": closed}
        devices[key]["hellos"] = count
    return devices


def devices_from_list(items: list[dict]) -> dict[str, dict]:
    """{key: {name, uuid, address, hashes: [{type, name, hex}]}} of the estate's list ``[{name?, uuid?, address?,
    hashes: [{type: sha256|sha1|sha384 or 1/2/3, hex}]}]``, keyed by uuid, else name, else address. Each hash's hex is
    checked against its type's length (spaces and colons, as Windows shows a thumbprint, are dropped). ValueError names
    the item."""
    if not isinstance(items, list):
        raise ValueError(f"the device list must be a list, not {type(items).__name__}")
    devices: dict[str, dict] = {}
    for index, item in enumerate(items, start=1):
        where = f"device {index}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: a mapping with name, uuid or address and hashes, not {item!r}")
        name, address, raw_uuid = item.get("name"), item.get("address"), item.get("uuid")
        where = f"device {index} ({name or raw_uuid or address})" if (name or raw_uuid or address) else where
        if not (name or raw_uuid or address):
            raise ValueError(f"{where}: give a name, a uuid or an address")
        try:
            device_uuid = str(_uuid.UUID(str(raw_uuid))) if raw_uuid else None
        except ValueError:
            raise ValueError(f"{where}: uuid {raw_uuid!r} is not a UUID") from None
        if not isinstance(item.get("hashes"), list):
            raise ValueError(f"{where}: hashes must be a list of {{type, hex}}")
        hashes = [_hash_item(h, f"{where}: hash {i}") for i, h in enumerate(item["hashes"], start=1)]
        key = device_uuid or str(name or address)
        if key in devices:
            raise ValueError(f"{where}: {key} is listed twice")
        devices[key] = {"name": name, "uuid": device_uuid, "address": address, "hashes": hashes}
    return devices


# --- the check -----------------------------------------------------------------------------------------------------


def _root_thumbprints(root: dict) -> dict[str, str]:
    prints = (root or {}).get("thumbprints") or {}
    out = {name: _hex(prints[name], name) for name in LABELS if prints.get(name)}
    if not out:
        raise ValueError("root: give at least one of thumbprints.sha1, .sha256, .sha384")
    return out


def _remedy_add(root: dict, prints: dict[str, str], with_sha1: bool) -> str:
    """The admin's fix: the root's hash into the device's list, or a certificate from a root already there."""
    subject = root.get("subject") or "the provisioning certificate's root"
    if "sha256" in prints:
        what = f"the root's SHA-256 hash {prints['sha256']} ({subject})"
        if with_sha1 and "sha1" in prints:
            what += f" (firmware before AMT 11 takes its SHA-1 hash, {prints['sha1']})"
    else:
        name = next(iter(prints))
        what = f"the root's {LABELS[name]} hash {prints[name]} ({subject})"
    return (f"add {what} to the device's trusted root certificate hashes, in MEBx (TLS PKI > Manage Certificate "
            f"Hashes) or by USB key (a setup.bin made with Intel's USB key tool), or use a provisioning certificate "
            f"from a CA whose root the firmware already trusts")  # fmt: skip


def trust_check(device: dict, root: dict, trusted: list[dict] | None, source: str) -> dict:
    """The ``oob_certificates`` row ``amt.trust.<label>`` (label: the device's name, else uuid, else address): does the
    device trust ``root`` ({subject, thumbprints: {sha1, sha256, sha384}}), the root of the service point's
    provisioning certificate? ``trusted``: the device's hashes [{type or name, hex}], or None when unknown; ``source``:
    "hello" (the service point's recorded hello), "wsman" (AMT_ProvisioningCertificateHash), "default" (the published
    defaults of the device's ``amt_version``, :func:`default_trusted`: not read from the device), or, with ``trusted``
    None, why they are unknown.

    pass when a hash equals the root's thumbprint of the same type; fail when hashes read from the device hold none;
    warn when only the defaults were compared and hold none (an admin-added hash cannot be seen), or when nothing is
    known."""
    label = device.get("name") or device.get("uuid") or device.get("address")
    if not label:
        raise ValueError("device: give a name, a uuid or an address")
    cid, who = f"amt.trust.{label}", f"device {label}"
    subject = root.get("subject") or "(subject not given)"
    prints = _root_thumbprints(root)
    if trusted is None:
        reason = source or "no hashes were read"
        return check(cid, ROW, "warn", f"{who}: the root hashes it trusts are unknown: {reason}; the provisioning "
                     f"certificate's root is {subject}",
                     "let the device send its hello to the service point (ProvisionServer, TCP 9971) and give the "
                     "service point's hello record, or give the device's WS-MAN credentials so that "
                     "AMT_ProvisioningCertificateHash can be read")  # fmt: skip
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)} when hashes are given, not {source!r}")
    hashes = [_hash_item(h, f"{who}: hash {i}") | {"ca": h.get("ca")} for i, h in enumerate(trusted, start=1)]
    version = device.get("amt_version")
    origin = SOURCES[source]
    if source == "default":
        origin = f"the published default root hashes of AMT {version or '(version unknown)'}"
    for h in hashes:
        if prints.get(h["name"]) == h["hex"]:
            known = f" ({h['ca']})" if h.get("ca") else ""
            if source == "default":
                return check(cid, ROW, "pass", f"{who}: inferred from {origin}, not read from the device: its "
                             f"{LABELS[h['name']]} hash{known} is that of the provisioning certificate's root "
                             f"{subject}")  # fmt: skip
            return check(cid, ROW, "pass", f"{who} trusts the provisioning certificate's root {subject}: its "
                         f"{LABELS[h['name']]} hash is in the device's list (from {origin})")  # fmt: skip
    types = sorted({h["name"] for h in hashes}, key=lambda n: HASH_CODES[n])
    kinds = ", ".join(LABELS[n] for n in types) or "none"
    with_sha1 = "sha1" in types
    if source == "default":
        with_sha1 = with_sha1 or version is None
        return check(cid, ROW, "warn", f"{who}: none of the {len(hashes)} hash(es) of {origin} ({kinds}) is that of "
                     f"the provisioning certificate's root {subject}; a hash added in MEBx or by USB key cannot be "
                     f"seen without the device's hello or WS-MAN",
                     _remedy_add(root, prints, with_sha1) + "; to read what the device trusts, let it send its hello "
                     "to the service point and give the hello record, or give its WS-MAN credentials")  # fmt: skip
    return check(cid, ROW, "fail", f"{who} trusts {len(hashes)} root hash(es) ({kinds}, from {origin}); none is "
                 f"that of the provisioning certificate's root {subject}: the service point will not provision it",
                 _remedy_add(root, prints, with_sha1))  # fmt: skip


def trust_summary(rows: list[dict]) -> dict:
    """{total, pass, fail, warn, skip}: the rows counted by status."""
    out = {"total": len(rows), "pass": 0, "fail": 0, "warn": 0, "skip": 0}
    for row in rows:
        if row["status"] not in out or row["status"] == "total":
            raise ValueError(f"row {row.get('id')}: unknown status {row['status']!r}")
        out[row["status"]] += 1
    return out
