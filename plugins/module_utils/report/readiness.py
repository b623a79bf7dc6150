# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness report: one result per requirement of the seed, from the check rows every read-only module returns.

The seed (Microsoft's table of external dependencies for ConfigMgr 2007 SP1 out of band management) has thirteen
table rows; several of them state more than one requirement. ``REQUIREMENTS`` lists each requirement once, in the
seed's order, with a stable id (the ``row`` key of the modules' checks), the seed's own words, the table row it sits
in, the role that owns it and the playbook and tag that fix it. A requirement no role owns is reported as
``not implemented`` (fail), so the report never overstates.

Pure: rows in, results and documents out (JSON, JUnit XML, a self-contained HTML page, a one-screen summary).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from ansible_collections.oob.prep.plugins.module_utils.checks import STATUSES

SEVERITY = {"fail": 3, "warn": 2, "pass": 1, "skip": 0}  # a row is as bad as its worst check; all skipped = skip
ORDER = {"fail": 0, "warn": 1, "skip": 2, "pass": 3}  # the evidence: what needs a person first
# A requirement's statuses: its checks' (fail, warn, pass, skip) and "partial" - every check that ran passed, but some
# did not run (InSpec's "passed with skips": a skip is never a pass). The overall verdict takes the same five values.
REQUIREMENT_STATUSES = ("fail", "warn", "partial", "pass", "skip")
VERDICT = {"fail": "FAIL", "warn": "WARN", "partial": "PASSED WITH SKIPS", "pass": "PASS", "skip": "NOT CHECKED"}


@dataclass(frozen=True)
class Requirement:
    id: str
    section: int  # the seed's table row, 1-13
    topic: str  # the table row's subject, a few words
    text: str  # the seed's words
    owner: str  # the role (or module) whose checks decide it; "" = not implemented
    remedy: str  # what fixes it: playbook and tag, or the manual step
    windows: bool = False  # decided on Windows hosts only (skip, never pass, without one)
    scope: str = ""  # what the checks can and cannot see


_PKI = "playbooks/pki.yml (--tags area::pki)"
_DNS = "playbooks/dns.yml (--tags area::dns)"
_DHCP = "playbooks/dhcp.yml (--tags area::dhcp)"
_NET = "playbooks/network.yml (--tags area::network)"
_WIN = "playbooks/windows.yml (--tags area::windows)"

