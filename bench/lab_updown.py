"""Benchmark: lab up (cold, from nothing) and down, wall time, N rounds. Goal: up <= 20 s, down <= 2 s."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

LAB = [sys.executable, str(Path(__file__).resolve().parents[1] / "lab" / "lab.py")]


def timed(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([*LAB, *args], check=True, capture_output=True)
    return time.perf_counter() - t0


def main(rounds: int = 3) -> int:
    timed("down")
    ups, downs = [], []
    for _ in range(rounds):
        ups.append(timed("up"))
        downs.append(timed("down"))
    report = {
        "rounds": rounds,
        "up_s": {"median": round(statistics.median(ups), 2), "max": round(max(ups), 2)},
        "down_s": {"median": round(statistics.median(downs), 2), "max": round(max(downs), 2)},
    }
    report["goal_met"] = max(ups) <= 20 and max(downs) <= 2
    print(json.dumps(report))
    return 0 if report["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
