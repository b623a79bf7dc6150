#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: amt_discovery
short_description: Find the Intel AMT computers of IPv4 subnets, their AMT versions and ConfigMgr support (read-only)
description:
  - Run on (or delegated to) a host that may reach the AMT subnets on the AMT ports - the out of band service point,
    in production - it connects to O(ports) of every address of O(targets) and, for each address where one answers,
    reads what the device says about itself. Addresses where nothing answers are not listed.
  - "Per device: the open ports, the HTTP C(Server:) header of 16992/16993 and the AMT version in it, the
    certificate of 16993 (subject, issuer, expiry, key), and the ConfigMgr 2007 SP1 support class: V(native) (AMT
    3.2.1 and later), V(translator) (AMT 2.0 to 3.2.0: Intel's WS-MAN Translator), V(unsupported) (older), V(ism)
    (Intel Standard Manageability, the non-vPro sibling of AMT: ConfigMgr 2007 SP1 supports AMT only, so never
    native), V(unknown) (no version, or a header that is not a known form)."
  - "Header forms known: C(Intel(R) Active Management Technology 3.2.1) (three or four parts, such as
    C(11.8.50.3425): the full string is kept, the first three parts are compared with 3.2.1), the product name with no
    version, C(AMT) alone (ME 11 and later), C(Intel(R) Con. Management Engine 5.0.1) and C(Intel(R) Standard
    Manageability 11.8.50). When C(GET /) gives no version, an unauthenticated C(POST /wsman) is sent and the
    C(Server:) header of its 401 is read (ME 11 and later name their version there); RV(devices[].version_source) is
    then V(header_401)."
  - "A device that answers on an AMT port is always listed, even when it does not identify as Intel's firmware: it
    keeps RV(devices[].amt=false), support class V(unknown) and an RV(devices[].error) saying why (the header it
    sent, the TLS failure), and its readiness row is a warning."
  - "With O(username) and O(password) (the AMT administrator; digest authentication), it also reads WS-MAN on
    O(wsman_port): the version from C(CIM_SoftwareIdentity) (InstanceID C(AMT)), which is preferred over the header,
    the host and domain name from C(AMT_GeneralSettings), the provisioning state and mode from
    C(AMT_SetupAndConfigurationService), and the power state from C(CIM_AssociatedPowerManagementService). A 401
    that answers the credentials with a new nonce is retried once with it, whether or not it says C(stale=true)
    (AMT firmware often leaves it out); a second 401 is that device's error."
  - "Connections run concurrently (asyncio, at most O(concurrency) addresses at a time, kept below the open-file
    limit); each connection waits at most O(timeout), and each device's whole probe at most O(host_timeout), so a
    device that stalls is reported with an RV(devices[].error) and never holds up the run. A malformed HTTP or TLS
    answer is that device's error, not a module failure."
  - IPv6 is refused (out of band management is IPv4 only). More addresses than O(max_targets), or a /8 or larger
    without O(allow_large), are refused before anything is sent.
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.amt
options:
  targets:
    description:
      - IPv4 addresses and subnets in CIDR form. Exactly the addresses given are scanned - an address alone (or as a
        /32) always; a subnet for its host addresses, without its network and broadcast addresses (a /31 for both of
        its addresses). Targets are merged on their addresses, so merging never adds or drops one; an address given
        twice is scanned once. RV(scanned) is the count.
    type: list
    elements: str
    required: true
  ports:
    description: The AMT ports to connect to; 16994/16995 (redirection) are optional.
    type: list
    elements: int
    default: [16992, 16993]
  timeout:
    description: Seconds to wait for each connection and each HTTP answer.
    type: float
    default: 2.0
  host_timeout:
    description: Seconds for the whole probe of one device (its HTTP, TLS and WS-MAN exchanges together).
    type: float
    default: 30.0
  concurrency:
    description: Addresses probed at once (at most 4096; kept below the process's open-file limit).
    type: int
    default: 512
  processes:
    description:
      - Processes for the connect phase. V(0) (automatic) runs one scanner process per CPU (at most 8) for 4096
        addresses or more, each taking every n-th address with plain non-blocking connects, and the event loop alone
        below that; V(1) always uses the event loop alone. The device probes always run in the module's event loop.
    type: int
    default: 0
  scan_method:
    description:
      - How open ports are found. V(connect) (and V(auto)) completes a TCP connection per address and port.
      - V(syn) sends one TCP SYN per address and port from a raw socket and reads the answers, as C(nmap -sS) does
        (the kernel resets the half-open connections); several times cheaper for large ranges, but it needs root or
        CAP_NET_RAW, runs in one process, and a lost answer looks like a closed port.
      - Either way, every device found is then probed with full connections.
    type: str
    choices: [auto, connect, syn]
    default: auto
  max_targets:
    description:
      - Refuse more addresses (the count RV(scanned) would have) than this (a typo such as /8 instead of /24 would
        otherwise scan millions).
    type: int
    default: 65536
  allow_large:
    description: Allow a /8 or larger target (with O(max_targets) raised to match).
    type: bool
    default: false
  username:
    description: The AMT user for WS-MAN (digest authentication), usually C(admin). With O(password).
    type: str
  password:
    description: The AMT user's password. With O(username).
    type: str
  wsman_port:
    description: The port for WS-MAN; V(16993) uses TLS (validated as O(validate_certs) and O(ca_file) say).
    type: int
    choices: [16992, 16993]
    default: 16992
  validate_certs:
    description:
      - Validate the certificate chain of WS-MAN over TLS (O(wsman_port=16993)) before sending credentials. The host
        name is not checked (devices are reached by address). The certificate facts of 16993 are read without
        validation either way.
    type: bool
    default: true
  ca_file:
    description: The PEM file of the CA that issued the AMT certificates, for O(validate_certs) (else the system store).
    type: path
  legacy_tls:
    description:
      - Allow the TLS of old AMT firmware on 16993 (TLS 1.0, SHA-1 signatures, 1024-bit keys) by lowering the client
        side to TLS 1.0 and OpenSSL security level 0 (C(@SECLEVEL=0)) for this run's AMT connections only (the
        certificate read and WS-MAN over TLS); nothing else in the process changes.
      - With the default V(false), Python's and OpenSSL's defaults hold (TLS 1.2 and later on current systems), and
        such a device gets an RV(devices[].error) naming the cause (for example C(TLSV1_ALERT_PROTOCOL_VERSION)) and
        this option.
    type: bool
    default: false
  certificate_hashes:
    description:
      - Also read the device's trusted root certificate hashes over WS-MAN (C(AMT_ProvisioningCertificateHash),
        Enumerate and Pull, with O(username) and O(password)) into RV(devices[].certificate_hashes) - the roots a
        provisioning certificate must chain to for remote configuration.
      - Needs O(username) and O(password). A device whose hashes cannot be read keeps
        RV(devices[].certificate_hashes=null) and says why in RV(devices[].error).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Read-only; it scans in check mode too.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
