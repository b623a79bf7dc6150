"""dhcp_scope and dhcp_scope_info through main(), against a stand-in Kea control socket (fakekea.py)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import dhcp_scope
import dhcp_scope_info
import pytest
from fakekea import FakeKea, handover_d2, handover_dhcp4

SCOPE = {
    "network": "203.0.113.0/24",
    "scope_id": 1,
    "dns_servers": ["198.51.100.10", "198.51.100.30"],
    "domain_name": "Lab.Example.",
    "ddns": {"forward_zone": "bind.example", "servers": ["198.51.100.12"]},
}
TSIG = {"name": "oob-key.", "algorithm": "hmac-sha256", "secret": "c2VjcmV0LWZvci10ZXN0cw=="}


@pytest.fixture()
def kea(tmp_path):
    dhcp4 = FakeKea(str(tmp_path / "kea4.sock"), handover_dhcp4())
    d2 = FakeKea(str(tmp_path / "d2.sock"), handover_d2())
    yield dhcp4, d2
    dhcp4.close()
    d2.close()


def args(kea, **extra) -> dict:
    return {"scopes": [SCOPE], "tsig": TSIG, "kea": {"control_socket": kea[0].path, "d2_control_socket": kea[1].path},
            **extra}  # fmt: skip


def amt_subnet(config: dict) -> dict:
    return config["Dhcp4"]["subnet4"][0]


def test_check_mode_reports_the_plan_with_a_diff_and_sends_only_config_get(run_module, kea):
    status, res = run_module(dhcp_scope.main, {**args(kea), "_ansible_check_mode": True, "_ansible_diff": True})
    assert status == "exit" and res["changed"] is True, res
    assert kea[0].commands == ["config-get"] and kea[1].commands == ["config-get"]
    after = res["diff"]["after"]
    assert after["203.0.113.0/24"]["option 6 domain-name-servers"] == ["198.51.100.10", "198.51.100.30"]
    assert after["203.0.113.0/24"]["option 15 domain-name"] == "lab.example"
    assert res["diff"]["before"]["203.0.113.0/24"]["option 15 domain-name"] is None
    assert after["d2"]["tsig key oob-key"]["algorithm"] == "HMAC-SHA256"
    assert TSIG["secret"] not in repr(res)  # a digest, never the secret
    assert res["config_hash"]["before"] == res["config_hash"]["after"]


def test_converge_writes_only_the_named_settings_d2_first_then_nothing_to_do(run_module, kea):
    untouched = copy.deepcopy(handover_dhcp4())
    status, res = run_module(dhcp_scope.main, args(kea))
    assert status == "exit" and res["changed"] and res["written"] == ["d2", "dhcp4"], res
    for fake in kea:  # test before set, and written so that a restart keeps it
        assert fake.commands[:5] == ["config-get", "config-test", "config-get", "config-set", "config-write"]
        assert fake.written == fake.config
    sub = amt_subnet(kea[0].config)
    assert [o for o in sub["option-data"] if o["code"] == 3] == untouched["Dhcp4"]["subnet4"][0]["option-data"]
    assert {(o["code"], o["data"]) for o in sub["option-data"]} == {
        (3, "203.0.113.1"),
        (6, "198.51.100.10, 198.51.100.30"),
        (15, "lab.example"),
    }
    assert sub["reservations"] == untouched["Dhcp4"]["subnet4"][0]["reservations"]
    assert kea[0].config["Dhcp4"]["subnet4"][1] == untouched["Dhcp4"]["subnet4"][1]  # another scope: as it was
    assert sub["ddns-send-updates"] and sub["ddns-override-client-update"] and sub["ddns-override-no-update"]
    assert sub["ddns-qualifying-suffix"] == "bind.example."
    assert kea[0].config["Dhcp4"]["dhcp-ddns"]["enable-updates"] is True
    d2 = kea[1].config["DhcpDdns"]
    assert d2["tsig-keys"] == [{"name": "oob-key.", "algorithm": "HMAC-SHA256", "secret": TSIG["secret"]}]
    server = [{"ip-address": "198.51.100.12", "port": 53}]
    assert d2["forward-ddns"]["ddns-domains"] == [
        {"name": "bind.example.", "key-name": "oob-key.", "dns-servers": server}
    ]
    assert d2["reverse-ddns"]["ddns-domains"] == [
        {"name": "113.0.203.in-addr.arpa.", "key-name": "oob-key.", "dns-servers": server}]  # fmt: skip
    status, again = run_module(dhcp_scope.main, args(kea))
    assert status == "exit" and again["changed"] is False and again["changes"] == []


def test_a_configuration_kea_refuses_in_config_test_is_not_set(run_module, kea):
    kea[1].refuse_test = "tsig-keys: secret is not valid base64"
    status, res = run_module(dhcp_scope.main, args(kea))
    assert status == "fail" and res["error"] == "kea" and "not valid base64" in res["msg"], res
    assert "config-set" not in kea[1].commands and "config-set" not in kea[0].commands


def test_info_fails_each_wrong_setting_as_a_check_and_passes_after_converge(run_module, kea):
    status, res = run_module(dhcp_scope_info.main, args(kea))
    assert status == "exit" and res["changed"] is False
    statuses = {c["id"]: c["status"] for c in res["checks"]}
    assert statuses == {
        "dhcp.scope.203.0.113.0/24.active": "pass",
        "dhcp.scope.203.0.113.0/24.option_006": "fail",
        "dhcp.scope.203.0.113.0/24.option_015": "fail",
        "dhcp.scope.203.0.113.0/24.ddns": "fail",
    }
    assert kea[0].commands == ["config-get"]
    run_module(dhcp_scope.main, args(kea))
    status, res = run_module(dhcp_scope_info.main, args(kea))
    assert [c["status"] for c in res["checks"]] == ["pass"] * 4 and res["failed_checks"] == []


def test_a_missing_scope_fails_converge_naming_it_and_is_a_failed_check_in_info(run_module, kea):
    other = {**SCOPE, "network": "198.18.0.0/15", "scope_id": None}
    status, res = run_module(dhcp_scope.main, {**args(kea), "scopes": [other]})
    assert status == "fail" and res["error"] == "scope" and "has no scope 198.18.0.0/15" in res["msg"]
    assert "config-set" not in kea[0].commands
    status, res = run_module(dhcp_scope_info.main, {**args(kea), "scopes": [other]})
    assert status == "exit" and [c["status"] for c in res["checks"]] == ["fail"]


def test_ddns_needs_the_d2_socket_and_bad_kea_options_are_clear(run_module, kea):
    status, res = run_module(dhcp_scope.main, {**args(kea), "kea": {"control_socket": kea[0].path}})
    assert status == "fail" and "kea-dhcp-ddns" in res["msg"]
    status, res = run_module(dhcp_scope.main, {**args(kea), "kea": {}})
    assert status == "fail" and "control_socket" in res["msg"]
    status, res = run_module(dhcp_scope.main, {**args(kea), "tsig": {**TSIG, "algorithm": "rot13"}})
    assert status == "fail" and "algorithm" in res["msg"]


# --- the Windows backend through main(): WinRM replaced by a runner that replays a captured read
WIN_FIXTURES = Path(__file__).parents[1] / "module_utils" / "fixtures" / "windows_dhcp"
WIN_SCOPE = {"network": "192.168.100.0/23", "dns_servers": ["192.168.100.10"], "domain_name": "corp.example.com"}


@pytest.fixture()
def winrm(monkeypatch):
    """Scripts sent to the 'server'; the first answer is Scope01 as captured (no 006/015 at scope level, DNS updates
    Always but not for older clients), every later one an apply script's success."""
    from ansible_collections.oob.prep.plugins.module_utils.dhcp import windows as oob_dhcp_windows

    sent = []
    read = (WIN_FIXTURES / "transcribed_cmdlets_read_real_values.json").read_text()

    def runner(script):
        sent.append(script)
        return (0, read, "") if len(sent) == 1 else (0, '{"done": 99}', "")

    monkeypatch.setattr(oob_dhcp_windows, "winrm_runner", lambda *a, **k: runner)
    return sent


