# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The out of band management port matrix, once, and pure renderers of it. No I/O, no Ansible.

``FLOWS`` is the only place a port number is written. Each flow names a source role and a destination role; an
*estate* (the service point's and consoles' IPv4 addresses, the AMT subnets, optionally the server subnets, DNS and
DHCP servers and DHCP relays) gives each role its addresses, and the renderers turn flows x addresses into the rules
of one platform:

``nftables``
    a complete ``table inet <name>`` (for ``nft -f``, or the module nft_table) with one base chain on the forward hook.
``iptables``
    a ``*filter`` section for ``iptables-restore --noflush``: its own chain, jumped to from FORWARD's first rule
    (``-I FORWARD 1``: behind a final REJECT or DROP, RHEL's default, an appended jump would never be reached);
    ``iptables_load_command`` is the idempotent way to load it (one jump, however often it is loaded).
``ios``
    a Cisco IOS extended named ACL, ``remark`` lines carrying each flow's seed row, wildcard masks; stateless, so every
    flow has its reply entry (``established`` for TCP).
``panos``
    Palo Alto Networks PAN-OS configure-mode ``set`` commands: address objects and groups, services, and one security
    rule per flow whose description is the whole seed row.

What every ruleset does, on the device between the server side and the AMT subnets (same semantics on each platform):

1. accept replies (stateful platforms: established/related connections to or from the AMT subnets; IOS: one reply
   entry per flow);
2. accept each flow of the matrix (new connections only, where the platform tracks state);
3. ``scope=subnets`` (the default): drop every other packet between the *server side* and the AMT subnets, both ways.
   The server side is ``server_subnets`` when given, else the service point and the consoles.
   ``scope=ports``: drop only other traffic to the AMT subnets' management ports (the ports of the flows whose
   destination is the AMT subnets), from anywhere; use it where the AMT computers are ordinary desktops whose
   operating system shares the AMT address and talks to servers on other ports;
4. leave all other traffic alone: the nftables chain's policy is accept (an nftables accept only ends this table's
   chain, other tables still see the packet; a drop is final), the iptables chain returns to FORWARD, the IOS ACL ends
   with permits scoped to the AMT subnets (no permit any any), PAN-OS rules cover only these addresses.

