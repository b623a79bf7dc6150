from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    ACCESS_ALLOWED,
    ACCESS_ALLOWED_OBJECT,
    ACCESS_DENIED,
    ACCESS_DENIED_OBJECT,
    ACL_REVISION,
    ACL_REVISION_DS,
    CONTAINER_INHERIT,
    CONTROL_ACCESS,
    CREATE_CHILD,
    DELETE,
    DELETE_CHILD,
    DELETE_TREE,
    FULL_CONTROL,
    GUID_COMPUTER_CLASS,
    INHERIT_ONLY,
    INHERITED,
    LIST_CHILDREN,
    NO_PROPAGATE_INHERIT,
    OBJECT_INHERIT,
    READ_PROPERTY,
    SAMBA_ORDER,
    SE_DACL_AUTO_INHERITED,
    SE_DACL_PRESENT,
    SE_DACL_PROTECTED,
    SE_SACL_PRESENT,
    SE_SELF_RELATIVE,
    WRITE_PROPERTY,
    Ace,
    SecurityDescriptor,
    acl_from_bytes,
    acl_to_bytes,
    canonical_insert,
    find_equivalent,
    guid_from_bytes,
    guid_to_bytes,
    is_canonical,
    remove_exact,
    sid_from_bytes,
    sid_to_bytes,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
GUID_USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
USER_SID = "S-1-5-21-1-2-3-1103"
DOMAIN_ADMINS = "S-1-5-21-86354940-2376996420-2743239888-512"


def fixture(name: str) -> bytes:
    """nTSecurityDescriptor values read from the lab's Samba DC (see the fixture names for what they are)."""
    return bytes.fromhex("".join((FIXTURES / f"sd_{name}.hex").read_text().split()))


# --- SIDs -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hexbytes"),
    [
        ("S-1-0-0", "010100000000000000000000"),
        ("S-1-1-0", "010100000000000100000000"),
        ("S-1-5-11", "01010000000000050b000000"),
        ("S-1-5-32-544", "01020000000000052000000020020000"),
        ("S-1-5-21-1-2-3-1103", "0105000000000005150000000100000002000000030000004f040000"),
        ("S-1-5-21-4294967295-0-1", "010400000000000515000000ffffffff0000000001000000"),
        ("S-1-0x010000000000-1", "010101000000000001000000"),  # authority >= 2^32 is written in hex
        ("S-1-5", "0100000000000005"),
    ],
)
def test_sid_both_directions(text, hexbytes):
    data = bytes.fromhex(hexbytes)
    assert sid_to_bytes(text) == data
    assert sid_from_bytes(data) == (text, len(data))
    assert sid_from_bytes(b"\xff\xff" + data + b"tail", 2) == (text, len(data))


def test_sid_to_bytes_accepts_lowercase_s_and_leading_zeros():
    assert sid_to_bytes("s-1-5-018") == sid_to_bytes("S-1-5-18")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "S-1",
        "S-1-",
        "S-1-5-",
        "S-2-5-32",
        "X-1-5-18",
        "S-1-5-32-544-",
        "S-1-5--32",
        "S-1-5-4294967296",
        "S-1-281474976710656-1",
        "S-1-5" + "-1" * 16,
        " S-1-5-18",
        "S-1-5-18 ",
        "S-1-5-１８",
        "S-1-0x-1",
        "AU",
        None,
        5,
    ],
)
def test_sid_to_bytes_rejects(text):
    with pytest.raises(ValueError, match="invalid SID string"):
        sid_to_bytes(text)


@pytest.mark.parametrize(
    ("hexbytes", "message"),
    [
        ("", "truncated SID"),
        ("01", "truncated SID"),
        ("0102000000000005200000", "truncated SID"),  # two sub-authorities announced, not even one present
        ("010200000000000520000000", "truncated SID"),
        ("020100000000000100000000", "revision 2"),
        ("0110" + "00" * 70, "16 sub-authorities"),
    ],
)
def test_sid_from_bytes_rejects(hexbytes, message):
    with pytest.raises(ValueError, match=message):
        sid_from_bytes(bytes.fromhex(hexbytes))


