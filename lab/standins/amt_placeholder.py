"""Placeholder for an Intel AMT management controller: plain TCP listeners on AMT's ports.

What it stands in for: the firmware of an AMT (vPro) computer, which serves 16992 (HTTP/WS-MAN) and 16993 (TLS)
below the host OS. For now it only accepts TCP connections on those ports and closes them, so that reachability
and firewall flows can be tested from the server subnet; it is meant to grow into a protocol-faithful simulator.
"""

from __future__ import annotations

import argparse
import asyncio


async def _accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def serve(host: str, ports: list[int]) -> None:
    servers = [await asyncio.start_server(_accept, host, p, reuse_address=True) for p in ports]
    print(f"AMT placeholder listening on {host} ports {ports}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, action="append", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
