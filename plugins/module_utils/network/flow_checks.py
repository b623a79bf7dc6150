# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What network_flow_probe probes and what it makes of the outcomes: its settings checked, the targets (the flows
given, the port matrix's flows from one role with the AMT subnets stood in for by AMT computers, the destinations x
ports), the statuses counted, and a check row per target with an expected outcome (open, closed, blocked). Pure: no
sockets, no I/O. The probing itself (connects, the raw-socket reader, the routes) is ``network.flow_probe``; who
answered a probe is ``network.probe_answer.classify``.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.oob.prep.plugins.module_utils.checks import check
from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import (
    check_address,
    check_network,
    expand_targets,
    range_addresses,
    range_count,
    target_range,
)
from ansible_collections.oob.prep.plugins.module_utils.network.port_matrix import check_port, probe_targets
from ansible_collections.oob.prep.plugins.module_utils.network.probe_answer import DESTINATION, FIREWALL, NOBODY

STATUSES = ("open", "refused", "filtered", "unreachable", "error")


def check_params(p: dict) -> str | None:
    """The probe's settings checked before anything else (timeout, concurrency); the source address as a string, or
    None when none was given. ValueError names the option to fix."""
    if not 0 < p["timeout"] <= 60:
        raise ValueError(f"timeout must be more than 0 and at most 60 seconds, not {p['timeout']}")
    if p["concurrency"] < 1:
        raise ValueError("concurrency must be at least 1")
    source = None
    if p["source_address"]:
        try:
            source = ipaddress.ip_address(p["source_address"].strip())
        except ValueError:
            raise ValueError(f"source_address {p['source_address']!r} is not an IPv4 address") from None
        if source.version != 4:
            raise ValueError(f"source_address {source} is IPv6; out of band management uses IPv4 only")
        source = str(source)
    return source


def matrix_flows(m: dict) -> list[dict]:
    """The matrix's TCP flows from role ``m['source']`` (network.port_matrix.probe_targets), an AMT subnet destination
    replaced by the given AMT computers inside it, and each closed port on the same destinations."""
    estate = {"service_point": m["service_point"], "consoles": m["consoles"], "amt_subnets": m["amt_subnets"]}
    nets = [check_network(n, f"matrix.amt_subnets[{i}]") for i, n in enumerate(m["amt_subnets"])]
    devices = [check_address(a, f"matrix.amt_addresses[{i}]") for i, a in enumerate(m["amt_addresses"])]
    outside = [str(a) for a in devices if not any(a in n for n in nets)]
    if outside:
        raise ValueError(f"matrix.amt_addresses: {', '.join(outside)} is in none of matrix.amt_subnets")
    flows = []
    for flow in probe_targets(estate, m["source"]):
        if "/" in flow["dest"]:
            net = ipaddress.ip_network(flow["dest"])
            inside = [str(a) for a in devices if a in net]
            if not inside:
                raise ValueError(f"matrix.amt_addresses: no AMT computer inside {net} to probe {flow['id']} with")
            flows.extend({**flow, "dest": a} for a in inside)
        else:
            flows.append(flow)
    for dest in dict.fromkeys(f["dest"] for f in flows):
        for port in m["closed_ports"]:
            flows.append({"id": "outside-matrix", "dest": dest, "port": check_port(port, "matrix.closed_ports: port"),
                          "proto": "tcp", "row": "network_ports", "seed": "", "expect": "blocked"})  # fmt: skip
    return flows