# --- GUIDs ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hexbytes"),
    [
        (GUID_COMPUTER_CLASS, "867a96bfe60dd011a28500aa003049e2"),
        (GUID_USER_CLASS, "ba7a96bfe60dd011a28500aa003049e2"),
        ("00000000-0000-0000-0000-000000000000", "00" * 16),
        ("01020304-0506-0708-090a-0b0c0d0e0f10", "0403020106050807090a0b0c0d0e0f10"),
    ],
)
def test_guid_both_directions(text, hexbytes):
    assert guid_to_bytes(text) == bytes.fromhex(hexbytes)
    assert guid_from_bytes(bytes.fromhex(hexbytes)) == text
    assert guid_to_bytes(text.upper()) == bytes.fromhex(hexbytes)
    assert guid_to_bytes("{" + text + "}") == bytes.fromhex(hexbytes)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bf967a86-0de6-11d0-a285-00aa003049e",
        "bf967a86-0de6-11d0-a285-00aa003049e22",
        "bf967a860de611d0a28500aa003049e2",
        "{bf967a86-0de6-11d0-a285-00aa003049e2",
        "zf967a86-0de6-11d0-a285-00aa003049e2",
        "urn:uuid:" + GUID_COMPUTER_CLASS,
        " " + GUID_COMPUTER_CLASS,
        None,
    ],
)
def test_guid_to_bytes_rejects(text):
    with pytest.raises(ValueError, match="invalid GUID"):
        guid_to_bytes(text)


@pytest.mark.parametrize("data", [b"", b"\0" * 15, b"\0" * 17, "867a96bfe60dd011a28500aa003049e2"])
def test_guid_from_bytes_rejects(data):
    with pytest.raises(ValueError, match="16 bytes"):
        guid_from_bytes(data)


# --- ACEs -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ace", "sddl"),
    [
        (Ace(ACCESS_ALLOWED, 0, FULL_CONTROL, "S-1-5-18"), "(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)"),
        (Ace(ACCESS_ALLOWED, INHERITED | CONTAINER_INHERIT, LIST_CHILDREN, "S-1-5-32-554"), "(A;CIID;LC;;;RU)"),
        (
            Ace(ACCESS_DENIED, OBJECT_INHERIT | CONTAINER_INHERIT, DELETE_TREE | DELETE, USER_SID),
            f"(D;OICI;DTSD;;;{USER_SID})",
        ),
        (Ace(ACCESS_DENIED, NO_PROPAGATE_INHERIT | CONTAINER_INHERIT, 0x10000000, "S-1-1-0"), "(D;CINP;GA;;;WD)"),
        (
            Ace(
                ACCESS_ALLOWED_OBJECT,
                CONTAINER_INHERIT | INHERIT_ONLY,
                CREATE_CHILD | DELETE_CHILD,
                USER_SID,
                GUID_COMPUTER_CLASS,
            ),
            f"(OA;CIIO;CCDC;{GUID_COMPUTER_CLASS};;{USER_SID})",
        ),
        (
            Ace(
                ACCESS_ALLOWED_OBJECT,
                CONTAINER_INHERIT | INHERIT_ONLY,
                READ_PROPERTY,
                "S-1-5-11",
                None,
                GUID_USER_CLASS,
            ),
            f"(OA;CIIO;RP;;{GUID_USER_CLASS};AU)",
        ),
        (
            Ace(
                ACCESS_ALLOWED_OBJECT,
                0,
                READ_PROPERTY | WRITE_PROPERTY | CONTROL_ACCESS,
                "S-1-5-10",
                "91e647de-d96f-4b70-9557-d63ff4f3ccd8",
                GUID_USER_CLASS,
            ),
            f"(OA;;RPWPCR;91e647de-d96f-4b70-9557-d63ff4f3ccd8;{GUID_USER_CLASS};PS)",
        ),
        (Ace(ACCESS_ALLOWED_OBJECT, 0, READ_PROPERTY, "S-1-5-9"), "(OA;;RP;;;ED)"),
        (
            Ace(ACCESS_DENIED_OBJECT, 0, CREATE_CHILD, "S-1-3-0", GUID_COMPUTER_CLASS),
            f"(OD;;CC;{GUID_COMPUTER_CLASS};;CO)",
        ),
        (Ace(ACCESS_ALLOWED, 0, 0x01000000, "S-1-5-32-544"), "(A;;0x1000000;;;BA)"),  # ACCESS_SYSTEM_SECURITY
        (Ace(ACCESS_ALLOWED, 0, 0x01000010, "S-1-5-32-545"), "(A;;0x1000010;;;BU)"),  # not fully expressible
        (Ace(ACCESS_ALLOWED, 0, 0, "S-1-5-7"), "(A;;0x0;;;AN)"),
        (Ace(ACCESS_ALLOWED, 0x20, READ_PROPERTY, DOMAIN_ADMINS), f"(A;0x20;RP;;;{DOMAIN_ADMINS})"),
    ],
)
def test_ace_to_sddl(ace, sddl):
    assert ace.to_sddl() == sddl


