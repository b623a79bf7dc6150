#!/usr/bin/env python3
"""oob-prep lab: a small estate in Linux network namespaces that speaks the real protocols.

    lab.py up [--ca-key-size 2048|4096] [--strong-auth no|allow_sasl_over_tls|yes]
              [--dns-updates "secure only"|nonsecure]
    lab.py down
    lab.py status
    lab.py restart|stop|start <process>   (names as `lab.py status` lists them)

Topology (documentation addresses only; every name starts with ``oobp``):

    root namespace (the Ansible controller): link oobp-ctl 198.51.100.2/24 (server subnet only, no other route)
    oobp-sw    the switch: bridges br-srv (server subnet) and br-amt (AMT subnet)
    oobp-dc1   198.51.100.10  Samba AD DC dc1.lab.example (forest lab.example): LDAP/LDAPS, Kerberos, DNS
    oobp-dc2   198.51.100.30  Samba AD DC dc1.other.example (a second, separate forest; nonsecure DNS updates)
    oobp-dhcp  198.51.100.11  Kea DHCPv4 and kea-dhcp-ddns (control sockets), kea-ctrl-agent (HTTPS :8000)
    oobp-bind  198.51.100.12  BIND 9 ns1.bind.example: zones bind.example and 113.0.203.in-addr.arpa (the AMT
                              subnet's reverse zone), RFC 2136 updates signed with a TSIG key (kea-dhcp-ddns's target)
    oobp-sp    198.51.100.20  service point stand-in oobsp.lab.example, TCP 9971, records every byte
    oobp-con   198.51.100.21  console stand-in console1.lab.example
    oobp-rtr   198.51.100.254 / 203.0.113.1  router: forwards, relays DHCP to Kea (dhcrelay), nftables loaded
    oobp-amt1..3  203.0.113.11-13  simulated AMT devices (lab/standins/amt_sim.py: 16992/16993) + 16994/16995
    oobp-amts  (DHCP)         a simulated AMT device in setup mode: DHCP, ProvisionServer, hello to 9971
    oobp-amtc  (no address)   a DHCP client port in the AMT subnet, for probes

It never edits the machine's own /etc: Samba gets a private resolv.conf through a bind mount inside the namespace's
own mount namespace, Kerberos clients use the lab's krb5.conf through KRB5_CONFIG, BIND reads a named.conf of its
own (never /etc/bind, no rndc). State and logs live in ``lab/.state`` (ignored by git).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labconfig as C  # noqa: E402

SWITCH = f"{C.PREFIX}-sw"
ROUTER = f"{C.PREFIX}-rtr"
DHCP = f"{C.PREFIX}-dhcp"
SP = f"{C.PREFIX}-sp"
CON = f"{C.PREFIX}-con"
AMT_CLIENT = f"{C.PREFIX}-amtc"
AMT_SETUP = C.AMT_SETUP["ns"]
AMT_SETUP_UNTRUSTED = C.AMT_SETUP_UNTRUSTED["ns"]
BIND = C.BIND["ns"]

# namespace -> (bridge, address/prefix or None, default gateway or None)
HOSTS: dict[str, tuple[str, str | None, str | None]] = {
    C.FORESTS["lab"]["ns"]: ("br-srv", C.FORESTS["lab"]["dc_ip"] + "/24", None),
    C.FORESTS["other"]["ns"]: ("br-srv", C.FORESTS["other"]["dc_ip"] + "/24", None),
    DHCP: ("br-srv", C.DHCP_IP + "/24", None),
    BIND: ("br-srv", C.BIND["ip"] + "/24", None),
    SP: ("br-srv", C.SERVICE_POINT["ip"] + "/24", None),
    CON: ("br-srv", C.CONSOLE["ip"] + "/24", None),
    **{f"{C.PREFIX}-{name}": ("br-amt", ip + "/24", C.ROUTER_AMT_IP) for name, ip in C.AMT_HOSTS.items()},
    AMT_CLIENT: ("br-amt", None, None),
    AMT_SETUP: ("br-amt", None, None),  # takes its address by DHCP (amt_sim.py setup mode)
    AMT_SETUP_UNTRUSTED: ("br-amt", None, None),  # the same, with firmware that does not trust the lab root
}
NAMESPACES = [SWITCH, ROUTER, *HOSTS]

NFT_OPEN = """\
# oob-prep lab router: open by default (generated rules replace this table).
table inet oobp_filter {
    chain forward {
        type filter hook forward priority 0; policy accept;
    }
}
"""


class LabError(Exception):
    pass


def run(
    *cmd: str, check: bool = True, input: str | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, input=input, env=env)
    if check and proc.returncode != 0:
        raise LabError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}")
    return proc


def nsexec(ns: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("ip", "netns", "exec", ns, *cmd, check=check)


def existing_namespaces() -> list[str]:
    out = run("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(C.PREFIX + "-")]


def log(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------------- network


def check_addresses_free() -> None:
    """Refuse to shadow the machine's own network: the controller link adds a route for the server subnet."""
    for net in (C.SERVER_NET,):
        routes = run("ip", "route", "show", "match", net.split("/")[0], check=False).stdout.splitlines()
        clash = [r for r in routes if not r.startswith("default") and C.CONTROLLER_LINK not in r]
        if clash:
            raise LabError(f"{net} is already routed on this machine ({clash[0]}); the lab will not shadow it")


