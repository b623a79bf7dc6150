"""Unit-test harness: the project's plugins importable as Ansible sees them, and module mains drivable.

This repository is the collection ``oob.prep``: ``collections/ansible_collections/oob/prep`` links back to it
(scripts/collections makes the link), so with ``collections/`` on sys.path the plugins import each other as Ansible
loads them (``from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import ...``), and
``plugins/modules`` goes on sys.path so a test can ``import ad_container`` and drive its ``main()``.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils import basic

ROOT = Path(__file__).resolve().parents[1]
# ansible-test units (scripts/units) runs these tests in a copy laid out as ansible_collections/oob/prep/
IN_COLLECTION_LAYOUT = ROOT.parent.name == "oob" and ROOT.parents[1].name == "ansible_collections"
sys.path.insert(0, str(ROOT.parents[2] if IN_COLLECTION_LAYOUT else ROOT / "collections"))
sys.path.insert(0, str(ROOT / "plugins" / "modules"))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "plugins" / "modules"))  # the test doubles: fakedc, fakekea, ...
LINKED = (ROOT / "collections" / "ansible_collections" / "oob" / "prep" / "galaxy.yml").exists()
if not IN_COLLECTION_LAYOUT and not LINKED:
    raise SystemExit(
        "collections/ansible_collections/oob/prep does not link to this repository: run scripts/collections"
    )

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # pragma: no cover - older cores are not supported by this project
    patch_module_args = None


class ModuleExit(Exception):
    """exit_json was called: .result holds what the module returned."""

    def __init__(self, result: dict):
        super().__init__(json.dumps(result, default=str))
        self.result = result


class ModuleFail(ModuleExit):
    """fail_json was called."""


@pytest.fixture()
def run_module(monkeypatch):
    """Run a module's main() with the given args; returns ('exit'|'fail', result)."""

    def _exit(self, **kwargs):
        raise ModuleExit(kwargs)

    def _fail(self, msg, **kwargs):
        kwargs["msg"] = msg
        raise ModuleFail(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail)

    def run(main, args: dict):
        if patch_module_args is None:
            pytest.skip("ansible-core >= 2.19 is required for patch_module_args")
        with patch_module_args(args):
            try:
                main()
            except ModuleFail as exc:
                return "fail", exc.result
            except ModuleExit as exc:
                return "exit", exc.result
        raise AssertionError("the module returned without exit_json or fail_json")

    return run


@pytest.fixture(scope="session", autouse=True)
def _collections_for_subprocesses():
    """Under ansible-test units, ANSIBLE_COLLECTIONS_PATH names the bare collection tree; the playbooks and commands a
    test runs need the project's collections/ (oob.prep and the collections it uses), as in a checkout. Set per worker,
    after ansible-test's collection loader is in place (changing it before that would move the collection's path)."""
    if not IN_COLLECTION_LAYOUT:
        yield
        return
    old = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / "collections")
    yield
    if old is None:
        os.environ.pop("ANSIBLE_COLLECTIONS_PATH", None)
    else:
        os.environ["ANSIBLE_COLLECTIONS_PATH"] = old


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: SIGTERM when the process that started it ends


@pytest.fixture(scope="session")
def child_process():
    """subprocess.Popen for a long-running helper (a simulator) that ends with the test process that started it.
    ansible-test units runs each test in a fork that exits without tearing down module fixtures: without this, each
    test would leave its simulator running, holding its addresses."""

    def start(cmd: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(cmd, preexec_fn=_die_with_parent, **kwargs)  # noqa: PLW1509 - prctl only

    return start


@pytest.fixture(scope="session")
def built_once(tmp_path_factory):
    """``built_once(name, build)``: a folder that ``build(folder)`` fills once per test run, for fixtures that make
    certificates with openssl. ansible-test units forks a process per test, so a session or module fixture is built
    again for every test; under pytest-xdist (PYTEST_XDIST_TESTRUNUID, the same in every worker of one run) the first
    process builds the folder and the others reuse it (a lock and a marker). Without xdist: a plain tmp folder."""

    def get(name: str, build) -> Path:
        run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        if not run:
            folder = tmp_path_factory.mktemp(name)
            build(folder)
            return folder
        base = ROOT / ".cache" / "test-builds" / run
        base.mkdir(parents=True, exist_ok=True)
        folder = base / name
        with open(base / f"{name}.lock", "w", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / ".built").exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                build(folder)
                (folder / ".built").touch()
        return folder

    return get
