"""Benchmark: a no-op run of dns_provision_record against community.general.nsupdate ensuring the same record.

Issue 9. Both tools ensure one record (CNAME ProvisionServer-bench-<random>.bind.example -> oobsp.bind.example, TTL
3600; or an A record with --type A) on the lab's BIND server (198.51.100.12) with the same TSIG key. The record is
created first, then each tool runs N times (default 10) through ansible-playbook (a temporary playbook on localhost,
connection local), alternating, and must report changed=false every time. Measured per run: wall time, and the DNS
packets it sends to the server, counted by tcpdump inside the server's namespace (so the count is what the server
sees, TCP handshakes and teardowns included; not BIND's query log: it leaves out UPDATE messages, which nsupdate
sends to test for the record, and TCP's own packets, and turning it on would need rndc, which the lab's named has
not, or a restart of a server others use; flows that do not name the bench's record are other users' traffic and
are counted apart). A baseline playbook (ansible.builtin.ping) shows ansible-playbook's own
share of the time. Then both modules run N times in-process, without ansible-playbook (dns_provision_record.run and
nsupdate's RecordManager with a fake module object); dns_provision_record's own dns_operations give its per-run
query count. Prints one JSON report whose "note" gives the ratios; the record is removed at the end.

Exit status: 0; 1 when the record cannot be ensured or removed, or a no-op run reports changed (or fails); 2 when
tcpdump or community.general is missing, or not root (ip netns exec). The lab must be up: `make bench` brings it up.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration"), str(ROOT / "plugins" / "modules")]

import conftest  # noqa: E402,F401  (joins plugins/module_utils to ansible.module_utils)
from labutil import labconfig  # noqa: E402
from test_ad_container_lab import FakeModule as _FakeModule  # noqa: E402

import dns_provision_record  # noqa: E402  # isort: skip

BIND = labconfig.BIND
TSIG = BIND["tsig"]
NSUPDATE = ROOT / "collections/ansible_collections/community/general/plugins/modules/nsupdate.py"
OPCODES = {0: "query", 5: "update"}
OURS, THEIRS, BASELINE = "dns_provision_record", "community.general.nsupdate", "baseline (ansible.builtin.ping)"


class FakeModule(_FakeModule):
    """ad_container's fake module, with what nsupdate's RecordManager also calls."""

    def fail_json(self, msg, **kwargs):
        raise RuntimeError(f"{msg} {kwargs or ''}".strip())

    def exit_json(self, **kwargs):  # nsupdate calls it only in check mode, which the bench does not use
        raise RuntimeError(f"exit_json({kwargs})")


class BenchError(Exception):
    """The bench cannot go on (record not ensured, a no-op changed something, a tool failed)."""


# the record, and each tool's arguments for it --------------------------------------------------------------------
def record(kind: str) -> dict:
    label = f"ProvisionServer-bench-{uuid.uuid4().hex[:8]}"
    value = f"{next(iter(BIND['records']))}.{BIND['zone']}" if kind == "CNAME" else next(iter(BIND["records"].values()))
    return {"label": label, "fqdn": f"{label}.{BIND['zone']}", "type": kind, "value": value, "ttl": 3600}


def ours_args(rec: dict, state: str = "present") -> dict:
    spec = dns_provision_record.argument_spec()
    value = {"target": rec["value"]} if rec["type"] == "CNAME" else {"ipv4": rec["value"]}
    return dict(
        {k: v.get("default") for k, v in spec.items()},
        suffixes=[BIND["zone"]],
        record_name=rec["label"],
        type=rec["type"],
        ttl=rec["ttl"],
        state=state,
        server={"host": BIND["fqdn"], "address": BIND["ip"]},
        auth="tsig",
        tsig_key_name=TSIG["name"],
        tsig_key_secret=TSIG["secret"],
        tsig_algorithm=TSIG["algorithm"],
        **value,
    )


def theirs_args(rec: dict) -> dict:
    """nsupdate's arguments for the same record: zone given (as its docs do; without it, one more SOA query),
    protocol left at its default (tcp). A CNAME's value must end with a dot, else nsupdate makes it zone-relative."""
    return {
        "state": "present",
        "server": BIND["ip"],
        "port": 53,
        "key_name": TSIG["name"],
        "key_secret": TSIG["secret"],
        "key_algorithm": TSIG["algorithm"],
        "zone": BIND["zone"],
        "record": rec["label"],
        "type": rec["type"],
        "ttl": rec["ttl"],
        "value": [rec["value"] + "." if rec["type"] == "CNAME" else rec["value"]],
        "protocol": "tcp",
    }


