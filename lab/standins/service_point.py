"""Stand-in for the ConfigMgr 2007 SP1 out of band service point's provisioning listener.

What it stands in for: the service point site system (Windows software that cannot run here) listens on TCP 9971
for the "hello" messages that Intel AMT devices in setup mode send to ProvisionServer. This stand-in listens on the
same port and records every connection and every byte it receives, so tests can prove that an AMT subnet reaches the
service point through routers and firewalls, and what a device said. It does not answer hello messages (the real
service point answers by opening TLS to the device on 16993, which is a later step of provisioning).

Each connection is appended to a JSON Lines file when it closes:
``{"peer": "203.0.113.11", "peer_port": 40000, "local_port": 9971, "opened": ..., "closed": ..., "data_hex": "...",
"hello": {...} or null, "hello_error": "..." or null}``

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


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: Path) -> None:
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
    with record.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


async def serve(host: str, ports: list[int], record: Path) -> None:
    servers = [
        await asyncio.start_server(lambda r, w: _handle(r, w, record), host, port, reuse_address=True) for port in ports
    ]
    print(f"service point stand-in listening on {host} ports {ports}, recording to {record}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, action="append", default=None)
    parser.add_argument("--record", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port or [9971], args.record))


if __name__ == "__main__":
    main()
