"""amt.trust: the default root hash table checked against Debian's ca-certificates with openssl (an independent
computation) and against the published lists copied here by hand; the service point's hello records built with
amt.hello.build and written out by hand from MeshCentral's layout (amt.hello's docstring); each verdict of the check.
Expected values are written here, never read from the module's tables (except where openssl checks those)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible_collections.oob.prep.plugins.module_utils.amt.hello import build, parse
from ansible_collections.oob.prep.plugins.module_utils.amt.trust import (
    DEFAULT_LIST_SOURCES,
    DEFAULT_ROOT_HASHES,
    default_hashes,
    default_trusted,
    devices_from_hello_records,
    devices_from_list,
    trust_check,
    trust_summary,
)

CERTS = Path("/etc/ssl/certs")

# The root CAs of the table that Debian's ca-certificates may hold, by a fragment of their subject (as
# `openssl x509 -subject -nameopt oneline` prints it). A table entry whose name is not here is skipped.
BUNDLE_SUBJECTS = {
    "Go Daddy Class 2 CA": "OU = Go Daddy Class 2 Certification Authority",
    "Comodo AAA CA": "CN = AAA Certificate Services",
    "Starfield Class 2 CA": "OU = Starfield Class 2 Certification Authority",
    "Baltimore CyberTrust Root": "CN = Baltimore CyberTrust Root",
    "Entrust.net CA (2048)": "CN = Entrust.net Certification Authority (2048)",
    "Entrust Root CA": "CN = Entrust Root Certification Authority",
    "Entrust Root CA - G2": "CN = Entrust Root Certification Authority - G2",
    "Go Daddy Root CA - G2": "CN = Go Daddy Root Certificate Authority - G2",
    "Starfield Root CA - G2": "CN = Starfield Root Certificate Authority - G2",
    "DigiCert Global Root CA": "CN = DigiCert Global Root CA",
    "DigiCert Global Root G2": "CN = DigiCert Global Root G2",
    "DigiCert Global Root G3": "CN = DigiCert Global Root G3",
    "DigiCert Trusted Root G4": "CN = DigiCert Trusted Root G4",
    "GlobalSign Root CA - R3": "OU = GlobalSign Root CA - R3",
    "GlobalSign ECC Root CA - R5": "OU = GlobalSign ECC Root CA - R5",
    "GlobalSign Root CA - R6": "OU = GlobalSign Root CA - R6",
}

# Copied by hand from the sources the module cites.
# symantec-2010, "the original list of certificate hashes" and the G2 added later (SHA-1, spaces dropped)
SYMANTEC_2010 = {
    "VeriSign Class 3 Public Primary CA - G1": "742c3192e607e424eb4549542be1bbc53e6174e2",
    "VeriSign Class 3 Public Primary CA - G3": "132d0d45534b6997cdb2d5c339e25576609b5cc6",
    "Go Daddy Class 2 CA": "2796bae63f1801e277261ba0d77770028f20eee4",
    "Comodo AAA CA": "d1eb23a46d17d68fd92564c2f1f1601764d8e349",
    "Starfield Class 2 CA": "ad7e1c28b064ef8f6003402014c3d0e3370eb58a",
    "VeriSign Class 3 Public Primary CA - G2": "85371ca6e550143dce2803471bde3a09e8f8770f",
}
# intel-sdk, "Releases 7.0 through 10.x support the following SHA1 root certificates" (as quoted)
INTEL_7_TO_10 = {
    **SYMANTEC_2010,
    "VeriSign Class 3 Public Primary CA - G1.5": "a1db6393916f17e4185509400415c70240b0ae6b",
    "VeriSign Class 3 Public Primary CA - G5": "4eb6d578499b1ccf5f581ead56be3d9b6744a5e5",
}
# open-amt-rps, certHashes of the AMT 11.8.50 device (src/test/activator.test.ts)
RPS_11_8_50 = """
e7685634efacf69ace939a6b255b7b4fabef42935b50a265acb5cb6027e44e70
eb04cf5eb1f39afa762f2bb120f296cba520c1b97db1589565b81cb9a17b7244
c3846bf24b9e93ca64274c0ec67c1ecc5e024ffcacd2d74019350e81fe546ae4
d7a7a0fb5d7e2731d771e9484ebcdef71d5f0c3e0a2948782bc83ee0ea699ef4
1465fa205397b876faa6f0a9958e5590e40fcc7faa4fb7c2c8677521fb5fb658
83ce3c1229688a593d485f81973c0f9195431eda37cc5e36430e79c7a888638b
a4b6b3996fc2f306b3fd8681bd63413d8c5009cc4fa329c2ccf0e2fa1b140305
9acfab7e43c8d880d06b262a94deeee4b4659989c3d0caf19baf6405e41ab7df
a53125188d2110aa964b02c7b7c6da3203170894e5fb71fffb6667d5e6810a36
16af57a9f676b0ab126095aa5ebadef22ab31119d644ac95cd4b93dbf3f26aeb
960adf0063e96356750c2965dd0a0867da0b9cbd6e77714aeafb2349ab393da3
68ad50909b04363c605ef13581a939ff2c96372e3f12325b0a6861e1d59f6603
6dc47172e01cbcb0bf62580d895fe2b8ac9ad4f873801e0c10b9c837d21eb177
73c176434f1bc6d5adf45b0e76e727287c8de57616c1e6e6141a2b2cbc7d8e4c
2399561127a57125de8cefea610ddf2fa078b5c8067f4e828290bfb860e84b3c
45140b3247eb9cc8c5b4f0d7b53091f73292089e6e5a63e2749dd3aca9198eda
43df5774b03e7fef5fe40d931a7bedf1bb2e6b42738c4e6d3841103d3aa7f339
2ce1cb0bf9d2f9e102993fbe215152c3b2dd0cabde1c68e5319b839154dbb7f5
70a73f7f376b60074248904534b11482d5bf0e698ecc498df52577ebf2e93b9a
""".split()
# openjdk SymantecTLSPolicy.java: SHA-256 fingerprints of VeriSign roots, by their CN / OU
OPENJDK_VERISIGN = {
    "VeriSign Class 3 Public Primary CA - G2": "83ce3c1229688a593d485f81973c0f9195431eda37cc5e36430e79c7a888638b",
    "VeriSign Class 3 Public Primary CA - G3": "eb04cf5eb1f39afa762f2bb120f296cba520c1b97db1589565b81cb9a17b7244",
    "VeriSign Class 3 Public Primary CA - G5": "9acfab7e43c8d880d06b262a94deeee4b4659989c3d0caf19baf6405e41ab7df",
    "VeriSign Universal Root CA": "2399561127a57125de8cefea610ddf2fa078b5c8067f4e828290bfb860e84b3c",
}
# meshcentral-hello: the example hello data of amtprovisioningserver.js (23 SHA-256 hashes)
MESHCENTRAL_HELLO = (
    "01000300000000004b529b93d413181de4871c697a6b7a2b17"
    "0220c3846bf24b9e93ca64274c0ec67c1ecc5e024ffcacd2d74019350e81fe546ae4"
    "022045140b3247eb9cc8c5b4f0d7b53091f73292089e6e5a63e2749dd3aca9198eda"
    "0220d7a7a0fb5d7e2731d771e9484ebcdef71d5f0c3e0a2948782bc83ee0ea699ef4"
    "02201465fa205397b876faa6f0a9958e5590e40fcc7faa4fb7c2c8677521fb5fb658"
    "02202ce1cb0bf9d2f9e102993fbe215152c3b2dd0cabde1c68e5319b839154dbb7f5"
    "02209acfab7e43c8d880d06b262a94deeee4b4659989c3d0caf19baf6405e41ab7df"
    "022016af57a9f676b0ab126095aa5ebadef22ab31119d644ac95cd4b93dbf3f26aeb"
    "0220960adf0063e96356750c2965dd0a0867da0b9cbd6e77714aeafb2349ab393da3"
    "022068ad50909b04363c605ef13581a939ff2c96372e3f12325b0a6861e1d59f6603"
    "02206dc47172e01cbcb0bf62580d895fe2b8ac9ad4f873801e0c10b9c837d21eb177"
    "022073c176434f1bc6d5adf45b0e76e727287c8de57616c1e6e6141a2b2cbc7d8e4c"
    "022043df5774b03e7fef5fe40d931a7bedf1bb2e6b42738c4e6d3841103d3aa7f339"
    "02202399561127a57125de8cefea610ddf2fa078b5c8067f4e828290bfb860e84b3c"
    "022070a73f7f376b60074248904534b11482d5bf0e698ecc498df52577ebf2e93b9a"
    "02204348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161"
    "0220cb3ccbb76031e5e0138f8dd39a23f9de47ffc35e43c1144cea27d46a5ab1cb5f"
    "022031ad6648f8104138c738f39ea4320133393e3a18cc02296ef97c2ac9ef6731d0"
    "0220552f7bdcf1a7af9e6ce672017f4f12abf77240c78e761ac203d1d9d20ac89988"
    "022067540a47aa5b9f34570a99723cfefa96a96ee3f0d9b8bf4def9440b8065d665d"
    "02207224395222cd588c4f2683716922addb41e39b581ac34fa87b39efa896fbb39e"
    "0220cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b"
    "0220179fbc148a3dd00fd24ea13458cc43bfa7f59c8182d783a513f6ebec100c8924"
    "02202cabeafe37d06ca22aba7391c0033d25982952c453647349763a3ab5ad6ccf69"
)

# Go Daddy Class 2 CA's fingerprints, as openssl prints them (colons kept, upper case): the root of the tests' checks
GODADDY = {
    "subject": "OU=Go Daddy Class 2 Certification Authority, O=The Go Daddy Group, Inc., C=US",
    "thumbprints": {
        "sha1": "27:96:BA:E6:3F:18:01:E2:77:26:1B:A0:D7:77:70:02:8F:20:EE:E4",
        "sha256": "C3:84:6B:F2:4B:9E:93:CA:64:27:4C:0E:C6:7C:1E:CC:5E:02:4F:FC:AC:D2:D7:40:19:35:0E:81:FE:54:6A:E4",
    },
}
GODADDY_SHA1 = "2796bae63f1801e277261ba0d77770028f20eee4"
GODADDY_SHA256 = "c3846bf24b9e93ca64274c0ec67c1ecc5e024ffcacd2d74019350e81fe546ae4"
# an enterprise root no firmware ships: made-up fingerprints
CONTOSO = {
    "subject": "CN=Contoso Root CA, DC=contoso, DC=com",
    "thumbprints": {
        "sha1": hashlib.sha1(b"contoso root").hexdigest(),
        "sha256": hashlib.sha256(b"contoso root").hexdigest(),
        "sha384": hashlib.sha384(b"contoso root").hexdigest(),
    },
}
UUID_A = "12345678-9abc-def0-1122-334455667788"
UUID_B = "939b524b-13d4-1d18-e487-1c697a6b7a2b"
UUID_C = "00112233-4455-6677-8899-aabbccddeeff"
OTHER_SHA256 = hashlib.sha256(b"some other root").hexdigest()


# ------------------------------------------------------------------------------------------- the default table


def _openssl(*args: str) -> str:
    return subprocess.run(["openssl", "x509", "-noout", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def bundle(built_once) -> dict[str, Path]:
    """{subject line: file} of Debian's ca-certificates, read with openssl (once per run)."""
    if shutil.which("openssl") is None or not CERTS.is_dir():
        pytest.skip("openssl or /etc/ssl/certs (ca-certificates) is not on this machine")

    def read(folder: Path) -> None:
        out = {}
        for pem in sorted(CERTS.glob("*.pem")):
            if pem.is_file():
                out[_openssl("-subject", "-nameopt", "oneline", "-in", str(pem)).strip()] = str(pem)
        (folder / "subjects.json").write_text(json.dumps(out))

    subjects = json.loads((built_once("ca_bundle_subjects", read) / "subjects.json").read_text())
    return {subject: Path(pem) for subject, pem in subjects.items()}


