#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ad_pki_info
short_description: Check the enterprise CAs and certificate templates that out of band management depends on
description:
  - Read-only readiness checks over LDAP. One search reads every enrollment service and certificate template under
    C(CN=Public Key Services); one more resolves the principals named in O(required_enrollers) and
    O(accepted_esc17_principals) (a missing one is named in its own check row), and one per required enroller reads
    its groups (C(tokenGroups)).
  - For each enterprise CA of O(ca_names), the enrollment service object exists and has a C(dNSHostName). Its CA
    certificate (C(cACertificate)) parses, has an RSA key of at most O(max_ca_key_bits) bits (Intel AMT cannot use
    longer ones), and is not expired or close to expiry.
  - For each template of O(templates) (the templates this project manages), it exists, is published on every CA of
    O(ca_names) (the evidence names every enrollment service of the forest that offers it), approves automatically,
    every principal of O(required_enrollers) can really enroll (Enroll allowed to it or one of its groups and not
    denied first), and it trips no certificate-template escalation rule (ESC1, ESC2, ESC3, ESC4, ESC15 fail; ESC9 is
    a warning). ESC17 (the subject comes from the request and the EKUs include server authentication) is reported as
    accepted by design when only O(accepted_esc17_principals) can enroll, with the exact list of principals, and as a
    failure otherwise. The escalation rules apply to a template that any enrollment service of the forest offers.
  - Every other template published on a CA of O(ca_names) is evaluated against the same rules; what it trips is
    reported as a warning (this module never changes anything, and this project does not own those templates).
  - Each check is returned as C({id, row, status, evidence, remedy}) with status V(pass), V(fail), V(warn) or V(skip)
    (a check that cannot be made because another one failed, which is named). Every evidence names its template, CA
    or principal, and every failure is listed; one never hides another. The module itself never fails on a finding
    or a missing template or principal; roles assert on RV(failed_checks).
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
options:
  ca_names:
    description: The enterprise CAs to check (enrollment service names).
    type: list
    elements: str
    required: true
  templates:
    description: Common names of the templates this project manages; each must be published on every CA of
      O(ca_names).
    type: list
    elements: str
    default: []
  required_enrollers:
    description:
      - Principals (sAMAccountName or SID) that must be able to enroll on every template of O(templates), usually the
        site server's and the out of band service point's computer accounts (C(SCCM01$)).
      - The check evaluates the principal's own SID, its groups (C(tokenGroups)), Everyone and Authenticated Users,
        in DACL order, as Windows does. A missing principal fails the check.
    type: list
    elements: str
    default: []
  template_enrollers:
    description:
      - Per template (its common name as key), the principals that must be able to enroll on it, instead of
        O(required_enrollers); for example the site server on the AMT web server template and the out of band
        service point on the AMT provisioning template.
    type: dict
    default: {}
  accepted_esc17_principals:
    description: Principals (sAMAccountName or SID) for which ESC17 is accepted by design, usually the site server.
    type: list
    elements: str
    default: []
  max_ca_key_bits:
    description: The longest CA key that passes. Intel AMT supports at most 2048 bits.
    type: int
    default: 2048
  warn_days:
    description: Warn when a CA certificate expires within this many days.
    type: int
    default: 90
extends_documentation_fragment:
  - oob.prep.oob_action_groups.ldap
  - oob.prep.oob_ldap
  - oob.prep.oob_ldap_forest
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
notes:
  - Escalation rules follow Certipy 5 and go further where it misses paths; the docstring of
    C(plugins/module_utils/pki/checks.py) gives the exact semantics (ACE evaluation order, object ACEs, the
    attributes that count for ESC4).
"""

EXAMPLES = r"""
- name: Check the CA and the AMT templates
  ad_pki_info:
    servers: [dc01.corp.example.com]
    forest_dns_name: corp.example.com
    ca_names: [CORP-ISSUING-CA]
    templates: [ConfigMgrAMTWebServer, ConfigMgrAMTProvisioning]
    required_enrollers: [SCCM01$]
    accepted_esc17_principals: [SCCM01$]
    auth: kerberos
  register: pki

- name: Fail on any failed check
  ansible.builtin.assert:
    that: pki.failed_checks | length == 0
    fail_msg: "{{ pki.failed_checks | map(attribute='evidence') | list }}"

