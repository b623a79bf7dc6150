# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows DHCP Server backend of the DHCP scope module (docs/adr/0007): an AMT subnet's scope, its options 006
and 015, and the DHCP server's dynamic DNS updates for the clients (AMT devices do not send secure updates).

``WindowsDhcp(runner)`` has the backend surface: ``read(scopes)``, ``desired(scope)``, ``apply(changes)``. The
runner runs one PowerShell script on the DHCP server (``winrm_runner`` builds one over WinRM/HTTPS with pywinrm) and
returns ``(rc, stdout, stderr)``. One read script per call; one apply script per call. ``WindowsBackend`` puts it
behind the surface of the plan (``dhcp.plan``), the one ``dhcp.kea.KeaBackend`` has: settings per scope network, the
scope's state as ``active``.

Two methods, chosen by the read script on the host (``Get-Command Get-DhcpServerv4Scope``) and reported:

- ``cmdlets`` (Windows Server 2012 and later, the DhcpServer module): Get-DhcpServerv4Scope -ScopeId,
  Get-DhcpServerv4OptionValue -All (server level) and -ScopeId -All (scope level; -All adds the user class, vendor
  class and policy values), Get-DhcpServerv4DnsSetting -ScopeId, emitted as one JSON document
  (ConvertTo-Json, non-ASCII escaped); writes with Set-DhcpServerv4OptionValue -DnsServer / -DnsDomain,
  Set-DhcpServerv4DnsSetting, Set-DhcpServerv4Scope -State Active.
- ``netsh`` (Windows Server 2003 / 2008 / 2008 R2, where ConfigMgr 2007 SP1 estates often are): ``netsh dhcp server
  show scope`` (existence and state of every scope), ``netsh dhcp server scope <id> show optionvalue`` and ``netsh
  dhcp server show optionvalue`` (server level: options 006/015 and the DNS setting a scope inherits); the raw text
  goes back in a JSON envelope built without ConvertTo-Json (PowerShell 2.0 has none) and is parsed here. Writes with
  ``scope <id> set
  optionvalue 006 IPADDRESS ...``, ``set optionvalue 015 STRING ...``, ``scope <id> set dnsconfig Enable Update
  Lookup NonDyn`` (a scope-level command: no server-wide setting is touched) and ``scope <id> set state 1``. The
  parsers read the English netsh text: a server whose netsh speaks another language is reported, not guessed at.

What is compared (``settings``; the values compare equal when the server already holds the desired state):

- ``option_006``: option 006 as every client of the scope is offered it, an ordered list of dotted quads;
  ``option_015``: option 015 likewise, lower case, no final dot. The DHCP server gives a client the reservation's
  value, else the scope's, else the server level's; ``dhcp.plan.effective_option`` (the rule the Kea backend uses too)
  picks the scope's, else the server level's, and ``info.sources`` names the level (LEVEL_SCOPE, LEVEL_SERVER) for the
  checks' evidence. With ``copy_inherited`` only the scope's own value counts, so an inherited one is copied down. A
  change is always written at scope level: a wrong server-level value is overridden for this scope, the server level
  is never written. Offered nowhere: ``[]`` and ``""``. A user class's or a policy's value is offered only to the
  clients it matches (AMT devices are not known to be among them): it never counts, and ``info.classes`` lists it (a
  warning when it is the only one); a vendor class's options are another option space and are ignored. Reservations
  are not read (they concern single clients, not the scope).
- ``ddns_dynamic_updates`` (``Always`` | ``OnClientRequest`` | ``Never``), ``ddns_update_older_clients`` (update A and
  PTR records for clients that do not ask for it), ``ddns_ptr_updates`` (PTR records updated, i.e. not
  ``DisableDnsPtrRRUpdate``): the effective setting of the scope, as the DHCP server applies it. Windows stores it as
  option 81 ([MS-DHCPM] 3.3.1: 0x01 enabled, 0x02 clients that do not request updates, 0x04 discard records when the
  lease is deleted, 0x10 always update A and PTR, 0x20 name protection, 0x40 PTR updates disabled) at scope, else
  server level, else the default 0x05; Get-DhcpServerv4DnsSetting -ScopeId returns that same effective value. A
  change is always written at scope level.

A scope that does not exist is read as ``exists: False`` and never created: ``apply`` refuses a change that would
create or deactivate a scope, and ``check_present`` names every missing scope.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re

from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import (  # one error type, one inheritance rule
    OobDhcpError,
    effective_option,
)
from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import check_network, dns_name, ipv4

KEYS = ("option_006", "option_015", "ddns_dynamic_updates", "ddns_update_older_clients", "ddns_ptr_updates")
DDNS_KEYS = KEYS[2:]
ACTIVE_KEY = "active"
DYNAMIC_UPDATES = ("Always", "OnClientRequest", "Never")
METHODS = ("cmdlets", "netsh")
TRANSPORTS = ("kerberos", "ntlm", "credssp")
# [MS-DHCPM] 3.3.1, the value of option 81 on the server, a scope or a reservation
DNS_FLAG_ENABLED = 0x01
DNS_FLAG_UPDATE_DOWNLEVEL = 0x02
DNS_FLAG_CLEANUP_EXPIRED = 0x04
DNS_FLAG_UPDATE_BOTH_ALWAYS = 0x10
DNS_FLAG_UPDATE_DHCID = 0x20
DNS_FLAG_DISABLE_PTR_UPDATE = 0x40
DNS_FLAGS_DEFAULT = DNS_FLAG_ENABLED | DNS_FLAG_CLEANUP_EXPIRED  # no option 81 anywhere
ERROR_DHCP_SUBNET_NOT_PRESENT = 20005  # DHCP Server Management API error codes
OPTION_KEYS = {"option_006": 6, "option_015": 15}
LEVEL_SCOPE, LEVEL_SERVER = "the scope", "the server level"  # where an option's value comes from, in the evidence
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
# PowerShell ends a single-quoted string at any of these (about_Quoting_Rules); each is doubled inside one
_PS_SINGLE_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")
# powershell -encodedcommand on a cmd.exe command line: 8191 characters at most (pywinrm issues #87, #184)
_MAX_ENCODED_COMMAND = 8000
_MAX_ENV_SCRIPT = 30000  # one environment variable holds 32767 characters


