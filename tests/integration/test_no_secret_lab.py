"""No secret reaches any output (issue 26): every vaulted value of the lab inventory and every value an argument spec
marks no_log, in every form a run could print it, is absent from what site.yml --check, site.yml, verify.yml and
remediate.yml print at -vvv with --diff (task arguments and custom stats shown too, as AWX shows them), from reports/
(JSON, JUnit, HTML, summary), artifacts/ and the set_stats data; and from the failure paths: a wrong password, an
unreachable DC and Kea agent, a failed task, an invalid estate, whose messages name the variable instead.

The secrets are read independently of the project's code: the vault's ciphertexts are decrypted with ansible-core's
VaultLib, and the estate's no_log options are read from roles/oob_estate/meta/argument_specs.yml and looked up in the
inventory's files.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest
import yaml
from conftest import LOUD, report_files
from labutil import ROOT, ansible_playbook

LAB = ROOT / "inventories" / "lab"
VAULTED = re.compile(r"!vault \|\n((?:[ \t]+\S.*\n?)+)")
REFERENCE = re.compile(r"^\{\{\s*(\w+)\s*\}\}$")
# values that are wrong, and still secrets: a run given them must not print them either
WRONG_BIND = "Wr0ng-Bind-7c1f9e"
WRONG_KEA = "Wr0ng-Kea-52d0aa"


def vault_values() -> dict[str, str]:
    """Every vaulted value in the lab inventory's files, by variable name (the inventory plugin's own file too)."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("lab", VaultSecret((LAB / "vault-password.txt").read_bytes().strip()))])
    values = {}
    for path in sorted(LAB.rglob("*.yml")):
        text = path.read_text()
        for match in VAULTED.finditer(text):
            name = text[: match.start()].rstrip().splitlines()[-1].split(":")[0].strip()
            ciphertext = "\n".join(line.strip() for line in match.group(1).splitlines())
            values[f"{path.relative_to(LAB)}:{name}"] = vault.decrypt(ciphertext).decode()
    return values


def no_log_paths(options: dict, prefix: str = "") -> list[str]:
    """The dotted paths of the options an argument spec marks no_log."""
    paths = []
    for name, spec in options.items():
        path = f"{prefix}{name}"
        if spec.get("no_log"):
            paths.append(path)
        paths.extend(no_log_paths(spec.get("options") or {}, f"{path}."))
    return paths


def lab_variables() -> dict:
    merged = {}
    for path in sorted((LAB / "group_vars" / "all").glob("*.yml")):
        merged.update(yaml.load(path.read_text(), Loader=_Loader) or {})
    return merged


class _Loader(yaml.SafeLoader):
    """YAML with the vault tag read as an opaque value (its plaintext comes from vault_values)."""


_Loader.add_constructor("!vault", lambda loader, node: {"__vault__": node.value})


def secrets() -> dict[str, str]:
    """name -> value: the vault's values, the values of the estate's no_log options, and the forms a protocol sends
    them in (HTTP basic credentials, JSON escaping)."""
    vaulted = vault_values()
    by_name = {key.split(":", 1)[1]: value for key, value in vaulted.items()}
    spec = yaml.safe_load((ROOT / "roles/oob_estate/meta/argument_specs.yml").read_text())
    estate = lab_variables()
    found = dict(vaulted)
    for path in no_log_paths(spec["argument_specs"]["main"]["options"]):
        value = estate
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            reference = REFERENCE.match(value)
            found[path] = by_name[reference.group(1)] if reference else value
    kea = estate["oob_dhcp"]["kea"]
    found["kea basic credentials"] = base64.b64encode(f"{kea['username']}:{found['oob_dhcp.kea.password']}".encode())
    found["kea basic credentials"] = found["kea basic credentials"].decode()
    for name, value in list(found.items()):
        found[f"{name} (JSON)"] = json.dumps(value)[1:-1]
    return found


def leaks(text: str, values: dict[str, str]) -> list[str]:
    return sorted({name for name, value in values.items() if value and value in text})


def run(*args: str, extra_env: dict | None = None):
    env = {**LOUD, **(extra_env or {})}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        return ansible_playbook(*args)  # -vvv and --diff: LOUD
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def values():
    found = secrets()
    # the lab's four vaulted values (bind, Kea, TSIG, AMT; the inventory plugin's AMT password is the same value) and
    # every no_log option the lab's estate sets: a vault or inventory that grows a secret grows this list
    assert len(set(vault_values().values())) >= 4, found.keys()
    for path in ("oob_ldap.bind_password", "oob_dns.bind_password", "oob_dhcp.kea.password", "oob_dhcp.tsig.secret",
                 "oob_amt_discovery.password"):  # fmt: skip
        assert found.get(path), path
    return {**found, "wrong bind password": WRONG_BIND, "wrong Kea password": WRONG_KEA}


