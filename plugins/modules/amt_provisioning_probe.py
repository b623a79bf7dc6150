#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: amt_provisioning_probe
short_description: Walk the path an unprovisioned AMT computer walks to its provisioning server, hop by hop
description:
  - Runs B(on a host in an AMT subnet) and does what an AMT computer in setup mode does, reporting each hop with its
    evidence and naming the first one that is broken.
  - C(dhcp) - a DHCPDISCOVER (no lease is taken) or, from a host with an address, a DHCPINFORM on O(interface); the
    answer must carry option 006 (DNS servers) and option 015 (the DNS suffix).
  - C(dns) - C(<record_name>.<option 015>) is resolved by the first option-006 server, asked directly from this host
    (through the routers, as the device asks); the answer (through a CNAME if there is one) must be an IPv4 address.
  - C(tcp) - a TCP connection to that address on O(port) (the out of band service point's 9971) is opened and closed;
    refused and filtered are told apart.
  - C(hello) - only with O(send_hello) - a hello version 3 (the published layout, module_utils C(amt.hello)) is
    sent in one write, as a device does. Off by default, because a real service point starts provisioning on it.
  - Read-only by default. Each hop is also a check row (ids C(amt.path.dhcp), C(.dns), C(.tcp), C(.hello)); a hop
    after a broken one is skipped, naming it. The module fails only on bad input or when it cannot run at all (not
    root, no such interface).
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.amt
options:
  interface:
    description: The interface in the AMT subnet.
    type: str
    required: true
  message_type:
    description:
      - V(inform) (default) sends a DHCPINFORM from the interface's address; the DNS and TCP hops need that address.
      - V(discover) sends a DHCPDISCOVER from 0.0.0.0; on an interface without an address the DNS and TCP hops are
        skipped, saying why.
    type: str
    choices: [inform, discover]
    default: inform
  timeout:
    description: Seconds to wait at each hop (the DHCP hop listens this long for answers).
    type: float
    default: 2
  record_name:
    description: The name AMT devices look up in their DNS suffix.
    type: str
    default: ProvisionServer
  port:
    description: The out of band service point's provisioning port.
    type: int
    default: 9971
  expect:
    description: What each hop must find; a difference is a failed check (the hop is broken).
    type: dict
    suboptions:
      dns_servers:
        description: Option 006, in order.
        type: list
        elements: str
      domain_name:
        description: Option 015.
        type: str
      service_point:
        description: The IPv4 address ProvisionServer must resolve to.
        type: str
  send_hello:
    description: Send a hello version 3 at the C(tcp) hop (a real service point then starts provisioning).
    type: bool
    default: false
  hello:
    description: The hello's content with O(send_hello).
    type: dict
    suboptions:
      uuid:
        description: The device UUID.
        type: str
        default: 00000000-0000-0000-0000-000000000000
      hashes:
        description: The trusted root certificate hashes ({type (1 SHA1, 2 SHA256, 3 SHA384), value (hex)}).
        type: list
        elements: dict
        default: []
attributes:
  check_mode:
    support: full
    description: The same walk runs in check mode; with O(send_hello) the hello is not sent in check mode.
  diff_mode:
    support: none
    description: Nothing changes.
requirements:
  - Linux, root (raw or port-68 sockets); dnspython on the host
"""

EXAMPLES = r"""
- name: Walk the provisioning path from a probe host of the AMT subnet
  amt_provisioning_probe:
    interface: eth0
    expect:
      dns_servers: [10.1.0.10]
      domain_name: corp.example.com
      service_point: 10.1.0.20
  delegate_to: probe-amt1.corp.example.com
  become: true
  register: path

- name: Say which hop is broken
  ansible.builtin.debug:
    msg: "{{ path.first_broken or 'the provisioning path is whole' }}"
"""

RETURN = r"""
hops:
  description: Each hop in order, with C(hop), C(status) (V(pass), V(fail), V(skip)) and C(evidence), and what it found.
  returned: success
  type: list
  elements: dict
first_broken:
  description: The first hop that failed, or null when every hop passed.
  returned: success
  type: str
checks:
  description: The hops as check rows (id, row, status, evidence, remedy).
  returned: success
  type: list
  elements: dict
failed_checks:
  description: The checks that failed.
  returned: success
  type: list
  elements: dict
warned_checks:
  description: Always empty (the shape of every read-only module).
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.amt.provisioning_checks import (
    expect_from_params,
    first_broken,
    hello_from_params,
    hop_rows,
)
from ansible_collections.oob.prep.plugins.module_utils.amt.provisioning_path import HAS_DNSPYTHON, walk
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit, summary
from ansible_collections.oob.prep.plugins.module_utils.dhcp.client import DhcpProbeError


def argument_spec() -> dict:
    return dict(
        interface=dict(type="str", required=True),
        message_type=dict(type="str", choices=["inform", "discover"], default="inform"),
        timeout=dict(type="float", default=2.0),
        record_name=dict(type="str", default="ProvisionServer"),
        port=dict(type="int", default=9971),
        expect=dict(type="dict", options=dict(
            dns_servers=dict(type="list", elements="str"),
            domain_name=dict(type="str"),
            service_point=dict(type="str"),
        )),
        send_hello=dict(type="bool", default=False),
        hello=dict(type="dict", options=dict(
            uuid=dict(type="str", default="00000000-0000-0000-0000-000000000000"),
            hashes=dict(type="list", elements="dict", default=[]),
        )),
    )  # fmt: skip


def run(module) -> dict:
    p = module.params
    if not HAS_DNSPYTHON:
        raise ValueError("dnspython is not installed on this host (pip install dnspython)")
    expect = expect_from_params(p)
    hello = hello_from_params(p["hello"]) if p["send_hello"] and not module.check_mode else None
    hops = walk(p, expect, hello)
    return {"changed": False, "hops": hops, "first_broken": first_broken(hops), **summary(hop_rows(hops))}


def main() -> None:
    run_and_exit(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run, (DhcpProbeError,))


if __name__ == "__main__":
    main()
