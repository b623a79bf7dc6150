"""The lab's own contract: seeded like a real site, idempotent up, and a down that leaves nothing behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from labutil import ROOT, labconfig, ldaps

PKS = "CN=Public Key Services,CN=Services,CN=Configuration,DC=lab,DC=example"


def labcli(*args):
    return subprocess.run([sys.executable, str(ROOT / "lab" / "lab.py"), *args], capture_output=True, text=True)


def _named_pids() -> list[int]:
    """Live (not zombie) named processes started with the lab's named.conf."""
    conf = str(labconfig.BIND_DIR / "named.conf").encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if argv[0].endswith(b"named") and conf in argv and state != "Z":
            found.append(int(proc.name))
    return found


def test_seeded_pki_objects(lab):
    conn = ldaps()
    conn.search(f"CN={labconfig.CA_NAME},CN=Enrollment Services,{PKS}", "(objectClass=pKIEnrollmentService)",
                search_scope="BASE", attributes=["cACertificate", "dNSHostName", "certificateTemplates"])  # fmt: skip
    ca = conn.response[0]["raw_attributes"]
    cert = x509.load_der_x509_certificate(ca["cACertificate"][0])
    assert cert.public_key().key_size == 2048
    assert ca["dNSHostName"] == [labconfig.CA_HOST.encode()] and b"WebServer" in ca["certificateTemplates"]
    conn.search(f"CN=WebServer,CN=Certificate Templates,{PKS}", "(objectClass=pKICertificateTemplate)",
                search_scope="BASE", attributes=["pKIExpirationPeriod", "msPKI-Template-Schema-Version"])  # fmt: skip
    tpl = conn.response[0]["raw_attributes"]
    assert tpl["pKIExpirationPeriod"] == [bytes.fromhex("0080720e5dc2fdff")]  # 2 years
    assert tpl["msPKI-Template-Schema-Version"] == [b"1"]
    conn.search(f"CN=OID,{PKS}", "(objectClass=*)", search_scope="BASE", attributes=["msPKI-Cert-Template-OID"])
    assert conn.response[0]["attributes"]["msPKI-Cert-Template-OID"] == [labconfig.FOREST_OID]
    conn.unbind()


def test_up_is_idempotent_and_down_leaves_nothing(lab):
    assert "already up" in labcli("up").stdout
    state = json.loads(labconfig.STATE_FILE.read_text())
    pids = [p["pid"] for p in state["processes"].values()]
    assert state["processes"]["named"]["ns"] == labconfig.BIND["ns"]
    assert _named_pids(), "no named runs with the lab's named.conf"
    down = labcli("down")
    assert down.returncode == 0, down.stderr
    assert not [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                if n.startswith(labconfig.PREFIX + "-")]  # fmt: skip
    assert subprocess.run(["ip", "link", "show", labconfig.CONTROLLER_LINK], capture_output=True).returncode != 0
    assert subprocess.run(["ip", "netns", "pids", labconfig.BIND["ns"]], capture_output=True).returncode != 0
    assert not _named_pids(), "named still runs"
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                assert fh.read().rsplit(")", 1)[1].split()[0] == "Z", f"pid {pid} still runs"
        except FileNotFoundError:
            pass
    assert sorted(p.name for p in labconfig.STATE_DIR.iterdir()) == ["logs"]
    assert labcli("status").returncode == 3
    up = labcli("up")  # leave it up for the tests after this one
    assert up.returncode == 0, up.stderr
