# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: oob_amt
short_description: Intel AMT computers found on the AMT subnets, as hosts grouped by ConfigMgr support and version
description:
  - Runs the discovery of the amt_discovery module (the same engine, plugins/module_utils/amt/scan.py) from the
    controller and adds every device found as a host - named by its FQDN when WS-MAN gave its host and domain name,
    else by its address (C(ansible_host) is always the address).
  - "Host vars: C(amt_address), C(amt_version), C(amt_version_source), C(amt_support_class), C(amt_provisioning_state),
    C(amt_provisioning_mode), C(amt_power_state), C(amt_ports), C(amt_server), C(amt_fqdn), C(amt_tls),
    C(amt_error)."
  - "Groups: C(amt_support_<native|translator|unsupported|ism|unknown>), C(amt_major_<N>) (with a version),
    C(amt_state_<pre|in|post>) (with WS-MAN), C(amt_errors) (devices with an error); and those of O(keyed_groups)
    and O(groups)."
  - "The inventory file's name must end in C(oob_amt.yml) or C(oob_amt.yaml) and it must say
    C(plugin: oob.prep.oob_amt)."
  - With O(cache) the discovery's result is kept in the cache plugin (for example C(ansible.builtin.jsonfile)) and
    reused until O(cache_timeout); C(ansible-inventory --flush-cache) or C(--flush-cache) rescans.
extends_documentation_fragment:
  - inventory_cache
  - constructed
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [oob.prep.oob_amt, oob_amt]
  targets:
    description:
      - IPv4 addresses and subnets in CIDR form to scan (IPv6 is refused), as amt_discovery's - exactly the addresses
        given; an address alone (or as a /32) always; a subnet without its network and broadcast addresses (a /31 for
        both); merging never adds or drops an address, and one given twice is scanned once.
    type: list
    elements: str
    required: true
  ports:
    description: The AMT ports to connect to (16992-16995).
    type: list
    elements: int
    default: [16992, 16993]
  timeout:
    description: Seconds for each connection and HTTP answer.
    type: float
    default: 2.0
  host_timeout:
    description: Seconds for the whole probe of one device.
    type: float
    default: 30.0
  concurrency:
    description: Addresses probed at once.
    type: int
    default: 512
  processes:
    description: Scanner processes for the connect phase; V(0) is one per CPU (at most 8) from 4096 addresses on.
    type: int
    default: 0
  scan_method:
    description: V(connect) (V(auto)) or V(syn) (a raw-socket SYN scan; root or CAP_NET_RAW), as amt_discovery's.
    type: str
    choices: [auto, connect, syn]
    default: auto
  max_targets:
    description: Refuse more addresses than this.
    type: int
    default: 65536
  allow_large:
    description: Allow a /8 or larger target.
    type: bool
    default: false
  username:
    description: The AMT user for WS-MAN (digest authentication).
    type: str
    env:
      - name: OOB_AMT_USERNAME
  password:
    description: The AMT user's password (vault it, or give it in the environment).
    type: str
    env:
      - name: OOB_AMT_PASSWORD
  wsman_port:
    description: The port for WS-MAN; 16993 uses TLS.
    type: int
    choices: [16992, 16993]
    default: 16992
  validate_certs:
    description: Validate the certificate chain of WS-MAN over TLS before sending credentials.
    type: bool
    default: true
  ca_file:
    description: The PEM file of the CA that issued the AMT certificates.
    type: path
  legacy_tls:
    description:
      - Allow the TLS of old AMT firmware on 16993 (TLS 1.0, SHA-1 signatures, 1024-bit keys), as amt_discovery's -
        TLS 1.0 and OpenSSL C(@SECLEVEL=0) for this scan's AMT connections only. With V(false), such a device is
        listed with C(amt_error) naming the cause and this option.
    type: bool
    default: false
  netns:
    description:
      - Scan from inside this Linux network namespace (a name in C(/run/netns); root on the controller), for a
        controller that has no route to the AMT subnets while a namespace of it has (the project's lab, where the
        controller sits on the server subnet only). The scan runs in a thread that enters the namespace; the rest of
        Ansible stays where it is.
    type: str