- name: Show what other templates on the CA allow (read-only warnings)
  ansible.builtin.debug:
    msg: "{{ pki.checks | selectattr('status', 'equalto', 'warn') | map(attribute='evidence') | list }}"
"""

RETURN = r"""
checks:
  description:
    - Every check with its id, the seed row it belongs to, status (V(pass), V(fail), V(warn), V(skip)), evidence and
      remedy (empty when it passes).
    - "Ids: C(pki.ca.<CA>.enrollment_service), C(pki.ca.<CA>.certificate), C(pki.principal.<name>.resolved),
      C(pki.template.<T>.exists), C(pki.template.<T>.published), C(pki.template.<T>.auto_approval),
      C(pki.template.<T>.escalation), C(pki.template.<T>.enroll.<principal>) and, for templates not in O(templates)
      but published on a CA of O(ca_names), C(pki.unmanaged_template.<T>.escalation) (V(pass) or V(warn))."
  returned: success
  type: list
  elements: dict
  sample:
    - id: pki.ca.LAB-CA.certificate
      row: ca_key_length
      status: pass
      evidence: "CA LAB-CA: CN=LAB-CA,DC=lab,DC=example: RSA 2048 bits, valid until 2031-11-24T22:12:58+00:00 (1825
        days)"
      remedy: ""
    - id: pki.template.ConfigMgrAMTWebServer.enroll.SCCM01$
      row: oob_certificates
      status: fail
      evidence: "SCCM01$ (S-1-5-21-1-2-3-1103) cannot enroll on template ConfigMgrAMTWebServer: Enroll is denied to
        its group S-1-5-21-1-2-3-515 by (OD;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;S-1-5-21-1-2-3-515), which comes
        before any allow"
      remedy: "grant SCCM01$ Enroll on ConfigMgrAMTWebServer and remove the deny ACEs for it and its groups"
failed_checks:
  description: The checks whose status is V(fail).
  returned: success
  type: list
  elements: dict
warned_checks:
  description: The checks whose status is V(warn).
  returned: success
  type: list
  elements: dict
findings:
  description: Escalation findings for the templates of O(templates) (rule, severity V(fail), V(warn) or
    V(accepted), template, principals, reason).
  returned: success
  type: list
  elements: dict
  sample:
    - rule: ESC17
      severity: accepted
      template: ConfigMgrAMTWebServer
      principals: [S-1-5-21-1-2-3-1103]
      reason: "ESC17 on 'ConfigMgrAMTWebServer': S-1-5-21-1-2-3-1103 can enroll (Enroll), the enrollee supplies the
        subject and the EKUs include server authentication; accepted by design (only accepted principals can enroll)"
unmanaged_findings:
  description: Escalation findings for the other templates published on a CA of O(ca_names); severity V(warn) (or
    V(accepted) for ESC17).
  returned: success
  type: list
  elements: dict
published_on:
  description: For every template published on a CA of O(ca_names) and every template of O(templates), the
    enrollment services of the forest that offer it (an empty list when none does).
  returned: success
  type: dict
  sample: {ConfigMgrAMTWebServer: [LAB-CA], WebServer: [LAB-CA]}
principals:
  description: The SID of every principal of O(required_enrollers) and O(accepted_esc17_principals) that was found.
  returned: success
  type: dict
  sample: {SCCM01$: S-1-5-21-1-2-3-1103}
ldap_operations:
  description: How many LDAP searches and writes (always 0) the module made.
  returned: success
  type: dict
  sample: {searches: 3, writes: 0}
