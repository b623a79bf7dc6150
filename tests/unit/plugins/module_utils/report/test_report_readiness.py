"""The readiness registry and its documents, checked against the primary source: the seed's own table.

Expectations come from the seed file (parsed here, independently of the module's tables) and from the project's
own sources (plugins/, roles/, playbooks/), scanned here for the row keys their checks use.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from ansible_collections.oob.prep.plugins.module_utils.report.html import to_html
from ansible_collections.oob.prep.plugins.module_utils.report.readiness import (
    BY_ID,
    REQUIREMENTS,
    document,
    overall,
    remediation,
    results,
    summary_lines,
    to_json,
    to_junit,
    totals,
)

ROOT = Path(__file__).resolve().parents[5]
SEED = ROOT.parent / "shared" / "seeds" / "oob-management-dependencies.txt"

# The first sentence of each of the seed's 13 dependency cells, in the table's order.
ROW_OPENINGS = (
    "A Microsoft enterprise certification authority",
    "Desktop computers with the following configuration",
    "You must create and configure",
    "The following network services",
    "Windows Remote Management (WinRM) must be installed",
    "If the out of band service point site system role is installed on Windows Server 2003",
    "MSXML 6.0 is required",
    "The Windows feature Telnet Client",
    "Computers that will be managed out of band must belong",
    "Intervening network devices",
    "IPv6 is not supported",
    "Full IPsec environments are not supported",
    "802.1X environments are not natively supported",
)

# The ids are the contract between the modules' check rows, the playbooks' notes and the report: pinned here.
STABLE_IDS = (
    "enterprise_ca", "ca_auto_approval", "ca_key_length", "oob_certificates", "amt_supported_version",
    "ad_container", "dhcp_active_scope", "dns_name_resolution", "dns_provisionserver", "dhcp_options_006_015_ddns",
    "dns_not_wins", "dns_auto_registration", "winrm", "server2003_sp2_kb942841", "console_msxml6",
    "console_telnet_client", "same_forest_namespace", "no_workgroup_computers", "network_ports", "ipv4_only",
    "no_ipsec", "dot1x",
)  # fmt: skip


def norm(text: str) -> str:
    return " ".join(text.split())


def seed_text() -> str:
    if not SEED.is_file():
        pytest.skip(f"the seed is not at {SEED}")
    return SEED.read_text(encoding="utf-8")


def seed_rows() -> list[str]:
    """The table's dependency rows (whitespace-normalised). The file is a flattened table: the header ends at the
    first line that is just "|", a row's cells are separated by such a line, and two such lines in a row end one
    table row and start the next."""
    text = seed_text()
    lines = text.splitlines()
    body = lines[lines.index("|") + 1 :]
    rows, current, bars = [], [], 0
    for line in body:
        if line.strip() == "|":
            bars += 1
            if bars == 2:
                rows.append(current)
                current, bars = [], 0
            else:
                current.append(line)
            continue
        bars = 0
        current.append(line)
    if any(line.strip() not in ("", "|") for line in current):
        rows.append(current)
    return [norm(" ".join(r)) for r in rows]


def seed_requirement_count() -> int:
    """How many of the registry's texts the seed holds word for word (after whitespace normalisation)."""
    whole = norm(seed_text())
    return sum(1 for r in REQUIREMENTS if norm(r.text) in whole)


# ------------------------------------------------------------------------------------------------ the registry
def test_the_seed_has_thirteen_rows_in_the_expected_order():
    rows = seed_rows()
    assert len(rows) == 13
    for n, (row, opening) in enumerate(zip(rows, ROW_OPENINGS, strict=True), start=1):
        assert row.startswith(opening), f"seed row {n} starts {row[:60]!r}"


@pytest.mark.parametrize("req", REQUIREMENTS, ids=lambda r: r.id)
def test_each_requirement_is_the_seeds_words_in_its_own_row(req):
    whole, rows = norm(seed_text()), seed_rows()
    text = norm(req.text)
    assert text in whole, f"{req.id}: not a verbatim part of the seed"
    assert 1 <= req.section <= 13
    assert text in rows[req.section - 1], f"{req.id}: its words are not in seed row {req.section}"


