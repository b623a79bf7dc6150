# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS for out of band management, the pure part: input checks, what a query showed, and the ProvisionServer plan.

An unprovisioned AMT device looks up ``ProvisionServer.<its DNS suffix>`` and sends its hello to port 9971 of the
answer, so the record is a CNAME to the out of band service point's FQDN, or an A record of its IPv4 address.

- ``check_fqdn``, ``check_label``, ``check_ipv4``, ``check_tsig_secret``: input checks (ValueError naming the option);
  ``record_from_params(p)``: all of dns_provision_record's that need no network.
- ``plan_record(want, have)``: from the wanted record and what one query returned, the RFC 2136 update to send
  (prerequisites and changes) and the RRsets before and after. A record of another type at the name is a conflict
  unless ``replace_conflicts``.
- ``zone_allow_update(values)`` decodes a zone's dNSProperty ([MS-DNSP] 2.3.2.1) to say whether an AD-integrated zone
  takes non-secure updates.
- ``DnsError``, the failure every DNS module_utils raises (a planner's conflict, the adapter's refusals).

No sockets, no dnspython, no Ansible: ``rfc2136.Rfc2136`` sends what is planned here.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct

from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import ipv4

RECORD_TYPES = ("CNAME", "A")
# RRsets that may sit beside a CNAME: DNSSEC's own (RFC 2181 10.1 and RFC 4035 2.5); every other type may not
# (RFC 1034 3.6.2). An A record may sit beside anything but a CNAME (TXT, DHCID a DHCP server wrote, AAAA, ...).
BESIDE_CNAME = ("RRSIG", "NSEC")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# [MS-DNSP] 2.3.2.1.1 property ids, 2.2.6.1.1 ZONE_UPDATE values
DSPROPERTY_ZONE_ALLOW_UPDATE = 0x00000002
ZONE_UPDATE = {0: "off", 1: "nonsecure and secure", 2: "secure only"}


