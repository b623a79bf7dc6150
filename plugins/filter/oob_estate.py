# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the inventory holds the estate's Windows hosts in their groups, as the inventory plugin oob_estate builds
them (the same code: module_utils/estate/hosts.py)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.oob.prep.plugins.module_utils.estate.hosts import estate_hosts, inventory_problems  # noqa: E402


def oob_estate_inventory_problems(estate: Mapping, groups: Mapping, hostvars: Mapping) -> list[str]:
    """One message per disagreement between the estate and the inventory; [] when they agree."""
    try:
        expected = estate_hosts(estate)
    except ValueError as exc:
        return [str(exc)]
    known = set(groups.get("all") or [])
    roles_of = {name: hostvars[name].get("oob_windows_roles") for name in expected if name in known}
    return inventory_problems(expected, groups, roles_of)


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"oob_estate_inventory_problems": oob_estate_inventory_problems}
