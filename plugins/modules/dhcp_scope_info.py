#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dhcp_scope_info
short_description: Check the DHCP scopes of the AMT subnets (active, options 006 and 015, dynamic DNS)
description:
  - Read-only readiness checks for the seed rows "DHCP server with an active scope" and "the DHCP scope options
    include DNS servers (006) and Domain name (015) and ... the DHCP server dynamically updates DNS with the computer
    resource record".
  - Reads the server exactly as C(dhcp_scope) does and makes the same plan; every setting that module would change
    is a failed check, so converge and verify share one notion of right. Never writes.
  - Check ids per scope - C(dhcp.scope.<network>.active) (row C(dhcp_active_scope)); C(.option_006),
    C(.option_015) and C(.ddns) (row C(dhcp_options_006_015_ddns)). A scope the server does not have is a failed
    C(.active) check, not a module failure.
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.dhcp
  - oob.prep.oob_dhcp
attributes:
  check_mode:
    support: full
    description: Read-only; the same checks run in check mode.
"""

EXAMPLES = r"""
- name: Are the AMT scopes ready?
  dhcp_scope_info:
    kea:
      control_socket: /run/kea/kea4-ctrl-socket
      d2_control_socket: /run/kea/kea-ddns-ctrl-socket
    tsig: "{{ vault_oob_dhcp_tsig }}"
    scopes:
      - network: 10.20.0.0/16
        dns_servers: [10.1.0.10]
        domain_name: corp.example.com
  register: dhcp_ready
"""

RETURN = r"""
checks:
  description:
    - Every check with its id, the seed row it belongs to, status (V(pass), V(fail), or V(warn) for an option only a
      client class, user class or policy carries), evidence (for an option, where its value comes from - the scope,
      a shared network, the global or the server level) and remedy.
  returned: always
  type: list
  elements: dict
failed_checks:
  description: The checks that failed.
  returned: always
  type: list
  elements: dict
warned_checks:
  description: The checks that warned.
  returned: always
  type: list
  elements: dict
scopes:
  description: Per scope, whether it exists and is active, and its id.
  returned: always
  type: dict
settings:
  description: The settings read, per target (scope network, C(dhcp4), C(d2)); a TSIG secret as a digest.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit, summary
from ansible_collections.oob.prep.plugins.module_utils.dhcp.backends import argument_spec, read_scopes
from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import OobDhcpError, checks


def run(module) -> dict:
    scopes, backend, planned = read_scopes(module.params, open_url=open_url)
    rows = checks(scopes, planned["state"], planned["desired"], planned["changes"], backend.server)
    return {"changed": False, "scopes": planned["state"], "settings": planned["settings"], **summary(rows)}


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_and_exit(module, run, (OobDhcpError,))


if __name__ == "__main__":
    main()
