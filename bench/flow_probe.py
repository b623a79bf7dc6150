"""Benchmark: network_flow_probe over a whole /24 of the AMT subnet x 4 AMT ports (1016 targets), from the service
point's namespace through the lab router, with the port matrix loaded (playbooks/network.yml, run first). Goal: seconds,
not minutes (<= 10 s). The 3 AMT placeholders answer on the ports the matrix allows; every other target is dropped by
the router (filtered) and costs one timeout, so the time is about timeout x targets / concurrency.

It runs the module inside the namespace the way a playbook does (the oob_netns connection), rounds times, and prints
the median; it changes nothing in the lab but loading the matrix (which site.yml does too)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import labconfig  # noqa: E402
from labutil import ansible_module, ansible_playbook  # noqa: E402


def main(rounds: int = 3) -> int:
    proc = ansible_playbook("playbooks/network.yml")
    if proc.returncode != 0:
        print(proc.stdout[-3000:], file=sys.stderr)
        return 1
    args = {"destinations": [labconfig.AMT_NET], "ports": [16992, 16993, 16994, 16995], "timeout": 1,
            "concurrency": 1024}  # fmt: skip
    walls, module_s, summary = [], [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        res = ansible_module(f"{labconfig.PREFIX}-sp", "network_flow_probe", args)
        walls.append(time.perf_counter() - t0)
        module_s.append(res["elapsed_s"])
        summary = res["summary"]
    report = {
        "targets": sum(summary.values()),
        "statuses": summary,
        "module_s": {"median": round(statistics.median(module_s), 2), "max": round(max(module_s), 2)},
        "ansible_wall_s": {"median": round(statistics.median(walls), 2), "max": round(max(walls), 2)},
        "concurrency": args["concurrency"],
        "timeout_s": args["timeout"],
    }
    report["goal_met"] = max(module_s) <= 10
    print(json.dumps({"flow_probe": report}, indent=2))
    return 0 if report["goal_met"] else 1


if __name__ == "__main__":
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    sys.exit(main())
