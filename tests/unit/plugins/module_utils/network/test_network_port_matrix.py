"""network.port_matrix: the flows against the seed's own text, golden files of every platform for the lab's estate (and
nft / iptables-restore checking them for real in a throw-away network namespace), and every bad input refused.

Expected ports and roles come from the seed's sentences (fixtures/port_matrix/seed-network-rows.txt, a verbatim
excerpt of the seed, checked against the seed when it is beside the project), never from the module's table.
Regenerate the golden files after an intended change with OOB_REGEN_GOLDEN=1, then read them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible_collections.oob.prep.plugins.module_utils.network import port_matrix as pm

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "port_matrix"
SEED_EXCERPT = FIXTURES / "seed-network-rows.txt"
SEED = HERE.parents[4].parent / "shared" / "seeds" / "oob-management-dependencies.txt"

LAB = {
    "service_point": "198.51.100.20",
    "consoles": ["198.51.100.21"],
    "amt_subnets": ["203.0.113.0/24"],
    "server_subnets": ["198.51.100.0/24"],
    "dns_servers": ["198.51.100.10"],
    "dhcp_servers": ["198.51.100.11"],
    "dhcp_relays": ["203.0.113.1", "198.51.100.254"],
}
EXT = {"nftables": "nft", "iptables": "iptables", "ios": "ios", "panos": "panos"}
# who the seed's sentences name, as the matrix's roles
PHRASES = {
    "the AMT management controllers": "amt",
    "AMT managed controllers": "amt",
    "AMT management controllers": "amt",
    "the out of band service point site system server": "service_point",
    "computers running the out of band management console": "console",
}
SEED_PORT_LINE = re.compile(r"^- From (?P<src>.+?) to (?P<dst>.+?) for .*: TCP (?P<port>\d+)\.$")


def seed_port_rows() -> list[dict]:
    rows = []
    for line in SEED_EXCERPT.read_text().splitlines():
        m = SEED_PORT_LINE.match(line)
        if m:
            rows.append({"text": line[2:], "src": PHRASES[m["src"]], "dst": PHRASES[m["dst"]], "port": int(m["port"])})
    return rows


def estate(**changes):
    base = {k: (list(v) if isinstance(v, list) else v) for k, v in LAB.items()}
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


# ------------------------------------------------------------------------------------------- the seed's own text


def test_the_excerpt_is_verbatim_from_the_seed():
    if not SEED.exists():
        pytest.skip(f"the seed is not beside the project ({SEED})")
    seed_lines = set(SEED.read_text().splitlines())
    for line in SEED_EXCERPT.read_text().splitlines():
        assert line in seed_lines, line


def test_every_seed_port_sentence_is_one_flow_with_its_port_and_roles():
    rows = seed_port_rows()
    assert len(rows) == 5  # the seed lists five
    oob = [f for f in pm.FLOWS if f.kind == "oob"]
    assert len(oob) == len(rows)
    for row in rows:
        [flow] = [f for f in oob if f.seed == row["text"]]
        assert (flow.source, flow.dest, flow.proto, flow.port) == (row["src"], row["dst"], "tcp", row["port"])
        assert flow.row == "network_ports"


def test_every_flow_cites_a_seed_sentence_verbatim():
    excerpt = SEED_EXCERPT.read_text()
    for flow in pm.FLOWS:
        assert f"- {flow.seed}\n" in excerpt, flow.id
    infra = {f.id: f for f in pm.FLOWS if f.kind == "infrastructure"}
    # the network services row: DHCP (RFC 2131: server port 67) and DNS (RFC 1035: 53), cited with the RFC
    assert {(f.proto, f.port) for f in infra.values() if f.row == "dns_name_resolution"} == {("udp", 53), ("tcp", 53)}
    assert {f.port for f in infra.values() if f.row == "dhcp_active_scope"} == {67, 68}  # RFC 2131 4.1: server, client
    assert all(f.reference.startswith("RFC") for f in infra.values())


def test_a_port_number_is_written_once_in_the_module():
    """Ports live in FLOWS only; nothing else in the module repeats one."""
    source = Path(pm.__file__).read_text()
    body = source[source.index("# role -> (estate key") :]
    for port in {str(f.port) for f in pm.FLOWS}:
        assert not re.search(rf"\b{port}\b", body), port


# ---------------------------------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("scope", pm.SCOPES)
@pytest.mark.parametrize("fmt", pm.FORMATS)
def test_golden(fmt, scope):
    path = FIXTURES / f"lab{'' if scope == 'subnets' else '-ports'}.{EXT[fmt]}"
    text = pm.render(fmt, LAB, scope=scope, environment="lab")
    if os.environ.get("OOB_REGEN_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("fmt", pm.FORMATS)
def test_every_seed_port_and_sentence_is_in_every_format(fmt):
    text = (FIXTURES / f"lab.{EXT[fmt]}").read_text()
    flat = " ".join(line.strip().removeprefix("remark ") for line in text.splitlines())  # IOS wraps remarks
    for row in seed_port_rows():
        assert row["text"] in flat
        pattern = {"nftables": rf"tcp dport {row['port']} ", "iptables": rf"--dport {row['port']} ",
                   "ios": rf" eq {row['port']}$", "panos": rf"port {row['port']}$"}[fmt]  # fmt: skip
        assert re.search(pattern, text, re.M), (fmt, row["port"])


def test_each_rule_is_commented_with_its_seed_row():
    by_id = {f.id: f for f in pm.FLOWS}
    for fmt, marker in (("nftables", 'comment "oob-prep '), ("iptables", '--comment "oob-prep ')):
        comment = None
        for line in (FIXTURES / f"lab.{EXT[fmt]}").read_text().splitlines():
            if line.strip().startswith("#"):
                comment = line
            elif marker in line:
                fid = line.split(marker)[1].split('"')[0]
                if fid in by_id:
                    assert by_id[fid].seed in comment, line
    ios = (FIXTURES / "lab.ios").read_text().splitlines()
    remark = ""
    for line in ios:
        if line.startswith(" remark"):
            remark = (remark if ios[ios.index(line) - 1].startswith(" remark") else "") + line[8:] + " "
        elif line.startswith(" permit") and " 0.0.0.255 any" not in line and " any " not in line:
            assert any(f.seed in " ".join(remark.split()) for f in pm.FLOWS), line
    for line in (FIXTURES / "lab.panos").read_text().splitlines():
        if " action allow " in line:
            assert any(f'): {f.seed}"' in line for f in pm.FLOWS), line
        assert not line.startswith("#")  # PAN-OS's CLI has no comment lines


@pytest.mark.parametrize("scope", pm.SCOPES)
def test_no_any_any(scope):
    for fmt in pm.FORMATS:
        text = pm.render(fmt, LAB, scope=scope)
        for line in text.splitlines():
            s = line.strip()
            if fmt == "nftables" and re.search(r"\b(accept|drop)\b", s) and not s.startswith(("#", "type ")):
                assert "ip saddr" in s or "ip daddr" in s, s
            if fmt == "iptables" and s.startswith("-A OOB-PREP"):
                assert " -s " in s or " -d " in s, s
            if fmt == "ios":
                assert not re.search(r"(permit|deny) \w+ any any", s), s
            if fmt == "panos" and " rules " in s and s.startswith("set"):
                assert not (" source any " in s and " destination any " in s), s


def test_platform_limits():
    big = estate(
        consoles=[f"198.51.100.{i}" for i in range(21, 31)], amt_subnets=["203.0.113.0/25", "203.0.113.128/25"]
    )
    ios = pm.render("ios", big)
    assert all(len(line) - len(" remark ") <= 100 for line in ios.splitlines() if line.startswith(" remark"))
    nft = pm.render("nftables", big)
    assert all(len(c) <= 128 for c in re.findall(r'comment "([^"]*)"', nft))
    panos = pm.render("panos", big)
    for line in panos.splitlines():
        if line.startswith("set rulebase"):
            assert len(line.split()[4]) <= 63
            assert len(line.split('description "')[1]) <= 1024


# ---------------------------------------------------------------------------------------------------- semantics


def test_rule_counts():
    counts = {fmt: pm.render_counted(fmt, LAB)[1] for fmt in pm.FORMATS}
    # nftables: 2 replies + 11 flows + 2 isolation drops; IOS: forward and reply entry per pair, one broadcast
    # entry, 2 denies, 2 closing permits; PAN-OS: 11 flows + 2 isolation rules
    assert counts == {"nftables": 15, "iptables": 17, "ios": 31, "panos": 13}


def test_several_consoles_and_subnets_without_server_subnets():
    big = estate(consoles=["198.51.100.21", "198.51.100.22"], amt_subnets=["203.0.113.0/25", "203.0.113.128/25"],
                 server_subnets=None)  # fmt: skip
    nft = pm.render("nftables", big)
    assert "elements = { 203.0.113.0/25, 203.0.113.128/25 }" in nft
    # without server subnets, the server side is the service point and the consoles
    assert "elements = { 198.51.100.20, 198.51.100.21, 198.51.100.22 }" in nft
    ios = pm.render("ios", big).splitlines()
    assert " permit tcp host 198.51.100.22 203.0.113.128 0.0.0.127 eq 16995" in ios
    assert " permit tcp 203.0.113.128 0.0.0.127 eq 16995 host 198.51.100.22 established" in ios
    assert " deny ip host 198.51.100.22 203.0.113.0 0.0.0.127" in ios
    ipt = pm.render("iptables", big)
    assert ipt.count("-j DROP") == 2 * 3 * 2  # both ways x 3 server-side hosts x 2 subnets


def test_optional_roles_missing_skip_their_flows():
    bare = estate(dns_servers=None, dhcp_servers=None, dhcp_relays=None)
    p = pm.plan(bare)
    assert {s["id"] for s in p["skipped"]} == {f.id for f in pm.FLOWS if f.kind == "infrastructure"}
    nft = pm.render("nftables", bare)
    assert "dport 53" not in nft and "dport 67" not in nft
    assert "# not rendered: amt-dns-udp (no dns_servers given)" in nft


def test_a_console_on_the_service_point_gives_no_duplicate_ios_entry():
    ios = pm.render("ios", estate(consoles=["198.51.100.20"])).splitlines()
    entries = [line for line in ios if line.startswith((" permit", " deny"))]
    assert len(entries) == len(set(entries))


def test_ports_scope_drops_only_the_amt_ports_of_the_seed():
    seed_ports = sorted({r["port"] for r in seed_port_rows() if r["dst"] == "amt"})
    p = pm.plan(LAB, scope="ports")
    assert sorted(port for _proto, port in p["ports"]) == seed_ports and not p["isolate"]
    assert f"tcp dport {{ {', '.join(map(str, seed_ports))} }} counter drop" in pm.render(
        "nftables", LAB, scope="ports"
    )


def test_matrix_and_probe_targets():
    flows = {f["id"]: f for f in pm.matrix(LAB)}
    assert flows["amt-provisioning"]["sources"] == ["203.0.113.0/24"]
    assert flows["amt-provisioning"]["destinations"] == ["198.51.100.20"]
    assert flows["dhcp-broadcast"]["destinations"] == ["255.255.255.255"]
    from_amt = pm.probe_targets(LAB, "amt")
    assert {(t["id"], t["dest"], t["port"]) for t in from_amt} == {
        ("amt-provisioning", "198.51.100.20", 9971),
        ("amt-dns-tcp", "198.51.100.10", 53),
    }
    from_console = pm.probe_targets(LAB, "console", expect="closed")
    assert {t["dest"] for t in from_console} == {"203.0.113.0/24"} and {t["expect"] for t in from_console} == {"closed"}
    with pytest.raises(ValueError, match="unknown role"):
        pm.probe_targets(LAB, "printer")
    with pytest.raises(ValueError, match="expect must be open, closed or None"):
        pm.probe_targets(LAB, "amt", expect="maybe")


# ---------------------------------------------------------------------------------------------------- bad input


def bad_flow(port):
    return (pm.Flow("x", "amt", "service_point", "tcp", port, "network_ports", "a row", "test"),)


@pytest.mark.parametrize(
    ("changes", "options", "message"),
    [
        ({}, {"flows": bad_flow(0)}, "port 0 is outside 1-65535"),
        ({}, {"flows": bad_flow(65536)}, "port 65536 is outside 1-65535"),
        ({}, {"flows": bad_flow("http")}, "is not a port number"),
        ({}, {"flows": (pm.Flow("x", "amt", "printer", "tcp", 1, "r", "s", "p"),)}, "unknown role 'printer'"),
        ({}, {"flows": (pm.Flow("x", "amt", "service_point", "icmp", 1, "r", "s", "p"),)}, "protocol 'icmp'"),
        ({}, {"flows": ()}, "the flow table is empty"),
        ({"amt_subnets": ["203.0.113.5/24"]}, {}, "host bits are set (the network is 203.0.113.0/24)"),
        ({"server_subnets": ["198.51.100.1/24"]}, {}, "server_subnets[0] 198.51.100.1/24 is not a network"),
        ({"amt_subnets": ["203.0.113.0"]}, {}, "has no prefix length"),
        ({"amt_subnets": ["not-a-net"]}, {}, "is not an IPv4 subnet"),
        ({"consoles": ["198.51.101.5"]}, {}, "consoles[0] 198.51.101.5 is outside every server subnet"),
        ({"service_point": "192.0.2.20"}, {}, "service_point 192.0.2.20 is outside every server subnet"),
        ({"consoles": []}, {}, "consoles is empty"),
        ({"amt_subnets": []}, {}, "amt_subnets is empty"),
        ({"server_subnets": []}, {}, "server_subnets is an empty list"),
        ({"service_point": None}, {}, "service_point: give"),
        ({"service_point": "2001:db8::20"}, {}, "service_point 2001:db8::20 is an IPv6 address"),
        ({"consoles": ["2001:db8::21"]}, {}, "consoles[0] 2001:db8::21 is an IPv6 address"),
        ({"amt_subnets": ["2001:db8:1::/64"]}, {}, "amt_subnets[0] 2001:db8:1::/64 is an IPv6 subnet"),
        ({"server_subnets": ["2001:db8::/64"]}, {}, "is an IPv6 subnet"),
        ({"dns_servers": ["2001:db8::53"]}, {}, "dns_servers[0] 2001:db8::53 is an IPv6 address"),
        ({"dhcp_relays": ["::ffff:203.0.113.1"]}, {}, "is an IPv6 address"),
        ({"service_point": "198.51.100.20/32"}, {}, "without a prefix length"),
        ({"service_point": "203.0.113.20", "server_subnets": None}, {}, "is inside the AMT subnet"),
        ({"dns_servers": ["203.0.113.53"]}, {}, "dns_servers[0] 203.0.113.53 is inside the AMT subnet"),
        ({"amt_subnets": ["203.0.113.0/24", "203.0.113.128/25"]}, {}, "overlap"),
        ({"server_subnets": ["198.51.100.0/24", "203.0.113.0/28"]}, {}, "overlaps amt_subnets"),
        ({"consoles": ["198.51.100.21", "198.51.100.21"]}, {}, "is listed twice"),
        ({"consoles": "198.51.100.21"}, {}, "consoles must be a list"),
        ({"printers": ["198.51.100.99"]}, {}, "unknown estate key(s) printers"),
        ({}, {"scope": "everything"}, "scope must be one of"),
    ],
)  # fmt: skip
def test_bad_input_renders_nothing(changes, options, message):
    for fmt in pm.FORMATS:
        with pytest.raises(ValueError) as err:
            pm.render(fmt, estate(**changes), **options)
        assert message in str(err.value), (fmt, str(err.value))


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("nftables", {"table_name": "oob prep"}),
        ("iptables", {"chain_name": "A-CHAIN-NAME-LONGER-THAN-28-CHARS"}),
        ("ios", {"acl_name": "1-ACL"}),
        ("panos", {"panos_amt_zone": "a zone with spaces"}),
    ],
)
def test_a_bad_name_is_refused_by_its_format(fmt, options):
    with pytest.raises(ValueError, match=f"{next(iter(options))} .* is not valid"):
        pm.render(fmt, LAB, **options)
    for other in set(pm.FORMATS) - {fmt}:  # the option belongs to one format; the others render
        assert pm.render(other, LAB, **options)


def test_unknown_format():
    with pytest.raises(ValueError, match="format must be one of nftables, iptables, ios, panos"):
        pm.render("junos", LAB)


@pytest.mark.parametrize(("value", "expected"), [(1, 1), (65535, 65535), ("443", 443)])
def test_check_port(value, expected):
    assert pm.check_port(value) == expected


@pytest.mark.parametrize("value", [0, -1, 65536, True, None, "x"])
def test_check_port_refuses(value):
    with pytest.raises(ValueError):
        pm.check_port(value)


# ------------------------------------------------------------------------------- nft and iptables-restore, for real


@pytest.fixture()
def scratch_netns():
    """A throw-away network namespace (root only; nothing in it routes anywhere)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 to make a throw-away network namespace")
    name = f"oobtmp-pm-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


