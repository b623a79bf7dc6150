"""bench/dns_noop.py against the lab's BIND server: one no-op run of each tool, the figures it reports, no litter."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from labutil import ROOT

BENCH = ROOT / "bench" / "dns_noop.py"
NSUPDATE = ROOT / "collections/ansible_collections/community/general/plugins/modules/nsupdate.py"


@pytest.fixture(scope="module")
def report(lab):
    if not shutil.which("tcpdump"):
        pytest.skip("tcpdump is not installed (Debian package tcpdump): the bench counts packets with it")
    if not NSUPDATE.exists():
        pytest.skip("community.general is not installed: run scripts/collections")
    proc = subprocess.run([sys.executable, str(BENCH), "--runs", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)


def test_no_op_runs_change_nothing_and_leave_nothing(report):
    assert report["any_noop_changed"] is False
    assert report["zone_serial_moved_during_noops"] == 0 or report["other_dns_packets_during_runs"] > 0
    assert report["record_removed"] is True
    assert report["capture"]["dropped_by_kernel"] == 0  # else the packet counts are short


@pytest.mark.parametrize("where", ["ansible_playbook", "module_alone"])
def test_dns_provision_record_no_op_is_one_udp_query(report, where):
    ours = report[where]["dns_provision_record"]
    assert ours["dns_operations"] == {"queries": 1, "updates": 0}
    assert ours["dns_requests_per_run"] == {"query": 1}  # what the server saw agrees with the module's count
    assert ours["packets_to_server_per_run"]["median"] == 1 and ours["tcp_connections_per_run"] == 0


def test_the_report_compares_both_tools(report):
    theirs = report["ansible_playbook"]["community.general.nsupdate"]
    assert theirs["dns_requests_per_run"] == {"update": 2, "query": 1}  # nsupdate tests for the record with UPDATEs
    ratios = report["ansible_playbook"]["ratio_nsupdate_to_ours"]
    assert ratios["packets_to_server"] == theirs["packets_to_server_per_run"]["median"]
    assert ratios["seconds_median"] > 0 and f"packets to the server {ratios['packets_to_server']}x" in report["note"]
