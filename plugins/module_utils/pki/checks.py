# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only AD CS checks: certificate-template escalation rules and the CA certificate. No I/O, no Ansible.

Escalation rules follow Certipy 5 (ESC1, ESC2, ESC3, ESC4, ESC9, ESC15) plus ESC17 (the enrollee supplies the
subject and the EKUs include server authentication), which the AMT web server template trips by design: ConfigMgr's
site server requests one certificate per AMT device with the device's FQDN in the request. It is therefore reported
as ``accepted`` when only accepted principals (the site server) can enroll, and as ``fail`` otherwise. As in
Certipy, a template with no EKU or with Any Purpose trips ESC2 and ESC3 (such a certificate also works as a
Certificate Request Agent certificate). Where this module deliberately differs from Certipy 5:

- "The enrollee supplies the subject" means ENROLLEE_SUPPLIES_SUBJECT (0x1) or ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME
  (0x10000) in msPKI-Certificate-Name-Flag (Certipy looks at 0x1 only): a subject alternative name from the request
  is just as good for impersonation. This holds for ESC1, ESC15 and ESC17.
- ESC9 (NO_SECURITY_EXTENSION, 0x80000, in msPKI-Enrollment-Flag on a client-authentication template, as Certipy
  has it) is a warning: it is exploitable only with weak certificate mapping and an account whose UPN or
  dNSHostName the enrollee can change.
- ESC4 counts every ACE type that grants the rights, including object ACEs (Certipy 5 reads object ACEs only when
  they carry the control-access bit, and counts WriteProperty only together with All-Extended-Rights):
  WriteDacl and WriteOwner in any allow ACE, whatever its object type (erring on the side of reporting; Windows
  itself checks them against the object's class only); WriteProperty (or GenericWrite) with no object type or with
  the pKICertificateTemplate class as object type (all properties); and WriteProperty on one of
  ``SECURITY_ATTRIBUTES``, the attributes that make a template exploitable. None of those belongs to a property set
  (they have no attributeSecurityGUID in [MS-ADA2]/[MS-ADA3]), so a property-set ACE cannot reach them. A
  per-attribute WriteProperty on anything else (e.g. displayName) is not reported.
- Enroll is the Enroll extended right, AutoEnroll, All-Extended-Rights (control access with no object type, or the
  template class as object type), FullControl or GenericAll. AutoEnroll counts as "can enroll" for the escalation
  rules (as Locksmith does), which errs on the side of reporting.
- Deny ACEs are honoured as described below (Certipy 5 does not evaluate them and reports a template whose Enroll
  is denied before it is allowed).

Access is evaluated the way Windows' access check does, right by right: ACEs are walked in DACL order,
inherit-only ACEs are skipped, and for each right the first ACE that allows or denies it decides (a deny that comes
after an allow for the same right changes nothing). The escalation rules evaluate each SID on its own, without group
expansion: a deny for a group the principal belongs to is not seen there, and the rights of nested group members
are not reported under their own SIDs. ``enroll_decision`` evaluates a whole access token (the principal's SID and
its groups) and is what the positive "this principal can enroll" check uses. A deny is honoured only where Windows
honours it: a deny object ACE for one attribute does not deny WriteDacl or WriteOwner.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence

from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    ACCESS_ALLOWED,
    ACCESS_ALLOWED_OBJECT,
    ACCESS_DENIED,
    ACCESS_DENIED_OBJECT,
    CONTROL_ACCESS,
    FULL_CONTROL,
    INHERIT_ONLY,
    READ_CONTROL,
    SELF_WRITE,
    WRITE_DAC,
    WRITE_OWNER,
    WRITE_PROPERTY,
    Ace,
    sid_from_bytes,
    sid_to_bytes,
)

try:
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - check_ca_certificate reports it
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

ENROLL_GUID = "0e10c968-78fb-11d2-90d4-00c04f79dc55"
AUTOENROLL_GUID = "a05b8cc2-17bc-4802-a710-e7c15ab866a2"
TEMPLATE_CLASS_GUID = "e5209ca2-3bba-11d2-90cc-00c04fd91ab1"  # schemaIDGUID of pKICertificateTemplate [MS-ADSC]
GENERIC_ALL = 0x10000000
GENERIC_WRITE = 0x40000000
# The AD rights (CONTROL_ACCESS, FULL_CONTROL, WRITE_DAC, WRITE_OWNER, WRITE_PROPERTY) come from
# ldap.security_descriptor, imported above.

