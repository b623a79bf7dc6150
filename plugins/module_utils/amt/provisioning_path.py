# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""amt_provisioning_probe's adapter: the path an AMT computer in setup mode walks, walked hop by hop from a host in
its subnet - a DHCPINFORM or DHCPDISCOVER (``dhcp.client``, raw or port-68 sockets), the ProvisionServer query to
option 006's first server (dnspython), a TCP connection to the service point and, when asked, the hello. Each hop's
verdict and the check rows are ``amt.provisioning_checks`` (pure).
"""

from __future__ import annotations

import errno
import socket
import time

from ansible_collections.oob.prep.plugins.module_utils.amt.provisioning_checks import dhcp_verdict, dns_verdict, hop
from ansible_collections.oob.prep.plugins.module_utils.dhcp.client import interface_info, probe

try:
    import dns.exception
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    HAS_DNSPYTHON = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_DNSPYTHON = False


def dhcp_hop(p: dict, expect: dict) -> dict:
    """Send the DHCP message on the interface and judge the answers (``dhcp_verdict``)."""
    return dhcp_verdict(probe(p["interface"], p["message_type"], p["timeout"]), p, expect)


def dns_hop(p: dict, expect: dict, servers: list, suffix: str, source: str) -> dict:
    """Ask the first of ``servers`` (option 006), from ``source``, for <record_name>.<suffix> A, and judge the answer
    (``dns_verdict``)."""
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
    rcode = dns.rcode.to_text(answer.rcode())
    return dns_verdict(server, name, chain, addresses, rcode=rcode, expect=expect)


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
