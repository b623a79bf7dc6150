from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.container_plan import (
    TOKEN_PREFIX,
    explicit_sddl_lines,
    next_token,
    plan_dacl,
    protection_ace,
    read_token,
    rights_aces,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    ACCESS_ALLOWED,
    ACCESS_DENIED,
    CONTAINER_INHERIT,
    FULL_CONTROL,
    INHERITED,
    READ_PROPERTY,
    Ace,
    is_canonical,
)

SID = "S-1-5-21-1-2-3-1103"
OTHER = "S-1-5-21-1-2-3-1104"
FULL = "(A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1-2-3-1103)"
LP_CREATE = "(OA;;CCDC;bf967a86-0de6-11d0-a285-00aa003049e2;;S-1-5-21-1-2-3-1103)"
LP_DESC = "(OA;CIIO;CCDCLCSWRPWPDTLOCRSDRCWDWO;;bf967a86-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1103)"
PROTECT = "(D;;DTSD;;;WD)"

FOREIGN_DENY = Ace(ACCESS_DENIED, 0, READ_PROPERTY, OTHER)
FOREIGN_ALLOW = Ace(ACCESS_ALLOWED, 0, READ_PROPERTY, OTHER)
INHERITED_ALLOW = Ace(ACCESS_ALLOWED, INHERITED | CONTAINER_INHERIT, READ_PROPERTY, "S-1-5-11")
TYPICAL = [FOREIGN_DENY, FOREIGN_ALLOW, INHERITED_ALLOW]


def sddl(aces):
    return [a.to_sddl() for a in aces]


@pytest.mark.parametrize(("rights", "expected"), [("full_control", [FULL]), ("least_privilege", [LP_CREATE, LP_DESC])])
def test_rights_aces_render_as_documented(rights, expected):
    assert sddl(rights_aces(SID, rights)) == expected
    assert protection_ace().to_sddl() == PROTECT


def test_rights_aces_refuses_unknown_mode():
    with pytest.raises(ValueError, match="rights must be one of"):
        rights_aces(SID, "everything")


def test_plan_adds_in_canonical_order_and_keeps_foreign_aces():
    plan = plan_dacl(TYPICAL, SID, "full_control", "present", True)
    assert sddl(plan["added"]) == [FULL, PROTECT]
    assert plan["removed"] == []
    assert sddl(plan["aces"]) == [sddl([FOREIGN_DENY])[0], PROTECT, sddl([FOREIGN_ALLOW])[0], FULL,
                                  sddl([INHERITED_ALLOW])[0]]  # fmt: skip
    assert is_canonical(plan["aces"])


def test_plan_is_a_no_op_when_everything_is_there():
    aces = plan_dacl(TYPICAL, SID, "full_control", "present", True)["aces"]
    again = plan_dacl(aces, SID, "full_control", "present", True)
    assert again["added"] == again["removed"] == [] and again["aces"] == aces


def test_a_broader_existing_ace_satisfies_the_plan():
    broader = Ace(ACCESS_ALLOWED, CONTAINER_INHERIT, FULL_CONTROL | 0x10000000, SID)  # + GENERIC_ALL bit
    assert plan_dacl([broader], SID, "full_control", "present", None)["added"] == []


def test_an_inherited_ace_does_not_count():
    inherited = Ace(ACCESS_ALLOWED, CONTAINER_INHERIT | INHERITED, FULL_CONTROL, SID)
    assert sddl(plan_dacl([inherited], SID, "full_control", "present", None)["added"]) == [FULL]


def test_switching_modes_removes_only_our_other_mode():
    lp = plan_dacl(TYPICAL, SID, "least_privilege", "present", None)["aces"]
    plan = plan_dacl(lp, SID, "full_control", "present", None)
    assert sddl(plan["removed"]) == [LP_CREATE, LP_DESC]
    assert sddl(plan["added"]) == [FULL]
    assert FOREIGN_ALLOW in plan["aces"] and FOREIGN_DENY in plan["aces"]


def test_absent_removes_ours_only():
    similar = Ace(ACCESS_ALLOWED, CONTAINER_INHERIT, FULL_CONTROL, OTHER)  # same shape, someone else's SID
    aces = plan_dacl([*TYPICAL, similar], SID, "full_control", "present", True)["aces"]
    plan = plan_dacl(aces, SID, "full_control", "absent", None)
    assert sddl(plan["removed"]) == [FULL]
    assert PROTECT in sddl(plan["aces"]) and similar in plan["aces"]


@pytest.mark.parametrize(("protect", "present"), [(True, True), (False, False), (None, True)])
def test_protection_flag(protect, present):
    protected = plan_dacl([], SID, "full_control", "present", True)["aces"]
    assert (PROTECT in sddl(plan_dacl(protected, SID, "full_control", "present", protect)["aces"])) is present


def test_plan_refuses_bad_state():
    with pytest.raises(ValueError, match="state must be present or absent"):
        plan_dacl([], SID, "full_control", "gone", None)


@pytest.mark.parametrize(
    ("values", "token"),
    [
        (None, None),
        ([], None),
        ([b"something else"], None),
        ([b"x", (TOKEN_PREFIX + "7").encode()], TOKEN_PREFIX + "7"),
        ([TOKEN_PREFIX + "2"], TOKEN_PREFIX + "2"),
    ],
)
def test_read_token(values, token):
    assert read_token(values) == token


@pytest.mark.parametrize(
    ("token", "following"),
    [(None, TOKEN_PREFIX + "1"), (TOKEN_PREFIX + "1", TOKEN_PREFIX + "2"), (TOKEN_PREFIX + "junk", TOKEN_PREFIX + "1")],
)
def test_next_token(token, following):
    assert next_token(token) == following


def test_explicit_sddl_lines_leave_inherited_out():
    assert explicit_sddl_lines(TYPICAL) == "(D;;RP;;;S-1-5-21-1-2-3-1104)\n(A;;RP;;;S-1-5-21-1-2-3-1104)\n"
    assert explicit_sddl_lines(None) == ""