# --- input --------------------------------------------------------------------------------------------------------
def check_scope(scope: dict) -> dict:
    """The scope as the backend uses it: network (CIDR), scope_id, dns_servers, domain_name, ddns_enabled."""
    if not isinstance(scope, dict):
        raise ValueError(f"a scope must be a dict with network, scope_id, dns_servers, domain_name, not {scope!r}")
    network = check_network(scope.get("network"), "network")
    scope_id = ipv4(scope.get("scope_id") or network.network_address, f"scope_id of {network}")
    if scope_id != str(network.network_address):
        raise ValueError(f"scope_id {scope_id} is not the subnet address of {network}: a Windows DHCP scope is named "
                         f"by its subnet address ({network.network_address})")  # fmt: skip
    servers = scope.get("dns_servers")
    if isinstance(servers, str) or not servers:
        raise ValueError(f"dns_servers of {network} must be a non-empty list of IPv4 addresses (option 006, in order)")
    dns_servers = [ipv4(server, f"dns_servers of {network}:") for server in servers]
    if len(set(dns_servers)) != len(dns_servers):
        raise ValueError(f"dns_servers of {network} lists an address twice: {', '.join(dns_servers)}")
    ddns = scope.get("ddns") if scope.get("ddns") is not None else {"enabled": True}
    if not isinstance(ddns, dict) or not isinstance(ddns.get("enabled", True), bool):
        raise ValueError(f"ddns of {network} must be {{enabled: true|false}}, not {ddns!r}")
    extra = sorted(key for key, value in ddns.items() if key != "enabled" and value not in (None, "", [], {}))
    if extra:
        raise ValueError(f"ddns.{', ddns.'.join(extra)} of {network} cannot be set on a Windows DHCP server: it "
                         "registers A and PTR records in the zones its own DNS servers are authoritative for, with its "
                         "own credentials (Set-DhcpServerDnsCredential); leave them out (docs/adr/0007)")  # fmt: skip
    return {
        "network": str(network),
        "scope_id": scope_id,
        "dns_servers": dns_servers,
        "domain_name": dns_name(scope.get("domain_name"), f"domain_name of {network}"),
        "ddns_enabled": ddns.get("enabled", True),
    }


def ps_quote(value) -> str:
    """``value`` as a PowerShell single-quoted string: every single-quote character doubled, control characters
    refused. Callers validate values first; this is the second fence."""
    text = str(value)
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError(f"{text!r} contains a control character and cannot be passed to PowerShell")
    for quote in _PS_SINGLE_QUOTES:
        text = text.replace(quote, quote + quote)
    return f"'{text}'"


# --- normalization (what the server holds, compared with what is wanted) ------------------------------------------
def normalize_dns_servers(values) -> list:
    """Option 006 as read: an ordered list of dotted quads (a value that is no address is kept, so it differs)."""
    result = []
    for value in values or []:
        text = str(value).strip()
        try:
            result.append(str(ipaddress.IPv4Address(text)))
        except ValueError:
            result.append(text)
    return result


def normalize_domain(value) -> str:
    """Option 015 as read: lower case, no surrounding blanks, no final dot."""
    text = str(value or "").strip().lower()
    return text[:-1] if text.endswith(".") else text


def decode_dns_flags(mask: int) -> dict:
    """Option 81 ([MS-DHCPM] 3.3.1) as the settings and facts this backend reports."""
    mask = int(mask)
    if not mask & DNS_FLAG_ENABLED:
        dynamic = "Never"
    elif mask & DNS_FLAG_UPDATE_BOTH_ALWAYS:
        dynamic = "Always"
    else:
        dynamic = "OnClientRequest"
    return {
        "ddns_dynamic_updates": dynamic,
        "ddns_update_older_clients": bool(mask & DNS_FLAG_UPDATE_DOWNLEVEL),
        "ddns_ptr_updates": not mask & DNS_FLAG_DISABLE_PTR_UPDATE,
        "delete_on_lease_expiry": bool(mask & DNS_FLAG_CLEANUP_EXPIRED),
        "name_protection": bool(mask & DNS_FLAG_UPDATE_DHCID),
    }


def netsh_dnsconfig_args(dynamic: str, older: bool, lookup: bool) -> list:
    """The four 0|1 arguments of ``netsh dhcp server scope <id> set dnsconfig``: Enable, Update (1 = always update A
    and PTR, 0 = on client request), Lookup (discard A and PTR when the lease is deleted), NonDyn (update for clients
    that do not request it). It rewrites the scope's option 81 from these four, so name protection (0x20) and the
    PTR-disable flag (0x40) end up clear."""
    if dynamic not in DYNAMIC_UPDATES:
        raise ValueError(f"ddns_dynamic_updates must be one of {', '.join(DYNAMIC_UPDATES)}, not {dynamic!r}")
    enabled = dynamic != "Never"
    return ["1" if enabled else "0", "1" if dynamic == "Always" else "0", "1" if lookup else "0",
            "1" if enabled and older else "0"]  # fmt: skip


