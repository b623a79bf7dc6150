"""The product apart from the lab: running the playbooks against an environment installs nothing of the lab.

``make check|converge|verify|remediate ENV=<env>`` depends on ``deps`` (scripts/bootstrap: .venv with
requirements.txt and the collections); only the lab, demo and test targets, and the playbook targets with ENV=lab,
depend on ``lab-deps`` (scripts/bootstrap-lab: Debian packages, requirements-dev.txt, Certipy). Proved with the real
Makefile in a clean copy of the project whose .venv already exists (its entries link to this project's venv, so no
network and nothing is written into it), with apt-get, apt, dpkg, dpkg-query, sudo and python3.12/3.13 (Certipy's
venv) shims first on PATH that record every call and fail: ``make check ENV=production.example`` calls none of them
and stops at the estate's own error about the form's CHANGE ME values.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
SHIMMED = ("apt-get", "apt", "dpkg", "dpkg-query", "sudo", "python3.12", "python3.13")
LAB_TARGETS = ("lab-up", "demo", "test", "lint", "unit", "integration", "molecule", "bench", "sanity", "ee")
PLAYBOOK_TARGETS = ("check", "converge", "verify", "remediate")
# what a clean copy does not hold: local state, caches, the venvs and the unpacked collections
NOT_COPIED = {
    ".": {".git", ".venv", ".venv-certipy", ".cache", "reports", "artifacts", ".pytest_cache", ".ruff_cache"},
    "collections": {"ansible_collections"},
    "lab": {".state"},
}


def make_env(**extra: str) -> dict[str, str]:
    """The caller's environment without an enclosing make's flags (make test runs pytest through make unit)."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}}
    env.update(extra)
    return env


def dry_run(target: str, *variables: str) -> str:
    """The commands make would run for target (make -n runs none of them)."""
    proc = subprocess.run(["make", "-n", "--no-print-directory", target, *variables], cwd=ROOT, env=make_env(),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("target", PLAYBOOK_TARGETS)
def test_an_environment_depends_on_the_product_only(target):
    commands = dry_run(target, "ENV=production.example").splitlines()
    assert "scripts/bootstrap" in commands
    assert not any("bootstrap-lab" in line or "apt-get" in line for line in commands), commands


@pytest.mark.parametrize("target", PLAYBOOK_TARGETS)
def test_the_lab_environment_installs_the_labs_tools(target):
    assert "scripts/bootstrap-lab" in dry_run(target, "ENV=lab").splitlines()


@pytest.mark.parametrize("target", LAB_TARGETS)
def test_lab_demo_and_test_targets_install_everything(target):
    assert "scripts/bootstrap-lab" in dry_run(target).splitlines()


def test_the_lab_bootstrap_installs_the_product_then_the_rest():
    lab = (ROOT / "scripts" / "bootstrap-lab").read_text()
    assert lab.index("apt-get install") < lab.index("\nscripts/bootstrap\n") < lab.index("-r requirements-dev.txt")
    product = (ROOT / "scripts" / "bootstrap").read_text()
    code = "\n".join(line for line in product.splitlines() if not line.lstrip().startswith(("#", "echo")))
    for word in ("apt", "dpkg", "certipy", "requirements-dev", "sudo"):
        assert word not in code.lower(), f"scripts/bootstrap runs {word}"
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in dev


def ignore_local_state(folder: str, names: list[str]) -> set[str]:
    relative = os.path.relpath(folder, ROOT)
    return (NOT_COPIED.get(relative, set()) | {"__pycache__"}) & set(names)


@pytest.fixture()
def clean_copy(tmp_path: Path) -> Path:
    """The project as a fresh clone holds it, with an existing .venv (its entries link to this project's venv) and the
    collections already unpacked: bootstrap finds both and needs no network."""
    if not (VENV / "bin" / "ansible-playbook").exists() or not (ROOT / "collections" / "ansible_collections").is_dir():
        pytest.fail(f"{VENV} or collections/ansible_collections is missing: make deps makes them")
    copy = tmp_path / "oob-prep"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=ignore_local_state)  # copy2: the files keep their times
    venv = copy / ".venv"
    venv.mkdir()
    real_venv = VENV.resolve()
    for entry in real_venv.iterdir():
        if entry.name == "pyvenv.cfg":
            shutil.copy(entry, venv / entry.name)
        elif not entry.name.startswith(".bootstrap"):
            (venv / entry.name).symlink_to(entry)
    stamp = venv / ".bootstrap-stamp"  # requirements.txt is installed: the stamp is newer than the copy's file
    stamp.touch()
    newer = max(stamp.stat().st_mtime, (copy / "requirements.txt").stat().st_mtime + 1)
    os.utime(stamp, (newer, newer))
    (copy / "collections" / "ansible_collections").symlink_to((ROOT / "collections" / "ansible_collections").resolve())
    return copy


