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

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit, summary
from ansible_collections.oob.prep.plugins.module_utils.network.flow_checks import (
    check_params,
    check_rows,
    tally,
    targets,
)
from ansible_collections.oob.prep.plugins.module_utils.network.flow_probe import (
    ProbeError,
    check_source,
    fit_concurrency,
    probe_with_answers,
)


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


def run(module: AnsibleModule) -> dict:
    p = module.params
    source = check_params(p)
    items = targets(p)
    concurrency = fit_concurrency(p["concurrency"], len(items))
    start = time.monotonic()
    if source:
        check_source(source)
    results, sniffed = probe_with_answers(items, p["timeout"], concurrency, source)
    elapsed = round(time.monotonic() - start, 3)
    return {"changed": False, "results": results, "targets": len(items), **tally(results), "answers_read": sniffed,
            "elapsed_s": elapsed, "concurrency": concurrency, **summary(check_rows(results))}  # fmt: skip


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_and_exit(module, run, (ProbeError,))


if __name__ == "__main__":
    main()