@pytest.mark.parametrize(
    "entry", DEFAULT_ROOT_HASHES, ids=[f"{e['name']}-{'sha1' if e['sha1'] else 'sha256'}" for e in DEFAULT_ROOT_HASHES]
)
def test_default_hash_is_the_fingerprint_openssl_computes(entry, bundle):
    fragment = BUNDLE_SUBJECTS.get(entry["name"])
    if fragment is None:
        pytest.skip(f"{entry['name']} is not in Debian's ca-certificates (a retired root): only its source vouches")
    files = [pem for subject, pem in bundle.items() if subject.endswith(fragment) or f"{fragment}," in subject]
    if not files:
        pytest.skip(f"{entry['name']} ({fragment}) is not in this machine's /etc/ssl/certs")
    assert len(files) == 1, files
    kind = "sha1" if entry["sha1"] else "sha256"
    line = _openssl("-fingerprint", f"-{kind}", "-in", str(files[0]))
    computed = line.strip().split("=", 1)[1].replace(":", "").lower()
    assert entry[kind] == computed


def test_bundle_check_can_fail(bundle):
    # the check above reads a real fingerprint: Go Daddy Class 2 CA's SHA-256 is not its SHA-1
    pem = next(p for s, p in bundle.items() if s.endswith(BUNDLE_SUBJECTS["Go Daddy Class 2 CA"]))
    sha256 = _openssl("-fingerprint", "-sha256", "-in", str(pem)).split("=", 1)[1].strip().replace(":", "").lower()
    assert sha256 == GODADDY_SHA256
    assert sha256 != GODADDY_SHA1


