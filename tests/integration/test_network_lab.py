"""oob_network against the lab's router (nftables in its namespace) and flow probes from a host of each source role.

The ruleset is read back with nft itself in the router's namespace, and rules are removed or tables added by hand
with nft (not with the project's modules). The flows' ports come from the seed's Network Requirements rows.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from labutil import ansible_module, ansible_playbook, labconfig, netns_run

ROUTER = f"{labconfig.PREFIX}-rtr"
AMT = sorted(labconfig.AMT_HOSTS.values())
SP, CONSOLE = labconfig.SERVICE_POINT["ip"], labconfig.CONSOLE["ip"]
# The seed: "TCP 9971" AMT -> service point; "TCP 16992", "TCP 16993" service point -> AMT; "TCP 16993", "TCP 16995"
# console -> AMT. Ports outside the matrix that the issue names: 16994, 3389, 22, 445.
SEED = {"amt": {(SP, 9971)}, "service_point": {(a, p) for a in AMT for p in (16992, 16993)},
        "console": {(a, p) for a in AMT for p in (16993, 16995)}}  # fmt: skip
OUTSIDE = (16994, 3389, 22, 445)
HOSTS = {
    "amt": f"{labconfig.PREFIX}-amt1",
    "service_point": f"{labconfig.PREFIX}-sp",
    "console": f"{labconfig.PREFIX}-con",
}
MATRIX = {"service_point": SP, "consoles": [CONSOLE], "amt_subnets": [labconfig.AMT_NET], "amt_addresses": AMT,
          "closed_ports": list(OUTSIDE)}  # fmt: skip


def ruleset_hash() -> str:
    proc = netns_run(ROUTER, "nft", "-s", "list", "ruleset")  # -s: without the drop rules' counters
    assert proc.returncode == 0, proc.stderr
    return hashlib.sha256(proc.stdout.encode()).hexdigest()


def probe(source: str) -> dict:
    res = ansible_module(HOSTS[source], "network_flow_probe", {"matrix": {"source": source, **MATRIX}, "timeout": 1})
    assert not res.get("failed"), res
    return {(r["dest"], r["port"]): r["status"] for r in res["results"]}


def changed(proc) -> int:
    return int(re.search(r"oobp-rtr\s+: ok=\d+\s+changed=(\d+)", proc.stdout).group(1))


@pytest.fixture(scope="module")
def converged(lab):
    proc = ansible_playbook("playbooks/network.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    return lab


@pytest.mark.parametrize("source", list(SEED))
def test_every_flow_passes_and_ports_outside_the_matrix_are_filtered(converged, source):
    seen = probe(source)
    assert {k for k, v in seen.items() if v == "open"} == SEED[source]
    dests = {d for d, _ in SEED[source]}
    assert {(d, p): seen[(d, p)] for d in dests for p in OUTSIDE} == {
        (d, p): "filtered" for d in dests for p in OUTSIDE
    }


def test_a_rule_removed_by_hand_fails_that_flow_a_check_run_writes_nothing_and_the_next_run_restores_it(converged):
    listing = netns_run(ROUTER, "nft", "-a", "list", "chain", "inet", "oob_prep", "forward").stdout
    handle = re.search(r'comment "oob-prep sp-discovery" # handle (\d+)', listing).group(1)
    assert netns_run(ROUTER, "nft", "delete", "rule", "inet", "oob_prep", "forward", "handle", handle).returncode == 0
    seen = probe("service_point")
    assert {k for k, v in seen.items() if v == "open"} == {(a, 16993) for a in AMT}  # exactly 16992 is gone
    assert {seen[(a, 16992)] for a in AMT} == {"filtered"}
    before = ruleset_hash()
    check = ansible_playbook("playbooks/network.yml", "--check", "--diff")
    assert check.returncode == 0 and changed(check) == 1, check.stdout[-3000:]
    assert "sp-discovery" in check.stdout and ruleset_hash() == before
    fix = ansible_playbook("playbooks/network.yml")
    assert fix.returncode == 0 and changed(fix) == 1, fix.stdout[-3000:]
    assert {k for k, v in probe("service_point").items() if v == "open"} == SEED["service_point"]


def test_a_second_run_changes_nothing_and_the_routers_other_tables_survive(converged):
    for cmd in (["add", "table", "inet", "handmade"], ["add", "chain", "inet", "handmade", "input"]):
        assert netns_run(ROUTER, "nft", *cmd).returncode == 0
    try:
        again = ansible_playbook("playbooks/network.yml")
        assert again.returncode == 0 and changed(again) == 0, again.stdout[-3000:]
        tables = netns_run(ROUTER, "nft", "list", "tables").stdout.split("\n")
        assert {"table inet handmade", "table inet oobp_filter", "table inet oob_prep"} <= set(tables)
    finally:
        netns_run(ROUTER, "nft", "delete", "table", "inet", "handmade")


def test_verify_proves_the_matrix_and_a_check_run_of_it_writes_nothing(converged):
    before = ruleset_hash()
    proc = ansible_playbook("playbooks/verify.yml", "--tags", "area::network")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "oobp-amt1 (amt)" in proc.stdout and "oobp-con (console)" in proc.stdout
    assert ruleset_hash() == before