@pytest.mark.parametrize(("position", "opening"), list(enumerate(ROW_OPENINGS, start=1)))
def test_every_seed_row_is_covered(position, opening):
    row = seed_rows()[position - 1]
    assert row.startswith(opening)
    covering = [r.id for r in REQUIREMENTS if r.section == position and norm(r.text) in row]
    assert covering, f"seed row {position} ({opening}...) has no requirement"


def test_the_first_sentence_of_every_row_is_a_requirement():
    """Each dependency cell's opening sentence is the requirement itself: it starts one requirement's text."""
    rows = seed_rows()
    for position, opening in enumerate(ROW_OPENINGS, start=1):
        starts = [r.id for r in REQUIREMENTS if r.section == position and norm(r.text).startswith(opening)]
        # row 4 opens with "The following network services:", a heading; its first bullet is the requirement
        if position == 4:
            starts = [r.id for r in REQUIREMENTS if r.section == 4 and rows[3].index(norm(r.text)) < 80]
        assert starts, f"no requirement starts seed row {position}"


def test_ids_are_unique_stable_snake_case_and_in_seed_order():
    ids = [r.id for r in REQUIREMENTS]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", i) for i in ids)
    assert tuple(ids) == STABLE_IDS
    assert set(BY_ID) == set(ids)
    sections = [r.section for r in REQUIREMENTS]
    assert sections == sorted(sections)
    whole = norm(seed_text())
    positions = [whole.index(norm(r.text)) for r in REQUIREMENTS]
    assert positions == sorted(positions), "REQUIREMENTS is not in the seed's order"


def test_every_requirement_has_an_owner_and_a_remedy():
    for r in REQUIREMENTS:
        assert r.owner and r.remedy and r.topic, r.id


def test_the_registry_holds_every_requirement_the_seed_text_gives():
    assert len(REQUIREMENTS) == seed_requirement_count() == 22


# ----------------------------------------------------------------------- the row keys the project's code uses
_YAML_ROW = re.compile(r"(?m)^[ \t-]*row:[ \t]*[\"']?([A-Za-z][A-Za-z0-9_.\-]*)[\"']?[ \t]*(?:#.*)?$")
_QUOTED_ROW = re.compile(r"[\"']row[\"']\s*:\s*[\"']([A-Za-z0-9_.\-]+)[\"']")


