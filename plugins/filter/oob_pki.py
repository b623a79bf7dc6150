# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the PKI roles (Jinja has no bitwise operators).

Values of the CA's default policy module (registry key
``HKLM\\SYSTEM\\CurrentControlSet\\Services\\CertSvc\\Configuration\\<CA>\\PolicyModules\\
CertificateAuthority_MicrosoftDefault.Policy``), as the Windows SDK's certsrv.h defines them.
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean

# certsrv.h, "wszREGREQUESTDISPOSITION Values": the low byte is the disposition, 0x100 pends every request first.
REQDISP_PENDING = 0x00000000
REQDISP_ISSUE = 0x00000001
REQDISP_MASK = 0x000000FF
REQDISP_PENDINGFIRST = 0x00000100

# certsrv.h, "wszREGEDITFLAGS Values": requests may carry their own subject alternative name (ESC6).
EDITF_ATTRIBUTESUBJECTALTNAME2 = 0x00040000

_DWORD_MAX = 0xFFFFFFFF


def _dword(value, what: str) -> int:
    value = int(value)
    if value < 0 or value > _DWORD_MAX:
        raise ValueError(f"{what} must be a DWORD (0..0xffffffff), got {value}")
    return value


def oob_request_disposition(value: int, auto_issue: bool = True) -> int:
    """The RequestDisposition that issues automatically (auto_issue) or holds every request for a CA manager.

    auto_issue: the disposition byte becomes REQDISP_ISSUE and REQDISP_PENDINGFIRST is cleared; clearing
    REQDISP_PENDINGFIRST alone would leave 0x100 pending (0) and 0x2 denying. Otherwise REQDISP_PENDINGFIRST is set
    and the disposition byte kept. Bits above 0x1ff are kept either way.
    """
    value = _dword(value, "RequestDisposition")
    try:
        auto_issue = boolean(auto_issue, strict=True)  # "false" from -e or an INI inventory is a string
    except TypeError as exc:
        raise ValueError(f"auto_issue must be a boolean, got {auto_issue!r}") from exc
    if auto_issue:
        return (value & ~(REQDISP_MASK | REQDISP_PENDINGFIRST)) | REQDISP_ISSUE
    return value | REQDISP_PENDINGFIRST


def oob_edit_flags_san2(value: int) -> bool:
    """True when the policy module's EditFlags has EDITF_ATTRIBUTESUBJECTALTNAME2 set (ESC6)."""
    return bool(_dword(value, "EditFlags") & EDITF_ATTRIBUTESUBJECTALTNAME2)


def oob_cert_store_script(thumbprint=None) -> str:
    """The PowerShell that reads the AMT provisioning certificate(s) of LocalMachine\\My with their chains
    (module_utils windows.cert_store; the module amt_provisioning_trust parses what it prints)."""
    from ansible.errors import AnsibleFilterError
    from ansible_collections.oob.prep.plugins.module_utils.windows.cert_store import read_script

    try:
        return read_script(thumbprint or None)
    except ValueError as exc:
        raise AnsibleFilterError(f"oob_cert_store_script: {exc}") from None


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {
            "oob_request_disposition": oob_request_disposition,
            "oob_edit_flags_san2": oob_edit_flags_san2,
            "oob_cert_store_script": oob_cert_store_script,
        }
