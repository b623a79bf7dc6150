"""Throw-away network namespaces for the nft_table and network_flow_probe tests (root only).

Names start with ``oobtmp-`` (never ``oobp``, the lab's). Documentation addresses only, and no default route
anywhere: nothing sent here can leave the machine. Every namespace and process made here is removed by ``close()``.

``inside(name)`` runs a module's main() in a namespace the way the oob_netns connection runs it on a lab host
(docs/adr/0006): the test's thread enters the namespace (sockets it opens and processes it starts are there) and
comes back, so the modules need no namespace option of their own.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import sys

import pytest

LISTENER = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in map(int, sys.argv[1:]):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1024)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        conn.close()
"""


CLONE_NEWNET = 0x40000000


@contextlib.contextmanager
def inside(name: str):
    """Run the block with this thread in the named network namespace, then return to the one it was in."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join("/run/netns", name), os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"cannot enter network namespace {name}")
        try:
            yield
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "cannot return to the test's network namespace")
    finally:
        os.close(target)
        os.close(own)


def need_root(*tools: str) -> None:
    """Skip the test, saying why, unless it runs as root with the tools it needs."""
    if os.geteuid() != 0:
        pytest.skip("needs root: it makes throw-away network namespaces")
    missing = [t for t in ("ip", *tools) if not shutil.which(t)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def sh(*args: str, check: bool = True, text_input: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, input=text_input)
    if check and proc.returncode:
        raise AssertionError(f"{' '.join(args)}: {proc.stderr.strip()}")
    return proc


class Namespaces:
    """Named namespaces made for one test; ``close()`` kills its processes and deletes them."""

    def __init__(self, tag: str):
        self.prefix = f"oobtmp-{tag}-{os.getpid()}"
        self.names: dict[str, str] = {}
        self.procs: list[subprocess.Popen] = []

    def add(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        sh("ip", "netns", "add", name)
        self.names[role] = name
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def __getitem__(self, role: str) -> str:
        return self.names[role]

    def run(self, role: str, *args: str, check: bool = True, text_input: str | None = None):
        return sh("ip", "netns", "exec", self.names[role], *args, check=check, text_input=text_input)

    def listen(self, role: str, ports: list[int]) -> None:
        """A process in the namespace that accepts (and closes) TCP connections on each port."""
        cmd = ["ip", "netns", "exec", self.names[role], sys.executable, "-c", LISTENER, *map(str, ports)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise AssertionError(f"the listener in {role} did not start: {proc.stderr.read()}")

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(timeout=10)
        for name in self.names.values():
            sh("ip", "netns", "del", name, check=False)


def routed(ns: Namespaces) -> Namespaces:
    """servers (198.51.100.20 service point, .21 console, .50 another server) -- router (.254 / 203.0.113.1,
    forwarding) -- amt (203.0.113.11): the lab's addressing, in three namespaces joined by veth pairs."""
    srv, rtr, amt = ns.add("srv"), ns.add("rtr"), ns.add("amt")
    sh("ip", "-n", srv, "link", "add", "s0", "type", "veth", "peer", "name", "rs", "netns", rtr)
    sh("ip", "-n", amt, "link", "add", "a0", "type", "veth", "peer", "name", "ra", "netns", rtr)
    for address in ("198.51.100.20/24", "198.51.100.21/24", "198.51.100.50/24"):
        sh("ip", "-n", srv, "addr", "add", address, "dev", "s0")
    sh("ip", "-n", rtr, "addr", "add", "198.51.100.254/24", "dev", "rs")
    sh("ip", "-n", rtr, "addr", "add", "203.0.113.1/24", "dev", "ra")
    sh("ip", "-n", amt, "addr", "add", "203.0.113.11/24", "dev", "a0")
    for name, dev in ((srv, "s0"), (rtr, "rs"), (rtr, "ra"), (amt, "a0")):
        sh("ip", "-n", name, "link", "set", dev, "up")
    sh("ip", "-n", srv, "route", "add", "203.0.113.0/24", "via", "198.51.100.254")
    sh("ip", "-n", amt, "route", "add", "198.51.100.0/24", "via", "203.0.113.1")
    ns.run("rtr", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    return ns
