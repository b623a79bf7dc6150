#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dhcp_probe
short_description: Ask the DHCP servers of an AMT subnet what they offer, as an AMT device would, without a lease
description:
  - Read-only. Runs B(on a host in an AMT subnet) (not on the controller), sends one DHCPDISCOVER or DHCPINFORM on
    O(interface), collects every answer until O(timeout), and reports, per answer, the server identifier (option 54),
    the relay (C(giaddr)), the offered address (C(yiaddr)) and options 1, 3, 6, 15, 51 and 81.
  - V(discover) (the default) is what an unprovisioned AMT device sends. It works on an interface without an IPv4
    address; the frame is built by hand and sent from 0.0.0.0:68 with the broadcast flag set on a raw (AF_PACKET)
    socket, and the answers are read from the same socket. Servers on other subnets answer through the subnet's
    relay (C(giaddr)).
  - V(inform) needs an IPv4 address on O(interface). A DHCPINFORM goes from that address, port 68, broadcast to
    255.255.255.255:67; the server answers with a DHCPACK unicast to the address, without an offered address.
  - The module never sends a DHCPREQUEST, so no lease is taken. Several servers (or one server through several
    relays) may answer; each answer is one element of RV(answers).
  - With O(expect), the answers are also checked against the scope options out of band management needs (the seed
    row "For DHCP, ensure that the DHCP scope options include DNS servers (006) and Domain name (015) ..."); every
    answer must carry option 006 with the DNS servers given (same order) and option 015 with the domain name given.
    Each check is returned as C({id, row, status, evidence, remedy}); roles assert on RV(failed_checks).
  - "No answer: without O(expect), the module fails, naming the interface and the timeout. With O(expect), no
    answer is a finding about the estate (the seed's row: a DHCP server with an active scope), not a module failure:
    check C(dhcp.answer) fails and the option checks are skipped, naming it."
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.network
options:
  interface:
    description: The interface in the AMT subnet to probe on (it may have no IPv4 address for V(discover)).
    type: str
    required: true
  message_type:
    description:
      - V(discover) sends a DHCPDISCOVER from 0.0.0.0 with the broadcast flag (what an AMT device sends first).
      - V(inform) sends a DHCPINFORM from the first IPv4 address of O(interface).
    type: str
    choices: [discover, inform]
    default: discover
  timeout:
    description:
      - Seconds to listen for answers after sending. The module always listens this long, because several servers
        may answer; lower it where one quick answer is all there is to hear.
    type: float
    default: 5
  hostname:
    description:
      - A host name to send, as an AMT device configured with one does; its first label goes in option 12 (host
        name) and the whole name in option 81 (client FQDN, flags S and E, so the client asks the server to update its
        A record). A single label is sent as a partial name.
      - Nothing is registered; the server would update DNS only when a lease is taken, which a probe never does.
    type: str
  expect:
    description:
      - The scope options that must reach the AMT devices. When given, RV(checks) holds one check per option given
        and C(dhcp.answer).
    type: dict
    suboptions:
      dns_servers:
        description: Option 006, the DNS servers, in the order the devices must try them.
        type: list
        elements: str
      domain_name:
        description: Option 015, the AMT devices' DNS suffix (compared without case and trailing dot).
        type: str
attributes:
  check_mode:
    support: full
    description: Read-only; the same probe runs in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
notes:
  - Needs root on the host (raw sockets, port 68); use C(become) on a real host. Linux only.
  - A DHCPDISCOVER can make some servers hold the offered address for a short while (Windows DHCP keeps an offer
    pending for about a minute); no lease is written.
  - A DHCPACK to a DHCPINFORM goes straight to the client and may carry C(giaddr) 0.0.0.0 even when the DHCPINFORM
    crossed a relay (Kea does so); RV(answers[].relay) is then null and RV(answers[].source) is the server.
  - In the lab, the hosts of the AMT subnet are network namespaces; the connection plugin C(oob_netns) runs the
    module inside them.
requirements:
  - Linux, root (CAP_NET_RAW and CAP_NET_BIND_SERVICE)
seealso:
  - name: RFC 2131, Dynamic Host Configuration Protocol
    description: Sections 4.1 (broadcast flag, relays), 4.3.5 (DHCPINFORM) and 4.4.1.
    link: https://www.rfc-editor.org/rfc/rfc2131
  - name: RFC 2132, DHCP Options and BOOTP Vendor Extensions
    description: Options 1, 3, 6, 15, 51, 53, 54, 55.
    link: https://www.rfc-editor.org/rfc/rfc2132
  - name: RFC 4702, The DHCP Client FQDN Option
    description: Option 81, its flags and name encoding.
    link: https://www.rfc-editor.org/rfc/rfc4702
"""

EXAMPLES = r"""
- name: Ask the AMT subnet's DHCP servers for their offer, and check options 006 and 015
  dhcp_probe:
    interface: eth0
    timeout: 3
    expect:
      dns_servers: [192.0.2.5, 192.0.2.6]
      domain_name: corp.example.com
  become: true
  register: dhcp

- name: Fail on any failed check
  ansible.builtin.assert:
    that: dhcp.failed_checks | length == 0
    fail_msg: "{{ dhcp.failed_checks | map(attribute='evidence') | list }}"

- name: DHCPINFORM from an addressed host of the subnet, with a host name
  dhcp_probe:
    interface: ens192
    message_type: inform
    hostname: amt-probe.corp.example.com
  become: true
"""

RETURN = r"""
interface:
  description: The interface probed.
  returned: success
  type: str
  sample: eth0
mac:
  description: Its MAC address (the C(chaddr) sent).
  returned: success
  type: str
  sample: 52:54:00:12:34:56
sent:
  description: The message sent.
  returned: success
  type: str
  sample: DHCPDISCOVER
ciaddr:
  description: The address the DHCPINFORM was sent from; null for a DHCPDISCOVER.
  returned: success
  type: str
  sample: null
xid:
  description: The transaction id sent; answers are matched on it and on the MAC.
  returned: success
  type: int
  sample: 3735928559
timeout:
  description: The seconds listened.
  returned: success
  type: float
  sample: 5.0
answers:
  description: Every answer, in the order received.
  returned: success
  type: list
  elements: dict
  contains:
    server_id:
      description: Option 54, the server identifier; null when the answer has none.
      type: str
    message_type:
      description: Option 53 (C(DHCPOFFER) to a DHCPDISCOVER, C(DHCPACK) to a DHCPINFORM).
      type: str
    source:
      description: The IPv4 address the answer came from (the relay, or the server itself).
      type: str
    relay:
      description: C(giaddr), the relay agent the exchange went through; null when 0.0.0.0 (no relay).
      type: str
    offered_address:
      description: C(yiaddr); null when 0.0.0.0 (the answer to a DHCPINFORM).
      type: str
    subnet_mask:
      description: Option 1; null when absent.
      type: str
    routers:
      description: Option 3, in order; null when absent.
      type: list
      elements: str
    dns_servers:
      description: Option 6, in order; null when absent.
      type: list
      elements: str
    domain_name:
      description: Option 15, its trailing NULs stripped; null when absent.
      type: str
    client_fqdn:
      description:
        - Option 81 as the server answered it (RFC 4702) - C(flags) and its bits C(s), C(o), C(e), C(n), C(rcode1),
          C(rcode2), C(name), C(fully_qualified); null when absent (the server does not say it updates DNS).
      type: dict
    lease_time:
      description: Option 51, seconds; null when absent.
      type: int
    options:
      description: Every option by code (decimal, as text); the ones this module does not decode as hex.
      type: dict
    elapsed_ms:
      description: Milliseconds from sending to receiving this answer.
      type: float
  sample:
    - server_id: 198.51.100.11
      message_type: DHCPOFFER
      source: 203.0.113.1
      relay: 203.0.113.1
      offered_address: 203.0.113.100
      subnet_mask: 255.255.255.0
      routers: [203.0.113.1]
      dns_servers: [198.51.100.10]
      domain_name: lab.example
      client_fqdn: null
      lease_time: 3600
      options: {"1": 255.255.255.0, "3": [203.0.113.1], "6": [198.51.100.10], "15": lab.example, "51": 3600,
                "53": DHCPOFFER, "54": 198.51.100.11}
      elapsed_ms: 1.9
malformed:
  description: Datagrams with our transaction id that are not valid DHCP, with the parser's reason and their hex.
  returned: success
  type: list
  elements: dict
checks:
  description:
    - With O(expect) only (an empty list otherwise). Every check with its id, the seed row it belongs to, status
      (V(pass), V(fail), V(skip)), evidence naming each server and what it offered, and remedy.
    - "Ids: C(dhcp.answer) (row C(dhcp_active_scope)); C(dhcp.ipv4) (row C(ipv4_only), the subnet is served over
      IPv4); C(dhcp.no_dot1x) (row C(dot1x), an answer came without 802.1X authentication); C(dhcp.option_006) and
      C(dhcp.option_015) (row C(dhcp_options_006_015_ddns)), one per option given in O(expect), over every answer."
    - "Rows: C(dhcp_active_scope) DHCP server with an active scope; C(dhcp_options_006_015_ddns) For DHCP, ensure that
      the DHCP scope options include DNS servers (006) and Domain name (015) and that the DHCP server dynamically
      updates DNS with the computer resource record; C(ipv4_only) IPv6 is not supported; C(dot1x) 802.1X
      environments are not natively supported."
  returned: success
  type: list
  elements: dict
  sample:
    - id: dhcp.option_006
      row: dhcp_options_006_015_ddns
      status: fail
      evidence: "server 198.51.100.11 (DHCPOFFER through relay 203.0.113.1) offered option 006 198.51.100.12;
        expected 198.51.100.10"
      remedy: "set scope option 006 (DNS Servers) of the AMT subnet's scope on 198.51.100.11 to 198.51.100.10"
