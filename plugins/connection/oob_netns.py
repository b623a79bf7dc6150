# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# ruff: noqa: E402 - DOCUMENTATION and EXAMPLES come before the imports, as ansible-test's validate-modules requires
from __future__ import annotations

DOCUMENTATION = r"""
name: oob_netns
short_description: Run tasks inside a Linux network namespace on the controller
description:
  - Runs every command of a task (modules, M(ansible.builtin.raw), M(ansible.builtin.command),
    M(ansible.builtin.shell), Python interpreter discovery) inside a network namespace of the controller machine,
    with C(ip netns exec <namespace> /bin/sh -c <command>). Everything else is the C(local) connection's.
  - Made for the lab, whose hosts are network namespaces (C(oobp-amtc), C(oobp-amt1), C(oobp-rtr), ...); a module
    such as C(dhcp_probe) then sees the namespace's interfaces, addresses and routes, as it would on a real host.
  - Files are put and fetched as the C(local) connection does, on the controller's file system, which the
    namespaces share (C(ip netns exec) only remounts C(/sys) and the namespace's C(/etc/netns/<name>) files).
  - Needs root on the controller (C(ip netns exec) enters the namespace with C(setns)).
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
options:
  netns:
    description:
      - The network namespace to run in (a name that C(ip netns list) shows, that is a file in C(/run/netns)).
      - The host's address (C(ansible_host), which is its inventory name unless set) when not set; with
        C(delegate_to), the delegated host's.
    type: str
    vars:
      - name: ansible_host
      - name: ansible_netns
  netns_command:
    description: The C(ip) command (iproute2) that enters the namespace; a path, or a name looked up in C(PATH).
    type: str
    default: ip
    vars:
      - name: ansible_netns_command
  become_success_timeout:
    description:
      - Number of seconds to wait for become to succeed when enabled (as the C(local) connection).
      - The default will be used if the configured value is less than 1.
    type: int
    default: 10
    vars:
      - name: ansible_local_become_success_timeout
  become_strip_preamble:
    description: Strip internal become output preceding command execution (as the C(local) connection).
    type: bool
    default: true
    vars:
      - name: ansible_local_become_strip_preamble
extends_documentation_fragment:
  - connection_pipelining
notes:
  - The remote user is ignored, as with the C(local) connection; the user who runs Ansible runs the command (root).
  - Set C(ansible_python_interpreter) to a Python of the controller (the lab uses C({{ ansible_playbook_python }}))
    unless the default discovery suits.
  - docs/adr/0006-lab-namespace-hosts.md says why this is a connection plugin and not an interpreter wrapper.
seealso:
  - name: ip-netns(8)
    description: C(ip netns exec) and where named namespaces live.
    link: https://man7.org/linux/man-pages/man8/ip-netns.8.html
"""

EXAMPLES = r"""
# inventory (YAML)
oob_lab_namespaces:
  hosts:
    oobp-amtc:                      # the namespace is the host's name
      ansible_connection: oob_netns
    amt-client:
      ansible_connection: oob_netns
      ansible_netns: oobp-amtc      # or give it
"""

import os
import re
import shlex
import shutil

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection
from ansible.utils.display import Display

display = Display()

NETNS_DIR = "/run/netns"
NAME = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.@:+-]{0,254}$")


def wrap_command(ip: str, netns: str, cmd: str) -> str:
    """The shell command line that runs ``cmd`` (a /bin/sh command line) inside ``netns``."""
    return f"{shlex.quote(ip)} netns exec {shlex.quote(netns)} /bin/sh -c {shlex.quote(cmd)}"


class Connection(LocalConnection):
    """Local connection whose commands run inside a network namespace."""

    transport = "oob.prep.oob_netns"

    def _netns(self) -> str:
        netns = self.get_option("netns") or self._play_context.remote_addr
        if not netns or not NAME.match(str(netns)) or netns in (".", ".."):
            raise AnsibleConnectionFailure(f"oob_netns: not a network namespace name: {netns!r} (set ansible_netns)")
        return str(netns)

    def _ip(self) -> str:
        command = self.get_option("netns_command")
        found = shutil.which(command)
        if not found:
            raise AnsibleConnectionFailure(f"oob_netns: {command!r} not found (install iproute2, or set "
                                           "ansible_netns_command)")  # fmt: skip
        return found

    def _connect(self):
        netns = self._netns()
        if not os.path.exists(os.path.join(NETNS_DIR, netns)):
            raise AnsibleConnectionFailure(f"oob_netns: network namespace {netns} does not exist on the controller "
                                           f"(no {NETNS_DIR}/{netns}; `ip netns list` shows them; for the lab: "
                                           "make lab-up)")  # fmt: skip
        if not self._connected:
            display.vvv(f"ESTABLISH NETNS CONNECTION TO {netns}", host=self._play_context.remote_addr)
        return super()._connect()

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        wrapped = wrap_command(self._ip(), self._netns(), cmd if isinstance(cmd, str) else cmd.decode("utf-8"))
        return super().exec_command(wrapped, in_data=in_data, sudoable=sudoable)
