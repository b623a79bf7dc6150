"""oob_job_results and the action oob.prep.probe_wait: probes started in the background (async, poll 0), waited for
with probe_wait, read as if they had run in place. The registered results come from a real ansible-playbook run
(Ansible's own shapes, not ones written here), and whether the job files are gone is read from the file system;
the hand-written cases keep to those shapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "plugins" / "filter"))

from oob_readiness import job_results, read_rows  # noqa: E402

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Start
      ansible.builtin.command: "sh -c 'sleep 0.2; echo out-{{ item }}; exit {{ 3 if item == \\"b\\" else 0 }}'"
      loop: [a, b, c]
      when: item != "c"
      async: 30
      poll: 0
      register: started
      changed_when: false
      failed_when: false
    - name: Start one
      ansible.builtin.command: "echo single"
      async: 30
      poll: 0
      register: started_one
      changed_when: false
    - name: Start one that takes too long (it ends only once the file below is written, after its wait)
      ansible.builtin.command: "sh -c 'until [ -e {{ out }}.release ]; do sleep 0.05; done'"
      async: 30
      poll: 0
      register: started_slow
      changed_when: false
    - name: Wait
      oob.prep.probe_wait:
        job: "{{ item }}"
      loop: "{{ ([started_one] + started.results) | selectattr('ansible_job_id', 'defined') }}"
      register: waited
      failed_when: false
    - name: Wait, but not long enough
      oob.prep.probe_wait:
        job: "{{ started_slow }}"
        timeout: 0.5
      register: waited_slow
      failed_when: false
    - name: Let the slow one end
      ansible.builtin.file:
        path: "{{ out }}.release"
        state: touch
        mode: "0600"
      changed_when: false
    - name: Wait for nothing
      oob.prep.probe_wait:
        job: {}
      register: waited_none
      failed_when: false
    - name: Wait for a job that has no result file (never started here, or its file was removed)
      oob.prep.probe_wait:
        job: {ansible_job_id: "j0.no-such-job"}
      register: waited_gone
      failed_when: false
    - name: Wait with a bad timeout
      oob.prep.probe_wait:
        job: "{{ started_one }}"
        timeout: 0
      register: waited_bad
      failed_when: false
    - name: Keep what was registered
      ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ {'started': started, 'started_one': started_one, 'waited': waited, 'started_slow': started_slow,
                      'waited_slow': waited_slow, 'waited_none': waited_none, 'waited_bad': waited_bad,
                      'waited_gone': waited_gone} | to_json }}"
        mode: "0600"
"""


ROOT = Path(__file__).resolve().parents[4]
# where Ansible finds oob.prep: the tree ansible-test runs in is ansible_collections/oob/prep itself; a checkout has
# the link collections/ansible_collections/oob/prep
COLLECTIONS = ROOT.parents[2] if ROOT.parent.parent.name == "ansible_collections" else ROOT / "collections"


@pytest.fixture(scope="module")
def got(tmp_path_factory) -> dict:
    """What one real playbook run registered (run once for this file)."""
    tmp_path = tmp_path_factory.mktemp("jobs")
    (tmp_path / "play.yml").write_text(textwrap.dedent(PLAY))
    out = tmp_path / "registered.json"
    run = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"out={out}", str(tmp_path / "play.yml")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)),
             "ANSIBLE_HOME": str(tmp_path / ".ansible"), "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS)},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(out.read_text())


def test_each_item_gets_its_jobs_result_and_its_own_item(got):
    loop = job_results(got["started"], got["waited"])
    results = loop["results"]
    assert [r.get("item") for r in results] == ["a", "b", "c"]
    assert "stdout" in results[0], got["waited"]
    assert results[0]["stdout"] == "out-a" and results[0]["rc"] == 0
    assert results[1]["stdout"] == "out-b" and results[1]["rc"] == 3
    assert results[2].get("skipped") is True and "ansible_job_id" not in results[2]  # never started: kept as is
    one = job_results(got["started_one"], got["waited"])
    assert one["stdout"] == "single" and "item" not in one
    # each finished job's result file is gone from the async directory; none was left by an unfinished wait
    files = [Path(s["results_file"]) for s in [got["started_one"], *got["started"]["results"][:2]]]
    assert files and not any(f.exists() for f in files), files
    assert all(w["cleaned"] is True and w["finished"] is True for w in got["waited"]["results"])


def test_a_probe_that_outlasts_the_wait_is_a_failed_read_and_its_file_is_kept(got):
    slow = job_results(got["started_slow"], got["waited_slow"])
    assert slow["failed"] is True and "had not finished after 0.5 s" in slow["msg"]
    assert got["waited_slow"]["cleaned"] is False and Path(got["started_slow"]["results_file"]).exists()


def test_a_job_the_wait_gave_up_on_is_a_failed_read():
    started = {"results": [{"item": {"host": "oobp-sp", "source": "service_point"}, "ansible_job_id": "j1.2",
                            "started": True, "finished": False}]}  # fmt: skip
    waited = {"results": [{"ansible_job_id": "j1.2", "started": True, "finished": False, "attempts": 100,
                           "item": started["results"][0]}]}  # fmt: skip
    loop = job_results(started, waited)
    assert loop["results"][0]["failed"] is True and "did not finish" in loop["results"][0]["msg"]
    rows = read_rows(loop, ["network_ports"], "the flow probe from {host} ({source})")
    assert [r["status"] for r in rows] == ["fail"]
    assert rows[0]["evidence"].startswith("the flow probe from oobp-sp (service_point) did not answer the read")
    # a job the wait never looked at (the wait was skipped) is the same
    assert job_results(started, {"skipped": True})["results"][0]["failed"] is True


def test_rows_of_a_finished_job_and_an_unreachable_start():
    row = {"id": "net.1", "row": "network_ports", "status": "pass", "evidence": "open", "remedy": ""}
    started = {"results": [
        {"item": {"host": "oobp-amt1", "source": "amt"}, "ansible_job_id": "j9.1", "started": True, "finished": False},
        {"item": {"host": "oobp-con", "source": "console"}, "unreachable": True, "msg": "no namespace oobp-con"},
    ]}  # fmt: skip
    waited = {"results": [{"ansible_job_id": "j9.1", "finished": True, "checks": [row], "failed": False,
                           "item": started["results"][0]}]}  # fmt: skip
    rows = read_rows(job_results(started, waited), ["network_ports"], "the flow probe from {host} ({source})")
    assert [(r["id"], r["status"]) for r in rows] == [("net.1", "pass"), ("read.the-flow-probe-from-oobp-con-console",
                                                                            "fail")]  # fmt: skip


def test_nothing_registered_is_a_skip():
    assert job_results(None, None) == {"skipped": True}


def test_bad_input_is_a_clear_failure(got):
    assert got["waited_none"]["failed_when_result"] is False
    assert "was not started, so there is nothing to wait for" in got["waited_none"]["msg"]
    assert got["waited_bad"]["msg"] == "oob.prep.probe_wait: timeout and delay must be more than 0"
    # async_status's answer for a job without a file: failed, "could not find job", nothing removed
    gone = got["waited_gone"]
    assert gone["msg"] == "could not find job" and gone["finished"] is True and gone["cleaned"] is False, gone
    assert gone["failed_when_result"] is False  # it failed: failed_when false kept the play going
