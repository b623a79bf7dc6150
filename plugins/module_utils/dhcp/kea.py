# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kea backend of the DHCP scope plan (docs/adr/0007): the Kea control API (``config-get`` → plan →
``config-test`` → ``config-set`` → ``config-write``) over the daemon's unix control socket or through kea-ctrl-agent's
HTTP API, for kea-dhcp4 and for kea-dhcp-ddns (D2), which sends the DNS updates (RFC 2136, signed with a TSIG key).

``KeaClient`` is the only part that does I/O; ``KeaBackend`` translates between Kea's configuration and the plan's
settings (``dhcp.plan``) and applies changes through its clients.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import socket

from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import (
    OPTION_DNS,
    OPTION_DOMAIN,
    OobDhcpError,
    dns_name,
    effective_option,
)


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
            if exc.code in (401, 403):  # name the options, never their values
                raise OobDhcpError(
                    "auth",
                    f"{self.where} refused the credentials (HTTP {exc.code} {exc.reason}): check kea.username and "
                    "kea.password (the agent's basic authentication clients)",
                ) from None
            raise OobDhcpError("protocol", f"{self.where}: HTTP {exc.code} {exc.reason}") from None
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
