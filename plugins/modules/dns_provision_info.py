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

import ipaddress

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.oob.prep.plugins.module_utils.checks import check, run_and_exit, summary
from ansible_collections.oob.prep.plugins.module_utils.dns.rfc2136 import (
    HAS_DNSPYTHON,
    DnsError,
    Rfc2136,
    check_fqdn,
    check_ipv4,
    check_label,
    rrsets_from_answer,
    zone_allow_update,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import (
    LdapError,
    check_settings,
    connect,
    ldap_argument_spec,
    merge_connection,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import (
    base_dn_from_dns,
    escape_filter_value,
    parse_server,
)

DNS_TIMEOUT = 5
MAX_CNAMES = 8
WINS = (
    "Only WINS or a hosts file could resolve it; WINS cannot be used for resolving computer names, and DNS is required"
)
SPOOFING = (
    "anyone on the network can register or overwrite names in it without credentials, so ProvisionServer could be "
    "pointed at another server (ConfigMgr's documentation calls ProvisionServer spoofing a security risk)"
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


def validate(p: dict) -> dict:
    """Every input check that needs no network; returns what the checks need."""
    if not p["suffixes"]:
        raise ValueError("suffixes must list at least one AMT DNS suffix")
    suffixes = [check_fqdn(s, "suffix") for s in p["suffixes"]]
    if len(set(suffixes)) != len(suffixes):
        raise ValueError(f"a suffix is listed twice: {suffixes}")
    ipv4 = check_ipv4(p["service_point_ipv4"], "service_point_ipv4")
    hosts = [{"fqdn": check_fqdn(p["service_point_fqdn"], "service_point_fqdn"), "ipv4": ipv4,
              "role": "service point"}]  # fmt: skip
    for index, console in enumerate(p["consoles"] or []):
        fqdn = check_fqdn(console.get("fqdn"), f"consoles[{index}].fqdn")
        address = check_ipv4(console["ipv4"], f"consoles[{index}].ipv4") if console.get("ipv4") else None
        same = next((h for h in hosts if h["fqdn"] == fqdn), None)
        if same is None:
            hosts.append({"fqdn": fqdn, "ipv4": address, "role": "console"})
        elif address and same["ipv4"] and address != same["ipv4"]:
            raise ValueError(f"{fqdn} is given twice, with {same['ipv4']} and {address}")
        else:
            same.update(role=f"{same['role']} and console", ipv4=same["ipv4"] or address)
    timeout = DNS_TIMEOUT if p.get("timeout") is None else p["timeout"]
    if timeout <= 0:
        raise ValueError("timeout must be a positive number of seconds")
    server = parse_server(p["server"])
    if server["address"]:
        try:
            ipaddress.ip_address(str(server["address"]))
        except ValueError:
            raise ValueError(f"server address {server['address']!r} is not an IP address") from None
    if bool(p["ldap_servers"]) != bool(p["domains"]):
        raise ValueError("the zone security check needs both ldap_servers (the DCs to read) and domains (the AD "
                         "domains whose DNS partitions hold the zones); give both, or neither to skip it")  # fmt: skip
    domains = []
    for index, domain in enumerate(p["domains"] or []):
        name = check_fqdn(domain.get("dns_name"), f"domains[{index}].dns_name")
        domains.append({"dns_name": name, "base_dn": domain.get("base_dn") or base_dn_from_dns(name)})
    return {"suffixes": suffixes, "label": check_label(p["record_name"], "record_name"), "ipv4": ipv4,
            "hosts": hosts, "timeout": float(timeout), "server": server, "domains": domains}  # fmt: skip


def _within(name: str, zone: str) -> bool:
    name, zone = name.rstrip(".").lower(), zone.rstrip(".").lower()
    return not zone or name == zone or name.endswith(f".{zone}")


def _records(response: dict, section: str, rdtype: str) -> list[tuple[str, list[str]]]:
    return [(owner.rstrip(".").lower(), values) for owner, t, _ttl, values in response[section] if t == rdtype]


def _absence(response: dict) -> str:
    """Why a response holds no record for the name asked: 'missing' when the server answered with authority for its
    zone (NXDOMAIN or no data, with the zone's SOA), 'not_authoritative' when it does not hold the zone (REFUSED, a
    referral, or Samba's NXDOMAIN without a SOA)."""
    if response["rcode"] in ("NOERROR", "NXDOMAIN") and _records(response, "authority", "SOA"):
        return "missing"
    return "not_authoritative"


def _said(response: dict) -> str:
    soa = _records(response, "authority", "SOA")
    if soa:
        return f"{response['rcode']} (authoritative for {soa[0][0]})"
    if response["rcode"] == "REFUSED":
        return "REFUSED (it holds no zone for the name)"
    return f"{response['rcode']} without a SOA (it holds no zone for the name)"


class Dns:
    """The DNS servers of one run: O(server), then the name servers of each zone found from it. Every query goes
    through an Rfc2136 adapter (RD off: an authoritative answer, never a resolver's), once per (server, name, type)."""

    def __init__(self, server: dict, timeout: float):
        self.timeout = timeout
        self.adapters: dict = {}
        self.start = self.adapter(server)
        self.cache: dict = {}
        self.zones: dict = {}  # zone -> [{'host', 'address', 'why'}]
        self.zone_of: dict = {}  # name -> (zone or None, how or why)

    def adapter(self, spec: dict):
        key = (spec.get("address") or spec["host"], spec.get("port") or 53)
        if key not in self.adapters:
            self.adapters[key] = Rfc2136(spec, "none", self.timeout)
        return self.adapters[key]

    @property
    def queries(self) -> int:
        return sum(adapter.ops["queries"] for adapter in self.adapters.values())

    def ask(self, adapter, name: str, rdtype: str) -> dict:
        """One query, cached with its failure (a server that timed out is not asked the same again)."""
        key = (adapter.address, adapter.port, name.lower(), rdtype)
        if key not in self.cache:
            try:
                self.cache[key] = adapter.query(name, rdtype)
            except DnsError as exc:
                self.cache[key] = exc
        result = self.cache[key]
        if isinstance(result, DnsError):
            raise result
        return result

    # the start server: zones and their name servers (its failures end the run: it is the module's input) ----------
    def find_zone(self, name: str) -> tuple[str | None, str]:
        """(zone, how it was found) or (None, why not), from the SOA the start server returns for ``name``."""
        if name in self.zone_of:
            return self.zone_of[name]
        where = self.start.where
        response = self.ask(self.start, name, "SOA")
        soa = [owner for owner, _v in _records(response, "answer", "SOA") + _records(response, "authority", "SOA")
               if _within(name, owner)]  # fmt: skip
        referral = [(owner, values) for owner, values in _records(response, "authority", "NS") if _within(name, owner)]
        if soa:
            found = (soa[0], f"SOA of {soa[0]} from {where}")
        elif referral:
            owner, values = referral[0]
            servers = ", ".join(sorted(v.rstrip(".").lower() for v in values))
            found = (None, f"{where} is not authoritative for {name}: it refers {owner or '.'} to {servers} "
                           "(a delegation, not followed)")  # fmt: skip
        elif response["rcode"] == "REFUSED":
            found = (None, f"{where} refused the SOA query for {name} (REFUSED): it holds no zone for it")
        else:
            found = (None, f"{where} holds no zone for {name} (it answered {response['rcode']} without a SOA)")
        self.zone_of[name] = found
        return found

    def servers_of(self, zone: str) -> list[dict]:
        """The zone's name servers with their addresses, from the start server; 'why' says why one has none."""
        if zone in self.zones:
            return self.zones[zone]
        where = self.start.where
        response = self.ask(self.start, zone, "NS")
        names = sorted({v.rstrip(".").lower() for owner, values in _records(response, "answer", "NS")
                        if owner == zone for v in values})  # fmt: skip
        servers = []
        for host in names:
            answer = self.ask(self.start, host, "A")
            addresses = rrsets_from_answer(host, answer["answer"]).get("A", {}).get("values", [])
            if addresses:
                servers.append({"host": host, "address": addresses[0], "why": f"A {', '.join(addresses)} on {where}"})
            else:
                servers.append({"host": host, "address": None, "why": f"{where} answered {_said(answer)} for its A"})
        self.zones[zone] = servers
        return servers

    def server_adapter(self, server: dict):
        port = self.start.port if server["address"] == self.start.address else 53
        return self.adapter({"host": server["host"], "address": server["address"], "port": port})

    # the authoritative servers: their failures are findings ------------------------------------------------------
    def follow(self, adapter, name: str) -> dict:
        """Follow ``name`` to its A records on one server: through CNAMEs, taking each target's records from the same
        answer when the server included them, else asking the same server, else the servers of the target's zone.

        Returns {'status': 'ok'|'missing'|'not_authoritative'|'error', 'addresses', 'said'}: 'said' is what the
        server answered, for the evidence."""
        steps, current, response, asked = [], name, None, None
        try:
            for _hop in range(MAX_CNAMES + 1):
                have = rrsets_from_answer(current, response["answer"]) if response else {}
                if not have and asked != current:
                    response, asked = self.ask(adapter, current, "A"), current
                    have = rrsets_from_answer(current, response["answer"])
                if "A" in have:
                    steps.append(f"{current} A {', '.join(have['A']['values'])}")
                    return {"status": "ok", "addresses": have["A"]["values"], "said": ", ".join(steps)}
                if "CNAME" in have:
                    target = have["CNAME"]["values"][0]
                    steps.append(f"{current} CNAME {target}")
                    if target in (name, *[s.split(" ")[0] for s in steps]):
                        return {"status": "missing", "addresses": [], "said": ", ".join(steps) + " (a CNAME loop)"}
                    current = target
                    continue
                status = _absence(response)
                said = ", ".join([*steps, f"{_said(response)} for {current}"])
                if steps and status == "not_authoritative":  # the CNAME's target is in another zone
                    elsewhere = self.elsewhere(current)
                    return dict(elsewhere, said=f"{said}; {elsewhere['said']}")
                return {"status": status, "addresses": [], "said": said}
        except DnsError as exc:
            return {"status": "error", "addresses": [], "said": ", ".join([*steps, str(exc)])}
        return {"status": "missing", "addresses": [], "said": ", ".join(steps) + f" (more than {MAX_CNAMES} CNAMEs)"}

    def elsewhere(self, name: str) -> dict:
        """``name``'s A records from the authoritative servers of its own zone (the first that answers)."""
        zone, how = self.find_zone(name)
        if zone is None:
            return {"status": "not_authoritative", "addresses": [], "said": how}
        tried = []
        for server in self.servers_of(zone):
            if not server["address"]:
                continue
            adapter = self.server_adapter(server)
            try:
                response = self.ask(adapter, name, "A")
            except DnsError as exc:
                tried.append(str(exc))
                continue
            have = rrsets_from_answer(name, response["answer"])
            if "A" in have:
                values = have["A"]["values"]
                return {"status": "ok", "addresses": values,
                        "said": f"{name} A {', '.join(values)} from {adapter.where}"}  # fmt: skip
            if "CNAME" not in have:
                return {"status": _absence(response), "addresses": [],
                        "said": f"{adapter.where} answered {_said(response)} for {name}"}  # fmt: skip
            tried.append(f"{adapter.where} answered a further CNAME for {name} (not followed)")
        return {"status": "error", "addresses": [], "said": "; ".join(tried) or f"no server of {zone} has an address"}


# --- the checks -----------------------------------------------------------------------------------------------------
def zone_checks(dns: Dns, zone: str) -> list[dict]:
    """One row per name server of the zone: it has an address (an NS without one is a lame delegation)."""
    rows = []
    servers = dns.servers_of(zone)
    if not servers:
        return [check(f"dns.zone.{zone}.ns", "dns_name_resolution", "fail",
                      f"zone {zone} has no NS records on {dns.start.where}",
                      f"add NS records for the DNS servers that hold {zone}")]  # fmt: skip
    for server in servers:
        cid = f"dns.zone.{zone}.ns.{server['host']}"
        if server["address"]:
            rows.append(check(cid, "dns_name_resolution", "pass",
                              f"name server {server['host']} of {zone}: {server['why']}"))  # fmt: skip
        else:
            rows.append(check(cid, "dns_name_resolution", "fail",
                              f"name server {server['host']} of {zone} has no address: {server['why']}",
                              f"add an A record for {server['host']}, or remove the NS record of {zone} that names "
                              "it (resolvers that pick it cannot reach it)"))  # fmt: skip
    return rows


def provisionserver_checks(dns: Dns, suffix: str, zone: str | None, want: dict) -> list[dict]:
    name, row, cid = f"{want['label']}.{suffix}", "dns_provisionserver", f"dns.provisionserver.{suffix}"
    remedy = (f"create {name} as a CNAME to {want['fqdn']} or an A record of {want['ipv4']} in {zone} "
              "(dns_provision_record, role oob_dns)")  # fmt: skip
    if zone is None:
        return [check(cid, row, "skip", f"{name} cannot be checked: no zone for {suffix} (see dns.suffix.{suffix}."
                      "zone)", "see the failed check named")]  # fmt: skip
    servers = [s for s in dns.servers_of(zone) if s["address"]]
    if not servers:
        return [check(cid, row, "skip", f"{name} cannot be checked: no name server of {zone} has an address (see "
                      f"dns.zone.{zone}.ns)", "see the failed checks named")]  # fmt: skip
    rows = []
    for server in servers:
        adapter = dns.server_adapter(server)
        result = dns.follow(adapter, name)
        said = f"{adapter.where} answered: {result['said']}"
        addresses = set(result["addresses"])
        if result["status"] == "ok" and addresses == {want["ipv4"]}:
            status, evidence, fix = "pass", f"{said}: the service point's address", ""
        elif result["status"] == "ok" and want["ipv4"] in addresses:
            others = ", ".join(sorted(addresses - {want["ipv4"]}))
            status, evidence = "fail", f"{said}: it also leads to {others}, so some AMT devices would send their hello "
            evidence += "elsewhere"
            fix = f"remove {others} from {name}: it must lead to {want['ipv4']} only"
        elif result["status"] == "ok":
            status, evidence = "fail", f"{said}: not the service point's address {want['ipv4']}"
            fix = f"point {name} at {want['fqdn']} ({want['ipv4']}) (dns_provision_record, role oob_dns)"
        elif result["status"] == "error":
            status, evidence = "fail", f"{said}: no answer; AMT devices whose resolver asks it get none"
            fix = f"bring {server['host']} back, or remove it from the NS records of {zone}"
        elif result["status"] == "not_authoritative":
            status, evidence = "fail", f"{said}: it is a name server of {zone} but does not hold the zone"
            fix = f"make {server['host']} authoritative for {zone} (replication or zone transfer), or remove its NS"
        else:
            status, evidence = "fail", f"{said}: {name} does not lead to an address on this server"
            fix = remedy + "; if other servers of the zone have it, check the replication or zone transfer to this one"
        rows.append(check(f"{cid}.{server['host']}", row, status, evidence, fix))
    return rows


def host_checks(dns: Dns, host: dict) -> list[dict]:
    """The host's A record on every authoritative server of its zone, then the PTR of its address at the start
    server."""
    fqdn, who = host["fqdn"], f"{host['fqdn']} ({host['role']})"
    cid, row = f"dns.host.{fqdn}", "dns_not_wins"
    zone, how = dns.find_zone(fqdn)
    found: set = set()
    if zone is None:
        a_row = check(f"{cid}.a", row, "fail", f"{who} cannot be resolved through DNS from {dns.start.where}: {how}. "
                      f"{WINS}", f"create the zone and an A record for {fqdn}, or set server to a DNS server that "
                      "holds its zone")  # fmt: skip
    elif not [s for s in dns.servers_of(zone) if s["address"]]:
        a_row = check(f"{cid}.a", row, "skip", f"{who} cannot be checked: no name server of {zone} has an address "
                      f"(see dns.zone.{zone}.ns)", "see the failed checks named")  # fmt: skip
    else:
        a_row = _a_row(dns, host, zone, found)
    return [a_row, _ptr_row(dns, host, sorted(found) if not host["ipv4"] else [host["ipv4"]], a_row)]


def _a_row(dns: Dns, host: dict, zone: str, found: set) -> dict:
    fqdn, who, expected = host["fqdn"], f"{host['fqdn']} ({host['role']})", host["ipv4"]
    cid = f"dns.host.{fqdn}.a"
    answers, unresolved, wrong, errors = [], [], [], []
    for server in [s for s in dns.servers_of(zone) if s["address"]]:
        adapter = dns.server_adapter(server)
        result = dns.follow(adapter, fqdn)
        answers.append(f"{adapter.where} answered {result['said']}")
        found.update(result["addresses"])
        if result["status"] == "error":
            errors.append(server["host"])
        elif result["status"] != "ok":
            unresolved.append(server["host"])
        elif expected and set(result["addresses"]) != {expected}:
            wrong.append(server["host"])
    said = "; ".join(answers)
    if unresolved and len(unresolved) + len(errors) == len(answers):
        return check(
            cid,
            "dns_not_wins",
            "fail",
            f"{who} does not resolve through DNS: {said}. {WINS}",
            f"create an A record for {fqdn}" + (f" ({expected})" if expected else "") + f" in {zone}",
        )
    if unresolved:
        return check(cid, "dns_not_wins", "fail", f"{who} does not resolve on every name server of {zone}: {said}",
                     f"check the replication or zone transfer of {zone} to {', '.join(unresolved)}")  # fmt: skip
    if wrong:
        return check(cid, "dns_not_wins", "fail", f"{who} does not resolve to {expected}: {said}",
                     f"set the A record of {fqdn} to {expected} (or correct the address given)")  # fmt: skip
    if errors:
        return check(cid, "dns_not_wins", "fail", f"{who}: not every name server of {zone} answered: {said}",
                     f"bring {', '.join(errors)} back, or remove it from the NS records of {zone}")  # fmt: skip
    return check(cid, "dns_not_wins", "pass", f"{who} resolves through DNS: {said}")


def _ptr_row(dns: Dns, host: dict, addresses: list[str], a_row: dict) -> dict:
    fqdn, who = host["fqdn"], f"{host['fqdn']} ({host['role']})"
    cid, row, where = f"dns.host.{fqdn}.ptr", "dns_name_resolution", dns.start.where
    if not addresses:
        return check(cid, row, "skip", f"{who}: no address to look up (no ipv4 given, and see {a_row['id']})",
                     "see the failed check named")  # fmt: skip
    statuses, said, missing, others = [], [], [], []
    for address in addresses:
        reverse = ipaddress.ip_address(address).reverse_pointer
        response = dns.ask(dns.start, reverse, "PTR")
        names = [v.rstrip(".").lower() for v in rrsets_from_answer(reverse, response["answer"])
                 .get("PTR", {}).get("values", [])]  # fmt: skip
        zones = [z for z, _v in _records(response, "authority", "SOA") if z.endswith("in-addr.arpa")]
        if names:
            said.append(f"{reverse} PTR {', '.join(names)}")
            statuses.append("pass" if fqdn in names else "warn")
            if fqdn not in names:
                others.append(address)
        elif zones and response["rcode"] in ("NOERROR", "NXDOMAIN"):
            said.append(f"{reverse}: {response['rcode']} in reverse zone {zones[0]}")
            statuses.append("fail")
            missing.append((address, zones[0]))
        else:
            said.append(f"{reverse}: {_said(response)}: no reverse zone")
            statuses.append("skip")
    evidence = f"{who} on {where}: {'; '.join(said)}"
    if "fail" in statuses:
        fix = "; ".join(f"add a PTR record for {a} to {fqdn} in {z}" for a, z in missing)
        return check(cid, row, "fail", evidence, fix)
    if "warn" in statuses:
        return check(cid, row, "warn", f"{evidence}: the address's PTR names another host",
                     f"if {fqdn} owns {', '.join(others)}, point its PTR at {fqdn}")  # fmt: skip
    if "pass" in statuses:
        return check(cid, row, "pass", evidence)
    return check(cid, row, "skip", evidence, "create the reverse zone if reverse lookups are wanted")


# --- zone security: dNSProperty from AD ---------------------------------------------------------------------------
def read_zone_settings(session, domains: list[dict], zones: list[str]) -> tuple[dict, list[str], list[str]]:
    """({zone: [(dn, setting)]}, partitions searched, partitions the DC does not hold). One rootDSE read, then one
    search per partition for all the zones."""
    root = session.search("", "(objectClass=*)", ["namingContexts", "rootDomainNamingContext"], "BASE")
    attrs = root[0]["attributes"] if root else {}
    held = {v.decode("utf-8").lower() for v in attrs.get("namingcontexts", [])}
    forest = (attrs.get("rootdomainnamingcontext") or [b""])[0].decode("utf-8")
    bases, missing = [], []
    candidates = [(f"DC=DomainDnsZones,{d['base_dn']}", "") for d in domains]
    candidates += [(d["base_dn"], "CN=System,") for d in domains]
    candidates += [(f"DC=ForestDnsZones,{forest}", "")] if forest else []
    for partition, container in candidates:
        base = f"CN=MicrosoftDNS,{container}{partition}"
        if partition.lower() not in held:
            missing.append(partition)
        elif base.lower() not in (b.lower() for b in bases):
            bases.append(base)
    terms = "".join(f"(dc={escape_filter_value(z)})" for z in zones)
    found: dict = {}
    for base in bases:
        for entry in session.search(base, f"(&(objectClass=dnsZone)(|{terms}))", ["dc", "dNSProperty"], "LEVEL"):
            name = (entry["attributes"].get("dc") or [b""])[0].decode("utf-8").lower()
            setting = zone_allow_update(entry["attributes"].get("dnsproperty", []))
            found.setdefault(name, []).append((entry["dn"], setting))
    return found, bases, list(dict.fromkeys(missing))


def security_checks(zones: dict, found: dict | None, searched: list[str], not_held: list[str]) -> list[dict]:
    """``zones``: {zone: why it matters}. ``found`` None: LDAP was not given."""
    rows = []
    for zone, why in zones.items():
        cid, row = f"dns.zone.{zone}.updates", "dns_auto_registration"
        if found is None:
            rows.append(check(cid, row, "skip", f"zone {zone} ({why}): LDAP not given (ldap_servers and domains), so "
                              "whether it takes non-secure updates was not checked",
                              "give ldap_servers and domains to check it"))  # fmt: skip
            continue
        objects = found.get(zone, [])
        if not objects:
            gaps = f"; the DC does not hold {', '.join(not_held)}" if not_held else ""
            rows.append(check(cid, row, "skip", f"zone {zone} ({why}) is not AD-integrated in the partitions searched "
                              f"({'; '.join(searched) or 'none'}){gaps}: its update setting is the DNS server's own "
                              "(a file-backed zone or another DNS server)",
                              "check on its DNS server that it takes signed updates only (BIND: update-policy or "
                              "allow-update with a TSIG key; Windows: Secure only)"))  # fmt: skip
            continue
        settings = {setting for _dn, setting in objects}
        dns_names = "; ".join(f"{dn}: {setting or 'no dynamic-update property'}" for dn, setting in objects)
        evidence = f"zone {zone} ({why}): {dns_names}"
        if "nonsecure and secure" in settings:
            rows.append(check(cid, row, "warn", f"{evidence}: it takes non-secure dynamic updates; {SPOOFING}",
                              f"set the dynamic updates of {zone} to Secure only (DNS Manager: zone Properties, "
                              f"General; or dnscmd /Config {zone} /AllowUpdate 2) and register ProvisionServer with "
                              "auth=gss-tsig"))  # fmt: skip
        elif None in settings or any(s not in ("secure only", "off") for s in settings):
            rows.append(check(cid, row, "warn", f"{evidence}: the dynamic-update setting cannot be told from AD",
                              f"check the dynamic updates of {zone} in DNS Manager (Secure only)"))  # fmt: skip
        elif settings == {"off"}:
            rows.append(check(cid, row, "pass", f"{evidence}: it takes no dynamic updates, so ProvisionServer cannot "
                              "be registered automatically (create it by hand) and cannot be spoofed"))  # fmt: skip
        else:
            rows.append(check(cid, row, "pass", f"{evidence}: only secure (Kerberos-signed) updates"))
    return rows


def run(module) -> dict:
    p = module.params
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"))
    want = validate(p)
    want["fqdn"] = want["hosts"][0]["fqdn"]
    if p["ldap_servers"]:
        merge_connection(p)
        for warning in check_settings(p):
            module.warn(warning)
    dns = Dns(want["server"], want["timeout"])
    checks, seen, secured = [], set(), {}
    for suffix in want["suffixes"]:
        zone, how = dns.find_zone(suffix)
        checks.append(check(f"dns.suffix.{suffix}.zone", "dns_name_resolution", "pass" if zone else "fail",
                            f"suffix {suffix} is in zone {zone} ({how})" if zone else f"suffix {suffix}: {how}",
                            f"create a zone for {suffix} on {dns.start.host}, or set server to a DNS server that "
                            "holds it"))  # fmt: skip
        if zone and zone not in seen:
            seen.add(zone)
            checks += zone_checks(dns, zone)
        if zone:
            secured.setdefault(zone, f"holds {want['label']}.{suffix}")
        checks += provisionserver_checks(dns, suffix, zone, want)
    for host in want["hosts"]:
        zone, _how = dns.find_zone(host["fqdn"])
        if zone and zone not in seen:
            seen.add(zone)
            checks += zone_checks(dns, zone)
        if zone and host["role"].startswith("service point"):
            secured.setdefault(zone, f"holds the service point {host['fqdn']}")
        checks += host_checks(dns, host)
    found, searched, not_held, ldap_ops = None, [], [], {"searches": 0, "writes": 0}
    if p["ldap_servers"] and secured:
        session = connect(p["ldap_servers"], p)
        try:
            found, searched, not_held = read_zone_settings(session, want["domains"], list(secured))
        finally:
            ldap_ops = dict(session.ops)
            session.close()
    checks += security_checks(secured, found, searched, not_held)
    zones = {}
    for zone, servers in dns.zones.items():
        objects = (found or {}).get(zone, [])
        zones[zone] = {"servers": [{"host": s["host"], "address": s["address"]} for s in servers],
                       "dynamic_updates": objects[0][1] if objects else None,
                       "distinguished_name": objects[0][0] if objects else None}  # fmt: skip
    return {
        "changed": False,
        **summary(checks),
        "zones": zones,
        "dns_operations": {"queries": dns.queries, "updates": 0},
        "ldap_operations": ldap_ops,
    }


def main() -> None:
    run_and_exit(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run, (DnsError, LdapError))


if __name__ == "__main__":
    main()
