#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: readiness_report
short_description: Write the readiness report, one result per requirement of the seed (JSON, JUnit XML, HTML)
description:
  - Takes the check rows of every read-only module of a run (C(id), C(row), C(status), C(evidence), C(remedy)) and
    gives one result per requirement of Microsoft's external dependencies for ConfigMgr 2007 SP1 out of band
    management - a stable id, the seed's words, V(pass), V(fail), V(warn) or V(skip), the evidence and the remedy (the
    playbook and tag that fix it).
  - A requirement is as bad as its worst check, and a skipped check is not a pass. A requirement with no check in
    the run is V(skip) with the reason from O(notes); a requirement that no role of oob-prep checks is V(fail)
    (not implemented), so the report never overstates.
  - Writes, into a new folder under O(dest) named after the time of the run, C(readiness.json), C(readiness.junit.xml)
    (one testcase per requirement), C(readiness.html) (one self-contained page) and C(summary.txt) (the one-screen
    summary), then points the symlink C(latest) at that folder. Older run folders beyond O(keep) are removed.
  - Writes only on the host it runs on (the controller), never to the estate; C(changed) is always false (the
    report is the run's output, so an idempotent run stays C(changed=0)).
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.report
options:
  checks:
    description: The check rows of the run, from every read-only module (their C(checks) return value).
    type: list
    elements: dict
    required: true
  notes:
    description: Why a requirement has no check in this run, by requirement id (for example, no Windows host).
    type: dict
    default: {}
  environment:
    description: The environment's name (the inventory's folder name), shown in the report and used in no path.
    type: str
    required: true
  dest:
    description: The folder that holds this environment's reports; created when missing.
    type: path
    required: true
  keep:
    description: How many run folders to keep under O(dest) (the newest); V(0) keeps all.
    type: int
    default: 30
  run_check_mode:
    description: Whether the run that made the checks was a check run (recorded in the report).
    type: bool
    default: false
  port_matrix:
    description: The port matrix with the estate's addresses (C(network_flow_rules)' C(matrix)), for the page.
    type: list
    elements: dict
    default: []
  amt:
    description: The AMT discovery result (C(amt_discovery)' C(devices) and C(summary)), for the page.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Writes nothing; returns the results and the paths it would write.
  diff_mode:
    support: none
    description: The report is written whole; there is no diff.
notes:
  - The report is the run's output on the controller (C(oob_controller) is C(localhost)). There, on the connection
    C(local) with the controller's Python, its action plugin runs this module's main() in the controller's own process
    (no module build and no Python start-up per run; docs/adr/0012); on any other connection this module runs on
    that host.
seealso:
  - name: The seed
    description: Microsoft's table of external dependencies for out of band management (../shared/seeds/).
    link: https://learn.microsoft.com/previous-versions/system-center/configuration-manager-2007/cc161785(v=technet.10)
"""

EXAMPLES = r"""
- name: Write the readiness report
  readiness_report:
    checks: "{{ pki.checks + dns.checks + dhcp.checks }}"
    notes:
      winrm: no Windows host in the inventory
    environment: production
    dest: "{{ playbook_dir }}/../reports/production"
  register: report
"""

RETURN = r"""
overall:
  description: V(fail) when a requirement failed, V(warn) when one warned, else V(pass).
  returned: always
  type: str
totals:
  description: Requirements per status, and their number.
  returned: always
  type: dict
  sample: {pass: 17, warn: 1, fail: 0, skip: 4, total: 22}
requirements:
  description: One result per requirement - id, section (the seed's table row), topic, requirement, owner, status,
    counts, evidence, remedy, scope, windows_only, checks.
  returned: always
  type: list
  elements: dict
failed_requirements:
  description: The ids of the requirements that failed.
  returned: always
  type: list
  elements: str
summary_lines:
  description: The one-screen summary.
  returned: always
  type: list
  elements: str
report_dir:
  description: The folder of this run's report (not written in check mode).
  returned: always
  type: str
files:
  description: The files of this run's report, by kind (json, junit, html, summary).
  returned: always
  type: dict
pruned:
  description: The older run folders removed (O(keep)).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit
from ansible_collections.oob.prep.plugins.module_utils.report.write import ReportError, argument_spec, make_report


def run(module: AnsibleModule) -> dict:
    return make_report(module.params, module.check_mode)


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_and_exit(module, run, (ReportError,))


if __name__ == "__main__":
    main()