Bad input raises ValueError and nothing is rendered: a port outside 1-65535, a CIDR with host bits set, an address
outside every server subnet given, an empty source list, an IPv6 address anywhere (out of band management is IPv4
only).
"""

from __future__ import annotations

import ipaddress
import re
import textwrap
from dataclasses import dataclass

from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import check_address, check_network

# ------------------------------------------------------------------------------------------------ the seed's rows

# "Intervening network devices such as routers and firewalls must allow the traffic ...", and its port list
SEED_PORTS_ROW = "network_ports"
SEED_DHCP_ROW = "dhcp_active_scope"  # the keys other modules' check rows already use (oob_dhcp, dns_provision_info)
SEED_DNS_ROW = "dns_name_resolution"

SEED_9971 = ("From the AMT management controllers to the out of band service point site system server for "
             "provisioning: TCP 9971.")  # fmt: skip
SEED_16992 = ("From the out of band service point site system server to AMT managed controllers for discovery: "
              "TCP 16992.")  # fmt: skip
SEED_16993_SP = ("From the out of band service point site system server to AMT management controllers for power "
                 "control initiated from the Configuration Manager console and scheduled activities, provisioning, "
                 "and discovery: TCP 16993.")  # fmt: skip
SEED_16993_CONSOLE = ("From computers running the out of band management console to AMT management controllers for all "
                      "management tasks initiated from the out of band management console (including power on "
                      "commands): TCP 16993.")  # fmt: skip
SEED_16995 = ("From computers running the out of band management console to AMT management controllers for serial "
              "over LAN and IDE redirection: TCP 16995.")  # fmt: skip
SEED_DHCP = "DHCP server with an active scope."
SEED_DNS = ("DNS servers for name resolution. Additionally, if you will provision AMT-based computers out of band "
            "(the Configuration Manager 2007 SP1 client is not installed), DNS might also be needed to resolve the "
            "host name of ProvisionServer to the IP address of the out of band service point site system "
            "server.")  # fmt: skip


@dataclass(frozen=True)
class Flow:
    """One flow: ``source`` and ``dest`` are roles (ROLES), ``port`` the destination port.

    ``kind``: ``oob`` for the seed's port list, ``infrastructure`` for the DHCP and DNS traffic the seed's network
    services row requires (the seed names no port for it: ``reference`` says where the port comes from).
    ``interface_acl_only``: traffic a router's interface ACL sees but a forwarding firewall does not (broadcasts to a
    DHCP relay on the router itself); rendered for ``ios`` only.
    """

    id: str
    source: str
    dest: str
    proto: str
    port: int
    row: str
    seed: str
    purpose: str
    kind: str = "oob"
    reference: str = ""
    interface_acl_only: bool = False


FLOWS: tuple[Flow, ...] = (
    Flow("amt-provisioning", "amt", "service_point", "tcp", 9971, SEED_PORTS_ROW, SEED_9971,
         "AMT computers in setup send their hello to the out of band service point (provisioning)"),
    Flow("sp-discovery", "service_point", "amt", "tcp", 16992, SEED_PORTS_ROW, SEED_16992,
         "the service point discovers AMT computers (WS-MAN over HTTP)"),
    Flow("sp-management-tls", "service_point", "amt", "tcp", 16993, SEED_PORTS_ROW, SEED_16993_SP,
         "the service point manages AMT computers over TLS: power control, scheduled activities, provisioning, "
         "discovery"),
    Flow("console-management-tls", "console", "amt", "tcp", 16993, SEED_PORTS_ROW, SEED_16993_CONSOLE,
         "out of band management consoles manage AMT computers over TLS (power on included)"),
    Flow("console-redirection-tls", "console", "amt", "tcp", 16995, SEED_PORTS_ROW, SEED_16995,
         "out of band management consoles open serial over LAN and IDE redirection sessions (TLS)"),
    Flow("amt-dns-udp", "amt", "dns_server", "udp", 53, SEED_DNS_ROW, SEED_DNS,
         "AMT computers resolve ProvisionServer and the service point's name", "infrastructure", "RFC 1035 4.2"),
    Flow("amt-dns-tcp", "amt", "dns_server", "tcp", 53, SEED_DNS_ROW, SEED_DNS,
         "DNS over TCP (truncated answers)", "infrastructure", "RFC 7766"),
    Flow("dhcp-relay", "dhcp_relay", "dhcp_server", "udp", 67, SEED_DHCP_ROW, SEED_DHCP,
         "the AMT subnets' DHCP relay forwards client messages to the DHCP server", "infrastructure",
         "RFC 2131 4.1, RFC 1542"),
    Flow("dhcp-relay-reply", "dhcp_server", "dhcp_relay", "udp", 67, SEED_DHCP_ROW, SEED_DHCP,
         "the DHCP server answers the relay at its giaddr (not a reply conntrack can match)", "infrastructure",
         "RFC 2131 4.1"),
    Flow("dhcp-renew", "amt", "dhcp_server", "udp", 67, SEED_DHCP_ROW, SEED_DHCP,
         "AMT computers renew their lease unicast to the DHCP server", "infrastructure", "RFC 2131 4.4.5"),
    Flow("dhcp-inform-ack", "dhcp_server", "amt", "udp", 68, SEED_DHCP_ROW, SEED_DHCP,
         "the DHCP server answers a DHCPINFORM unicast to the client's address, not through the relay (no reply "
         "conntrack can match)", "infrastructure", "RFC 2131 4.3.5"),
    Flow("dhcp-broadcast", "unaddressed", "broadcast", "udp", 67, SEED_DHCP_ROW, SEED_DHCP,
         "DHCPDISCOVER/DHCPREQUEST broadcasts from AMT computers without an address reach the relay on the AMT "
         "subnets' gateway (ip helper-address)", "infrastructure", "RFC 2131 4.1", True),
)  # fmt: skip

# role -> (estate key, what it is); service_point, consoles and amt_subnets are required (validate_estate), the others
# optional: a flow whose role has no address is not rendered (plan()'s "skipped")
ROLES: dict[str, tuple[str, str]] = {
    "amt": ("amt_subnets", "AMT subnets"),
    "service_point": ("service_point", "out of band service point"),
    "console": ("consoles", "out of band management consoles"),
    "dns_server": ("dns_servers", "DNS servers of the AMT subnets"),
    "dhcp_server": ("dhcp_servers", "DHCP servers of the AMT subnets"),
    "dhcp_relay": ("dhcp_relays", "DHCP relay addresses of the AMT subnets"),
    "unaddressed": ("", "a DHCP client without an address (0.0.0.0)"),
    "broadcast": ("", "the limited broadcast (255.255.255.255)"),
}
_FIXED = {"unaddressed": ["0.0.0.0/32"], "broadcast": ["255.255.255.255/32"]}
PROTOCOLS = ("tcp", "udp")
FORMATS = ("nftables", "iptables", "ios", "panos")
SCOPES = ("subnets", "ports")
# How the rules refuse what the matrix does not allow: silently (drop), or with an answer from the firewall itself - a
# TCP reset for TCP and ICMP "communication administratively prohibited" (RFC 1812 5.2.7.1, type 3 code 13) for the
# rest, or ICMP code 13 for everything. network_flow_probe tells each of them from an answer of the destination.
DENY = ("drop", "reject-tcp-reset", "reject-icmp")
ESTATE_KEYS = ("service_point", "consoles", "amt_subnets", "server_subnets", "dns_servers", "dhcp_servers",
               "dhcp_relays")  # fmt: skip

# ---------------------------------------------------------------------------------------------------- input


def check_port(value, what: str = "port") -> int:
    """A TCP/UDP port number, 1-65535."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a port number (1-65535)") from None
    if not 1 <= value <= 65535:
        raise ValueError(f"{what} {value} is outside 1-65535")
    return value


