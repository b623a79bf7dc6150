"""dhcp_probe's main() through the run_module fixture, with the socket layer faked (the probe function the module
calls): bad input, no answer with and without expect, answers that pass and fail the option checks, a socket error.
The real sockets, in the lab's namespaces, are in tests/integration/test_dhcp_probe_lab.py."""

from __future__ import annotations

import socket
import struct

import dhcp_probe
import pytest
from ansible_collections.oob.prep.plugins.module_utils.dhcp.client import DhcpProbeError
from ansible_collections.oob.prep.plugins.module_utils.dhcp.wire import parse

MAC = "52:54:00:12:34:56"
XID = 0x0BADCAFE
KEA, WINDOWS = "198.51.100.11", "198.51.100.40"
RELAY = "203.0.113.1"


def option(code: int, value: bytes) -> bytes:
    return bytes((code, len(value))) + value


def ips(*addresses: str) -> bytes:
    return b"".join(socket.inet_aton(a) for a in addresses)


def reply(server: str, message: int = 2, yiaddr: str = "203.0.113.100", giaddr: str = RELAY, dns=("198.51.100.10",),
          domain: bytes | None = b"lab.example\x00", extra: bytes = b"") -> bytes:  # fmt: skip
    """A DHCPOFFER (2) or DHCPACK (5) laid out by hand (RFC 2131 figure 1, RFC 2132 options)."""
    head = struct.pack("!BBBBIHH", 2, 1, 6, 1, XID, 0, 0x8000) + bytes(4) + socket.inet_aton(yiaddr) + bytes(4)
    head += socket.inet_aton(giaddr) + bytes.fromhex(MAC.replace(":", "")) + bytes(10 + 64 + 128)
    opts = option(53, bytes((message,))) + option(54, ips(server)) + option(1, ips("255.255.255.0"))
    opts += option(3, ips(RELAY)) + option(51, struct.pack("!I", 3600))
    opts += option(6, ips(*dns)) if dns else b""
    opts += option(15, domain) if domain is not None else b""
    return head + bytes((99, 130, 83, 99)) + opts + extra + b"\xff"


def answer(data: bytes, source: str = RELAY, elapsed: float = 0.0021) -> dict:
    return dict(parse(data), source=source, source_mac=None, elapsed=elapsed)


@pytest.fixture()
def fake(monkeypatch):
    """Replace the socket layer: set .answers (parsed) or .error; .calls records what the module asked for."""

    class Fake:
        answers: list = []
        malformed: list = []
        error: Exception | None = None
        calls: list = []

    def probe(interface, message="discover", timeout=5.0, *, hostname=None, fqdn=None, **_kw):
        Fake.calls.append({"interface": interface, "message": message, "timeout": timeout, "hostname": hostname,
                           "fqdn": fqdn})  # fmt: skip
        if Fake.error:
            raise Fake.error
        return {"interface": interface, "mac": MAC, "ciaddr": "203.0.113.11" if message == "inform" else None,
                "message": "DHCPINFORM" if message == "inform" else "DHCPDISCOVER", "xid": XID, "timeout": timeout,
                "answers": Fake.answers, "malformed": Fake.malformed}  # fmt: skip

    Fake.answers, Fake.malformed, Fake.error, Fake.calls = [], [], None, []
    monkeypatch.setattr(dhcp_probe, "probe", probe)
    return Fake


EXPECT = {"dns_servers": ["198.51.100.10"], "domain_name": "lab.example"}


def rows(result: dict) -> dict:
    return {c["id"]: c for c in result["checks"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required arguments: interface"),
        ({"interface": "eth0", "message_type": "request"}, "value of message_type must be one of: discover, inform"),
        ({"interface": "eth0", "timeout": 0}, "invalid input: timeout must be more than 0"),
        ({"interface": "eth0", "timeout": 301}, "at most 300 seconds"),
        ({"interface": " "}, "invalid input: interface must name the interface"),
        ({"interface": "eth0", "hostname": "amt..lab"}, "invalid input: hostname: not a DNS name"),
        ({"interface": "eth0", "expect": {}}, "expect needs dns_servers"),
        ({"interface": "eth0", "expect": {"dns_servers": ["dc1.lab.example"]}}, "not an IPv4 address: 'dc1"),
        ({"interface": "eth0", "expect": {"dns_servers": []}}, "expect.dns_servers is empty"),
        ({"interface": "eth0", "expect": {"domain_name": "."}}, "expect.domain_name is empty"),
        ({"interface": "eth0", "expect": {"dns": ["x"]}}, "dns"),
    ],
)
def test_bad_input_fails_before_anything_is_sent(run_module, fake, args, message):
    status, result = run_module(dhcp_probe.main, args)
    assert status == "fail" and message in result["msg"], result
    assert fake.calls == []


