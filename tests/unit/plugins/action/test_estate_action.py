"""The action plugin oob.prep.estate as Ansible runs it: ansible-playbook on localhost, a temporary inventory.

Nothing connects anywhere (the controller is localhost, connection local). The expected values are written out from
the estate below and the defaults of roles/oob_estate/meta/argument_specs.yml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[4]
BIN = Path(sys.executable).parent
SECRET = "Pa55-not-for-logs"
ESTATE = {
    "oob_forest": {
        "dns_name": "corp.example.com",
        "servers": [{"host": "dc01.corp.example.com", "address": "192.0.2.10"}],
    },
    "oob_domains": [{"dns_name": "corp.example.com", "servers": ["dc01.corp.example.com"]}],
    "oob_amt_container": {"path": ["AMT Computers"]},
    "oob_ldap": {"auth": "simple", "bind_user": "admin@corp.example.com", "bind_password": "{{ vault_bind_password }}"},
    "oob_site_server": {"computer_account": "SCCM01$"},
    "oob_service_point": {"fqdn": "oobsp.corp.example.com", "ipv4": "192.0.2.20", "computer_account": "OOBSP$"},
    "oob_enterprise_ca": {"name": "CORP-CA", "host": "ca01.corp.example.com"},
    "oob_amt_subnets": [{"network": "198.18.0.0/24", "domain_name": "AMT.corp.example.com"}],
    "oob_dhcp": {"kea": {"url": "https://dhcp01.corp.example.com:8000/", "password": SECRET}},
    "oob_dns": {"ttl": 600},
}
# a second playbook's estate play in the same run (site.yml imports one per area) and a role's registered oob_* result
PLAYBOOK = """
- ansible.builtin.import_playbook: {root}/playbooks/estate.yml
- name: A role registers a result
  hosts: oob_controller
  gather_facts: false
  tasks:
    - name: Register
      ansible.builtin.set_fact:
        oob_dns_checks: [1]
- ansible.builtin.import_playbook: {root}/playbooks/estate.yml
- name: Write the facts
  hosts: oob_controller
  gather_facts: false
  tasks:
    - name: Write
      ansible.builtin.copy:
        dest: "{{{{ facts_file }}}}"
        content: >-
          {{{{ {{'dns': oob_estate_dns, 'templates': oob_estate_amt_templates, 'container': oob_estate_amt_container,
              'dhcp': oob_estate_dhcp, 'suffixes': oob_estate_amt_suffixes, 'site': oob_estate_site_domain,
              'discovery': oob_estate_amt_discovery, 'network': oob_estate_network, 'reports': oob_estate_reports}}
             | to_json }}}}