@pytest.mark.parametrize(
    ("object_type", "inherited_object_type", "present", "size"),
    [
        (None, None, 0, 24),
        (GUID_COMPUTER_CLASS, None, 1, 40),
        (None, GUID_USER_CLASS, 2, 40),
        (GUID_COMPUTER_CLASS, GUID_USER_CLASS, 3, 56),
    ],
)
def test_object_ace_bytes(object_type, inherited_object_type, present, size):
    ace = Ace(ACCESS_ALLOWED_OBJECT, CONTAINER_INHERIT, CREATE_CHILD, "S-1-5-11", object_type, inherited_object_type)
    data = ace.to_bytes()
    assert struct.unpack_from("<BBHII", data) == (ACCESS_ALLOWED_OBJECT, CONTAINER_INHERIT, size, CREATE_CHILD, present)
    assert len(data) == size and size % 4 == 0
    assert data.endswith(sid_to_bytes("S-1-5-11"))
    if object_type:
        assert data[12:28] == guid_to_bytes(object_type)
    assert Ace.from_bytes(b"pad" + data, 3) == (ace, size)


def test_ace_normalizes_sid_and_guid_case():
    assert Ace(ACCESS_ALLOWED_OBJECT, 0, 1, "s-1-5-011", GUID_COMPUTER_CLASS.upper()) == Ace(
        ACCESS_ALLOWED_OBJECT, 0, 1, "S-1-5-11", GUID_COMPUTER_CLASS
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sid": "S-1-5"}, None),
        ({"sid": "nobody"}, "invalid SID string"),
        ({"mask": 2**32}, "mask"),
        ({"mask": -1}, "mask"),
        ({"flags": 256}, "flags"),
        ({"ace_type": ACCESS_ALLOWED, "object_type": GUID_COMPUTER_CLASS}, "cannot carry object_type"),
        ({"object_type": "computer"}, "invalid GUID"),
    ],
)
def test_ace_validation(kwargs, message):
    args = {"ace_type": ACCESS_ALLOWED_OBJECT, "flags": 0, "mask": 1, "sid": "S-1-5-11", **kwargs}
    if message is None:
        assert Ace(**args).sid == kwargs["sid"]
    else:
        with pytest.raises(ValueError, match=message):
            Ace(**args)


def test_ace_properties():
    assert Ace(ACCESS_DENIED_OBJECT, INHERITED, 1, "S-1-1-0").is_deny
    assert Ace(ACCESS_DENIED_OBJECT, INHERITED, 1, "S-1-1-0").is_inherited
    assert not Ace(ACCESS_ALLOWED, CONTAINER_INHERIT, 1, "S-1-1-0").is_deny
    assert not Ace(ACCESS_ALLOWED, CONTAINER_INHERIT, 1, "S-1-1-0").is_inherited


