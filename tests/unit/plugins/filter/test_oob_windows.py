"""The Windows decision table, as the seed states it (row by row) for the NT versions Microsoft publishes
(5.1 XP, 5.2 Server 2003, 6.0 Vista / Server 2008, 6.1 7 / 2008 R2, 10.0), and who Ansible can manage: PowerShell
3.0 or later as read by the probe, never NT 5.x, never Vista (docs/adr/0005)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "plugins" / "filter"))

from oob_windows import (  # noqa: E402
    FilterModule,
    oob_windows_ipsec,
    oob_windows_manual,
    oob_windows_plan,
    oob_windows_readiness,
)


def facts(version, sp, kind, ps=5):
    return {"os_version": version, "service_pack": sp, "product_type": kind, "powershell": ps}


@pytest.mark.parametrize(
    ("version", "sp", "kind", "ps", "roles", "supported", "needs", "managed"),
    [
        # Server 2003 SP2 service point: supported, KB942841 required, not an Ansible-managed node (NT 5.x)
        ("5.2.3790", 2, "server", 2, ["service_point"], True,
         {"winrm": True, "kb942841": True, "msxml6": False, "telnet_client": None}, False),
        # Server 2003 SP1: "Service Pack 2 or later is required"
        ("5.2.3790", 1, "server", None, ["service_point"], False, None, False),
        # Server 2008 service point + site server with WMF 3.0: WinRM only, managed
        ("6.0.6002", 2, "server", 3, ["service_point", "site_server"], True,
         {"winrm": True, "kb942841": False, "msxml6": False, "telnet_client": None}, True),
        # Server 2008 with PowerShell 2 only: not managed
        ("6.0.6002", 2, "server", 2, ["service_point"], True,
         {"winrm": True, "kb942841": False, "msxml6": False, "telnet_client": None}, False),
        # Vista console: never managed (no WMF 3.0 for Vista); Telnet Client with pkgmgr, MSXML 6.0 read
        ("6.0.6002", 2, "workstation", 2, ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": True, "telnet_client": "pkgmgr"}, False),
        # Server 2008 console with WMF 3.0: servermanagercmd
        ("6.0.6001", 1, "server", 3, ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": True, "telnet_client": "servermanagercmd"}, True),
        # Windows 7 console: dism; 2008 R2 console: win_feature; Windows 10: win_optional_feature
        ("6.1.7601", 1, "workstation", 3, ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": True, "telnet_client": "dism"}, True),
        ("6.1.7601", 1, "server", 4, ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": True, "telnet_client": "feature"}, True),
        ("10.0.19045", 0, "workstation", 5, ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": True, "telnet_client": "optional_feature"}, True),
        # Windows 7 with PowerShell 2 (as shipped): not managed; PowerShell not read: not managed
        ("6.1.7601", 1, "workstation", 2, ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": True, "telnet_client": "dism"}, False),
        ("6.1.7601", 1, "workstation", None, ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": True, "telnet_client": "dism"}, False),
        # XP SP2 console: MSXML 6.0 to install, telnet built in
        ("5.1.2600", 2, "workstation", None, ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": True, "telnet_client": None}, False),
        # XP SP1 console, Windows 2000 anything, a service point on a client OS: unsupported
        ("5.1.2600", 1, "workstation", None, ["console"], False, None, False),
        ("5.0.2195", 4, "server", None, ["console"], False, None, False),
        ("6.1.7601", 1, "workstation", 3, ["service_point"], False, None, True),
    ],
)  # fmt: skip
def test_decision_table(version, sp, kind, ps, roles, supported, needs, managed):
    decision = oob_windows_plan(facts(version, sp, kind, ps), roles)
    assert decision["supported"] is supported, decision["reason"]
    assert decision["ansible_managed"] is managed, decision["manual_reason"]
    assert bool(decision["manual_reason"]) is not managed
    if supported:
        assert decision["needs"] == needs and decision["reason"] == ""
    else:
        assert decision["reason"]


def test_the_plan_from_the_raw_probe():
    probe = {"rc": 0, "stdout": "os_version=6.0.6002\r\nservice_pack=2\r\nproduct_type=3\r\n"
                                "os_name=Microsoft Windows Server 2008 Standard\r\npowershell=2\r\n"}  # fmt: skip
    decision = oob_windows_plan(probe, ["console"])
    assert decision["read"] and not decision["ansible_managed"] and decision["family"] == "server2008"
    assert "PowerShell 2" in decision["manual_reason"]
    assert oob_windows_plan(dict(probe, stdout=probe["stdout"].replace("powershell=2", "powershell=3")),
                            ["console"])["ansible_managed"]  # fmt: skip


@pytest.mark.parametrize("probe", [
    {"unreachable": True, "msg": "ssl: connection refused"},
    {"rc": 1, "stdout": "", "stderr": "The term 'Get-WmiObject' is not recognized"},
    {"rc": 0, "stdout": "something else"},
])  # fmt: skip
def test_a_host_not_reached_or_not_probed_fails_winrm_and_warns_the_rest(probe):
    decision = oob_windows_plan(probe, ["console"])
    assert decision["read"] is False and decision["ansible_managed"] is False
    rows = oob_windows_readiness(decision, "c1", {})
    assert [(r["row"], r["status"]) for r in rows] == [
        ("winrm", "fail"), ("console_msxml6", "warn"), ("console_telnet_client", "warn")]  # fmt: skip
    [ipsec] = oob_windows_ipsec(decision, "c1", {})
    assert ipsec["status"] == "warn" and ipsec["row"] == "no_ipsec"


def test_an_unsupported_host_is_one_failed_row_not_an_error():
    decision = oob_windows_plan(facts("5.2.3790", 0, "server"), ["service_point"])
    [row] = oob_windows_readiness(decision, "sp01", {})
    assert row["status"] == "fail" and row["row"] == "server2003_sp2_kb942841" and "Service Pack 2" in row["evidence"]


def test_a_host_ansible_cannot_manage_is_skip_with_the_manual_commands_never_pass():
    decision = oob_windows_plan(facts("6.0.6002", 2, "workstation", 2), ["console"])
    rows = oob_windows_readiness(decision, "vista01", {})
    assert {r["row"] for r in rows} == {"winrm", "console_msxml6", "console_telnet_client"}
    assert all(r["status"] == "skip" and "check by hand" in r["evidence"] and r["remedy"] for r in rows)
    [ipsec] = oob_windows_ipsec(decision, "vista01", {})
    assert ipsec["status"] == "skip" and "netsh advfirewall consec" in ipsec["evidence"]


def test_nothing_passes_without_a_read():
    decision = oob_windows_plan(facts("10.0.17763", 0, "server", 5), ["service_point", "console"])
    rows = oob_windows_readiness(decision, "sp01", {})
    assert rows and all(r["status"] != "pass" for r in rows if r["id"] != "windows.sp01.winrm_reachable")
    assert {r["status"] for r in rows if r["id"] != "windows.sp01.winrm_reachable"} == {"warn"}


def test_legacy_hosts_from_the_estate():
    rows = oob_windows_manual(["service_point"], "sp03")
    assert {r["row"]: r["status"] for r in rows} == {
        "winrm": "skip", "server2003_sp2_kb942841": "skip", "no_ipsec": "skip"}  # fmt: skip
    console = oob_windows_manual(["console"], "xp01")
    assert any("msxml6.dll" in r["evidence"] for r in console)
    assert any(r["row"] == "console_telnet_client" and "telnet.exe" in r["evidence"] for r in console)


@pytest.mark.parametrize(("bad", "message"), [
    ({"os_version": "Windows 7", "service_pack": 1, "product_type": "workstation"}, "not a Windows version"),
    ({"os_version": "6.1", "service_pack": 1, "product_type": "tablet"}, "product_type must be"),
])  # fmt: skip
def test_bad_facts(bad, message):
    with pytest.raises(ValueError, match=message):
        oob_windows_plan(bad, ["console"])
    with pytest.raises(ValueError, match="roles must be"):
        oob_windows_plan(facts("6.1", 1, "server"), ["dhcp"])


def test_filters_are_exposed():
    assert set(FilterModule().filters()) == {
        "oob_windows_plan", "oob_windows_readiness", "oob_windows_manual", "oob_windows_ipsec"}  # fmt: skip
