# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows / Active Directory security descriptors in self-relative binary form (``nTSecurityDescriptor``).

Pure data handling: no I/O, no Ansible. Formats follow [MS-DTYP]: 2.4.2 SID, 2.4.4 ACE, 2.4.5 ACL,
2.4.6 SECURITY_DESCRIPTOR; ``to_sddl``/``dacl_sddl`` render SDDL (2.5.1) for display and diffs only.

Round-tripping: ``SecurityDescriptor.from_bytes(x).to_bytes() == x`` for descriptors as AD stores them. The order
of the components after the 20-byte header is recorded and kept: Samba writes owner, group, SACL, DACL; Windows'
RtlMakeSelfRelativeSD writes SACL, DACL, owner, group, which is the default for new descriptors. Not preserved:
gaps between components and unused space at the end of an ACL (both are compacted). The SACL is kept as opaque
bytes. ACE types other than the four access-allowed/denied ones keep their exact bytes in ``Ace.raw``.
Malformed input raises ValueError, never IndexError or struct.error.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

ACCESS_ALLOWED = 0x00
ACCESS_DENIED = 0x01
ACCESS_ALLOWED_OBJECT = 0x05
ACCESS_DENIED_OBJECT = 0x06
# Types carrying ObjectType/InheritedObjectType GUIDs (allowed/denied/audit/alarm object, callback variants)
OBJECT_ACE_TYPES = frozenset((0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0F, 0x10))
DENY_ACE_TYPES = frozenset((0x01, 0x06, 0x0A, 0x0C))
_PARSED_TYPES = frozenset((ACCESS_ALLOWED, ACCESS_DENIED, ACCESS_ALLOWED_OBJECT, ACCESS_DENIED_OBJECT))

OBJECT_INHERIT = 0x01
CONTAINER_INHERIT = 0x02
NO_PROPAGATE_INHERIT = 0x04
INHERIT_ONLY = 0x08
INHERITED = 0x10

CREATE_CHILD = 0x1
DELETE_CHILD = 0x2
LIST_CHILDREN = 0x4
SELF_WRITE = 0x8
READ_PROPERTY = 0x10
WRITE_PROPERTY = 0x20
DELETE_TREE = 0x40
LIST_OBJECT = 0x80
CONTROL_ACCESS = 0x100
DELETE = 0x10000
READ_CONTROL = 0x20000
WRITE_DAC = 0x40000
WRITE_OWNER = 0x80000
FULL_CONTROL = 0xF01FF

GUID_COMPUTER_CLASS = "bf967a86-0de6-11d0-a285-00aa003049e2"

# SECURITY_DESCRIPTOR control bits (2.4.6) and ACL revisions (2.4.5)
SE_DACL_PRESENT = 0x0004
SE_SACL_PRESENT = 0x0010
SE_DACL_AUTO_INHERIT_REQ = 0x0100
SE_DACL_AUTO_INHERITED = 0x0400
SE_DACL_PROTECTED = 0x1000
SE_SELF_RELATIVE = 0x8000
ACL_REVISION = 2
ACL_REVISION_DS = 4
_DACL_FLAGS = ((SE_DACL_PROTECTED, "P"), (SE_DACL_AUTO_INHERIT_REQ, "AR"), (SE_DACL_AUTO_INHERITED, "AI"))
_SD_FIELDS = ("owner", "group", "sacl", "dacl")  # offsets in the header, in this order
WINDOWS_ORDER = ("sacl", "dacl", "owner", "group")
SAMBA_ORDER = ("owner", "group", "sacl", "dacl")

_PRESENT_BITS = (0x1, 0x2)  # ACE_OBJECT_TYPE_PRESENT, ACE_INHERITED_OBJECT_TYPE_PRESENT
_SID_RE = re.compile(r"^[Ss]-1-([0-9]+|0[xX][0-9a-fA-F]+)((?:-[0-9]+)*)$")
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# SDDL (2.5.1.1) tokens; rights and flags in the order Windows prints them (ascending bits)
# fmt: off
_TYPE_LETTERS = {0x00: "A", 0x01: "D", 0x02: "AU", 0x03: "AL", 0x05: "OA", 0x06: "OD", 0x07: "OU", 0x08: "OL",
                 0x09: "XA", 0x0A: "XD", 0x0B: "ZA", 0x0D: "XU", 0x11: "ML", 0x12: "RA", 0x13: "SP"}
