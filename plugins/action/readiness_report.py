# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin oob.prep.readiness_report: write the readiness report (plugins/modules/readiness_report.py documents
it).

The report is the run's output on the controller (``oob_controller`` is ``localhost``): when the task runs there
(connection ``local``), the report is made and written in this process, with the module's own code
(plugins/module_utils/report/write.py) and argument spec, instead of building the module, starting a Python for it
and reading its answer back (about 0.4 s of every verify, check and converge run). On any other connection the module
runs on that host, as a module does.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.vars import transform_to_native_types
from ansible_collections.oob.prep.plugins.module_utils.checks import failure
from ansible_collections.oob.prep.plugins.module_utils.report.write import ReportError, argument_spec, make_report


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        if self._connection.transport != "local":
            result.update(self._execute_module(module_name="oob.prep.readiness_report", task_vars=task_vars))
            return result
        args = transform_to_native_types(self._task.args, redact=False)
        checked = ArgumentSpecValidator(argument_spec()).validate(args)
        if checked.error_messages:
            return {**result, "failed": True, "msg": "; ".join(checked.error_messages), "error": "input"}
        try:
            result.update(make_report(checked.validated_parameters, bool(self._task.check_mode)))
        except (ValueError, ReportError) as exc:  # worded as the module's run_and_exit words them
            return {**result, "failed": True, **failure(exc)}
        return result
