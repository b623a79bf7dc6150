"""Benchmark: amt_discovery over 127.1.0.0/16 (65,534 addresses) with about 1 % simulated AMT devices, side by side
with ``nmap -sT -Pn -n -p16992,16993 -T4 --open 127.1.0.0/16`` in the same run.

Goals: the discovery's wall time at most half of nmap's while it also reads every device's version (Server header)
and 16993 certificate; the same devices found by both; the discovery's peak RSS at most 150 MB.

Everything is on the loopback (Linux routes all of 127.0.0.0/8 to lo, so nothing is configured and no namespace is
touched). The simulated devices run in a child process of their own: lab/standins/amt_sim.py when it exists (one
certificate for every device's 16993), else (or with --own-fake) a small asyncio fake below (``GET /`` answers 303 with
an AMT ``Server:`` header, 16993 the same over TLS with a self-signed EC certificate). The discovery runs the
module's main() in another child, and its peak RSS is that child's ``ru_maxrss`` (os.wait4), so neither the fake
devices nor nmap are counted. Prints JSON like the other benches; exit status 0 when both goals are met.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "lab" / "standins" / "amt_sim.py"  # the project's AMT simulator, used when present (--own-fake: not)
NET = "127.1.0.0/16"
EVERY = 100  # one device per 100 addresses: 656 devices
METHODS = ("connect", "syn") if os.geteuid() == 0 else ("connect",)  # syn needs a raw socket
HEADERS = ["Intel(R) Active Management Technology 3.2.1", "Intel(R) Active Management Technology 2.6.3", "AMT",
           "Intel(R) Active Management Technology 6.2.61", "Intel(R) Con. Management Engine 5.0.1"]  # fmt: skip


def device_addresses() -> list[str]:
    net = ipaddress.ip_network(NET)
    return [str(net.network_address + 1 + i) for i in range(0, net.num_addresses - 2, EVERY)]


def _cert(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    # EC P-256, not the RSA 2048 of real AMT: here one process answers every device's handshake, where each real
    # device signs its own; a cheap key keeps the simulator's CPU out of the discovery's figures
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "amt.bench.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))  # fmt: skip
    (tmp / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))  # fmt: skip
    return tmp / "c.pem", tmp / "k.pem"


def _sim_config(tmp: Path) -> str:
    """A configuration of lab/standins/amt_sim.py with the bench's devices (one certificate for all of 16993)."""
    subprocess.run([sys.executable, str(SIM), "--make-cert", str(tmp), "--name", "amt", "--address", "127.1.0.1"],
                   check=True, capture_output=True)  # fmt: skip
    versions = ["3.2.1", "2.6.3", "12.0.67", "6.2.61", "5.0.1"]
    devices = [{"address": a, "version": versions[i % len(versions)], "tls": {"cert": "amt.pem", "key": "amt.key"}}
               for i, a in enumerate(device_addresses())]  # fmt: skip
    for i, d in enumerate(devices):
        if d["version"] == "5.0.1" and i % 2:
            d["header_variant"] = "me5"
    (tmp / "devices.json").write_text(json.dumps({"devices": devices}))
    return str(tmp / "devices.json")


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _serve(tmp: Path) -> None:
    _raise_nofile()
    cert, key = _cert(tmp)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    def handler(server: str):
        async def handle(reader, writer):
            try:
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                writer.write(f"HTTP/1.1 303 See Other\r\nLocation: /logon.htm\r\nServer: {server}\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())  # fmt: skip
                await writer.drain()
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                pass
            finally:
                writer.close()

        return handle

    servers = []
    for i, address in enumerate(device_addresses()):
        header = HEADERS[i % len(HEADERS)]
        servers.append(await asyncio.start_server(handler(header), address, 16992, backlog=64))
        servers.append(await asyncio.start_server(handler(header), address, 16993, ssl=tls, backlog=64))
    print("ready", len(servers), flush=True)
    await asyncio.Event().wait()


def _discover_child(method: str) -> None:
    """In the child: the module's main() with the bench's arguments; main() prints the module's JSON and exits."""
    sys.path.insert(0, str(ROOT / "collections"))  # ansible_collections.oob.prep: this repository
    sys.path.insert(0, str(ROOT / "plugins" / "modules"))
    import amt_discovery
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args({"targets": [NET], "timeout": 2, "concurrency": 512, "scan_method": method}):
        amt_discovery.main()


def _run_measured(argv: list[str]) -> tuple[float, str, int, int]:
    """Wall seconds, stdout, exit status and peak RSS (KiB) of one child process."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return wall, out.read().decode(errors="replace"), proc.returncode, usage.ru_maxrss


def _nmap_hosts(greppable: str) -> set[str]:
    hosts = set()
    for line in greppable.splitlines():
        if line.startswith("Host:") and "Ports:" in line and "/open/" in line:
            hosts.add(line.split()[1])
    return hosts


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        simulator = "amt_sim" if SIM.exists() and "--own-fake" not in sys.argv else "bench fake"
        if simulator == "amt_sim":
            fake = subprocess.Popen([sys.executable, str(SIM), "--config", _sim_config(Path(tmp))],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        else:
            fake = subprocess.Popen([sys.executable, __file__, "--serve", tmp], stdout=subprocess.PIPE, text=True)
        try:
            ready = fake.stdout.readline()
            if not (ready.startswith("ready") or '"ready"' in ready):
                print(json.dumps({"amt_discovery": {"error": "the fake devices did not start"}}))
                return 1
            expected = set(device_addresses())
            runs = {}
            for method in METHODS:
                wall, out, rc, rss = _run_measured([sys.executable, __file__, "--discover", method])
                try:
                    runs[method] = (wall, json.loads(out[out.index("{") :]), rc, rss)
                except ValueError:
                    print(out[-2000:], file=sys.stderr)
                    return 1
            n_wall, n_out, n_rc, _ = _run_measured(["nmap", "-sT", "-Pn", "-n", "-p16992,16993", "-T4", "--open",
                                                    "-oG", "-", NET])  # fmt: skip
        finally:
            fake.terminate()
            fake.wait(10)
    nmap_found = _nmap_hosts(n_out)
    report = {"targets": None, "simulator": simulator, "simulated_devices": len(expected), "nmap_s": round(n_wall, 2),
              "found_by_nmap": len(nmap_found), "nmap_exit_status": n_rc}  # fmt: skip
    for method, (wall, result, rc, rss) in runs.items():
        devices = result.get("devices", [])
        found = {d["address"] for d in devices}
        report["targets"] = result.get("scanned")
        report[f"discovery_{method}"] = {
            "wall_s": round(wall, 2),
            "module_s": result.get("elapsed_s"),
            "ratio_to_nmap": round(wall / n_wall, 3) if n_wall else None,
            "found": len(found),
            "same_devices_as_nmap": found == nmap_found == expected,
            "versions_read": sum(1 for d in devices if d["version"]),
            "versions_unknown_me11": sum(1 for d in devices if d["server"] == "AMT"),
            "certificates_read": sum(1 for d in devices if d["tls"]),
            "device_errors": sum(1 for d in devices if d["error"]),
            "support_class": result.get("summary", {}).get("support_class"),
            "peak_rss_mb": round(rss / 1024, 1),
            "processes": result.get("processes"),
            "concurrency": result.get("concurrency"),
            "exit_status": rc,
        }
    best = min(runs, key=lambda m: runs[m][0])
    report["best"] = best
    b = report[f"discovery_{best}"]
    report["goal_ratio_met"] = b["ratio_to_nmap"] is not None and b["ratio_to_nmap"] <= 0.5
    report["goal_rss_met"] = all(report[f"discovery_{m}"]["peak_rss_mb"] <= 150 for m in runs)
    report["goal_met"] = report["goal_ratio_met"] and report["goal_rss_met"] and b["same_devices_as_nmap"]
    print(json.dumps({"amt_discovery": report}, indent=2))
    return 0 if report["goal_met"] else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        asyncio.run(_serve(Path(sys.argv[2])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--discover":
        _discover_child(sys.argv[2])
    else:
        sys.exit(main())