# Attributes whose values decide whether a template is exploitable (schemaIDGUID from [MS-ADA2]/[MS-ADA3]): who may
# write one of them can make the template vulnerable (ESC4).
SECURITY_ATTRIBUTES = {
    "ea1dddc4-60ff-416e-8cc0-17cee534bce7": "msPKI-Certificate-Name-Flag",  # enrollee supplies subject (ESC1)
    "d15ef7d8-f226-46db-ae79-b34e560bd12c": "msPKI-Enrollment-Flag",  # manager approval, no security extension
    "fe17e04b-937d-4f7e-8e0e-9292c8d5683e": "msPKI-RA-Signature",  # authorized signatures
    "3c91fbbf-4773-4ccd-a87b-85d53e7bcf6a": "msPKI-RA-Application-Policies",
    "d546ae22-0951-4d47-817e-1c9f96faad46": "msPKI-RA-Policies",
    "18976af6-3b9e-11d2-90cc-00c04fd91ab1": "pKIExtendedKeyUsage",  # client auth, Any Purpose, request agent
    "dbd90548-aa37-4202-9966-8c537ba5ce32": "msPKI-Certificate-Application-Policy",
    "38942346-cc5b-424b-a7d8-6ffd12029c5f": "msPKI-Certificate-Policy",  # issuance policies linked to groups
    "0c15e9f5-491d-4594-918f-32813a091da9": "msPKI-Template-Schema-Version",  # back to version 1 (ESC15)
    "bf967976-0de6-11d0-a285-00aa003049e2": "flags",  # general template flags (CT_FLAG_IS_CA ...)
}

PEND_ALL_REQUESTS = 0x2  # msPKI-Enrollment-Flag: CA manager approval
NO_SECURITY_EXTENSION = 0x80000  # msPKI-Enrollment-Flag: no szOID_NTDS_CA_SECURITY_EXT in issued certificates
ENROLLEE_SUPPLIES_SUBJECT = 0x1  # msPKI-Certificate-Name-Flag
ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME = 0x10000  # msPKI-Certificate-Name-Flag
EKU_SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
EKU_SMART_CARD_LOGON = "1.3.6.1.4.1.311.20.2.2"
EKU_PKINIT = "1.3.6.1.5.2.3.4"
EKU_ANY_PURPOSE = "2.5.29.37.0"
EKU_REQUEST_AGENT = "1.3.6.1.4.1.311.20.2.1"
CLIENT_AUTH_EKUS = frozenset((EKU_CLIENT_AUTH, EKU_SMART_CARD_LOGON, EKU_PKINIT, EKU_ANY_PURPOSE))

EVERYONE = "S-1-1-0"
AUTHENTICATED_USERS = "S-1-5-11"
# Everyone, Authenticated Users, BUILTIN\Users; plus domain-relative Domain Users (513) and Domain Computers (515)
BROAD_PRINCIPALS = frozenset((EVERYONE, AUTHENTICATED_USERS, "S-1-5-32-545"))
BROAD_RIDS = frozenset((513, 515))
# SYSTEM, Enterprise Domain Controllers, BUILTIN\Administrators; plus the RIDs Certipy treats as admins:
# 498 Enterprise Read-only DCs, 500 Administrator, 502 krbtgt, 512 Domain Admins, 516 Domain Controllers,
# 518 Schema Admins, 519 Enterprise Admins, 521 Read-only DCs
ADMIN_PRINCIPALS = frozenset(("S-1-5-18", "S-1-5-9", "S-1-5-32-544"))
ADMIN_RIDS = frozenset((498, 500, 502, 512, 516, 518, 519, 521))
RULE_ORDER = ("ESC1", "ESC2", "ESC3", "ESC4", "ESC9", "ESC15", "ESC17")

_DOMAIN_RID_RE = re.compile(r"^S-1-5-21(?:-[0-9]+){3}-([0-9]+)$")
# The rights the checks look at, each decided on its own (first matching ACE wins)
ENROLL = "Enroll"
AUTOENROLL = "AutoEnroll"
_WRITE_DACL = "WriteDacl"
_WRITE_OWNER = "WriteOwner"
_WRITE_PROPS = frozenset(f"WriteProperty:{guid}" for guid in SECURITY_ATTRIBUTES)
_ENROLL_RIGHTS = frozenset((ENROLL, AUTOENROLL))
_WRITE_RIGHTS = frozenset((_WRITE_DACL, _WRITE_OWNER)) | _WRITE_PROPS
_DS_GENERIC_WRITE = READ_CONTROL | SELF_WRITE | WRITE_PROPERTY  # GENERIC_WRITE as AD maps it
_ACCESS_TYPES = frozenset((ACCESS_ALLOWED, ACCESS_DENIED, ACCESS_ALLOWED_OBJECT, ACCESS_DENIED_OBJECT))
_UTC = datetime.timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11


