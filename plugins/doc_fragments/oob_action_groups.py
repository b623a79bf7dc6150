# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action groups of meta/runtime.yml, one per external system: module_defaults gives a group's settings once."""

from __future__ import annotations


def _group(name: str, what: str, extra: str = "") -> str:
    membership = "\n".join(f"      - oob.prep.{g}" for g in [name, *([extra] if extra else [])])
    return f"""
attributes:
  action_group:
    description: >-
      Use C(group/oob.prep.{name}) in C(module_defaults) to give {what} once for every module of the group
      (meta/runtime.yml).
    support: full
    membership:
{membership}
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
"""
    LDAP = _group("ldap", "the LDAP connection (O(connection)) and the DCs")
    LDAP_DNS = _group("ldap", "the LDAP connection (O(connection)) and the DNS settings", "dns")
    DNS = _group("dns", "the DNS server and its update credentials")
    DHCP = _group("dhcp", "the DHCP server's backend settings (O(kea), O(windows), O(tsig))")
    AMT = _group("amt", "the AMT credentials and TLS settings")
    NETWORK = _group("network", "the probe and rendering settings")
    REPORT = _group("report", "the report's folder and environment")
