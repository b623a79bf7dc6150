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

import errno
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.amt.hello import build as build_hello
from ansible_collections.oob.prep.plugins.module_utils.checks import check, run_and_exit, summary
from ansible_collections.oob.prep.plugins.module_utils.dhcp.client import DhcpProbeError, interface_info, probe
from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import dns_name, ipv4

try:
    import dns.exception
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    HAS_DNSPYTHON = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_DNSPYTHON = False

ROWS = {"dhcp": "dhcp_options_006_015_ddns", "dns": "dns_provisionserver", "tcp": "network_ports",
        "hello": "network_ports"}  # fmt: skip
REMEDY = {
    "dhcp": "set options 006 and 015 on the AMT subnet's scope and relay DHCP to it: playbooks/dhcp.yml",
    "dns": "register ProvisionServer in the suffix's zone, pointing at the service point: playbooks/dns.yml",
    "tcp": "allow TCP 9971 from the AMT subnets to the service point (playbooks/network.yml) and check that the out of "
    "band service point role runs",
    "hello": "check the out of band service point's log (amtopmgr.log) for the hello",
}


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


def hop(which: str, status: str, evidence: str, **found) -> dict:
    return {"hop": which, "status": status, "evidence": evidence, **found}


def dhcp_hop(p: dict, expect: dict) -> dict:
    result = probe(p["interface"], p["message_type"], p["timeout"])
    answers = result["answers"]
    sent = f"{result['message']} on {p['interface']}"
    if not answers:
        return hop("dhcp", "fail", f"no DHCP server answered the {sent} within {p['timeout']:g} s")
    first = answers[0]
    servers, suffix = first["options"].get(6) or [], first["options"].get(15)
    who = f"server {first['server_id'] or first['source']}" + (
        f" through relay {first['giaddr']}" if first["giaddr"] not in (None, "0.0.0.0") else "")  # fmt: skip
    problems = []
    if not servers:
        problems.append("no option 006 (DNS servers)")
    if not suffix:
        problems.append("no option 015 (domain name)")
    if expect.get("dns_servers") and servers != expect["dns_servers"]:
        problems.append(f"option 006 is {', '.join(servers) or '(none)'}, not {', '.join(expect['dns_servers'])}")
    if expect.get("domain_name") and suffix and dns_name(suffix, "option 015") != expect["domain_name"]:
        problems.append(f"option 015 is {suffix}, not {expect['domain_name']}")
    evidence = (
        f"{who} answered the {sent}: option 006 {', '.join(servers) or '(none)'}, option 015 {suffix or '(none)'}"
    )
    status = "fail" if problems else "pass"
    return hop("dhcp", status, evidence + ("; " + "; ".join(problems) if problems else ""), dns_servers=servers,
               domain_name=suffix)  # fmt: skip


def dns_hop(p: dict, expect: dict, servers: list, suffix: str, source: str) -> dict:
    name = f"{p['record_name']}.{suffix.rstrip('.')}"
    server = servers[0]
    query = dns.message.make_query(name, "A")
    try:
        answer = dns.query.udp(query, server, timeout=p["timeout"], source=source)
    except dns.exception.Timeout:
        late = f"the DNS server {server} (option 006) did not answer {name} A within {p['timeout']:g} s from {source}"
        return hop("dns", "fail", late, query=name)
    except (OSError, dns.exception.DNSException) as exc:
        return hop("dns", "fail", f"asking {server} for {name} failed: {exc}", query=name)
    chain, addresses = [], []
    for rrset in answer.answer:
        for rdata in rrset:
            if rrset.rdtype == dns.rdatatype.CNAME:
                chain.append(rdata.target.to_text())
            elif rrset.rdtype == dns.rdatatype.A:
                addresses.append(rdata.address)
    via = f" (CNAME {' -> '.join(chain)})" if chain else ""
    if not addresses:
        rcode = dns.rcode.to_text(answer.rcode())
        return hop("dns", "fail", f"{server} answered {name} with {rcode} and no address{via}", query=name)
    want = expect.get("service_point")
    if want and want not in addresses:
        wrong = f"{server} resolves {name}{via} to {', '.join(addresses)}, not the service point {want}"
        return hop("dns", "fail", wrong, query=name, addresses=addresses)
    return hop("dns", "pass", f"{server} resolves {name}{via} to {', '.join(addresses)}", query=name,
               addresses=addresses)  # fmt: skip