notes:
  - The translator class's lower bound (AMT 2.0) is this project's reading; the seed names no versions for Intel's
    translator.
  - The oob_amt inventory plugin runs the same discovery and makes hosts and groups of it.
"""

EXAMPLES = r"""
- name: Find the AMT computers of the AMT subnets and their versions
  amt_discovery:
    targets: [203.0.113.0/24]
  register: oob_amt

- name: Every AMT computer must be natively supported by ConfigMgr 2007 SP1
  ansible.builtin.assert:
    that: oob_amt.summary.support_class.keys() | difference(['native']) | length == 0
    fail_msg: "{{ oob_amt.devices | rejectattr('support_class', 'eq', 'native') | map(attribute='address') }}"

- name: With the AMT administrator, read versions, provisioning and power state over WS-MAN with TLS
  amt_discovery:
    targets: [203.0.113.0/24, 203.0.113.200]
    username: admin
    password: "{{ vault_amt_admin_password }}"
    wsman_port: 16993
    ca_file: "{{ inventory_dir }}/files/amt-ca.pem"

- name: Also read each device's trusted root certificate hashes (AMT_ProvisioningCertificateHash)
  amt_discovery:
    targets: [203.0.113.0/24]
    username: admin
    password: "{{ vault_amt_admin_password }}"
    certificate_hashes: true

- name: Read old AMT firmware (TLS 1.0, SHA-1, 1024-bit keys) on 16993 too
  amt_discovery:
    targets: [203.0.113.0/24]
    legacy_tls: true