def _as_bool(value, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


# --- netsh text parsers -----------------------------------------------------------------------------------------
_QUAD = r"\d{1,3}(?:\.\d{1,3}){3}"
_SCOPE_ROW = re.compile(rf"^\s*({_QUAD})\s*-\s*({_QUAD})\s*-\s*([A-Za-z]+(?:\([A-Za-z]+\))?)\s*-(.*)$")
_OPTION_ID = re.compile(r"^\s*OptionId\s*:\s*(\d+)\s*$")
_ELEMENT_COUNT = re.compile(r"^\s*Number of Option Elements\s*=\s*(\d+)\s*$")
_ELEMENT_TYPE = re.compile(r"^\s*Option Element Type\s*=\s*(\S+)\s*$")
_ELEMENT_VALUE = re.compile(r"^\s*Option Element Value\s*=\s?(.*?)\s*$")
_CLASS_HEADER = re.compile(r"^\s*For (vendor|user) class \[(.*)\]\s*:\s*$")
NETSH_DONE = "Command completed successfully"


def _netsh_problem(text: str, what: str) -> str | None:
    """A message for netsh output that says the command could not run, or None."""
    lowered = text.lower()
    if "following command was not found" in lowered:
        return (f"{what}: netsh has no dhcp context here, so this host is not a Windows DHCP server (or the DHCP "
                "Server role's tools are missing): check the DHCP server's name in the estate")  # fmt: skip
    if "needs a valid scope ip address" in lowered:
        return f"{what}: the DHCP server does not know this scope"
    if "server may not function properly" in lowered or "rpc server is unavailable" in lowered:
        return f"{what}: the DHCP Server service does not answer (is it running?): {text.strip()}"
    if "access is denied" in lowered:
        return f"{what}: access is denied: add the account to the DHCP Administrators group (DHCP Users to read)"
    return None


def parse_netsh_scopes(text: str) -> dict:
    """``netsh dhcp server show scope``: {scope_id: {'mask', 'state', 'active', 'name'}}. ``state`` is netsh's
    word (Active, Disabled, Active(Switched), Disabled(Switched)); ``name`` is the rest of the row (name and comment).
    Raises ValueError on output that is not such a table."""
    scopes = {}
    for line in str(text or "").splitlines():
        match = _SCOPE_ROW.match(line)
        if match:
            scope_id, mask, state, rest = match.groups()
            scopes[scope_id] = {"mask": mask, "state": state, "active": state.lower().startswith("active"),
                                "name": rest.strip()}  # fmt: skip
    if not scopes and "total no. of scopes" not in str(text or "").lower():
        problem = _netsh_problem(str(text or ""), "netsh dhcp server show scope")
        raise ValueError(problem or "the output of netsh dhcp server show scope was not recognized (this backend reads "
                         f"the English netsh output): {str(text or '').strip()[:300]!r}")  # fmt: skip
    return scopes


def parse_netsh_option_values(text: str) -> dict:
    """``netsh dhcp server [scope <id>] show optionvalue``: {'general': {option_id: {'type', 'values'}}, 'classes':
    {'vendor <name>' | 'user <name>': {...}}}. General values are the standard vendor class with the default user
    class ('DHCP Standard Options' / 'General Option Values'); 'For vendor class [..]' and 'For user class [..]'
    blocks are kept apart and never count as the scope's options. Raises ValueError on output it cannot trust."""
    text = str(text or "")
    general: dict = {}
    classes: dict = {}
    vendor = user = None  # None: DHCP Standard Options / General Option Values
    current = None
    completed = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("DHCP Standard Options"):
            vendor, user, current = None, None, None
            continue
        if stripped.startswith("General Option Values"):
            user, current = None, None
            continue
        header = _CLASS_HEADER.match(line)
        if header:
            if header.group(1) == "vendor":
                vendor, user = header.group(2), None
            else:
                user = header.group(2)
            current = None
            continue
        match = _OPTION_ID.match(line)
        if match:
            if vendor is None and user is None:
                target = general
            else:
                labels = [f"vendor {vendor}"] if vendor is not None else []
                labels += [f"user {user}"] if user is not None else []
                target = classes.setdefault(" ".join(labels), {})
            current = target.setdefault(int(match.group(1)), {"type": None, "count": None, "values": []})
            continue
        if stripped.startswith(NETSH_DONE):
            completed = True
            current = None
            continue
        if current is None:
            continue
        for pattern, field in ((_ELEMENT_COUNT, "count"), (_ELEMENT_TYPE, "type"), (_ELEMENT_VALUE, "values")):
            found = pattern.match(line)
            if found:
                if field == "values":
                    current["values"].append(found.group(1))
                elif field == "count":
                    current["count"] = int(found.group(1))
                else:
                    current["type"] = found.group(1).upper()
                break
        else:
            if not stripped.startswith("Option Value"):
                raise ValueError(f"line {number} of netsh show optionvalue was not recognized: {stripped[:120]!r}")
    if not completed:
        problem = _netsh_problem(text, "netsh show optionvalue")
        raise ValueError(problem or "netsh show optionvalue did not complete (no 'Command completed successfully.'; "
                         f"this backend reads the English netsh output): {text.strip()[:300]!r}")  # fmt: skip
    for option_id, option in list(general.items()) + [(i, o) for group in classes.values() for i, o in group.items()]:
        if option["count"] is not None and option["count"] != len(option["values"]):
            raise ValueError(f"netsh lists {len(option['values'])} value(s) for option {option_id} but says "
                             f"{option['count']}: the output is incomplete")  # fmt: skip
    return {"general": {k: {"type": v["type"], "values": v["values"]} for k, v in general.items()},
            "classes": {name: {k: {"type": v["type"], "values": v["values"]} for k, v in group.items()}
                        for name, group in classes.items()}}  # fmt: skip


def netsh_dns_flags(scope_options: dict, server_options: dict | None) -> tuple[int, str]:
    """The effective option 81 value and where it comes from: 'scope', 'server' or 'default' (0x05)."""
    for source, options in (("scope", scope_options), ("server", server_options or {"general": {}})):
        option = options["general"].get(81)
        if option and option["values"]:
            value = option["values"][0].strip()
            try:
                return (int(value, 16) if value.lower().startswith("0x") else int(value)), source
            except ValueError:
                raise ValueError(f"option 81 at {source} level is not a number: {option['values'][0]!r}") from None
    return DNS_FLAGS_DEFAULT, "default"


# --- settings from what the read script returned ------------------------------------------------------------------
def _option_value(key: str, values):
    return normalize_dns_servers(values) if key == "option_006" else normalize_domain((values or [""])[0])


def option_settings(scope: dict, server: dict, classes: list, copy_inherited: bool = False) -> tuple[dict, dict, dict]:
    """Options 006 and 015 as every client of one scope is offered them. ``scope`` and ``server`` are the standard
    option values of each level ({option_id: [values]}); ``classes`` are [(label, {option_id: [values]})] of the user
    classes and policies of both levels, which only some clients get. The DHCP server gives a client the scope's
    value, else the server level's (a reservation's and a matching class's or policy's go ahead of them for the
    clients they apply to); dhcp.plan.effective_option applies that rule, the one the Kea backend uses.

    Returns (settings, sources, classes): an option offered nowhere is ``[]`` / ``""``; sources says where each
    offered value comes from (LEVEL_SCOPE or LEVEL_SERVER), classes which classes and policies carry it. Pure."""
    settings, sources, in_classes = {}, {}, {}
    for key, option_id in OPTION_KEYS.items():
        levels = [(where, _option_value(key, values[option_id]) if option_id in values else None)
                  for where, values in ((LEVEL_SCOPE, scope), (LEVEL_SERVER, server))]  # fmt: skip
        offered = [(label, _option_value(key, values[option_id])) for label, values in classes if option_id in values]
        value, where, offered = effective_option(levels, offered, copy_inherited=copy_inherited)
        settings[key] = value if value is not None else ([] if key == "option_006" else "")
        if where is not None:
            sources[key] = where
        if offered:
            in_classes[key] = offered
    return settings, sources, in_classes


def _netsh_levels(options: dict, where: str) -> tuple[dict, list]:
    """The standard values and the user classes' ({option_id: [values]}) of one parsed show optionvalue. A vendor
    class's options are another option space (its option 6 is not DNS servers) and are left out."""
    standard = {option_id: option["values"] for option_id, option in options["general"].items()}
    classes = [(f"user class {name[5:]} at {where}", {i: o["values"] for i, o in group.items()})
               for name, group in options["classes"].items() if name.startswith("user ")]  # fmt: skip
    return standard, classes


def settings_from_netsh(scope_options: dict, server_options: dict | None,
                        copy_inherited: bool = False) -> tuple[dict, dict]:  # fmt: skip
    """(settings, info) of one scope from its parsed scope-level and server-level option values."""
    server_options = server_options or {"general": {}, "classes": {}}
    scope, scope_classes = _netsh_levels(scope_options, LEVEL_SCOPE)
    server, server_classes = _netsh_levels(server_options, LEVEL_SERVER)
    options, sources, classes = option_settings(scope, server, scope_classes + server_classes, copy_inherited)
    mask, source = netsh_dns_flags(scope_options, server_options)
    flags = decode_dns_flags(mask)
    settings = {**options, **{key: flags[key] for key in DDNS_KEYS}}
    info = {"ddns_source": source, "option_081": mask, "delete_on_lease_expiry": flags["delete_on_lease_expiry"],
            "name_protection": flags["name_protection"], "sources": sources, "classes": classes}  # fmt: skip
    return settings, info


def cmdlet_option_values(options: list, where: str) -> tuple[dict, list]:
    """Get-DhcpServerv4OptionValue -All of one level (as the read script serialized it): the standard values
    {option_id: [values]} and [(label, {option_id: [values]})] of its user classes and policies. A vendor class's
    options are another option space and are left out."""
    standard: dict = {}
    classes: dict = {}
    for option in options or []:
        value = option.get("Value")
        if not isinstance(value, list):
            raise ValueError(f"option {option.get('OptionId')} came back with a Value that is not a list ({value!r}):"
                             " the read script's JSON was cut short")  # fmt: skip
        if str(option.get("VendorClass") or ""):
            continue
        user, policy = str(option.get("UserClass") or ""), str(option.get("PolicyName") or "")
        label = f"policy {policy} at {where}" if policy else f"user class {user} at {where}" if user else None
        target = standard if label is None else classes.setdefault(label, {})
        target[int(option.get("OptionId"))] = [str(item) for item in value]
    return standard, list(classes.items())


def settings_from_cmdlets(options: list, dns: dict, server_options: list,
                          copy_inherited: bool = False) -> tuple[dict, dict]:  # fmt: skip
    """(settings, info) of one scope from Get-DhcpServerv4OptionValue -All -ScopeId, Get-DhcpServerv4OptionValue -All
    (server level) and Get-DhcpServerv4DnsSetting -ScopeId (as the read script serialized them)."""
    scope, scope_classes = cmdlet_option_values(options, LEVEL_SCOPE)
    server, server_classes = cmdlet_option_values(server_options, LEVEL_SERVER)
    option_values, sources, classes = option_settings(scope, server, scope_classes + server_classes, copy_inherited)
    dynamic = str((dns or {}).get("DynamicUpdates") or "")
    canonical = {name.lower(): name for name in DYNAMIC_UPDATES}.get(dynamic.lower())
    if canonical is None:
        raise ValueError(f"Get-DhcpServerv4DnsSetting returned DynamicUpdates {dynamic!r} (expected "
                         f"{', '.join(DYNAMIC_UPDATES)})")  # fmt: skip
    settings = {
        **option_values,
        "ddns_dynamic_updates": canonical,
        "ddns_update_older_clients": _as_bool(dns.get("UpdateDnsRRForOlderClients")),
        # DisableDnsPtrRRUpdate exists from Windows Server 2012 R2 on; before, PTR records are always updated
        "ddns_ptr_updates": not _as_bool(dns.get("DisableDnsPtrRRUpdate")),
    }
    info = {"ddns_source": "effective", "delete_on_lease_expiry": _as_bool(dns.get("DeleteDnsRROnLeaseExpiry")),
            "name_protection": _as_bool(dns.get("NameProtection")), "sources": sources,
            "classes": classes}  # fmt: skip
    return settings, info


def _listed(value) -> list:
    """A list from the read script's JSON: PowerShell may unroll a one-element array into the element itself."""
    if isinstance(value, dict):
        return [value]
    return list(value or [])


def parse_script_json(stdout: str, what: str) -> dict:
    """The one JSON document a script printed (the last line that is one, if PowerShell printed anything else)."""
    text = str(stdout or "").strip().lstrip("\ufeff")
    candidates = [text] + [line.strip() for line in reversed(text.splitlines()) if line.strip().startswith("{")]
    for candidate in candidates:
        try:
            document = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(document, dict):
            return document
    raise OobDhcpError("protocol", f"{what} printed no JSON document: {text[:300]!r}")


# --- the scripts ----------------------------------------------------------------------------------------------------
# JSON string of any value, for PowerShell 2.0 (no ConvertTo-Json): \, " and every character outside 0x20-0x7E escaped
_PS_JSON = r"""function J($v) {
  if ($null -eq $v) { return 'null' }
  $b = New-Object System.Text.StringBuilder
  [void]$b.Append('"')
  foreach ($c in ([string]$v).ToCharArray()) {
    $n = [int]$c
    if ($n -eq 34 -or $n -eq 92) { [void]$b.Append('\').Append($c) }
    elseif ($n -lt 32 -or $n -gt 126) { [void]$b.Append('\u' + $n.ToString('x4')) }
    else { [void]$b.Append($c) }
  }
  [void]$b.Append('"')
  $b.ToString()
}"""

_READ_SCRIPT = r"""$ids = @(__IDS__)
__JSON__
function R($cmdlet, $e) {
  @{cmdlet = $cmdlet; id = [string]$e.FullyQualifiedErrorId; category = [string]$e.CategoryInfo.Category;
    message = [string]$e.Exception.Message}
}
function V { process { @{OptionId = [int]$_.OptionId; Name = [string]$_.Name; Type = [string]$_.Type;
  Value = @($_.Value | ForEach-Object { [string]$_ }); VendorClass = [string]$_.VendorClass;
  UserClass = [string]$_.UserClass; PolicyName = [string]$_.PolicyName} } }
if (Get-Command Get-DhcpServerv4Scope -ErrorAction SilentlyContinue) {
  $r = @{method = 'cmdlets'; scopes = @{}; server = @{errors = @()}}
  try { $r.server.options = @(Get-DhcpServerv4OptionValue -All -ErrorAction Stop | V) }
  catch { $r.server.errors += @(R 'Get-DhcpServerv4OptionValue' $_) }
  $all = $null
  foreach ($id in $ids) {
    $s = @{errors = @()}
    try {
      $x = Get-DhcpServerv4Scope -ScopeId $id -ErrorAction Stop
      $s.scope = @{ScopeId = [string]$x.ScopeId; State = [string]$x.State; SubnetMask = [string]$x.SubnetMask;
                   Name = [string]$x.Name}
    } catch {
      $s.errors += @(R 'Get-DhcpServerv4Scope' $_)
      if ($null -eq $all) {
        $all = @(Get-DhcpServerv4Scope -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.ScopeId })
      }
      $s.listed = ($all -contains $id)
    }
    if ($s.scope) {
      try {
        $s.options = @(Get-DhcpServerv4OptionValue -ScopeId $id -All -ErrorAction Stop | V)
      } catch { $s.errors += @(R 'Get-DhcpServerv4OptionValue' $_) }
      try {
        $d = Get-DhcpServerv4DnsSetting -ScopeId $id -ErrorAction Stop
        $s.dns = @{DynamicUpdates = [string]$d.DynamicUpdates; DeleteDnsRROnLeaseExpiry = $d.DeleteDnsRROnLeaseExpiry;
                   UpdateDnsRRForOlderClients = $d.UpdateDnsRRForOlderClients; NameProtection = $d.NameProtection;
                   DisableDnsPtrRRUpdate = $d.DisableDnsPtrRRUpdate}
      } catch { $s.errors += @(R 'Get-DhcpServerv4DnsSetting' $_) }
    }
    $r.scopes[$id] = $s
  }
  $j = $r | ConvertTo-Json -Depth 10 -Compress
  [regex]::Replace($j, '[^\x20-\x7E]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
} else {
  function X { & netsh.exe @args | Out-String }
  $p = @('"method":"netsh"', ('"show_scope":' + (J (X dhcp server show scope))),
         ('"server_optionvalue":' + (J (X dhcp server show optionvalue))))
  $q = @()
  foreach ($id in $ids) { $q += ((J $id) + ':{"optionvalue":' + (J (X dhcp server scope $id show optionvalue)) + '}') }
  '{' + ($p -join ',') + ',"scopes":{' + ($q -join ',') + '}}'
}
"""

_APPLY_HEAD = r"""$ErrorActionPreference = 'Stop'
$done = 0
$step = ''
__JSON__
function N {
  $o = & netsh.exe @args | Out-String
  if ($LASTEXITCODE -ne 0 -or $o -notmatch 'completed successfully') { throw $o.Trim() }
}
try {
"""
_APPLY_TAIL = r"""  '{"done":' + $done + ',"failed":null}'
} catch {
  '{"done":' + $done + ',"failed":' + (J $step) + ',"error":' + (J ([string]$_.Exception.Message)) + '}'
}
"""


def read_script(scope_ids: list) -> str:
    """The read script for these scope ids (validated IPv4 addresses)."""
    ids = ", ".join(ps_quote(ipv4(scope_id, "scope_id")) for scope_id in scope_ids)
    return _compact(_READ_SCRIPT.replace("__JSON__", _PS_JSON).replace("__IDS__", ids))


def _compact(script: str) -> str:
    """The script without indentation and empty lines (shorter on the wire; PowerShell needs neither)."""
    return "\n".join(line.strip() for line in script.splitlines() if line.strip()) + "\n"


def command_lines(method: str, scope_id: str, key: str, value) -> list:
    """The PowerShell line(s) that set one setting of one scope (values validated, then quoted)."""
    quoted = ps_quote(ipv4(scope_id, "scope_id"))
    if method == "cmdlets":
        line = _cmdlet_line(quoted, key, value)
    elif method == "netsh":
        line = _netsh_line(quoted, key, value)
    else:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    return [line]


def _cmdlet_line(quoted: str, key: str, value) -> str:
    if key == "option_006":
        servers = ", ".join(ps_quote(ipv4(server, "option_006:")) for server in value)
        line = f"Set-DhcpServerv4OptionValue -ScopeId {quoted} -DnsServer {servers}"
    elif key == "option_015":
        line = f"Set-DhcpServerv4OptionValue -ScopeId {quoted} -DnsDomain {ps_quote(dns_name(value, 'option_015'))}"
    elif key == "ddns":
        parameters = []
        if "ddns_dynamic_updates" in value:
            parameters.append(f"-DynamicUpdates {ps_quote(value['ddns_dynamic_updates'])}")
        if "ddns_update_older_clients" in value:
            parameters.append(f"-UpdateDnsRRForOlderClients ${str(value['ddns_update_older_clients']).lower()}")
        if "ddns_ptr_updates" in value:
            parameters.append(f"-DisableDnsPtrRRUpdate ${str(not value['ddns_ptr_updates']).lower()}")
        line = f"Set-DhcpServerv4DnsSetting -ScopeId {quoted} {' '.join(parameters)}"
    elif key == ACTIVE_KEY:
        line = f"Set-DhcpServerv4Scope -ScopeId {quoted} -State 'Active'"
    else:
        raise ValueError(f"no cmdlet sets {key!r}")
    return line


def _netsh_line(quoted: str, key: str, value) -> str:
    prefix = f"N dhcp server scope {quoted}"
    if key == "option_006":
        line = f"{prefix} set optionvalue 006 IPADDRESS {' '.join(ps_quote(ipv4(v, 'option_006:')) for v in value)}"
    elif key == "option_015":
        line = f"{prefix} set optionvalue 015 STRING {ps_quote(dns_name(value, 'option_015'))}"
    elif key == "ddns":
        if len(value) != 4 or any(flag not in ("0", "1") for flag in value):
            raise ValueError(f"set dnsconfig takes four 0|1 flags, not {value!r}")
        line = f"{prefix} set dnsconfig {' '.join(value)}"
    elif key == ACTIVE_KEY:
        line = f"{prefix} set state 1"
    else:
        raise ValueError(f"no netsh command sets {key!r}")
    return line


def apply_script(method: str, steps: list) -> str:
    """One script for all steps [(label, [lines])], each counted when done; prints {"done", "failed", "error"}."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    body = []
    for label, lines in steps:
        body.append(f"  $step = {ps_quote(label)}")
        body.extend(f"  {line}" for line in lines)
        body.append("  $done++")
    return _compact(_APPLY_HEAD.replace("__JSON__", _PS_JSON) + "\n".join(body) + "\n" + _APPLY_TAIL)


def _apply_hint(message: str) -> str:
    lowered = message.lower()
    if "not a valid dns server" in lowered or "dns server validation" in lowered:
        return (" The DHCP server checks that every option 006 address answers DNS queries: correct the address, or "
                "make that DNS server reachable from the DHCP server")  # fmt: skip
    if "access is denied" in lowered or "permissiondenied" in lowered:
        return " Add the account to the DHCP Administrators group of that server (DHCP Users can only read)"
    if "needs a valid scope ip address" in lowered or str(ERROR_DHCP_SUBNET_NOT_PRESENT) in lowered:
        return " The DHCP server has no such scope (any more): create it there, then run again"
    return ""


# --- the backend ------------------------------------------------------------------------------------------------------
class WindowsDhcp:
    """The Windows DHCP Server backend: ``read``, ``desired``, ``apply`` through ``runner(script) -> (rc, stdout,
    stderr)``. ``server`` names the host in messages. After ``read``, ``method`` is 'cmdlets' or 'netsh'."""

    def __init__(self, runner, server: str = "the DHCP server", copy_inherited: bool = False):
        self.runner = runner
        self.server = server
        self.copy_inherited = copy_inherited  # only scope-level options 006/015 count (dhcp.plan.effective_option)
        self.method: str | None = None
        self._netsh_flags: dict = {}  # network -> the scope's effective option 81, kept by a netsh DDNS change
        self._exists: dict = {}  # network -> whether the last read found the scope

    # read -------------------------------------------------------------------------------------------------------
    def read(self, scopes: list) -> dict:
        """{network: {'exists', 'active', 'settings', 'method', 'info'}} for the given scopes (dicts as ``desired``
        takes them). A scope the server does not have is exists=False. Raises OobDhcpError('read') naming every scope
        that could not be read, with the cmdlet's error id and message."""
        wanted = [check_scope(scope) for scope in scopes]
        if not wanted:
            return {}
        rc, stdout, stderr = self.runner(read_script([scope["scope_id"] for scope in wanted]))
        if rc != 0:
            raise OobDhcpError("read", f"the read script failed on {self.server} (exit code {rc}): "
                                       f"{(stderr or stdout or '').strip()[:500]}")  # fmt: skip
        document = parse_script_json(stdout, f"the read script on {self.server}")
        method = document.get("method")
        if method not in METHODS:
            raise OobDhcpError("protocol", f"the read script on {self.server} reported method {method!r}")
        self.method = method
        try:
            results = (
                self._read_cmdlets(wanted, document) if method == "cmdlets" else self._read_netsh(wanted, document)
            )
        except ValueError as exc:
            raise OobDhcpError("read", f"{self.server}: {exc}") from None
        self._exists.update({network: result["exists"] for network, result in results.items()})
        return results

    def _read_cmdlets(self, wanted: list, document: dict) -> dict:
        results, problems = {}, []
        server = document.get("server")
        if not isinstance(server, dict):
            raise OobDhcpError("protocol", f"the read script on {self.server} returned no server-level option values")
        problems.extend(self._describe("the server level", error) for error in _listed(server.get("errors")))
        server_options = _listed(server.get("options"))  # options 006/015 a scope inherits
        for scope in wanted:
            entry = (document.get("scopes") or {}).get(scope["scope_id"])
            if not isinstance(entry, dict):
                raise OobDhcpError("protocol", f"the read script on {self.server} returned nothing for scope "
                                               f"{scope['scope_id']}")  # fmt: skip
            errors = _listed(entry.get("errors"))
            if not entry.get("scope"):
                if entry.get("listed") is False:
                    results[scope["network"]] = self._missing()
                    continue
                problems.extend(self._describe(self._name(scope), error) for error in errors)
                if not errors:
                    problems.append(f"{scope['network']} (scope {scope['scope_id']}): no scope and no error returned")
                continue
            if errors or problems:
                problems.extend(self._describe(self._name(scope), error) for error in errors)
                continue
            settings, info = settings_from_cmdlets(_listed(entry.get("options")), entry.get("dns") or {},
                                                   server_options, copy_inherited=self.copy_inherited)  # fmt: skip
            state = str(entry["scope"].get("State") or "")
            info["state"] = state
            results[scope["network"]] = {"exists": True, "active": state.lower() == "active", "settings": settings,
                                         "method": "cmdlets", "info": info}  # fmt: skip
        if problems:
            raise OobDhcpError("read", f"{self.server}: could not read " + "; ".join(problems))
        return results

    def _read_netsh(self, wanted: list, document: dict) -> dict:
        listed = parse_netsh_scopes(document.get("show_scope"))
        server_options = None
        if any(scope["scope_id"] in listed for scope in wanted):
            server_options = parse_netsh_option_values(document.get("server_optionvalue"))
        results = {}
        for scope in wanted:
            row = listed.get(scope["scope_id"])
            if row is None:
                results[scope["network"]] = self._missing()
                continue
            raw = ((document.get("scopes") or {}).get(scope["scope_id"]) or {}).get("optionvalue")
            try:
                scope_options = parse_netsh_option_values(raw)
            except ValueError as exc:
                raise ValueError(f"{scope['network']} (scope {scope['scope_id']}): {exc}") from None
            settings, info = settings_from_netsh(scope_options, server_options, copy_inherited=self.copy_inherited)
            info["state"] = row["state"]
            self._netsh_flags[scope["network"]] = info["option_081"]
            results[scope["network"]] = {"exists": True, "active": row["active"], "settings": settings,
                                         "method": "netsh", "info": info}  # fmt: skip
        return results

    @staticmethod
    def _missing() -> dict:
        return {"exists": False, "active": None, "settings": {}, "method": None, "info": {}}

    @staticmethod
    def _name(scope: dict) -> str:
        return f"{scope['network']} (scope {scope['scope_id']})"

    @staticmethod
    def _describe(what: str, error: dict) -> str:
        text = f"{what}: {error.get('cmdlet', 'a cmdlet')} failed"
        details = ", ".join(f"{field} {error[field]}" for field in ("id", "category") if error.get(field))
        message = str(error.get("message") or "").strip()
        return f"{text} ({details}): {message}{_apply_hint(message + ' ' + details)}"

    # desired ----------------------------------------------------------------------------------------------------
    @staticmethod
    def desired(scope: dict) -> dict:
        """The settings this backend must hold for the scope, normalized as ``read`` reports them. With
        ``ddns: {enabled: false}`` the DNS update settings are left as they are (not managed)."""
        checked = check_scope(scope)
        settings = {"option_006": checked["dns_servers"], "option_015": checked["domain_name"]}
        if checked["ddns_enabled"]:
            settings.update(ddns_dynamic_updates="Always", ddns_update_older_clients=True, ddns_ptr_updates=True)
        return settings

    # apply ------------------------------------------------------------------------------------------------------
    def apply(self, changes: list) -> None:
        """Make the changes [{'network', 'scope_id', 'key', 'before', 'after'}] with one script: options 006 and 015
        of every scope first, then the DNS update settings, then activating scopes. Refuses to create or deactivate
        a scope. Raises OobDhcpError('apply') naming the step that failed and what was already done."""
        if not changes:
            return
        per_scope = self._check_changes(changes)
        method = self.method or self._detect()
        steps = []
        for key in ("option_006", "option_015"):
            for network, (scope_id, wanted) in per_scope.items():
                if key in wanted:
                    steps.append((f"{network} {key}", command_lines(method, scope_id, key, wanted[key])))
        for network, (scope_id, wanted) in per_scope.items():
            ddns = {key: wanted[key] for key in DDNS_KEYS if key in wanted}
            if ddns:
                value = ddns if method == "cmdlets" else self._netsh_dnsconfig(network, ddns)
                steps.append((f"{network} ddns", command_lines(method, scope_id, "ddns", value)))
        for network, (scope_id, wanted) in per_scope.items():
            if wanted.get(ACTIVE_KEY):
                steps.append((f"{network} {ACTIVE_KEY}", command_lines(method, scope_id, ACTIVE_KEY, True)))
        rc, stdout, stderr = self.runner(apply_script(method, steps))
        try:
            outcome = parse_script_json(stdout, f"the apply script on {self.server}")
        except OobDhcpError:
            raise OobDhcpError("apply", f"the apply script failed on {self.server} (exit code {rc}) before reporting "
                                        f"its steps: {(stderr or stdout or '').strip()[:500]}") from None  # fmt: skip
        if outcome.get("failed"):
            done = int(outcome.get("done") or 0)
            error = str(outcome.get("error") or "").strip()
            raise OobDhcpError("apply", f"{self.server}: {outcome['failed']} failed: {error}. The {done} step(s) "
                                        f"before it were made, none after it.{_apply_hint(error)}")  # fmt: skip
        if rc != 0:
            raise OobDhcpError("apply", f"the apply script on {self.server} ended with exit code {rc}: "
                                        f"{(stderr or '').strip()[:500]}")  # fmt: skip

    def _check_changes(self, changes: list) -> dict:
        """{network: (scope_id, {key: after})}, every value validated; refusals raise before anything runs."""
        per_scope: dict = {}
        for change in changes:
            network = str(check_network(change.get("network"), "network"))
            scope_id = ipv4(change.get("scope_id"), f"scope_id of {network}")
            if scope_id != str(ipaddress.IPv4Network(network).network_address):
                raise ValueError(f"scope_id {scope_id} is not the subnet address of {network}")
            key, after = change.get("key"), change.get("after")
            creating = key in ("exists", "scope", "create") or (key == ACTIVE_KEY and change.get("before") is None)
            if creating or self._exists.get(network) is False:
                raise OobDhcpError("refused", f"{self.server} has no scope {scope_id} ({network}): this backend never "
                                              "creates a scope (a subnet nobody described must not be served); "
                                              "create it on the DHCP server, then run again")  # fmt: skip
            if key == ACTIVE_KEY:
                if after is not True:
                    raise OobDhcpError("refused", f"scope {scope_id} ({network}): this backend activates scopes, it "
                                                  "never deactivates one")  # fmt: skip
            elif key == "option_006":
                if isinstance(after, str) or not after:
                    raise ValueError(f"option_006 of {network} must be a non-empty list of IPv4 addresses")
                after = [ipv4(server, f"option_006 of {network}:") for server in after]
            elif key == "option_015":
                after = dns_name(after, f"option_015 of {network}")
            elif key == "ddns_dynamic_updates":
                if after not in DYNAMIC_UPDATES:
                    raise ValueError(f"ddns_dynamic_updates of {network} must be one of {', '.join(DYNAMIC_UPDATES)}, "
                                     f"not {after!r}")  # fmt: skip
            elif key in ("ddns_update_older_clients", "ddns_ptr_updates"):
                if not isinstance(after, bool):
                    raise ValueError(f"{key} of {network} must be true or false, not {after!r}")
            else:
                raise ValueError(f"unknown setting {key!r} for {network} (known: {', '.join(KEYS + (ACTIVE_KEY,))})")
            per_scope.setdefault(network, (scope_id, {}))[1][key] = after
        return per_scope

    def _netsh_dnsconfig(self, network: str, ddns: dict) -> list:
        """The four set dnsconfig arguments: the changed settings over the scope's current effective option 81."""
        if network not in self._netsh_flags:
            message = f"{network}: read() the scope before apply() with netsh: its current DNS update flags are kept"
            raise OobDhcpError("usage", message)
        current = decode_dns_flags(self._netsh_flags[network])
        current.update(ddns)
        if not current["ddns_ptr_updates"]:
            raise ValueError(f"{network}: netsh set dnsconfig cannot disable PTR updates (ddns_ptr_updates false)")
        return netsh_dnsconfig_args(current["ddns_dynamic_updates"], current["ddns_update_older_clients"],
                                    current["delete_on_lease_expiry"])  # fmt: skip

    def _detect(self) -> str:
        rc, stdout, stderr = self.runner("if (Get-Command Get-DhcpServerv4Scope -ErrorAction SilentlyContinue) "
                                         "{ 'cmdlets' } else { 'netsh' }")  # fmt: skip
        method = str(stdout or "").strip()
        if rc != 0 or method not in METHODS:
            raise OobDhcpError("protocol", f"could not tell how to manage DHCP on {self.server}: {stderr or stdout}")
        self.method = method
        return method


def check_present(results: dict, server: str = "the DHCP server") -> None:
    """Raise OobDhcpError('missing') naming every scope ``read`` found missing (the module fails with it)."""
    missing = sorted(network for network, result in results.items() if not result.get("exists"))
    if missing:
        raise OobDhcpError("missing", f"{server} has no scope for {', '.join(missing)}: this module never creates a "
                                      "scope; create it on the DHCP server (with its address range and exclusions), "
                                      "or correct the subnet in the estate")  # fmt: skip


class WindowsBackend:
    """The Windows DHCP Server (WindowsDhcp over WinRM) behind the same surface as dhcp.kea.KeaBackend:
    the scope's state joins the settings as ``active`` (an inactive scope is activated, never created); options
    006/015 are the effective ones (scope, else server level, by ``effective_option``) unless ``copy_inherited``."""

    name = "windows"

    def __init__(self, dhcp, server: str):
        self.dhcp, self.server = dhcp, server
        self.configs: dict = {}

    @classmethod
    def from_params(cls, windows: dict, copy_inherited: bool = False):
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


# --- WinRM ----------------------------------------------------------------------------------------------------------
def winrm_runner(host: str, port: int = 5986, *, transport: str = "kerberos", username: str | None = None,
                 password: str | None = None, ca_file: str | None = None, validate_certs: bool = True,
                 timeout: int = 30):  # fmt: skip
    """A runner for ``WindowsDhcp`` over WinRM on HTTPS (pywinrm): ``runner(script) -> (rc, stdout, stderr)``.

    The server's certificate is validated (against ``ca_file``, a PEM bundle, when given; otherwise requests' trust
    store, which REQUESTS_CA_BUNDLE may point elsewhere) unless ``validate_certs`` is false. Kerberos uses the
    ticket cache when no password is given. Short scripts go through ``Session.run_ps``; a script whose encoded
    command would not fit a Windows command line travels in an environment variable of the shell instead. Failures
    raise OobDhcpError (connect, tls, auth, timeout, protocol, dependency) with what to do; the password never
    appears in them.
    """
    if transport not in TRANSPORTS:
        raise OobDhcpError("usage", f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r} (WinRM over "
                                    "HTTPS with Kerberos is the estate's default)")  # fmt: skip
    host_text = str(host or "").strip()
    if not _HOST.match(host_text) or ".." in host_text:
        raise OobDhcpError("usage", f"host {host!r} is not a host name or IPv4 address")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise OobDhcpError("usage", f"port {port!r} is not a TCP port (WinRM over HTTPS listens on 5986)")
    if not isinstance(timeout, int) or timeout < 5:
        raise OobDhcpError("usage", f"timeout {timeout!r} must be a whole number of seconds, 5 or more")
    if transport != "kerberos" and not (username and password):
        raise OobDhcpError("usage", f"transport {transport} needs username and password")
    if validate_certs and ca_file and not os.path.isfile(ca_file):
        raise OobDhcpError("tls", f"ca_file {ca_file} does not exist: give the PEM file of the CA that issued the "
                                  "WinRM HTTPS listener's certificate")  # fmt: skip
    try:
        import requests  # pylint: disable=import-outside-toplevel
        import winrm  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        hint = "pip install 'pywinrm[kerberos]', or pip install -r requirements.txt"
        raise OobDhcpError("dependency", f"pywinrm is not installed on the controller ({exc}): {hint}") from None
    where = f"{host_text}:{port}"
    kwargs = {
        "transport": transport,
        "server_cert_validation": "validate" if validate_certs else "ignore",
        "read_timeout_sec": timeout,
        "operation_timeout_sec": timeout - 10 if timeout > 15 else timeout - 2,
    }
    if validate_certs and ca_file:
        kwargs["ca_trust_path"] = ca_file
    try:
        session = winrm.Session(f"https://{where}/wsman", auth=(username, password), **kwargs)
    except Exception as exc:  # pylint: disable=broad-except
        raise _winrm_error(exc, where, transport, password, requests) from None

    def run(script: str):
        try:
            encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
            if len(encoded) <= _MAX_ENCODED_COMMAND:
                response = session.run_ps(script)
                rc, out, err = response.status_code, response.std_out, response.std_err
            else:
                rc, out, err = _run_via_environment(session, script)
        except OobDhcpError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            raise _winrm_error(exc, where, transport, password, requests) from None
        return rc, _text(out), _text(err)

    return run


def _run_via_environment(session, script: str):
    """Run a long script: the shell gets it in OOB_PREP_SCRIPT, a short -EncodedCommand runs it (the workaround
    from pywinrm issue #184)."""
    if len(script) > _MAX_ENV_SCRIPT:
        raise OobDhcpError("usage", f"the script is {len(script)} characters, more than one WinRM shell variable "
                                    "holds: manage fewer scopes per task")  # fmt: skip
    bootstrap = "& ([ScriptBlock]::Create($env:OOB_PREP_SCRIPT))"
    encoded = base64.b64encode(bootstrap.encode("utf-16-le")).decode("ascii")
    protocol = session.protocol
    shell_id = protocol.open_shell(env_vars={"OOB_PREP_SCRIPT": script})
    try:
        command_id = protocol.run_command(shell_id, "powershell", ["-NoProfile", "-NonInteractive", "-EncodedCommand",
                                                                   encoded])  # fmt: skip
        try:
            out, err, rc = protocol.get_command_output(shell_id, command_id)
        finally:
            protocol.cleanup_command(shell_id, command_id)
    finally:
        protocol.close_shell(shell_id)
    if err and hasattr(session, "_clean_error_msg"):
        err = session._clean_error_msg(err)  # pylint: disable=protected-access
    return rc, out, err


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value or "")


