"""dhcp_probe in the lab, run as a user runs it: `ansible -i inventories/lab <namespace host> -m dhcp_probe`, through
the connection plugin oob_netns, inside the AMT subnet's namespaces. What it reports is compared with what Kea says
of itself over its control socket (raw JSON, not the project's code), with the lab's scapy probe
(lab/probes/dhcp_discover.py, an independent client), with Kea's lease file and its log (no lease taken).

Others share the lab and may change Kea's configuration while these tests run (a role that manages the scope's
options): each comparison reads Kea's configuration before and after the probe and tries again when it changed."""

from __future__ import annotations

import csv
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid

import dns.message
import dns.query
import dns.rcode
import pytest
from labutil import ROOT, labconfig, netns_run

VENV_BIN = ROOT / ".venv" / "bin"
AMTC, AMT1, RTR = f"{labconfig.PREFIX}-amtc", f"{labconfig.PREFIX}-amt1", f"{labconfig.PREFIX}-rtr"
RELAY = labconfig.ROUTER_AMT_IP
LEASES = labconfig.RUN_DIR / "kea-leases4.csv"
KEA_LOG = labconfig.LOG_DIR / "kea-dhcp4.log"
OPTION_NAMES = {6: "domain-name-servers", 15: "domain-name"}


# --- independent reads ----------------------------------------------------------------------------------------------
def kea(command: str, **arguments) -> dict:
    """One command on Kea's control socket, as raw JSON (the socket is a file on the shared file system)."""
    request = {"command": command, **({"arguments": arguments} if arguments else {})}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(labconfig.KEA_SOCKET))
        sock.sendall(json.dumps(request).encode())
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            try:
                return json.loads(data)
            except ValueError:
                continue
    return json.loads(data)


def kea_config() -> dict:
    answer = kea("config-get")
    assert answer["result"] == 0, answer
    return answer["arguments"]["Dhcp4"]


def _option_value(code: int, entry: dict):
    if entry.get("csv-format", True) is False:
        raw = bytes.fromhex(entry["data"].replace(" ", "").replace(":", ""))
        if code == 6:
            return [str(ipaddress.IPv4Address(raw[i : i + 4])) for i in range(0, len(raw), 4)]
        return raw.rstrip(b"\x00").decode("ascii")
    if code == 6:
        return [a.strip() for a in entry["data"].split(",") if a.strip()]
    return entry["data"]


def kea_scope_options(config: dict, address: str) -> dict:
    """{6: [...], 15: '...'} as Kea's configuration gives them to a client at ``address``: global option-data, then
    the shared network, the subnet and the pool that hold it (each level overrides the one before)."""
    ip = ipaddress.IPv4Address(address)
    layers = [config.get("option-data", [])]
    placed = [(None, s) for s in config.get("subnet4", [])]
    placed += [(net, s) for net in config.get("shared-networks", []) for s in net.get("subnet4", [])]
    for net, subnet in placed:
        if ip in ipaddress.IPv4Network(subnet["subnet"]):
            layers += [net.get("option-data", [])] if net else []
            layers.append(subnet.get("option-data", []))
            for pool in subnet.get("pools", []):
                first, _, last = pool["pool"].partition("-")
                if last and ipaddress.IPv4Address(first.strip()) <= ip <= ipaddress.IPv4Address(last.strip()):
                    layers.append(pool.get("option-data", []))
    found: dict = {}
    for layer in layers:
        for entry in layer:
            code = entry.get("code") or {v: k for k, v in OPTION_NAMES.items()}.get(entry.get("name"))
            if code in OPTION_NAMES and entry.get("space", "dhcp4") == "dhcp4":
                found[code] = None if entry.get("never-send") else _option_value(code, entry)
    return {code: found.get(code) for code in OPTION_NAMES}


def lease_rows() -> list[dict]:
    if not LEASES.exists():
        return []
    with LEASES.open(newline="") as f:
        return list(csv.DictReader(f))