def _list(value, what: str) -> list:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{what} must be a list, not {value!r}")
    return list(value)


def _unique(items: list, what: str) -> None:
    seen = set()
    for item in items:
        if item in seen:
            raise ValueError(f"{what}: {item} is listed twice")
        seen.add(item)


@dataclass(frozen=True)
class Estate:
    """Validated addresses per role (every entry an IPv4Network; hosts are /32)."""

    service_point: ipaddress.IPv4Network
    consoles: tuple
    amt_subnets: tuple
    server_subnets: tuple
    dns_servers: tuple
    dhcp_servers: tuple
    dhcp_relays: tuple

    def endpoints(self, role: str) -> list[ipaddress.IPv4Network]:
        if role in _FIXED:
            return [ipaddress.ip_network(n) for n in _FIXED[role]]
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        value = getattr(self, ROLES[role][0])
        return [value] if isinstance(value, ipaddress.IPv4Network) else list(value)

    @property
    def server_side(self) -> list[ipaddress.IPv4Network]:
        """What scope=subnets isolates from the AMT subnets: server_subnets, else the service point and consoles."""
        if self.server_subnets:
            return list(self.server_subnets)
        return _dedupe([self.service_point, *self.consoles])


def _host(address: ipaddress.IPv4Address) -> ipaddress.IPv4Network:
    return ipaddress.ip_network(f"{address}/32")


def _dedupe(items: list) -> list:
    return list(dict.fromkeys(items))


def validate_estate(estate: dict | Estate) -> Estate:
    """Check the estate's addresses; returns an Estate. Every error names the key to fix."""
    if isinstance(estate, Estate):
        return estate
    if not isinstance(estate, dict):
        raise ValueError(f"the estate must be a dict with {', '.join(ESTATE_KEYS)}, not {type(estate).__name__}")
    unknown = sorted(set(estate) - set(ESTATE_KEYS))
    if unknown:
        raise ValueError(f"unknown estate key(s) {', '.join(unknown)}; the keys are {', '.join(ESTATE_KEYS)}")
    if not estate.get("service_point"):
        raise ValueError("service_point: give the out of band service point's IPv4 address")
    sp = _host(check_address(estate["service_point"], "service_point"))
    lists = {}
    for key, kind in (("consoles", "host"), ("amt_subnets", "net"), ("server_subnets", "net"), ("dns_servers", "host"),
                      ("dhcp_servers", "host"), ("dhcp_relays", "host")):  # fmt: skip
        values = _list(estate.get(key), key)
        if kind == "host":
            parsed = [_host(check_address(v, f"{key}[{i}]")) for i, v in enumerate(values)]
        else:
            parsed = [check_network(v, f"{key}[{i}]") for i, v in enumerate(values)]
        _unique(parsed, key)
        lists[key] = tuple(parsed)
    if not lists["consoles"]:
        raise ValueError("consoles is empty: the console flows (TCP to the AMT subnets) need at least one source; give "
                         "the IPv4 address of every computer that runs the out of band management console")  # fmt: skip
    if not lists["amt_subnets"]:
        raise ValueError("amt_subnets is empty: give every subnet of AMT computers in CIDR form (the source of the "
                         "provisioning flow and the destination of the management flows)")  # fmt: skip
    if estate.get("server_subnets") is not None and not lists["server_subnets"]:
        raise ValueError("server_subnets is an empty list: omit it, or give the subnets of the service point and the "
                         "consoles")  # fmt: skip
    _no_overlap(lists["amt_subnets"], "amt_subnets")
    _no_overlap(lists["server_subnets"], "server_subnets")
    for i, net in enumerate(lists["server_subnets"]):
        for amt in lists["amt_subnets"]:
            if net.overlaps(amt):
                raise ValueError(f"server_subnets[{i}] {net} overlaps amt_subnets {amt}: the server side and the AMT "
                                 "subnets must be apart for a device between them to filter")  # fmt: skip
    named = [("service_point", sp)] + [(f"{k}[{i}]", n) for k in ("consoles", "dns_servers", "dhcp_servers")
                                       for i, n in enumerate(lists[k])]  # fmt: skip
    for what, host in named:
        for amt in lists["amt_subnets"]:
            if host.subnet_of(amt):
                raise ValueError(f"{what} {host.network_address} is inside the AMT subnet {amt}: its traffic to the "
                                 "AMT computers does not cross the router or firewall these rules are for")  # fmt: skip
    if lists["server_subnets"]:
        for what, host in named[: 1 + len(lists["consoles"])]:
            if not any(host.subnet_of(net) for net in lists["server_subnets"]):
                raise ValueError(f"{what} {host.network_address} is outside every server subnet "
                                 f"({', '.join(map(str, lists['server_subnets']))}): add its subnet to server_subnets, "
                                 "or correct the address")  # fmt: skip
    return Estate(sp, lists["consoles"], lists["amt_subnets"], lists["server_subnets"], lists["dns_servers"],
                  lists["dhcp_servers"], lists["dhcp_relays"])  # fmt: skip


