"""amt.provisioning_checks without sockets: amt_provisioning_probe's input (expect, the hello), the dhcp and dns hops'
verdicts from what was read, and the hops as check rows. The hello bytes are written out from its published layout
(amt.hello's docstring: u16 admin credentials set, u16 version 3, u32 retry count, the UUID in SMBIOS byte order, u8
hash count, then type, size, hash). Walked for real (DNS and TCP on loopback), they are in
tests/unit/plugins/modules/test_amt_provisioning_probe.py."""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.amt.provisioning_checks import (
    dhcp_verdict,
    dns_verdict,
    expect_from_params,
    first_broken,
    hello_from_params,
    hop,
    hop_rows,
)

DNS, SP, NAME = "198.51.100.10", "198.51.100.20", "ProvisionServer.lab.example"
P = {"interface": "eth0", "timeout": 2.0, "expect": None}


# -------------------------------------------------------------------------------------------------------- input


def test_expect_in_canonical_form():
    assert expect_from_params(P) == {"dns_servers": [], "domain_name": None, "service_point": None}
    got = expect_from_params(
        {**P, "expect": {"dns_servers": [DNS], "domain_name": "Lab.Example.", "service_point": SP}}
    )
    assert got == {"dns_servers": [DNS], "domain_name": "lab.example", "service_point": SP}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"timeout": 0}, "timeout must be more than 0 and at most 30 seconds, not 0"),
        ({"timeout": 31}, "timeout must be more than 0 and at most 30 seconds, not 31"),
        ({"expect": {"service_point": "2001:db8::20"}}, "IPv6"),
        ({"expect": {"dns_servers": ["dns1"]}}, "expect.dns_servers"),
        ({"expect": {"domain_name": "-lab.example"}}, "expect.domain_name"),
    ],
)
def test_bad_input_is_refused(change, words):
    with pytest.raises(ValueError) as err:
        expect_from_params({**P, **change})
    assert words in str(err.value)


def test_the_hello_from_its_option():
    # no option: a zero UUID and no hashes, 25 bytes
    assert hello_from_params(None) == bytes([0, 0, 3, 0, 0, 0, 0, 0]) + bytes(16) + bytes([0])
    got = hello_from_params(
        {"uuid": "00112233-4455-6677-8899-aabbccddeeff", "hashes": [{"type": 1, "value": "aa" * 20}]}
    )
    assert got == (
        bytes([0, 0, 3, 0, 0, 0, 0, 0])
        + bytes.fromhex("33221100554477668899aabbccddeeff")  # the first three groups little-endian
        + bytes([1, 1, 20])
        + bytes.fromhex("aa" * 20)
    )


# ------------------------------------------------------------------------------------------------- the dhcp hop


def answered(options: dict, **more) -> dict:
    answer = {"server_id": "198.51.100.11", "source": "198.51.100.11", "giaddr": "203.0.113.1", "options": options}
    return {"message": "DHCPINFORM", "answers": [{**answer, **more}]}


def test_the_dhcp_hop_passes_with_006_and_015():
    got = dhcp_verdict(answered({6: [DNS], 15: "lab.example"}), P, {"dns_servers": [DNS], "domain_name": "lab.example"})
    assert got == {
        "hop": "dhcp",
        "status": "pass",
        "evidence": "server 198.51.100.11 through relay 203.0.113.1 answered the DHCPINFORM on eth0: option 006 "
        f"{DNS}, option 015 lab.example",
        "dns_servers": [DNS],
        "domain_name": "lab.example",
    }
    # option 015 compared in canonical form (RFC 4343: DNS names are case-insensitive)
    assert dhcp_verdict(answered({6: [DNS], 15: "LAB.example."}), P, {"domain_name": "lab.example"})["status"] == "pass"


