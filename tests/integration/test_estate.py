"""The estate model from a user's side, with ansible-playbook as a user runs it.

- The production path of the README, literally: copy inventories/production.example, fill in its estate, create and
  encrypt its vault, put the LDAPS CA file in files/, kinit, converge site.yml, converge again (nothing changes). The
  estate filled in here is a forest with an empty root: the site server and the PKI objects are in the forest root,
  the AMT computers in a child domain (a naming-context stand-in: Samba cannot host a child domain), which the
  forest root's DCs do not answer for.
- Bad estates: each fails in the estate play, naming the variable to fix, and writes nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import SecurityDescriptor
from labutil import ROOT, highest_usn, labconfig
from ldap3 import MODIFY_DELETE, SUBTREE
from ldap3.protocol.microsoft import security_descriptor_control

VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
BASE = labconfig.FORESTS["lab"]["base_dn"]
PKS = f"CN=Public Key Services,CN=Services,CN=Configuration,{BASE}"
SERVER = {"host": labconfig.dc_fqdn("lab"), "address": labconfig.FORESTS["lab"]["dc_ip"]}


def read_sd(admin, dn: str) -> SecurityDescriptor:
    admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["nTSecurityDescriptor"],
                 controls=security_descriptor_control(sdflags=0x04))  # fmt: skip
    return SecurityDescriptor.from_bytes(admin.response[0]["raw_attributes"]["nTSecurityDescriptor"][0])


def playbook(inventory: Path, env: str, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env_vars = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1",
                    PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(extra_env or {}))  # fmt: skip
    cmd = [
        str(VENV_BIN / "ansible-playbook"),
        "-i",
        str(inventory),
        "--vault-id",
        f"{env}@{inventory / 'pw.txt'}",
        *args,
    ]
    return subprocess.run(cmd, cwd=ROOT, env=env_vars, capture_output=True, text=True, timeout=600)


def copy_inventory(src: str, tmp_path: Path, env: str) -> Path:
    """cp -r inventories/<src> inventories/<env>, with a vault password file for it."""
    inv = tmp_path / "inventories" / env
    shutil.copytree(ROOT / "inventories" / src, inv)
    estate = inv / "group_vars" / "all" / "estate.yml"  # the lab's paths are relative to its inventory: keep them
    estate.write_text(estate.read_text().replace("{{ inventory_dir }}/../../", f"{ROOT}/"))
    (inv / "pw.txt").write_text(f"{env}-vault-password-{uuid.uuid4().hex}\n")
    return inv


def edit_estate(inv: Path, change) -> None:
    path = inv / "group_vars" / "all" / "estate.yml"
    estate = yaml.safe_load(path.read_text())
    change(estate)
    path.write_text(yaml.safe_dump(estate, sort_keys=False))


@pytest.fixture()
def child(lab, admin):
    """The AMT domain of an empty-root forest: a naming context stand-in (an OU given as the domain's base DN)."""
    name = f"ChildDomain{uuid.uuid4().hex[:6]}"
    dn = f"OU={name},{BASE}"
    assert admin.add(dn, "organizationalUnit"), admin.result
    yield {"dns_name": f"{name.lower()}.lab.example", "base_dn": dn, "servers": [SERVER]}
    admin.search(dn, "(objectClass=*)", search_scope=SUBTREE, attributes=["objectClass"])
    for entry in sorted((e["dn"] for e in admin.response if e.get("type") == "searchResEntry"), key=len, reverse=True):
        admin.delete(entry)


def test_the_readme_production_path_converges_an_empty_root_forest(lab, admin, child, tmp_path):
    env = "labprod"
    inv = copy_inventory("production.example", tmp_path, env)
    suffix = uuid.uuid4().hex[:6]
    names = {"web_server": f"AMTWebProd{suffix}", "provisioning": f"AMTProvProd{suffix}"}

    def fill(estate):  # every CHANGE ME, as a user fills the form for the lab
        estate["oob_forest"] = {"dns_name": "lab.example", "servers": [SERVER]}
        estate["oob_domains"] = [child]  # the forest root holds no AMT computers
        estate["oob_site_server"] = {"computer_account": labconfig.SITE_SERVER["sam"], "domain": "lab.example"}
        estate["oob_service_point"].update(fqdn=labconfig.SERVICE_POINT["fqdn"], ipv4=labconfig.SERVICE_POINT["ip"],
                                           computer_account=labconfig.SERVICE_POINT["sam"])  # fmt: skip
        estate["oob_enterprise_ca"].update(name=labconfig.CA_NAME, host=labconfig.CA_HOST)
        # the lab has no Windows host: the form's service point, console and CA are marked windows: true
        estate["oob_service_point"]["windows"] = False
        estate["oob_enterprise_ca"]["windows"] = False
        estate["oob_consoles"] = []
        for key, name in names.items():
            estate["oob_amt_templates"][key]["name"] = name

    edit_estate(inv, fill)
    # the CA file where the form says to keep it; the vault from its example, a secret encrypted as a string with this
    # environment's ID in place of its line (README step 3; the file stays plain YAML)
    (inv / "files" / "ldaps-ca.pem").write_bytes(labconfig.dc_ca_file("lab").read_bytes())
    vault = inv / "group_vars" / "all" / "vault.yml"
    shutil.copy(vault.with_name("vault.yml.example"), vault)
    proc = subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt_string", "--vault-id", f"{env}@{inv / 'pw.txt'}",
                           "--stdin-name", "vault_oob_ldap_bind_password"], input=labconfig.ADMIN_PASSWORD,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = vault.read_text()
    assert 'vault_oob_ldap_bind_password: ""' in text
    vault.write_text(re.sub(r'^vault_oob_ldap_bind_password: "".*$', lambda _: proc.stdout.rstrip(), text, flags=re.M))
    assert not vault.read_text().startswith("$ANSIBLE_VAULT")
    # auth: kerberos, as the form says: kinit first
    krb = {"KRB5_CONFIG": str(labconfig.KRB5_CONFIG), "KRB5CCNAME": f"FILE:{tmp_path}/ccache"}
    kinit = subprocess.run(["kinit", "Administrator@LAB.EXAMPLE"], input=labconfig.ADMIN_PASSWORD + "\n",
                           capture_output=True, text=True, env=dict(os.environ, **krb))  # fmt: skip
    assert kinit.returncode == 0, kinit.stderr
    try:
        first = playbook(inv, env, "playbooks/site.yml", extra_env=krb)
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr
        assert re.search(r"localhost\s+: ok=\d+\s+changed=[1-9]", first.stdout), first.stdout[-2000:]
        second = playbook(inv, env, "playbooks/site.yml", extra_env=krb)
        assert second.returncode == 0, second.stdout[-6000:] + second.stderr
        assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s", second.stdout), second.stdout[-3000:]
        # read back independently: the container in the child, under its created parent, and both templates
        for dn in (f"OU=Management,{child['base_dn']}", f"OU=AMT Computers,OU=Management,{child['base_dn']}"):
            assert admin.search(dn, "(objectClass=organizationalUnit)", search_scope="BASE"), dn
        for name in names.values():
            assert admin.search(f"CN={name},CN=Certificate Templates,{PKS}", "(objectClass=*)", search_scope="BASE")
        # the parent it created is protected from deletion too: deny DT SD to Everyone ([MS-DTYP] 2.5.1.1)
        sd = read_sd(admin, f"OU=Management,{child['base_dn']}")
        assert "(D;;DTSD;;;WD)" in [ace.to_sddl() for ace in sd.dacl]
    finally:
        ca_dn = f"CN={labconfig.CA_NAME},CN=Enrollment Services,{PKS}"
        admin.modify(ca_dn, {"certificateTemplates": [(MODIFY_DELETE, list(names.values()))]})
        for name in names.values():
            dn = f"CN={name},CN=Certificate Templates,{PKS}"
            admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["msPKI-Cert-Template-OID"])
            oid = admin.response[0]["attributes"]["msPKI-Cert-Template-OID"] if admin.response else None
            admin.delete(dn)
            if oid:
                admin.search(f"CN=OID,{PKS}", f"(msPKI-Cert-Template-OID={oid})", attributes=["cn"])
                for entry in [e for e in admin.response if e.get("type") == "searchResEntry"]:
                    admin.delete(entry["dn"])


