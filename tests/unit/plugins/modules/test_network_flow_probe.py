"""network_flow_probe's main(): real TCP on 127.0.0.1 (open, refused), and, in throw-away network namespaces (root;
skipped with the reason otherwise), a firewall that drops (filtered), one that rejects with host-unreachable and a
missing route (unreachable), and a /24 x 4 ports against a blackhole. Nothing leaves the machine: loopback, or
namespaces with documentation addresses and no default route."""

from __future__ import annotations

import os
import socket

import network_flow_probe
import pytest
from ansible_collections.oob.prep.plugins.module_utils.network import flow_probe
from netns_topology import Namespaces, inside, need_root


@pytest.fixture()
def listening():
    """A TCP port that accepts on 127.0.0.1, and one that nothing listens on."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # bound and released: nothing listens there now
    yield server.getsockname()[1], closed_port
    server.close()


def test_open_and_refused_with_checks(run_module, listening):
    open_port, closed_port = listening
    flows = [
        {"id": "amt-provisioning", "dest": "127.0.0.1", "port": open_port, "expect": "open", "seed": "From the AMT..."},
        {"id": "sp-discovery", "dest": "127.0.0.1", "port": closed_port, "expect": "open", "row": "network_ports"},
        {"id": "not-in-matrix", "dest": "127.0.0.1", "port": closed_port, "expect": "closed"},
        {"id": "report-only", "dest": "127.0.0.1", "port": open_port},
    ]
    status, res = run_module(network_flow_probe.main, {"flows": flows, "_ansible_check_mode": True})
    assert status == "exit" and res["changed"] is False, res
    assert [(r["id"], r["status"]) for r in res["results"]] == [
        ("amt-provisioning", "open"), ("sp-discovery", "refused"), ("not-in-matrix", "refused"), ("report-only", "open")
    ]  # fmt: skip
    assert res["results"][0]["seed"] == "From the AMT..." and res["results"][1]["detail"] == "ECONNREFUSED"
    assert res["summary"] == {"open": 2, "refused": 2, "filtered": 0, "unreachable": 0, "error": 0}
    assert [(c["id"], c["status"]) for c in res["checks"]] == [
        (f"amt-provisioning:127.0.0.1:{open_port}", "pass"),
        (f"sp-discovery:127.0.0.1:{closed_port}", "fail"),
        (f"not-in-matrix:127.0.0.1:{closed_port}", "pass"),
    ]
    [failed] = res["failed_checks"]
    assert (
        failed["row"] == "network_ports" and "is refused (ECONNREFUSED); TCP reset from 127.0.0.1" in failed["evidence"]
    )
    assert "allow this flow" in failed["remedy"]


def test_destinations_times_ports_and_subnets(run_module, listening):
    open_port, closed_port = listening
    status, res = run_module(network_flow_probe.main, {"destinations": ["127.0.0.0/30", "127.0.0.1", "127.0.0.3"],
                                                       "ports": [open_port, closed_port], "id": "lo"})  # fmt: skip
    assert status == "exit", res
    # a /30 stands for its two host addresses (127.0.0.0/8 is all loopback; the listener is on .1 only); .1, given
    # twice, is probed once; .3, the /30's broadcast address given alone, is probed
    assert [(r["dest"], r["port"], r["status"]) for r in res["results"]] == [
        ("127.0.0.1", open_port, "open"), ("127.0.0.2", open_port, "refused"), ("127.0.0.3", open_port, "refused"),
        ("127.0.0.1", closed_port, "refused"), ("127.0.0.2", closed_port, "refused"),
        ("127.0.0.3", closed_port, "refused"),
    ]  # fmt: skip
    assert res["targets"] == 6
    assert res["checks"] == [] and {r["id"] for r in res["results"]} == {"lo"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"flows": [{"id": "x", "dest": "127.0.0.1", "port": 0}]}, "flows[0] (x): port 0 is outside 1-65535"),
        ({"destinations": ["127.0.0.1"], "ports": [65536]}, "ports[0]: port 65536 is outside 1-65535"),
        ({"flows": [{"id": "x", "dest": "::1", "port": 80}]}, "flows[0] (x): dest ::1 is an IPv6 address"),
        ({"destinations": ["2001:db8::/64"], "ports": [80]}, "destinations[0] 2001:db8::/64 is an IPv6 subnet"),
        ({"destinations": ["127.0.0.1"], "ports": [80], "source_address": "::1"}, "source_address ::1 is IPv6"),
        ({"destinations": ["203.0.113.7/24"], "ports": [80]}, "203.0.113.7/24 is not a network: its host bits"),
        (
            {"destinations": ["amt1.lab.example"], "ports": [80]},
            "destinations[0] 'amt1.lab.example' is not an IPv4 address or a subnet",
        ),
        (
            {"destinations": ["10.0.0.0/8"], "ports": [16992]},
            "16777214 targets (addresses x ports), more than max_targets=65536",
        ),
        (
            {"destinations": ["203.0.113.0/24"], "ports": [1, 2], "max_targets": 300},
            "508 targets (addresses x ports), more than max_targets=300",
        ),
        ({"destinations": ["127.0.0.1"]}, "destinations and ports go together"),
        ({}, "nothing to probe"),
        ({"destinations": ["127.0.0.1"], "ports": [80], "timeout": 0}, "timeout must be more than 0"),
        ({"destinations": ["127.0.0.1"], "ports": [80], "concurrency": 0}, "concurrency must be at least 1"),
    ],
)
def test_bad_input_sends_nothing(run_module, monkeypatch, params, message):
    monkeypatch.setattr(flow_probe, "probe", lambda *a, **k: pytest.fail("a probe was sent"))
    status, res = run_module(network_flow_probe.main, params)
    assert status == "fail" and message in res["msg"], res
    assert res["error"] == "input"


def test_a_source_address_this_host_does_not_have(run_module):
    status, res = run_module(network_flow_probe.main, {"destinations": ["127.0.0.1"], "ports": [9],
                                                       "source_address": "192.0.2.99"})  # fmt: skip
    assert status == "fail" and res["error"] == "probe"
    assert res["msg"] == ("source_address 192.0.2.99 cannot be used here: Cannot assign requested address; give one "
                          "of this host's addresses")  # fmt: skip


def test_concurrency_fits_the_targets_and_the_limits():
    assert flow_probe.fit_concurrency(256, 3) == 3
    assert flow_probe.fit_concurrency(100000, 100000) <= flow_probe.MAX_CONCURRENCY


# ------------------------------------------------------------------------------------------- throw-away namespaces

FIREWALL = """table inet blackhole {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\ttcp dport 9 drop
\t\ttcp dport 10 reject with icmp type host-unreachable
\t}
}
"""


@pytest.fixture()
def host():
    """A namespace with loopback and a firewall on it, and a route for 192.0.2.0/24 to a second namespace that
    forwards nothing (a blackhole: what it gets is dropped without an answer)."""
    need_root("nft")
    ns = Namespaces("probe")
    try:
        h, sink = ns.add("h"), ns.add("sink")
        ns.run("h", "nft", "-f", "-", text_input=FIREWALL)
        ns.run("h", "ip", "link", "add", "h0", "type", "veth", "peer", "name", "s0", "netns", sink)
        ns.run("h", "ip", "addr", "add", "198.51.100.1/30", "dev", "h0")
        ns.run("sink", "ip", "addr", "add", "198.51.100.2/30", "dev", "s0")
        ns.run("h", "ip", "link", "set", "h0", "up")
        ns.run("sink", "ip", "link", "set", "s0", "up")
        ns.run("h", "ip", "route", "add", "192.0.2.0/24", "via", "198.51.100.2")
        ns.run("sink", "sysctl", "-qw", "net.ipv4.ip_forward=0")
        assert h and sink
        yield ns
    finally:
        ns.close()


def test_filtered_and_unreachable(run_module, host):
    own = os.stat("/proc/thread-self/ns/net").st_ino
    flows = [
        {"id": "dropped", "dest": "127.0.0.1", "port": 9, "expect": "closed"},
        {"id": "rejected", "dest": "127.0.0.1", "port": 10, "expect": "open"},
        {"id": "no-route", "dest": "203.0.113.20", "port": 9971, "expect": "open"},
    ]
    with inside(host["h"]):
        status, res = run_module(network_flow_probe.main, {"flows": flows, "timeout": 0.5})
    assert status == "exit", res
    assert [(r["status"], r["detail"]) for r in res["results"]] == [
        ("filtered", "no answer within 0.5 s"), ("unreachable", "EHOSTUNREACH"), ("unreachable", "ENETUNREACH")
    ]  # fmt: skip
    assert [c["status"] for c in res["checks"]] == ["pass", "fail", "fail"]
    assert os.stat("/proc/thread-self/ns/net").st_ino == own  # back in our own namespace


def test_a_slash_24_times_4_ports_takes_seconds(run_module, host):
    """1016 targets, a 1 s timeout, nothing answering: 4 rounds of 256."""
    ports = [9971, 16992, 16993, 16995]
    with inside(host["h"]):
        status, res = run_module(network_flow_probe.main, {"destinations": ["192.0.2.0/24"], "ports": ports})
    assert status == "exit", res
    assert len(res["results"]) == 254 * 4 and res["concurrency"] == 256
    assert res["summary"] == {"open": 0, "refused": 0, "filtered": 1016, "unreachable": 0, "error": 0}
    assert res["elapsed_s"] < 10, res["elapsed_s"]
    print(f"\n/24 x 4 ports, timeout 1 s, concurrency 256: {res['elapsed_s']} s")


def test_an_amt_address_outside_the_amt_subnets_is_refused(run_module):
    matrix = {"source": "console", "service_point": "127.0.0.20", "consoles": ["127.0.0.21"],
              "amt_subnets": ["127.0.0.0/29"], "amt_addresses": ["127.0.0.9"], "closed_ports": [16994]}  # fmt: skip
    status, res = run_module(network_flow_probe.main, {"matrix": matrix})
    assert status == "fail" and "in none of matrix.amt_subnets" in res["msg"], res


def test_the_matrix_from_a_console_probes_16993_and_16995_on_each_amt_computer_and_closed_ports(run_module):
    """The seed's console flows (TCP 16993, 16995 to AMT) from role console, on loopback stand-ins for an AMT host."""
    servers = []
    for port in (16993, 16995):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.2", port))
        except OSError as exc:
            pytest.skip(f"127.0.0.2:{port} is busy here ({exc})")
        s.listen(8)
        servers.append(s)
    matrix = {"source": "console", "service_point": "127.0.0.20", "consoles": ["127.0.0.21"],
              "amt_subnets": ["127.0.0.0/29"], "amt_addresses": ["127.0.0.2"], "closed_ports": [16994]}  # fmt: skip
    try:
        status, res = run_module(network_flow_probe.main, {"matrix": matrix, "timeout": 1})
    finally:
        for s in servers:
            s.close()
    assert status == "exit", res
    assert sorted((r["dest"], r["port"], r["expect"], r["status"]) for r in res["results"]) == [
        ("127.0.0.2", 16993, "open", "open"), ("127.0.0.2", 16994, "blocked", "refused"),
        ("127.0.0.2", 16995, "open", "open")]  # fmt: skip
    # nothing in between on loopback: the reset on 16994 comes from 127.0.0.2 itself (as many hops away as its
    # SYN-ACK on 16993), so the port outside the matrix reached the destination - a hole, not a closed port
    if not res["answers_read"]:  # not root: who answered cannot be told, which is a warning, never a pass
        assert [c["id"] for c in res["warned_checks"]] == ["outside-matrix:127.0.0.2:16994"]
        return
    [failed] = res["failed_checks"]
    assert failed["id"] == "outside-matrix:127.0.0.2:16994"
    assert "TCP port 16994 reached 127.0.0.2 itself" in failed["evidence"] and "TTL 64" in failed["evidence"]
    assert "16994 from 127.0.0.1 to 127.0.0.2 is outside the port matrix" in failed["remedy"]
    probe16994 = next(r for r in res["results"] if r["port"] == 16994)
    assert (probe16994["reason"], probe16994["answered_by"]) == ("reset", "destination")
