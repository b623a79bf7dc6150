"""oob_dhcp against the lab's Kea (behind the router's relay) and kea-dhcp-ddns (updating BIND with a TSIG key).

Expected values come from the estate (inventories/lab) and are read back independently: Kea's own config-get over its
control socket in raw JSON, the lab's scapy DHCP client (lab/probes/dhcp_discover.py), and DNS queries to BIND.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys

import dhcp_scope
import dhcp_scope_info
import dns.resolver
import pytest
from labutil import ROOT, ansible_playbook, kea, kea_hash, labconfig, netns_run

AMT_NET = labconfig.AMT_NET
ESTATE = {"dns": [labconfig.FORESTS["lab"]["dc_ip"]], "suffix": "lab.example"}  # inventories/lab/.../estate.yml
KEA = {"control_socket": str(labconfig.KEA_SOCKET), "d2_control_socket": str(labconfig.D2_SOCKET)}
TSIG = {"name": labconfig.BIND["tsig"]["name"], "secret": labconfig.BIND["tsig"]["secret"]}
SCOPE = {"network": AMT_NET, "scope_id": 1, "dns_servers": ESTATE["dns"], "domain_name": ESTATE["suffix"],
         "ddns": {"forward_zone": labconfig.BIND["zone"], "servers": [labconfig.BIND["ip"]]}}  # fmt: skip
sys.path.insert(0, str(ROOT / "lab"))
import lab as labmod  # noqa: E402  # the lab's own baseline configurations


def subnet(config: dict) -> dict:
    return next(s for s in config["Dhcp4"]["subnet4"] if s["subnet"] == AMT_NET)


def scope_options(config: dict) -> dict:
    return {o.get("code"): o["data"] for o in subnet(config).get("option-data", [])}


def reset_to_handover():
    """Kea and D2 as the lab hands them over: no options 6/15, no dynamic DNS (raw config-set, not the project)."""
    kea("config-set", labmod.kea_config())
    kea("config-set", labmod.d2_config(), sock=labconfig.D2_SOCKET)


def changed_count(proc: subprocess.CompletedProcess) -> int:
    return int(re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", proc.stdout).group(1))


def offer() -> dict:
    proc = netns_run(f"{labconfig.PREFIX}-amtc", sys.executable, str(ROOT / "lab/probes/dhcp_discover.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture()
def handover(lab):
    reset_to_handover()
    yield
    kea("config-write")  # leave the lab converged for the tests after this file
    kea("config-write", sock=labconfig.D2_SOCKET)


def test_converge_from_a_scope_without_6_and_15_then_nothing_to_do_and_a_check_run_writes_nothing(handover):
    assert 6 not in scope_options(kea("config-get")) and 15 not in scope_options(kea("config-get"))
    before = (kea_hash(), kea_hash(labconfig.D2_SOCKET))
    check = ansible_playbook("playbooks/dhcp.yml", "--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:]
    assert changed_count(check) == 1 and "option 15 domain-name: lab.example" in check.stdout  # reported...
    assert (kea_hash(), kea_hash(labconfig.D2_SOCKET)) == before  # ...and nothing written
    first = ansible_playbook("playbooks/dhcp.yml", "--diff")
    assert first.returncode == 0 and changed_count(first) == 1, first.stdout[-3000:]
    config = kea("config-get")
    assert scope_options(config)[6] == ", ".join(ESTATE["dns"]) and scope_options(config)[15] == ESTATE["suffix"]
    assert subnet(config)["ddns-send-updates"] is True and config["Dhcp4"]["dhcp-ddns"]["enable-updates"] is True
    domains = kea("config-get", sock=labconfig.D2_SOCKET)["DhcpDdns"]
    assert [d["name"] for d in domains["forward-ddns"]["ddns-domains"]] == ["bind.example."]
    assert [d["name"] for d in domains["reverse-ddns"]["ddns-domains"]] == ["113.0.203.in-addr.arpa."]
    second = ansible_playbook("playbooks/dhcp.yml")
    assert second.returncode == 0 and changed_count(second) == 0, second.stdout[-3000:]
    verify = ansible_playbook("playbooks/verify.yml", "--tags", "area::dhcp")
    assert verify.returncode == 0, verify.stdout[-3000:]


def test_an_amt_device_is_offered_the_estates_6_and_15_through_the_relay(run_module, lab):
    status, res = run_module(dhcp_scope.main, {"scopes": [SCOPE], "kea": KEA, "tsig": TSIG})
    assert status == "exit", res
    got = offer()
    assert got["relay"] == labconfig.ROUTER_AMT_IP and got["server_id"] == labconfig.DHCP_IP
    assert got["options"]["6"] == ESTATE["dns"] and got["options"]["15"] == ESTATE["suffix"]


def test_a_client_that_takes_a_lease_with_a_host_name_gets_its_a_and_ptr_records(run_module, lab):
    status, res = run_module(dhcp_scope.main, {"scopes": [SCOPE], "kea": KEA, "tsig": TSIG})
    assert status == "exit", res
    host = f"amt-{random.getrandbits(24):06x}"
    proc = netns_run(f"{labconfig.PREFIX}-amtc", sys.executable, str(ROOT / "lab/probes/dhcp_discover.py"),
                     "--lease", "--hostname", host)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    address = json.loads(proc.stdout)["yiaddr"]
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [labconfig.BIND["ip"]]
    fqdn = f"{host}.{labconfig.BIND['zone']}"
    for _ in range(50):  # kea-dhcp-ddns sends the updates right after the ACK
        try:
            a = [r.address for r in resolver.resolve(fqdn, "A")]
            ptr = [r.target.to_text() for r in resolver.resolve_address(address)]
            break
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            subprocess.run(["sleep", "0.1"], check=True)
    else:
        pytest.fail(f"no A and PTR for {fqdn} / {address} in BIND (see lab/.state/logs/kea-dhcp-ddns.log)")
    assert a == [address] and ptr == [fqdn + "."]


def test_drift_of_option_15_is_reported_without_writing_fixed_and_survives_a_restart_with_hand_edits(run_module, lab):
    args = {"scopes": [SCOPE], "kea": KEA, "tsig": TSIG}
    assert run_module(dhcp_scope.main, args)[0] == "exit"
    config = kea("config-get")  # by hand: option 15 drifts; an option and a reservation are added
    sub = subnet(config)
    for option in sub["option-data"]:
        if option.get("code") == 15:
            option["data"] = "drift.example"
    sub["option-data"].append({"name": "ntp-servers", "code": 42, "space": "dhcp4", "data": "198.51.100.10"})
    sub["reservations"] = [{"hw-address": "02:00:00:00:00:42", "ip-address": "203.0.113.42", "hostname": "amt42"}]
    kea("config-set", config)
    before = kea_hash()
    status, res = run_module(dhcp_scope_info.main, args)
    failed = {c["id"]: c["evidence"] for c in res["failed_checks"]}
    assert status == "exit" and list(failed) == [f"dhcp.scope.{AMT_NET}.option_015"], res
    assert "drift.example" in failed[f"dhcp.scope.{AMT_NET}.option_015"]
    check = ansible_playbook("playbooks/dhcp.yml", "--check", "--diff")
    assert changed_count(check) == 1 and "-        option 15 domain-name: drift.example" in check.stdout, check.stdout
    assert kea_hash() == before
    status, res = run_module(dhcp_scope.main, args)
    assert status == "exit" and [c["key"] for c in res["changes"]] == ["option 15 domain-name"], res
    restart = subprocess.run([sys.executable, str(ROOT / "lab/lab.py"), "restart", "kea-dhcp4"], capture_output=True,
                             text=True)  # fmt: skip
    assert restart.returncode == 0, restart.stderr
    sub = subnet(kea("config-get"))
    assert scope_options(kea("config-get"))[15] == ESTATE["suffix"]  # config-write made it survive
    assert {"name": "ntp-servers", "code": 42, "data": "198.51.100.10"}.items() <= next(
        o for o in sub["option-data"] if o.get("code") == 42).items()  # fmt: skip
    assert [r["hw-address"] for r in sub["reservations"]] == ["02:00:00:00:00:42"]
    assert offer()["options"]["15"] == ESTATE["suffix"]
    assert run_module(dhcp_scope.main, args)[1]["changed"] is False


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"dns_servers": ["2001:db8::53"]}, "input", "IPv4 only"),
        ({"domain_name": ""}, "input", "empty"),
        ({"domain_name": "bad_name..example"}, "input", "not a valid DNS name"),
        ({"network": "192.0.2.0/24"}, "scope", "has no scope 192.0.2.0/24"),
        ({"network": "203.0.113.5/24"}, "input", "not a network"),
        ({"scope_id": 7}, "scope", "has id 1, not 7"),
    ],
)
def test_bad_input_is_refused_naming_it_and_nothing_is_written(run_module, lab, change, error, words):
    before = kea_hash()
    status, res = run_module(dhcp_scope.main, {"scopes": [{**SCOPE, **change}], "kea": KEA, "tsig": TSIG})
    assert status == "fail" and res["error"] == error and words in res["msg"], res
    assert kea_hash() == before


def test_an_unreachable_control_socket_is_a_clear_error(run_module, lab, tmp_path):
    status, res = run_module(dhcp_scope.main, {"scopes": [SCOPE], "kea": {"control_socket": str(tmp_path / "no.sock")}})
    assert status == "fail" and res["error"] == "connect" and "no such control socket" in res["msg"], res


AGENT = {"url": labconfig.KEA_AGENT["url"], "ca_file": str(labconfig.KEA_AGENT_CA),
         "username": labconfig.KEA_AGENT["user"], "password": labconfig.KEA_AGENT["password"]}  # fmt: skip


def test_kea_ctrl_agent_over_https_reads_what_the_sockets_hold(run_module, lab):
    status, res = run_module(dhcp_scope_info.main, {"scopes": [SCOPE], "kea": AGENT, "tsig": TSIG})
    status_s, res_s = run_module(dhcp_scope_info.main, {"scopes": [SCOPE], "kea": KEA, "tsig": TSIG})
    assert status == status_s == "exit", res
    assert res["settings"] == res_s["settings"]
    assert [(c["id"], c["status"]) for c in res["checks"]] == [(c["id"], c["status"]) for c in res_s["checks"]]
    assert AGENT["url"] in res["checks"][0]["evidence"]


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"ca_file": str(labconfig.dc_ca_file("lab"))}, "tls", "CERTIFICATE_VERIFY_FAILED"),  # another CA
        ({"password": "wrong"}, "auth", "HTTP 401"),
        ({"url": f"https://{labconfig.DHCP_IP}:8001/"}, "connect", "refused"),
    ],
)
def test_kea_ctrl_agent_failures_are_clear(run_module, lab, change, error, words):
    status, res = run_module(dhcp_scope_info.main, {"scopes": [SCOPE], "kea": {**AGENT, **change}, "tsig": TSIG})
    assert status == "fail" and res["error"] == error and words in res["msg"], res
    assert "wrong" not in res["msg"]
