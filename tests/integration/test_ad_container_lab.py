"""ad_container against the lab's Samba AD DC: real LDAP, real ACEs, real effect."""

from __future__ import annotations

import threading
import uuid

import ad_container
import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap import connection as oob_ldap
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    ACCESS_ALLOWED,
    FULL_CONTROL,
    Ace,
    SecurityDescriptor,
    canonical_insert,
    sid_from_bytes,
)
from labutil import highest_usn, labconfig, ldaps
from ldap3 import MODIFY_REPLACE
from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult
from ldap3.protocol.microsoft import security_descriptor_control

DC = labconfig.FORESTS["lab"]
BASE = DC["base_dn"]
SERVER = {"host": labconfig.dc_fqdn("lab"), "address": DC["dc_ip"]}
FULL = "(A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{sid})"
PROTECT = "(D;;DTSD;;;WD)"
SD_CTL = security_descriptor_control(sdflags=0x04)


def args(path, **extra):
    base = {
        "domains": [{"dns_name": "lab.example", "servers": [SERVER]}],
        "path": path,
        "principal": labconfig.SITE_SERVER["sam"],
        "bind_user": "Administrator@lab.example",
        "bind_password": labconfig.ADMIN_PASSWORD,
        "ca_file": str(labconfig.dc_ca_file("lab")),
    }
    base.update(extra)
    return base


def read_dacl(conn, dn):
    conn.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["nTSecurityDescriptor"], controls=SD_CTL)
    return SecurityDescriptor.from_bytes(conn.response[0]["raw_attributes"]["nTSecurityDescriptor"][0])


def write_dacl(conn, dn, sd):
    assert conn.modify(dn, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [sd.to_bytes()])]}, controls=SD_CTL), conn.result


def delete_tree(conn, dn):
    """Remove a test container, its protection first (deny Delete for Everyone stops Administrator too)."""
    if not conn.search(
        dn, "(objectClass=*)", search_scope="BASE", attributes=["nTSecurityDescriptor"], controls=SD_CTL
    ):
        return
    sd = read_dacl(conn, dn)
    sd.dacl = [a for a in sd.dacl if not a.is_deny or a.is_inherited]
    write_dacl(conn, dn, sd)
    conn.delete(dn, controls=[("1.2.840.113556.1.4.805", True, None)])  # tree delete


@pytest.fixture()
def ou(admin):
    """A unique OU name for one test, removed afterwards with everything in it."""
    name = f"AMT Test {uuid.uuid4().hex[:8]}"
    yield name
    delete_tree(admin, f"OU={name},{BASE}")


def sid_of(conn, sam):
    conn.search(BASE, f"(sAMAccountName={sam})", attributes=["objectSid"])
    return sid_from_bytes(conn.response[0]["raw_attributes"]["objectSid"][0])[0]


def test_converge_idempotence_drift_and_check_mode(run_module, admin, ou):
    dn = f"OU={ou},{BASE}"
    sid = sid_of(admin, "SCCM01$")

    status, first = run_module(ad_container.main, args([ou], protect_from_deletion=True))
    assert status == "exit", first
    assert first["changed"] is True
    assert first["principal_sid"] == sid
    [c] = first["containers"]
    assert c["distinguished_name"] == dn and c["created"] == [dn]
    assert sorted(c["added"]) == sorted([FULL.format(sid=sid), PROTECT])
    sddl = [a.to_sddl() for a in read_dacl(admin, dn).dacl if not a.is_inherited]
    assert FULL.format(sid=sid) in sddl and PROTECT in sddl

    status, second = run_module(ad_container.main, args([ou], protect_from_deletion=True))
    assert status == "exit" and second["changed"] is False
    assert second["containers"][0]["ldap_operations"] == {"searches": 2, "writes": 0}

    # someone removes our ACE by hand: a check run shows exactly that ACE and writes nothing
    sd = read_dacl(admin, dn)
    sd.dacl = [a for a in sd.dacl if a.to_sddl() != FULL.format(sid=sid)]
    write_dacl(admin, dn, sd)
    usn = highest_usn(admin)
    status, check = run_module(
        ad_container.main, args([ou], protect_from_deletion=True, _ansible_check_mode=True, _ansible_diff=True)
    )
    assert status == "exit" and check["changed"] is True
    assert check["containers"][0]["added"] == [FULL.format(sid=sid)]
    assert check["containers"][0]["removed"] == []
    [diff] = check["diff"]
    before, after = set(diff["before"].splitlines()), set(diff["after"].splitlines())
    assert after - before == {FULL.format(sid=sid)} and before - after == set()
    assert highest_usn(admin) == usn, "check mode wrote to the directory"

    status, fix = run_module(ad_container.main, args([ou], protect_from_deletion=True))
    assert fix["changed"] is True and fix["containers"][0]["added"] == [FULL.format(sid=sid)]
    assert fix["containers"][0]["ldap_operations"]["writes"] == 1


