"""The readiness rows of ad_container (its ``checks``, one per domain) and of AMT discovery (``device_checks``).

ad_container runs on the in-memory directory of fakedc (objects captured from the lab's DC). AMT versions are
classified here from the seed and the project's documented bounds, not by the module: ConfigMgr 2007 SP1 manages
AMT 3.2.1 and later natively; older firmware from 2.0 on only through Intel's WS-MAN Translator ("reduced
functionality", the seed's row 2); anything older is not supported; no version at all decides nothing.
"""

from __future__ import annotations

import ad_container
import amt_discovery
import pytest
from ansible_collections.oob.prep.plugins.module_utils.amt.wire import device_checks
from ansible_collections.oob.prep.plugins.module_utils.report.readiness import BY_ID
from test_ad_container import args
from test_amt_discovery import Fakes, _loopback_ok, amt_handler

CONTAINER = "OU=AMT Computers,DC=lab,DC=example"


@pytest.fixture()
def dc(monkeypatch):
    from fakedc import FakeDC

    directory = FakeDC()
    monkeypatch.setattr(ad_container, "connect", directory.connect)
    return directory


def only_check(res: dict) -> dict:
    [row] = res["checks"]
    assert set(row) == {"id", "row", "status", "evidence", "remedy"}
    assert row["id"] == "ad.container.lab.example" and row["row"] == "ad_container" and row["row"] in BY_ID
    return row


def test_a_missing_container_is_a_failed_row_in_check_mode(run_module, dc):
    status, res = run_module(ad_container.main, args(_ansible_check_mode=True))
    assert status == "exit", res
    row = only_check(res)
    assert row["status"] == "fail"
    assert row["evidence"] == f"{CONTAINER} does not exist in lab.example"
    assert "playbooks/ad.yml" in row["remedy"]
    assert res["failed_checks"] == [row] and res["warned_checks"] == []


def test_a_missing_parent_is_named_too(run_module, dc):
    status, res = run_module(ad_container.main, args(path=["Management", "AMT Computers"], create_parents=True,
                                                     _ansible_check_mode=True))  # fmt: skip
    assert status == "exit", res
    row = only_check(res)
    assert row["status"] == "fail"
    assert row["evidence"] == ("OU=AMT Computers,OU=Management,DC=lab,DC=example does not exist in lab.example "
                               "(nor OU=Management,DC=lab,DC=example)")  # fmt: skip


def test_a_run_that_creates_the_container_reports_the_state_before_the_change(run_module, dc):
    _s, check = run_module(ad_container.main, args(_ansible_check_mode=True))
    status, res = run_module(ad_container.main, args())
    assert status == "exit", res
    assert res["changed"] is True
    assert only_check(res) == only_check(check)


def test_a_converged_container_passes(run_module, dc):
    _s, first = run_module(ad_container.main, args())
    assert only_check(first)["status"] == "fail"  # it was read before the change: not there yet
    for extra in ({}, {"_ansible_check_mode": True}):
        status, res = run_module(ad_container.main, args(**extra))
        assert status == "exit" and res["changed"] is False, res
        row = only_check(res)
        assert row["status"] == "pass" and row["remedy"] == ""
        assert row["evidence"] == f"{CONTAINER} exists in lab.example with SCCM01$'s full_control ACEs"
        assert res["failed_checks"] == []


def test_a_missing_ace_is_a_failed_row_naming_the_sddl(run_module, dc):
    run_module(ad_container.main, args())  # the container with full control, without protection from deletion
    status, res = run_module(ad_container.main, args(protect_from_deletion=True, _ansible_check_mode=True))
    assert status == "exit" and res["changed"] is True, res
    row = only_check(res)
    assert row["status"] == "fail"
    # [MS-DTYP] 2.5.1.1: deny Delete-tree (DT) and Delete (SD) to Everyone (WD)
    assert "missing (D;;DTSD;;;WD)" in row["evidence"] and "full_control" in row["evidence"]
    assert row["remedy"]


def test_other_rights_than_wanted_name_both_aces(run_module, dc):
    _s, first = run_module(ad_container.main, args())
    sid = first["principal_sid"]
    status, res = run_module(ad_container.main, args(rights="least_privilege", _ansible_check_mode=True))
    assert status == "exit", res
    row = only_check(res)
    assert row["status"] == "fail" and "(least_privilege)" in row["evidence"]
    assert f"to remove (A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{sid})" in row["evidence"]
    assert "missing (" in row["evidence"]


def test_state_absent_is_a_skipped_row(run_module, dc):
    status, res = run_module(ad_container.main, args(state="absent", _ansible_check_mode=True))
    assert status == "exit", res
    assert only_check(res)["status"] == "skip"


# ------------------------------------------------------------------------------------------------------- AMT rows
def expected_status(version: str | None) -> str:
    """The seed's reasoning with the project's bounds: native from 3.2.1 (pass), the translator from 2.0 (warn: it
    works with reduced functionality), older ones fail, and no version decides nothing (skip)."""
    if not version:
        return "skip"
    parts = [int(p) for p in version.split(".")[:3]] + [0, 0]
    v = tuple(parts[:3])
    return "pass" if v >= (3, 2, 1) else "warn" if v >= (2, 0, 0) else "fail"


