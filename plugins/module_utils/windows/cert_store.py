# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AMT provisioning certificate in a Windows service point's ``Cert:\\LocalMachine\\My`` store, read over WinRM.

ConfigMgr 2007 SP1's out of band service point authenticates to AMT firmware in remote configuration with a
provisioning certificate in the computer's personal store: one whose enhanced key usage holds the Intel AMT setup
OID 2.16.840.1.113741.1.2.3, or whose subject holds ``OU=Intel(R) Client Setup Certificate``, with its private key,
not expired, and chaining to a root whose hash the AMT firmware trusts (amt.scan ``certificate_hashes``).

- :func:`read_script` is the PowerShell that reads the store: the certificate with a given thumbprint, or else every
  certificate that matches the OID or the OU; for each its thumbprint, HasPrivateKey, NotAfter (UTC) and the chain
  .NET builds for it (``X509Chain``, RevocationMode NoCheck: the service point may not reach the CRLs, and
  revocation is not what is asked) as base64 DER of each element, leaf first, with the chain status names
  (``X509ChainStatusFlags``: ``UntrustedRoot``, ``PartialChain``, ``NotTimeValid``, ...; ``BuildFailed: <message>``
  when ``Build`` threw). No module, no cmdlet beyond ``Get-ChildItem``; PowerShell 2.0 on Windows Server 2008 and
  later. It prints one JSON document.
- :func:`parse_output` turns what it printed into ``[{thumbprint, has_private_key, not_after, chain_der,
  chain_status}]`` (ValueError on anything else, saying what).
- :func:`read_store` runs it with a runner ``run(script) -> (rc, stdout, stderr)``: ``winrm_runner`` of
  dhcp.windows (re-exported here) builds one over WinRM/HTTPS. As WindowsDhcp does, a non-zero exit code is an
  error with the script's stderr; so is anything on stderr (the script writes nothing there unless it failed).

