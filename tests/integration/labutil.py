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