def test_each_default_hash_is_in_its_source():
    sources = {name for name, _ in DEFAULT_LIST_SOURCES}
    mesh = {h["hex"] for h in parse(bytes.fromhex(MESHCENTRAL_HELLO))["hashes"]}
    assert len(mesh) == 23
    for entry in DEFAULT_ROOT_HASHES:
        tags = set(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", entry["source"])) - {"name"}
        assert tags <= sources, (entry["name"], tags - sources)
        assert bool(entry["sha1"]) != bool(entry["sha256"]), entry
        if entry["sha1"]:
            assert INTEL_7_TO_10[entry["name"]] == entry["sha1"]
            if entry["since"] == "2.6":
                assert SYMANTEC_2010[entry["name"]] == entry["sha1"]
        elif entry["since"] == "11.8":
            assert entry["sha256"] in RPS_11_8_50
        else:
            assert entry["since"] is None
            assert entry["sha256"] in mesh
        if entry["sha256"] and entry["name"] in OPENJDK_VERISIGN:
            assert OPENJDK_VERISIGN[entry["name"]] == entry["sha256"]


def test_default_hashes_by_version():
    original = {"VeriSign Class 3 Public Primary CA - G1", "VeriSign Class 3 Public Primary CA - G3",
                "Go Daddy Class 2 CA", "Comodo AAA CA", "Starfield Class 2 CA"}  # fmt: skip
    got = default_hashes("3.2.1")
    assert {e["name"] for e in got} == original
    assert all(e["sha1"] and not e["sha256"] for e in got)
    assert {e["name"] for e in default_hashes("7.0.0")} == set(INTEL_7_TO_10)
    assert {e["name"] for e in default_hashes("10.0.55.3000")} == set(INTEL_7_TO_10)
    assert default_hashes("2.5") == []
    assert default_hashes(None) == []
    assert default_hashes("11.0.0") == []  # SHA-1 defaults removed; no source lists 11.0-11.7's SHA-256 ones
    v11 = default_hashes("11.8.50.3425")
    assert len(v11) == 13
    assert all(e["sha256"] and not e["sha1"] for e in v11)
    assert {e["sha256"] for e in v11} <= set(RPS_11_8_50)
    assert GODADDY_SHA256 in {e["sha256"] for e in default_hashes("16.1")}
    with pytest.raises(ValueError, match="not of the form"):
        default_hashes("unknown")


def test_default_trusted_form():
    trusted = default_trusted("3.2.1")
    assert {"type": 1, "name": "sha1", "hex": GODADDY_SHA1, "ca": "Go Daddy Class 2 CA"} in trusted
    assert {"type": 2, "name": "sha256", "hex": GODADDY_SHA256, "ca": "Go Daddy Class 2 CA"} in default_trusted("11.8")


# ------------------------------------------------------------------------------------------- the hello record


def record(data: bytes, peer: str, closed: float) -> str:
    """One line as the stand-in writes it: the data and what amt.hello.parse makes of it."""
    try:
        hello, error = parse(data), None
    except ValueError as exc:
        hello, error = None, str(exc)
    return json.dumps({"peer": peer, "peer_port": 40000, "local_port": 9971, "opened": closed - 0.5,
                       "closed": closed, "data_hex": data.hex(), "hello": hello, "hello_error": error})  # fmt: skip


# written out by hand (MeshCentral's layout, amt.hello's docstring): admin credentials 0, version 3, retry 2, the
# UUID in SMBIOS order, 2 hashes: SHA-1 (type 1, 20 octets) of Go Daddy Class 2 CA, SHA-256 (2, 32) of another root
HAND_HELLO = bytes.fromhex(
    "0000" "0300" "02000000" "78563412bc9af0de1122334455667788" "02"
    "0114" + GODADDY_SHA1 + "0220" + OTHER_SHA256
)  # fmt: skip


def test_hand_written_hello_record():
    devices = devices_from_hello_records([record(HAND_HELLO, "203.0.113.11", 1000.0)])
    assert devices == {
        UUID_A: {
            "uuid": UUID_A,
            "address": "203.0.113.11",
            "hashes": [{"type": 1, "name": "sha1", "hex": GODADDY_SHA1},
                       {"type": 2, "name": "sha256", "hex": OTHER_SHA256}],
            "seen": 1000.0,
            "hellos": 1,
        }
    }  # fmt: skip


def test_latest_hello_of_each_uuid():
    lines = [
        record(build(UUID_A, [(2, GODADDY_SHA256)], retry_count=3), "203.0.113.12", 2000.0),  # latest, not last
        "",
        record(build(UUID_A, [(1, GODADDY_SHA1)]), "203.0.113.11", 1000.0),
        record(b"", "203.0.113.50", 1500.0),  # a port probe: hello null
        record(b"GET / HTTP/1.0\r\n\r\n", "203.0.113.51", 1600.0),  # not a hello: hello null
        record(build(UUID_A, [(1, GODADDY_SHA1)], retry_count=1), "203.0.113.11", 1500.0),
        record(bytes.fromhex(MESHCENTRAL_HELLO), "192.168.2.148", 1700.0),
        record(build(UUID_C, [(1, GODADDY_SHA1)]), "203.0.113.60", 500.0),
        record(build(UUID_C, [(2, OTHER_SHA256)]), "203.0.113.61", 600.0),  # later and last
        record(build(UUID_C, [(2, GODADDY_SHA256)]), "203.0.113.62", 600.0),  # as late, later line: wins
    ]
    devices = devices_from_hello_records(lines)
    assert set(devices) == {UUID_A, UUID_B, UUID_C}
    assert devices[UUID_C]["address"] == "203.0.113.62"
    assert devices[UUID_C]["hashes"] == [{"type": 2, "name": "sha256", "hex": GODADDY_SHA256}]
    assert devices[UUID_C]["hellos"] == 3
    assert devices[UUID_A]["hellos"] == 3
    assert devices[UUID_A]["address"] == "203.0.113.12"
    assert devices[UUID_A]["seen"] == 2000.0
    assert devices[UUID_A]["hashes"] == [{"type": 2, "name": "sha256", "hex": GODADDY_SHA256}]
    assert devices[UUID_B]["hellos"] == 1
    assert len(devices[UUID_B]["hashes"]) == 23
    assert devices[UUID_B]["hashes"][0] == {"type": 2, "name": "sha256", "hex": GODADDY_SHA256}


def test_hand_written_record_line():
    line = (
        '{"peer": "203.0.113.20", "peer_port": 50123, "local_port": 9971, "opened": 10.0, "closed": 10.2, '
        '"data_hex": "", "hello": {"admin_credentials_set": false, "version": 3, "retry_count": 0, '
        f'"uuid": "{UUID_A.upper()}", "hashes": [{{"type": 1, "name": "sha1", "size": 20, '
        f'"hex": "{GODADDY_SHA1.upper()}"}}]}}, "hello_error": null}}'
    )
    devices = devices_from_hello_records([line])
    assert devices[UUID_A]["hashes"] == [{"type": 1, "name": "sha1", "hex": GODADDY_SHA1}]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("not json", "line 2: not JSON"),
        ("[1, 2]", "line 2: not a connection record"),
        ('{"peer": "203.0.113.1"}', "line 2: not a connection record"),
        ('{"hello": {"hashes": []}}', "line 2: hello has no uuid"),
        ('{"hello": {"uuid": "x", "hashes": []}}', "line 2: hello uuid 'x' is not a UUID"),
        (f'{{"hello": {{"uuid": "{UUID_A}", "hashes": [{{"type": 1, "hex": "abcd"}}]}}}}',
         "line 2: hash 1: a SHA-1 hash is 40 hex digits"),
        (f'{{"hello": {{"uuid": "{UUID_A}", "hashes": [{{"type": 4, "hex": "abcd"}}]}}}}',
         "line 2: hash 1: unknown hash type 4"),
        (f'{{"closed": "late", "hello": {{"uuid": "{UUID_A}", "hashes": []}}}}', "line 2: closed must be a time"),
    ],
)  # fmt: skip
def test_malformed_record_lines(line, words):
    with pytest.raises(ValueError) as err:
        devices_from_hello_records([record(HAND_HELLO, "203.0.113.11", 1.0), line])
    assert words in str(err.value)


