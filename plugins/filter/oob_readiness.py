# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the readiness report's plays: a read that could not happen becomes failed rows, and a remediation
run's outcome (module_utils/report/readiness.remediation)."""

from __future__ import annotations

import re

from ansible_collections.oob.prep.plugins.module_utils.report.readiness import BY_ID, remediation  # noqa: E402


def _one(result: dict, rows: list, source: str) -> list[dict]:
    if not isinstance(result, dict) or result.get("skipped"):
        return []
    if "checks" in result and not result.get("failed") and not result.get("unreachable"):
        return list(result["checks"])
    item = result.get("item")
    where = source.format(**item) if isinstance(item, dict) else source
    msg = " ".join(str(result.get("msg") or "no answer and no message").split())
    what = "could not be reached" if result.get("unreachable") else "did not answer the read"
    slug = re.sub(r"[^a-z0-9]+", "-", where.lower()).strip("-")
    return [{"id": f"read.{slug}", "row": row, "status": "fail",
             "evidence": f"{where} {what}, so this was not checked: {msg}",
             "remedy": f"make {where} answer (see the message), then verify again"} for row in rows]  # fmt: skip


def read_rows(result, rows: list, source: str) -> list[dict]:
    """The check rows a read-only task registered; when the read could not happen (a module that failed, a host
    that could not be reached) one failed row per requirement in ``rows`` naming ``source`` and the reason. A loop's
    result gives the rows of every item (``source`` may name the item's keys: ``'the DHCP probe from {host}'``). A
    skipped task gives no rows (the report says why the requirement was not checked)."""
    unknown = [r for r in rows if r not in BY_ID]
    if unknown:
        raise ValueError(f"oob_read_rows: {', '.join(unknown)} is no requirement of the seed")
    if isinstance(result, dict) and isinstance(result.get("results"), list):
        return [row for item in result["results"] for row in _one(item, rows, source)]
    return _one(result, rows, source)


def job_results(started, collected) -> dict:
    """The registered result of probes started in the background (``async``, ``poll: 0``) as if they had run in
    place: each started job's result as ``async_status`` read it (``collected``) with the loop item it was started
    for; an item that never started (host unreachable, skipped, failed to start) keeps what the start registered; a
    job that had not finished when the wait gave up is a failed result saying so. Works for a loop's result and for
    a single task's."""
    if not isinstance(started, dict):
        return {"skipped": True}
    got = {}
    if isinstance(collected, dict):
        for r in collected.get("results", [collected]):
            job = r.get("ansible_job_id") if isinstance(r, dict) else None
            if job:
                got[job] = r

    def one(start: dict) -> dict:
        job = start.get("ansible_job_id") if isinstance(start, dict) else None
        if not job:
            return start
        done = got.get(job)
        if done is None:
            done = {"failed": True, "msg": "the probe started in the background was not waited for"}
        elif not done.get("finished") and not done.get("unreachable"):
            msg = done.get("msg") or "the probe started in the background did not finish before the wait gave up"
            done = {**done, "failed": True, "msg": msg}
        done = {k: v for k, v in done.items() if k not in ("item", "ansible_loop_var", "results_file")}
        if "item" in start:
            done["item"] = start["item"]
        return done

    if isinstance(started.get("results"), list):
        return {**{k: v for k, v in started.items() if k != "results"}, "results": [one(s) for s in started["results"]]}
    return one(started)


def remediate_outcome(before: list, after, check_mode: bool = False) -> dict:
    """report.readiness.remediation over the requirements of two readiness_report results (``after`` None or a
    skipped result: no second verify ran)."""
    after_rows = after.get("requirements") if isinstance(after, dict) and not after.get("skipped") else None
    return remediation(before, after_rows, bool(check_mode))


class FilterModule:
    def filters(self):
        return {"oob_read_rows": read_rows, "oob_remediate_outcome": remediate_outcome, "oob_job_results": job_results}
