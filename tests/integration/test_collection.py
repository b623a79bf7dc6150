"""The collection oob.prep as an adopter uses it: built with ansible-galaxy, installed into an empty path, and used
from a folder outside this repository (no repository ansible.cfg): ansible-doc renders every module, an LDAP module
takes its connection from module_defaults (group/oob.prep.ldap), and the collection's verify playbook runs against the
lab. The collection's dependencies come from this repository's collections folder (unpacked from the ansible package;
Galaxy is not reachable here), never oob.prep itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile

import pytest
from labutil import ROOT, labconfig

BIN = ROOT / ".venv" / "bin"
VAULT = f"lab@{ROOT / 'inventories' / 'lab' / 'vault-password.txt'}"
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py"))


@pytest.fixture(scope="module")
def installed(lab, tmp_path_factory):
    """(environment for a folder outside the repository, that folder)."""
    tmp = tmp_path_factory.mktemp("collection")
    # everything outside the repository's configuration: with it, ansible-galaxy would find oob.prep already installed
    # (the repository's own link) and install nothing
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_HOME=str(tmp / "home"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               PATH=f"{BIN}:{os.environ['PATH']}")  # fmt: skip
    build = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path",
                            str(tmp / "build")], capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    [tarball] = (tmp / "build").glob("oob-prep-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "plugins/modules/ad_container.py" in names and "meta/runtime.yml" in names
    assert not [n for n in names if n.split("/")[0] in ("lab", "inventories", ".venv", "collections", "molecule")]
    target = tmp / "installed"
    install = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(target),
                              "--no-deps", "--force"], capture_output=True, text=True, timeout=300, cwd=tmp,
                             env=env)  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    assert (target / "ansible_collections" / "oob" / "prep" / "MANIFEST.json").is_file(), install.stdout
    deps = tmp / "deps" / "ansible_collections"
    deps.mkdir(parents=True)
    for namespace in ("ansible", "community", "microsoft"):  # the dependencies, not oob.prep
        (deps / namespace).symlink_to(ROOT / "collections" / "ansible_collections" / namespace)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{target}:{tmp / 'deps'}"
    return env, elsewhere


def run(env: dict, cwd, *cmd: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_ansible_doc_renders_every_module_from_the_installed_collection(installed):
    env, elsewhere = installed
    for module in MODULES:
        proc = run(env, elsewhere, str(BIN / "ansible-doc"), f"oob.prep.{module}")
        assert proc.returncode == 0 and f"oob.prep.{module}" in proc.stdout, (module, proc.stderr[-2000:])
        assert str(ROOT) not in proc.stdout.splitlines()[0], "rendered from the repository, not the installed copy"


def test_an_ldap_module_takes_its_connection_from_module_defaults(installed):
    env, elsewhere = installed
    dc = labconfig.FORESTS["lab"]
    playbook = elsewhere / "pki.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},  # the controller's, with ldap3
        "module_defaults": {"group/oob.prep.ldap": {"connection": {
            "tls": "ldaps", "ca_file": str(labconfig.dc_ca_file("lab")), "auth": "simple",
            "bind_user": "Administrator@lab.example", "bind_password": labconfig.ADMIN_PASSWORD}}},
        "tasks": [{"name": "Read the lab's CA, its connection given once", "register": "pki",
                   "oob.prep.ad_pki_info": {"servers": [{"host": labconfig.dc_fqdn("lab"), "address": dc["dc_ip"]}],
                                            "forest_dns_name": dc["dns"], "ca_names": [labconfig.CA_NAME]}},
                  {"ansible.builtin.assert": {"that": ["pki.checks | length > 0",
                                                       "pki.checks | selectattr('row', 'equalto', 'enterprise_ca') "
                                                       "| list | length > 0"]}}],
    }]))  # fmt: skip
    proc = run(env, elsewhere, str(BIN / "ansible-playbook"), "-i", "localhost,", str(playbook))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_the_collections_verify_playbook_runs_against_the_lab(installed):
    env, elsewhere = installed
    latest = ROOT / "reports" / "lab" / "latest"
    before = os.readlink(latest) if latest.is_symlink() else None
    proc = run(env, elsewhere, str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / "lab"), "--vault-id",
               VAULT, "oob.prep.verify")  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Readiness of lab:" in proc.stdout
    assert os.readlink(latest) != before  # the report of this run, in the environment's folder
