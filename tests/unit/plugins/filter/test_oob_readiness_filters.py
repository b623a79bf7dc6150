"""oob_read_rows and oob_remediate_outcome: a read that could not happen is a failed row naming what did not answer,
never a missing row; results shaped as Ansible registers them (failed_when false keeps msg; ignore_unreachable sets
unreachable; a loop registers results[] with each item)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "plugins" / "filter"))

from oob_readiness import read_rows, remediate_outcome  # noqa: E402

ROW = {"id": "dhcp.scope.1.active", "row": "dhcp_active_scope", "status": "pass", "evidence": "active", "remedy": ""}


def test_a_read_that_answered_gives_its_rows():
    assert read_rows({"changed": False, "checks": [ROW], "failed": False}, ["dhcp_active_scope"], "Kea") == [ROW]


def test_a_skipped_read_gives_no_rows():
    assert read_rows({"skipped": True, "skip_reason": "Conditional result was False"}, ["dhcp_active_scope"], "x") == []


def test_a_read_that_failed_fails_every_requirement_it_feeds_with_the_message():
    # failed_when: false turns "failed" off but keeps the module's message
    result = {"failed": False, "failed_when_result": False, "error": "api",
              "msg": "refused config-get: The server is likely to be offline"}  # fmt: skip
    rows = read_rows(result, ["dhcp_active_scope", "dhcp_options_006_015_ddns"], "the DHCP server (kea)")
    assert [(r["row"], r["status"]) for r in rows] == [("dhcp_active_scope", "fail"),
                                                       ("dhcp_options_006_015_ddns", "fail")]  # fmt: skip
    assert rows[0]["evidence"] == ("the DHCP server (kea) did not answer the read, so this was not checked: refused "
                                   "config-get: The server is likely to be offline")  # fmt: skip
    assert rows[0]["id"] == "read.the-dhcp-server-kea" and "make the DHCP server (kea) answer" in rows[0]["remedy"]


def test_an_unreachable_probe_host_in_a_loop_fails_its_rows_and_keeps_the_others():
    loop = {"results": [
        {"item": {"host": "oobp-amt1", "source": "amt"}, "checks": [dict(ROW, row="network_ports")]},
        {"item": {"host": "oobp-con", "source": "console"}, "unreachable": True,
         "msg": "Failed to connect to the host via oob_netns: no namespace oobp-con"},
    ]}  # fmt: skip
    rows = read_rows(loop, ["network_ports"], "the flow probe from {host} ({source})")
    assert [r["status"] for r in rows] == ["pass", "fail"]
    assert rows[1]["evidence"].startswith(
        "the flow probe from oobp-con (console) could not be reached, so this was not"
    )


def test_an_unknown_requirement_is_refused():
    with pytest.raises(ValueError, match="dhcp_scope is no requirement of the seed"):
        read_rows({"checks": []}, ["dhcp_scope"], "x")


def _req(rid: str, status: str, *checks: tuple[str, str]) -> dict:
    rows = [{"id": c, "row": rid, "status": s, "evidence": "", "remedy": ""} for c, s in checks]
    return {"id": rid, "status": status, "checks": rows}


def test_remediate_outcome_from_two_report_results():
    before = [_req("ad_container", "fail", ("ad.c", "fail"))]
    after = {"requirements": [_req("ad_container", "pass", ("ad.c", "pass"))]}
    assert remediate_outcome(before, after)["outcome"] == "drift_fixed"
    assert remediate_outcome(before, {"skipped": True})["outcome"] == "drift_not_fixed"  # no second verify ran
    assert remediate_outcome(before, None, True)["outcome"] == "drift_not_fixed"
