#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_flow_probe
short_description: Prove network flows from the host it runs on, with TCP connects, concurrently (read-only)
description:
  - Run on (or delegated to) a host in a flow's source subnet - the service point, a console, a computer in an AMT
    subnet - it opens a TCP connection to each target and reports what came back, per target. It sends nothing but
    the TCP handshake (and closes a connection that opens at once).
  - "Statuses: V(open) (the handshake completed); V(refused) (a reset or ICMP port unreachable: the path is open, or
    a firewall rejects with a reset); V(filtered) (no answer within O(timeout): a firewall drops, or no host is
    there); V(unreachable) (ICMP host/network unreachable or administratively prohibited, or no route from this
    host, with the errno in RV(results[].detail)); V(error) (anything else, with its message)."
  - Targets are O(flows) (each with its own id, seed row and expected outcome) or O(destinations) x O(ports). The
    addresses probed are exactly those given - an address alone (or as a /32) is always probed; a subnet in CIDR
    form stands for its host addresses, without its network and broadcast addresses (a /31 for both of its
    addresses); the O(destinations) are merged on their addresses, so merging never adds or drops one, and an address
    given twice is probed once. More targets than O(max_targets) are refused before anything is sent. IPv6 is
    refused (out of band management is IPv4 only).
  - "Probes run concurrently (asyncio, at most O(concurrency) at a time): a /24 x 4 ports (1016 targets) with a 1 s
    timeout takes about 4 s at concurrency 256 when nothing answers."
  - "Who answered each probe (RV(results[].answered_by)), the way nmap's C(--reason) and hping3's TTL firewalking
    tell it: V(nobody) (no answer: dropped), V(firewall) (an ICMP unreachable from another address than the
    destination, or a reset or ICMP message in the destination's name that arrived from fewer hops than the
    destination's own SYN-ACK, or from 0 hops when the destination is behind a router), V(destination) (the
    handshake completed, or the destination's own reset or ICMP message: as many hops away as its SYN-ACK), V(this
    host) (an error before the packet left), V(unknown) (cannot tell, with the reason). The answers are read with raw
    sockets while the module runs as root (or with CAP_NET_RAW); without them every refused or unreachable outcome is
    V(unknown) (RV(answers_read) is false)."
  - "A target with an expected outcome (O(flows[].expect) or O(expect)) becomes a check row C({id, row, status,
    evidence, remedy}): V(open) passes only when it is open; V(blocked) passes only when the packet was stopped
    before the destination (V(nobody) or V(firewall)), fails when it reached the destination's stack (naming the
    port, the source and the router in between), and warns when who answered cannot be told; V(closed) passes when
    it is anything but open (a reset from the destination included: use V(blocked) to prove a firewall). Roles
    decide on RV(failed_checks)."
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.network
options:
  flows:
    description: The flows to prove, for example the output of the port matrix's C(probe_targets).
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: The flow's id (for example V(amt-provisioning)).
        type: str
        required: true
      dest:
        description: The destination IPv4 address, or a subnet in CIDR form (each host address of it is probed).
        type: str
        required: true
      port:
        description: The destination port, 1-65535.
        type: int
        required: true
      proto:
        description: Only TCP can be proved by connecting.
        type: str
        choices: [tcp]
        default: tcp
      row:
        description: The key of the flow's seed row, for the check row.
        type: str
        default: network_ports
      seed:
        description: The seed row's text, returned with each result.
        type: str
        default: ""
      expect:
        description: The outcome that passes its check; without it the target is reported, not checked.
        type: str
        choices: [open, closed, blocked]
  destinations:
    description: Addresses or CIDR subnets to probe on every port of O(ports) (with O(flows), or instead of them).
    type: list
    elements: str
    default: []
  ports:
    description: The ports for O(destinations).
    type: list
    elements: int
    default: []
  expect:
    description: The expected outcome of every O(destinations) target.
    type: str
    choices: [open, closed, blocked]
  id:
    description: The id of the O(destinations) targets in results and checks.
    type: str
    default: probe
  row:
    description: The seed row key of the O(destinations) targets.
    type: str
    default: network_ports
  timeout:
    description: Seconds to wait for each connection.
    type: float
    default: 1.0
  concurrency:
    description: Connections in flight at once (at most 4096; kept below the process's open-file limit).
    type: int
    default: 256
  max_targets:
    description:
      - Refuse more targets (addresses x ports, the count in RV(targets)) than this (a typo such as /8 instead of /24
        would otherwise send millions).
    type: int
    default: 65536
  source_address:
    description: Connect from this local IPv4 address (a host with several addresses).
    type: str
  matrix:
    description:
      - Probe the port matrix from this host, as the role O(matrix.source) (instead of, or besides, O(flows)) - every
        TCP flow of the matrix that starts at that role, expected open, to the estate's addresses; the AMT subnets
        are stood in for by O(matrix.amt_addresses) (AMT computers known to listen) inside them. Every port of
        O(matrix.closed_ports) is probed on the same destinations, expected closed.
    type: dict
    suboptions:
      source:
        description: The role of this host in the matrix.
        type: str
        required: true
        choices: [amt, service_point, console]
      service_point:
        description: The out of band service point's IPv4 address.
        type: str
        required: true
      consoles:
        description: The consoles' IPv4 addresses.
        type: list
        elements: str
        required: true
      amt_subnets:
        description: The AMT subnets (CIDR).
        type: list
        elements: str
        required: true
      amt_addresses:
        description: AMT computers that listen, in the AMT subnets; the AMT destinations of the flows.
        type: list
        elements: str
        default: []
      closed_ports:
        description: Ports outside the matrix to probe on the same destinations, expected V(blocked) (stopped by a
          firewall before the destination) with the id V(outside-matrix).
        type: list
        elements: int
        default: []
attributes:
  check_mode:
    support: full
    description: Read-only; it probes in check mode too.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
notes:
  - A firewall that rejects with a TCP reset is told from the destination's own reset by hop count, which needs a
    reference - an open port of the same destination in the same run (the matrix option probes one), or a
    destination behind a router while the firewall is this host's first hop. Without either, V(unknown).
  - The module network_flow_rules renders the rules these probes prove.
"""

EXAMPLES = r"""
- name: From the service point, the AMT computers' management ports must be open
  network_flow_probe:
    flows:
      - {id: sp-discovery, dest: 203.0.113.11, port: 16992, expect: open}
      - {id: sp-management-tls, dest: 203.0.113.11, port: 16993, expect: open}
  register: oob_probe_sp

- name: In the lab, from an AMT placeholder (a namespace reached through the oob_netns connection, docs/adr/0006)
  network_flow_probe:
    flows:
      - {id: amt-provisioning, dest: 198.51.100.20, port: 9971, expect: open}
  delegate_to: oobp-amt1

- name: From a computer that is neither, no AMT port of the subnet answers
  network_flow_probe:
    destinations: [203.0.113.0/24]
    ports: [16992, 16993, 16995]
    expect: closed
    id: not-in-matrix
  register: oob_probe_other
  failed_when: oob_probe_other.failed_checks | length > 0
"""

RETURN = r"""
results:
  description: One entry per target, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The flow's id.
      type: str
    dest:
      description: The address probed.
      type: str
    port:
      description: The port probed.
      type: int
    proto:
      description: tcp.
      type: str
    status:
      description: open, refused, filtered, unreachable or error.
      type: str
      sample: open
    detail:
      description: The errno name or message behind refused, unreachable and error; the timeout for filtered.
      type: str
      sample: EHOSTUNREACH
    elapsed_ms:
      description: Milliseconds until the outcome.
      type: float
    row:
      description: The seed row key.
      type: str
    seed:
      description: The seed row's text (when given).
      type: str
    expect:
      description: The expected outcome, or null.
      type: str
    source:
      description: The local address the probe was sent from.
      type: str
    reason:
      description: What came back, as nmap's C(--reason) says it (syn-ack, reset, no-response, an ICMP code's name
        such as admin-prohibited, or the connect's status when nothing was read).
      type: str
      sample: admin-prohibited
    answered_by:
      description: nobody, firewall, destination, this host or unknown (see the description).
      type: str
      sample: firewall
    evidence:
      description: Who answered, in words, with the TTL, hop count and ICMP code read.
      type: str
      sample: "TCP reset from 198.51.100.20, TTL 64 (0 hops): forged by a device closer than 198.51.100.20"
    answers:
      description: The answers read for this probe (C(kind) syn-ack, reset or icmp; C(src), C(ttl), C(code)).
      type: list
      elements: dict
    gateway:
      description: The router this host sends the destination's packets to (null when on-link).
      type: str
answered_by:
  description: How many targets each kind of answerer stopped or answered.
  returned: success
  type: dict
  sample: {destination: 2, firewall: 4, nobody: 0}
answers_read:
  description: Whether the answers could be read (raw sockets; root or CAP_NET_RAW).
  returned: success
  type: bool
targets:
  description: How many targets (address and port pairs) were probed; what O(max_targets) is checked against.
  returned: success
  type: int
  sample: 1016
summary:
  description: How many targets had each status.
  returned: success
  type: dict
  sample: {open: 2, refused: 0, filtered: 1014, unreachable: 0, error: 0}
elapsed_s:
  description: Seconds the probes took together.
  returned: success
  type: float
concurrency:
  description: The concurrency used (O(concurrency), bounded by the targets and the open-file limit).
  returned: success
  type: int
checks:
  description: One check row per target that has an expected outcome (id C(<flow id>:<address>:<port>)).
  returned: success
  type: list
  elements: dict
failed_checks:
  description: The checks that failed.
  returned: success
  type: list
  elements: dict
warned_checks:
  description: Always empty (for the shape every read-only module returns).
  returned: success
  type: list
  elements: dict
"""

import asyncio
import contextlib
import errno
import ipaddress
import os
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.checks import check, run_and_exit, summary
from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import (
    check_address,
    check_network,
    expand_targets,
    range_addresses,
    range_count,
    target_range,
)
from ansible_collections.oob.prep.plugins.module_utils.network.port_matrix import check_port, probe_targets
from ansible_collections.oob.prep.plugins.module_utils.network.probe_answer import (
    DESTINATION,
    FIREWALL,
    NOBODY,
    Sniffer,
    classify,
    gateway_for,
    read_routes,
)

STATUSES = ("open", "refused", "filtered", "unreachable", "error")
UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM}
MAX_CONCURRENCY = 4096


class ProbeError(Exception):
    kind = "probe"


def argument_spec() -> dict:
    return dict(
        flows=dict(type="list", elements="dict", default=[], options=dict(
            id=dict(type="str", required=True),
            dest=dict(type="str", required=True),
            port=dict(type="int", required=True),
            proto=dict(type="str", choices=["tcp"], default="tcp"),
            row=dict(type="str", default="network_ports"),
            seed=dict(type="str", default=""),
            expect=dict(type="str", choices=["open", "closed", "blocked"]),
        )),
        destinations=dict(type="list", elements="str", default=[]),
        ports=dict(type="list", elements="int", default=[]),
        expect=dict(type="str", choices=["open", "closed", "blocked"]),
        id=dict(type="str", default="probe"),
        row=dict(type="str", default="network_ports"),
        timeout=dict(type="float", default=1.0),
        concurrency=dict(type="int", default=256),
        max_targets=dict(type="int", default=65536),
        source_address=dict(type="str"),
        matrix=dict(type="dict", options=dict(
            source=dict(type="str", required=True, choices=["amt", "service_point", "console"]),
            service_point=dict(type="str", required=True),
            consoles=dict(type="list", elements="str", required=True),
            amt_subnets=dict(type="list", elements="str", required=True),
            amt_addresses=dict(type="list", elements="str", default=[]),
            closed_ports=dict(type="list", elements="int", default=[]),
        )),
    )  # fmt: skip


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


def _classify(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, TimeoutError):
        return "filtered", "no answer"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "ECONNREFUSED"
    if isinstance(exc, OSError) and exc.errno in UNREACHABLE:
        return "unreachable", errno.errorcode.get(exc.errno, str(exc.errno))
    if isinstance(exc, OSError) and exc.errno:
        return "error", f"{errno.errorcode.get(exc.errno, exc.errno)}: {exc.strerror}"
    return "error", str(exc) or type(exc).__name__


async def _connect(loop, sock: socket.socket, address: tuple, timeout: float, on_port) -> None:
    """A non-blocking connect that reports its local port (``on_port``) before anything can be answered, so the
    sniffer knows the probe's answers by their ports."""
    err = sock.connect_ex(address)
    on_port(sock.getsockname()[1])
    if err in (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK):
        fut = loop.create_future()
        loop.add_writer(sock.fileno(), lambda: fut.done() or fut.set_result(None))
        try:
            await asyncio.wait_for(fut, timeout)
        finally:
            loop.remove_writer(sock.fileno())
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, os.strerror(err))


