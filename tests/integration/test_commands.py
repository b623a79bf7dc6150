"""Every command that `make demo` prints runs as printed, in a fresh shell: no .venv on PATH, no variables set but
what a login shell has (issue: the drift command printed by the demo failed with "ansible-playbook: command not
found"). The commands run against the lab, in the order a user follows them."""

from __future__ import annotations

import os
import re
import subprocess

from labutil import ROOT

FRESH_SHELL = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": os.environ["HOME"],
               "LANG": "C.UTF-8"}  # fmt: skip


def sh(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env=FRESH_SHELL, capture_output=True, text=True,
                          timeout=900)  # fmt: skip


def printed_commands() -> list[str]:
    """The commands the demo target prints after it ran (its @echo lines), read from the Makefile."""
    demo = re.search(r"^demo:.*?\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    return re.findall(r'@echo "[^"]*?:\s+(make [a-z-]+)"', demo)


def test_the_demo_and_the_commands_it_prints_run_in_a_fresh_shell(lab):
    commands = printed_commands()
    assert commands == ["make check", "make converge", "make verify", "make remediate", "make lab-down"], commands
    demo = sh("make demo")
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
    for command in commands[:-1]:  # make lab-down would end the lab the other tests use: dry-run it
        proc = sh(command)
        assert proc.returncode == 0, f"{command}:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
        if command == "make check":  # right after the demo converged: no drift
            assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s", proc.stdout), proc.stdout[-3000:]
    dry = sh("make -n lab-down")
    assert dry.returncode == 0 and "lab/lab.py down" in dry.stdout