def _normal_sid(sid: str) -> str:
    """``S-1-...`` in canonical form; ValueError if ``sid`` is not a SID string."""
    return sid_from_bytes(sid_to_bytes(sid))[0]


def _domain_rid(sid: str) -> int | None:
    match = _DOMAIN_RID_RE.match(sid.upper()) if isinstance(sid, str) else None
    return int(match.group(1)) if match else None


def is_broad(sid: str) -> bool:
    """True for Everyone, Authenticated Users, BUILTIN\\Users and any domain's Domain Users / Domain Computers."""
    return isinstance(sid, str) and (sid.upper() in BROAD_PRINCIPALS or _domain_rid(sid) in BROAD_RIDS)


def is_admin(sid: str) -> bool:
    """True for principals that already control the domain or forest (not counted as escalation paths)."""
    return isinstance(sid, str) and (sid.upper() in ADMIN_PRINCIPALS or _domain_rid(sid) in ADMIN_RIDS)


def _mask(ace: Ace) -> int:
    """The ACE's access mask with the generic rights mapped as AD maps them."""
    mask = ace.mask | (FULL_CONTROL if ace.mask & GENERIC_ALL else 0)
    return mask | (_DS_GENERIC_WRITE if mask & GENERIC_WRITE else 0)


def _whole(ace: Ace) -> bool:
    """The ACE applies to the whole template: no object type, or the template class itself."""
    return ace.object_type is None or ace.object_type == TEMPLATE_CLASS_GUID


def _rights(ace: Ace) -> frozenset[str]:
    """The checked rights ``ace`` allows or denies on the template itself (see the module docstring): Enroll,
    AutoEnroll, WriteDacl, WriteOwner, ``WriteProperty:<guid>`` for each of SECURITY_ATTRIBUTES. Empty for
    inherit-only ACEs and ACE types other than the four access allowed/denied ones."""
    if ace.flags & INHERIT_ONLY or ace.ace_type not in _ACCESS_TYPES:
        return frozenset()
    mask, whole = _mask(ace), _whole(ace)
    rights: set[str] = set()
    if whole or not ace.is_deny:  # an allow counts whatever its object type; a deny only where Windows applies it
        rights.update(name for bit, name in ((WRITE_DAC, _WRITE_DACL), (WRITE_OWNER, _WRITE_OWNER)) if mask & bit)
    if mask & WRITE_PROPERTY:
        if whole:
            rights |= _WRITE_PROPS
        elif ace.object_type in SECURITY_ATTRIBUTES:
            rights.add(f"WriteProperty:{ace.object_type}")
    if mask & CONTROL_ACCESS:
        if whole:
            rights |= _ENROLL_RIGHTS
        else:
            rights.update(name for guid, name in ((ENROLL_GUID, ENROLL), (AUTOENROLL_GUID, AUTOENROLL))
                          if ace.object_type == guid)  # fmt: skip
    return frozenset(rights)


def _check_dacl(dacl: Sequence[Ace] | None) -> Sequence[Ace]:
    """``dacl`` itself, or for None (a NULL DACL, which gives Everyone full control) that one ACE."""
    if dacl is None:
        return [Ace(ACCESS_ALLOWED, 0, GENERIC_ALL, EVERYONE)]
    for ace in dacl:
        if not isinstance(ace, Ace):
            raise ValueError(f"the DACL must hold ldap.security_descriptor.Ace objects, got {type(ace).__name__}")
    return dacl


def _labels(ace: Ace, live: frozenset[str]) -> tuple[list[str], list[str]]:
    """Names for what an allow ACE contributes (``live``: its rights not denied earlier): (enroll, write)."""
    mask, whole = ace.mask, _whole(ace)
    full = "GenericAll" if mask & GENERIC_ALL else "FullControl" if mask & FULL_CONTROL == FULL_CONTROL else ""
    if whole and full:
        return [full] if live & _ENROLL_RIGHTS else [], [full] if live & _WRITE_RIGHTS else []
    enroll = []
    if live & _ENROLL_RIGHTS:
        enroll = [{ENROLL_GUID: ENROLL, AUTOENROLL_GUID: AUTOENROLL}.get(ace.object_type or "", "AllExtendedRights")]
    write = ["GenericWrite"] if whole and mask & GENERIC_WRITE and live & _WRITE_PROPS else []
    write += [name for name in (_WRITE_DACL, _WRITE_OWNER) if name in live]
    if live & _WRITE_PROPS and mask & WRITE_PROPERTY:
        write.append("WriteProperty" if whole else f"WriteProperty({SECURITY_ATTRIBUTES[ace.object_type or '']})")
    return enroll, write