def test_windows_check_mode_plans_options_and_older_clients_and_sends_only_the_read(run_module, winrm):
    status, res = run_module(dhcp_scope.main, {"backend": "windows", "windows": {"host": "dhcp01.corp.example.com"},
                                               "scopes": [WIN_SCOPE], "_ansible_check_mode": True})  # fmt: skip
    assert status == "exit" and res["changed"], res
    assert {c["key"]: c["after"] for c in res["changes"]} == {
        "option_006": ["192.168.100.10"],
        "option_015": "corp.example.com",
        "ddns_update_older_clients": True,
    }
    assert len(winrm) == 1 and "Get-DhcpServerv4OptionValue" in winrm[0] and "Set-" not in winrm[0]


def test_windows_info_reports_the_wrong_options_and_kea_only_keys_are_refused(run_module, winrm):
    args = {"backend": "windows", "windows": {"host": "dhcp01.corp.example.com"}, "scopes": [WIN_SCOPE]}
    status, res = run_module(dhcp_scope_info.main, args)
    assert {c["id"].rsplit(".", 1)[1]: c["status"] for c in res["checks"]} == {
        "active": "pass",
        "option_006": "fail",
        "option_015": "fail",
        "ddns": "fail",
    }
    status, res = run_module(dhcp_scope.main, {**args, "scopes": [{**WIN_SCOPE, "ddns": {"servers": ["10.0.0.1"]}}]})
    assert status == "fail" and "cannot be set on a Windows DHCP server" in res["msg"], res