def test_the_scan_sees_a_secret_that_is_printed(lab, values, tmp_path):
    """The control: a playbook that prints the bind password is caught (the values are the real decrypted ones)."""
    play = tmp_path / "print.yml"
    play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                    "    - ansible.builtin.debug: {var: vault_oob_ldap_bind_password}\n")  # fmt: skip
    proc = ansible_playbook(str(play))
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "oob_ldap.bind_password" in leaks(proc.stdout, values)


def test_no_secret_in_the_output_reports_artifacts_and_stats_of_every_playbook(demo_runs, values):
    """site.yml --check, site.yml, verify.yml and remediate.yml as the demo prints them (make check, converge, verify,
    remediate), run once for the session at -vvv with diffs, task arguments and custom stats shown (demo_runs)."""
    outputs = {}
    for command in ("make check", "make converge", "make verify", "make remediate"):
        proc = demo_runs.commands[command].proc
        assert proc.returncode == 0, f"{command}: rc {proc.returncode}\n{proc.stdout[-3000:]}"
        outputs[command] = proc.stdout + proc.stderr
        # -vvv shows the modules' invocations and results; the stats are the ones AWX keeps as artifacts
        assert "invocation:" in proc.stdout and "CUSTOM STATS" in proc.stdout, command
        assert "oob_readiness" in proc.stdout[proc.stdout.rfind("CUSTOM STATS") :], command
    found = {name: leaks(text, values) for name, text in outputs.items()}
    assert not any(found.values()), found
    assert demo_runs.written, "the runs wrote no report"
    kinds = {Path(name).suffix for name in demo_runs.written}
    assert {".json", ".xml", ".html", ".txt"} <= kinds, kinds
    written = report_files()
    found = {name: leaks(text, values) for name, text in written.items()}
    assert not any(found.values()), {name: hit for name, hit in found.items() if hit}


UNREACHABLE = """
oob_forest: {dns_name: lab.example, servers: [{host: dc1.lab.example, address: 127.0.0.1}]}
oob_domains: [{dns_name: lab.example, servers: [{host: dc1.lab.example, address: 127.0.0.1}]}]
oob_dhcp:
  backend: kea
  kea: {url: "https://127.0.0.1:1/", ca_file: "{{ lab_state_dir }}/kea-ca.pem", username: oob-prep,
        password: "{{ vault_oob_dhcp_kea_password }}"}
  tsig: {name: oob-prep-lab-key, algorithm: hmac-sha256, secret: "{{ vault_oob_dhcp_tsig_secret }}"}
"""
# a misspelt key that holds a secret: the estate's validation names the key, never its value
MISSPELT = """
oob_ldap: {tls: ldaps, ca_file: "{{ lab_state_dir }}/lab-dc-ca.pem", bind_user: Administrator@lab.example,
           bind_pasword: "{{ vault_oob_ldap_bind_password }}"}
"""


@pytest.mark.parametrize(
    ("case", "args", "extra", "named"),
    [
        # verify.yml reads every area and reports each failure (site.yml stops at the first failed play)
        ("wrong passwords", ("playbooks/verify.yml",), None, ("bind_password", "kea.password")),
        ("unreachable DC and Kea agent", ("playbooks/verify.yml",), UNREACHABLE, ("127.0.0.1:636", "127.0.0.1:1")),
        ("a failed converge task", ("playbooks/dhcp.yml",), None, ("kea.password",)),
        ("an invalid estate", ("playbooks/verify.yml",), MISSPELT, ("bind_pasword",)),
    ],
)
def test_failures_name_the_variable_never_the_value(lab, values, tmp_path, case, args, extra, named):
    wrong = ("-e", f"vault_oob_ldap_bind_password={WRONG_BIND}", "-e", f"vault_oob_dhcp_kea_password={WRONG_KEA}")
    if extra:
        (tmp_path / "extra.yml").write_text(extra)
        wrong = ("-e", f"@{tmp_path / 'extra.yml'}")
    proc = run(*args, *wrong)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"{case}: the run did not fail\n{output[-3000:]}"
    messages = "\n".join(re.findall(r"^\s+msg: .*(?:\n\s{8,}.*)*", output, flags=re.M))
    for name in named:
        assert name in messages, f"{case}: no message names {name}\n{messages[-3000:]}"
    assert not leaks(output, values), f"{case}: {leaks(output, values)}"
