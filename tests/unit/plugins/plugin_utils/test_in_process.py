"""A module of this collection in the controller's process (plugins/plugin_utils/in_process.py), as Ansible runs it:
real ansible-playbook runs on localhost. Each task runs once where its module's main() runs in the worker process
("here") and once as a module ("there": the same local connection under another name, so nothing connects anywhere);
the registered results must agree. ``-vvv`` tells which path each task took: Ansible names the AnsiballZ file it puts
on a host only when the module runs there.

What is compared is what a user reads: the rendered rules and their diff (check mode writes nothing), a refusal of bad
input, a failure to reach a server (a closed loopback port) with a bind password that must appear nowhere, a loop's
items, each item's task environment as the module sees it (one worker runs every item), and the module's temporary
directory (a small module of another collection, oobtest.inproc.tmp_user, with this collection's action plugin). The
lab's GSS-TSIG updates, which need KRB5_CONFIG from the task, run in process in tests/integration."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
BIN = Path(sys.executable).parent
SECRET = "Pa55-never-shown-7f3a"
CONNECTION = '''
from ansible.plugins.connection.local import Connection as Local


class Connection(Local):
    """The local connection under another name: a host where the module must run as a module."""

    transport = "elsewhere"
'''
RULES = {
    "environment": "lab",
    "service_point": "198.51.100.20",
    "consoles": ["198.51.100.21"],
    "amt_subnets": ["203.0.113.0/24"],
    "server_subnets": ["198.51.100.0/24"],
    "formats": ["nftables"],
}
FOREST = {
    "servers": ["127.0.0.1:{port}"],
    "forest_dns_name": "corp.example.com",
    "domains": [{"dns_name": "corp.example.com", "servers": ["127.0.0.1:{port}"]}],
    "service_point": {"fqdn": "oobsp.corp.example.com", "computer_account": "OOBSP$", "domain": "corp.example.com"},
    "site_server": {"computer_account": "SCCM01$", "domain": "corp.example.com"},
    "amt_suffixes": ["corp.example.com"],
    "connection": {"auth": "simple", "bind_user": "oob@corp.example.com", "bind_password": SECRET, "tls": "none",
                   "allow_plain": True, "timeout": 2},
}  # fmt: skip
# A module of another collection, with this collection's in-process action plugin: it uses AnsibleModule.tmpdir and
# returns what it sees of the task's environment
TMP_MODULE = """
import os

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    with open(os.path.join(module.tmpdir, "scratch"), "w") as f:
        f.write("scratch")
    module.exit_json(changed=False, tmpdir=module.tmpdir, env=os.environ.get("OOB_IN_PROCESS_TEST"))


if __name__ == "__main__":
    main()
"""
TMP_ACTION = (
    "from ansible_collections.oob.prep.plugins.plugin_utils.in_process import ControllerModuleAction as ActionModule\n"
)
ELSEWHERE = "{ansible_connection: elsewhere}"
PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    rules: {rules}
    forest: {forest}
  tasks:
{tasks}
    - name: another python
      oob.prep.network_flow_rules: "{{{{ rules | combine({{'dest_dir': '{out}/python/rules'}}) }}}}"
      vars: {{ansible_python_interpreter: /usr/bin/python3}}
      register: another_python
    - name: async
      oob.prep.network_flow_rules: "{{{{ rules | combine({{'dest_dir': '{out}/async/rules'}}) }}}}"
      async: 60
      poll: 1
      register: async_job
    - name: Keep what was registered
      ansible.builtin.copy:
        dest: "{out}/registered.json"
        content: "{{{{ registered | to_json }}}}"
        mode: "0600"
      vars:
        registered: "{{{{ {{{registered}}} }}}}"
"""
# (name, task body); each runs here and there (register: <name>_here, <name>_there)
TASKS = {
    "render": 'oob.prep.network_flow_rules: "{{{{ rules | combine({{\'dest_dir\': \'{out}/%s/rules\'}}) }}}}"',
    "render_check": 'oob.prep.network_flow_rules: "{{{{ rules | combine({{\'dest_dir\': \'{out}/%s/checked\'}}) }}}}"\n'
                    "      check_mode: true\n      diff: true",
    "bad_input": 'oob.prep.network_flow_rules: "{{{{ rules | combine({{\'dest_dir\': \'{out}/%s/bad\', '
                 "'formats': ['pf']}}) }}}}\"\n      ignore_errors: true",
    "unreachable": 'oob.prep.ad_forest_info: "{{{{ forest }}}}"\n      ignore_errors: true',
    "loop": 'oob.prep.network_flow_rules: "{{{{ rules | combine({{\'dest_dir\': \'{out}/%s/loop-\' ~ item, '
            "'formats': [item]}}) }}}}\"\n      loop: [nftables, ios]",
    "tmpdir": "oobtest.inproc.tmp_user: {{}}",
    # each item its own environment: the second item's has no such variable (the first item's must not remain)
    "environment": "oobtest.inproc.tmp_user: {{}}\n      loop: [set, unset]\n"
                   "      environment: \"{{{{ {{'OOB_IN_PROCESS_TEST': 'task'}} if item == 'set' else {{}} }}}}\"",
}  # fmt: skip