def _no_overlap(nets: tuple, what: str) -> None:
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            if a.overlaps(b):
                raise ValueError(f"{what}: {a} and {b} overlap; list each subnet once")


def check_flows(flows) -> tuple[Flow, ...]:
    """Check a flow table (FLOWS, or one a test or caller builds)."""
    flows = tuple(flows)
    if not flows:
        raise ValueError("the flow table is empty")
    ids = [f.id for f in flows]
    _unique(ids, "flow ids")
    for f in flows:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,40}", f.id):
            raise ValueError(f"flow id {f.id!r}: use lower-case letters, digits and '-', at most 41 characters")
        for end in (f.source, f.dest):
            if end not in ROLES:
                raise ValueError(f"flow {f.id}: unknown role {end!r}; roles are {', '.join(ROLES)}")
        if f.proto not in PROTOCOLS:
            raise ValueError(f"flow {f.id}: protocol {f.proto!r} is not one of {', '.join(PROTOCOLS)}")
        check_port(f.port, f"flow {f.id}: port")
        if not f.seed or '"' in f.seed or not f.row:
            raise ValueError(f"flow {f.id}: give its seed row key and text (without double quotes)")
    return flows


# ---------------------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Rule:
    flow: Flow
    sources: tuple
    dests: tuple


def plan(estate, flows=FLOWS, scope: str = "subnets", interface_acl: bool = False, deny: str = "drop") -> dict:
    """{'rules': [Rule], 'skipped': [{id, reason}], 'isolate': [(sources, dests)], 'ports': [(proto, port)]}.

    A flow whose optional role has no address (no dns_servers given, say) is skipped, not an error; a required role
    is never empty (validate_estate). ``isolate`` lists the (sources, destinations) pairs scope=subnets drops;
    ``ports`` the AMT management ports scope=ports drops for everyone else.
    """
    estate = validate_estate(estate)
    flows = check_flows(flows)
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if deny not in DENY:
        raise ValueError(f"deny must be one of {', '.join(DENY)}, not {deny!r}")
    rules, skipped = [], []
    for f in flows:
        if f.interface_acl_only and not interface_acl:
            skipped.append({"id": f.id, "reason": "only an interface ACL sees it; a forwarding firewall does not"})
            continue
        src, dst = estate.endpoints(f.source), estate.endpoints(f.dest)
        missing = [role for role, ends in ((f.source, src), (f.dest, dst)) if not ends]
        if missing:
            keys = " and ".join(ROLES[m][0] for m in missing)
            skipped.append({"id": f.id, "reason": f"no {keys} given"})
            continue
        rules.append(Rule(f, tuple(src), tuple(dst)))
    amt = tuple(estate.amt_subnets)
    isolate = []
    ports = []
    if scope == "subnets":
        side = tuple(estate.server_side)
        isolate = [(side, amt), (amt, side)]
    else:
        ports = _dedupe([(f.proto, f.port) for f in flows if f.dest == "amt" and f.kind == "oob"])
    return {
        "estate": estate,
        "rules": rules,
        "skipped": skipped,
        "isolate": isolate,
        "ports": ports,
        "scope": scope,
        "deny": deny,
    }


def matrix(estate, flows=FLOWS, scope: str = "subnets") -> list[dict]:
    """The flows with this estate's addresses, as plain data (what network_flow_rules returns)."""
    p = plan(estate, flows, scope, interface_acl=True)
    by_id = {r.flow.id: r for r in p["rules"]}
    skipped = {s["id"]: s["reason"] for s in p["skipped"]}
    out = []
    for f in check_flows(flows):
        rule = by_id.get(f.id)
        out.append({
            "id": f.id, "source": f.source, "dest": f.dest, "proto": f.proto, "port": f.port, "row": f.row,
            "seed": f.seed, "purpose": f.purpose, "kind": f.kind, "reference": f.reference,
            "interface_acl_only": f.interface_acl_only,
            "sources": [_text(n) for n in rule.sources] if rule else [],
            "destinations": [_text(n) for n in rule.dests] if rule else [],
            "skipped": skipped.get(f.id, ""),
        })  # fmt: skip
    return out