_FLAG_LETTERS = ((0x01, "OI"), (0x02, "CI"), (0x04, "NP"), (0x08, "IO"), (0x10, "ID"), (0x40, "SA"), (0x80, "FA"))
_RIGHT_LETTERS = ((0x1, "CC"), (0x2, "DC"), (0x4, "LC"), (0x8, "SW"), (0x10, "RP"), (0x20, "WP"), (0x40, "DT"),
                  (0x80, "LO"), (0x100, "CR"), (0x10000, "SD"), (0x20000, "RC"), (0x40000, "WD"), (0x80000, "WO"),
                  (0x10000000, "GA"), (0x20000000, "GX"), (0x40000000, "GW"), (0x80000000, "GR"))
# Only the aliases for fixed SIDs; domain-relative ones (DA, DU, ...) depend on the domain and stay S-... strings
SDDL_SID_ALIASES: dict[str, str] = {
    "S-1-1-0": "WD", "S-1-3-0": "CO", "S-1-3-1": "CG", "S-1-3-4": "OW", "S-1-5-2": "NU", "S-1-5-4": "IU",
    "S-1-5-6": "SU", "S-1-5-7": "AN", "S-1-5-9": "ED", "S-1-5-10": "PS", "S-1-5-11": "AU", "S-1-5-12": "RC",
    "S-1-5-18": "SY", "S-1-5-19": "LS", "S-1-5-20": "NS", "S-1-5-33": "WR", "S-1-5-32-544": "BA",
    "S-1-5-32-545": "BU", "S-1-5-32-546": "BG", "S-1-5-32-547": "PU", "S-1-5-32-548": "AO", "S-1-5-32-549": "SO",
    "S-1-5-32-550": "PO", "S-1-5-32-551": "BO", "S-1-5-32-552": "RE", "S-1-5-32-554": "RU", "S-1-5-32-555": "RD",
    "S-1-5-32-556": "NO", "S-1-5-32-558": "MU", "S-1-5-32-559": "LU", "S-1-5-32-568": "IS", "S-1-5-32-569": "CY",
    "S-1-5-32-573": "ER", "S-1-5-32-579": "AA", "S-1-5-32-580": "RM",
}
# fmt: on


def _unpack(fmt: str, data: bytes, offset: int, what: str) -> tuple:
    """struct.unpack_from, with truncation reported as ValueError."""
    if offset < 0 or offset + struct.calcsize(fmt) > len(data):
        raise ValueError(f"truncated {what}: need {struct.calcsize(fmt)} bytes at offset {offset}, have {len(data)}")
    return struct.unpack_from(fmt, data, offset)


def sid_from_bytes(data: bytes, offset: int = 0) -> tuple[str, int]:
    """Decode a binary SID (2.4.2.2) at ``offset``; return its string form (2.4.2.1) and its length in bytes."""
    revision, count = _unpack("<BB", data, offset, "SID")
    if revision != 1:
        raise ValueError(f"SID revision {revision} at offset {offset} is not 1")
    if count > 15:
        raise ValueError(f"SID at offset {offset} has {count} sub-authorities (at most 15 allowed)")
    authority = int.from_bytes(_unpack("6s", data, offset + 2, "SID")[0], "big")
    subs = _unpack(f"<{count}I", data, offset + 8, "SID")
    auth_str = str(authority) if authority < 2**32 else f"0x{authority:012X}"
    return "-".join(["S-1", auth_str] + [str(s) for s in subs]), 8 + 4 * count


def sid_to_bytes(sid: str) -> bytes:
    """Encode an ``S-1-...`` string as a binary SID; ValueError if it is not a valid SID string."""
    match = _SID_RE.match(sid) if isinstance(sid, str) else None
    if not match:
        raise ValueError(f"invalid SID string {sid!r}: expected S-1-<authority>-<sub-authority>...")
    authority = int(match.group(1), 0 if match.group(1)[:2].lower() == "0x" else 10)
    subs = [int(s) for s in match.group(2).split("-")[1:]]
    if authority >= 2**48 or len(subs) > 15 or any(s >= 2**32 for s in subs):
        raise ValueError(f"invalid SID string {sid!r}: authority < 2^48, at most 15 sub-authorities < 2^32")
    return struct.pack(f"<BB6s{len(subs)}I", 1, len(subs), authority.to_bytes(6, "big"), *subs)


def guid_from_bytes(b: bytes) -> str:
    """Decode a 16-byte GUID as Windows stores it (first three fields little-endian) to lowercase string form."""
    if not isinstance(b, (bytes, bytearray)) or len(b) != 16:
        raise ValueError(f"a binary GUID is 16 bytes, got {len(b) if isinstance(b, (bytes, bytearray)) else b!r}")
    return str(uuid.UUID(bytes_le=bytes(b)))