def task_block(out: Path, port: int) -> tuple[str, list[str]]:
    lines, names = [], []
    for name, body in TASKS.items():
        for where in ("here", "there"):
            text = body.format(out=out, port=port).replace("%s", where)
            extra = f"\n      vars: {ELSEWHERE}" if where == "there" else ""
            lines.append(f"    - name: {name} {where}\n      {text}{extra}\n      register: {name}_{where}")
            names.append(f"{name}_{where}")
    return "\n".join(lines), names


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[dict, Path, str]:
    out = tmp_path_factory.mktemp("in_process")
    (out / "connection").mkdir()
    (out / "connection" / "elsewhere.py").write_text(CONNECTION)
    plugins = out / "collections" / "ansible_collections" / "oobtest" / "inproc" / "plugins"
    for kind, text in (("modules", TMP_MODULE), ("action", TMP_ACTION)):
        (plugins / kind).mkdir(parents=True)
        (plugins / kind / "tmp_user.py").write_text(text)
    import socket

    with socket.socket() as s:  # a loopback port nothing listens on: the LDAP connect is refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tasks, names = task_block(out, port)
    registered = ", ".join(f"'{n}': {n}" for n in [*names, "another_python", "async_job"])
    forest = json.dumps(FOREST).replace("{port}", str(port))
    (out / "play.yml").write_text(PLAY.format(rules=json.dumps(RULES), forest=forest, tasks=tasks, out=out,
                                              registered=registered))  # fmt: skip
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_HOME": str(ROOT / ".cache" / "ansible"),
           "ANSIBLE_CONNECTION_PLUGINS": str(out / "connection"),
           "ANSIBLE_COLLECTIONS_PATH": f"{out / 'collections'}{os.pathsep}{ROOT / 'collections'}",
           # an absolute job directory: under ansible-test HOME is not the user's home, and the async wrapper
           # (HOME) and async_status (the user's home, ~root) would expand ~/.ansible_async apart
           "ANSIBLE_ASYNC_DIR": str(out / "async_jobs")}  # fmt: skip
    (out / "hosts").write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-vvv", "-i", str(out / "hosts"), str(out / "play.yml")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    return json.loads((out / "registered.json").read_text()), out, proc.stdout + proc.stderr


def ran_as_module(output: str) -> list[str]:
    tasks = {t.split("]", 1)[0]: t for t in output.split("TASK [")[1:]}
    return sorted(
        name
        for name, text in tasks.items()
        if re.search(r"AnsiballZ_(network_flow_rules|ad_forest_info|tmp_user)\.py", text)
    )


