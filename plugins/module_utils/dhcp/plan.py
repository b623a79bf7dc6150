# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCP scopes of the AMT subnets: the validated input and one pure plan (docs/adr/0007). No sockets, no I/O.

Seed rows: "DHCP server with an active scope"; "ensure that the DHCP scope options include DNS servers (006) and
Domain name (015) and that the DHCP server dynamically updates DNS with the computer resource record".

A backend turns the estate's wish for a scope into *settings* (plain ``{key: value}``, the same shape read from the
server and wished for) and applies a list of *changes*. Every backend has the same small surface::

    backend.read(scopes)      -> {network: {"exists", "active", "scope_id", "settings": {key: value}}}
    backend.desired(scope)    -> {key: value}
    backend.apply(changes)    -> None

``plan()`` compares them and knows nothing of Kea or Windows; ``checks()`` turns the same plan into the readiness
rows; ``effective_option()`` is the one inheritance rule of every backend's options 006/015. The backends are
``dhcp.kea`` (the Kea control API) and ``dhcp.windows`` (the DhcpServer cmdlets or netsh over WinRM);
``dhcp.backends`` chooses one from the modules' parameters and reads and plans with it.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.oob.prep.plugins.module_utils.checks import check
from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import check_network, ipv4
from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import dns_name as _dns_name

ROW_SCOPE = "dhcp_active_scope"
ROW_OPTIONS = "dhcp_options_006_015_ddns"
OPTION_DNS, OPTION_DOMAIN = 6, 15
TSIG_ALGORITHMS = ("HMAC-MD5", "HMAC-SHA1", "HMAC-SHA224", "HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512")