def build_network() -> None:
    check_addresses_free()
    for ns in NAMESPACES:
        run("ip", "netns", "add", ns)
        nsexec(ns, "ip", "link", "set", "lo", "up")
        # IPv4 only, like out of band management itself; no IPv6 autoconfiguration noise in the lab
        nsexec(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
    for br in ("br-srv", "br-amt"):
        run("ip", "-n", SWITCH, "link", "add", br, "type", "bridge")
        run("ip", "-n", SWITCH, "link", "set", br, "up")

    def plug(ns: str, ifname: str, bridge: str, port: str) -> None:
        run("ip", "-n", SWITCH, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns)
        run("ip", "-n", SWITCH, "link", "set", port, "master", bridge, "up")
        run("ip", "-n", ns, "link", "set", ifname, "up")

    for i, (ns, (bridge, addr, gw)) in enumerate(HOSTS.items()):
        plug(ns, "eth0", bridge, f"p{i}")
        if addr:
            run("ip", "-n", ns, "addr", "add", addr, "dev", "eth0")
        if gw:
            run("ip", "-n", ns, "route", "add", "default", "via", gw)
        elif bridge == "br-srv":
            run("ip", "-n", ns, "route", "add", C.AMT_NET, "via", C.ROUTER_SERVER_IP)

    plug(ROUTER, "eth-srv", "br-srv", "prtr-srv")
    plug(ROUTER, "eth-amt", "br-amt", "prtr-amt")
    run("ip", "-n", ROUTER, "addr", "add", C.ROUTER_SERVER_IP + "/24", "dev", "eth-srv")
    run("ip", "-n", ROUTER, "addr", "add", C.ROUTER_AMT_IP + "/24", "dev", "eth-amt")
    nsexec(ROUTER, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    nft = C.RUN_DIR / "router.nft"
    nft.write_text(NFT_OPEN)
    nsexec(ROUTER, "nft", "-f", str(nft))

    # the controller (this machine's root namespace) sits on the server subnet like an admin workstation
    run("ip", "link", "add", C.CONTROLLER_LINK, "type", "veth", "peer", "name", "pctl", "netns", SWITCH)
    run("ip", "-n", SWITCH, "link", "set", "pctl", "master", "br-srv", "up")
    run("ip", "addr", "add", C.CONTROLLER_IP + "/24", "dev", C.CONTROLLER_LINK)
    run("ip", "link", "set", C.CONTROLLER_LINK, "up")
    # No route to the AMT subnet from the root namespace: 203.0.113.0/24 may be in use by the machine's own network
    # (it is here: the package mirror lives there). Traffic to AMT hosts starts from the server-subnet namespaces.


# ---------------------------------------------------------------------------------------------------- processes


def spawn(name: str, ns: str, cmd: list[str], pids: dict) -> None:
    logf = open(C.LOG_DIR / f"{name}.log", "ab")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, *cmd],
        stdout=logf,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    pids[name] = {"pid": proc.pid, "ns": ns, "cmd": cmd, **({"on_demand": True} if name in ON_DEMAND else {})}


# Processes `lab up` does not start (`lab.py start <name>` does): the setup-mode device whose firmware does not trust
# the lab's provisioning root makes the estate not ready, so only the tests that want it start it.
ON_DEMAND = ("amt-setup-untrusted",)


def register(name: str, ns: str, cmd: list[str], pids: dict) -> None:
    """Record how an on-demand process starts, without starting it."""
    pids[name] = {"pid": None, "ns": ns, "cmd": cmd, "on_demand": True}


def wait_tcp(host: str, port: int, timeout: float, what: str, ns: str | None = None) -> None:
    """Wait until host:port accepts a connection, asked from the controller or from inside namespace ``ns``."""
    deadline = time.monotonic() + timeout
    probe = f"import socket; socket.create_connection(({host!r}, {port}), timeout=0.5).close()"
    while True:
        try:
            if ns:
                if nsexec(ns, sys.executable, "-c", probe, check=False).returncode:
                    raise OSError
            else:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            return
        except OSError:
            if time.monotonic() > deadline:
                raise LabError(
                    f"{what} did not answer on {host}:{port} within {timeout:.0f} s (see {C.LOG_DIR})"
                ) from None
            time.sleep(0.1)


def provision_samba(forest: str, options: dict) -> None:
    f = C.FORESTS[forest]
    d = C.dc_dir(forest)
    if d.exists():
        shutil.rmtree(d)
    (d / "run").mkdir(parents=True)
    (d / "cache").mkdir()
    empty = d / "empty.conf"
    empty.write_text("")
    proc = run(
        "samba-tool", "domain", "provision", "-s", str(empty), f"--targetdir={d}",
        f"--realm={f['realm']}", f"--domain={f['domain']}", "--server-role=dc", "--dns-backend=SAMBA_INTERNAL",
        f"--adminpass={C.ADMIN_PASSWORD}", "--use-rfc2307", f"--host-name={f['dc_host']}", f"--host-ip={f['dc_ip']}",
        "--option=dns forwarder = none", check=False,
    )  # fmt: skip
    (C.LOG_DIR / f"provision-{forest}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise LabError(f"samba provision of {f['realm']} failed, see {C.LOG_DIR}/provision-{forest}.log")
    conf = d / "etc" / "smb.conf"
    text = conf.read_text()
    extra = "\n".join(
        [
            f"\tpid directory = {d}/run",
            f"\tncalrpc dir = {d}/run/ncalrpc",
            f"\twinbindd socket directory = {d}/run/winbindd",
            f"\tntp signd socket directory = {d}/run/ntp_signd",
            f"\tlock directory = {d}/run/lock",
            f"\tlog file = {C.LOG_DIR}/samba-{forest}.%m.log",
            "\tinterfaces = lo eth0",
            "\tbind interfaces only = yes",
            f"\tldap server require strong auth = {options['strong_auth']}",
            f"\tallow dns updates = {C.dns_updates(forest, options)}",
            "",
        ]
    )
    conf.write_text(text.replace("[global]\n", "[global]\n" + extra, 1))
    (d / "resolv.conf").write_text(f"search {f['dns']}\nnameserver {f['dc_ip']}\n")
    # the default password expiry (42 days) must not break a long-lived lab
    run("samba-tool", "user", "setexpiry", "Administrator", "--noexpiry", "-s", str(conf))


def start_samba(forest: str, pids: dict) -> None:
    f = C.FORESTS[forest]
    d = C.dc_dir(forest)
    script = f"mount --bind {d}/resolv.conf /etc/resolv.conf && exec samba -F --debug-stdout -s {d}/etc/smb.conf"
    spawn(f"samba-{forest}", f["ns"], ["sh", "-c", script], pids)


def kea_config() -> dict:
    return {
        "Dhcp4": {
            "interfaces-config": {"interfaces": ["eth0"], "dhcp-socket-type": "raw"},
            "control-socket": {"socket-type": "unix", "socket-name": str(C.KEA_SOCKET)},
            "lease-database": {"type": "memfile", "persist": True, "name": str(C.RUN_DIR / "kea-leases4.csv")},
            "valid-lifetime": 3600,
            "subnet4": [
                {
                    "id": 1,
                    "subnet": C.AMT_NET,
                    "pools": [{"pool": C.DHCP_POOL}],
                    "relay": {"ip-addresses": [C.ROUTER_AMT_IP]},
                    # a scope as a DHCP team hands it over: a router, no options 6 and 15, no dynamic DNS (the
                    # role oob_dhcp adds them)
                    "option-data": [{"name": "routers", "data": C.ROUTER_AMT_IP}],
                }
            ],
            "loggers": [
                {
                    "name": "kea-dhcp4",
                    "output_options": [{"output": str(C.LOG_DIR / "kea-dhcp4.log")}],
                    "severity": "INFO",
                }
            ],
        }
    }


def d2_config() -> dict:
    """kea-dhcp-ddns as installed: listening for Kea's name change requests, no DNS domains yet."""
    return {
        "DhcpDdns": {
            "ip-address": "127.0.0.1",
            "port": C.D2_PORT,
            "control-socket": {"socket-type": "unix", "socket-name": str(C.D2_SOCKET)},
            "tsig-keys": [],
            "forward-ddns": {"ddns-domains": []},
            "reverse-ddns": {"ddns-domains": []},
            "loggers": [
                {
                    "name": "kea-dhcp-ddns",
                    "output_options": [{"output": str(C.LOG_DIR / "kea-dhcp-ddns.log")}],
                    "severity": "INFO",
                }
            ],
        }
    }


def agent_config() -> dict:
    """kea-ctrl-agent on the DHCP server's address: HTTPS with a lab CA's certificate, basic authentication."""
    import tlscerts

    ca = tlscerts.make_ca("kea", C.STATE_DIR)
    cert, key = tlscerts.make_server(ca, "kea-agent", [C.KEA_AGENT["fqdn"]], [C.DHCP_IP], C.RUN_DIR)
    agent = C.KEA_AGENT
    return {
        "Control-agent": {
            "http-host": C.DHCP_IP,
            "http-port": int(agent["url"].rstrip("/").rsplit(":", 1)[1]),
            "trust-anchor": str(C.KEA_AGENT_CA),
            "cert-file": str(cert),
            "key-file": str(key),
            "cert-required": False,  # clients authenticate with a password, not a certificate
            "authentication": {
                "type": "basic",
                "realm": "oob-prep-lab",
                "clients": [{"user": agent["user"], "password": agent["password"]}],
            },  # fmt: skip
            "control-sockets": {
                "dhcp4": {"socket-type": "unix", "socket-name": str(C.KEA_SOCKET)},
                "d2": {"socket-type": "unix", "socket-name": str(C.D2_SOCKET)},
            },
            "loggers": [
                {
                    "name": "kea-ctrl-agent",
                    "severity": "INFO",
                    "output_options": [{"output": str(C.LOG_DIR / "kea-ctrl-agent.log")}],
                }
            ],  # fmt: skip
        }
    }


KEA_SERVICES = {  # name -> (config file, its content, binary)
    "kea-dhcp4": (C.KEA_CONFIG, kea_config, "kea-dhcp4"),
    "kea-dhcp-ddns": (C.D2_CONFIG, d2_config, "kea-dhcp-ddns"),
    "kea-ctrl-agent": (C.KEA_AGENT_CONFIG, agent_config, "kea-ctrl-agent"),
}


def start_kea(name: str, pids: dict, write: bool = True) -> None:
    """Start a Kea daemon in the DHCP namespace; ``write=False`` keeps the config file as it is (a restart)."""
    conf, content, binary = KEA_SERVICES[name]
    if write:
        conf.write_text(json.dumps(content(), indent=2))
    kea_env = f"KEA_LOCKFILE_DIR={C.RUN_DIR} KEA_PIDFILE_DIR={C.RUN_DIR}"
    spawn(name, DHCP, ["sh", "-c", f"{kea_env} exec {binary} -c {conf}"], pids)


def write_bind_config() -> Path:
    """named.conf, the zone file and nothing else, all under lab/.state/bind: no rndc, no /etc/bind."""
    b, d = C.BIND, C.BIND_DIR
    d.mkdir(parents=True, exist_ok=True)
    zone, key = b["zone"], b["tsig"]
    host = b["fqdn"].removesuffix("." + zone)
    records = {host: b["ip"], **b["records"]}
    head = f"$TTL 300\n@ IN SOA {b['fqdn']}. hostmaster.{zone}. 1 3600 600 86400 300\n@ IN NS {b['fqdn']}.\n"
    (d / f"db.{zone}").write_text(head + "".join(f"{name} IN A {ip}\n" for name, ip in records.items()))
    (d / f"db.{b['reverse_zone']}").write_text(head)
    conf = d / "named.conf"
    conf.write_text(f"""\
// oob-prep lab BIND: generated by lab/lab.py, removed by `lab.py down`
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    lock-file "{d}/named.lock";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    dump-file "{d}/named_dump.db";
    statistics-file "{d}/named.stats";
    listen-on {{ {b["ip"]}; 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer {{ none; }};
}};
controls {{ }};
key "{key["name"]}" {{
    algorithm {key["algorithm"]};
    secret "{key["secret"]}";
}};
zone "{zone}" {{
    type primary;
    file "db.{zone}";
    journal "db.{zone}.jnl";
    update-policy {{ grant {key["name"]} zonesub ANY; }};
}};
zone "{b["reverse_zone"]}" {{
    type primary;
    file "db.{b["reverse_zone"]}";
    journal "db.{b["reverse_zone"]}.jnl";
    update-policy {{ grant {key["name"]} zonesub ANY; }};
}};
""")
    return conf


def start_bind(pids: dict) -> None:
    conf = write_bind_config()
    spawn("named", BIND, ["named", "-g", "-4", "-c", str(conf)], pids)


def wait_dns(ip: str, zone: str, timeout: float, what: str) -> None:
    """Wait until the server answers SOA for its zone, authoritatively, over UDP and TCP."""
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode

    deadline = time.monotonic() + timeout
    for query in (dns.query.udp, dns.query.tcp):
        while True:
            try:
                reply = query(dns.message.make_query(zone, "SOA"), ip, timeout=0.5)
                if reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA and reply.answer:
                    break
            except (OSError, dns.exception.DNSException):
                pass
            if time.monotonic() > deadline:
                raise LabError(f"{what} did not answer SOA {zone} at {ip} within {timeout:.0f} s (see {C.LOG_DIR})")
            time.sleep(0.05)


def start_services(pids: dict) -> None:
    py = sys.executable
    for name in KEA_SERVICES:
        start_kea(name, pids)
    spawn(
        "dhcrelay",
        ROUTER,
        ["dhcrelay", "-4", "-d", "-pf", str(C.RUN_DIR / "dhcrelay.pid"), "-id", "eth-amt", "-iu", "eth-srv", C.DHCP_IP],
        pids,
    )
    standins = C.LAB_DIR / "standins"
    make_provisioning_certificate()
    spawn(
        "service-point",
        SP,
        [py, str(standins / "service_point.py"), "--port", str(C.SERVICE_POINT["port"]), "--record", str(C.SP_RECORD),
         "--certificate", str(C.PROVISIONING_CERT)],
        pids,
    )  # fmt: skip
    start_amt_devices(pids)


def start_amt_devices(pids: dict) -> None:
    """A simulated AMT device in each AMT namespace (16992/16993, certificates from a lab CA), plain listeners on the
    redirection ports, and one device in setup mode that provisions itself through DHCP, DNS and 9971."""
    import tlscerts

    py, standins = sys.executable, C.LAB_DIR / "standins"
    ca = tlscerts.make_ca("amt", C.STATE_DIR)
    for name, ip in C.AMT_HOSTS.items():
        cert, key = tlscerts.make_server(ca, f"amt-{name}", [f"{name}.{C.FORESTS['lab']['dns']}"], [ip], C.RUN_DIR)
        tls = {"cert": str(cert), "key": str(key)}
        device = {"address": ip, "hostname": name, "domain": C.FORESTS["lab"]["dns"], "username": C.AMT_USER,
                  "password": C.AMT_PASSWORD, "tls": tls, **C.AMT_DEVICES[name]}  # fmt: skip
        if device["provisioning_state"] == "post":  # provisioned by this service point: its firmware trusts the root
            device["certificate_hashes"] = [
                {"name": entry["ca"], "type": "sha256", "hex": entry["hex"], "default": True, "enabled": True}
                for entry in firmware_hashes()
            ]
            device["certificate_hashes"].append({"name": "oob-prep lab provisioning CA", "type": "sha256",
                                                 "hex": tlscerts.root_sha256(C.PROVISIONING_ROOT), "default": False,
                                                 "enabled": True})  # fmt: skip
        conf = C.RUN_DIR / f"amt-{name}.json"
        conf.write_text(json.dumps({"devices": [device]}, indent=2))
        spawn(f"amt-{name}", f"{C.PREFIX}-{name}", [py, str(standins / "amt_sim.py"), "--config", str(conf)], pids)
        ports = [a for p in C.AMT_REDIRECTION_PORTS for a in ("--port", str(p))]
        spawn(f"amt-{name}-redirection", f"{C.PREFIX}-{name}", [py, str(standins / "amt_placeholder.py"), *ports],
              pids)  # fmt: skip
    write_hashes_by_hand()
    defaults = firmware_hashes()
    lab_root = tlscerts.root_sha256(C.PROVISIONING_ROOT)
    for name, setup, events in (("amt-setup", C.AMT_SETUP, C.AMT_EVENTS),
                                ("amt-setup-untrusted", C.AMT_SETUP_UNTRUSTED, C.AMT_EVENTS_UNTRUSTED)):  # fmt: skip
        # the firmware's default hashes, and the lab root's where an admin added it (in MEBx: after the defaults)
        hashes = defaults + ([{"type": "sha256", "hex": lab_root}] if setup["trusts_lab_root"] and lab_root else [])
        device = {"version": "6.2.10", "uuid": setup["uuid"], "provisioning_state": "pre", "username": C.AMT_USER,
                  "password": C.AMT_PASSWORD, "setup": {"interface": "eth0", "retry_scale": setup["retry_scale"],
                                                        "hashes": hashes, "resend": True}}  # fmt: skip
        conf = C.RUN_DIR / f"{name}.json"
        conf.write_text(json.dumps({"devices": [device]}, indent=2))
        cmd = [py, str(standins / "amt_sim.py"), "--config", str(conf), "--events", str(events)]
        (register if name in ON_DEMAND else spawn)(name, setup["ns"], cmd, pids)


def write_hashes_by_hand() -> None:
    """The list of trusted hashes an admin wrote down for the devices that cannot tell them (C.AMT_HASHES_BY_HAND)."""
    import tlscerts

    sha1 = tlscerts.root_sha256(C.PROVISIONING_ROOT, "sha1")
    lines = ["# AMT computers' trusted root hashes, written down from MEBx (Manage Certificate Hashes)"]
    for name in C.AMT_HASHES_BY_HAND:
        lines += [f"- name: {name}", f"  address: {C.AMT_HOSTS[name]}", "  hashes:",
                  f"    - {{type: sha1, hex: {sha1}}}   # oob-prep lab provisioning CA, added by hand"]  # fmt: skip
    C.AMT_HASHES_FILE.write_text("\n".join(lines) + "\n")


def firmware_hashes() -> list[dict]:
    """The SHA-256 hashes of the public roots real firmware trusts by default (C.FIRMWARE_ROOTS), from this machine's
    CA bundle."""
    import tlscerts

    found = ((name.replace("_", " "), tlscerts.root_sha256(C.CA_BUNDLE_DIR / f"{name}.pem"))
             for name in C.FIRMWARE_ROOTS)  # fmt: skip
    return [{"type": "sha256", "hex": digest, "ca": ca} for ca, digest in found if digest]


def make_provisioning_certificate() -> None:
    """The service point's AMT provisioning certificate under a new lab root (each `lab up`)."""
    import tlscerts

    ca = tlscerts.make_ca("provisioning", C.STATE_DIR)
    tlscerts.make_provisioning(ca, C.SERVICE_POINT["fqdn"], C.PROVISIONING_CERT)


def write_krb5_conf() -> None:
    realms = "\n".join(
        f"    {f['realm']} = {{\n        kdc = {f['dc_ip']}\n        admin_server = {f['dc_ip']}\n    }}"
        for f in C.FORESTS.values()
    )
    domain_realm = "\n".join(
        f"    .{f['dns']} = {f['realm']}\n    {f['dns']} = {f['realm']}" for f in C.FORESTS.values()
    )
    C.KRB5_CONFIG.write_text(
        "# oob-prep lab Kerberos configuration (use with KRB5_CONFIG; the machine's /etc/krb5.conf is untouched)\n"
        "[libdefaults]\n    default_realm = LAB.EXAMPLE\n    dns_lookup_kdc = false\n    dns_lookup_realm = false\n"
        "    rdns = false\n    dns_canonicalize_hostname = false\n    udp_preference_limit = 0\n"
        f"[realms]\n{realms}\n[domain_realm]\n{domain_realm}\n"
    )


def wait_unix(path: Path, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(path))
                return
        except OSError:
            if time.monotonic() > deadline:
                raise LabError(f"{what} did not open {path} within {timeout:.0f} s (see {C.LOG_DIR})") from None
            time.sleep(0.05)


# ---------------------------------------------------------------------------------------------------- commands


def read_state() -> dict | None:
    try:
        return json.loads(C.STATE_FILE.read_text())
    except (OSError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def healthy(state: dict) -> bool:
    running = all(alive(p["pid"]) for p in state["processes"].values() if not p.get("on_demand"))
    return running and set(NAMESPACES) <= set(existing_namespaces())


def up(options: dict) -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces)")
    for tool in (
        "samba",
        "samba-tool",
        "kea-dhcp4",
        "kea-dhcp-ddns",
        "kea-ctrl-agent",
        "dhcrelay",
        "named",
        "nft",
        "ip",
    ):
        if not shutil.which(tool):
            raise LabError(
                f"{tool} is not installed: run `make lab-deps` (apt packages are listed in scripts/apt-packages)"
            )
    state = read_state()
    if state and healthy(state):
        if state["options"] != options:
            raise LabError(f"the lab is up with options {state['options']}; run `lab.py down` first to change them")
        log("already up")
        return
    if existing_namespaces() or state:
        log("cleaning up a partial lab first")
        down()
    t0 = time.monotonic()
    for d in (C.RUN_DIR, C.LOG_DIR):
        d.mkdir(parents=True, exist_ok=True)
    pids: dict = {}
    state = {
        "options": options,
        "dns_updates": {forest: C.dns_updates(forest, options) for forest in C.FORESTS},
        "processes": pids,
        "started": time.time(),
    }
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            provisions = [pool.submit(provision_samba, forest, options) for forest in C.FORESTS]
            build_network()
            write_krb5_conf()
            start_services(pids)
            start_bind(pids)
            for fut in provisions:
                fut.result()
        t_prov = time.monotonic() - t0
        for forest in C.FORESTS:
            start_samba(forest, pids)
        C.STATE_FILE.write_text(json.dumps(state, indent=2))
        for forest, f in C.FORESTS.items():
            wait_tcp(f["dc_ip"], 636, 30, f"Samba DC of {f['dns']}")
            shutil.copy(C.dc_dir(forest) / "private" / "tls" / "ca.pem", C.dc_ca_file(forest))
        wait_tcp(C.SERVICE_POINT["ip"], C.SERVICE_POINT["port"], 10, "service point stand-in")
        for name, ip in C.AMT_HOSTS.items():  # asked from inside the AMT subnet: the controller has no route there
            wait_tcp(ip, C.AMT_PORTS[0], 10, "simulated AMT device", ns=f"{C.PREFIX}-{name}")
        for sock in (C.KEA_SOCKET, C.D2_SOCKET):
            wait_unix(sock, 10, "Kea")
        wait_tcp(C.DHCP_IP, 8000, 10, "kea-ctrl-agent")
        wait_dns(C.BIND["ip"], C.BIND["zone"], 10, "BIND")
        t_start = time.monotonic() - t0
        import seed  # needs ldap3 and cryptography (the project venv)

        seed.seed_all(options)
        state["timings"] = {
            "provision_s": round(t_prov, 2),
            "services_s": round(t_start, 2),
            "total_s": round(time.monotonic() - t0, 2),
        }
        C.STATE_FILE.write_text(json.dumps(state, indent=2))
    except BaseException:
        C.STATE_FILE.write_text(json.dumps(state, indent=2))
        log("up failed; tearing down what was built")
        down()
        raise
    log(
        f"up in {state['timings']['total_s']} s (provision {state['timings']['provision_s']} s); state in {C.STATE_DIR}"
    )


def _kill_namespace_processes(namespaces: list[str]) -> None:
    pids: set[int] = set()
    for ns in namespaces:
        pids.update(int(p) for p in run("ip", "netns", "pids", ns, check=False).stdout.split())
    state = read_state() or {}
    pids.update(p["pid"] for p in state.get("processes", {}).values() if p["pid"])
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 0.7
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
    left = [p for p in pids if alive(p)]
    if left:
        raise LabError(f"processes would not stop: {left}")


def down() -> None:
    t0 = time.monotonic()
    namespaces = existing_namespaces()
    _kill_namespace_processes(namespaces)
    for ns in namespaces:
        run("ip", "netns", "del", ns, check=False)
    if run("ip", "link", "show", C.CONTROLLER_LINK, check=False).returncode == 0:
        run("ip", "link", "del", C.CONTROLLER_LINK, check=False)
    for entry in C.STATE_DIR.glob("*") if C.STATE_DIR.exists() else []:
        if entry.name == "logs":
            continue  # logs stay for post-mortems; `git clean` or `make lab-purge` removes them
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    log(f"down in {time.monotonic() - t0:.2f} s")


def _stop(state: dict, name: str) -> None:
    if name not in state["processes"]:
        raise LabError(f"the lab runs {', '.join(state['processes'])}, not {name}")
    pid = state["processes"][name]["pid"]
    if pid is None:  # an on-demand process that was never started
        return
    if alive(pid):
        os.killpg(pid, signal.SIGTERM)  # spawn() starts each in its own session: its children go too
    deadline = time.monotonic() + 5
    while alive(pid):
        if time.monotonic() > deadline:
            raise LabError(f"{name} (pid {pid}) would not stop")
        time.sleep(0.05)


def stop(name: str) -> None:
    """Stop one process of the lab (e.g. the service point stand-in, to break the provisioning path)."""
    state = read_state()
    if not state:
        raise LabError("the lab is not up")
    _stop(state, name)
    log(f"{name} stopped (lab.py start {name} starts it again)")


def restart(name: str) -> None:
    """Start one process of the lab again, as it was started (a Kea daemon from its config file as it is now)."""
    state = read_state()
    if not state:
        raise LabError("the lab is not up")
    _stop(state, name)
    entry = state["processes"][name]
    if name in KEA_SERVICES:
        start_kea(name, state["processes"], write=False)
    else:
        spawn(name, entry["ns"], entry["cmd"], state["processes"])
    C.STATE_FILE.write_text(json.dumps(state, indent=2))
    if name == "kea-ctrl-agent":
        wait_tcp(C.DHCP_IP, 8000, 10, name)
    elif name in ("kea-dhcp4", "kea-dhcp-ddns"):
        wait_unix(C.KEA_SOCKET if name == "kea-dhcp4" else C.D2_SOCKET, 10, name)
    elif name == "service-point":
        wait_tcp(C.SERVICE_POINT["ip"], C.SERVICE_POINT["port"], 10, name)
    log(f"{name} started again")


def status() -> int:
    state = read_state()
    namespaces = existing_namespaces()
    if not state and not namespaces:
        print("lab: down")
        return 3
    print(f"lab: {'up' if state and healthy(state) else 'DEGRADED'}; options {state and state['options']}")
    print(f"namespaces: {' '.join(namespaces) or '-'}")
    if state and "dns_updates" in state:
        print("allow dns updates: " + ", ".join(f"{C.FORESTS[k]['dns']} {v}" for k, v in state["dns_updates"].items()))
    for name, p in (state or {}).get("processes", {}).items():
        state_word = "running" if p["pid"] and alive(p["pid"]) else "on demand" if p.get("on_demand") else "STOPPED"
        print(f"  {name:16} pid {p['pid'] or '-':<8} {state_word}  (netns {p['ns']})")
    if state and "timings" in state:
        print(f"last up took {state['timings']['total_s']} s; logs in {C.LOG_DIR}")
    return 0 if state and healthy(state) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description="oob-prep lab")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="bring the lab up (idempotent)")
    p_up.add_argument("--ca-key-size", type=int, choices=(2048, 4096), default=C.DEFAULT_OPTIONS["ca_key_size"])
    p_up.add_argument(
        "--strong-auth", choices=("no", "allow_sasl_over_tls", "yes"), default=C.DEFAULT_OPTIONS["strong_auth"]
    )
    p_up.add_argument("--dns-updates", choices=("secure only", "nonsecure"), default=C.DEFAULT_OPTIONS["dns_updates"])
    sub.add_parser("down", help="stop everything the lab started and remove its namespaces and state")
    sub.add_parser("status", help="what runs")
    for verb, what in (
        ("restart", "stop one process of the lab and start it again (Kea: from its config file)"),
        ("start", "start a stopped process of the lab again"),
        ("stop", "stop one process of the lab"),
    ):
        sub.add_parser(verb, help=what).add_argument("name", help="a name that `lab.py status` lists")
    args = parser.parse_args()
    try:
        if args.cmd == "up":
            up({"ca_key_size": args.ca_key_size, "strong_auth": args.strong_auth, "dns_updates": args.dns_updates})
        elif args.cmd == "down":
            down()
        elif args.cmd in ("restart", "start"):
            restart(args.name)
        elif args.cmd == "stop":
            stop(args.name)
        else:
            return status()
    except LabError as exc:
        print(f"[lab] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