def _winrm_error(exc, where: str, transport: str, password, requests) -> OobDhcpError:
    """The OobDhcpError for a pywinrm/requests exception, with what to do about it (never the password)."""
    from winrm import exceptions as wexc  # pylint: disable=import-outside-toplevel

    try:
        from winrm.vendor.requests_kerberos import exceptions as kexc  # pylint: disable=import-outside-toplevel

        kerberos_errors: tuple = (kexc.KerberosExchangeError, kexc.MutualAuthenticationError)
    except ImportError:  # pragma: no cover - older pywinrm
        kerberos_errors = ()
    detail = str(exc) or type(exc).__name__
    if password:
        detail = detail.replace(str(password), "********")
    lowered = detail.lower()
    port = where.rsplit(":", maxsplit=1)[-1]
    if isinstance(exc, requests.exceptions.SSLError):
        if "hostname" in lowered or "doesn't match" in lowered or "not valid for" in lowered:
            fix = "connect with the name in the listener's certificate (its DNS name, not an address)"
        else:
            fix = ("give ca_file, the PEM of the CA that issued the WinRM HTTPS listener's certificate (or "
                   "validate_certs: false for a lab only)")  # fmt: skip
        kind, message = "tls", f"{where}: the TLS certificate could not be verified: {fix} ({detail})"
    elif isinstance(exc, (requests.exceptions.Timeout, wexc.WinRMOperationTimeoutError)):
        kind, message = "timeout", (f"{where} did not answer in time: is the host up, port {port} open on its "
                                    f"firewall, and the timeout long enough? ({detail})")  # fmt: skip
    elif isinstance(exc, requests.exceptions.ConnectionError):
        if "name or service not known" in lowered or "getaddrinfo" in lowered or "nodename nor servname" in lowered:
            fix = "the controller cannot resolve the host name: check the name, or DNS on the controller"
        elif "refused" in lowered:
            fix = (f"nothing listens there: enable the WinRM HTTPS listener (winrm quickconfig -transport:https, or "
                   f"role oob_windows_prereqs) and allow TCP {port}")  # fmt: skip
        else:
            fix = "check the host, the WinRM HTTPS listener and the firewalls between"
        kind, message = "connect", f"cannot connect to {where}: {fix} ({detail})"
    elif isinstance(exc, wexc.InvalidCredentialsError):
        if transport == "kerberos":
            fix = "run kinit for an account in DHCP Administrators (or give username and password)"
        else:
            fix = "check username and password (DOMAIN\\user or user@domain)"
        kind, message = "auth", f"{where} rejected the credentials ({transport}, HTTP 401): {fix}"
    elif kerberos_errors and isinstance(exc, kerberos_errors):
        kind, message = "auth", (f"Kerberos with {where} failed: run kinit, connect by the host's DNS name (its SPN "
                                 f"is HTTP/<name>), and check the controller's krb5.conf ({detail})")  # fmt: skip
    elif type(exc).__module__.split(".")[0] == "spnego":
        kind, message = "auth", f"authentication with {where} failed ({transport}): {detail}"
    elif isinstance(exc, wexc.WSManFaultError):
        if getattr(exc, "wsman_fault_code", None) == 5 or "access is denied" in lowered:
            kind, message = "auth", (f"{where}: access is denied: the account must be allowed to use WinRM (local "
                                     "Administrators or Remote Management Users)")  # fmt: skip
        else:
            kind, message = "protocol", f"{where} answered with a WS-Management fault: {detail}"
    elif isinstance(exc, wexc.WinRMTransportError):
        kind, message = "protocol", (f"{where} answered HTTP {exc.code}: is it a WinRM listener (/wsman)? "
                                     f"{exc.response_text[:300]}")  # fmt: skip
    elif isinstance(exc, wexc.WinRMError) and "not installed" in lowered:
        extra = "credssp" if transport == "credssp" else "kerberos"
        kind, message = "dependency", f"{detail}: pip install 'pywinrm[{extra}]' on the controller"
    elif isinstance(exc, (wexc.WinRMError, requests.exceptions.RequestException)):
        kind, message = "protocol", f"WinRM with {where} failed: {detail}"
    else:
        kind, message = "protocol", f"WinRM with {where} failed: {type(exc).__name__}: {detail}"
    return OobDhcpError(kind, message)
