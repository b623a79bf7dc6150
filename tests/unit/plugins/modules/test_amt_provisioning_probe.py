"""amt_provisioning_probe's main(): the DHCP hop from a recorded answer (the raw-socket layer is monkeypatched: it
needs a namespace), the DNS hop against a tiny DNS responder on 127.0.1.53 (dnspython builds its answers), the TCP
hop and the hello against a listener on loopback. Each broken hop is named; later hops are skipped."""

from __future__ import annotations

import socket
import threading
import uuid

import amt_provisioning_probe as mod
import dns.message
import dns.rrset
import pytest
from ansible_collections.oob.prep.plugins.module_utils.amt import provisioning_path as path

DNS_IP, SP_IP = "127.0.1.53", "127.0.1.20"


def answer(options: dict) -> dict:
    return {"server_id": "198.51.100.11", "source": "198.51.100.11", "giaddr": "203.0.113.1", "yiaddr": "0.0.0.0",
            "message_type": "DHCPACK", "options": options, "elapsed": 0.002}  # fmt: skip


@pytest.fixture()
def dns_server():
    """Answers ProvisionServer.lab.example with a CNAME to oobsp.lab.example and its A record; NXDOMAIN otherwise."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((DNS_IP, 53))
    except OSError as exc:
        pytest.skip(f"cannot bind {DNS_IP}:53 here ({exc})")
    records = {"provisionserver.lab.example.": ("oobsp.lab.example.", SP_IP)}
    sock.settimeout(0.1)  # the thread looks at `done` often, so the port is free when the test ends
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            reply = dns.message.make_response(query)
            name = query.question[0].name.to_text().lower()
            if name in records:
                target, address = records[name]
                reply.answer.append(dns.rrset.from_text(name, 300, "IN", "CNAME", target))
                reply.answer.append(dns.rrset.from_text(target, 300, "IN", "A", address))
            else:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield records
    done.set()
    thread.join()
    sock.close()


@pytest.fixture()
def service_point():
    """A listener on SP_IP:9971 that keeps what each connection sent."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((SP_IP, 9971))
    server.listen(8)
    server.settimeout(0.1)
    got = []
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(2)
            with conn:
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
                got.append(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield got
    done.set()
    thread.join()
    server.close()


@pytest.fixture()
def dhcp(monkeypatch):
    """The DHCP hop's wire: what the server answers (settable), and the probe host's address (loopback)."""
    offered = {"answers": [answer({6: [DNS_IP], 15: "lab.example"})]}
    monkeypatch.setattr(path, "probe", lambda iface, message, timeout: {"message": "DHCPINFORM", **offered})
    monkeypatch.setattr(path, "interface_info", lambda iface: {"ipv4": "127.0.0.1", "mac": "02:00:00:00:00:01"})
    return offered


EXPECT = {"dns_servers": [DNS_IP], "domain_name": "lab.example", "service_point": SP_IP}


def test_every_hop_passes_and_nothing_is_sent_to_the_service_point(run_module, dhcp, dns_server, service_point):
    status, res = run_module(mod.main, {"interface": "eth0", "expect": EXPECT})
    assert status == "exit" and res["changed"] is False, res
    assert [(h["hop"], h["status"]) for h in res["hops"]] == [("dhcp", "pass"), ("dns", "pass"), ("tcp", "pass")]
    assert res["first_broken"] is None and res["failed_checks"] == []
    assert "CNAME oobsp.lab.example." in res["hops"][1]["evidence"]
    for _ in range(100):
        if service_point:
            break
        threading.Event().wait(0.02)
    assert service_point == [b""]  # connected and closed, no hello


@pytest.mark.parametrize(
    ("breakage", "broken"),
    [("no_015", "dhcp"), ("alias_gone", "dns"), ("sp_down", "tcp")],
)
def test_each_broken_hop_is_named_and_the_later_ones_skipped(run_module, dhcp, dns_server, breakage, broken):
    if breakage == "no_015":
        dhcp["answers"] = [answer({6: [DNS_IP]})]
    elif breakage == "alias_gone":
        dns_server.clear()
    status, res = run_module(mod.main, {"interface": "eth0", "expect": EXPECT, "timeout": 1})
    assert status == "exit" and res["first_broken"] == broken, res
    order = ["dhcp", "dns", "tcp"]
    after = order[order.index(broken) + 1 :]
    assert [h["status"] for h in res["hops"] if h["hop"] in after] == ["skip"] * len(after)
    assert [c["id"] for c in res["failed_checks"]] == [f"amt.path.{broken}"]
    if breakage == "sp_down":
        assert res["hops"][2]["state"] == "refused"


def test_the_hello_is_sent_only_when_asked_and_not_in_check_mode(run_module, dhcp, dns_server, service_point):
    device = str(uuid.uuid4())
    hello = {"uuid": device, "hashes": [{"type": 2, "value": "ab" * 32}]}
    status, res = run_module(mod.main, {"interface": "eth0", "send_hello": True, "hello": hello,
                                        "_ansible_check_mode": True})  # fmt: skip
    assert status == "exit" and [h["hop"] for h in res["hops"]] == ["dhcp", "dns", "tcp"]
    status, res = run_module(mod.main, {"interface": "eth0", "send_hello": True, "hello": hello})
    assert status == "exit" and res["hops"][-1]["hop"] == "hello" and res["hops"][-1]["status"] == "pass", res
    for _ in range(50):
        if len(service_point) == 2:
            break
        threading.Event().wait(0.02)
    sent = service_point[-1]
    # hello v3, little-endian: u16 admin-credentials-set 0, u16 version 3, u32 retry 0, UUID (bytes_le), 1 hash
    assert sent[:8] == bytes([0, 0, 3, 0, 0, 0, 0, 0]) and sent[8:24] == uuid.UUID(device).bytes_le
    assert sent[24:27] == bytes([1, 2, 32]) and sent[27:] == bytes.fromhex("ab" * 32)


def test_bad_input_is_refused(run_module, dhcp):
    status, res = run_module(mod.main, {"interface": "eth0", "expect": {"service_point": "2001:db8::20"}})
    assert status == "fail" and "IPv6" in res["msg"], res
    status, res = run_module(mod.main, {"interface": "eth0", "timeout": 0})
    assert status == "fail" and "timeout" in res["msg"], res