def test_check_of_an_environment_installs_nothing_of_the_lab(clean_copy: Path, tmp_path: Path):
    shims = tmp_path / "shims"
    shims.mkdir()
    calls = tmp_path / "calls.log"
    for name in SHIMMED:
        shim = shims / name
        shim.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\nexit 1\n')
        shim.chmod(0o755)
    password = tmp_path / "vault-password.txt"
    password.write_text("not-a-real-vault-password\n")
    env = make_env(PATH=f"{shims}{os.pathsep}{os.environ['PATH']}", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
                   ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")  # fmt: skip
    proc = subprocess.run(["make", "--no-print-directory", "check", "ENV=production.example",
                           f"VAULT_ID=production.example@{password}"],
                          cwd=clean_copy, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    output = proc.stdout + proc.stderr
    assert not calls.exists(), f"the product's bootstrap called: {calls.read_text()}"
    assert not (clean_copy / ".venv-certipy").exists(), "Certipy was installed"
    assert not (clean_copy / ".venv" / ".bootstrap-dev-stamp").exists(), "requirements-dev.txt was installed"
    assert "bootstrap: installing" not in output, output[-3000:]  # the venv was there: nothing to install
    assert proc.returncode != 0, output[-3000:]
    # it reached the estate play, which names the form's value to change (the LDAPS CA file of files/)
    assert "PLAY [Validate the estate]" in proc.stdout, output[-3000:]
    ca_file = clean_copy / "inventories" / "production.example" / "files" / "ldaps-ca.pem"
    assert f"oob_ldap.ca_file {ca_file} does not exist (on the controller)" in output, output[-3000:]
    assert "PLAY [Prepare Active Directory" not in proc.stdout  # nothing ran after the estate play
    assert "as an inventory source" not in output, output[-3000:]


@pytest.mark.skipif(os.geteuid() != 0, reason="bootstrap-lab installs Debian packages only as root")
def test_the_lab_bootstrap_installs_exactly_the_debian_packages_not_installed(tmp_path: Path):
    """One dpkg-query for the whole list: a package dpkg does not know, and one removed with its configuration kept
    (status config-files), are installed; the others are not. dpkg-query and apt-get are shims (apt-get fails, so the
    script stops at apt-get update, before it installs or writes anything)."""
    packages = [line.split("#")[0].strip() for line in (ROOT / "scripts" / "apt-packages").read_text().splitlines()]
    packages = [p for p in packages if p]
    unknown, removed = packages[0], packages[-1]
    shims, calls = tmp_path / "shims", tmp_path / "calls.log"
    shims.mkdir()
    (shims / "dpkg-query").write_text(  # as dpkg-query -W -f='${Package} ${db:Status-Status}\n' answers
        f'#!/bin/sh\necho "dpkg-query $*" >> "{calls}"\nfor p in "$@"; do case "$p" in -*) ;; {unknown}) ;;\n'
        f'  {removed}) echo "$p config-files" ;; *) echo "$p installed" ;; esac; done\n'
        f'echo "dpkg-query: no packages found matching {unknown}" >&2\nexit 1\n'
    )
    (shims / "apt-get").write_text(f'#!/bin/sh\necho "apt-get $*" >> "{calls}"\nexit 1\n')
    for shim in shims.iterdir():
        shim.chmod(0o755)
    env = make_env(PATH=f"{shims}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([str(ROOT / "scripts" / "bootstrap-lab")], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    missing = " ".join(sorted([unknown, removed]))
    assert f"bootstrap-lab: installing Debian packages: {missing}\n" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode != 0
    log = calls.read_text().splitlines()
    assert len([c for c in log if c.startswith("dpkg-query")]) == 1, log  # one call for all of them
    assert log[-1] == "apt-get update -qq", log  # stopped there: nothing installed
