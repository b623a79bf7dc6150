"""Wire probe: do what a DHCP client (an AMT device in the AMT subnet) does and report what it is offered.

Run inside a namespace of the AMT subnet (``ip netns exec oobp-amtc python dhcp_discover.py``): it broadcasts a
DHCPDISCOVER with the broadcast flag set on the given interface and prints the first DHCPOFFER as JSON:
``{"server_id": ..., "yiaddr": ..., "relay": ..., "options": {"6": ["198.51.100.10"], "15": "lab.example", ...}}``.
Exit code 1 and ``{"error": ...}`` when nothing answers within the timeout.

With ``--lease --hostname NAME`` it goes on like a client that takes a lease: DHCPREQUEST for the offered address
with host name option 12, and prints the DHCPACK the same way (the server then registers NAME in DNS).
"""

from __future__ import annotations

import argparse
import json
import random
import sys

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, conf, get_if_hwaddr, srp1  # type: ignore[attr-defined]

OPTION_CODES = {"name_server": 6, "domain": 15, "router": 3, "server_id": 54, "lease_time": 51, "subnet_mask": 1}


def _text(value):
    if isinstance(value, bytes):
        return value.rstrip(b"\x00").decode("ascii", "replace")
    return value


def discover(iface: str, timeout: float, lease: bool = False, hostname: str | None = None) -> dict:
    conf.checkIPaddr = False  # the offer comes from the server's address, not the broadcast we sent to
    mac = get_if_hwaddr(iface)
    xid = random.getrandbits(32)
    head = (
        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=bytes.fromhex(mac.replace(":", "")), xid=xid, flags=0x8000)
    )
    name = [("hostname", hostname)] if hostname else []
    request = [("param_req_list", [1, 3, 6, 15, 54]), *name, "end"]
    answer = srp1(head / DHCP(options=[("message-type", "discover"), *request]), iface=iface, timeout=timeout,
                  verbose=False)  # fmt: skip
    if answer is None or DHCP not in answer:
        return {"error": f"no DHCPOFFER on {iface} within {timeout} s"}
    if lease:
        server = next(o[1] for o in answer[DHCP].options if isinstance(o, tuple) and o[0] == "server_id")
        take = [("message-type", "request"), ("server_id", server), ("requested_addr", answer[BOOTP].yiaddr)]
        answer = srp1(head / DHCP(options=[*take, *request]), iface=iface, timeout=timeout, verbose=False)
        if answer is None or DHCP not in answer:
            return {"error": f"no DHCPACK on {iface} within {timeout} s"}
    options: dict = {}
    for opt in answer[DHCP].options:
        if isinstance(opt, tuple) and opt[0] in OPTION_CODES:
            values = [_text(v) for v in opt[1:]]
            options[str(OPTION_CODES[opt[0]])] = values if opt[0] == "name_server" else values[0]
    return {
        "yiaddr": answer[BOOTP].yiaddr,
        "relay": answer[BOOTP].giaddr,
        "server_id": options.get("54"),
        "options": options,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iface", default="eth0")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--lease", action="store_true", help="take the lease: DHCPREQUEST the offered address")
    parser.add_argument("--hostname", help="send host name option 12")
    args = parser.parse_args()
    result = discover(args.iface, args.timeout, args.lease, args.hostname)
    print(json.dumps(result))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
