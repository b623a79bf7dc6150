"""dns.rfc2136 without a network: the GSS-TSIG hints, the update Rfc2136 sends for a plan (read back with dnspython's
parser, RFC 2136 2.4 and 2.5), and the reading of every RRset at a name (ANY, or type by type from an RFC 8482 server).
"""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.dns.plan import plan_record, rrsets_from_answer
from ansible_collections.oob.prep.plugins.module_utils.dns.rfc2136 import Rfc2136

NAME = "ProvisionServer.lab.example"


def want(**extra):
    return dict({"name": NAME, "type": "CNAME", "value": "oobsp.lab.example", "ttl": 3600, "state": "present"}, **extra)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        # MIT Kerberos' messages (krb5 error table): the server's, and the missing ticket's
        ("Server not found in Kerberos database", "the KDC does not know DNS/dc1.lab.example"),
        ("No Kerberos credentials available (default cache: FILE:/tmp/x)", "no Kerberos ticket: run kinit"),
        ("Clock skew too great", "check the Kerberos ticket (kinit), KRB5_CONFIG"),
    ],
)
def test_gss_tsig_failures_say_what_to_do(text, hint):
    from ansible_collections.oob.prep.plugins.module_utils.dns.rfc2136 import _gss_hint  # noqa: PLC0415

    message = _gss_hint(Exception(text), "dc1.lab.example")
    assert message.startswith("GSS-TSIG with dc1.lab.example failed: ") and hint in message and text in message


# --- the update on the wire, read back with dnspython's parser (RFC 2136 2.4 and 2.5) --------------------------------
dns_message = pytest.importorskip("dns.message")
ANY, NONE, IN = 255, 254, 1  # RFC 1035 3.2.5 / RFC 2136 1.3: the classes a prerequisite and an update use


def sent_update(plan: dict) -> list:
    """The update Rfc2136.update sends for ``plan``, as [(section, owner, class, type, ttl, [rdata text])]."""
    adapter = Rfc2136({"host": "dc1.lab.example", "address": "198.51.100.10"}, "none")
    captured = {}

    def exchange(message, _keyring):
        captured["wire"] = message.to_wire()
        return "NOERROR", True

    adapter._exchange_tcp = exchange
    adapter.update("lab.example", NAME, plan)
    message = dns_message.from_wire(captured["wire"])  # parsed independently of the message built
    rows = []
    for section, rrsets in (("zone", message.sections[0]), ("prereq", message.sections[1]),
                            ("update", message.sections[2])):  # fmt: skip
        for rrset in rrsets:
            # dnspython keeps the wire class ANY or NONE of a prerequisite or delete in ``deleting``
            wire_class = int(rrset.deleting) if rrset.deleting is not None else int(rrset.rdclass)
            rows.append((section, rrset.name.to_text(), wire_class, int(rrset.rdtype), rrset.ttl,
                         sorted(rd.to_text() for rd in rrset)))  # fmt: skip
    return rows


OWNER = "ProvisionServer.lab.example."
ZONE = ("zone", "lab.example.", IN, 6, 0, [])  # RFC 2136 2.3: the zone section is the zone's SOA, class IN


@pytest.mark.parametrize(
    ("wanted", "have", "expected"),
    [
        # A beside TXT: 2.4.3 "RRset does not exist" for A and CNAME (class NONE, TTL 0, no rdata); 2.5.2 delete the
        # A RRset (class ANY, TTL 0, no rdata), then 2.5.1 add (class IN, the TTL, the rdata)
        (want(type="A", value="198.51.100.20"), {"TXT": {"ttl": 60, "values": ['"x"']}},
         [ZONE, ("prereq", OWNER, NONE, 1, 0, []), ("prereq", OWNER, NONE, 5, 0, []),
          ("update", OWNER, ANY, 1, 0, []), ("update", OWNER, IN, 1, 3600, ["198.51.100.20"])]),
        # nothing there, a CNAME: 2.4.5 "Name is not in use" (class NONE, type ANY)
        (want(), {}, [ZONE, ("prereq", OWNER, NONE, 255, 0, []), ("update", OWNER, ANY, 5, 0, []),
                      ("update", OWNER, IN, 5, 3600, ["oobsp.lab.example."])]),
        # a CNAME replacing a TXT record (replace_conflicts): 2.4.1 "RRset exists" (class ANY, type TXT, TTL 0), the TXT
        # RRset deleted (2.5.2), then the CNAME
        (want(replace_conflicts=True), {"TXT": {"ttl": 60, "values": ['"x"']}},
         [ZONE, ("prereq", OWNER, ANY, 16, 0, []), ("prereq", OWNER, NONE, 5, 0, []), ("update", OWNER, ANY, 16, 0, []),
          ("update", OWNER, ANY, 5, 0, []), ("update", OWNER, IN, 5, 3600, ["oobsp.lab.example."])]),
    ],
)  # fmt: skip
def test_the_update_on_the_wire(wanted, have, expected):
    rows = sent_update(plan_record(wanted, have))
    assert [(s, o.lower(), c, t, ttl, v) for s, o, c, t, ttl, v in rows] == [
        (s, o.lower(), c, t, ttl, v) for s, o, c, t, ttl, v in expected
    ]


def test_every_rrset_is_read_with_one_any_query_and_an_rfc8482_server_type_by_type():
    asked = []
    full = {"ANY": [(f"{NAME}.", "A", 60, ["198.51.100.20"]), (f"{NAME}.", "TXT", 60, ['"x"'])]}
    minimal = {"ANY": [(f"{NAME}.", "HINFO", 60, ['"RFC8482" ""'])], "TXT": [(f"{NAME}.", "TXT", 60, ['"x"'])],
               "A": [(f"{NAME}.", "A", 60, ["198.51.100.20"])]}  # fmt: skip
    for answers, queries in ((full, ["ANY"]), (minimal, ["ANY", "A", "AAAA", "TXT", "DHCID"])):
        adapter = Rfc2136({"host": "dc1.lab.example", "address": "198.51.100.10"}, "none")
        asked.clear()

        def query(name, rdtype, answers=answers):
            asked.append(rdtype)
            found = answers.get(rdtype, [])
            return {"rcode": "NOERROR", "answer": found, "authority": [], "authoritative": True}

        adapter.query = query
        response = adapter.read_name(NAME)
        assert asked == queries
        assert rrsets_from_answer(NAME, response["answer"]) == {"A": {"ttl": 60, "values": ["198.51.100.20"]},
                                                                 "TXT": {"ttl": 60, "values": ['"x"']}}  # fmt: skip
    assert "RFC 8482" in adapter.warnings[0]
