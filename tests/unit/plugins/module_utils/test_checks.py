"""The shared check row and main() wrapper."""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.checks import check, run_and_exit, summary


def test_rows_and_summary():
    rows = [check("a", "r", True, "ok", "fix"), check("b", "r", False, "bad", "fix"), check("c", "r", "warn", "hm")]
    assert rows[0] == {"id": "a", "row": "r", "status": "pass", "evidence": "ok", "remedy": ""}  # no remedy on pass
    assert [r["status"] for r in rows] == ["pass", "fail", "warn"]
    result = summary(rows)
    assert [r["id"] for r in result["failed_checks"]] == ["b"] and [r["id"] for r in result["warned_checks"]] == ["c"]
    with pytest.raises(ValueError, match="status must be one of"):
        check("d", "r", "maybe", "")


class Kinded(Exception):
    kind = "timeout"


class Module:
    def __init__(self):
        self.ended = None

    def fail_json(self, **kwargs):
        self.ended = ("fail", kwargs)
        raise SystemExit

    def exit_json(self, **kwargs):
        self.ended = ("exit", kwargs)
        raise SystemExit


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ValueError("bad"), {"msg": "invalid input: bad", "error": "input"}),
        (Kinded("the DC did not answer"), {"msg": "the DC did not answer", "error": "timeout"}),
    ],
)
def test_failures_end_in_fail_json(raised, expected):
    def run(_module):
        raise raised

    module = Module()
    with pytest.raises(SystemExit):
        run_and_exit(module, run, (Kinded,))
    assert module.ended == ("fail", expected)
