"""The execution environment (execution-environment.yml) holds what the project needs on the controller.

The build context is written by ``ansible-builder create`` (offline: no image is built, nothing is fetched) into a
temporary folder, or taken from ``OOB_EE_CONTEXT`` (``make ee``). What the plugins import is derived here on its own,
by parsing every ``.py`` file under ``plugins/``, and compared with the EE's Python requirements; every collection
that roles and playbooks name by FQCN must be in the EE's collection requirements.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
EE_FILE = ROOT / "execution-environment.yml"
BUILDER = Path(sys.executable).with_name("ansible-builder")
# Namespaces whose FQCNs name collections (ansible.builtin ships with ansible-core)
SKIP = {"__future__", "ansible", "ansible_collections"}
FQCN = re.compile(r"(?<![\w.])((?:ansible|community|microsoft)\.[a-z0-9_]+)\.[a-z0-9_]+(?![\w])")


def ee_definition() -> dict:
    return yaml.safe_load(EE_FILE.read_text())


def requirement_lines(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def plugin_imports(plugins: Path) -> dict[str, set[str]]:
    """Top-level names imported by the plugins, minus the stdlib, ansible and the project's own module_utils."""
    own = {p.stem for p in (plugins / "module_utils").glob("*.py")}
    found: dict[str, set[str]] = {}
    for path in sorted(plugins.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(), filename=str(path))
        except SyntaxError as error:
            python = "Python {}.{}".format(*sys.version_info[:2])
            raise AssertionError(f"{path} does not parse on {python} (line {error.lineno}): {error.msg}") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".", 1)[0]
                if top in sys.stdlib_module_names or top in own or top in SKIP:
                    continue
                found.setdefault(top, set()).add(os.path.relpath(path, ROOT))
    return found


def missing_distributions(imports: dict[str, set[str]], required: set[str]) -> list[str]:
    """The imports whose distribution the requirements do not name, as messages."""
    providers = importlib.metadata.packages_distributions()
    problems = []
    for name, files in sorted(imports.items()):
        dists = {canonicalize_name(d) for d in providers.get(name, [])}
        if not dists:
            problems.append(f"{name} (imported by {', '.join(sorted(files))}) is provided by no installed distribution")
        elif not dists & required:
            problems.append(f"{name} (imported by {', '.join(sorted(files))}) needs one of {sorted(dists)}")
    return problems


