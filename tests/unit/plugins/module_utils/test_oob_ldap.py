"""oob_ldap without a server: settings checks and principal resolution against a fake session."""

from __future__ import annotations

import pytest
from ansible.module_utils.oob_ldap import LdapError, check_settings, ldap_argument_spec, resolve_principals
from ansible.module_utils.oob_sd import sid_to_bytes


def settings(**extra):
    base = {k: v.get("default") for k, v in ldap_argument_spec().items()}
    base.update(bind_user="admin@lab.example", bind_password="pw")
    base.update(extra)
    return base


def test_defaults_are_safe():
    spec = ldap_argument_spec()
    assert spec["tls"]["default"] == "ldaps" and spec["validate_certs"]["default"] is True
    assert spec["allow_plain"]["default"] is False and spec["bind_password"]["no_log"] is True
    assert check_settings(settings()) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"tls": "none"}, "set allow_plain=true"),
        ({"bind_password": None}, "auth=simple needs bind_user and bind_password"),
        ({"timeout": 0}, "timeout must be a positive number"),
    ],
)
def test_bad_settings(extra, message):
    with pytest.raises(LdapError, match=message) as err:
        check_settings(settings(**extra))
    assert err.value.kind == "settings"


@pytest.mark.parametrize(
    ("extra", "warning"),
    [
        ({"tls": "none", "allow_plain": True}, "clear text"),
        ({"validate_certs": False}, "not checked"),
    ],
)
def test_risky_settings_warn(extra, warning):
    assert any(warning in w for w in check_settings(settings(**extra)))


def test_kerberos_needs_no_password():
    assert check_settings(settings(auth="kerberos", bind_user=None, bind_password=None)) == []


class FakeSession:
    """Answers the one search resolve_principals makes, and records it."""

    def __init__(self, accounts):
        self.accounts = accounts
        self.filters = []

    def search(self, base, flt, attributes, scope="BASE", **_kw):
        self.filters.append(flt)
        return [
            {
                "dn": f"CN={name},{base}",
                "attributes": {"samaccountname": [name.encode()], "objectsid": [sid_to_bytes(sid)]},
            }
            for name, sid in self.accounts
            if f"(sAMAccountName={name})" in flt
        ]


def test_resolve_principals_uses_one_search_and_keeps_sids():
    session = FakeSession([("SCCM01$", "S-1-5-21-1-2-3-1103"), ("Domain Users", "S-1-5-21-1-2-3-513")])
    found = resolve_principals(session, "DC=lab,DC=example", ["SCCM01$", "Domain Users", "s-1-5-11"], "lab.example")
    assert found == {"SCCM01$": "S-1-5-21-1-2-3-1103", "Domain Users": "S-1-5-21-1-2-3-513", "s-1-5-11": "S-1-5-11"}
    assert session.filters == ["(|(sAMAccountName=SCCM01$)(sAMAccountName=Domain Users))"]


def test_resolve_principals_names_every_missing_one():
    session = FakeSession([("SCCM01$", "S-1-5-21-1-2-3-1103")])
    with pytest.raises(LdapError, match="principal 'SCCM02' not found in lab.example") as err:
        resolve_principals(session, "DC=lab,DC=example", ["SCCM01$", "SCCM02", "x*"], "lab.example")
    assert "did you mean SCCM02$?" in str(err.value) and "(sAMAccountName=x\\2a)" in str(err.value)
    assert err.value.kind == "principal"


def test_resolve_principals_refuses_a_malformed_sid():
    with pytest.raises(ValueError, match="SID"):
        resolve_principals(FakeSession([]), "DC=x", ["S-1-5-x"], "x")