"""

RETURN = r"""
devices:
  description: One entry per address where an AMT port answered, in address order.
  returned: success
  type: list
  elements: dict
  contains:
    address:
      description: The IPv4 address.
      type: str
    ports:
      description: The open ports among O(ports).
      type: list
      elements: int
      sample: [16992, 16993]
    amt:
      description: Whether the device identified as Intel's management firmware - AMT, or Intel Standard
        Manageability (V(ism) in RV(devices[].support_class)) - by its Server header or WS-MAN.
      type: bool
    server:
      description: The Server header as sent.
      type: str
      sample: Intel(R) Active Management Technology 3.2.1
    version:
      description: The AMT version (WS-MAN when it answered, else the header), or null.
      type: str
      sample: 3.2.1
    version_source:
      description: V(wsman), V(header) (the Server header of C(GET /)), V(header_401) (the Server header of the 401
        of an unauthenticated C(POST /wsman)) or null.
      type: str
    header_version:
      description: The version in the Server header (as sent, three or four parts), or null.
      type: str
    header_form:
      description: The form of the Server header - V(amt) (with a version), V(amt_unversioned), V(me11) (C(AMT)
        alone), V(me5), V(ism) - or null when none is known.
      type: str
    server_401:
      description: The Server header of the 401 of an unauthenticated C(POST /wsman), read when C(GET /) gave no
        version; null otherwise.
      type: str
      sample: Intel(R) Active Management Technology 11.8.50.3425
    support_class:
      description: native, translator, unsupported, ism or unknown (see the description).
      type: str
    hostname:
      description: AMT_GeneralSettings HostName (WS-MAN), or null.
      type: str
    domain:
      description: AMT_GeneralSettings DomainName (WS-MAN), or null.
      type: str
    fqdn:
      description: hostname.domain when WS-MAN gave them, or null.
      type: str
    digest_realm:
      description: AMT_GeneralSettings DigestRealm, or null.
      type: str
    provisioning_state:
      description: pre, in or post (AMT_SetupAndConfigurationService ProvisioningState), or null.
      type: str
    provisioning_mode:
      description: enterprise, small_business, remote_connectivity or client_control, or null.
      type: str
    power_state:
      description: CIM PowerState as a name (on, standby, hibernate, off_soft, ...), or null.
      type: str
    tls:
      description: The 16993 certificate, or null.
      type: dict
      contains:
        subject: {description: RFC 4514 subject., type: str}
        issuer: {description: RFC 4514 issuer., type: str}
        not_before: {description: Start of validity (UTC)., type: str}
        not_after: {description: End of validity (UTC)., type: str}
        key_type: {description: "RSA, EC (curve), DSA, Ed25519 or Ed448.", type: str}
        key_size: {description: Key size in bits., type: int}
        self_signed: {description: Subject equals issuer., type: bool}
        serial: {description: Serial number in hex., type: str}
    certificate_hashes:
      description:
        - The trusted root certificate hashes of AMT_ProvisioningCertificateHash, in the device's order; null when
          they were not read (no WS-MAN port open, or an error, which RV(devices[].error) names).
      returned: when O(certificate_hashes=true)
      type: list
      elements: dict
      contains:
        name: {description: "The CA's friendly name (ElementName, else Description).", type: str}
        type:
          description: "V(sha1), V(sha256) or V(sha384) (HashType 1, 2, 3; V(md5) and V(sha512) for AMT 2.0-5.x
            entries, C(unknown_<n>) for another HashType)."
          type: str
        hex: {description: The hash (of the CA certificate's DER) in lower-case hex., type: str}
        default: {description: IsDefault - a factory default hash., type: bool}
        enabled: {description: Enabled - the hash is in use for provisioning., type: bool}
      sample: [{name: DigiCert Global Root CA, type: sha256, default: true, enabled: true,
                hex: 4348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161}]
    error:
      description: What went wrong with this device (an unknown Server header, malformed answer, TLS failure - old
        TLS names O(legacy_tls) -, refused credentials, deadline), or null.
      type: str
checks:
  description: >-
    Readiness rows (id, row, status, evidence, remedy), one per device listed - pass for native firmware, warn for
    the translator's range, fail for older firmware, fail for Intel Standard Manageability (not AMT), warn for a
    device that answered on an AMT port without identifying as AMT (the reason in the evidence), skip for an AMT
    device of unknown version.
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
summary:
  description: Counts of devices by support class, version and provisioning state, and devices with an error.
  returned: success
  type: dict
  sample: {devices: 3, support_class: {native: 2, unknown: 1}, version: {3.2.1: 2, unknown: 1},
           provisioning_state: {unknown: 3}, errors: 0}
scanned:
  description: How many addresses were scanned (exactly the addresses O(targets) stands for); what O(max_targets) is
    checked against.
  returned: success
  type: int
elapsed_s:
  description: Seconds the scan took.
  returned: success
  type: float
concurrency:
  description: The concurrency used (bounded by the targets and the open-file limit), shared by the scanner processes.
  returned: success
  type: int
processes:
  description: The scanner processes used for the connect phase (1 is the event loop alone).
  returned: success
  type: int
scan_method:
  description: connect or syn.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.amt.scan import discover
from ansible_collections.oob.prep.plugins.module_utils.amt.wire import device_checks
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit, summary


def argument_spec() -> dict:
    return dict(
        targets=dict(type="list", elements="str", required=True),
        ports=dict(type="list", elements="int", default=[16992, 16993]),
        timeout=dict(type="float", default=2.0),
        host_timeout=dict(type="float", default=30.0),
        concurrency=dict(type="int", default=512),
        processes=dict(type="int", default=0),
        scan_method=dict(type="str", choices=["auto", "connect", "syn"], default="auto"),
        max_targets=dict(type="int", default=65536),
        allow_large=dict(type="bool", default=False),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        wsman_port=dict(type="int", choices=[16992, 16993], default=16992),
        validate_certs=dict(type="bool", default=True),
        ca_file=dict(type="path"),
        legacy_tls=dict(type="bool", default=False),
        certificate_hashes=dict(type="bool", default=False),
    )


class ScanError(Exception):
    kind = "scan"


def run(module: AnsibleModule) -> dict:
    try:
        result = discover(dict(module.params))
    except OSError as exc:  # pragma: no cover - per-device errors are results; this is the event loop itself
        raise ScanError(f"the scan could not run: {exc}") from None
    return {"changed": False, **result, **summary(device_checks(result["devices"]))}


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_together=[("username", "password")],
                           required_if=[("certificate_hashes", True, ("username", "password"))])  # fmt: skip
    run_and_exit(module, run, (ScanError,))


if __name__ == "__main__":
    main()
