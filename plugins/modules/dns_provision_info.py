#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_provision_info
short_description: Check the DNS that out of band management depends on, from every authoritative server
description:
  - Read-only readiness checks of DNS for ConfigMgr 2007 SP1 out of band management. Sends DNS queries without
    recursion (RD off) from the controller, and optionally reads the zones' dynamic-update setting from AD over LDAP.
    Never sends an update.
  - For each AMT DNS suffix of O(suffixes), the zone that holds it is found from the SOA that O(server) returns, then
    the zone's name servers (an NS query at O(server)) and their addresses (A queries at O(server)). Every
    authoritative server of the zone is then asked for C(<record_name>.<suffix>); its answer must lead to
    O(service_point_ipv4), through a CNAME when there is one (the target's A is taken from the same answer, else
    asked of the same server, else of the servers of the target's own zone). One check per suffix per server.
  - The service point (O(service_point_fqdn)) and each console of O(consoles) must resolve through DNS, on every
    authoritative server of its own zone (found the same way), to the IPv4 address given. A name that DNS does not
    resolve fails with a message saying that only WINS or a hosts file could resolve it, and DNS is required.
  - The PTR record of each of those addresses is checked at O(server) where it holds the reverse zone; without a
    reverse zone the check is skipped.
  - With O(ldap_servers) and O(domains), each zone's C(dNSProperty) is read from the C(DomainDnsZones) and
    C(ForestDnsZones) partitions and the legacy C(CN=MicrosoftDNS,CN=System) container (one LDAP search per
    partition for all the zones). A zone that takes non-secure dynamic updates is a warning, because anyone on the
    network could then register ProvisionServer and point AMT devices elsewhere (ConfigMgr's documentation calls
    ProvisionServer spoofing a risk).
  - Each check is returned as C({id, row, status, evidence, remedy}) with status V(pass), V(fail), V(warn) or V(skip)
    (a check that cannot be made, with the reason or the failed check it depends on). The module fails only when
    its input is wrong, O(server) itself does not answer, or the LDAP connection fails; findings about the estate,
    an authoritative server that does not answer included, are check rows. Roles assert on RV(failed_checks).
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
options:
  suffixes:
    description: The AMT devices' DNS suffixes (DHCP option 15 of their subnets).
    type: list
    elements: str
    required: true
  record_name:
    description: The name AMT devices look up in each suffix.
    type: str
    default: ProvisionServer
  service_point_fqdn:
    description: The out of band service point's FQDN; it must resolve through DNS to O(service_point_ipv4).
    type: str
    required: true
  service_point_ipv4:
    description: The out of band service point's IPv4 address, where C(<record_name>.<suffix>) must lead. IPv4 only.
    type: str
    required: true
  consoles:
    description: The computers that run the out of band management console; each must resolve through DNS.
    type: list
    elements: dict
    default: []
    suboptions:
      fqdn:
        description: The console computer's FQDN.
        type: str
        required: true
      ipv4:
        description: Its IPv4 address, when the A record must hold that one (any address passes otherwise).
        type: str
  server:
    description:
      - The DNS server to start from (usually a DC of the AMT devices' domain). It must hold the zones of the
        suffixes and names checked; the zones' own name servers are found from it. A host name, C(host:port), or a
        dict with C(host), optional C(address) and C(port).
      - A suffix whose zone O(server) does not hold (it refuses, or refers to another server) fails its check, with
        the servers it refers to named.
    type: raw
    required: true
  timeout:
    description:
      - Seconds to wait for each DNS server (5 when not given).
      - For the zone security check, also the seconds to wait for each DC; when not given there, O(connection.timeout),
        else 10.
    type: int
  ldap_servers:
    description:
      - DCs to read the zones' dynamic-update setting from (hosts, C(host:port) or dicts with C(host), C(address),
        C(port)), tried in order. With O(domains); without both, the zone security checks are skipped.
    type: list
    elements: raw
    default: []
  domains:
    description:
      - The AD domains whose C(DomainDnsZones) partition, or whose C(CN=MicrosoftDNS,CN=System) container, may hold
        the zones; the forest's C(ForestDnsZones) partition is searched too. Only partitions the DC of
        O(ldap_servers) holds are searched (its rootDSE C(namingContexts)).
    type: list
    elements: dict
    default: []
    suboptions:
      dns_name:
        description: The domain's DNS name.
        type: str
        required: true
      base_dn:
        description: Its base DN, when it is not the one its DNS name gives.
        type: str
extends_documentation_fragment:
  - oob.prep.oob_action_groups.ldap_dns
  - oob.prep.oob_ldap
attributes:
  check_mode:
    support: full
    description: Read-only; the same queries run in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
notes:
  - Samba's internal DNS server ignores the zone's C(dNSProperty) when it decides whether to accept an update; its
    C(allow dns updates) setting in smb.conf decides. Samba stores "secure only" in every zone it provisions, so on a
    Samba DC the security check reports what AD says, not what the server does.
  - A zone that O(server) only refers to (a delegation) is not followed; run the module again with O(server) set to
    one of the servers named.
  - The module C(dns_provision_record) of this project creates the record these checks look for.
requirements:
  - dnspython >= 2.6 on the controller
seealso:
  - name: RFC 1034, Domain Names - Concepts and Facilities
    description: Section 4.3.1, recursion; the queries here ask for none, so only authoritative data answers.
    link: https://www.rfc-editor.org/rfc/rfc1034
  - name: "[MS-DNSP] 2.3.2.1.1 Property Id"
    description: DSPROPERTY_ZONE_ALLOW_UPDATE, the dNSProperty this module decodes.
    link: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dnsp/3af63871-0cc4-4179-916c-5caade55a8f3
  - name: "[MS-DNSP] 2.2.6.1.1 DNS_ZONE_UPDATE"
    description: Its values (off, nonsecure and secure, secure only).
    link: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dnsp/d4b84209-f00c-478f-80d7-8dd0f1633d9e
"""

EXAMPLES = r"""
- name: Check DNS for out of band management, with the zones' update setting from AD
  dns_provision_info:
    suffixes: [corp.example.com, emea.corp.example.com]
    service_point_fqdn: sccm01.corp.example.com
    service_point_ipv4: 192.0.2.10
    consoles:
      - {fqdn: console1.corp.example.com, ipv4: 192.0.2.21}
    server: {host: dc01.corp.example.com, address: 192.0.2.5}
    ldap_servers: [dc01.corp.example.com]
    domains:
      - dns_name: corp.example.com
    connection: "{{ oob_ldap }}"
  delegate_to: localhost
  register: dns_info

- name: Fail on any failed check
  ansible.builtin.assert:
    that: dns_info.failed_checks | length == 0
    fail_msg: "{{ dns_info.failed_checks | map(attribute='evidence') | list }}"

- name: DNS only (the zone security checks are skipped)
  dns_provision_info:
    suffixes: [amt.example.net]
    service_point_fqdn: oobsp.example.net
    service_point_ipv4: 192.0.2.10
    server: ns1.example.net
    timeout: 3
  delegate_to: localhost
"""

RETURN = r"""
checks:
  description:
    - Every check with its id, the seed row it belongs to, status (V(pass), V(fail), V(warn), V(skip)), evidence and
      remedy (empty when it passes).
    - "Ids: C(dns.suffix.<suffix>.zone) and C(dns.zone.<zone>.ns.<name server>) (row C(dns_name_resolution));
      C(dns.provisionserver.<suffix>.<name server>), or C(dns.provisionserver.<suffix>) when no server can be asked
      (row C(dns_provisionserver)); C(dns.host.<fqdn>.a) (row C(dns_not_wins)); C(dns.host.<fqdn>.ptr) (row
      C(dns_name_resolution)); C(dns.zone.<zone>.updates) for the zones of the suffixes and of the service point (row
      C(dns_auto_registration))."
    - "Rows: C(dns_name_resolution) DNS servers for name resolution; C(dns_provisionserver) DNS might also be needed
      to resolve the host name of ProvisionServer to the IP address of the out of band service point;
      C(dns_not_wins) WINS cannot be used for resolving computer names, and DNS is required;
      C(dns_auto_registration) the DNS host name of ProvisionServer can be automatically registered if DNS supports
      automatic updates."
  returned: success
  type: list
  elements: dict
  sample:
    - id: dns.provisionserver.lab.example.dc1.lab.example
      row: dns_provisionserver
      status: pass
      evidence: "dc1.lab.example (198.51.100.10:53) answered: ProvisionServer.lab.example CNAME oobsp.lab.example,
        oobsp.lab.example A 198.51.100.20: the service point's address"
      remedy: ""
    - id: dns.host.console1.lab.example.a
      row: dns_not_wins
      status: fail
      evidence: "console1.lab.example (console) does not resolve through DNS: dc1.lab.example (198.51.100.10:53)
        answered NXDOMAIN (authoritative for lab.example) for console1.lab.example. Only WINS or a hosts file could
        resolve it; WINS cannot be used for resolving computer names, and DNS is required"
      remedy: "create an A record for console1.lab.example in lab.example"
failed_checks:
  description: The checks whose status is V(fail).
  returned: success
  type: list
  elements: dict
warned_checks:
  description: The checks whose status is V(warn).
  returned: success
  type: list
  elements: dict
zones:
  description:
    - Every zone found, with its authoritative servers (C(host), C(address), null when it has none) and, when LDAP
      was read, its dynamic-update setting (V(off), V(nonsecure and secure), V(secure only), null when unknown) and
      its object's DN (null when it is not AD-integrated or was not read).
  returned: success
  type: dict
  sample:
    lab.example:
      servers: [{host: dc1.lab.example, address: 198.51.100.10}]
      dynamic_updates: secure only
      distinguished_name: DC=lab.example,CN=MicrosoftDNS,DC=DomainDnsZones,DC=lab,DC=example
dns_operations:
  description: DNS queries sent (to every server together), and updates (always 0).
  returned: success
  type: dict
  sample: {queries: 9, updates: 0}
ldap_operations:
  description: LDAP searches and writes (always 0); both 0 when LDAP is not used.
  returned: success
  type: dict
  sample: {searches: 4, writes: 0}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit, summary
from ansible_collections.oob.prep.plugins.module_utils.dns.ad_zones import read_zone_settings
from ansible_collections.oob.prep.plugins.module_utils.dns.checks import (
    name_checks,
    security_checks,
    want_from_params,
    zones_found,
)
from ansible_collections.oob.prep.plugins.module_utils.dns.lookup import Dns
from ansible_collections.oob.prep.plugins.module_utils.dns.plan import DnsError
from ansible_collections.oob.prep.plugins.module_utils.dns.rfc2136 import HAS_DNSPYTHON
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import (
    LdapError,
    check_settings,
    connect,
    ldap_argument_spec,
    merge_connection,
)


def argument_spec() -> dict:
    spec = ldap_argument_spec()  # timeout is shared: DNS (default 5) and LDAP (merge_connection)
    spec.update(
        suffixes=dict(type="list", elements="str", required=True),
        record_name=dict(type="str", default="ProvisionServer"),
        service_point_fqdn=dict(type="str", required=True),
        service_point_ipv4=dict(type="str", required=True),
        consoles=dict(type="list", elements="dict", default=[],
                      options=dict(fqdn=dict(type="str", required=True), ipv4=dict(type="str"))),
        server=dict(type="raw", required=True),
        ldap_servers=dict(type="list", elements="raw", default=[]),
        domains=dict(type="list", elements="dict", default=[],
                     options=dict(dns_name=dict(type="str", required=True), base_dn=dict(type="str"))),
    )  # fmt: skip
    return spec


def run(module) -> dict:
    p = module.params
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"))
    want = want_from_params(p)
    if p["ldap_servers"]:
        merge_connection(p)
        for warning in check_settings(p):
            module.warn(warning)
    dns = Dns(want["server"], want["timeout"])
    checks, secured = name_checks(dns, want)
    found, searched, not_held, ldap_ops = None, [], [], {"searches": 0, "writes": 0}
    if p["ldap_servers"] and secured:
        session = connect(p["ldap_servers"], p)
        try:
            found, searched, not_held = read_zone_settings(session, want["domains"], list(secured))
        finally:
            ldap_ops = dict(session.ops)
            session.close()
    checks += security_checks(secured, found, searched, not_held)
    return {
        "changed": False,
        **summary(checks),
        "zones": zones_found(dns, found),
        "dns_operations": {"queries": dns.queries, "updates": 0},
        "ldap_operations": ldap_ops,
    }


def main() -> None:
    run_and_exit(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run, (DnsError, LdapError))


if __name__ == "__main__":
    main()