def _access(dacl: Sequence[Ace] | None) -> dict[str, dict]:
    """Per SID: {'granted': rights, 'denied': rights, 'enroll': [labels], 'write': [labels]}; for each right the
    first ACE of that SID that allows or denies it decides."""
    state: dict[str, dict] = {}
    for ace in _check_dacl(dacl):
        rights = _rights(ace)
        if not rights:
            continue
        entry = state.setdefault(ace.sid, {"granted": frozenset(), "denied": frozenset(), "enroll": [], "write": []})
        if ace.is_deny:
            entry["denied"] |= rights - entry["granted"]
            continue
        live = rights - entry["denied"]
        entry["granted"] |= live
        enroll, write = _labels(ace, live)
        entry["enroll"].extend(name for name in enroll if name not in entry["enroll"])
        entry["write"].extend(name for name in write if name not in entry["write"])
    return state


def enrollers(dacl: Sequence[Ace] | None) -> dict[str, list[str]]:
    """Principals that can enroll (Enroll or AutoEnroll, directly or through AllExtendedRights / FullControl /
    GenericAll), with the reasons, e.g. {'S-1-5-11': ['Enroll']}. Explicit and inherited ACEs count; a deny for
    the same SID removes the right if it comes first in the DACL (canonical order puts explicit denies first).
    Denies for groups the principal is a member of are not evaluated here (see ``enroll_decision``)."""
    return {sid: e["enroll"] for sid, e in _access(dacl).items() if e["granted"] & _ENROLL_RIGHTS}


def dangerous_writers(dacl: Sequence[Ace] | None, owner: str | None) -> dict[str, list[str]]:
    """ESC4: non-admin principals that can rewrite the template (GenericAll, FullControl, GenericWrite, WriteDacl,
    WriteOwner, WriteProperty on all properties or on one of SECURITY_ATTRIBUTES), plus a non-admin owner ('Owner':
    owners may always rewrite the DACL)."""
    found = {sid: e["write"] for sid, e in _access(dacl).items() if e["granted"] & _WRITE_RIGHTS and not is_admin(sid)}
    if owner is not None and not is_admin(owner):
        found.setdefault(_normal_sid(owner), []).append("Owner")
    return found


def enroll_decision(dacl: Sequence[Ace] | None, token: Iterable[str]) -> dict:
    """Whether a principal whose access token holds the SIDs ``token`` (its own SID and its groups' SIDs) may use
    the Enroll extended right: {'allowed': bool, 'sid': the SID of the deciding ACE or None, 'ace': that ACE in SDDL
    or None}. The first ACE in DACL order that allows or denies Enroll to any SID of the token decides, as in
    Windows' access check; none at all means no Enroll. AutoEnroll alone does not let a principal enroll."""
    sids = {_normal_sid(sid) for sid in token}
    if dacl is None:
        return {"allowed": True, "sid": EVERYONE, "ace": "NULL DACL (everyone has full control)"}
    for ace in _check_dacl(dacl):
        if ace.sid in sids and ENROLL in _rights(ace):
            return {"allowed": not ace.is_deny, "sid": ace.sid, "ace": ace.to_sddl()}
    return {"allowed": False, "sid": None, "ace": None}


def _who(principals: dict[str, list[str]], verb: str) -> str:
    """'A can enroll (Enroll)' or 'A (Enroll) and B (GenericAll) can enroll'."""
    parts = [f"{sid} ({', '.join(principals[sid])})" for sid in sorted(principals)]
    if len(parts) == 1:
        sid = next(iter(principals))
        return f"{sid} {verb} ({', '.join(principals[sid])})"
    return f"{', '.join(parts[:-1])} and {parts[-1]} {verb}"


def _supplies(name_flag: int) -> str:
    """What the enrollee supplies in the request, from msPKI-Certificate-Name-Flag ('' for nothing)."""
    subject, san = name_flag & ENROLLEE_SUPPLIES_SUBJECT, name_flag & ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME
    what = " and the ".join(part for flag, part in ((subject, "subject"), (san, "subject alternative name")) if flag)
    return f"the enrollee supplies the {what}" if what else ""