def _drop(key):
    return lambda estate: estate.pop(key)


def _set(path, value):
    def change(estate):
        node = estate
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop("oob_forest"), "missing required arguments: oob_forest"),
        (_set(["oob_ldap", "tls"], "ssl"), "oob_ldap"),  # the spec names the dict and the choices
        (_set(["oob_ldap", "ca_file"], "/nonexistent/ldaps-ca.pem"),
         "oob_ldap.ca_file /nonexistent/ldaps-ca.pem does not exist"),
        (_set(["oob_amt_container", "path"], ["A" * 300]), "is not a name AD accepts for an OU or container"),
        (_set(["oob_site_server", "domain"], "elsewhere.example"),
         "oob_site_server.domain elsewhere.example is neither oob_forest.dns_name"),
        (_set(["oob_ad_container_rights"], "least_privilege"), "role variable(s) oob_ad_container_rights are set"),
        (_set(["oob_ldap", "bind_password"], ""), "oob_ldap.bind_user and oob_ldap.bind_password are needed"),
    ],
)  # fmt: skip
def test_a_bad_estate_fails_naming_the_variable_and_writes_nothing(lab, admin, tmp_path, change, message):
    inv = copy_inventory("lab", tmp_path, "lab")
    shutil.copy(ROOT / "inventories" / "lab" / "vault-password.txt", inv / "pw.txt")
    edit_estate(inv, change)
    usn = highest_usn(admin)
    proc = playbook(inv, "lab", "playbooks/site.yml")
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
    assert "PLAY [Prepare Active Directory" not in proc.stdout  # it stopped in the estate play
    assert highest_usn(admin) == usn