COMPUTER_CLASSES = ["top", "person", "organizationalPerson", "user", "computer"]


def add_amt_computer(conn, parent_dn):
    """Create a computer object as ConfigMgr does for an AMT device; returns its DN and attributes."""
    amt = f"CN=AMT-{uuid.uuid4().hex[:6]},{parent_dn}"
    attrs = {"sAMAccountName": f"AMT{uuid.uuid4().hex[:8]}$", "userAccountControl": 4096}
    assert conn.add(amt, COMPUTER_CLASSES, attrs), conn.result
    return amt, attrs


def test_site_server_can_publish_computers_there_and_nowhere_else(run_module, admin, ou):
    dn = f"OU={ou},{BASE}"
    status, res = run_module(ad_container.main, args([ou]))
    assert status == "exit", res
    site = ldaps(user=f"LAB\\{labconfig.SITE_SERVER['sam']}", password=labconfig.SITE_SERVER_PASSWORD)
    try:
        amt, attrs = add_amt_computer(site, dn)
        assert site.delete(amt), site.result
        elsewhere = f"CN=AMT-{uuid.uuid4().hex[:6]},CN=Computers,{BASE}"
        site.raise_exceptions = True
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            site.add(elsewhere, COMPUTER_CLASSES, attrs)
    finally:
        site.unbind()


def test_least_privilege_allows_computers_only(run_module, admin, ou):
    dn = f"OU={ou},{BASE}"
    status, res = run_module(ad_container.main, args([ou], rights="least_privilege"))
    assert status == "exit", res
    site = ldaps(user=f"LAB\\{labconfig.SITE_SERVER['sam']}", password=labconfig.SITE_SERVER_PASSWORD)
    try:
        amt, attrs = add_amt_computer(site, dn)
        assert site.modify(amt, {"description": [(MODIFY_REPLACE, ["AMT device"])]}), site.result
        assert site.delete(amt), site.result
        assert not site.add(
            f"CN=contact-{uuid.uuid4().hex[:6]},{dn}", ["top", "person", "organizationalPerson", "contact"]
        )
        assert site.result["result"] == 50  # insufficientAccessRights
    finally:
        site.unbind()
    # switching to full control removes the least-privilege ACEs this module set
    status, res = run_module(ad_container.main, args([ou], rights="full_control"))
    assert len(res["containers"][0]["removed"]) == 2 and len(res["containers"][0]["added"]) == 1


def test_foreign_ace_survives_converge_and_absent(run_module, admin, ou):
    dn = f"OU={ou},{BASE}"
    run_module(ad_container.main, args([ou]))
    foreign = Ace(ACCESS_ALLOWED, 0, 0x10, "S-1-5-32-545")  # Builtin Users: read property
    sd = read_dacl(admin, dn)
    sd.dacl = canonical_insert(sd.dacl, foreign)
    write_dacl(admin, dn, sd)
    for extra in ({"rights": "least_privilege"}, {"rights": "full_control"}, {"state": "absent"}):
        status, res = run_module(ad_container.main, args([ou], **extra))
        assert status == "exit", res
        assert foreign in read_dacl(admin, dn).dacl, f"foreign ACE lost after {extra}"
    assert not any(a.sid == res["principal_sid"] for a in read_dacl(admin, dn).dacl if not a.is_inherited)


def test_concurrent_runs_lose_no_ace(run_module, admin, ou, monkeypatch):
    """Two runs read the same DACL, then both write: the verify-and-retry loop must keep both principals' ACEs."""
    dn = f"OU={ou},{BASE}"
    run_module(ad_container.main, args([ou], principal="Administrator"))  # the container exists; both runs must write
    barrier = threading.Barrier(2, timeout=10)
    real_replace = oob_ldap.Session.modify_guarded
    first_write = set()

    def racing_replace(self, target, *rest):
        if threading.current_thread().name not in first_write:
            first_write.add(threading.current_thread().name)
            barrier.wait()  # both have read and planned; now both write
        return real_replace(self, target, *rest)

    monkeypatch.setattr(oob_ldap.Session, "modify_guarded", racing_replace)
    results = {}

    def one(principal):
        # each thread drives the module logic directly (main() is not thread-safe with patched exits)
        params = dict(ad_container_defaults(), **args([ou], principal=principal))
        try:
            results[principal] = ad_container.run(FakeModule(params))
        except Exception as exc:  # reported by the assertion below
            results[principal] = exc

    threads = [threading.Thread(target=one, args=(p,), name=p) for p in ("SCCM01$", "Domain Admins")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert set(results) == {"SCCM01$", "Domain Admins"}
    assert not [r for r in results.values() if isinstance(r, Exception)], results
    assert barrier.broken is False and len(first_write) == 2  # both really raced
    admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["extensionName"])
    assert admin.response[0]["attributes"]["extensionName"] == ["oob-prep:dacl-serial:3"]  # 1 setup + 2 racing writes
    dacl = read_dacl(admin, dn).dacl
    for res in results.values():
        assert Ace(ACCESS_ALLOWED, 0x02, FULL_CONTROL, res["principal_sid"]) in dacl


