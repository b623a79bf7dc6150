"""The fault table: faults injected into the lab by code that is not the project's, each caught by verify.

For every fault: `scripts/verify lab` (what `make verify` runs; an area's tags where the fault is in one area) exits
100 (a requirement failed) and its JSON names each requirement the fault breaks as failed, with the reason; the
report is written and `latest` points at it. Then the fault is repaired (by hand, or by the converge playbook a
person would run) and verify is back to its baseline. The expected requirement ids and reasons are written here, not
derived from the code.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from labutil import ROOT, ansible_playbook, kea, labconfig, ldaps, netns_run, samba_tool_dns

LATEST = ROOT / "reports" / "lab" / "latest"
ROUTER = f"{labconfig.PREFIX}-rtr"
SP = labconfig.SERVICE_POINT
BASE = "DC=lab,DC=example"
PKS = f"CN=Public Key Services,CN=Services,CN=Configuration,{BASE}"
WEB = f"CN=ConfigMgrAMTWebServerCertificate,CN=Certificate Templates,{PKS}"
PROVISIONING = f"CN=ConfigMgrAMTProvisioning,CN=Certificate Templates,{PKS}"
ENROLL = "0e10c968-78fb-11d2-90d4-00c04f79dc55"  # Certificate-Enrollment extended right, [MS-CRTD] 2.1
PEND_ALL_REQUESTS = 0x2  # CT_FLAG_PEND_ALL_REQUESTS in msPKI-Enrollment-Flag, [MS-CRTD] 2.26
CONSOLE_NS = f"{labconfig.PREFIX}-con"


def lab_py(*args: str) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "lab" / "lab.py"), *args], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def verify(*tags: str) -> tuple[int, dict, str]:
    """scripts/verify lab [--tags ...]: (exit status, the JSON report it wrote, output)."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    args = ["--tags", ",".join(tags)] if tags else []
    before = os.readlink(LATEST) if LATEST.is_symlink() else None
    proc = subprocess.run([str(ROOT / "scripts" / "verify"), "lab", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout[-3000:]
    assert os.readlink(LATEST) != before, "latest did not move: the report was not written"
    return proc.returncode, json.loads((LATEST / "readiness.json").read_text()), proc.stdout


def statuses(doc: dict) -> dict:
    return {r["id"]: r["status"] for r in doc["requirements"]}


# --- the faults (inject, repair) -------------------------------------------------------------------------------------


def kea_config() -> dict:
    config = kea("config-get")
    config.pop("hash", None)
    return config


def kea_option(code: int, name: str, data: str) -> Callable:
    def inject(state: dict) -> None:
        state["kea"] = kea_config()
        changed = copy.deepcopy(state["kea"])
        hits = 0
        for subnet in changed["Dhcp4"]["subnet4"]:
            for option in subnet.get("option-data", []):
                if option.get("code") == code or option.get("name") == name:
                    option["data"] = data
                    hits += 1
        assert hits, f"no option {code} on any Kea subnet: was the lab converged?"
        kea("config-set", changed)

    return inject


def kea_restore(state: dict) -> None:
    kea("config-set", state["kea"])


def nft_hole(state: dict) -> None:
    rule = ["ip", "daddr", SP["ip"], "tcp", "dport", "3389", "accept", "comment", '"fault-table hole"']
    assert netns_run(ROUTER, "nft", "insert", "rule", "inet", "oob_prep", "forward", *rule).returncode == 0


def nft_hole_removed(state: dict) -> None:
    listing = netns_run(ROUTER, "nft", "-a", "list", "chain", "inet", "oob_prep", "forward").stdout
    handle = re.search(r'comment "fault-table hole" # handle (\d+)', listing).group(1)
    assert netns_run(ROUTER, "nft", "delete", "rule", "inet", "oob_prep", "forward", "handle", handle).returncode == 0


def provisionserver_deleted(state: dict) -> None:
    samba_tool_dns("delete", "lab.example", "ProvisionServer", "CNAME", SP["fqdn"])


def provisionserver_added(state: dict) -> None:
    samba_tool_dns("add", "lab.example", "ProvisionServer", "CNAME", SP["fqdn"])


def ace_added(state: dict) -> None:
    """Enroll for Domain Users on the AMT web server template, with samba-tool (an admin's hand)."""
    empty = labconfig.dc_dir("lab") / "empty.conf"
    cmd = ["samba-tool", "dsacl", "set", f"--objectdn={WEB}", f"--sddl=(OA;;CR;{ENROLL};;DU)",
           "-H", f"ldap://{labconfig.FORESTS['lab']['dc_ip']}", "-s", str(empty),
           f"-UAdministrator%{labconfig.ADMIN_PASSWORD}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def pki_converged(state: dict) -> None:
    proc = ansible_playbook("playbooks/pki.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]


def manager_approval(state: dict) -> None:
    conn = ldaps()
    conn.search(PROVISIONING, "(objectClass=*)", search_scope="BASE", attributes=["msPKI-Enrollment-Flag"])
    state["flags"] = int(conn.response[0]["attributes"]["msPKI-Enrollment-Flag"][0])
    assert conn.modify(
        PROVISIONING, {"msPKI-Enrollment-Flag": [("MODIFY_REPLACE", [str(state["flags"] | PEND_ALL_REQUESTS)])]}
    )
    conn.unbind()


def manager_approval_off(state: dict) -> None:
    conn = ldaps()
    assert conn.modify(PROVISIONING, {"msPKI-Enrollment-Flag": [("MODIFY_REPLACE", [str(state["flags"])])]})
    conn.unbind()


def stopped(process: str) -> tuple[Callable, Callable]:
    return (lambda state: lab_py("stop", process)), (lambda state: lab_py("start", process))


def dc_back(state: dict) -> None:
    lab_py("start", "samba-lab")
    deadline = time.monotonic() + 90
    while True:  # the DC answers LDAPS again
        try:
            ldaps().unbind()
            return
        except Exception:  # noqa: BLE001 - any failure is "not yet"
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def netns_hidden(state: dict) -> None:
    """The console probe host becomes unreachable: its namespace is renamed (kept alive by a second name)."""
    away = f"/run/netns/{CONSOLE_NS}-away"
    subprocess.run(["touch", away], check=True)
    subprocess.run(["mount", "--bind", f"/run/netns/{CONSOLE_NS}", away], check=True)
    subprocess.run(["umount", f"/run/netns/{CONSOLE_NS}"], check=True)
    os.unlink(f"/run/netns/{CONSOLE_NS}")


def netns_back(state: dict) -> None:
    away = f"/run/netns/{CONSOLE_NS}-away"
    subprocess.run(["touch", f"/run/netns/{CONSOLE_NS}"], check=True)
    subprocess.run(["mount", "--bind", away, f"/run/netns/{CONSOLE_NS}"], check=True)
    subprocess.run(["umount", away], check=True)
    os.unlink(away)


@dataclass
class Fault:
    name: str
    inject: Callable
    repair: Callable
    tags: tuple  # the area verify runs with; () for the whole verify
    broken: dict  # requirement id -> a phrase its evidence must hold


FAULTS = [
    Fault("Kea's dhcp4 daemon stopped", *stopped("kea-dhcp4"), ("area::dhcp",),
          {"dhcp_active_scope": "did not answer", "dhcp_options_006_015_ddns": "did not answer"}),
    Fault("Kea's control agent stopped", *stopped("kea-ctrl-agent"), ("area::dhcp",),
          {"dhcp_active_scope": "did not answer", "dhcp_options_006_015_ddns": "did not answer"}),
    Fault("option 015 changed on the Kea scope", kea_option(15, "domain-name", "fault.example"), kea_restore,
          ("area::dhcp",), {"dhcp_options_006_015_ddns": "fault.example"}),
    Fault("option 006 changed on the Kea scope", kea_option(6, "domain-name-servers", "192.0.2.53"), kea_restore,
          ("area::dhcp",), {"dhcp_options_006_015_ddns": "192.0.2.53"}),
    Fault("the ProvisionServer record deleted", provisionserver_deleted, provisionserver_added, ("area::dns",),
          {"dns_provisionserver": "ProvisionServer"}),
    Fault("a hole for TCP 3389 to the service point on the router", nft_hole, nft_hole_removed, ("area::network",),
          {"network_ports": "TCP port 3389 reached"}),
    Fault("the service point stand-in stopped", *stopped("service-point"), ("area::network",),
          {"network_ports": ":9971"}),
    Fault("the console probe host unreachable", netns_hidden, netns_back, ("area::network",),
          {"network_ports": f"{CONSOLE_NS} (console) could not be reached"}),
    Fault("an ACE: Enroll for Domain Users on the AMT web server template", ace_added, pki_converged, ("area::pki",),
          {"enterprise_ca": "-513 (broad group)"}),  # RID 513: Domain Users ([MS-DTYP] 2.4.2.4)
    Fault("manager approval on the AMT provisioning template", manager_approval, manager_approval_off,
          ("area::pki",), {"ca_auto_approval": "ConfigMgrAMTProvisioning"}),
    Fault("the DC down", lambda state: lab_py("stop", "samba-lab"), dc_back, (),
          {"ad_container": "did not answer", "enterprise_ca": "did not answer", "oob_certificates": "did not answer",
           "same_forest_namespace": "did not answer", "no_workgroup_computers": "did not answer"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def baseline(lab):
    for playbook in ("playbooks/site.yml",):  # the lab converged: every fault starts from a ready estate
        proc = ansible_playbook(playbook)
        assert proc.returncode == 0, proc.stdout[-3000:]
    rc, doc, out = verify()
    assert rc in (0, 101, 102), out[-3000:]
    assert "fail" not in statuses(doc).values(), statuses(doc)
    return rc, statuses(doc), check_statuses(doc)


def check_statuses(doc: dict) -> dict[str, str]:
    """{check id: status}: what each check found, whichever area's run made it."""
    return {c["id"]: c["status"] for r in doc["requirements"] for c in r.get("checks", [])}


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_each_fault_fails_its_requirements_with_the_reason_and_the_repair_restores_the_baseline(baseline, fault):
    base_rc, base, base_checks = baseline
    state: dict = {}
    fault.inject(state)
    try:
        rc, doc, out = verify(*fault.tags)
        assert rc == 100, f"verify exited {rc}, not 100 (a requirement failed)\n{out[-3000:]}"
        got = {r["id"]: r for r in doc["requirements"]}
        for rid, phrase in fault.broken.items():
            assert got[rid]["status"] == "fail", (rid, got[rid]["status"], got[rid]["evidence"][:3])
            failing = [e for e in got[rid]["evidence"] if e.startswith("FAIL ")]
            assert any(phrase in e for e in failing), (rid, phrase, failing[:3])
    finally:
        fault.repair(state)
    rc, doc, out = verify(*fault.tags)
    after = statuses(doc)
    assert "fail" not in after.values(), {k: v for k, v in after.items() if v == "fail"}
    # every check the repaired run made found what it found at the baseline (an area run makes only its area's
    # checks: a requirement fed by several areas, such as oob_certificates, is compared check by check)
    after_checks = check_statuses(doc)
    assert after_checks == {cid: base_checks.get(cid) for cid in after_checks}, "not back to the baseline"
    if not fault.tags:
        checked = {rid: s for rid, s in after.items() if s != "skip"}
        assert checked == {rid: base[rid] for rid in checked}, "not back to the baseline"
        assert rc == base_rc


def test_remediate_with_the_dc_down_is_neither_no_drift_nor_fixed_and_writes_a_report(baseline):
    """scripts/remediate (a scheduler's command) with the DC stopped: the converge plays cannot reach it, so the run
    fails - exit status 30 (or the run's own status), never 0 (no drift) or 10 (fixed) - and verify's report of the
    drift is written."""
    before = os.readlink(LATEST)
    lab_py("stop", "samba-lab")
    try:
        env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
        proc = subprocess.run([str(ROOT / "scripts" / "remediate"), "lab"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=900)  # fmt: skip
    finally:
        dc_back({})
    assert proc.returncode not in (0, 10), proc.stdout[-3000:]
    assert proc.returncode in (20, 30) or proc.returncode < 10, proc.returncode
    assert "Traceback" not in proc.stdout + proc.stderr
    assert os.readlink(LATEST) != before
    doc = json.loads((LATEST / "readiness.json").read_text())
    assert statuses(doc)["ad_container"] == "fail", statuses(doc)
