# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for LDAP names: DN and filter escaping, the names AD accepts as RDN values, base DNs, server
specifications. No I/O, no Ansible."""

from __future__ import annotations

import re
import unicodedata

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

# The longest RDN value AD accepts is the rangeUpper of the naming attribute in the AD schema. Samba ships that schema
# (/usr/share/samba/setup/ad-schema/AD_DS_Attributes__Windows_Server_2016.ldf, as in the 2008 R2 and 2012 files):
# Organizational-Unit-Name (ou) and Common-Name (cn) both have rangeLower: 1, rangeUpper: 64. cn is the naming
# attribute of container and pKICertificateTemplate, ou of organizationalUnit (rDNAttID in the Classes files).
# A Windows DC checks values against the schema's constraints on every originating Add and Modify (MS-ADTS,
# "Schema Constraints"); Samba does not check this one (it stored a 300-character OU name in the lab).
RDN_MAX_LENGTH = {"OU": 64, "CN": 64}


def _shown(value: str) -> str:
    """A value for an error message: quoted, and cut short when it is long."""
    return repr(value) if len(value) <= 40 else f"{value[:32]!r}..."


def check_rdn_value(value: str, rdn_type: str = "CN", what: str = "name") -> str:
    """Refuse a name AD would refuse as an RDN value, or that would not be what people see; returns it unchanged.

    Checked before any write, each with a message that names the rule: the schema's length limit (RDN_MAX_LENGTH,
    counted in UTF-16 code units as AD stores strings), control characters (MS-ADTS 3.1.1.5.1.2 "Naming Constraints":
    an RDN must not contain 0x0 or 0xA, answered with invalidDNSyntax or namingViolation; Samba stored both in the
    lab; the other control characters are invisible in every AD tool), leading or trailing white space, and text
    that is not Unicode (a lone surrogate cannot be sent as UTF-8).
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty name, got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{what} {_shown(value)} is not valid Unicode (a lone surrogate): fix how the name is written (the "
            "file's or the variable's encoding)"
        ) from None
    controls = sorted({f"U+{ord(ch):04X}" for ch in value if unicodedata.category(ch) == "Cc"})
    if controls:
        raise ValueError(
            f"{what} {_shown(value)} contains control characters ({', '.join(controls)}): remove them (AD refuses "
            "NUL and line feed in a name, MS-ADTS 3.1.1.5.1.2; the others are invisible)"
        )
    if value != value.strip():
        raise ValueError(
            f"{what} {_shown(value)} starts or ends with white space: remove it (it is invisible in AD tools and "
            "lost wherever the name is typed or trimmed)"
        )
    limit = RDN_MAX_LENGTH[rdn_type.upper()]
    length = len(value.encode("utf-16-le")) // 2
    if length > limit:
        counted = f"{length} characters" if length == len(value) else f"{length} UTF-16 code units"
        raise ValueError(
            f"{what} {_shown(value)} is {counted} long; AD allows at most {limit} (rangeUpper of "
            f"{rdn_type.lower()} in the AD schema): shorten it"
        )
    return value


def check_template_name(name: str) -> str:
    """A certificate template's name, its cn in CN=Certificate Templates: the rules of check_rdn_value (at most 64
    characters); returns it unchanged. Raises ValueError."""
    return check_rdn_value(name, "CN", "template name")


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
        check_rdn_value(name, rdn_type, "path element")
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
