"""The header forms, nonces and TLS of real AMT firmware (issue 20), served by the simulator (lab/standins/amt_sim.py)
on 127.0.4.x loopback addresses and read by the discovery engine (amt.scan.discover), as the module and the
inventory plugin run it. Loopback only: no lab, no namespace.

The expected values come from the published records the forms were taken from, not from the engine's tables:
Open AMT RPS's recorded 401 (``Intel(R) Active Management Technology 11.8.50.3425`` with ``Connection: close``),
nmap-service-probes (``Server: AMT`` on ``GET /``; ``Intel(R) Standard Manageability`` = ISM), Greenbone's AMT
detection (the product name with no version), the notes' ConfigMgr bounds (native from 3.2.1; ISM is not AMT).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.oob.prep.plugins.module_utils.amt.scan import discover

ROOT = Path(__file__).resolve().parents[3]
SIM = ROOT / "lab" / "standins" / "amt_sim.py"
PASSWORD = "Sim-Forms-Pw1!"
DEVICES = {
    1: {"version": "11.8.50.3425", "header_variant": "full", "chunked": True},
    2: {"version": "6.2.10", "header_variant": "unversioned"},
    3: {"version": "11.8.50", "header_variant": "ism"},
    4: {"version": "11.8.50.3425", "header_variant": "amt", "wsman_header_variant": "full", "close_on_401": True},
    5: {"version": "12.0.67", "header_variant": "amt", "nonce_max_uses": 1, "chunked": True},  # expires after 1 use
    6: {"version": "12.0.67", "header_variant": "amt", "nonce_max_age": 0},  # every nonce expires at once
    7: {"version": "4.0.1", "header_variant": "full"},  # old TLS on 16993 (certificate added below)
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory, child_process):
    global NET  # noqa: PLW0603 - a fresh /24 per simulator: runs side by side (and forked tests) never share one
    NET = f"127.{random.randint(100, 250)}.{random.randint(0, 250)}."  # noqa: S311
    sys.path.insert(0, str(SIM.parent))
    import amt_sim

    folder = tmp_path_factory.mktemp("amtforms")
    cert, key = amt_sim.make_cert(folder, "old7", [f"{NET}7"], ["old7.lab.example"], legacy=True)
    devices = [{"address": f"{NET}{n}", **spec} for n, spec in DEVICES.items()]
    devices[-1]["tls"] = {"cert": cert.name, "key": key.name, "legacy": True}
    config = folder / "devices.json"
    config.write_text(json.dumps({"defaults": {"password": PASSWORD}, "devices": devices}))
    proc = child_process([sys.executable, str(SIM), "--config", str(config)], stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(proc.stdout.readline())
        assert ready["event"] == "ready" and ready["devices"] == len(DEVICES), ready
        yield {"cert": cert}
    finally:
        proc.terminate()
        proc.wait(10)


def _scan(targets: list[int], **extra) -> dict:
    result = discover({"targets": [f"{NET}{n}" for n in targets], "timeout": 2, "host_timeout": 10, **extra})
    return {int(d["address"].rsplit(".", 1)[1]): d for d in result["devices"]}


def test_header_forms_without_credentials(sim):
    devs = _scan([1, 2, 3, 4])
    assert (devs[1]["version"], devs[1]["version_source"], devs[1]["support_class"]) == ("11.8.50.3425", "header",
                                                                                          "native")  # fmt: skip
    assert (devs[2]["amt"], devs[2]["header_form"], devs[2]["version"], devs[2]["support_class"]) == (
        True, "amt_unversioned", None, "unknown")  # fmt: skip
    assert (devs[3]["header_form"], devs[3]["version"], devs[3]["support_class"]) == ("ism", "11.8.50", "ism")
    assert devs[4]["server"] == "AMT"
    assert devs[4]["server_401"] == "Intel(R) Active Management Technology 11.8.50.3425"
    in401 = devs[4]
    assert (in401["version"], in401["version_source"], in401["support_class"]) == ("11.8.50.3425", "header_401",
                                                                                    "native")  # fmt: skip
    assert all(d["error"] is None for d in devs.values()), {n: d["error"] for n, d in devs.items()}


def test_wsman_with_chunked_answers_and_the_401_header(sim):
    devs = _scan([1, 3, 4], username="admin", password=PASSWORD)
    # CIM_SoftwareIdentity's AMT entry holds three parts (the build number is its own entry), as Intel's recorded
    # answers (go-wsman-messages) do; the four-part header stays in header_version
    assert (devs[1]["version"], devs[1]["version_source"], devs[1]["header_version"]) == ("11.8.50", "wsman",
                                                                                           "11.8.50.3425")  # fmt: skip
    assert devs[3]["support_class"] == "ism"  # WS-MAN gives a version; ISM stays ISM
    assert devs[4]["version"] == "11.8.50" and devs[4]["support_class"] == "native"
    assert devs[1]["provisioning_state"] == "post" and devs[1]["power_state"] == "on"
    assert all(d["error"] is None for d in devs.values()), {n: d["error"] for n, d in devs.items()}


def test_nonces_that_expire(sim):
    devs = _scan([5, 6], username="admin", password=PASSWORD)
    # one use per nonce: every request after the first is refused once with a new nonce (stale="false") and retried
    assert devs[5]["error"] is None, devs[5]["error"]
    assert devs[5]["version"] == "12.0.67" and devs[5]["version_source"] == "wsman"
    # every nonce already expired: one retry, then a clear error, not a loop
    assert "refused the credentials again after one retry with its new nonce" in devs[6]["error"]
    assert devs[6]["version"] is None and devs[6]["support_class"] == "unknown"


def test_old_tls_needs_legacy_tls(sim):
    dev = _scan([7])[7]
    assert dev["tls"] is None
    # the simulator's asyncio server drops the TLS 1.2 handshake without an alert (a client of the ssl module sees
    # TLSV1_ALERT_PROTOCOL_VERSION from a server that alerts: tests/unit/plugins/modules/test_amt_discovery.py)
    assert dev["error"].startswith("16993: ") and "legacy_tls=true" in dev["error"]
    assert dev["version"] == "4.0.1"  # 16992 still answers
    dev = _scan([7], legacy_tls=True)[7]
    assert dev["error"] is None, dev["error"]
    assert dev["tls"]["key_type"] == "RSA" and dev["tls"]["key_size"] == 1024
    assert dev["tls"]["subject"] == "CN=old7"


def test_old_tls_certificate_is_sha1_signed_1024_bit(sim):
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(sim["cert"].read_bytes())
    assert cert.signature_hash_algorithm.name == "sha1"
    assert cert.public_key().key_size == 1024
