"""AMT in the lab: discovery of the simulated AMT devices from the service point's subnet (through the router's port
matrix), the provisioning path walked from inside the AMT subnet and broken hop by hop with independent tools (Kea's
control socket, samba-tool, nft, the lab's process control), and the hello of the simulated device in setup mode as
the service point stand-in records it, decoded here from the published layout with struct.
"""

from __future__ import annotations

import ipaddress
import json
import re
import struct
import subprocess
import sys
import time
import uuid

import pytest
from labutil import ROOT, ansible_module, ansible_playbook, kea, labconfig, netns_run, samba_tool_dns

SUFFIX = labconfig.FORESTS["lab"]["dns"]
SP = labconfig.SERVICE_POINT
EXPECT = {"dns_servers": [labconfig.FORESTS["lab"]["dc_ip"]], "domain_name": SUFFIX, "service_point": SP["ip"]}
POOL = [ipaddress.ip_address(a.strip()) for a in labconfig.DHCP_POOL.split("-")]


def support_class(version: str) -> str:
    """ConfigMgr 2007 SP1: AMT 3.2.1 and later natively; older AMT through Intel's WS-MAN Translator (the seed and
    the domain notes)."""
    return "native" if tuple(int(x) for x in version.split(".")) >= (3, 2, 1) else "translator"


@pytest.fixture(scope="module")
def converged(lab):
    for playbook in ("playbooks/dhcp.yml", "playbooks/dns.yml", "playbooks/network.yml"):
        proc = ansible_playbook(playbook)
        assert proc.returncode == 0, proc.stdout[-3000:]
    return lab


def walk() -> dict:
    res = ansible_module(f"{labconfig.PREFIX}-amt1", "amt_provisioning_probe", {"interface": "eth0", "expect": EXPECT})
    assert "hops" in res, res
    return res


def test_discovery_finds_each_simulated_device_with_its_version_and_support_class(converged):
    args = {"targets": [labconfig.AMT_NET], "username": labconfig.AMT_USER, "password": labconfig.AMT_PASSWORD,
            "wsman_port": 16993, "ca_file": str(labconfig.AMT_CA), "timeout": 1}  # fmt: skip
    res = ansible_module(f"{labconfig.PREFIX}-sp", "amt_discovery", args)
    assert res.get("failed") is not True, res
    found = {d["address"]: d for d in res["devices"]}
    for name, ip in labconfig.AMT_HOSTS.items():
        want = labconfig.AMT_DEVICES[name]
        # WS-MAN's CIM_SoftwareIdentity "AMT" carries the first three parts of the version (the fourth is its
        # "Build Number" instance), as in the go-wsman-messages recordings
        three = ".".join(want["version"].split(".")[:3])
        assert found[ip]["version"] == three and found[ip]["version_source"] == "wsman", found[ip]
        assert found[ip]["support_class"] == support_class(want["version"])
        assert found[ip]["provisioning_state"] == want["provisioning_state"]
        assert found[ip]["tls"]["subject"] == f"CN={name}.{SUFFIX}" and found[ip]["tls"]["key_size"] == 2048
    others = set(found) - set(labconfig.AMT_HOSTS.values())  # only the setup-mode device, inside the DHCP pool
    assert all(POOL[0] <= ipaddress.ip_address(a) <= POOL[1] for a in others), others
    assert res["scanned"] == 254


def test_the_provisioning_path_passes_every_hop(converged):
    res = walk()
    assert [(h["hop"], h["status"]) for h in res["hops"]] == [("dhcp", "pass"), ("dns", "pass"), ("tcp", "pass")]
    assert res["first_broken"] is None


def _break_option_15():
    config = kea("config-get")
    subnet = next(s for s in config["Dhcp4"]["subnet4"] if s["subnet"] == labconfig.AMT_NET)
    subnet["option-data"] = [o for o in subnet["option-data"] if o.get("code") != 15]
    kea("config-set", config)


def _break_alias():
    samba_tool_dns("delete", SUFFIX, "ProvisionServer", "CNAME", SP["fqdn"])


