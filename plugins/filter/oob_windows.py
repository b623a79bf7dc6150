# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Windows host needs for ConfigMgr 2007 SP1 out of band management, from its OS, service pack and roles.

Pure: no I/O (the parsing of what the roles read is in module_utils/oob_windows_checks). The seed's rows:
- WinRM on the out of band service point, the primary site server and every out of band management console.
- "If the out of band service point site system role is installed on Windows Server 2003, Windows Server 2003 Service
  Pack 2 or later is required" and, on Server 2003 SP2, the hotfix KB942841.
- MSXML 6.0 on the consoles (part of Windows from Vista and Server 2008; a separate install before).
- The Telnet Client on Windows Vista and Server 2008 consoles (not installed by default from NT 6.0 on: a Windows
  feature on servers, an optional feature on clients; XP and Server 2003 have it built in).

Windows versions are compared as NT versions: 5.1 XP, 5.2 Server 2003, 6.0 Vista / Server 2008, 6.1 7 / 2008 R2,
later ones alike. Ansible's Windows modules need PowerShell 3.0 and .NET 4.0, which NT 5.x, Vista and a Server 2008
without WMF 3.0 do not run (docs/adr/0005): such a host is not managed, and each of its requirements is a skip row
naming the exact commands to run on it by hand.
"""

from __future__ import annotations

import re

from ansible_collections.oob.prep.plugins.module_utils.windows import checks as wc  # noqa: E402

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


def plan(
    os_version: str,
    service_pack: int,
    product_type: str,
    roles: list[str],
    os_name: str = "",
    *,
    powershell: int | None = None,
) -> dict:
    """The decision for one host: {'supported', 'reason', 'ansible_managed', 'manual_reason', 'family', 'needs':
    {winrm, kb942841, msxml6, telnet_client}, 'telnet_read', 'nt'}.

    ``telnet_client`` is how the Telnet Client is installed - None (not needed), 'feature' (win_feature, 2008 R2 and
    later servers), 'optional_feature' (win_optional_feature, Windows 8 and later), 'dism' (Windows 7),
    'servermanagercmd' (Server 2008) or 'pkgmgr' (Vista: a manual step, Vista is never managed). ``telnet_read`` is
    how it is read: 'dism' (6.1 and later) or 'servermanagercmd' (Server 2008).

    ``ansible_managed``: Ansible's Windows modules need PowerShell 3.0 (docs/adr/0005): never NT 5.x, never Vista
    (WMF 3.0 does not exist for it), Server 2008 only with PowerShell 3.0 installed, 6.1 and later with PowerShell
    3.0 or later as read (``powershell`` None: not read, so not managed). ``product_type``: workstation, server or
    domain_controller (Win32_OperatingSystem.ProductType 1/3/2). An unsupported host gets supported False and a
    reason, never an exception: the caller reports it.
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
        # MSXML 6.0 ships with Vista / Server 2008 and later, and is read there too (read, never assume)
        "msxml6": "console" in roles,
        "telnet_client": None,
    }
    telnet_read = None
    if "console" in roles and nt >= (6, 0):
        if nt == (6, 0):
            needs["telnet_client"] = "servermanagercmd" if server else "pkgmgr"
            telnet_read = "servermanagercmd" if server else None
        else:
            needs["telnet_client"] = "feature" if server else "dism" if nt == (6, 1) else "optional_feature"
            telnet_read = "dism"
    ps = None if powershell in (None, "") else int(powershell)
    manual = ""
    if nt < (6, 0):
        manual = f"{name} (NT {nt[0]}.{nt[1]}) cannot run PowerShell 3.0, which Ansible's Windows modules need"
    elif nt == (6, 0) and not server:
        manual = f"{name}: Windows Vista cannot run PowerShell 3.0 (no WMF 3.0 for Vista), which Ansible needs"
    elif ps is None:
        manual = f"{name}: the PowerShell version was not read"
    elif ps < 3:
        manual = f"{name} runs PowerShell {ps}; Ansible's Windows modules need 3.0 (install WMF 3.0 or later)"
    return {
        "supported": not reason,
        "reason": reason,
        "ansible_managed": not manual,
        "manual_reason": manual,
        "family": wc.os_family(f"{nt[0]}.{nt[1]}", product_type),
        "needs": needs,
        "telnet_read": telnet_read,
        "nt": f"{nt[0]}.{nt[1]}",
        "read": True,
    }


_PRODUCT_TYPES = {"1": "workstation", "2": "domain_controller", "3": "server"}


def parse_probe(text: str) -> dict:
    """The raw probe's ``key=value`` lines (roles/oob_windows_prereqs/tasks/facts.yml) -> the facts plan() takes.
    ValueError (with the reason) when the output is not the probe's."""
    values = {}
    for line in str(text or "").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key in ("os_version", "service_pack", "product_type", "os_name", "powershell"):
            values[key] = value.strip()
    missing = [k for k in ("os_version", "product_type") if not values.get(k)]
    if missing:
        first = next((ln.strip() for ln in str(text or "").splitlines() if ln.strip()), "(no output)")
        raise ValueError(f"the OS probe printed no {' and no '.join(missing)}: {first[:200]}")
    return {
        "os_version": values["os_version"],
        "service_pack": int(values.get("service_pack") or 0),
        "product_type": _PRODUCT_TYPES.get(values["product_type"], values["product_type"]),
        "os_name": values.get("os_name", ""),
        "powershell": int(values["powershell"]) if values.get("powershell", "").isdigit() else None,
    }


