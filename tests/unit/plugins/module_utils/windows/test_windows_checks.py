"""The Windows checks on published (or documented-format) command output: every absent state fails, output that
cannot be parsed warns with the reason, nothing passes without having been read.

Samples: fixtures/windows_checks (README.md there names the source of each; ``constructed_`` ones were built from
the documented format)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.oob.prep.plugins.module_utils.windows import checks as wc

FIXTURES = Path(__file__).parents[1] / "fixtures" / "windows_checks"


def sample(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def ran(name: str | None = None, text: str | None = None, rc: int = 0) -> dict:
    return {"rc": rc, "stdout": sample(name) if name else (text or ""), "stderr": "", "changed": False}


# ------------------------------------------------------------------------------------------------- parsers
def test_sc_parsers():
    assert wc.parse_sc_qc(sample("constructed_sc_qc_winrm_auto.txt")) == {
        "exists": True, "start_type": "AUTO_START", "delayed": True}  # fmt: skip
    assert wc.parse_sc_qc(sample("constructed_sc_qc_winrm_demand.txt"))["start_type"] == "DEMAND_START"
    assert wc.parse_sc_query(sample("sc_query_running.txt")) == {"exists": True, "state": "RUNNING"}
    assert wc.parse_sc_query(sample("constructed_sc_query_stopped.txt"))["state"] == "STOPPED"
    assert wc.parse_sc_qc(sample("constructed_sc_missing.txt"))["exists"] is False
    assert wc.parse_sc_query(sample("constructed_sc_missing.txt"))["exists"] is False


def test_winrm_listeners():
    both = wc.parse_winrm_listeners(sample("constructed_winrm_listeners_http_https.txt"))
    assert [x["Transport"] for x in both] == ["HTTP", "HTTPS"]
    assert both[1]["CertificateThumbprint"] == "0123456789ABCDEF0123456789ABCDEF01234567"
    assert both[0]["CertificateThumbprint"] == ""
    assert wc.parse_winrm_listeners("") == []


def test_hotfix_from_get_hotfix_and_wmic():
    assert wc.parse_hotfix(sample("get_hotfix.table.txt"), "KB4470788") is True
    assert wc.parse_hotfix(sample("get_hotfix.table.txt")) is False
    assert wc.parse_hotfix(sample("constructed_wmic_qfe_kb942841.txt")) is True
    assert wc.parse_hotfix(sample("constructed_wmic_qfe_none.txt")) is False


def test_dism_and_servermanagercmd():
    assert wc.parse_dism_feature(sample("constructed_dism_featureinfo_telnet_enabled.txt")) == "Enabled"
    assert wc.parse_dism_feature(sample("constructed_dism_featureinfo_telnet_disabled.txt")) == "Disabled"
    assert wc.parse_dism_feature(sample("constructed_dism_featureinfo_unknown.txt")) == "unknown"
    assert wc.parse_servermanagercmd(sample("constructed_servermanagercmd_query.txt")) is False
    assert wc.parse_servermanagercmd(sample("constructed_servermanagercmd_query_telnet.txt")) is True


def test_reg_query():
    assert wc.parse_reg_query(sample("constructed_reg_msxml6.txt"))["(Default)"][0] == "REG_SZ"
    assert wc.parse_reg_query(sample("constructed_reg_missing.txt")) is None
    assert "DSIPSECPolicyName" in wc.parse_reg_query(sample("constructed_reg_gpo_assigned.txt"))


@pytest.mark.parametrize(("parse", "text"), [
    (wc.parse_sc_qc, "Access is denied."),
    (wc.parse_sc_query, "garbage"),
    (wc.parse_winrm_listeners, "WSManFault\n    Message = Access is denied."),
    (wc.parse_hotfix, "'wmic' is not recognized as an internal or external command"),
    (wc.parse_reg_query, "ERROR: Access is denied."),
    (wc.parse_dism_feature, "Error: 740\n\nElevated permissions are required to run DISM."),
    (wc.parse_servermanagercmd, "'servermanagercmd' is not recognized"),
    (wc.parse_netsh_ipsec_policies, "The following command was not found: ipsec static show policy all."),
    (wc.parse_consec_rules, "The following command was not found: advfirewall consec show rule name=all."),
    (wc.parse_if_exist, ""),
])  # fmt: skip
def test_unparseable_output_is_an_error_with_the_reason(parse, text):
    with pytest.raises(wc.Unparsed):
        parse(text)


# ---------------------------------------------------------------------------------------------------- rows
GOOD = {
    "sc_qc": ran("constructed_sc_qc_winrm_auto.txt"),
    "sc_query": ran(text="SERVICE_NAME: WinRM\n        STATE              : 4  RUNNING\n"),
    "listeners": ran("constructed_winrm_listeners_http_https.txt"),
    "hotfix": ran("constructed_wmic_qfe_kb942841.txt"),
    "msxml6_reg": ran("constructed_reg_msxml6.txt"),
    "msxml6_dll": ran(text="present\r\n"),
    "telnet_exe": ran(text="present\r\n"),
    "telnet_feature": ran("constructed_dism_featureinfo_telnet_enabled.txt"),
}


def statuses(rows):
    return {r["id"].split(".", 2)[2]: r["status"] for r in rows}


def test_a_host_with_everything_passes_and_says_what_was_read():
    rows = wc.winrm_rows("c1", GOOD) + [wc.msxml6_row("c1", GOOD), wc.telnet_row("c1", GOOD, "dism"),
                                         wc.kb942841_row("c1", GOOD)]  # fmt: skip
    assert set(statuses(rows).values()) == {"pass"}
    assert all(r["remedy"] == "" for r in rows)
    assert "START_TYPE AUTO_START (DELAYED), STATE RUNNING" in rows[1]["evidence"]


@pytest.mark.parametrize(("read", "replacement", "check"), [
    ("sc_qc", ran("constructed_sc_missing.txt", rc=1060), "winrm_service"),
    ("sc_qc", ran("constructed_sc_qc_winrm_demand.txt"), "winrm_service"),
    ("sc_query", ran("constructed_sc_query_stopped.txt"), "winrm_service"),
    ("listeners", ran("constructed_winrm_listeners_http_only.txt"), "winrm_https_listener"),
    ("listeners", ran(text=""), "winrm_https_listener"),
    ("hotfix", ran("constructed_wmic_qfe_none.txt"), "kb942841"),
    ("msxml6_reg", ran("constructed_reg_missing.txt", rc=1), "msxml6"),
    ("msxml6_dll", ran(text="absent\r\n"), "msxml6"),
    ("telnet_exe", ran(text="absent\r\n"), "telnet_client"),
    ("telnet_feature", ran("constructed_dism_featureinfo_telnet_disabled.txt"), "telnet_client"),
    ("telnet_feature", ran("constructed_dism_featureinfo_unknown.txt", rc=1), "telnet_client"),
])  # fmt: skip
def test_each_absent_state_fails(read, replacement, check):
    reads = dict(GOOD, **{read: replacement})
    rows = wc.winrm_rows("c1", reads) + [wc.msxml6_row("c1", reads), wc.telnet_row("c1", reads, "dism"),
                                          wc.kb942841_row("c1", reads)]  # fmt: skip
    got = statuses(rows)
    assert got[check] == "fail", rows
    assert [k for k, v in got.items() if v != "pass"] == [check]
    assert next(r for r in rows if r["id"].endswith(check))["remedy"]


def test_server2008_reads_telnet_with_servermanagercmd():
    reads = dict(GOOD, telnet_feature=ran("constructed_servermanagercmd_query.txt"))
    assert wc.telnet_row("s1", reads, "servermanagercmd")["status"] == "fail"
    reads = dict(GOOD, telnet_feature=ran("constructed_servermanagercmd_query_telnet.txt"))
    assert wc.telnet_row("s1", reads, "servermanagercmd")["status"] == "pass"


@pytest.mark.parametrize(("read", "replacement", "check"), [
    ("sc_qc", ran(text="Access is denied."), "winrm_service"),
    ("sc_query", {"skipped": True}, "winrm_service"),
    ("listeners", ran(text="WSManFault\n  Message = Access is denied."), "winrm_https_listener"),
    ("hotfix", {"failed": True, "msg": "wmic.exe not found"}, "kb942841"),
    ("msxml6_dll", ran(text="The system cannot find the path specified."), "msxml6"),
    ("telnet_feature", ran(text="Error: 740\n\nElevated permissions are required to run DISM."), "telnet_client"),
])  # fmt: skip
def test_unreadable_is_warn_with_the_reason_never_pass(read, replacement, check):
    reads = dict(GOOD, **{read: replacement})
    rows = wc.winrm_rows("c1", reads) + [wc.msxml6_row("c1", reads), wc.telnet_row("c1", reads, "dism"),
                                          wc.kb942841_row("c1", reads)]  # fmt: skip
    row = next(r for r in rows if r["id"].endswith(check))
    assert row["status"] == "warn" and "not read" in row["evidence"], row


def test_the_listener_must_carry_the_expected_certificate():
    assert wc.winrm_rows("c1", GOOD, "0123456789abcdef0123456789abcdef01234567")[2]["status"] == "pass"
    row = wc.winrm_rows("c1", GOOD, "FFFF")[2]
    assert row["status"] == "fail" and "not FFFF" in row["evidence"]


# --------------------------------------------------------------------------------------------------- IPsec
CLEAN_IPSEC = {
    "reg_local": ran("constructed_reg_missing.txt", rc=1),
    "reg_gpo": ran("constructed_reg_missing.txt", rc=1),
    "netsh_static": ran("constructed_netsh_ipsec_none_assigned.txt"),
    "consec": ran("constructed_consec_none.txt"),
    "netipsec": {"output": [], "changed": False},
}


def test_ipsec_clean_on_every_version_passes():
    for nt in ("6.0", "6.1", "6.3", "10.0"):
        row = wc.ipsec_row("sp", CLEAN_IPSEC, nt)
        assert row["status"] == "pass" and row["row"] == "no_ipsec", row


@pytest.mark.parametrize(("changes", "nt", "status", "words"), [
    ({"netsh_static": ran("constructed_netsh_ipsec_assigned_any.txt"),
      "reg_local": ran(text="\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\IPSec\\Policy\\Local\n"
                           "    ActivePolicy    REG_SZ    SOFTWARE\\Policies\\...\\ipsecPolicy{0B5C}\n")},
     "6.1", "fail", "cover the AMT ports"),
    ({"netsh_static": ran("constructed_netsh_ipsec_assigned_5986.txt")}, "6.1", "pass", "does not cover"),
    ({"netsh_static": ran("constructed_netsh_ipsec_assigned_amt_permit.txt")}, "6.1", "pass", "exempts"),
    ({"consec": ran("constructed_consec_request_any.txt")}, "6.1", "fail", "connection security rules"),
    ({"netipsec": {"output": [{"name": "Require all", "enabled": "True", "protocol": "Any", "local_ports": ["Any"],
                               "remote_ports": ["Any"], "inbound": "Require", "outbound": "Request"}]}},
     "10.0", "fail", "Require all"),
    ({"netipsec": {"output": [{"name": "AMT exempt", "enabled": "True", "protocol": "TCP",
                               "local_ports": ["16992-16995"], "remote_ports": ["Any"], "inbound": "None",
                               "outbound": "None"}]}}, "10.0", "pass", "none covering"),
    ({"reg_gpo": ran("constructed_reg_gpo_assigned.txt")}, "6.1", "warn", "cannot be told"),
    ({"netsh_static": ran(text="The following command was not found: ipsec static show policy all.")}, "6.1",
     "warn", "not read"),
    ({"netipsec": {"failed": True, "msg": "Get-NetIPsecRule: access denied"}}, "10.0", "warn", "access denied"),
    ({"reg_local": ran(text="\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\IPSec\\Policy\\Local\n"
                            "    ActivePolicy    REG_SZ    x\n")}, "6.1", "warn", "netsh does not show"),
])  # fmt: skip
def test_ipsec(changes, nt, status, words):
    row = wc.ipsec_row("sp", dict(CLEAN_IPSEC, **changes), nt)
    assert row["status"] == status and words in row["evidence"], row


def test_manual_rows_are_skip_with_the_commands_of_the_os():
    rows = wc.manual_rows("sp03", {"winrm": True, "kb942841": True}, "nt5", "Windows Server 2003")
    assert [r["status"] for r in rows] == ["skip"] * 3
    assert {r["row"] for r in rows} == {"winrm", "server2003_sp2_kb942841", "no_ipsec"}
    kb = next(r for r in rows if r["row"] == "server2003_sp2_kb942841")
    assert 'wmic qfe where HotFixID="KB942841" get HotFixID' in kb["evidence"] and kb["remedy"]
    vista = wc.manual_rows("c2", {"winrm": True, "msxml6": True, "telnet_client": "pkgmgr"}, "vista", "Vista")
    assert 'pkgmgr /iu:"TelnetClient"' in next(r for r in vista if r["row"] == "console_telnet_client")["evidence"]
    s2008 = wc.manual_rows("c3", {"winrm": True, "telnet_client": "servermanagercmd"}, "server2008", "PS 2")
    assert "servermanagercmd -install Telnet-Client" in next(
        r for r in s2008 if r["row"] == "console_telnet_client")["evidence"]  # fmt: skip


def test_unreachable_fails_winrm_and_warns_the_rest():
    rows = wc.unreachable_rows("c1", ["console"], "connection refused")
    assert [(r["row"], r["status"]) for r in rows] == [
        ("winrm", "fail"), ("console_msxml6", "warn"), ("console_telnet_client", "warn")]  # fmt: skip
