"""The oob_amt inventory plugin's parse() with a fake discovery: hosts, host vars, groups, and the cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

ROOT = Path(__file__).resolve().parents[4]
inventory_loader.add_directory(str(ROOT / "plugins" / "inventory"))

DEVICES = [
    {"address": "203.0.113.11", "ports": [16992, 16993], "amt": True, "server": "AMT", "version": "12.0.67",
     "version_source": "wsman", "support_class": "native", "fqdn": "pc1.lab.example", "provisioning_state": "post",
     "provisioning_mode": "enterprise", "power_state": "on", "tls": {"subject": "CN=pc1.lab.example"}, "error": None},
    {"address": "203.0.113.12", "ports": [16992], "amt": True, "server": "Intel(R) Active Management Technology 3.2.0",
     "version": "3.2.0", "version_source": "header", "support_class": "translator", "fqdn": None,
     "provisioning_state": None, "provisioning_mode": None, "power_state": None, "tls": None, "error": None},
    {"address": "203.0.113.13", "ports": [16992, 16993], "amt": False, "server": None, "version": None,
     "version_source": None, "support_class": "unknown", "fqdn": None, "provisioning_state": None,
     "provisioning_mode": None, "power_state": None, "tls": None,
     "error": "no complete answer within host_timeout=30 s"},
]  # fmt: skip


@pytest.fixture()
def fake_discovery(monkeypatch):
    cls = inventory_loader.get("oob_amt", class_only=True)
    calls = []

    def fake(options):
        calls.append(options)
        return {"devices": [dict(d) for d in DEVICES], "summary": {}, "scanned": 254, "elapsed_s": 0.1}

    monkeypatch.setattr(cls, "discover", staticmethod(fake))
    return calls


def _inventory(tmp_path: Path, extra: str = "", name: str = "amt.oob_amt.yml") -> InventoryManager:
    path = tmp_path / name
    path.write_text(f"plugin: oob_amt\ntargets: [203.0.113.0/24]\nusername: admin\npassword: secret\n{extra}")
    return InventoryManager(loader=DataLoader(), sources=[str(path)])


def test_hosts_groups_and_vars(tmp_path, fake_discovery):
    inv = _inventory(tmp_path, "keyed_groups:\n  - key: amt_power_state\n    prefix: amt_power\n")
    assert sorted(h.name for h in inv.get_hosts()) == ["203.0.113.12", "203.0.113.13", "pc1.lab.example"]
    pc1 = inv.get_host("pc1.lab.example")
    v = pc1.get_vars()
    assert v["ansible_host"] == "203.0.113.11"
    assert v["amt_version"] == "12.0.67"
    assert v["amt_support_class"] == "native"
    assert v["amt_provisioning_state"] == "post"
    assert v["amt_ports"] == [16992, 16993]
    groups = inv.groups
    assert [h.name for h in groups["amt_support_native"].get_hosts()] == ["pc1.lab.example"]
    assert [h.name for h in groups["amt_support_translator"].get_hosts()] == ["203.0.113.12"]
    assert [h.name for h in groups["amt_support_unknown"].get_hosts()] == ["203.0.113.13"]
    assert [h.name for h in groups["amt_major_12"].get_hosts()] == ["pc1.lab.example"]
    assert [h.name for h in groups["amt_major_3"].get_hosts()] == ["203.0.113.12"]
    assert [h.name for h in groups["amt_state_post"].get_hosts()] == ["pc1.lab.example"]
    assert [h.name for h in groups["amt_errors"].get_hosts()] == ["203.0.113.13"]
    assert [h.name for h in groups["amt_power_on"].get_hosts()] == ["pc1.lab.example"]
    assert fake_discovery[0]["targets"] == ["203.0.113.0/24"]
    assert fake_discovery[0]["password"] == "secret"
    assert fake_discovery[0]["ports"] == [16992, 16993]


def test_cache_used_on_second_parse(tmp_path, fake_discovery):
    cache = tmp_path / "cache"
    extra = f"cache: true\ncache_plugin: jsonfile\ncache_connection: {cache}\ncache_timeout: 3600\n"
    first = _inventory(tmp_path, extra)
    assert len(fake_discovery) == 1
    files = list(cache.iterdir())
    assert len(files) == 1
    assert "secret" not in files[0].read_text()  # the cache holds devices, not credentials
    second = _inventory(tmp_path, extra)
    assert len(fake_discovery) == 1  # served from the cache
    assert sorted(h.name for h in second.get_hosts()) == sorted(h.name for h in first.get_hosts())
    assert second.get_host("pc1.lab.example").get_vars()["amt_version"] == "12.0.67"


def test_file_name_must_end_in_oob_amt_yml(tmp_path):
    plugin = inventory_loader.get("oob_amt")
    for name, ok in (("amt.oob_amt.yml", True), ("x.oob_amt.yaml", True), ("amt.yml", False)):
        (tmp_path / name).write_text("plugin: oob_amt\n")
        assert plugin.verify_file(str(tmp_path / name)) is ok


def test_bad_targets_are_a_parser_error(tmp_path):
    path = tmp_path / "bad.oob_amt.yml"
    path.write_text("plugin: oob_amt\ntargets: ['2001:db8::/64']\n")
    plugin = inventory_loader.get("oob_amt")
    with pytest.raises(AnsibleError, match="IPv6"):
        plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)
