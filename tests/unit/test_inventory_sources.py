"""inventories/<env>/files/ holds files an environment needs (the LDAPS CA's PEM): it is not an inventory source.

ansible.cfg's ``[inventory] ignore_patterns`` keeps Ansible from reading the folder, so no run warns that it cannot
parse it, and a file there that looks like inventory adds no host. The lab's AMT inventory plugin (amt.oob_amt.yml)
enters the lab's namespaces: the lab inventory is read here without it, so that this needs no lab.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = Path(sys.executable).with_name("ansible-inventory")
LOOKS_LIKE_INVENTORY = "all:\n  hosts:\n    not-a-host-of-files:\n"


def inventory_list(inventory: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    return subprocess.run([str(INVENTORY), "-i", str(inventory), *args, "--list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_the_example_inventory_reads_without_a_warning():
    proc = inventory_list(ROOT / "inventories" / "production.example")
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("env", ["production.example", "lab"])
def test_files_is_not_an_inventory_source(env: str, tmp_path: Path):
    inv = tmp_path / "inventories" / env
    shutil.copytree(ROOT / "inventories" / env, inv, ignore=shutil.ignore_patterns("*.oob_amt.yml"))
    files = inv / "files"
    files.mkdir(exist_ok=True)
    (files / "ldaps-ca.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (files / "hosts.yml").write_text(LOOKS_LIKE_INVENTORY)
    (files / "notes").mkdir()
    (files / "notes" / "more-hosts").write_text("[oob_windows]\nnot-a-host-of-files\n")
    vault = ["--vault-id", f"lab@{ROOT / 'inventories' / 'lab' / 'vault-password.txt'}"] if env == "lab" else []
    proc = inventory_list(inv, *vault)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    assert "not-a-host-of-files" not in proc.stdout
    assert "localhost" in proc.stdout  # the inventory itself was read
