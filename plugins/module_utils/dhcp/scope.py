# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCP scopes of the AMT subnets: validated input, one pure plan, and the Kea backend.

Seed rows: "DHCP server with an active scope"; "ensure that the DHCP scope options include DNS servers (006) and
Domain name (015) and that the DHCP server dynamically updates DNS with the computer resource record".

A backend turns the estate's wish for a scope into *settings* (plain ``{key: value}``, the same shape read from the
server and wished for) and applies a list of *changes*. Every backend has the same small surface::

    backend.read(scopes)      -> {network: {"exists", "active", "scope_id", "settings": {key: value}}}
    backend.desired(scope)    -> {key: value}
    backend.apply(changes)    -> None

``plan()`` compares them and knows nothing of Kea or Windows. The Windows DHCP Server backend lives in
``oob_dhcp_windows``; Kea's is here: the Kea control API (``config-get`` → plan → ``config-test`` → ``config-set`` →
``config-write``) over the daemon's unix control socket or through kea-ctrl-agent's HTTP API, for kea-dhcp4 and for
kea-dhcp-ddns (D2), which sends the DNS updates (RFC 2136, signed with a TSIG key).
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import re
import socket

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


# ---------------------------------------------------------------------------------------------------- Kea


class KeaClient:
    """The Kea control API: a daemon's unix control socket, or kea-ctrl-agent's HTTP(S) API with ``service``."""

    def __init__(
        self,
        *,
        socket_path: str | None = None,
        url: str | None = None,
        service: str = "dhcp4",
        timeout: float = 10,
        open_url=None,
        url_options: dict | None = None,
    ):
        if not socket_path and not url:
            raise ValueError(f"kea: give the {service} control socket or the kea-ctrl-agent url")
        self.socket_path, self.url, self.service, self.timeout = socket_path, url, service, timeout
        self._open_url, self._url_options = open_url, url_options or {}

    @property
    def where(self) -> str:
        return f"{self.service} at {self.socket_path or self.url}"

    def command(self, name: str, arguments: dict | None = None):
        request: dict = {"command": name}
        if arguments is not None:
            request["arguments"] = arguments
        raw = (
            self._send_socket(request) if self.socket_path else self._send_http({**request, "service": [self.service]})
        )
        try:
            answer = json.loads(raw)
        except ValueError:
            raise OobDhcpError("protocol", f"{self.where} answered {name} with something that is not JSON") from None
        if isinstance(answer, list):  # kea-ctrl-agent answers a list, one per service
            answer = answer[0] if answer else {}
        if not isinstance(answer, dict) or "result" not in answer:
            raise OobDhcpError("protocol", f"{self.where} answered {name} without a result")
        if answer["result"] != 0:
            raise OobDhcpError("kea", f"{self.where} refused {name}: {answer.get('text', 'no reason given')}")
        return answer.get("arguments")

    def _send_socket(self, request: dict) -> bytes:
        data = json.dumps(request).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.socket_path)
                sock.sendall(data)
                chunks = []
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    try:  # Kea closes after its answer; stop early once the JSON is complete
                        json.loads(b"".join(chunks))
                        break
                    except ValueError:
                        continue
        except FileNotFoundError:
            raise OobDhcpError(
                "connect",
                f"{self.where}: no such control socket (is the daemon running, with "
                "control-socket in its configuration?)",
            ) from None
        except TimeoutError:
            raise OobDhcpError("timeout", f"{self.where} did not answer within {self.timeout} s") from None
        except OSError as exc:
            raise OobDhcpError("connect", f"{self.where}: {exc.strerror or exc}") from None
        return b"".join(chunks)

    def _send_http(self, request: dict) -> bytes:
        import urllib.error

        try:
            resp = self._open_url(
                self.url,
                data=json.dumps(request),
                method="POST",
                timeout=self.timeout,
                headers={"Content-Type": "application/json"},
                **self._url_options,
            )
            return resp.read()
        except urllib.error.HTTPError as exc:
            kind = "auth" if exc.code in (401, 403) else "protocol"
            raise OobDhcpError(kind, f"{self.where}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            kind = "tls" if "CERTIFICATE" in str(reason).upper() else "connect"
            raise OobDhcpError(kind, f"{self.where}: {reason}") from None
        except TimeoutError:
            raise OobDhcpError("timeout", f"{self.where} did not answer within {self.timeout} s") from None
        except OSError as exc:
            raise OobDhcpError("connect", f"{self.where}: {exc}") from None


def config_hash(config: dict) -> str:
    """A stable digest of a Kea configuration (what a check run must leave unchanged)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def _subnets(dhcp4: dict):
    yield from dhcp4.get("subnet4", [])
    for shared in dhcp4.get("shared-networks", []):
        yield from shared.get("subnet4", [])


def _find_subnet(dhcp4: dict, network: str) -> dict | None:
    for subnet in _subnets(dhcp4):
        try:
            if str(ipaddress.ip_network(subnet.get("subnet", ""), strict=False)) == network:
                return subnet
        except ValueError:
            continue
    return None


def _shared_network_of(dhcp4: dict, subnet: dict) -> dict | None:
    for shared in dhcp4.get("shared-networks", []):
        if any(member is subnet for member in shared.get("subnet4", [])):
            return shared
    return None


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


def kea_option_levels(dhcp4: dict, subnet: dict, code: int, name: str) -> tuple[list, list]:
    """Kea's levels for ``effective_option``: the subnet's option-data, else its shared network's, else the global
    ``Dhcp4.option-data``; and [(class label, data)] of the client classes that carry the option too. A class option
    is offered only to clients in that class (and for them Kea puts it ahead of the subnet's, see the Kea ARM, "Option
    precedence"). Pure."""
    shared = _shared_network_of(dhcp4, subnet)
    holders = [("the subnet", subnet)]
    if shared is not None:
        holders.append((f"the shared-network {shared.get('name', '?')}", shared))
    holders.append(("the global level", dhcp4))
    levels = []
    for label, holder in holders:
        entry = next((o for o in holder.get("option-data", []) if _is_option(o, code, name)), None)
        levels.append((label, None if entry is None else entry.get("data", "")))
    classes = []
    for klass in dhcp4.get("client-classes", []):
        entry = next((o for o in klass.get("option-data", []) if _is_option(o, code, name)), None)
        if entry is not None:
            classes.append((f"class {klass.get('name', '?')}", entry.get("data", "")))
    return levels, classes


def _is_option(entry: dict, code: int, name: str) -> bool:
    return entry.get("space", "dhcp4") == "dhcp4" and (entry.get("code") == code or entry.get("name") == name)


OPTIONS = {  # key -> (code, Kea's option name)
    "option 6 domain-name-servers": (OPTION_DNS, "domain-name-servers"),
    "option 15 domain-name": (OPTION_DOMAIN, "domain-name"),
}
SUBNET_DDNS = {  # what "always dynamically update DNS A and PTR records" is in Kea, at the scope
    "ddns-send-updates": True,  # send name change requests to D2
    "ddns-override-client-update": True,  # the server updates the A record too, whatever the client asks
    "ddns-override-no-update": True,  # and also for clients that ask for no updates
}


def _option_value(key: str, data: str):
    if key.startswith("option 6 "):
        return [a.strip() for a in str(data).split(",") if a.strip()]
    return str(data).strip().lower().rstrip(".")


class KeaBackend:
    """Kea: kea-dhcp4 for the scopes and kea-dhcp-ddns (D2) for the DNS domains the updates go to."""

    name = "kea"

    def __init__(self, dhcp4: KeaClient, d2: KeaClient | None, tsig: dict | None, copy_inherited: bool = False):
        self.dhcp4, self.d2, self.tsig = dhcp4, d2, tsig
        self.copy_inherited = copy_inherited
        self.configs: dict = {}

    @property
    def server(self) -> str:
        return self.dhcp4.where

    # -- read
    def read_configs(self) -> dict:
        self.configs = {"dhcp4": self.dhcp4.command("config-get")}
        if self.d2 is not None:
            self.configs["d2"] = self.d2.command("config-get")
        for target, top in (("dhcp4", "Dhcp4"), ("d2", "DhcpDdns")):
            if target in self.configs and not isinstance((self.configs[target] or {}).get(top), dict):
                raise OobDhcpError("protocol", f"{target} config-get has no {top} section")
        return self.configs

    def read(self, scopes: list[dict]) -> dict:
        """{network: {exists, active, scope_id}} and {target: settings}: targets are each scope's network, "dhcp4"
        (kea-dhcp4's global dhcp-ddns settings) and "d2"."""
        configs = self.read_configs()
        dhcp4 = configs["dhcp4"]["Dhcp4"]
        state, settings = {}, {}
        for scope in scopes:
            subnet = _find_subnet(dhcp4, scope["network"])
            if subnet is None:
                state[scope["network"]] = {"exists": False, "active": None, "scope_id": None}
                continue
            if scope.get("scope_id") not in (None, "") and str(subnet.get("id")) != str(scope["scope_id"]):
                raise OobDhcpError(
                    "scope",
                    f"{self.server}: subnet {scope['network']} has id {subnet.get('id')}, "
                    f"not {scope['scope_id']} as the estate says (dhcp_scope_id)",
                )
            sources, classes = {}, {}
            state[scope["network"]] = {"exists": True, "active": True, "scope_id": subnet.get("id"),
                                       "sources": sources, "classes": classes}  # fmt: skip
            have = {}
            for key, (code, name) in OPTIONS.items():
                data, where, in_classes = effective_option(*kea_option_levels(dhcp4, subnet, code, name),
                                                           copy_inherited=self.copy_inherited)  # fmt: skip
                have[key] = None if data is None else _option_value(key, data)
                if data is not None:
                    sources[key] = where
                if in_classes:
                    classes[key] = [(klass, _option_value(key, value)) for klass, value in in_classes]
            for key in (*SUBNET_DDNS, "ddns-qualifying-suffix"):
                have[key] = subnet.get(key)
            settings[scope["network"]] = have
        ddns = dhcp4.get("dhcp-ddns", {})
        settings["dhcp4"] = {
            "dhcp-ddns enable-updates": ddns.get("enable-updates", False),
            "dhcp-ddns server": f"{ddns.get('server-ip', '127.0.0.1')}:{ddns.get('server-port', 53001)}",
        }
        if "d2" in configs:
            settings["d2"] = self._d2_settings(configs["d2"]["DhcpDdns"])
        return state, settings

    @staticmethod
    def _d2_settings(d2: dict) -> dict:
        have = {}
        for key in d2.get("tsig-keys", []):
            have[f"tsig key {dns_name(key.get('name'), 'tsig key')}"] = _key_fingerprint(key)
        for direction in ("forward", "reverse"):
            for domain in d2.get(f"{direction}-ddns", {}).get("ddns-domains", []):
                name = str(domain.get("name", "")).lower().rstrip(".")
                have[f"{direction} domain {name}"] = {
                    "key": (domain.get("key-name") or "").lower().rstrip(".") or None,
                    "servers": [f"{s.get('ip-address')}:{s.get('port', 53)}" for s in domain.get("dns-servers", [])],
                }
        return have

    # -- wish
    def desired(self, scopes: list[dict]) -> dict:
        want: dict = {}
        any_ddns = False
        for scope in scopes:
            net = scope["network"]
            want[net] = {
                "option 6 domain-name-servers": scope["dns_servers"],
                "option 15 domain-name": scope["domain_name"],
            }
            if scope["ddns"]["enabled"]:
                any_ddns = True
                want[net].update(SUBNET_DDNS)
                want[net]["ddns-qualifying-suffix"] = scope["ddns"]["forward_zone"] + "."
        if any_ddns:
            if self.d2 is None:
                raise ValueError("dynamic DNS needs kea-dhcp-ddns: give kea.d2_control_socket (or kea.url)")
            d2 = self.configs.get("d2", {}).get("DhcpDdns", {})
            want["dhcp4"] = {
                "dhcp-ddns enable-updates": True,
                "dhcp-ddns server": f"{d2.get('ip-address', '127.0.0.1')}:{d2.get('port', 53001)}",
            }
            want["d2"] = {}
            if self.tsig:
                want["d2"][f"tsig key {self.tsig['name']}"] = _key_fingerprint(self.tsig)
            for scope in scopes:
                ddns = scope["ddns"]
                if not ddns["enabled"]:
                    continue
                key = dns_name(ddns["key"], "ddns key") if ddns.get("key") else (self.tsig or {}).get("name")
                value = {"key": key, "servers": [f"{s}:{ddns['port']}" for s in ddns["servers"]]}
                want["d2"][f"forward domain {ddns['forward_zone']}"] = value
                want["d2"][f"reverse domain {ddns['reverse_zone']}"] = value
        return want

    # -- apply
    def candidate(self, target: str, changes: list[dict]) -> dict:
        """The configuration ``target`` gets: what was read, with only the changed settings replaced. Pure."""
        config = copy.deepcopy(self.configs[target])
        if target == "d2":
            _apply_d2(config["DhcpDdns"], [c for c in changes if c["target"] == "d2"], self.tsig)
            return config
        dhcp4 = config["Dhcp4"]
        for change in changes:
            if change["target"] == "dhcp4":
                ddns = dhcp4.setdefault("dhcp-ddns", {})
                if change["key"] == "dhcp-ddns enable-updates":
                    ddns["enable-updates"] = change["after"]
                else:
                    ip, port = change["after"].rsplit(":", 1)
                    ddns["server-ip"], ddns["server-port"] = ip, int(port)
            elif change["target"] not in ("d2",):
                _apply_subnet(_find_subnet(dhcp4, change["target"]), change)
        return config

    def apply(self, changes: list[dict], guard: dict) -> list[str]:
        """config-test, then config-set and config-write per daemon (D2 first: the names it serves must exist before
        kea-dhcp4 sends it requests). ``guard`` holds the hash of each configuration the plan was made from; a
        configuration changed since is not overwritten. Returns the daemons written."""
        written = []
        for target, client in (("d2", self.d2), ("dhcp4", self.dhcp4)):
            if client is None or not any(
                c["target"] == target or (target == "dhcp4" and c["target"] not in ("d2",)) for c in changes
            ):
                continue
            config = self.candidate(target, changes)
            client.command("config-test", config)
            if config_hash(client.command("config-get")) != guard[target]:
                raise OobDhcpError(
                    "conflict",
                    f"{client.where}: the configuration changed while this run planned; nothing was set, run again",
                )
            client.command("config-set", config)
            client.command("config-write")
            written.append(target)
        return written


def _key_fingerprint(key: dict) -> dict:
    """A TSIG key as a setting: its algorithm and a digest of its secret (the secret never reaches a diff)."""
    secret = str(key.get("secret", ""))
    return {
        "algorithm": str(key.get("algorithm", "")).upper(),
        "secret_sha256": hashlib.sha256(secret.encode()).hexdigest()[:16] if secret else None,
    }


def _apply_subnet(subnet: dict, change: dict) -> None:
    key, value = change["key"], change["after"]
    if key in OPTIONS:
        code, name = OPTIONS[key]
        data = ", ".join(value) if isinstance(value, list) else value
        options = subnet.setdefault("option-data", [])
        entry = next((o for o in options if _is_option(o, code, name)), None)
        if entry is None:
            options.append({"name": name, "code": code, "space": "dhcp4", "csv-format": True, "data": data})
        else:
            entry["data"] = data  # always-send and the rest stay as they were
    else:
        subnet[key] = value


def _apply_d2(d2: dict, changes: list[dict], tsig: dict | None) -> None:
    for change in changes:
        kind, name = change["key"].split(" ", 1)
        if kind == "tsig":
            keys = [k for k in d2.setdefault("tsig-keys", []) if dns_name(k.get("name"), "tsig") != tsig["name"]]
            keys.append({"name": tsig["name"] + ".", "algorithm": tsig["algorithm"], "secret": tsig["secret"]})
            d2["tsig-keys"] = keys
            continue
        zone = name.removeprefix("domain ")
        domains = d2.setdefault(f"{kind}-ddns", {}).setdefault("ddns-domains", [])
        domain = next((d for d in domains if str(d.get("name", "")).lower().rstrip(".") == zone), None)
        if domain is None:
            domain = {"name": zone + "."}
            domains.append(domain)
        after = change["after"]
        if after["key"]:
            domain["key-name"] = after["key"] + "."
        else:
            domain.pop("key-name", None)
        domain["dns-servers"] = [
            {"ip-address": s.rsplit(":", 1)[0], "port": int(s.rsplit(":", 1)[1])} for s in after["servers"]
        ]


# ---------------------------------------------------------------------------------------------------- modules


def argument_spec() -> dict:
    """The options dhcp_scope and dhcp_scope_info share (documented in doc_fragments/dhcp/scope.py)."""
    ddns = {
        "enabled": {"type": "bool", "default": True},
        "forward_zone": {"type": "str"},
        "reverse_zone": {"type": "str"},
        "servers": {"type": "list", "elements": "str"},
        "port": {"type": "int", "default": 53},
        "key": {"type": "str", "no_log": False},
    }
    scope = {
        "network": {"type": "str", "required": True},
        "scope_id": {"type": "raw", "aliases": ["dhcp_scope_id"]},
        "dns_servers": {"type": "list", "elements": "str", "required": True},
        "domain_name": {"type": "str", "required": True},
        "ddns": {"type": "dict", "options": ddns},
    }
    return {
        "backend": {"type": "str", "choices": ["kea", "windows"], "default": "kea"},
        "copy_inherited": {"type": "bool", "default": False},
        "scopes": {"type": "list", "elements": "dict", "required": True, "options": scope},
        "tsig": {
            "type": "dict",
            "options": {
                "name": {"type": "str"},
                "algorithm": {"type": "str", "default": "hmac-sha256"},
                "secret": {"type": "str", "no_log": True},
            },
        },
        "kea": {
            "type": "dict",
            "options": {
                "control_socket": {"type": "path"},
                "d2_control_socket": {"type": "path"},
                "url": {"type": "str"},
                "username": {"type": "str"},
                "password": {"type": "str", "no_log": True},
                "ca_file": {"type": "path"},
                "validate_certs": {"type": "bool", "default": True},
                "timeout": {"type": "float", "default": 10},
            },
        },
        "windows": {
            "type": "dict",
            "options": {
                "host": {"type": "str"},
                "port": {"type": "int", "default": 5986},
                "transport": {"type": "str", "choices": ["kerberos", "ntlm", "credssp"], "default": "kerberos"},
                "username": {"type": "str"},
                "password": {"type": "str", "no_log": True},
                "ca_file": {"type": "path"},
                "validate_certs": {"type": "bool", "default": True},
                "timeout": {"type": "int", "default": 30},
            },
        },
    }


def make_backend(params: dict, open_url=None):
    """The backend the module's parameters name; nothing connects until it reads."""
    tsig = normalize_tsig(params.get("tsig"))
    if params["backend"] == "kea":
        kea = params.get("kea") or {}
        if not (kea.get("control_socket") or kea.get("url")):
            raise ValueError(
                "backend kea: give kea.control_socket (kea-dhcp4's unix socket) or kea.url (kea-ctrl-agent)"
            )
        url_options = {
            "validate_certs": kea.get("validate_certs", True),
            "ca_path": kea.get("ca_file"),
            "url_username": kea.get("username"),
            "url_password": kea.get("password"),
            "force_basic_auth": bool(kea.get("username")),
        }
        common = {
            "url": None if kea.get("control_socket") else kea.get("url"),
            "timeout": kea.get("timeout", 10),
            "open_url": open_url,
            "url_options": url_options,
        }
        dhcp4 = KeaClient(socket_path=kea.get("control_socket"), service="dhcp4", **common)
        d2 = None
        if kea.get("d2_control_socket") or (kea.get("url") and not kea.get("control_socket")):
            d2 = KeaClient(
                socket_path=kea.get("d2_control_socket"),
                service="d2",
                **{**common, "url": None if kea.get("d2_control_socket") else kea.get("url")},
            )
        return KeaBackend(dhcp4, d2, tsig, copy_inherited=bool(params.get("copy_inherited")))
    return WindowsBackend.from_params(params.get("windows") or {}, copy_inherited=bool(params.get("copy_inherited")))


class WindowsBackend:
    """The Windows DHCP Server (oob_dhcp_windows.WindowsDhcp over WinRM) behind the same surface as KeaBackend:
    the scope's state joins the settings as ``active`` (an inactive scope is activated, never created); options
    006/015 are the effective ones (scope, else server level, by ``effective_option``) unless ``copy_inherited``."""

    name = "windows"

    def __init__(self, dhcp, server: str):
        self.dhcp, self.server = dhcp, server
        self.configs: dict = {}

    @classmethod
    def from_params(cls, windows: dict, copy_inherited: bool = False):
        from ansible_collections.oob.prep.plugins.module_utils.dhcp.windows import WindowsDhcp, winrm_runner

        if not windows.get("host"):
            raise ValueError("backend windows: give windows.host, the Windows DHCP server")
        runner = winrm_runner(
            windows["host"],
            windows.get("port") or 5986,
            transport=windows.get("transport") or "kerberos",
            username=windows.get("username"),
            password=windows.get("password"),
            ca_file=windows.get("ca_file"),
            validate_certs=windows.get("validate_certs", True),
            timeout=windows.get("timeout") or 30,
        )
        return cls(WindowsDhcp(runner, server=windows["host"], copy_inherited=copy_inherited), windows["host"])

    @staticmethod
    def _scope(scope: dict) -> dict:
        """The scope as WindowsDhcp takes it: its scope id is the subnet address; only the ddns keys the user gave
        (a Windows server refuses Kea's forward zone and servers, naming them)."""
        return {
            "network": scope["network"],
            "scope_id": scope.get("scope_id") or None,
            "dns_servers": scope["dns_servers"],
            "domain_name": scope["domain_name"],
            "ddns": {"enabled": scope["ddns"]["enabled"], **scope["ddns"].get("given", {})},
        }

    def read(self, scopes: list[dict]):
        results = self.dhcp.read([self._scope(s) for s in scopes])
        state = {
            net: {
                "exists": r["exists"],
                "active": r["active"],
                "scope_id": net.split("/")[0] if r["exists"] else None,
                "method": r.get("method"),
                # where options 006/015 come from ("the scope", "the server level") and the user classes and
                # policies that carry them too, for the checks' evidence and warnings
                "sources": (r.get("info") or {}).get("sources") or {},
                "classes": (r.get("info") or {}).get("classes") or {},
            }
            for net, r in results.items()
        }
        settings = {net: {**r["settings"], "active": r["active"]} for net, r in results.items() if r["exists"]}
        return state, settings

    def desired(self, scopes: list[dict]) -> dict:
        return {s["network"]: {**self.dhcp.desired(self._scope(s)), "active": True} for s in scopes}

    def apply(self, changes: list[dict], _guard: dict) -> list[str]:
        self.dhcp.apply(
            [
                {
                    "network": c["target"],
                    "scope_id": c["target"].split("/")[0],
                    "key": c["key"],
                    "before": c["before"],
                    "after": c["after"],
                }
                for c in changes
            ]
        )
        return ["windows"]


def read_scopes(params: dict, open_url=None) -> tuple[list[dict], object, dict]:
    """What both modules start with: the scopes validated, the backend, one read and its plan."""
    scopes = normalize_scopes(params["scopes"])
    backend = make_backend(params, open_url=open_url)
    return scopes, backend, read_and_plan(backend, scopes)


def read_and_plan(backend, scopes: list[dict]) -> dict:
    """Read the server once and plan: {state, settings, desired, changes}. Pure but for the backend's read."""
    state, settings = backend.read(scopes)
    desired = backend.desired([s for s in scopes if (state.get(s["network"]) or {}).get("exists")])
    return {"state": state, "settings": settings, "desired": desired, "changes": plan(settings, desired)}


def missing_scopes(scopes: list[dict], state: dict) -> list[str]:
    return [s["network"] for s in scopes if not (state.get(s["network"]) or {}).get("exists")]