def _const(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _rows_in_python(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            fname = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if fname == "check" and len(node.args) >= 2 and _const(node.args[1]):  # check(<id>, "<row>", ...)
                found.add(_const(node.args[1]))
            for kw in node.keywords:
                if kw.arg == "row" and _const(kw.value):
                    found.add(_const(kw.value))
                if kw.arg == "row" and isinstance(kw.value, ast.Call):  # row=dict(type="str", default="...")
                    found.update(_const(k.value) for k in kw.value.keywords if k.arg == "default" and _const(k.value))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names = [target] if isinstance(target, ast.Name) else []
                values = [node.value]
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    names, values = list(target.elts), list(node.value.elts)
                for t, v in zip(names, values, strict=False):
                    if not isinstance(t, ast.Name):
                        continue
                    if (t.id == "row" or t.id.startswith("ROW_") or re.fullmatch(r"SEED_\w*ROW", t.id)) and _const(v):
                        found.add(_const(v))
                    if t.id == "ROWS" and isinstance(v, ast.Dict):
                        found.update(_const(x) for x in v.values if _const(x))
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if k is not None and _const(k) == "row" and _const(v):
                    found.add(_const(v))
    return found


def project_row_keys() -> dict[str, set[str]]:
    """{row key: files} for every row key found in plugins/, roles/ and playbooks/."""
    found: dict[str, set[str]] = {}
    for top in ("plugins", "roles", "playbooks"):
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix not in (".py", ".yml", ".yaml", ".j2"):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            keys = set(_QUOTED_ROW.findall(text))
            if path.suffix == ".py":
                keys |= _rows_in_python(ast.parse(text))
                for doc in re.findall(r'(?s)(?:DOCUMENTATION|RETURN|EXAMPLES) = r?"""(.*?)"""', text):
                    keys |= set(_YAML_ROW.findall(doc))
            else:
                keys |= set(_YAML_ROW.findall(text))
            for key in keys:
                found.setdefault(key, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_row_key_in_the_project_is_a_requirement():
    found = project_row_keys()
    assert len(found) >= 15, f"the scan found too few row keys to mean anything: {sorted(found)}"
    unknown = {k: sorted(v) for k, v in found.items() if k not in BY_ID}
    assert not unknown, f"row keys no requirement has: {unknown}"


def test_the_scan_sees_each_kind_of_source():
    """The scan must see the module checks, the ROW_ constants, the Windows filter's ROWS, the port matrix and the
    roles' YAML rows, or the test above could pass on a partial scan."""
    found = project_row_keys()
    assert "plugins/module_utils/ldap/forest.py" in found["no_workgroup_computers"]
    assert "plugins/filter/oob_windows.py" in found["console_telnet_client"]
    assert "plugins/module_utils/network/port_matrix.py" in found["network_ports"]
    assert any(f.startswith("roles/") for f in found["network_ports"])
    assert "plugins/module_utils/windows/checks.py" in found["no_ipsec"]
    assert "plugins/modules/ad_container.py" in found["ad_container"]
    assert "plugins/module_utils/amt/wire.py" in found["amt_supported_version"]


def test_the_report_roles_notes_name_requirements():
    text = (ROOT / "roles" / "oob_report" / "tasks" / "main.yml").read_text(encoding="utf-8")
    m = re.search(r"dict\(\[([^\]]*)\]", text)
    assert m, "the notes of roles/oob_report/tasks/main.yml moved: update this test"
    keys = re.findall(r"'([a-z0-9_]+)'", m.group(1))
    assert keys and all(k in BY_ID for k in keys), keys


# ------------------------------------------------------------------------------------------------------ results()
def row(cid, req, status, evidence="seen", remedy="fix it"):
    return {"id": cid, "row": req, "status": status, "evidence": evidence, "remedy": remedy if status != "pass" else ""}


def result(rows, req, **kwargs):
    return {r["id"]: r for r in results(rows, **kwargs)}[req]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["pass"], "pass"),
        (["pass", "skip"], "partial"),  # a skip is never a pass: passed with skips
        (["pass", "warn"], "warn"),
        (["warn", "skip"], "warn"),
        (["pass", "warn", "fail"], "fail"),
        (["fail", "skip"], "fail"),
        (["skip"], "skip"),
        (["skip", "skip"], "skip"),
    ],
)
def test_a_requirement_is_as_bad_as_its_worst_check(statuses, expected):
    checks = [row(f"c{i}", "dns_name_resolution", s) for i, s in enumerate(statuses)]
    r = result(checks, "dns_name_resolution")
    assert r["status"] == expected
    assert r["counts"] == {s: statuses.count(s) for s in ("pass", "fail", "warn", "skip")}
    assert r["checks"] == checks


def test_one_result_per_requirement_in_the_seeds_order():
    rows = results([])
    assert [r["id"] for r in rows] == [r.id for r in REQUIREMENTS]
    assert [r["requirement"] for r in rows] == [r.text for r in REQUIREMENTS]


def test_no_check_is_a_skip_with_the_generic_reason_or_the_note():
    generic = result([], "winrm")
    assert generic["status"] == "skip" and generic["remedy"] == ""
    assert generic["evidence"] == ["not checked in this run (its area was not selected, or the estate gives it nothing "
                                   "to check)"]  # fmt: skip
    noted = result([], "winrm", notes={"winrm": "no Windows host in the inventory"})
    assert noted["status"] == "skip" and noted["evidence"] == ["no Windows host in the inventory"]


def test_an_owner_that_does_not_exist_is_a_failure_whatever_the_checks_say():
    checks = [row("forest.sp", "same_forest_namespace", "pass")]
    implemented = tuple({r.owner for r in REQUIREMENTS} - {"oob_report"})
    r = result(checks, "same_forest_namespace", implemented=implemented)
    assert r["status"] == "fail"
    assert r["evidence"][0].startswith("not implemented")
    assert r["remedy"]
    assert result(checks, "same_forest_namespace", implemented=implemented + ("oob_report",))["status"] == "pass"
    assert result(checks, "no_workgroup_computers", implemented=implemented)["status"] == "fail"  # same owner
    assert result(checks, "winrm", implemented=implemented)["status"] == "skip"  # owned, just not checked