REQUIREMENTS = (
    Requirement(
        "enterprise_ca", 1, "Enterprise CA and certificate templates",
        "A Microsoft enterprise certification authority (CA) with certificate templates to deploy and manage the "
        "certificates required for out of band management.",
        "oob_pki_templates", _PKI),
    Requirement(
        "ca_auto_approval", 1, "Enterprise CA and certificate templates",
        "The issuing certification authority must automatically approve certificate requests from the primary site "
        "server on behalf of AMT-based computers.",
        "oob_pki_templates", _PKI + "; the CA's policy module: oob_pki_ca_windows",
        scope="The templates' issuance requirements are read over LDAP; the CA's policy module is in its registry "
              "(Windows, oob_pki_ca_windows)."),
    Requirement(
        "ca_key_length", 1, "Enterprise CA and certificate templates",
        "AMT-based computers cannot support certification authority certificates with a key length greater than "
        "2048 bits.",
        "oob_pki_templates", "renew the CA certificate with a key of 2048 bits or less (a manual CA task)"),
    Requirement(
        "oob_certificates", 1, "Enterprise CA and certificate templates",
        "The out of band service point and each desktop computer that will be managed with the out of band "
        "management feature must have specific public key infrastructure (PKI) certificates that are managed "
        "independently from Configuration Manager.",
        "oob_pki_templates", _PKI,
        scope="Checked as the enrollers' rights on the AMT templates (the site server enrolls for the AMT web server "
              "certificates, the service point for its provisioning certificate)."),
    Requirement(
        "amt_supported_version", 2, "AMT-based desktop computers",
        "Desktop computers with the following configuration: - Intel vPro Technology or Intel Centrino Pro "
        "Technology. - A supported version of Intel AMT. - Intel HECI driver.",
        "oob_amt_devices", "upgrade the AMT firmware (3.2.1 or later natively; older ones through Intel's WS-MAN "
        "Translator)",
        scope="Discovered over the network (the AMT HTTP header, WS-MAN): vPro/AMT presence and the firmware version. "
              "The HECI driver is part of the desktop's operating system and cannot be seen from the network."),
    Requirement(
        "ad_container", 3, "Active Directory container",
        "You must create and configure with the correct security permissions an Active Directory container for the "
        "domain in which the AMT-based computers reside. If the site manages AMT-based computers from multiple "
        "domains, the same container name and path must be used for all domains.",
        "oob_ad_container", "playbooks/ad.yml (--tags area::ad)"),
    Requirement(
        "dhcp_active_scope", 4, "Network services (DHCP, DNS)",
        "DHCP server with an active scope.",
        "oob_dhcp", _DHCP),
    Requirement(
        "dns_name_resolution", 4, "Network services (DHCP, DNS)",
        "DNS servers for name resolution.",
        "oob_dns", _DNS),
    Requirement(
        "dns_provisionserver", 4, "Network services (DHCP, DNS)",
        "DNS might also be needed to resolve the host name of ProvisionServer to the IP address of the out of band "
        "service point site system server.",
        "oob_dns", _DNS),
    Requirement(
        "dhcp_options_006_015_ddns", 4, "Network services (DHCP, DNS)",
        "For DHCP, ensure that the DHCP scope options include DNS servers (006) and Domain name (015) and that the "
        "DHCP server dynamically updates DNS with the computer resource record.",
        "oob_dhcp", _DHCP),
    Requirement(
        "dns_not_wins", 4, "Network services (DHCP, DNS)",
        "WINS cannot be used for resolving computer names, and DNS is required for all connections that are used by "
        "the out of band management feature.",
        "oob_dns", _DNS),
    Requirement(
        "dns_auto_registration", 4, "Network services (DHCP, DNS)",
        "The DNS host name of ProvisionServer can be automatically registered by Configuration Manager if DNS "
        "supports automatic updates.",
        "oob_dns", _DNS),
    Requirement(
        "winrm", 5, "WinRM",
        "Windows Remote Management (WinRM) must be installed on each site system server that hosts the out of band "
        "service point role and on any computer that runs a remote Configuration Manager console.",
        "oob_windows_prereqs", _WIN, windows=True),
    Requirement(
        "server2003_sp2_kb942841", 6, "Windows Server 2003 service point",
        "If the out of band service point site system role is installed on Windows Server 2003, Windows Server 2003 "
        "Service Pack 2 or later is required.",
        "oob_windows_prereqs", _WIN, windows=True,
        scope="With Service Pack 2, the hotfix 942841; also the supported operating systems of each host's roles."),
    Requirement(
        "console_msxml6", 7, "MSXML 6.0",
        "MSXML 6.0 is required on computers that run the out of band management console.",
        "oob_windows_prereqs", _WIN, windows=True),
    Requirement(
        "console_telnet_client", 8, "Telnet Client",
        "The Windows feature Telnet Client must be installed on computers running Windows Vista or Windows Server "
        "2008 if they will run the out of band management console and perform serial-over-LAN commands.",
        "oob_windows_prereqs", _WIN, windows=True),
    Requirement(
        "same_forest_namespace", 9, "One forest, one namespace",
        "Computers that will be managed out of band must belong to the same Active Directory forest as the out of "
        "band service point's forest and must share the same namespace.",
        "oob_report", "put the AMT subnets' DNS suffix (option 015) in a domain of the service point's tree; "
        "correct the estate (oob_domains, oob_amt_subnets)"),
    Requirement(
        "no_workgroup_computers", 9, "One forest, one namespace",
        "The following AMT-based computers cannot be provisioned by Configuration Manager: - Workgroup computers.",
        "oob_report", "join the computer to a domain of the forest (its computer object in AD, its name in the "
        "domain's namespace)"),
    Requirement(
        "network_ports", 10, "Routers and firewalls",
        "Intervening network devices such as routers and firewalls must allow the traffic associated with out of "
        "band management activity.",
        "oob_network", _NET),
    Requirement(
        "ipv4_only", 11, "IPv4 only",
        "IPv6 is not supported.",
        "oob_dhcp", _DHCP,
        scope="Seen as the IPv4 lease the AMT subnet hands out (the DHCP probe) and the estate's IPv4-only "
              "addresses."),
    Requirement(
        "no_ipsec", 12, "No IPsec on AMT traffic",
        "Full IPsec environments are not supported.",
        "oob_network", "exempt the out of band management ports from the IPsec policies (Group Policy)",
        windows=True),
    Requirement(
        "dot1x", 13, "802.1X",
        "802.1X environments are not natively supported by Configuration Manager.",
        "oob_network", "use Intel's WS-MAN Translator for AMT computers on 802.1X ports",
        scope="Seen as a DHCP lease on an AMT subnet port without 802.1X authentication (the DHCP probe), and the "
              "estate's oob_network.dot1x_on_amt_ports."),
)  # fmt: skip

