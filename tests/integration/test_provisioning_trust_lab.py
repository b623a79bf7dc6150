"""Provisioning trust in the lab (issue 23): will an AMT device accept the service point's provisioning certificate?

The lab's service point stand-in holds a provisioning certificate under a lab root (Server Authentication + the AMT
OID); one setup-mode device's hello carries the firmware's default SHA-256 hashes and the lab root's (added as an
admin does in MEBx), the other's only the defaults. The stand-in answers the first and not the second, as ConfigMgr
does. Certificates are swapped for others made here with the openssl CLI (not the project's code), option 015 is
changed on Kea through its own socket, and a template's schema version through raw LDAP; each makes the right check
fail. Expected thumbprints come from openssl and hashlib over the files, never from the module.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time

import pytest
from labutil import ROOT, ansible_module, ansible_playbook, kea, labconfig, ldaps

SUFFIX = labconfig.FORESTS["lab"]["dns"]
TRUSTED, UNTRUSTED = labconfig.AMT_SETUP, labconfig.AMT_SETUP_UNTRUSTED
AMT_OID = "2.16.840.1.113741.1.2.3"


def openssl(*args: str, cwd=None) -> str:
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def fingerprint(pem_file, digest: str) -> str:
    out = openssl("x509", "-in", str(pem_file), "-noout", "-fingerprint", f"-{digest}")
    return out.strip().split("=", 1)[1].replace(":", "").lower()


def recorded_answers() -> dict[str, dict]:
    """uuid -> the stand-in's latest answer to that device's hello (read from its record, not through the module)."""
    answers = {}
    if labconfig.SP_RECORD.exists():
        for line in labconfig.SP_RECORD.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("hello") and rec.get("answer"):
                answers[rec["hello"]["uuid"]] = rec["answer"]
    return answers


def _lab(verb: str, name: str) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "lab/lab.py"), verb, name], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def forget(device_uuid: str) -> None:
    """The service point forgets a device: its hellos leave the record (the lab is ready again without it)."""
    lines = labconfig.SP_RECORD.read_text().splitlines(keepends=True) if labconfig.SP_RECORD.exists() else []
    kept = [line for line in lines if (json.loads(line).get("hello") or {}).get("uuid") != device_uuid]
    labconfig.SP_RECORD.write_text("".join(kept))


@pytest.fixture(scope="module")
def hellos(lab):
    """Both setup-mode devices have sent their hello (they need 006/015 and ProvisionServer: converge those first).
    The untrusted one runs on demand (the lab is otherwise ready): started here, stopped and forgotten after."""
    for playbook in ("playbooks/dhcp.yml", "playbooks/dns.yml", "playbooks/network.yml"):
        proc = ansible_playbook(playbook)
        assert proc.returncode == 0, proc.stdout[-3000:]
    if TRUSTED["uuid"] not in recorded_answers():
        # a fresh schedule, as test_amt_lab does: a device whose hellos failed while the lab was not converged
        # retries on ConfigMgr's schedule (hourly after the first hour: 36 s in the lab); it has 006/015 and
        # ProvisionServer now
        _lab("restart", "amt-setup")
    _lab("start", "amt-setup-untrusted")
    try:
        deadline, answers = time.monotonic() + 90, {}
        while time.monotonic() < deadline:
            answers = recorded_answers()
            if TRUSTED["uuid"] in answers and UNTRUSTED["uuid"] in answers:
                break
            time.sleep(1)
        else:
            pytest.fail(f"no hello from both setup-mode devices within 90 s: {answers}")
        yield answers
    finally:
        _lab("stop", "amt-setup-untrusted")
        forget(UNTRUSTED["uuid"])


def trust(**overrides) -> dict:
    args = {
        "certificate": {"file": str(labconfig.PROVISIONING_CERT)},
        "amt_suffixes": [{"suffix": SUFFIX, "source": "the test"}],
        "hello_record": str(labconfig.SP_RECORD),
        **overrides,
    }
    res = ansible_module("localhost", "amt_provisioning_trust", args)
    assert res.get("failed") is not True, res
    return res


def by_id(res: dict) -> dict:
    return {c["id"]: c for c in res["checks"]}


def test_the_service_point_answers_only_the_device_that_trusts_its_root(hellos):
    matched = {"type": "sha256", "hex": fingerprint(labconfig.PROVISIONING_ROOT, "sha256")}
    assert hellos[TRUSTED["uuid"]] == {"provision": True, "matched": matched}
    assert hellos[UNTRUSTED["uuid"]]["provision"] is False


def test_the_lab_certificate_passes_and_each_device_gets_its_verdict(hellos):
    res = trust()
    rows = by_id(res)
    for what in ("eku", "validity", "chain", "ca_key_length", f"suffix.{SUFFIX}", "private_key"):
        cid = f"pki.provisioning.{what}"
        assert rows[cid]["status"] == "pass", rows[cid]
    # the root's thumbprints, from openssl over the root's file
    root = labconfig.PROVISIONING_ROOT
    assert res["root"]["thumbprints"] == {d: fingerprint(root, d) for d in ("sha1", "sha256", "sha384")}
    good = next(r for r in res["checks"] if r["id"].startswith("amt.trust.") and TRUSTED["uuid"] in r["id"])
    bad = next(r for r in res["checks"] if r["id"].startswith("amt.trust.") and UNTRUSTED["uuid"] in r["id"])
    assert good["status"] == "pass" and "SHA-256" in good["evidence"], good
    assert bad["status"] == "fail", bad
    assert UNTRUSTED["uuid"] in bad["evidence"] and "MEBx" in bad["remedy"]
    assert fingerprint(root, "sha256") in bad["remedy"]


@pytest.fixture(scope="module")
def swapped(tmp_path_factory):
    """Provisioning certificates made with the openssl CLI under a root of their own: without the AMT OID, for
    another domain, expired; and a good one for the control."""
    d = tmp_path_factory.mktemp("swapped")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-days", "30",
            "-subj", "/CN=swap test root", "-addext", "basicConstraints=critical,CA:TRUE", cwd=d)  # fmt: skip

    def leaf(name: str, cn: str, eku: str, dates: tuple[str, str] | None = None):
        (d / f"{name}.ext").write_text(f"extendedKeyUsage={eku}\nbasicConstraints=critical,CA:FALSE\n"
                                       f"subjectAltName=DNS:{cn}\n")  # fmt: skip
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
                f"/CN={cn}", cwd=d)  # fmt: skip
        if dates:  # openssl 3.0's x509 has no -not_before: openssl ca sets dates in the past
            (d / "ca.cnf").write_text("[ca]\ndefault_ca = swap\n[swap]\ndatabase = index.txt\nnew_certs_dir = .\n"
                                      "serial = serial.txt\ndefault_md = sha256\npolicy = any\nunique_subject = no\n"
                                      "[any]\ncommonName = supplied\n[amt]\n"
                                      + (d / f"{name}.ext").read_text())  # fmt: skip
            (d / "index.txt").write_text("")
            (d / "serial.txt").write_text("1000\n")
            openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "root.pem", "-keyfile", "root.key", "-startdate",
                    dates[0], "-enddate", dates[1], "-extensions", "amt", "-notext", "-in", f"{name}.csr", "-out",
                    f"{name}.crt", cwd=d)  # fmt: skip
        else:
            openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
                    "-out", f"{name}.crt", "-days", "365", "-extfile", f"{name}.ext", cwd=d)  # fmt: skip
        bundle = d / f"{name}.pem"
        bundle.write_text((d / f"{name}.crt").read_text() + (d / "root.pem").read_text()
                          + (d / f"{name}.key").read_text())  # fmt: skip
        return bundle

    return {
        "good": leaf("good", f"oobsp.{SUFFIX}", f"serverAuth,{AMT_OID}"),
        "no_oid": leaf("no_oid", f"oobsp.{SUFFIX}", "serverAuth"),
        "other_suffix": leaf("other_suffix", "oobsp.elsewhere.example", f"serverAuth,{AMT_OID}"),
        "expired": leaf("expired", f"oobsp.{SUFFIX}", f"serverAuth,{AMT_OID}", ("20200101000000Z", "20210101000000Z")),
    }


@pytest.mark.parametrize(
    ("which", "failing"),
    [
        ("good", None),
        ("no_oid", "pki.provisioning.eku"),
        ("other_suffix", f"pki.provisioning.suffix.{SUFFIX}"),
        ("expired", "pki.provisioning.validity"),
    ],  # fmt: skip
)
def test_a_swapped_certificate_fails_exactly_the_right_check(lab, swapped, which, failing):
    res = trust(certificate={"file": str(swapped[which])}, hello_record=None)
    failed = sorted(c["id"] for c in res["failed_checks"] if c["id"].startswith("pki.provisioning."))
    assert failed == ([failing] if failing else []), res["failed_checks"]


def _set_option_15(value: str | None) -> None:
    config = kea("config-get")
    subnet = next(s for s in config["Dhcp4"]["subnet4"] if s["subnet"] == labconfig.AMT_NET)
    subnet["option-data"] = [o for o in subnet.get("option-data", []) if o.get("code") != 15]
    if value:
        subnet["option-data"].append({"code": 15, "name": "domain-name", "space": "dhcp4", "data": value})
    kea("config-set", config)


def report(*tags: str) -> dict:
    # a check run: the report is written and verify does not fail on the failed rows this test makes
    proc = ansible_playbook("playbooks/verify.yml", "--check", "--tags", ",".join(tags))
    assert proc.returncode == 0, proc.stdout[-3000:]
    doc = json.loads((ROOT / "reports/lab/latest/readiness.json").read_text())
    return {c["id"]: c for r in doc["requirements"] for c in r.get("checks", [])}, doc


def test_verify_reports_the_rows_and_option_015_changed_on_kea_fails_the_suffix(hellos):
    scope_row = f"pki.provisioning.suffix.{labconfig.AMT_NET}"  # one per AMT scope: its id stays when 015 drifts
    rows, doc = report("area::dhcp", "area::amt")
    assert rows[scope_row]["status"] == "pass"
    assert f"AMT DNS suffix {SUFFIX}" in rows[scope_row]["evidence"]
    assert "as the DHCP server offers it" in rows[scope_row]["evidence"]
    html = (ROOT / "reports/lab/latest/readiness.html").read_text()
    assert 'id="amt-trust"' in html and TRUSTED["uuid"] in html and "not trusted" in html
    _set_option_15("elsewhere.example")
    try:
        rows, _doc = report("area::dhcp", "area::amt")
        row = rows[scope_row]
        assert row["status"] == "fail" and "as the DHCP server offers it" in row["evidence"], row
        assert "elsewhere.example" in row["evidence"], row
    finally:
        proc = ansible_playbook("playbooks/dhcp.yml")
        assert proc.returncode == 0, proc.stdout[-3000:]


def test_a_provisioning_template_of_schema_version_3_is_reported_failed(lab):
    proc = ansible_playbook("playbooks/pki.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    name = "ConfigMgrAMTProvisioning"
    dn = f"CN={name},CN=Certificate Templates,CN=Public Key Services,CN=Services,CN=Configuration,DC=lab,DC=example"
    conn = ldaps()
    try:
        assert conn.modify(dn, {"msPKI-Template-Schema-Version": [("MODIFY_REPLACE", ["3"])]}), conn.result
        rows, _doc = report("area::pki")
        row = rows[f"pki.template.{name}.schema_version"]
        assert row["status"] == "fail" and "not compatible" in row["evidence"], row
    finally:
        conn.modify(dn, {"msPKI-Template-Schema-Version": [("MODIFY_REPLACE", ["2"])]})
        conn.unbind()
    rows, _doc = report("area::pki")
    assert rows[f"pki.template.{name}.schema_version"]["status"] == "pass"


def test_the_hashes_the_module_reads_are_the_ones_in_the_hello_bytes(hellos):
    """The module's view of the trusted device's hashes against the hello's raw bytes (decoded here with re)."""
    rec = [json.loads(line) for line in labconfig.SP_RECORD.read_text().splitlines()]
    raw = next(bytes.fromhex(r["data_hex"]) for r in reversed(rec) if r.get("hello")
               and r["hello"]["uuid"] == TRUSTED["uuid"])  # fmt: skip
    hashes = [raw[27 + 34 * i : 27 + 34 * i + 32].hex() for i in range(raw[24])]
    root_der = subprocess.run(["openssl", "x509", "-in", str(labconfig.PROVISIONING_ROOT), "-outform", "DER"],
                              capture_output=True, check=True).stdout  # fmt: skip
    assert hashlib.sha256(root_der).hexdigest() == hashes[-1]  # the admin-added one comes last
    assert re.fullmatch(r"[0-9a-f]{64}", hashes[0])
