"""network_flow_rules' main(): files written for the lab's estate (the golden files of the port matrix), written
again only when they differ, check mode writing nothing, diffs per file, and bad input writing nothing."""

from __future__ import annotations

import os
from pathlib import Path

import network_flow_rules
import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "module_utils" / "fixtures" / "port_matrix"
FILES = {"nftables": "oob-flows.nft", "iptables": "oob-flows.iptables", "ios": "oob-flows.ios",
         "panos": "oob-flows.panos"}  # fmt: skip


def args(dest, **extra):
    base = {
        "dest_dir": str(dest),
        "environment": "lab",
        "service_point": "198.51.100.20",
        "consoles": ["198.51.100.21"],
        "amt_subnets": ["203.0.113.0/24"],
        "server_subnets": ["198.51.100.0/24"],
        "dns_servers": ["198.51.100.10"],
        "dhcp_servers": ["198.51.100.11"],
        "dhcp_relays": ["203.0.113.1", "198.51.100.254"],
    }
    return dict(base, **extra)


def golden(fmt: str) -> str:
    return (GOLDEN / f"lab.{FILES[fmt].split('.')[1]}").read_text()


def test_writes_one_file_per_format_then_nothing(run_module, tmp_path):
    dest = tmp_path / "artifacts" / "lab"
    status, res = run_module(network_flow_rules.main, args(dest))
    assert status == "exit", res
    assert res["changed"] is True
    assert sorted(os.listdir(dest)) == sorted(FILES.values())  # no temporary file left behind
    for fmt, name in FILES.items():
        assert (dest / name).read_text() == golden(fmt)
    assert res["rule_counts"] == {"nftables": 15, "iptables": 17, "ios": 31, "panos": 13}
    assert [f["path"] for f in res["files"]] == [str(dest / name) for name in FILES.values()]
    flows = {f["id"]: f for f in res["flows"]}
    assert flows["amt-provisioning"]["seed"].endswith(": TCP 9971.") and flows["amt-provisioning"]["port"] == 9971
    stamps = {name: (dest / name).stat().st_mtime_ns for name in FILES.values()}

    status, again = run_module(network_flow_rules.main, args(dest))
    assert status == "exit" and again["changed"] is False
    assert not any(f["changed"] for f in again["files"])
    assert {name: (dest / name).stat().st_mtime_ns for name in FILES.values()} == stamps


def test_check_mode_writes_nothing_and_shows_each_file(run_module, tmp_path):
    dest = tmp_path / "new"
    status, res = run_module(network_flow_rules.main, args(dest, _ansible_check_mode=True, _ansible_diff=True))
    assert status == "exit" and res["changed"] is True, res
    assert not dest.exists()
    assert [d["before"] for d in res["diff"]] == ["", "", "", ""]
    assert [d["after"] for d in res["diff"]] == [golden(fmt) for fmt in FILES]
    assert res["diff"][0]["after_header"] == str(dest / "oob-flows.nft")


def test_drift_in_one_file_is_shown_and_fixed_alone(run_module, tmp_path):
    run_module(network_flow_rules.main, args(tmp_path))
    ios = tmp_path / "oob-flows.ios"
    ios.write_text(ios.read_text().replace(" permit ip any 203.0.113.0 0.0.0.255\n", " permit ip any any\n"))
    status, res = run_module(network_flow_rules.main, args(tmp_path, _ansible_check_mode=True, _ansible_diff=True))
    assert status == "exit" and res["changed"] is True
    assert [f["changed"] for f in res["files"]] == [False, False, True, False]
    assert "permit ip any any" in res["diff"][2]["before"] and "permit ip any any" not in res["diff"][2]["after"]
    assert "permit ip any any" in ios.read_text()  # check mode wrote nothing
    status, res = run_module(network_flow_rules.main, args(tmp_path))
    assert res["changed"] is True and ios.read_text() == golden("ios")


def test_only_the_formats_asked_for_and_others_left_alone(run_module, tmp_path):
    (tmp_path / "oob-flows.nft").write_text("someone else's\n")
    status, res = run_module(network_flow_rules.main, args(tmp_path, formats=["ios", "panos"], file_prefix="edge"))
    assert status == "exit", res
    assert sorted(os.listdir(tmp_path)) == ["edge.ios", "edge.panos", "oob-flows.nft"]
    assert (tmp_path / "oob-flows.nft").read_text() == "someone else's\n"
    assert res["rule_counts"] == {"ios": 31, "panos": 13}


def test_mode(run_module, tmp_path):
    run_module(network_flow_rules.main, args(tmp_path, formats=["nftables"]))
    status, res = run_module(network_flow_rules.main, args(tmp_path, formats=["nftables"], mode="0600"))
    assert status == "exit" and res["changed"] is True
    assert (tmp_path / "oob-flows.nft").stat().st_mode & 0o777 == 0o600
    status, res = run_module(network_flow_rules.main, args(tmp_path, formats=["nftables"], mode="0600"))
    assert res["changed"] is False


def test_scope_ports(run_module, tmp_path):
    status, res = run_module(network_flow_rules.main, args(tmp_path, scope="ports"))
    assert status == "exit", res
    assert (tmp_path / "oob-flows.nft").read_text() == (GOLDEN / "lab-ports.nft").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"amt_subnets": ["203.0.113.7/24"]}, "amt_subnets[0] 203.0.113.7/24 is not a network: its host bits are set"),
        ({"consoles": ["192.0.2.21"]}, "consoles[0] 192.0.2.21 is outside every server subnet"),
        ({"consoles": []}, "consoles is empty"),
        ({"service_point": "2001:db8::20"}, "service_point 2001:db8::20 is an IPv6 address"),
        ({"amt_subnets": ["2001:db8::/64"]}, "is an IPv6 subnet"),
        ({"table_name": "oob prep"}, "table_name 'oob prep' is not valid"),
        ({"formats": []}, "formats is empty"),
        ({"formats": ["ios", "ios"]}, "a format is listed twice"),
        ({"file_prefix": "../x"}, "file_prefix"),
    ],
)
def test_bad_input_writes_nothing(run_module, tmp_path, extra, message):
    dest = tmp_path / "out"
    status, res = run_module(network_flow_rules.main, args(dest, **extra))
    assert status == "fail" and message in res["msg"], res
    assert res["error"] == "input" and "Traceback" not in res["msg"]
    assert not dest.exists()


def test_unknown_format_is_refused_by_the_argument_spec(run_module, tmp_path):
    status, res = run_module(network_flow_rules.main, args(tmp_path, formats=["junos"]))
    assert status == "fail" and "junos" in res["msg"]


def test_dest_dir_must_be_an_absolute_folder(run_module, tmp_path):
    status, res = run_module(network_flow_rules.main, args("artifacts/lab"))
    assert status == "fail" and "is relative" in res["msg"]
    (tmp_path / "file").write_text("")
    status, res = run_module(network_flow_rules.main, args(tmp_path / "file"))
    assert status == "fail" and "is not a folder" in res["msg"]


def test_a_folder_that_cannot_be_written_fails_clearly(run_module, tmp_path, monkeypatch):
    def refuse(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(network_flow_rules.tempfile, "mkstemp", refuse)
    status, res = run_module(network_flow_rules.main, args(tmp_path))
    assert status == "fail" and res["error"] == "file"
    assert res["msg"].startswith(f"cannot write {tmp_path / 'oob-flows.nft'}") and "Permission denied" in res["msg"]