def tcp_hop(p: dict, address: str, source: str, hello: bytes | None) -> list[dict]:
    where = f"TCP {address}:{p['port']} from {source}"
    started = time.monotonic()
    try:
        sock = socket.create_connection((address, p["port"]), timeout=p["timeout"], source_address=(source, 0))
    except TimeoutError:
        return [hop("tcp", "fail", f"{where}: no answer within {p['timeout']:g} s (filtered by a router or firewall)",
                    state="filtered")]  # fmt: skip
    except ConnectionRefusedError:
        return [hop("tcp", "fail", f"{where}: refused (nothing listens: is the out of band service point running?)",
                    state="refused")]  # fmt: skip
    except OSError as exc:
        state = "unreachable" if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH) else "error"
        return [hop("tcp", "fail", f"{where}: {exc.strerror or exc}", state=state)]
    ms = round((time.monotonic() - started) * 1000, 1)
    hops = [hop("tcp", "pass", f"{where}: open ({ms} ms)", state="open")]
    with sock:
        if hello is not None:
            try:
                sock.sendall(hello)
                hops.append(hop("hello", "pass", f"sent a hello v3 of {len(hello)} bytes to {address}:{p['port']}"))
            except OSError as exc:
                hops.append(hop("hello", "fail", f"sending the hello to {address}:{p['port']} failed: {exc}"))
    return hops


def walk(p: dict, expect: dict, hello: bytes | None) -> list[dict]:
    hops = [dhcp_hop(p, expect)]
    address = interface_info(p["interface"])["ipv4"]
    later = ["dns", "tcp"] + (["hello"] if hello is not None else [])
    if hops[0]["status"] != "pass":
        return hops + [hop(h, "skip", "not tried: the dhcp hop is broken") for h in later]
    if not address:
        return hops + [hop(h, "skip", f"{p['interface']} has no IPv4 address to ask from: use a host with an address "
                                      "(message_type inform)") for h in later]  # fmt: skip
    dns_result = dns_hop(p, expect, hops[0]["dns_servers"], hops[0]["domain_name"], address)
    hops.append(dns_result)
    if dns_result["status"] != "pass":
        return hops + [hop(h, "skip", "not tried: the dns hop is broken") for h in later[1:]]
    tcp = tcp_hop(p, dns_result["addresses"][0], address, hello)
    hops.extend(tcp)
    if tcp[0]["status"] != "pass" and hello is not None:
        hops.append(hop("hello", "skip", "not tried: the tcp hop is broken"))
    return hops


def run(module) -> dict:
    p = module.params
    if not HAS_DNSPYTHON:
        raise ValueError("dnspython is not installed on this host (pip install dnspython)")
    if not 0 < p["timeout"] <= 30:
        raise ValueError(f"timeout must be more than 0 and at most 30 seconds, not {p['timeout']}")
    raw = p["expect"] or {}
    expect = {
        "dns_servers": [ipv4(s, "expect.dns_servers") for s in raw.get("dns_servers") or []],
        "domain_name": dns_name(raw["domain_name"], "expect.domain_name") if raw.get("domain_name") else None,
        "service_point": ipv4(raw["service_point"], "expect.service_point") if raw.get("service_point") else None,
    }
    hello = None
    if p["send_hello"] and not module.check_mode:
        h = p["hello"] or {"uuid": "00000000-0000-0000-0000-000000000000", "hashes": []}
        hashes = [(x.get("type"), str(x.get("value", ""))) for x in h["hashes"]]
        hello = build_hello(h["uuid"], hashes)
    hops = walk(p, expect, hello)
    rows = [check(f"amt.path.{h['hop']}", ROWS[h["hop"]], h["status"], h["evidence"], REMEDY[h["hop"]]) for h in hops]
    first = next((h["hop"] for h in hops if h["status"] == "fail"), None)
    return {"changed": False, "hops": hops, "first_broken": first, **summary(rows)}


def main() -> None:
    run_and_exit(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run, (DhcpProbeError,))


if __name__ == "__main__":
    main()
