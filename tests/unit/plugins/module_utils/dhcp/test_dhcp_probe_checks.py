"""dhcp.probe_checks without sockets: dhcp_probe's input, one answer as returned, and the rows over all answers.
Through main(), with the probe faked, they are in tests/unit/plugins/modules/test_dhcp_probe.py."""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.dhcp.probe_checks import (
    answer_row,
    option_checks,
    sent_summary,
    validate,
)

PARAMS = {"interface": "eth0", "timeout": 5.0, "hostname": None, "expect": None}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"interface": " "}, "interface must name"),
        ({"timeout": 0}, "more than 0 and at most 300"),
        ({"timeout": 301}, "more than 0 and at most 300"),
        ({"expect": {"dns_servers": None, "domain_name": None}}, "expect needs dns_servers"),
        ({"expect": {"dns_servers": ["dns1"], "domain_name": None}}, "not an IPv4 address: 'dns1'"),
        ({"expect": {"dns_servers": [], "domain_name": None}}, "expect.dns_servers is empty"),
        ({"expect": {"dns_servers": None, "domain_name": " . "}}, "expect.domain_name is empty"),
    ],
)
def test_bad_input_is_refused_naming_the_option(change, words):
    with pytest.raises(ValueError) as err:
        validate({**PARAMS, **change})
    assert words in str(err.value)


def test_good_input_comes_back_as_expect_and_hostname():
    expect = {"dns_servers": ["198.51.100.10"], "domain_name": "lab.example."}
    assert validate({**PARAMS, "hostname": "amt1.lab.example", "expect": expect}) == {
        "expect": expect,
        "hostname": "amt1.lab.example",
    }


def answer(**options) -> dict:
    return {"server_id": "198.51.100.11", "message_type": "DHCPOFFER", "source": "203.0.113.1",
            "giaddr": "203.0.113.1", "yiaddr": "0.0.0.0", "options": options, "elapsed": 0.0125}  # fmt: skip


def test_an_answer_row_names_the_relay_and_leaves_unset_addresses_out():
    row = answer_row(answer(**{"6": ["198.51.100.10"]}))
    assert row["relay"] == "203.0.113.1" and row["offered_address"] is None and row["elapsed_ms"] == 12.5
    assert row["options"] == {"6": ["198.51.100.10"]}


def test_no_answer_fails_dhcp_answer_and_skips_the_rest_naming_it():
    rows = option_checks([], {"dns_servers": ["198.51.100.10"], "domain_name": None}, "the DHCPDISCOVER")
    assert [(c["id"], c["status"]) for c in rows] == [
        ("dhcp.answer", "fail"),
        ("dhcp.option_006", "skip"),
        ("dhcp.ipv4", "skip"),
        ("dhcp.no_dot1x", "skip"),
    ]
    assert rows[0]["evidence"] == "no DHCP server answered the DHCPDISCOVER"


def test_every_answer_must_offer_the_expected_options():
    good = answer_row({**answer(), "options": {6: ["198.51.100.10"], 15: "Lab.Example."}})
    bad = answer_row({**answer(), "server_id": "198.51.100.40", "options": {6: ["198.51.100.12"]}})
    rows = {c["id"]: c for c in option_checks([good, bad], {"dns_servers": ["198.51.100.10"],
                                                            "domain_name": "lab.example"}, "x")}  # fmt: skip
    assert rows["dhcp.answer"]["status"] == "pass" and rows["dhcp.option_006"]["status"] == "fail"
    assert rows["dhcp.option_006"]["evidence"].endswith("; expected 198.51.100.10")
    assert "198.51.100.11, 198.51.100.40" in rows["dhcp.option_006"]["remedy"]
    assert rows["dhcp.option_015"]["status"] == "fail" and "no option 015" in rows["dhcp.option_015"]["evidence"]
    assert option_checks([good], {"dns_servers": None, "domain_name": "lab.example"}, "x")[-1]["status"] == "pass"


def test_sent_summary():
    result = {"message": "DHCPDISCOVER", "interface": "eth0", "mac": "52:54:00:12:34:56", "xid": 0xBADCAFE,
              "timeout": 2.5}  # fmt: skip
    assert sent_summary(result) == ("the DHCPDISCOVER sent on eth0 (MAC 52:54:00:12:34:56, xid 0x0badcafe) within "
                                    "2.5 s")  # fmt: skip