def _break_9971():
    listing = netns_run(f"{labconfig.PREFIX}-rtr", "nft", "-a", "list", "chain", "inet", "oob_prep", "forward").stdout
    handle = re.search(r'comment "oob-prep amt-provisioning" # handle (\d+)', listing).group(1)
    proc = netns_run(
        f"{labconfig.PREFIX}-rtr", "nft", "delete", "rule", "inet", "oob_prep", "forward", "handle", handle
    )
    assert proc.returncode == 0, proc.stderr


def _lab(verb: str, name: str) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "lab/lab.py"), verb, name], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


BREAKS = {  # hop -> (break it by hand, repair it)
    "dhcp": (_break_option_15, lambda: ansible_playbook("playbooks/dhcp.yml")),
    "dns": (_break_alias, lambda: ansible_playbook("playbooks/dns.yml")),
    "tcp-filtered": (_break_9971, lambda: ansible_playbook("playbooks/network.yml")),
    "tcp-refused": (lambda: _lab("stop", "service-point"), lambda: _lab("start", "service-point")),
}


@pytest.mark.parametrize("breakage", list(BREAKS))
def test_breaking_each_hop_in_turn_names_exactly_that_hop(converged, breakage):
    hop, state = (breakage.split("-") + [None])[:2]
    broken, repair = BREAKS[breakage]
    broken()
    try:
        res = walk()
        assert res["first_broken"] == hop, res["hops"]
        assert [c["id"] for c in res["failed_checks"]] == [f"amt.path.{hop}"]
        if state:
            assert res["hops"][-1]["state"] == state
    finally:
        repair()
    assert walk()["first_broken"] is None


def test_the_setup_mode_device_sends_a_hello_the_service_point_records_as_published(converged):
    _lab("restart", "amt-setup")  # a fresh schedule: the device has its lease, 6/15 and ProvisionServer now
    setup = labconfig.AMT_SETUP
    configured = json.loads((labconfig.RUN_DIR / "amt-setup.json").read_text())["devices"][0]["setup"]["hashes"]
    deadline = time.monotonic() + 60
    hello = None
    while hello is None and time.monotonic() < deadline:
        for line in labconfig.SP_RECORD.read_text().splitlines() if labconfig.SP_RECORD.exists() else []:
            rec = json.loads(line)
            if rec["data_hex"] and POOL[0] <= ipaddress.ip_address(rec["peer"]) <= POOL[1]:
                data = bytes.fromhex(rec["data_hex"])
                if len(data) >= 24 and uuid.UUID(bytes_le=data[8:24]) == uuid.UUID(setup["uuid"]):
                    hello = data
        time.sleep(0.5)
    assert hello is not None, "no hello from the setup-mode device within a minute"
    # the published layout, little-endian: u16 admin-credentials-set, u16 version, u32 retry count, 16-byte UUID in
    # SMBIOS order, u8 hash count, then per hash u8 type, u8 size, the hash
    admin, version, _retry, raw_uuid, count = struct.unpack_from("<HHI16sB", hello)
    assert (admin, version, count) == (0, 3, len(configured)) and count >= 2  # the firmware's defaults + the lab root
    assert uuid.UUID(bytes_le=raw_uuid) == uuid.UUID(setup["uuid"])
    offset = 25
    for entry in configured:
        kind, size = hello[offset], hello[offset + 1]
        assert (kind, size) == (2, 32) and hello[offset + 2 : offset + 34] == bytes.fromhex(entry["hex"])
        offset += 34
    assert len(hello) == offset


def test_without_credentials_the_versions_come_from_the_headers_amt3s_from_the_401_of_wsman(converged):
    """amt3 says only "AMT" on GET / and its four-part version in the Server header of its /wsman 401 (Open AMT's
    recorded 11.8.50.3425); amt1's and amt2's GET / headers carry theirs. Nothing is dropped."""
    res = ansible_module(f"{labconfig.PREFIX}-sp", "amt_discovery", {"targets": list(labconfig.AMT_HOSTS.values()),
                                                                      "timeout": 1})  # fmt: skip
    assert res.get("failed") is not True, res
    found = {d["address"]: d for d in res["devices"]}
    assert sorted(found) == sorted(labconfig.AMT_HOSTS.values())
    amt3 = found[labconfig.AMT_HOSTS["amt3"]]
    assert (amt3["version"], amt3["version_source"], amt3["support_class"]) == ("11.8.50.3425", "header_401", "native")
    assert found[labconfig.AMT_HOSTS["amt2"]]["support_class"] == "translator"