def run_ours(params: dict) -> tuple[dict, float]:
    t0 = time.perf_counter()
    result = dns_provision_record.run(FakeModule(dict(params)))
    return result, time.perf_counter() - t0


def load_nsupdate():
    spec = importlib.util.spec_from_file_location("cg_nsupdate", NSUPDATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_theirs(nsupdate, params: dict) -> tuple[dict, float]:
    t0 = time.perf_counter()
    result = nsupdate.RecordManager(FakeModule(dict(params))).create_or_update_record()
    return result, time.perf_counter() - t0


def lookup(fqdn: str, rdtype: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(f"{fqdn}.", rdtype), BIND["ip"], timeout=5)


def serial() -> int:
    return lookup(BIND["zone"], "SOA").answer[0][0].serial


# ansible-playbook ------------------------------------------------------------------------------------------------
def playbooks(rec: dict, folder: Path) -> dict[str, Path]:
    play = {"hosts": "localhost", "connection": "local", "gather_facts": False,
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}}  # fmt: skip
    ours = {k: v for k, v in ours_args(rec).items() if v is not None and k not in ("bind_password", "bind_user")}
    tasks = {
        OURS: {"name": "No-op dns_provision_record", "oob.prep.dns_provision_record": ours},
        THEIRS: {"name": "No-op community.general.nsupdate", "community.general.nsupdate": theirs_args(rec)},
        BASELINE: {"name": "ansible-playbook's own cost", "ansible.builtin.ping": {}},
    }
    paths = {}
    for i, (tool, task) in enumerate(tasks.items()):
        paths[tool] = folder / f"playbook{i}.yml"
        paths[tool].write_text(yaml.safe_dump([dict(play, name=f"bench {tool}", tasks=[task])], sort_keys=False))
    return paths


def ansible_playbook(path: Path) -> tuple[dict, float]:
    """One ansible-playbook run; returns the task's result (minimal callback, JSON) and the wall time."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="minimal",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_NOCOLOR="1")  # fmt: skip
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", str(path)]
    t0 = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - t0
    start = proc.stdout.find("=> ")
    if proc.returncode != 0 or start < 0:
        raise BenchError(f"ansible-playbook {path.name} failed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    result, _end = json.JSONDecoder().raw_decode(proc.stdout, start + 3)
    return result, seconds


# packets: tcpdump in the server's namespace, and a reader for what it wrote --------------------------------------
class Capture:
    """tcpdump -i any inside the server's namespace, for the duration of a with block; .stats holds its counts."""

    def __init__(self, path: Path):
        self.path = path
        self.proc = None
        self.stats: dict[str, int] = {}

    def __enter__(self):
        if not shutil.which("tcpdump"):
            raise FileNotFoundError("tcpdump is not installed: apt-get install tcpdump")
        # --immediate-mode: else packets still in the kernel's buffer when tcpdump stops are not written.
        # -s 4096 -B 16384: with the default snapshot length (262144) the default 2 MiB ring holds a handful of
        # packets, and while ansible-playbook keeps the CPUs busy the kernel drops the rest (seen: a TCP segment
        # that carried a query missing). DNS messages here are a few hundred bytes.
        # -Z root: the file is in a private temporary folder the tcpdump user could not write to.
        command = ["ip", "netns", "exec", BIND["ns"], "tcpdump", "-i", "any", "-n", "--immediate-mode", "-U",
                   "-s", "4096", "-B", "16384", "-Z", "root", "-w", str(self.path),
                   "udp port 53 or tcp port 53"]  # fmt: skip
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()  # "listening on any, ..." once the capture is armed
        while line and "listening on" not in line:
            line = self.proc.stderr.readline()
        if "listening on" not in line:
            self.proc.wait(timeout=5)
            raise RuntimeError(f"tcpdump in {BIND['ns']} did not start (rc {self.proc.returncode})")
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            time.sleep(0.5)  # the last run's TCP teardown
            self.proc.send_signal(signal.SIGINT)
            try:
                _out, err = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                _out, err = self.proc.communicate()
            for line in err.splitlines():  # "12 packets captured", "0 packets dropped by kernel", ...
                count, _, what = line.partition(" packets ")
                if count.isdigit() and what:
                    self.stats[what.replace(" ", "_")] = int(count)
        return False


