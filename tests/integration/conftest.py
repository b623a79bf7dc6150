"""Integration tests run against the live lab (lab/lab.py). They bring it up when it is down; `make test` tears it
down at the end."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labutil import ROOT, ansible_playbook, labconfig, ldaps  # noqa: E402

# a login shell's environment: no .venv on PATH, no variable of the project set
FRESH_SHELL = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": os.environ["HOME"],
               "LANG": "C.UTF-8"}  # fmt: skip
# shown as an admin (and AWX at a raised verbosity) shows a run: -vvv with diffs, every task's arguments, the set_stats
# data. Settings of Ansible's own, read from the environment; the commands stay the ones the demo prints.
LOUD = {"ANSIBLE_VERBOSITY": "3", "ANSIBLE_DIFF_ALWAYS": "1", "ANSIBLE_DISPLAY_ARGS_TO_STDOUT": "1",
        "ANSIBLE_SHOW_CUSTOM_STATS": "1"}  # fmt: skip
LATEST = ROOT / "reports" / "lab" / "latest"


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


def sh(command: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """A command as a user types it in a fresh shell, from the project folder."""
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env={**FRESH_SHELL, **(extra_env or {})},
                          capture_output=True, text=True, timeout=900)  # fmt: skip


def demo_commands() -> list[str]:
    """The commands the demo target prints after it ran (its @echo lines), read from the Makefile."""
    demo = re.search(r"^demo:.*?\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    return re.findall(r'@echo "[^"]*?:\s+(make [a-z-]+)"', demo)


def report_files() -> dict[str, str]:
    """Every file under reports/ and artifacts/ (path relative to the project -> text)."""
    found = {}
    for folder in ("reports", "artifacts"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and not path.is_symlink():
                found[str(path.relative_to(ROOT))] = path.read_text(errors="replace")
    return found


@dataclass
class Run:
    command: str
    proc: subprocess.CompletedProcess
    report: str | None  # the readiness.json the run wrote (None: it wrote none), read at once: reports are pruned


@dataclass
class DemoRuns:
    demo: Run
    commands: dict[str, Run]  # printed command -> its run, in the order printed (make lab-down only dry-run)
    written: set[str] = field(default_factory=set)  # files under reports/ and artifacts/ that the loud runs wrote


@pytest.fixture(scope="session")
def demo_runs(lab) -> DemoRuns:
    """`make demo`, then every command it prints, each once in a fresh shell, in the order a user follows them; the
    printed commands at -vvv with diffs (LOUD). Shared by the tests that read these runs (tests/integration:
    test_commands, test_no_secret_lab, test_task_count_lab) instead of each running the same playbooks again."""

    def run(command: str, extra_env: dict | None = None) -> Run:
        before = os.readlink(LATEST) if LATEST.is_symlink() else None
        proc = sh(command, extra_env)
        moved = LATEST.is_symlink() and os.readlink(LATEST) != before
        return Run(command, proc, (LATEST / "readiness.json").read_text() if moved else None)

    demo = run("make demo")
    if demo.proc.returncode != 0:
        pytest.fail(f"make demo failed:\n{demo.proc.stdout[-4000:]}\n{demo.proc.stderr[-2000:]}")
    before = set(report_files())
    commands = {}
    for command in demo_commands():
        if command == "make lab-down":  # it would end the lab the other tests use: dry-run it
            commands[command] = run("make -n lab-down")
        else:
            commands[command] = run(command, LOUD)
    return DemoRuns(demo, commands, set(report_files()) - before)
