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

import os
import shutil
import tempfile
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit
from ansible_collections.oob.prep.plugins.module_utils.report.html import to_html
from ansible_collections.oob.prep.plugins.module_utils.report.readiness import (
    document,
    results,
    summary_lines,
    to_json,
    to_junit,
)

NAMES = {"json": "readiness.json", "junit": "readiness.junit.xml", "html": "readiness.html", "summary": "summary.txt"}
STAMP = "%Y%m%dT%H%M%SZ"


class ReportError(Exception):
    kind = "write"


def argument_spec() -> dict:
    return dict(
        checks=dict(type="list", elements="dict", required=True),
        notes=dict(type="dict", default={}),
        environment=dict(type="str", required=True),
        dest=dict(type="path", required=True),
        keep=dict(type="int", default=30),
        run_check_mode=dict(type="bool", default=False),
        port_matrix=dict(type="list", elements="dict", default=[]),
        amt=dict(type="dict", default={}),
    )


def _write(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _prune(dest: str, keep: int) -> list[str]:
    if keep <= 0:
        return []
    runs = sorted(n for n in os.listdir(dest) if len(n) == len("20260101T000000Z") and n.endswith("Z")
                  and os.path.isdir(os.path.join(dest, n)))  # fmt: skip
    old = runs[:-keep]
    for name in old:
        shutil.rmtree(os.path.join(dest, name))
    return old


def write(dest: str, stamp: str, texts: dict, keep: int) -> tuple[str, list[str]]:
    """Write one run's files into dest/<stamp>/ and point dest/latest at it; returns (run folder, pruned)."""
    run_dir = os.path.join(dest, stamp)
    os.makedirs(run_dir, exist_ok=True)
    for kind, text in texts.items():
        _write(os.path.join(run_dir, NAMES[kind]), text)
    link, tmp = os.path.join(dest, "latest"), os.path.join(dest, f".latest-{os.getpid()}")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(stamp, tmp)
    os.replace(tmp, link)
    return run_dir, _prune(dest, keep)


def run(module: AnsibleModule) -> dict:
    p = module.params
    if p["keep"] < 0:
        raise ValueError("keep must be 0 (keep all) or more")
    now = datetime.now(timezone.utc)  # noqa: UP017 - the module may run on Pythons older than 3.11
    rows = results(p["checks"], notes=p["notes"])
    meta = {"environment": p["environment"], "generated": now.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "check_mode": p["run_check_mode"]}  # fmt: skip
    doc = document(rows, meta, p["port_matrix"], p["amt"])
    run_dir = os.path.join(p["dest"], now.strftime(STAMP))
    lines = summary_lines(doc, os.path.join(run_dir, NAMES["html"]))
    texts = {"json": to_json(doc), "junit": to_junit(doc), "html": to_html(doc), "summary": "\n".join(lines) + "\n"}
    pruned = []
    if not module.check_mode:
        try:
            run_dir, pruned = write(p["dest"], now.strftime(STAMP), texts, p["keep"])
        except OSError as exc:
            raise ReportError(f"cannot write the report under {p['dest']}: {exc.strerror or exc}") from None
    return {
        "changed": False,  # the report is this run's output on the controller, not a change to the estate
        "overall": doc["overall"],
        "totals": doc["totals"],
        "requirements": rows,
        "failed_requirements": [r["id"] for r in rows if r["status"] == "fail"],
        "summary_lines": lines,
        "report_dir": run_dir,
        "files": {k: os.path.join(run_dir, n) for k, n in NAMES.items()},
        "pruned": pruned,
    }


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_and_exit(module, run, (ReportError,))


if __name__ == "__main__":
    main()
