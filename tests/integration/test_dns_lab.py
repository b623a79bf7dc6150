"""dns_provision_record against the lab's real DNS servers: Samba's internal DNS ("secure only" on lab.example,
nonsecure on other.example) with GSS-TSIG and unsigned updates, and BIND 9 with TSIG. Records are read back with
raw dnspython queries and samba-tool, independent of the module; every name carries a random label and is removed."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import dns.message
import dns.query
import dns.rdatatype
import dns_provision_record
import pytest
from labutil import ROOT, highest_usn, labconfig, netns_run

LAB_DC = {"host": labconfig.dc_fqdn("lab"), "address": labconfig.FORESTS["lab"]["dc_ip"]}
OTHER_DC = {"host": labconfig.dc_fqdn("other"), "address": labconfig.FORESTS["other"]["dc_ip"]}
BIND = {"host": labconfig.BIND["fqdn"], "address": labconfig.BIND["ip"]}
KERBEROS = {"bind_user": "Administrator@LAB.EXAMPLE", "bind_password": labconfig.ADMIN_PASSWORD}
TSIG = {
    "auth": "tsig",
    "tsig_key_name": labconfig.BIND["tsig"]["name"],
    "tsig_key_secret": labconfig.BIND["tsig"]["secret"],
}


def ask(server: dict, name: str, rdtype: str = "A") -> list[str]:
    """The answer section of one query, as zone-file lines (independent of the module)."""
    response = dns.query.udp(dns.message.make_query(name, rdtype), server["address"], timeout=5)
    return [line for rrset in response.answer for line in rrset.to_text().splitlines()]


def soa_serial(server: dict, zone: str) -> int:
    response = dns.query.udp(dns.message.make_query(zone, "SOA"), server["address"], timeout=5)
    return response.answer[0][0].serial


def delete(server: dict, zone: str, name: str, **auth) -> None:
    params = dict(defaults(), suffixes=[zone], record_name=name, target=f"oobsp.{zone}", server=server,
                  state="absent", **auth)  # fmt: skip
    dns_provision_record.run(FakeModule(params))


class FakeModule:
    def __init__(self, params, check_mode=False):
        self.params, self.check_mode, self.warnings = params, check_mode, []

    def warn(self, msg):
        self.warnings.append(msg)


def defaults() -> dict:
    return {k: v.get("default") for k, v in dns_provision_record.argument_spec().items()}


@pytest.fixture()
def krb5(lab, monkeypatch):
    monkeypatch.setenv("KRB5_CONFIG", str(lab.KRB5_CONFIG))


@pytest.fixture()
def label(lab):
    return f"ProvisionServer-{uuid.uuid4().hex[:8]}"


def test_gss_tsig_against_secure_only_samba_converges_and_check_mode_writes_nothing(run_module, admin, krb5, label):
    args = dict(suffixes=["lab.example"], record_name=label, target=labconfig.SERVICE_POINT["fqdn"], server=LAB_DC,
                **KERBEROS)  # fmt: skip
    name = f"{label}.lab.example."
    try:
        usn, serial = highest_usn(admin), soa_serial(LAB_DC, "lab.example")
        status, check = run_module(dns_provision_record.main, dict(args, _ansible_check_mode=True))
        assert status == "exit" and check["changed"] is True, check
        assert check["dns_operations"] == {"queries": 1, "updates": 0}
        assert highest_usn(admin) == usn and soa_serial(LAB_DC, "lab.example") == serial
        assert ask(LAB_DC, name, "CNAME") == []

        status, res = run_module(dns_provision_record.main, args)
        assert status == "exit" and res["changed"] is True, res
        assert res["records"][0]["zone"] == "lab.example"
        assert ask(LAB_DC, name, "CNAME") == [f"{name} 3600 IN CNAME {labconfig.SERVICE_POINT['fqdn']}."]

        status, again = run_module(dns_provision_record.main, args)
        assert again["changed"] is False and again["dns_operations"] == {"queries": 1, "updates": 0}
    finally:
        delete(LAB_DC, "lab.example", label, **KERBEROS)
    assert ask(LAB_DC, name, "CNAME") == []


def test_unsigned_updates_are_refused_by_secure_only_and_taken_by_nonsecure(run_module, admin, lab, label):
    usn = highest_usn(admin)
    status, res = run_module(dns_provision_record.main, dict(suffixes=["lab.example"], record_name=label,
                             target=labconfig.SERVICE_POINT["fqdn"], server=LAB_DC, auth="none"))  # fmt: skip
    assert status == "fail" and res["error"] == "refused"
    assert "the zone takes secure updates only; use auth=gss-tsig" in res["msg"]
    assert highest_usn(admin) == usn
    args = dict(suffixes=["other.example"], record_name=label, target="oobsp.other.example", server=OTHER_DC,
                auth="none")  # fmt: skip
    try:
        status, res = run_module(dns_provision_record.main, args)
        assert status == "exit" and res["changed"] is True, res
        assert ask(OTHER_DC, f"{label}.other.example.", "CNAME") == [
            f"{label}.other.example. 3600 IN CNAME oobsp.other.example."
        ]
    finally:
        delete(OTHER_DC, "other.example", label, auth="none")


def test_tsig_against_bind_converges_and_a_wrong_key_fails_clearly(run_module, lab, label):
    args = dict(suffixes=["bind.example"], record_name=label, type="A", ipv4=labconfig.SERVICE_POINT["ip"],
                server=BIND, **TSIG)  # fmt: skip
    name = f"{label}.bind.example."
    try:
        status, res = run_module(dns_provision_record.main, args)
        assert status == "exit" and res["changed"] is True, res
        assert ask(BIND, name) == [f"{name} 3600 IN A {labconfig.SERVICE_POINT['ip']}"]
        status, again = run_module(dns_provision_record.main, args)
        assert again["changed"] is False
        wrong = "A" * 43 + "="  # valid base64, another secret
        status, res = run_module(dns_provision_record.main, dict(args, ipv4="198.51.100.21", tsig_key_secret=wrong))
        assert status == "fail" and res["error"] == "credentials"
        assert (
            "rejected the update's signature" in res["msg"] and "check the key name, algorithm and secret" in res["msg"]
        )
        assert wrong not in res["msg"]
        assert ask(BIND, name) == [f"{name} 3600 IN A {labconfig.SERVICE_POINT['ip']}"]  # nothing changed
    finally:
        delete(BIND, "bind.example", label, **dict(TSIG, type="A", ipv4=labconfig.SERVICE_POINT["ip"]))


def samba_tool_dns(*args: str) -> None:
    cmd = ["samba-tool", "dns", *args, "-s", str(labconfig.dc_dir("lab") / "empty.conf"),
           f"-UAdministrator%{labconfig.ADMIN_PASSWORD}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("drift", ["deleted", "pointed elsewhere"])
def test_drift_is_reported_by_a_check_run_and_restored(run_module, admin, krb5, label, drift):
    args = dict(suffixes=["lab.example"], record_name=label, target=labconfig.SERVICE_POINT["fqdn"], server=LAB_DC,
                **KERBEROS)  # fmt: skip
    name = f"{label}.lab.example."
    try:
        run_module(dns_provision_record.main, args)
        # by hand, with Samba's own tool
        samba_tool_dns("delete", LAB_DC["address"], "lab.example", label, "CNAME", labconfig.SERVICE_POINT["fqdn"])
        if drift == "pointed elsewhere":
            samba_tool_dns("add", LAB_DC["address"], "lab.example", label, "CNAME", "evil.lab.example")
        usn = highest_usn(admin)
        status, check = run_module(dns_provision_record.main, dict(args, _ansible_check_mode=True, _ansible_diff=True))
        assert status == "exit" and check["changed"] is True
        before = "" if drift == "deleted" else f"{label}.lab.example. 900 IN CNAME evil.lab.example\n"
        assert check["diff"][0]["before"].replace(" 3600 ", " 900 ") == before.replace(" 3600 ", " 900 ")
        assert highest_usn(admin) == usn
        status, fix = run_module(dns_provision_record.main, args)
        assert fix["changed"] is True
        assert ask(LAB_DC, name, "CNAME") == [f"{name} 3600 IN CNAME {labconfig.SERVICE_POINT['fqdn']}."]
    finally:
        delete(LAB_DC, "lab.example", label, **KERBEROS)


def test_an_amt_device_finds_provisionserver_through_the_dns_server_dhcp_offers(run_module, dhcp_converged, krb5):
    lab = dhcp_converged
    """What an unprovisioned AMT device does: DHCP (options 6 and 15) from the AMT subnet, then ProvisionServer.<15>
    asked of the server in option 6, from the AMT subnet."""
    offer = json.loads(
        netns_run(f"{lab.PREFIX}-amtc", sys.executable, str(ROOT / "lab/probes/dhcp_discover.py")).stdout
    )
    dns_server, suffix = offer["options"]["6"][0], offer["options"]["15"]
    args = dict(suffixes=[suffix], target=labconfig.SERVICE_POINT["fqdn"], server=LAB_DC, **KERBEROS)
    status, res = run_module(dns_provision_record.main, args)  # the real name: ProvisionServer
    assert status == "exit", res
    code = (
        "import dns.resolver; r = dns.resolver.Resolver(configure=False); "
        f"r.nameservers = ['{dns_server}']; print(r.resolve('ProvisionServer.{suffix}', 'A')[0].address)"
    )
    proc = netns_run(f"{lab.PREFIX}-amt1", sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == labconfig.SERVICE_POINT["ip"]


def test_gss_tsig_from_the_kinit_ccache_and_without_a_ticket(run_module, kerberos, label, tmp_path, monkeypatch):
    args = dict(suffixes=["lab.example"], record_name=label, target=labconfig.SERVICE_POINT["fqdn"], server=LAB_DC)
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path}/empty-ccache")  # no ticket at all
    status, res = run_module(dns_provision_record.main, args)
    assert status == "fail" and res["error"] == "credentials" and "run kinit" in res["msg"], res
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path}/ccache")
    kerberos("Administrator@LAB.EXAMPLE", labconfig.ADMIN_PASSWORD)
    try:
        status, res = run_module(dns_provision_record.main, args)
        assert status == "exit" and res["changed"] is True, res
    finally:
        delete(LAB_DC, "lab.example", label, **KERBEROS)


@pytest.mark.parametrize("server", [LAB_DC, BIND], ids=["samba", "bind"])
def test_a_suffix_the_server_holds_no_zone_for_is_a_clear_error(run_module, lab, server):
    status, res = run_module(dns_provision_record.main, dict(suffixes=["nozone.example"], target="oobsp.lab.example",
                                                             server=server, auth="none"))  # fmt: skip
    assert status == "fail" and res["error"] == "zone", res
    assert "holds no zone for the suffix nozone.example" in res["msg"]
