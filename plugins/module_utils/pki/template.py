# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AD CS certificate templates (``pKICertificateTemplate`` objects): attribute encodings and change planning.

Pure data handling: no I/O, no Ansible. Flag values follow [MS-CRTD] 2.4 (flags; the legacy bits as in certca.h),
2.26 msPKI-Enrollment-Flag, 2.27 msPKI-Private-Key-Flag and 2.28 msPKI-Certificate-Name-Flag.

Values are rendered as LDAP carries them: integers as decimal text, the four flag attributes as the *signed* 32-bit
number AD stores (0x80000000 is "-2147483648"), periods and key usage as bytes, OIDs as dotted text.
Bad input raises ValueError with a message meant for the playbook author.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from typing import Any

# fmt: off
GENERAL_FLAGS: dict[str, int] = {
    "enrollee_supplies_subject": 0x1, "add_email": 0x2, "publish_to_ds": 0x8, "exportable_key": 0x10,
    "auto_enrollment": 0x20, "machine_type": 0x40, "is_ca": 0x80, "add_template_name": 0x200, "is_cross_ca": 0x800,
    "do_not_persist_in_db": 0x1000, "is_default": 0x10000, "is_modified": 0x20000,
}
ENROLLMENT_FLAGS: dict[str, int] = {
    "include_symmetric_algorithms": 0x1, "pend_all_requests": 0x2, "publish_to_kra_container": 0x4,
    "publish_to_ds": 0x8, "auto_enrollment_check_user_ds_certificate": 0x10, "auto_enrollment": 0x20,
    "previous_approval_validate_reenrollment": 0x40, "domain_authentication_not_required": 0x80,
    "user_interaction_required": 0x100, "add_template_name": 0x200,
    "remove_invalid_certificate_from_personal_store": 0x400, "allow_enroll_on_behalf_of": 0x800,
    "add_ocsp_nocheck": 0x1000, "enable_key_reuse_on_nt_token_keyset_storage_full": 0x2000,
    "no_revocation_info_in_issued_certs": 0x4000, "include_basic_constraints_for_ee_certs": 0x8000,
    "allow_previous_approval_key_based_renewal_validate_reenrollment": 0x10000,
    "issuance_policies_from_request": 0x20000, "skip_auto_renewal": 0x40000, "no_security_extension": 0x80000,
}
NAME_FLAGS: dict[str, int] = {
    "enrollee_supplies_subject": 0x1, "old_cert_supplies_subject_and_alt_name": 0x8,
    "enrollee_supplies_subject_alt_name": 0x10000, "subject_alt_require_domain_dns": 0x400000,
    "subject_alt_require_spn": 0x800000, "subject_alt_require_directory_guid": 0x1000000,
    "subject_alt_require_upn": 0x2000000, "subject_alt_require_email": 0x4000000,
    "subject_alt_require_dns": 0x8000000, "subject_require_dns_as_cn": 0x10000000,
    "subject_require_email": 0x20000000, "subject_require_common_name": 0x40000000,
    "subject_require_directory_path": 0x80000000,
}
PRIVATE_KEY_FLAGS: dict[str, int] = {
    "require_private_key_archival": 0x1, "exportable_key": 0x10, "strong_key_protection_required": 0x20,
    "require_alternate_signature_algorithm": 0x40, "require_same_key_renewal": 0x80, "use_legacy_provider": 0x100,
    "ek_trust_on_use": 0x200, "ek_validate_cert": 0x400, "ek_validate_key": 0x800, "attest_preferred": 0x1000,
    "attest_required": 0x2000, "attestation_without_policy": 0x4000, "hello_logon_key": 0x200000,
}
# pKIKeyUsage as a 16-bit number: first content byte high, second low (ASN.1 BIT STRING bit 0 = 0x8000)
KEY_USAGE: dict[str, int] = {
    "digital_signature": 0x8000, "non_repudiation": 0x4000, "key_encipherment": 0x2000, "data_encipherment": 0x1000,
    "key_agreement": 0x0800, "key_cert_sign": 0x0400, "crl_sign": 0x0200, "encipher_only": 0x0100,
    "decipher_only": 0x0080,
}
EKUS: dict[str, str] = {
    "server_auth": "1.3.6.1.5.5.7.3.1", "client_auth": "1.3.6.1.5.5.7.3.2", "any_purpose": "2.5.29.37.0",
    "certificate_request_agent": "1.3.6.1.4.1.311.20.2.1", "smart_card_logon": "1.3.6.1.4.1.311.20.2.2",
    "pkinit_client": "1.3.6.1.5.2.3.4", "intel_amt_provisioning": "2.16.840.1.113741.1.2.3",
}
# Canonical spelling of the template attributes (ldap3 hands back lower-cased names)
ATTRIBUTES = (
    "cn", "displayName", "flags", "revision", "msPKI-Template-Minor-Revision", "msPKI-Template-Schema-Version",
    "msPKI-Certificate-Name-Flag", "msPKI-Enrollment-Flag", "msPKI-Private-Key-Flag", "msPKI-RA-Signature",
    "msPKI-Minimal-Key-Size", "msPKI-Certificate-Application-Policy", "msPKI-RA-Application-Policies",
    "msPKI-RA-Policies", "msPKI-Certificate-Policy", "msPKI-Supersede-Templates", "msPKI-Cert-Template-OID",
    "pKIDefaultKeySpec", "pKIMaxIssuingDepth", "pKIKeyUsage", "pKICriticalExtensions", "pKIExtendedKeyUsage",
    "pKIExpirationPeriod", "pKIOverlapPeriod", "pKIDefaultCSPs", "showInAdvancedViewOnly",
)
# Copied from nowhere: they name or describe one particular object (plus objectClass and this project's token)
IDENTITY_ATTRIBUTES = frozenset(a.lower() for a in (
    "cn", "name", "distinguishedName", "objectGUID", "whenCreated", "whenChanged", "uSNCreated", "uSNChanged",
    "objectCategory", "nTSecurityDescriptor", "msPKI-Cert-Template-OID", "revision", "msPKI-Template-Minor-Revision",
    "displayName", "instanceType", "dSCorePropagationData", "objectClass", "extensionName",
))
# fmt: on
FLAG_TABLES: dict[str, dict[str, int]] = {
    "flags": GENERAL_FLAGS,
    "mspki-enrollment-flag": ENROLLMENT_FLAGS,
    "mspki-certificate-name-flag": NAME_FLAGS,
    "mspki-private-key-flag": PRIVATE_KEY_FLAGS,
}  # fmt: skip
BINARY_ATTRIBUTES = frozenset(("pkikeyusage", "pkiexpirationperiod", "pkioverlapperiod", "ntsecuritydescriptor"))
# AD multi-valued attributes have no order; only pKIDefaultCSPs is compared in order (its values rank the CSPs)
ORDERED_ATTRIBUTES = frozenset(("pkidefaultcsps",))
REVISION, MINOR_REVISION = "revision", "msPKI-Template-Minor-Revision"
_REVISIONS = frozenset((REVISION.lower(), MINOR_REVISION.lower()))
_CANONICAL = {a.lower(): a for a in ATTRIBUTES}
_OID_RE = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_HEX_RE = re.compile(r"^0x[0-9a-f]+$")
_SUBJECT_FROM_AD = 0xFFC00000  # the SUBJECT_REQUIRE_* and SUBJECT_ALT_REQUIRE_* name flags ("build from AD")
_ESS_BITS = NAME_FLAGS["enrollee_supplies_subject"] | NAME_FLAGS["enrollee_supplies_subject_alt_name"]


