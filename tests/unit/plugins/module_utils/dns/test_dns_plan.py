"""dns.plan: input checks, the ProvisionServer plan, dNSProperty decoding (no network, no dnspython).

Expected updates are written as RFC 2136 states them: prerequisites 2.4.1 (RRset exists), 2.4.3 (RRset does not
exist), 2.4.5 (name is not in use); changes 2.5.1 (add), 2.5.2 (delete an RRset), 2.5.3 (delete all RRsets from a
name). The dNSProperty bytes were produced by Samba's own NDR encoder (samba.dcerpc.dnsp, python3-samba), an
implementation of [MS-DNSP] 2.3.2.1 independent of this project's.
"""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.dns.plan import (
    DnsError,
    check_fqdn,
    check_ipv4,
    check_tsig_secret,
    plan_record,
    rrsets_from_answer,
    zone_allow_update,
)

NAME = "ProvisionServer.lab.example"


def want(**extra):
    return dict({"name": NAME, "type": "CNAME", "value": "oobsp.lab.example", "ttl": 3600, "state": "present"}, **extra)


@pytest.mark.parametrize(
    ("wanted", "have", "prerequisites", "changes", "after"),
    [
        # nothing there: a CNAME needs the name unused (2.4.5), then is added
        (want(), {}, [("name_absent", None)], [("replace", "CNAME", 3600, "oobsp.lab.example")],
         [f"{NAME}. 3600 IN CNAME oobsp.lab.example"]),
        # the CNAME points elsewhere: replace it while it still exists (2.4.1)
        (want(), {"CNAME": {"ttl": 3600, "values": ["evil.example"]}}, [("exists", "CNAME")],
         [("replace", "CNAME", 3600, "oobsp.lab.example")], [f"{NAME}. 3600 IN CNAME oobsp.lab.example"]),
        # only the TTL differs
        (want(), {"CNAME": {"ttl": 60, "values": ["oobsp.lab.example"]}}, [("exists", "CNAME")],
         [("replace", "CNAME", 3600, "oobsp.lab.example")], [f"{NAME}. 3600 IN CNAME oobsp.lab.example"]),
        # an A record where nothing is: it must not land beside a CNAME (2.4.3)
        (want(type="A", value="198.51.100.20"), {}, [("absent", "A"), ("absent", "CNAME")],
         [("replace", "A", 3600, "198.51.100.20")], [f"{NAME}. 3600 IN A 198.51.100.20"]),
        # an A record beside a TXT and a DHCID (RFC 4701) record: they stay, and are no prerequisite
        (want(type="A", value="198.51.100.20"),
         {"TXT": {"ttl": 60, "values": ['"x"']},
          "DHCID": {"ttl": 60, "values": ["AAEBOSD+XR3Os/0LozeXVqcNc7FwCfQdWL3b/NaiUDlW2No="]}},
         [("absent", "A"), ("absent", "CNAME")], [("replace", "A", 3600, "198.51.100.20")],
         [f"{NAME}. 60 IN DHCID AAEBOSD+XR3Os/0LozeXVqcNc7FwCfQdWL3b/NaiUDlW2No=", f'{NAME}. 60 IN TXT "x"',
          f"{NAME}. 3600 IN A 198.51.100.20"]),
        # an A record with another address, beside a TXT record: replace it while it exists
        (want(type="A", value="198.51.100.20"),
         {"A": {"ttl": 3600, "values": ["192.0.2.66"]}, "TXT": {"ttl": 60, "values": ['"x"']}},
         [("exists", "A"), ("absent", "CNAME")], [("replace", "A", 3600, "198.51.100.20")],
         [f'{NAME}. 60 IN TXT "x"', f"{NAME}. 3600 IN A 198.51.100.20"]),
        # a CNAME in a signed zone: RRSIG and NSEC may sit beside it (RFC 2181 10.1, RFC 4035 2.5)
        (want(), {"RRSIG": {"ttl": 60, "values": ["sig"]}, "NSEC": {"ttl": 60, "values": ["next"]}},
         [("absent", "CNAME")], [("replace", "CNAME", 3600, "oobsp.lab.example")],
         [f"{NAME}. 60 IN NSEC next", f"{NAME}. 60 IN RRSIG sig", f"{NAME}. 3600 IN CNAME oobsp.lab.example"]),
        # absent: delete our RRset only (2.5.2) while it exists
        (want(state="absent"), {"CNAME": {"ttl": 3600, "values": ["oobsp.lab.example"]}}, [("exists", "CNAME")],
         [("delete", "CNAME")], []),
    ],
)  # fmt: skip
def test_plans(wanted, have, prerequisites, changes, after):
    plan = plan_record(wanted, have)
    assert plan["changed"] is True
    assert (plan["prerequisites"], plan["changes"], plan["after"]) == (prerequisites, changes, after)