"""

import datetime

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.oob.prep.plugins.module_utils.checks import check, summary
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import (
    SD_FLAGS_DACL,
    SD_FLAGS_OWNER,
    check_settings,
    connect,
    forest_argument_spec,
    lookup_principals,
    merge_connection,
    run_ldap_module,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import base_dn_from_dns
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    SecurityDescriptor,
    sid_from_bytes,
)
from ansible_collections.oob.prep.plugins.module_utils.pki.checks import (
    AUTHENTICATED_USERS,
    EVERYONE,
    HAS_CRYPTOGRAPHY,
    PEND_ALL_REQUESTS,
    check_ca_certificate,
    enroll_decision,
    evaluate_escalations,
)

PKS = "CN=Public Key Services,CN=Services,CN=Configuration,{forest}"
PKI_FILTER = "(|(objectClass=pKIEnrollmentService)(objectClass=pKICertificateTemplate))"
EKU_AMT_PROVISIONING = "2.16.840.1.113741.1.2.3"  # Intel AMT provisioning (Intel AMT SDK)
ENROLLMENT_REMEDY = "grant {who} Enroll on {template} and remove the deny ACEs for it and its groups"


def argument_spec() -> dict:
    spec = forest_argument_spec()
    spec.update(
        ca_names=dict(type="list", elements="str", required=True),
        templates=dict(type="list", elements="str", default=[]),
        required_enrollers=dict(type="list", elements="str", default=[]),
        template_enrollers=dict(type="dict", default={}),
        accepted_esc17_principals=dict(type="list", elements="str", default=[]),
        max_ca_key_bits=dict(type="int", default=2048),
        warn_days=dict(type="int", default=90),
    )
    return spec


def _int(attrs: dict, name: str) -> int:
    """A 32-bit flag attribute as an unsigned int (AD returns values with bit 31 set as negative numbers)."""
    values = attrs.get(name.lower())
    if not values:
        return 0
    try:
        return int(values[0]) & 0xFFFFFFFF
    except ValueError:
        raise ValueError(f"{name} is not an integer: {values[0]!r}") from None


def template_facts(name: str, attrs: dict) -> dict:
    ekus = {v.decode("ascii") for key in ("pkiextendedkeyusage", "mspki-certificate-application-policy")
            for v in attrs.get(key, [])}  # fmt: skip
    return {
        "name": name,
        "schema_version": _int(attrs, "msPKI-Template-Schema-Version") or 1,
        "enrollment_flag": _int(attrs, "msPKI-Enrollment-Flag"),
        "name_flag": _int(attrs, "msPKI-Certificate-Name-Flag"),
        "ra_signature": _int(attrs, "msPKI-RA-Signature"),
        "ekus": sorted(ekus),
    }


# --- read: everything the checks need, from LDAP ------------------------------------------------------------------


def read_token(session, sid: str) -> list[str]:
    """The SIDs an access token of ``sid`` holds: its own, its groups' (tokenGroups, read on the object through its
    <SID=...> DN), Everyone and Authenticated Users. Just ``sid`` when no object has it (a well-known group)."""
    entries = session.search(f"<SID={sid}>", "(objectClass=*)", ["objectSid", "tokenGroups"], "BASE")
    if not entries:
        return [sid]
    groups = [sid_from_bytes(value)[0] for value in entries[0]["attributes"].get("tokengroups", [])]
    return [sid, *groups, EVERYONE, AUTHENTICATED_USERS]


def enrollers_for(params: dict, template: str) -> list[str]:
    """Who must be able to enroll on ``template``: its entry of template_enrollers, else required_enrollers."""
    per = {str(k).lower(): v for k, v in (params.get("template_enrollers") or {}).items()}
    value = per.get(template.lower(), params["required_enrollers"])
    return [value] if isinstance(value, str) else list(value)


def _all_enrollers(params: dict) -> list[str]:
    names = list(params["required_enrollers"])
    for template in params["templates"]:
        names += enrollers_for(params, template)
    return list(dict.fromkeys(names))


def read_state(session, params: dict, pks: str) -> dict:
    """{'entries': every enrollment service and template (with owner and DACL), 'sids', 'missing', 'tokens'}."""
    entries = session.search(pks, PKI_FILTER, ["*", "nTSecurityDescriptor"], "SUBTREE",
                             sd_flags=SD_FLAGS_OWNER | SD_FLAGS_DACL)  # fmt: skip
    names = list(dict.fromkeys(_all_enrollers(params) + params["accepted_esc17_principals"]))
    domain = params.get("principal_domain") or params["forest_dns_name"]
    lookup = connect(params["principal_servers"], params) if params.get("principal_servers") else session
    try:
        base = params.get("principal_base_dn") or base_dn_from_dns(domain)
        _none, sids, missing = lookup_principals(lookup, base, names, domain)
        tokens = {}
        for name in _all_enrollers(params):
            if name in sids and sids[name] not in tokens:
                tokens[sids[name]] = read_token(lookup, sids[name])
    finally:
        if lookup is not session:
            session.ops["searches"] += lookup.ops["searches"]
            lookup.close()
    return {"entries": entries, "sids": sids, "missing": missing, "tokens": tokens}


# --- evaluate: pure, from what was read ---------------------------------------------------------------------------


def _cn(entry: dict) -> str:
    return entry["attributes"]["cn"][0].decode("utf-8")


def _of_class(entries: list[dict], object_class: bytes) -> dict:
    """{lowercase cn: entry} for the entries of ``object_class``."""
    return {_cn(e).lower(): e for e in entries if object_class in e["attributes"].get("objectclass", [])}


def _ca_checks(ca: str, entry: dict | None, pks: str, params: dict, now: datetime.datetime) -> list[dict]:
    cid = f"pki.ca.{ca}"
    host = entry["attributes"].get("dnshostname", [b""])[0].decode() if entry else ""
    evidence = (f"CA {ca}: {entry['dn']} has dNSHostName {host}" if host else
                f"CA {ca}: {entry['dn']} has no dNSHostName" if entry else
                f"CA {ca}: no enrollment service named {ca} under CN=Enrollment Services,{pks}")  # fmt: skip
    rows = [check(f"{cid}.enrollment_service", "enterprise_ca", bool(host), evidence,
                  "install an enterprise CA (AD CS) with this name, or fix ca_names")]  # fmt: skip
    if not entry:
        return rows + [check(f"{cid}.certificate", "ca_key_length", "skip",
                             f"CA {ca}: no enrollment service, so no CA certificate to check (see "
                             f"{cid}.enrollment_service)", "see the failed check named")]  # fmt: skip
    certs = entry["attributes"].get("cacertificate", [])
    try:
        if not certs:
            raise ValueError("the enrollment service has no cACertificate")
        result = check_ca_certificate(certs[0], now, params["max_ca_key_bits"], params["warn_days"])
    except ValueError as exc:
        return rows + [check(f"{cid}.certificate", "ca_key_length", False, f"CA {ca}: {entry['dn']}: {exc}",
                             "publish the CA certificate on the enrollment service (certutil -dspublish)")]  # fmt: skip
    evidence = (f"CA {ca}: {result['subject']}: {result['key_type']} {result['key_bits']} bits, valid until "
                f"{result['not_after']} ({result['days_left']} days)")  # fmt: skip
    if result["problems"]:
        evidence += "; " + "; ".join(result["problems"])
    return rows + [check(f"{cid}.certificate", "ca_key_length", result["status"], evidence,
                         f"issue CA {ca} a new certificate with an RSA key of at most {params['max_ca_key_bits']} "
                         "bits (AMT cannot use longer keys) and a validity that covers the AMT certificates' "
                         "lifetime")]  # fmt: skip


# "The out of band service point and each desktop computer ... must have specific public key infrastructure (PKI)
# certificates": the enrollers' rights on the templates that issue them
ROW_CERTIFICATES = "oob_certificates"


def _enroll_check(template: str, name: str, dacl, state: dict) -> dict:
    cid, remedy = f"pki.template.{template}.enroll.{name}", ENROLLMENT_REMEDY.format(who=name, template=template)
    if name in state["missing"]:
        return check(cid, ROW_CERTIFICATES, False, f"{name} cannot enroll on template {template}: "
                     f"{state['missing'][name]}", "create the account, or fix required_enrollers")  # fmt: skip
    sid = state["sids"][name]
    token = state["tokens"][sid]
    who = f"{name} ({sid})" if name != sid else sid
    decision = enroll_decision(dacl, token)
    if decision["allowed"]:
        via = "itself" if decision["sid"] == sid else f"its group {decision['sid']}"
        return check(
            cid,
            ROW_CERTIFICATES,
            True,
            f"{who} can enroll on template {template}: Enroll allowed to {via} by {decision['ace']}",
        )
    if decision["ace"] is None:
        why = f"no ACE allows Enroll to it or to any of its {len(token) - 1} groups"
    else:
        whose = "itself" if decision["sid"] == sid else f"its group {decision['sid']}"
        why = f"Enroll is denied to {whose} by {decision['ace']}, which comes before any allow"
    return check(cid, ROW_CERTIFICATES, False, f"{who} cannot enroll on template {template}: {why}", remedy)


def _escalations(name: str, attrs: dict, on: list[str], accepted: list[str], managed: bool) -> tuple:
    """(status, evidence, findings, DACL or None when it cannot be read) of one template's escalation rules."""
    try:
        if not attrs.get("ntsecuritydescriptor"):
            raise ValueError("no nTSecurityDescriptor was returned (the bind account needs Read on the template)")
        sd = SecurityDescriptor.from_bytes(attrs["ntsecuritydescriptor"][0])
        found = evaluate_escalations(template_facts(name, attrs), sd.dacl, sd.owner, bool(on), accepted,
                                     managed=managed)  # fmt: skip
    except ValueError as exc:
        return "fail" if managed else "warn", f"template {name} cannot be evaluated: {exc}", [], None
    severities = {finding["severity"] for finding in found}
    status = "fail" if "fail" in severities else "warn" if "warn" in severities else "pass"
    evidence = "; ".join(finding["reason"] for finding in found) or f"template {name}: no escalation rule applies"
    if not on:
        evidence += " (no CA offers it, so only ESC4 was evaluated)"
    return status, evidence, found, sd.dacl if sd.dacl is not None else []


