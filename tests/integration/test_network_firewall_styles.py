"""The flow probe tells a hole in the firewall from a closed port, whatever the router's firewall style.

For each style the lab's router can take (the lab option OOB_LAB_ROUTER_DENY: drop, reject-tcp-reset, reject-icmp),
playbooks/network.yml loads the port matrix and verify.yml's probes pass; then this test - not the project - inserts
an accept for TCP 3389 to the service point at the top of the project's own nftables table with nft. Nothing
listens on 3389 at the service point, so the probe now gets the service point's own reset: network_ports must fail,
naming the port, and verify must exit non-zero. The expected requirement id, port and addresses are written here.
"""

from __future__ import annotations

import json

import pytest
from labutil import ROOT, ansible_playbook, labconfig, netns_run

ROUTER = f"{labconfig.PREFIX}-rtr"
SP = labconfig.SERVICE_POINT["ip"]
AMT_SOURCE = labconfig.AMT_HOSTS["amt1"]
ROUTER_AMT_SIDE = labconfig.ROUTER_AMT_IP
# what the probes from the AMT subnet read for a port outside the matrix, per style: ICMP code 13 comes from the
# router's own address on the AMT side (RFC 1812 5.2.7.1); a forged reset arrives with the router's hop count (0),
# the service point's own answers with its (1: TTL 64 - one router)
EVIDENCE = {
    "drop": "no answer: dropped on the way",
    "reject-tcp-reset": f"TCP reset from {SP}, TTL 64 (0 hops): forged in {SP}'s name",
    "reject-icmp": f"ICMP unreachable admin-prohibited (type 3 code 13) from {ROUTER_AMT_SIDE}, TTL 64: refused by "
    f"{ROUTER_AMT_SIDE}",
}


def report() -> dict:
    return json.loads((ROOT / "reports" / "lab" / "latest" / "readiness.json").read_text())


def requirement(rid: str) -> dict:
    return next(r for r in report()["requirements"] if r["id"] == rid)


def outside_3389(req: dict) -> str:
    return next(e for e in req["evidence"] if f"outside-matrix:{SP}:3389:" in e and f"from {AMT_SOURCE}" in e)


@pytest.fixture()
def style(lab, request, monkeypatch):
    monkeypatch.setenv("OOB_LAB_ROUTER_DENY", request.param)
    proc = ansible_playbook("playbooks/network.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    yield request.param
    monkeypatch.delenv("OOB_LAB_ROUTER_DENY")
    proc = ansible_playbook("playbooks/network.yml")  # back to the lab's default style (drop)
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.parametrize("style", list(EVIDENCE), indirect=True)
def test_a_hole_outside_the_matrix_fails_network_ports_for_every_firewall_style(style):
    listing = netns_run(ROUTER, "nft", "list", "chain", "inet", "oob_prep", "forward").stdout
    if style == "drop":
        assert "reject" not in listing
    else:
        assert ("reject with tcp reset" in listing) == (style == "reject-tcp-reset")
        assert "reject with icmp admin-prohibited" in listing

    proc = ansible_playbook("playbooks/verify.yml", "--tags", "area::network")
    assert proc.returncode == 0, proc.stdout[-4000:]
    req = requirement("network_ports")
    assert req["status"] == "pass", req
    assert EVIDENCE[style] in outside_3389(req) and outside_3389(req).startswith("PASS")

    # the hole, made with nft by the test: an accept for TCP 3389 to the service point above the matrix's rules
    hole = ["insert", "rule", "inet", "oob_prep", "forward", "ip", "daddr", SP, "tcp", "dport", "3389", "accept"]
    assert netns_run(ROUTER, "nft", *hole).returncode == 0
    proc = ansible_playbook("playbooks/verify.yml", "--tags", "area::network")
    assert proc.returncode != 0, proc.stdout[-4000:]
    req = requirement("network_ports")
    assert req["status"] == "fail", req
    evidence = outside_3389(req)
    assert evidence.startswith("FAIL") and f"TCP port 3389 reached {SP} itself" in evidence, evidence
    assert f"TCP reset from {SP}, TTL 63 (1 hops): sent by {SP} itself" in evidence, evidence
    # only the hole fails: 22, 445 and 16994 are still stopped before the service point
    failed = [e for e in req["evidence"] if e.startswith("FAIL")]
    assert len(failed) == 1, failed
