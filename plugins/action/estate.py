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
        # The marker is set with set_fact (never cached, so never from an earlier run); facts (from a fact cache) are
        # never taken for the inventory's variables.
        first = "oob_estate_checked" not in task_vars
        fact_names = set(task_vars.get("ansible_facts") or {})
        hostvars = task_vars.get("hostvars") or {}
        # the host's variables as the inventory and the extra vars set them (and facts, registered results) - not the
        # play's vars, which are the playbooks' own (remediate.yml gives verify.yml oob_report_fail: false)
        me = task_vars.get("inventory_hostname")
        names = list(hostvars[me].keys()) if me in hostvars else list(task_vars)

        def roles_of(name):
            return hostvars[name].get("oob_windows_roles") if name in hostvars else None

        found, facts = check_estate(
            options,
            values,
            variable_names=[n for n in names if n.startswith("oob_") and n not in fact_names] if first else None,
            groups=task_vars.get("groups") or {},
            roles_of=roles_of,
        )
        problems.extend(found)
        if problems:
            result.update(
                failed=True, msg=f"The estate has {len(problems)} problem(s):\n" + "\n".join(f"- {p}" for p in problems)
            )
            return result
        # the values hold the estate's secrets (the roles need them): the result is not shown, and they are returned as
        # a result, not as facts (the role sets them with set_fact, which keeps them out of any fact cache)
        result.update(estate=facts, msg="The estate is valid", _ansible_no_log=True)
        return result
