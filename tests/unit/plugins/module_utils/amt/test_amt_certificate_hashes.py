"""AMT_ProvisioningCertificateHash: wire.certificate_hashes, the scan option certificate_hashes, and the simulator
serving the class (lab/standins/amt_sim.py, started as a child process on 127.x loopback addresses).

No recorded firmware answer of this class was found (go-wsman-messages' test data has none), so the parser is fed
the envelope of a recorded Pull answer (fixtures/amt/amt_generalsettings_pull.xml, go-wsman-messages) with its items
replaced by AMT_ProvisioningCertificateHash instances. The expected hashes are computed with the openssl CLI, from a
certificate openssl makes here and from Debian's ca-certificates, never with the code under test.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import amt_discovery
import pytest
from ansible_collections.oob.prep.plugins.module_utils.amt import scan
from ansible_collections.oob.prep.plugins.module_utils.amt.wire import (
    HASH_TYPES,
    certificate_hashes,
    parse_wsman,
    resource_uri,
    wsman_enumerate,
    wsman_pull,
)

ROOT = Path(__file__).resolve().parents[5]
SIM = ROOT / "lab" / "standins" / "amt_sim.py"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "amt"
URI = "http://intel.com/wbem/wscim/1/amt-schema/1/AMT_ProvisioningCertificateHash"
PASSWORD = "Sim-Hash-Pw1!"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl CLI computes the expected hashes")
# the CA certificates the simulator's default hashes are of (Debian ca-certificates), with HashType and digest
CA_FILES = [
    ("DigiCert_Global_Root_CA.pem", "sha256"),
    ("Go_Daddy_Root_Certificate_Authority_-_G2.pem", "sha256"),
    ("Go_Daddy_Class_2_CA.pem", "sha1"),
]


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run([OPENSSL, *args], input=data, capture_output=True, check=True).stdout


def _cert_digest(pem: Path, digest: str) -> bytes:
    """The digest of a certificate's DER, by openssl alone (x509 -outform DER | dgst -binary)."""
    der = _openssl("x509", "-in", str(pem), "-outform", "DER")
    return _openssl("dgst", f"-{digest}", "-binary", data=der)


def _pull_answer(instances: list[dict]) -> bytes:
    """A recorded AMT Pull answer (AMT_GeneralSettings) with its items replaced by instances of this class."""
    text = (FIXTURES / "amt_generalsettings_pull.xml").read_text()
    items = "".join("<h:AMT_ProvisioningCertificateHash>"
                    + "".join(f"<h:{k}>{v}</h:{k}>" for k, v in props.items())
                    + "</h:AMT_ProvisioningCertificateHash>" for props in instances)  # fmt: skip
    text = re.sub(r"<g:Items>.*</g:Items>", f"<g:Items>{items}</g:Items>", text, flags=re.S)
    return text.replace("AMT_GeneralSettings", "AMT_ProvisioningCertificateHash").encode()


def _item(hash_type, data: bytes, **extra) -> dict:
    return {"HashType": str(hash_type), "HashData": base64.b64encode(data).decode(), "IsDefault": "false",
            "Enabled": "true", "ElementName": "A CA", "InstanceID": "Certificate Hash 1", **extra}  # fmt: skip


# --- the client side: pure ------------------------------------------------------------------------------------------


def test_resource_uri_and_envelopes_name_the_amt_schema_class():
    assert resource_uri("AMT_ProvisioningCertificateHash") == URI
    assert f"<w:ResourceURI>{URI}</w:ResourceURI>" in wsman_enumerate("AMT_ProvisioningCertificateHash", 3).decode()
    pull = wsman_pull("AMT_ProvisioningCertificateHash", "ctx").decode()
    assert "<EnumerationContext>ctx</EnumerationContext>" in pull and URI in pull


def test_hash_types_are_intels_value_map():
    # intel/lms MEWMIProv/ME/MEMofs/AMT_ProvisioningCertificateHash.mof: 0 MD-5, 1 SHA-1, 2 SHA-256, 3 SHA-384;
    # the SDK's CFG_GetCertificateHashEntry HashAlgorithm: 1 SHA1 (20), 2 SHA256 (32), 3 SHA384 (48)
    assert HASH_TYPES == {0: ("md5", 16), 1: ("sha1", 20), 2: ("sha256", 32), 3: ("sha384", 48)}


