#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ad_pki_info
short_description: Check the enterprise CAs and certificate templates that out of band management depends on
description:
  - Read-only readiness checks over LDAP, one search for all Public Key Services objects plus one for principals.
  - For each enterprise CA, the enrollment service object exists and has a C(dNSHostName). Its CA certificate
    (C(cACertificate)) parses, has an RSA key of at most O(max_ca_key_bits) bits (Intel AMT cannot use longer ones),
    and is not expired or close to expiry.
  - For each named template, it exists, is published where expected, approves automatically, and trips no
    certificate-template escalation rule (ESC1, ESC2, ESC3, ESC4, ESC15). ESC17 (the subject comes from the request
    and the EKUs include server authentication) is reported as accepted by design when only
    O(accepted_esc17_principals) can enroll, with the exact list of principals, and as a failure otherwise.
  - Each check is returned as C({id, row, status, evidence, remedy}) with status V(pass), V(fail) or V(warn). The
    module itself never fails on a finding; roles assert on RV(failed_checks).
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
options:
  ca_names:
    description: The enterprise CAs to check (enrollment service names).
    type: list
    elements: str
    required: true
  templates:
    description: Common names of the templates to check; each must be published on every CA of O(ca_names).
    type: list
    elements: str
    default: []
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
  - oob_ldap
  - oob_ldap_forest
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
"""

EXAMPLES = r"""
- name: Check the CA and the AMT templates
  ad_pki_info:
    servers: [dc01.corp.example.com]
    forest_dns_name: corp.example.com
    ca_names: [CORP-ISSUING-CA]
    templates: [ConfigMgrAMTWebServer, ConfigMgrAMTProvisioning]
    accepted_esc17_principals: [SCCM01$]
    auth: kerberos
  register: pki
- name: Fail on any failed check
  ansible.builtin.assert:
    that: pki.failed_checks | length == 0
    fail_msg: "{{ pki.failed_checks | map(attribute='evidence') | list }}"
"""

RETURN = r"""
checks:
  description: Every check with its id, the seed row it belongs to, status, evidence and remedy.
  returned: success
  type: list
  elements: dict
  sample:
    - id: pki.ca.LAB-CA.certificate
      row: ca_key_length
      status: pass
      evidence: "CN=LAB-CA,DC=lab,DC=example: RSA 2048 bits, valid until 2031-11-24 (1825 days)"
      remedy: ""
failed_checks:
  description: The checks whose status is fail.
  returned: success
  type: list
  elements: dict
findings:
  description: Escalation findings (rule, severity, template, principals, reason).
  returned: success
  type: list
  elements: dict