# --- options the scope inherits on a Windows DHCP Server (reservation > scope > server level; a user class's or a
# policy's value only for its clients). The capture's server level holds 006 192.168.100.11 and 015 azseblab.com
# (cmdlets_get_optionvalue_server.table.txt); scope 192.168.100.0 has neither (cmdlets_get_optionvalue_scope.table.txt)
WIN_INHERITING = {"network": "192.168.100.0/23", "dns_servers": ["192.168.100.11"], "domain_name": "azseblab.com"}
SET_LINE = re.compile(r"^(Set-DhcpServerv4OptionValue|Set-DhcpServerv4DnsSetting|Set-DhcpServerv4Scope) -ScopeId "
                      r"'([\d.]+)' (.*)$")  # fmt: skip


class FakeWindowsDhcp:
    """A Windows DHCP server behind the WinRM runner: answers the read script with its state (the read script's JSON,
    starting from the transcribed capture) and carries out an apply script's scope-level Set- lines on it. Any other
    line of an apply script (a server-level Set-, say) is refused, so a test sees it."""

    def __init__(self, document: dict):
        self.document = document
        self.scripts: list[str] = []
        self.applied: list[str] = []

    def __call__(self, script: str):
        self.scripts.append(script)
        if "Get-DhcpServerv4Scope" in script:
            return 0, json.dumps(self.document), ""
        for line in script.splitlines():
            if not line.startswith("Set-"):
                continue
            match = SET_LINE.match(line)
            if not match:
                return 0, json.dumps({"done": 0, "failed": line, "error": "not a scope-level Set- line"}), ""
            self._set(*match.groups())
            self.applied.append(line)
        return 0, json.dumps({"done": len(self.applied), "failed": None}), ""

    def _set(self, cmdlet: str, scope_id: str, rest: str) -> None:
        scope = self.document["scopes"][scope_id]
        if cmdlet == "Set-DhcpServerv4OptionValue":
            name, values = rest.split(" ", 1)
            option_id, label, kind = {"-DnsServer": (6, "DNS Servers", "IPv4Address"),
                                      "-DnsDomain": (15, "DNS Domain Name", "String")}[name]  # fmt: skip
            scope["options"] = [o for o in scope["options"] if o["OptionId"] != option_id] + [
                {"OptionId": option_id, "Name": label, "Type": kind, "Value": re.findall(r"'([^']*)'", values),
                 "VendorClass": "", "UserClass": "", "PolicyName": ""}]  # fmt: skip
        elif cmdlet == "Set-DhcpServerv4DnsSetting":
            for flag, value in re.findall(r"-(\w+) (\S+)", rest):
                scope["dns"][flag] = value.strip("'") if flag == "DynamicUpdates" else value == "$true"