def _template_facts(template: dict) -> tuple[str, int, int, int, int, frozenset[str]]:
    if not isinstance(template, dict):
        raise ValueError(f"template must be a dict of decoded attributes, got {type(template).__name__}")
    keys = ("name", "schema_version", "enrollment_flag", "name_flag", "ra_signature", "ekus")
    missing = [key for key in keys if key not in template]
    if missing:
        raise ValueError(f"template is missing {', '.join(missing)}")
    name, ekus = template["name"], template["ekus"]
    if not isinstance(name, str) or not name:
        raise ValueError(f"template name must be a non-empty string, got {name!r}")
    for key in keys[1:5]:
        if not isinstance(template[key], int) or isinstance(template[key], bool):
            raise ValueError(f"template {name!r}: {key} must be an integer, got {template[key]!r}")
    if isinstance(ekus, (str, bytes)) or not isinstance(ekus, Iterable) or not all(isinstance(e, str) for e in ekus):
        raise ValueError(f"template {name!r}: ekus must be a list of OID strings, got {ekus!r}")
    schema, enrollment_flag, name_flag, ra_signature = (template[key] for key in keys[1:5])
    return name, schema, enrollment_flag, name_flag, ra_signature, frozenset(e.strip() for e in ekus)


def evaluate_escalations(
    template: dict,
    dacl: Sequence[Ace] | None,
    owner: str | None,
    published: bool,
    accepted_esc17_principals: Iterable[str] = (),
    *,
    managed: bool = True,
) -> list[dict]:
    """Findings for one template, in rule order: [{rule, severity, template, principals, reason}].

    ESC4 is evaluated always. The enrollment rules (ESC1, ESC2, ESC3, ESC9, ESC15, ESC17) only on a published
    template that issues without approval (no PEND_ALL_REQUESTS, msPKI-RA-Signature 0), for its non-admin enrollers
    (an admin who can enroll gains nothing, and templates copied from Web Server give Domain/Enterprise Admins
    Enroll). ESC17 is 'accepted' when every non-admin enroller is in ``accepted_esc17_principals`` (SIDs) and none
    is a broad group; otherwise 'fail', naming the offending principals. ESC9 is 'warn'; all other findings are
    'fail'. For a template this project does not manage (``managed`` false) every 'fail' is a 'warn' instead: it is
    reported, not owned.
    """
    name, schema, enrollment_flag, name_flag, ra_signature, ekus = _template_facts(template)
    accepted = {_normal_sid(sid) for sid in accepted_esc17_principals}
    findings: list[dict] = []

    def add(rule: str, principals: Iterable[str], reason: str, severity: str = "fail") -> None:
        severity = "warn" if severity == "fail" and not managed else severity
        findings.append({"rule": rule, "severity": severity, "template": name, "principals": sorted(principals),
                         "reason": f"{rule} on {name!r}: {reason}"})  # fmt: skip

    writers = dangerous_writers(dacl, owner)
    if writers:
        add("ESC4", writers, f"{_who(writers, 'can modify the template')}, so they can make it vulnerable")
    auto = not enrollment_flag & PEND_ALL_REQUESTS and ra_signature == 0
    users = {sid: why for sid, why in enrollers(dacl).items() if not is_admin(sid)}
    if published and auto and users:
        who, supplies = _who(users, "can enroll"), _supplies(name_flag)
        client_auth = not ekus or bool(ekus & CLIENT_AUTH_EKUS)
        eku = "EKUs allow client authentication" if ekus else "template has no EKU (valid for any purpose)"
        if supplies and client_auth:
            add("ESC1", users, f"{who}, {supplies} and the {eku}")
        any_eku = "EKUs include Any Purpose" if ekus else "template has no EKU (valid for any purpose)"
        if not ekus or EKU_ANY_PURPOSE in ekus:
            add("ESC2", users, f"{who} and the {any_eku}")
        if not ekus or ekus & {EKU_REQUEST_AGENT, EKU_ANY_PURPOSE}:
            agent = "EKUs include Certificate Request Agent" if EKU_REQUEST_AGENT in ekus else \
                f"{any_eku}, which includes Certificate Request Agent"  # fmt: skip
            add("ESC3", users, f"{who} and the {agent}, so they can request certificates on behalf of other users")
        if enrollment_flag & NO_SECURITY_EXTENSION and client_auth:
            add("ESC9", users, f"{who}, msPKI-Enrollment-Flag has NO_SECURITY_EXTENSION (0x80000) and the {eku}: the "
                               "certificates carry no SID security extension, so where certificate mapping is weak an "
                               "enrollee who can change an account's userPrincipalName or dNSHostName can "
                               "authenticate as another account", "warn")  # fmt: skip
        if supplies and schema == 1:
            add("ESC15", users, f"{who} and {supplies} on a schema version 1 template (application policies in "
                                "the request are honoured)")  # fmt: skip
        if supplies and EKU_SERVER_AUTH in ekus:
            cond = f"{who}, {supplies} and the EKUs include server authentication"
            bad = {sid: "broad group" if is_broad(sid) else "not accepted" for sid in users
                   if is_broad(sid) or sid not in accepted}  # fmt: skip
            if bad:
                detail = ", ".join(f"{sid} ({bad[sid]})" for sid in sorted(bad))
                add("ESC17", bad, f"{cond}; not accepted: {detail}")
            else:
                add("ESC17", users, f"{cond}; accepted by design (only accepted principals can enroll)", "accepted")
    return sorted(findings, key=lambda finding: RULE_ORDER.index(finding["rule"]))


