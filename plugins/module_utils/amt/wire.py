# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Intel AMT as it looks on the wire: pure helpers, no I/O (the scanner is amt.scan).

- :func:`parse_server_header`: the HTTP ``Server:`` header of ports 16992/16993 into a product, a version and a form.
  The forms known, each with the published record it comes from:

  * ``amt``: ``Intel(R) Active Management Technology 3.2.1`` (nmap-service-probes, the match named "Intel Active
    Management Technology User Notification Service httpd": ``303 See Other`` to ``/logon.htm`` with this header);
    also with four parts, such as ``11.8.50.3425`` and ``15.0.23.1706`` (the 401 and 200 answers recorded in Open
    AMT's RPS ``src/utils/clientMsgJsonParser.test.ts`` and MPS tests). The full string is kept; the support class
    compares the first three parts.
  * ``amt_unversioned``: ``Intel(R) Active Management Technology`` with no version (Greenbone's "Intel Active
    Management Technology (AMT) WebUI Interface Detection", OID 1.3.6.1.4.1.25623.1.0.105337, matches the product
    name and reports the version ``unknown`` when none follows).
  * ``me11``: ``AMT`` alone (ME 11 and later on ``GET /``; nmap-service-probes ``Server: AMT``). Such firmware puts
    the full product and version in the ``Server:`` header of its other answers - the 401 of ``POST /wsman`` - which
    the scanner reads.
  * ``me5``: ``Intel(R) Con. Management Engine 5.0.1`` (some ME 5.0 firmware; nmap-service-probes, Greenbone).
  * ``ism``: ``Intel(R) Standard Manageability 11.8.50`` (nmap-service-probes ``i/Standard Manageability/``;
    Greenbone's "Intel Standard Manageability (ISM) Detection", OID 1.3.6.1.4.1.25623.1.0.810998, with the version
    optional). Intel Standard Manageability is the non-vPro sibling of AMT on the same engine and ports; it is not
    AMT.

- :func:`support_class`: how ConfigMgr 2007 SP1 can manage a device of a given AMT version:

  * ``native``: AMT 3.2.1 and later. Source: the project's domain notes ("ConfigMgr 2007 SP1 natively supports AMT
    firmware 3.2.1 and higher; older needs Intel's WS-MAN Translator"), which cite Microsoft's "Overview of Out of
    Band Management" / "Configuration Manager 2007 SP1 Supported Configurations" that the seed refers to
    (../shared/seeds/oob-management-dependencies.txt: "For information about the versions of AMT that are natively
    supported by Configuration Manager, see ... Supported Configurations").
  * ``translator``: AMT 2.0 up to (not including) 3.2.1. Source: the seed ("If you have AMT-based computers that are
    not natively supported by Configuration Manager, you might be able to support them with out of band management
    and reduced functionality by using Intel's translator", fwlink 108363) and the same note. Neither names the
    versions the translator covers; the lower bound 2.0 is this project's reading (AMT 2.0 was the first release
    managed over the network with SOAP/EOI, which is what the WS-MAN Translator translates to); AMT 1.x is not
    covered. This bound is an assumption to confirm against Intel's translator documentation.
  * ``unsupported``: below AMT 2.0 (neither applies).
  * ``ism``: Intel Standard Manageability, whatever its version: ConfigMgr 2007 SP1 out of band management
    supports Intel AMT (vPro) only, so an ISM device is never ``native``.
  * ``unknown``: no version (ME 11+ answers ``AMT`` only, and no WS-MAN credentials were given), or a ``Server:``
    header that is none of the forms above.

- An RFC 2617 / RFC 7616 digest client (MD5, qop=auth, nc/cnonce): :func:`parse_challenges`,
  :func:`digest_authorization`.
- WS-Management (DMTF DSP0226) SOAP 1.2 envelopes for Get, Enumerate and Pull, and namespace-aware parsers of the
  answers (:func:`wsman_get`, :func:`wsman_enumerate`, :func:`wsman_pull`, :func:`parse_wsman`). The resource URIs
  and the answers' shapes are those of Intel's go-wsman-messages (Apache-2.0) and Open AMT's MPS tests.
- :func:`certificate_hashes`: the trusted root certificate hashes of AMT_ProvisioningCertificateHash (read with the
  AMT administrator's credentials), as ``{name, type, hex, default, enabled}``. See :data:`HASH_TYPES` for the
  HashType values and their sources.
- :func:`certificate_facts`: subject, issuer, expiry and key of the 16993 certificate (DER), with ``cryptography``.

Every parser raises ValueError with a message that says what was wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

# --- Server header and support class -------------------------------------------------------------------------------

NATIVE_MIN = (3, 2, 1)
TRANSLATOR_MIN = (2, 0, 0)
SUPPORT_CLASSES = ("native", "translator", "unsupported", "ism", "unknown")
AMT_PRODUCT = "Intel(R) Active Management Technology"
ISM_PRODUCT = "Intel(R) Standard Manageability"
ME5_PRODUCT = "Intel(R) Con. Management Engine"

_V = r"(\d+(?:\.\d+){0,3})"
# (form, product, pattern); the first that matches the whole header wins
_HEADER_FORMS = (
    ("amt", AMT_PRODUCT, re.compile(r"^Intel\(R\) Active Management Technology\s+" + _V + r"$", re.IGNORECASE)),
    ("amt_unversioned", AMT_PRODUCT, re.compile(r"^Intel\(R\) Active Management Technology$", re.IGNORECASE)),
    ("me11", "AMT", re.compile(r"^AMT$", re.IGNORECASE)),
    ("me5", ME5_PRODUCT, re.compile(r"^Intel\(R\) Con\. Management Engine\s+" + _V + r"$", re.IGNORECASE)),
    ("ism", ISM_PRODUCT, re.compile(r"^Intel\(R\) Standard Manageability(?:\s+" + _V + r")?$", re.IGNORECASE)),
)
KNOWN_HEADERS = "Intel(R) Active Management Technology [version], AMT, Intel(R) Con. Management Engine <version>, "\
    "Intel(R) Standard Manageability [version]"  # fmt: skip
_VERSION = re.compile(r"^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?\s*$")


def parse_server_header(value) -> dict | None:
    """The facts in a ``Server:`` header of Intel's management engine: ``{product, version, variant}``, or None when
    it is none of the known forms.

    ``variant`` is the form: ``amt`` (version in the header, three or four parts, kept whole), ``amt_unversioned``
    (the product name alone), ``me11`` (``AMT`` alone: ME 11 or later, version unknown), ``me5`` (``Intel(R) Con.
    Management Engine``) or ``ism`` (``Intel(R) Standard Manageability``: not AMT)."""
    text = " ".join(str(value or "").split())
    if not text:
        return None
    for form, product, pattern in _HEADER_FORMS:
        m = pattern.match(text)
        if m:
            version = m.group(1) if pattern.groups else None
            return {"product": product, "version": version, "variant": form}
    return None


def version_tuple(version) -> tuple[int, int, int]:
    """``'3.2.1'`` as ``(3, 2, 1)`` (missing parts are 0, a fourth part is ignored); ValueError if not a version."""
    m = _VERSION.match(str(version or ""))
    if not m:
        raise ValueError(f"{version!r} is not an AMT version (digits and dots, such as 3.2.1)")
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0))


def major(version) -> int | None:
    """The major version, or None without a version."""
    return version_tuple(version)[0] if version else None


def support_class(version, form: str | None = None) -> str:
    """ism (the header said Intel Standard Manageability, whatever the version), native (AMT >= 3.2.1, compared on
    the first three parts), translator (2.0 <= AMT < 3.2.1), unsupported (< 2.0) or unknown (no version)."""
    if form == "ism":
        return "ism"
    if not version:
        return "unknown"
    v = version_tuple(version)
    if v >= NATIVE_MIN:
        return "native"
    if v >= TRANSLATOR_MIN:
        return "translator"
    return "unsupported"


ROW_VERSION = "amt_supported_version"
TRANSLATOR_URL = "http://go.microsoft.com/fwlink/?LinkId=108363"


ISM_REMEDY = (
    "leave this computer out of out of band management (ConfigMgr 2007 SP1 cannot provision or manage "
    "Intel Standard Manageability), or replace it with a vPro computer with Intel AMT 3.2.1 or later"
)
UNKNOWN_REMEDY = (
    "find out what answers there: an AMT computer whose Server header this module does not know can still be read "
    "with the AMT credentials (oob_amt_discovery.username/password: WS-MAN gives the version); anything else does "
    "not belong in the AMT subnets' targets"
)


def device_checks(devices: list[dict]) -> list[dict]:
    """The readiness rows of discovered devices (seed row "A supported version of Intel AMT"), one per device that
    answered on an AMT port: native is a pass, the translator's range a warning (reduced functionality through
    Intel's WS-MAN Translator), older firmware a failure, Intel Standard Manageability a failure (not AMT: ConfigMgr
    2007 SP1 manages AMT only), a device that answered but did not identify as Intel's firmware (an unknown
    ``Server:`` header, a TLS handshake that failed) a warning with the reason, and an AMT device of unknown version a
    skip (a header without a version and no WS-MAN credentials)."""
    rows = []
    for d in devices:
        name = d.get("fqdn") or d["address"]
        where = f"{name} ({d['address']})" if d.get("fqdn") else d["address"]
        said = f"AMT {d.get('version')} (from {d.get('version_source') or 'nowhere'})"
        cls = d.get("support_class") or "unknown"
        why = d.get("error") or "no WS-MAN credentials and no version in the Server header"
        ports = ", ".join(str(p) for p in d.get("ports") or []) or "an AMT port"
        if cls == "ism":
            version = f" {d['version']}" if d.get("version") else ""
            status, evidence, remedy = ("fail", f"{where}: Intel(R) Standard Manageability{version} (Server header "
                                        f"{d.get('server')!r}), not Intel AMT: ConfigMgr 2007 SP1 out of band "
                                        "management supports Intel AMT (vPro) only", ISM_REMEDY)  # fmt: skip
        elif not d.get("amt"):
            status, evidence, remedy = ("warn", f"{where}: answered on {ports} but did not identify as Intel AMT "
                                        f"({d.get('error') or 'no reason recorded'}); not counted as manageable",
                                        UNKNOWN_REMEDY)  # fmt: skip
        else:
            status, evidence, remedy = {
                "native": ("pass", f"{where}: {said}, which ConfigMgr 2007 SP1 manages natively (3.2.1 and later)",
                           ""),
                "translator": ("warn", f"{where}: {said}, older than 3.2.1: manageable only through Intel's WS-MAN "
                               f"Translator, with reduced functionality", f"deploy the translator ({TRANSLATOR_URL}) "
                               "or upgrade the firmware to 3.2.1 or later"),
                "unsupported": ("fail", f"{where}: {said}: ConfigMgr 2007 SP1 does not support it, not even through "
                                "the translator", "upgrade the AMT firmware"),
            }.get(cls, ("skip", f"{where}: AMT answered but its version is unknown ({why})", "give the AMT "
                        "credentials (oob_amt_discovery.username/password) so WS-MAN reads the version"))  # fmt: skip
        rows.append({"id": f"amt.device.{d['address']}.version", "row": ROW_VERSION, "status": status,
                     "evidence": evidence, "remedy": remedy})  # fmt: skip
    return rows


# --- Digest authentication (RFC 2617, RFC 7616) --------------------------------------------------------------------

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def parse_challenges(values) -> dict:
    """The Digest challenge among ``WWW-Authenticate`` values (a string or a list; other schemes such as Negotiate
    are skipped) as a dict of its parameters with lower-case names; ValueError if none is Digest or it lacks a
    realm or nonce. Tolerates AMT's ``nonce="...",stale="false",qop="auth"`` (no space after the commas)."""
    values = [values] if isinstance(values, str) else list(values or [])
    for raw in values:
        # one header may carry several challenges ("Negotiate, Digest realm=..."): start at the Digest token
        m = re.search(r"(?:^|[\s,])Digest\s+", raw, re.IGNORECASE)
        if not m:
            continue
        rest = raw[m.end() :]
        params, pos = {}, 0
        while pos < len(rest):
            pm = _PARAM.match(rest, pos)
            if not pm or pm.end() == pos:
                break
            value = pm.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[pm.group(1).lower()] = value
            pos = pm.end()
        if "realm" not in params or "nonce" not in params:
            raise ValueError(f"the Digest challenge {raw!r} has no realm or nonce")
        return params
    raise ValueError(f"no Digest challenge in WWW-Authenticate {values!r}")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - MD5 is what RFC 2617 and AMT use


def digest_response(username: str, password: str, method: str, uri: str, challenge: dict, *, nc: int,
                    cnonce: str) -> str:  # fmt: skip
    """The ``response`` value of RFC 2617 section 3.2.2 (MD5; qop=auth when offered, else the RFC 2069 form)."""
    algorithm = challenge.get("algorithm", "MD5").upper()
    if algorithm not in ("MD5", "MD5-SESS"):
        raise ValueError(f"digest algorithm {algorithm} is not supported (MD5 and MD5-sess are)")
    ha1 = _md5(f"{username}:{challenge['realm']}:{password}")
    if algorithm == "MD5-SESS":
        ha1 = _md5(f"{ha1}:{challenge['nonce']}:{cnonce}")
    ha2 = _md5(f"{method}:{uri}")
    qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    if not qops:
        return _md5(f"{ha1}:{challenge['nonce']}:{ha2}")
    if "auth" not in qops:
        raise ValueError(f"digest qop {challenge['qop']!r} is not supported (auth is)")
    return _md5(f"{ha1}:{challenge['nonce']}:{nc:08x}:{cnonce}:auth:{ha2}")


def digest_authorization(username: str, password: str, method: str, uri: str, challenge: dict, *, nc: int,
                         cnonce: str) -> str:  # fmt: skip
    """The ``Authorization:`` header value answering ``challenge`` (from :func:`parse_challenges`)."""
    response = digest_response(username, password, method, uri, challenge, nc=nc, cnonce=cnonce)
    parts = [f'username="{username}"', f'realm="{challenge["realm"]}"', f'nonce="{challenge["nonce"]}"',
             f'uri="{uri}"', f'response="{response}"']  # fmt: skip
    if challenge.get("algorithm"):
        parts.append(f"algorithm={challenge['algorithm']}")
    if challenge.get("qop"):
        parts += ["qop=auth", f"nc={nc:08x}", f'cnonce="{cnonce}"']
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(parts)


# --- WS-Management (DSP0226) ---------------------------------------------------------------------------------------

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
}
AMT_SCHEMA = "http://intel.com/wbem/wscim/1/amt-schema/1/"
CIM_SCHEMA = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
CLASSES = {
    "AMT_GeneralSettings": AMT_SCHEMA + "AMT_GeneralSettings",
    "AMT_SetupAndConfigurationService": AMT_SCHEMA + "AMT_SetupAndConfigurationService",
    "CIM_SoftwareIdentity": CIM_SCHEMA + "CIM_SoftwareIdentity",
    "CIM_AssociatedPowerManagementService": CIM_SCHEMA + "CIM_AssociatedPowerManagementService",
    "AMT_ProvisioningCertificateHash": AMT_SCHEMA + "AMT_ProvisioningCertificateHash",
}
ACTIONS = {
    "get": "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
    "enumerate": "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
    "pull": "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull",
}
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

# AMT_SetupAndConfigurationService values (Intel AMT SDK; go-wsman-messages setupandconfiguration types)
PROVISIONING_STATES = {0: "pre", 1: "in", 2: "post"}
PROVISIONING_MODES = {0: "none", 1: "enterprise", 2: "small_business", 3: "remote_connectivity", 4: "client_control"}
# CIM_AssociatedPowerManagementService.PowerState (DMTF CIM schema ValueMap)
POWER_STATES = {1: "other", 2: "on", 3: "sleep_light", 4: "standby", 5: "power_cycle_soft", 6: "off_hard",
                7: "hibernate", 8: "off_soft", 9: "power_cycle_hard", 10: "master_bus_reset", 11: "nmi",
                12: "off_soft_graceful", 13: "off_hard_graceful", 14: "master_bus_reset_graceful",
                15: "power_cycle_soft_graceful", 16: "power_cycle_hard_graceful"}  # fmt: skip


def resource_uri(class_name: str) -> str:
    try:
        return CLASSES[class_name]
    except KeyError:
        raise ValueError(f"unknown WS-MAN class {class_name!r}: one of {', '.join(CLASSES)}") from None


def _envelope(action: str, class_name: str, message_id: int, body: str = "", selectors: dict | None = None) -> bytes:
    sel = ""
    if selectors:
        sel = "<w:SelectorSet>" + "".join(
            f'<w:Selector Name="{escape(k)}">{escape(str(v))}</w:Selector>' for k, v in selectors.items()
        ) + "</w:SelectorSet>"  # fmt: skip
    text = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<Envelope xmlns="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:w="{NS["w"]}">'
        f"<Header><a:Action>{action}</a:Action><a:To>/wsman</a:To>"
        f"<w:ResourceURI>{resource_uri(class_name)}</w:ResourceURI><a:MessageID>{int(message_id)}</a:MessageID>"
        f"<a:ReplyTo><a:Address>{ANONYMOUS}</a:Address></a:ReplyTo><w:OperationTimeout>PT60S</w:OperationTimeout>"
        f"{sel}</Header><Body>{body}</Body></Envelope>"
    )
    return text.encode("utf-8")