def test_opaque_aces_keep_their_bytes():
    # SYSTEM_AUDIT (0x02) and SYSTEM_AUDIT_OBJECT (0x07) ACEs from the domain head's SACL
    _, sacl = acl_from_bytes(SecurityDescriptor.from_bytes(fixture("lab_full")).sacl_raw, 0)
    assert [a.ace_type for a in sacl] == [7, 7, 2, 2, 2]
    assert all(a.raw is not None and a.to_bytes() == a.raw for a in sacl)
    assert sacl[3].to_sddl() == "(AU;SA;CR;;;BA)"
    # an ACCESS_ALLOWED_CALLBACK ACE with application data, and an unknown type that is not even mask+SID
    callback = struct.pack("<BBHI", 0x09, 0, 24, 1) + sid_to_bytes("S-1-5-11") + b"artx"
    unknown = struct.pack("<BBH", 0x42, 0, 8) + b"\1\2\3\4"
    for data in (callback, unknown):
        ace, size = Ace.from_bytes(data)
        assert (ace.raw, size, ace.to_bytes()) == (data, len(data), data)
    assert Ace.from_bytes(callback)[0].sid == "S-1-5-11"
    assert Ace.from_bytes(unknown)[0].sid == ""
    # raw takes part in equality: same header, different bytes
    assert Ace.from_bytes(unknown)[0] != Ace.from_bytes(unknown[:4] + b"\4\3\2\1")[0]


def test_known_ace_with_extra_bytes_round_trips():
    clean = Ace(ACCESS_ALLOWED, 0, READ_PROPERTY, "S-1-5-11").to_bytes()
    padded = struct.pack("<BBH", ACCESS_ALLOWED, 0, len(clean) + 4) + clean[4:] + b"\0" * 4
    ace, size = Ace.from_bytes(padded)
    assert (ace.raw, size, ace.to_bytes()) == (padded, len(padded), padded)
    assert (ace.mask, ace.sid) == (READ_PROPERTY, "S-1-5-11")
    assert find_equivalent([ace], Ace(ACCESS_ALLOWED, 0, READ_PROPERTY, "S-1-5-11")) == 0


# --- security descriptors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("computers_full", (SAMBA_ORDER, 0x8C17, DOMAIN_ADMINS, 28, 8)),
        ("computers_dacl", (("dacl",), 0x8404, None, 28, 8)),  # read with the SD flags control, DACL only
        ("lab_full", (SAMBA_ORDER, 0x8C14, "S-1-5-32-544", 46, None)),
    ],
)
def test_real_descriptors_round_trip(name, expected):
    order, control, owner, aces, first_inherited = expected
    data = fixture(name)
    sd = SecurityDescriptor.from_bytes(data)
    assert sd.to_bytes() == data
    assert (sd.order, sd.control, sd.owner, sd.group) == (order, control, owner, owner)
    assert (len(sd.dacl), sd.dacl_revision) == (aces, ACL_REVISION_DS)
    assert next((i for i, a in enumerate(sd.dacl) if a.is_inherited), None) == first_inherited
    assert all(a.raw is None for a in sd.dacl)
    assert is_canonical(sd.dacl)
    assert sd.dacl_sddl().startswith("D:AI(")
    for ace in sd.dacl:
        assert Ace.from_bytes(ace.to_bytes()) == (ace, len(ace.to_bytes()))


def test_real_dacl_sddl():
    sddl = SecurityDescriptor.from_bytes(fixture("computers_dacl")).dacl_sddl()
    assert sddl.startswith(
        f"D:AI(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)(A;;CCDCLCSWRPWPLOCRRCWDWO;;;{DOMAIN_ADMINS})"
        f"(OA;;CCDC;{GUID_COMPUTER_CLASS};;AO)"
    )
    assert sddl.endswith("(A;CIID;LC;;;RU)(A;CIID;CCLCSWRPWPLOCRSDRCWDWO;;;BA)")


