"""network.flow_checks without sockets: network_flow_probe's settings, its targets (flows, the port matrix's flows
from one role, destinations x ports), the counts, and the check rows from results. The expected flows are the seed's
(consoles -> AMT on TCP 16993 and 16995; AMT -> service point on TCP 9971); addresses are documentation ones (RFC
5737). Through main(), with real connects, they are in tests/unit/plugins/modules/test_network_flow_probe.py."""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.network.flow_checks import (
    check_params,
    check_rows,
    matrix_flows,
    tally,
    targets,
)

SP, CONSOLE, AMT1, AMT2 = "198.51.100.20", "198.51.100.30", "203.0.113.11", "203.0.113.12"
SETTINGS = {"timeout": 1.0, "concurrency": 256, "source_address": None}
PARAMS = {"flows": [], "destinations": [], "ports": [], "expect": None, "id": "probe", "row": "network_ports",
          "max_targets": 65536, "matrix": None}  # fmt: skip


# ------------------------------------------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timeout": 0}, "timeout must be more than 0 and at most 60 seconds, not 0"),
        ({"timeout": 60.5}, "timeout must be more than 0 and at most 60 seconds, not 60.5"),
        ({"concurrency": 0}, "concurrency must be at least 1"),
        ({"source_address": "sp1"}, "source_address 'sp1' is not an IPv4 address"),
        (
            {"source_address": "2001:db8::1"},
            "source_address 2001:db8::1 is IPv6; out of band management uses IPv4 only",
        ),
    ],
)
def test_bad_settings_are_refused(change, message):
    with pytest.raises(ValueError) as err:
        check_params({**SETTINGS, **change})
    assert str(err.value) == message


def test_the_source_address_as_text_or_none():
    assert check_params(SETTINGS) is None
    assert check_params({**SETTINGS, "source_address": " 198.51.100.20 ", "timeout": 60}) == SP


# ------------------------------------------------------------------------------------------------- the matrix


def matrix(**change) -> dict:
    return {"source": "console", "service_point": SP, "consoles": [CONSOLE], "amt_subnets": ["203.0.113.0/24"],
            "amt_addresses": [AMT1, AMT2], "closed_ports": [16994], **change}  # fmt: skip


def test_from_a_console_each_amt_computer_on_16993_and_16995_and_the_closed_ports_blocked():
    flows = matrix_flows(matrix())
    assert [(f["id"], f["dest"], f["port"], f["expect"]) for f in flows] == [
        ("console-management-tls", AMT1, 16993, "open"),
        ("console-management-tls", AMT2, 16993, "open"),
        ("console-redirection-tls", AMT1, 16995, "open"),
        ("console-redirection-tls", AMT2, 16995, "open"),
        ("outside-matrix", AMT1, 16994, "blocked"),
        ("outside-matrix", AMT2, 16994, "blocked"),
    ]
    assert {(f["proto"], f["row"]) for f in flows} == {("tcp", "network_ports")}
    assert flows[-1]["seed"] == "" and flows[0]["seed"].startswith("From computers running the out of band management")


def test_from_an_amt_computer_the_service_point_on_9971():
    flows = matrix_flows(matrix(source="amt", closed_ports=[]))
    assert [(f["id"], f["dest"], f["port"], f["expect"]) for f in flows] == [("amt-provisioning", SP, 9971, "open")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amt_addresses": ["198.51.100.9"]}, "matrix.amt_addresses: 198.51.100.9 is in none of matrix.amt_subnets"),
        (
            {"amt_subnets": ["203.0.113.0/24", "192.0.2.0/24"]},
            "matrix.amt_addresses: no AMT computer inside 192.0.2.0/24 to probe console-management-tls with",
        ),
        ({"closed_ports": [0]}, "matrix.closed_ports: port 0 is outside 1-65535"),
    ],
)
def test_a_matrix_that_cannot_be_probed_is_refused(change, message):
    with pytest.raises(ValueError) as err:
        matrix_flows(matrix(**change))
    assert message in str(err.value)


# ------------------------------------------------------------------------------------------------------ targets


def test_flows_and_destinations_as_targets_exactly_the_addresses_given():
    p = {**PARAMS, "flows": [{"id": "sp", "dest": "192.0.2.0/30", "port": 16992, "row": "network_ports",
                              "seed": "text", "expect": "open"}],
         "destinations": ["192.0.2.8/31", "192.0.2.20"], "ports": [443, 443, 80], "id": "other",
         "expect": "closed"}  # fmt: skip
    got = targets(p)
    # a /30 stands for its 2 host addresses, a /31 for both of its addresses, a port given twice is probed once
    assert [(t["id"], t["dest"], t["port"], t["seed"], t["expect"]) for t in got] == [
        ("sp", "192.0.2.1", 16992, "text", "open"), ("sp", "192.0.2.2", 16992, "text", "open"),
        ("other", "192.0.2.8", 443, "", "closed"), ("other", "192.0.2.9", 443, "", "closed"),
        ("other", "192.0.2.20", 443, "", "closed"),
        ("other", "192.0.2.8", 80, "", "closed"), ("other", "192.0.2.9", 80, "", "closed"),
        ("other", "192.0.2.20", 80, "", "closed"),
    ]  # fmt: skip
    assert got[0] == {"id": "sp", "dest": "192.0.2.1", "port": 16992, "proto": "tcp", "row": "network_ports",
                      "seed": "text", "expect": "open"}  # fmt: skip


