# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module of this collection in the controller's own process, where the task runs on the controller anyway.

The modules that speak to external systems (LDAP, DNS, Kea, WinRM, the AMT trust list) run on the controller
(``oob_controller`` is ``localhost``, connection ``local``, the controller's own Python). Run as a module, each task
builds an AnsiballZ payload, starts a Python for it and reads its answer back: about 0.4 s of every such task, most of
a no-op run. Where nothing would differ, the action plugin of each such module calls the module's ``main()`` in the
task's worker process instead (a process Ansible forks for this one task and ends after it): the same code, the same
arguments with the same internal ``_ansible_*`` keys (check mode, diff, no_log, verbosity), the module's output read
back with Ansible's own parser. ansible.netcommon does the same for network modules ("direct execution"), and
ansible-core 2.19 keeps AnsibleModule's output hook for it (docs/adr/0012).

It runs the module, not this, wherever anything could differ:
- the connection is not ``local`` (another host, a network namespace of the lab, WinRM);
- the host's Python (``ansible_python_interpreter``) is not the controller's own, or is left to discovery;
- the task is async or uses become (the module would run apart, or as another user).

A task's ``environment`` is set in this process's environment while the module runs, as a module's shell would.

``-vvv`` names the path taken for each task.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import shutil
import sys
import tempfile
import traceback

from ansible import constants as C
from ansible.module_utils import basic
from ansible.module_utils.common import json as module_json
from ansible.module_utils.common import warnings as module_warnings
from ansible.plugins.action import ActionBase
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash
from ansible.vars.clean import remove_internal_keys

display = Display()

PROFILE = "legacy"  # the serialization profile Ansible gives a module that declares none (every module here)


class ControllerModuleAction(NormalAction):
    """The action plugin of a module that runs on the controller: the module's ``main()`` here, or the module as
    ansible.builtin.normal runs it (this class's parent)."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        name = self._task.resolved_action or self._task.action
        why = self.elsewhere(task_vars)
        host = task_vars.get("inventory_hostname")
        if why:
            display.vvv(f"{name}: the module runs on the host ({why})", host=host)
            return super().run(tmp, task_vars)
        display.vvv(f"{name}: the module's main() runs in the controller's process", host=host)
        return merge_hash(ActionBase.run(self, tmp, task_vars), self.run_here(name, task_vars))

    def elsewhere(self, task_vars: dict) -> str:
        """Why the module must run as a module (empty: it runs here)."""
        if self._connection.transport != "local":
            return f"connection {self._connection.transport}"
        if self._task.async_val:
            return "async"
        if self._play_context.become:
            return "become"
        interpreter = task_vars.get("ansible_python_interpreter")
        if interpreter is None:
            return "its Python is left to discovery"
        interpreter = str(self._templar.template(interpreter)).strip()
        if os.path.realpath(interpreter) != os.path.realpath(sys.executable):
            return f"its Python {interpreter} is not the controller's {sys.executable}"
        return ""

    def run_here(self, name: str, task_vars: dict) -> dict:
        """The module's main() in this process, with the arguments and internal keys a module would get; its output
        read with Ansible's parser, as a module's is."""
        environment: dict = {}
        self._compute_environment_string(environment)  # the task's, its block's, role's and play's, templated
        args = dict(self._task.args)
        self._update_module_args(name, args, task_vars)
        # The module's temporary directory (AnsibleModule.tmpdir) is made here, in the run's own local tmp, and removed
        # after the call, as _remove_tmp_path removes the host's. Left to the module, it would make one under
        # remote_tmp and remove it at exit (atexit), which a worker process never runs.
        tmpdir = tempfile.mkdtemp(prefix="ansible-tmp-in-process-", dir=C.DEFAULT_LOCAL_TMP)
        args["_ansible_tmpdir"] = tmpdir
        encoder = module_json.get_module_encoder(PROFILE, module_json.Direction.CONTROLLER_TO_MODULE)
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": args}, cls=encoder).encode()
        saved = (basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE, basic._PARSED_MODULE_ARGS)
        saved_events = (dict(module_warnings._global_warnings), dict(module_warnings._global_deprecations))
        module_warnings._global_warnings.clear()  # a loop runs each item in this one process: no item's warnings
        module_warnings._global_deprecations.clear()  # are another's
        out, err = io.StringIO(), io.StringIO()
        rc = 0
        saved_environ = {key: os.environ.get(key) for key in environment}
        try:
            os.environ.update({str(k): str(v) for k, v in environment.items()})
            basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE = payload, PROFILE
            module = importlib.import_module(self._module_path(name))
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                module.main()
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # a module here ends in exit_json/fail_json; anything else is a bug in it
            return {
                "failed": True,
                "msg": f"{name} failed in the controller's process: {type(exc).__name__}: {exc}",
                "exception": traceback.format_exc(),
            }
        finally:
            if not C.DEFAULT_KEEP_REMOTE_FILES:
                shutil.rmtree(tmpdir, ignore_errors=True)
            for key, value in saved_environ.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE, basic._PARSED_MODULE_ARGS = saved
            module_warnings._global_warnings.clear()
            module_warnings._global_warnings.update(saved_events[0])
            module_warnings._global_deprecations.clear()
            module_warnings._global_deprecations.update(saved_events[1])
        data = self._parse_returned_data({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}, PROFILE)
        remove_internal_keys(data)
        return data

    @staticmethod
    def _module_path(name: str) -> str:
        """oob.prep.ad_container -> ansible_collections.oob.prep.plugins.modules.ad_container"""
        namespace, collection, module = name.split(".")
        return f"ansible_collections.{namespace}.{collection}.plugins.modules.{module}"