# ------------------------------------------------------------------------------------------- the estate's list


def test_devices_from_list():
    devices = devices_from_list(
        [
            {"name": "pc-1", "uuid": UUID_A.upper(), "hashes": [{"type": "sha256", "hex": GODADDY_SHA256.upper()}]},
            {"name": "pc-2", "address": "203.0.113.30",
             "hashes": [{"type": 1, "hex": " ".join(GODADDY_SHA1[i:i + 2] for i in range(0, 40, 2))},
                        {"type": "SHA-384", "hex": CONTOSO["thumbprints"]["sha384"]}]},
            {"address": "203.0.113.31", "hashes": []},
        ]
    )  # fmt: skip
    assert list(devices) == [UUID_A, "pc-2", "203.0.113.31"]
    assert devices[UUID_A] == {"name": "pc-1", "uuid": UUID_A, "address": None,
                               "hashes": [{"type": 2, "name": "sha256", "hex": GODADDY_SHA256}]}  # fmt: skip
    assert devices["pc-2"]["hashes"] == [
        {"type": 1, "name": "sha1", "hex": GODADDY_SHA1},
        {"type": 3, "name": "sha384", "hex": CONTOSO["thumbprints"]["sha384"]},
    ]
    assert devices["203.0.113.31"]["hashes"] == []