def test_the_dhcp_hop_fails_naming_each_problem():
    result = answered({6: ["198.51.100.99"]}, server_id=None, source="198.51.100.12", giaddr="0.0.0.0")
    got = dhcp_verdict(result, P, {"dns_servers": [DNS], "domain_name": "lab.example"})
    assert got == {
        "hop": "dhcp",
        "status": "fail",
        "evidence": "server 198.51.100.12 answered the DHCPINFORM on eth0: option 006 198.51.100.99, option 015 "
        "(none); no option 015 (domain name); option 006 is 198.51.100.99, not 198.51.100.10",
        "dns_servers": ["198.51.100.99"],
        "domain_name": None,
    }
    got = dhcp_verdict(answered({15: "other.example"}), P, {"domain_name": "lab.example"})
    assert got["evidence"].endswith("option 006 (none), option 015 other.example; no option 006 (DNS servers); "
                                    "option 015 is other.example, not lab.example")  # fmt: skip


def test_no_dhcp_answer():
    got = dhcp_verdict({"message": "DHCPDISCOVER", "answers": []}, P, {})
    assert got == {
        "hop": "dhcp",
        "status": "fail",
        "evidence": "no DHCP server answered the DHCPDISCOVER on eth0 within 2 s",
    }


# -------------------------------------------------------------------------------------------------- the dns hop


def test_the_dns_hop_through_a_cname():
    got = dns_verdict(DNS, NAME, ["oobsp.lab.example."], [SP], rcode="NOERROR", expect={"service_point": SP})
    assert got == {"hop": "dns", "status": "pass", "query": NAME, "addresses": [SP],
                   "evidence": f"{DNS} resolves {NAME} (CNAME oobsp.lab.example.) to {SP}"}  # fmt: skip
    assert dns_verdict(DNS, NAME, [], [SP, "198.51.100.21"], rcode="NOERROR", expect={})["evidence"] == (
        f"{DNS} resolves {NAME} to {SP}, 198.51.100.21"
    )


def test_the_dns_hop_fails_without_the_service_point():
    assert dns_verdict(DNS, NAME, [], [], rcode="NXDOMAIN", expect={"service_point": SP}) == {
        "hop": "dns", "status": "fail", "query": NAME, "evidence": f"{DNS} answered {NAME} with NXDOMAIN and no address"
    }  # fmt: skip
    got = dns_verdict(DNS, NAME, ["a.lab.example.", "b.lab.example."], [], rcode="NOERROR", expect={})
    assert (
        got["evidence"] == f"{DNS} answered {NAME} with NOERROR and no address (CNAME a.lab.example. -> b.lab.example.)"
    )
    got = dns_verdict(DNS, NAME, [], ["198.51.100.21"], rcode="NOERROR", expect={"service_point": SP})
    assert got == {"hop": "dns", "status": "fail", "query": NAME, "addresses": ["198.51.100.21"],
                   "evidence": f"{DNS} resolves {NAME} to 198.51.100.21, not the service point {SP}"}  # fmt: skip


# ------------------------------------------------------------------------------------------------ rows and verdict


def test_each_hop_is_a_check_row_and_the_first_failed_one_is_named():
    hops = [hop("dhcp", "pass", "ok"), hop("dns", "fail", "no address"), hop("tcp", "skip", "not tried"),
            hop("hello", "skip", "not tried")]  # fmt: skip
    assert hop_rows(hops) == [
        {"id": "amt.path.dhcp", "row": "dhcp_options_006_015_ddns", "status": "pass", "evidence": "ok", "remedy": ""},
        {"id": "amt.path.dns", "row": "dns_provisionserver", "status": "fail", "evidence": "no address",
         "remedy": "register ProvisionServer in the suffix's zone, pointing at the service point: playbooks/dns.yml"},
        {"id": "amt.path.tcp", "row": "network_ports", "status": "skip", "evidence": "not tried",
         "remedy": "allow TCP 9971 from the AMT subnets to the service point (playbooks/network.yml) and check that "
                   "the out of band service point role runs"},
        {"id": "amt.path.hello", "row": "network_ports", "status": "skip", "evidence": "not tried",
         "remedy": "check the out of band service point's log (amtopmgr.log) for the hello"},
    ]  # fmt: skip
    assert first_broken(hops) == "dns"
    assert first_broken([hop("dhcp", "pass", "ok"), hop("dns", "pass", "ok"), hop("tcp", "pass", "ok")]) is None
