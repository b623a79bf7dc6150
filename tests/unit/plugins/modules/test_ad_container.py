"""ad_container's main(): argument handling and error paths, with the LDAP layer faked (no I/O)."""

from __future__ import annotations

import ad_container
import pytest
from ansible.module_utils.oob_ldap import LdapError

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
    assert spec["bind_password"]["no_log"] is True
    assert spec["validate_certs"]["default"] is True and spec["tls"]["default"] == "ldaps"


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
