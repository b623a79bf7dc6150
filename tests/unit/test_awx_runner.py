"""An AWX job without AWX: ansible-runner over a private data directory laid out as AWX lays it (tests/integration/
awxjob.py), with the lab inventory as an AWX sync stores it (vaulted strings still encrypted), the vault password
given through env/passwords as AWX gives a vault credential, and the set_stats data read back from the events as
AWX shows a job's artifacts. The remediate job against the live lab: tests/integration/test_awx_job_lab.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from awxjob import artifact_data, artifacts_dir, private_data_dir, run_job, synced_inventory  # noqa: E402

LAB_PASSWORD = (ROOT / "inventories/lab/vault-password.txt").read_text().strip()
PLAYBOOK = """\
- name: What an AWX job of this project needs from its private data directory
  hosts: oob_controller
  gather_facts: false
  tasks:
    - name: The vaulted estate value opens with the vault credential's password
      ansible.builtin.assert:
        that: vault_oob_ldap_bind_password | length > 0
    - name: Hand data to AWX
      ansible.builtin.set_stats:
        data:
          oob_probe: {environment: "{{ oob_reports.environment }}", tested: true}
"""


def runner_installed():
    try:
        import ansible_runner  # noqa: F401
    except ImportError:
        pytest.fail("ansible-runner is missing: it is in requirements.txt (make deps installs it)")


@pytest.fixture(scope="module")
def inventory() -> dict:
    return synced_inventory(ROOT / "inventories" / "lab" / "hosts.yml")


def test_sync_keeps_vaulted_strings_encrypted(inventory: dict):
    secret = inventory["_meta"]["hostvars"]["localhost"]["vault_oob_ldap_bind_password"]
    assert set(secret) == {"__ansible_vault"} and secret["__ansible_vault"].startswith("$ANSIBLE_VAULT;1.2;AES256;lab")


def test_layout(tmp_path: Path, inventory: dict):
    pdd = private_data_dir(tmp_path / "job", ROOT, inventory, {"oob_reports": {"dir": "/srv/r"}}, {"lab": "pw"},
                           cmdline=("--diff",))  # fmt: skip
    assert (pdd / "project").resolve() == ROOT and (pdd / "project" / "ansible.cfg").is_file()
    printed = subprocess.run([str(pdd / "inventory" / "hosts"), "--list"], capture_output=True, text=True, check=True)
    assert json.loads(printed.stdout) == inventory
    assert yaml.safe_load((pdd / "env" / "extravars").read_text()) == {"oob_reports": {"dir": "/srv/r"}}
    assert (pdd / "env" / "cmdline").read_text() == "--diff --vault-id lab@prompt"
    prompts = yaml.safe_load((pdd / "env" / "passwords").read_text())
    [(pattern, answer)] = prompts.items()
    assert answer == "pw" and re.search(pattern, "Vault password (lab): ", re.M)
    assert not re.search(pattern, "Vault password (production): ", re.M)
    assert (pdd / "env" / "passwords").stat().st_mode & 0o077 == 0


def test_a_job_reads_the_vault_and_hands_over_its_stats(tmp_path: Path, inventory: dict):
    runner_installed()
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "ansible.cfg", project / "ansible.cfg")  # the project's own settings, as in AWX
    (project / "probe.yml").write_text(PLAYBOOK)
    pdd = private_data_dir(tmp_path / "job", project, inventory, {"oob_reports": {"environment": "lab"}},
                           {"lab": LAB_PASSWORD})  # fmt: skip
    runner = run_job(pdd, "probe.yml", ident="probe")
    stdout = (artifacts_dir(pdd, "probe") / "stdout").read_text()
    assert runner.status == "successful" and runner.rc == 0, stdout[-3000:]
    assert "Unable to parse" not in stdout, stdout[-3000:]  # the inventory script: ansible.cfg enables `script`
    assert artifact_data(runner) == {"oob_probe": {"environment": "lab", "tested": True}}
    assert (artifacts_dir(pdd, "probe") / "job_events").is_dir()
    assert (artifacts_dir(pdd, "probe") / "rc").read_text().strip() == "0"


def test_a_wrong_vault_password_fails_the_job(tmp_path: Path, inventory: dict):
    runner_installed()
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "ansible.cfg", project / "ansible.cfg")
    (project / "probe.yml").write_text(PLAYBOOK)
    pdd = private_data_dir(tmp_path / "job", project, inventory, {"oob_reports": {"environment": "lab"}},
                           {"lab": "not-the-password"})  # fmt: skip
    runner = run_job(pdd, "probe.yml", ident="probe")
    stdout = (artifacts_dir(pdd, "probe") / "stdout").read_text()
    assert runner.status == "failed", stdout[-3000:]
    assert "Decryption failed" in stdout or "no vault secrets" in stdout.lower(), stdout[-3000:]
    assert "oob_probe" not in artifact_data(runner)
