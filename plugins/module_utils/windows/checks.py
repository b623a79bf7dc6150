# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows readiness checks read from command output: text in, check rows out. Pure: no I/O, no Ansible.

Every check reads the host with a command that exists on its Windows version (``sc.exe``, ``winrm``, ``wmic``,
``reg``, ``dism``, ``servermanagercmd``, ``netsh``) and parses the text here. The rules, for every check:
- a state that is absent (no service, no listener, no hotfix, no key, a disabled feature) is ``fail``;
- output that cannot be parsed, or a command that could not run, is ``warn`` with the reason - never ``pass``;
- a host Ansible cannot manage gets ``skip`` rows naming the exact commands to run by hand (MANUAL).

Output formats are those Microsoft's tools print (samples and their sources: tests/unit/plugins/module_utils/
fixtures/windows_checks/README.md).
"""

from __future__ import annotations

import re

AMT_PORTS = (16992, 16993, 16994, 16995, 9971)  # the seed's out of band ports (and 16994, plain redirection)
KB942841 = "KB942841"
MSXML6_KEY = r"HKLM\SOFTWARE\Classes\Msxml2.DOMDocument.6.0\CLSID"
IPSEC_LOCAL_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\IPSec\Policy\Local"
IPSEC_GPO_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\IPSec\GPTIPSECPolicy"

ROW_WINRM = "winrm"
ROW_KB = "server2003_sp2_kb942841"
ROW_MSXML = "console_msxml6"
ROW_TELNET = "console_telnet_client"
ROW_IPSEC = "no_ipsec"


class Unparsed(ValueError):
    """The text is not the output the check expects; the message says why (the row becomes warn)."""


def _row(cid: str, row: str, status: str, evidence: str, remedy: str = "") -> dict:
    return {"id": cid, "row": row, "status": status, "evidence": evidence, "remedy": "" if status == "pass" else remedy}


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text or "").splitlines() if ln.strip()]
    return lines[0][:200] if lines else "(no output)"


def command_output(result) -> str:
    """The stdout of a registered command result; Unparsed (with the reason) when it did not run or failed."""
    if not isinstance(result, dict) or not result:
        raise Unparsed("not read (the command did not run)")
    if result.get("skipped"):
        raise Unparsed("not read (the task was skipped)")
    if result.get("unreachable"):
        raise Unparsed(f"host unreachable: {result.get('msg', '')}".strip())
    if "stdout" not in result:
        raise Unparsed(f"the command did not run: {result.get('msg') or 'no output'}")
    return str(result.get("stdout") or "")


# --------------------------------------------------------------------------------------------------- sc.exe
_SC_MISSING = re.compile(r"FAILED\s+1060\b|does not exist as an installed service", re.I)


def parse_sc_qc(text: str) -> dict:
    """``sc.exe qc <service>`` -> {exists, start_type (AUTO_START, DEMAND_START, DISABLED...), delayed}."""
    if _SC_MISSING.search(text or ""):
        return {"exists": False, "start_type": "", "delayed": False}
    m = re.search(r"^\s*START_TYPE\s*:\s*\d+\s+([A-Z_]+)(.*)$", text or "", re.M)
    if not m:
        raise Unparsed(f"no START_TYPE in the output of sc.exe qc: {_first_line(text)}")
    return {"exists": True, "start_type": m.group(1), "delayed": "DELAYED" in m.group(2).upper()}


def parse_sc_query(text: str) -> dict:
    """``sc.exe query <service>`` -> {exists, state (RUNNING, STOPPED, ...)}."""
    if _SC_MISSING.search(text or ""):
        return {"exists": False, "state": ""}
    m = re.search(r"^\s*STATE\s*:\s*\d+\s+([A-Z_]+)", text or "", re.M)
    if not m:
        raise Unparsed(f"no STATE in the output of sc.exe query: {_first_line(text)}")
    return {"exists": True, "state": m.group(1)}


# ----------------------------------------------------------------------------------------------- winrm.cmd
def parse_winrm_listeners(text: str) -> list[dict]:
    """``winrm enumerate winrm/config/listener`` -> one dict per ``Listener`` block ({Address, Transport, Port,
    Enabled, CertificateThumbprint, ...}). No listener at all prints nothing: an empty list."""
    listeners: list[dict] = []
    current: dict | None = None
    for raw in str(text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        if re.match(r"^Listener\b", line):
            current = {"_source": line[len("Listener") :].strip()}
            listeners.append(current)
            continue
        m = re.match(r"^([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*(.*))?$", line)  # an empty property prints its name only
        if current is not None and m:
            current[m.group(1)] = (m.group(2) or "").strip()
        elif current is None:
            raise Unparsed(f"not a listener list (winrm enumerate winrm/config/listener): {_first_line(text)}")
    for listener in listeners:
        if "Transport" not in listener:
            raise Unparsed("a Listener block without Transport in the output of winrm enumerate")
    return listeners


# ------------------------------------------------------------------------------------------ hotfix (KB942841)
def parse_hotfix(text: str, kb: str = KB942841) -> bool:
    """``wmic qfe where HotFixID="KB..." get HotFixID`` or ``Get-HotFix`` (table) -> whether ``kb`` is installed."""
    text = str(text or "")
    gone = (r"No Instance\(s\) Available", r"Cannot find the requested hotfix")
    if any(re.search(pattern, text, re.I) for pattern in gone):
        return False
    if not re.search(r"\bHotFixID\b", text, re.I):
        raise Unparsed(f"no HotFixID column in the hotfix list: {_first_line(text)}")
    return re.search(rf"\b{re.escape(kb)}\b", text, re.I) is not None


# ------------------------------------------------------------------------------------------------- reg.exe
_REG_MISSING = re.compile(r"unable to find the specified registry key or value", re.I)


def parse_reg_query(text: str) -> dict | None:
    """``reg query <key> [/v name | /ve]`` -> {value name: (type, data)} (``(Default)`` for /ve), or None when the
    key or value does not exist."""
    text = str(text or "")
    if _REG_MISSING.search(text):
        return None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].strip().upper().startswith("HKEY_"):
        raise Unparsed(f"not reg.exe query output: {_first_line(text)}")
    values = {}
    for line in lines[1:]:
        m = re.match(r"^\s+(.+?)\s{2,}(REG_[A-Z_]+)\s*(.*)$", line)
        if m:
            values[m.group(1).strip()] = (m.group(2), m.group(3).strip())
    return values


# ------------------------------------------------------------------------------------ Telnet Client feature
def parse_dism_feature(text: str) -> str:
    """``dism /online /get-featureinfo /featurename:TelnetClient`` -> the State (Enabled, Disabled, ...), or
    ``unknown`` when DISM does not know the feature (error 0x800f080c)."""
    text = str(text or "")
    if re.search(r"0x800f080c|is unknown", text, re.I):
        return "unknown"
    m = re.search(r"^\s*State\s*:\s*(\S+)", text, re.M)
    if not m:
        raise Unparsed(f"no State in the output of dism /get-featureinfo: {_first_line(text)}")
    return m.group(1)


def parse_servermanagercmd(text: str, feature: str = "Telnet-Client") -> bool:
    """``servermanagercmd -query`` (Windows Server 2008) -> whether ``[X] ... [feature]`` is installed."""
    text = str(text or "")
    m = re.search(rf"^\s*\[(.)\]\s+.*\[{re.escape(feature)}\]\s*$", text, re.M | re.I)
    if not m:
        raise Unparsed(f"{feature} is not in the output of servermanagercmd -query: {_first_line(text)}")
    return m.group(1).upper() == "X"


# --------------------------------------------------------------------------------------------- IPsec (netsh)
def _kv_blocks(text: str, start: str) -> list[list[tuple[str, str]]]:
    blocks: list[list[tuple[str, str]]] = []
    for raw in str(text or "").splitlines():
        m = re.match(r"^\s*([A-Za-z][A-Za-z0-9 ()/.-]*?)\s*:\s*(.*)$", raw)
        if not m:
            continue
        key, value = m.group(1).strip(), m.group(2).strip()
        if key.lower() == start.lower():
            blocks.append([])
        if blocks:
            blocks[-1].append((key, value))
    return blocks


def _port_covers(value) -> bool:
    text = str(value if value is not None else "").strip().upper()
    if text in ("", "ANY", "0", "*"):
        return True
    for part in re.split(r"[,\s]+", text):
        if "-" in part:
            low, _sep, high = part.partition("-")
            if low.isdigit() and high.isdigit() and any(int(low) <= p <= int(high) for p in AMT_PORTS):
                return True
        elif part.isdigit() and int(part) in AMT_PORTS:
            return True
    return False


def _protocol_covers(value) -> bool:
    return str(value if value is not None else "ANY").strip().upper() in ("", "ANY", "TCP", "6", "0")


def parse_netsh_ipsec_policies(text: str) -> list[dict]:
    """``netsh ipsec static show policy all level=verbose`` -> [{name, assigned, rules: [{name, active, action,
    filters: [{protocol, src_port, dst_port}]}]}]; [] when the store holds no policy."""
    text = str(text or "")
    if not text.strip() or re.search(r"no polic(y|ies)", text, re.I) and "Policy Name" not in text:
        return []
    if not re.search(r"^\s*Policy Name\s*:", text, re.M):
        raise Unparsed(f"no Policy Name in the output of netsh ipsec static show policy: {_first_line(text)}")
    policies = []
    for block in _kv_blocks(text, "Policy Name"):
        policy = {"name": block[0][1], "assigned": None, "rules": []}
        rule = None
        filt: dict | None = None
        for key, value in block[1:]:
            k = key.lower()
            if k == "assigned" and policy["assigned"] is None and rule is None:
                policy["assigned"] = value.upper().startswith("Y")
            elif k in ("rule id", "rule name"):
                if rule is None or rule.get("_keys") and k in rule["_keys"]:
                    rule = {"name": value, "active": True, "action": "", "filters": [], "_keys": set()}
                    policy["rules"].append(rule)
                    filt = None
                rule["_keys"].add(k)
            elif rule is None:
                continue
            elif k == "activated":
                rule["active"] = value.upper().startswith("Y")
            elif k == "action":
                rule["action"] = value.upper()
            elif k in ("protocol", "source port", "destination port"):
                field = {"protocol": "protocol", "source port": "src_port", "destination port": "dst_port"}[k]
                if filt is None or field in filt:
                    filt = {}
                    rule["filters"].append(filt)
                filt[field] = value
        for r in policy["rules"]:
            r.pop("_keys", None)
        if policy["assigned"] is None:
            raise Unparsed(f"policy {policy['name']!r} without an Assigned line in the netsh output")
        policies.append(policy)
    return policies


def netsh_rule_covers(rule: dict) -> bool | None:
    """Whether an (activated) rule of an assigned policy applies IPsec to AMT traffic; None when it cannot tell."""
    if not rule.get("active", True):
        return False
    action = rule.get("action", "")
    if action.startswith("PERMIT"):
        return False  # an exemption: the traffic passes without IPsec
    if not rule.get("filters"):
        return None

    def covers(f: dict) -> bool:
        ports = _port_covers(f.get("src_port")) or _port_covers(f.get("dst_port"))
        return bool(_protocol_covers(f.get("protocol")) and ports)

    return any(covers(f) for f in rule["filters"])


def parse_consec_rules(text: str) -> list[dict]:
    """``netsh advfirewall consec show rule name=all verbose`` (Vista / 2008 and later) -> [{name, enabled,
    protocol, port1, port2, action}]; [] when no rule matches."""
    text = str(text or "")
    if re.search(r"No rules match", text, re.I):
        return []
    if not re.search(r"^\s*Rule Name\s*:", text, re.M):
        raise Unparsed(f"no Rule Name in the output of netsh advfirewall consec show rule: {_first_line(text)}")
    rules = []
    for block in _kv_blocks(text, "Rule Name"):
        d = {k.lower(): v for k, v in block}
        rules.append({"name": d.get("rule name", ""), "enabled": d.get("enabled", "").lower().startswith("y"),
                      "protocol": d.get("protocol", "Any"), "port1": d.get("port1", "Any"),
                      "port2": d.get("port2", "Any"), "action": d.get("action", "")})  # fmt: skip
    return rules


def consec_rule_covers(rule: dict) -> bool:
    if not rule["enabled"] or rule["action"].lower() == "noauthentication":
        return False
    return _protocol_covers(rule["protocol"]) and (_port_covers(rule["port1"]) or _port_covers(rule["port2"]))


def netipsec_rule_covers(rule: dict) -> bool:
    """A Get-NetIPsecRule rule as the read script prints it ({name, enabled, protocol, local_ports, remote_ports,
    inbound, outbound}); ``None`` security both ways is an exemption."""
    if str(rule.get("enabled", "True")).lower() not in ("true", "1"):
        return False
    if str(rule.get("inbound", "")).lower() == "none" and str(rule.get("outbound", "")).lower() == "none":
        return False
    ports = [str(p) for p in (rule.get("local_ports") or []) + (rule.get("remote_ports") or [])]
    ports = [p for p in ports if p.lower() != "any"]
    return _protocol_covers(rule.get("protocol")) and (not ports or any(_port_covers(p) for p in ports))


# ---------------------------------------------------------------------------------- the manual checks per OS
# What to run by hand on a host Ansible cannot manage (docs/adr/0005 lists the same commands), per need and per OS
# family: nt5 (Windows XP, Server 2003), vista, server2008 (Windows Server 2008 without PowerShell 3.0).
_SC = "sc.exe qc WinRM (START_TYPE 2 AUTO_START) and sc.exe query WinRM (STATE 4 RUNNING)"
_LISTENER = "winrm enumerate winrm/config/listener (a Listener with Transport = HTTPS and Enabled = true)"
_TELNET_FILE = r"dir %windir%\system32\telnet.exe (the file must exist)"
_IPSEC_REG = (rf"reg query {IPSEC_LOCAL_KEY} /v ActivePolicy (a value = a local policy is assigned) and "
              rf"reg query {IPSEC_GPO_KEY} (DSIPSECPolicyPath = a domain policy is assigned)")  # fmt: skip
MANUAL = {
    "nt5": {
        "winrm": f"{_SC}; {_LISTENER}; missing: install WinRM 1.1 (KB936059) or WMF 2.0",
        "kb942841": (
            'wmic os get ServicePackMajorVersion (2 or later) and wmic qfe where HotFixID="KB942841" get '
            'HotFixID (KB942841 listed; "No Instance(s) Available." = missing: install the KB942841 .exe)'
        ),
        "msxml6": (
            rf'reg query "{MSXML6_KEY}" /ve and dir %windir%\system32\msxml6.dll (both must exist; missing: '
            "install msxml6.msi)"
        ),
        "telnet_client": f"{_TELNET_FILE} (built into Windows XP and Server 2003)",
        "ipsec": (
            f"{_IPSEC_REG}; on Server 2003: netsh ipsec static show policy all level=verbose (an assigned "
            "policy must have no filter with port ANY or 16992-16995/9971 other than a Permit action); on "
            "Windows XP: ipseccmd show all (Support Tools)"
        ),
    },
    "vista": {
        "winrm": f"{_SC}; {_LISTENER}",
        "msxml6": rf'reg query "{MSXML6_KEY}" /ve and dir %windir%\system32\msxml6.dll (part of Windows Vista)',
        "telnet_client": f'{_TELNET_FILE}; missing: start /w pkgmgr /iu:"TelnetClient"',
        "ipsec": (
            f"{_IPSEC_REG}; netsh ipsec static show policy all level=verbose; netsh advfirewall consec show "
            "rule name=all verbose (no enabled rule may require or request IPsec for those ports)"
        ),
    },
    "server2008": {
        "winrm": f"{_SC}; {_LISTENER}",
        "msxml6": rf'reg query "{MSXML6_KEY}" /ve and dir %windir%\system32\msxml6.dll (part of Server 2008)',
        "telnet_client": (
            f"servermanagercmd -query ([X] Telnet Client [Telnet-Client]) and {_TELNET_FILE}; "
            'missing: servermanagercmd -install Telnet-Client (or start /w pkgmgr /iu:"TelnetClient")'
        ),
        "ipsec": (
            f"{_IPSEC_REG}; netsh ipsec static show policy all level=verbose; netsh advfirewall consec show "
            "rule name=all verbose"
        ),
    },
}
_KEY_ROW = {"winrm": ROW_WINRM, "kb942841": ROW_KB, "msxml6": ROW_MSXML, "telnet_client": ROW_TELNET,
            "ipsec": ROW_IPSEC}  # fmt: skip


def os_family(nt: str, product_type: str) -> str:
    major, minor = (int(x) for x in str(nt).split(".")[:2])
    if major < 6:
        return "nt5"
    if (major, minor) == (6, 0):
        return "vista" if product_type == "workstation" else "server2008"
    return "managed"


def manual_rows(host: str, needs: dict, family: str, why: str) -> list[dict]:
    """Skip rows, one per need (and IPsec), each naming the commands to run by hand: the host was not read."""
    commands = MANUAL[family]
    rows = []
    for key in ("winrm", "kb942841", "msxml6", "telnet_client", "ipsec"):
        if key != "ipsec" and not needs.get(key):
            continue
        if key not in commands:
            continue
        cid = f"network.ipsec.{host}" if key == "ipsec" else f"windows.{host}.{key}"
        rows.append(_row(cid, _KEY_ROW[key], "skip", f"{host}: not read - {why}; check by hand: {commands[key]}",
                         f"run on {host}: {commands[key]}"))  # fmt: skip
    return rows


# ----------------------------------------------------------------------------------- rows of a managed host
def _read(reads: dict, name: str, parse, *args):
    """(value, None) or (None, reason)."""
    try:
        return parse(command_output(reads.get(name)), *args), None
    except Unparsed as exc:
        return None, str(exc)


def winrm_rows(host: str, reads: dict, thumbprint: str = "") -> list[dict]:
    remedy = "playbooks/windows.yml (--tags area::windows): the WinRM service automatic and running"
    rows = [_row(f"windows.{host}.winrm_reachable", ROW_WINRM, "pass",
                 f"{host}: reached over WinRM (the OS probe and the reads ran)")]  # fmt: skip
    qc, why_qc = _read(reads, "sc_qc", parse_sc_qc)
    query, why_query = _read(reads, "sc_query", parse_sc_query)
    cid = f"windows.{host}.winrm_service"
    if why_qc or why_query:
        rows.append(_row(cid, ROW_WINRM, "warn", f"{host}: WinRM service state not read: {why_qc or why_query}",
                         remedy))  # fmt: skip
    elif not qc["exists"] or not query["exists"]:
        rows.append(_row(cid, ROW_WINRM, "fail", f"{host}: no WinRM service (sc.exe: 1060)", remedy))
    else:
        start = qc["start_type"] + (" (DELAYED)" if qc["delayed"] else "")
        ok = qc["start_type"] == "AUTO_START" and query["state"] == "RUNNING"
        rows.append(_row(cid, ROW_WINRM, "pass" if ok else "fail",
                         f"{host}: WinRM service START_TYPE {start}, STATE {query['state']} (sc.exe qc / query)",
                         remedy))  # fmt: skip
    listeners, why = _read(reads, "listeners", parse_winrm_listeners)
    cid = f"windows.{host}.winrm_https_listener"
    lremedy = "set oob_windows_prereqs_winrm_https_thumbprint and run playbooks/windows.yml (--tags area::windows)"
    if why:
        rows.append(_row(cid, ROW_WINRM, "warn", f"{host}: WinRM listeners not read: {why}", lremedy))
        return rows
    https = [x for x in listeners if x.get("Transport", "").upper() == "HTTPS"
             and x.get("Enabled", "true").lower() == "true"]  # fmt: skip
    if not https:
        seen = ", ".join(f"{x.get('Transport')}:{x.get('Port', '?')}" for x in listeners) or "none"
        rows.append(_row(cid, ROW_WINRM, "fail", f"{host}: no enabled HTTPS listener (listeners: {seen})", lremedy))
    elif thumbprint and not any(x.get("CertificateThumbprint", "").replace(" ", "").lower()
                                == thumbprint.replace(" ", "").lower() for x in https):  # fmt: skip
        got = ", ".join(x.get("CertificateThumbprint", "") or "(none)" for x in https)
        rows.append(_row(cid, ROW_WINRM, "fail", f"{host}: the HTTPS listener uses certificate {got}, not "
                         f"{thumbprint}", lremedy))  # fmt: skip
    else:
        x = https[0]
        rows.append(_row(cid, ROW_WINRM, "pass", f"{host}: HTTPS listener on port {x.get('Port', '?')} "
                         f"(certificate {x.get('CertificateThumbprint', '') or 'not shown'})"))  # fmt: skip
    return rows


def kb942841_row(host: str, reads: dict) -> dict:
    cid, remedy = f"windows.{host}.kb942841", "install hotfix KB942841 (an .exe: docs/adr/0005) and restart"
    found, why = _read(reads, "hotfix", parse_hotfix)
    if why:
        return _row(cid, ROW_KB, "warn", f"{host}: KB942841 not read: {why}", remedy)
    return _row(cid, ROW_KB, "pass" if found else "fail",
                f"{host}: KB942841 {'installed' if found else 'not installed'} (hotfix list)", remedy)  # fmt: skip


def parse_if_exist(text: str) -> bool:
    """``cmd.exe /c if exist "<path>" (echo present) else (echo absent)`` -> whether the file exists."""
    words = str(text or "").split()
    if words in (["present"], ["absent"]):
        return words == ["present"]
    raise Unparsed(f"expected present or absent from the file test: {_first_line(text)}")


def _exists(reads: dict, name: str) -> tuple[bool | None, str]:
    return _read(reads, name, parse_if_exist)


def msxml6_row(host: str, reads: dict) -> dict:
    cid, remedy = f"windows.{host}.msxml6", "install MSXML 6.0 (msxml6.msi) on the console"
    values, why = _read(reads, "msxml6_reg", parse_reg_query)
    dll, why_dll = _exists(reads, "msxml6_dll")
    if why or dll is None:
        return _row(cid, ROW_MSXML, "warn", f"{host}: MSXML 6.0 not read: {why or why_dll}", remedy)
    missing = ([] if values is not None else [f"{MSXML6_KEY} (registration)"]) + \
              ([] if dll else [r"%windir%\system32\msxml6.dll"])  # fmt: skip
    if missing:
        return _row(cid, ROW_MSXML, "fail", f"{host}: MSXML 6.0 missing: {' and '.join(missing)}", remedy)
    clsid = (values.get("(Default)") or ("", ""))[1]
    return _row(cid, ROW_MSXML, "pass", f"{host}: MSXML 6.0 registered ({clsid or 'key present'}) and msxml6.dll "
                "present")  # fmt: skip


def telnet_row(host: str, reads: dict, how: str) -> dict:
    """``how``: dism (6.1 and later) or servermanagercmd (Server 2008): the feature's state, and telnet.exe."""
    cid, remedy = f"windows.{host}.telnet_client", "install the Telnet Client (playbooks/windows.yml)"
    exe, why_exe = _exists(reads, "telnet_exe")
    if how == "servermanagercmd":
        installed, why = _read(reads, "telnet_feature", parse_servermanagercmd)
        state = None if installed is None else ("Installed" if installed else "not installed")
        tool = "servermanagercmd -query"
    else:
        state, why = _read(reads, "telnet_feature", parse_dism_feature)
        installed = None if state is None else state.lower() == "enabled"
        tool = "dism /get-featureinfo"
    if exe is False:
        return _row(cid, ROW_TELNET, "fail", rf"{host}: %windir%\system32\telnet.exe does not exist"
                    + (f"; {tool}: {state}" if state else ""), remedy)  # fmt: skip
    if installed is False:
        return _row(cid, ROW_TELNET, "fail", f"{host}: Telnet Client {state} ({tool})", remedy)
    if why or exe is None:
        return _row(cid, ROW_TELNET, "warn", f"{host}: Telnet Client not read: {why or why_exe}", remedy)
    return _row(cid, ROW_TELNET, "pass", rf"{host}: Telnet Client {state} ({tool}), %windir%\system32\telnet.exe "
                "present")  # fmt: skip