def normalise_flag(value: int | str | bytes) -> int:
    """A 32-bit flag value as an unsigned int; AD returns values with bit 31 set as negative numbers."""
    try:
        number = int(value.decode("ascii") if isinstance(value, bytes) else value)
    except (TypeError, ValueError, UnicodeDecodeError):
        raise ValueError(f"a flag value must be an integer, not {value!r}") from None
    if not -(2**31) <= number < 2**32:
        raise ValueError(f"a flag value must fit in 32 bits, not {number}")
    return number & 0xFFFFFFFF


def to_ad_int(value: int | str | bytes) -> str:
    """A 32-bit value as the signed decimal text AD stores (0x80000000 → "-2147483648")."""
    number = normalise_flag(value)
    return str(number - 2**32 if number & 0x80000000 else number)


def flags_to_names(table: Mapping[str, int], value: int | str | bytes) -> list[str]:
    """The names of the bits set in ``value``, lowest bit first; bits not in ``table`` as "0x..." entries."""
    number, by_bit = normalise_flag(value), {bit: name for name, bit in table.items()}
    return [by_bit.get(1 << i, hex(1 << i)) for i in range(32) if number & (1 << i)]


def names_to_flags(table: Mapping[str, int], names: Iterable[str], what: str = "flag") -> int:
    """The value with the named bits set; "0x..." entries (as flags_to_names renders unknown bits) are accepted."""
    value = 0
    for name in names:
        key = str(name).strip().lower()
        if key in table:
            value |= table[key]
        elif _HEX_RE.match(key) and int(key, 16) < 2**32:
            value |= int(key, 16)
        else:
            raise ValueError(f"unknown {what} {name!r}; valid names: {', '.join(table)}")
    return value