async def _one(target: dict, sem: asyncio.Semaphore, timeout: float, source: str | None, sniffer) -> dict:
    async with sem:
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        local = {"port": 0, "address": source or ""}

        def on_port(port: int) -> None:
            local["port"] = port
            local["address"] = sock.getsockname()[0]
            if sniffer is not None:
                sniffer.expect(target["dest"], target["port"], port)

        try:
            sock.setblocking(False)
            if source:
                sock.bind((source, 0))
            await _connect(loop, sock, (target["dest"], target["port"]), timeout, on_port)
            status, detail = "open", ""
        except OSError as exc:  # TimeoutError (wait_for) is an OSError too
            status, detail = _classify(exc)
            if status == "filtered":
                detail = f"no answer within {timeout:g} s"
        finally:
            sock.close()
        return dict(target, status=status, detail=detail, elapsed_ms=round((time.monotonic() - start) * 1000, 1),
                    source=local["address"], local_port=local["port"])  # fmt: skip


async def _all(items: list[dict], timeout: float, concurrency: int, source: str | None, sniffer) -> list[dict]:
    sem = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    for s in sniffer.socks if sniffer is not None else []:
        loop.add_reader(s.fileno(), sniffer.drain)
    try:
        results = list(await asyncio.gather(*(_one(t, sem, timeout, source, sniffer) for t in items)))
        if sniffer is not None:  # answers that came with the last outcomes
            await asyncio.sleep(0.05)
            sniffer.drain()
    finally:
        for s in sniffer.socks if sniffer is not None else []:
            loop.remove_reader(s.fileno())
    return results


