# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action groups of meta/runtime.yml, one per external system: module_defaults gives a group's settings once."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
"""

    LDAP = r"""
attributes:
  action_group:
    description: >-
      Use C(group/oob.prep.ldap) in C(module_defaults) to give the LDAP connection (O(connection)) and the DCs
      once for every module of the group (meta/runtime.yml).
    support: full
    membership:
      - oob.prep.ldap
"""

    LDAP_DNS = r"""
attributes:
  action_group:
    description: >-
      Use C(group/oob.prep.ldap) in C(module_defaults) to give the LDAP connection (O(connection)) and the DNS
      settings once for every module of the group (meta/runtime.yml).
    support: full
    membership:
      - oob.prep.ldap
      - oob.prep.dns
"""

    DNS = r"""
attributes:
  action_group:
    description: >-
      Use C(group/oob.prep.dns) in C(module_defaults) to give the DNS server and its update credentials once for
      every module of the group (meta/runtime.yml).
    support: full
    membership:
      - oob.prep.dns
"""

    DHCP = r"""
attributes:
  action_group:
    description: >-
      Use C(group/oob.prep.dhcp) in C(module_defaults) to give the DHCP server's backend settings (O(kea),
      O(windows), O(tsig)) once for every module of the group (meta/runtime.yml).
    support: full
    membership:
      - oob.prep.dhcp
"""

    AMT = r"""
attributes:
  action_group:
    description: >-
      Use C(group/oob.prep.amt) in C(module_defaults) to give the AMT credentials and TLS settings once for every
      module of the group (meta/runtime.yml).
    support: full
    membership:
      - oob.prep.amt
"""

    NETWORK = r"""
attributes:
  action_group:
    description: >-
      Use C(group/oob.prep.network) in C(module_defaults) to give the probe and rendering settings once for every
      module of the group (meta/runtime.yml).
    support: full
    membership:
      - oob.prep.network
"""

    REPORT = r"""
attributes:
  action_group:
    description: >-
      Use C(group/oob.prep.report) in C(module_defaults) to give the report's folder and environment once for
      every module of the group (meta/runtime.yml).
    support: full
    membership:
      - oob.prep.report
"""