failed_checks:
  description: The checks whose status is V(fail).
  returned: success
  type: list
  elements: dict
warned_checks:
  description: The checks whose status is V(warn) (none today).
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit, summary
from ansible_collections.oob.prep.plugins.module_utils.dhcp.client import DhcpProbeError, probe
from ansible_collections.oob.prep.plugins.module_utils.dhcp.probe_checks import (
    answer_row,
    option_checks,
    sent_summary,
    validate,
)


def argument_spec() -> dict:
    return dict(
        interface=dict(type="str", required=True),
        message_type=dict(type="str", choices=["discover", "inform"], default="discover"),
        timeout=dict(type="float", default=5),
        hostname=dict(type="str"),
        expect=dict(type="dict", options=dict(dns_servers=dict(type="list", elements="str"),
                                              domain_name=dict(type="str"))),
    )  # fmt: skip


def run(module) -> dict:
    p = module.params
    want = validate(p)
    hostname = want["hostname"]
    result = probe(p["interface"], p["message_type"], p["timeout"],
                   hostname=hostname.rstrip(".").split(".")[0] if hostname else None, fqdn=hostname)  # fmt: skip
    rows = [answer_row(a) for a in result["answers"]]
    for bad in result["malformed"]:
        module.warn(f"a malformed answer with our xid from {bad['source']} was ignored: {bad['error']}")
    sent = sent_summary(result)
    if not rows and want["expect"] is None:
        hint = ("check that the AMT subnet has an active scope and that its router relays DHCP (ip helper-address) "
                "to the server; or give expect to get a failed check instead of a module failure")  # fmt: skip
        raise DhcpProbeError("no_answer", f"no DHCP server answered {sent}: {hint}")
    checks = option_checks(rows, want["expect"], sent) if want["expect"] is not None else []
    return {
        "changed": False,
        "interface": result["interface"],
        "mac": result["mac"],
        "sent": result["message"],
        "ciaddr": result["ciaddr"],
        "xid": result["xid"],
        "timeout": result["timeout"],
        "answers": rows,
        "malformed": result["malformed"],
        **summary(checks),
    }


def main() -> None:
    run_and_exit(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run, (DhcpProbeError,))


if __name__ == "__main__":
    main()