# --- running the module as a user does ---------------------------------------------------------------------------
def adhoc(host: str, module: str, args: str, *extra: str) -> tuple[str, dict | str]:
    """`ansible -i inventories/lab <host> -m <module> -a <args>`: (status, result) with the result as JSON (or the
    raw text of a command-style module)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")  # fmt: skip
    if (ROOT / "plugins" / "modules" / f"{module}.py").exists():  # a module of this repository, the collection oob.prep
        module = f"oob.prep.{module}"
    cmd = [str(VENV_BIN / "ansible"), "-i", "inventories/lab", "--vault-id", "lab@inventories/lab/vault-password.txt",
           host, "-m", module, "-a", args, *extra]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    match = re.search(rf"^{re.escape(host)} \| (SUCCESS|CHANGED|FAILED!|UNREACHABLE!)( \| rc=-?\d+ >>| =>)\s*",
                      proc.stdout, re.M)  # fmt: skip
    assert match, f"no result line in:\n{proc.stdout}\n{proc.stderr}"
    rest = proc.stdout[match.end() :]
    if match.group(2) != " =>":
        return match.group(1), rest
    return match.group(1).rstrip("!"), json.JSONDecoder().raw_decode(rest)[0]


def probe_with_config(host: str, args: str, address_of=None, tries: int = 3) -> tuple[dict, dict, dict]:
    """(result, Kea's config, Kea's options for the client) with Kea's configuration the same before and after."""
    for _ in range(tries):
        before = kea_config()
        status, result = adhoc(host, "dhcp_probe", args)
        after = kea_config()
        if before == after:
            assert status == "SUCCESS", result
            kea_answers = [a for a in result["answers"] if a["server_id"] == labconfig.DHCP_IP]
            address = address_of(result) if address_of else (kea_answers[0]["offered_address"] if kea_answers else None)
            return result, after, kea_scope_options(after, address or labconfig.DHCP_POOL.split("-")[0].strip())
        time.sleep(1)
    pytest.fail(f"Kea's configuration changed during each of {tries} probes (someone else is changing it)")


def kea_answer(result: dict) -> dict:
    answers = [a for a in result["answers"] if a["server_id"] == labconfig.DHCP_IP]
    assert len(answers) == 1, result["answers"]  # the lab's only DHCP server, through the only relay
    return answers[0]


def in_pool(address: str) -> bool:
    first, last = (ipaddress.IPv4Address(a.strip()) for a in labconfig.DHCP_POOL.split("-"))
    return first <= ipaddress.IPv4Address(address) <= last


# --- the tests ------------------------------------------------------------------------------------------------------
def test_the_connection_plugin_runs_raw_and_modules_inside_the_namespace(lab):
    status, text = adhoc(AMT1, "raw", "ip -4 -o addr show dev eth0")
    assert status == "CHANGED" and f"inet {lab.AMT_HOSTS['amt1']}/24" in text, text
    status, text = adhoc(RTR, "command", "ip -4 -o addr show")
    assert f"inet {lab.ROUTER_SERVER_IP}/24" in text and f"inet {RELAY}/24" in text, text
    assert f"inet {lab.CONTROLLER_IP}/" not in text and lab.CONTROLLER_LINK not in text  # not the root namespace
    status, result = adhoc(AMTC, "ping", "", "-e", "ansible_netns=oobp-none")
    assert status == "UNREACHABLE" and "network namespace oobp-none does not exist" in result["msg"]


def test_discover_from_the_amt_subnet_comes_back_through_the_relay_with_keas_options(lab):
    result, _config, want = probe_with_config(AMTC, "interface=eth0 timeout=2")
    got = kea_answer(result)
    assert result["sent"] == "DHCPDISCOVER" and result["ciaddr"] is None and result["changed"] is False
    assert got["message_type"] == "DHCPOFFER"
    assert got["relay"] == RELAY and got["source"] == RELAY  # giaddr: it crossed the router's dhcrelay
    assert in_pool(got["offered_address"]) and got["subnet_mask"] == "255.255.255.0"
    assert got["dns_servers"] == want[6] and got["domain_name"] == want[15], (got, want)
    assert got["options"].get("6") == want[6] and got["options"].get("15") == want[15]
    assert 0 < got["elapsed_ms"] < 2000  # the answer's own round trip, within the listening time


def test_the_checks_follow_keas_options(lab):
    """expect = what out of band management needs (the lab DC, lab.example): the checks pass when Kea's scope holds
    those options and fail, naming the server and what it offered, when it does not (a freshly built lab's scope has
    neither until the DHCP role converges)."""
    expect = {"dns_servers": [lab.FORESTS["lab"]["dc_ip"]], "domain_name": lab.FORESTS["lab"]["dns"]}
    args = "interface=eth0 timeout=2 expect=" + json.dumps(expect).replace(" ", "")
    result, _config, want = probe_with_config(AMTC, args)
    checks = {c["id"]: c for c in result["checks"]}
    assert checks["dhcp.answer"]["status"] == "pass"
    for code, key, cid in ((6, "dns_servers", "dhcp.option_006"), (15, "domain_name", "dhcp.option_015")):
        ok = want[code] == expect[key]
        assert checks[cid]["status"] == ("pass" if ok else "fail"), (checks[cid], want)
        assert f"server {lab.DHCP_IP} (DHCPOFFER through relay {RELAY})" in checks[cid]["evidence"]
        if want[code] is None:
            assert f"no option {cid[-3:]}" in checks[cid]["evidence"]


