# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ad_pki_info's check rows, from what ``pki.reader.read_state`` read. Pure: no I/O, no Ansible.

``evaluate(params, pks, state, now)`` turns the enrollment services and certificate templates under
CN=Public Key Services (``state["entries"]``, as the LDAP session returns them: lowercase attribute names, lists of
bytes values) and the principals resolved (``state["sids"]``, ``state["missing"]``, ``state["tokens"]``) into the
module's result: one row per CA (enrollment service, CA certificate), per principal (resolved), per managed template
(exists, published, auto approval, escalation, enroll per principal), per other template published on a CA of
``ca_names`` (escalation, a warning) and per other template carrying the Intel AMT provisioning EKU (a warning).
The escalation rules, the enroll decision and the CA certificate check are ``pki.checks``'; this file reads the
template's attributes for them (``template_facts``) and words the rows.

``enrollers_for`` and ``all_enrollers`` say who must be able to enroll (``template_enrollers``, else
``required_enrollers``); the reader uses ``all_enrollers`` to know whose groups to read.
"""

from __future__ import annotations

import datetime

from ansible_collections.oob.prep.plugins.module_utils.checks import check, summary
from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import SecurityDescriptor
from ansible_collections.oob.prep.plugins.module_utils.pki.checks import (
    PEND_ALL_REQUESTS,
    check_ca_certificate,
    enroll_decision,
    evaluate_escalations,
)

EKU_AMT_PROVISIONING = "2.16.840.1.113741.1.2.3"  # Intel AMT provisioning (Intel AMT SDK)
ENROLLMENT_REMEDY = "grant {who} Enroll on {template} and remove the deny ACEs for it and its groups"


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


def enrollers_for(params: dict, template: str) -> list[str]:
    """Who must be able to enroll on ``template``: its entry of template_enrollers, else required_enrollers."""
    per = {str(k).lower(): v for k, v in (params.get("template_enrollers") or {}).items()}
    value = per.get(template.lower(), params["required_enrollers"])
    return [value] if isinstance(value, str) else list(value)


def all_enrollers(params: dict) -> list[str]:
    names = list(params["required_enrollers"])
    for template in params["templates"]:
        names += enrollers_for(params, template)
    return list(dict.fromkeys(names))


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


# ConfigMgr 2007 SP1 ("Certificate Requirements for Out of Band Management", and the provisioning process): do not use
# version 3 certificate templates (Windows Server 2008 CNG templates): their certificates are not compatible with out
# of band management. msPKI-Template-Schema-Version [MS-CRTD 2.22]: 1 (Windows 2000), 2 (Server 2003), 3 (Server
# 2008, CNG), 4 (Server 2012); absent means 1.
MAX_AMT_SCHEMA_VERSION = 2


def _schema_check(name: str, attrs: dict) -> dict:
    schema = _int(attrs, "msPKI-Template-Schema-Version") or 1
    evidence = f"template {name}: msPKI-Template-Schema-Version {schema}"
    if schema > MAX_AMT_SCHEMA_VERSION:
        evidence += (f": ConfigMgr 2007 SP1 does not support version {schema} certificate templates for out of band "
                     "management (the certificates they issue are not compatible with it)")  # fmt: skip
    return check(f"pki.template.{name}.schema_version", ROW_CERTIFICATES, schema <= MAX_AMT_SCHEMA_VERSION, evidence,
                 f"replace template {name} with a version 2 template (Windows Server 2003 Enterprise) duplicated from "
                 "Web Server: delete or rename it and run the pki playbook (role oob_pki_templates creates version "
                 "2 templates)")  # fmt: skip


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
            ("schema_version", ROW_CERTIFICATES),
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
    rows = [check(f"{prefix}.exists", "enterprise_ca", True, f"template {name} is {entry['dn']}"),
            _schema_check(name, attrs)]  # fmt: skip
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
    for name in dict.fromkeys(all_enrollers(params) + params["accepted_esc17_principals"]):
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