def test_modified_real_dacl():
    data = fixture("computers_dacl")
    sd = SecurityDescriptor.from_bytes(data)
    new = Ace(ACCESS_ALLOWED_OBJECT, 0, CREATE_CHILD | DELETE_CHILD, "S-1-5-11", GUID_COMPUTER_CLASS)
    assert find_equivalent(sd.dacl, new) is None
    sd.dacl = canonical_insert(sd.dacl, new)
    out = sd.to_bytes()
    assert len(out) == len(data) + 40
    again = SecurityDescriptor.from_bytes(out)
    assert again.dacl.index(new) == 8 and find_equivalent(again.dacl, new) == 8
    assert again.dacl[:8] + again.dacl[9:] == SecurityDescriptor.from_bytes(data).dacl
    assert remove_exact(again.dacl, new) == SecurityDescriptor.from_bytes(data).dacl


def test_acl_revision_raised_for_object_aces_only():
    plain = Ace(ACCESS_ALLOWED, 0, READ_PROPERTY, "S-1-5-11")
    obj = Ace(ACCESS_ALLOWED_OBJECT, 0, READ_PROPERTY, "S-1-5-11", GUID_USER_CLASS)
    assert acl_to_bytes(ACL_REVISION, [plain])[0] == ACL_REVISION
    assert acl_to_bytes(ACL_REVISION, [plain, obj])[0] == ACL_REVISION_DS
    sd = SecurityDescriptor(dacl=[plain, obj], dacl_revision=ACL_REVISION)
    assert SecurityDescriptor.from_bytes(sd.to_bytes()).dacl_revision == ACL_REVISION_DS


def test_new_descriptor_uses_windows_order():
    sacl = acl_to_bytes(ACL_REVISION, [])
    sd = SecurityDescriptor(
        owner="S-1-5-32-544", group="S-1-5-18", sacl_raw=sacl, dacl=[Ace(ACCESS_ALLOWED, 0, FULL_CONTROL, "S-1-5-18")]
    )
    data = sd.to_bytes()
    revision, _, control, owner, group, sacl_at, dacl_at = struct.unpack_from("<BBHIIII", data)
    assert (revision, control) == (1, SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_SACL_PRESENT)
    assert sacl_at == 20 and dacl_at == 28 and owner == 28 + 28 and group == owner + 16 == len(data) - 12
    back = SecurityDescriptor.from_bytes(data)
    assert (back.order, back.owner, back.group, back.sacl_raw, back.dacl) == (
        ("sacl", "dacl", "owner", "group"),
        sd.owner,
        sd.group,
        sacl,
        sd.dacl,
    )


def test_added_component_goes_after_the_original_ones():
    sd = SecurityDescriptor.from_bytes(fixture("computers_dacl"))
    sd.owner = "S-1-5-32-544"
    data = sd.to_bytes()
    assert struct.unpack_from("<II", data, 4) == (len(data) - 16, 0)
    assert SecurityDescriptor.from_bytes(data).order == ("dacl", "owner")


@pytest.mark.parametrize(
    ("control", "dacl", "sddl"),
    [
        (SE_SELF_RELATIVE | SE_DACL_PRESENT, None, "D:NO_ACCESS_CONTROL"),
        (SE_SELF_RELATIVE, None, ""),
        (
            SE_SELF_RELATIVE | SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED,
            [Ace(ACCESS_ALLOWED, 0, 4, "S-1-5-11")],
            "D:PAI(A;;LC;;;AU)",
        ),
        (SE_SELF_RELATIVE, [], "D:"),
    ],
)
def test_dacl_sddl_and_null_dacl_round_trip(control, dacl, sddl):
    sd = SecurityDescriptor(control=control, dacl=dacl)
    assert sd.dacl_sddl() == sddl
    data = sd.to_bytes()
    assert SecurityDescriptor.from_bytes(data).to_bytes() == data
    assert SecurityDescriptor.from_bytes(data).dacl == dacl


# --- malformed input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["computers_full", "computers_dacl", "lab_full"])
def test_truncated_descriptors_raise_value_error(name):
    data = fixture(name)
    for cut in [*range(0, len(data), 7), len(data) - 1]:
        with pytest.raises(ValueError):
            SecurityDescriptor.from_bytes(data[:cut])


