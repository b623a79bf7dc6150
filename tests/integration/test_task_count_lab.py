"""Fewer task executions, the same verdicts (issue 22): a run of site.yml validates the estate once, imports the roles
without a second argument validation, and in a check run verify.yml takes the container's read and the rendered
matrix from the converge plays instead of doing them again. After a real converge verify reads the container again.

Counted from ansible-playbook's own output (TASK headers, the recap) of `make converge` and `make check` as the demo
prints them (run once for the session by demo_runs, conftest.py); the verdicts from the check run's report.
"""

from __future__ import annotations

import json
import re

CONTAINER = "TASK [oob.prep.oob_ad_container : Ensure the AMT container"
RENDER = "TASK [oob.prep.oob_network : Render the port matrix"
ESTATE = "TASK [oob.prep.oob_estate : "


def recap(out: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for line in out[out.rfind("PLAY RECAP") :].splitlines()[1:]:
        if "ok=" in line:
            host, counts = line.split(":", 1)
            hosts[host.strip()] = {k: int(v) for k, v in (f.split("=") for f in counts.split())}
    return hosts


def test_a_check_run_validates_once_and_reads_nothing_twice(demo_runs):
    converge = demo_runs.commands["make converge"].proc
    assert converge.returncode == 0, converge.stdout[-3000:]
    # a real converge: the estate once, the container read by ad.yml and again by verify.yml (it may have changed)
    assert converge.stdout.count(ESTATE) == 2, converge.stdout  # the plugin and its set_fact
    assert converge.stdout.count(CONTAINER) == 2 and converge.stdout.count(RENDER) == 1
    assert "Validating arguments against arg spec" not in converge.stdout

    check = demo_runs.commands["make check"].proc
    assert check.returncode == 0, check.stdout[-3000:]
    assert check.stdout.count(ESTATE) == 2 and check.stdout.count(CONTAINER) == 1
    assert check.stdout.count(RENDER) == 1
    counts = recap(check.stdout)
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts
    executions = {h: c["ok"] + c["skipped"] for h, c in counts.items()}
    # 54 before issue 22; 30 before the probes ran in the background: their starts and waits add 4 executions and
    # the 3 skipped "start here" guards, and take about 6 s off the run (docs/performance.md, figure e)
    assert executions["localhost"] <= 35, executions
    # the verdicts are the ones read: the container's and the matrix's rows are there and pass
    report = demo_runs.commands["make check"].report
    assert report, "the check run wrote no report"
    status = {r["id"]: r["status"] for r in json.loads(report)["requirements"]}
    assert status["ad_container"] == "pass" and status["network_ports"] == "pass", status
    assert re.search(r"ad\.container\.lab\.example", report)