def test_winrm_kerberos_of_the_example_inventory_is_installed():
    """production.example reaches Windows hosts with ansible_winrm_transport: kerberos: pywinrm needs its extra."""
    hosts = yaml.safe_load((ROOT / "inventories" / "production.example" / "hosts.yml").read_text())
    assert hosts["all"]["children"]["oob_windows"]["vars"]["ansible_winrm_transport"] == "kerberos"
    import winrm.transport  # noqa: PLC0415 - the installed pywinrm, as ansible's winrm connection imports it

    assert winrm.transport.HAVE_KERBEROS, "pywinrm[kerberos] is not installed (requirements.txt)"


def test_windows_hosts_are_described_once_and_join_their_groups(lab, tmp_path):
    """Hosts marked windows in the estate are inventory hosts (plugin oob_estate, estate.oob_estate.yml) in
    oob_windows and their role's group (NT 5.x ones in oob_windows_legacy, which nothing connects to); hosts.yml lists
    none of them. The estate play accepts that inventory, and a debug task shows it without connecting."""
    inv = copy_inventory("lab", tmp_path, "lab")
    shutil.copy(ROOT / "inventories" / "lab" / "vault-password.txt", inv / "pw.txt")

    def mark(estate):
        estate["oob_service_point"]["windows"] = True
        estate["oob_consoles"] = [{"fqdn": "console1.lab.example", "ipv4": "198.51.100.21", "windows": True},
                                  {"fqdn": "xp01.lab.example", "windows": True, "legacy_os": True}]  # fmt: skip

    edit_estate(inv, mark)
    play = tmp_path / "show.yml"
    show = ("HOST {{ inventory_hostname }} GROUPS {{ group_names | sort | join(',') }} "
            "ROLES {{ oob_windows_roles | join(',') }}")  # fmt: skip
    plays = [
        {"name": "Estate", "ansible.builtin.import_playbook": f"{ROOT}/playbooks/estate.yml"},
        {"name": "Show the estate's Windows hosts", "hosts": "oob_windows:oob_windows_legacy",
         "gather_facts": False, "tasks": [{"name": "Show", "ansible.builtin.debug": {"msg": show}}]},
    ]  # fmt: skip
    play.write_text(yaml.safe_dump(plays, sort_keys=False))
    proc = playbook(inv, "lab", str(play))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    shown = sorted(re.findall(r"HOST (\S+) GROUPS (\S+) ROLES (\S*)", proc.stdout))
    assert shown == [
        ("console1.lab.example", "oob_consoles,oob_windows", "console"),
        ("oobsp.lab.example", "oob_service_points,oob_windows", "service_point"),
        ("xp01.lab.example", "oob_windows_legacy", "console"),
    ], proc.stdout[-3000:]
