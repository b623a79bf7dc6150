from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "plugins" / "filter"))

from oob_pki import FilterModule, oob_edit_flags_san2, oob_request_disposition  # noqa: E402

# Literal values from the Windows SDK's certsrv.h ("wszREGREQUESTDISPOSITION Values" and "wszREGEDITFLAGS Values"),
# as in microsoft/win32metadata generation/WinSDK/RecompiledIdlHeaders/um/CertSrv.h. Written out here on purpose:
# the tests check the filter against the header, not against the filter's own constants.
REQDISP_PENDING = 0x00000000
REQDISP_ISSUE = 0x00000001
REQDISP_DENY = 0x00000002
REQDISP_USEREQUESTATTRIBUTE = 0x00000003
REQDISP_MASK = 0x000000FF
REQDISP_PENDINGFIRST = 0x00000100
REQDISP_DEFAULT_STANDALONE = REQDISP_PENDINGFIRST | REQDISP_ISSUE  # 0x101
REQDISP_DEFAULT_ENTERPRISE = REQDISP_ISSUE  # 0x1

EDITF_ATTRIBUTESUBJECTALTNAME2 = 0x00040000
# EDITF_REQUESTEXTENSIONLIST | EDITF_DISABLEEXTENSIONLIST | EDITF_ADDOLDKEYUSAGE | EDITF_BASICCONSTRAINTSCRITICAL |
# EDITF_ENABLEAKIKEYID | EDITF_ENABLEDEFAULTSMIME | EDITF_ENABLECHASECLIENTDC
EDITF_DEFAULT_ENTERPRISE = 0x00000002 | 0x00000004 | 0x00000008 | 0x00000040 | 0x00000100 | 0x00010000 | 0x00100000

HIGH_BITS = 0xFFFFFE00  # everything outside REQDISP_MASK | REQDISP_PENDINGFIRST


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(REQDISP_DEFAULT_STANDALONE, REQDISP_ISSUE, id="0x101-pendingfirst+issue"),
        pytest.param(REQDISP_PENDINGFIRST | REQDISP_PENDING, REQDISP_ISSUE, id="0x100-pendingfirst+pending"),
        pytest.param(REQDISP_DENY, REQDISP_ISSUE, id="0x2-deny"),
        pytest.param(REQDISP_PENDING, REQDISP_ISSUE, id="0x0-pending"),
        pytest.param(REQDISP_USEREQUESTATTRIBUTE, REQDISP_ISSUE, id="0x3-userequestattribute"),
        pytest.param(REQDISP_DEFAULT_ENTERPRISE, REQDISP_ISSUE, id="0x1-issue-unchanged"),
        pytest.param(REQDISP_PENDINGFIRST | REQDISP_DENY, REQDISP_ISSUE, id="0x102-pendingfirst+deny"),
        pytest.param(REQDISP_MASK, REQDISP_ISSUE, id="0xff-unknown-disposition"),
        pytest.param(0x30101, 0x30001, id="0x30101-high-bits-kept"),
        pytest.param(0x80000002, 0x80000001, id="0x80000002-top-bit-kept"),
        pytest.param(HIGH_BITS | REQDISP_PENDINGFIRST | REQDISP_MASK, HIGH_BITS | REQDISP_ISSUE, id="all-bits"),
        pytest.param("257", REQDISP_ISSUE, id="string-from-registry"),
    ],
)
def test_auto_issue_issues_and_clears_pendingfirst(value, expected):
    assert oob_request_disposition(value, True) == expected
    assert oob_request_disposition(value) == expected  # auto_issue defaults to true


@pytest.mark.parametrize("high", [0x0, 0x200, 0x10000, 0xDEAD0000, HIGH_BITS])
@pytest.mark.parametrize("low", [0x0, 0x1, 0x2, 0x3, 0x7F, 0xFF])
@pytest.mark.parametrize("pendingfirst", [0x0, REQDISP_PENDINGFIRST])
def test_auto_issue_invariants(high, low, pendingfirst):
    result = oob_request_disposition(high | pendingfirst | low, True)
    assert result & REQDISP_MASK == REQDISP_ISSUE
    assert result & REQDISP_PENDINGFIRST == 0
    assert result & HIGH_BITS == high
    assert oob_request_disposition(result, True) == result  # idempotent


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(REQDISP_ISSUE, REQDISP_DEFAULT_STANDALONE, id="0x1-to-0x101"),
        pytest.param(REQDISP_DEFAULT_STANDALONE, REQDISP_DEFAULT_STANDALONE, id="0x101-unchanged"),
        pytest.param(REQDISP_DENY, REQDISP_PENDINGFIRST | REQDISP_DENY, id="0x2-low-byte-kept"),
        pytest.param(0x30001, 0x30101, id="high-bits-kept"),
    ],
)
def test_manager_approval_sets_pendingfirst_and_keeps_the_rest(value, expected):
    assert oob_request_disposition(value, False) == expected


@pytest.mark.parametrize(
    ("auto_issue", "expected"),
    [
        pytest.param("false", REQDISP_DEFAULT_STANDALONE, id="string-false-from-extra-vars"),
        pytest.param("no", REQDISP_DEFAULT_STANDALONE, id="string-no"),
        pytest.param(0, REQDISP_DEFAULT_STANDALONE, id="int-0"),
        pytest.param("true", REQDISP_ISSUE, id="string-true"),
        pytest.param("yes", REQDISP_ISSUE, id="string-yes"),
    ],
)
def test_auto_issue_strings_are_booleans(auto_issue, expected):
    assert oob_request_disposition(REQDISP_DEFAULT_STANDALONE, auto_issue) == expected


@pytest.mark.parametrize("bad", ["maybe", "", None])
def test_request_disposition_refuses_non_boolean_auto_issue(bad):
    with pytest.raises(ValueError, match="auto_issue must be a boolean"):
        oob_request_disposition(REQDISP_ISSUE, bad)


@pytest.mark.parametrize("bad", [-1, 0x1_0000_0000])
def test_request_disposition_refuses_non_dword(bad):
    with pytest.raises(ValueError, match="DWORD"):
        oob_request_disposition(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(EDITF_DEFAULT_ENTERPRISE, False, id="enterprise-default-0x11014e"),
        pytest.param(EDITF_DEFAULT_ENTERPRISE | EDITF_ATTRIBUTESUBJECTALTNAME2, True, id="esc6-0x15014e"),
        pytest.param(EDITF_ATTRIBUTESUBJECTALTNAME2, True, id="only-san2"),
        pytest.param(0x0, False, id="zero"),
        pytest.param(0xFFFFFFFF & ~EDITF_ATTRIBUTESUBJECTALTNAME2, False, id="every-other-bit"),
        pytest.param(0xFFFFFFFF, True, id="every-bit"),
        pytest.param("1376590", True, id="string-from-registry-0x15014e"),
    ],
)
def test_edit_flags_san2(value, expected):
    assert oob_edit_flags_san2(value) is expected


@pytest.mark.parametrize("bad", [-1, 0x1_0000_0000])
def test_edit_flags_refuses_non_dword(bad):
    with pytest.raises(ValueError, match="DWORD"):
        oob_edit_flags_san2(bad)


def test_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["oob_request_disposition"] is oob_request_disposition
    assert filters["oob_edit_flags_san2"] is oob_edit_flags_san2
