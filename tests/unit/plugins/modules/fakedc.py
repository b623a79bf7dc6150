"""An in-memory directory for driving the LDAP modules' main() without a network: ldap3's own mock strategy
(MOCK_SYNC: real LDAP filters, add, modify, delete on an in-memory tree) loaded with objects captured from the lab's
Samba AD DC (fixtures/lab_pki.json, raw LDAP bytes). The modules' oob_ldap.Session runs on it unchanged.

What the mock does not do, and a DC does, is done here: an object added without a security descriptor gets the
captured descriptor of a new OU (a DC applies the schema default), and the SD-flags control is honoured on reads
(only the owner and DACL parts asked for come back, as from a DC).
"""

from __future__ import annotations

import json
from pathlib import Path

import ldap3
from ansible_collections.oob.prep.plugins.module_utils.ldap import connection as oob_ldap
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import SecurityDescriptor

FIXTURES = Path(__file__).parent / "fixtures"
UNIT_FIXTURES = Path(__file__).parents[1] / "module_utils" / "fixtures"
BASE = "DC=lab,DC=example"
PKS = f"CN=Public Key Services,CN=Services,CN=Configuration,{BASE}"
ADMIN = "CN=Administrator,CN=Users,DC=lab,DC=example"


def captured() -> list[dict]:
    """The captured objects: [{'dn', 'attributes': {name: [bytes]}}]."""
    data = json.loads((FIXTURES / "lab_pki.json").read_text())
    return [
        {"dn": o["dn"], "attributes": {k: [bytes.fromhex(v) for v in vals] for k, vals in o["attributes"].items()}}
        for o in data["objects"]
    ]


def new_ou_sd() -> bytes:
    """The descriptor Samba gave a new OU in the lab (owner, group and DACL; captured)."""
    return bytes.fromhex("".join((UNIT_FIXTURES / "sd_lab_full.hex").read_text().split()))


class FakeDC:
    """The directory and a factory for sessions on it (patch a module's ``connect`` with ``dc.connect``)."""

    def __init__(self, extra: list[dict] | None = None):
        server = ldap3.Server("dc1.lab.example", get_info=ldap3.NONE)
        self.conn = ldap3.Connection(server, user=ADMIN, password="pw", client_strategy=ldap3.MOCK_SYNC,
                                     raise_exceptions=True, check_names=False)  # fmt: skip
        self.conn.strategy.add_entry(ADMIN, {"objectClass": ["top", "user"], "userPassword": "pw"})
        for obj in captured() + (extra or []):
            self.put(obj["dn"], obj["attributes"])
        self.conn.bind()
        self.sessions: list[oob_ldap.Session] = []
        self._patch_add()

    def put(self, dn: str, attributes: dict) -> None:
        attrs = dict(attributes)
        attrs.setdefault("distinguishedName", [dn.encode()])
        attrs.setdefault("cn", [dn.split(",", 1)[0].split("=", 1)[1].encode()])
        self.conn.strategy.add_entry(dn, attrs)

    def _patch_add(self) -> None:
        real_add, real_search = self.conn.add, self.conn.search

        def add(dn, object_class=None, attributes=None, controls=None):
            attributes = dict(attributes or {})
            attributes.setdefault("nTSecurityDescriptor", [new_ou_sd()])
            attributes.setdefault("distinguishedName", [dn])
            attributes.setdefault("cn", [dn.split(",", 1)[0].split("=", 1)[1]])
            return real_add(dn, object_class, attributes, controls)

        def search(base, flt, search_scope=ldap3.SUBTREE, attributes=None, controls=None, **kwargs):
            result = real_search(base, flt, search_scope=search_scope, attributes=attributes, **kwargs)
            flags = _sd_flags(controls)
            for entry in self.conn.response or []:
                for key in [k for k in entry.get("raw_attributes", {}) if k.lower() == "ntsecuritydescriptor"]:
                    entry["raw_attributes"][key] = [_only(v, flags) for v in entry["raw_attributes"][key]]
            return result

        self.conn.add, self.conn.search = add, search

    def connect(self, servers, params):  # the signature of oob_ldap.connect
        oob_ldap.check_settings(params)
        session = oob_ldap.Session(self.conn, {"host": "dc1.lab.example", "address": None, "port": None},
                                   params.get("bind_user"))  # fmt: skip
        session.close = lambda: None  # the directory outlives the module run
        self.sessions.append(session)
        return session

    def entry(self, dn: str) -> dict | None:
        """An object's raw attributes (lower-case names), or None."""
        self.conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["*", "nTSecurityDescriptor"])
        if not self.conn.response:
            return None
        return {k.lower(): v for k, v in self.conn.response[0]["raw_attributes"].items()}

    def sd(self, dn: str) -> SecurityDescriptor:
        return SecurityDescriptor.from_bytes(self.entry(dn)["ntsecuritydescriptor"][0])

    def snapshot(self) -> dict:
        """Every object and value, to prove that a run wrote nothing."""
        self.conn.search(BASE, "(objectClass=*)", search_scope=ldap3.SUBTREE, attributes=["*", "nTSecurityDescriptor"])
        return {e["dn"]: {k: sorted(v) for k, v in e["raw_attributes"].items()} for e in self.conn.response}


def _sd_flags(controls) -> int:
    for control in controls or []:
        if control[0] == "1.2.840.113556.1.4.801":  # LDAP_SERVER_SD_FLAGS_OID: value is BER SEQUENCE { INTEGER }
            return control[2][-1] if control[2] else 0xF
    return 0xF


def _only(raw: bytes, flags: int) -> bytes:
    sd = SecurityDescriptor.from_bytes(raw)
    if not flags & 0x1:
        sd.owner = None
    if not flags & 0x2:
        sd.group = None
    if not flags & 0x8:
        sd.sacl_raw = None
    return sd.to_bytes()
