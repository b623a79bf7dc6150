"""The estate's validation and normalisation (module_utils/estate/spec.py), without Ansible's executor.

The spec is the one in roles/oob_estate/meta/argument_specs.yml; the expected defaults below are written out from it
(and from what the roles got before the spec filled them), not taken from the code under test.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from ansible_collections.oob.prep.plugins.module_utils.estate import spec

ROOT = Path(__file__).resolve().parents[5]
OPTIONS = spec.spec_options(yaml.safe_load((ROOT / spec.SPEC_FILE).read_text()))
PEM = "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"

MINIMAL = {
    "oob_forest": {"dns_name": "corp.example.com", "servers": ["dc01.corp.example.com"]},
    "oob_domains": [{"dns_name": "corp.example.com", "servers": ["dc01.corp.example.com"]}],
    "oob_amt_container": {"path": ["AMT Computers"]},
    "oob_ldap": {"auth": "kerberos"},
    "oob_site_server": {"computer_account": "SCCM01$"},
    "oob_service_point": {"fqdn": "oobsp.corp.example.com", "ipv4": "192.0.2.20", "computer_account": "OOBSP$"},
    "oob_enterprise_ca": {"name": "CORP-CA", "host": "ca01.corp.example.com"},
}
GROUPS = {"all": ["localhost"], "ungrouped": ["localhost"]}


def check(values, names=None, groups=None, roles=None, files=None):
    files = files or {}
    return spec.check_estate(OPTIONS, values, variable_names=names, groups=groups if groups is not None else GROUPS,
                             roles_of=(roles or {}).get, path_exists=files.__contains__,
                             read_text=files.__getitem__)  # fmt: skip


def changed(**edits):
    values = copy.deepcopy(MINIMAL)
    for dotted, value in edits.items():
        node, *path = dotted.split("__")
        if not path:
            values[node] = value
            continue
        target = values.setdefault(node, {})
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return values


def test_a_minimal_estate_gets_every_default_the_roles_used_to_get_from_jinja():
    problems, facts = check(MINIMAL)
    assert problems == []
    assert facts["oob_estate_amt_templates"] == {
        "web_server": {"name": "ConfigMgrAMTWebServerCertificate",
                       "display_name": "ConfigMgr AMT Web Server Certificate"},
        "provisioning": {"name": "ConfigMgrAMTProvisioning", "display_name": "ConfigMgr AMT Provisioning",
                         "subject": "from_ad"},
    }  # fmt: skip
    assert facts["oob_estate_dns"] == {
        "backend": "rfc2136", "record_name": "ProvisionServer", "record_type": "CNAME", "ttl": 3600,
        "replace_conflicts": False, "server": "dc01.corp.example.com", "suffix_servers": {}, "auth": "gss-tsig",
        "bind_user": "", "bind_password": "", "tsig": {"algorithm": "hmac-sha256"}, "krb5_config": "",
        "windows_server": "",
    }  # fmt: skip
    assert facts["oob_estate_amt_discovery"] == {"run_on": "", "username": "admin", "password": "",
                                                 "wsman_port": 16993, "ca_file": ""}  # fmt: skip
    assert facts["oob_estate_network"] == {
        "scope": "ports", "deny": "drop", "server_subnets": [], "dhcp_servers": [], "dhcp_relays": [],
        "formats": ["nftables", "iptables", "ios", "panos"], "dot1x_on_amt_ports": False, "amt_addresses": [],
    }  # fmt: skip
    dhcp = facts["oob_estate_dhcp"]
    assert (dhcp["backend"], dhcp["run_on"]) == ("kea", "")
    assert dhcp["kea"] == {"validate_certs": True, "timeout": 10.0}
    assert dhcp["tsig"] == {"algorithm": "hmac-sha256"}
    assert dhcp["windows"] == {"port": 5986, "transport": "kerberos", "validate_certs": True, "timeout": 30}
    assert facts["oob_estate_amt_container"] == {"path": ["AMT Computers"], "object_class": "organizationalUnit",
                                                 "create_parents": False, "protect_from_deletion": True}  # fmt: skip
    assert facts["oob_estate_reports"] == {"keep": 30}
    assert facts["oob_estate_amt_suffixes"] == []
    assert facts["oob_estate_site_domain"] == {"dns_name": "corp.example.com", "servers": ["dc01.corp.example.com"]}
    assert facts["oob_estate_checked"] is True


def test_given_values_win_and_derived_values_come_from_the_estate():
    values = changed(oob_dns__ttl=600, oob_dns__server={"host": "ns1", "port": 5353},
                     oob_amt_templates={"web_server": {"name": "OurWeb"}},
                     oob_site_server__domain="Child.Corp.example.com",
                     oob_amt_subnets=[{"network": "10.1.0.0/24", "domain_name": "AMT.corp.example.com"},
                                      {"network": "10.2.0.0/24", "domain_name": "amt.corp.example.com"},
                                      {"network": "10.3.0.0/24"}],
                     oob_dhcp__kea={"url": "https://dhcp:8000/"})  # fmt: skip
    values["oob_domains"].append({"dns_name": "child.corp.example.com", "servers": ["dc02"], "base_dn": "DC=child"})
    problems, facts = check(values)
    assert problems == []
    assert facts["oob_estate_dns"]["ttl"] == 600 and facts["oob_estate_dns"]["server"] == {"host": "ns1", "port": 5353}
    assert facts["oob_estate_amt_templates"]["web_server"] == {
        "name": "OurWeb",
        "display_name": "ConfigMgr AMT Web Server Certificate",
    }
    assert facts["oob_estate_amt_suffixes"] == ["amt.corp.example.com"]
    assert facts["oob_estate_site_domain"] == {"dns_name": "child.corp.example.com", "servers": ["dc02"],
                                               "base_dn": "DC=child"}  # fmt: skip


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({k: v for k, v in MINIMAL.items() if k != "oob_forest"}, "missing required arguments: oob_forest"),
        (changed(oob_ldap__tls="ssl"),
         "value of tls must be one of: ldaps, starttls, none, got: ssl found in oob_ldap"),
        (changed(oob_dns__ttl="soon"), "oob_dns"),
        (changed(oob_domains=[]), "oob_domains lists no domain: list every domain that holds AMT computers"),
        (changed(oob_domains=[{"dns_name": "a.example", "servers": ["x"]},
                              {"dns_name": "A.example", "servers": ["y"]}]),
         "oob_domains lists a domain twice: a.example, a.example"),
        (changed(oob_forest__servers=[]), "oob_forest.servers lists no DC"),
        (changed(oob_site_server__domain="elsewhere.example"),
         "oob_site_server.domain elsewhere.example is neither oob_forest.dns_name (corp.example.com) nor one of "
         "oob_domains (corp.example.com)"),
        (changed(oob_ldap={"auth": "simple", "bind_user": "admin@corp"}),
         "oob_ldap.auth is simple, so oob_ldap.bind_user and oob_ldap.bind_password are needed (or use kerberos)"),
        (changed(oob_ldap__tls="none"),
         "oob_ldap.tls is none, which sends LDAP in clear text: set oob_ldap.allow_plain"),
        (changed(oob_ldap__ca_file="/nonexistent/ca.pem"), "oob_ldap.ca_file /nonexistent/ca.pem does not exist"),
        (changed(oob_ldap__ca_file="/etc/not-a-pem"),
         "oob_ldap.ca_file /etc/not-a-pem holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        (changed(oob_amt_container__path=["A" * 65]),
         f'oob_amt_container.path: "{"A" * 65}" is not a name AD accepts for an OU or container'),
        (changed(oob_amt_container__path=[" AMT"]), 'oob_amt_container.path: " AMT" is not a name AD accepts'),
        (changed(oob_amt_container__path=[]), "oob_amt_container.path is empty: name the container"),
        (changed(oob_service_point__ipv4="2001:db8::20"),
         "oob_service_point.ipv4 2001:db8::20 is an IPv6 address: out of band management is IPv4 only"),
        (changed(oob_dns__backend="windows"),
         "oob_dns.backend is windows, so oob_dns.windows_server must name the Windows DNS server"),
        (changed(oob_amt_subnets=[{"network": "10.1.0.0/24"}], oob_dhcp__kea={"url": "https://k/"},
                 oob_dhcp_probe_hosts=[{"host": "p", "network": "10.9.0.0/24"}]),
         "oob_dhcp_probe_hosts: network 10.9.0.0/24 is not one of oob_amt_subnets"),
        (changed(oob_amt_subnets=[{"network": "10.1.0.0/24"}], oob_dhcp__kea={"url": "https://k/"},
                 oob_amt_path_probe_hosts=[{"host": "p", "network": "10.9.0.0/24"}]),
         "oob_amt_path_probe_hosts: network 10.9.0.0/24 is not one of oob_amt_subnets"),
        (changed(oob_dhcp__backend="windows"),
         "oob_dhcp.backend is windows, so oob_dhcp.windows.host must name the Windows DHCP server"),
        (changed(oob_amt_subnets=[{"network": "10.1.0.0/24"}]),
         "oob_dhcp.backend is kea, so oob_dhcp.kea needs control_socket (kea-dhcp4) or url (kea-ctrl-agent)"),
    ],
)  # fmt: skip
def test_each_problem_is_named(values, message):
    problems, facts = check(values, files={"/etc/not-a-pem": "hello"})
    assert facts == {}
    assert any(message in problem for problem in problems), problems


def test_a_ca_file_that_exists_and_holds_a_pem_passes():
    assert check(changed(oob_ldap__ca_file="/ca.pem"), files={"/ca.pem": PEM})[0] == []


def test_every_problem_is_reported_together_and_nothing_crashes_on_wrong_types():
    values = changed(oob_ldap="not a dict", oob_domains="nope", oob_amt_container__path=[], oob_dns__backend="windows")
    values.pop("oob_enterprise_ca")
    problems, _ = check(values, names=["oob_amt_container_path"])
    text = "\n".join(problems)
    for part in (
        "oob_ldap",
        "oob_domains",
        "missing required arguments: oob_enterprise_ca",
        "oob_amt_container.path is empty",
        "oob_dns.windows_server",
        "unknown variable oob_amt_container_path",
    ):
        assert part in text, text  # fmt: skip


def test_unknown_and_role_variables_are_named():
    names = [*MINIMAL, "oob_amt_container_path", "oob_dns_ttl", "oob_report_keep", "oob_dhcp_probe_hosts",
             "oob_windows_roles", "oob_verify_outcome_file", "oob_estate_dns", "ansible_host",
             "lab_state_dir"]  # fmt: skip
    problems, _ = check(MINIMAL, names=names)
    assert problems[0].startswith("role variable(s) oob_dns_ttl, oob_report_keep are set in the inventory or as extra")
    assert problems[1].startswith("unknown variable oob_amt_container_path (did you mean oob_amt_container?): the "
                                  "estate has no such key")  # fmt: skip
    assert problems[2].startswith("unknown variable oob_estate_dns")
    assert len(problems) == 3


def test_names_are_not_checked_when_not_given():
    assert check(MINIMAL, names=None)[0] == []


def test_passwords_and_secrets_are_masked_in_every_message():
    values = changed(oob_ldap={"auth": "simple", "bind_user": "u", "bind_password": ["s3cret-ldap"]},
                     oob_dns__tsig={"name": "k", "secret": "s3cret-tsig"}, oob_dns__ttl="s3cret-tsig",
                     oob_amt_discovery={"password": "s3cret-amt", "wsman_port": "s3cret-amt"})  # fmt: skip
    problems, _ = check(values)
    text = "\n".join(problems)
    assert problems and "s3cret" not in text, text
    assert spec.MASK in text


def test_the_inventory_is_checked_against_the_estates_windows_hosts():
    values = changed(oob_service_point__windows=True)
    problems, _ = check(values)
    assert any(p.startswith("oobsp.corp.example.com (oob_service_point.fqdn, marked windows in the estate) is not an "
                            "inventory host") for p in problems), problems  # fmt: skip
    groups = {"all": ["localhost", "oobsp.corp.example.com"], "oob_service_points": ["oobsp.corp.example.com"],
              "oob_windows": ["oobsp.corp.example.com"]}  # fmt: skip
    assert check(values, groups=groups, roles={"oobsp.corp.example.com": ["service_point"]})[0] == []
    stray = {**GROUPS, "oob_consoles": ["pc1"]}
    assert (
        "pc1 is in group oob_consoles of the inventory, but the estate does not put it there"
        in check(MINIMAL, groups=stray)[0][0]
    )


def test_the_spec_is_read_from_argument_specs_main():
    with pytest.raises(ValueError, match="argument_specs.main.options"):
        spec.spec_options({"argument_specs": {}})