class OobDhcpError(Exception):
    """A failure talking to a DHCP server; ``kind`` says which (connect, timeout, protocol, kea, scope, ...)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# ---------------------------------------------------------------------------------------------------- input


def dns_name(value, what: str) -> str:
    """A DNS name in canonical form; an empty one is refused with what AMT needs it for."""
    if not str(value or "").strip().rstrip("."):
        raise ValueError(f"{what} is empty: AMT needs a DNS suffix (option 015) to find ProvisionServer")
    return _dns_name(value, what)


def reverse_zone(network: ipaddress.IPv4Network) -> str:
    """The in-addr.arpa zone that holds the network's PTR records: its prefix rounded down to whole octets."""
    octets = max(1, network.prefixlen // 8)
    return ".".join(reversed(str(network.network_address).split(".")[:octets])) + ".in-addr.arpa"


def normalize_scopes(scopes: list[dict]) -> list[dict]:
    """The scopes as the plan uses them; a ValueError naming the scope for anything a DHCP server cannot hold."""
    if not scopes:
        raise ValueError("no scopes: give at least one AMT subnet (the estate's oob_amt_subnets)")
    out, seen = [], set()
    for raw in scopes:
        net = check_network(raw.get("network"), "scope")
        where = f"scope {net}"
        if str(net) in seen:
            raise ValueError(f"{where} is given twice")
        seen.add(str(net))
        servers = raw.get("dns_servers") or []
        if not servers:
            raise ValueError(
                f"{where}: dns_servers (option 006) is empty: AMT needs a DNS server to find ProvisionServer"
            )
        ddns = dict(raw.get("ddns") or {})
        domain = dns_name(raw.get("domain_name"), f"{where}: domain_name (option 015)")
        enabled = ddns.get("enabled", True)
        ddns_servers = [ipv4(s, f"{where}: ddns servers") for s in (ddns.get("servers") or servers)]
        out.append(
            {
                "network": str(net),
                "scope_id": raw.get("scope_id"),
                "dns_servers": [ipv4(s, f"{where}: dns_servers (option 006)") for s in servers],
                "domain_name": domain,
                "ddns": {
                    "enabled": bool(enabled),
                    "forward_zone": dns_name(ddns.get("forward_zone") or domain, f"{where}: ddns forward_zone"),
                    "reverse_zone": dns_name(ddns.get("reverse_zone") or reverse_zone(net), f"{where}: reverse_zone"),
                    "servers": ddns_servers,
                    "port": int(ddns.get("port") or 53),
                    "key": ddns.get("key"),
                    "given": {
                        k: v for k, v in ddns.items() if k not in ("enabled", "port") and v not in (None, "", [])
                    },
                },
            }
        )
    return out


def normalize_tsig(tsig: dict | None) -> dict | None:
    if not tsig or not tsig.get("name"):
        return None
    algorithm = str(tsig.get("algorithm") or "hmac-sha256").upper()
    if algorithm not in TSIG_ALGORITHMS:
        raise ValueError(f"tsig: algorithm {tsig.get('algorithm')!r} is not one of {', '.join(TSIG_ALGORITHMS)}")
    secret = str(tsig.get("secret") or "")
    if not secret:
        raise ValueError(f"tsig: key {tsig['name']} has no secret (put it in the vault)")
    return {"name": dns_name(tsig["name"], "tsig name"), "algorithm": algorithm, "secret": secret}


# ---------------------------------------------------------------------------------------------------- plan


def plan(current: dict, desired: dict) -> list[dict]:
    """Changes from ``current`` to ``desired``: both ``{target: {key: value}}``; only the desired keys are compared,
    so everything else the server holds is left as it is. Pure."""
    changes = []
    for target, want in desired.items():
        have = current.get(target, {})
        for key, value in want.items():
            if have.get(key) != value:
                changes.append({"target": target, "key": key, "before": have.get(key), "after": value})
    return changes


def diff(changes: list[dict]) -> dict:
    """Ansible's before/after: the changed settings per target, as YAML-friendly dicts."""
    before: dict = {}
    after: dict = {}
    for c in changes:
        before.setdefault(c["target"], {})[c["key"]] = c["before"]
        after.setdefault(c["target"], {})[c["key"]] = c["after"]
    return {"before": before, "after": after}


def checks(scopes: list[dict], state: dict, desired: dict, changes: list[dict], server: str) -> list[dict]:
    """The readiness rows of each scope, from the same plan converge uses: nothing to change is a pass."""
    rows, fix = [], "playbooks/dhcp.yml (tag role::oob_dhcp)"
    for scope in scopes:
        net, cid = scope["network"], f"dhcp.scope.{scope['network']}"
        found = state.get(net) or {}
        if not found.get("exists"):
            rows.append(check(f"{cid}.active", ROW_SCOPE, "fail", f"{server} has no scope {net}",
                              f"create the scope {net} on {server} (this project never creates a subnet)"))  # fmt: skip
            continue
        active = found.get("active") is not False
        rows.append(check(f"{cid}.active", ROW_SCOPE, active, f"{server} scope {net} (id {found.get('scope_id')}) "
                          f"is {'active' if active else 'inactive'}", f"activate the scope: {fix}"))  # fmt: skip
        wanted = {(t, k): v for t in (net, "dhcp4", "d2") for k, v in desired.get(t, {}).items()
                  if t == net or _concerns(k, scope)}  # fmt: skip
        wrong = {(c["target"], c["key"]): c for c in changes if (c["target"], c["key"]) in wanted}
        for family in ("option_006", "option_015", "ddns"):
            keys = [tk for tk in wanted if _family(tk[1]) == family]
            if not keys:
                continue
            bad = [wrong[tk] for tk in keys if tk in wrong]
            sources, classes = found.get("sources") or {}, found.get("classes") or {}
            evidence = "; ".join(f"{c['key']} is {_show(c['before'])}{_from(sources.get(c['key']))}, should be "
                                 f"{_show(c['after'])}" for c in bad)  # fmt: skip
            held = ", ".join(f"{k} {_show(wanted[(t, k)])}{_from(sources.get(k))}" for t, k in keys)
            status = not bad
            only_class = [(c["key"], klass) for c in bad if c["before"] in (None, "", [])
                          for klass, value in classes.get(c["key"], []) if value == c["after"]]  # fmt: skip
            if only_class and len(only_class) == len(bad):
                status = "warn"
                evidence = "; ".join(
                    f"{key} {_show(wanted[(net, key)])} is offered only to clients of {klass}"
                    " (AMT devices are not known to be in it)"
                    for key, klass in only_class
                )
            remedy = fix if status != "warn" else f"set it where every client of the scope gets it: {fix}"
            rows.append(check(f"{cid}.{family}", ROW_OPTIONS, status, f"{server} scope {net}: {evidence or held}",
                              remedy))  # fmt: skip
    return rows


def _from(where: str | None) -> str:
    """Where an option's value comes from, for the evidence (nothing for settings that are not inherited)."""
    return f" from {where}" if where else ""


def _family(key: str) -> str:
    """Which check a setting belongs to, for every backend's keys (Kea: "option 6 domain-name-servers", Windows:
    "option_006"); the scope's state ("active") has its own row."""
    if key.startswith(("option 6 ", "option_006")):
        return "option_006"
    if key.startswith(("option 15 ", "option_015")):
        return "option_015"
    return "active" if key == "active" else "ddns"


def _concerns(key: str, scope: dict) -> bool:
    """A server-wide (dhcp4/d2) setting concerns a scope when it is global or names one of the scope's zones."""
    zones = {scope["ddns"]["forward_zone"], scope["ddns"]["reverse_zone"]}
    named = re.search(r"(?:forward|reverse) domain (\S+)", key)
    return not named or named.group(1) in zones


def _show(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(empty)"
    return "(unset)" if value is None else json.dumps(value) if isinstance(value, dict) else str(value)


def effective_option(levels: list, classes=(), copy_inherited: bool = False) -> tuple:
    """The value of an option every client of a scope is offered, by inheritance - the one rule of every backend.

    ``levels`` are ``[(where, value)]`` from the scope's own level outwards (Kea: "the subnet", "the shared-network
    <name>", "the global level"; Windows DHCP Server: "the scope", "the server level"), value None where that level
    does not set the option; the first level that sets it wins. ``classes`` are ``[(label, value)]`` of what offers
    the option only to some clients (a Kea client class, a Windows user class or policy): it never counts, since AMT
    devices are not known to be in any (a check warns about a value found only there). With ``copy_inherited`` only
    the scope's own level counts. Returns (value, where, classes); value and where are None when nothing counts.
    Pure."""
    for where, value in levels:
        if value is None:
            continue
        if copy_inherited and where != levels[0][0]:
            break  # an inherited value that must be copied down: the scope has none of its own
        return value, where, list(classes)
    return None, None, list(classes)


def missing_scopes(scopes: list[dict], state: dict) -> list[str]:
    """The scopes the server does not have (a read's ``state``), in the estate's order. Pure."""
    return [s["network"] for s in scopes if not (state.get(s["network"]) or {}).get("exists")]
