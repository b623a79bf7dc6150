"""Stand-in for the ConfigMgr 2007 SP1 out of band service point's provisioning listener.

What it stands in for: the service point site system (Windows software that cannot run here) listens on TCP 9971
for the "hello" messages that Intel AMT devices in setup mode send to ProvisionServer. This stand-in listens on the
same port and records every connection and every byte it receives, so tests can prove that an AMT subnet reaches the
service point through routers and firewalls, and what a device said.

With ``--certificate`` it holds the service point's AMT provisioning certificate (PEM: the certificate, its chain up
to the root, the key) and decides, per hello, what ConfigMgr 2007 SP1 documents ("AMT Provisioning Process"): the
service point reads the UUID and the list of root certificate thumbprints in the hello, and only when one of them
matches the root of its AMT provisioning certificate does it go on to provision the device (over TLS to the device on
16993, a later step this stand-in does not take); otherwise it does not answer the device. The decision is recorded
as ``answer``: ``{"provision": true, "matched": {"type", "hex"}}`` or ``{"provision": false, "reason": "..."}``.
The root's thumbprints are hashlib digests of its DER (SHA-1, SHA-256, SHA-384), computed here, not by the project.

Each connection is appended to a JSON Lines file when it closes:
``{"peer": "203.0.113.11", "peer_port": 40000, "local_port": 9971, "opened": ..., "closed": ..., "data_hex": "...",
"hello": {...} or null, "hello_error": "..." or null, "answer": {...} or null}``

``hello`` is the data parsed as an AMT hello version 3 (``amt.hello.parse``): ``uuid``, ``version``,
``retry_count``, ``admin_credentials_set`` and ``hashes`` (``type``, ``name``, ``size``, ``hex``); when the data is
not a valid hello, ``hello`` is null and ``hello_error`` says why (an empty connection, a port probe, is recorded too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

try:  # the project's module_utils from the collection oob.prep, which is this repository (collections/ links it)
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))
    from ansible_collections.oob.prep.plugins.module_utils.amt.hello import parse as parse_hello
except ImportError:  # a Python without Ansible: amt.hello is stdlib only, load it from its file
    import importlib.util

    _spec = importlib.util.spec_from_file_location(
        "amt.hello", Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "amt/hello.py"
    )
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    parse_hello = _module.parse

IDLE_TIMEOUT = 10.0  # seconds without a byte before the stand-in closes a connection


def hello_fields(data: bytes) -> dict:
    """{hello, hello_error}: the data parsed as a hello v3, or why it is not one."""
    if not data:
        return {"hello": None, "hello_error": "no data (the peer sent nothing)"}
    try:
        return {"hello": parse_hello(data), "hello_error": None}
    except ValueError as exc:
        return {"hello": None, "hello_error": str(exc)}


def root_thumbprints(pem: bytes) -> dict:
    """{type code: hex} of the root of the certificate chain in ``pem``: the last certificate whose subject is its
    issuer (hello hash types: 1 SHA-1, 2 SHA-256, 3 SHA-384)."""
    import base64
    import hashlib
    import re

    from cryptography import x509

    ders = [base64.b64decode(block) for block in re.findall(
        rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", pem, flags=re.S)]  # fmt: skip
    roots = [der for der in ders if (c := x509.load_der_x509_certificate(der)).subject == c.issuer]
    if not roots:
        raise SystemExit("service point stand-in: the certificate file holds no root (self-signed) certificate")
    root = roots[-1]
    return {1: hashlib.sha1(root).hexdigest(), 2: hashlib.sha256(root).hexdigest(),  # noqa: S324 - a thumbprint
            3: hashlib.sha384(root).hexdigest()}  # fmt: skip


def answer(hello: dict | None, root: dict | None) -> dict | None:
    """What the service point does with a hello: provision the device when it trusts the root, else nothing."""
    if hello is None or root is None:
        return None
    for entry in hello["hashes"]:
        if root.get(entry["type"]) == entry["hex"].lower():
            return {"provision": True, "matched": {"type": entry["name"], "hex": entry["hex"]}}
    reason = (f"none of the {len(hello['hashes'])} hashes in the hello is the provisioning certificate's root: the "
              "service point does not answer this device")  # fmt: skip
    return {"provision": False, "reason": reason}


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: Path, root=None) -> None:
    peer, peer_port = writer.get_extra_info("peername")[:2]
    local_port = writer.get_extra_info("sockname")[1]
    opened = time.time()
    data = bytearray()
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
    entry = {
        "peer": peer,
        "peer_port": peer_port,
        "local_port": local_port,
        "opened": opened,
        "closed": time.time(),
        "data_hex": data.hex(),
        **hello_fields(bytes(data)),
    }
    entry["answer"] = answer(entry["hello"], root)
    with record.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


async def serve(host: str, ports: list[int], record: Path, certificate: Path | None = None) -> None:
    root = root_thumbprints(certificate.read_bytes()) if certificate else None
    servers = [
        await asyncio.start_server(lambda r, w: _handle(r, w, record, root), host, port, reuse_address=True)
        for port in ports
    ]
    print(f"service point stand-in listening on {host} ports {ports}, recording to {record}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, action="append", default=None)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--certificate", type=Path, help="the AMT provisioning certificate with its chain (PEM)")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port or [9971], args.record, args.certificate))


if __name__ == "__main__":
    main()