BY_ID = {r.id: r for r in REQUIREMENTS}


def _worst(statuses) -> str:
    return max(statuses, key=SEVERITY.__getitem__)


def results(checks: list[dict], notes: dict | None = None, implemented: tuple | None = None) -> list[dict]:
    """One result per requirement, in the seed's order.

    A requirement is as bad as its worst check (fail, then warn). With no failure or warning it passes only when every
    check ran and passed; when some passed and others were skipped it is ``partial`` (passed with skips), its
    ``not_checked`` listing the skipped checks; when every check was skipped, or none ran, it is ``skip``.

    ``checks``: the rows of every read-only module of the run. ``notes``: why a requirement has no check in this run
    (``{id: text}``). ``implemented``: the owners that exist (default: every owner named in REQUIREMENTS but ""). A
    check naming a row no requirement has is an error (ValueError), never dropped.
    """
    notes = notes or {}
    by_row: dict[str, list[dict]] = {r.id: [] for r in REQUIREMENTS}
    for c in checks:
        if c.get("row") not in by_row:
            raise ValueError(f"check {c.get('id')!r} names row {c.get('row')!r}, which is no requirement of the seed")
        if c.get("status") not in STATUSES:
            raise ValueError(f"check {c.get('id')!r}: status must be one of {', '.join(STATUSES)}")
        missing = [k for k in ("id", "evidence") if not isinstance(c.get(k), str)]
        if missing:
            raise ValueError(f"check {c.get('id')!r} of row {c['row']}: {' and '.join(missing)} must be text")
        by_row[c["row"]].append(c)
    out = []
    for req in REQUIREMENTS:
        rows = by_row[req.id]
        counts = {s: sum(1 for c in rows if c["status"] == s) for s in STATUSES}
        not_checked = [c["id"] for c in rows if c["status"] == "skip"]
        if not req.owner or (implemented is not None and req.owner not in implemented):
            status, evidence = "fail", ["not implemented: no role of oob-prep checks this requirement yet"]
            remedy = "check it by hand; oob-prep does not (yet)"
        elif not rows:
            status = "skip"
            why = notes.get(req.id) or "not checked in this run (its area was not selected, or the estate gives it " \
                                       "nothing to check)"  # fmt: skip
            evidence, remedy = [why], ""
        else:
            status = _worst(c["status"] for c in rows)
            if status == "pass" and not_checked:
                status = "partial"
            ordered = sorted(rows, key=lambda c: ORDER[c["status"]])
            evidence = [f"{c['status'].upper()} {c['id']}: {c['evidence']}" for c in ordered]
            fixes = [c["remedy"] for c in ordered if c["status"] != "pass" and c.get("remedy")]
            if status == "partial":
                fixes = [f"check by hand what was not checked ({', '.join(not_checked)}), or give the estate what "
                         "checking it needs", *fixes]  # fmt: skip
            remedy = "" if status == "pass" else "; ".join(dict.fromkeys(fixes + [req.remedy]))
        out.append({
            "id": req.id, "section": req.section, "topic": req.topic, "requirement": req.text, "owner": req.owner,
            "status": status, "counts": counts, "evidence": evidence, "remedy": remedy, "scope": req.scope,
            "not_checked": not_checked,
            "windows_only": req.windows, "checks": rows,
        })  # fmt: skip
    return out


def totals(rows: list[dict]) -> dict:
    return {s: sum(1 for r in rows if r["status"] == s) for s in ("pass", "partial", "warn", "fail", "skip")} | {
        "total": len(rows)
    }


def overall(rows: list[dict]) -> str:
    """``fail`` when any requirement failed, else ``warn`` when any warned, else ``partial`` (passed with skips) when
    any was skipped or passed with skipped checks, else ``pass``: PASS only when every requirement passed."""
    t = totals(rows)
    if t["fail"]:
        return "fail"
    if t["warn"]:
        return "warn"
    return "partial" if t["skip"] or t["partial"] else "pass"


