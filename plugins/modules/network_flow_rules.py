#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_flow_rules
short_description: Render the out of band management port matrix into firewall and router rules, one file per platform
description:
  - The seed asks that "intervening network devices such as routers and firewalls must allow the traffic associated
    with out of band management activity" and lists its ports. This module renders that list (the port matrix of
    module_utils C(network.port_matrix), the only place a port number is written) with the estate's addresses into the
    rules of each platform in O(formats), and writes one file per platform into O(dest_dir) for the network team or
    for the module nft_table.
  - "Flows: AMT subnets to the service point TCP 9971 (provisioning); service point to AMT TCP 16992 (discovery) and
    16993 (management over TLS); consoles to AMT TCP 16993 and 16995 (serial over LAN, IDE redirection); and, for the
    seed's network services row, AMT subnets to O(dns_servers) (UDP and TCP 53), DHCP relays to and from
    O(dhcp_servers) and lease renewals (UDP 67). Each rule carries its seed row as a comment (nftables, iptables:
    a comment line above it; IOS: remark lines of at most 100 characters; PAN-OS: the rule's description)."
  - "Every platform gets the same policy: replies of connections to and from the AMT subnets, the matrix's flows
    (new connections), then, with O(scope=subnets), every other packet between the server side (O(server_subnets),
    else the service point and the consoles) and the AMT subnets dropped, both ways; with O(scope=ports), only other
    traffic to the AMT management ports dropped. Other traffic is left alone: no rule accepts any-to-any."
  - "Platforms: V(nftables) a complete C(table inet) with a forward base chain whose policy is accept (an nftables
    accept ends only this table's chain, a drop is final, so the table composes with the router's own tables);
    V(iptables) a C(*filter) section for C(iptables-restore --noflush), its own chain jumped to from FORWARD's first
    rule (see O(iptables_jump));
    V(ios) a Cisco IOS extended named ACL for the AMT subnets' gateway interface, in and out (stateless: each flow
    has its reply entry, C(established) for TCP; it ends with permits scoped to the AMT subnets, not permit any
    any); V(panos) Palo Alto Networks PAN-OS configure-mode C(set rulebase security rules) commands."
  - "Why PAN-OS as the fourth platform: the device between desktop subnets and server subnets in an enterprise is
    most often a zone-based next-generation firewall rather than a router ACL, and PAN-OS is one of the most
    common of those. Like nftables it is stateful (one rule per flow, no reply rules to get wrong, unlike IOS or a Junos
    firewall filter, which are stateless); its rule description holds 1024 characters, so the whole seed row travels
    with the live rule; and the C(set) commands paste into configure mode or map one to one to
    paloaltonetworks.panos.panos_security_rule. Junos C(set firewall family inet filter) would repeat IOS's
    stateless shape, and a comment on a term needs C(annotate), a separate command, not a C(set) line."
  - Writes only the files whose content differs, each atomically (a temporary file in O(dest_dir), then a rename).
    All formats are rendered and checked before anything is written; bad input writes nothing.
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.network
options:
  dest_dir:
    description:
      - The folder for the files, as an absolute path, for example C({{ playbook_dir }}/../artifacts/<env>). Created
        (with its parents) when missing.
      - Files are named O(file_prefix) plus C(.nft), C(.iptables), C(.ios) or C(.panos). Files of formats not listed
        are left alone.
    type: path
    required: true
  formats:
    description: The platforms to render.
    type: list
    elements: str
    choices: [nftables, iptables, ios, panos]
    default: [nftables, iptables, ios, panos]
  environment:
    description: The environment's name, written in each file's header.
    type: str
    default: ""
  service_point:
    description: The out of band service point's IPv4 address (IPv4 only, as out of band management).
    type: str
    required: true
  consoles:
    description: The IPv4 address of every computer that runs the out of band management console; at least one.
    type: list
    elements: str
    required: true
  amt_subnets:
    description: Every subnet of AMT computers, in CIDR form (a network address, no host bits set); at least one.
    type: list
    elements: str
    required: true
  server_subnets:
    description:
      - The subnets of the service point and the consoles, in CIDR form. When given, the service point and every
        console must be inside one of them, and O(scope=subnets) isolates these subnets from the AMT subnets;
        without it, only the service point and the consoles are.
    type: list
    elements: str
  dns_servers:
    description: The DNS servers the AMT subnets are given (DHCP option 6). Without them no DNS flow is rendered.
    type: list
    elements: str
    default: []
  dhcp_servers:
    description: The DHCP servers of the AMT subnets. Without them no DHCP flow is rendered.
    type: list
    elements: str
    default: []
  dhcp_relays:
    description:
      - The DHCP relay agent's addresses (its address in each AMT subnet, the giaddr the server answers, and the
        address it sends from). Without them the relay flows are not rendered.
    type: list
    elements: str
    default: []
  scope:
    description:
      - V(subnets) drops every packet between the server side and the AMT subnets that the matrix does not allow.
      - V(ports) drops only traffic to the AMT management ports that the matrix does not allow, for AMT computers
        that are ordinary desktops whose operating system shares the AMT address and needs servers on other ports.
      - "What V(ports) leaves reachable: only TCP traffic to 16992, 16993 and 16995 of the AMT subnets that is neither
        a flow of the matrix nor a reply is dropped. Everything else passes this device - every other port of the
        AMT computers (their operating system's, and AMT's own TCP 16994, redirection without TLS, and UDP 623/664,
        RMCP presence and ASF, which the matrix does not name and so does not drop either), and everything the AMT
        subnets send, to any server on any port (a hello to TCP 9971 of a host other than the service point
        included). Use V(subnets) where the AMT subnets need nothing else from the server side; with either scope,
        traffic that does not cross this device (the AMT computers' own subnet) is not filtered."
    type: str
    choices: [subnets, ports]
    default: subnets
  deny:
    description:
      - How the nftables and iptables rules refuse what the matrix does not allow. V(drop) sends nothing back (the
        sender times out). V(reject-tcp-reset) answers TCP with a reset and everything else with ICMP destination
        unreachable code 13, communication administratively prohibited (RFC 1812 5.2.7.1); V(reject-icmp) answers
        everything with ICMP code 13. Either way the answer comes from the firewall, with the firewall's address and
        hop count, which network_flow_probe tells apart from an answer of the destination.
      - The Cisco IOS ACL and the PAN-OS rules render their platform's deny whatever this says (an IOS ACL deny is
        answered with ICMP code 13 while C(ip unreachables) is on, the default; PAN-OS's deny action is the
        application's default).
    type: str
    choices: [drop, reject-tcp-reset, reject-icmp]
    default: drop
  table_name:
    description: The nftables table's name (C(table inet <name>)).
    type: str
    default: oob_prep
  iptables_chain:
    description: The iptables chain's name.
    type: str
    default: OOB-PREP
  iptables_jump:
    description:
      - Include the jump from FORWARD to the chain, as FORWARD's first rule (C(-I FORWARD 1)) - an appended jump
        behind a final REJECT or DROP (RHEL's default FORWARD) would never be reached.
      - A restore file cannot test whether a rule is there, so every C(iptables-restore --noflush) of it inserts one
        more jump. The file's header therefore gives the line to load and reload it with, which is idempotent - the
        load inserts the new jump at 1, then every jump to the chain after rule 1 is deleted (from the last up), so
        FORWARD always ends with one jump, first, and is never without one (a jump an older rendering appended is
        removed too).
      - V(false) renders no jump (load the file with plain C(iptables-restore --noflush)); keep one in the host's own
        rules, as its first FORWARD rule.
    type: bool
    default: true
  ios_acl:
    description: The IOS access list's name.
    type: str
    default: OOB-PREP
  panos_prefix:
    description: Prefix of the PAN-OS object and rule names.
    type: str
    default: oob-prep
  panos_amt_zone:
    description: The PAN-OS zone of the AMT subnets.
    type: str
    default: oob-amt
  panos_server_zone:
    description: The PAN-OS zone of the server side.
    type: str
    default: oob-servers
  file_prefix:
    description: The files' name before the extension.
    type: str
    default: oob-flows
  mode:
    description: The files' permissions (for example V('0644')); by default new files follow the umask.
    type: raw
attributes:
  check_mode:
    support: full
    description: Renders and compares; writes nothing.
  diff_mode:
    support: full
    description: Each file's content before and after.
notes:
  - The module nft_table applies the rendered nftables table on a Linux router; network_flow_probe proves the flows
    from a host of each source subnet.
"""

EXAMPLES = r"""
- name: Render the rules of the lab's router
  network_flow_rules:
    dest_dir: "{{ playbook_dir }}/../artifacts/lab"
    environment: lab
    service_point: 198.51.100.20
    consoles: [198.51.100.21]
    amt_subnets: [203.0.113.0/24]
    server_subnets: [198.51.100.0/24]
    dns_servers: [198.51.100.10]
    dhcp_servers: [198.51.100.11]
    dhcp_relays: [203.0.113.1, 198.51.100.254]
  delegate_to: localhost
  run_once: true

- name: Only the Cisco ACL, restricting just the AMT ports (desktops whose OS shares the AMT address)
  network_flow_rules:
    dest_dir: /srv/network-change/oob
    formats: [ios]
    scope: ports
    ios_acl: AMT-OOB
    service_point: 10.1.0.20
    consoles: [10.1.5.11, 10.1.5.12]
    amt_subnets: [10.20.0.0/22, 10.21.0.0/22]
  delegate_to: localhost
"""

RETURN = r"""
files:
  description: One entry per format.
  returned: success
  type: list
  elements: dict
  contains:
    format:
      description: The platform.
      type: str
      sample: nftables
    path:
      description: The file's path.
      type: str
      sample: /srv/oob-prep/artifacts/lab/oob-flows.nft
    changed:
      description: Whether it was (or, in check mode, would be) written.
      type: bool
    rules:
      description: How many rules (nftables rules, iptables rules of the chain, ACL entries, PAN-OS security rules).
      type: int
      sample: 14
    content:
      description: The rendered text (also in check mode, where no file is written), e.g. for C(nft_table).
      type: str
rule_counts:
  description: The number of rules per format.
  returned: success
  type: dict
  sample: {nftables: 14, iptables: 16, ios: 29, panos: 12}
flows:
  description: The matrix with this estate's addresses.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The flow's id.
      type: str
      sample: amt-provisioning
    source:
      description: The source role.
      type: str
      sample: amt
    dest:
      description: The destination role.
      type: str
      sample: service_point
    proto:
      description: tcp or udp.
      type: str
    port:
      description: The destination port.
      type: int
      sample: 9971
    row:
      description: The key of its seed row (as in every check row).
      type: str
      sample: network_ports
    seed:
      description: The seed row's text.
      type: str
    purpose:
      description: What the flow is for.
      type: str
    kind:
      description: V(oob) (the seed's port list) or V(infrastructure) (DNS and DHCP; RV(flows[].reference) says
        where the port comes from).
      type: str
    sources:
      description: Its source addresses and subnets.
      type: list
      elements: str
    destinations:
      description: Its destination addresses and subnets.
      type: list
      elements: str
    reference:
      description: For infrastructure flows, the standard that gives the port.
      type: str
      sample: RFC 2131 4.1
    interface_acl_only:
      description: True for traffic only a router's interface ACL sees (DHCP broadcasts to a relay on the router).
      type: bool
    skipped:
      description: Why it is not rendered (no address for an optional role, or an interface-ACL-only flow on a
        forwarding firewall), or empty.
      type: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit
from ansible_collections.oob.prep.plugins.module_utils.network.port_matrix import (
    DENY,
    ESTATE_KEYS,
    FORMATS,
    SCOPES,
    matrix,
    render_counted,
)

EXTENSIONS = {"nftables": "nft", "iptables": "iptables", "ios": "ios", "panos": "panos"}


class RulesFileError(Exception):
    kind = "file"


def argument_spec() -> dict:
    return dict(
        dest_dir=dict(type="path", required=True),
        formats=dict(type="list", elements="str", choices=list(FORMATS), default=list(FORMATS)),
        environment=dict(type="str", default=""),
        service_point=dict(type="str", required=True),
        consoles=dict(type="list", elements="str", required=True),
        amt_subnets=dict(type="list", elements="str", required=True),
        server_subnets=dict(type="list", elements="str"),
        dns_servers=dict(type="list", elements="str", default=[]),
        dhcp_servers=dict(type="list", elements="str", default=[]),
        dhcp_relays=dict(type="list", elements="str", default=[]),
        scope=dict(type="str", choices=list(SCOPES), default="subnets"),
        deny=dict(type="str", choices=list(DENY), default="drop"),
        table_name=dict(type="str", default="oob_prep"),
        iptables_chain=dict(type="str", default="OOB-PREP"),
        iptables_jump=dict(type="bool", default=True),
        ios_acl=dict(type="str", default="OOB-PREP"),
        panos_prefix=dict(type="str", default="oob-prep"),
        panos_amt_zone=dict(type="str", default="oob-amt"),
        panos_server_zone=dict(type="str", default="oob-servers"),
        file_prefix=dict(type="str", default="oob-flows"),
        mode=dict(type="raw"),
    )


def render_all(p: dict) -> tuple[dict, dict]:
    """({format: (text, rule count)}, estate): every format rendered before anything is written."""
    if not p["formats"]:
        raise ValueError("formats is empty: list at least one of " + ", ".join(FORMATS))
    if len(set(p["formats"])) != len(p["formats"]):
        raise ValueError(f"a format is listed twice: {p['formats']}")
    estate = {key: p[key] for key in ESTATE_KEYS if p.get(key) is not None}
    options = {
        "scope": p["scope"],
        "deny": p["deny"],
        "environment": p["environment"],
        "table_name": p["table_name"],
        "chain_name": p["iptables_chain"],
        "iptables_jump": p["iptables_jump"],
        "acl_name": p["ios_acl"],
        "panos_prefix": p["panos_prefix"],
        "panos_amt_zone": p["panos_amt_zone"],
        "panos_server_zone": p["panos_server_zone"],
    }
    return {fmt: render_counted(fmt, estate, **options) for fmt in p["formats"]}, estate


def check_destination(p: dict) -> str:
    dest = p["dest_dir"]
    if not os.path.isabs(dest):
        raise ValueError(f"dest_dir {dest!r} is relative: give an absolute path, for example "
                         "'{{ playbook_dir }}/../artifacts/<env>'")  # fmt: skip
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise ValueError(f"dest_dir {dest} exists and is not a folder")
    prefix = p["file_prefix"]
    if not prefix or "/" in prefix or prefix.startswith("."):
        raise ValueError(f"file_prefix {prefix!r} must be a plain file name (no '/', not starting with '.')")
    return dest


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesFileError(f"cannot read {path}: {exc}") from None


def write_text(module: AnsibleModule, dest: str, path: str, text: str) -> None:
    try:
        os.makedirs(dest, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".oob-flows-", dir=dest)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise RulesFileError(f"cannot write {path}: {exc}") from None
    module.atomic_move(tmp, path)  # fails the module itself, with the reason, when the rename fails


def run(module: AnsibleModule) -> dict:
    p = module.params
    dest = check_destination(p)
    rendered, estate = render_all(p)
    files, diffs, changed = [], [], False
    for fmt, (text, count) in rendered.items():
        path = os.path.join(dest, f"{p['file_prefix']}.{EXTENSIONS[fmt]}")
        before = read_text(path)
        differs = before != text
        if differs and not module.check_mode:
            write_text(module, dest, path, text)
        file_changed = differs
        if p["mode"] is not None and os.path.exists(path):  # in check mode it only reports a different mode
            file_changed = module.set_mode_if_different(path, p["mode"], file_changed)
        changed = changed or file_changed
        files.append({"format": fmt, "path": path, "changed": file_changed, "rules": count, "content": text})
        diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": text})
    flows = matrix(estate, scope=p["scope"])
    return {
        "changed": changed,
        "dest_dir": dest,
        "files": files,
        "rule_counts": {f["format"]: f["rules"] for f in files},
        "flows": flows,
        "diff": diffs,
    }


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_and_exit(module, run, (RulesFileError,))


if __name__ == "__main__":
    main()
