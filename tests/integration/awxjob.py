"""An AWX job's private data directory for ansible-runner, laid out as AWX lays it, and the artifacts AWX shows.

AWX hands ansible-runner a folder (``/runner`` in the execution environment): ``project/`` (the project checkout, the
job's working directory, where ansible.cfg is read), ``inventory/hosts`` (an executable script that prints AWX's
stored copy of the inventory as JSON: what the inventory sync put there, vaulted strings still encrypted),
``env/extravars`` (the template's extra variables), ``env/cmdline`` (``--vault-id <id>@prompt`` for each vault
credential) and ``env/passwords`` (each prompt's pattern and its answer: ``Vault password \\(<id>\\):``). The run
writes ``artifacts/<ident>/`` (``job_events/``, ``stdout``, ``rc``, ``status``); a playbook's ``set_stats`` data
is the ``artifact_data`` of the ``playbook_on_stats`` event, which AWX shows as the job's artifacts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def synced_inventory(source: Path, vault_ids: dict[str, Path] | None = None) -> dict:
    """What an AWX inventory sync of ``source`` stores: ``ansible-inventory --list`` run without a vault password
    (an inventory source gets none); per-variable vaulted values stay encrypted."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    cmd = [str(BIN / "ansible-inventory"), "-i", str(source), "--list"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def private_data_dir(
    dest: Path,
    project: Path,
    inventory: dict,
    extravars: dict | None = None,
    vault_passwords: dict[str, str] | None = None,
    envvars: dict[str, str] | None = None,
    cmdline: tuple[str, ...] = (),
) -> Path:
    """Lay out ``dest`` as AWX does for a job: project/ (a symlink to the checkout), inventory/hosts (a script
    printing ``inventory``), env/extravars, env/cmdline and env/passwords for the vault credentials (vault id ->
    password) with ``cmdline`` (the template's options, e.g. --diff), env/envvars."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "project").symlink_to(project.resolve(), target_is_directory=True)
    (dest / "inventory").mkdir()
    hosts = dest / "inventory" / "hosts"
    hosts.write_text("#!/bin/sh\ncat <<'AWX_INVENTORY'\n" + json.dumps(inventory, indent=1) + "\nAWX_INVENTORY\n")
    hosts.chmod(0o700)
    env = dest / "env"
    env.mkdir()
    (env / "extravars").write_text(yaml.safe_dump(extravars or {}))
    vault_passwords = vault_passwords or {}
    args = [*cmdline, *(f"--vault-id {vault_id}@prompt" for vault_id in vault_passwords)]
    if args:
        (env / "cmdline").write_text(" ".join(args))
    if vault_passwords:
        prompts = {rf"Vault password \({re.escape(vault_id)}\):\s*?$": pw for vault_id, pw in vault_passwords.items()}
        (env / "passwords").write_text(yaml.safe_dump(prompts))
        (env / "passwords").chmod(0o600)
    if envvars:
        (env / "envvars").write_text(yaml.safe_dump(envvars))
    return dest


def run_job(pdd: Path, playbook: str, ident: str = "job", **kwargs):
    """ansible_runner.run over the private data directory, as AWX's worker does (the process's own ansible)."""
    import ansible_runner

    env = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "ANSIBLE_FORCE_COLOR": "0"}
    for name in ("ANSIBLE_COLLECTIONS_PATH", "KRB5_CONFIG", "KRB5CCNAME", "PYTHONPATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    return ansible_runner.run(
        private_data_dir=str(pdd), playbook=playbook, ident=ident, quiet=True, envvars=env, **kwargs
    )


def artifact_data(runner) -> dict:
    """The set_stats data of the run: the playbook_on_stats event's artifact_data (AWX: the job's artifacts)."""
    stats = [e for e in runner.events if e.get("event") == "playbook_on_stats"]
    assert stats, "no playbook_on_stats event: the run ended early"
    return stats[-1]["event_data"].get("artifact_data", {})


def artifacts_dir(pdd: Path, ident: str) -> Path:
    return pdd / "artifacts" / ident