@pytest.fixture()
def windows_dhcp(monkeypatch):
    from ansible_collections.oob.prep.plugins.module_utils.dhcp import windows as oob_dhcp_windows

    fake = FakeWindowsDhcp(json.loads((WIN_FIXTURES / "transcribed_cmdlets_read_real_values.json").read_text()))
    monkeypatch.setattr(oob_dhcp_windows, "winrm_runner", lambda *a, **k: fake)
    return fake


def win_args(scope: dict, **extra) -> dict:
    return {"backend": "windows", "windows": {"host": "dhcp01.corp.example.com"}, "scopes": [scope], **extra}


def option_rows(res) -> dict:
    return {c["id"].rsplit(".", 1)[1]: c for c in res["checks"] if c["id"].rsplit(".", 1)[1].startswith("option")}


def test_windows_server_level_options_count_say_where_from_and_are_not_copied(run_module, windows_dhcp):
    server_before = copy.deepcopy(windows_dhcp.document["server"])
    status, res = run_module(dhcp_scope_info.main, win_args(WIN_INHERITING))
    assert status == "exit", res
    rows = option_rows(res)
    assert rows["option_006"]["status"] == "pass" and rows["option_015"]["status"] == "pass", rows
    assert "option_006 192.168.100.11 from the server level" in rows["option_006"]["evidence"]
    assert "option_015 azseblab.com from the server level" in rows["option_015"]["evidence"]
    status, res = run_module(dhcp_scope.main, win_args(WIN_INHERITING, _ansible_check_mode=True, _ansible_diff=True))
    assert status == "exit" and [c["key"] for c in res["changes"]] == ["ddns_update_older_clients"], res
    assert len(windows_dhcp.scripts) == 2 and not windows_dhcp.applied  # the two reads
    status, res = run_module(dhcp_scope.main, win_args(WIN_INHERITING))
    assert status == "exit" and res["changed"] and res["written"] == ["windows"], res
    assert windows_dhcp.applied == ["Set-DhcpServerv4DnsSetting -ScopeId '192.168.100.0' -UpdateDnsRRForOlderClients "
                                    "$true"]  # fmt: skip
    assert not [o for o in windows_dhcp.document["scopes"]["192.168.100.0"]["options"] if o["OptionId"] in (6, 15)]
    assert windows_dhcp.document["server"] == server_before
    status, res = run_module(dhcp_scope.main, win_args(WIN_INHERITING))
    assert status == "exit" and res["changed"] is False and res["changes"] == []


