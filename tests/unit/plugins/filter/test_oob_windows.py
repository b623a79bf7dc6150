"""The Windows decision table, as the seed states it (row by row) for the NT versions Microsoft publishes
(5.1 XP, 5.2 Server 2003, 6.0 Vista / Server 2008, 6.1 7 / 2008 R2, 10.0)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "plugins" / "filter"))

from oob_windows import FilterModule, oob_windows_plan, oob_windows_readiness  # noqa: E402


def facts(version, sp, kind):
    return {"os_version": version, "service_pack": sp, "product_type": kind}


@pytest.mark.parametrize(
    ("version", "sp", "kind", "roles", "supported", "needs", "managed"),
    [
        # Server 2003 SP2 service point: supported, KB942841 required, not an Ansible-managed node (NT 5.x)
        ("5.2.3790", 2, "server", ["service_point"], True,
         {"winrm": True, "kb942841": True, "msxml6": False, "telnet_client": None}, False),
        # Server 2003 SP1: "Service Pack 2 or later is required"
        ("5.2.3790", 1, "server", ["service_point"], False, None, False),
        # Server 2008 service point + site server: WinRM only
        ("6.0.6002", 2, "server", ["service_point", "site_server"], True,
         {"winrm": True, "kb942841": False, "msxml6": False, "telnet_client": None}, True),
        # Vista console: Telnet Client as an optional feature; MSXML 6.0 ships with Vista
        ("6.0.6002", 2, "workstation", ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": False, "telnet_client": "optional_feature"}, True),
        # Server 2008 console: Telnet Client as a Windows feature
        ("6.0.6001", 1, "server", ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": False, "telnet_client": "feature"}, True),
        # XP SP2 console: MSXML 6.0 to install, telnet built in
        ("5.1.2600", 2, "workstation", ["console"], True,
         {"winrm": True, "kb942841": False, "msxml6": True, "telnet_client": None}, False),
        # XP SP1 console, Windows 2000 anything, a service point on a client OS: unsupported
        ("5.1.2600", 1, "workstation", ["console"], False, None, False),
        ("5.0.2195", 4, "server", ["console"], False, None, False),
        ("6.1.7601", 1, "workstation", ["service_point"], False, None, True),
    ],
)  # fmt: skip
def test_decision_table(version, sp, kind, roles, supported, needs, managed):
    decision = oob_windows_plan(facts(version, sp, kind), roles)
    assert decision["supported"] is supported, decision["reason"]
    assert decision["ansible_managed"] is managed
    if supported:
        assert decision["needs"] == needs and decision["reason"] == ""
    else:
        assert decision["reason"]


def test_an_unsupported_host_is_one_failed_row_not_an_error():
    decision = oob_windows_plan(facts("5.2.3790", 0, "server"), ["service_point"])
    [row] = oob_windows_readiness(decision, "sp01", {})
    assert row["status"] == "fail" and row["row"] == "server2003_sp2_kb942841" and "Service Pack 2" in row["evidence"]


def test_rows_for_what_was_found():
    decision = oob_windows_plan(facts("5.2.3790", 2, "server"), ["service_point"])
    rows = {r["id"]: r["status"] for r in oob_windows_readiness(decision, "sp01", {"winrm": True, "kb942841": None})}
    assert rows == {"windows.sp01.winrm": "pass", "windows.sp01.kb942841": "skip"}


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
    assert set(FilterModule().filters()) == {"oob_windows_plan", "oob_windows_readiness"}
