"""amt_provisioning_trust through its main(): a certificate made with the openssl CLI (not the project's code), a hello
record built by hand from the published layout, a discovered device with WS-MAN hashes and one known only by its AMT
version; check mode reads the same; bad input and an unreadable certificate end in a row or a clear failure, never a
traceback. The expected root thumbprint is openssl's."""

from __future__ import annotations

import json
import subprocess
import uuid

import amt_provisioning_trust
import pytest

AMT_OID = "2.16.840.1.113741.1.2.3"
TRUSTING, DISTRUSTING = "8c4d5e6f-0a1b-4c2d-9e3f-405162738495", "3f2a1b0c-5d6e-4f70-8a9b-c0d1e2f30415"


def openssl(*args, cwd):
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-days", "30",
            "-subj", "/CN=unit root", "-addext", "basicConstraints=critical,CA:TRUE", cwd=d)  # fmt: skip
    (d / "leaf.ext").write_text(f"extendedKeyUsage=serverAuth,{AMT_OID}\nbasicConstraints=critical,CA:FALSE\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj",
            "/CN=oobsp.corp.example.com", cwd=d)  # fmt: skip
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-out",
            "leaf.crt", "-days", "365", "-extfile", "leaf.ext", cwd=d)  # fmt: skip
    bundle = d / "bundle.pem"
    bundle.write_text((d / "leaf.crt").read_text() + (d / "root.pem").read_text() + (d / "leaf.key").read_text())
    sha256 = openssl("x509", "-in", "root.pem", "-noout", "-fingerprint", "-sha256", cwd=d)
    root_sha256 = sha256.strip().split("=", 1)[1].replace(":", "").lower()
    # the hellos, by hand from the published v3 layout: u16 admin, u16 version 3, u32 retries, UUID (bytes_le), count,
    # then type 2 (SHA-256), size 32, the hash
    other = "11" * 32

    def hello(device, hashes):
        data = (0).to_bytes(2, "little") + (3).to_bytes(2, "little") + (0).to_bytes(4, "little")
        data += uuid.UUID(device).bytes_le + bytes([len(hashes)])
        for h in hashes:
            data += bytes([2, 32]) + bytes.fromhex(h)
        hashes_json = [{"type": 2, "name": "sha256", "size": 32, "hex": h} for h in hashes]
        return {"peer": "203.0.113.150", "closed": 1.0, "data_hex": data.hex(),
                "hello": {"uuid": device, "hashes": hashes_json, "version": 3, "retry_count": 0,
                          "admin_credentials_set": False}}  # fmt: skip

    record = d / "hellos.jsonl"
    record.write_text(json.dumps(hello(TRUSTING, [other, root_sha256])) + "\n"
                      + json.dumps(hello(DISTRUSTING, [other])) + "\n")  # fmt: skip
    return {"bundle": str(bundle), "record": str(record), "root_sha256": root_sha256, "dir": d}


def args(pki, **more):
    suffixes = [{"suffix": "corp.example.com", "source": "option 015 of 10.20.0.0/16"}]
    return {"certificate": {"file": pki["bundle"]}, "hello_record": pki["record"], "amt_suffixes": suffixes, **more}


def statuses(result):
    return {c["id"]: c["status"] for c in result["checks"]}


@pytest.mark.parametrize("check_mode", [False, True])
def test_the_certificate_passes_and_each_device_gets_its_verdict(run_module, pki, check_mode):
    extra = {"_ansible_check_mode": True} if check_mode else {}
    status, result = run_module(amt_provisioning_trust.main, {**args(pki), **extra})
    assert status == "exit" and result["changed"] is False, result
    got = statuses(result)
    for what in ("eku", "validity", "chain", "ca_key_length", "suffix.corp.example.com", "private_key"):
        assert got[f"pki.provisioning.{what}"] == "pass", (what, result["checks"])
    assert got[f"amt.trust.{TRUSTING}"] == "pass" and got[f"amt.trust.{DISTRUSTING}"] == "fail"
    assert result["root"]["thumbprints"]["sha256"] == pki["root_sha256"]
    bad = next(c for c in result["checks"] if c["id"] == f"amt.trust.{DISTRUSTING}")
    assert pki["root_sha256"] in bad["remedy"] and "MEBx" in bad["remedy"]
    suffix = next(c for c in result["checks"] if c["id"] == "pki.provisioning.suffix.corp.example.com")
    assert "option 015 of 10.20.0.0/16" in suffix["evidence"]
    assert [d["source"] for d in result["devices"]] == ["hello", "hello"]
    assert result["trust_summary"]["pass"] == 1 and result["trust_summary"]["fail"] == 1