def probe_targets(estate, source: str, flows=FLOWS, expect: str = "open") -> list[dict]:
    """The TCP flows that start at role ``source``, as network_flow_probe's ``flows`` (run from a host of that role).

    Destinations that are subnets (the AMT subnets) are given as CIDRs; the probe expands them (mind its
    max_targets), or give the AMT computers' own addresses instead.
    """
    if source not in ROLES:
        raise ValueError(f"unknown role {source!r}; roles are {', '.join(ROLES)}")
    if expect not in ("open", "closed", None):
        raise ValueError(f"expect must be open, closed or None, not {expect!r}")
    out = []
    for item in matrix(estate, flows):
        if item["source"] != source or item["proto"] != "tcp" or item["skipped"]:
            continue
        for dest in item["destinations"]:
            out.append({"id": item["id"], "dest": dest, "port": item["port"], "proto": "tcp", "row": item["row"],
                        "seed": item["seed"], "expect": expect})  # fmt: skip
    return out


def _text(net: ipaddress.IPv4Network) -> str:
    return str(net.network_address) if net.prefixlen == 32 else str(net)


# ---------------------------------------------------------------------------------------------------- renderers

_NFT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_IPT_CHAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,27}$")
_IOS_ACL = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_PAN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$")
_GENERATED = "generated by oob-prep from the out of band management port matrix; edit the estate, not this file"
_ISOLATE_NOTE = "everything else between the server side and the AMT subnets (scope=subnets)"
_PORTS_NOTE = "every other source to the AMT subnets' management ports (scope=ports)"


def _name(value: str, pattern: re.Pattern, what: str, hint: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"{what} {value!r} is not valid: {hint}")
    return value


def _header(comment: str, environment: str, p: dict, extra: list[str]) -> list[str]:
    lines = [f"{comment} {_GENERATED}"]
    if environment:
        lines.append(f"{comment} environment: {environment}")
    lines.append(f"{comment} scope: {p['scope']}")
    for s in p["skipped"]:
        lines.append(f"{comment} not rendered: {s['id']} ({s['reason']})")
    lines += [f"{comment} {line}" for line in extra]
    return lines


def _nft_elements(nets) -> str:
    return ", ".join(_text(n) for n in nets)


# Each DENY style's actions per format: drop, a TCP reset (TCP only: ``tcp`` narrows a rule for every protocol), ICMP
# type 3 code 13 (the way nft lists it back, so a reload compares equal)
_DENY_ACTIONS = {
    "nftables": {"drop": "counter drop", "reset": "counter reject with tcp reset",
                 "icmp": "counter reject with icmp admin-prohibited", "tcp": " meta l4proto tcp"},
    "iptables": {"drop": "-j DROP", "reset": "-j REJECT --reject-with tcp-reset",
                 "icmp": "-j REJECT --reject-with icmp-admin-prohibited", "tcp": " -p tcp"},
}  # fmt: skip


def _deny_rules(fmt: str, match: str, deny: str, proto: str | None = None, suffix: str = "") -> list[str]:
    """The rules of ``fmt`` that refuse ``match`` (of any protocol, or of ``proto``) the ``deny`` way (DENY)."""
    a = _DENY_ACTIONS[fmt]
    if deny == "drop":
        actions = [("", a["drop"])]
    elif deny == "reject-icmp" or proto not in (None, "tcp"):
        actions = [("", a["icmp"])]
    elif proto:
        actions = [("", a["reset"])]
    else:
        actions = [(a["tcp"], a["reset"]), ("", a["icmp"])]
    return [f"{match}{narrow} {action}{suffix}" for narrow, action in actions]