def read_pcap(path: Path) -> list[dict]:
    """The IPv4 UDP/TCP packets of a pcap file (link types Ethernet, Linux cooked v1 and v2)."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = struct.unpack(endian + "I", data[:4])[0] == 0xA1B23C4D
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    link = {1: (14, 12), 113: (16, 14), 276: (20, 0)}[linktype]  # header length, where the ethertype is
    packets, offset = [], 24
    while offset + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + incl]
        offset += 16 + incl
        if frame[link[1] : link[1] + 2] != b"\x08\x00":
            continue
        ip = frame[link[0] :]
        ihl, total, proto = (ip[0] & 0x0F) * 4, struct.unpack("!H", ip[2:4])[0], ip[9]
        seg = ip[ihl:total]
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        if proto == 17:
            sport, dport = struct.unpack("!HH", seg[:4])
            payload, seq, flags = seg[8:], 0, 0
        elif proto == 6:
            sport, dport, seq = struct.unpack("!HHI", seg[:8])
            payload, flags = seg[(seg[12] >> 4) * 4 :], seg[13]
        else:
            continue
        packets.append({"ts": sec + frac / (1e9 if nano else 1e6), "proto": "udp" if proto == 17 else "tcp",
                        "src": src, "sport": sport, "dst": dst, "dport": dport, "seq": seq, "flags": flags,
                        "payload": payload})  # fmt: skip
    return packets


def dns_requests(flow: list[dict], server: str) -> list[int]:
    """The opcodes of the DNS messages the client sent in one flow (TCP: the stream split at its length prefixes)."""
    sent = [p for p in flow if p["dst"] == server and p["payload"]]
    if not sent:
        return []
    if sent[0]["proto"] == "udp":
        return [(p["payload"][2] >> 3) & 0x0F for p in sent if len(p["payload"]) >= 12]
    stream = b"".join({p["seq"]: p["payload"] for p in sent}[seq] for seq in sorted({p["seq"] for p in sent}))
    opcodes = []
    while len(stream) >= 2:
        size = struct.unpack("!H", stream[:2])[0]
        if len(stream) < 2 + size or size < 12:
            break
        opcodes.append((stream[4] >> 3) & 0x0F)
        stream = stream[2 + size :]
    return opcodes


def per_run_traffic(packets: list[dict], windows: list[tuple[str, float]], tag: bytes, server: str) -> list[dict]:
    """Group the capture into flows (a TCP connection; a UDP query and its answer), charge each flow to the run in
    whose time window it began, and count, per run, the packets of the flows that name the bench's record (to and
    from the server), the DNS requests in them and the connections. Other flows are other users of the lab: counted
    apart, not charged to a tool."""
    starts = [t for _tool, t in windows]
    flows: list[tuple[int, str, list[dict]]] = []
    current: dict[tuple, list[dict]] = {}  # the open flow of each client address and port
    for p in packets:
        if server not in (p["src"], p["dst"]):
            continue
        to_server = p["dst"] == server
        key = (p["proto"], p["src"], p["sport"]) if to_server else (p["proto"], p["dst"], p["dport"])
        flow = current.get(key)
        new_tcp = p["proto"] == "tcp" and to_server and p["flags"] & 0x12 == 0x02  # SYN: a new connection
        new_udp = p["proto"] == "udp" and to_server and flow and any(q["src"] == server for q in flow)
        if flow is None or new_tcp or new_udp:
            run = sum(1 for t in starts if t <= p["ts"]) - 1
            if run < 0:
                continue
            flow = current[key] = []
            flows.append((run, p["proto"], flow))
        flow.append(p)
    runs = [{"tool": tool, "packets_to_server": 0, "packets": 0, "tcp_connections": 0, "udp_exchanges": 0,
             "requests": {}, "other_packets": 0} for tool, _t in windows]  # fmt: skip
    for run, proto, flow in flows:
        entry = runs[run]
        if not any(tag in p["payload"].lower() for p in flow):
            entry["other_packets"] += len(flow)
            continue
        entry["packets"] += len(flow)
        entry["packets_to_server"] += sum(1 for p in flow if p["dst"] == server)
        if proto == "tcp":
            entry["tcp_connections"] += sum(1 for p in flow if p["flags"] & 0x12 == 0x02)  # SYN without ACK
        else:
            entry["udp_exchanges"] += sum(1 for p in flow if p["dst"] == server)
        for opcode in dns_requests(flow, server):
            name = OPCODES.get(opcode, f"opcode{opcode}")
            entry["requests"][name] = entry["requests"].get(name, 0) + 1
    return runs


# figures ---------------------------------------------------------------------------------------------------------
def summary(seconds: list[float], traffic: list[dict]) -> dict:
    out = {"median_seconds": round(statistics.median(seconds), 4), "min_seconds": round(min(seconds), 4)}
    if traffic:
        to_server = [r["packets_to_server"] for r in traffic]
        both = [r["packets"] for r in traffic]
        out["packets_to_server_per_run"] = {"median": statistics.median(to_server), "min": min(to_server),
                                            "max": max(to_server)}  # fmt: skip
        out["packets_both_ways_per_run"] = {"median": statistics.median(both), "min": min(both), "max": max(both)}
        out["dns_requests_per_run"] = traffic[len(traffic) // 2]["requests"]
        out["tcp_connections_per_run"] = traffic[len(traffic) // 2]["tcp_connections"]
        out["udp_exchanges_per_run"] = traffic[len(traffic) // 2]["udp_exchanges"]
        out["same_traffic_every_run"] = all(
            (r["packets"], r["requests"]) == (traffic[0]["packets"], traffic[0]["requests"]) for r in traffic
        )
    return out


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def ratios(theirs: dict, ours: dict) -> dict:
    return {
        "seconds_median": ratio(theirs["median_seconds"], ours["median_seconds"]),
        "seconds_min": ratio(theirs["min_seconds"], ours["min_seconds"]),
        "packets_to_server": ratio(
            theirs["packets_to_server_per_run"]["median"], ours["packets_to_server_per_run"]["median"]
        ),
        "packets_both_ways": ratio(
            theirs["packets_both_ways_per_run"]["median"], ours["packets_both_ways_per_run"]["median"]
        ),
    }


def check_noop(tool: str, result: dict) -> None:
    if result.get("failed") or result.get("changed") is not False:
        raise BenchError(f"{tool}: a no-op run reported changed={result.get('changed')!r}: {result}")


# the bench -------------------------------------------------------------------------------------------------------
def bench(rec: dict, runs: int, work: Path, nsupdate) -> dict:
    report: dict = {
        "record": f"{rec['fqdn']}. {rec['ttl']} {rec['type']} {rec['value']}{'.' if rec['type'] == 'CNAME' else ''}",
        "server": f"{BIND['fqdn']} ({BIND['ip']})",
        "auth": f"TSIG {TSIG['name']} {TSIG['algorithm']}",
        "runs": runs,
    }
    created, _t = run_ours(ours_args(rec))
    again, _t = run_ours(ours_args(rec))
    if not created["changed"] or again["changed"]:
        raise BenchError(f"the record was not ensured: first run {created}, second run {again}")
    report["ensure"] = {"changed": True, "dns_operations": created["dns_operations"]}
    theirs_first, _t = run_theirs(nsupdate, theirs_args(rec))
    check_noop(f"{THEIRS} (in-process, before the bench)", theirs_first)

    books = playbooks(rec, work)
    results: dict[str, list] = {OURS: [], THEIRS: [], BASELINE: [], "alone " + OURS: [], "alone " + THEIRS: []}
    windows: list[tuple[str, float]] = []
    serial_before = serial()
    with Capture(work / "dns.pcap") as capture:
        for _ in range(runs):  # alternate, so that drift in the host's load hits every tool alike
            for tool in (OURS, THEIRS, BASELINE):
                windows.append((tool, time.time()))
                result, seconds = ansible_playbook(books[tool])
                if tool != BASELINE:
                    check_noop(f"{tool} (ansible-playbook)", result)
                results[tool].append((result, seconds))
        for _ in range(runs):
            windows.append(("alone " + OURS, time.time()))
            result, seconds = run_ours(ours_args(rec))
            check_noop(f"{OURS} (in-process)", result)
            results["alone " + OURS].append((result, seconds))
            windows.append(("alone " + THEIRS, time.time()))
            result, seconds = run_theirs(nsupdate, theirs_args(rec))
            check_noop(f"{THEIRS} (in-process)", result)
            results["alone " + THEIRS].append((result, seconds))
        windows.append(("end", time.time()))
    serial_after = serial()

    tag = rec["label"].lower().removeprefix("provisionserver-").encode()
    traffic = per_run_traffic(read_pcap(work / "dns.pcap"), windows, tag, BIND["ip"])
    by_tool = {tool: [t for t in traffic if t["tool"] == tool] for tool in results}
    fig = {tool: summary([s for _r, s in results[tool]], by_tool[tool]) for tool in results}
    fig[BASELINE] = {k: fig[BASELINE][k] for k in ("median_seconds", "min_seconds")}
    fig[OURS]["dns_operations"] = results[OURS][-1][0]["dns_operations"]
    fig["alone " + OURS]["dns_operations"] = results["alone " + OURS][-1][0]["dns_operations"]
    base = fig[BASELINE]["median_seconds"]
    for tool in (OURS, THEIRS):
        fig[tool]["median_seconds_minus_baseline"] = round(fig[tool]["median_seconds"] - base, 4)
    report["ansible_playbook"] = {
        OURS: fig[OURS],
        THEIRS: fig[THEIRS],
        BASELINE: fig[BASELINE],
        "ratio_nsupdate_to_ours": dict(
            ratios(fig[THEIRS], fig[OURS]),
            seconds_median_minus_baseline=ratio(
                fig[THEIRS]["median_seconds_minus_baseline"], fig[OURS]["median_seconds_minus_baseline"]
            ),
        ),
    }
    report["module_alone"] = {
        OURS: fig["alone " + OURS],
        THEIRS: fig["alone " + THEIRS],
        "ratio_nsupdate_to_ours": ratios(fig["alone " + THEIRS], fig["alone " + OURS]),
    }
    report["any_noop_changed"] = False  # check_noop raised otherwise
    report["zone_serial_moved_during_noops"] = serial_after - serial_before  # other lab users may move it too
    report["other_dns_packets_during_runs"] = sum(t["other_packets"] for t in traffic if t["tool"] != "end")
    # packets the kernel dropped before tcpdump read them: the packet counts above would then be short
    report["capture"] = capture.stats
    return report


def note(report: dict) -> str:
    """The closing note: nsupdate's figures as multiples of dns_provision_record's (">1": nsupdate costs more)."""
    pb, alone = report["ansible_playbook"], report["module_alone"]
    r, ra = pb["ratio_nsupdate_to_ours"], alone["ratio_nsupdate_to_ours"]
    ours, theirs = pb[OURS], pb[THEIRS]

    def sent(fig: dict) -> str:
        requests = " + ".join(f"{n} {kind}" for kind, n in sorted(fig["dns_requests_per_run"].items()))
        if fig["tcp_connections_per_run"]:
            return f"{requests} over {fig['tcp_connections_per_run']} TCP connection(s)"
        return f"{requests} in {fig['udp_exchanges_per_run']} UDP exchange(s)"

    text = (
        f"Ratio nsupdate / dns_provision_record for a no-op run: wall time {r['seconds_median']}x through "
        f"ansible-playbook (median {theirs['median_seconds']} s vs {ours['median_seconds']} s, of which "
        f"ansible-playbook running a ping takes {pb[BASELINE]['median_seconds']} s; "
        f"{r['seconds_median_minus_baseline']}x above that), {ra['seconds_median']}x as a module alone "
        f"({alone[THEIRS]['median_seconds'] * 1000:.1f} ms vs "
        f"{alone[OURS]['median_seconds'] * 1000:.1f} ms); packets to the server {r['packets_to_server']}x "
        f"({theirs['packets_to_server_per_run']['median']:g} vs {ours['packets_to_server_per_run']['median']:g}; "
        f"{r['packets_both_ways']}x both ways, {theirs['packets_both_ways_per_run']['median']:g} vs "
        f"{ours['packets_both_ways_per_run']['median']:g}): nsupdate sends {sent(theirs)}, dns_provision_record "
        f"{sent(ours)}."
    )
    if report["capture"].get("dropped_by_kernel"):
        text += f" The capture lost {report['capture']['dropped_by_kernel']} packets: packet counts are short."
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=10, help="no-op runs of each tool (default 10)")
    parser.add_argument("--type", choices=["CNAME", "A"], default="CNAME", help="the record's type (default CNAME)")
    parser.add_argument("--pcap", type=Path, help="keep the capture in this file (to read with tcpdump -r)")
    opts = parser.parse_args()
    if opts.runs < 1:
        parser.error("--runs must be at least 1")
    if os.geteuid() != 0:
        print("dns_noop: needs root (tcpdump in the lab's namespace)", file=sys.stderr)
        return 2
    if not NSUPDATE.exists():
        print("dns_noop: community.general is not installed: run scripts/collections", file=sys.stderr)
        return 2
    if not shutil.which("tcpdump"):
        print("dns_noop: tcpdump is not installed: apt-get install tcpdump", file=sys.stderr)
        return 2
    nsupdate = load_nsupdate()
    rec = record(opts.type)
    status, report = 0, {}
    with tempfile.TemporaryDirectory(prefix="dns-bench-") as work:
        try:
            report = bench(rec, opts.runs, Path(work), nsupdate)
            if opts.pcap:
                shutil.copyfile(Path(work) / "dns.pcap", opts.pcap)
        except (BenchError, RuntimeError, OSError, subprocess.SubprocessError, dns.exception.DNSException,
                dns_provision_record.DnsError, ValueError) as exc:  # fmt: skip
            report = {"record": rec["fqdn"], "error": f"{type(exc).__name__}: {exc}"}
            status = 1
        finally:  # leave nothing behind, whatever happened
            try:
                run_ours(ours_args(rec, state="absent"))
            except Exception as exc:  # reported, and the check below decides the exit status
                report["cleanup_error"] = str(exc)
            report["record_removed"] = dns.rcode.to_text(lookup(rec["fqdn"], "ANY").rcode()) == "NXDOMAIN"
    if not report["record_removed"]:
        status = 1
    if status == 0:
        report["note"] = note(report)
    print(json.dumps(report, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