def fqcn_collections(*folders: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.y*ml")):
            for collection in FQCN.findall(path.read_text()):
                if collection != "ansible.builtin":
                    found.setdefault(collection, set()).add(os.path.relpath(path, ROOT))
    return found


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("OOB_EE_CONTEXT")
    if given:
        return Path(given)
    if not BUILDER.exists():
        pytest.fail(f"{BUILDER} is missing: ansible-builder is in requirements-dev.txt (make lab-deps installs it)")
    out = tmp_path_factory.mktemp("ee") / "context"
    subprocess.run(
        [str(BUILDER), "create", "-f", str(EE_FILE), "-c", str(out), "--output-filename", "Containerfile"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out


def test_definition_is_schema_3_with_its_files():
    ee = ee_definition()
    assert ee["version"] == 3
    deps = ee["dependencies"]
    assert "ansible-core" in deps["ansible_core"]["package_pip"]
    assert "ansible-runner" in deps["ansible_runner"]["package_pip"]
    for key in ("python", "system", "galaxy"):
        assert (ROOT / deps[key]).is_file(), f"dependencies.{key}: {deps[key]} does not exist"


def test_build_context(context: Path):
    containerfile = (context / "Containerfile").read_text()
    ee = ee_definition()
    assert f'EE_BASE_IMAGE="{ee["images"]["base_image"]["name"]}"' in containerfile
    assert ee["dependencies"]["ansible_core"]["package_pip"] in containerfile
    build = context / "_build"
    for name in ("scripts/assemble", "scripts/install-from-bindep", "scripts/introspect.py", "scripts/entrypoint"):
        assert (build / name).is_file(), name
    # the EE's own files, copied as they are
    deps = ee["dependencies"]
    for key, copied in (("python", "requirements.txt"), ("system", "bindep.txt"), ("galaxy", "requirements.yml")):
        assert (build / copied).read_text() == (ROOT / deps[key]).read_text(), f"_build/{copied}"
        assert f"_build/{copied}" in containerfile or copied == "requirements.yml"


def test_python_requirements_cover_the_plugins_imports():
    required = {canonicalize_name(r.name) for r in requirement_lines(ROOT / ee_definition()["dependencies"]["python"])}
    imports = plugin_imports(ROOT / "plugins")
    assert imports, "no third-party import found under plugins/: the scan is broken"
    assert missing_distributions(imports, required) == []


def test_missing_requirement_is_reported():
    # the check itself can fail: without ldap3, oob_ldap's import is reported
    imports = plugin_imports(ROOT / "plugins")
    required = {canonicalize_name(r.name) for r in requirement_lines(ROOT / ee_definition()["dependencies"]["python"])}
    problems = missing_distributions(imports, required - {"ldap3"})
    assert len(problems) == 1
    assert problems[0].startswith("ldap3 (imported by plugins/module_utils/ldap/connection.py)")


def test_python_requirements_match_the_projects_ranges():
    ee = {canonicalize_name(r.name): r for r in requirement_lines(ROOT / ee_definition()["dependencies"]["python"])}
    project = {canonicalize_name(r.name): r for r in requirement_lines(ROOT / "requirements.txt")}
    for name, req in ee.items():
        if name in project:
            assert req.specifier == project[name].specifier, f"{name}: {req} here, {project[name]} in requirements.txt"
            assert req.extras == project[name].extras, f"{name}: extras differ"


def test_project_requirements_are_what_runs_on_a_controller():
    """requirements.txt (the product, make deps) names what the plugins import and ansible-core, nothing else: the
    lab's, the tests' and the linters' packages are in requirements-dev.txt, which includes it."""
    project = {canonicalize_name(r.name) for r in requirement_lines(ROOT / "requirements.txt")}
    ee = {canonicalize_name(r.name) for r in requirement_lines(ROOT / ee_definition()["dependencies"]["python"])}
    assert project - {"ansible-core"} == ee, "requirements.txt and ee/requirements.txt name different packages"
    assert missing_distributions(plugin_imports(ROOT / "plugins"), project) == []
    dev_lines = [line.split("#", 1)[0].strip() for line in (ROOT / "requirements-dev.txt").read_text().splitlines()]
    assert "-r requirements.txt" in dev_lines
    dev = {canonicalize_name(Requirement(line).name) for line in dev_lines if line and not line.startswith("-")}
    assert {"pytest", "molecule", "ansible-lint", "scapy", "ansible-builder"} <= dev
    assert not dev & project, f"{sorted(dev & project)} in both requirements files"


def test_winrm_with_kerberos_and_its_system_packages():
    reqs = {canonicalize_name(r.name): r for r in requirement_lines(ROOT / ee_definition()["dependencies"]["python"])}
    assert "kerberos" in reqs["pywinrm"].extras
    bindep = (ROOT / ee_definition()["dependencies"]["system"]).read_text()
    for line in ("krb5-workstation [platform:rpm]", "krb5-devel [platform:rpm compile]", "libkrb5-dev [platform:dpkg"):
        assert line in bindep


def test_bindep_parses():
    bindep = shutil.which("bindep", path=str(BUILDER.parent))
    if not bindep:
        pytest.fail("bindep is missing: ansible-builder installs it")
    path = ROOT / ee_definition()["dependencies"]["system"]
    # exit 1 lists the missing packages; a parse error exits with another code
    result = subprocess.run([bindep, "-b", "-f", str(path), "compile"], capture_output=True, text=True, timeout=60)
    assert result.returncode in {0, 1}, result.stderr


def test_collections_cover_the_fqcns():
    galaxy = yaml.safe_load((ROOT / ee_definition()["dependencies"]["galaxy"]).read_text())
    listed = {c["name"] for c in galaxy["collections"]}
    used = fqcn_collections(ROOT / "roles", ROOT / "playbooks")
    assert used, "no collection FQCN found in roles/ or playbooks/: the scan is broken"
    missing = {name: sorted(files) for name, files in used.items() if name not in listed}
    assert missing == {}


def test_fqcn_scan_ignores_builtin_and_variables(tmp_path: Path):
    (tmp_path / "tasks.yml").write_text(
        "- ansible.builtin.debug: {msg: '{{ oob_ldap.ca_file.x }}'}\n- community.windows.win_firewall_rule: {}\n"
    )
    assert set(fqcn_collections(tmp_path)) == {"community.windows"}


def test_image_tag_is_a_pinned_version_that_awx_uses():
    tags = ee_definition()["options"]["tags"]
    assert tags, "options.tags: the image needs a tag"
    for tag in tags:
        name, _, version = tag.rpartition(":")
        assert name and re.fullmatch(r"\d+(\.\d+)*", version), f"{tag}: the tag must be a version, not {version!r}"
    awx = yaml.safe_load((ROOT / "awx" / "job_templates.yml").read_text())
    image = awx["oob_awx_ee_image"]
    assert any(image.endswith("/" + tag) for tag in tags), f"awx/job_templates.yml runs {image}, the EE is {tags}"


def test_no_collection_that_only_the_benchmarks_need():
    # bench/ and awx/configure.yml run on the developer's machine: their collections stay out of the image
    galaxy = yaml.safe_load((ROOT / ee_definition()["dependencies"]["galaxy"]).read_text())
    listed = {c["name"] for c in galaxy["collections"]}
    dev = {
        c["name"] for c in yaml.safe_load((ROOT / "collections" / "requirements-dev.yml").read_text())["collections"]
    }
    assert dev >= {"community.general", "awx.awx"}
    used = set(fqcn_collections(ROOT / "roles", ROOT / "playbooks"))
    assert listed & (dev - used) == set(), "a collection of the developer's machine only is in the EE"
    bench = " ".join(path.read_text() for path in (ROOT / "bench").glob("*.py"))
    assert "community.general." in bench, (
        "the benchmark no longer uses community.general: drop it from requirements-dev"
    )