def ad_container_defaults():
    spec = ad_container.argument_spec()
    return {k: v.get("default") for k, v in spec.items()}


class FakeModule:
    """Just enough of AnsibleModule for run(): params, check_mode, warn."""

    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


@pytest.mark.parametrize("tls", ["ldaps", "starttls"])
def test_kerberos_bind_with_in_memory_credentials(run_module, admin, ou, monkeypatch, tmp_path, tls):
    """auth=kerberos with a user and password: credentials acquired in memory, no ccache written."""
    monkeypatch.setenv("KRB5_CONFIG", str(labconfig.KRB5_CONFIG))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path}/must-not-exist")
    status, res = run_module(
        ad_container.main, args([ou], auth="kerberos", tls=tls, bind_user="Administrator@LAB.EXAMPLE")
    )
    assert status == "exit", res
    assert res["changed"] is True and res["containers"][0]["server"] == SERVER["host"]
    assert not (tmp_path / "must-not-exist").exists()


def test_kerberos_bind_from_a_ccache(run_module, admin, ou, kerberos):
    kerberos("Administrator@LAB.EXAMPLE", labconfig.ADMIN_PASSWORD)  # kinit into a private ccache
    status, res = run_module(ad_container.main, args([ou], auth="kerberos", bind_user=None, bind_password=None))
    assert status == "exit", res
    assert res["changed"] is True


def test_kerberos_bad_password_is_a_clear_error(run_module, monkeypatch):
    monkeypatch.setenv("KRB5_CONFIG", str(labconfig.KRB5_CONFIG))
    status, res = run_module(
        ad_container.main,
        args(["AMT never"], auth="kerberos", bind_user="Administrator@LAB.EXAMPLE", bind_password="wrong"),
    )
    assert status == "fail" and res["error"] == "credentials"
    assert res["msg"].startswith("Kerberos refused Administrator@LAB.EXAMPLE:")


def test_every_domain_gets_the_same_path(run_module, admin, ou):
    """Two domains. Samba cannot host a child domain, so the second "domain" is a naming context stand-in: an OU of
    the same DC given as its base_dn. The per-domain read, plan and write, and the principal lookup in
    principal_domain only, are what this exercises."""
    branch = f"OU={ou},{BASE}"
    assert admin.add(branch, "organizationalUnit"), admin.result
    domains = [
        {"dns_name": "lab.example", "servers": [SERVER]},
        {"dns_name": "branch.lab.example", "base_dn": branch, "servers": [SERVER]},
    ]
    status, res = run_module(ad_container.main, args(["AMT"], domains=domains, principal_domain="lab.example"))
    assert status == "exit", res
    try:
        assert [c["distinguished_name"] for c in res["containers"]] == [f"OU=AMT,{BASE}", f"OU=AMT,{branch}"]
        assert [c["ldap_operations"]["searches"] for c in res["containers"]][0] >= 2  # principal looked up here
        full = FULL.format(sid=res["principal_sid"])
        for c in res["containers"]:
            assert c["added"] == [full]
            assert full in [a.to_sddl() for a in read_dacl(admin, c["distinguished_name"]).dacl]
    finally:
        delete_tree(admin, f"OU=AMT,{BASE}")


def test_nothing_is_written_when_one_domain_cannot_be_read(run_module, admin, ou):
    usn = highest_usn(admin)
    dead = {"host": "dc1.other.example", "address": "198.51.100.99"}
    domains = [{"dns_name": "lab.example", "servers": [SERVER]}, {"dns_name": "gone.example", "servers": [dead]}]
    status, res = run_module(ad_container.main, args([ou], domains=domains, timeout=1))
    assert status == "fail" and res["error"] == "unreachable"
    assert highest_usn(admin) == usn