def guid_to_bytes(s: str) -> bytes:
    """Encode ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` (braces allowed) in Windows' mixed-endian binary form."""
    text = s[1:-1] if isinstance(s, str) and s[:1] == "{" and s[-1:] == "}" else s
    if not isinstance(text, str) or not _GUID_RE.match(text):
        raise ValueError(f"invalid GUID {s!r}: expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
    return uuid.UUID(text).bytes_le


@dataclass(frozen=True)
class Ace:
    """One ACE (2.4.4). SIDs are normalized to ``S-1-...`` and GUIDs to lowercase on construction.

    ``raw`` holds the ACE's exact bytes when it cannot be rebuilt from the other fields: ACE types other than
    allowed/denied (plain or object), for which ``mask``/``sid``/GUIDs are filled in best effort for display only,
    or a non-canonical encoding (e.g. extra bytes). ``raw`` takes part in ``==``, so two opaque ACEs compare by
    their bytes; the planner helpers (``find_equivalent``, ``remove_exact``) compare semantically instead.
    """

    ace_type: int
    flags: int
    mask: int
    sid: str
    object_type: str | None = None
    inherited_object_type: str | None = None
    raw: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name, value, bits in (("ace_type", self.ace_type, 8), ("flags", self.flags, 8), ("mask", self.mask, 32)):
            if not isinstance(value, int) or not 0 <= value < 2**bits:
                raise ValueError(f"ACE {name} {value!r} is not an unsigned {bits}-bit integer")
        if self.raw is None or self.sid:
            object.__setattr__(self, "sid", sid_from_bytes(sid_to_bytes(self.sid))[0])
        for name in ("object_type", "inherited_object_type"):
            value = getattr(self, name)
            if value is not None:
                if self.ace_type not in OBJECT_ACE_TYPES:
                    raise ValueError(f"ACE type 0x{self.ace_type:02x} cannot carry {name}")
                object.__setattr__(self, name, guid_from_bytes(guid_to_bytes(value)))

    @property
    def is_inherited(self) -> bool:
        return bool(self.flags & INHERITED)

    @property
    def is_deny(self) -> bool:
        return self.ace_type in DENY_ACE_TYPES

    @classmethod
    def from_bytes(cls, data: bytes, offset: int = 0) -> tuple[Ace, int]:
        """Decode the ACE at ``offset``; return it and its AceSize."""
        ace_type, flags, size = _unpack("<BBH", data, offset, "ACE header")
        if size < 4 or offset + size > len(data):
            raise ValueError(f"ACE at offset {offset} has size {size}, but {len(data) - offset} bytes remain")
        body = bytes(data[offset : offset + size])
        try:
            ace = cls._parse(ace_type, flags, body)
        except ValueError:
            if ace_type in _PARSED_TYPES:
                raise
            return cls(ace_type, flags, 0, "", raw=body), size
        if ace_type not in _PARSED_TYPES or ace.to_bytes() != body:
            ace = cls(ace.ace_type, flags, ace.mask, ace.sid, ace.object_type, ace.inherited_object_type, raw=body)
        return ace, size

    @classmethod
    def _parse(cls, ace_type: int, flags: int, body: bytes) -> Ace:
        (mask,) = _unpack("<I", body, 4, "ACE mask")
        pos, guids = 8, [None, None]
        if ace_type in OBJECT_ACE_TYPES:
            (present,) = _unpack("<I", body, 8, "object ACE flags")
            pos = 12
            for i, bit in enumerate(_PRESENT_BITS):
                if present & bit:
                    guids[i] = guid_from_bytes(_unpack("16s", body, pos, "object ACE GUID")[0])
                    pos += 16
        sid = sid_from_bytes(body, pos)[0]
        return cls(ace_type, flags, mask, sid, guids[0], guids[1])

    def to_bytes(self) -> bytes:
        """Encode the ACE; AceSize is padded to a multiple of 4 as Windows does (SIDs already are)."""
        if self.raw is not None:
            return self.raw
        body = struct.pack("<I", self.mask)
        if self.ace_type in OBJECT_ACE_TYPES:
            guids = (self.object_type, self.inherited_object_type)
            body += struct.pack("<I", (0x1 if self.object_type else 0) | (0x2 if self.inherited_object_type else 0))
            body += b"".join(guid_to_bytes(guid) for guid in guids if guid)
        body += sid_to_bytes(self.sid)
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<BBH", self.ace_type, self.flags, 4 + len(body)) + body

    def to_sddl(self) -> str:
        """SDDL ace_string (2.5.1.1), e.g. ``(OA;CIIO;CCDC;bf967a86-...;;S-1-5-21-1-2-3-1103)``."""
        fields = [
            _TYPE_LETTERS.get(self.ace_type, f"0x{self.ace_type:02x}"),
            _letters(self.flags, _FLAG_LETTERS),
            _letters(self.mask, _RIGHT_LETTERS) if self.mask else "0x0",
            self.object_type or "",
            self.inherited_object_type or "",
            SDDL_SID_ALIASES.get(self.sid, self.sid),
        ]
        return "(" + ";".join(fields) + ")"


def _letters(value: int, table: Sequence[tuple[int, str]]) -> str:
    """SDDL letters for ``value`` when every bit has one, else ``0x...``."""
    if value & ~sum(entry[0] for entry in table):
        return f"0x{value:x}"
    return "".join(letters for bit, letters in table if value & bit)


def acl_from_bytes(data: bytes, offset: int) -> tuple[int, list[Ace]]:
    """Decode the ACL (2.4.5) at ``offset``; return its AclRevision and ACEs."""
    revision, _sbz1, size, count, _sbz2 = _unpack("<BBHHH", data, offset, "ACL header")
    if size < 8 or offset + size > len(data):
        raise ValueError(f"ACL at offset {offset} has size {size}, but {len(data) - offset} bytes remain")
    acl, pos, aces = bytes(data[offset : offset + size]), 8, []
    for _index in range(count):
        ace, ace_size = Ace.from_bytes(acl, pos)
        aces.append(ace)
        pos += ace_size
    return revision, aces


def acl_to_bytes(revision: int, aces: Sequence[Ace]) -> bytes:
    """Encode an ACL; revision is raised to ACL_REVISION_DS (4) when an object ACE is present."""
    if any(a.ace_type in OBJECT_ACE_TYPES for a in aces):
        revision = max(revision, ACL_REVISION_DS)
    body = b"".join(a.to_bytes() for a in aces)
    if 8 + len(body) > 0xFFFF:
        raise ValueError(f"ACL too large: {8 + len(body)} bytes (at most 65535)")
    return struct.pack("<BBHHH", revision, 0, 8 + len(body), len(aces), 0) + body


@dataclass
class SecurityDescriptor:
    """A self-relative SECURITY_DESCRIPTOR (2.4.6). ``dacl`` None means no DACL; ``order`` lists the components
    present in the binary form in their original order (missing ones go last, in Windows order)."""

    revision: int = 1
    control: int = SE_SELF_RELATIVE
    owner: str | None = None
    group: str | None = None
    sacl_raw: bytes | None = None
    dacl: list[Ace] | None = None
    dacl_revision: int = ACL_REVISION
    order: tuple[str, ...] = WINDOWS_ORDER
    sbz1: int = 0

    @classmethod
    def from_bytes(cls, data: bytes) -> SecurityDescriptor:
        """Decode a self-relative security descriptor, remembering the order of its components."""
        revision, sbz1, control, *offsets = _unpack("<BBHIIII", data, 0, "security descriptor header")
        if revision != 1:
            raise ValueError(f"security descriptor revision {revision} is not 1")
        if not control & SE_SELF_RELATIVE:
            raise ValueError("security descriptor is not self-relative (SE_SELF_RELATIVE not set)")
        at = {name: offsets[i] for i, name in enumerate(_SD_FIELDS)}
        for name, off in at.items():
            if off and not 20 <= off < len(data):
                raise ValueError(f"security descriptor {name} offset {off} is outside the {len(data)} bytes")
        sd = cls(revision, control, sbz1=sbz1, order=tuple(sorted((n for n in at if at[n]), key=at.__getitem__)))
        sd.owner = sid_from_bytes(data, at["owner"])[0] if at["owner"] else None
        sd.group = sid_from_bytes(data, at["group"])[0] if at["group"] else None
        if at["sacl"]:
            sacl_size = _unpack("<H", data, at["sacl"] + 2, "SACL header")[0]
            acl_from_bytes(data, at["sacl"])  # validate only
            sd.sacl_raw = bytes(data[at["sacl"] : at["sacl"] + sacl_size])
        if at["dacl"]:
            sd.dacl_revision, sd.dacl = acl_from_bytes(data, at["dacl"])
        return sd

    def to_bytes(self) -> bytes:
        """Encode in ``order``; the present bits follow the components, the other control bits are kept."""
        parts = {
            "owner": sid_to_bytes(self.owner) if self.owner is not None else None,
            "group": sid_to_bytes(self.group) if self.group is not None else None,
            "sacl": self.sacl_raw,
            "dacl": acl_to_bytes(self.dacl_revision, self.dacl) if self.dacl is not None else None,
        }
        control = self.control | SE_SELF_RELATIVE
        control |= SE_DACL_PRESENT if self.dacl is not None else 0
        control |= SE_SACL_PRESENT if self.sacl_raw is not None else 0
        offsets, body, pos = dict.fromkeys(parts, 0), b"", 20
        for name in list(self.order) + [n for n in WINDOWS_ORDER if n not in self.order]:
            if parts.get(name) is not None:
                offsets[name], body, pos = pos, body + parts[name], pos + len(parts[name])
        return struct.pack("<BBHIIII", self.revision, self.sbz1, control, *(offsets[n] for n in _SD_FIELDS)) + body

    def dacl_sddl(self) -> str:
        """``D:`` + DACL flags (P, AR, AI) + ACE strings; ``D:NO_ACCESS_CONTROL`` for a NULL DACL (DACL present
        bit set, no ACL), ``""`` when there is no DACL at all (e.g. not requested with the SD-flags control)."""
        flags = "".join(letters for bit, letters in _DACL_FLAGS if self.control & bit)
        if self.dacl is None:
            return "D:" + flags + "NO_ACCESS_CONTROL" if self.control & SE_DACL_PRESENT else ""
        return "D:" + flags + "".join(a.to_sddl() for a in self.dacl)


def _rank(ace: Ace) -> int:
    """Canonical block: 0 explicit deny, 1 explicit allow (or other explicit), 2 inherited."""
    return 2 if ace.is_inherited else (0 if ace.is_deny else 1)


def is_canonical(aces: Sequence[Ace]) -> bool:
    """True when explicit denies precede explicit allows, which precede inherited ACEs. (Windows' further rule,
    inherited ACEs grouped by generation, cannot be checked from the ACEs alone.)"""
    ranks = [_rank(a) for a in aces]
    return ranks == sorted(ranks)


def canonical_insert(aces: Sequence[Ace], ace: Ace) -> list[Ace]:
    """A new list with ``ace`` inserted in canonical position, existing ACEs untouched and in order: an explicit
    deny after the leading explicit-deny block, an explicit allow before the first inherited ACE. An inherited
    ``ace`` is appended (inherited ACEs are normally the DC's business)."""
    index = len(aces) if ace.is_inherited else next((i for i, a in enumerate(aces) if _rank(a) > _rank(ace)), len(aces))
    return [*aces[:index], ace, *aces[index:]]


def _target(ace: Ace) -> tuple:
    """What an ACE is about, for semantic comparison (opaque ACE types also compare their bytes)."""
    raw = None if ace.ace_type in _PARSED_TYPES else ace.raw
    return ace.ace_type, ace.sid, ace.object_type, ace.inherited_object_type, raw


def find_equivalent(aces: Sequence[Ace], ace: Ace) -> int | None:
    """Index of the first explicit ACE granting/denying at least what ``ace`` does: same type, SID, GUIDs and
    inheritance flags (INHERITED ignored), mask a superset of ``ace.mask``; None if there is none."""
    want = (_target(ace), ace.flags & ~INHERITED)
    for i, cand in enumerate(aces):
        if not cand.is_inherited and (_target(cand), cand.flags) == want and cand.mask & ace.mask == ace.mask:
            return i
    return None


def remove_exact(aces: Sequence[Ace], ace: Ace) -> list[Ace]:
    """A new list without the explicit ACEs equal to ``ace`` in type, SID, flags, mask and GUIDs."""
    key = (_target(ace), ace.flags, ace.mask)
    return [a for a in aces if a.is_inherited or (_target(a), a.flags, a.mask) != key]


def plan_owned_aces(aces: Sequence[Ace], wanted: Sequence[Ace], unwanted: Sequence[Ace]) -> dict:
    """Plan a DACL change for the ACEs a tool owns: {'aces': new list, 'added': [...], 'removed': [...]}.

    ``unwanted`` ACEs are removed only where an explicit ACE is exactly equal; ``wanted`` ACEs are inserted in
    canonical order unless an explicit ACE already grants or denies at least as much. Every other ACE is kept.
    """
    new, added, removed = list(aces), [], []
    for ace in unwanted:
        kept = remove_exact(new, ace)
        if len(kept) != len(new):
            removed.append(ace)
            new = kept
    for ace in wanted:
        if find_equivalent(new, ace) is None:
            new = canonical_insert(new, ace)
            added.append(ace)
    return {"aces": new, "added": added, "removed": removed}
