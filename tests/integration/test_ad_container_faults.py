"""ad_container's errors against the live lab: each fault produces its own clear message, and nothing is written."""

from __future__ import annotations

import uuid

import ad_container
import pytest
from labutil import highest_usn, labconfig, ldaps
from test_ad_container_lab import BASE, SERVER, args, delete_tree


def fails(run_module, **kw):
    path = kw.pop("path", [f"AMT Fault {uuid.uuid4().hex[:8]}"])
    status, res = run_module(ad_container.main, args(path, **kw))
    assert status == "fail", res
    assert "Traceback" not in res["msg"]
    assert labconfig.ADMIN_PASSWORD not in str(res)
    return res


def test_dc_unreachable(run_module, admin):
    usn = highest_usn(admin)
    res = fails(
        run_module,
        domains=[{"dns_name": "lab.example", "servers": [{"host": "dc9.lab.example", "address": "198.51.100.99"}]}],
        timeout=1,
    )
    assert res["error"] == "unreachable"
    assert "no domain controller could be used: dc9.lab.example (198.51.100.99:636): unreachable" in res["msg"]
    assert highest_usn(admin) == usn


def test_failover_to_the_next_dc(run_module, admin):
    name = f"AMT Fault {uuid.uuid4().hex[:8]}"
    try:
        dead = {"host": "dc9.lab.example", "address": "198.51.100.99"}
        domains = [{"dns_name": "lab.example", "servers": [dead, SERVER]}]
        status, res = run_module(ad_container.main, args([name], timeout=1, domains=domains))
        assert status == "exit" and res["containers"][0]["server"] == SERVER["host"]
    finally:
        delete_tree(admin, f"OU={name},{BASE}")


def test_bad_credentials(run_module):
    res = fails(run_module, bind_password="wrong-password")
    assert res["error"] == "credentials"
    assert "rejected the bind as Administrator@lab.example: invalid credentials" in res["msg"]
    assert "wrong-password" not in res["msg"]


def test_tls_name_mismatch(run_module):
    res = fails(
        run_module,
        domains=[{"dns_name": "lab.example", "servers": [{"host": "evil.lab.example", "address": SERVER["address"]}]}],
    )
    assert res["error"] == "tls"
    assert "TLS validation failed" in res["msg"] and "'evil.lab.example' is a name in it" in res["msg"]


def test_tls_unknown_ca(run_module, tmp_path):
    other_ca = labconfig.dc_ca_file("other")  # a real CA, just not the one that issued dc1.lab.example's certificate
    res = fails(run_module, ca_file=str(other_ca))
    assert res["error"] == "tls" and "check ca_file" in res["msg"]


def test_plain_ldap_refused_unless_allowed(run_module):
    res = fails(run_module, tls="none")
    assert res["msg"].startswith("tls=none sends LDAP in clear text: set allow_plain=true")


def test_principal_not_found_with_hint(run_module):
    res = fails(run_module, principal="SCCM01")
    assert res["error"] == "principal"
    assert "principal 'SCCM01' not found in lab.example" in res["msg"] and "did you mean SCCM01$?" in res["msg"]


def test_filter_special_characters_are_escaped(run_module):
    res = fails(run_module, principal="*)(objectClass=*")
    assert "(sAMAccountName=\\2a\\29\\28objectClass=\\2a)" in res["msg"]  # RFC 4515: no injection, a clean miss


def test_insufficient_rights(run_module, admin):
    ldaps(user=f"LAB\\{labconfig.SITE_SERVER['sam']}", password=labconfig.SITE_SERVER_PASSWORD).unbind()  # its
    # first logon writes lastLogonTimestamp (a replicated attribute): let that happen before the USN is taken
    usn = highest_usn(admin)
    res = fails(
        run_module, bind_user=f"LAB\\{labconfig.SITE_SERVER['sam']}", bind_password=labconfig.SITE_SERVER_PASSWORD
    )
    assert res["error"] == "rights"
    assert "insufficient rights to create OU=AMT Fault" in res["msg"] and "as LAB\\SCCM01$" in res["msg"]
    assert highest_usn(admin) == usn


def test_missing_parent_needs_create_parents(run_module, admin):
    usn = highest_usn(admin)
    res = fails(run_module, path=["No Such Parent", "AMT"])
    assert res["error"] == "parent"
    assert (
        res["msg"] == f"OU=No Such Parent,{BASE} does not exist in lab.example: create it, "
        "or set create_parents=true (in the estate: oob_amt_container.create_parents)"
    )
    assert highest_usn(admin) == usn


def test_bad_input_is_refused_before_any_io(run_module):
    assert (
        "invalid input: 'lab..example' is not a DNS domain name"
        in fails(run_module, domains=[{"dns_name": "lab..example", "servers": ["x"]}])["msg"]
    )
    assert "invalid input: path elements must be non-empty names" in fails(run_module, path=["  "])["msg"]
    assert (
        "principal_domain other.example is not one of the listed domains"
        in fails(run_module, principal_domain="other.example")["msg"]
    )
    assert (
        "server port must be a number"
        in fails(run_module, domains=[{"dns_name": "lab.example", "servers": ["dc1:ldaps"]}])["msg"]
    )


@pytest.mark.parametrize(
    "name",
    # names AD refuses (white space around, NUL) are refused before any write: tests/integration/test_ldap_errors_lab.py
    ['Comma, Plus+ Quote" Back\\slash', "*Star (paren) ;<semi>=", "#hash first"],
)
def test_special_characters_in_names(run_module, admin, name):
    from ansible_collections.oob.prep.plugins.module_utils.ldap.names import escape_dn_value

    dn = f"OU={escape_dn_value(name)},{BASE}"
    try:
        status, res = run_module(ad_container.main, args([name]))
        assert status == "exit", res
        assert res["containers"][0]["distinguished_name"] == dn
        admin.search(BASE, f"(&(objectClass=organizationalUnit)(ou={_filter(name)}))", attributes=["ou"])
        assert [e["attributes"]["ou"][0] for e in admin.response if e.get("type") == "searchResEntry"] == [name]
        status, again = run_module(ad_container.main, args([name]))
        assert again["changed"] is False
    finally:
        delete_tree(admin, dn)


def _filter(value):
    from ansible_collections.oob.prep.plugins.module_utils.ldap.names import escape_filter_value

    return escape_filter_value(value)
