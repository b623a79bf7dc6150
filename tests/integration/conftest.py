"""Integration tests run against the live lab (lab/lab.py). They bring it up when it is down; `make test` tears it
down at the end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labutil import ROOT, ansible_playbook, labconfig, ldaps  # noqa: E402


@pytest.fixture(scope="session")
def lab():
    """The lab's configuration module, with the lab up."""
    if os.geteuid() != 0:
        pytest.fail("integration tests need root: the lab runs in network namespaces")
    proc = subprocess.run([sys.executable, str(ROOT / "lab" / "lab.py"), "up"], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"lab up failed:\n{proc.stdout}\n{proc.stderr}")
    return labconfig


@pytest.fixture(scope="session")
def dhcp_converged(lab):
    """The AMT scope with the estate's options 6 and 15 (the lab hands Kea over without them): playbooks/dhcp.yml."""
    proc = ansible_playbook("playbooks/dhcp.yml")
    if proc.returncode != 0:
        pytest.fail(f"playbooks/dhcp.yml failed:\n{proc.stdout[-3000:]}")
    return lab


@pytest.fixture()
def kerberos(lab, tmp_path, monkeypatch):
    """A private Kerberos ccache holding a TGT for the lab's Administrator."""
    monkeypatch.setenv("KRB5_CONFIG", str(lab.KRB5_CONFIG))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path}/ccache")

    def kinit(principal: str, password: str) -> None:
        proc = subprocess.run(["kinit", principal], input=password + "\n", capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr

    return kinit


@pytest.fixture()
def admin(lab):
    """An Administrator LDAPS connection, independent of the project's code."""
    conn = ldaps()
    yield conn
    conn.unbind()