@needs_openssl
def test_a_pull_answer_of_hashes_of_a_certificate_made_by_openssl(tmp_path):
    key, pem = tmp_path / "ca.key", tmp_path / "ca.pem"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             str(key), "-out", str(pem), "-subj", "/CN=Lab Provisioning Root", "-days", "30")  # fmt: skip
    digests = {name: _cert_digest(pem, name) for name in ("sha1", "sha256", "sha384")}
    instances = [
        {"ElementName": "Lab Provisioning Root", "Enabled": "true", "HashType": code, "IsDefault": "false",
         "HashData": base64.b64encode(digests[name]).decode(), "InstanceID": f"Certificate Hash {code}"}
        for code, name in ((1, "sha1"), (2, "sha256"), (3, "sha384"))
    ]  # fmt: skip
    answer = parse_wsman(_pull_answer(instances), "AMT_ProvisioningCertificateHash")
    assert answer["end"] and len(answer["items"]) == 3
    got = certificate_hashes(answer["items"])
    assert got == [{"name": "Lab Provisioning Root", "type": name, "hex": digests[name].hex(), "default": False,
                    "enabled": True} for name in ("sha1", "sha256", "sha384")]  # fmt: skip


def test_md5_sha512_padding_names_and_flags():
    md5, sha1, sha512 = bytes(range(1, 17)), bytes(range(1, 21)), bytes(range(1, 65))
    got = certificate_hashes([
        _item(0, md5),
        _item(1, sha1 + bytes(44), IsDefault="true", Enabled="false"),  # a 64-byte buffer: zero padding dropped
        _item(3, sha512),  # type 3 with 64 bytes: SHA-512 (AMT 2.0 to 5.x)
        _item(2, bytes(32), ElementName="Intel(r) AMT: Provisioning Certificate Hash", Description="Lab CA"),
        _item(7, b"\x01\x02", ElementName=""),
    ])  # fmt: skip
    assert [(h["type"], h["hex"]) for h in got] == [("md5", md5.hex()), ("sha1", sha1.hex()),
                                                   ("sha512", sha512.hex()), ("sha256", "00" * 32),
                                                   ("unknown_7", "0102")]  # fmt: skip
    assert (got[1]["default"], got[1]["enabled"]) == (True, False)
    assert got[3]["name"] == "Lab CA" and got[4]["name"] is None


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (_item(2, bytes(20)), "HashType 2 (sha256) is 32 bytes, HashData has 20"),
        (_item(1, bytes(range(1, 25))), "that are not zero padding"),
        ({**_item(1, bytes(20)), "HashData": "not base64!"}, "is not base64"),
        ({**_item(1, bytes(20)), "HashData": ""}, "no HashData"),
        (_item(1, bytes(20), Enabled="maybe"), "Enabled is 'maybe'"),
    ],
)
def test_malformed_hashes_are_value_errors(item, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        certificate_hashes([item])


def test_option_needs_credentials():
    with pytest.raises(ValueError, match="certificate_hashes needs username and password"):
        scan.discover({"targets": ["127.0.0.1"], "certificate_hashes": True})


def test_module_option_and_its_requirement(run_module):
    assert amt_discovery.argument_spec()["certificate_hashes"] == {"type": "bool", "default": False}
    status, res = run_module(amt_discovery.main, {"targets": ["127.0.0.1"], "certificate_hashes": True})
    assert status == "fail" and "certificate_hashes" in res["msg"] and "username" in res["msg"]


def test_a_failed_read_is_a_note_not_a_traceback(monkeypatch):
    """Any exception of the hash read (here a TypeError from a broken answer) is the device's error, the other WS-MAN
    facts are kept, and certificate_hashes stays None."""

    class FakeWsman:
        def __init__(self, *args, **kwargs):
            pass

        async def get(self, class_name):
            return []

        async def enumerate(self, class_name):
            if class_name == "AMT_ProvisioningCertificateHash":
                raise TypeError("'NoneType' object is not iterable")
            return [{"InstanceID": "AMT", "VersionString": "12.0.67"}] if class_name == "CIM_SoftwareIdentity" else []

    monkeypatch.setattr(scan, "Wsman", FakeWsman)
    dev = scan.new_device("192.0.2.1", [16992])
    dev["certificate_hashes"] = None
    opts = {"wsman_port": 16992, "username": "admin", "password": "x", "timeout": 1.0, "legacy_tls": False,
            "tls_wsman": None, "certificate_hashes": True}  # fmt: skip
    asyncio.run(scan._wsman(dev, opts))
    assert dev["version"] == "12.0.67" and dev["certificate_hashes"] is None
    assert dev["error"] == "WS-MAN AMT_ProvisioningCertificateHash: 'NoneType' object is not iterable"


# --- the simulator and discovery over the wire ---------------------------------------------------------------------

LAB_HASHES = [
    {"name": "Lab Root 384", "type": "sha384", "hex": "ab" * 47 + "01", "default": False, "enabled": True},
    {"name": "Lab Root 1", "type": "sha1", "hex": "cd" * 20, "default": True, "enabled": False},
]


@pytest.fixture(scope="module")
def sim(tmp_path_factory, child_process):
    folder = tmp_path_factory.mktemp("amtsim-hashes")
    net = f"127.{random.randint(100, 250)}.{random.randint(0, 250)}."  # noqa: S311 - avoid clashing runs
    addr = {name: net + str(i) for i, name in enumerate(["default", "lab", "empty", "old"], start=1)}
    devices = [
        {"address": addr["default"], "version": "12.0.67"},
        {"address": addr["lab"], "version": "7.0.1", "certificate_hashes": LAB_HASHES},
        {"address": addr["empty"], "version": "11.8.50", "certificate_hashes": []},
        {"address": addr["old"], "version": "2.6.3"},  # the SDK lists the class from AMT 3.0
    ]
    config = folder / "devices.json"
    config.write_text(json.dumps({"defaults": {"password": PASSWORD}, "devices": devices}))
    proc = child_process([sys.executable, str(SIM), "--config", str(config)], stdout=subprocess.PIPE, text=True)
    ready = json.loads(proc.stdout.readline())
    assert ready["event"] == "ready" and ready["devices"] == 4
    yield addr
    proc.terminate()
    proc.wait(10)


def _discover(addr: dict, **options) -> dict:
    result = scan.discover({"targets": sorted(addr.values()), "ports": [16992], "timeout": 2, "username": "admin",
                            "password": PASSWORD, **options})  # fmt: skip
    return {d["address"]: d for d in result["devices"]}


@needs_openssl
def test_discovery_reads_the_hashes_the_simulator_serves(sim):
    devs = _discover(sim, certificate_hashes=True)
    default = devs[sim["default"]]
    assert default["error"] is None and default["version"] == "12.0.67"
    expected = []
    for name, digest in CA_FILES:
        pem = Path("/etc/ssl/certs") / name
        if not pem.exists():
            pytest.skip(f"{pem} is not here (Debian's ca-certificates)")
        expected.append((digest, _cert_digest(pem, digest).hex()))
    assert [(h["type"], h["hex"]) for h in default["certificate_hashes"]] == expected
    assert default["certificate_hashes"][0]["name"] == "DigiCert Global Root CA"
    assert devs[sim["lab"]]["certificate_hashes"] == LAB_HASHES
    assert devs[sim["lab"]]["error"] is None
    assert devs[sim["empty"]]["certificate_hashes"] == [] and devs[sim["empty"]]["error"] is None
    old = devs[sim["old"]]  # the class is unknown to AMT 2.x: a note, the rest of the read stands
    assert old["certificate_hashes"] is None and old["version"] == "2.6.3"
    assert old["error"].startswith("WS-MAN AMT_ProvisioningCertificateHash: WS-MAN fault")
    assert "DestinationUnreachable" in old["error"] and "Traceback" not in old["error"]


def test_discovery_without_the_option_is_unchanged(sim):
    devs = _discover(sim)
    assert all("certificate_hashes" not in d for d in devs.values())
    assert devs[sim["old"]]["error"] is None  # nothing asked for the class
    assert devs[sim["lab"]]["version"] == "7.0.1"


def test_wrong_password_leaves_the_hashes_unread(sim):
    result = scan.discover({"targets": [sim["lab"]], "ports": [16992], "timeout": 2, "username": "admin",
                            "password": "wrong", "certificate_hashes": True})  # fmt: skip
    dev = result["devices"][0]
    assert dev["certificate_hashes"] is None and "refused the credentials" in dev["error"]
