# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ad_pki_info's reading side: the PKI objects and the enrollers' access tokens, over an ``ldap.connection`` session.

``read_state(session, params, pks)`` makes, on ``session`` (and nothing is written):

- one SUBTREE search under CN=Public Key Services (``pks``, from ``PKS``) for every enrollment service and
  certificate template (``PKI_FILTER``), with their owner and DACL (``nTSecurityDescriptor``, SD flags
  OWNER | DACL);
- one search resolving the principals of ``required_enrollers``, ``template_enrollers`` and
  ``accepted_esc17_principals`` (``ldap.connection.lookup_principals``), on a session of its own to
  ``principal_servers`` when those are given (its searches are added to ``session``'s count);
- one BASE search per enroller found (``read_token``): its groups (``tokenGroups``).

``pki.rows.evaluate`` makes the check rows from what it returns.
"""

from __future__ import annotations

from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import (
    SD_FLAGS_DACL,
    SD_FLAGS_OWNER,
    connect,
    lookup_principals,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import base_dn_from_dns
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import sid_from_bytes
from ansible_collections.oob.prep.plugins.module_utils.pki.checks import AUTHENTICATED_USERS, EVERYONE
from ansible_collections.oob.prep.plugins.module_utils.pki.rows import all_enrollers

PKS = "CN=Public Key Services,CN=Services,CN=Configuration,{forest}"
PKI_FILTER = "(|(objectClass=pKIEnrollmentService)(objectClass=pKICertificateTemplate))"


def read_token(session, sid: str) -> list[str]:
    """The SIDs an access token of ``sid`` holds: its own, its groups' (tokenGroups, read on the object through its
    <SID=...> DN), Everyone and Authenticated Users. Just ``sid`` when no object has it (a well-known group)."""
    entries = session.search(f"<SID={sid}>", "(objectClass=*)", ["objectSid", "tokenGroups"], "BASE")
    if not entries:
        return [sid]
    groups = [sid_from_bytes(value)[0] for value in entries[0]["attributes"].get("tokengroups", [])]
    return [sid, *groups, EVERYONE, AUTHENTICATED_USERS]


def read_state(session, params: dict, pks: str) -> dict:
    """{'entries': every enrollment service and template (with owner and DACL), 'sids', 'missing', 'tokens'}."""
    entries = session.search(pks, PKI_FILTER, ["*", "nTSecurityDescriptor"], "SUBTREE",
                             sd_flags=SD_FLAGS_OWNER | SD_FLAGS_DACL)  # fmt: skip
    names = list(dict.fromkeys(all_enrollers(params) + params["accepted_esc17_principals"]))
    domain = params.get("principal_domain") or params["forest_dns_name"]
    lookup = connect(params["principal_servers"], params) if params.get("principal_servers") else session
    try:
        base = params.get("principal_base_dn") or base_dn_from_dns(domain)
        _none, sids, missing = lookup_principals(lookup, base, names, domain)
        tokens = {}
        for name in all_enrollers(params):
            if name in sids and sids[name] not in tokens:
                tokens[sids[name]] = read_token(lookup, sids[name])
    finally:
        if lookup is not session:
            session.ops["searches"] += lookup.ops["searches"]
            lookup.close()
    return {"entries": entries, "sids": sids, "missing": missing, "tokens": tokens}
