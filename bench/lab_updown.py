"""Benchmark: lab up (cold, from nothing) and down, wall time, N rounds. Goal: up <= 20 s, down <= 2 s.

It takes the lab down to start from nothing, and leaves it up at the end if it was up before (and says so)."""

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


def lab_is_up() -> bool:
    return subprocess.run([*LAB, "status"], capture_output=True, text=True).returncode == 0


def main(rounds: int = 3) -> int:
    was_up = lab_is_up()
    print(f"lab_updown: the lab was {'up' if was_up else 'down'}; it goes down and up {rounds} times", file=sys.stderr)
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
    if was_up:
        timed("up")
    report["lab_left"] = "up" if was_up else "down"
    print(json.dumps(report))
    return 0 if report["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
