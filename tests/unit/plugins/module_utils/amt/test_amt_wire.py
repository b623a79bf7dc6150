"""oob_amt: Server header variants, the support class, the digest client, WS-MAN envelopes and recorded answers."""

from __future__ import annotations

import datetime
import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ansible_collections.oob.prep.plugins.module_utils.amt.scan import iter_addresses, plan_targets
from ansible_collections.oob.prep.plugins.module_utils.amt.wire import (
    CLASSES,
    NS,
    amt_version,
    certificate_facts,
    digest_authorization,
    digest_response,
    general_settings,
    major,
    parse_challenges,
    parse_server_header,
    parse_wsman,
    power_state,
    provisioning,
    support_class,
    version_tuple,
    wsman_enumerate,
    wsman_get,
    wsman_pull,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amt"


# Each header form with where it was published; the expected values are read off those records, not off oob_amt:
# - NMAP: nmap-service-probes (nmap 7.93, Debian nmap-common), the AMT matches: "Server: Intel\(R\) Active
#   Management Technology ([\w._-]+)" after "303 See Other" to /logon.htm; "Server: AMT"; "Server: Intel\(R\)
#   Con\. Management Engine ([\w._-]+)"; "Server: Intel\(R\) Standard Manageability ([\w._-]+)" with
#   i/Standard Manageability/.
# - RPS: Open AMT's open-amt-cloud-toolkit/rps src/utils/clientMsgJsonParser.test.ts, a device's recorded 401 to
#   POST /wsman: "Server: Intel(R) Active Management Technology 11.8.50.3425" (with Connection: close).
# - MPS: Open AMT MPS tests, a recorded 200: "Server: Intel(R) Active Management Technology 15.0.23.1706" (chunked).
# - GREENBONE: Greenbone's "Intel Active Management Technology (AMT) WebUI Interface Detection" (OID
#   1.3.6.1.4.1.25623.1.0.105337) matches "Server: Intel\(R\) Active Management Technology" and reports the
#   version "unknown" when none follows; its ISM detection (OID 1.3.6.1.4.1.25623.1.0.810998) matches "Server:
#   Intel(R) Standard Manageability" with an optional "([0-9.]+)".
# The support class follows the seed and the notes: native from AMT 3.2.1 (first three parts compared), the
# translator from 2.0, ISM never native (ConfigMgr 2007 SP1 manages Intel AMT only), no version: unknown.
HEADER_FORMS = [
    # header as sent, version, form, support class, source
    ("Intel(R) Active Management Technology 3.2.1", "3.2.1", "amt", "native", "NMAP"),
    ("Intel(R) Active Management Technology 2.6.3", "2.6.3", "amt", "translator", "NMAP"),
    ("Intel(R) Active Management Technology 10.0.47", "10.0.47", "amt", "native", "NMAP"),
    ("  Intel(R)  Active Management Technology   6.2.61 ", "6.2.61", "amt", "native", "NMAP, spacing loosened"),
    ("Intel(R) Active Management Technology 11.8.50.3425", "11.8.50.3425", "amt", "native", "RPS"),
    ("Intel(R) Active Management Technology 15.0.23.1706", "15.0.23.1706", "amt", "native", "MPS"),
    (
        "Intel(R) Active Management Technology 3.2.0.9999",
        "3.2.0.9999",
        "amt",
        "translator",
        "constructed: the RPS form at the boundary",
    ),
    ("Intel(R) Active Management Technology 3.2.1.0", "3.2.1.0", "amt", "native", "constructed: the RPS form at 3.2.1"),
    ("Intel(R) Active Management Technology", None, "amt_unversioned", "unknown", "GREENBONE"),
    ("AMT", None, "me11", "unknown", "NMAP"),
    ("Intel(R) Con. Management Engine 5.0.1", "5.0.1", "me5", "native", "NMAP"),
    ("Intel(R) Standard Manageability 11.8.50", "11.8.50", "ism", "ism", "NMAP, GREENBONE"),
    ("Intel(R) Standard Manageability 2.6.3", "2.6.3", "ism", "ism", "NMAP: an old version is still ISM"),
    ("Intel(R) Standard Manageability 11.8.50.3425", "11.8.50.3425", "ism", "ism", "NMAP: [\\w._-]+ allows four parts"),
    ("Intel(R) Standard Manageability", None, "ism", "ism", "GREENBONE (version optional)"),
]


@pytest.mark.parametrize(("header", "version", "variant", "klass", "source"), HEADER_FORMS)
def test_server_header_forms(header, version, variant, klass, source):
    facts = parse_server_header(header)
    assert facts is not None, source
    assert facts["version"] == version
    assert facts["variant"] == variant
    assert support_class(facts["version"], facts["variant"]) == klass


@pytest.mark.parametrize(
    "header",
    [None, "", "Apache/2.4.57 (Debian)", "AMTX", "Intel(R) Active Management Technology X", "Intel(R) AMT 11.0",
     "Intel(R) Standard Manageability beta", "Intel(R) Active Management Technology 1.2.3.4.5"],
)  # fmt: skip
def test_server_header_not_known(header):
    assert parse_server_header(header) is None


@pytest.mark.parametrize(
    ("version", "klass"),
    [
        ("3.2.1", "native"),
        ("3.2.0", "translator"),
        ("3.2", "translator"),
        ("3.2.2", "native"),
        ("3.3", "native"),
        ("4.0.0", "native"),
        ("12.0.67", "native"),
        ("3.0.0", "translator"),
        ("2.0", "translator"),
        ("2.6.3", "translator"),
        ("1.0.0", "unsupported"),
        ("1.9.9", "unsupported"),
        (None, "unknown"),
        ("", "unknown"),
        ("11.8.50.3425", "native"),
        ("3.2.0.1", "translator"),
    ],
)
def test_support_class_boundaries(version, klass):
    assert support_class(version) == klass
    assert support_class(version, "ism") == "ism"  # ISM is never native, whatever its version


def test_version_helpers():
    assert version_tuple("3.2.1.1") == (3, 2, 1)
    assert version_tuple("11") == (11, 0, 0)
    assert major("12.0.67") == 12
    assert major(None) is None
    with pytest.raises(ValueError, match="not an AMT version"):
        version_tuple("three")


# RFC 2617 section 3.5, the worked example
RFC = {"username": "Mufasa", "realm": "testrealm@host.com", "password": "Circle Of Life", "method": "GET",
       "uri": "/dir/index.html", "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093", "nc": "00000001", "cnonce": "0a4f113b",
       "opaque": "5ccc069c403ebaf9f0171e9517f40e41", "response": "6629fae49393a05397450978507c4ef1"}  # fmt: skip


def test_rfc2617_example_by_hand():
    """The RFC's own numbers, computed with hashlib only: the test's reference, not the module's."""

    def h(s):
        return hashlib.md5(s.encode()).hexdigest()

    ha1 = h(f"{RFC['username']}:{RFC['realm']}:{RFC['password']}")
    ha2 = h(f"{RFC['method']}:{RFC['uri']}")
    assert h(f"{ha1}:{RFC['nonce']}:{RFC['nc']}:{RFC['cnonce']}:auth:{ha2}") == RFC["response"]


def test_rfc2617_example_through_the_parser():
    header = (f'Digest realm="{RFC["realm"]}", qop="auth,auth-int", nonce="{RFC["nonce"]}", '
              f'opaque="{RFC["opaque"]}"')  # fmt: skip
    challenge = parse_challenges(header)
    assert challenge["qop"] == "auth,auth-int"
    got = digest_response(RFC["username"], RFC["password"], "GET", RFC["uri"], challenge, nc=1, cnonce=RFC["cnonce"])
    assert got == RFC["response"]
    auth = digest_authorization(
        RFC["username"], RFC["password"], "GET", RFC["uri"], challenge, nc=1, cnonce=RFC["cnonce"]
    )
    assert f'response="{RFC["response"]}"' in auth
    assert "qop=auth, nc=00000001" in auth
    assert f'opaque="{RFC["opaque"]}"' in auth


def test_amt_challenge_without_spaces_and_with_negotiate():
    values = [
        "Negotiate",
        'Digest realm="Digest:6EE8C61BA74893E059F032EA919D699E", nonce="Yx3a/Q==",stale="false",qop="auth"',
    ]
    c = parse_challenges(values)
    assert c == {"realm": "Digest:6EE8C61BA74893E059F032EA919D699E", "nonce": "Yx3a/Q==", "stale": "false",
                 "qop": "auth"}  # fmt: skip
    one = parse_challenges('Negotiate, Digest realm="Digest:AB", nonce="n1",stale="true",qop="auth-int, auth"')
    assert one["stale"] == "true" and one["qop"] == "auth-int, auth"


@pytest.mark.parametrize(
    ("values", "message"),
    [("Basic realm=x", "no Digest challenge"), ('Digest nonce="x"', "no realm or nonce"), ([], "no Digest")],
)
def test_bad_challenges(values, message):
    with pytest.raises(ValueError, match=message):
        parse_challenges(values)


def test_digest_refuses_auth_int_only_and_sha256():
    with pytest.raises(ValueError, match="qop"):
        digest_response("u", "p", "POST", "/wsman", {"realm": "r", "nonce": "n", "qop": "auth-int"}, nc=1, cnonce="c")
    with pytest.raises(ValueError, match="SHA-256"):
        digest_response(
            "u", "p", "POST", "/wsman", {"realm": "r", "nonce": "n", "algorithm": "SHA-256"}, nc=1, cnonce="c"
        )


@pytest.mark.parametrize(
    ("build", "action", "class_name"),
    [
        (lambda: wsman_get("AMT_GeneralSettings", 3), "transfer/Get", "AMT_GeneralSettings"),
        (lambda: wsman_get("AMT_SetupAndConfigurationService", 1), "transfer/Get", "AMT_SetupAndConfigurationService"),
        (lambda: wsman_enumerate("CIM_SoftwareIdentity", 2), "enumeration/Enumerate", "CIM_SoftwareIdentity"),
        (
            lambda: wsman_pull("CIM_AssociatedPowerManagementService", "E2020000-0000", 4),
            "enumeration/Pull",
            "CIM_AssociatedPowerManagementService",
        ),
    ],
)
def test_envelopes(build, action, class_name):
    root = ET.fromstring(build())
    assert root.tag == f"{{{NS['s']}}}Envelope"
    header = root.find("s:Header", NS)
    assert header.find("a:Action", NS).text == f"http://schemas.xmlsoap.org/ws/2004/09/{action}"
    assert header.find("w:ResourceURI", NS).text == CLASSES[class_name]
    assert header.find("a:To", NS).text == "/wsman"
    assert header.find("a:ReplyTo/a:Address", NS).text.endswith("/role/anonymous")
    if action.endswith("Pull"):
        assert root.find("s:Body/n:Pull/n:EnumerationContext", NS).text == "E2020000-0000"
    if action.endswith("Enumerate"):
        assert root.find("s:Body/n:Enumerate", NS) is not None


def test_resource_uris():
    assert CLASSES["AMT_GeneralSettings"] == "http://intel.com/wbem/wscim/1/amt-schema/1/AMT_GeneralSettings"
    assert CLASSES["CIM_SoftwareIdentity"] == "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_SoftwareIdentity"
    with pytest.raises(ValueError, match="unknown WS-MAN class"):
        wsman_get("AMT_Nothing")


def test_recorded_software_identity():
    enum = parse_wsman((FIXTURES / "cim_softwareidentity_enumerate.xml").read_bytes(), "CIM_SoftwareIdentity")
    assert enum["context"] == "E2020000-0000-0000-0000-000000000000"
    assert enum["items"] == []
    pull = parse_wsman((FIXTURES / "cim_softwareidentity_pull.xml").read_bytes(), "CIM_SoftwareIdentity")
    assert pull["end"] is True
    assert len(pull["items"]) == 11
    assert amt_version(pull["items"]) == "12.0.67"
    assert amt_version([i for i in pull["items"] if i["InstanceID"] != "AMT"]) is None


def test_recorded_general_settings_and_setup():
    gs = parse_wsman((FIXTURES / "amt_generalsettings_pull.xml").read_bytes(), "AMT_GeneralSettings")["items"][0]
    assert general_settings(gs) == {"hostname": None, "domain": None,
                                    "digest_realm": "Digest:6EE8C61BA74893E059F032EA919D699E"}  # fmt: skip
    setup = parse_wsman((FIXTURES / "amt_setupandconfigurationservice_get.xml").read_bytes(),
                        "AMT_SetupAndConfigurationService")  # fmt: skip
    assert setup["action"] == "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse"
    facts = provisioning(setup["items"][0])
    assert facts["provisioning_state"] == "post"
    assert facts["provisioning_mode"] == "enterprise"


def test_recorded_power_state():
    answer = parse_wsman((FIXTURES / "cim_associatedpowermanagementservice_pull.xml").read_bytes(),
                         "CIM_AssociatedPowerManagementService")  # fmt: skip
    item = answer["items"][0]
    assert item["AvailableRequestedPowerStates"] == ["10", "8", "5", "11", "4", "7", "14", "12"]
    assert item["ServiceProvided"]["ReferenceParameters"]["ResourceURI"].endswith("CIM_PowerManagementService")
    assert power_state(answer["items"]) == "on"


def test_class_matched_by_namespace_not_prefix():
    text = (FIXTURES / "cim_softwareidentity_pull.xml").read_text()
    wrong = text.replace('cim-schema/2/CIM_SoftwareIdentity"', 'cim-schema/2/CIM_Other"')
    assert parse_wsman(wrong.encode(), "CIM_SoftwareIdentity")["items"] == []


def test_fault_and_garbage():
    fault = (
        f'<s:Envelope xmlns:s="{NS["s"]}"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code>'
        '<s:Reason><s:Text xml:lang="en">Access denied</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>'
    )
    with pytest.raises(ValueError, match="WS-MAN fault s:Sender: Access denied"):
        parse_wsman(fault.encode(), "AMT_GeneralSettings")
    with pytest.raises(ValueError, match="not XML"):
        parse_wsman(b"<html>", "AMT_GeneralSettings")
    with pytest.raises(ValueError, match="not a SOAP 1.2 envelope"):
        parse_wsman(b"<html/>", "AMT_GeneralSettings")


def test_certificate_facts():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pc1.lab.example")])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lab CA"), x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                                                              "Lab")])  # fmt: skip
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(0xABC).not_valid_before(datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
            .not_valid_after(datetime.datetime(2027, 6, 30, 12, tzinfo=datetime.UTC))
            .sign(ca_key, hashes.SHA256()))  # fmt: skip
    facts = certificate_facts(cert.public_bytes(serialization.Encoding.DER))
    assert facts == {"subject": "CN=pc1.lab.example", "issuer": "O=Lab,CN=Lab CA", "not_before": "2024-01-01T00:00:00Z",
                     "not_after": "2027-06-30T12:00:00Z", "key_type": "EC (secp256r1)", "key_size": 256,
                     "self_signed": False, "serial": "abc"}  # fmt: skip
    with pytest.raises(ValueError, match="does not parse"):
        certificate_facts(b"\x30\x03junk")


@pytest.mark.parametrize(
    ("targets", "kwargs", "total"),
    [
        (["203.0.113.0/24"], {}, 254),
        (["203.0.113.0/24", "203.0.113.7"], {}, 254),
        (["203.0.113.7", "203.0.113.8/31"], {}, 3),
        (["10.0.0.0/8"], {"allow_large": True, "max_targets": 1 << 24}, (1 << 24) - 2),
    ],
)
def test_plan_targets(targets, kwargs, total):
    nets, count = plan_targets(targets, **kwargs)
    assert count == total
    if total < 1000:
        assert len(list(iter_addresses(nets))) == total


@pytest.mark.parametrize(
    ("targets", "kwargs", "message"),
    [
        (["2001:db8::/64"], {}, "IPv6"),
        (["10.0.0.0/8"], {"max_targets": 1 << 24}, "allow_large"),
        (["10.0.0.0/15"], {}, "more than max_targets=65536"),
        (["10.0.0.0/23"], {"max_targets": 100}, "more than max_targets=100"),
        ([], {}, "targets is empty"),
        (["pc1.lab.example"], {}, "not an IPv4 address"),
    ],
)
def test_plan_targets_refused(targets, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan_targets(targets, **kwargs)