def test_no_answer_without_expect_fails_naming_interface_and_timeout(run_module, fake):
    status, result = run_module(dhcp_probe.main, {"interface": "eth0", "timeout": 2.5})
    assert status == "fail" and result["error"] == "no_answer"
    assert "no DHCP server answered the DHCPDISCOVER sent on eth0" in result["msg"]
    assert "within 2.5 s" in result["msg"] and MAC in result["msg"] and "0x0badcafe" in result["msg"]


def test_no_answer_with_expect_is_a_failed_check_not_a_module_failure(run_module, fake):
    status, result = run_module(dhcp_probe.main, {"interface": "eth0", "expect": EXPECT})
    assert status == "exit" and result["answers"] == [] and result["changed"] is False
    checks = rows(result)
    assert checks["dhcp.answer"]["status"] == "fail" and checks["dhcp.answer"]["row"] == "dhcp_active_scope"
    answered = checks["dhcp.answer"]
    assert "no DHCP server answered" in answered["evidence"] and "relays DHCP" in answered["remedy"]
    skipped = [(checks[i]["status"], checks[i]["row"]) for i in ("dhcp.option_006", "dhcp.option_015")]
    assert skipped == [("skip", "dhcp_options_006_015_ddns")] * 2
    assert [c["id"] for c in result["failed_checks"]] == ["dhcp.answer"]


def test_an_offer_through_the_relay_is_reported_and_passes(run_module, fake):
    fake.answers = [answer(reply(KEA))]
    status, result = run_module(dhcp_probe.main, {"interface": "eth0", "expect": EXPECT, "hostname": "amt.lab.example"})
    assert status == "exit", result
    assert fake.calls == [{"interface": "eth0", "message": "discover", "timeout": 5.0, "hostname": "amt",
                           "fqdn": "amt.lab.example"}]  # fmt: skip
    (got,) = result["answers"]
    assert got == {
        "server_id": KEA,
        "message_type": "DHCPOFFER",
        "source": RELAY,
        "relay": RELAY,
        "offered_address": "203.0.113.100",
        "subnet_mask": "255.255.255.0",
        "routers": [RELAY],
        "dns_servers": ["198.51.100.10"],
        "domain_name": "lab.example",
        "client_fqdn": None,
        "lease_time": 3600,
        "options": {
            "53": "DHCPOFFER",
            "54": KEA,
            "1": "255.255.255.0",
            "3": [RELAY],
            "51": 3600,
            "6": ["198.51.100.10"],
            "15": "lab.example",
        },  # fmt: skip
        "elapsed_ms": 2.1,
    }
    assert [(c["id"], c["status"]) for c in result["checks"]] == [
        ("dhcp.answer", "pass"), ("dhcp.ipv4", "pass"), ("dhcp.no_dot1x", "pass"), ("dhcp.option_006", "pass"),
        ("dhcp.option_015", "pass")]  # fmt: skip
    evidence = rows(result)["dhcp.option_006"]["evidence"]
    assert f"server {KEA} (DHCPOFFER through relay {RELAY}) offered option 006 198.51.100.10" in evidence
    assert result["failed_checks"] == [] and result["changed"] is False


def test_domain_compared_without_case_or_trailing_dot(run_module, fake):
    fake.answers = [answer(reply(KEA, domain=b"Lab.Example."))]
    _status, result = run_module(dhcp_probe.main, {"interface": "eth0", "expect": {"domain_name": "lab.example."}})
    assert rows(result)["dhcp.option_015"]["status"] == "pass" and "dhcp.option_006" not in rows(result)


@pytest.mark.parametrize(
    ("offer", "check_id", "evidence", "remedy"),
    [
        (reply(KEA, dns=None), "dhcp.option_006", f"server {KEA} (DHCPOFFER through relay {RELAY}): no option 006; "
         "expected 198.51.100.10", f"set scope option 006 (DNS Servers) of the AMT subnet's scope on {KEA} to "
         "198.51.100.10, in this order"),
        (reply(KEA, dns=("198.51.100.12", "198.51.100.10")), "dhcp.option_006", "offered option 006 198.51.100.12, "
         "198.51.100.10; expected 198.51.100.10", "in this order"),
        (reply(KEA, domain=None), "dhcp.option_015", "no option 015; expected 'lab.example'",
         f"set scope option 015 (DNS Domain Name) of the AMT subnet's scope on {KEA} to lab.example"),
        (reply(KEA, domain=b"corp.example\x00"), "dhcp.option_015", "offered option 015 'corp.example'; expected "
         "'lab.example'", "to lab.example"),
    ],
)  # fmt: skip
def test_missing_or_different_options_fail_naming_the_server_and_what_it_offered(
    run_module, fake, offer, check_id, evidence, remedy
):
    fake.answers = [answer(offer)]
    status, result = run_module(dhcp_probe.main, {"interface": "eth0", "expect": EXPECT})
    assert status == "exit"
    row = rows(result)[check_id]
    assert row["status"] == "fail" and row["row"] == "dhcp_options_006_015_ddns"
    assert evidence in row["evidence"] and remedy in row["remedy"], row
    assert [c["id"] for c in result["failed_checks"]] == [check_id]


