# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the PKI roles (Jinja has no bitwise operators)."""

from __future__ import annotations

REQUEST_DISPOSITION_PENDING = 0x100  # CertSvc default policy module: hold requests for a CA manager


def oob_request_disposition(value: int, auto_issue: bool = True) -> int:
    """RequestDisposition with the pending bit cleared (auto_issue) or set; every other bit kept."""
    value = int(value)
    if value < 0 or value > 0xFFFFFFFF:
        raise ValueError(f"RequestDisposition must be a DWORD, got {value}")
    return value & ~REQUEST_DISPOSITION_PENDING if auto_issue else value | REQUEST_DISPOSITION_PENDING


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"oob_request_disposition": oob_request_disposition}