def render_nftables(p: dict, environment: str = "", table_name: str = "oob_prep") -> tuple[str, int]:
    _name(table_name, _NFT_NAME, "table_name", "letters, digits and '_', starting with a letter or '_'")
    est: Estate = p["estate"]
    sets: dict[str, tuple] = {}  # set name -> networks; one named set per role with a list (and the server side)

    def ref(role_or_side: str, nets) -> str:
        if role_or_side == "service_point" or role_or_side in _FIXED:
            return _nft_elements(nets)
        name = {"amt": "amt_subnets", "console": "consoles"}.get(role_or_side, role_or_side + "s")
        sets[name] = tuple(nets)
        return "@" + name

    body: list[str] = []
    count = 0
    amt = ref("amt", est.amt_subnets)
    body.append("\t\t# replies and related ICMP of connections to and from the AMT subnets")
    for direction in ("saddr", "daddr"):
        body.append(f'\t\tip {direction} {amt} ct state established,related accept comment "oob-prep established"')
        count += 1
    for r in p["rules"]:
        f = r.flow
        body.append(f"\t\t# {f.id} ({f.row}): {f.seed}")
        src, dst = ref(f.source, r.sources), ref(f.dest, r.dests)
        body.append(f"\t\tip saddr {src} ip daddr {dst} {f.proto} dport {f.port} ct state new accept "
                    f'comment "oob-prep {f.id}"')  # fmt: skip
        count += 1
    if p["isolate"]:
        body.append(f"\t\t# {_ISOLATE_NOTE}")
        side = "server_side"
        sets[side] = tuple(p["isolate"][0][0])
        for a, b in ((f"@{side}", amt), (amt, f"@{side}")):
            rules = _deny_rules("nftables", f"\t\tip saddr {a} ip daddr {b}", p["deny"],
                                suffix=' comment "oob-prep isolate"')  # fmt: skip
            body += rules
            count += len(rules)
    for proto, ports in _by_proto(p["ports"]):
        body.append(f"\t\t# {_PORTS_NOTE}")
        rules = _deny_rules("nftables", f"\t\tip daddr {amt} {proto} dport {{ {', '.join(map(str, ports))} }}",
                            p["deny"], proto, ' comment "oob-prep amt-ports"')  # fmt: skip
        body += rules
        count += len(rules)
    by_hand = f"printf 'table inet {table_name} {{}}\\ndelete table inet {table_name}\\n' | cat - FILE | nft -f -"
    extra = ["apply with the module nft_table (replaces this table in one transaction, no other table), or by hand:",
             by_hand]  # fmt: skip
    lines = _header("#", environment, p, extra)
    lines += [f"table inet {table_name} {{"]
    for name, nets in sets.items():
        interval = any(n.prefixlen != 32 for n in nets)
        lines += [f"\tset {name} {{", "\t\ttype ipv4_addr"]
        if interval:
            lines.append("\t\tflags interval")
        lines += [f"\t\telements = {{ {_nft_elements(nets)} }}", "\t}", ""]
    lines += ["\tchain forward {", "\t\ttype filter hook forward priority filter; policy accept;", *body, "\t}", "}"]
    return "\n".join(lines) + "\n", count


def _by_proto(ports: list) -> list[tuple[str, list[int]]]:
    grouped: dict[str, list[int]] = {}
    for proto, port in ports:
        grouped.setdefault(proto, []).append(port)
    return list(grouped.items())


def _cidr(net) -> str:
    return str(net)


def iptables_load_command(chain_name: str = "OOB-PREP", path: str = "FILE") -> str:
    """The shell line that loads a rendering with the jump and leaves exactly one jump, FORWARD's first rule: the load
    inserts a new jump at 1; every jump to the chain after rule 1 is then deleted, from the last up (so the numbers
    of the ones still to delete do not move). No moment without a jump, and idempotent: a second run ends the same."""
    return (
        f'iptables-restore --noflush {path} && iptables -L FORWARD -n --line-numbers | awk \'$2 == "{chain_name}" '
        '&& $1 > 1 {print $1}\' | sort -rn | while read -r n; do iptables -D FORWARD "$n"; done'
    )