"""

EXAMPLES = r"""
# inventories/<env>/amt.oob_amt.yml
plugin: oob.prep.oob_amt
targets: [203.0.113.0/24]
username: admin
# password: a vaulted string (!vault), or OOB_AMT_PASSWORD in the environment
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: .cache/oob_amt
cache_timeout: 3600
keyed_groups:
  - key: amt_power_state
    prefix: amt_power

# ansible-inventory -i inventories/<env>/amt.oob_amt.yml --graph
"""

import ctypes  # noqa: E402 - DOCUMENTATION and EXAMPLES come first, as Ansible requires
import os  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402

from ansible.errors import AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable  # noqa: E402
from ansible_collections.oob.prep.plugins.module_utils.amt.scan import discover  # noqa: E402
from ansible_collections.oob.prep.plugins.module_utils.amt.wire import major  # noqa: E402

SCAN_OPTIONS = ("targets", "ports", "timeout", "host_timeout", "concurrency", "processes", "scan_method", "max_targets",
                "allow_large",
                "username", "password", "wsman_port", "validate_certs", "ca_file", "legacy_tls")  # fmt: skip


CLONE_NEWNET = 0x40000000  # <sched.h>
_NETNS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def in_netns(netns: str, func, *args):
    """``func(*args)`` in a thread that entered network namespace ``netns`` (setns(2) changes only the calling
    thread's namespace; sockets it opens, and processes it forks, live there)."""
    if not _NETNS.match(netns):
        raise ValueError(f"netns {netns!r} is not a network namespace name")
    path = f"/run/netns/{netns}"
    if not os.path.exists(path):
        raise ValueError(f"network namespace {netns} does not exist ({path}); for the lab: make lab-up")
    libc = ctypes.CDLL(None, use_errno=True)
    box: dict = {}

    def run():
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {netns}: {os.strerror(err)} (root is needed)")
            finally:
                os.close(fd)
            box["result"] = func(*args)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"oob_amt-{netns}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "oob_amt"  # the source may say oob.prep.oob_amt: the loader accepts the name it was loaded by
    discover = staticmethod(discover)  # tests replace it

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("oob_amt.yml", "oob_amt.yaml"))

    def _scan(self) -> list[dict]:
        options = {name: self.get_option(name) for name in SCAN_OPTIONS}
        netns = self.get_option("netns")
        try:
            result = in_netns(netns, self.discover, options) if netns else self.discover(options)
        except (ValueError, OSError) as exc:
            raise AnsibleParserError(f"oob_amt: {exc}") from None
        # what is cached holds no credential: only the devices
        return result["devices"]

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache")
        devices = None
        update = use_cache and not cache
        if use_cache and cache:
            try:
                devices = self._cache[cache_key]
            except KeyError:
                update = True
        if devices is None:
            devices = self._scan()
        if update:
            self._cache[cache_key] = devices
        self._populate(devices)

    def _populate(self, devices: list[dict]) -> None:
        strict = self.get_option("strict")
        for dev in devices:
            host = self.inventory.add_host(dev.get("fqdn") or dev["address"])
            hostvars = {
                "ansible_host": dev["address"],
                "amt_address": dev["address"],
                "amt_version": dev.get("version"),
                "amt_version_source": dev.get("version_source"),
                "amt_support_class": dev.get("support_class"),
                "amt_provisioning_state": dev.get("provisioning_state"),
                "amt_provisioning_mode": dev.get("provisioning_mode"),
                "amt_power_state": dev.get("power_state"),
                "amt_ports": dev.get("ports"),
                "amt_server": dev.get("server"),
                "amt_fqdn": dev.get("fqdn"),
                "amt_tls": dev.get("tls"),
                "amt_error": dev.get("error"),
            }
            for name, value in hostvars.items():
                self.inventory.set_variable(host, name, value)
            groups = [f"amt_support_{dev.get('support_class') or 'unknown'}"]
            if dev.get("version"):
                groups.append(f"amt_major_{major(dev['version'])}")
            if dev.get("provisioning_state"):
                groups.append(f"amt_state_{dev['provisioning_state']}")
            if dev.get("error"):
                groups.append("amt_errors")
            for group in groups:
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