@pytest.mark.parametrize(
    ("items", "words"),
    [
        ({"name": "pc-1"}, "must be a list"),
        (["pc-1"], "device 1: a mapping"),
        ([{"hashes": []}], "device 1: give a name, a uuid or an address"),
        ([{"name": "pc-1"}], "device 1 (pc-1): hashes must be a list"),
        ([{"name": "pc-1", "uuid": "nope", "hashes": []}], "device 1 (pc-1): uuid 'nope' is not a UUID"),
        ([{"name": "pc-1", "hashes": [{"type": "sha256", "hex": GODADDY_SHA1}]}],
         "device 1 (pc-1): hash 1: a SHA-256 hash is 64 hex digits"),
        ([{"name": "pc-1", "hashes": [{"type": "md5", "hex": "00"}]}], "unknown hash type 'md5'"),
        ([{"name": "pc-1", "hashes": [{"hex": GODADDY_SHA1}]}], "hash 1: no type"),
        ([{"name": "pc-1", "hashes": [{"type": 1}]}], "hash 1: no hex"),
        ([{"name": "pc-1", "hashes": [{"type": 1, "hex": "g" * 40}]}], "a SHA-1 hash is 40 hex digits"),
        ([{"name": "pc-1", "hashes": []}, {"name": "pc-1", "hashes": []}], "device 2 (pc-1): pc-1 is listed twice"),
    ],
)  # fmt: skip
def test_devices_from_list_rejects(items, words):
    with pytest.raises(ValueError) as err:
        devices_from_list(items)
    assert words in str(err.value)