def same(here: dict, there: dict) -> None:
    """Both results, less what names where each ran."""

    def clean(res):
        res = json.loads(json.dumps(res).replace("/here/", "/X/").replace("/there/", "/X/"))
        return {k: v for k, v in res.items() if k not in ("invocation",)}

    assert clean(here) == clean(there)


def test_each_task_runs_here_only_on_the_local_connection_with_the_controllers_python(run):
    reg, out, output = run
    assert ran_as_module(output) == sorted([*(f"{name} there" for name in TASKS), "another python", "async"])
    assert "the module runs on the host (its Python /usr/bin/python3 is not the controller's " in output
    assert "oob.prep.network_flow_rules: the module runs on the host (async)" in output
    for name in ("another_python", "async_job"):
        assert not reg[name].get("failed") and reg[name]["changed"] is True, reg[name]
    assert "oob.prep.network_flow_rules: the module's main() runs in the controller's process" in output
    assert "oob.prep.ad_forest_info: the module runs on the host (connection elsewhere)" in output


def test_rendered_rules_are_the_same_here_and_there(run):
    reg, out, output = run
    here, there = reg["render_here"], reg["render_there"]
    assert not here.get("failed") and here["changed"] is True, here
    same(here, there)
    for where in ("here", "there"):
        files = sorted(p.name for p in (out / where / "rules").iterdir())
        assert files and files == sorted(Path(f["path"]).name for f in reg[f"render_{where}"]["files"]), files
    for f in (out / "here" / "rules").iterdir():
        assert f.read_bytes() == (out / "there" / "rules" / f.name).read_bytes()


def test_check_mode_writes_nothing_and_shows_the_same_diff(run):
    reg, out, output = run
    here, there = reg["render_check_here"], reg["render_check_there"]
    assert here["changed"] is True and here.get("diff"), here
    same(here, there)
    assert not (out / "here" / "checked").exists() and not (out / "there" / "checked").exists()


def test_bad_input_is_refused_alike(run):
    reg, out, output = run
    here, there = reg["bad_input_here"], reg["bad_input_there"]
    assert here["failed"] is True and "formats" in here["msg"] and "pf" in here["msg"], here
    assert here["msg"] == there["msg"] and here.get("exception") == there.get("exception")
    assert not (out / "here" / "bad").exists()


def test_an_unreachable_server_fails_alike_and_the_password_is_shown_nowhere(run):
    reg, out, output = run
    here, there = reg["unreachable_here"], reg["unreachable_there"]
    assert here["failed"] is True and here["error"] == there["error"] and here["msg"] == there["msg"], (here, there)
    assert "127.0.0.1" in here["msg"] and "Traceback" not in json.dumps(here)
    assert SECRET not in output and SECRET not in json.dumps(reg)


def test_a_loop_runs_each_item_here_alike(run):
    reg, out, output = run
    here, there = reg["loop_here"], reg["loop_there"]
    assert [r["item"] for r in here["results"]] == ["nftables", "ios"]
    for a, b in zip(here["results"], there["results"], strict=True):
        assert not a.get("failed") and a.get("warnings") == b.get("warnings"), (a, b)
        same(a, b)


def test_the_modules_temporary_directory_is_made_and_removed_alike(run):
    """AnsibleModule.tmpdir: here the action makes it and removes it after the call (a module removes its own at
    exit, which a worker process never runs); there it is the host's task directory, removed after the task."""
    reg, out, output = run
    here, there = reg["tmpdir_here"], reg["tmpdir_there"]
    assert not here.get("failed") and not there.get("failed"), (here, there)
    assert here["tmpdir"] != there["tmpdir"]
    for res in (here, there):
        assert not Path(res["tmpdir"]).exists(), res  # the module wrote a file there: it existed during the call
    assert "oobtest.inproc.tmp_user: the module's main() runs in the controller's process" in output


def test_each_item_sees_its_own_task_environment_alike(run):
    reg, out, output = run
    for where in ("here", "there"):
        results = reg[f"environment_{where}"]["results"]
        assert [(r["item"], r.get("env")) for r in results] == [("set", "task"), ("unset", None)], results
