# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin oob.prep.probe_wait: wait for one probe started in the background (``async``, ``poll: 0``), give
its result, and remove the job's result file from the host (plugins/modules/probe_wait.py documents it).

It asks ansible.builtin.async_status on the host the probe ran on (the task is delegated there) until the job has
finished or ``timeout`` has passed, then runs async_status in cleanup mode, so that a verify run every hour leaves
nothing behind in the async directory. One task execution per probe, and no "FAILED - RETRYING" line per poll.
"""

from __future__ import annotations

import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

SPEC = {
    "job": {"type": "dict", "required": True},
    "timeout": {"type": "float", "default": 600.0},
    "delay": {"type": "float", "default": 0.25},
}
BOOKKEEPING = ("results_file", "started", "invocation", "stdout_lines", "stderr_lines")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True  # reads the job's result; removes only the file the probe's start wrote
    _VALID_ARGS = frozenset(SPEC)

    def _status(self, jid: str, mode: str, async_dir: str, task_vars: dict) -> dict:
        args = {"jid": jid, "mode": mode, "_async_dir": async_dir}
        return self._execute_module(module_name="ansible.legacy.async_status", module_args=args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        checked = ArgumentSpecValidator(SPEC).validate(self._task.args)
        if checked.error_messages:
            return {**result, "failed": True, "msg": "oob.prep.probe_wait: " + "; ".join(checked.error_messages)}
        p = checked.validated_parameters
        jid = p["job"].get("ansible_job_id")
        if not jid:
            msg = "the probe was not started, so there is nothing to wait for (job: no ansible_job_id)"
            return {**result, "failed": True, "finished": True, "msg": msg}
        if p["timeout"] <= 0 or p["delay"] <= 0:
            return {**result, "failed": True, "msg": "oob.prep.probe_wait: timeout and delay must be more than 0"}
        # where the start wrote the job's file (the wrapper expands ~ with the host's HOME, which may not be the
        # account's home directory that Ansible's own expansion gives); the configured directory otherwise
        results_file = p["job"].get("results_file")
        if results_file and "/" in results_file:
            async_dir = results_file.rsplit("/", 1)[0]
        else:
            async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        deadline = time.monotonic() + p["timeout"]
        while True:
            status = self._status(jid, "status", async_dir, task_vars)
            if status.get("finished") or status.get("unreachable") or time.monotonic() >= deadline:
                break
            time.sleep(p["delay"])
        done = bool(status.get("finished"))
        if done and status.get("msg") != "could not find job":
            cleanup = self._status(jid, "cleanup", async_dir, task_vars)
            result["cleaned"] = not cleanup.get("failed")
        else:
            result["cleaned"] = False
        if not done and not status.get("unreachable"):
            msg = f"the probe started in the background had not finished after {p['timeout']:g} s"
            status = {"failed": True, "msg": msg}
        result.update({k: v for k, v in status.items() if k not in BOOKKEEPING})
        result.update(ansible_job_id=jid, finished=done, changed=False)
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
