# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness report of one run, made and written (:func:`make_report`): the work of the module
oob.prep.readiness_report, with its argument spec."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime, timezone

from ansible_collections.oob.prep.plugins.module_utils.report.html import to_html
from ansible_collections.oob.prep.plugins.module_utils.report.readiness import (
    document,
    results,
    summary_lines,
    to_json,
    to_junit,
)

NAMES = {"json": "readiness.json", "junit": "readiness.junit.xml", "html": "readiness.html", "summary": "summary.txt"}
STAMP = "%Y%m%dT%H%M%SZ"


class ReportError(Exception):
    kind = "write"


def argument_spec() -> dict:
    return dict(
        checks=dict(type="list", elements="dict", required=True),
        notes=dict(type="dict", default={}),
        environment=dict(type="str", required=True),
        dest=dict(type="path", required=True),
        keep=dict(type="int", default=30),
        run_check_mode=dict(type="bool", default=False),
        port_matrix=dict(type="list", elements="dict", default=[]),
        amt=dict(type="dict", default={}),
    )


def _write(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _prune(dest: str, keep: int) -> list[str]:
    if keep <= 0:
        return []
    runs = sorted(n for n in os.listdir(dest) if len(n) == len("20260101T000000Z") and n.endswith("Z")
                  and os.path.isdir(os.path.join(dest, n)))  # fmt: skip
    old = runs[:-keep]
    for name in old:
        shutil.rmtree(os.path.join(dest, name))
    return old


def write(dest: str, stamp: str, texts: dict, keep: int) -> tuple[str, list[str]]:
    """Write one run's files into dest/<stamp>/ and point dest/latest at it; returns (run folder, pruned)."""
    run_dir = os.path.join(dest, stamp)
    os.makedirs(run_dir, exist_ok=True)
    for kind, text in texts.items():
        _write(os.path.join(run_dir, NAMES[kind]), text)
    link, tmp = os.path.join(dest, "latest"), os.path.join(dest, f".latest-{os.getpid()}")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(stamp, tmp)
    os.replace(tmp, link)
    return run_dir, _prune(dest, keep)


def make_report(p: dict, check_mode: bool) -> dict:
    """The report of the checks in ``p`` (the options of argument_spec, validated); written unless ``check_mode``.
    Bad input raises ValueError, a folder that cannot be written ReportError."""
    if p["keep"] < 0:
        raise ValueError("keep must be 0 (keep all) or more")
    now = datetime.now(timezone.utc)  # noqa: UP017 - the module may run on Pythons older than 3.11
    rows = results(p["checks"], notes=p["notes"])
    meta = {"environment": p["environment"], "generated": now.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "check_mode": p["run_check_mode"]}  # fmt: skip
    doc = document(rows, meta, p["port_matrix"], p["amt"])
    run_dir = os.path.join(p["dest"], now.strftime(STAMP))
    lines = summary_lines(doc, os.path.join(run_dir, NAMES["html"]))
    texts = {"json": to_json(doc), "junit": to_junit(doc), "html": to_html(doc), "summary": "\n".join(lines) + "\n"}
    pruned = []
    if not check_mode:
        try:
            run_dir, pruned = write(p["dest"], now.strftime(STAMP), texts, p["keep"])
        except OSError as exc:
            raise ReportError(f"cannot write the report under {p['dest']}: {exc.strerror or exc}") from None
    return {
        "changed": False,  # the report is this run's output on the controller, not a change to the estate
        "overall": doc["overall"],
        "totals": doc["totals"],
        "requirements": rows,
        "failed_requirements": [r["id"] for r in rows if r["status"] == "fail"],
        "summary_lines": lines,
        "report_dir": run_dir,
        "files": {k: os.path.join(run_dir, n) for k, n in NAMES.items()},
        "pruned": pruned,
    }
