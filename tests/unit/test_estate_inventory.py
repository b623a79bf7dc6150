"""The estate's Windows hosts are real inventory hosts: ansible-inventory and ansible-playbook on the form.

``inventories/production.example`` lists, with no vault password, the hosts its estate marks windows in their groups
(the inventory plugin oob_estate, source ``estate.oob_estate.yml``); ``--limit`` matches them; the lab (no Windows
host) keeps its controller and namespace hosts. The role oob_estate fails, naming the host, when the inventory and
the estate disagree. The form is copied as ``tests/integration/test_estate.py`` copies it (``cp -r``, README step 1);
nothing here connects anywhere, and the lab's AMT source (a scan) is not read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FORM = ROOT / "inventories" / "production.example"
# written out from the form's estate (group_vars/all/estate.yml): the hosts marked windows: true
FORM_GROUPS = {
    "oob_service_points": ["sccm01.corp.example.com"],
    "oob_consoles": ["admin-ws01.corp.example.com"],
    "oob_certification_authorities": ["ca01.corp.example.com"],
    "oob_dns_servers": [],
    "oob_windows_legacy": [],
    "oob_windows": ["admin-ws01.corp.example.com", "ca01.corp.example.com", "sccm01.corp.example.com"],
    "oob_controller": ["localhost"],
    "oob_routers": [],
}
FORM_ROLES = {"sccm01.corp.example.com": ["service_point"], "admin-ws01.corp.example.com": ["console"],
              "ca01.corp.example.com": []}  # fmt: skip


def env() -> dict[str, str]:
    return {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_HOME": str(ROOT / ".cache" / "ansible"),
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}  # fmt: skip


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)


def graph_groups(text: str) -> dict[str, list[str]]:
    """ansible-inventory --graph's text as group -> its direct hosts."""
    groups: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if m := re.match(r"^\s*\|--@(\S+):$", line):
            current = groups.setdefault(m.group(1), [])
        elif (m := re.match(r"^\s*\|  \|--([^@\s]\S*)$", line)) and current is not None:
            current.append(m.group(1))
    return {name: sorted(hosts) for name, hosts in groups.items()}


def test_the_forms_windows_hosts_are_in_the_graph_without_a_vault_password():
    proc = run(str(BIN / "ansible-inventory"), "-i", str(FORM), "--graph")
    assert proc.returncode == 0, proc.stderr
    assert "estate.oob_estate.yml as an inventory source" not in proc.stderr, proc.stderr
    groups = graph_groups(proc.stdout)
    for group, hosts in FORM_GROUPS.items():
        assert groups.get(group) == hosts, (group, proc.stdout)


def test_the_forms_list_has_the_hosts_groups_and_vars_of_its_estate():
    proc = run(str(BIN / "ansible-inventory"), "-i", str(FORM), "--list")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    for group, hosts in FORM_GROUPS.items():
        assert sorted(listed.get(group, {}).get("hosts", [])) == hosts, group
    hostvars = listed["_meta"]["hostvars"]
    for host, roles in FORM_ROLES.items():
        assert hostvars[host]["ansible_host"] == host
        assert hostvars[host]["oob_windows_roles"] == roles
        assert hostvars[host]["ansible_connection"] == "winrm"  # hosts.yml's oob_windows vars: how to reach them
    # the hosts are the estate's, not a copy: its names, where it marks them windows
    estate = yaml.safe_load((FORM / "group_vars" / "all" / "estate.yml").read_text())
    assert estate["oob_service_point"]["windows"] and estate["oob_service_point"]["fqdn"] in hostvars
    assert estate["oob_enterprise_ca"]["windows"] and estate["oob_enterprise_ca"]["host"] in hostvars
    assert [c["fqdn"] for c in estate["oob_consoles"] if c.get("windows")] == FORM_GROUPS["oob_consoles"]
    hosts_yml = yaml.safe_load((FORM / "hosts.yml").read_text())
    assert not (hosts_yml["all"]["children"]["oob_windows"] or {}).get("hosts"), "hosts.yml lists no Windows host"