def render_iptables(p: dict, environment: str = "", chain_name: str = "OOB-PREP", jump: bool = True) -> tuple[str, int]:
    _name(chain_name, _IPT_CHAIN, "chain_name", "a letter, then letters, digits, '_' or '-', at most 28 characters")
    est: Estate = p["estate"]
    extra = ["load with: iptables-restore --noflush FILE (declaring the chain flushes it: a reload replaces its rules",
             "and touches no other chain)."]  # fmt: skip
    if jump:
        extra += ["The jump is FORWARD's first rule (-I FORWARD 1), ahead of a final REJECT or DROP (RHEL's",
                  "default), which would otherwise leave this chain dead. A restore file cannot test for a rule, so",
                  "every load inserts one more jump: load and reload with this line, which keeps the first jump and",
                  "deletes every later one (also one an older rendering appended):",
                  f"  {iptables_load_command(chain_name)}"]  # fmt: skip
    else:
        extra += ["No jump from FORWARD is rendered (iptables_jump=false): keep one as the host's first FORWARD rule,",
                  f'  -I FORWARD 1 -m comment --comment "oob-prep" -j {chain_name}']  # fmt: skip
    lines = _header("#", environment, p, extra) + ["*filter", f":{chain_name} - [0:0]"]
    if jump:
        lines.append(f'-I FORWARD 1 -m comment --comment "oob-prep" -j {chain_name}')
    count = 0
    lines.append("# replies and related ICMP of connections to and from the AMT subnets")
    for flag in ("-s", "-d"):
        for net in est.amt_subnets:
            lines.append(f"-A {chain_name} {flag} {_cidr(net)} -m conntrack --ctstate RELATED,ESTABLISHED "
                         '-m comment --comment "oob-prep established" -j ACCEPT')  # fmt: skip
            count += 1
    for r in p["rules"]:
        f = r.flow
        lines.append(f"# {f.id} ({f.row}): {f.seed}")
        for s in r.sources:
            for d in r.dests:
                lines.append(f"-A {chain_name} -s {_cidr(s)} -d {_cidr(d)} -p {f.proto} -m {f.proto} "
                             f"--dport {f.port} -m conntrack --ctstate NEW "
                             f'-m comment --comment "oob-prep {f.id}" -j ACCEPT')  # fmt: skip
                count += 1
    if p["isolate"]:
        lines.append(f"# {_ISOLATE_NOTE}")
        for sources, dests in p["isolate"]:
            for s in sources:
                for d in dests:
                    match = f'-A {chain_name} -s {_cidr(s)} -d {_cidr(d)} -m comment --comment "oob-prep isolate"'
                    rules = _deny_rules("iptables", match, p["deny"])
                    lines += rules
                    count += len(rules)
    for proto, ports in _by_proto(p["ports"]):
        lines.append(f"# {_PORTS_NOTE}")
        for d in est.amt_subnets:
            match = (f"-A {chain_name} -d {_cidr(d)} -p {proto} -m multiport --dports {','.join(map(str, ports))} "
                     '-m comment --comment "oob-prep amt-ports"')  # fmt: skip
            rules = _deny_rules("iptables", match, p["deny"], proto)
            lines += rules
            count += len(rules)
    lines.append("COMMIT")
    return "\n".join(lines) + "\n", count


def _ios_addr(net) -> str:
    if net.prefixlen == 32:
        return f"host {net.network_address}"
    if net.prefixlen == 0:
        return "any"
    return f"{net.network_address} {net.hostmask}"


def _remarks(text: str) -> list[str]:
    # IOS takes at most 100 characters per remark
    return [f" remark {chunk}" for chunk in textwrap.wrap(text, 100, break_long_words=True)]


def render_ios(p: dict, environment: str = "", acl_name: str = "OOB-PREP") -> tuple[str, int]:
    _name(acl_name, _IOS_ACL, "acl_name", "a letter, then letters, digits, '_', '.' or '-' (no spaces)")
    est: Estate = p["estate"]
    extra = [f"apply to the AMT subnets' gateway interface, both ways: ip access-group {acl_name} in / "
             f"ip access-group {acl_name} out.",
             "Stateless: every flow has its reply entry. To replace a live ACL, load this under a new name and swap",
             "the ip access-group lines (entries entered into a live ACL go after its last entry)."]  # fmt: skip
    lines = _header("!", environment, p, extra) + [f"ip access-list extended {acl_name}"]
    seen: set[str] = set()
    count = 0

    def entry(text: str) -> None:
        nonlocal count
        if text not in seen:  # IOS refuses a duplicate entry (a console that is also the service point)
            seen.add(text)
            lines.append(f" {text}")
            count += 1

    for r in p["rules"]:
        f = r.flow
        lines.extend(_remarks(f"{f.id} ({f.row}): {f.seed}"))
        for s in r.sources:
            for d in r.dests:
                entry(f"permit {f.proto} {_ios_addr(s)} {_ios_addr(d)} eq {f.port}")
        if not f.interface_acl_only:
            for s in r.sources:
                for d in r.dests:
                    reply = " established" if f.proto == "tcp" else ""
                    entry(f"permit {f.proto} {_ios_addr(d)} eq {f.port} {_ios_addr(s)}{reply}")
    if p["isolate"]:
        lines.extend(_remarks(_ISOLATE_NOTE))
        for sources, dests in p["isolate"]:
            for s in sources:
                for d in dests:
                    entry(f"deny ip {_ios_addr(s)} {_ios_addr(d)}")
    for proto, ports in _by_proto(p["ports"]):
        lines.extend(_remarks(_PORTS_NOTE))
        for d in est.amt_subnets:
            for port in ports:
                entry(f"deny {proto} any {_ios_addr(d)} eq {port}")
    lines.extend(_remarks("all other traffic of the AMT subnets is not this list's business (no permit any any)"))
    for net in est.amt_subnets:
        entry(f"permit ip {_ios_addr(net)} any")
        entry(f"permit ip any {_ios_addr(net)}")
    return "\n".join(lines) + "\n", count


