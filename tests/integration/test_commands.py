"""Every command that `make demo` prints runs as printed, in a fresh shell: no .venv on PATH, no variables set but
what a login shell has, and Ansible's own verbosity settings (issue: the drift command printed by the demo failed with
"ansible-playbook: command not found"). The commands run against the lab, in the order a user follows them: once, in
the session's demo_runs (conftest.py), which other tests read too."""

from __future__ import annotations

import os
import re

from conftest import demo_commands


def test_the_demo_and_the_commands_it_prints_run_in_a_fresh_shell(demo_runs):
    commands = demo_commands()
    assert commands == ["make check", "make converge", "make verify", "make remediate", "make lab-down"], commands
    assert list(demo_runs.commands) == commands
    demo = demo_runs.demo.proc
    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-2000:]
    assert "Find drift (writes nothing):  make check" in demo.stdout
    # the demo ends with the readiness report: a one-screen summary and where the report is
    tail = demo.stdout[demo.stdout.rindex("PLAY RECAP") :]
    summary = re.search(r"^Readiness of lab: (PASS|WARN) - .* of (\d+) requirements$", tail, re.M)
    assert summary, tail[-3000:]
    assert len(re.findall(r"^  (ok  |part|WARN|FAIL|skip) +\d+ [a-z0-9_]+", tail, re.M)) == int(summary.group(2))
    report = re.search(r"^  (/\S+/reports/lab/latest/readiness\.html)", tail, re.M)
    assert report and os.path.isfile(report.group(1)), tail[-3000:]
    assert len(tail.splitlines()) <= 50, f"more than one screen: {len(tail.splitlines())} lines"
    for command in commands[:-1]:
        proc = demo_runs.commands[command].proc
        assert proc.returncode == 0, f"{command}:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
        if command == "make check":  # right after the demo converged: no drift
            assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s", proc.stdout), proc.stdout[-3000:]
    dry = demo_runs.commands["make lab-down"]
    assert dry.command == "make -n lab-down" and dry.proc.returncode == 0 and "lab/lab.py down" in dry.proc.stdout