# ------------------------------------------------------------------------------------------- the check


def test_hello_match_passes():
    device = devices_from_hello_records([record(HAND_HELLO, "203.0.113.11", 1.0)])[UUID_A]
    row = trust_check(device, GODADDY, device["hashes"], "hello")
    assert row["id"] == f"amt.trust.{UUID_A}"
    assert row["row"] == "oob_certificates"
    assert row["status"] == "pass"
    assert f"device {UUID_A}" in row["evidence"]
    assert "SHA-1 hash" in row["evidence"]
    assert "recorded hello" in row["evidence"]
    assert row["remedy"] == ""


def test_match_is_by_type_and_case_insensitive():
    only_sha256 = {"subject": GODADDY["subject"], "thumbprints": {"sha256": GODADDY["thumbprints"]["sha256"]}}
    device = {"name": "pc-1"}
    sha1_only = [{"type": 1, "hex": GODADDY_SHA1}]
    assert trust_check(device, only_sha256, sha1_only, "wsman")["status"] == "fail"  # no hash of the same type
    assert trust_check(device, GODADDY, sha1_only, "wsman")["status"] == "pass"
    upper = [{"name": "SHA256", "hex": GODADDY_SHA256.upper()}]
    row = trust_check(device, only_sha256, upper, "wsman")
    assert row["status"] == "pass"
    assert "SHA-256 hash" in row["evidence"]
    assert "WS-MAN" in row["evidence"]


