# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The check rows of dns_provision_info: pure given the answers ``lookup.Dns`` reads and the zone settings
``ad_zones.read_zone_settings`` reads.

- ``want_from_params(p)``: every input check that needs no network.
- ``name_checks(dns, want)``: for each suffix its zone, the zone's name servers and ProvisionServer on each of them;
  for the service point and each console its A record on every authoritative server of its zone and its PTR.
- ``security_checks(zones, found, ...)``: whether the zones that matter take non-secure dynamic updates.
- ``zones_found(dns, found)``: every zone found, with its servers and update setting, as the module returns it.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.oob.prep.plugins.module_utils.checks import check
from ansible_collections.oob.prep.plugins.module_utils.dns.lookup import Dns, describe, records
from ansible_collections.oob.prep.plugins.module_utils.dns.plan import (
    check_fqdn,
    check_ipv4,
    check_label,
    rrsets_from_answer,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import base_dn_from_dns, parse_server

DNS_TIMEOUT = 5
WINS = (
    "Only WINS or a hosts file could resolve it; WINS cannot be used for resolving computer names, and DNS is required"
)
SPOOFING = (
    "anyone on the network can register or overwrite names in it without credentials, so ProvisionServer could be "
    "pointed at another server (ConfigMgr's documentation calls ProvisionServer spoofing a security risk)"
)


def want_from_params(p: dict) -> dict:
    """Every input check of dns_provision_info's parameters that needs no network; returns what the checks need."""
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
            "hosts": hosts, "fqdn": hosts[0]["fqdn"], "timeout": float(timeout), "server": server,
            "domains": domains}  # fmt: skip


# --- the checks -----------------------------------------------------------------------------------------------------
def name_checks(dns: Dns, want: dict) -> tuple[list[dict], dict]:
    """(every row but the zone security ones, {zone: why its update setting matters}): the suffixes' zones, their name
    servers and ProvisionServer, then each host's A and PTR; a zone's name servers are checked once."""
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
    return checks, secured


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
        zones = [z for z, _v in records(response, "authority", "SOA") if z.endswith("in-addr.arpa")]
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
            said.append(f"{reverse}: {describe(response)}: no reverse zone")
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


def zones_found(dns: Dns, found: dict | None) -> dict:
    """{zone: {servers, dynamic_updates, distinguished_name}} for every zone ``dns`` found; ``found`` as
    ``security_checks`` takes it."""
    zones = {}
    for zone, servers in dns.zones.items():
        objects = (found or {}).get(zone, [])
        zones[zone] = {"servers": [{"host": s["host"], "address": s["address"]} for s in servers],
                       "dynamic_updates": objects[0][1] if objects else None,
                       "distinguished_name": objects[0][0] if objects else None}  # fmt: skip
    return zones
