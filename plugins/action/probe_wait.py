# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin oob.prep.probe_wait: wait for one probe started in the background (``async``, ``poll: 0``), give
its result, and remove the job's result file from the host (plugins/modules/probe_wait.py documents it).

It reads the job's result file on the host the probe ran on (the task is delegated there) with one shell command per
look (``cat``), until the job has finished or ``timeout`` has passed, then removes the file (``rm -f``), so that a
verify run every hour leaves nothing behind in the async directory. The file is what Ansible's async_wrapper writes
(JSON, replaced whole by a rename) and what ansible.builtin.async_status reads; the result is read the way
async_status's is (Ansible's own module-result parsing), without a module process per look: on a POSIX host a look
costs a shell command, not a Python start-up and a module build (about 0.2 s each). On a host whose shell is not
POSIX it asks async_status, as before. One task execution per probe, and no "FAILED - RETRYING" line per poll.
"""

from __future__ import annotations

import json
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.vars.clean import remove_internal_keys

SPEC = {
    "job": {"type": "dict", "required": True},
    "timeout": {"type": "float", "default": 600.0},
    "delay": {"type": "float", "default": 0.1},
}
BOOKKEEPING = ("results_file", "started", "invocation", "stdout_lines", "stderr_lines")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True  # reads the job's result; removes only the file the probe's start wrote
    _VALID_ARGS = frozenset(SPEC)

    def _status(self, jid: str, mode: str, async_dir: str, task_vars: dict) -> dict:
        """What ansible.builtin.async_status answers for the job (mode status or cleanup)."""
        shell = self._connection._shell
        if getattr(shell, "SHELL_FAMILY", "") == "powershell":
            args = {"jid": jid, "mode": mode, "_async_dir": async_dir}
            return self._execute_module("ansible.legacy.async_status", module_args=args, task_vars=task_vars)
        path = shell.join_path(async_dir, jid)
        if mode == "cleanup":
            res = self._low_level_execute_command(f"rm -f -- {shell.quote(path)}", sudoable=True)
            if res["rc"] != 0:
                return {"failed": True, "msg": f"could not remove {path}: {res.get('stderr', '').strip()}"}
            return {"ansible_job_id": jid, "erased": path}
        return self._read_job(jid, path)

    def _read_job(self, jid: str, path: str) -> dict:
        """The job's result file read with one shell command, answered as async_status answers."""
        quoted = self._connection._shell.quote(path)
        # exit 0: the file's text follows; 3: there is no file; anything else: it could not be read (the error)
        res = self._low_level_execute_command(f"if [ -e {quoted} ]; then cat -- {quoted}; else exit 3; fi",
                                              sudoable=True)  # fmt: skip
        gone = {"ansible_job_id": jid, "started": True, "finished": True, "failed": True}
        if res["rc"] == 3:
            return {**gone, "msg": "could not find job"}
        if res["rc"] != 0:
            return {**gone, "msg": f"could not read {path}: {res.get('stderr', '').strip()}"}
        text = res.get("stdout", "")
        try:
            json.loads(text)
        except ValueError:  # not written yet: the job is running (as async_status reads it)
            return {"results_file": path, "ansible_job_id": jid, "started": True, "finished": False}
        data = self._parse_returned_data({"stdout": text, "stderr": "", "rc": 0}, "legacy")
        remove_internal_keys(data)
        if "started" not in data:
            data.update(finished=True, ansible_job_id=jid)
        elif "finished" not in data:
            data["finished"] = False
        return data

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