def test_hello_without_the_root_fails():
    device = devices_from_hello_records([record(HAND_HELLO, "203.0.113.11", 1.0)])[UUID_A]
    row = trust_check({**device, "name": "pc-7"}, CONTOSO, device["hashes"], "hello")
    assert row["id"] == "amt.trust.pc-7"
    assert row["status"] == "fail"
    assert "trusts 2 root hash(es)" in row["evidence"]
    assert "CN=Contoso Root CA" in row["evidence"]
    remedy = row["remedy"]
    assert f"SHA-256 hash {CONTOSO['thumbprints']['sha256']} (CN=Contoso Root CA, DC=contoso, DC=com)" in remedy
    assert CONTOSO["thumbprints"]["sha1"] in remedy  # the device lists SHA-1 hashes: older firmware's MEBx takes one
    assert "MEBx" in remedy
    assert "USB key" in remedy
    assert "setup.bin" in remedy
    assert "a CA whose root the firmware already trusts" in remedy


def test_wsman_without_the_root_fails_sha256_only():
    row = trust_check({"address": "203.0.113.40"}, CONTOSO, [{"type": 2, "hex": GODADDY_SHA256}], "wsman")
    assert row["id"] == "amt.trust.203.0.113.40"
    assert row["status"] == "fail"
    assert "trusts 1 root hash(es) (SHA-256, from AMT_ProvisioningCertificateHash" in row["evidence"]
    assert CONTOSO["thumbprints"]["sha1"] not in row["remedy"]  # a SHA-256 list: the SHA-256 hash only