def test_limit_matches_a_windows_host():
    proc = run(str(BIN / "ansible"), "-i", str(FORM), "sccm01.corp.example.com", "--list-hosts")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"hosts \(1\):\s+sccm01\.corp\.example\.com\s*$", proc.stdout), proc.stdout
    proc = run(str(BIN / "ansible-playbook"), "-i", str(FORM), "playbooks/windows.yml", "--list-hosts",
               "--limit", "admin-ws01.corp.example.com")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "admin-ws01.corp.example.com" in proc.stdout and "sccm01" not in proc.stdout, proc.stdout


def test_the_lab_graph_keeps_its_controller_and_namespaces_and_has_no_windows_host():
    # hosts.yml and the estate source; the lab's amt.oob_amt.yml is a scan from a lab namespace and is not read here
    proc = run(str(BIN / "ansible-inventory"), "-i", "inventories/lab/hosts.yml", "-i",
               "inventories/lab/estate.oob_estate.yml", "--vault-id", "lab@inventories/lab/vault-password.txt",
               "--graph")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "as an inventory source" not in proc.stderr, proc.stderr
    groups = graph_groups(proc.stdout)
    assert groups["oob_controller"] == ["localhost"]
    assert groups["oob_routers"] == ["oobp-rtr"]
    assert groups["oob_lab_namespaces"] == sorted(["oobp-amtc", "oobp-amt1", "oobp-rtr", "oobp-sp", "oobp-con"])
    for group in ("oob_windows", "oob_windows_legacy", "oob_service_points", "oob_consoles"):
        assert groups[group] == [], group


@pytest.fixture()
def form(tmp_path) -> Path:
    """cp -r inventories/production.example inventories/<env>, with a PEM where oob_ldap.ca_file points."""
    inv = tmp_path / "inventories" / "prodcopy"
    shutil.copytree(FORM, inv)
    (inv / "files" / "ldaps-ca.pem").write_text("-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n")
    return inv


def estate_play(inv: Path) -> subprocess.CompletedProcess:
    return run(str(BIN / "ansible-playbook"), "-i", str(inv), "playbooks/estate.yml")


def test_the_estate_play_accepts_the_forms_inventory(form):
    proc = estate_play(form)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr


def test_the_estate_play_fails_naming_a_host_missing_from_the_inventory(form):
    (form / "estate.oob_estate.yml").unlink()  # the plugin source was removed (or not copied)
    proc = estate_play(form)
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())  # the failure message is wrapped
    assert ("sccm01.corp.example.com (oob_service_point.fqdn, marked windows in the estate) is not an inventory "
            "host: the inventory source estate.oob_estate.yml") in out, proc.stdout[-3000:]  # fmt: skip
    assert "ca01.corp.example.com (oob_enterprise_ca.host" in out


def test_the_estate_play_fails_on_a_windows_host_added_by_hand(form):
    hosts = form / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("    oob_consoles:\n", "    oob_consoles:\n      hosts:\n"
                                               "        hand01.corp.example.com:\n"))  # fmt: skip
    proc = estate_play(form)
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert ("hand01.corp.example.com is in group oob_consoles of the inventory, but the estate does not put it there"
            in out), proc.stdout[-3000:]  # fmt: skip


@pytest.mark.parametrize("where", ["extra var", "inventory"])
def test_an_oob_variable_the_estate_does_not_know_is_an_error_naming_it(form, where):
    """A misspelt estate key (oob_amt_container_path for oob_amt_container.path) or a role's old name never runs to
    the end silently ignored."""
    extra = []
    if where == "extra var":
        extra = ["-e", '{"oob_amt_container_path": ["AMT Computers"]}']
    else:
        (form / "group_vars" / "all" / "typo.yml").write_text("---\noob_amt_containers:\n  path: [AMT Computers]\n")
    proc = run(str(BIN / "ansible-playbook"), "-i", str(form), "playbooks/estate.yml", *extra)
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    name = "oob_amt_container_path" if where == "extra var" else "oob_amt_containers"
    assert f"unknown variable {name} (did you mean oob_amt_container?): the estate has no such key" in out, proc.stdout[
        -3000:
    ]