_TICKS = {"year": 365 * 86400 * 10**7, "week": 7 * 86400 * 10**7, "day": 86400 * 10**7, "hour": 3600 * 10**7,
          "second": 10**7}  # fmt: skip
_PERIOD_RE = re.compile(r"(\d+)\s*([a-z]+)")


def period_to_ad(text: str) -> bytes:
    """ "2 years", "6 weeks", "90 days", "12 hours" or a combination ("1 year 2 weeks") as AD's 8 bytes.

    AD stores a negative count of 100 ns intervals, little-endian; a year is 365 days. Months are refused as
    ambiguous (30 days, or calendar months?).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a period must be text such as '2 years' or '6 weeks', not {text!r}")
    spec = text.strip().lower().replace(",", " ").replace(" and ", " ")
    if not re.fullmatch(r"\s*(\d+\s*[a-z]+\s*)+", spec):
        raise ValueError(f"cannot read the period {text!r}: write it as '<number> <unit>', e.g. '2 years'")
    ticks = 0
    for count, unit in _PERIOD_RE.findall(spec):
        singular = unit[:-1] if unit.endswith("s") else unit
        if singular == "month":
            raise ValueError(f"months are ambiguous in {text!r}: use days or weeks instead (e.g. '30 days')")
        if singular not in _TICKS:
            raise ValueError(f"unknown unit {unit!r} in {text!r}; use years, weeks, days or hours")
        ticks += int(count) * _TICKS[singular]
    if not 0 < ticks < 2**63:
        raise ValueError(f"the period {text!r} must be longer than zero and shorter than 29000 years")
    return (-ticks).to_bytes(8, "little", signed=True)


def _period_ticks(raw: bytes) -> int:
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != 8:
        raise ValueError(f"a period must be 8 bytes, not {raw!r}")
    value = int.from_bytes(raw, "little", signed=True)
    if value >= 0:
        raise ValueError(f"a period must be a negative count of 100 ns, not {value} ({bytes(raw).hex(' ')})")
    return -value


def period_from_ad(raw: bytes) -> str:
    """The 8 bytes of pKIExpirationPeriod/pKIOverlapPeriod as text: whole years, else weeks, days, hours, seconds."""
    ticks = _period_ticks(raw)
    for unit in ("year", "week", "day", "hour", "second"):
        if ticks % _TICKS[unit] == 0:
            count = ticks // _TICKS[unit]
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise ValueError(f"the period {bytes(raw).hex(' ')} is not a whole number of seconds")


def key_usage_to_ad(names: Iterable[str]) -> bytes:
    """Key usage names as the two pKIKeyUsage bytes ([digital_signature, key_encipherment] → b'\\xa0\\x00')."""
    value = names_to_flags(KEY_USAGE, names, "key usage")
    if value > 0xFFFF:
        raise ValueError(f"key usage bits must fit in 16 bits, not {hex(value)}")
    return value.to_bytes(2, "big")


def key_usage_from_ad(raw: bytes) -> list[str]:
    """The names in pKIKeyUsage (1 or 2 bytes); bits no name stands for as "0x..." entries."""
    if not isinstance(raw, (bytes, bytearray)) or len(raw) not in (1, 2):
        raise ValueError(f"pKIKeyUsage must be 1 or 2 bytes, not {raw!r}")
    value = int.from_bytes(bytes(raw).ljust(2, b"\0"), "big")
    by_bit = {bit: name for name, bit in KEY_USAGE.items()}
    return [by_bit.get(1 << i, hex(1 << i)) for i in range(15, -1, -1) if value & (1 << i)]


def resolve_ekus(items: Iterable[str]) -> list[str]:
    """EKU names (see EKUS) or dotted OIDs as OIDs, in the given order, without duplicates."""
    if isinstance(items, (str, bytes)):
        raise ValueError(f"EKUs must be a list of names or OIDs, not {items!r}")
    oids: list[str] = []
    for item in items:
        key = str(item).strip()
        oid = EKUS.get(key.lower(), key)
        if not _OID_RE.match(oid):
            raise ValueError(f"unknown EKU {item!r}: give a dotted OID or one of {', '.join(EKUS)}")
        if oid not in oids:
            oids.append(oid)
    return oids


def eku_names(oids: Iterable[str | bytes]) -> list[str]:
    """OIDs as EKU names where EKUS has one, else the OID itself."""
    by_oid = {oid: name for name, oid in EKUS.items()}
    texts = [oid.decode("ascii") if isinstance(oid, bytes) else str(oid) for oid in oids]
    return [by_oid.get(text, text) for text in texts]


def _forest_oid(forest_oid: str | bytes | None) -> str:
    text = (forest_oid.decode("ascii", "replace") if isinstance(forest_oid, bytes) else str(forest_oid or "")).strip()
    where = "the forest OID (msPKI-Cert-Template-OID on CN=OID,CN=Public Key Services,CN=Services,CN=Configuration,...)"
    if not text:
        raise ValueError(f"{where} is empty: an enterprise CA sets it when it is installed; install one, or set it")
    if not _OID_RE.match(text):
        raise ValueError(f"{where} is not a dotted-decimal OID: {text!r}")
    return text


def template_oid(forest_oid: str, rand: random.Random | None = None) -> tuple[str, str]:
    """A new template OID and the CN of its msPKI-Enterprise-Oid object under CN=OID, as Windows makes them.

    The OID is the forest OID plus two random arcs (1000000..16777215 and 1000000..99999999); the CN is the last
    arc, a dot, and 32 uppercase hex digits (a random GUID without dashes). ``rand`` lets tests seed the choice.
    """
    base, rng = _forest_oid(forest_oid), rand or random.SystemRandom()
    first, second = rng.randint(1000000, 16777215), rng.randint(1000000, 99999999)
    return f"{base}.{first}.{second}", f"{second}.{rng.getrandbits(128):032X}"


def _canonical_value(attr: str, value: Any) -> str | bytes:
    key = attr.lower()
    if isinstance(value, bytearray):
        value = bytes(value)
    if key in BINARY_ATTRIBUTES:
        return value if isinstance(value, bytes) else str(value).encode("utf-8")
    if key in FLAG_TABLES:
        return to_ad_int(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return str(value)


def normalise_attrs(attrs: Mapping[str, Any] | None) -> dict[str, list[str | bytes]]:
    """Attribute values in one comparable form: lists of str, or bytes for binary attributes.

    Names keep their spelling. A scalar becomes a one-element list and None an empty one; ints and UTF-8 bytes
    become text (2048 and b'2048' are both "2048"), the four flag attributes their signed AD form.
    """
    out: dict[str, list[str | bytes]] = {}
    seen: set[str] = set()
    for attr, values in (attrs or {}).items():
        if attr.lower() in seen:
            raise ValueError(f"attribute {attr!r} is given twice (names are case-insensitive)")
        seen.add(attr.lower())
        items = [] if values is None else values if isinstance(values, (list, tuple)) else [values]
        out[attr] = [_canonical_value(attr, v) for v in items]
    return out


def _same(attr: str, left: list[str | bytes], right: list[str | bytes]) -> bool:
    if attr.lower() in ORDERED_ATTRIBUTES:
        return left == right
    return {(type(v).__name__, v) for v in left} == {(type(v).__name__, v) for v in right}


def plan_template(desired: Mapping[str, Any], actual: Mapping[str, Any] | None) -> dict:
    """Plan a template write. Returns {'create', 'changes', 'modify', 'attributes'}.

    Attribute names match case-insensitively; attributes missing from ``desired`` are left alone, and an empty list
    means "remove". ``changes`` ({attr: {'before', 'after'}}) lists real differences only: revision and
    msPKI-Template-Minor-Revision never count. ``modify`` is what to write (MODIFY_REPLACE): the changes plus, when
    there are any, the minor revision one higher, as the Certificate Templates console does on every edit (revision
    stays: clients refresh on either). ``attributes`` is the desired set with the revisions; on create it is what to
    add: empty attributes left out, revision 100 and minor revision 1, as Windows gives new version 2 templates.
    """
    wanted = {a: v for a, v in normalise_attrs(desired).items() if a.lower() not in _REVISIONS}
    if actual is None:
        attributes = {a: v for a, v in wanted.items() if v}
        attributes.update({REVISION: ["100"], MINOR_REVISION: ["1"]})
        changes = {a: {"before": [], "after": v} for a, v in attributes.items() if a.lower() not in _REVISIONS}
        return {"create": True, "changes": changes, "modify": {}, "attributes": attributes}
    current = {a.lower(): v for a, v in normalise_attrs(actual).items()}
    changes = {}
    for attr, after in wanted.items():
        before = current.get(attr.lower(), [])
        if not _same(attr, before, after):
            changes[attr] = {"before": before, "after": after}
    minor_before = current.get(MINOR_REVISION.lower(), [])
    minor = minor_before
    if changes:
        try:
            minor = [str(int(minor_before[0]) + 1 if minor_before else 1)]
        except ValueError:
            raise ValueError(f"msPKI-Template-Minor-Revision is not a number: {minor_before[0]!r}") from None
    modify = dict(changes)
    if minor != minor_before:
        modify[MINOR_REVISION] = {"before": minor_before, "after": minor}
    attributes = dict(wanted, **{REVISION: current.get(REVISION, []), MINOR_REVISION: minor})
    return {"create": False, "changes": changes, "modify": modify, "attributes": attributes}


# The base without a source template: what duplicating the stock Web Server template as version 2 gives
V2_BASE: dict[str, list[str | bytes]] = {
    "flags": ["131649"], "msPKI-Certificate-Name-Flag": ["1"], "msPKI-Enrollment-Flag": ["0"],
    "msPKI-Private-Key-Flag": ["0"], "msPKI-RA-Signature": ["0"], "msPKI-Minimal-Key-Size": ["2048"],
    "pKIDefaultKeySpec": ["1"], "pKIMaxIssuingDepth": ["0"], "pKIKeyUsage": [b"\xa0\x00"],
    "pKICriticalExtensions": ["2.5.29.15"], "pKIExtendedKeyUsage": [EKUS["server_auth"]],
    "msPKI-Certificate-Application-Policy": [EKUS["server_auth"]],
    "pKIExpirationPeriod": [period_to_ad("2 years")], "pKIOverlapPeriod": [period_to_ad("6 weeks")],
    "pKIDefaultCSPs": ["2,Microsoft DH SChannel Cryptographic Provider",
                       "1,Microsoft RSA SChannel Cryptographic Provider"],
}  # fmt: skip
SPEC_KEYS = (
    "name", "display_name", "schema_version", "ekus", "key_usage", "minimal_key_size", "amt", "validity", "renewal",
    "enrollee_supplies_subject", "auto_approve", "enrollment_flags", "name_flags", "private_key_flags",
)  # fmt: skip
_LIST_KEYS = {"enrollment_flags": "msPKI-Enrollment-Flag", "name_flags": "msPKI-Certificate-Name-Flag",
              "private_key_flags": "msPKI-Private-Key-Flag"}  # fmt: skip
AMT_MAX_KEY_SIZE = 2048


def _check_spec(spec: Mapping[str, Any]) -> None:
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ValueError(f"unknown template option(s) {', '.join(unknown)}; valid: {', '.join(SPEC_KEYS)}")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise ValueError(f"the template name (cn) must be 1 to 64 characters, not {name!r}")
    version = spec.get("schema_version", 2)
    if version != 2:
        why = "this project writes version 2 templates only"
        if version == 1:
            why = "version 1 templates cannot be edited (Windows keeps them as shipped)"
        elif version in (3, 4):
            why = "Configuration Manager 2007 SP1 does not support version 3 (CNG) templates or later"
        raise ValueError(f"schema_version must be 2, not {version!r}: {why}")
    for key in ("ekus", "key_usage", *_LIST_KEYS):
        if key in spec and (isinstance(spec[key], (str, bytes)) or not isinstance(spec[key], (list, tuple))):
            raise ValueError(f"{key} must be a list, not {spec[key]!r}")
    size = spec.get("minimal_key_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= 16384):
        raise ValueError(f"minimal_key_size must be a number of bits from 1 to 16384, not {size!r}")
    for key in ("amt", "enrollee_supplies_subject", "auto_approve"):
        if spec.get(key) is not None and not isinstance(spec[key], bool):
            raise ValueError(f"{key} must be true or false, not {spec[key]!r}")
    if spec.get("auto_approve") and "pend_all_requests" in [str(n).lower() for n in spec.get("enrollment_flags", [])]:
        raise ValueError("auto_approve contradicts pend_all_requests in enrollment_flags")
    ess = spec.get("enrollee_supplies_subject")
    if ess is not None and "name_flags" in spec:
        if bool(names_to_flags(NAME_FLAGS, spec["name_flags"]) & 1) != ess:
            raise ValueError("enrollee_supplies_subject contradicts name_flags")


def _first(attrs: dict, attr: str) -> str | bytes | None:
    return attrs[attr][0] if attrs.get(attr) else None


def _flag(attrs: dict, attr: str) -> int:
    return normalise_flag(attrs[attr][0]) if attrs.get(attr) else 0


def build_template_attributes(spec: Mapping[str, Any], source: Mapping[str, Any] | None,
                              forest_oid_value: str, create: bool = True) -> dict[str, list[str | bytes]]:  # fmt: skip
    """The attributes of a version 2 template: ``source`` (or V2_BASE) with ``spec`` applied.

    ``source`` is a template as read from AD (any name case; bytes, text or ints): the stock template to duplicate
    when creating, or the template itself when updating, so that edits of single flag bits keep the other bits.
    Its identity attributes (IDENTITY_ATTRIBUTES) are not copied. Rules, in order:
    - displayName: ``display_name`` when given; else, for a new template (``create``), the name; else left alone.
    - msPKI-Template-Schema-Version 2; ``flags`` with is_default cleared and is_modified set (a duplicate, not stock).
    - enrollment_flags / name_flags / private_key_flags replace those attributes outright.
    - ekus set pKIExtendedKeyUsage and msPKI-Certificate-Application-Policy (a source without the latter gets a
      copy of its EKUs, as both must agree from version 2 on); key_usage, validity, renewal, minimal_key_size the
      obvious attribute.
    - enrollee_supplies_subject true sets the name flag (and the legacy bit 0x1 of ``flags``) and clears the
      "build from AD" bits; false clears both enrollee bits and, if nothing else names the subject, builds it
      from the DNS name in AD (subject_require_dns_as_cn + subject_alt_require_dns), as for computers.
    - auto_approve true clears pend_all_requests and sets msPKI-RA-Signature 0; false sets pend_all_requests.
    - amt (true) refuses a minimal key size over 2048; renewal must be shorter than validity.
    The template OID is not included (a new template gets one from template_oid). ``forest_oid_value`` is only
    checked for syntax when it is given.
    """
    _check_spec(spec)
    if forest_oid_value:
        _forest_oid(forest_oid_value)
    base = V2_BASE if source is None else source
    attrs = {_CANONICAL.get(a.lower(), a): v for a, v in normalise_attrs(base).items()
             if a.lower() not in IDENTITY_ATTRIBUTES}  # fmt: skip
    if spec.get("display_name") or create:
        attrs["displayName"] = [str(spec.get("display_name") or spec["name"])]
    attrs["msPKI-Template-Schema-Version"] = ["2"]
    for key, attr in _LIST_KEYS.items():
        if key in spec:
            table = FLAG_TABLES[attr.lower()]
            attrs[attr] = [to_ad_int(names_to_flags(table, spec[key]))]
    general = (_flag(attrs, "flags") & ~GENERAL_FLAGS["is_default"]) | GENERAL_FLAGS["is_modified"]
    ess = spec.get("enrollee_supplies_subject")
    if ess is not None:
        name_flag = _flag(attrs, "msPKI-Certificate-Name-Flag")
        if ess:
            name_flag = (name_flag | NAME_FLAGS["enrollee_supplies_subject"]) & ~_SUBJECT_FROM_AD
        else:
            name_flag &= ~_ESS_BITS
            if not name_flag & _SUBJECT_FROM_AD:
                name_flag |= NAME_FLAGS["subject_require_dns_as_cn"] | NAME_FLAGS["subject_alt_require_dns"]
        attrs["msPKI-Certificate-Name-Flag"] = [to_ad_int(name_flag)]
    if ess is not None or "name_flags" in spec:  # the legacy bit of flags follows the name flag
        general = (general & ~1) | (_flag(attrs, "msPKI-Certificate-Name-Flag") & 1)
    attrs["flags"] = [to_ad_int(general)]
    if spec.get("auto_approve") is not None:
        enrollment = _flag(attrs, "msPKI-Enrollment-Flag")
        pend = ENROLLMENT_FLAGS["pend_all_requests"]
        attrs["msPKI-Enrollment-Flag"] = [to_ad_int(enrollment & ~pend if spec["auto_approve"] else enrollment | pend)]
        if spec["auto_approve"]:
            attrs["msPKI-RA-Signature"] = ["0"]
    if "ekus" in spec:
        oids = resolve_ekus(spec["ekus"])
        attrs["pKIExtendedKeyUsage"], attrs["msPKI-Certificate-Application-Policy"] = list(oids), list(oids)
    elif "msPKI-Certificate-Application-Policy" not in attrs and "pKIExtendedKeyUsage" in attrs:
        attrs["msPKI-Certificate-Application-Policy"] = list(attrs["pKIExtendedKeyUsage"])
    if "key_usage" in spec:
        attrs["pKIKeyUsage"] = [key_usage_to_ad(list(spec["key_usage"]))]
    for key, attr in (("validity", "pKIExpirationPeriod"), ("renewal", "pKIOverlapPeriod")):
        if spec.get(key) is not None:
            attrs[attr] = [period_to_ad(str(spec[key]))]
    if spec.get("minimal_key_size") is not None:
        attrs["msPKI-Minimal-Key-Size"] = [str(spec["minimal_key_size"])]
    size = int(_first(attrs, "msPKI-Minimal-Key-Size") or 0)
    if spec.get("amt") and size > AMT_MAX_KEY_SIZE:
        raise ValueError(f"AMT cannot use keys longer than 2048 bits (minimal key size {size})")
    validity, renewal = _first(attrs, "pKIExpirationPeriod"), _first(attrs, "pKIOverlapPeriod")
    if isinstance(validity, bytes) and isinstance(renewal, bytes) and _period_ticks(renewal) >= _period_ticks(validity):
        raise ValueError(f"the renewal period ({period_from_ad(renewal)}) must be shorter than the validity "
                         f"period ({period_from_ad(validity)})")  # fmt: skip
    return attrs


def bumped_minor_revision(actual: Mapping[str, object]) -> dict[str, list[str]]:
    """{msPKI-Template-Minor-Revision: [current + 1]}: for a write that changes only the template's rights, which
    clients must also notice."""
    current = {a.lower(): v for a, v in normalise_attrs(actual).items()}.get(MINOR_REVISION.lower(), [])
    try:
        return {MINOR_REVISION: [str(int(current[0]) + 1 if current else 1)]}
    except ValueError:
        raise ValueError(f"msPKI-Template-Minor-Revision is not a number: {current[0]!r}") from None