def probe(items: list[dict], timeout: float = 1.0, concurrency: int = 256, source: str | None = None,
          sniffer=None) -> list[dict]:  # fmt: skip
    """Connect to every target, at most ``concurrency`` at a time; results in the order of ``items``. With a
    ``sniffer`` (network.probe_answer.Sniffer) each result says who answered (answer_of)."""
    return asyncio.run(_all(items, timeout, concurrency, source, sniffer))


def answer_of(results: list[dict], sniffer) -> None:
    """Add to each result who answered it (network.probe_answer.classify): reason, answered_by, answers, evidence. The
    TTL of a SYN-ACK from a destination is the reference for every other answer in its name."""
    sniffed = sniffer is not None
    reference: dict[str, int] = {}
    per = []
    for r in results:
        answers = sniffer.of(r["dest"], r["port"], r["local_port"]) if sniffed else []
        per.append(answers)
        for a in answers:
            if a["kind"] == "syn-ack":
                reference.setdefault(r["dest"], a["ttl"])
    routes = read_routes()
    for r, answers in zip(results, per, strict=True):
        verdict = classify(r["status"], answers, dest=r["dest"], reference_ttl=reference.get(r["dest"]),
                           gateway=gateway_for(routes, r["dest"]), local=frozenset({r["source"]}),
                           sniffed=sniffed)  # fmt: skip
        r.update(verdict, answers=[{k: v for k, v in a.items() if k != "key"} for a in answers],
                 gateway=gateway_for(routes, r["dest"]))  # fmt: skip


