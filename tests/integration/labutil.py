"""Helpers for integration tests: the lab's facts, commands in its namespaces, an admin LDAP connection."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))

import labconfig  # noqa: E402
from ldap3 import NONE, Connection, Server, Tls  # noqa: E402


def netns_run(ns: str, *cmd: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True, timeout=timeout)


def ldaps(
    user: str = "Administrator@lab.example", password: str = labconfig.ADMIN_PASSWORD, forest: str = "lab"
) -> Connection:
    """A bound LDAPS connection, independent of the project's code (raw ldap3)."""
    f = labconfig.FORESTS[forest]
    tls = Tls(
        ca_certs_file=str(labconfig.dc_ca_file(forest)),
        validate=ssl.CERT_REQUIRED,
        valid_names=[labconfig.dc_fqdn(forest)],
    )
    server = Server(f["dc_ip"], port=636, use_ssl=True, tls=tls, get_info=NONE, connect_timeout=5)
    return Connection(server, user=user, password=password, auto_bind=True, check_names=False)


def highest_usn(conn: Connection) -> int:
    conn.search("", "(objectClass=*)", search_scope="BASE", attributes=["highestCommittedUSN"])
    return int(conn.response[0]["attributes"]["highestCommittedUSN"][0])


def kea(command: str, arguments: dict | None = None, sock: Path | None = None) -> dict:
    """One Kea control-socket command, sent as raw JSON (independent of the project's Kea client)."""
    import json
    import socket

    request = {"command": command, **({"arguments": arguments} if arguments is not None else {})}
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(sock or labconfig.KEA_SOCKET))
        s.sendall(json.dumps(request).encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    answer = json.loads(data)
    assert answer["result"] == 0, answer
    return answer.get("arguments")


def kea_hash(sock: Path | None = None) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(kea("config-get", sock=sock), sort_keys=True).encode()).hexdigest()


def ansible_playbook(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """ansible-playbook against inventories/lab, as a user runs it from the project folder."""
    import os

    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventories" / "lab"),
           "--vault-id", f"lab@{ROOT / 'inventories' / 'lab' / 'vault-password.txt'}", *args]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def ansible_module(host: str, module: str, args: dict, *extra: str, timeout: float = 300) -> dict:
    """Run one module on an inventory host of the lab (ad hoc, one-line output); returns that host's result."""
    import json
    import os

    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    module = module if "." in module else f"oob.prep.{module}"  # this repository is the collection oob.prep
    cmd = [str(ROOT / ".venv" / "bin" / "ansible"), "-i", str(ROOT / "inventories" / "lab"), host, "-o", "-m", module,
           "-a", json.dumps(args), *extra]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(f"{host} | ")), "")
    try:
        return json.loads(line.split(" => ", 1)[1])
    except (ValueError, IndexError):
        output = f"{proc.stdout[-3000:]}\n{proc.stderr}"
        raise AssertionError(f"ansible {module} on {host}: rc {proc.returncode}\n{output}") from None


def samba_tool_dns(*args: str) -> None:
    """samba-tool dns against the lab DC (as lab/seed.py does: an empty smb.conf, the lab's Administrator)."""
    empty = labconfig.dc_dir("lab") / "empty.conf"
    cmd = ["samba-tool", "dns", args[0], labconfig.FORESTS["lab"]["dc_ip"], *args[1:], "-s", str(empty),
           f"-UAdministrator%{labconfig.ADMIN_PASSWORD}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
