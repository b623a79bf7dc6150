"""The oob_netns connection plugin: the command line it wraps (what /bin/sh would run), where the namespace name
comes from, and its refusals. Nothing is executed: the local connection's exec_command is replaced by a recorder.
Running tasks in the lab's namespaces through it is in tests/integration/test_dhcp_probe_lab.py."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.connection import local
from ansible.plugins.loader import connection_loader

ROOT = Path(__file__).resolve().parents[4]
connection_loader.add_directory(str(ROOT / "plugins" / "connection"))

# what an action plugin hands to exec_command: a /bin/sh command line, quotes and all
MODULE_CMD = "/bin/sh -c '/usr/bin/python3 /root/.ansible/tmp/a b/AnsiballZ_dhcp_probe.py && sleep 0'"


@pytest.fixture()
def connection():
    def make(**variables):
        conn = connection_loader.get("oob_netns", PlayContext(), None)
        conn.set_options(var_options={"ansible_host": "oobp-amtc", **variables})
        return conn

    return make


@pytest.fixture()
def ran(monkeypatch):
    """The command lines the local connection was asked to run."""
    calls: list = []

    def exec_command(self, cmd, in_data=None, sudoable=True):
        calls.append((cmd, in_data, sudoable))
        return 0, b"", b""

    monkeypatch.setattr(local.Connection, "exec_command", exec_command)
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/sbin/{name}" if "/" not in name else name)
    return calls


def test_the_command_is_wrapped_in_ip_netns_exec(connection, ran):
    assert connection().exec_command(MODULE_CMD, in_data=b"payload") == (0, b"", b"")
    ((cmd, in_data, sudoable),) = ran
    assert cmd == f"/usr/sbin/ip netns exec oobp-amtc /bin/sh -c {shlex.quote(MODULE_CMD)}"
    assert shlex.split(cmd) == ["/usr/sbin/ip", "netns", "exec", "oobp-amtc", "/bin/sh", "-c", MODULE_CMD]
    assert in_data == b"payload" and sudoable is True  # stdin (pipelining) and become go through untouched


def test_ansible_netns_wins_over_the_inventory_name(connection, ran):
    connection(ansible_netns="oobp-amt1").exec_command("true")
    assert shlex.split(ran[0][0])[3] == "oobp-amt1"


def test_netns_command_can_be_a_path(connection, ran):
    connection(ansible_netns_command="/opt/iproute2/ip").exec_command("true")
    assert ran[0][0].startswith("/opt/iproute2/ip netns exec oobp-amtc ")


def test_bytes_commands_are_wrapped_too(connection, ran):
    connection().exec_command(b"echo 'x y'")
    assert shlex.split(ran[0][0])[-1] == "echo 'x y'"


@pytest.mark.parametrize("name", ["../etc", "a b", "", ".."])
def test_a_bad_namespace_name_is_refused(connection, ran, name):
    with pytest.raises(AnsibleConnectionFailure, match="not a network namespace name"):
        connection(ansible_netns=name).exec_command("true")
    assert ran == []


def test_a_missing_ip_command_is_named(connection, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(AnsibleConnectionFailure, match="'ip' not found"):
        connection().exec_command("true")


def test_a_missing_namespace_fails_to_connect(connection):
    with pytest.raises(AnsibleConnectionFailure, match="network namespace oobp-none does not exist"):
        connection(ansible_netns="oobp-none")._connect()


def test_documented_options():
    conn = connection_loader.get("oob_netns", PlayContext(), None)
    conn.set_options(var_options={"ansible_host": "oobp-rtr"})
    assert conn.get_option("netns") == "oobp-rtr" and conn.get_option("netns_command") == "ip"
    assert conn.transport == "oob.prep.oob_netns" and isinstance(conn, local.Connection)
