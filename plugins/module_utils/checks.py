# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness check row every read-only module returns, and the main() every oob-prep module shares.

A check is ``{id, row, status, evidence, remedy}``: a stable id, the seed row it belongs to, ``pass``/``fail``/
``warn``/``skip``, what was read and from where, and what fixes it (empty when it passed). No I/O here.
"""

from __future__ import annotations

STATUSES = ("pass", "fail", "warn", "skip")


def check(cid: str, row: str, status: bool | str, evidence: str, remedy: str = "") -> dict:
    """One check row; ``status`` True/False is pass/fail."""
    status = status if isinstance(status, str) else ("pass" if status else "fail")
    if status not in STATUSES:
        raise ValueError(f"check {cid}: status must be one of {', '.join(STATUSES)}, not {status!r}")
    return {"id": cid, "row": row, "status": status, "evidence": evidence, "remedy": "" if status == "pass" else remedy}


def summary(checks: list[dict]) -> dict:
    """{checks, failed_checks, warned_checks}: what a read-only module returns about its rows."""
    return {
        "checks": checks,
        "failed_checks": [c for c in checks if c["status"] == "fail"],
        "warned_checks": [c for c in checks if c["status"] == "warn"],
    }


def failure(exc: Exception) -> dict:
    """{msg, error} for a failure a run raised: bad input (ValueError; a planner's refusal names its ``kind``) or one of
    the failures a module lists (each with a ``kind``). run_and_exit words every module's failures with it."""
    kind = getattr(exc, "kind", None)
    if isinstance(exc, ValueError):
        return {"msg": str(exc) if kind else f"invalid input: {exc}", "error": kind or "input"}
    return {"msg": str(exc), "error": kind or "error"}


def run_and_exit(module, run, errors: tuple = ()) -> None:
    """Run ``run(module)`` and exit with its result; bad input (ValueError) and the failures in ``errors`` (each with a
    ``kind``) end in fail_json with a clear message and ``error`` naming the kind, never a traceback."""
    try:
        result = run(module)
    except (ValueError, *errors) as exc:
        module.fail_json(**failure(exc))
    module.exit_json(**result)
