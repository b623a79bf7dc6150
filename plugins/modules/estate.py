#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the action plugin oob.prep.estate (plugins/action/estate.py): it runs on the controller only,
# no module is transferred.

from __future__ import annotations

DOCUMENTATION = r"""
module: estate
short_description: Validate the estate once and derive the values the roles get
description:
  - Validates the estate variables (every C(oob_*) variable of C(inventories/<env>/group_vars/all)) against the option
    spec of the role C(oob.prep.oob_estate) (C(roles/oob_estate/meta/argument_specs.yml), the one description of the
    estate's keys and defaults) with ansible-core's C(ArgumentSpecValidator), which fills every default.
  - Also checks what a spec cannot say - the cross-field rules (the site server's domain, LDAP bind and TLS, the CA
    file, the AMT container's names, IPv4 only, the DNS and DHCP backends, the probe hosts' subnets), every C(oob_*)
    variable of the inventory or the extra vars that the estate does not know (a role variable that the playbooks
    would override, a misspelt key), and that the inventory holds the estate's Windows hosts in their groups.
  - Fails once, listing every problem, each naming the variable or host; the values of C(no_log) options (passwords,
    TSIG secrets) are masked. On success the result is not shown (it holds the estate's secrets).
  - Reads only; runs on the controller, in check mode too. The role C(oob.prep.oob_estate) is this task and a
    C(set_fact) of RV(estate) (set_fact keeps the values out of any fact cache; facts an action returns are cached).
version_added: "1.1.0"
author: oob-prep contributors (@oob-prep)
options: {}
attributes:
  check_mode:
    description: Reads only; the same in check mode.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
  platform:
    description: The controller (an action plugin).
    support: full
    platforms: posix
notes:
  - The inventory's and the extra vars' C(oob_*) names are checked by the first validation of a run (before any role
    registered a result); the later ones in the same run (each playbook of C(site.yml) starts with it) skip that check.
"""

EXAMPLES = r"""
- name: Validate the estate
  hosts: oob_controller
  gather_facts: false
  tasks:
    - name: Validate the estate and derive the values the roles get
      oob.prep.estate:
      register: estate

    - name: The ProvisionServer record's TTL, its default filled from the spec
      ansible.builtin.debug:
        msg: "{{ estate.estate.oob_estate_dns.ttl }}"
"""

RETURN = r"""
estate:
  description: The normalised estate, every default filled (options nobody gave and without a default are left out).
  returned: success
  type: complex
  contains:
    oob_estate_checked:
      description: True; a later validation in the same run skips the check of the variable names.
      type: bool
      returned: success
    oob_estate_amt_container:
      description: C(oob_amt_container) with its defaults.
      type: dict
      returned: success
    oob_estate_amt_templates:
      description: The two AMT templates' names, display names and the provisioning subject, with their defaults.
      type: dict
      returned: success
    oob_estate_dns:
      description: C(oob_dns) with its defaults; C(server) is the first DC of the forest root when not given.
      type: dict
      returned: success
    oob_estate_amt_discovery:
      description: C(oob_amt_discovery) with its defaults.
      type: dict
      returned: success
    oob_estate_network:
      description: C(oob_network) with its defaults.
      type: dict
      returned: success
    oob_estate_dhcp:
      description: C(oob_dhcp) with its defaults.
      type: dict
      returned: success
    oob_estate_reports:
      description: C(oob_reports) with its defaults.
      type: dict
      returned: success
    oob_estate_amt_suffixes:
      description: The AMT DNS suffixes (the subnets' C(domain_name)), lower case, each once, in order.
      type: list
      elements: str
      returned: success
    oob_estate_site_domain:
      description: The site server's domain (C(dns_name)) with its DCs (C(servers)), and C(base_dn) when it has one.
      type: dict
      returned: success
msg:
  description: What failed, one line per problem.
  returned: failure
  type: str
"""