SUPPORT = {"pass": "native", "warn": "translator", "fail": "unsupported", "skip": "unknown"}
VERSIONS = ["3.2.1", "3.2.1.1", "4.0", "12.0.67", "3.2.0", "3.0.0", "2.6.3", "2.0", "1.0.0", "0.9", None]


@pytest.mark.parametrize("version", VERSIONS)
def test_device_checks_classify_as_the_seed_says(version):
    want = expected_status(version)
    device = {
        "address": "10.0.0.5",
        "fqdn": "pc5.lab.example",
        "amt": True,
        "version": version,
        "version_source": "header" if version else None,
        "support_class": SUPPORT[want],
        "error": None,
    }
    [row] = device_checks([device])
    assert row["status"] == want
    assert row["id"] == "amt.device.10.0.0.5.version" and row["row"] == "amt_supported_version"
    assert row["row"] in BY_ID
    assert "pc5.lab.example (10.0.0.5)" in row["evidence"]
    assert (row["remedy"] == "") == (want == "pass")
    if want == "warn":
        assert "translator" in row["evidence"].lower() and "go.microsoft.com/fwlink/?LinkId=108363" in row["remedy"]
    if want == "skip":
        assert "unknown" in row["evidence"] and "credentials" in row["remedy"]


def test_device_checks_warn_on_what_is_not_amt_and_name_the_error():
    """A device that answered on an AMT port is never left out of the report (issue 20): one that did not identify as
    AMT is a warning with the reason; an AMT device of unknown version a skip naming the error."""
    devices = [
        {"address": "10.0.0.6", "amt": False, "version": None, "support_class": "unknown", "ports": [16992],
         "error": "the Server header 'Apache/2.4.57 (Debian)' is not a form of Intel's firmware this module knows"},
        {"address": "10.0.0.7", "amt": True, "version": None, "support_class": None, "error": "digest refused"},
    ]  # fmt: skip
    first, second = device_checks(devices)
    assert first["id"] == "amt.device.10.0.0.6.version" and first["status"] == "warn"
    assert "answered on 16992" in first["evidence"] and "Apache/2.4.57" in first["evidence"]
    assert first["remedy"]
    assert second["id"] == "amt.device.10.0.0.7.version" and second["status"] == "skip"
    assert "digest refused" in second["evidence"] and second["evidence"].startswith("10.0.0.7:")
    assert device_checks([]) == []


def test_device_checks_fail_intel_standard_manageability():
    """ISM is not AMT: ConfigMgr 2007 SP1 out of band management supports Intel AMT only (seed; notes), so an ISM
    device fails whatever its version, with a reason and a remedy an administrator can act on."""
    device = {"address": "10.0.0.8", "amt": True, "version": "11.8.50", "version_source": "header",
              "support_class": "ism", "server": "Intel(R) Standard Manageability 11.8.50", "error": None}  # fmt: skip
    [row] = device_checks([device])
    assert row["status"] == "fail"
    assert "Standard Manageability 11.8.50" in row["evidence"] and "AMT" in row["evidence"]
    assert "vPro" in row["remedy"] and "out of band management" in row["remedy"]


BASE = "127.0.0."
HEADERS = {
    221: "Intel(R) Active Management Technology 3.2.1",
    222: "Intel(R) Active Management Technology 2.6.3",
    223: "Intel(R) Active Management Technology 1.0.0",
    224: "AMT",  # ME 11 and later: no version in the header, and no WS-MAN credentials given
    225: "Apache/2.4.57 (Debian)",  # answers on an AMT port but is not AMT: a warning, never absent
    226: "Intel(R) Standard Manageability 11.8.50",  # ISM (nmap-service-probes): not AMT, a failure
}


@pytest.fixture()
def amt_fakes(tmp_path):
    if not _loopback_ok():
        pytest.skip("127.0.0.x addresses cannot be bound here")
    f = Fakes(tmp_path)
    for n, header in HEADERS.items():
        f.add(f"{BASE}{n}", 16992, amt_handler(header))
    yield f
    f.close()


def test_amt_discovery_returns_the_rows(run_module, amt_fakes):
    targets = [f"{BASE}{n}" for n in HEADERS]
    status, res = run_module(amt_discovery.main, {"targets": targets, "timeout": 1})
    assert status == "exit", res
    rows = {c["id"]: c for c in res["checks"]}
    assert {k: v["status"] for k, v in rows.items()} == {
        f"amt.device.{BASE}221.version": expected_status("3.2.1"),
        f"amt.device.{BASE}222.version": expected_status("2.6.3"),
        f"amt.device.{BASE}223.version": expected_status("1.0.0"),
        f"amt.device.{BASE}224.version": expected_status(None),
        f"amt.device.{BASE}225.version": "warn",
        f"amt.device.{BASE}226.version": "fail",
    }
    assert {c["id"] for c in res["failed_checks"]} == {f"amt.device.{BASE}223.version", f"amt.device.{BASE}226.version"}
    assert {c["id"] for c in res["warned_checks"]} == {f"amt.device.{BASE}222.version", f"amt.device.{BASE}225.version"}
    assert all(c["row"] == "amt_supported_version" for c in res["checks"])
    assert res["changed"] is False
