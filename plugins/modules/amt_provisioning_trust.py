#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: amt_provisioning_trust
short_description: Check the AMT provisioning certificate and whether each AMT device trusts its root
description:
  - Read-only. Reads the out of band service point's AMT provisioning certificate and checks what the AMT firmware
    checks before it lets itself be provisioned (Intel; ConfigMgr 2007 SP1 "AMT Provisioning Process").
  - The certificate, from a PEM or PKCS#12 file (O(certificate.file)) or from what the service point's
    C(LocalMachine\My) store returned (O(certificate.store_output), the output of the script of the filter
    C(oob.prep.oob_cert_store_script) run there over WinRM). Checks (row C(oob_certificates)) - C(pki.provisioning.eku)
    Server Authentication and 2.16.840.1.113741.1.2.3, or the OU C(Intel(R) Client Setup Certificate);
    C(.validity) valid now, a warning O(expiry_warn_days) ahead of expiry; C(.chain) complete up to a root, every
    signature verified; C(.ca_key_length) (row C(ca_key_length)) no CA key longer than 2048 bits;
    C(.suffix.<suffix>) its domain against each AMT suffix (option 015 of each AMT scope); C(.private_key) present.
  - The devices' trust, one row C(amt.trust.<device>) per device - the root's SHA-1, SHA-256 and SHA-384
    thumbprints against the hashes the device trusts, from the hellos the service point received (O(hello_record)),
    from WS-MAN C(AMT_ProvisioningCertificateHash) (O(devices) with C(certificate_hashes), as C(amt_discovery)
    returns them), from a list (O(hashes_file)), or, for a discovered device with none of these, from the published
    default list of its AMT version (the evidence says so - not read from the device).
  - Never changes anything; check mode reads the same.
version_added: "1.1.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.amt
options:
  certificate:
    description:
      - Where the service point's AMT provisioning certificate is read. Exactly one of C(file) and C(store_output).
    type: dict
    required: true
    suboptions:
      file:
        description:
          - A PEM file (the certificate, its chain, and its private key when the service point's copy has one) or a
            PKCS#12 file (C(.pfx), C(.p12)), on the host the module runs on.
        type: path
      password:
        description: The PKCS#12 file's password.
        type: str
      store_output:
        description:
          - What the store reader printed on the Windows service point (JSON; the script is the filter
            C(oob.prep.oob_cert_store_script)).
        type: str
      store_error:
        description:
          - Why the store could not be read (the reader's error, an unreachable host); the certificate's row fails
            with it.
        type: str
      thumbprint:
        description: With O(certificate.store_output), the certificate to check when the store holds more than one.
        type: str
      where:
        description: How the evidence names the certificate's source (default the file's path, or C(the store)).
        type: str
  amt_suffixes:
    description: The DNS suffixes AMT devices get (option 015 of each AMT scope, or MEBx's); one suffix check each.
    type: list
    elements: dict
    default: []
    suboptions:
      suffix:
        description: The DNS suffix.
        type: str
        required: true
      source:
        description: Where it was read (for the evidence), for example C(option 015 of 203.0.113.0/24 on Kea).
        type: str
      scope:
        description:
          - The AMT scope it belongs to (its network); the check's id is then C(pki.provisioning.suffix.<scope>), which
            stays the same when the suffix drifts (else C(pki.provisioning.suffix.<suffix>)).
        type: str
  expiry_warn_days:
    description: Warn this many days ahead of the certificate's expiry.
    type: int
    default: 30
  hello_record:
    description:
      - The hellos the service point received, as JSON Lines, one connection per line with its parsed C(hello)
        (C(uuid), C(hashes) of C({type, name, hex})) and C(peer) - the format of the lab's service point stand-in,
        documented in the README.
    type: path
  hashes_file:
    description:
      - A list of devices and their trusted hashes (YAML or JSON), each with C(name), C(uuid), C(address) and
        C(hashes) (C(type), C(hex)), type C(sha1), C(sha256) or C(sha384).
    type: path
  devices:
    description:
      - Discovered devices (C(amt_discovery)'s C(devices)) - their C(version), and their C(certificate_hashes) when it
        read them over WS-MAN.
    type: list
    elements: dict
    default: []
attributes:
  check_mode:
    support: full
    description: It only reads.
  diff_mode:
    support: none
    description: Nothing changes.
requirements:
  - cryptography on the host the module runs on
"""

EXAMPLES = r"""
- name: Check the provisioning certificate and every device's trust in its root
  oob.prep.amt_provisioning_trust:
    certificate:
      file: /etc/oob/oobsp-provisioning.pfx
      password: "{{ vault_oob_provisioning_certificate_password }}"
    amt_suffixes:
      - {suffix: amt.corp.example.com, source: option 015 of 10.20.0.0/16}
    hello_record: /srv/oob/hellos.jsonl
    devices: "{{ discovered.devices }}"
  register: trust
"""

RETURN = r"""
checks:
  description: Every check (id, row, status, evidence, remedy).
  returned: success
  type: list
  elements: dict
failed_checks:
  description: The checks that failed.
  returned: success
  type: list
  elements: dict
warned_checks:
  description: The checks that warned.
  returned: success
  type: list
  elements: dict
certificate:
  description: What was read of the certificate (subject, issuer, fqdn, validity, EKUs, thumbprints, chain).
  returned: success
  type: dict
root:
  description: The chain's root (subject, thumbprints), or null when the chain does not reach one.
  returned: success
  type: dict
devices:
  description:
    - Per device - device, uuid, address, source of its hashes (hello, wsman, file, default, unknown), status,
      evidence.
  returned: success
  type: list
  elements: dict
trust_summary:
  description: The devices' verdicts counted by status.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.amt.provisioning_trust import evaluate, load_file, load_store
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit

try:
    from ansible_collections.oob.prep.plugins.module_utils.windows.cert_store import parse_output
except ImportError:  # pragma: no cover
    parse_output = None


def argument_spec() -> dict:
    return dict(
        certificate=dict(type="dict", required=True, options=dict(
            file=dict(type="path"),
            password=dict(type="str", no_log=True),
            store_output=dict(type="str"),
            store_error=dict(type="str"),
            thumbprint=dict(type="str"),
            where=dict(type="str"),
        ), mutually_exclusive=[["file", "store_output"]], required_one_of=[["file", "store_output"]]),
        amt_suffixes=dict(type="list", elements="dict", default=[], options=dict(
            suffix=dict(type="str", required=True),
            source=dict(type="str"),
            scope=dict(type="str"),
        )),
        expiry_warn_days=dict(type="int", default=30),
        hello_record=dict(type="path"),
        hashes_file=dict(type="path"),
        devices=dict(type="list", elements="dict", default=[]),
    )  # fmt: skip


def run(module) -> dict:
    p = module.params
    cert = p["certificate"]
    if p["expiry_warn_days"] < 0:
        raise ValueError("expiry_warn_days must be 0 or more")
    where = cert["where"] or (f"the file {cert['file']}" if cert["file"] else "the service point's store")
    bundle, problem = None, None
    try:
        if cert["file"]:
            bundle = load_file(cert["file"], cert["password"])
        elif cert["store_error"]:
            problem = cert["store_error"]
        else:
            bundle = load_store(parse_output(cert["store_output"]), cert["thumbprint"], where)
    except ValueError as exc:  # CertificateError, or store output that is not the reader's: a failed row, not a crash
        problem = str(exc)
    return {"changed": False, **evaluate(p, bundle, problem, where)}


def main() -> None:
    run_and_exit(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == "__main__":
    main()
