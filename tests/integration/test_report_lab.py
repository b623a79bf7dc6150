"""The readiness report against the live lab: verify.yml writes it, headless Chromium renders it (a screenshot in
reports/, one DOM row per requirement with the JSON's statuses), the JUnit XML has one testcase per requirement, and
the forest row fails for a workgroup-style AMT computer whose computer object is gone (removed with raw LDAP)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from labutil import ROOT, ansible_playbook, ldaps

SEED = ROOT.parent / "shared" / "seeds" / "oob-management-dependencies.txt"
LATEST = ROOT / "reports" / "lab" / "latest"
SCREENSHOT = ROOT / "reports" / "readiness-lab.png"


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("headless Chromium is needed (Debian package chromium, scripts/apt-packages)")


def seed_requirements() -> int:
    """How many requirement texts of the seed the report must carry: counted in the seed itself, by the sentences
    that open each requirement (independent of the project's table)."""
    text = " ".join(SEED.read_text().split())
    openers = [
        "A Microsoft enterprise certification authority (CA) with certificate templates",
        "The issuing certification authority must automatically approve",
        "AMT-based computers cannot support certification authority certificates with a key length",
        "The out of band service point and each desktop computer that will be managed",
        "Desktop computers with the following configuration",
        "You must create and configure with the correct security permissions an Active Directory container",
        "DHCP server with an active scope.",
        "DNS servers for name resolution.",
        "DNS might also be needed to resolve the host name of ProvisionServer",
        "ensure that the DHCP scope options include DNS servers (006) and Domain name (015)",
        "WINS cannot be used for resolving computer names",
        "The DNS host name of ProvisionServer can be automatically registered",
        "Windows Remote Management (WinRM) must be installed",
        "Windows Server 2003 Service Pack 2 or later is required",
        "MSXML 6.0 is required on computers that run the out of band management console.",
        "The Windows feature Telnet Client must be installed",
        "must belong to the same Active Directory forest as the out of band service point's forest",
        "- Workgroup computers.",
        "Intervening network devices such as routers and firewalls must allow",
        "IPv6 is not supported.",
        "Full IPsec environments are not supported.",
        "802.1X environments are not natively supported by Configuration Manager.",
    ]
    assert all(o in text for o in openers)
    return len(openers)


class Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "requirement" in (a.get("class") or "").split():
            self.rows.append({"id": a.get("data-id"), "status": a.get("data-status")})


@pytest.fixture(scope="module")
def report(lab):
    proc = ansible_playbook("playbooks/site.yml")
    assert proc.returncode == 0, proc.stdout[-5000:]
    doc = json.loads((LATEST / "readiness.json").read_text())
    return doc, proc.stdout


def test_verify_gives_one_result_per_requirement_of_the_seed(report):
    doc, stdout = report
    rows = doc["requirements"]
    assert len(rows) == seed_requirements()
    assert doc["environment"] == "lab" and doc["check_mode"] is False
    by_id = {r["id"]: r for r in rows}
    # the lab has no Windows host: the Windows-only requirements are skipped, saying why, never passed
    for rid in ("winrm", "server2003_sp2_kb942841", "console_msxml6", "console_telnet_client", "no_ipsec"):
        assert by_id[rid]["status"] == "skip" and "Windows" in by_id[rid]["evidence"][0], by_id[rid]
    # the lab's simulated AMT 2.6.0 device is manageable only through Intel's translator
    assert by_id["amt_supported_version"]["status"] == "warn"
    # the setup-mode device has a DHCP address and no computer object yet: its workgroup check cannot be made, so
    # no_workgroup_computers passed with skips (never a plain pass), naming the check that did not run
    workgroup = by_id["no_workgroup_computers"]
    assert workgroup["status"] == "partial", workgroup
    assert len(workgroup["not_checked"]) == 1 and workgroup["not_checked"][0].startswith("forest.amt.203.0.113.")
    # the same AMT 2.6.0 device cannot tell which roots it trusts (AMT_ProvisioningCertificateHash came with AMT
    # 3.0): its trust comes from the list an admin wrote from MEBx (the estate's hashes_file), and says so
    amt2 = [e for e in by_id["oob_certificates"]["evidence"] if "amt.trust.amt2:" in e]
    assert len(amt2) == 1 and amt2[0].startswith("PASS ") and "the device hash list the estate gives" in amt2[0], amt2
    # every other requirement is checked in the lab and passes
    others = {rid: r["status"] for rid, r in by_id.items()
              if r["status"] != "skip"
              and rid not in ("amt_supported_version", "no_workgroup_computers")}  # fmt: skip
    assert set(others.values()) == {"pass"}, others
    assert "Readiness of lab: WARN" in stdout and "readiness.html" in stdout


# the seed's port rows (../shared/seeds/oob-management-dependencies.txt, "The following ports are used by out of band
# management"): (from, to, protocol, port)
SEED_FLOWS = {
    ("amt", "service_point", "tcp", 9971),
    ("service_point", "amt", "tcp", 16992),
    ("service_point", "amt", "tcp", 16993),
    ("console", "amt", "tcp", 16993),
    ("console", "amt", "tcp", 16995),
}


def test_the_report_shows_the_port_matrix_it_was_verified_against(report):
    """The matrix the run rendered is in the report (JSON and page): every port of the seed, from and to the roles
    it names. (Before, the report read a key the render does not return, and the matrix was always empty.)"""
    doc, _ = report
    flows = {(f["source"], f["dest"], f["proto"], f["port"]) for f in doc["port_matrix"]}
    assert SEED_FLOWS <= flows, sorted(SEED_FLOWS - flows)
    page = (LATEST / "readiness.html").read_text()
    assert 'id="port-matrix"' in page and "not rendered in this run" not in page


def test_junit_has_one_testcase_per_requirement(report):
    doc, _ = report
    suite = ET.parse(LATEST / "readiness.junit.xml").getroot()
    cases = suite.findall("testcase")
    assert len(cases) == len(doc["requirements"]) == int(suite.get("tests"))
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert len(skipped) == doc["totals"]["skip"] == int(suite.get("skipped"))
    assert not [c for c in cases if c.find("failure") is not None]


def test_the_html_page_renders_in_headless_chromium(report, tmp_path):
    doc, _ = report
    page = (LATEST / "readiness.html").resolve().as_uri()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    common = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,2400"]  # fmt: skip
    shot = subprocess.run([*common, f"--screenshot={SCREENSHOT}", page], capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and SCREENSHOT.stat().st_size > 50_000, shot.stderr[-2000:]
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = Rows()
    parser.feed(dom.stdout)
    assert len(parser.rows) == seed_requirements()
    assert [(r["id"], r["status"]) for r in parser.rows] == [(r["id"], r["status"]) for r in doc["requirements"]]
    assert re.search(r'id="overall" class="overall warn"', dom.stdout)


def test_a_workgroup_amt_computer_fails_the_forest_row(report):
    """AMT2's computer object removed with raw LDAP: the AMT computer named amt2.lab.example is no domain member."""
    conn = ldaps()
    dn = "CN=AMT2,CN=Computers,DC=lab,DC=example"
    conn.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["*"])
    saved = {k: v for k, v in conn.response[0]["raw_attributes"].items()
             if k in ("objectClass", "sAMAccountName", "userAccountControl", "dNSHostName")}  # fmt: skip
    assert conn.delete(dn), conn.result
    try:
        proc = ansible_playbook("playbooks/verify.yml", "--tags", "area::amt,area::forest")
        assert proc.returncode != 0, proc.stdout[-3000:]
        doc = json.loads((LATEST / "readiness.json").read_text())
        row = next(r for r in doc["requirements"] if r["id"] == "no_workgroup_computers")
        assert row["status"] == "fail", row
        assert any("amt2.lab.example (203.0.113.12)" in e and "no computer object" in e for e in row["evidence"]), row
        assert "no_workgroup_computers" in proc.stdout
    finally:
        attrs = {k: [bytes(v) for v in vals] for k, vals in saved.items()}
        assert conn.add(dn, attributes=attrs), conn.result
        conn.unbind()