def fit_concurrency(wanted: int, targets_count: int) -> int:
    """The concurrency to use: at most MAX_CONCURRENCY, the targets, and what the open-file limit allows (raised
    toward the hard limit when it is lower than needed)."""
    import resource

    need = max(1, min(wanted, MAX_CONCURRENCY, targets_count))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need + 64:
        target = need + 64 if hard == resource.RLIM_INFINITY else min(hard, need + 64)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        need = max(1, min(need, soft - 64))
    return need


def check_source(source: str) -> None:
    """Fail once, before any probe, when the source address is not one of this host's (in this namespace)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((source, 0))
    except OSError as exc:
        raise ProbeError(f"source_address {source} cannot be used here: {exc.strerror}; give one of this host's "
                         "addresses") from None  # fmt: skip
    finally:
        sock.close()


def check_rows(results: list[dict]) -> list[dict]:
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


def run(module: AnsibleModule) -> dict:
    p = module.params
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
    items = targets(p)
    concurrency = fit_concurrency(p["concurrency"], len(items))
    start = time.monotonic()
    if source:
        check_source(source)
    sniffer = Sniffer()
    sniffed = sniffer.ok
    try:
        results = probe(items, p["timeout"], concurrency, source, sniffer if sniffed else None)
    except OSError as exc:  # pragma: no cover - per-target errors are results; this is the event loop itself
        raise ProbeError(f"the probes could not run: {exc}") from None
    finally:
        sniffer.close()
    answer_of(results, sniffer if sniffed else None)
    elapsed = round(time.monotonic() - start, 3)
    counts = {status: 0 for status in STATUSES}
    for r in results:
        counts[r["status"]] += 1
    reasons: dict[str, int] = {}
    for r in results:
        reasons[r["answered_by"]] = reasons.get(r["answered_by"], 0) + 1
    return {"changed": False, "results": results, "targets": len(items), "summary": counts, "answered_by": reasons,
            "answers_read": sniffed, "elapsed_s": elapsed,
            "concurrency": concurrency, **summary(check_rows(results))}  # fmt: skip


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_and_exit(module, run, (ProbeError,))


if __name__ == "__main__":
    main()
