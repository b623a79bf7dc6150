"""ad_cert_template and ad_pki_info: argument handling and bad input, with the network refused (no I/O)."""

from __future__ import annotations

import ad_cert_template
import ad_pki_info
import pytest
from ansible.module_utils.oob_template_plan import enroll_aces

CONN = {
    "servers": ["dc1.lab.example"],
    "forest_dns_name": "lab.example",
    "bind_user": "admin@lab.example",
    "bind_password": "s3cret-value",
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("the module tried to connect")

    monkeypatch.setattr(ad_cert_template, "connect", refuse)
    monkeypatch.setattr(ad_pki_info, "connect", refuse)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"schema_version": 3}, "version"),
        ({"schema_version": 1}, "version"),
        ({"minimal_key_size": 4096}, "2048"),
        ({"validity": "3 months"}, "month"),
        ({"validity": "soon"}, "soon"),
        ({"ekus": ["1..2"]}, "1..2"),
        ({"key_usage": ["telepathy"]}, "telepathy"),
        ({"forest_dns_name": "lab..example"}, "is not a DNS domain name"),
        ({"tls": "none"}, "allow_plain=true"),
    ],
)
def test_cert_template_bad_input_fails_before_any_io(run_module, extra, message):
    status, result = run_module(ad_cert_template.main, dict(CONN, name="AMT", **extra))
    assert status == "fail", result
    assert message in result["msg"]
    assert "s3cret-value" not in str(result)


def test_cert_template_spec_is_no_log_and_validates_tls():
    spec = ad_cert_template.argument_spec()
    assert spec["bind_password"]["no_log"] is True and spec["validate_certs"]["default"] is True
    assert spec["auto_approve"]["default"] is True and spec["allow_broad_enroll"]["default"] is False


def test_enroll_aces_are_read_and_enroll():
    sid = "S-1-5-21-1-2-3-1103"
    assert [a.to_sddl() for a in enroll_aces(sid)] == [
        f"(A;;LCRPLORC;;;{sid})",
        f"(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;{sid})",
    ]


def test_pki_info_requires_ca_names(run_module):
    status, result = run_module(ad_pki_info.main, dict(CONN))
    assert status == "fail" and "ca_names" in result["msg"]


def test_pki_info_template_facts_normalise_negative_flags():
    facts = ad_pki_info.template_facts(
        "T",
        {
            "mspki-certificate-name-flag": [b"-2147483647"],  # 0x80000001 as AD stores it
            "mspki-enrollment-flag": [b"2"],
            "mspki-template-schema-version": [b"2"],
            "pkiextendedkeyusage": [b"1.3.6.1.5.5.7.3.1"],
            "mspki-certificate-application-policy": [b"2.16.840.1.113741.1.2.3"],
        },
    )
    assert facts["name_flag"] == 0x80000001 and facts["enrollment_flag"] == 2 and facts["ra_signature"] == 0
    assert facts["ekus"] == ["1.3.6.1.5.5.7.3.1", "2.16.840.1.113741.1.2.3"]