class DnsError(Exception):
    """A failure with a message fit for the user; ``kind`` tells failures apart."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# --- input --------------------------------------------------------------------------------------------------------
def check_fqdn(value: str, what: str) -> str:
    """``value`` as a lower-case absolute name without the final dot; ValueError naming ``what`` if it is not one."""
    text = str(value or "").strip().rstrip(".")
    labels = text.split(".")
    if not text or len(text) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{what} {value!r} is not a valid DNS name (letters, digits and hyphens in dot-separated "
                         "labels of 1 to 63 characters)")  # fmt: skip
    return text.lower()


def check_label(value: str, what: str) -> str:
    text = str(value or "").strip()
    if not _LABEL.match(text):
        raise ValueError(f"{what} {value!r} is not a valid DNS label (1 to 63 letters, digits or hyphens)")
    return text


def check_ipv4(value: str, what: str) -> str:
    """An IPv4 address as text; an IPv6 address is refused: out of band management is IPv4 only."""
    return ipv4(value, what)


def check_tsig_secret(secret: str) -> bytes:
    """The TSIG secret's bytes; ValueError (without the secret) when it is not base64."""
    try:
        raw = base64.b64decode(str(secret or "").strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("tsig_key_secret is not valid base64 (the 'secret' of the key in named.conf or "
                         "tsig-keygen's output)") from None  # fmt: skip
    if not raw:
        raise ValueError("tsig_key_secret is empty")
    return raw


def record_from_params(p: dict) -> dict:
    """Every input check of dns_provision_record's parameters that needs no network; returns the wanted record's
    common part."""
    if not p["suffixes"]:
        raise ValueError("suffixes must list at least one AMT DNS suffix")
    label = check_label(p["record_name"], "record_name")
    if p["type"] == "CNAME":
        if not p.get("target"):
            raise ValueError("type=CNAME needs target: the out of band service point's FQDN")
        value = check_fqdn(p["target"], "target")
    else:
        if not p.get("ipv4"):
            raise ValueError("type=A needs ipv4: the out of band service point's IPv4 address")
        value = check_ipv4(p["ipv4"], "ipv4")
    if not 0 <= p["ttl"] <= 2147483647:
        raise ValueError(f"ttl must be 0 to 2147483647 seconds, not {p['ttl']}")
    if p["auth"] == "tsig":
        if not (p.get("tsig_key_name") and p.get("tsig_key_secret")):
            raise ValueError("auth=tsig needs tsig_key_name and tsig_key_secret")
        check_fqdn(p["tsig_key_name"], "tsig_key_name")
        check_tsig_secret(p["tsig_key_secret"])
    if p["timeout"] <= 0:
        raise ValueError("timeout must be a positive number of seconds")
    suffixes = [check_fqdn(s, "suffix") for s in p["suffixes"]]
    if len(set(suffixes)) != len(suffixes):
        raise ValueError(f"a suffix is listed twice: {suffixes}")
    return {"label": label, "value": value, "suffixes": suffixes}


# --- the plan (pure) ----------------------------------------------------------------------------------------------
def rrsets_from_answer(name: str, answer_rrsets: list[tuple[str, str, int, list[str]]]) -> dict:
    """What a query for ``name`` showed: {type: {'ttl': int, 'values': [text]}} for the RRsets owned by ``name``.

    ``answer_rrsets`` is [(owner, type, ttl, [rdata text])]; owners compare case-insensitively without the final dot.
    """
    have: dict = {}
    for owner, rdtype, ttl, values in answer_rrsets:
        if owner.rstrip(".").lower() == name.rstrip(".").lower():
            have[rdtype] = {"ttl": int(ttl), "values": sorted(v.rstrip(".").lower() if rdtype == "CNAME" else v
                                                              for v in values)}  # fmt: skip
    return have


def plan_record(want: dict, have: dict) -> dict:
    """Plan one name. ``want``: name, type (CNAME|A), value, ttl, state (present|absent), replace_conflicts.
    ``have``: {type: {'ttl', 'values'}} of every RRset at the name (rrsets_from_answer of an ANY query).

    Returns {'changed', 'conflicts': [types], 'before': [lines], 'after': [lines], 'prerequisites': [...],
    'changes': [...]} where prerequisites are ('exists'|'absent'|'name_absent', type or None) and changes are
    ('delete_name',), ('delete', type) or ('replace', type, ttl, value) - RFC 2136 sections 2.4 and 2.5.

    The prerequisites say what was read of every RRset the update depends on, so a server holding what was read
    accepts it: the RRset replaced or deleted exists (2.4.1), one added where nothing was read does not (2.4.3), a
    CNAME where the name held nothing needs the name unused (2.4.5). RRsets that may stay (TXT or DHCID beside an A)
    are left alone and are no prerequisite. A CNAME beside other data (RFC 1034 3.6.2, RFC 2181 10.1) is a conflict:
    DnsError('conflict') names the records and what to do, unless ``replace_conflicts``.
    """
    name, rtype, state = want["name"], want["type"], want.get("state", "present")
    if rtype not in RECORD_TYPES:
        raise ValueError(f"type must be one of {', '.join(RECORD_TYPES)}, not {rtype!r}")
    value = want["value"].rstrip(".").lower() if rtype == "CNAME" else want["value"]
    lines = [f"{name}. {have[t]['ttl']} IN {t} {v}" for t in sorted(have) for v in have[t]["values"]]
    mine = have.get(rtype)
    others = sorted(t for t in have if t != rtype and t not in BESIDE_CNAME)
    result = {"changed": False, "conflicts": [], "before": lines, "after": list(lines), "prerequisites": [],
              "changes": []}  # fmt: skip
    if state == "absent":
        if mine:
            result.update(changed=True, after=[line for line in lines if f" IN {rtype} " not in line],
                          prerequisites=[("exists", rtype)], changes=[("delete", rtype)])  # fmt: skip
        return result
    conflicting = others if rtype == "CNAME" else [t for t in others if t == "CNAME"]
    if mine and mine["values"] == [value] and mine["ttl"] == want["ttl"] and not conflicting:
        return result
    if conflicting and not want.get("replace_conflicts"):
        raise DnsError("conflict", _conflict_message(name, rtype, value, conflicting, lines))
    new = f"{name}. {want['ttl']} IN {rtype} {value}"
    kept = [line for line in lines if not any(f" IN {t} " in line for t in (rtype, *conflicting))]
    # what the update depends on, as read: the RRsets it replaces or deletes exist, the ones it adds do not
    prerequisites = [("exists", t) for t in sorted({*conflicting, *([rtype] if mine else [])})]
    if rtype == "CNAME" and not have:
        prerequisites = [("name_absent", None)]  # nothing at all was there (RFC 2136 3.4.2.2)
    else:
        prerequisites += [("absent", t) for t in sorted({rtype, "CNAME"} - set(have))]
    changes = [("delete", t) for t in conflicting] + [("replace", rtype, want["ttl"], value)]
    result.update(changed=True, conflicts=conflicting, after=[*kept, new], prerequisites=prerequisites,
                  changes=changes)  # fmt: skip
    return result


def _conflict_message(name: str, rtype: str, value: str, conflicting: list, lines: list) -> str:
    found = "; ".join(line for line in lines if any(f" IN {t} " in line for t in conflicting))
    if rtype == "CNAME":
        return (
            f"{name} already has {found}: a CNAME cannot sit beside other data at the same name (RFC 1034 3.6.2, "
            f"RFC 2181 10.1). Use type=A with the service point's address (an A record may sit beside them), "
            f"remove those records, or set replace_conflicts=true to delete them and add the CNAME to {value}"
        )
    return (
        f"{name} already has {found}: an A record cannot sit beside a CNAME (RFC 1034 3.6.2). Use type=CNAME "
        f"(target the service point's FQDN), remove the CNAME, or set replace_conflicts=true to replace it with "
        f"the A record {value}"
    )


def zone_allow_update(values: list[bytes]) -> str | None:
    """The dynamic-update setting in a dnsZone's dNSProperty values ([MS-DNSP] 2.3.2.1: DataLength, NameLength,
    Flag, Version, Id as little-endian 32-bit numbers, then Data): 'off', 'nonsecure and secure', 'secure only', or
    None when the zone has no DSPROPERTY_ZONE_ALLOW_UPDATE."""
    for raw in values or []:
        if len(raw) < 21:
            continue
        length, _name_length, _flag, _version, prop = struct.unpack_from("<5I", raw)
        if prop == DSPROPERTY_ZONE_ALLOW_UPDATE and length >= 1:
            data = raw[20 : 20 + length]
            number = int.from_bytes(data, "little")
            return ZONE_UPDATE.get(number, f"unknown ({number})")
    return None
