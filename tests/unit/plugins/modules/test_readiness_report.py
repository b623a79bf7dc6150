"""readiness_report's main(): the four files of a run under dest/<stamp>/, the ``latest`` link, check mode, pruning
and the failures (bad rows, an unwritable dest)."""

from __future__ import annotations

import json
import os
import re
from xml.etree import ElementTree as ET

import readiness_report

CHECKS = [
    {"id": "pki.ca", "row": "enterprise_ca", "status": "pass", "evidence": "CA found", "remedy": ""},
    {"id": "dns.wins", "row": "dns_not_wins", "status": "warn", "evidence": "WINS set", "remedy": "drop WINS"},
    {"id": "amt.1", "row": "amt_supported_version", "status": "fail", "evidence": "AMT 1.0", "remedy": "upgrade"},
]
FILES = {"readiness.json", "readiness.junit.xml", "readiness.html", "summary.txt"}
STAMP = re.compile(r"^\d{8}T\d{6}Z$")


def args(dest, **extra):
    return dict({"checks": CHECKS, "environment": "lab", "dest": str(dest)}, **extra)


def test_a_run_writes_four_files_and_points_latest_at_them(run_module, tmp_path):
    dest = tmp_path / "reports" / "lab"
    status, res = run_module(readiness_report.main, args(dest, notes={"winrm": "no Windows host"}))
    assert status == "exit", res
    assert res["changed"] is False
    runs = [p for p in dest.iterdir() if p.name != "latest"]
    assert len(runs) == 1 and STAMP.match(runs[0].name)
    run_dir = runs[0]
    assert res["report_dir"] == str(run_dir)
    assert {p.name for p in run_dir.iterdir()} == FILES
    assert res["files"] == {
        "json": str(run_dir / "readiness.json"),
        "junit": str(run_dir / "readiness.junit.xml"),
        "html": str(run_dir / "readiness.html"),
        "summary": str(run_dir / "summary.txt"),
    }
    assert (dest / "latest").is_symlink() and os.readlink(dest / "latest") == run_dir.name
    assert (dest / "latest" / "readiness.json").read_text() == (run_dir / "readiness.json").read_text()
    doc = json.loads((run_dir / "readiness.json").read_text())
    assert len(doc["requirements"]) == 22 and doc["overall"] == "fail" == res["overall"]
    assert doc["environment"] == "lab" and doc["check_mode"] is False
    assert doc["totals"] == res["totals"] == {"pass": 1, "partial": 0, "warn": 1, "fail": 1, "skip": 19, "total": 22}
    winrm = next(r for r in doc["requirements"] if r["id"] == "winrm")
    assert winrm["status"] == "skip" and winrm["evidence"] == ["no Windows host"]
    assert res["failed_requirements"] == ["amt_supported_version"]
    assert len(ET.parse(run_dir / "readiness.junit.xml").getroot().findall("testcase")) == 22
    assert (run_dir / "readiness.html").read_text().count('class="requirement"') == 22
    summary = (run_dir / "summary.txt").read_text().splitlines()
    assert summary == res["summary_lines"] and summary[-1] == f"Report: {run_dir / 'readiness.html'}"
    assert not [p for p in dest.iterdir() if p.name.startswith(".")], "temporary files were left behind"
    assert oct((run_dir / "readiness.json").stat().st_mode & 0o777) == "0o644"


def test_check_mode_writes_nothing_but_returns_the_results(run_module, tmp_path):
    dest = tmp_path / "reports" / "lab"
    status, res = run_module(readiness_report.main, args(dest, _ansible_check_mode=True))
    assert status == "exit", res
    assert not dest.exists() and list(tmp_path.iterdir()) == []
    assert res["changed"] is False and res["overall"] == "fail" and len(res["requirements"]) == 22
    assert res["pruned"] == [] and res["report_dir"].startswith(str(dest))
    assert res["summary_lines"][0].startswith("Readiness of lab: FAIL")


