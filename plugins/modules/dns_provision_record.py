#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_provision_record
short_description: Ensure the ProvisionServer record that unprovisioned AMT devices look up, in every AMT DNS suffix
description:
  - An Intel AMT device in setup mode looks up C(ProvisionServer.<its DNS suffix>) (the suffix from DHCP option 15)
    and sends its hello to port 9971 of the answer. This module ensures that name in the zone of every AMT DNS suffix,
    as a CNAME to the out of band service point's FQDN (the default) or as an A record of its IPv4 address.
  - Speaks DNS from the controller to the zone's authoritative server - RFC 2136 dynamic updates with GSS-TSIG
    (Kerberos; what "secure only" AD-integrated zones require), TSIG, or, when asked explicitly, none. For a Windows
    DNS server without dynamic updates, the role oob_dns has a C(windows) backend instead.
  - Reads every record at the name with one query per name (type ANY; a server that answers ANY minimally, RFC 8482,
    is asked for A, AAAA, TXT and DHCID instead, with a warning) and writes only what differs, in one update per name
    whose prerequisites (RFC 2136 2.4) are built from what was read - the RRsets it replaces or deletes exist, the
    ones it adds do not - so the update is atomic and a server holding what was read accepts it; then reads back.
  - Records that may share the name are left alone - a TXT record, or the DHCID record a DHCP server writes, beside
    an A record. A CNAME cannot share its name with other data (RFC 1034 3.6.2, RFC 2181 10.1; DNSSEC's RRSIG and
    NSEC excepted) - a CNAME wanted where other records are, or an A record wanted where a CNAME is, fails naming
    the records and what to do (use the other O(type), remove them), or, with O(replace_conflicts=true), the records
    in the way are deleted (only those RRsets) and the record added in the same update.
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.dns
options:
  suffixes:
    description: The AMT devices' DNS suffixes (DHCP option 15 of their subnets); the record is ensured in each.
    type: list
    elements: str
    required: true
  record_name:
    description: The name AMT devices look up.
    type: str
    default: ProvisionServer
  type:
    description: V(CNAME) to O(target), or V(A) of O(ipv4).
    type: str
    choices: [CNAME, A]
    default: CNAME
  target:
    description: The out of band service point's FQDN (the CNAME's target). Required with O(type=CNAME).
    type: str
  ipv4:
    description: The service point's IPv4 address. Required with O(type=A); out of band management is IPv4 only.
    type: str
  ttl:
    description: The record's TTL in seconds.
    type: int
    default: 3600
  state:
    description: V(absent) removes the record of O(type) at the name (other records there stay).
    type: str
    choices: [present, absent]
    default: present
  replace_conflicts:
    description: Delete the records that cannot share the name with the wanted record (every other RRset for a CNAME,
      the CNAME for an A record) instead of failing.
    type: bool
    default: false
  server:
    description:
      - The authoritative DNS server that takes the updates (an AD DC for AD-integrated zones). A host name, or a dict
        with C(host) (its name, which makes the Kerberos service C(DNS/<host>)), optional C(address) and C(port).
    type: raw
    required: true
  auth:
    description:
      - V(gss-tsig) signs updates with Kerberos (RFC 3645), from the current ccache (run C(kinit)) or credentials
        acquired in memory from O(bind_user) and O(bind_password).
      - V(tsig) signs them with a shared key (O(tsig_key_name), O(tsig_key_secret), O(tsig_algorithm)).
      - V(none) sends them unsigned; only zones that take non-secure updates accept that, and anyone on the network
        can then point ProvisionServer elsewhere.
    type: str
    choices: [gss-tsig, tsig, none]
    default: gss-tsig
  bind_user:
    description: With O(auth=gss-tsig), the Kerberos principal to acquire credentials for (instead of the ccache).
    type: str
  bind_password:
    description: Its password.
    type: str
  tsig_key_name:
    description: The TSIG key's name (O(auth=tsig)).
    type: str
  tsig_key_secret:
    description: The TSIG key's secret, base64 (keep it in the vault).
    type: str
  tsig_algorithm:
    description: The TSIG key's algorithm.
    type: str
    choices: [hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5]
    default: hmac-sha256
  timeout:
    description: Seconds to wait for the server.
    type: int
    default: 5
attributes:
  check_mode:
    support: full
    description: Sends queries only.
  diff_mode:
    support: full
    description: Shows each name's RRsets before and after.
requirements:
  - dnspython >= 2.6 on the controller
  - gssapi on the controller for O(auth=gss-tsig)
seealso:
  - name: RFC 2136, Dynamic Updates in the Domain Name System
    description: The update protocol, its prerequisites and changes.
    link: https://www.rfc-editor.org/rfc/rfc2136
  - name: RFC 3645, GSS-TSIG
    description: Kerberos-signed updates, as AD-integrated zones with secure updates require.
    link: https://www.rfc-editor.org/rfc/rfc3645
"""

EXAMPLES = r"""
- name: ProvisionServer in every AMT suffix, as a CNAME to the service point, signed with Kerberos
  dns_provision_record:
    suffixes: [corp.example.com, emea.corp.example.com]
    target: sccm01.corp.example.com
    server: {host: dc01.corp.example.com}
  delegate_to: localhost

- name: As an A record, on a BIND server that takes TSIG-signed updates
  dns_provision_record:
    suffixes: [amt.example.net]
    type: A
    ipv4: 192.0.2.10
    server: {host: ns1.example.net, address: 192.0.2.53}
    auth: tsig
    tsig_key_name: oob-prep-key.
    tsig_key_secret: "{{ vault_oob_dns_tsig_secret }}"
  delegate_to: localhost