def test_a_row_no_requirement_has_is_an_error():
    with pytest.raises(ValueError, match="'no_such_row'"):
        results([row("x.y", "no_such_row", "pass")])
    with pytest.raises(ValueError, match="no requirement"):
        results([{"id": "x.y", "status": "pass", "evidence": "", "remedy": ""}])


@pytest.mark.parametrize("status", ["ok", "PASS", "", None, True])
def test_a_bad_status_is_an_error(status):
    with pytest.raises(ValueError, match="status must be one of"):
        results([row("x.y", "winrm", status)])


def test_evidence_puts_what_needs_a_person_first():
    checks = [
        row("a", "network_ports", "pass", "A ok"),
        row("b", "network_ports", "skip", "B unknown"),
        row("c", "network_ports", "fail", "C closed", "open C"),
        row("d", "network_ports", "warn", "D slow", ""),
    ]
    r = result(checks, "network_ports")
    assert r["evidence"] == ["FAIL c: C closed", "WARN d: D slow", "SKIP b: B unknown", "PASS a: A ok"]
    # the checks' remedies first (once each), then the requirement's own
    assert r["remedy"] == f"open C; fix it; {BY_ID['network_ports'].remedy}"


def test_a_pass_with_skipped_checks_is_partial_and_names_what_was_not_checked():
    checks = [row("a", "ipv4_only", "pass"), row("b", "ipv4_only", "skip", remedy="give credentials")]
    r = result(checks, "ipv4_only")
    assert r["status"] == "partial" and r["not_checked"] == ["b"]
    assert r["remedy"].startswith("check by hand what was not checked (b)") and "give credentials" in r["remedy"]
    assert r["evidence"] == ["SKIP b: seen", "PASS a: seen"]
    r = result([row("a", "ipv4_only", "pass")], "ipv4_only")
    assert r["status"] == "pass" and r["remedy"] == "" and r["not_checked"] == []


def test_totals_and_overall():
    rows = results([row("a", "winrm", "pass"), row("b", "dot1x", "warn")])
    t = totals(rows)
    assert t == {"pass": 1, "partial": 0, "warn": 1, "fail": 0, "skip": 20, "total": 22}
    assert overall(rows) == "warn"
    # PASS only when every requirement passed: skipped requirements make it "passed with skips", never a pass
    assert overall(results([row("a", "winrm", "pass")])) == "partial"
    every = [row(f"c{i}", req.id, "pass") for i, req in enumerate(REQUIREMENTS)]
    assert overall(results(every)) == "pass"
    assert overall(results([*every, row("x", "winrm", "skip")])) == "partial"
    assert overall(results(every[:-1])) == "partial"  # one requirement not checked at all
    assert overall(results([*every, row("y", "dot1x", "warn")])) == "warn"
    assert overall(results([row("a", "winrm", "fail"), row("b", "dot1x", "warn")])) == "fail"


# ----------------------------------------------------------------------------------------------------- documents
META = {"environment": "lab", "generated": "2026-01-01 00:00:00 UTC", "check_mode": False}


def mixed_doc(extra: list[dict] | None = None) -> dict:
    checks = [
        row("pki.ca", "enterprise_ca", "pass"),
        row("pki.key", "ca_key_length", "fail", "the CA key is 4096 bits", "renew"),
        row("dns.wins", "dns_not_wins", "warn", "WINS is configured"),
        row("amt.1", "amt_supported_version", "skip", "version unknown"),
    ]
    return document(results(checks + (extra or [])), META)


def test_document_and_json():
    import json

    doc = mixed_doc()
    assert doc["overall"] == "fail" and doc["environment"] == "lab"
    assert doc["totals"] == totals(doc["requirements"]) and doc["port_matrix"] == [] and doc["amt"] == {}
    assert json.loads(to_json(doc)) == doc