def test_every_server_must_offer_the_options(run_module, fake):
    """Two servers answer (a rogue or a second scope): a device takes whichever offer comes first."""
    fake.answers = [
        answer(reply(KEA)),
        answer(reply(WINDOWS, yiaddr="203.0.113.150", dns=("192.0.2.53",)), elapsed=0.004),
    ]
    _status, result = run_module(dhcp_probe.main, {"interface": "eth0", "expect": EXPECT})
    assert [a["server_id"] for a in result["answers"]] == [KEA, WINDOWS]
    row = rows(result)["dhcp.option_006"]
    assert row["status"] == "fail" and f"on {KEA}, {WINDOWS} to" in row["remedy"]
    assert f"server {WINDOWS} (DHCPOFFER through relay {RELAY}) offered option 006 192.0.2.53" in row["evidence"]
    assert rows(result)["dhcp.option_015"]["status"] == "pass"
    assert "2 answer(s)" in rows(result)["dhcp.answer"]["evidence"]


def test_inform_answer_without_relay_or_address(run_module, fake):
    fake.answers = [answer(reply(KEA, message=5, yiaddr="0.0.0.0", giaddr="0.0.0.0"), source=KEA)]
    status, result = run_module(dhcp_probe.main, {"interface": "eth0", "message_type": "inform", "expect": EXPECT})
    assert status == "exit" and result["sent"] == "DHCPINFORM" and result["ciaddr"] == "203.0.113.11"
    got = result["answers"][0]
    assert (got["message_type"], got["relay"], got["offered_address"], got["source"]) == ("DHCPACK", None, None, KEA)
    assert f"server {KEA} (DHCPACK from {KEA}) offered option 006" in rows(result)["dhcp.option_006"]["evidence"]


def test_option_81_and_unknown_options_are_returned(run_module, fake):
    fqdn = bytes.fromhex("07ffff" + "03616d74036c6162076578616d706c6500")
    fake.answers = [answer(reply(KEA, extra=option(81, fqdn) + option(43, b"\x01\x02")))]
    _status, result = run_module(dhcp_probe.main, {"interface": "eth0"})
    got = result["answers"][0]
    assert got["client_fqdn"]["name"] == "amt.lab.example" and got["client_fqdn"]["s"] is True
    assert got["options"]["43"] == "0102" and result["checks"] == []


def test_check_mode_probes_the_same(run_module, fake):
    fake.answers = [answer(reply(KEA))]
    status, result = run_module(dhcp_probe.main, {"interface": "eth0", "_ansible_check_mode": True})
    assert status == "exit" and result["changed"] is False and len(result["answers"]) == 1 and len(fake.calls) == 1


def test_a_malformed_answer_is_a_warning(run_module, fake):
    fake.answers = [answer(reply(KEA))]
    fake.malformed = [{"source": "203.0.113.9", "source_mac": None, "error": "bad magic cookie 0.0.0.0", "hex": "00"}]
    status, result = run_module(dhcp_probe.main, {"interface": "eth0"})
    assert status == "exit" and result["malformed"] == fake.malformed


@pytest.mark.parametrize("kind", ["interface", "permission", "socket"])
def test_socket_layer_errors_fail_with_their_kind(run_module, fake, kind):
    fake.error = DhcpProbeError(kind, f"a {kind} problem on eth0")
    status, result = run_module(dhcp_probe.main, {"interface": "eth0"})
    assert status == "fail" and result == {"msg": f"a {kind} problem on eth0", "error": kind}


def test_a_missing_interface_through_the_real_socket_layer(run_module):
    status, result = run_module(dhcp_probe.main, {"interface": "oobp-none0", "timeout": 1})
    assert status == "fail" and result["error"] == "interface"
    assert result["msg"].startswith("interface oobp-none0 does not exist on this host (it has: ")