def wsman_get(class_name: str, message_id: int = 0, selectors: dict | None = None) -> bytes:
    """A WS-Transfer Get of the (singleton, or selected) instance of ``class_name``."""
    return _envelope(ACTIONS["get"], class_name, message_id, "", selectors)


def wsman_enumerate(class_name: str, message_id: int = 0) -> bytes:
    """A WS-Enumeration Enumerate of ``class_name`` (its answer holds the context for :func:`wsman_pull`)."""
    return _envelope(ACTIONS["enumerate"], class_name, message_id, f'<Enumerate xmlns="{NS["n"]}" />')


def wsman_pull(class_name: str, context: str, message_id: int = 0, max_elements: int = 999) -> bytes:
    """A WS-Enumeration Pull of up to ``max_elements`` instances with the context of an Enumerate answer."""
    body = (f'<Pull xmlns="{NS["n"]}"><EnumerationContext>{escape(context)}</EnumerationContext>'
            f"<MaxElements>{int(max_elements)}</MaxElements><MaxCharacters>99999</MaxCharacters></Pull>")  # fmt: skip
    return _envelope(ACTIONS["pull"], class_name, message_id, body)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _instance(elem) -> dict:
    out: dict = {}
    for child in elem:
        name = _local(child.tag)
        value = (child.text or "").strip() if len(child) == 0 else _instance(child)
        if name in out:
            out[name] = out[name] if isinstance(out[name], list) else [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def parse_wsman(data, class_name: str) -> dict:
    """A WS-MAN answer as ``{action, items, context, end}``: the instances of ``class_name`` in the body (each a
    dict of property name to text, a list for a repeated property), the enumeration context of an Enumerate or Pull
    answer, and whether the enumeration ended. ValueError on XML that is not a SOAP envelope or on a SOAP fault."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"the WS-MAN answer is not XML: {exc}") from None
    if root.tag != f"{{{NS['s']}}}Envelope":
        raise ValueError(f"the WS-MAN answer is not a SOAP 1.2 envelope (root element {root.tag})")
    body = root.find("s:Body", NS)
    if body is None:
        raise ValueError("the WS-MAN answer has no SOAP body")
    fault = body.find("s:Fault", NS)
    if fault is not None:
        code = " ".join(v.text.strip() for v in fault.iter() if _local(v.tag) == "Value" and v.text)
        reason = " ".join(t.text.strip() for t in fault.iter() if _local(t.tag) == "Text" and t.text)
        raise ValueError(f"WS-MAN fault {code}: {reason}".strip())
    action_el = root.find("s:Header/a:Action", NS)
    uri = resource_uri(class_name)
    items = [_instance(e) for e in body.iter() if _local(e.tag) == class_name and _ns(e.tag) == uri]
    context = body.find(".//n:EnumerationContext", NS)
    end = body.find(".//n:EndOfSequence", NS) is not None or body.find(".//w:EndOfSequence", NS) is not None
    return {
        "action": (action_el.text or "").strip() if action_el is not None else "",
        "items": items,
        "context": (context.text or "").strip() if context is not None else None,
        "end": end,
    }


def amt_version(items: list[dict]) -> str | None:
    """The VersionString of the CIM_SoftwareIdentity instance whose InstanceID is ``AMT``."""
    for item in items:
        if item.get("InstanceID") == "AMT" and item.get("VersionString"):
            return str(item["VersionString"])
    return None


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def provisioning(item: dict) -> dict:
    """AMT_SetupAndConfigurationService as ``{provisioning_state, provisioning_mode}`` names (raw numbers kept)."""
    state, mode = _int(item.get("ProvisioningState")), _int(item.get("ProvisioningMode"))
    return {
        "provisioning_state": PROVISIONING_STATES.get(state, f"unknown_{state}") if state is not None else None,
        "provisioning_mode": PROVISIONING_MODES.get(mode, f"unknown_{mode}") if mode is not None else None,
        "provisioning_state_raw": state,
        "provisioning_mode_raw": mode,
    }


def power_state(items: list[dict]) -> str | None:
    """The PowerState name of the first CIM_AssociatedPowerManagementService instance."""
    for item in items:
        value = _int(item.get("PowerState"))
        if value is not None:
            return POWER_STATES.get(value, f"unknown_{value}")
    return None


def general_settings(item: dict) -> dict:
    """The AMT_GeneralSettings facts discovery returns: host name, domain, digest realm."""
    return {
        "hostname": (item.get("HostName") or "").strip().lower() or None,
        "domain": (item.get("DomainName") or "").strip().lower() or None,
        "digest_realm": item.get("DigestRealm") or None,
    }


# --- AMT_ProvisioningCertificateHash --------------------------------------------------------------------------------

# AMT_ProvisioningCertificateHash.HashType: (name, hash size in bytes). Sources, Intel's own (intel/lms, Apache-2.0):
# - MEWMIProv/ME/MEMofs/AMT_ProvisioningCertificateHash.mof: ``uint8 HashType`` with ValueMap {"0", "1", "2", "3"},
#   Values {"a 16-byte hash created by MD-5", "a 20-byte hash created by SHA-1", "a 32-byte hash created by
#   SHA-256", "a 48-byte hash created by SHA-384 / a 64-byte hash created by SHA-512 (Intel(R) AMT 2.0->5.x)"};
# - MEWMIProv's PTHI_Commands::GetCertificateHash fills HashType straight from the HashAlgorithm of the firmware's
#   CFG_GetCertificateHashEntry, which the Intel AMT SDK documents as 1 SHA1 (20 bytes), 2 SHA256 (32 bytes, from
#   Release 6.0) and 3 SHA384 (48 bytes, from Release 6.0) - the codes of the provisioning hello too (amt.hello).
# So 0 is not SHA-1. Value 3 with 64 bytes of hash is SHA-512 (AMT 2.0 to 5.x, per the MOF).
HASH_TYPES = {0: ("md5", 16), 1: ("sha1", 20), 2: ("sha256", 32), 3: ("sha384", 48)}
HASH_CODES = {name: code for code, (name, _size) in HASH_TYPES.items()}
GENERIC_HASH_NAME = "intel(r) amt: provisioning certificate hash"  # LMS's ElementName; the CA is then in Description


def _bool(value, what: str) -> bool:
    text = str(value if value is not None else "").strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise ValueError(f"{what} is {value!r}, not true or false")


def certificate_hashes(items: list[dict]) -> list[dict]:
    """The AMT_ProvisioningCertificateHash instances (from :func:`parse_wsman`) as ``[{name, type, hex, default,
    enabled}]``: ``name`` the CA's friendly name (ElementName; Description when ElementName is missing or Intel's
    generic "Intel(r) AMT: Provisioning Certificate Hash"), ``type`` ``sha1``, ``sha256`` or ``sha384`` (``md5`` and
    ``sha512`` for AMT 2.0-5.x entries, ``unknown_<n>`` for a HashType not in :data:`HASH_TYPES`), ``hex`` the hash
    in lower-case hex, ``default`` IsDefault (a factory default), ``enabled`` Enabled (in use for provisioning).

    HashData is base64 on the wire (the MOF's ``uint8 HashData[]`` with the OctetString qualifier; Intel's CIM
    Framework, intel/lms CIM_Framework/.../AMT_ProvisioningCertificateHash.h, types it ``Base64``). Bytes past the
    type's size that are all zero are padding and dropped (Intel's WMI provider copies the 64-byte firmware buffer).
    ValueError when HashData is not base64, is shorter than its type says, or is longer with non-zero bytes (other
    than 64 bytes of type 3, SHA-512)."""
    out = []
    for i, item in enumerate(items):
        where = f"certificate hash {item.get('InstanceID') or i}"
        try:
            data = base64.b64decode(str(item.get("HashData") or "").strip(), validate=True)
        except (ValueError, binascii.Error):
            raise ValueError(f"{where}: HashData {item.get('HashData')!r} is not base64") from None
        if not data:
            raise ValueError(f"{where}: no HashData")
        code = _int(item.get("HashType"))
        if code in HASH_TYPES:
            kind, size = HASH_TYPES[code]
            if code == 3 and len(data) == 64 and any(data[48:]):
                kind, size = "sha512", 64
            if len(data) < size:
                raise ValueError(f"{where}: HashType {code} ({kind}) is {size} bytes, HashData has {len(data)}")
            if any(data[size:]):
                raise ValueError(f"{where}: HashType {code} ({kind}) is {size} bytes, HashData has {len(data)} "
                                 "that are not zero padding")  # fmt: skip
            data = data[:size]
        else:
            kind = f"unknown_{item.get('HashType')}"
        name = str(item.get("ElementName") or "").strip()
        if not name or name.lower() == GENERIC_HASH_NAME:
            name = str(item.get("Description") or "").strip() or name
        out.append({"name": name or None, "type": kind, "hex": data.hex(),
                    "default": _bool(item.get("IsDefault"), f"{where}: IsDefault"),
                    "enabled": _bool(item.get("Enabled"), f"{where}: Enabled")})  # fmt: skip
    return out


# --- TLS certificate -----------------------------------------------------------------------------------------------


def certificate_facts(der: bytes) -> dict:
    """Subject, issuer, validity, key type and size of a DER certificate; ValueError if it does not parse."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise ValueError(f"the TLS certificate does not parse: {exc}") from None
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_type, key_size = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, key_size = f"EC ({key.curve.name})", key.key_size
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, key_size = "DSA", key.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        key_type, key_size = type(key).__name__.replace("PublicKey", ""), None
    else:  # pragma: no cover - other key types are not used by AMT
        key_type, key_size = type(key).__name__, None
    not_after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after
    not_before = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": not_before.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "key_type": key_type,
        "key_size": key_size,
        "self_signed": cert.subject == cert.issuer,
        "serial": format(cert.serial_number, "x"),
    }