"""

import datetime

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.oob_cert_template import normalise_flag
from ansible.module_utils.oob_ldap import (
    SD_FLAGS_DACL,
    SD_FLAGS_OWNER,
    check_settings,
    connect,
    forest_argument_spec,
    resolve_principals,
    run_ldap_module,
)
from ansible.module_utils.oob_ldap_names import base_dn_from_dns, escape_filter_value
from ansible.module_utils.oob_pki_checks import HAS_CRYPTOGRAPHY, check_ca_certificate, evaluate_escalations
from ansible.module_utils.oob_sd import SecurityDescriptor

PKS = "CN=Public Key Services,CN=Services,CN=Configuration,{forest}"
PEND_ALL_REQUESTS = 0x2


def argument_spec() -> dict:
    spec = forest_argument_spec()
    spec.update(
        ca_names=dict(type="list", elements="str", required=True),
        templates=dict(type="list", elements="str", default=[]),
        accepted_esc17_principals=dict(type="list", elements="str", default=[]),
        max_ca_key_bits=dict(type="int", default=2048),
        warn_days=dict(type="int", default=90),
    )
    return spec


def check(cid: str, row: str, ok: bool | str, evidence: str, remedy: str = "") -> dict:
    status = ok if isinstance(ok, str) else ("pass" if ok else "fail")
    return {"id": cid, "row": row, "status": status, "evidence": evidence, "remedy": "" if status == "pass" else remedy}


def _int(attrs: dict, name: str) -> int:
    values = attrs.get(name.lower())
    return normalise_flag(int(values[0])) if values else 0


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


def run(module: AnsibleModule) -> dict:
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    p = module.params
    for warning in check_settings(p):
        module.warn(warning)
    forest = base_dn_from_dns(p["forest_dns_name"])
    pks = PKS.format(forest=forest)
    names = "".join(f"(cn={escape_filter_value(t)})" for t in p["templates"])
    flt = (
        f"(|(objectClass=pKIEnrollmentService)(&(objectClass=pKICertificateTemplate)(|{names})))"
        if names
        else ("(objectClass=pKIEnrollmentService)")
    )
    session = connect(p["servers"], p)
    try:
        entries = session.search(
            pks, flt, ["*", "nTSecurityDescriptor"], "SUBTREE", sd_flags=SD_FLAGS_OWNER | SD_FLAGS_DACL
        )
        accepted = set()
        if p["accepted_esc17_principals"]:
            pdom = p.get("principal_domain") or p["forest_dns_name"]
            found = resolve_principals(session, base_dn_from_dns(pdom), p["accepted_esc17_principals"], pdom)
            accepted = set(found.values())
        ops = dict(session.ops)
    finally:
        session.close()

    def cn(entry):
        return entry["attributes"]["cn"][0].decode("utf-8")

    cas = {cn(e).lower(): e for e in entries if b"pKIEnrollmentService" in e["attributes"].get("objectclass", [])}
    tpls = {cn(e).lower(): e for e in entries if b"pKICertificateTemplate" in e["attributes"].get("objectclass", [])}
    now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - sanity checks older Pythons
    checks, findings = [], []
    for ca in p["ca_names"]:
        entry = cas.get(ca.lower())
        host = entry and entry["attributes"].get("dnshostname", [b""])[0].decode()
        checks.append(check(f"pki.ca.{ca}.enrollment_service", "enterprise_ca", bool(host),
                            f"{entry['dn']}: dNSHostName {host}" if host else f"no enrollment service named {ca} "
                            f"under CN=Enrollment Services,{pks}" if not entry else f"{entry['dn']} has no dNSHostName",
                            "install an enterprise CA (AD CS) with this name, or fix ca_names"))  # fmt: skip
        if not entry:
            continue
        certs = entry["attributes"].get("cacertificate", [])
        try:
            if not certs:
                raise ValueError("the enrollment service has no cACertificate")
            result = check_ca_certificate(certs[0], now, p["max_ca_key_bits"], p["warn_days"])
            evidence = (f"{result['subject']}: {result['key_type']} {result['key_bits']} bits, valid until "
                        f"{result['not_after']} ({result['days_left']} days)")  # fmt: skip
            if result["problems"]:
                evidence += "; " + "; ".join(result["problems"])
            checks.append(check(f"pki.ca.{ca}.certificate", "ca_key_length", result["status"], evidence,
                                "issue the CA a new certificate with an RSA key of at most 2048 bits (AMT cannot use "
                                "longer keys) and a validity that covers the AMT certificates' lifetime"))  # fmt: skip
        except ValueError as exc:
            remedy = "publish the CA certificate on the enrollment service (certutil -dspublish)"
            checks.append(check(f"pki.ca.{ca}.certificate", "ca_key_length", False, f"{entry['dn']}: {exc}", remedy))
    for name in p["templates"]:
        entry = tpls.get(name.lower())
        if not entry:
            checks.append(check(f"pki.template.{name}.exists", "enterprise_ca", False, f"no template {name} in {pks}",
                                "run the pki playbook (role oob_pki_templates)"))  # fmt: skip
            continue
        attrs = entry["attributes"]
        facts = template_facts(name, attrs)
        on = [ca for ca in p["ca_names"] if ca.lower() in cas and name.lower() in
              [t.decode().lower() for t in cas[ca.lower()]["attributes"].get("certificatetemplates", [])]]  # fmt: skip
        missing = [ca for ca in p["ca_names"] if ca not in on]
        evidence = f"published on {', '.join(on) or 'no CA'}" + (f"; not on {', '.join(missing)}" if missing else "")
        remedy = "publish the template on the CA (role oob_pki_templates, publish_to)"
        checks.append(check(f"pki.template.{name}.published", "enterprise_ca", not missing, evidence, remedy))
        auto = not facts["enrollment_flag"] & PEND_ALL_REQUESTS and facts["ra_signature"] == 0
        checks.append(check(f"pki.template.{name}.auto_approval", "ca_auto_approval", auto,
                            f"PEND_ALL_REQUESTS {'set' if facts['enrollment_flag'] & PEND_ALL_REQUESTS else 'clear'}, "
                            f"msPKI-RA-Signature {facts['ra_signature']}",
                            "clear CA manager approval and authorized signatures on the template"))  # fmt: skip
        sd = SecurityDescriptor.from_bytes(attrs["ntsecuritydescriptor"][0])
        found = evaluate_escalations(facts, sd.dacl, sd.owner, bool(on), sorted(accepted))
        findings.extend(found)
        bad = [f for f in found if f["severity"] == "fail"]
        evidence = "; ".join(f["reason"] for f in found) or "no escalation rule applies"
        remedy = "remove Enroll and write rights of the principals named; keep Enroll to the site server"
        checks.append(check(f"pki.template.{name}.escalation", "enterprise_ca", not bad, evidence, remedy))
    return {
        "changed": False,
        "checks": checks,
        "failed_checks": [c for c in checks if c["status"] == "fail"],
        "findings": findings,
        "ldap_operations": ops,
    }


def main() -> None:
    run_ldap_module(argument_spec(), run, AnsibleModule)


if __name__ == "__main__":
    main()