def test_the_lab_scapy_probe_sees_the_same_offer(lab):
    for _ in range(3):
        before = kea_config()
        scapy = netns_run(AMTC, sys.executable, str(ROOT / "lab/probes/dhcp_discover.py"), "--timeout", "3")
        status, result = adhoc(AMTC, "dhcp_probe", "interface=eth0 timeout=2")
        if before == kea_config():
            break
    else:
        pytest.fail("Kea's configuration kept changing")
    assert scapy.returncode == 0 and status == "SUCCESS", scapy.stdout + scapy.stderr
    theirs, ours = json.loads(scapy.stdout), kea_answer(result)
    assert (theirs["server_id"], theirs["relay"]) == (ours["server_id"], ours["relay"])
    assert theirs["options"].get("6") == ours["dns_servers"] and theirs["options"].get("15") == ours["domain_name"]
    assert theirs["options"]["1"] == ours["subnet_mask"] and theirs["options"]["51"] == ours["lease_time"]
    assert in_pool(theirs["yiaddr"]) and in_pool(ours["offered_address"])


def test_inform_from_an_addressed_amt_host(lab):
    address = lab.AMT_HOSTS["amt1"]
    result, _config, want = probe_with_config(AMT1, "interface=eth0 message_type=inform timeout=2",
                                              address_of=lambda _r: address)  # fmt: skip
    got = kea_answer(result)
    assert result["sent"] == "DHCPINFORM" and result["ciaddr"] == address
    assert got["message_type"] == "DHCPACK" and got["offered_address"] is None  # no address, no lease
    assert got["lease_time"] is None  # RFC 2131 4.3.5: no lease time in the answer to a DHCPINFORM
    assert got["routers"] == [RELAY]  # the scope of the relay's subnet was chosen
    assert got["dns_servers"] == want[6] and got["domain_name"] == want[15], (got, want)
    assert 0 < got["elapsed_ms"] < 2000


def test_a_probe_takes_no_lease_and_registers_no_name(lab):
    """Kea writes a lease to its memfile when it allocates one (DHCPREQUEST); an offer is only advertised. Its log
    names each exchange by xid: the probe's must be advertised and never allocated. The host name sent (option 81,
    flag S: "update my A record") is in BIND's zone, which Kea's dynamic DNS updates when the DHCP role configured
    it: no record may appear, since no lease was taken."""
    hooks = [h["library"] for h in kea_config().get("hooks-libraries", [])]
    name = f"oob-probe-{uuid.uuid4().hex[:8]}.{lab.BIND['zone']}"
    before = {tuple(r.values()) for r in lease_rows()}
    started = time.time()
    status, result = adhoc(AMTC, "dhcp_probe", f"interface=eth0 timeout=2 hostname={name}")
    assert status == "SUCCESS", result
    mac, tid = result["mac"], f"tid=0x{result['xid']:x}:"
    new = [r for r in lease_rows() if tuple(r.values()) not in before and r["hwaddr"] == mac
           and int(r["expire"]) - int(r["valid_lifetime"]) >= int(started) - 1]  # fmt: skip
    assert new == [], new
    if any("lease_cmds" in h for h in hooks):  # only when the hook is loaded
        got = kea("lease4-get-by-hw-address", **{"hw-address": mac})
        leases = (got.get("arguments") or {}).get("leases", [])
        assert all(lease["cltt"] < started - 1 for lease in leases), leases
    mine: list = []
    deadline = time.monotonic() + 5  # Kea's log is written as it goes
    while time.monotonic() < deadline:
        mine = [line for line in KEA_LOG.read_text(errors="replace").splitlines() if tid in line]
        if any("DHCP4_LEASE_ADVERT" in line for line in mine):
            break
        time.sleep(0.2)
    assert any("DHCP4_LEASE_ADVERT" in line for line in mine), f"Kea never saw the probe's {tid}"
    assert not any("DHCP4_LEASE_ALLOC" in line for line in mine), mine
    reply = dns.query.udp(dns.message.make_query(name, "A"), lab.BIND["ip"], timeout=5)
    assert reply.rcode() == dns.rcode.NXDOMAIN, reply.to_text()


def test_no_answer_fails_naming_interface_and_timeout_or_is_a_failed_check(lab):
    """The router's server-side port: a DISCOVER there reaches Kea directly, with no relay and no scope for that
    subnet, so nobody answers."""
    status, result = adhoc(RTR, "dhcp_probe", "interface=eth-srv timeout=1")
    assert status == "FAILED" and result["error"] == "no_answer", result
    assert "no DHCP server answered the DHCPDISCOVER sent on eth-srv" in result["msg"] and "within 1 s" in result["msg"]
    status, result = adhoc(RTR, "dhcp_probe", 'interface=eth-srv timeout=1 expect={"domain_name":"lab.example"}')
    assert status == "SUCCESS" and [c["id"] for c in result["failed_checks"]] == ["dhcp.answer"], result
    status, result = adhoc(AMTC, "dhcp_probe", "interface=eth9")
    assert status == "FAILED" and result["msg"] == "interface eth9 does not exist on this host (it has: lo, eth0)"
