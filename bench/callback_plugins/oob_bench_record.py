"""Callback for the benchmarks (bench/side_by_side.py): records every task result of a playbook run as JSON.

Enabled only by the bench (ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins, ANSIBLE_CALLBACKS_ENABLED=
oob_bench_record, OOB_BENCH_RECORD=<file>). For each task result it keeps the play (index, host pattern), the task,
the action, the host, the host the task was delegated to, the loop items (with their delegated hosts), the status,
and, for the project's LDAP modules, the arguments and the ``ldap_operations`` they report.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: oob_bench_record
type: aggregate
short_description: records task results for bench/side_by_side.py
description: Writes one JSON document with every task result to the file named by OOB_BENCH_RECORD.
requirements: [enabled in the bench's environment only]
"""

LDAP_MODULES = ("ad_container", "ad_cert_template", "ad_pki_info", "dns_provision_info")


def _ops(result: dict) -> list:
    """Every ldap_operations dict in a result (ad_container reports one per domain under containers)."""
    found = []

    def walk(value, where):
        if isinstance(value, dict):
            for key, sub in value.items():
                if key == "ldap_operations":
                    found.append({"where": where, "ops": sub})
                else:
                    walk(sub, f"{where}.{key}" if where else key)
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                walk(sub, f"{where}[{i}]")

    walk(result, "")
    return found


def _delegated(result):
    """(host, connection) the task ran on when delegated, else None. Callbacks see only ansible_host and
    ansible_connection of the delegated host's variables; the task's delegate_to names it otherwise."""
    task = result._task
    if not task.delegate_to:
        return None
    dvars = result._result.get("_ansible_delegated_vars") or {}
    return {"host": dvars.get("ansible_host") or str(task.delegate_to), "connection": dvars.get("ansible_connection")}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "oob_bench_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.plays: list[dict] = []
        self.items: dict[tuple, list] = {}

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"name": play.get_name(), "hosts": play.hosts, "results": []})

    def v2_runner_item_on_ok(self, result):
        self._item(result, "ok")

    def v2_runner_item_on_failed(self, result):
        self._item(result, "failed")

    def v2_runner_item_on_skipped(self, result):
        self._item(result, "skipped")

    def _item(self, result, status):
        delegated = _delegated(result)
        key = (result._host.get_name(), result._task._uuid)
        self.items.setdefault(key, []).append({"status": status, "delegated_to": delegated})

    def _record(self, result, status):
        res = result._result
        task = result._task
        host = result._host.get_name()
        delegated = _delegated(result)
        entry = {
            "task": task.get_name(),
            "uuid": task._uuid,
            "action": task.action,
            "host": host,
            "delegated_to": delegated,
            "status": status,
            "changed": bool(res.get("changed")),
            "items": self.items.pop((host, task._uuid), None) if "results" in res else None,
        }
        short = task.action.rsplit(".", 1)[-1]
        if short in LDAP_MODULES or '"ldap_operations"' in json.dumps(res, default=str):
            entry["ldap_operations"] = _ops(res)
            entry["module_args"] = (res.get("invocation") or {}).get("module_args")
            entry["item_calls"] = [
                (r.get("invocation") or {}).get("module_args") for r in res.get("results") or [] if isinstance(r, dict)
            ]
        if status == "failed":
            entry["msg"] = str(res.get("msg", ""))[:500]
        if self.plays:
            self.plays[-1]["results"].append(entry)

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("OOB_BENCH_RECORD")
        if not path:
            return
        summary = {h: stats.summarize(h) for h in sorted(stats.processed)}
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"plays": self.plays, "stats": summary}, handle, indent=1)
