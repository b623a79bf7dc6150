# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Windows host needs for ConfigMgr 2007 SP1 out of band management, from its OS, service pack and roles.

Pure: no I/O, no Ansible. The seed's rows:
- WinRM on the out of band service point, the primary site server and every out of band management console.
- "If the out of band service point site system role is installed on Windows Server 2003, Windows Server 2003 Service
  Pack 2 or later is required" and, on Server 2003 SP2, the hotfix KB942841.
- MSXML 6.0 on the consoles (part of Windows from Vista and Server 2008; a separate install before).
- The Telnet Client on Windows Vista and Server 2008 consoles (not installed by default from NT 6.0 on: a Windows
  feature on servers, an optional feature on clients; XP and Server 2003 have it built in).

Windows versions are compared as NT versions: 5.1 XP, 5.2 Server 2003, 6.0 Vista / Server 2008, 6.1 7 / 2008 R2,
later ones alike. Ansible's Windows modules need PowerShell 3.0 and .NET 4.0, which NT 5.x does not run
(docs/adr/0005): such a host is checked with raw commands and what it needs is reported as a manual step.
"""

from __future__ import annotations

import re

ROLES = ("service_point", "site_server", "console")
ROWS = {
    "winrm": "winrm",
    "kb942841": "server2003_sp2_kb942841",
    "msxml6": "console_msxml6",
    "telnet_client": "console_telnet_client",
    "os": "server2003_sp2_kb942841",  # the supported operating systems of the host's roles (the same row)
}


def _nt(version: str) -> tuple[int, int]:
    match = re.match(r"^\s*(\d+)\.(\d+)", str(version or ""))
    if not match:
        raise ValueError(f"not a Windows version: {version!r} (expected an NT version such as 6.1.7601)")
    return int(match.group(1)), int(match.group(2))


def plan(os_version: str, service_pack: int, product_type: str, roles: list[str], os_name: str = "") -> dict:
    """The decision for one host: {'supported', 'reason', 'ansible_managed', 'needs': {winrm, kb942841, msxml6,
    telnet_client}} where telnet_client is None, 'feature' (servers) or 'optional_feature' (clients).

    ``product_type``: workstation, server or domain_controller (Win32_OperatingSystem.ProductType 1/3/2).
    An unsupported host gets supported False and a reason, never an exception: the caller reports it.
    """
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise ValueError(f"roles must be some of {', '.join(ROLES)}, not {roles!r}")
    if product_type not in ("workstation", "server", "domain_controller"):
        raise ValueError(f"product_type must be workstation, server or domain_controller, not {product_type!r}")
    nt = _nt(os_version)
    sp = int(service_pack or 0)
    server = product_type != "workstation"
    name = os_name or f"Windows NT {nt[0]}.{nt[1]}"
    reason = ""
    if nt < (5, 1):
        reason = f"{name} is older than anything ConfigMgr 2007 SP1 supports"
    elif "service_point" in roles or "site_server" in roles:
        if not server:
            reason = f"{name} is a client OS: a site system (service point, site server) needs Windows Server"
        elif nt == (5, 2) and sp < 2:
            reason = (
                f"{name} SP{sp}: the out of band service point on Windows Server 2003 needs Service Pack 2 or later"
            )
    if not reason and "console" in roles and nt == (5, 1) and sp < 2:
        reason = f"{name} SP{sp}: the console needs Windows XP SP2 or later"
    needs = {
        "winrm": True,
        "kb942841": "service_point" in roles and nt == (5, 2),
        "msxml6": "console" in roles and nt < (6, 0),  # from Vista / Server 2008 on, MSXML 6.0 is part of Windows
        "telnet_client": None,
    }
    if "console" in roles and nt >= (6, 0):
        needs["telnet_client"] = "feature" if server else "optional_feature"
    return {
        "supported": not reason,
        "reason": reason,
        "ansible_managed": nt >= (6, 0),
        "needs": needs,
        "nt": f"{nt[0]}.{nt[1]}",
    }


def readiness(host: str, decision: dict, found: dict) -> list[dict]:
    """Check rows for one host from the decision and what was found ({winrm, kb942841, msxml6, telnet_client}: True,
    False, or None when it could not be read): pass, fail, or skip with the reason; an unsupported host is one fail."""
    rows = []

    def row(key: str, status: str, evidence: str, remedy: str = "") -> None:
        rows.append({"id": f"windows.{host}.{key}", "row": ROWS[key], "status": status, "evidence": evidence,
                     "remedy": "" if status == "pass" else remedy})  # fmt: skip

    if not decision["supported"]:
        row("os", "fail", f"{host}: {decision['reason']}", "move the role to a supported Windows version")
        return rows
    remedies = {
        "winrm": "install WinRM (Windows Management Framework) and start the WinRM service (role oob_windows_prereqs)",
        "kb942841": "install hotfix KB942841 (an .exe: see docs/adr/0005) and restart",
        "msxml6": "install MSXML 6.0 (role oob_windows_prereqs, oob_windows_prereqs_msxml6_msi)",
        "telnet_client": "install the Telnet Client (role oob_windows_prereqs)",
    }
    for key, needed in decision["needs"].items():
        if not needed:
            continue
        value = found.get(key)
        if value is None:
            row(key, "skip", f"{host}: {key} could not be read", remedies[key])
        else:
            row(key, "pass" if value else "fail", f"{host}: {key} {'present' if value else 'missing'}", remedies[key])
    return rows


def oob_windows_plan(facts: dict, roles: list[str]) -> dict:
    """The filter: plan() from {os_version, service_pack, product_type, os_name}."""
    return plan(facts.get("os_version"), facts.get("service_pack", 0), facts.get("product_type"), list(roles),
                facts.get("os_name", ""))  # fmt: skip


def oob_windows_readiness(decision: dict, host: str, found: dict) -> list[dict]:
    return readiness(host, decision, found)


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"oob_windows_plan": oob_windows_plan, "oob_windows_readiness": oob_windows_readiness}