def ipsec_row(host: str, reads: dict, nt: str) -> dict:
    """One no_ipsec row from the Group Policy registry keys, netsh ipsec static, and the connection security rules
    (netsh advfirewall consec on 6.0/6.1, Get-NetIPsecRule from 6.2). fail: an assigned policy or an enabled rule
    covers the AMT ports; warn: something could not be read or told; pass only when every source was read clean."""
    cid, remedy = f"network.ipsec.{host}", "exempt the out of band management ports from the IPsec policies (GPO)"
    fails, warns, clean = [], [], []
    local, why = _read(reads, "reg_local", parse_reg_query)
    if why:
        warns.append(f"{IPSEC_LOCAL_KEY} not read: {why}")
    local_assigned = bool(local and "ActivePolicy" in local)
    gpo, why = _read(reads, "reg_gpo", parse_reg_query)
    if why:
        warns.append(f"{IPSEC_GPO_KEY} not read: {why}")
    elif gpo and ("DSIPSECPolicyPath" in gpo or "DSIPSECPolicyName" in gpo):
        name = (gpo.get("DSIPSECPolicyName") or gpo.get("DSIPSECPolicyPath"))[1]
        warns.append(f"the domain IPsec policy {name!r} is assigned by Group Policy; its filters live in the GPO "
                     "and cannot be told here: check that it exempts TCP 16992-16995 and 9971")  # fmt: skip
    else:
        clean.append("no domain IPsec policy assigned (GPTIPSECPolicy)")
    policies, why = _read(reads, "netsh_static", parse_netsh_ipsec_policies)
    if why:
        warns.append(f"netsh ipsec static not read: {why}")
    else:
        assigned = [p for p in policies if p["assigned"]]
        if local_assigned and not assigned:
            warns.append("the registry names an assigned local policy (ActivePolicy) that netsh does not show")
        for p in assigned:
            verdicts = [(r, netsh_rule_covers(r)) for r in p["rules"]]
            covering = [r["name"] for r, v in verdicts if v]
            unknown = [r["name"] for r, v in verdicts if v is None]
            if covering:
                fails.append(f"assigned policy {p['name']!r}: rules {', '.join(covering)} cover the AMT ports")
            elif unknown:
                warns.append(f"assigned policy {p['name']!r}: rules {', '.join(unknown)} show no filters to tell")
            else:
                clean.append(f"assigned policy {p['name']!r} exempts or does not cover the AMT ports")
        if not assigned and not local_assigned:
            clean.append("no local IPsec policy assigned (netsh ipsec static)")
    major, minor = (int(x) for x in str(nt).split(".")[:2])
    if (major, minor) >= (6, 2):
        rules = reads.get("netipsec")
        if not isinstance(rules, dict) or rules.get("skipped") or rules.get("failed") or "output" not in rules:
            msg = (rules or {}).get("msg", "not read") if isinstance(rules, dict) else "not read"
            warns.append(f"Get-NetIPsecRule not read: {msg}")
        else:
            covering = [r.get("name", "?") for r in rules["output"] if netipsec_rule_covers(r)]
            if covering:
                fails.append(f"IPsec rules {', '.join(covering)} cover the AMT ports (Get-NetIPsecRule)")
            else:
                clean.append(f"{len(rules['output'])} IPsec rules, none covering the AMT ports (Get-NetIPsecRule)")
    else:
        consec, why = _read(reads, "consec", parse_consec_rules)
        if why:
            warns.append(f"netsh advfirewall consec not read: {why}")
        else:
            covering = [r["name"] for r in consec if consec_rule_covers(r)]
            if covering:
                fails.append(f"connection security rules {', '.join(covering)} cover the AMT ports")
            else:
                clean.append(f"{len(consec)} connection security rules, none covering the AMT ports")
    status = "fail" if fails else "warn" if warns else "pass"
    return _row(cid, ROW_IPSEC, status, f"{host}: " + "; ".join(fails + warns + clean), remedy)


def unreachable_rows(host: str, roles: list[str], why: str) -> list[dict]:
    """The host could not be reached or probed: WinRM fails (the seed wants it installed and working), every other
    requirement of the host is warn (not read)."""
    rows = [_row(f"windows.{host}.winrm_reachable", ROW_WINRM, "fail", f"{host}: not reachable over WinRM: {why}",
                 "start WinRM with an HTTPS listener on the host (winrm quickconfig -transport:https), or mark it "
                 "legacy_os in the estate when Ansible cannot manage it (docs/adr/0005)")]  # fmt: skip
    keys = ["kb942841"] if "service_point" in roles else []
    keys += ["msxml6", "telnet_client"] if "console" in roles else []
    for key in keys:
        rows.append(_row(f"windows.{host}.{key}", _KEY_ROW[key], "warn", f"{host}: {key} not read: host not "
                         "reachable over WinRM", "reach the host, then run verify again"))  # fmt: skip
    return rows