The JSON is written by hand in the script. ConvertTo-Json needs PowerShell 3.0; JavaScriptSerializer lives in
System.Web.Extensions (.NET 3.5), which a Windows Server 2008 with its stock .NET 2.0/3.0 and PowerShell 2.0, or a
Server Core without the .NET 3.5 feature, does not have - and a fallback path would be a second format to trust.
Every value here is a string, a boolean or an array of strings, so the string escaper dhcp.windows already uses for
PowerShell 2.0 (\\, " and every character outside 0x20-0x7E escaped) is the whole emitter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re

from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import OobDhcpError
from ansible_collections.oob.prep.plugins.module_utils.dhcp.windows import _PS_JSON, winrm_runner

__all__ = ["AMT_SETUP_OID", "AMT_SETUP_OU", "CertStoreError", "parse_output", "read_script", "read_store",
           "winrm_runner"]  # fmt: skip

AMT_SETUP_OID = "2.16.840.1.113741.1.2.3"  # Intel AMT setup and configuration (remote configuration) EKU
AMT_SETUP_OU = "OU=Intel(R) Client Setup Certificate"
_THUMBPRINT = re.compile(r"^[0-9A-F]{40}$")
_NOT_AFTER = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# what people paste from the certificate MMC: spaces, colons, and often an invisible left-to-right mark in front
_THUMBPRINT_NOISE = re.compile("[\\s:\u200e\u200f\ufeff]")


class CertStoreError(Exception):
    """A failure reading the store; ``kind`` says which (read, protocol, or the runner's: connect, tls, auth, ...)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def normalize_thumbprint(value) -> str:
    """A SHA-1 thumbprint as 40 upper-case hex digits (spaces, colons and direction marks dropped); ValueError if
    it is not one."""
    text = _THUMBPRINT_NOISE.sub("", str(value if value is not None else "")).upper()
    if not _THUMBPRINT.match(text):
        raise ValueError(f"thumbprint {value!r} is not a SHA-1 certificate thumbprint (40 hex digits)")
    return text


_READ_SCRIPT = r"""$ErrorActionPreference = 'Stop'
__JSON__
function JA($items) { '[' + ((@($items) | ForEach-Object { J $_ }) -join ',') + ']' }
$want = '__THUMBPRINT__'
$oid = '__OID__'
$ou = '__OU__'
$inv = [System.Globalization.CultureInfo]::InvariantCulture
$out = @()
try {
  foreach ($cert in @(Get-ChildItem -Path 'Cert:\LocalMachine\My')) {
    if ($want) {
      if ($cert.Thumbprint -ne $want) { continue }
    } else {
      $match = $cert.Subject.IndexOf($ou, [System.StringComparison]::OrdinalIgnoreCase) -ge 0
      foreach ($e in $cert.Extensions) {
        if ($e -is [System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]) {
          foreach ($u in $e.EnhancedKeyUsages) { if ($u.Value -eq $oid) { $match = $true } }
        }
      }
      if (-not $match) { continue }
    }
    $ders = @()
    $status = @()
    $chain = New-Object System.Security.Cryptography.X509Certificates.X509Chain
    $chain.ChainPolicy.RevocationMode = [System.Security.Cryptography.X509Certificates.X509RevocationMode]::NoCheck
    try {
      [void]$chain.Build($cert)
      foreach ($el in $chain.ChainElements) { $ders += [System.Convert]::ToBase64String($el.Certificate.RawData) }
      foreach ($s in $chain.ChainStatus) { $status += [string]$s.Status }
    } catch {
      $ders = @([System.Convert]::ToBase64String($cert.RawData))
      $status = @('BuildFailed: ' + $_.Exception.Message)
    }
    $key = 'false'
    if ($cert.HasPrivateKey) { $key = 'true' }
    $end = $cert.NotAfter.ToUniversalTime().ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'", $inv)
    $out += '{"thumbprint":' + (J $cert.Thumbprint) + ',"has_private_key":' + $key + ',"not_after":' + (J $end) +
      ',"chain_der":' + (JA $ders) + ',"chain_status":' + (JA $status) + '}'
  }
} catch {
  [Console]::Error.WriteLine('reading Cert:\LocalMachine\My failed: ' + $_.Exception.Message)
  exit 1
}
'{"store":"LocalMachine\\My","certificates":[' + ($out -join ',') + ']}'
"""


def read_script(thumbprint: str | None) -> str:
    """The PowerShell that reads ``Cert:\\LocalMachine\\My``: the certificate with ``thumbprint`` (any case, spaces
    and colons allowed), or with None every certificate whose EKU holds the AMT setup OID or whose subject holds
    ``OU=Intel(R) Client Setup Certificate``. ValueError for a thumbprint that is not 40 hex digits (nothing else
    reaches the script)."""
    want = normalize_thumbprint(thumbprint) if thumbprint not in (None, "") else ""
    return (_READ_SCRIPT.replace("__JSON__", _PS_JSON).replace("__THUMBPRINT__", want)
            .replace("__OID__", AMT_SETUP_OID).replace("__OU__", AMT_SETUP_OU))  # fmt: skip


def _document(stdout) -> dict:
    text = str(stdout or "").strip().lstrip("\ufeff")
    if not text:
        raise ValueError("the certificate store script printed nothing")
    candidates = [text] + [line.strip() for line in reversed(text.splitlines()) if line.strip().startswith("{")]
    error = None
    for candidate in candidates:
        try:
            document = json.loads(candidate)
        except ValueError as exc:
            error = error or exc
            continue
        if isinstance(document, dict):
            return document
    raise ValueError(f"the certificate store script printed no JSON document ({error}): {text[:300]!r}")


def _strings(value, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} is not a list of strings: {value!r}"[:300])
    return value


def parse_output(stdout: str) -> list[dict]:
    """What :func:`read_script` printed, as ``[{thumbprint, has_private_key, not_after, chain_der, chain_status}]``:
    ``thumbprint`` 40 upper-case hex digits (checked: the SHA-1 of ``chain_der[0]``), ``has_private_key`` a bool,
    ``not_after`` ISO 8601 UTC (``2031-01-02T03:04:05Z``), ``chain_der`` the DER bytes of each chain element, leaf
    first, ``chain_status`` the chain status names (empty for a chain that .NET trusts). Empty when nothing matched.
    ValueError, saying which field of which certificate, for anything else."""
    document = _document(stdout)
    certificates = document.get("certificates")
    if not isinstance(certificates, list):
        raise ValueError(f"the certificate store script's document has no list of certificates: {document!r}"[:300])
    out = []
    for i, item in enumerate(certificates):
        if not isinstance(item, dict):
            raise ValueError(f"certificate {i} is not an object: {item!r}"[:300])
        thumbprint = str(item.get("thumbprint") or "").upper()
        if not _THUMBPRINT.match(thumbprint):
            raise ValueError(f"certificate {i}: thumbprint {item.get('thumbprint')!r} is not 40 hex digits")
        where = f"certificate {thumbprint}"
        if not isinstance(item.get("has_private_key"), bool):
            raise ValueError(f"{where}: has_private_key {item.get('has_private_key')!r} is not true or false")
        not_after = item.get("not_after")
        if not isinstance(not_after, str) or not _NOT_AFTER.match(not_after):
            raise ValueError(f"{where}: not_after {not_after!r} is not a UTC time such as 2031-01-02T03:04:05Z")
        chain = _strings(item.get("chain_der"), f"{where}: chain_der")
        if not chain:
            raise ValueError(f"{where}: the chain is empty (it holds at least the certificate itself)")
        ders = []
        for n, text in enumerate(chain):
            try:
                der = base64.b64decode(text, validate=True)
            except (ValueError, binascii.Error):
                raise ValueError(f"{where}: chain element {n} is not base64") from None
            if not der.startswith(b"\x30"):
                raise ValueError(f"{where}: chain element {n} is not a DER certificate (no SEQUENCE)")
            ders.append(der)
        if hashlib.sha1(ders[0]).hexdigest().upper() != thumbprint:  # noqa: S324 - a thumbprint is SHA-1
            raise ValueError(f"{where}: the first chain element is not this certificate (its SHA-1 differs)")
        status = _strings(item.get("chain_status"), f"{where}: chain_status")
        out.append({"thumbprint": thumbprint, "has_private_key": item["has_private_key"], "not_after": not_after,
                    "chain_der": ders, "chain_status": status})  # fmt: skip
    return out


def read_store(run, thumbprint: str | None = None, *, server: str = "the service point") -> list[dict]:
    """Run :func:`read_script` with ``run(script) -> (rc, stdout, stderr)`` (``winrm_runner(host, ...)``) and parse
    what it printed (:func:`parse_output`). ``server`` names the host in messages. CertStoreError: ``read`` for a
    non-zero exit code or anything on stderr (with the script's message), ``protocol`` for output that does not
    parse, and the runner's own kind (connect, tls, auth, timeout, ...) when it raised OobDhcpError."""
    script = read_script(thumbprint)
    try:
        rc, stdout, stderr = run(script)
    except OobDhcpError as exc:
        raise CertStoreError(exc.kind, str(exc)) from None
    if rc != 0:
        raise CertStoreError("read", f"the certificate store script failed on {server} (exit code {rc}): "
                                     f"{(stderr or stdout or '').strip()[:500]}")  # fmt: skip
    if str(stderr or "").strip():
        raise CertStoreError("read", f"the certificate store script on {server} wrote to stderr: "
                                     f"{str(stderr).strip()[:500]}")  # fmt: skip
    try:
        return parse_output(stdout)
    except ValueError as exc:
        raise CertStoreError("protocol", f"{server}: {exc}") from None