def targets(p: dict) -> list[dict]:
    """Every target as {id, dest, port, proto, row, seed, expect}; ValueError (nothing sent) on bad input."""
    if p["max_targets"] < 1:
        raise ValueError("max_targets must be at least 1")
    wanted = []
    for i, f in enumerate([*(p["flows"] or []), *(matrix_flows(p["matrix"]) if p.get("matrix") else [])]):
        what = f"flows[{i}] ({f['id']})"
        port_no = check_port(f["port"], f"{what}: port")
        wanted.append((f["id"], f["dest"], port_no, f["row"], f.get("seed") or "", f.get("expect"), what))
    if bool(p["destinations"]) != bool(p["ports"]):
        raise ValueError("destinations and ports go together: give both (each destination is probed on each port)")
    if not wanted and not p["destinations"]:
        raise ValueError("nothing to probe: give flows, matrix, or destinations and ports")
    # each flow's destination, and the destinations list as one set: exactly the addresses given, each once
    # (network.ipv4.expand_targets: an address or /32 is probed, a subnet's network and broadcast addresses are not)
    groups = [(item[:-1], [target_range(item[1], f"{item[-1]}: dest")]) for item in wanted]
    if p["destinations"]:
        ranges = expand_targets(p["destinations"], "destinations")
        groups.extend(
            ((p["id"], None, port, p["row"], "", p["expect"]), ranges)
            for port in dict.fromkeys(check_port(port, f"ports[{j}]: port") for j, port in enumerate(p["ports"]))
        )
    total = sum(range_count(ranges) for _item, ranges in groups)
    if total > p["max_targets"]:
        raise ValueError(f"{total} targets (addresses x ports), more than max_targets={p['max_targets']}: probe "
                         "smaller subnets or the AMT computers' own addresses, or raise max_targets")  # fmt: skip
    out = []
    for (fid, _dest, port, row, seed, expect), ranges in groups:
        for address in range_addresses(ranges):
            out.append({"id": fid, "dest": address, "port": port, "proto": "tcp", "row": row, "seed": seed,
                        "expect": expect})  # fmt: skip
    return out


def tally(results: list[dict]) -> dict:
    """{summary, answered_by}: how many targets had each status (every status named, 0 or more), and how many each
    kind of answerer stopped or answered."""
    counts = {status: 0 for status in STATUSES}
    for r in results:
        counts[r["status"]] += 1
    reasons: dict[str, int] = {}
    for r in results:
        reasons[r["answered_by"]] = reasons.get(r["answered_by"], 0) + 1
    return {"summary": counts, "answered_by": reasons}


def check_rows(results: list[dict]) -> list[dict]:
    """A check row per result with an expected outcome (``expect``), in the order of the results; the others are
    reported, not checked."""
    rows = []
    for r in results:
        if not r["expect"]:
            continue
        cid = f"{r['id']}:{r['dest']}:{r['port']}"
        seen = f"TCP {r['dest']}:{r['port']} from {r.get('source') or 'this host'} is {r['status']}" + (
            f" ({r['detail']})" if r["detail"] else ""
        )
        if r.get("evidence"):
            seen += f"; {r['evidence']}"
        if r["expect"] == "open":
            remedy = ("allow this flow on every router and firewall between this host and the destination (the "
                      "rules that network_flow_rules renders), and check that the destination listens")  # fmt: skip
            rows.append(check(cid, r["row"], r["status"] == "open", f"{seen}; expected open", remedy))
        elif r["expect"] == "closed":
            remedy = "this flow is not in the port matrix: drop it on the router or firewall in between"
            rows.append(check(cid, r["row"], r["status"] != "open", f"{seen}; expected closed", remedy))
        else:
            rows.append(_blocked_row(cid, r, seen))
    return rows


def _blocked_row(cid: str, r: dict, seen: str) -> dict:
    """expect=blocked: passes only when the packet was stopped before the destination (dropped, or refused by the
    firewall); reaching the destination's stack (open, or its own reset or ICMP) fails; cannot tell is a warning."""
    device = f"the router or firewall between {r.get('source') or 'this host'} and {r['dest']}" + (
        f" (this host sends through {r['gateway']})" if r.get("gateway") else ""
    )
    who = r.get("answered_by")
    if who in (NOBODY, FIREWALL):
        return check(cid, r["row"], "pass", f"{seen}; expected blocked: stopped before {r['dest']}")
    if who == DESTINATION:
        return check(cid, r["row"], "fail",
                     f"{seen}; expected blocked, but TCP port {r['port']} reached {r['dest']} itself: {device} let it "
                     "through",
                     f"TCP {r['port']} from {r.get('source') or 'this host'} to {r['dest']} is outside the "
                     f"port matrix: find the rule on {device} that accepts it (a rule above the matrix's, another "
                     "table or policy) and remove it, or load the matrix's rules (playbooks/network.yml)")  # fmt: skip
    return check(cid, r["row"], "warn", f"{seen}; expected blocked, but who answered cannot be told",
                 "run the probe as root (raw sockets read the answers), or from a host with an open port of the same "
                 "destination to compare hop counts with")  # fmt: skip
