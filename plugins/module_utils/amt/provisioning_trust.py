# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Will the AMT devices accept this service point's provisioning certificate? The logic of the module
``amt_provisioning_trust``: the certificate's checks (``pki.provisioning_cert``), then one trust row per device
(``amt.trust``), from every source of the devices' trusted root hashes, each device once.

The sources, best first: the hellos the service point received (each carries the device's hashes: read from the
device), AMT_ProvisioningCertificateHash read over WS-MAN by ``amt_discovery`` (``certificate_hashes``), a list the
estate gives (a file), and for a discovered device without any of these the published default list of its AMT
version (not read from the device: said so). Pure but for reading the files it is given.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from ansible_collections.oob.prep.plugins.module_utils.amt.trust import (
    default_trusted,
    devices_from_hello_records,
    devices_from_list,
    trust_check,
    trust_summary,
)
from ansible_collections.oob.prep.plugins.module_utils.checks import check, summary
from ansible_collections.oob.prep.plugins.module_utils.pki.provisioning_cert import (
    ROW,
    Bundle,
    CertificateError,
    build_chain,
    check_provisioning_certificate,
    load_der_chain,
    load_pem,
    load_pkcs12,
    thumbprints,
)

PKCS12_SUFFIXES = (".p12", ".pfx")


def load_file(path: str, password: str | None) -> Bundle:
    """The certificate bundle in a PEM or PKCS#12 file (by content: PEM has a BEGIN line)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CertificateError(f"cannot read the provisioning certificate file {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN" in data:
        return load_pem(data)
    return load_pkcs12(data, password)


def load_store(entries: list[dict], thumbprint: str | None, where: str) -> Bundle:
    """The bundle of the certificate a Windows store reader returned (``windows.cert_store.parse_output``)."""
    if thumbprint:
        entries = [e for e in entries if str(e.get("thumbprint", "")).lower() == thumbprint.lower()]
    if not entries:
        what = f"with thumbprint {thumbprint}" if thumbprint else "with the AMT provisioning OID or OU"
        raise CertificateError(f"{where} holds no certificate {what}")
    if len(entries) > 1:
        found = ", ".join(str(e.get("thumbprint")) for e in entries)
        raise CertificateError(f"{where} holds {len(entries)} AMT provisioning certificates ({found}): give the "
                               "thumbprint of the one the service point uses")  # fmt: skip
    return load_der_chain(entries[0]["chain_der"], entries[0].get("has_private_key"))


def _root(bundle: Bundle) -> dict | None:
    chain, _problem = build_chain(bundle)
    top = chain[-1] if chain else None
    if top is None or top.subject != top.issuer:
        return None
    return {"subject": top.subject.rfc4514_string(), "thumbprints": thumbprints(top)}


def _label(device: dict) -> str:
    return str(device.get("name") or device.get("uuid") or device.get("address") or "unknown device")


def gather_devices(hello_record: str | None, hashes_file: str | None, discovered: list[dict]) -> tuple[list, list]:
    """([(device, trusted or None, source)], problems): each device once, from the best source that knows it."""
    problems, seen, out = [], set(), []

    def add(device: dict, trusted, source: str) -> None:
        # a device is its UUID (a DHCP address may have served several); one without (discovered) is its address
        uid, address = str(device.get("uuid") or "").lower(), str(device.get("address") or "")
        if (uid and uid in seen) or (not uid and address and f"address {address}" in seen):
            return
        seen.update(k for k in (uid, f"address {address}" if address else "") if k)
        out.append((device, trusted, source))

    if hello_record:
        try:
            with open(hello_record, encoding="utf-8") as fh:
                for device in devices_from_hello_records(fh).values():
                    add(device, device["hashes"], "hello")
        except FileNotFoundError:
            problems.append(f"no record of the service point's hellos at {hello_record} (no device has sent one yet, "
                            "or the path is wrong)")  # fmt: skip
        except (OSError, ValueError) as exc:
            problems.append(f"the service point's hello record {hello_record} cannot be read: {exc}")
    for device in discovered:
        if device.get("certificate_hashes"):  # read over WS-MAN: the enabled ones of the types a hello can carry
            usable = [h for h in device["certificate_hashes"]
                      if h.get("enabled", True) and h.get("type") in ("sha1", "sha256", "sha384")]  # fmt: skip
            add({**device, "name": device.get("hostname") or device.get("address")}, usable, "wsman")
    if hashes_file:
        try:
            text = Path(hashes_file).read_text(encoding="utf-8")
            items = json.loads(text) if text.lstrip().startswith("[") else _yaml(text)
            for device in devices_from_list(items).values():
                add(device, device["hashes"], "file")
        except (OSError, ValueError) as exc:
            problems.append(f"the device hash list {hashes_file} cannot be read: {exc}")
    for device in discovered:
        version = device.get("version")
        named = {**device, "amt_version": version, "name": device.get("hostname") or device.get("address")}
        try:
            add(named, default_trusted(version), "default") if version else add(
                named, None, "its AMT version is not known (give WS-MAN credentials)"
            )
        except ValueError as exc:  # a version the default list cannot place
            add(named, None, f"its AMT version {version} cannot be placed in the published default lists ({exc})")
    return out, problems


def _yaml(text: str):
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
        raise ValueError("a YAML device list needs PyYAML on the controller (or give it as JSON)") from None
    return yaml.safe_load(text)


READ_REMEDY = (
    "install the AMT provisioning certificate (ConfigMgr AMT Provisioning template) in the service point's "
    "computer store, or fix where the estate says it is (oob_provisioning_certificate)"
)
SOURCE_REMEDY = (
    "point oob_provisioning_certificate.hello_record at the service point's record of hellos, or give "
    "WS-MAN credentials"
)
NO_DEVICE = (
    "no AMT device is known yet (no hello recorded, none discovered): no device's trust could be read",
    "let the devices send their hellos to the service point, or discover them with WS-MAN credentials",
)


def _certificate_rows(params: dict, bundle: Bundle | None, read_problem: str | None, where: str, now) -> tuple:
    """(rows, facts, root) of the certificate, or one failed row saying why it cannot be read."""
    if bundle is None:
        evidence = f"the provisioning certificate cannot be read from {where}: {read_problem}"
        return [check("pki.provisioning.read", ROW, False, evidence, READ_REMEDY)], {}, None
    entries = [e for e in params.get("amt_suffixes") or [] if e.get("suffix")]
    common = {"now": now, "warn_days": params["expiry_warn_days"], "where": where}
    rows, facts = check_provisioning_certificate(bundle, amt_suffixes=[e["suffix"] for e in entries], **common)
    if entries:  # one row per AMT scope (or suffix); by scope, its id stays when the suffix drifts
        rows = [row for row in rows if not row["id"].startswith("pki.provisioning.suffix")]
        for entry in entries:
            one, _facts = check_provisioning_certificate(bundle, amt_suffixes=[entry["suffix"]], **common)
            row = next(r for r in one if r["id"].startswith("pki.provisioning.suffix"))
            if entry.get("scope"):
                row["id"] = f"pki.provisioning.suffix.{entry['scope']}"
            if entry.get("source"):
                row["evidence"] += f" (the suffix from {entry['source']})"
            rows.append(row)
    return rows, facts, _root(bundle)


def evaluate(params: dict, bundle: Bundle | None, read_problem: str | None, where: str, now=None) -> dict:
    """Every row: the certificate's (or why it cannot be read), then one per device."""
    now = now or datetime.datetime.now(datetime.UTC)
    rows, facts, root = _certificate_rows(params, bundle, read_problem, where, now)
    devices, problems = gather_devices(params.get("hello_record"), params.get("hashes_file"),
                                       params.get("devices") or [])  # fmt: skip
    trust, device_rows = [], []
    for device, trusted, source in devices:
        label = _label(device)
        if root is None:
            why = f"device {label}: its trust cannot be decided without the provisioning certificate's root"
            row = check(f"amt.trust.{label}", ROW, "skip", f"{why} (see pki.provisioning.*)", "see the failed check")
        else:
            try:
                row = trust_check(device, root, trusted, source)
            except ValueError as exc:  # hashes a source gave that cannot be compared: say so, never a traceback
                row = check(f"amt.trust.{label}", ROW, "warn", f"device {label}: {exc}", SOURCE_REMEDY)
        device_rows.append(row)
        trust.append({"device": label, "uuid": device.get("uuid"), "address": device.get("address"),
                      "source": source if trusted is not None else "unknown", "status": row["status"],
                      "evidence": row["evidence"]})  # fmt: skip
    rows += device_rows
    rows += [check("amt.trust.source", ROW, "warn", problem, SOURCE_REMEDY) for problem in problems]
    if not devices and not problems:
        rows.append(check("amt.trust.devices", ROW, "skip", *NO_DEVICE))
    return {**summary(rows), "certificate": facts, "root": root, "devices": trust,
            "trust_summary": trust_summary(device_rows)}  # fmt: skip
