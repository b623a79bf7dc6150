# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The glue of dhcp_scope and dhcp_scope_info: their shared options, the backend they name, and one read and plan.

Nothing here knows a server's protocol: ``dhcp.kea`` and ``dhcp.windows`` do; ``dhcp.plan`` compares.
"""

from __future__ import annotations

from ansible_collections.oob.prep.plugins.module_utils.dhcp.kea import KeaBackend, KeaClient
from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import normalize_scopes, normalize_tsig, plan
from ansible_collections.oob.prep.plugins.module_utils.dhcp.windows import WindowsBackend


def argument_spec() -> dict:
    """The options dhcp_scope and dhcp_scope_info share (documented in doc_fragments/oob_dhcp.py)."""
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
