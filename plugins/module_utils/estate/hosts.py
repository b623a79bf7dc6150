# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate's Windows hosts as inventory hosts: which host joins which groups, with which host variables.

One function for both sides, so they cannot drift apart:
- the inventory plugin ``oob_estate`` (plugins/inventory/oob_estate.py) builds the hosts from the estate file;
- the role ``oob_estate`` (filter ``oob_estate_inventory_problems``) checks, at run time, that the inventory holds
  exactly what the estate says, and fails naming the host and the group when it does not.

The hosts are the ones marked ``windows: true``: the out of band service point, every console, the enterprise CA,
and the Windows DNS server (``oob_dns.backend: windows``). A host marked ``legacy_os`` (NT 5.x) joins only
``oob_windows_legacy``: nothing connects to it, its checks are manual steps. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.module_utils.parsing.convert_bool import boolean

ROLE_GROUPS = ("oob_service_points", "oob_consoles", "oob_certification_authorities", "oob_dns_servers")
WINDOWS = "oob_windows"
LEGACY = "oob_windows_legacy"
# every group this function fills; the inventory's other sources may declare them, not fill them
ESTATE_GROUPS = (*ROLE_GROUPS, WINDOWS, LEGACY)
SOURCE = "estate.oob_estate.yml (plugin oob_estate) in the inventory folder"


class VaultedValueError(ValueError):
    """A value the hosts are built from is vaulted, and no vault secret opens it."""


def _plain(where: str, value):
    """A vaulted value (ansible-core's EncryptedString) as its plaintext: decrypted here, only when it is needed."""
    if type(value).__name__ == "EncryptedString":
        try:
            return str(value)  # raises when no vault secret opens it
        except Exception as exc:  # noqa: BLE001 - ansible's vault errors are not importable from module_utils
            raise VaultedValueError(f"{where} is vaulted and could not be decrypted ({exc}): give the vault password "
                                    "(--vault-id), or write it out (an AWX inventory sync has no vault credential)"
                                    ) from None  # fmt: skip
    return value


def _literal_bool(where: str, value) -> bool:
    value = _plain(where, value)
    if isinstance(value, str) and "{{" in value:
        raise ValueError(f"{where} is a template ({value}): write true or false, the inventory is built from it")
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise ValueError(f"{where} is {value!r}, not a boolean") from None


def _name(where: str, value) -> str:
    value = _plain(where, value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where} is {value!r}: a host marked windows needs its DNS name")
    if "{{" in value or "{%" in value:
        raise ValueError(f"{where} is a template ({value}): write the host's name, the inventory is built from it")
    if value != value.strip() or any(c.isspace() for c in value):
        raise ValueError(f"{where} {value!r} holds a space: it is not a host name")
    return value


def _entries(estate: Mapping):
    """(variable, its dict, the key of its name, role group, roles) for every host the estate can mark windows."""
    sp = estate.get("oob_service_point")
    if isinstance(sp, Mapping):
        yield "oob_service_point", sp, "fqdn", "oob_service_points", ["service_point"]
    consoles = estate.get("oob_consoles") or []
    if isinstance(consoles, list):
        for index, console in enumerate(consoles):
            if isinstance(console, Mapping):
                yield f"oob_consoles[{index}]", console, "fqdn", "oob_consoles", ["console"]
    ca = estate.get("oob_enterprise_ca")
    if isinstance(ca, Mapping):
        yield "oob_enterprise_ca", ca, "host", "oob_certification_authorities", []
    dns = estate.get("oob_dns")
    # the Windows DNS server is Windows by definition
    if isinstance(dns, Mapping) and _plain("oob_dns.backend", dns.get("backend")) == "windows":
        yield "oob_dns", {**dns, "windows": True}, "windows_server", "oob_dns_servers", []


def estate_hosts(estate: Mapping) -> dict[str, dict]:
    """``{host: {"groups": [...], "oob_windows_roles": [...], "from": [estate variables]}}`` in the estate's order.

    ``estate`` holds the estate's variables (oob_service_point, oob_consoles, oob_enterprise_ca, oob_dns); a value
    that is missing or of the wrong type is skipped here (the role's argument specs name it). A host named twice (a
    console on the service point) is one host with both groups and both roles. Raises ValueError naming the variable
    when a host marked windows has no usable name, or is legacy in one place and not in another.
    """
    hosts: dict[str, dict] = {}
    spelled: dict[str, str] = {}  # inventory names are case-sensitive, DNS names are not: one host per DNS name
    for var, entry, name_key, group, roles in _entries(estate):
        if not _literal_bool(f"{var}.windows", entry.get("windows", False)):
            continue
        where = f"{var}.{name_key}"
        name = _name(where, entry.get(name_key))
        is_legacy = _literal_bool(f"{var}.legacy_os", entry.get("legacy_os", False))
        name = spelled.setdefault(name.lower(), name)
        host = hosts.setdefault(name, {"groups": [], "oob_windows_roles": [], "from": [], "legacy": is_legacy})
        if host["legacy"] != is_legacy:
            raise ValueError(f"{name} is named by {', '.join([*host['from'], where])}, marked legacy_os in some and "
                             "not in others: a host is legacy (NT 5.x) everywhere or nowhere")  # fmt: skip
        host["from"].append(where)
        for joined in [LEGACY] if is_legacy else [group, WINDOWS]:
            if joined not in host["groups"]:
                host["groups"].append(joined)
        for role in roles:
            if role not in host["oob_windows_roles"]:
                host["oob_windows_roles"].append(role)
    for host in hosts.values():
        del host["legacy"]
    return hosts


def inventory_problems(expected: Mapping, groups: Mapping, roles_of: Mapping) -> list[str]:
    """What differs between the estate's hosts (``estate_hosts``) and the inventory (``groups``: group -> hosts;
    ``roles_of``: host -> its oob_windows_roles, for the inventory's hosts that the estate names)."""
    problems = []
    known = set(groups.get("all") or [])
    for name, host in expected.items():
        if name not in known:
            problems.append(f"{name} ({', '.join(host['from'])}, marked windows in the estate) is not an inventory "
                            f"host: the inventory source {SOURCE} is missing or failed to parse (see its warning). "
                            "Copy it from inventories/production.example/")  # fmt: skip
            continue
        problems.extend(f"{name} ({', '.join(host['from'])}) is not in group {group} of the inventory"
                        for group in host["groups"] if name not in (groups.get(group) or []))  # fmt: skip
        roles = roles_of.get(name)
        if sorted(roles or []) != sorted(host["oob_windows_roles"]):
            problems.append(f"{name} has oob_windows_roles {roles!r} in the inventory, the estate says "
                            f"{host['oob_windows_roles']!r}: set no oob_windows_roles of your own")  # fmt: skip
    for group in (*ROLE_GROUPS, LEGACY):
        strays = [name for name in groups.get(group) or [] if group not in expected.get(name, {}).get("groups", [])]
        problems.extend(f"{name} is in group {group} of the inventory, but the estate does not put it there: describe "
                        "the host in the estate (group_vars/all/estate.yml, windows: true), not in hosts.yml"
                        for name in strays)  # fmt: skip
    return problems
