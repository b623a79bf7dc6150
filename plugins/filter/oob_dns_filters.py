# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the DNS role."""

from __future__ import annotations

import json


def oob_dns_by_server(suffixes: list, default_server, suffix_servers: dict | None = None) -> list[dict]:
    """Group DNS suffixes by the server that takes their updates: [{'server': ..., 'suffixes': [...]}], in the order
    the servers first appear, each suffix under its entry of ``suffix_servers`` or else under ``default_server``."""
    per = {str(k).rstrip(".").lower(): v for k, v in (suffix_servers or {}).items()}
    groups: dict[str, dict] = {}
    for suffix in suffixes or []:
        server = per.get(str(suffix).rstrip(".").lower(), default_server)
        if not server:
            raise ValueError(f"no DNS server for suffix {suffix}: give a server, or one for this suffix")
        key = json.dumps(server, sort_keys=True)
        groups.setdefault(key, {"server": server, "suffixes": []})["suffixes"].append(suffix)
    return list(groups.values())


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"oob_dns_by_server": oob_dns_by_server}