ESTATES = {
    "lab": LAB,
    "bare": estate(server_subnets=None, dns_servers=None, dhcp_servers=None, dhcp_relays=None),
    "many": estate(consoles=["198.51.100.21", "198.51.100.22"], amt_subnets=["203.0.113.0/25", "203.0.113.128/25"],
                   server_subnets=["198.51.100.0/25", "198.51.100.128/25"]),
}  # fmt: skip


@pytest.mark.parametrize("deny", pm.DENY)
@pytest.mark.parametrize("scope", pm.SCOPES)
@pytest.mark.parametrize("name", ESTATES)
def test_nft_and_iptables_accept_the_output(scratch_netns, tmp_path, name, scope, deny):
    if not shutil.which("nft") or not shutil.which("iptables-restore"):
        pytest.skip("nft and iptables-restore are needed")
    nft = tmp_path / "t.nft"
    nft.write_text(pm.render("nftables", ESTATES[name], scope=scope, deny=deny))
    run = subprocess.run(["ip", "netns", "exec", scratch_netns, "nft", "-c", "-f", str(nft)], capture_output=True,
                         text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    ipt = pm.render("iptables", ESTATES[name], scope=scope, deny=deny)
    for args in (["--test"], ["--test", "--noflush"]):
        run = subprocess.run(["ip", "netns", "exec", scratch_netns, "iptables-restore", *args], input=ipt,
                             capture_output=True, text=True)  # fmt: skip
        assert run.returncode == 0, run.stderr


# How each style refuses, written from the tools' documentation: nftables "reject with tcp reset" (TCP only, hence
# "meta l4proto tcp" on a rule for every protocol) and "reject with icmp admin-prohibited" (ICMP type 3 code 13,
# RFC 1812); iptables "-j REJECT --reject-with tcp-reset" (needs "-p tcp") and "--reject-with icmp-admin-prohibited".
DENY_RULES = {
    ("nftables", "drop"): ["counter drop"],
    ("nftables", "reject-tcp-reset"): ["meta l4proto tcp counter reject with tcp reset",
                                       "counter reject with icmp admin-prohibited"],
    ("nftables", "reject-icmp"): ["counter reject with icmp admin-prohibited"],
    ("iptables", "drop"): ["-j DROP"],
    ("iptables", "reject-tcp-reset"): ["-p tcp -j REJECT --reject-with tcp-reset",
                                       "-j REJECT --reject-with icmp-admin-prohibited"],
    ("iptables", "reject-icmp"): ["-j REJECT --reject-with icmp-admin-prohibited"],
}  # fmt: skip


@pytest.mark.parametrize(("fmt", "deny"), list(DENY_RULES))
def test_each_deny_style_refuses_the_isolated_traffic_its_way(fmt, deny):
    text = pm.render(fmt, LAB, scope="subnets", deny=deny)
    isolate = [ln for ln in text.splitlines() if "oob-prep isolate" in ln and not ln.lstrip().startswith("#")]
    tails = [next(t for t in DENY_RULES[(fmt, deny)] if ln.endswith(t) or f"{t} comment" in ln) for ln in isolate]
    # both directions (server side -> AMT, AMT -> server side), each with the style's rules in order
    assert tails == DENY_RULES[(fmt, deny)] * 2 if fmt == "nftables" else len(tails) == len(isolate) > 0


def test_an_unknown_deny_style_is_refused():
    with pytest.raises(ValueError, match="deny must be one of drop, reject-tcp-reset, reject-icmp, not 'reset'"):
        pm.render("nftables", LAB, deny="reset")


def test_iptables_jump_is_forwards_first_rule_and_the_load_line_is_idempotent(scratch_netns, tmp_path):
    """RHEL's default FORWARD ends with a REJECT (iptables-services' /etc/sysconfig/iptables): an appended jump would be
    dead. The header's load line, run three times over a FORWARD that already has an old appended jump, must leave
    one jump, first, and the host's REJECT last. Expected rules as `iptables -S` prints them (iptables(8))."""
    if not shutil.which("iptables-restore"):
        pytest.skip("iptables-restore is needed")
    text = pm.render("iptables", LAB)
    assert '\n:OOB-PREP - [0:0]\n-I FORWARD 1 -m comment --comment "oob-prep" -j OOB-PREP\n' in text
    assert "-A FORWARD" not in text
    rules = tmp_path / "oob.iptables"
    rules.write_text(text)
    load = next(line[4:] for line in text.splitlines() if line.startswith("#   iptables-restore"))
    assert load == pm.iptables_load_command()

    def sh(command: str) -> str:
        run = subprocess.run(["ip", "netns", "exec", scratch_netns, "sh", "-c", command], capture_output=True,
                             text=True)  # fmt: skip
        assert run.returncode == 0, run.stderr
        return run.stdout

    # the host's rules: RHEL's final REJECT, and a jump an older rendering appended behind it
    sh("iptables -N OOB-PREP && iptables -A FORWARD -j REJECT --reject-with icmp-host-prohibited && "
       "iptables -A FORWARD -m comment --comment oob-prep -j OOB-PREP")  # fmt: skip
    expected = [
        "-P FORWARD ACCEPT",
        "-A FORWARD -m comment --comment oob-prep -j OOB-PREP",
        "-A FORWARD -j REJECT --reject-with icmp-host-prohibited",
    ]
    for _ in range(3):
        sh(load.replace("FILE", str(rules)))
        assert sh("iptables -S FORWARD").splitlines() == expected
    chain = sh("iptables -S OOB-PREP").splitlines()
    assert len(chain) == 1 + 17  # "-N OOB-PREP" and the chain's rules, once (a reload replaced them)