@pytest.mark.parametrize("name", ["computers_full", "lab_full"])
def test_corrupted_descriptors_raise_only_value_error(name):
    rng = random.Random(name)
    data = fixture(name)
    for _ in range(300):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(data))] = rng.randrange(256)
        try:
            SecurityDescriptor.from_bytes(bytes(mutated))
        except ValueError:
            pass


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("0100", "truncated security descriptor header"),
        ("0200048000000000000000000000000000000000", "revision 2"),
        ("0100040000000000000000000000000014000000", "not self-relative"),
        ("0100048000000000000000000000000064000000", "dacl offset 100 is outside"),
        ("0100048000000000000000000000000014000000" + "04000c0000000000", "ACL at offset 20 has size 12"),
        ("0100048000000000000000000000000014000000" + "0400080001000000", "truncated ACE header"),
        ("0100048000000000000000000000000014000000" + "04000c0001000000" + "00000400", "truncated ACE mask"),
        ("0100048000000000000000000000000014000000" + "04000c0001000000" + "00000c00", "ACE at offset 8 has size 12"),
        ("0100048000000000000000000000000014000000" + "0400100001000000" + "00000800ff000f00", "truncated SID"),
    ],
)
def test_malformed_descriptors(data, message):
    with pytest.raises(ValueError, match=message):
        SecurityDescriptor.from_bytes(bytes.fromhex(data))


def test_truncated_object_ace():
    data = Ace(ACCESS_ALLOWED_OBJECT, 0, 1, "S-1-5-11", GUID_COMPUTER_CLASS, GUID_USER_CLASS).to_bytes()
    for cut in range(len(data)):
        truncated = struct.pack("<BBH", ACCESS_ALLOWED_OBJECT, 0, max(cut, 4)) + data[4:cut]
        with pytest.raises(ValueError):
            Ace.from_bytes(truncated)


# --- planner helpers ------------------------------------------------------------------------------------------------

# Shapes are strings of ACE codes: D explicit deny, A explicit allow, I inherited allow, J inherited deny, N the new one
EXISTING = {
    "D": Ace(ACCESS_DENIED, 0, DELETE_TREE, "S-1-5-21-1-2-3-500"),
    "d": Ace(ACCESS_DENIED_OBJECT, 0, WRITE_PROPERTY, "S-1-5-21-1-2-3-501", GUID_USER_CLASS),
    "A": Ace(ACCESS_ALLOWED, 0, READ_PROPERTY, "S-1-5-21-1-2-3-502"),
    "a": Ace(ACCESS_ALLOWED_OBJECT, 0, CREATE_CHILD, "S-1-5-21-1-2-3-503", GUID_COMPUTER_CLASS),
    "I": Ace(ACCESS_ALLOWED, INHERITED | CONTAINER_INHERIT, LIST_CHILDREN, "S-1-5-21-1-2-3-504"),
    "J": Ace(ACCESS_DENIED, INHERITED, DELETE, "S-1-5-21-1-2-3-505"),
}
NEW_DENY = Ace(ACCESS_DENIED_OBJECT, 0, CREATE_CHILD, "S-1-5-11", GUID_COMPUTER_CLASS)
NEW_ALLOW = Ace(ACCESS_ALLOWED_OBJECT, 0, CREATE_CHILD | DELETE_CHILD, "S-1-5-11", GUID_COMPUTER_CLASS)


def shape(codes: str, new: Ace | None = None) -> list[Ace]:
    return [new if c == "N" else EXISTING[c] for c in codes]


@pytest.mark.parametrize(
    ("before", "deny_after", "allow_after"),
    [
        ("", "N", "N"),
        ("I", "NI", "NI"),
        ("IJI", "NIJI", "NIJI"),
        ("D", "DN", "DN"),
        ("A", "NA", "AN"),
        ("DdAaIJ", "DdNAaIJ", "DdAaNIJ"),
        ("DAI", "DNAI", "DANI"),
        ("DDI", "DDNI", "DDNI"),
        ("AAI", "NAAI", "AANI"),
        ("ADI", "NADI", "ADNI"),  # not canonical to begin with: nothing existing moves
    ],
)
def test_canonical_insert(before, deny_after, allow_after):
    aces = shape(before)
    assert canonical_insert(aces, NEW_DENY) == shape(deny_after, NEW_DENY)
    assert canonical_insert(aces, NEW_ALLOW) == shape(allow_after, NEW_ALLOW)
    assert aces == shape(before)  # the input list is left alone


