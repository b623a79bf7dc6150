"""The oob_estate inventory plugin's parse() on a temporary estate: hosts, groups, host vars, vaulted values, errors;
and the check the role oob_estate runs with the same code (the filter oob_estate_inventory_problems)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret, VaultSecretsContext
from ansible.plugins.loader import inventory_loader
from ansible_collections.oob.prep.plugins.module_utils.estate.hosts import estate_hosts, inventory_problems

ROOT = Path(__file__).resolve().parents[4]
inventory_loader.add_directory(str(ROOT / "plugins" / "inventory"))
sys.path.insert(0, str(ROOT / "plugins" / "filter"))

from oob_estate import oob_estate_inventory_problems  # noqa: E402

ESTATE = """\
oob_service_point: {fqdn: sccm01.corp.example.com, ipv4: 192.0.2.10, computer_account: SCCM01$, windows: true}
oob_consoles:
  - {fqdn: admin-ws01.corp.example.com, ipv4: 192.0.2.50, windows: true}
  - {fqdn: xp01.corp.example.com, windows: true, legacy_os: true}
  - {fqdn: linux-ws.corp.example.com, windows: false}
  - {fqdn: nowin.corp.example.com}
oob_enterprise_ca: {name: CORP-CA, host: ca01.corp.example.com, windows: true}
oob_dns: {backend: windows, windows_server: dns01.corp.example.com}
oob_ldap:
  auth: simple
  bind_password: "{{ vault_oob_ldap_bind_password }}"
"""
SECRET = b"oob-estate-unit-test"


def vaulted(plaintext: str) -> str:
    """A !vault value (vault id 'test') for a mapping value whose key is indented at most 6 spaces."""
    ciphertext = VaultLib().encrypt(plaintext, VaultSecret(SECRET), "test").decode()
    return "!vault |\n" + textwrap.indent(ciphertext, " " * 8)


def inventory(tmp_path: Path, estate: str, source: str = "plugin: oob_estate\n", estate_at="group_vars/all/estate.yml"):
    path = tmp_path / estate_at
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(estate)
    (tmp_path / "estate.oob_estate.yml").write_text(source)
    return InventoryManager(loader=DataLoader(), sources=[str(tmp_path / "estate.oob_estate.yml")])


def parse(tmp_path: Path, estate: str, source: str = "plugin: oob_estate\n"):
    """The plugin's parse() itself (InventoryManager turns a parse error into a warning)."""
    path = tmp_path / "group_vars" / "all" / "estate.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(estate)
    (tmp_path / "estate.oob_estate.yml").write_text(source)
    inv = InventoryManager(loader=DataLoader(), sources=[])
    inventory_loader.get("oob_estate").parse(inv._inventory, DataLoader(), str(tmp_path / "estate.oob_estate.yml"))
    inv._inventory.reconcile_inventory()
    return inv


def members(inv, group: str) -> list[str]:
    return [h.name for h in inv.groups[group].get_hosts()]


def test_hosts_groups_and_vars(tmp_path):
    inv = inventory(tmp_path, ESTATE)
    assert sorted(h.name for h in inv.get_hosts()) == [
        "admin-ws01.corp.example.com", "ca01.corp.example.com", "dns01.corp.example.com", "sccm01.corp.example.com",
        "xp01.corp.example.com",
    ]  # fmt: skip
    assert members(inv, "oob_service_points") == ["sccm01.corp.example.com"]
    assert members(inv, "oob_consoles") == ["admin-ws01.corp.example.com"]
    assert members(inv, "oob_certification_authorities") == ["ca01.corp.example.com"]
    assert members(inv, "oob_dns_servers") == ["dns01.corp.example.com"]
    assert members(inv, "oob_windows_legacy") == ["xp01.corp.example.com"]  # legacy: no other group
    assert sorted(members(inv, "oob_windows")) == [
        "admin-ws01.corp.example.com", "ca01.corp.example.com", "dns01.corp.example.com", "sccm01.corp.example.com",
    ]  # fmt: skip
    sp = inv.get_host("sccm01.corp.example.com").get_vars()
    assert sp["ansible_host"] == "sccm01.corp.example.com"
    assert sp["oob_windows_roles"] == ["service_point"]
    assert inv.get_host("xp01.corp.example.com").get_vars()["oob_windows_roles"] == ["console"]
    assert inv.get_host("ca01.corp.example.com").get_vars()["oob_windows_roles"] == []
    assert [h.name for h in inv.get_hosts("sccm01.corp.example.com")] == ["sccm01.corp.example.com"]  # --limit