@pytest.mark.parametrize(
    ("wanted", "have"),
    [
        (want(), {"CNAME": {"ttl": 3600, "values": ["oobsp.lab.example"]}}),
        (want(type="A", value="198.51.100.20"), {"A": {"ttl": 3600, "values": ["198.51.100.20"]}}),
        (want(state="absent"), {}),
        (want(state="absent"), {"A": {"ttl": 3600, "values": ["198.51.100.20"]}}),  # not ours to remove
    ],
)
def test_nothing_to_do(wanted, have):
    plan = plan_record(wanted, have)
    assert plan["changed"] is False and plan["changes"] == []


@pytest.mark.parametrize(
    ("wanted", "have", "found"),
    [
        (want(), {"A": {"ttl": 300, "values": ["192.0.2.66"]}}, f"{NAME}. 300 IN A 192.0.2.66"),
        (want(type="A", value="198.51.100.20"), {"CNAME": {"ttl": 300, "values": ["x.example"]}},
         f"{NAME}. 300 IN CNAME x.example"),
    ],
)  # fmt: skip
def test_a_record_of_another_type_is_a_conflict(wanted, have, found):
    with pytest.raises(DnsError, match="replace_conflicts=true") as err:
        plan_record(wanted, have)
    assert err.value.kind == "conflict" and found in str(err.value)
    plan = plan_record(dict(wanted, replace_conflicts=True), have)
    [other] = have  # delete the RRset in the way (RFC 2136 2.5.2) while it exists as read (2.4.1)
    assert plan["changes"][0] == ("delete", other) and plan["changes"][1][0] == "replace"
    assert ("exists", other) in plan["prerequisites"]


@pytest.mark.parametrize("other", ["TXT", "DHCID", "AAAA", "MX"])
def test_a_cname_cannot_sit_beside_any_other_data(other):
    have = {other: {"ttl": 60, "values": ["v"]}}
    with pytest.raises(DnsError, match=r"a CNAME cannot sit beside other data .*RFC 1034 3\.6\.2") as err:
        plan_record(want(), have)
    assert f"{NAME}. 60 IN {other} v" in str(err.value) and "type=A" in str(err.value)
    # with type A the same record is no conflict and is kept
    plan = plan_record(want(type="A", value="198.51.100.20"), have)
    assert f"{NAME}. 60 IN {other} v" in plan["after"] and plan["conflicts"] == []


def test_answers_are_read_for_the_name_only():
    answer = [
        ("provisionserver.lab.example.", "CNAME", 3600, ["OOBSP.lab.example."]),
        ("oobsp.lab.example.", "A", 3600, ["198.51.100.20"]),  # the target, chased by the server
    ]
    assert rrsets_from_answer(NAME, answer) == {"CNAME": {"ttl": 3600, "values": ["oobsp.lab.example"]}}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2001:db8::20", "is an IPv6 address"),
        ("198.51.100.300", "is not an IPv4 address"),
        ("oobsp.lab.example", "is not an IPv4 address"),
    ],
)
def test_ipv4_only(value, message):
    with pytest.raises(ValueError, match=message):
        check_ipv4(value, "ipv4")


@pytest.mark.parametrize("value", ["", "-bad.example", "a..b", "under_score.example", "x" * 64 + ".example"])
def test_bad_names(value):
    with pytest.raises(ValueError, match="is not a valid DNS name"):
        check_fqdn(value, "target")


def test_names_are_normalised():
    assert check_fqdn("OOBSP.Lab.Example.", "target") == "oobsp.lab.example"


def test_tsig_secret_must_be_base64_and_is_never_echoed():
    assert check_tsig_secret("c2VjcmV0") == b"secret"
    with pytest.raises(ValueError) as err:
        check_tsig_secret("not base64 !!")
    assert "not base64 !!" not in str(err.value) and "base64" in str(err.value)


@pytest.mark.parametrize(
    ("hexbytes", "expected"),
    [
        ("01000000010000000000000001000000020000000200000000", "secure only"),  # DNS_ZONE_UPDATE_SECURE
        ("01000000010000000000000001000000020000000100000000", "nonsecure and secure"),  # ..._UNSECURE
        ("01000000010000000000000001000000020000000000000000", "off"),  # DNS_ZONE_UPDATE_OFF
    ],
)
def test_zone_allow_update_from_samba_ndr_bytes(hexbytes, expected):
    aging = bytes.fromhex("04000000010000000000000001000000100000000000000000000000")  # another property first
    assert zone_allow_update([aging, bytes.fromhex(hexbytes)]) == expected
    assert zone_allow_update([aging]) is None
