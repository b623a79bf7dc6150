"""dns.checks without a network: dns_provision_info's input and the zone security rows, which are pure given what
LDAP returned. The DNS rows are driven through the module's main() against a faked DNS world
(tests/unit/plugins/modules/test_dns_provision_info.py)."""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.dns.checks import security_checks, want_from_params

PARAMS = {"suffixes": ["Lab.Example."], "record_name": "ProvisionServer", "service_point_fqdn": "oobsp.lab.example",
          "service_point_ipv4": "198.51.100.20", "consoles": [{"fqdn": "OOBSP.lab.example", "ipv4": None}],
          "server": "dc1.lab.example:5353", "timeout": None, "ldap_servers": [], "domains": []}  # fmt: skip


def test_a_console_that_is_the_service_point_is_one_host_and_the_defaults_apply():
    want = want_from_params(PARAMS)
    assert want["suffixes"] == ["lab.example"] and want["fqdn"] == "oobsp.lab.example"
    assert want["hosts"] == [
        {"fqdn": "oobsp.lab.example", "ipv4": "198.51.100.20", "role": "service point and console"}
    ]
    assert want["timeout"] == 5.0 and (want["server"]["host"], want["server"]["port"]) == ("dc1.lab.example", 5353)


@pytest.mark.parametrize(
    ("found", "status", "words"),
    [
        (None, "skip", "LDAP not given"),
        ({}, "skip", "is not AD-integrated in the partitions searched (P); the DC does not hold Q"),
        ({"lab.example": [("DN", "nonsecure and secure")]}, "warn", "DN: nonsecure and secure: it takes non-secure"),
        ({"lab.example": [("DN", None)]}, "warn", "DN: no dynamic-update property: the dynamic-update setting cannot"),
        ({"lab.example": [("DN", "off")]}, "pass", "it takes no dynamic updates"),
        ({"lab.example": [("DN", "secure only")]}, "pass", "only secure (Kerberos-signed) updates"),
    ],
)
def test_zone_security_rows(found, status, words):
    [row] = security_checks({"lab.example": "holds ProvisionServer.lab.example"}, found, ["P"], ["Q"])
    assert row["id"] == "dns.zone.lab.example.updates" and row["row"] == "dns_auto_registration"
    assert row["status"] == status and words in row["evidence"], row
    assert row["evidence"].startswith("zone lab.example (holds ProvisionServer.lab.example)")
