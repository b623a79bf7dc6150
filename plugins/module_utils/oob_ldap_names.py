# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for LDAP names: DN and filter escaping, base DNs, server specifications. No I/O, no Ansible."""

from __future__ import annotations

import re

# RFC 4514 section 2.4: characters escaped anywhere in an attribute value, and where
_DN_SPECIAL = set(',+"\\<>;=')
_FILTER_SPECIAL = {"*": "\\2a", "(": "\\28", ")": "\\29", "\\": "\\5c", "\0": "\\00"}
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def escape_dn_value(value: str) -> str:
    """Escape an attribute value for use in a DN (RFC 4514 2.4).

    >>> escape_dn_value('#Sales, "EMEA"')
    '\\\\#Sales\\\\, \\\\"EMEA\\\\"'
    """
    if not isinstance(value, str) or value == "":
        raise ValueError("a DN value must be a non-empty string")
    out = []
    for i, ch in enumerate(value):
        if ch == "\0":
            out.append("\\00")
        elif ch in _DN_SPECIAL:
            out.append("\\" + ch)
        elif ch == "#" and i == 0:
            out.append("\\#")
        elif ch == " " and (i == 0 or i == len(value) - 1):
            out.append("\\ ")
        else:
            out.append(ch)
    return "".join(out)


def escape_filter_value(value: str) -> str:
    """Escape an assertion value for use in a search filter (RFC 4515 3)."""
    return "".join(_FILTER_SPECIAL.get(ch, ch) for ch in value)


def base_dn_from_dns(dns_name: str) -> str:
    """'corp.example.com' -> 'DC=corp,DC=example,DC=com'."""
    labels = dns_name.rstrip(".").split(".") if dns_name else []
    if not labels or not all(_DNS_LABEL.match(label) for label in labels):
        raise ValueError(f"{dns_name!r} is not a DNS domain name (letters, digits and hyphens in dot-separated labels)")
    return ",".join("DC=" + label for label in labels)


RDN_TYPE = {"organizationalUnit": "OU", "container": "CN"}


def container_dn(path: list[str], object_class: str, base_dn: str) -> list[str]:
    """DNs of every level of ``path`` (outermost first) under ``base_dn``; the last one is the container itself."""
    if not path:
        raise ValueError("path must name at least one container")
    try:
        rdn_type = RDN_TYPE[object_class]
    except KeyError:
        raise ValueError(f"object class must be one of {sorted(RDN_TYPE)}, not {object_class!r}") from None
    dns, parent = [], base_dn
    for name in path:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"path elements must be non-empty names, got {name!r}")
        parent = f"{rdn_type}={escape_dn_value(name)},{parent}"
        dns.append(parent)
    return dns


def parse_server(spec) -> dict:
    """A server entry: 'host', 'host:port', or {'host': ..., 'address': ..., 'port': ...} -> dict with all three."""
    if isinstance(spec, str):
        host, _sep, port = spec.partition(":")
        spec = {"host": host, "port": port or None}
    if not isinstance(spec, dict) or not spec.get("host"):
        raise ValueError(f"a server must be a host name, 'host:port' or a dict with 'host', got {spec!r}")
    unknown = set(spec) - {"host", "address", "port"}
    if unknown:
        raise ValueError(f"unknown server key(s) {sorted(unknown)}; use host, address, port")
    port = spec.get("port")
    if port not in (None, ""):
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise ValueError(f"server port must be a number, got {port!r}") from None
        if not 0 < port < 65536:
            raise ValueError(f"server port out of range: {port}")
    else:
        port = None
    return {"host": str(spec["host"]), "address": spec.get("address") or None, "port": port}
