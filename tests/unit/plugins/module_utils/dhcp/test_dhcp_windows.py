"""dhcp.windows without a Windows host: the netsh and cmdlet parsers on published captures, normalization, read()
and apply() through a fake runner, and the WinRM runner's error mapping with pywinrm's real exception types.

Samples are in fixtures/windows_dhcp (README.md there names the source of each; ``constructed_`` ones were built
from the documented format). Option 81 values follow [MS-DHCPM] 3.3.1: 0x01 enabled, 0x02 clients that do not
request updates, 0x04 discard on lease deletion, 0x10 always update A and PTR, 0x20 name protection, 0x40 no PTR.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import requests
import winrm
import winrm.exceptions
from ansible_collections.oob.prep.plugins.module_utils.dhcp import windows as backend
from ansible_collections.oob.prep.plugins.module_utils.dhcp.windows import (
    OobDhcpError,
    WindowsDhcp,
    check_present,
    decode_dns_flags,
    netsh_dnsconfig_args,
    parse_netsh_option_values,
    parse_netsh_scopes,
    ps_quote,
    settings_from_netsh,
    winrm_runner,
)
from winrm.vendor.requests_kerberos.exceptions import KerberosExchangeError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "windows_dhcp"
AMT = {"network": "203.0.113.0/24", "scope_id": "203.0.113.0", "dns_servers": ["198.51.100.10", "198.51.100.11"],
       "domain_name": "lab.example", "ddns": {"enabled": True}}  # fmt: skip
DESIRED = {"option_006": ["198.51.100.10", "198.51.100.11"], "option_015": "lab.example",
           "ddns_dynamic_updates": "Always", "ddns_update_older_clients": True, "ddns_ptr_updates": True}  # fmt: skip


def sample(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def scope(network: str, **extra) -> dict:
    address = network.split("/", maxsplit=1)[0]
    return dict(AMT, network=network, scope_id=address, **extra)


class FakeRunner:
    """Records every script; answers from a list of (rc, stdout, stderr)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.scripts: list[str] = []

    def __call__(self, script: str):
        self.scripts.append(script)
        return self.answers.pop(0)


def netsh_document(show_scope: str, server: str, scopes: dict) -> str:
    """What the read script's netsh branch prints: the raw texts in one JSON document."""
    return json.dumps({"method": "netsh", "show_scope": show_scope, "server_optionvalue": server,
                       "scopes": {scope_id: {"optionvalue": text} for scope_id, text in scopes.items()}})  # fmt: skip


# --- netsh parsers on real output -----------------------------------------------------------------------------------
def test_show_scope_real():
    scopes = parse_netsh_scopes(sample("netsh_show_scope.txt"))
    assert list(scopes) == ["172.24.166.0", "172.24.230.0", "172.29.204.0", "172.29.205.0", "172.29.205.128",
                            "172.29.216.0"]  # fmt: skip
    assert scopes["172.29.205.0"] == {"mask": "255.255.255.128", "state": "Active", "active": True,
                                      "name": "Server VLAN Scope    -DC Standardiza"}  # fmt: skip
    assert scopes["172.29.205.128"]["name"].startswith("Management VLAN Scope-DC")  # a name touching the separator
    assert scopes["172.29.216.0"]["mask"] == "255.255.254.0"
    assert all(row["active"] for row in scopes.values())


def test_show_scope_states_and_crlf():
    scopes = parse_netsh_scopes(sample("constructed_netsh_show_scope_mixed.txt").replace("\n", "\r\n"))
    assert {k: (v["state"], v["active"]) for k, v in scopes.items()} == {
        "203.0.113.0": ("Active", True),
        "192.0.2.0": ("Disabled", False),
    }


def test_show_scope_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match="not a Windows DHCP server"):
        parse_netsh_scopes(sample("constructed_netsh_no_dhcp_context.txt"))
    with pytest.raises(ValueError, match="English netsh output"):
        parse_netsh_scopes("Der Befehl wurde erfolgreich ausgeführt.")  # a localized netsh: reported, not guessed at
    assert parse_netsh_scopes("\n Total No. of Scopes = 0\nCommand completed successfully.\n") == {}


def test_optionvalue_real_81_51_3():
    parsed = parse_netsh_option_values(sample("netsh_scope_optionvalue_81_51_3.txt"))
    assert parsed == {"general": {81: {"type": "DWORD", "values": ["0"]}, 51: {"type": "DWORD", "values": ["691200"]},
                                  3: {"type": "IPADDRESS", "values": ["172.29.205.1"]}}, "classes": {}}  # fmt: skip


def test_optionvalue_real_vendor_class_is_kept_apart():
    parsed = parse_netsh_option_values(sample("netsh_scope_optionvalue_vendor_class.txt"))
    assert sorted(parsed["general"]) == [51, 81]
    assert parsed["classes"] == {
        "vendor SPARC-Enterprise-T5120": {3: {"type": "IPADDRESS", "values": ["172.29.205.1"]}}
    }


def test_optionvalue_real_006_015_and_bootp_user_class():
    parsed = parse_netsh_option_values(sample("netsh_scope_optionvalue_006_015_bootp.txt"))
    general = parsed["general"]
    assert general[6] == {"type": "IPADDRESS", "values": ["192.168.70.254"]}
    assert general[15] == {"type": "STRING", "values": ["hssl.com"]}
    assert general[119]["values"] == ["102", "111", "111", "46", "99", "111", "109"]
    assert general[51]["values"] == ["691200"]  # not the BOOTP class's 2592000
    assert parsed["classes"] == {"user Default BOOTP Class": {51: {"type": "DWORD", "values": ["2592000"]}}}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace("Number of Option Elements = 7", "Number of Option Elements = 8"), "incomplete"),
        (lambda text: text.replace("Command completed successfully.", ""), "did not complete"),
        (lambda text: text.replace("Option Element Type = STRING", "Option Element Tipo = STRING"), "not recognized"),
    ],
)
def test_optionvalue_untrustworthy_output_is_refused(edit, message):
    with pytest.raises(ValueError, match=message):
        parse_netsh_option_values(edit(sample("netsh_scope_optionvalue_006_015_bootp.txt")))