def test_empty_list_read_from_the_device_fails():
    row = trust_check({"name": "pc-1"}, GODADDY, [], "hello")
    assert row["status"] == "fail"
    assert "trusts 0 root hash(es)" in row["evidence"]


def test_default_match_is_inferred():
    device = {"name": "pc-3", "amt_version": "3.2.1"}
    row = trust_check(device, GODADDY, default_trusted("3.2.1"), "default")
    assert row["status"] == "pass"
    assert "inferred from the published default root hashes of AMT 3.2.1" in row["evidence"]
    assert "not read from the device" in row["evidence"]
    assert "Go Daddy Class 2 CA" in row["evidence"]
    assert "SHA-1" in row["evidence"]
    row = trust_check({"name": "pc-4", "amt_version": "11.8.50"}, GODADDY, default_trusted("11.8.50"), "default")
    assert row["status"] == "pass"
    assert "SHA-256" in row["evidence"]


def test_default_without_the_root_warns():
    row = trust_check({"name": "pc-5", "amt_version": "5.0.1"}, CONTOSO, default_trusted("5.0.1"), "default")
    assert row["status"] == "warn"
    assert "none of the 5 hash(es) of the published default root hashes of AMT 5.0.1 (SHA-1)" in row["evidence"]
    assert "cannot be seen without the device's hello or WS-MAN" in row["evidence"]
    assert CONTOSO["thumbprints"]["sha256"] in row["remedy"]
    assert "MEBx" in row["remedy"]
    assert "hello" in row["remedy"]
    assert "WS-MAN credentials" in row["remedy"]


def test_default_with_no_version_warns():
    row = trust_check({"name": "pc-6"}, GODADDY, default_trusted(None), "default")
    assert row["status"] == "warn"
    assert "AMT (version unknown)" in row["evidence"]


def test_unknown_warns_with_the_reason():
    row = trust_check({"name": "pc-8", "uuid": UUID_A}, GODADDY, None, "no hello recorded for this UUID")
    assert row["id"] == "amt.trust.pc-8"
    assert row["status"] == "warn"
    assert "unknown: no hello recorded for this UUID" in row["evidence"]
    assert "hello to the service point" in row["remedy"]
    assert "WS-MAN credentials" in row["remedy"]


def test_check_rejects():
    with pytest.raises(ValueError, match="give a name, a uuid or an address"):
        trust_check({}, GODADDY, [], "hello")
    with pytest.raises(ValueError, match="source must be one of hello, wsman, default"):
        trust_check({"name": "pc-1"}, GODADDY, [], "guessed")
    with pytest.raises(ValueError, match="at least one of thumbprints"):
        trust_check({"name": "pc-1"}, {"subject": "CN=x", "thumbprints": {}}, [], "hello")
    with pytest.raises(ValueError, match="a SHA-1 hash is 40 hex digits"):
        trust_check({"name": "pc-1"}, {"subject": "CN=x", "thumbprints": {"sha1": "abcd"}}, [], "hello")
    with pytest.raises(ValueError, match="device pc-1: hash 1: no hex"):
        trust_check({"name": "pc-1"}, GODADDY, [{"type": 1}], "hello")


def test_summary():
    rows = [
        trust_check({"name": "a"}, GODADDY, [{"type": 1, "hex": GODADDY_SHA1}], "hello"),
        trust_check({"name": "b"}, CONTOSO, [{"type": 1, "hex": GODADDY_SHA1}], "hello"),
        trust_check({"name": "c"}, CONTOSO, None, "no hello"),
        trust_check({"name": "d"}, CONTOSO, None, "no hello"),
    ]
    assert trust_summary(rows) == {"total": 4, "pass": 1, "fail": 1, "warn": 2, "skip": 0}
    assert trust_summary([]) == {"total": 0, "pass": 0, "fail": 0, "warn": 0, "skip": 0}