def test_windows_copy_inherited_shows_the_copy_in_check_mode_then_sets_it_on_the_scope(run_module, windows_dhcp):
    status, res = run_module(dhcp_scope.main, win_args(WIN_INHERITING, copy_inherited=True, _ansible_check_mode=True,
                                                       _ansible_diff=True))  # fmt: skip
    assert status == "exit" and res["changed"], res
    assert res["diff"]["before"]["192.168.100.0/23"]["option_006"] == []
    assert res["diff"]["after"]["192.168.100.0/23"]["option_006"] == ["192.168.100.11"]
    assert res["diff"]["before"]["192.168.100.0/23"]["option_015"] == ""
    assert res["diff"]["after"]["192.168.100.0/23"]["option_015"] == "azseblab.com"
    assert len(windows_dhcp.scripts) == 1 and "Set-" not in windows_dhcp.scripts[0] and not windows_dhcp.applied
    status, res = run_module(dhcp_scope.main, win_args(WIN_INHERITING, copy_inherited=True))
    assert status == "exit" and res["changed"], res
    assert "Set-DhcpServerv4OptionValue -ScopeId '192.168.100.0' -DnsServer '192.168.100.11'" in windows_dhcp.applied
    assert "Set-DhcpServerv4OptionValue -ScopeId '192.168.100.0' -DnsDomain 'azseblab.com'" in windows_dhcp.applied
    status, res = run_module(dhcp_scope_info.main, win_args(WIN_INHERITING, copy_inherited=True))
    assert "option_006 192.168.100.11 from the scope" in option_rows(res)["option_006"]["evidence"]


def test_windows_a_wrong_server_level_value_is_set_on_the_scope_and_the_server_level_stays(run_module, windows_dhcp):
    server_before = copy.deepcopy(windows_dhcp.document["server"])
    status, res = run_module(dhcp_scope_info.main, win_args(WIN_SCOPE))
    rows = option_rows(res)
    assert rows["option_006"]["status"] == "fail" and rows["option_015"]["status"] == "fail"
    assert ("option_006 is 192.168.100.11 from the server level, should be 192.168.100.10"
            in rows["option_006"]["evidence"])  # fmt: skip
    assert ("option_015 is azseblab.com from the server level, should be corp.example.com"
            in rows["option_015"]["evidence"])  # fmt: skip
    status, res = run_module(dhcp_scope.main, win_args(WIN_SCOPE))
    assert status == "exit" and res["changed"], res
    assert windows_dhcp.applied[:2] == [
        "Set-DhcpServerv4OptionValue -ScopeId '192.168.100.0' -DnsServer '192.168.100.10'",
        "Set-DhcpServerv4OptionValue -ScopeId '192.168.100.0' -DnsDomain 'corp.example.com'",
    ]
    assert windows_dhcp.document["server"] == server_before  # the server level is left alone
    status, res = run_module(dhcp_scope_info.main, win_args(WIN_SCOPE))
    rows = option_rows(res)
    assert rows["option_006"]["status"] == "pass" and "from the scope" in rows["option_006"]["evidence"]


def test_windows_an_option_only_a_policy_carries_is_a_warning_naming_it(run_module, windows_dhcp):
    windows_dhcp.document["server"]["options"][0]["PolicyName"] = "AMT vPro"  # 015 azseblab.com only in a policy
    status, res = run_module(dhcp_scope_info.main, win_args(WIN_INHERITING))
    rows = option_rows(res)
    assert rows["option_015"]["status"] == "warn" and rows["option_006"]["status"] == "pass", rows
    assert ("option_015 azseblab.com is offered only to clients of policy AMT vPro at the server level"
            in rows["option_015"]["evidence"])  # fmt: skip


# --- options the scope inherits (Kea ARM, "DHCPv4 Server Configuration": option-data at the global level, in a
# shared-network, in a subnet4 entry, in a client class; the subnet's value wins over its shared network's, which wins
# over the global one)
def with_inherited(kea, where: str, domain: str = "lab.example") -> None:
    dhcp4 = kea[0].config["Dhcp4"]
    option = {"name": "domain-name", "data": domain}
    if where == "global":
        dhcp4["option-data"] = [option, {"name": "domain-name-servers", "data": "198.51.100.10, 198.51.100.30"}]
    elif where == "shared":
        subnet = dhcp4["subnet4"].pop(0)
        dhcp4["shared-networks"] = [{"name": "amt-floor1", "option-data": [option], "subnet4": [subnet]}]
    else:
        dhcp4["client-classes"] = [{"name": "vpro", "test": "substring(option[60].hex,0,4) == 'AMT '",
                                    "option-data": [option]}]  # fmt: skip


