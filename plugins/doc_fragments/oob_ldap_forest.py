# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the forest is, for the oob-prep modules that work on its configuration partition."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  servers:
    description:
      - Domain controllers of the forest, tried in order. A host name, C(host:port), or a dict with C(host) (the name
        in the DC's certificate), optional C(address) and C(port). Any DC holds the configuration partition.
    type: list
    elements: raw
    required: true
  forest_dns_name:
    description: The forest root domain's DNS name; its configuration partition holds the PKI objects.
    type: str
    required: true
  principal_domain:
    description: The DNS name of the domain where principals given as names are looked up. O(forest_dns_name) when
      omitted.
    type: str
  principal_servers:
    description:
      - DCs of O(principal_domain) when they are not O(servers) (a DC holds its own domain's objects only; the
        forest root's DCs do not hold a child domain's computer accounts). Same forms as O(servers).
    type: list
    elements: raw
  principal_base_dn:
    description: The base DN of O(principal_domain); derived from its DNS name when omitted.
    type: str
"""
