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
from ansible_collections.oob.prep.plugins.module_utils.ldap.connection import (
    check_settings,
    connect,
    forest_argument_spec,
    merge_connection,
    run_ldap_module,
)
from ansible_collections.oob.prep.plugins.module_utils.ldap.names import base_dn_from_dns
from ansible_collections.oob.prep.plugins.module_utils.pki.checks import HAS_CRYPTOGRAPHY
from ansible_collections.oob.prep.plugins.module_utils.pki.reader import PKS, read_state
from ansible_collections.oob.prep.plugins.module_utils.pki.rows import evaluate


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
