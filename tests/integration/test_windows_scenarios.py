"""Windows-only roles against a real Windows host (molecule scenario ``windows``), or a visible skip.

No Windows host exists in the lab, so without ``OOB_WINDOWS_CA_HOST`` this test is reported as skipped (in pytest's
summary and as a JUnit ``<skipped>`` case), never as passed. It does not use the ``lab`` fixture: the scenario talks
to the Windows CA over WinRM only.

    OOB_WINDOWS_CA_HOST=ca01.corp.example.com OOB_WINDOWS_CA_NAME=CORP-CA \\
    OOB_WINDOWS_USER=... OOB_WINDOWS_PASSWORD=... pytest -rs tests/integration/test_windows_scenarios.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _molecule() -> str:
    beside_python = Path(sys.executable).parent / "molecule"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("molecule")
    if found is None:
        pytest.fail("molecule is not installed (make lab-deps installs it into .venv)")
    return found


WINDOWS_PIECES = {  # what runs on which Windows host; each is a test of its own, skipped (with why) without its host
    "oob_pki_ca_windows": ("OOB_WINDOWS_CA_HOST", ("OOB_WINDOWS_CA_NAME",)),
    "oob_dns (windows backend)": ("OOB_WINDOWS_DNS_HOST", ("OOB_WINDOWS_DNS_ZONE",)),
    "oob_windows_prereqs": ("OOB_WINDOWS_HOST", ()),
    "oob_dhcp (windows backend)": (
        "OOB_WINDOWS_DHCP_HOST",
        ("OOB_WINDOWS_DHCP_SCOPE", "OOB_WINDOWS_DHCP_DNS", "OOB_WINDOWS_DHCP_DOMAIN"),
    ),
    "amt_provisioning_trust (the service point's store)": ("OOB_WINDOWS_SP_HOST", ()),
}


@pytest.mark.parametrize("piece", list(WINDOWS_PIECES))
def test_windows_scenario(piece):
    host_var, needs = WINDOWS_PIECES[piece]
    if not os.environ.get(host_var):
        pytest.skip(f"no Windows host given ({host_var}): {piece} was linted and unit-tested only")
    missing = [name for name in (*needs, "OOB_WINDOWS_USER", "OOB_WINDOWS_PASSWORD") if not os.environ.get(name)]
    if missing:
        pytest.fail(f"{host_var} is set, so these must be too: {', '.join(missing)}")
    molecule = _molecule()
    env = dict(os.environ)  # molecule runs ansible-config and ansible-playbook from PATH: put its own bin first
    env["PATH"] = os.pathsep.join([str(Path(molecule).parent), env.get("PATH", "")])
    env.update(NO_COLOR="1", PY_COLORS="0", ANSIBLE_NOCOLOR="1")  # plain text in the failure message
    proc = subprocess.run(
        [molecule, "test", "-s", "windows"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, f"molecule test -s windows failed:\n{proc.stdout[-20000:]}\n{proc.stderr[-5000:]}"