def remediation(before: list[dict], after: list[dict] | None, check_mode: bool = False) -> dict:
    """The outcome of a remediation run from the requirements before and after (``after`` None: no second verify).

    ``no_drift``: no requirement failed before. ``drift_fixed``: every requirement that failed before has no failed,
    warned or skipped check after, and every check that failed before ran again and passed. Otherwise (a check run,
    no second verify, a requirement still failing, skipped or not reached after) ``drift_not_fixed``. Returns
    ``{outcome, drifted, still_failing, not_reached, not_looked_at}``: ``not_looked_at`` the requirements the last
    report did not check at all (an area run: their area was not selected)."""
    drifted = [r["id"] for r in before if r["status"] == "fail"]
    last = after if after is not None else before
    by_id = {r["id"]: r for r in last}
    still, not_reached = [], []
    for rid in drifted:
        if check_mode or after is None:
            still.append(rid)
            continue
        now = by_id[rid]
        failed_before = {c["id"] for c in next(r for r in before if r["id"] == rid)["checks"] if c["status"] == "fail"}
        checks_now = {c["id"]: c["status"] for c in now["checks"]}
        if now["status"] == "fail":
            still.append(rid)
        elif now["status"] in ("skip", "partial", "warn") or any(checks_now.get(c) != "pass" for c in failed_before):
            not_reached.append(rid)
    outcome = "no_drift" if not drifted else "drift_fixed" if not still and not not_reached else "drift_not_fixed"
    return {"outcome": outcome, "drifted": drifted, "still_failing": still, "not_reached": not_reached,
            "not_looked_at": [r["id"] for r in last if r["status"] == "skip"]}  # fmt: skip


def document(rows: list[dict], meta: dict, matrix: list[dict] | None = None, amt: dict | None = None) -> dict:
    """The JSON report."""
    return {
        "report": "oob-prep readiness for ConfigMgr 2007 SP1 out of band management",
        **meta,
        "overall": overall(rows),
        "totals": totals(rows),
        "requirements": rows,
        "port_matrix": matrix or [],
        "amt": amt or {},
    }


def to_json(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


# ------------------------------------------------------------------------------------------------------ JUnit XML
def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters: evidence quoting a device's bytes could hold them."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "?", str(text))


def to_junit(doc: dict) -> str:
    """One testcase per requirement: fail -> <failure>, skip -> <skipped>, warn and partial (passed with skips) ->
    passed with the warning or the checks that did not run in <system-out> (JUnit has neither state) and a property
    ``status=warn`` / ``status=partial``."""
    rows = doc["requirements"]
    t = doc["totals"]
    suite = ET.Element("testsuite", {
        "name": _clean(f"oob-prep readiness ({doc.get('environment', '')})"), "tests": str(t["total"]),
        "failures": str(t["fail"]), "errors": "0", "skipped": str(t["skip"]), "timestamp": doc.get("generated", ""),
    })  # fmt: skip
    for r in rows:
        case = ET.SubElement(
            suite, "testcase", {"classname": f"readiness.{r['section']:02d}", "name": f"{r['id']}: {r['requirement']}"}
        )
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", {"name": "status", "value": r["status"]})
        ET.SubElement(props, "property", {"name": "owner", "value": r["owner"] or "none"})
        body = _clean("\n".join(r["evidence"]) + (f"\nremedy: {r['remedy']}" if r["remedy"] else ""))
        first = _clean(r["evidence"][0] if r["evidence"] else r["status"])
        if r["status"] == "fail":
            ET.SubElement(case, "failure", {"message": first, "type": "readiness"}).text = body
        elif r["status"] == "skip":
            ET.SubElement(case, "skipped", {"message": first})
        if r["status"] in ("warn", "skip", "pass", "partial"):
            ET.SubElement(case, "system-out").text = body
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


# ------------------------------------------------------------------------------------------------ terminal summary
def summary_lines(doc: dict, where: str = "") -> list[str]:
    """One screen: the totals, then one line per requirement (the first evidence of each that is not a pass), then
    where the report is."""
    t = doc["totals"]
    lines = [
        f"Readiness of {doc.get('environment') or 'the estate'}: {VERDICT[doc['overall']]} - {t['pass']} pass, "
        f"{t['partial']} passed with skips, {t['warn']} warn, {t['fail']} fail, {t['skip']} not checked of "
        f"{t['total']} requirements"
    ]
    for r in doc["requirements"]:
        mark = {"pass": "ok  ", "partial": "part", "warn": "WARN", "fail": "FAIL", "skip": "skip"}[r["status"]]
        if r["status"] == "pass":
            detail = ""
        elif r["status"] == "partial":
            detail = f" - passed; not checked: {', '.join(r['not_checked'])}"
        else:
            detail = " - " + (r["evidence"][0] if r["evidence"] else "")
        line = f"  {mark} {r['section']:>2} {r['id']}{detail}"
        lines.append(line if len(line) <= 110 else line[:107] + "...")
    if where:
        lines.append(f"Report: {where}")
    return lines
