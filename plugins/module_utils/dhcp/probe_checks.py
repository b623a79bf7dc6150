# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What dhcp_probe makes of a probe's answers: its input checked, each answer as the module returns it, and the
readiness rows over all answers (dhcp.answer, dhcp.ipv4, dhcp.no_dot1x, dhcp.option_006, dhcp.option_015). Pure: the
probe itself (raw sockets) is ``dhcp.client``; the row ids of the scope checks are ``dhcp.plan``'s.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.oob.prep.plugins.module_utils.checks import check
from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import ROW_OPTIONS, ROW_SCOPE
from ansible_collections.oob.prep.plugins.module_utils.dhcp.wire import encode_name

ROW_IPV4 = "ipv4_only"
ROW_DOT1X = "dot1x"
MAX_TIMEOUT = 300


def _domain(name: str) -> str:
    return str(name).strip().rstrip(".").lower()


def validate(p: dict) -> dict:
    """The probe's input, checked; ValueError names the option to fix."""
    if not p["interface"] or not p["interface"].strip():
        raise ValueError("interface must name the interface in the AMT subnet (e.g. eth0)")
    if not 0 < p["timeout"] <= MAX_TIMEOUT:
        raise ValueError(f"timeout must be more than 0 and at most {MAX_TIMEOUT} seconds, not {p['timeout']}")
    hostname = p["hostname"]
    if hostname is not None:
        try:
            encode_name(hostname)
        except ValueError as exc:
            raise ValueError(f"hostname: {exc}") from None
    expect = p["expect"]
    if expect is not None:
        if expect["dns_servers"] is None and expect["domain_name"] is None:
            raise ValueError("expect needs dns_servers (option 006), domain_name (option 015), or both")
        for address in expect["dns_servers"] or []:
            try:
                ipaddress.IPv4Address(address)
            except ValueError:
                raise ValueError(f"expect.dns_servers: not an IPv4 address: {address!r} (option 006 holds IPv4 "
                                 "addresses)") from None  # fmt: skip
        if expect["dns_servers"] == []:
            raise ValueError("expect.dns_servers is empty: give the DNS servers option 006 must hold")
        if expect["domain_name"] is not None and not _domain(expect["domain_name"]):
            raise ValueError("expect.domain_name is empty: give the AMT devices' DNS suffix option 015 must hold")
    return {"expect": expect, "hostname": hostname}


def _unset(address: str) -> str | None:
    return None if address == "0.0.0.0" else address


def answer_row(answer: dict) -> dict:
    """What the module returns of one parsed answer."""
    options = answer["options"]
    return {
        "server_id": answer["server_id"],
        "message_type": answer["message_type"],
        "source": answer["source"],
        "relay": _unset(answer["giaddr"]),
        "offered_address": _unset(answer["yiaddr"]),
        "subnet_mask": options.get(1),
        "routers": options.get(3),
        "dns_servers": options.get(6),
        "domain_name": options.get(15),
        "client_fqdn": options.get(81),
        "lease_time": options.get(51),
        "options": {str(code): value for code, value in options.items()},
        "elapsed_ms": round(answer["elapsed"] * 1000, 3),
    }


def _who(row: dict) -> str:
    how = f"through relay {row['relay']}" if row["relay"] else f"from {row['source']}"
    return f"server {row['server_id'] or '(no server id, ' + row['source'] + ')'} ({row['message_type']} {how})"


def sent_summary(result: dict) -> str:
    """What the probe sent, where and for how long (``dhcp.client.probe``'s result), for evidence and messages."""
    return (f"the {result['message']} sent on {result['interface']} (MAC {result['mac']}, xid "
            f"0x{result['xid']:08x}) within {result['timeout']:g} s")  # fmt: skip


def option_checks(rows: list[dict], expect: dict, sent: str) -> list[dict]:
    """dhcp.answer, then dhcp.option_006 and dhcp.option_015 over every answer (each must offer what is expected:
    a device takes whichever offer comes first)."""
    if not rows:
        checks = [check("dhcp.answer", ROW_SCOPE, "fail", f"no DHCP server answered {sent}",
                        "check that the AMT subnet has an active scope on a DHCP server and, when the server is on "
                        "another subnet, that the subnet's router relays DHCP to it (ip helper-address / DHCP relay "
                        "agent)")]  # fmt: skip
        for code, key in (("006", "dns_servers"), ("015", "domain_name")):
            if expect[key] is not None:
                checks.append(check(f"dhcp.option_{code}", ROW_OPTIONS, "skip",
                                    f"option {code} cannot be checked: no answer (see dhcp.answer)",
                                    "see the failed check named"))  # fmt: skip
        checks += [check(cid, row, "skip", "no DHCP answer to tell it from (see dhcp.answer)", "see dhcp.answer")
                   for cid, row in (("dhcp.ipv4", ROW_IPV4), ("dhcp.no_dot1x", ROW_DOT1X))]  # fmt: skip
        return checks
    offered = "; ".join(f"{_who(r)} offered {r['offered_address'] or 'no address'}" for r in rows)
    checks = [
        check("dhcp.answer", ROW_SCOPE, "pass", f"{len(rows)} answer(s) to {sent}: {offered}"),
        check("dhcp.ipv4", ROW_IPV4, "pass", f"the AMT subnet is served over IPv4 (DHCPv4): {offered}"),
        check("dhcp.no_dot1x", ROW_DOT1X, "pass", f"the probe's port got DHCP answers without 802.1X "
              f"authentication, so it does not enforce 802.1X (such a port forwards nothing before it): {offered}"),
    ]  # fmt: skip
    servers = ", ".join(dict.fromkeys(r["server_id"] or r["source"] for r in rows))
    if expect["dns_servers"] is not None:
        want = list(expect["dns_servers"])
        said, ok = [], True
        for r in rows:
            got = r["dns_servers"]
            ok = ok and got == want
            said.append(f"{_who(r)} offered option 006 {', '.join(got)}" if got else f"{_who(r)}: no option 006")
        evidence = "; ".join(said) + ("" if ok else f"; expected {', '.join(want)}")
        checks.append(check("dhcp.option_006", ROW_OPTIONS, ok, evidence,
                            f"set scope option 006 (DNS Servers) of the AMT subnet's scope on {servers} to "
                            f"{', '.join(want)}, in this order"))  # fmt: skip
    if expect["domain_name"] is not None:
        want_name = _domain(expect["domain_name"])
        said, ok = [], True
        for r in rows:
            got = r["domain_name"]
            ok = ok and got is not None and _domain(got) == want_name
            said.append(f"{_who(r)} offered option 015 {got!r}" if got is not None else f"{_who(r)}: no option 015")
        evidence = "; ".join(said) + ("" if ok else f"; expected {want_name!r}")
        checks.append(check("dhcp.option_015", ROW_OPTIONS, ok, evidence,
                            f"set scope option 015 (DNS Domain Name) of the AMT subnet's scope on {servers} to "
                            f"{want_name}"))  # fmt: skip
    return checks
