"""The action plugin oob.prep.readiness_report as Ansible runs it (ansible-playbook on localhost): on the connection
``local`` it writes the report in the controller's own process; on any other connection the module runs on that host.
The second path is taken here through a connection that is the local one under another name (so nothing connects
anywhere): both must give the same report and fail the same way. The expected totals are counted from the rows below
and the seed's 22 requirements."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
BIN = Path(sys.executable).parent
CHECKS = [
    {"id": "pki.ca", "row": "enterprise_ca", "status": "pass", "evidence": "CA found", "remedy": ""},
    {"id": "dns.wins", "row": "dns_not_wins", "status": "warn", "evidence": "WINS set", "remedy": "drop WINS"},
    {"id": "amt.1", "row": "amt_supported_version", "status": "fail", "evidence": "AMT 1.0", "remedy": "upgrade"},
]
CONNECTION = '''
from ansible.plugins.connection.local import Connection as Local


class Connection(Local):
    """The local connection under another name: a host the report's action must not write on itself."""

    transport = "elsewhere"
'''
PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    checks: {checks}
  tasks:
    - name: In this process (connection local)
      oob.prep.readiness_report: {{checks: "{{{{ checks }}}}", environment: lab, dest: "{out}/here"}}
      register: here
    - name: The module, on a host reached through another connection
      oob.prep.readiness_report: {{checks: "{{{{ checks }}}}", environment: lab, dest: "{out}/there"}}
      vars: {{ansible_connection: elsewhere}}
      register: there
    - name: In check mode
      oob.prep.readiness_report: {{checks: "{{{{ checks }}}}", environment: lab, dest: "{out}/checked"}}
      check_mode: true
      register: checked
    - name: A negative keep, here
      oob.prep.readiness_report: {{checks: "{{{{ checks }}}}", environment: lab, dest: "{out}/bad", keep: -1}}
      register: bad_here
      failed_when: false
    - name: A negative keep, there
      oob.prep.readiness_report: {{checks: "{{{{ checks }}}}", environment: lab, dest: "{out}/bad", keep: -1}}
      vars: {{ansible_connection: elsewhere}}
      register: bad_there
      failed_when: false
    - name: No environment, here
      oob.prep.readiness_report: {{checks: "{{{{ checks }}}}", dest: "{out}/bad"}}
      register: missing_here
      failed_when: false
    - name: Keep what was registered
      ansible.builtin.copy:
        dest: "{out}/registered.json"
        content: "{{{{ {{'here': here, 'there': there, 'checked': checked, 'bad_here': bad_here,
                      'bad_there': bad_there, 'missing_here': missing_here}} | to_json }}}}"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def got(tmp_path_factory) -> tuple[dict, Path, list]:
    out = tmp_path_factory.mktemp("report")
    (out / "connection").mkdir()
    (out / "connection" / "elsewhere.py").write_text(CONNECTION)
    (out / "play.yml").write_text(PLAY.format(checks=json.dumps(CHECKS), out=out))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_HOME": str(ROOT / ".cache" / "ansible"),
           "ANSIBLE_CONNECTION_PLUGINS": str(out / "connection")}  # fmt: skip
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-vvv", "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(out / "play.yml")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # at -vvv Ansible names each module file it puts on a host: which tasks ran the module
    tasks = {t.split("]", 1)[0]: t for t in proc.stdout.split("TASK [")[1:]}
    ran_module = sorted(name for name, text in tasks.items() if "AnsiballZ_readiness_report.py" in text)
    return json.loads((out / "registered.json").read_text()), out, ran_module


def test_the_report_is_written_here_and_there_alike(got):
    reg, out, ran_module = got
    for where in ("here", "there"):
        res = reg[where]
        assert res["changed"] is False and not res.get("failed"), res
        assert res["totals"] == {"pass": 1, "partial": 0, "warn": 1, "fail": 1, "skip": 19, "total": 22}
        assert res["overall"] == "fail" and res["failed_requirements"] == ["amt_supported_version"]
        latest = out / where / "latest"
        assert latest.is_symlink() and Path(res["report_dir"]) == out / where / os.readlink(latest)
        doc = json.loads((latest / "readiness.json").read_text())
        assert doc["totals"] == res["totals"] and doc["environment"] == "lab" and doc["check_mode"] is False
        assert sorted(p.name for p in latest.iterdir()) == sorted(Path(f).name for f in res["files"].values())
    # the module was built and run only where the connection is not local
    assert ran_module == ["A negative keep, there", "The module, on a host reached through another connection"]
    assert reg["here"]["summary_lines"][:-1] == reg["there"]["summary_lines"][:-1]


def test_check_mode_writes_nothing(got):
    reg, out, ran_module = got
    assert reg["checked"]["overall"] == "fail" and not (out / "checked").exists()


def test_bad_input_fails_the_same_way_here_and_there(got):
    reg, out, ran_module = got
    assert reg["bad_here"]["msg"] == reg["bad_there"]["msg"] == "invalid input: keep must be 0 (keep all) or more"
    assert reg["bad_here"]["error"] == reg["bad_there"]["error"] == "input"
    assert reg["missing_here"]["msg"] == "missing required arguments: environment"
    assert not (out / "bad").exists()
