# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: oob_estate
short_description: The estate's Windows hosts (group_vars/all/estate.yml) as inventory hosts in their groups
description:
  - "Reads the environment's estate file, where every host is described once, and adds each host marked
    C(windows) as an inventory host, so that C(ansible-inventory --graph), C(--limit) and AWX's host list show it.
    The estate is not copied anywhere: C(hosts.yml) only declares the groups and, on C(oob_windows), how Ansible
    reaches them (WinRM)."
  - "Hosts: C(oob_service_point.fqdn), every C(oob_consoles[].fqdn) and C(oob_enterprise_ca.host) marked
    C(windows: true), and C(oob_dns.windows_server) with C(oob_dns.backend: windows)."
  - "Groups: C(oob_windows) and the host's role group (C(oob_service_points), C(oob_consoles),
    C(oob_certification_authorities), C(oob_dns_servers)); a host marked C(legacy_os) (NT 5.x, which Ansible cannot
    manage) joins C(oob_windows_legacy) only. A host named twice (a console on the service point) gets both groups.
    And those of O(keyed_groups) and O(groups)."
  - "Host vars: C(ansible_host) (its name), C(oob_windows_roles) (C(service_point), C(console): what
    C(oob_windows_prereqs) checks)."
  - The estate is read with the inventory's loader, so a value vaulted as a string (C(!vault)) opens with the
    run's vault password. Only the names and C(windows)/C(legacy_os) flags of the hosts above (and
    C(oob_dns.backend)) are read, so other vaulted values need no password. Host names must be written out (not
    vaulted, not a template) where the inventory is built without a vault password, as in an AWX inventory sync.
  - The role C(oob_estate) checks at run time, from the same code, that the inventory holds exactly these hosts in
    these groups, and fails naming the host when it does not (this source missing, or a host added by hand).
  - "The inventory file's name must end in C(oob_estate.yml) or C(oob_estate.yaml) and it must say
    C(plugin: oob_estate)."
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [oob.prep.oob_estate, oob_estate]
  estate:
    description: The estate file, relative to this inventory file's folder (or absolute; C(~) is expanded).
    type: str
    default: group_vars/all/estate.yml
"""

EXAMPLES = r"""
# inventories/<env>/estate.oob_estate.yml
plugin: oob_estate
# estate: group_vars/all/estate.yml     # the default

# ansible-inventory -i inventories/<env> --graph
# ansible-playbook -i inventories/<env> playbooks/windows.yml --limit sccm01.corp.example.com
"""

import os  # noqa: E402 - DOCUMENTATION and EXAMPLES come first, as Ansible requires
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

import ansible.module_utils  # noqa: E402

# A playbook project's module_utils folder (ansible.cfg module_utils) is merged into ansible.module_utils for modules
# only; a controller-side plugin puts it on the package's path itself (as oob_amt.py does).
_MODULE_UTILS = str(Path(__file__).resolve().parents[1] / "module_utils")
if _MODULE_UTILS not in ansible.module_utils.__path__:  # type: ignore[attr-defined]
    ansible.module_utils.__path__.append(_MODULE_UTILS)  # type: ignore[attr-defined]

from ansible.errors import AnsibleError, AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable  # noqa: E402
from ansible_collections.oob.prep.plugins.module_utils.estate.hosts import ESTATE_GROUPS, estate_hosts  # noqa: E402


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "oob_estate"  # the source may say oob.prep.oob_estate: the loader accepts the name it was loaded by
    # Its values are host names (estate_hosts refuses a template in them) and role names: plain data, so
    # ansible-inventory --list (and what AWX stores of a sync) shows them as such, not as {"__ansible_unsafe": ...}.
    trusted_by_default = True

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("oob_estate.yml", "oob_estate.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        folder = os.path.dirname(os.path.abspath(path))
        estate_path = os.path.join(folder, os.path.expanduser(self.get_option("estate")))
        if not os.path.isfile(estate_path):
            raise AnsibleParserError(f"oob_estate: the estate file {estate_path} does not exist (option estate)")
        try:
            estate = self.loader.load_from_file(estate_path, cache="none")
        except AnsibleError as exc:
            raise AnsibleParserError(f"oob_estate: {estate_path}: {exc.message}") from None
        if not isinstance(estate, Mapping):
            raise AnsibleParserError(f"oob_estate: {estate_path} holds no variables (a YAML mapping)")
        try:
            hosts = estate_hosts(estate)
        except ValueError as exc:  # a host without a usable name; a vaulted one that no vault secret opens
            raise AnsibleParserError(f"oob_estate: {estate_path}: {exc}") from None
        self._populate(hosts)

    def _populate(self, hosts: dict[str, dict]) -> None:
        strict = self.get_option("strict")
        for group in ESTATE_GROUPS:
            self.inventory.add_group(group)
        for name, host in hosts.items():
            self.inventory.add_host(name)
            hostvars = {"ansible_host": name, "oob_windows_roles": list(host["oob_windows_roles"])}
            for var, value in hostvars.items():
                self.inventory.set_variable(name, var, value)
            for group in host["groups"]:
                self.inventory.add_child(group, name)
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
