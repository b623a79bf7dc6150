"""The remediate job as AWX runs it, against the live lab: ansible-runner over a private data directory laid out as
AWX lays it (awxjob.py: project/ the checkout, inventory/hosts the lab inventory as an AWX sync stores it, the
template's extra variables in env/extravars, the vault credential as env/cmdline + env/passwords), then what AWX
shows: the job's artifacts (set_stats: the playbook_on_stats event's artifact_data) with oob_remediate and
oob_readiness and their keys, and the report written where the template's oob_reports.dir points (the folder AWX
exposes to jobs), not inside the discarded container."""

from __future__ import annotations

from pathlib import Path

from awxjob import ROOT, artifact_data, artifacts_dir, private_data_dir, run_job, synced_inventory

REMEDIATE_KEYS = {"outcome", "drifted", "still_failing", "not_reached", "not_looked_at", "check_mode", "report"}
READINESS_KEYS = {"environment", "overall", "totals", "failed", "report"}


def test_remediate_job_artifacts(lab, tmp_path: Path):
    reports = tmp_path / "mounted" / "lab"  # stands for AWX_ISOLATION_SHOW_PATHS' folder
    password = (ROOT / "inventories" / "lab" / "vault-password.txt").read_text().strip()
    pdd = private_data_dir(
        tmp_path / "job",
        ROOT,
        synced_inventory(ROOT / "inventories" / "lab" / "hosts.yml"),
        # the template's, and where the lab keeps its CAs (the synced inventory is not beside lab/)
        extravars={
            "oob_reports": {"environment": "lab", "dir": str(reports), "keep": 5},
            "lab_state_dir": str(ROOT / "lab" / ".state"),
        },
        vault_passwords={"lab": password},
        cmdline=("--diff",),  # the template's diff_mode
    )
    runner = run_job(pdd, "playbooks/remediate.yml", ident="remediate", timeout=1800)
    stdout = (artifacts_dir(pdd, "remediate") / "stdout").read_text()
    data = artifact_data(runner)
    assert "oob_remediate" in data, stdout[-4000:]
    assert set(data["oob_remediate"]) == REMEDIATE_KEYS
    assert data["oob_remediate"]["outcome"] in {"no_drift", "drift_fixed", "drift_not_fixed"}
    assert data["oob_remediate"]["check_mode"] is False
    assert set(data["oob_readiness"]) >= READINESS_KEYS
    assert data["oob_readiness"]["environment"] == "lab"
    # the job's verdict as AWX sees it: failed exactly when the drift was not fixed
    assert (runner.status == "successful") == (data["oob_remediate"]["outcome"] != "drift_not_fixed"), stdout[-4000:]
    # the report is in the exposed folder
    for path in (data["oob_remediate"]["report"], data["oob_readiness"]["report"]):
        assert Path(path).is_file() and Path(path).resolve().is_relative_to(reports.resolve()), path
    assert (reports / "latest" / "readiness.json").is_file()
    assert (artifacts_dir(pdd, "remediate") / "job_events").is_dir()