def _template_checks(name: str, entry: dict | None, pks: str, params: dict, state: dict, *, on: list[str]):
    """(check rows, findings) for one managed template."""
    prefix, see = f"pki.template.{name}", "see the failed check named"
    if not entry:
        gone = f"template {name} does not exist (see {prefix}.exists)"
        rows = [check(f"{prefix}.exists", "enterprise_ca", False, f"no template {name} in CN=Certificate Templates,"
                      f"{pks}", "run the pki playbook (role oob_pki_templates)")]  # fmt: skip
        dependent = (
            ("published", "enterprise_ca"),
            ("auto_approval", "ca_auto_approval"),
            ("escalation", "enterprise_ca"),
        )
        rows += [check(f"{prefix}.{what}", row, "skip", gone, see) for what, row in dependent]
        rows += [
            check(f"{prefix}.enroll.{who}", ROW_CERTIFICATES, "skip", gone, see) for who in enrollers_for(params, name)
        ]
        return rows, []
    attrs = entry["attributes"]
    rows = [check(f"{prefix}.exists", "enterprise_ca", True, f"template {name} is {entry['dn']}")]
    missing = [ca for ca in params["ca_names"] if ca.lower() not in {c.lower() for c in on}]
    evidence = f"template {name} is published on {', '.join(on) or 'no CA'}"
    evidence += f"; not on {', '.join(missing)}" if missing else ""
    rows.append(check(f"{prefix}.published", "enterprise_ca", not missing, evidence,
                      f"publish {name} on {', '.join(missing)} (role oob_pki_templates, publish_to)"))  # fmt: skip
    enrollment_flag, ra_signature = _int(attrs, "msPKI-Enrollment-Flag"), _int(attrs, "msPKI-RA-Signature")
    pend = enrollment_flag & PEND_ALL_REQUESTS
    evidence = f"template {name}: PEND_ALL_REQUESTS {'set' if pend else 'clear'}, msPKI-RA-Signature {ra_signature}"
    rows.append(check(f"{prefix}.auto_approval", "ca_auto_approval", not pend and ra_signature == 0, evidence,
                      f"clear CA manager approval and authorized signatures on template {name}"))  # fmt: skip
    accepted = sorted(state["sids"][n] for n in params["accepted_esc17_principals"] if n in state["sids"])
    status, evidence, found, dacl = _escalations(name, attrs, on, accepted, managed=True)
    rows.append(check(f"{prefix}.escalation", "enterprise_ca", status, evidence,
                      f"on template {name}, remove Enroll and write rights of the principals named; keep Enroll to "
                      "the site server"))  # fmt: skip
    if dacl is None:
        unreadable = f"the DACL of template {name} cannot be read (see {prefix}.escalation)"
        rows += [check(f"{prefix}.enroll.{who}", ROW_CERTIFICATES, "skip", unreadable, see)
                 for who in enrollers_for(params, name)]  # fmt: skip
    else:
        rows += [_enroll_check(name, who, dacl, state) for who in enrollers_for(params, name)]
    return rows, found


