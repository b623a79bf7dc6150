#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dhcp_scope
short_description: Options 006 and 015 and dynamic DNS on the DHCP scopes of the AMT subnets
description:
  - For each scope of O(scopes), ensures what an AMT device needs from DHCP to find its provisioning server
    (ConfigMgr's log says "incorrect network configuration (DHCP option 6 and 15 required)" otherwise) - option 006
    (DNS servers, in order) and option 015 (the DNS suffix) offered to the scope (set on the scope, or inherited -
    Kea from its shared network or the global level, Windows from the server level; see O(copy_inherited)) - and
    that the DHCP server always
    updates DNS with the clients' A and PTR records, also for clients that do not ask (AMT devices cannot make secure
    DNS updates themselves).
  - Only those settings change. Pools, reservations, other options and the server's other scopes stay exactly as
    they were. A scope the server does not have is an error naming it; a subnet is never created.
  - Kea (O(backend=kea)) - reads C(config-get) of kea-dhcp4 and kea-dhcp-ddns, plans, and for each daemon that
    needs a change sends C(config-test) (nothing is set when it fails), C(config-set) and C(config-write) so that
    the change survives a restart; kea-dhcp-ddns first (the DNS domains and the TSIG key), kea-dhcp4 second (the
    scope's options, C(ddns-send-updates), C(ddns-override-client-update), C(ddns-override-no-update),
    C(ddns-qualifying-suffix), and C(dhcp-ddns) pointed at kea-dhcp-ddns). A configuration that changed while the
    module planned is not overwritten. Then the module reads back and fails if the server does not hold the plan.
  - Windows (O(backend=windows)) - the DhcpServer cmdlets (Windows Server 2012 and later) or C(netsh dhcp)
    (earlier), over WinRM; options 006 and 015 are read at scope and server level and written at scope level only;
    "always dynamically update DNS A and PTR records" and "dynamically update DNS records for DHCP clients that do
    not request updates" at scope level.
  - Check mode reads only. The diff shows each changed setting before and after (a TSIG secret as a digest).
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.dhcp
  - oob.prep.oob_dhcp
attributes:
  check_mode:
    support: full
    description: Reads and plans only; nothing is sent to the server but reads.
  diff_mode:
    support: full
    description: Each changed setting before and after, per scope and daemon (a TSIG secret as a digest).
notes:
  - Kea has no compare-and-swap on its configuration. The module compares a hash of C(config-get) just before
    C(config-set) with the one it planned from; an edit by someone else in the milliseconds between is lost.
  - Kea's GSS-TSIG hook (for Active Directory zones that take only secure updates) is not free software; send the
    updates to a DNS server that takes TSIG, or to a zone that takes nonsecure updates (see the role's README).
"""

EXAMPLES = r"""
- name: Options 006 and 015 and dynamic DNS on the AMT scope (Kea on this host)
  dhcp_scope:
    backend: kea
    kea:
      control_socket: /run/kea/kea4-ctrl-socket
      d2_control_socket: /run/kea/kea-ddns-ctrl-socket
    tsig: "{{ vault_oob_dhcp_tsig }}"
    scopes:
      - network: 10.20.0.0/16
        dns_servers: [10.1.0.10, 10.1.0.11]
        domain_name: corp.example.com
        ddns:
          servers: [10.1.0.53]

- name: The same on a Windows DHCP server
  dhcp_scope:
    backend: windows
    windows:
      host: dhcp1.corp.example.com
      ca_file: /etc/pki/corp-ca.pem
    scopes:
      - network: 10.20.0.0/16
        dns_servers: [10.1.0.10, 10.1.0.11]
        domain_name: corp.example.com
"""

RETURN = r"""
changes:
  description: Each setting that differed, with C(target) (the scope's network, C(dhcp4) for kea-dhcp4's server-wide
    C(dhcp-ddns) settings, or C(d2) for kea-dhcp-ddns), C(key), C(before) and C(after).
  returned: always
  type: list
  elements: dict
scopes:
  description: Per scope, whether it exists and is active, and its id.
  returned: always
  type: dict
written:
  description: The daemons whose configuration was set and written (Kea), or C(windows).
  returned: always
  type: list
  elements: str
config_hash:
  description: Kea only - the SHA-256 of each daemon's C(config-get) before and after the run.
  returned: when O(backend=kea)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit
from ansible_collections.oob.prep.plugins.module_utils.dhcp.backends import argument_spec, read_and_plan, read_scopes
from ansible_collections.oob.prep.plugins.module_utils.dhcp.kea import config_hash
from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import OobDhcpError, diff, missing_scopes


def run(module) -> dict:
    scopes, backend, planned = read_scopes(module.params, open_url=open_url)
    missing = missing_scopes(scopes, planned["state"])
    if missing:
        raise OobDhcpError("scope", f"{backend.server} has no scope {', '.join(missing)}: create it there (this module "
                                    "never creates a subnet the estate did not describe as a scope), or correct "
                                    "oob_amt_subnets")  # fmt: skip
    hashes = {t: config_hash(c) for t, c in getattr(backend, "configs", {}).items()}
    written = []
    if planned["changes"] and not module.check_mode:
        written = backend.apply(planned["changes"], hashes)
        again = read_and_plan(backend, scopes)
        if again["changes"]:
            raise OobDhcpError(
                "verify",
                f"{backend.server} does not hold what was set: "
                + "; ".join(f"{c['target']} {c['key']} is {c['before']}" for c in again["changes"]),
            )
    result = {
        "changed": bool(planned["changes"]),
        "changes": planned["changes"],
        "scopes": planned["state"],
        "written": written,
        "diff": diff(planned["changes"]),
    }
    if hashes:
        after = {t: config_hash(c) for t, c in backend.configs.items()}
        result["config_hash"] = {"before": hashes, "after": after}
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_and_exit(module, run, (OobDhcpError,))


if __name__ == "__main__":
    main()
