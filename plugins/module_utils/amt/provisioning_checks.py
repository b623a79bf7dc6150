# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What amt_provisioning_probe makes of the path an unprovisioned AMT computer walks: its input checked (expect,
the hello), each hop's verdict from what was read (the DHCP answer's options 006 and 015, the DNS answer for
ProvisionServer), and the hops as check rows (amt.path.dhcp, .dns, .tcp, .hello) with the first broken one. Pure: no
sockets, no I/O. Walking the path (the DHCP probe, the DNS query, the TCP connect and the hello) is
``amt.provisioning_path``.
"""

from __future__ import annotations

from ansible_collections.oob.prep.plugins.module_utils.amt.hello import build as build_hello
from ansible_collections.oob.prep.plugins.module_utils.checks import check
from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import dns_name, ipv4

ROWS = {"dhcp": "dhcp_options_006_015_ddns", "dns": "dns_provisionserver", "tcp": "network_ports",
        "hello": "network_ports"}  # fmt: skip
REMEDY = {
    "dhcp": "set options 006 and 015 on the AMT subnet's scope and relay DHCP to it: playbooks/dhcp.yml",
    "dns": "register ProvisionServer in the suffix's zone, pointing at the service point: playbooks/dns.yml",
    "tcp": "allow TCP 9971 from the AMT subnets to the service point (playbooks/network.yml) and check that the out of "
    "band service point role runs",
    "hello": "check the out of band service point's log (amtopmgr.log) for the hello",
}


def expect_from_params(p: dict) -> dict:
    """The module's timeout checked, and ``expect`` as {dns_servers, domain_name, service_point} in canonical form
    (an empty list or None for what is not expected). ValueError names the option to fix."""
    if not 0 < p["timeout"] <= 30:
        raise ValueError(f"timeout must be more than 0 and at most 30 seconds, not {p['timeout']}")
    raw = p["expect"] or {}
    return {
        "dns_servers": [ipv4(s, "expect.dns_servers") for s in raw.get("dns_servers") or []],
        "domain_name": dns_name(raw["domain_name"], "expect.domain_name") if raw.get("domain_name") else None,
        "service_point": ipv4(raw["service_point"], "expect.service_point") if raw.get("service_point") else None,
    }


def hello_from_params(hello: dict | None) -> bytes:
    """The hello v3 bytes (``amt.hello.build``) of the module's ``hello`` option (a zero UUID and no hashes when it
    is not given)."""
    h = hello or {"uuid": "00000000-0000-0000-0000-000000000000", "hashes": []}
    hashes = [(x.get("type"), str(x.get("value", ""))) for x in h["hashes"]]
    return build_hello(h["uuid"], hashes)


def hop(which: str, status: str, evidence: str, **found) -> dict:
    return {"hop": which, "status": status, "evidence": evidence, **found}


def dhcp_verdict(result: dict, p: dict, expect: dict) -> dict:
    """The dhcp hop from what the probe (``dhcp.client.probe``) read: pass when the first answer carries option 006
    and option 015, as expected when ``expect`` says; the evidence names the server and the relay."""
    answers = result["answers"]
    sent = f"{result['message']} on {p['interface']}"
    if not answers:
        return hop("dhcp", "fail", f"no DHCP server answered the {sent} within {p['timeout']:g} s")
    first = answers[0]
    servers, suffix = first["options"].get(6) or [], first["options"].get(15)
    who = f"server {first['server_id'] or first['source']}" + (
        f" through relay {first['giaddr']}" if first["giaddr"] not in (None, "0.0.0.0") else "")  # fmt: skip
    problems = []
    if not servers:
        problems.append("no option 006 (DNS servers)")
    if not suffix:
        problems.append("no option 015 (domain name)")
    if expect.get("dns_servers") and servers != expect["dns_servers"]:
        problems.append(f"option 006 is {', '.join(servers) or '(none)'}, not {', '.join(expect['dns_servers'])}")
    if expect.get("domain_name") and suffix and dns_name(suffix, "option 015") != expect["domain_name"]:
        problems.append(f"option 015 is {suffix}, not {expect['domain_name']}")
    evidence = (
        f"{who} answered the {sent}: option 006 {', '.join(servers) or '(none)'}, option 015 {suffix or '(none)'}"
    )
    status = "fail" if problems else "pass"
    return hop("dhcp", status, evidence + ("; " + "; ".join(problems) if problems else ""), dns_servers=servers,
               domain_name=suffix)  # fmt: skip


def dns_verdict(server: str, name: str, chain: list, addresses: list, *, rcode: str, expect: dict) -> dict:
    """The dns hop from the answer of ``server`` (option 006's first) for ``name``: the CNAME targets followed
    (``chain``), the A records' addresses, the answer's rcode; pass when an address is there and, when ``expect``
    names the service point, it is one of them."""
    via = f" (CNAME {' -> '.join(chain)})" if chain else ""
    if not addresses:
        return hop("dns", "fail", f"{server} answered {name} with {rcode} and no address{via}", query=name)
    want = expect.get("service_point")
    if want and want not in addresses:
        wrong = f"{server} resolves {name}{via} to {', '.join(addresses)}, not the service point {want}"
        return hop("dns", "fail", wrong, query=name, addresses=addresses)
    return hop("dns", "pass", f"{server} resolves {name}{via} to {', '.join(addresses)}", query=name,
               addresses=addresses)  # fmt: skip


def hop_rows(hops: list[dict]) -> list[dict]:
    """Each hop as its check row: id amt.path.<hop>, the hop's seed row, its status and evidence, its remedy."""
    return [check(f"amt.path.{h['hop']}", ROWS[h["hop"]], h["status"], h["evidence"], REMEDY[h["hop"]]) for h in hops]


def first_broken(hops: list[dict]) -> str | None:
    """The first hop that failed, or None when none did."""
    return next((h["hop"] for h in hops if h["status"] == "fail"), None)