def _key_info(key: object) -> tuple[str, int]:
    """('RSA'|'EC'|'DSA'|'Ed25519'|'Ed448'|class name, bits)."""
    for kind, name in ((rsa.RSAPublicKey, "RSA"), (ec.EllipticCurvePublicKey, "EC"), (dsa.DSAPublicKey, "DSA")):
        if isinstance(key, kind):
            return name, int(key.curve.key_size if name == "EC" else key.key_size)  # type: ignore[attr-defined]
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 448
    return type(key).__name__, 0


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value


def check_ca_certificate(der: bytes, now: datetime.datetime, max_key_bits: int = 2048, warn_days: int = 90) -> dict:
    """Check a CA certificate (DER, as in cACertificate) for use with Intel AMT.

    Returns {status: pass|warn|fail, subject (RFC 4514), key_type, key_bits, not_after (ISO 8601, UTC), days_left,
    problems: [sentences]}. fail: not RSA, RSA longer than ``max_key_bits``, expired or not yet valid; warn: fewer
    than ``warn_days`` days left. ``now`` without a time zone is taken as UTC. ValueError if ``der`` does not parse;
    ImportError if the cryptography library is missing (see HAS_CRYPTOGRAPHY).
    """
    if not HAS_CRYPTOGRAPHY:
        raise ImportError(f"the cryptography library is required to check CA certificates: {CRYPTOGRAPHY_IMPORT_ERROR}")
    if not isinstance(now, datetime.datetime):
        raise ValueError(f"now must be a datetime, got {type(now).__name__}")
    try:
        cert = x509.load_der_x509_certificate(bytes(der))
        subject = cert.subject.rfc4514_string()
        not_before = _utc(getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)
        not_after = _utc(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cACertificate is not a DER X.509 certificate: {exc}") from exc
    try:
        key_type, key_bits = _key_info(cert.public_key())
    except (UnsupportedAlgorithm, ValueError) as exc:
        key_type, key_bits = f"unsupported ({exc})", 0
    now = _utc(now)
    days_left = (not_after - now).days
    problems, warnings = [], []
    if key_type != "RSA":
        size = f" ({key_bits} bits)" if key_bits else ""
        problems.append(f"the CA certificate's key is {key_type}{size}; Intel AMT needs an RSA CA key of at most "
                        f"{max_key_bits} bits")  # fmt: skip
    elif key_bits > max_key_bits:
        article = "an" if str(key_bits).startswith(("8", "11", "18")) else "a"
        problems.append(f"the CA certificate has {article} {key_bits}-bit RSA key; Intel AMT cannot use CA "
                        f"certificates with keys longer than {max_key_bits} bits")  # fmt: skip
    if now >= not_after:
        problems.append(f"the CA certificate expired on {not_after.isoformat()}")
    elif now < not_before:
        problems.append(f"the CA certificate is not valid before {not_before.isoformat()}")
    elif days_left < warn_days:
        warnings.append(f"the CA certificate expires in {days_left} days (on {not_after.isoformat()}), "
                        f"fewer than {warn_days}")  # fmt: skip
    return {
        "status": "fail" if problems else "warn" if warnings else "pass",
        "subject": subject,
        "key_type": key_type,
        "key_bits": key_bits,
        "not_after": not_after.isoformat(),
        "days_left": days_left,
        "problems": problems + warnings,
    }