def test_discovered_devices_use_wsman_hashes_or_the_published_defaults(run_module, pki):
    devices = [
        {"address": "10.20.0.5", "hostname": "amt5", "version": "11.8.50",
         "certificate_hashes": [{"name": "lab", "type": "sha256", "hex": pki["root_sha256"], "enabled": True}]},
        {"address": "10.20.0.6", "hostname": "amt6", "version": "11.8.50",
         "certificate_hashes": [{"name": "off", "type": "sha256", "hex": pki["root_sha256"], "enabled": False},
                                {"name": "md5", "type": "md5", "hex": "00" * 16, "enabled": True}]},
        {"address": "10.20.0.7", "hostname": "amt7", "version": "11.8.50"},
        {"address": "10.20.0.8", "hostname": "amt8"},
    ]  # fmt: skip
    status, result = run_module(amt_provisioning_trust.main, args(pki, hello_record=None, devices=devices))
    assert status == "exit", result
    got = statuses(result)
    # amt5 trusts it (read over WS-MAN); amt6's only copy is disabled, so it does not; amt7: only the published
    # defaults, which cannot hold a private root (a warning, never a pass); amt8: no version, nothing known
    assert (got["amt.trust.amt5"], got["amt.trust.amt6"], got["amt.trust.amt7"], got["amt.trust.amt8"]) == (
        "pass", "fail", "warn", "warn")  # fmt: skip
    assert {d["device"]: d["source"] for d in result["devices"]} == {
        "amt5": "wsman", "amt6": "wsman", "amt7": "default", "amt8": "unknown"}  # fmt: skip


def test_an_unreadable_certificate_is_a_failed_row_and_the_devices_are_skipped(run_module, pki, tmp_path):
    status, result = run_module(amt_provisioning_trust.main, args(pki, certificate={"file": str(tmp_path / "none")}))
    assert status == "exit", result
    got = statuses(result)
    assert got["pki.provisioning.read"] == "fail" and got[f"amt.trust.{TRUSTING}"] == "skip"
    status, result = run_module(amt_provisioning_trust.main, args(pki, certificate={"store_output": "not json"}))
    assert status == "exit" and statuses(result)["pki.provisioning.read"] == "fail", result
    status, result = run_module(amt_provisioning_trust.main, args(pki, certificate={"store_error": "x",
                                                                                    "store_output": ""}))  # fmt: skip
    assert status == "exit" and "x" in result["failed_checks"][0]["evidence"]


def test_bad_input_fails_clearly(run_module, pki):
    status, result = run_module(amt_provisioning_trust.main, args(pki, certificate={}))
    assert status == "fail" and "file" in result["msg"] and "store_output" in result["msg"]
    status, result = run_module(amt_provisioning_trust.main, args(pki, expiry_warn_days=-1))
    assert status == "fail" and "expiry_warn_days" in result["msg"]
    password = "Pkcs12-Secret-9"
    missing = {"file": pki["bundle"] + ".missing", "password": password}
    status, result = run_module(amt_provisioning_trust.main, args(pki, certificate=missing))
    assert status == "exit" and password not in json.dumps(result)


def test_one_suffix_row_per_scope_whose_id_stays_when_the_suffix_drifts(run_module, pki):
    suffixes = [{"suffix": "corp.example.com", "scope": "10.20.0.0/16", "source": "option 015 of 10.20.0.0/16"},
                {"suffix": "drifted.example", "scope": "10.30.0.0/16"},
                {"suffix": "corp.example.com", "scope": "10.40.0.0/16"}]  # fmt: skip
    status, result = run_module(amt_provisioning_trust.main, args(pki, amt_suffixes=suffixes, hello_record=None))
    assert status == "exit", result
    rows = [c for c in result["checks"] if c["id"].startswith("pki.provisioning.suffix")]
    assert [(c["id"], c["status"]) for c in rows] == [
        ("pki.provisioning.suffix.10.20.0.0/16", "pass"),
        ("pki.provisioning.suffix.10.30.0.0/16", "fail"),
        ("pki.provisioning.suffix.10.40.0.0/16", "pass"),
    ]
    assert "drifted.example" in rows[1]["evidence"] and "option 015 of 10.20.0.0/16" in rows[0]["evidence"]
