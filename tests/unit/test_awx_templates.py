"""The AWX objects in awx/job_templates.yml (infra.aap_configuration's variables) are valid and point at real things.

Every key of every object is an option of the awx.awx module that applies it (its DOCUMENTATION, read from the
collection that scripts/collections unpacks: name, aliases, type, choices, checked with Ansible's
ArgumentSpecValidator), and awx/configure.yml passes each key used to that module. Each job template's playbook must
exist and pass ``ansible-playbook --syntax-check`` (with the lab inventory), its job_tags must be tags of that
playbook (``--list-tags``), its extra_vars must be estate variables (or role options that oob_estate does not refuse)
of the right type, checked against the roles' meta/argument_specs.yml; the credentials, inventories, project and
execution environment it names must be declared; the inventory sources must parse.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.vault import VaultLib, VaultSecret

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "awx" / "job_templates.yml"
CONFIGURE = ROOT / "awx" / "configure.yml"
BIN = Path(sys.executable).parent
LAB = ["-i", "inventories/lab", "--vault-id", "lab@inventories/lab/vault-password.txt"]
# what oob_estate refuses when the inventory (or extra vars) sets it: ROLE_VARIABLE, plugins/module_utils/estate/spec.py
REFUSED = re.compile(r"^oob_(ad_container|pki_templates|pki_ca_windows|dns|dhcp|network|amt_devices)_")
REFUSED_EXCEPT = re.compile(r"^oob_(dhcp|network)_probe_hosts$")


def load_awx() -> dict:
    return yaml.safe_load(AWX.read_text())


def awx_collection() -> Path | None:
    """awx.awx where Ansible finds it: the project's collections/ (scripts/collections), ANSIBLE_COLLECTIONS_PATH."""
    extra = [Path(p) for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
    for base in [ROOT / "collections", *extra]:
        if (base / "ansible_collections" / "awx" / "awx" / "MANIFEST.json").is_file():
            return base / "ansible_collections" / "awx" / "awx"
    return None


def env() -> dict[str, str]:
    out = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_HOME": str(ROOT / ".cache" / "ansible")}
    found = awx_collection()
    if found:  # the project's collections/ first, as ansible.cfg says, then where awx.awx is
        out["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([str(ROOT / "collections"), str(found.parents[2])])
    return out


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)


def specs() -> tuple[dict, dict]:
    """The estate's options, and every role's main options."""
    estate = yaml.safe_load((ROOT / "roles/oob_estate/meta/argument_specs.yml").read_text())
    roles: dict = {}
    for path in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        if path.parts[-3] != "oob_estate":
            for entry in yaml.safe_load(path.read_text())["argument_specs"].values():
                roles.update(entry.get("options", {}))
    return estate["argument_specs"]["main"]["options"], roles


def strip_docs(spec: dict) -> dict:
    """An argument spec as written in meta/argument_specs.yml, without its documentation keys."""
    out = {}
    for name, documented in spec.items():
        option = {k: v for k, v in documented.items() if k not in {"description", "version_added"}}
        if "options" in option:
            option["options"] = strip_docs(option["options"])
        out[name] = option
    return out


def extra_vars_problems(extra_vars: dict) -> list[str]:
    estate, roles = specs()
    problems = []
    known = {}
    for name in extra_vars:
        if name in estate:
            known[name] = estate[name]
        elif name in roles and (not REFUSED.match(name) or REFUSED_EXCEPT.match(name)):
            known[name] = roles[name]
        elif name in roles:
            problems.append(f"{name} is a role option that oob_estate refuses: set the estate variable instead")
        else:
            problems.append(f"{name} is neither an estate variable nor a role option")
    spec = {name: {**option, "required": False} for name, option in strip_docs(known).items()}
    values = {name: extra_vars[name] for name in known}
    result = ArgumentSpecValidator(spec).validate(values)
    problems += [str(error) for error in result.errors]
    return problems


def templates() -> list[dict]:
    return load_awx()["controller_templates"]


def template_id(template: dict) -> str:
    return template["name"].split("}}")[-1].strip()


def skip_if_remediate_is_missing(template: dict):
    """playbooks/remediate.yml is being written: until it exists its template is reported as skipped, not passed."""
    if template["playbook"] == "playbooks/remediate.yml" and not (ROOT / template["playbook"]).exists():
        pytest.skip("playbooks/remediate.yml does not exist yet: the remediate template is not checked")


@pytest.mark.parametrize("template", templates(), ids=template_id)
def test_playbook_passes_syntax_check(template: dict):
    skip_if_remediate_is_missing(template)
    assert (ROOT / template["playbook"]).is_file(), f"{template['playbook']} does not exist"
    result = run(str(BIN / "ansible-playbook"), *LAB, "--syntax-check", template["playbook"])
    assert result.returncode == 0, result.stderr


def playbook_tags(playbook: str) -> set[str]:
    result = run(str(BIN / "ansible-playbook"), *LAB, "--list-tags", playbook)
    assert result.returncode == 0, result.stderr
    tags = set()
    for found in re.findall(r"TASK TAGS: \[([^\]]*)\]", result.stdout):
        tags |= {tag.strip() for tag in found.split(",") if tag.strip()}
    return tags


@pytest.mark.parametrize("template", [t for t in templates() if t.get("job_tags")], ids=template_id)
def test_job_tags_exist_in_the_playbook(template: dict):
    skip_if_remediate_is_missing(template)
    tags = playbook_tags(template["playbook"])
    wanted = {tag.strip() for tag in template["job_tags"].split(",")}
    assert wanted <= tags, f"not tags of {template['playbook']}: {sorted(wanted - tags)}"


def test_an_unknown_tag_is_not_among_the_tags():
    tags = playbook_tags("playbooks/verify.yml")
    assert "area::amt" in tags
    assert "area::nonexistent" not in tags


@pytest.mark.parametrize("template", templates(), ids=template_id)
def test_extra_vars_are_estate_variables(template: dict):
    assert isinstance(template["extra_vars"], dict)
    assert extra_vars_problems(template["extra_vars"]) == []


@pytest.mark.parametrize(
    ("extra_vars", "expected"),
    [
        ({"oob_amt_subnets": [{"network": "192.0.2.0/24"}]}, []),
        ({"oob_network_probe_hosts": []}, []),
        ({"oob_amt_subnets": "192.0.2.0/24"}, ["oob_amt_subnets"]),
        ({"oob_amt_subnets": [{"dns_servers": ["192.0.2.1"]}]}, ["network"]),
        ({"oob_amt_discovery": {"wsman_port": 443}}, ["wsman_port"]),
        ({"oob_amt_devices_timeout": 2}, ["oob_estate refuses"]),
        ({"oob_no_such_variable": 1}, ["neither an estate variable"]),
    ],
)
def test_extra_vars_validation_can_fail(extra_vars: dict, expected: list[str]):
    problems = extra_vars_problems(extra_vars)
    assert bool(problems) == bool(expected), problems
    for word in expected:
        assert any(word in problem for problem in problems), problems


def test_template_fields():
    awx = load_awx()
    credentials = {c["name"]: c for c in awx["controller_credentials"]}
    inventories = {i["name"] for i in awx["controller_inventories"]}
    projects = {p["name"] for p in awx["controller_projects"]}
    environments = {e["name"] for e in awx["controller_execution_environments"]}
    names = [t["name"] for t in templates()]
    assert len(names) == len(set(names))
    for template in templates():
        assert template["project"] in projects
        assert template["inventory"] in inventories
        assert template["execution_environment"] in environments
        assert template["job_type"] in {"run", "check"}
        assert isinstance(template["job_slice_count"], int) and template["job_slice_count"] >= 1
        kinds = [credentials[name]["credential_type"] for name in template["credentials"]]  # KeyError: not declared
        assert kinds.count("Machine") <= 1 and "Vault" in kinds, template["name"]
    vault = [c for c in credentials.values() if c["credential_type"] == "Vault"]
    assert [c["inputs"]["vault_id"] for c in vault] == ["{{ oob_awx_env }}"]
    for project in awx["controller_projects"]:
        assert project["default_environment"] in environments
    types = {t["name"] for t in awx["controller_credential_types"]} | {"Vault", "Machine"}
    assert {c["credential_type"] for c in credentials.values()} <= types
    sources = {s["name"] for s in awx["controller_inventory_sources"]}
    for source in awx["controller_inventory_sources"]:
        assert source["inventory"] in inventories and source["source_project"] in projects
        assert source.get("credential", next(iter(credentials))) in credentials
    for schedule in awx["controller_schedules"]:
        assert schedule["unified_job_template"] in set(names) | sources
        assert "RRULE:" in schedule["rrule"]


def test_reports_go_to_the_folder_exposed_to_jobs():
    # the job's container is discarded: the report must go where AWX mounts a folder of the execution node
    awx = load_awx()
    shown = [
        path for item in awx["controller_settings"] for path in item["settings"].get("AWX_ISOLATION_SHOW_PATHS", [])
    ]
    assert "{{ oob_awx_reports_dir }}" in shown
    for template in templates():
        if template["playbook"] in {"playbooks/verify.yml", "playbooks/remediate.yml"}:
            reports = template["extra_vars"]["oob_reports"]
            assert reports["dir"].startswith("{{ oob_awx_reports_dir }}/"), template["name"]
            assert reports["environment"] == "{{ oob_awx_env }}", template["name"]


# --- every key an option of its awx.awx module ---------------------------------------------------------------------

# the variable of infra.aap_configuration -> the awx.awx module its role calls (ansible.controller.* there)
MODULES = {
    "controller_settings": "settings",
    "controller_execution_environments": "execution_environment",
    "controller_credential_types": "credential_type",
    "controller_projects": "project",
    "controller_credentials": "credential",
    "controller_inventories": "inventory",
    "controller_inventory_sources": "inventory_source",
    "controller_templates": "job_template",
    "controller_schedules": "schedule",
}


def documented_options(module: str) -> dict:
    """A module's options as its DOCUMENTATION (and the awx.awx.auth fragment) give them."""
    found = awx_collection()
    if found is None:
        pytest.fail("awx.awx is missing: scripts/collections installs it (collections/requirements-dev.yml)")
    options = {}
    for path, name in ((found / "plugins/modules" / f"{module}.py", "DOCUMENTATION"),
                       (found / "plugins/doc_fragments/auth.py", "DOCUMENTATION")):  # fmt: skip
        text = re.search(name + r" = r?'''(.*?)'''", path.read_text(), re.S).group(1)
        options.update(yaml.safe_load(text)["options"])
    return options


def option_problems(module: str, obj: dict) -> list[str]:
    options = documented_options(module)
    spec = {}
    for name, option in options.items():
        spec[name] = {k: option[k] for k in ("type", "choices", "elements", "aliases") if k in option}
    known = set(spec) | {alias for option in spec.values() for alias in option.get("aliases", [])}
    problems = [f"{key} is not an option of awx.awx.{module}" for key in obj if key not in known]
    result = ArgumentSpecValidator(spec).validate({k: v for k, v in obj.items() if k in known})
    return problems + [str(error) for error in result.errors]


def objects() -> list[tuple[str, dict]]:
    awx = load_awx()
    assert set(MODULES) <= set(awx), sorted(set(MODULES) - set(awx))
    return [(variable, obj) for variable in MODULES for obj in awx[variable]]


@pytest.mark.parametrize(("variable", "obj"), objects(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_key_is_an_option_of_its_module(variable: str, obj: dict):
    assert option_problems(MODULES[variable], obj) == []


@pytest.mark.parametrize(
    ("module", "obj", "expected"),
    [
        ("job_template", {"name": "t", "ask_tags": True}, []),  # an alias
        ("job_template", {"name": "t", "job_type": "deploy"}, ["job_type"]),
        ("job_template", {"name": "t", "job_slice_count": "many"}, ["job_slice_count"]),
        ("job_template", {"name": "t", "playbok": "x.yml"}, ["playbok is not an option"]),
        ("credential", {"name": "c", "kind": "vault"}, ["kind is not an option"]),  # the old format's key
        ("schedule", {"name": "s", "rrule": "x", "extra_vars": {}}, ["extra_vars is not an option"]),
    ],
)
def test_option_validation_can_fail(module: str, obj: dict, expected: list[str]):
    problems = option_problems(module, obj)
    assert bool(problems) == bool(expected), problems
    for word in expected:
        assert any(word in problem for problem in problems), problems


def configure_tasks() -> dict[str, dict]:
    """awx/configure.yml's tasks by the variable they loop over: {variable: {module, args}}."""
    play = yaml.safe_load(CONFIGURE.read_text())[0]
    assert play["vars_files"] == ["job_templates.yml"]
    tasks = {}
    for task in play["tasks"]:
        module = next(k for k in task if k.startswith("awx.awx."))
        variable = re.fullmatch(r"\{\{ (\w+) \}\}", task["loop"]).group(1)
        tasks[variable] = {"module": module.split(".")[-1], "args": task[module]}
    return tasks


def test_configure_applies_every_variable_with_every_key():
    tasks = configure_tasks()
    assert set(tasks) == set(MODULES)
    for variable, task in tasks.items():
        assert task["module"] == MODULES[variable], variable
        options = documented_options(task["module"])
        assert set(task["args"]) <= set(options), sorted(set(task["args"]) - set(options))
        passed = {m for value in task["args"].values() for m in re.findall(r"\bitem\.(\w+)", str(value))}
        used = {key for obj in load_awx()[variable] for key in obj}
        assert used <= passed, f"{variable}: keys that awx/configure.yml does not pass: {sorted(used - passed)}"
        for arg, value in task["args"].items():  # each key goes to the option of its own name
            assert re.findall(r"\bitem\.(\w+)", str(value)) in ([arg], []), (variable, arg, value)


def test_configure_passes_syntax_check():
    if awx_collection() is None:
        pytest.fail("awx.awx is missing: scripts/collections installs it (collections/requirements-dev.yml)")
    result = run(str(BIN / "ansible-playbook"), "--syntax-check", str(CONFIGURE), "-e", "oob_awx_env=lab")
    assert result.returncode == 0, result.stderr


def test_inventory_sources_exist_for_the_lab():
    for source in load_awx()["controller_inventory_sources"]:
        path = ROOT / source["source_path"].replace("{{ oob_awx_env }}", "lab")
        assert path.is_file(), path


def test_lab_inventory_lists():
    # hosts.yml with its group_vars (the vault opened); the AMT source is checked below without scanning
    result = run(
        str(BIN / "ansible-inventory"),
        "-i",
        "inventories/lab/hosts.yml",
        "--vault-id",
        "lab@inventories/lab/vault-password.txt",
        "--list",
    )
    assert result.returncode == 0, result.stderr
    assert '"oob_controller"' in result.stdout


def test_production_example_inventory_lists():
    result = run(str(BIN / "ansible-inventory"), "-i", "inventories/production.example", "--list")
    assert result.returncode == 0, result.stderr
    assert '"oob_controller"' in result.stdout


def plugin_options() -> set[str]:
    from ansible.plugins.doc_fragments.constructed import ModuleDocFragment as Constructed
    from ansible.plugins.doc_fragments.inventory_cache import ModuleDocFragment as Cache

    source = (ROOT / "plugins/inventory/oob_amt.py").read_text()
    documentation = re.search(r'DOCUMENTATION = r"""(.*?)"""', source, re.S).group(1)
    options = set(yaml.safe_load(documentation)["options"])
    for fragment in (Constructed, Cache):
        options |= set(yaml.safe_load(fragment.DOCUMENTATION)["options"])
    return options


class VaultTagLoader(yaml.SafeLoader):
    """YAML with Ansible's !vault tag kept as its ciphertext."""


VaultTagLoader.add_constructor("!vault", lambda loader, node: ("!vault", loader.construct_scalar(node)))


def test_lab_amt_source_parses():
    path = ROOT / "inventories/lab/amt.oob_amt.yml"
    config = yaml.load(path.read_text(), Loader=VaultTagLoader)  # noqa: S506 - a SafeLoader subclass
    assert path.name.endswith("oob_amt.yml")
    assert config["plugin"] == "oob.prep.oob_amt"
    secret = (ROOT / "inventories/lab/vault-password.txt").read_text().strip().encode()
    tag, ciphertext = config["password"]
    assert tag == "!vault"
    assert VaultLib([("lab", VaultSecret(secret))]).decrypt(ciphertext), "the vaulted password did not open"
    assert set(config) <= plugin_options(), sorted(set(config) - plugin_options())
