"""windows.cert_store: the PowerShell that reads the AMT provisioning certificate from Cert:\\LocalMachine\\My, the
parser of what it prints, and read_store's handling of the runner.

The sample output is built from certificates the openssl CLI makes here (a root, an intermediate and an AMT
provisioning certificate with the setup OID and OU), their DER, base64, SHA-1 thumbprints and end dates all taken
from openssl, so the parser is checked against values it did not compute. No PowerShell runs here unless pwsh is
installed (then only the script's syntax is checked).
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import OobDhcpError
from ansible_collections.oob.prep.plugins.module_utils.windows import cert_store
from ansible_collections.oob.prep.plugins.module_utils.windows.cert_store import (
    AMT_SETUP_OID,
    CertStoreError,
    normalize_thumbprint,
    parse_output,
    read_script,
    read_store,
)

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl CLI makes the sample certificates")


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run([OPENSSL, *args], input=data, capture_output=True, check=True).stdout


def _make(folder: Path, name: str, subject: str, issuer: str | None, ext: str) -> Path:
    """A certificate (PEM) with an EC key, signed by ``issuer``'s key (self-signed without one), and ``ext`` as
    its X.509v3 extensions - all with the openssl CLI."""
    key, csr, pem, extfile = (folder / f"{name}.{s}" for s in ("key", "csr", "pem", "ext"))
    extfile.write_text(f"[v3]\n{ext}\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             str(key), "-out", str(csr), "-subj", subject)  # fmt: skip
    signer = ["-signkey", str(key)]
    if issuer is not None:
        signer = ["-CA", str(folder / f"{issuer}.pem"), "-CAkey", str(folder / f"{issuer}.key"), "-CAcreateserial"]
    _openssl("x509", "-req", "-in", str(csr), "-out", str(pem), "-days", "400", "-sha256", "-extfile", str(extfile),
             "-extensions", "v3", *signer)  # fmt: skip
    return pem


def _facts(pem: Path) -> dict:
    """DER, base64 (openssl base64 -A), SHA-1 thumbprint and NotAfter (ISO, UTC) of a certificate, by openssl."""
    der = _openssl("x509", "-in", str(pem), "-outform", "DER")
    b64 = _openssl("base64", "-A", data=der).decode().strip()
    fingerprint = _openssl("x509", "-in", str(pem), "-noout", "-fingerprint", "-sha1").decode()
    end = _openssl("x509", "-in", str(pem), "-noout", "-enddate").decode().strip().split("=", 1)[1]
    not_after = datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y GMT").strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"der": der, "b64": b64, "thumbprint": fingerprint.split("=", 1)[1].strip().replace(":", ""),
            "not_after": not_after}  # fmt: skip


@pytest.fixture(scope="module")
def chain(built_once) -> dict:
    if OPENSSL is None:
        pytest.skip("the openssl CLI makes the sample certificates")

    def build(folder) -> None:
        ca = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign"
        _make(folder, "root", "/CN=Lab Root CA", None, ca)
        _make(folder, "issuing", "/CN=Lab Issuing CA", "root", ca)
        _make(folder, "amt", "/C=US/O=Lab/OU=Intel(R) Client Setup Certificate/CN=oobsp.lab.example", "issuing",
              f"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
              f"extendedKeyUsage=serverAuth,{AMT_SETUP_OID}")  # fmt: skip
        _make(folder, "other", "/CN=Unrelated", None, "basicConstraints=CA:FALSE")
        facts = {name: _facts(folder / f"{name}.pem") for name in ("root", "issuing", "amt", "other")}
        (folder / "facts.json").write_text(json.dumps({n: {**f, "der": f["der"].hex()} for n, f in facts.items()}))

    facts = json.loads((built_once("certstore", build) / "facts.json").read_text())
    return {name: {**f, "der": bytes.fromhex(f["der"])} for name, f in facts.items()}


def _sample(chain: dict) -> str:
    """What the script prints for two certificates: the AMT one with its full chain, trusted, and a self-signed one
    without its key that Windows does not trust - one line of JSON, after a line of noise a profile might print."""
    amt, other = chain["amt"], chain["other"]
    document = {"store": "LocalMachine\\My", "certificates": [
        {"thumbprint": amt["thumbprint"], "has_private_key": True, "not_after": amt["not_after"],
         "chain_der": [chain[n]["b64"] for n in ("amt", "issuing", "root")], "chain_status": []},
        {"thumbprint": other["thumbprint"].lower(), "has_private_key": False, "not_after": other["not_after"],
         "chain_der": [other["b64"]], "chain_status": ["UntrustedRoot"]},
    ]}  # fmt: skip
    return "Welcome to the service point\r\n" + json.dumps(document, separators=(",", ":")) + "\r\n"


# --- parse_output ---------------------------------------------------------------------------------------------------


@needs_openssl
def test_parse_sample_output(chain):
    got = parse_output(_sample(chain))
    assert got == [
        {"thumbprint": chain["amt"]["thumbprint"], "has_private_key": True, "not_after": chain["amt"]["not_after"],
         "chain_der": [chain["amt"]["der"], chain["issuing"]["der"], chain["root"]["der"]], "chain_status": []},
        {"thumbprint": chain["other"]["thumbprint"], "has_private_key": False,
         "not_after": chain["other"]["not_after"], "chain_der": [chain["other"]["der"]],
         "chain_status": ["UntrustedRoot"]},
    ]  # fmt: skip


def test_nothing_matched_is_an_empty_list():
    assert parse_output('{"store":"LocalMachine\\\\My","certificates":[]}\r\n') == []


def _with(chain: dict, **changes) -> str:
    document = json.loads(_sample(chain).splitlines()[-1])
    document["certificates"][0].update(changes)
    return json.dumps(document)


@needs_openssl
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"thumbprint": "12AB"}, "thumbprint '12AB' is not 40 hex digits"),
        ({"has_private_key": "True"}, "has_private_key 'True' is not true or false"),
        ({"not_after": "12/31/2031 23:59:59"}, "not_after '12/31/2031 23:59:59' is not a UTC time"),
        ({"chain_der": []}, "the chain is empty"),
        ({"chain_der": ["%%%"]}, "chain element 0 is not base64"),
        ({"chain_der": [base64.b64encode(b"not der").decode()]}, "chain element 0 is not a DER certificate"),
        ({"chain_der": "MIIB"}, "chain_der is not a list of strings"),
        ({"chain_status": [1]}, "chain_status is not a list of strings"),
    ],
)
def test_malformed_certificates(chain, changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_output(_with(chain, **changes))


@needs_openssl
def test_the_first_element_must_be_the_certificate_itself(chain):
    swapped = _with(chain, chain_der=[chain["issuing"]["b64"], chain["root"]["b64"]])
    with pytest.raises(ValueError, match="the first chain element is not this certificate"):
        parse_output(swapped)


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        ("", "printed nothing"),
        ("   \r\n", "printed nothing"),
        ("Get-ChildItem : Cannot find drive. A drive with the name 'Cert' does not exist.", "printed no JSON document"),
        ('{"store":"LocalMachine\\\\My","certificates":[{"thumb', "printed no JSON document"),
        ('["not", "an object"]', "printed no JSON document"),
        ('{"store":"LocalMachine\\\\My"}', "has no list of certificates"),
        ('{"certificates":["x"]}', "certificate 0 is not an object"),
    ],
)
def test_malformed_output(stdout, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_output(stdout)


# --- read_script ----------------------------------------------------------------------------------------------------


def _balanced(script: str) -> bool:
    """Braces, parentheses and brackets balance outside PowerShell strings ('...' with '' inside; "..." with `x and
    "" inside) and # comments."""
    pairs, stack, i = {"}": "{", ")": "(", "]": "["}, [], 0
    while i < len(script):
        ch = script[i]
        if ch == "'":
            i += 1
            while i < len(script) and not (script[i] == "'" and script[i + 1 : i + 2] != "'"):
                i += 2 if script[i] == "'" else 1
        elif ch == '"':
            i += 1
            while i < len(script) and script[i] != '"':
                i += 2 if script[i] == "`" or script[i : i + 2] == '""' else 1
        elif ch == "#":
            while i < len(script) and script[i] != "\n":
                i += 1
        elif ch in "{([":
            stack.append(ch)
        elif ch in "})]":
            if not stack or stack.pop() != pairs[ch]:
                return False
        i += 1
    return not stack


def test_script_finds_amt_certificates_by_oid_or_ou():
    script = read_script(None)
    assert "'2.16.840.1.113741.1.2.3'" in script
    assert "'OU=Intel(R) Client Setup Certificate'" in script
    assert "$want = ''" in script
    assert "'Cert:\\LocalMachine\\My'" in script
    assert "X509EnhancedKeyUsageExtension" in script and "HasPrivateKey" in script and "NotAfter" in script
    assert "X509Chain" in script and "X509RevocationMode]::NoCheck" in script and "ChainElements" in script
    assert "ConvertTo-Json" not in script and "JavaScriptSerializer" not in script  # PowerShell 2.0
    assert "Import-Module" not in script
    assert _balanced(script)
    assert script.count("'") % 2 == 0


def test_balance_check_catches_imbalance():
    assert not _balanced("if ($a) { 'x' ")
    assert _balanced("'{' + \"}\" # {")


@pytest.mark.parametrize(
    "given",
    [
        "a909502dd82ae41433e6f83886b00d4277a32a7b",
        "A9 09 50 2D D8 2A E4 14 33 E6 F8 38 86 B0 0D 42 77 A3 2A 7B",
        "\u200ea9:09:50:2d:d8:2a:e4:14:33:e6:f8:38:86:b0:0d:42:77:a3:2a:7b",
    ],
)
def test_script_with_a_thumbprint(given):
    script = read_script(given)
    assert "$want = 'A909502DD82AE41433E6F83886B00D4277A32A7B'" in script
    assert _balanced(script)


@pytest.mark.parametrize("bad", ["abc", "'; Remove-Item C:\\ -Recurse; '", "g" * 40, "a" * 41])
def test_anything_else_never_reaches_the_script(bad):
    with pytest.raises(ValueError, match="is not a SHA-1 certificate thumbprint"):
        read_script(bad)
    with pytest.raises(ValueError):
        normalize_thumbprint(bad)


@pytest.mark.skipif(shutil.which("pwsh") is None, reason="pwsh is not installed")
def test_script_parses_in_pwsh(tmp_path):  # pragma: no cover - only where pwsh is
    path = tmp_path / "read.ps1"
    path.write_text(read_script(None))
    check = ("$e = $null; [void][System.Management.Automation.Language.Parser]::ParseFile("
             f"'{path}', [ref]$null, [ref]$e); $e.Count")  # fmt: skip
    out = subprocess.run(["pwsh", "-NoProfile", "-Command", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0", out.stdout


# --- read_store -----------------------------------------------------------------------------------------------------


class Runner:
    def __init__(self, *answer, error: Exception | None = None):
        self.answer, self.error, self.scripts = answer, error, []

    def __call__(self, script: str):
        self.scripts.append(script)
        if self.error:
            raise self.error
        return self.answer


@needs_openssl
def test_read_store_runs_the_script_and_parses(chain):
    run = Runner(0, _sample(chain), "")
    got = read_store(run, chain["amt"]["thumbprint"].lower())
    assert [c["thumbprint"] for c in got] == [chain["amt"]["thumbprint"], chain["other"]["thumbprint"]]
    assert f"$want = '{chain['amt']['thumbprint']}'" in run.scripts[0]


@pytest.mark.parametrize(
    ("answer", "kind", "message"),
    [
        ((1, "", "reading Cert:\\LocalMachine\\My failed: Access is denied."), "read",
         "failed on oobsp.lab.example (exit code 1): reading Cert:\\LocalMachine\\My failed: Access is denied."),
        ((0, '{"certificates":[]}', "WARNING: something"), "read",
         "on oobsp.lab.example wrote to stderr: WARNING: something"),
        ((0, "garbage", ""), "protocol", "oobsp.lab.example: the certificate store script printed no JSON document"),
    ],
)  # fmt: skip
def test_read_store_errors(answer, kind, message):
    with pytest.raises(CertStoreError, match=re.escape(message)) as err:
        read_store(Runner(*answer), server="oobsp.lab.example")
    assert err.value.kind == kind


def test_runner_errors_keep_their_kind():
    run = Runner(error=OobDhcpError("auth", "oobsp.lab.example:5986 rejected the credentials (kerberos, HTTP 401)"))
    with pytest.raises(CertStoreError, match="rejected the credentials") as err:
        read_store(run)
    assert err.value.kind == "auth"


def test_winrm_runner_is_the_dhcp_one():
    from ansible_collections.oob.prep.plugins.module_utils.dhcp import windows

    assert cert_store.winrm_runner is windows.winrm_runner