def test_junit_one_testcase_per_requirement():
    doc = mixed_doc()
    suite = ET.fromstring(to_junit(doc))
    cases = suite.findall("testcase")
    assert len(cases) == len(REQUIREMENTS) == seed_requirement_count()
    t = doc["totals"]
    assert suite.get("tests") == str(t["total"]) == "22"
    assert suite.get("failures") == str(t["fail"]) and suite.get("skipped") == str(t["skip"])
    assert suite.get("errors") == "0"
    assert len(suite.findall("testcase/failure")) == t["fail"] == 1
    assert len(suite.findall("testcase/skipped")) == t["skip"]
    by_id = {c.get("name").split(":", 1)[0]: c for c in cases}
    assert list(by_id) == [r.id for r in REQUIREMENTS]
    failure = by_id["ca_key_length"].find("failure")
    assert failure.get("message") == "FAIL pki.key: the CA key is 4096 bits" and "remedy: renew" in failure.text
    assert by_id["amt_supported_version"].find("skipped") is not None
    warn = by_id["dns_not_wins"]
    assert warn.find("failure") is None and warn.find("skipped") is None
    assert warn.find("properties/property[@name='status']").get("value") == "warn"
    assert "WINS is configured" in warn.find("system-out").text
    assert by_id["enterprise_ca"].find("failure") is None and by_id["enterprise_ca"].find("skipped") is None
    assert by_id["ca_key_length"].get("classname") == "readiness.01"


def test_junit_survives_control_characters_in_evidence():
    bad = "bytes from the device: \x00\x01\x07\x08\x0b\x0c\x1b\x1f end"
    doc = mixed_doc([row("amt.2", "ca_key_length", "fail", bad, "remedy \x1b")])
    suite = ET.fromstring(to_junit(doc))
    case = next(c for c in suite.findall("testcase") if c.get("name").startswith("ca_key_length:"))
    text = case.find("failure").text
    assert "bytes from the device:" in text and "end" in text
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text)


@pytest.mark.parametrize("char", ["\ufffe", "\uffff"])
def test_junit_survives_xml_noncharacters_in_evidence(char):
    doc = mixed_doc([row("amt.3", "ca_key_length", "fail", f"decoded badly: {char} end")])
    ET.fromstring(to_junit(doc))


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.requirements: list[dict] = []
        self.tags: list[str] = []
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "tr" and "requirement" in (a.get("class") or "").split():
            self.requirements.append(a)
        for name in ("src", "href"):
            if a.get(name):
                self.links.append((tag, name, a[name]))


def test_html_one_row_per_requirement_with_its_status():
    doc = mixed_doc()
    page = Page()
    page.feed(to_html(doc))
    assert len(page.requirements) == len(REQUIREMENTS) == seed_requirement_count()
    assert [(r["data-id"], r["data-status"]) for r in page.requirements] == [
        (r["id"], r["status"]) for r in doc["requirements"]
    ]
    assert {r["data-status"] for r in page.requirements} == {"pass", "fail", "warn", "skip"}


def test_html_escapes_evidence_and_is_self_contained():
    evil = "<script>alert(1)</script><img src=http://evil.example/x.png>"
    doc = mixed_doc([row("dns.x", "dns_name_resolution", "fail", evil, "<link href='https://x.example/a.css'>")])
    html = to_html(doc)
    page = Page()
    page.feed(html)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert not [x for x in page.links if re.match(r"(?i)\s*(https?:)?//", x[2])], page.links
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"(?i)<script|<link|<img", html)
    clean = to_html(mixed_doc())  # the page itself fetches nothing
    assert not re.search(r"(?i)<script|<link|\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", clean)


def test_html_shows_each_amt_devices_trust_verdict():
    doc = mixed_doc()
    doc["amt"] = {
        "devices": [{"address": "203.0.113.11", "hostname": "amt1", "version": "6.2.10", "support_class": "native",
                     "provisioning_state": "post"},
                    {"address": "203.0.113.12", "hostname": "amt2", "version": "2.6.0"}],
        "trust": [{"device": "amt1", "uuid": None, "address": "203.0.113.11", "source": "wsman", "status": "pass",
                   "evidence": "device amt1 trusts <root>"},
                  {"device": "8c4d5e6f", "uuid": "8c4d5e6f", "address": "203.0.113.150", "source": "hello",
                   "status": "fail", "evidence": "device 8c4d5e6f trusts 9 root hashes; none is the root's"}],
    }  # fmt: skip
    html = to_html(doc)
    rows = re.findall(r"<tr><td>(203\.0\.113\.1[12])</td>.*?</tr>", html, flags=re.S)
    assert rows == ["203.0.113.11", "203.0.113.12"]
    amt1 = re.search(r"<tr><td>203\.0\.113\.11</td>.*?</tr>", html, flags=re.S).group(0)
    amt2 = re.search(r"<tr><td>203\.0\.113\.12</td>.*?</tr>", html, flags=re.S).group(0)
    assert "trusted" in amt1 and "(wsman)" in amt1 and "not checked" in amt2
    table = html[html.index('id="amt-trust"') :]
    assert "not trusted" in table and "its hello to the service point" in table and "&lt;root&gt;" in html