def test_check_mode_leaves_an_existing_dest_alone(run_module, tmp_path):
    old = tmp_path / "20200101T000000Z"
    old.mkdir()
    status, res = run_module(readiness_report.main, args(tmp_path, keep=1, _ansible_check_mode=True))
    assert status == "exit", res
    assert [p.name for p in tmp_path.iterdir()] == ["20200101T000000Z"] and res["pruned"] == []


def test_keep_prunes_the_oldest_run_folders_only(run_module, tmp_path):
    old = ["20200101T000000Z", "20200102T000000Z", "20200103T000000Z"]
    for name in old:
        (tmp_path / name).mkdir()
        (tmp_path / name / "readiness.json").write_text("{}")
    (tmp_path / "notes").mkdir()  # not a run folder
    (tmp_path / "20200104T000000Z.txt").write_text("x")  # not a folder
    status, res = run_module(readiness_report.main, args(tmp_path, keep=2))
    assert status == "exit", res
    new = os.path.basename(res["report_dir"])
    assert res["pruned"] == old[:2]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["20200103T000000Z", new, "latest", "notes", "20200104T000000Z.txt"]
    )
    assert os.readlink(tmp_path / "latest") == new


def test_keep_zero_keeps_everything(run_module, tmp_path):
    for name in ("20200101T000000Z", "20200102T000000Z"):
        (tmp_path / name).mkdir()
    status, res = run_module(readiness_report.main, args(tmp_path, keep=0))
    assert status == "exit", res
    assert res["pruned"] == [] and (tmp_path / "20200101T000000Z").is_dir()


def test_a_negative_keep_fails_clearly(run_module, tmp_path):
    status, res = run_module(readiness_report.main, args(tmp_path / "r", keep=-1))
    assert status == "fail" and res["error"] == "input" and "keep must be" in res["msg"]
    assert not (tmp_path / "r").exists()


def test_a_row_no_requirement_has_fails_clearly_and_writes_nothing(run_module, tmp_path):
    dest = tmp_path / "reports"
    bad = [*CHECKS, {"id": "x.typo", "row": "dns_name_resolutoin", "status": "pass", "evidence": "", "remedy": ""}]
    status, res = run_module(readiness_report.main, args(dest, checks=bad))
    assert status == "fail"
    assert res["error"] == "input"
    assert "'x.typo'" in res["msg"] and "'dns_name_resolutoin'" in res["msg"] and "no requirement" in res["msg"]
    assert "Traceback" not in json.dumps(res) and "exception" not in res
    assert not dest.exists()


def test_a_row_without_evidence_fails_clearly(run_module, tmp_path):
    bad = [{"id": "x.y", "row": "winrm", "status": "fail"}]
    status, res = run_module(readiness_report.main, args(tmp_path / "r", checks=bad))
    assert status == "fail" and res["error"] == "input" and "evidence" in res["msg"]
    assert not (tmp_path / "r").exists()


def test_a_bad_status_fails_clearly(run_module, tmp_path):
    bad = [{"id": "x.y", "row": "winrm", "status": "green", "evidence": "", "remedy": ""}]
    status, res = run_module(readiness_report.main, args(tmp_path / "r", checks=bad))
    assert status == "fail" and res["error"] == "input" and "status must be one of" in res["msg"]
    assert not (tmp_path / "r").exists()


def test_an_unwritable_dest_is_a_write_failure(run_module, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    status, res = run_module(readiness_report.main, args(blocker / "reports"))
    assert status == "fail", res
    assert res["error"] == "write"
    assert res["msg"].startswith(f"cannot write the report under {blocker / 'reports'}")
    assert "Traceback" not in json.dumps(res)
    assert blocker.read_text() == "not a folder"


def test_required_options(run_module, tmp_path):
    status, res = run_module(readiness_report.main, {"checks": [], "dest": str(tmp_path)})
    assert status == "fail" and "environment" in res["msg"]
