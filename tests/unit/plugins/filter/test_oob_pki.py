from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "plugins" / "filter"))

from oob_pki import FilterModule, oob_request_disposition  # noqa: E402


@pytest.mark.parametrize(
    ("value", "auto_issue", "expected"),
    [
        (0x101, True, 0x1),  # the Enterprise CA default when approval is required: pending + issue
        (0x1, True, 0x1),  # already issuing: unchanged
        (0x1, False, 0x101),
        (0x100, True, 0x0),
        (0x30101, True, 0x30001),  # other bits are kept
        ("257", True, 1),
    ],
)
def test_request_disposition(value, auto_issue, expected):
    assert oob_request_disposition(value, auto_issue) == expected


@pytest.mark.parametrize("bad", [-1, 0x1_0000_0000])
def test_request_disposition_refuses_non_dword(bad):
    with pytest.raises(ValueError, match="DWORD"):
        oob_request_disposition(bad)


def test_filter_is_registered():
    assert FilterModule().filters()["oob_request_disposition"] is oob_request_disposition