def test_the_matrix_targets_follow_the_flows():
    got = targets({**PARAMS, "matrix": matrix(source="amt", closed_ports=[16992])})
    assert [(t["id"], t["dest"], t["port"], t["expect"]) for t in got] == [
        ("amt-provisioning", SP, 9971, "open"), ("outside-matrix", SP, 16992, "blocked")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_targets": 0}, "max_targets must be at least 1"),
        (
            {"destinations": ["192.0.2.0/29"], "ports": [1, 2], "max_targets": 10},
            "12 targets (addresses x ports), more than max_targets=10: probe smaller subnets or the AMT computers' own "
            "addresses, or raise max_targets",
        ),
        ({"ports": [80]}, "destinations and ports go together"),
        ({}, "nothing to probe: give flows, matrix, or destinations and ports"),
    ],
)
def test_targets_that_cannot_be_probed_are_refused(change, message):
    with pytest.raises(ValueError) as err:
        targets({**PARAMS, **change})
    assert message in str(err.value)


# ---------------------------------------------------------------------------------------------- counts and rows


def test_every_status_is_counted_and_each_answerer():
    results = [{"status": "open", "answered_by": "destination"}, {"status": "refused", "answered_by": "destination"},
               {"status": "refused", "answered_by": "firewall"},
               {"status": "filtered", "answered_by": "nobody"}]  # fmt: skip
    assert tally(results) == {
        "summary": {"open": 1, "refused": 2, "filtered": 1, "unreachable": 0, "error": 0},
        "answered_by": {"destination": 2, "firewall": 1, "nobody": 1},
    }
    assert tally([]) == {"summary": {"open": 0, "refused": 0, "filtered": 0, "unreachable": 0, "error": 0},
                         "answered_by": {}}  # fmt: skip


def result(expect, status, detail="", **more) -> dict:
    return {"id": "f", "dest": AMT1, "port": 16994, "row": "network_ports", "expect": expect, "status": status,
            "detail": detail, "source": SP, **more}  # fmt: skip


OPEN_REMEDY = ("allow this flow on every router and firewall between this host and the destination (the rules that "
               "network_flow_rules renders), and check that the destination listens")  # fmt: skip


def test_expected_open_and_closed():
    rows = check_rows([
        result("open", "open"),
        result("open", "filtered", "no answer within 1 s", evidence="no answer (nobody)"),
        result("closed", "refused", "ECONNREFUSED", source=""),
        result("closed", "open"),
        result(None, "open"),
    ])  # fmt: skip
    assert rows == [
        {"id": f"f:{AMT1}:16994", "row": "network_ports", "status": "pass",
         "evidence": f"TCP {AMT1}:16994 from {SP} is open; expected open", "remedy": ""},
        {"id": f"f:{AMT1}:16994", "row": "network_ports", "status": "fail",
         "evidence": f"TCP {AMT1}:16994 from {SP} is filtered (no answer within 1 s); no answer (nobody); expected "
                     "open",
         "remedy": OPEN_REMEDY},
        {"id": f"f:{AMT1}:16994", "row": "network_ports", "status": "pass",
         "evidence": f"TCP {AMT1}:16994 from this host is refused (ECONNREFUSED); expected closed", "remedy": ""},
        {"id": f"f:{AMT1}:16994", "row": "network_ports", "status": "fail",
         "evidence": f"TCP {AMT1}:16994 from {SP} is open; expected closed",
         "remedy": "this flow is not in the port matrix: drop it on the router or firewall in between"},
    ]  # fmt: skip


def test_expected_blocked_passes_only_when_stopped_before_the_destination():
    seen = f"TCP {AMT1}:16994 from {SP} is refused (ECONNREFUSED)"
    dropped, rejected, reached, untold = check_rows([
        result("blocked", "filtered", "no answer within 1 s", answered_by="nobody"),
        result("blocked", "refused", "ECONNREFUSED", answered_by="firewall"),
        result("blocked", "refused", "ECONNREFUSED", answered_by="destination", gateway="198.51.100.1"),
        result("blocked", "refused", "ECONNREFUSED", answered_by="unknown"),
    ])  # fmt: skip
    assert (dropped["status"], dropped["evidence"]) == (
        "pass",
        f"TCP {AMT1}:16994 from {SP} is filtered (no answer within 1 s); expected blocked: stopped before {AMT1}",
    )
    assert (rejected["status"], rejected["evidence"]) == ("pass", f"{seen}; expected blocked: stopped before {AMT1}")
    device = f"the router or firewall between {SP} and {AMT1} (this host sends through 198.51.100.1)"
    assert reached == {
        "id": f"f:{AMT1}:16994", "row": "network_ports", "status": "fail",
        "evidence": f"{seen}; expected blocked, but TCP port 16994 reached {AMT1} itself: {device} let it through",
        "remedy": f"TCP 16994 from {SP} to {AMT1} is outside the port matrix: find the rule on {device} that accepts "
                  "it (a rule above the matrix's, another table or policy) and remove it, or load the matrix's rules "
                  "(playbooks/network.yml)",
    }  # fmt: skip
    assert untold == {
        "id": f"f:{AMT1}:16994", "row": "network_ports", "status": "warn",
        "evidence": f"{seen}; expected blocked, but who answered cannot be told",
        "remedy": "run the probe as root (raw sockets read the answers), or from a host with an open port of the same "
                  "destination to compare hop counts with",
    }  # fmt: skip
