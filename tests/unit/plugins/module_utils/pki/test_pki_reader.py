"""pki.reader: what ad_pki_info reads and how many searches it takes, over a fake ldap.connection session. The SD flags
are OWNER_SECURITY_INFORMATION (0x1) | DACL_SECURITY_INFORMATION (0x4) of the LDAP_SERVER_SD_FLAGS control
([MS-ADTS] 3.1.1.3.4.1.11); Everyone is S-1-1-0 and Authenticated Users S-1-5-11 ([MS-DTYP] 2.4.2.4)."""

from __future__ import annotations

import re

from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import sid_to_bytes
from ansible_collections.oob.prep.plugins.module_utils.pki import reader
from ansible_collections.oob.prep.plugins.module_utils.pki.reader import read_state, read_token

PKS = "CN=Public Key Services,CN=Services,CN=Configuration,DC=lab,DC=example"
DOM = "S-1-5-21-1-2-3"
DC, SITE, OTHER = f"{DOM}-515", f"{DOM}-1103", f"{DOM}-1104"
PKI_ENTRY = {"dn": f"CN=CA1,CN=Enrollment Services,{PKS}", "attributes": {"cn": [b"CA1"]}}


class Session:
    """Answers the three kinds of search: the PKI objects, the principals by sAMAccountName, one object by SID."""

    def __init__(self, accounts: dict):
        self.accounts, self.calls, self.ops, self.closed = accounts, [], {"searches": 0, "writes": 0}, False

    def search(self, base, flt, attributes, scope="BASE", *, dacl_only=False, sd_flags=0):
        self.calls.append((base, flt, list(attributes), scope, sd_flags))
        self.ops["searches"] += 1
        if base == PKS:
            return [PKI_ENTRY]
        if base.startswith("<SID="):
            hits = [groups for sid, groups in self.accounts.values() if sid == base[5:-1]]
            return [{"dn": base, "attributes": {"tokengroups": [sid_to_bytes(g) for g in hits[0]]}}] if hits else []
        return [
            {"dn": f"CN={n},{base}", "attributes": {"samaccountname": [n.encode()],
                                                    "objectsid": [sid_to_bytes(self.accounts[n][0])]}}
            for n in re.findall(r"\(sAMAccountName=([^)]*)\)", flt) if n in self.accounts
        ]  # fmt: skip

    def close(self):
        self.closed = True


def test_read_token_is_the_sid_its_groups_everyone_and_authenticated_users():
    session = Session({"SCCM01$": (SITE, [DC])})
    assert read_token(session, SITE) == [SITE, DC, "S-1-1-0", "S-1-5-11"]
    assert read_token(session, "S-1-5-32-545") == ["S-1-5-32-545"]  # no object: a well-known group on its own
    assert session.calls == [
        (f"<SID={SITE}>", "(objectClass=*)", ["objectSid", "tokenGroups"], "BASE", 0),
        ("<SID=S-1-5-32-545>", "(objectClass=*)", ["objectSid", "tokenGroups"], "BASE", 0),
    ]


PARAMS = {
    "forest_dns_name": "lab.example",
    "templates": ["AMTWeb"],
    "required_enrollers": ["SCCM01$", OTHER],
    "template_enrollers": {"AMTWeb": "SCCM01$"},
    "accepted_esc17_principals": ["SCCM01$", "Ghost$"],
}


def test_one_search_for_the_pki_objects_one_for_the_principals_one_per_enroller():
    session = Session({"SCCM01$": (SITE, [DC])})
    got = read_state(session, dict(PARAMS), PKS)
    assert [c[0] for c in session.calls] == [PKS, "DC=lab,DC=example", f"<SID={SITE}>", f"<SID={OTHER}>"]
    assert session.calls[0] == (
        PKS, "(|(objectClass=pKIEnrollmentService)(objectClass=pKICertificateTemplate))",
        ["*", "nTSecurityDescriptor"], "SUBTREE", 0x5,
    )  # fmt: skip
    assert session.calls[1][1:4] == (
        "(|(sAMAccountName=SCCM01$)(sAMAccountName=Ghost$))",
        ["sAMAccountName", "objectSid", "objectClass"],
        "SUBTREE",
    )
    assert session.ops == {"searches": 4, "writes": 0} and not session.closed
    assert got == {
        "entries": [PKI_ENTRY],
        "sids": {OTHER: OTHER, "SCCM01$": SITE},
        "missing": {"Ghost$": "principal 'Ghost$' not found in lab.example (searched (sAMAccountName=Ghost$) under "
                              "DC=lab,DC=example)"},
        "tokens": {SITE: [SITE, DC, "S-1-1-0", "S-1-5-11"], OTHER: [OTHER]},
    }  # fmt: skip


def test_principals_elsewhere_are_read_on_their_own_session_and_counted(monkeypatch):
    session, lookup = Session({}), Session({"SCCM01$": (SITE, [DC])})
    opened = []
    monkeypatch.setattr(reader, "connect", lambda servers, params: opened.append(servers) or lookup)
    p = dict(PARAMS, principal_servers=["dc1.child.lab.example"], principal_domain="child.lab.example",
             required_enrollers=["SCCM01$"], accepted_esc17_principals=[])  # fmt: skip
    got = read_state(session, p, PKS)
    assert opened == [["dc1.child.lab.example"]]
    assert [c[0] for c in session.calls] == [PKS]
    assert [c[0] for c in lookup.calls] == ["DC=child,DC=lab,DC=example", f"<SID={SITE}>"]
    assert session.ops["searches"] == 3 and lookup.closed and not session.closed
    assert got["sids"] == {"SCCM01$": SITE} and got["tokens"] == {SITE: [SITE, DC, "S-1-1-0", "S-1-5-11"]}