# ---------------------------------------------------------------------------------------------------- summary
def test_summary_lines():
    long_evidence = "x" * 300
    doc = mixed_doc([row("dns.long", "dns_provisionserver", "fail", long_evidence)])
    lines = summary_lines(doc, "reports/lab/20260101T000000Z/readiness.html")
    t = doc["totals"]
    assert lines[0].startswith("Readiness of lab: FAIL")
    for s, word in (("pass", "pass"), ("partial", "passed with skips"), ("warn", "warn"), ("fail", "fail"),
                    ("skip", "not checked")):  # fmt: skip
        assert f"{t[s]} {word}" in lines[0]
    assert f"of {t['total']} requirements" in lines[0]
    assert len(lines) == 1 + len(REQUIREMENTS) + 1
    body = lines[1:-1]
    for req, line in zip(REQUIREMENTS, body, strict=True):
        assert f" {req.id}" in line and f"{req.section:>2} " in line
    assert lines[-1] == "Report: reports/lab/20260101T000000Z/readiness.html"
    assert all(len(line) <= 110 for line in lines), [line for line in lines if len(line) > 110]
    marks = {r["id"]: line.split()[0] for r, line in zip(doc["requirements"], body, strict=True)}
    assert marks["ca_key_length"] == "FAIL" and marks["dns_not_wins"] == "WARN" and marks["enterprise_ca"] == "ok"


def test_summary_without_a_path_has_no_report_line():
    lines = summary_lines(mixed_doc())
    assert len(lines) == 1 + len(REQUIREMENTS) and not lines[-1].startswith("Report:")


# ---------------------------------------------------------------------------------------------------- remediation
def _req(rid: str, *checks: tuple[str, str]) -> dict:
    """A requirement as results() returns it, with the given (check id, status) pairs (rows written out here)."""
    rows = [row(cid, rid, status) for cid, status in checks]
    return result(rows, rid)


def test_remediation_outcomes():
    before = [_req("ad_container", ("ad.c", "fail")), _req("dns_provisionserver", ("dns.p", "pass"))]
    fixed = [_req("ad_container", ("ad.c", "pass")), _req("dns_provisionserver", ("dns.p", "pass"))]
    assert remediation(before, fixed)["outcome"] == "drift_fixed"
    clean = results([row("ad.c", "ad_container", "pass")])  # an area run: every other requirement is skipped
    assert remediation(clean, None) == {
        "outcome": "no_drift",
        "drifted": [],
        "still_failing": [],
        "not_reached": [],
        "not_looked_at": [r.id for r in REQUIREMENTS if r.id != "ad_container"],
    }
    # still failing after the run
    out = remediation(before, [_req("ad_container", ("ad.c", "fail"))])
    assert (out["outcome"], out["still_failing"]) == ("drift_not_fixed", ["ad_container"])
    # not reached after: skipped (its area did not run again, a host was unreachable) is never "fixed"
    out = remediation(before, [_req("ad_container", ("ad.c", "skip"))])
    assert (out["outcome"], out["not_reached"]) == ("drift_not_fixed", ["ad_container"])
    # the check that failed did not run again, even though another check of the requirement passes
    out = remediation(before, [_req("ad_container", ("ad.other", "pass"))])
    assert (out["outcome"], out["not_reached"]) == ("drift_not_fixed", ["ad_container"])
    # a check run fixes nothing; no second verify fixes nothing
    assert remediation(before, fixed, check_mode=True)["outcome"] == "drift_not_fixed"
    assert remediation(before, None)["outcome"] == "drift_not_fixed"