def render_panos(
    p: dict,
    environment: str = "",
    prefix: str = "oob-prep",
    amt_zone: str = "oob-amt",
    server_zone: str = "oob-servers",
) -> tuple[str, int]:
    """PAN-OS configure-mode commands (no comment lines: the CLI has none; each rule's description carries its seed
    row). Rules are moved to the top of the rulebase in order, so broader rules below cannot shadow them."""
    _name(prefix, re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$"), "panos_prefix",
          "letters, digits, '_', '.', '-', at most 20 characters")  # fmt: skip
    for zone, what in ((amt_zone, "panos_amt_zone"), (server_zone, "panos_server_zone")):
        _name(zone, _PAN_NAME, what, "letters, digits, '_', '.', '-', at most 31 characters")
    est: Estate = p["estate"]
    addresses: dict = {}  # network -> object name
    groups: dict[str, str] = {}  # group name -> its command
    services: dict[str, str] = {}  # service name -> its command

    def address(net) -> str:
        if net not in addresses:
            addresses[net] = f"{prefix}-{net.network_address}" + ("" if net.prefixlen == 32 else f"-{net.prefixlen}")
        return addresses[net]

    def group(label: str, nets) -> str:
        names = [address(n) for n in nets]
        if len(names) == 1:
            return names[0]
        name = f"{prefix}-{label}"
        groups.setdefault(name, f"set address-group {name} static [ {' '.join(names)} ]")
        return name

    def zones(nets) -> str:
        found = _dedupe([amt_zone if any(n.subnet_of(a) for a in est.amt_subnets) else server_zone for n in nets])
        return found[0] if len(found) == 1 else f"[ {' '.join(found)} ]"

    def service(proto: str, port: int) -> str:
        name = f"{prefix}-{proto}-{port}"
        services.setdefault(name, f"set service {name} protocol {proto} port {port}")
        return name

    rules: list[tuple[str, str]] = []
    common = "source-user any category any application any"
    for r in p["rules"]:
        f = r.flow
        src = group(ROLES[f.source][0].replace("_", "-"), r.sources)
        dst = group(ROLES[f.dest][0].replace("_", "-"), r.dests)
        rules.append((f"{prefix}-{f.id}", f"from {zones(r.sources)} to {zones(r.dests)} source {src} destination {dst} "
                      f"{common} service {service(f.proto, f.port)} action allow "
                      f'description "oob-prep {f.id} ({f.row}): {f.seed}"'))  # fmt: skip
    amt_group = group("amt-subnets", est.amt_subnets)
    if p["isolate"]:
        side = group("server-side", p["isolate"][0][0])
        for name, (s, sz), (d, dz) in (
            (f"{prefix}-isolate-to-amt", (side, server_zone), (amt_group, amt_zone)),
            (f"{prefix}-isolate-from-amt", (amt_group, amt_zone), (side, server_zone)),
        ):
            rules.append((name, f"from {sz} to {dz} source {s} destination {d} {common} service any action deny "
                                f'description "oob-prep: {_ISOLATE_NOTE}"'))  # fmt: skip
    if p["ports"]:
        svc = [service(proto, port) for proto, port in p["ports"]]
        svc_text = svc[0] if len(svc) == 1 else f"[ {' '.join(svc)} ]"
        text = (f"from any to {amt_zone} source any destination {amt_group} {common} service {svc_text} action deny "
                f'description "oob-prep: {_PORTS_NOTE}"')  # fmt: skip
        rules.append((f"{prefix}-amt-ports", text))
    lines = [f"set address {name} ip-netmask {net}" for net, name in addresses.items()]
    lines += list(groups.values()) + list(services.values())
    lines += [f"set rulebase security rules {name} {text}" for name, text in rules]
    # appended rules land at the bottom: move each to the top, last first, so they keep this order above the rest
    lines += [f"move rulebase security rules {name} top" for name, _text in reversed(rules)]
    return "\n".join(lines) + "\n", len(rules)


def render_counted(fmt: str, estate, *, scope: str = "subnets", deny: str = "drop", environment: str = "", flows=FLOWS,
                   table_name: str = "oob_prep", chain_name: str = "OOB-PREP", iptables_jump: bool = True,
                   acl_name: str = "OOB-PREP", panos_prefix: str = "oob-prep", panos_amt_zone: str = "oob-amt",
                   panos_server_zone: str = "oob-servers") -> tuple[str, int]:  # fmt: skip
    """(text, number of rules) of one format; ValueError on bad input, and then nothing is rendered."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    p = plan(estate, flows, scope, interface_acl=fmt == "ios", deny=deny)
    if fmt == "nftables":
        return render_nftables(p, environment, table_name)
    if fmt == "iptables":
        return render_iptables(p, environment, chain_name, iptables_jump)
    if fmt == "ios":
        return render_ios(p, environment, acl_name)
    return render_panos(p, environment, panos_prefix, panos_amt_zone, panos_server_zone)


def render(fmt: str, estate, **options) -> str:
    """The rules of ``fmt`` (FORMATS) for ``estate``; see render_counted for the options."""
    return render_counted(fmt, estate, **options)[0]