def test_no_windows_host_declares_the_groups_only(tmp_path):
    inv = inventory(tmp_path, "oob_service_point: {fqdn: sp.lab.example, windows: false}\noob_consoles: []\n")
    assert inv.get_hosts() == []
    for group in ("oob_windows", "oob_windows_legacy", "oob_service_points", "oob_consoles"):
        assert members(inv, group) == []


def test_a_host_named_twice_is_one_host_with_both_groups_and_roles(tmp_path):
    estate = ("oob_service_point: {fqdn: sccm01.corp.example.com, windows: true}\n"
              "oob_consoles: [{fqdn: SCCM01.corp.example.com, windows: true}]\n")  # fmt: skip
    inv = inventory(tmp_path, estate)
    assert [h.name for h in inv.get_hosts()] == ["sccm01.corp.example.com"]
    assert members(inv, "oob_consoles") == ["sccm01.corp.example.com"]
    assert inv.get_host("sccm01.corp.example.com").get_vars()["oob_windows_roles"] == ["service_point", "console"]


def test_estate_option_and_constructed_groups(tmp_path):
    source = ("plugin: oob_estate\nestate: elsewhere/estate.yml\n"
              "keyed_groups:\n  - key: oob_windows_roles\n    prefix: role\n")  # fmt: skip
    inv = inventory(tmp_path, ESTATE, source, estate_at="elsewhere/estate.yml")
    assert members(inv, "role_service_point") == ["sccm01.corp.example.com"]


def test_vaulted_values_need_no_password_unless_a_host_name_is_vaulted(tmp_path, monkeypatch):
    monkeypatch.setattr(VaultSecretsContext, "_current", None)  # as ansible-inventory without --vault-id
    other = ESTATE + f"oob_dhcp:\n  kea:\n    password: {vaulted('kea-secret')}\n"
    assert len(parse(tmp_path, other).get_hosts()) == 5  # a vaulted value the hosts do not need
    console = "oob_consoles:\n  - {fqdn: admin-ws01.corp.example.com, ipv4: 192.0.2.50, windows: true}"
    vaulted_name = vaulted("admin-ws01.corp.example.com")
    name = ESTATE.replace(console, "oob_consoles:\n  - windows: true\n    fqdn: " + vaulted_name)
    with pytest.raises(AnsibleError, match=r"oob_consoles\[0\]\.fqdn is vaulted and could not be decrypted"):
        parse(tmp_path, name)
    monkeypatch.setattr(VaultSecretsContext, "_current", VaultSecretsContext([("test", VaultSecret(SECRET))]))
    inv = parse(tmp_path, name)  # with the vault password (--vault-id), the vaulted name opens
    assert "admin-ws01.corp.example.com" in members(inv, "oob_consoles")


