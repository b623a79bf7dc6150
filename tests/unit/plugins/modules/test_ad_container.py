"""ad_container's main(): argument handling and error paths, with the LDAP layer faked (no I/O)."""

from __future__ import annotations

import ad_container
import pytest
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import LDAP_DEFAULTS, LdapError

BASE_ARGS = {
    "domains": [{"dns_name": "lab.example", "servers": ["dc1.lab.example"]}],
    "path": ["AMT Computers"],
    "principal": "SCCM01$",
    "bind_user": "admin@lab.example",
    "bind_password": "s3cret-value",
}


def args(**extra):
    return dict(BASE_ARGS, **extra)


@pytest.fixture()
def no_network(monkeypatch):
    """Fail the test if the module tries to connect."""

    def refuse(*_a, **_k):
        raise AssertionError("the module tried to connect")

    monkeypatch.setattr(ad_container, "connect", refuse)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"domains": []}, "invalid input: domains must list at least one domain"),
        ({"domains": [{"dns_name": "lab.example", "servers": []}]}, "servers must list at least one domain controller"),
        ({"domains": [{"dns_name": "bad_name", "servers": ["x"]}]}, "'bad_name' is not a DNS domain name"),
        ({"domains": [{"dns_name": "a.example", "servers": ["x"]}, {"dns_name": "A.example.", "servers": ["y"]}]},
         "a domain is listed twice"),
        ({"path": []}, "path must name at least one container"),
        ({"principal": "  "}, "principal must not be empty"),
        ({"principal": "S-1-5-x"}, "SID"),
        ({"principal_domain": "other.example"}, "principal_domain other.example is not one of the listed domains"),
        ({"tls": "none"}, "tls=none sends LDAP in clear text: set allow_plain=true"),
        ({"bind_password": None}, "auth=simple needs bind_user and bind_password"),
        ({"timeout": 0}, "timeout must be a positive number"),
    ],
)  # fmt: skip
def test_bad_input_fails_clearly_without_io(run_module, no_network, extra, message):
    status, result = run_module(ad_container.main, args(**extra))
    assert status == "fail"
    assert message in result["msg"]
    assert "s3cret-value" not in str(result)


def test_choices_are_enforced(run_module, no_network):
    status, result = run_module(ad_container.main, args(rights="everything"))
    assert status == "fail" and "value of rights must be one of: full_control, least_privilege" in result["msg"]


def test_password_is_no_log():
    spec = ad_container.argument_spec()
    assert spec["bind_password"]["no_log"] is True and spec["connection"]["options"]["bind_password"]["no_log"] is True
    assert LDAP_DEFAULTS["validate_certs"] is True and LDAP_DEFAULTS["tls"] == "ldaps"


def test_ldap_errors_become_failures_with_their_kind(run_module, monkeypatch):
    def unreachable(servers, params):
        raise LdapError("unreachable", "no domain controller could be used: dc1 (dc1:636): unreachable")

    monkeypatch.setattr(ad_container, "connect", unreachable)
    status, result = run_module(ad_container.main, args())
    assert status == "fail"
    assert result["error"] == "unreachable" and result["msg"].startswith("no domain controller could be used")


def test_plain_ldap_when_allowed_warns(run_module, monkeypatch):
    warned = []
    monkeypatch.setattr(ad_container.AnsibleModule, "warn", lambda self, msg: warned.append(msg))

    def unreachable(servers, params):
        raise LdapError("unreachable", "stop here")

    monkeypatch.setattr(ad_container, "connect", unreachable)
    status, result = run_module(ad_container.main, args(tls="none", allow_plain=True))
    assert status == "fail" and result["msg"] == "stop here"
    assert warned == ["a simple bind without TLS sends the password in clear text"]


# --- main() on an in-memory directory (fakedc: ldap3's mock strategy, objects captured from the lab) -------------


@pytest.fixture()
def dc(monkeypatch):
    from fakedc import FakeDC

    directory = FakeDC()
    monkeypatch.setattr(ad_container, "connect", directory.connect)
    return directory


def test_check_mode_shows_the_container_and_writes_nothing(run_module, dc):
    before = dc.snapshot()
    status, res = run_module(ad_container.main, args(_ansible_check_mode=True, protect_from_deletion=True))
    assert status == "exit", res
    assert dc.snapshot() == before
    [container] = res["containers"]
    assert res["changed"] is True and container["created"] == ["OU=AMT Computers,DC=lab,DC=example"]
    sid = res["principal_sid"]
    # [MS-DTYP] 2.5.1.1: full control (CC DC LC SW RP WP DT LO CR SD RC WD WO), container-inherit; deny DT SD to WD
    assert container["added"] == [f"(A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{sid})", "(D;;DTSD;;;WD)"]
    assert res["diff"][0]["before"] == "" and f"(A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{sid})" in res["diff"][0]["after"]


def test_converge_then_nothing_to_do(run_module, dc):
    _s, check = run_module(ad_container.main, args(_ansible_check_mode=True))
    status, res = run_module(ad_container.main, args())
    assert status == "exit" and res["changed"] is True and res["diff"] == check["diff"]
    dacl = dc.sd("OU=AMT Computers,DC=lab,DC=example").dacl
    assert f"(A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{res['principal_sid']})" in [a.to_sddl() for a in dacl]
    status, again = run_module(ad_container.main, args())
    assert again["changed"] is False and again["containers"][0]["ldap_operations"] == {"searches": 2, "writes": 0}


def test_created_parents_are_in_the_diff_and_protected_from_deletion(run_module, dc):
    path = ["Management", "AMT Computers"]
    _s, check = run_module(ad_container.main, args(path=path, create_parents=True, protect_from_deletion=True,
                                                   _ansible_check_mode=True))  # fmt: skip
    assert check["diff"][0]["after"].startswith(
        "create OU=Management,DC=lab,DC=example (protected from deletion)\n"
        "create OU=AMT Computers,OU=Management,DC=lab,DC=example\n"
    )
    status, res = run_module(ad_container.main, args(path=path, create_parents=True, protect_from_deletion=True))
    assert status == "exit", res
    # [MS-DTYP] 2.5.1.1: deny DT (0x40) and SD (0x10000) to Everyone (WD)
    assert "(D;;DTSD;;;WD)" in [a.to_sddl() for a in dc.sd("OU=Management,DC=lab,DC=example").dacl]
    _s, again = run_module(ad_container.main, args(path=path, create_parents=True, protect_from_deletion=True))
    assert again["changed"] is False


def test_a_missing_parent_names_the_estate_variable(run_module, dc):
    status, res = run_module(ad_container.main, args(path=["Management", "AMT Computers"]))
    assert status == "fail" and res["error"] == "parent"
    assert "oob_amt_container.create_parents" in res["msg"]
