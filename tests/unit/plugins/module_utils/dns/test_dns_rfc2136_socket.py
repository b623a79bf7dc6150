"""Rfc2136.query over real UDP on the loopback: an answer from a server (dnspython's own, not the project's code) is
read, and a port where nothing listens is refused at once, with a message that says so (the kernel reports the ICMP
port unreachable to a connected socket only; an unconnected one waits out its timeout)."""

from __future__ import annotations

import socket
import threading

import pytest

dns_message = pytest.importorskip("dns.message")
import dns.rrset  # noqa: E402
from ansible_collections.oob.prep.plugins.module_utils.dns.plan import DnsError  # noqa: E402
from ansible_collections.oob.prep.plugins.module_utils.dns.rfc2136 import Rfc2136  # noqa: E402

TIMEOUT = 30.0  # far longer than the test: a refusal must not wait for it


def server_answering_once() -> tuple[int, threading.Thread]:
    """A UDP server on 127.0.0.1 that answers one query with an authoritative SOA (built by dnspython)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(TIMEOUT)

    def answer() -> None:
        with sock:
            wire, peer = sock.recvfrom(65535)
            query = dns_message.from_wire(wire)
            response = dns_message.make_response(query)
            response.flags |= 0x0400  # AA
            soa = "dc1.lab.example. hostmaster.lab.example. 7 900 600 86400 3600"
            response.answer.append(dns.rrset.from_text("lab.example.", 3600, "IN", "SOA", soa))
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return sock.getsockname()[1], thread


def closed_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago (nothing listens on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_answer_over_the_connected_socket_is_read():
    port, thread = server_answering_once()
    server = Rfc2136({"host": "dc1.lab.example", "address": "127.0.0.1", "port": port}, "none", TIMEOUT)
    got = server.query("lab.example", "SOA")
    thread.join(TIMEOUT)
    assert got["rcode"] == "NOERROR" and got["authoritative"] is True
    assert got["answer"][0][:2] == ("lab.example.", "SOA"), got


def test_a_closed_port_is_refused_at_once_not_a_timeout():
    port = closed_port()
    server = Rfc2136({"host": "dc1.lab.example", "address": "127.0.0.1", "port": port}, "none", TIMEOUT)
    with pytest.raises(DnsError) as refused:
        server.query("lab.example", "SOA")
    assert refused.value.kind == "unreachable"
    message = str(refused.value)
    assert message.startswith(f"dc1.lab.example (127.0.0.1:{port}) refused a query for lab.example SOA") and (
        "timeout" not in message
    ), message