@pytest.mark.parametrize(
    ("estate", "message"),
    [
        ("oob_service_point: {fqdn: '{{ sp_name }}', windows: true}\n", r"oob_service_point.fqdn is a template"),
        ("oob_service_point: {windows: true}\n", r"oob_service_point.fqdn is None: a host marked windows needs"),
        ("oob_enterprise_ca: {host: ca 01, windows: true}\n", r"oob_enterprise_ca.host 'ca 01' holds a space"),
        ("oob_consoles: [{fqdn: a.example, windows: maybe}]\n", r"oob_consoles\[0\].windows is 'maybe'"),
        ("oob_service_point: {fqdn: a.example, windows: true}\n"
         "oob_consoles: [{fqdn: a.example, windows: true, legacy_os: true}]\n", r"legacy \(NT 5.x\) everywhere"),
        ("- not a mapping\n", r"holds no variables"),
    ],
)  # fmt: skip
def test_bad_estate_is_a_parser_error_naming_the_variable(tmp_path, estate, message):
    with pytest.raises(AnsibleError, match=message):
        parse(tmp_path, estate)


def test_missing_estate_file_is_a_parser_error(tmp_path):
    (tmp_path / "estate.oob_estate.yml").write_text("plugin: oob_estate\n")
    with pytest.raises(AnsibleError, match="does not exist"):
        inventory_loader.get("oob_estate").parse(
            InventoryManager(loader=DataLoader(), sources=[])._inventory, DataLoader(),
            str(tmp_path / "estate.oob_estate.yml"),
        )  # fmt: skip


def test_file_name_must_end_in_oob_estate_yml(tmp_path):
    plugin = inventory_loader.get("oob_estate")
    for name, ok in (("estate.oob_estate.yml", True), ("x.oob_estate.yaml", True), ("estate.yml", False)):
        (tmp_path / name).write_text("plugin: oob_estate\n")
        assert plugin.verify_file(str(tmp_path / name)) is ok


# --- the role's check: inventory and estate agree, or a message names the host -----------------------------------


def inventory_view(inv) -> tuple[dict, dict]:
    groups = {name: [h.name for h in group.get_hosts()] for name, group in inv.groups.items()}
    hostvars = {h.name: h.get_vars() for h in inv.get_hosts()}
    return groups, hostvars


def problems(estate: dict, groups: dict, hostvars: dict) -> list[str]:
    return oob_estate_inventory_problems(estate, groups, hostvars)


def test_the_plugins_inventory_agrees_with_the_estate(tmp_path):
    inv = inventory(tmp_path, ESTATE)
    assert problems(yaml.safe_load(ESTATE), *inventory_view(inv)) == []


def test_a_missing_source_or_host_added_by_hand_is_named(tmp_path):
    estate = yaml.safe_load(ESTATE)
    found = problems(estate, {"all": ["localhost"], "oob_windows": [], "oob_consoles": []}, {})
    assert len(found) == 5
    assert any(p.startswith("sccm01.corp.example.com (oob_service_point.fqdn, marked windows in the estate) is not an "
                            "inventory host: the inventory source estate.oob_estate.yml") for p in found)  # fmt: skip
    groups, hostvars = inventory_view(inventory(tmp_path, ESTATE))
    groups["oob_consoles"] = [*groups["oob_consoles"], "hand.corp.example.com"]
    groups["oob_windows"] = [g for g in groups["oob_windows"] if g != "ca01.corp.example.com"]
    hostvars["sccm01.corp.example.com"] = {"oob_windows_roles": ["console"]}
    found = problems(estate, groups, hostvars)
    assert sorted(found) == sorted([
        "ca01.corp.example.com (oob_enterprise_ca.host) is not in group oob_windows of the inventory",
        "sccm01.corp.example.com has oob_windows_roles ['console'] in the inventory, the estate says ['service_point']:"
        " set no oob_windows_roles of your own",
        "hand.corp.example.com is in group oob_consoles of the inventory, but the estate does not put it there: "
        "describe the host in the estate (group_vars/all/estate.yml, windows: true), not in hosts.yml",
    ])  # fmt: skip


def test_estate_hosts_skips_what_the_specs_report():
    # missing or mistyped variables are the argument specs' to name; the hosts are built from what is there
    assert estate_hosts({"oob_service_point": "x", "oob_consoles": {"a": 1}, "oob_dns": {"backend": "rfc2136"}}) == {}
    assert inventory_problems({}, {"all": []}, {}) == []
