# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin oob.prep.estate: validate the estate once and derive its values for the roles (the role oob_estate).

Runs on the controller only (no module is transferred). The logic is plugins/module_utils/estate/spec.py; the
estate's keys and defaults are read from roles/oob_estate/meta/argument_specs.yml, beside this plugin in the
collection, so they are written once.
"""

from __future__ import annotations

from pathlib import Path

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.vars import transform_to_native_types
from ansible_collections.oob.prep.plugins.module_utils.estate.spec import SPEC_FILE, check_estate, spec_options

# plugins/action/estate.py -> the collection's root
SPEC_PATH = Path(__file__).resolve().parents[2] / SPEC_FILE


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset()

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        result["changed"] = False
        try:
            options = spec_options(transform_to_native_types(self._loader.load_from_file(str(SPEC_PATH))))
        except (AnsibleError, ValueError) as exc:
            return {
                **result,
                "failed": True,
                "msg": f"oob.prep.estate cannot read the estate's spec {SPEC_PATH}: {exc}",
            }

        values, problems = {}, []
        for name in options:
            if name in task_vars:
                try:
                    # plain Python values (vaulted ones decrypted): the validator's messages name plain types
                    values[name] = transform_to_native_types(self._templar.template(task_vars[name]), redact=False)
                except AnsibleError as exc:  # an undefined variable, a vault that does not open: name the estate key
                    problems.append(f"{name} cannot be templated: {exc.message}")
        # The inventory's and the extra vars' oob_* names are checked by the first validation of a run; a later one
        # (each playbook of site.yml starts with it) also sees the roles' registered results, which are host variables.
        first = "oob_estate_checked" not in task_vars
        hostvars = task_vars.get("hostvars") or {}

        def roles_of(name):
            return hostvars[name].get("oob_windows_roles") if name in hostvars else None

        found, facts = check_estate(
            options,
            values,
            variable_names=[name for name in task_vars if name.startswith("oob_")] if first else None,
            groups=task_vars.get("groups") or {},
            roles_of=roles_of,
        )
        problems.extend(found)
        if problems:
            result.update(
                failed=True, msg=f"The estate has {len(problems)} problem(s):\n" + "\n".join(f"- {p}" for p in problems)
            )
            return result
        # the facts hold the estate's secrets (the roles need them): the result is not shown, the facts are set
        result.update(ansible_facts=facts, msg="The estate is valid", _ansible_no_log=True)
        return result