def _not_read(roles: list[str], why: str) -> dict:
    return {"supported": True, "reason": "", "ansible_managed": False, "manual_reason": why, "family": "",
            "needs": {}, "telnet_read": None, "nt": "", "read": False, "roles": list(roles)}  # fmt: skip


def readiness(host: str, decision: dict, reads: dict | None = None, thumbprint: str = "") -> list[dict]:
    """Check rows for one host from the decision and what was read (``reads``: the registered results of the read
    tasks, by name: sc_qc, sc_query, listeners, hotfix, msxml6_reg, msxml6_dll, telnet_exe, telnet_feature).

    Not reached or not probed: WinRM fails, the rest warns. Not manageable by Ansible: skip rows naming the manual
    commands. Unsupported: one failed row. Otherwise every need is read: absent fails, unreadable warns."""
    reads = reads or {}
    if not decision.get("read", True):
        return wc.unreachable_rows(host, decision.get("roles", []), decision["manual_reason"])
    rows = []

    def row(key: str, status: str, evidence: str, remedy: str = "") -> None:
        rows.append({"id": f"windows.{host}.{key}", "row": ROWS[key], "status": status, "evidence": evidence,
                     "remedy": "" if status == "pass" else remedy})  # fmt: skip

    if not decision["supported"]:
        row("os", "fail", f"{host}: {decision['reason']}", "move the role to a supported Windows version")
        return rows
    if not decision["ansible_managed"]:
        return [r for r in wc.manual_rows(host, decision["needs"], decision["family"], decision["manual_reason"])
                if r["row"] != wc.ROW_IPSEC]  # fmt: skip  # the IPsec row is the network role's
    needs = decision["needs"]
    rows.extend(wc.winrm_rows(host, reads, thumbprint))
    if needs.get("kb942841"):
        rows.append(wc.kb942841_row(host, reads))
    if needs.get("msxml6"):
        rows.append(wc.msxml6_row(host, reads))
    if needs.get("telnet_client"):
        rows.append(wc.telnet_row(host, reads, decision["telnet_read"]))
    return rows


def oob_windows_plan(facts: dict, roles: list[str]) -> dict:
    """The filter: plan() from {os_version, service_pack, product_type, os_name, powershell}, or from the registered
    result of the raw OS probe (unreachable, failed or unparseable: a plan with read False and the reason)."""
    if "os_version" not in facts:
        if facts.get("unreachable"):
            return _not_read(roles, f"unreachable: {facts.get('msg', '')}".strip())
        if facts.get("rc", 0) != 0 or "stdout" not in facts:
            return _not_read(roles, f"the OS probe failed: {facts.get('msg') or facts.get('stderr') or 'no output'}")
        try:
            facts = parse_probe(facts["stdout"])
        except ValueError as exc:
            return _not_read(roles, str(exc))
    return plan(facts.get("os_version"), facts.get("service_pack", 0), facts.get("product_type"), list(roles),
                facts.get("os_name", ""), powershell=facts.get("powershell"))  # fmt: skip


def oob_windows_readiness(decision: dict, host: str, reads: dict | None = None, thumbprint: str = "") -> list[dict]:
    return readiness(host, decision, reads, thumbprint)


def oob_windows_manual(roles: list[str], host: str, family: str = "nt5", why: str = "") -> list[dict]:
    """Skip rows (with the commands to run by hand) for a host the estate marks legacy_os (NT 5.x), including its
    IPsec row: nothing connects to it."""
    needs = {"winrm": True, "kb942841": "service_point" in roles, "msxml6": "console" in roles,
             "telnet_client": "console" in roles}  # fmt: skip
    return wc.manual_rows(host, needs, family, why or "legacy_os in the estate: Ansible cannot manage NT 5.x")


def oob_windows_ipsec(decision: dict, host: str, reads: dict | None = None) -> list[dict]:
    """The host's no_ipsec row: read (managed host), skip with the manual commands (not manageable), or warn (not
    reached)."""
    if not decision.get("read", True):
        return [{"id": f"network.ipsec.{host}", "row": wc.ROW_IPSEC, "status": "warn",
                 "evidence": f"{host}: IPsec policies not read: {decision['manual_reason']}",
                 "remedy": "reach the host, then run verify again"}]  # fmt: skip
    if not decision["ansible_managed"]:
        return [r for r in wc.manual_rows(host, {}, decision["family"], decision["manual_reason"])
                if r["row"] == wc.ROW_IPSEC]  # fmt: skip
    return [wc.ipsec_row(host, reads or {}, decision["nt"])]


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {
            "oob_windows_plan": oob_windows_plan,
            "oob_windows_readiness": oob_windows_readiness,
            "oob_windows_manual": oob_windows_manual,
            "oob_windows_ipsec": oob_windows_ipsec,
        }