def test_canonical_insert_appends_inherited():
    inherited = Ace(ACCESS_ALLOWED, INHERITED, READ_PROPERTY, "S-1-5-11")
    assert canonical_insert(shape("DAI"), inherited) == [*shape("DAI"), inherited]


@pytest.mark.parametrize(
    ("codes", "canonical"),
    [
        ("", True),
        ("D", True),
        ("DdAaIJ", True),
        ("DAIJI", True),
        ("AD", False),
        ("DIA", False),
        ("IA", False),
        ("ID", False),
    ],
)
def test_is_canonical(codes, canonical):
    assert is_canonical(shape(codes)) is canonical


def _allow(
    *,
    mask=CREATE_CHILD | DELETE_CHILD,
    flags=0,
    sid="S-1-5-11",
    object_type=GUID_COMPUTER_CLASS,
    inherited_object_type=None,
    ace_type=ACCESS_ALLOWED_OBJECT,
) -> Ace:
    return Ace(ace_type, flags, mask, sid, object_type, inherited_object_type)


@pytest.mark.parametrize(
    ("aces", "index"),
    [
        ([_allow()], 0),
        ([EXISTING["A"], _allow(mask=CREATE_CHILD | DELETE_CHILD | LIST_CHILDREN)], 1),  # superset mask
        ([_allow(mask=CREATE_CHILD)], None),  # subset mask
        ([_allow(flags=INHERITED)], None),  # inherited ACEs are not ours to rely on
        ([_allow(flags=INHERITED), _allow(), _allow()], 1),  # first explicit match
        ([_allow(object_type=GUID_USER_CLASS)], None),
        ([_allow(object_type=None)], None),
        ([_allow(inherited_object_type=GUID_USER_CLASS)], None),
        ([_allow(sid="S-1-5-32-548")], None),
        ([_allow(ace_type=ACCESS_DENIED_OBJECT)], None),
        ([_allow(flags=CONTAINER_INHERIT)], None),
        ([], None),
    ],
)
def test_find_equivalent(aces, index):
    assert find_equivalent(aces, _allow()) == index


def test_find_equivalent_ignores_inherited_flag_of_the_wanted_ace():
    assert find_equivalent([_allow()], _allow(flags=INHERITED)) == 0
    assert find_equivalent([_allow(flags=CONTAINER_INHERIT)], _allow(flags=CONTAINER_INHERIT | INHERITED)) == 0


def test_find_equivalent_in_real_dacl():
    dacl = SecurityDescriptor.from_bytes(fixture("computers_dacl")).dacl
    assert find_equivalent(dacl, _allow(sid="S-1-5-32-548", mask=CREATE_CHILD)) == 2
    assert find_equivalent(dacl, Ace(ACCESS_ALLOWED, 0, READ_PROPERTY, "S-1-5-18")) == 0
    assert find_equivalent(dacl, Ace(ACCESS_ALLOWED, CONTAINER_INHERIT, LIST_CHILDREN, "S-1-5-32-554")) is None


def test_remove_exact():
    target = _allow()
    foreign = [
        _allow(mask=CREATE_CHILD),
        _allow(mask=CREATE_CHILD | DELETE_CHILD | LIST_CHILDREN),
        _allow(sid="S-1-5-32-548"),
        _allow(object_type=GUID_USER_CLASS),
        _allow(inherited_object_type=GUID_USER_CLASS),
        _allow(flags=CONTAINER_INHERIT),
        _allow(flags=INHERITED),
        _allow(ace_type=ACCESS_DENIED_OBJECT),
    ]
    aces = [foreign[0], target, *foreign[1:], target]
    assert remove_exact(aces, target) == foreign
    assert aces[1] == target and len(aces) == len(foreign) + 2
    assert remove_exact(foreign, target) == foreign