"""

RETURN = r"""
records:
  description: One entry per suffix.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The name ensured.
      type: str
      sample: ProvisionServer.corp.example.com
    zone:
      description: Its zone (when an update was needed), else null.
      type: str
    changed:
      description: Whether it was (or would be) changed.
      type: bool
    before:
      description: Its RRsets before, as zone-file lines.
      type: list
      elements: str
    after:
      description: Its RRsets after (in check mode, what they would be).
      type: list
      elements: str
dns_operations:
  description: Queries and updates sent (a no-op run sends one query per suffix and no update).
  returned: success
  type: dict
  sample: {queries: 1, updates: 0}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit
from ansible_collections.oob.prep.plugins.module_utils.dns.plan import (
    DnsError,
    plan_record,
    record_from_params,
    rrsets_from_answer,
)
from ansible_collections.oob.prep.plugins.module_utils.dns.rfc2136 import HAS_DNSPYTHON, TSIG_ALGORITHMS, Rfc2136
from ansible_collections.oob.prep.plugins.module_utils.ldap.kerberos import KerberosError
from ansible_collections.oob.prep.plugins.module_utils.ldap.kerberos import credentials as kerberos_credentials
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import parse_server


def argument_spec() -> dict:
    return dict(
        suffixes=dict(type="list", elements="str", required=True),
        record_name=dict(type="str", default="ProvisionServer"),
        type=dict(type="str", choices=["CNAME", "A"], default="CNAME"),
        target=dict(type="str"),
        ipv4=dict(type="str"),
        ttl=dict(type="int", default=3600),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        replace_conflicts=dict(type="bool", default=False),
        server=dict(type="raw", required=True),
        auth=dict(type="str", choices=["gss-tsig", "tsig", "none"], default="gss-tsig"),
        bind_user=dict(type="str"),
        bind_password=dict(type="str", no_log=True),
        tsig_key_name=dict(type="str", no_log=False),
        tsig_key_secret=dict(type="str", no_log=True),
        tsig_algorithm=dict(type="str", choices=list(TSIG_ALGORITHMS), default="hmac-sha256"),
        timeout=dict(type="int", default=5),
    )


def credentials(p: dict):
    """In-memory Kerberos credentials from bind_user/bind_password, or None for the ccache."""
    if p["auth"] != "gss-tsig" or not (p.get("bind_user") and p.get("bind_password")):
        return None
    try:
        return kerberos_credentials(p.get("bind_user"), p.get("bind_password"), "auth=gss-tsig")
    except KerberosError as exc:
        raise DnsError(exc.kind, str(exc)) from None


def run(module) -> dict:
    p = module.params
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"))
    common = record_from_params(p)
    if p["auth"] == "none":
        module.warn("auth=none: the update is not signed; a zone that takes it lets anyone on the network point "
                    "ProvisionServer elsewhere")  # fmt: skip
    server = parse_server(p["server"])
    tsig = {"name": p.get("tsig_key_name"), "secret": p.get("tsig_key_secret"), "algorithm": p["tsig_algorithm"]}
    adapter = Rfc2136(server, p["auth"], float(p["timeout"]), tsig)
    records, diffs, changed = [], [], False
    plans = []
    for suffix in common["suffixes"]:  # 1. read every name before anything is written
        name = f"{common['label']}.{suffix}"
        response = adapter.read_name(name)
        if response["rcode"] not in ("NOERROR", "NXDOMAIN") or not response["authoritative"]:
            raise DnsError("zone", f"{adapter.where} answered {response['rcode']} for {name} without authority: it "
                                   f"holds no zone for the suffix {suffix}; check the suffix, or give the server of "
                                   "its zone (suffix_servers)")  # fmt: skip
        want = {"name": name, "type": p["type"], "value": common["value"], "ttl": p["ttl"], "state": p["state"],
                "replace_conflicts": p["replace_conflicts"]}  # fmt: skip
        plan = plan_record(want, rrsets_from_answer(name, response["answer"]))
        plans.append((name, want, plan))
    if any(plan["changed"] for _n, _w, plan in plans) and not module.check_mode:
        adapter.creds = credentials(p)
    for name, want, plan in plans:  # 2. write what differs, then read it back
        zone = None
        if plan["changed"] and not module.check_mode:
            zone = adapter.zone_of(name)
            adapter.update(zone, name, plan)
            again = plan_record(want, rrsets_from_answer(name, adapter.read_name(name)["answer"]))
            if again["changed"]:
                raise DnsError("verify", f"{name} on {adapter.where} does not hold what was written: "
                                         f"{again['before']}")  # fmt: skip
        changed = changed or plan["changed"]
        records.append({"name": name, "zone": zone, "changed": plan["changed"], "before": plan["before"],
                        "after": plan["after"]})  # fmt: skip
        diffs.append({"before_header": name, "after_header": name,
                      "before": "".join(f"{line}\n" for line in plan["before"]),
                      "after": "".join(f"{line}\n" for line in plan["after"])})  # fmt: skip
    for warning in adapter.warnings:
        module.warn(warning)
    return {"changed": changed, "records": records, "diff": diffs, "dns_operations": dict(adapter.ops)}


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[("type", "CNAME", ("target",)), ("type", "A", ("ipv4",))],
    )
    run_and_exit(module, run, (DnsError,))


if __name__ == "__main__":
    main()
