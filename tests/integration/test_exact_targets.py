"""Exactly the addresses given: twelve AMT devices on twelve adjacent addresses, given one by one as an admin pastes
them from a CMDB, are all found - by amt_discovery (event loop, scanner processes, SYN scan), by the oob_amt
inventory plugin, and by network_flow_probe - through Ansible itself (the modules run from AnsiballZ zips, the
scanner processes from their own interpreter).

The devices are the project's AMT simulator (lab/standins/amt_sim.py) on loopback addresses of the controller, so
no lab namespace is needed. The expected addresses are spelled out here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from labutil import ROOT, ansible_module

ADDRESSES = [f"127.0.3.{n}" for n in range(131, 143)]  # .131-.142: collapsed, .132/30 and .136/30 would lose four


@pytest.fixture(scope="module")
def devices(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exact")
    config = tmp / "devices.json"
    config.write_text(json.dumps({"devices": [{"address": a, "version": "6.2.10"} for a in ADDRESSES]}))
    proc = subprocess.Popen([sys.executable, str(ROOT / "lab" / "standins" / "amt_sim.py"), "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"the AMT simulator stopped: {proc.stderr.read()[-2000:]}")
            if json.loads(line).get("event") == "ready":
                break
        else:
            pytest.fail("the AMT simulator was not ready within 20 s")
        yield tmp
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(
    "extra",
    [{"processes": 1}, {"processes": 2}, {"scan_method": "syn"}],
    ids=["event loop", "scanner processes", "syn"],
)
def test_amt_discovery_finds_every_adjacent_device(devices, extra):
    res = ansible_module("localhost", "amt_discovery", {"targets": ADDRESSES, "timeout": 1, **extra})
    assert res.get("failed") is not True, res
    assert [d["address"] for d in res["devices"]] == ADDRESSES
    assert {d["version"] for d in res["devices"]} == {"6.2.10"}
    assert res["scanned"] == 12


def test_the_inventory_plugin_lists_every_adjacent_device(devices):
    source = devices / "amt.oob_amt.yml"
    source.write_text(
        json.dumps({"plugin": "oob.prep.oob_amt", "targets": [f"{a}/32" for a in ADDRESSES], "timeout": 1})
    )
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-inventory"), "-i", str(source), "--list"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    hosts = json.loads(proc.stdout)["_meta"]["hostvars"]
    assert sorted(hosts, key=lambda h: int(h.rsplit(".", 1)[1])) == ADDRESSES, sorted(hosts)


def test_network_flow_probe_probes_every_address_once(devices):
    res = ansible_module("localhost", "network_flow_probe",
                         {"destinations": [*ADDRESSES, ADDRESSES[0]], "ports": [16992], "expect": "open"})  # fmt: skip
    assert res.get("failed") is not True, res
    assert [(r["dest"], r["status"]) for r in res["results"]] == [(a, "open") for a in ADDRESSES]
    assert res["targets"] == 12 and res["failed_checks"] == []