"""


@pytest.fixture()
def inventory(tmp_path) -> Path:
    inv = tmp_path / "inv"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "hosts.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "oob_controller": {
                            "hosts": {
                                "localhost": {
                                    "ansible_connection": "local",
                                    "ansible_python_interpreter": sys.executable,
                                }
                            }
                        }
                    }
                }
            }
        )
    )
    (inv / "group_vars" / "all" / "estate.yml").write_text(yaml.safe_dump(ESTATE))
    (inv / "group_vars" / "all" / "vault.yml").write_text(yaml.safe_dump({"vault_bind_password": SECRET}))
    (tmp_path / "play.yml").write_text(PLAYBOOK.format(root=ROOT))
    return inv


def edit(inv: Path, change) -> None:
    path = inv / "group_vars" / "all" / "estate.yml"
    estate = yaml.safe_load(path.read_text())
    change(estate)
    path.write_text(yaml.safe_dump(estate))


def play(inv: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    facts = inv.parent / "facts.json"
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_HOME": str(ROOT / ".cache" / "ansible")}  # fmt: skip
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), str(inv.parent / "play.yml"),
                           "-e", f"facts_file={facts}", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    return proc, facts


def test_a_good_estate_gives_the_facts_with_the_specs_defaults(inventory):
    proc, facts_file = play(inventory)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    facts = json.loads(facts_file.read_text())
    assert facts["dns"] == {
        "backend": "rfc2136", "record_name": "ProvisionServer", "record_type": "CNAME", "ttl": 600,
        "replace_conflicts": False, "server": {"host": "dc01.corp.example.com", "address": "192.0.2.10"},
        "suffix_servers": {}, "auth": "gss-tsig", "bind_user": "", "bind_password": "",
        "tsig": {"algorithm": "hmac-sha256"}, "krb5_config": "", "windows_server": "",
    }  # fmt: skip
    assert facts["templates"]["provisioning"] == {
        "name": "ConfigMgrAMTProvisioning",
        "display_name": "ConfigMgr AMT Provisioning",
        "subject": "from_ad",
    }
    assert facts["templates"]["web_server"]["name"] == "ConfigMgrAMTWebServerCertificate"
    assert facts["container"]["object_class"] == "organizationalUnit" and facts["container"]["protect_from_deletion"]
    assert facts["dhcp"]["kea"] == {"url": "https://dhcp01.corp.example.com:8000/", "password": SECRET,
                                    "validate_certs": True, "timeout": 10.0}  # fmt: skip
    assert facts["suffixes"] == ["amt.corp.example.com"]
    assert facts["site"] == {"dns_name": "corp.example.com", "servers": ESTATE["oob_forest"]["servers"]}
    assert facts["discovery"]["wsman_port"] == 16993 and facts["discovery"]["username"] == "admin"
    assert facts["network"]["scope"] == "ports" and facts["reports"] == {"keep": 30}
    # two tasks per estate play (validate; set_fact), their results not shown (they hold the secrets)
    assert proc.stdout.count("TASK [oob.prep.oob_estate : ") == 4, proc.stdout
    assert "Validating arguments against arg spec" not in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr


def test_check_mode_gives_the_facts_too(inventory):
    proc, _ = play(inventory, "--check")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr


def test_a_bad_estate_fails_once_naming_each_problem_and_no_secret(inventory):
    def change(estate):
        estate["oob_ldap"]["bind_user"] = ""
        estate["oob_ldap"]["tls"] = "ssl"
        estate["oob_site_server"]["domain"] = "elsewhere.example"
        estate["oob_dhcp"]["kea"]["timeout"] = SECRET  # a wrong type beside a secret: never echoed
        del estate["oob_enterprise_ca"]
        estate["oob_amt_contianer"] = {"path": ["x"]}

    edit(inventory, change)
    proc, facts = play(inventory, "-v")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and not facts.exists()
    for message in (
        "missing required arguments: oob_enterprise_ca",
        "value of tls must be one of: ldaps, starttls, none, got: ssl found in oob_ldap",
        "oob_ldap.auth is simple, so oob_ldap.bind_user and oob_ldap.bind_password are needed",
        "oob_site_server.domain elsewhere.example is neither oob_forest.dns_name (corp.example.com)",
        "unknown variable oob_amt_contianer (did you mean oob_amt_container?)",
        "oob_dhcp",
    ):
        assert message in out, out[-4000:]
    assert out.count("fatal: [localhost]") == 1 and "The estate has 6 problem(s):" in out, out[-4000:]
    assert SECRET not in out and "Traceback" not in out
    assert "PLAY [A role registers a result]" not in out


def test_an_unknown_extra_var_fails_naming_it(inventory):
    proc, _ = play(inventory, "-e", '{"oob_amt_container_path": ["x"]}')
    assert proc.returncode != 0
    assert "unknown variable oob_amt_container_path (did you mean oob_amt_container?)" in proc.stdout, proc.stdout
    proc, _ = play(inventory, "-e", "oob_dns_ttl=60")
    assert proc.returncode != 0
    assert "role variable(s) oob_dns_ttl are set in the inventory or as extra vars" in proc.stdout, proc.stdout


def test_no_secret_and_no_stale_marker_in_a_fact_cache(inventory, monkeypatch):
    """With a fact cache (jsonfile here; AWX's use_fact_cache alike) nothing of the estate is kept on disk (its values
    hold secrets), and the next run still checks the variable names."""
    cache = inventory.parent / "fact-cache"
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN", "jsonfile")
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(cache))
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_TIMEOUT", "3600")
    proc, _ = play(inventory)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    cached = "".join(f.read_text() for f in cache.glob("*")) if cache.exists() else ""
    assert SECRET not in cached and "oob_estate" not in cached, cached[:2000]
    proc, _ = play(inventory, "-e", '{"oob_amt_container_path": ["x"]}')
    assert proc.returncode != 0
    assert "unknown variable oob_amt_container_path" in proc.stdout, proc.stdout


def test_the_playbooks_own_play_vars_are_not_inventory_variables(inventory):
    """A play var of the project's playbooks (remediate.yml gives verify.yml oob_report_fail: false) is not set in the
    inventory nor as an extra var: not refused. The same name as an extra var is."""
    book = inventory.parent / "play.yml"
    book.write_text(
        book.read_text().replace(
            f"- ansible.builtin.import_playbook: {ROOT}/playbooks/estate.yml\n",
            f"- ansible.builtin.import_playbook: {ROOT}/playbooks/estate.yml\n  vars:\n    oob_report_fail: false\n",
            1,
        )
    )
    proc, _ = play(inventory)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    proc, _ = play(inventory, "-e", "oob_report_fail=false")
    assert proc.returncode != 0 and "role variable(s) oob_report_fail" in proc.stdout, proc.stdout[-3000:]