def test_optionvalue_of_a_scope_netsh_does_not_know():
    with pytest.raises(ValueError, match="does not know this scope"):
        parse_netsh_option_values(sample("constructed_netsh_invalid_scope.txt"))


# --- option 81 -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mask", "dynamic", "older", "ptr", "delete", "protection"),
    [
        (0, "Never", False, True, False, False),  # the real 172.29.205.0 scope: updates disabled at scope level
        (5, "OnClientRequest", False, True, True, False),  # the service default (no option 81 anywhere)
        (7, "OnClientRequest", True, True, True, False),
        (19, "Always", True, True, False, False),  # Engel: "Always Update [Legacy] Clients Without Cleanup"
        (21, "Always", False, True, True, False),  # Engel: "Always Update Clients With Cleanup"
        (23, "Always", True, True, True, False),
        (0x17 | 0x40, "Always", True, False, True, False),  # DisableDnsPtrRRUpdate (2012 R2)
        (0x25, "OnClientRequest", False, True, True, True),  # name protection (2008 R2)
    ],
)
def test_decode_dns_flags(mask, dynamic, older, ptr, delete, protection):
    assert decode_dns_flags(mask) == {"ddns_dynamic_updates": dynamic, "ddns_update_older_clients": older,
                                      "ddns_ptr_updates": ptr, "delete_on_lease_expiry": delete,
                                      "name_protection": protection}  # fmt: skip


@pytest.mark.parametrize("dynamic", ["Always", "OnClientRequest", "Never"])
@pytest.mark.parametrize("older", [True, False])
@pytest.mark.parametrize("lookup", [True, False])
def test_set_dnsconfig_arguments_mean_what_is_read_back(dynamic, older, lookup):
    enable, update, keep, nondyn = (int(flag) for flag in netsh_dnsconfig_args(dynamic, older, lookup))
    # netsh stores Enable + 16 Update + 4 Lookup + 2 NonDyn as option 81 (Engel's Set-DHCPDNSConfiguration)
    flags = decode_dns_flags(enable + 16 * update + 4 * keep + 2 * nondyn)
    assert flags["ddns_dynamic_updates"] == dynamic
    assert flags["ddns_update_older_clients"] == (older and dynamic != "Never")
    assert flags["delete_on_lease_expiry"] == lookup


def test_dns_setting_inheritance_scope_then_server_then_default():
    real = parse_netsh_option_values(sample("netsh_scope_optionvalue_81_51_3.txt"))
    bootp = parse_netsh_option_values(sample("netsh_scope_optionvalue_006_015_bootp.txt"))
    server = parse_netsh_option_values(sample("constructed_netsh_server_optionvalue.txt"))
    empty = parse_netsh_option_values(sample("constructed_netsh_server_optionvalue_empty.txt"))
    settings, info = settings_from_netsh(real, server)
    # no 006/015 at scope level: the server level's (198.51.100.10, lab.example in the server sample) are offered
    assert settings == {"option_006": ["198.51.100.10"], "option_015": "lab.example", "ddns_dynamic_updates": "Never",
                        "ddns_update_older_clients": False, "ddns_ptr_updates": True}  # fmt: skip
    assert info["sources"] == {"option_006": "the server level", "option_015": "the server level"}
    assert (info["ddns_source"], info["option_081"]) == ("scope", 0)
    settings, info = settings_from_netsh(bootp, server)
    assert settings["option_006"] == ["192.168.70.254"] and settings["option_015"] == "hssl.com"  # the scope's win
    assert info["sources"] == {"option_006": "the scope", "option_015": "the scope"} and info["classes"] == {}
    assert (settings["ddns_dynamic_updates"], info["ddns_source"], info["option_081"]) == ("Always", "server", 21)
    settings, info = settings_from_netsh(bootp, empty)
    assert (settings["ddns_dynamic_updates"], info["ddns_source"], info["delete_on_lease_expiry"]) == (
        "OnClientRequest", "default", True)  # fmt: skip


# --- the cmdlet captures, and their transcription into the read script's JSON -----------------------------------------
def format_list(text: str) -> dict:
    """PowerShell Format-List output: 'Name : value' lines."""
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^(\w+)\s+:(.*)$", text, re.M)}