@pytest.mark.parametrize(("where", "said"), [("global", "from the global level"),
                                             ("shared", "from the shared-network amt-floor1")])  # fmt: skip
def test_an_inherited_option_15_counts_as_offered_and_says_where_from(run_module, kea, where, said):
    with_inherited(kea, where)
    status, res = run_module(dhcp_scope_info.main, args(kea))
    assert status == "exit", res
    [row] = [c for c in res["checks"] if c["id"].endswith("option_015")]
    assert row["status"] == "pass" and f"option 15 domain-name lab.example {said}" in row["evidence"]
    before = copy.deepcopy(kea[0].config)
    status, res = run_module(dhcp_scope.main, {**args(kea), "_ansible_diff": True})
    assert status == "exit" and res["changed"] is True  # the DDNS settings still change
    assert not [c for c in res["changes"] if c["key"].startswith("option 15")]  # nothing copied down
    subnet = next(s for s in _subnets(kea[0].config) if s["subnet"] == "203.0.113.0/24")
    assert not [o for o in subnet["option-data"] if o.get("name") == "domain-name"]
    assert kea[0].config.get("Dhcp4", {}).get("option-data") == before["Dhcp4"].get("option-data")


def test_copy_inherited_sets_the_value_on_the_scope(run_module, kea):
    with_inherited(kea, "global")
    status, res = run_module(dhcp_scope.main, {**args(kea), "copy_inherited": True, "_ansible_check_mode": True,
                                               "_ansible_diff": True})  # fmt: skip
    assert status == "exit" and kea[0].commands == ["config-get"]
    assert res["diff"]["before"]["203.0.113.0/24"]["option 15 domain-name"] is None
    assert res["diff"]["after"]["203.0.113.0/24"]["option 15 domain-name"] == "lab.example"
    status, res = run_module(dhcp_scope.main, {**args(kea), "copy_inherited": True})
    assert status == "exit" and res["changed"] is True
    assert {"code": 15, "data": "lab.example"}.items() <= next(
        o for o in amt_subnet(kea[0].config)["option-data"] if o.get("code") == 15
    ).items()


def test_a_wrong_inherited_value_is_set_on_the_scope_and_the_global_one_stays(run_module, kea):
    with_inherited(kea, "global", domain="corp.example")
    status, res = run_module(dhcp_scope_info.main, args(kea))
    [row] = [c for c in res["checks"] if c["id"].endswith("option_015")]
    assert row["status"] == "fail"
    assert "option 15 domain-name is corp.example from the global level, should be lab.example" in row["evidence"]
    status, res = run_module(dhcp_scope.main, args(kea))
    assert status == "exit" and res["changed"] is True, res
    assert [o["data"] for o in amt_subnet(kea[0].config)["option-data"] if o.get("code") == 15] == ["lab.example"]
    assert kea[0].config["Dhcp4"]["option-data"][0] == {"name": "domain-name", "data": "corp.example"}
    status, res = run_module(dhcp_scope_info.main, args(kea))
    [row] = [c for c in res["checks"] if c["id"].endswith("option_015")]
    assert row["status"] == "pass" and "from the subnet" in row["evidence"]


def test_an_option_only_a_client_class_carries_is_a_warning_naming_the_class(run_module, kea):
    with_inherited(kea, "class")
    status, res = run_module(dhcp_scope_info.main, args(kea))
    [row] = [c for c in res["checks"] if c["id"].endswith("option_015")]
    assert row["status"] == "warn", row
    assert "option 15 domain-name lab.example is offered only to clients of class vpro" in row["evidence"]


def _subnets(config):
    dhcp4 = config["Dhcp4"]
    yield from dhcp4.get("subnet4", [])
    for shared in dhcp4.get("shared-networks", []):
        yield from shared.get("subnet4", [])
