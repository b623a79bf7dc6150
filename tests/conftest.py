"""Unit-test harness: the project's plugins importable as Ansible sees them, and module mains drivable.

This repository is the collection ``oob.prep``: ``collections/ansible_collections/oob/prep`` links back to it
(scripts/collections makes the link), so with ``collections/`` on sys.path the plugins import each other as Ansible
loads them (``from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import ...``), and
``plugins/modules`` goes on sys.path so a test can ``import ad_container`` and drive its ``main()``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ansible.module_utils import basic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "collections"))
sys.path.insert(0, str(ROOT / "plugins" / "modules"))
if not (ROOT / "collections" / "ansible_collections" / "oob" / "prep" / "galaxy.yml").exists():
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