def evaluate(params: dict, pks: str, state: dict, now: datetime.datetime) -> dict:
    """Every check from what ``read_state`` returned; no I/O."""
    cas, tpls = (
        _of_class(state["entries"], b"pKIEnrollmentService"),
        _of_class(state["entries"], b"pKICertificateTemplate"),
    )
    offered: dict[str, list[str]] = {}
    for ca in sorted(cas.values(), key=_cn):
        for value in ca["attributes"].get("certificatetemplates", []):
            offered.setdefault(value.decode("utf-8").lower(), []).append(_cn(ca))
    checks = []
    for ca in params["ca_names"]:
        checks += _ca_checks(ca, cas.get(ca.lower()), pks, params, now)
    for name in dict.fromkeys(_all_enrollers(params) + params["accepted_esc17_principals"]):
        sid = state["sids"].get(name)
        checks.append(check(f"pki.principal.{name}.resolved", "enterprise_ca", bool(sid),
                            f"principal {name} is {sid}" if sid else state["missing"].get(name, f"{name} not found"),
                            "create the account, or fix required_enrollers / accepted_esc17_principals"))  # fmt: skip
    findings, published_on = [], {}
    for name in params["templates"]:
        published_on[name] = offered.get(name.lower(), [])
        rows, found = _template_checks(name, tpls.get(name.lower()), pks, params, state, on=published_on[name])
        checks += rows
        findings += found
    managed = {name.lower() for name in params["templates"]}
    ours = {ca.lower() for ca in params["ca_names"]}
    accepted = sorted(state["sids"][n] for n in params["accepted_esc17_principals"] if n in state["sids"])
    unmanaged_findings = []
    for key, entry in sorted(tpls.items()):
        on = offered.get(key, [])
        if key in managed or not any(ca.lower() in ours for ca in on):
            continue
        name = _cn(entry)
        published_on[name] = on
        status, evidence, found, _dacl = _escalations(name, entry["attributes"], on, accepted, managed=False)
        unmanaged_findings += found
        checks.append(check(f"pki.unmanaged_template.{name}.escalation", "enterprise_ca", status,
                            f"{evidence} (template {name} is not managed here; published on {', '.join(on)})",
                            f"review template {name}: remove Enroll and write rights of the principals named, or "
                            "unpublish it if nothing uses it (this project does not change it)"))  # fmt: skip
    # an AMT template that exists under another name than the ones managed here: say so, it may be meant to be reused
    for key, entry in sorted(tpls.items()):
        ekus = {v.decode("ascii", "replace") for attr in ("pkiextendedkeyusage", "mspki-certificate-application-policy")
                for v in entry["attributes"].get(attr, [])}  # fmt: skip
        if key in managed or EKU_AMT_PROVISIONING not in ekus or not params["templates"]:
            continue
        name = _cn(entry)
        checks.append(check(f"pki.unmanaged_template.{name}.amt_provisioning", "enterprise_ca", "warn",
                            f"template {name} carries the Intel AMT provisioning EKU ({EKU_AMT_PROVISIONING}) and is "
                            f"not one of the templates managed here ({', '.join(params['templates'])})",
                            f"if {name} is your AMT provisioning template, reuse it: set oob_amt_templates."
                            f"provisioning.name: {name} in the estate; otherwise remove or unpublish it"))  # fmt: skip
    return {
        "changed": False,
        **summary(checks),
        "findings": findings,
        "unmanaged_findings": unmanaged_findings,
        "published_on": published_on,
        "principals": dict(state["sids"]),
    }


def run(module: AnsibleModule) -> dict:
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    p = module.params
    merge_connection(p)
    for warning in check_settings(p):
        module.warn(warning)
    pks = PKS.format(forest=base_dn_from_dns(p["forest_dns_name"]))
    session = connect(p["servers"], p)
    try:
        state = read_state(session, p, pks)
        ops = dict(session.ops)
    finally:
        session.close()
    result = evaluate(p, pks, state, datetime.datetime.now(datetime.timezone.utc))  # noqa: UP017 - older Pythons
    result["ldap_operations"] = ops
    return result


def main() -> None:
    run_ldap_module(argument_spec(), run, AnsibleModule)


if __name__ == "__main__":
    main()