def format_table(text: str) -> list[dict]:
    """PowerShell Format-Table output: columns where the dashes under the headers are."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith((">", "PS "))]
    dashes = next(i for i, line in enumerate(lines) if set(line.replace(" ", "")) == {"-"})
    spans = [m.span() for m in re.finditer(r"-+", lines[dashes])]
    spans = [(start, spans[i + 1][0] if i + 1 < len(spans) else None) for i, (start, _end) in enumerate(spans)]
    header = [lines[dashes - 1][a:b].strip() for a, b in spans]
    return [dict(zip(header, [row[a:b].strip() for a, b in spans], strict=True)) for row in lines[dashes + 1 :]]


def test_transcription_matches_the_real_captures():
    transcribed = json.loads(sample("transcribed_cmdlets_read_real_values.json"))["scopes"]["192.168.100.0"]
    [row] = format_table(sample("cmdlets_get_scope.table.txt"))
    assert {k: row[k] for k in ("ScopeId", "SubnetMask", "Name", "State")} == transcribed["scope"]
    rows = format_table(sample("cmdlets_get_optionvalue_scope.table.txt"))
    for row, option in zip(rows, transcribed["options"], strict=True):
        assert int(row["OptionId"]) == option["OptionId"] and row["Name"] == option["Name"]
        assert option["Type"].startswith(row["Type"].rstrip("."))  # "IPv4Add..." is Format-Table's truncation
        assert row["Value"] == "{" + ", ".join(option["Value"]) + "}"
    listed = format_list(sample("cmdlets_get_dnssetting_always.list.txt"))
    assert {key: str(value) for key, value in transcribed["dns"].items()} == {
        key: listed[key] for key in transcribed["dns"]
    }
    rows = format_table(sample("cmdlets_get_optionvalue_server.table.txt"))
    server = json.loads(sample("transcribed_cmdlets_read_real_values.json"))["server"]
    assert server["errors"] == [] and len(rows) == len(server["options"]) == 2
    for row, option in zip(rows, server["options"], strict=True):
        assert int(row["OptionId"]) == option["OptionId"] and row["Name"] == option["Name"]
        assert option["Type"].startswith(row["Type"].rstrip("."))
        assert row["Value"] == "{" + ", ".join(option["Value"]) + "}"
        assert not (option["VendorClass"] or option["UserClass"] or option["PolicyName"])
    assert not {6, 15} & {option["OptionId"] for option in transcribed["options"]}  # the scope has none of its own
    assert format_list(sample("cmdlets_get_dnssetting_default.list.txt"))["DynamicUpdates"] == "OnClientRequest"


# --- desired() --------------------------------------------------------------------------------------------------------
def test_desired_is_normalized():
    dhcp = WindowsDhcp(FakeRunner())
    assert dhcp.desired(AMT) == DESIRED
    assert dhcp.desired(dict(AMT, domain_name="Lab.Example.", dns_servers=["198.51.100.11", " 198.51.100.10"]))[
        "option_015"] == "lab.example"  # fmt: skip
    order = dhcp.desired(dict(AMT, dns_servers=["198.51.100.11", "198.51.100.10"]))["option_006"]
    assert order == ["198.51.100.11", "198.51.100.10"]  # option 006 keeps its order
    assert dhcp.desired(dict(AMT, ddns={"enabled": False})) == {"option_006": DESIRED["option_006"],
                                                               "option_015": "lab.example"}  # fmt: skip
    assert json.loads(json.dumps(dhcp.desired(AMT))) == DESIRED  # JSON-plain
    # the Kea-only keys the estate may carry empty (docs/adr/0007) are accepted
    assert dhcp.desired(dict(AMT, ddns={"enabled": True, "forward_zone": None, "servers": []})) == DESIRED


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"dns_servers": ["2001:db8::53"]}, "is an IPv6 address: .* IPv4 only"),
        ({"network": "2001:db8::/64", "scope_id": "2001:db8::"}, "IPv6 subnet: .* IPv4 only"),
        ({"domain_name": "lab'example.com"}, "is not a valid DNS name"),
        ({"domain_name": "-lab.example"}, "is not a valid DNS name"),
        ({"domain_name": "lab example"}, "is not a valid DNS name"),
        ({"dns_servers": ["198.51.100.300"]}, "not an IPv4 address"),
        ({"dns_servers": []}, "non-empty list"),
        ({"dns_servers": "198.51.100.10"}, "non-empty list"),
        ({"dns_servers": ["198.51.100.10", "198.51.100.10"]}, "twice"),
        ({"network": "203.0.113.5/24"}, "host bits are set"),
        ({"network": "203.0.113.0"}, "no prefix length"),
        ({"scope_id": "203.0.113.1"}, "not the subnet address"),
        ({"ddns": {"enabled": "yes"}}, "enabled: true|false"),
        (
            {"ddns": {"enabled": True, "forward_zone": "bind.example"}},
            "ddns.forward_zone .* cannot be set on a Windows",
        ),
        ({"ddns": {"enabled": True, "servers": ["198.51.100.12"]}}, "leave them out"),
    ],
)
def test_desired_refuses_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        WindowsDhcp(FakeRunner()).desired(dict(AMT, **bad))


# --- read() -----------------------------------------------------------------------------------------------------------
def test_read_netsh_real_samples():
    wanted = [scope("172.29.205.0/25"), scope("172.29.204.0/24"), scope("203.0.113.0/24")]
    texts = {"172.29.205.0": sample("netsh_scope_optionvalue_81_51_3.txt"),
             "172.29.204.0": sample("netsh_scope_optionvalue_006_015_bootp.txt"),
             "203.0.113.0": sample("constructed_netsh_invalid_scope.txt")}  # fmt: skip
    server = sample("constructed_netsh_server_optionvalue_empty.txt")
    runner = FakeRunner((0, netsh_document(sample("netsh_show_scope.txt"), server, texts), ""))
    dhcp = WindowsDhcp(runner, "dhcp01")
    result = dhcp.read(wanted)
    assert dhcp.method == "netsh" and len(runner.scripts) == 1
    assert "'172.29.205.0', '172.29.204.0', '203.0.113.0'" in runner.scripts[0]
    assert result["172.29.205.0/25"]["exists"] is True and result["172.29.205.0/25"]["active"] is True
    assert result["172.29.205.0/25"]["settings"] == {
        "option_006": [], "option_015": "", "ddns_dynamic_updates": "Never", "ddns_update_older_clients": False,
        "ddns_ptr_updates": True,
    }  # fmt: skip
    assert result["172.29.204.0/24"]["settings"]["option_006"] == ["192.168.70.254"]  # the other sample's values
    assert result["172.29.204.0/24"]["info"]["ddns_source"] == "default"
    assert result["172.29.205.0/25"]["info"]["sources"] == {}  # no 006/015 anywhere: nothing is offered
    assert result["203.0.113.0/24"] == {"exists": False, "active": None, "settings": {}, "method": None, "info": {}}
    assert json.loads(json.dumps(result)) == result
    with pytest.raises(OobDhcpError, match=r"dhcp01 has no scope for 203\.0\.113\.0/24: .*never creates") as err:
        check_present(result, "dhcp01")
    assert err.value.kind == "missing"


def test_read_netsh_converged_equals_desired():
    runner = FakeRunner((0, netsh_document(sample("constructed_netsh_show_scope_mixed.txt"),
                                           sample("constructed_netsh_server_optionvalue.txt"),
                                           {"203.0.113.0": sample("constructed_netsh_scope_optionvalue_converged.txt"),
                                            "192.0.2.0": sample("constructed_netsh_scope_optionvalue_192.0.2.0.txt")}),
                         ""))  # fmt: skip
    dhcp = WindowsDhcp(runner)
    result = dhcp.read([AMT, scope("192.0.2.0/24")])
    assert result["203.0.113.0/24"]["settings"] == dhcp.desired(AMT)  # "Lab.Example." normalizes to lab.example
    assert result["192.0.2.0/24"]["active"] is False
    assert result["203.0.113.0/24"]["info"]["sources"] == {"option_006": "the scope", "option_015": "the scope"}
    # 192.0.2.0 has no 006/015 of its own: it is offered the server level's; its DNS setting is the server's (81 = 21)
    assert result["192.0.2.0/24"]["settings"]["option_006"] == ["198.51.100.10"]
    assert result["192.0.2.0/24"]["settings"]["option_015"] == "lab.example"
    assert result["192.0.2.0/24"]["info"] == {"ddns_source": "server", "option_081": 21, "delete_on_lease_expiry": True,
                                              "name_protection": False, "state": "Disabled", "classes": {},
                                              "sources": {"option_006": "the server level",
                                                          "option_015": "the server level"}}  # fmt: skip


def test_read_cmdlets_real_values():
    runner = FakeRunner((0, sample("transcribed_cmdlets_read_real_values.json"), ""))
    dhcp = WindowsDhcp(runner)
    result = dhcp.read([scope("192.168.100.0/23")])
    assert dhcp.method == "cmdlets"
    assert result == {"192.168.100.0/23": {
        "exists": True, "active": True, "method": "cmdlets",
        # 006 and 015 are set at server level only in the capture (192.168.100.11, azseblab.com): the scope inherits
        "settings": {"option_006": ["192.168.100.11"], "option_015": "azseblab.com", "ddns_dynamic_updates": "Always",
                     "ddns_update_older_clients": False, "ddns_ptr_updates": True},
        "info": {"ddns_source": "effective", "delete_on_lease_expiry": True, "name_protection": False,
                 "state": "Active", "classes": {},
                 "sources": {"option_006": "the server level", "option_015": "the server level"}}}}  # fmt: skip


def test_read_cmdlets_converged_inactive_and_missing():
    runner = FakeRunner((0, sample("constructed_cmdlets_read_mixed.json"), ""))
    dhcp = WindowsDhcp(runner)
    result = dhcp.read([AMT, scope("192.0.2.0/24"), scope("198.18.0.0/24")])
    assert result["203.0.113.0/24"]["settings"] == dhcp.desired(AMT)  # the policy-level 006 is ignored
    inactive = result["192.0.2.0/24"]
    assert inactive["active"] is False and inactive["settings"]["ddns_dynamic_updates"] == "OnClientRequest"
    assert inactive["settings"]["ddns_ptr_updates"] is True  # DisableDnsPtrRRUpdate null: before 2012 R2
    assert result["198.18.0.0/24"]["exists"] is False
    with pytest.raises(OobDhcpError, match=r"198\.18\.0\.0/24"):
        check_present(result)


def test_read_cmdlets_errors_are_per_scope_and_named():
    runner = FakeRunner((0, sample("constructed_cmdlets_read_access_denied.json"), ""))
    with pytest.raises(OobDhcpError) as err:
        WindowsDhcp(runner, "dhcp01").read([AMT])
    assert err.value.kind == "read"
    text = str(err.value)
    assert "203.0.113.0/24 (scope 203.0.113.0): Get-DhcpServerv4OptionValue failed" in text
    assert "WIN32 5,Get-DhcpServerv4OptionValue" in text and "Access is denied" in text
    assert "DHCP Administrators" in text


# --- options 006/015 the scope inherits from the server level (reservation > scope > server; user classes and policies
# are offered only to their clients): the levels as Get-DhcpServerv4OptionValue [-ScopeId] -All and netsh [scope <id>]
# show optionvalue report them
def test_netsh_copy_inherited_counts_only_the_scope_level():
    real = parse_netsh_option_values(sample("netsh_scope_optionvalue_81_51_3.txt"))
    server = parse_netsh_option_values(sample("constructed_netsh_server_optionvalue.txt"))
    settings, info = settings_from_netsh(real, server, copy_inherited=True)
    assert (settings["option_006"], settings["option_015"], info["sources"]) == ([], "", {})
    bootp = parse_netsh_option_values(sample("netsh_scope_optionvalue_006_015_bootp.txt"))
    settings, info = settings_from_netsh(bootp, server, copy_inherited=True)  # the scope's own still count
    assert (settings["option_006"], settings["option_015"]) == (["192.168.70.254"], "hssl.com")


def test_netsh_an_option_only_a_user_class_carries_is_not_offered_to_the_scope():
    real = parse_netsh_option_values(sample("netsh_scope_optionvalue_81_51_3.txt"))
    server = parse_netsh_option_values(sample("constructed_netsh_server_optionvalue_user_class.txt"))
    settings, info = settings_from_netsh(real, server)
    assert settings["option_006"] == ["198.51.100.10", "198.51.100.11"] and settings["option_015"] == ""
    assert info["sources"] == {"option_006": "the server level"}
    assert info["classes"] == {"option_015": [("user class AMT vPro at the server level", "lab.example")]}
    # the real sample's user class (Default BOOTP Class, at the scope) carries option 51 only
    bootp = parse_netsh_option_values(sample("netsh_scope_optionvalue_006_015_bootp.txt"))
    assert settings_from_netsh(bootp, server)[1]["classes"] == {
        "option_015": [("user class AMT vPro at the server level", "lab.example")]}  # fmt: skip


def test_read_cmdlets_policy_and_user_class_values_do_not_count_and_vendor_classes_are_another_space():
    document = json.loads(sample("transcribed_cmdlets_read_real_values.json"))
    server_015 = document["server"]["options"][0]
    assert server_015["OptionId"] == 15
    server_015["PolicyName"] = "AMT vPro"  # 015 only in a server-level policy
    scope_options = document["scopes"]["192.168.100.0"]["options"]
    scope_options.append(dict(scope_options[1], OptionId=6, Name="Vendor 6", Value=["192.0.2.99"],
                              VendorClass="Microsoft Windows 2000 Options"))  # fmt: skip
    scope_options.append(dict(scope_options[1], OptionId=6, Name="DNS Servers", Value=["192.0.2.53"],
                              UserClass="Default BOOTP Class"))  # fmt: skip
    result = WindowsDhcp(FakeRunner((0, json.dumps(document), ""))).read([scope("192.168.100.0/23")])
    settings, info = result["192.168.100.0/23"]["settings"], result["192.168.100.0/23"]["info"]
    assert settings["option_006"] == ["192.168.100.11"] and settings["option_015"] == ""
    assert info["sources"] == {"option_006": "the server level"}
    assert info["classes"] == {"option_006": [("user class Default BOOTP Class at the scope", ["192.0.2.53"])],
                               "option_015": [("policy AMT vPro at the server level", "azseblab.com")]}  # fmt: skip


def test_read_cmdlets_copy_inherited_counts_only_the_scope_level():
    runner = FakeRunner((0, sample("transcribed_cmdlets_read_real_values.json"), ""))
    result = WindowsDhcp(runner, copy_inherited=True).read([scope("192.168.100.0/23")])["192.168.100.0/23"]
    assert (result["settings"]["option_006"], result["settings"]["option_015"]) == ([], "")
    assert result["info"]["sources"] == {}


def test_read_cmdlets_server_level_failures_are_named():
    document = json.loads(sample("transcribed_cmdlets_read_real_values.json"))
    denied = {"cmdlet": "Get-DhcpServerv4OptionValue", "category": "PermissionDenied", "message": "Access is denied.",
              "id": "WIN32 5,Get-DhcpServerv4OptionValue"}  # fmt: skip
    document["server"] = {"errors": denied}  # a bare object: ConvertTo-Json's one-element array
    with pytest.raises(OobDhcpError, match=r"dhcp01: could not read the server level: Get-DhcpServerv4OptionValue "
                                           r"failed \(id WIN32 5") as err:  # fmt: skip
        WindowsDhcp(FakeRunner((0, json.dumps(document), "")), "dhcp01").read([scope("192.168.100.0/23")])
    assert err.value.kind == "read" and "DHCP Administrators" in str(err.value)
    del document["server"]
    with pytest.raises(OobDhcpError, match="no server-level option values") as err:
        WindowsDhcp(FakeRunner((0, json.dumps(document), ""))).read([scope("192.168.100.0/23")])
    assert err.value.kind == "protocol"


def test_read_script_reads_both_levels_with_their_classes():
    script = backend.read_script(["203.0.113.0"])
    assert "$r.server.options = @(Get-DhcpServerv4OptionValue -All -ErrorAction Stop | V)" in script
    assert "$s.options = @(Get-DhcpServerv4OptionValue -ScopeId $id -All -ErrorAction Stop | V)" in script
    assert "(X dhcp server show optionvalue)" in script  # netsh: the server level


def test_read_cmdlets_truncated_json_is_not_trusted():
    document = json.loads(sample("constructed_cmdlets_read_mixed.json"))
    document["scopes"]["203.0.113.0"]["options"][0]["Value"] = "System.Object[]"  # ConvertTo-Json past its depth
    with pytest.raises(OobDhcpError, match="cut short"):
        WindowsDhcp(FakeRunner((0, json.dumps(document), ""))).read([AMT])


@pytest.mark.parametrize(
    ("answer", "kind", "message"),
    [
        ((1, "", "Get-Command : access denied"), "read", "exit code 1"),
        ((0, "WARNING: something\r\nnot json", ""), "protocol", "no JSON"),
        ((0, '{"method": "wmi"}', ""), "protocol", "method 'wmi'"),
        (
            (0, netsh_document(sample("constructed_netsh_no_dhcp_context.txt"), "", {}), ""),
            "read",
            "not a Windows DHCP",
        ),
    ],
)
def test_read_failures(answer, kind, message):
    with pytest.raises(OobDhcpError, match=message) as err:
        WindowsDhcp(FakeRunner(answer)).read([AMT])
    assert err.value.kind == kind


def test_read_finds_the_json_after_other_output():
    noisy = "WARNING: the DhcpServer module loaded slowly\r\n" + sample("transcribed_cmdlets_read_real_values.json")
    assert WindowsDhcp(FakeRunner((0, noisy, ""))).read([scope("192.168.100.0/23")])["192.168.100.0/23"]["exists"]


def test_read_script_quotes_and_detects():
    script = backend.read_script(["203.0.113.0", "192.0.2.0"])
    assert script.startswith("$ids = @('203.0.113.0', '192.0.2.0')\n")
    assert "if (Get-Command Get-DhcpServerv4Scope -ErrorAction SilentlyContinue) {" in script
    assert "ConvertTo-Json -Depth 10 -Compress" in script
    assert "(X dhcp server show scope)" in script and "(X dhcp server scope $id show optionvalue)" in script
    assert script.count("{") == script.count("}") and script.count("(") == script.count(")")
    with pytest.raises(ValueError, match="IPv4"):
        backend.read_script(["203.0.113.0'; Remove-Item C:\\ -Recurse; '"])
    # the common case fits powershell -encodedcommand on a command line (pywinrm's run_ps)
    assert len(base64.b64encode(script.encode("utf-16-le"))) < 8000


# --- apply() ----------------------------------------------------------------------------------------------------------
def change(key, after, network="203.0.113.0/24", before=None):
    return {"network": network, "scope_id": network.split("/")[0], "key": key, "before": before, "after": after}


def script_lines(script: str) -> list[str]:
    return script.splitlines()


def ok(done: int):
    return (0, json.dumps({"done": done, "failed": None}), "")


def test_apply_cmdlets_one_script_in_a_safe_order():
    runner = FakeRunner((0, sample("constructed_cmdlets_read_mixed.json"), ""), ok(7))
    dhcp = WindowsDhcp(runner)
    dhcp.read([AMT, scope("192.0.2.0/24")])
    dhcp.apply([
        change("active", True, "192.0.2.0/24", before=False),
        change("ddns_update_older_clients", True, "192.0.2.0/24", before=False),
        change("ddns_dynamic_updates", "Always", "192.0.2.0/24", before="OnClientRequest"),
        change("option_015", "lab.example", "192.0.2.0/24", before=""),
        change("option_006", ["198.51.100.10", "198.51.100.11"], "192.0.2.0/24", before=[]),
        change("ddns_ptr_updates", True, before=False),
        change("option_006", ["198.51.100.10"], before=["198.51.100.10", "198.51.100.11"]),
    ])  # fmt: skip
    assert len(runner.scripts) == 2
    commands = [line for line in script_lines(runner.scripts[1]) if line.startswith("Set-")]
    assert commands == [
        "Set-DhcpServerv4OptionValue -ScopeId '192.0.2.0' -DnsServer '198.51.100.10', '198.51.100.11'",
        "Set-DhcpServerv4OptionValue -ScopeId '203.0.113.0' -DnsServer '198.51.100.10'",
        "Set-DhcpServerv4OptionValue -ScopeId '192.0.2.0' -DnsDomain 'lab.example'",
        "Set-DhcpServerv4DnsSetting -ScopeId '192.0.2.0' -DynamicUpdates 'Always' -UpdateDnsRRForOlderClients $true",
        "Set-DhcpServerv4DnsSetting -ScopeId '203.0.113.0' -DisableDnsPtrRRUpdate $false",
        "Set-DhcpServerv4Scope -ScopeId '192.0.2.0' -State 'Active'",
    ]
    lines = script_lines(runner.scripts[1])
    assert lines[0] == "$ErrorActionPreference = 'Stop'"
    assert "$step = '192.0.2.0/24 option_006'" in lines and lines.count("$done++") == 6


def test_apply_netsh_commands_keep_the_discard_flag():
    runner = FakeRunner((0, netsh_document(sample("constructed_netsh_show_scope_mixed.txt"),
                                           sample("constructed_netsh_server_optionvalue_empty.txt"),
                                           {"203.0.113.0": sample("netsh_scope_optionvalue_81_51_3.txt"),
                                            "192.0.2.0": sample("constructed_netsh_scope_optionvalue_192.0.2.0.txt")}),
                         ""), ok(6))  # fmt: skip
    dhcp = WindowsDhcp(runner)
    dhcp.read([AMT, scope("192.0.2.0/24")])
    dhcp.apply([
        change("option_006", ["198.51.100.10", "198.51.100.11"], before=[]),
        change("option_015", "lab.example", before=""),
        change("ddns_dynamic_updates", "Always", before="Never"),
        change("ddns_update_older_clients", True, before=False),
        change("ddns_dynamic_updates", "Always", "192.0.2.0/24", before="OnClientRequest"),
        change("active", True, "192.0.2.0/24", before=False),
    ])  # fmt: skip
    commands = [line for line in script_lines(runner.scripts[1]) if line.startswith("N dhcp")]
    assert commands == [
        "N dhcp server scope '203.0.113.0' set optionvalue 006 IPADDRESS '198.51.100.10' '198.51.100.11'",
        "N dhcp server scope '203.0.113.0' set optionvalue 015 STRING 'lab.example'",
        # 203.0.113.0 holds option 81 = 0 (no discard): Lookup stays 0; 192.0.2.0 has the default 5: Lookup 1
        "N dhcp server scope '203.0.113.0' set dnsconfig 1 1 0 1",
        "N dhcp server scope '192.0.2.0' set dnsconfig 1 1 1 0",
        "N dhcp server scope '192.0.2.0' set state 1",
    ]
    assert "if ($LASTEXITCODE -ne 0 -or $o -notmatch 'completed successfully') { throw $o.Trim() }" in (
        script_lines(runner.scripts[1])
    )


def test_apply_reports_the_failed_step():
    error = "Failed to set option value. 198.51.100.99 is not a valid DNS server."
    failed = (0, json.dumps({"done": 1, "failed": "203.0.113.0/24 option_006", "error": error}), "")
    runner = FakeRunner((0, sample("constructed_cmdlets_read_mixed.json"), ""), failed)
    dhcp = WindowsDhcp(runner, "dhcp01")
    dhcp.read([AMT])
    with pytest.raises(OobDhcpError) as err:
        dhcp.apply([change("option_006", ["198.51.100.99"]), change("option_015", "lab.example")])
    assert err.value.kind == "apply"
    assert "dhcp01: 203.0.113.0/24 option_006 failed" in str(err.value)
    assert "The 1 step(s) before it were made, none after it" in str(err.value)
    assert "answers DNS queries" in str(err.value)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ([change("option_015", "lab'example")], ValueError, "is not a valid DNS name"),
        ([change("option_015", "lab\u2019example")], ValueError, "is not a valid DNS name"),
        ([change("option_006", ["2001:db8::53"])], ValueError, "IPv4 only"),
        ([change("option_006", [])], ValueError, "non-empty"),
        ([change("ddns_update_older_clients", "yes")], ValueError, "true or false"),
        ([change("ddns_dynamic_updates", "always")], ValueError, "must be one of"),
        ([change("option_003", ["203.0.113.1"])], ValueError, "unknown setting"),
        ([dict(change("option_015", "lab.example"), scope_id="203.0.113.7")], ValueError, "subnet address"),
        ([change("exists", True)], OobDhcpError, "never creates a scope"),
        ([change("active", True, before=None)], OobDhcpError, "never creates a scope"),
        ([change("active", False, before=True)], OobDhcpError, "never deactivates"),
        ([change("option_015", "lab.example", "198.18.0.0/24")], OobDhcpError, "never creates a scope"),
    ],
)
def test_apply_refuses_before_running_anything(changes, error, message):
    runner = FakeRunner((0, sample("constructed_cmdlets_read_mixed.json"), ""))
    dhcp = WindowsDhcp(runner)
    dhcp.read([AMT, scope("198.18.0.0/24")])
    with pytest.raises(error, match=message):
        dhcp.apply(changes)
    assert len(runner.scripts) == 1  # only the read


def test_apply_nothing_runs_nothing_and_apply_before_read_detects_the_method():
    runner = FakeRunner((0, "cmdlets\r\n", ""), ok(1))
    dhcp = WindowsDhcp(runner)
    dhcp.apply([])
    assert runner.scripts == []
    dhcp.apply([change("option_015", "lab.example")])
    assert "Get-Command Get-DhcpServerv4Scope" in runner.scripts[0] and dhcp.method == "cmdlets"
    assert "Set-DhcpServerv4OptionValue -ScopeId '203.0.113.0' -DnsDomain 'lab.example'" in runner.scripts[1]
    netsh = WindowsDhcp(FakeRunner((0, "netsh", "")))
    with pytest.raises(OobDhcpError, match="read\\(\\) the scope before apply\\(\\)"):
        netsh.apply([change("ddns_dynamic_updates", "Always")])


def test_apply_script_failing_before_its_report():
    runner = FakeRunner((1, "", "At line:3 char:1 ParserError"))
    dhcp = WindowsDhcp(runner)
    dhcp.method = "cmdlets"
    with pytest.raises(OobDhcpError, match=r"\(exit code 1\) before reporting its steps: At line:3"):
        dhcp.apply([change("option_015", "lab.example")])


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("lab.example", "'lab.example'"),
        ("a'b", "'a''b'"),
        ("a\u2018b\u2019c", "'a\u2018\u2018b\u2019\u2019c'"),  # PowerShell also ends strings at typographic quotes
        ("$(Remove-Item C:\\)", "'$(Remove-Item C:\\)'"),  # no expansion inside single quotes
    ],
)
def test_ps_quote(value, quoted):
    assert ps_quote(value) == quoted


def test_ps_quote_refuses_control_characters():
    with pytest.raises(ValueError, match="control character"):
        ps_quote("lab.example\n; Remove-Item C:\\")


# --- winrm_runner -----------------------------------------------------------------------------------------------------
class FakeResponse:
    def __init__(self, rc=0, out=b"", err=b""):
        self.status_code, self.std_out, self.std_err = rc, out, err


class FakeProtocol:
    def __init__(self, log):
        self.log = log

    def open_shell(self, env_vars=None, **_kwargs):
        self.log.append(("open_shell", env_vars))
        return "shell-1"

    def run_command(self, shell_id, command, arguments=()):
        self.log.append(("run_command", shell_id, command, list(arguments)))
        return "command-1"

    def get_command_output(self, _shell_id, _command_id):
        return b'{"done":1,"failed":null}\r\n', b"", 0

    def cleanup_command(self, shell_id, command_id):
        self.log.append(("cleanup_command", shell_id, command_id))

    def close_shell(self, shell_id):
        self.log.append(("close_shell", shell_id))


@pytest.fixture()
def fake_session(monkeypatch):
    """winrm.Session replaced: records its arguments; run_ps answers or raises ``state['raise']``."""
    state = {"created": [], "scripts": [], "log": [], "raise": None, "raise_on_create": None}

    class Session:
        def __init__(self, target, auth, **kwargs):
            if state["raise_on_create"] is not None:
                raise state["raise_on_create"]
            state["created"].append((target, auth, kwargs))
            self.protocol = FakeProtocol(state["log"])

        def run_ps(self, script):
            if state["raise"] is not None:
                raise state["raise"]
            state["scripts"].append(script)
            return FakeResponse(0, b'{"ok":true}\r\n', b"")

        @staticmethod
        def _clean_error_msg(message):
            return message

    monkeypatch.setattr(winrm, "Session", Session)
    return state


def test_winrm_runner_validates_certificates_by_default(fake_session, tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n")
    run = winrm_runner("dhcp01.lab.example", transport="kerberos", ca_file=str(ca_file))
    assert run("Write-Output 1") == (0, '{"ok":true}\r\n', "")
    target, auth, kwargs = fake_session["created"][0]
    assert target == "https://dhcp01.lab.example:5986/wsman" and auth == (None, None)  # Kerberos: the ticket cache
    assert kwargs == {"transport": "kerberos", "server_cert_validation": "validate", "ca_trust_path": str(ca_file),
                      "read_timeout_sec": 30, "operation_timeout_sec": 20}  # fmt: skip
    assert fake_session["scripts"] == ["Write-Output 1"]


def test_winrm_runner_ignores_certificates_only_when_told(fake_session):
    winrm_runner("198.51.100.11", 5986, transport="ntlm", username="LAB\\svc", password="s3cret",
                 ca_file="/nonexistent", validate_certs=False, timeout=10)  # fmt: skip
    _target, auth, kwargs = fake_session["created"][0]
    assert auth == ("LAB\\svc", "s3cret")
    assert kwargs["server_cert_validation"] == "ignore" and "ca_trust_path" not in kwargs
    assert (kwargs["read_timeout_sec"], kwargs["operation_timeout_sec"]) == (10, 8)


def test_winrm_runner_long_scripts_travel_in_the_environment(fake_session):
    run = winrm_runner("dhcp01.lab.example")
    script = "# " + "x" * 5000 + "\nWrite-Output 1"
    assert run(script) == (0, '{"done":1,"failed":null}\r\n', "")
    assert fake_session["scripts"] == []  # not run_ps: it would not fit a command line
    log = fake_session["log"]
    assert log[0] == ("open_shell", {"OOB_PREP_SCRIPT": script})
    _kind, _shell, command, arguments = log[1]
    assert command == "powershell" and arguments[:3] == ["-NoProfile", "-NonInteractive", "-EncodedCommand"]
    assert base64.b64decode(arguments[3]).decode("utf-16-le") == "& ([ScriptBlock]::Create($env:OOB_PREP_SCRIPT))"
    assert log[-1] == ("close_shell", "shell-1")


@pytest.mark.parametrize(
    ("exception", "kind", "message"),
    [
        (
            requests.exceptions.SSLError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"
            ),
            "tls",
            "give ca_file",
        ),  # fmt: skip
        (
            requests.exceptions.SSLError("hostname '198.51.100.11' doesn't match 'dhcp01.lab.example'"),
            "tls",
            "name in the listener's certificate",
        ),
        (
            requests.exceptions.ConnectionError(
                "HTTPSConnectionPool(host='dhcp01', port=5986): Max retries exceeded ([Errno 111] Connection refused)"
            ),
            "connect",
            "winrm quickconfig",
        ),  # fmt: skip
        (
            requests.exceptions.ConnectionError("Failed to resolve 'dhcp01' ([Errno -2] Name or service not known)"),
            "connect",
            "cannot resolve the host name",
        ),
        (
            requests.exceptions.ConnectTimeout("Connection to dhcp01 timed out. (connect timeout=30)"),
            "timeout",
            "did not answer in time",
        ),  # a ConnectionError too: the timeout wins
        (requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"), "timeout", "port 5986"),
        (winrm.exceptions.WinRMOperationTimeoutError(), "timeout", "did not answer in time"),
        (
            winrm.exceptions.InvalidCredentialsError("the specified credentials were rejected by the server"),
            "auth",
            "HTTP 401\\): run kinit",
        ),
        (
            KerberosExchangeError(
                "authGSSClientStep() failed: (('Unspecified GSS failure', 851968), ('Server not found "
                "in Kerberos database', -1765328377))"
            ),
            "auth",
            "SPN is HTTP/<name>",
        ),  # fmt: skip
        (
            winrm.exceptions.WinRMTransportError("http", 500, "<html>Internal Server Error</html>"),
            "protocol",
            "HTTP 500",
        ),
        (
            winrm.exceptions.WSManFaultError(
                500, "Bad HTTP response", "<xml/>", "Access is denied.", wsman_fault_code=5
            ),
            "auth",
            "Remote Management Users",
        ),
        (
            winrm.exceptions.WinRMError("requested auth method is kerberos, but pykerberos is not installed"),
            "dependency",
            "pywinrm\\[kerberos\\]",
        ),
        (RuntimeError("boom"), "protocol", "RuntimeError: boom"),
    ],
)
def test_winrm_errors_say_what_to_do(fake_session, exception, kind, message):
    fake_session["raise"] = exception
    run = winrm_runner("dhcp01.lab.example")
    with pytest.raises(OobDhcpError, match=message) as err:
        run("Write-Output 1")
    assert err.value.kind == kind


def test_winrm_errors_when_the_session_is_built(fake_session):
    fake_session["raise_on_create"] = winrm.exceptions.WinRMError(
        "requests auth method is credssp, but requests-credssp is not installed"
    )
    with pytest.raises(OobDhcpError, match="pywinrm\\[credssp\\]") as err:
        winrm_runner("dhcp01.lab.example", transport="credssp", username="LAB\\svc", password="pw")
    assert err.value.kind == "dependency"


def test_winrm_errors_never_show_the_password(fake_session):
    fake_session["raise"] = requests.exceptions.ConnectionError("proxy said: bad request for user svc:Tr0ub4dor&3")
    run = winrm_runner("dhcp01.lab.example", transport="ntlm", username="LAB\\svc", password="Tr0ub4dor&3")
    with pytest.raises(OobDhcpError) as err:
        run("Write-Output 1")
    assert "Tr0ub4dor&3" not in str(err.value) and "********" in str(err.value)


@pytest.mark.parametrize(
    ("arguments", "kind", "message"),
    [
        ({"transport": "basic"}, "usage", "transport must be one of kerberos, ntlm, credssp"),
        ({"transport": "ntlm"}, "usage", "needs username and password"),
        ({"ca_file": "/nonexistent/ca.pem"}, "tls", "does not exist"),
        ({"timeout": 2}, "usage", "5 or more"),
        ({"port": 0}, "usage", "not a TCP port"),
    ],
)
def test_winrm_runner_refuses_bad_arguments(fake_session, arguments, kind, message):
    with pytest.raises(OobDhcpError, match=message) as err:
        winrm_runner("dhcp01.lab.example", **arguments)
    assert err.value.kind == kind and fake_session["created"] == []


def test_winrm_runner_without_pywinrm(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "winrm", None)  # import winrm raises ImportError
    with pytest.raises(OobDhcpError, match=r"pip install 'pywinrm\[kerberos\]'") as err:
        winrm_runner("dhcp01.lab.example")
    assert err.value.kind == "dependency"
