# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AMT discovery engine that the amt_discovery module and the oob_amt inventory plugin share (asyncio, read-only).

Two phases per address, run by ``concurrency`` workers that pull addresses from one iterator (so a /16 never becomes
65,536 tasks at once): TCP connects to the AMT ports (each bounded by ``timeout``); then, for an address with an open
port, the device probe - ``GET /`` for the ``Server:`` header on 16992 and/or 16993, the 16993 certificate, and with
credentials WS-MAN over digest auth - bounded as a whole by ``host_timeout``, so a device that stalls mid-answer is
reported with an ``error`` and never holds up the run. A malformed HTTP or TLS answer is that device's ``error``;
only bad input (ValueError, raised before anything is sent) stops a run.

With ``certificate_hashes: true`` (and credentials) the WS-MAN read also enumerates AMT_ProvisioningCertificateHash,
the device's trusted root certificate hashes (:func:`read_certificate_hashes`), into ``dev["certificate_hashes"]``;
a failure there is a note in the device's ``error`` and leaves it None. Off (the default), the key is absent.

Pure parsing lives in oob_amt; this module is the I/O around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import ipaddress
import json
import os
import re
import socket
import ssl
import sys
import time
import warnings

from ansible_collections.oob.prep.plugins.module_utils.amt import scanner_connect, scanner_syn
from ansible_collections.oob.prep.plugins.module_utils.amt.wire import (
    KNOWN_HEADERS,
    amt_version,
    certificate_facts,
    certificate_hashes,
    digest_authorization,
    general_settings,
    parse_challenges,
    parse_server_header,
    parse_wsman,
    power_state,
    provisioning,
    support_class,
    wsman_enumerate,
    wsman_get,
    wsman_pull,
)
from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import (
    check_network,
    expand_targets,
    range_addresses,
    range_count,
)

AMT_PORTS = (16992, 16993, 16994, 16995)
TLS_PORTS = (16993, 16995)
MAX_CONCURRENCY = 4096
MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
SYN_INFLIGHT = 4096  # SYNs awaiting an answer at once
PARALLEL_FROM = 4096  # addresses from which the connect phase runs in one process per CPU
SOAP_HEADERS = {"Content-Type": "application/soap+xml;charset=UTF-8"}
_STATUS = re.compile(r"^HTTP/1\.[01] (\d{3})(?: .*)?$")


class MalformedHTTP(ValueError):
    """The answer on an AMT port is not HTTP/1.x."""


class AuthError(Exception):
    """The device refused the credentials."""


# --- targets ---------------------------------------------------------------------------------------------------------


def plan_targets(targets: list, max_targets: int = 65536, allow_large: bool = False) -> tuple[list, int]:
    """The addresses to scan as sorted, disjoint integer ranges (:func:`network.ipv4.expand_targets`: an address given
    alone or as a /32 is scanned, a subnet's network and broadcast addresses are not, merging changes nothing) and
    their count, which is what ``max_targets`` is checked against. ValueError, before anything is sent, on IPv6, a
    malformed target, a /8 or larger without ``allow_large``, or more than ``max_targets`` addresses."""
    if max_targets < 1:
        raise ValueError("max_targets must be at least 1")
    if not targets:
        raise ValueError("targets is empty: give IPv4 addresses or subnets in CIDR form (for example 203.0.113.0/24)")
    for i, target in enumerate(targets):
        text = str(target if target is not None else "").strip()
        if "/" in text:
            net = check_network(text, f"targets[{i}]")
            if net.prefixlen <= 8 and not allow_large:
                raise ValueError(f"targets[{i}] {net} is a /{net.prefixlen} ({net.num_addresses} addresses): scan "
                                 "the AMT subnets themselves, or set allow_large (and raise max_targets)")  # fmt: skip
    ranges = expand_targets(targets)
    total = range_count(ranges)
    if total > max_targets:
        raise ValueError(f"targets hold {total} addresses, more than max_targets={max_targets}: scan smaller subnets, "
                         "or raise max_targets")  # fmt: skip
    return ranges, total


def iter_addresses(ranges: list):
    """Each address of :func:`plan_targets`' ranges once, as text."""
    return range_addresses(ranges)


# --- I/O helpers -----------------------------------------------------------------------------------------------------


def _timeout(seconds: float):
    return asyncio.timeout(seconds)


def tls_context(validate: bool = False, ca_file: str | None = None, legacy: bool = False) -> ssl.SSLContext:
    """A client context. Without validation it accepts any certificate (reading a device's certificate needs that);
    with it, the chain is checked against ``ca_file`` or the system store (not the host name: devices are reached by
    address). Either way Python's and OpenSSL's defaults for protocol and security level hold (TLS 1.2 and later,
    no SHA-1 signatures, no keys under 2048 bits on Debian), unless ``legacy``: then TLS 1.0 and OpenSSL security
    level 0 are allowed, which old AMT firmware (TLS 1.0, SHA-1, 1024-bit keys) needs. Only the module option
    ``legacy_tls`` asks for that, and the context serves only the AMT connections of that run."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if validate:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if ca_file:
            ctx.load_verify_locations(cafile=ca_file)
        else:
            ctx.load_default_certs()
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if legacy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 is deprecated, and what old AMT speaks
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


# OpenSSL's reasons for refusing a peer that offers only old TLS: the protocol version, the certificate's key or
# digest, or no cipher suite left at the default security level
LEGACY_TLS_REASONS = frozenset({
    "TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE", "VERSION_TOO_LOW",
    "EE_KEY_TOO_SMALL", "CA_KEY_TOO_SMALL", "CA_MD_TOO_WEAK", "DH_KEY_TOO_SMALL", "NO_CIPHERS_AVAILABLE",
    "NO_SHARED_CIPHER", "SSLV3_ALERT_HANDSHAKE_FAILURE", "LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED",
    "TLSV1_ALERT_INSUFFICIENT_SECURITY",
})  # fmt: skip


async def _read_head(reader) -> tuple[int, list]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise MalformedHTTP(f"no end of the HTTP header within {MAX_HEAD} bytes") from None
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise MalformedHTTP("the connection closed without an answer") from None
        first = exc.partial.split(b"\r\n", 1)[0].decode("latin-1")
        if not _STATUS.match(first):
            raise MalformedHTTP(f"not an HTTP/1.x status line: {first[:80]!r}") from None
        raise MalformedHTTP(f"the answer ended inside the HTTP header: {exc.partial[:60]!r}") from None
    lines = head.decode("latin-1").split("\r\n")
    m = _STATUS.match(lines[0])
    if not m:
        raise MalformedHTTP(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        if ":" not in line:
            raise MalformedHTTP(f"a header line without a colon: {line[:80]!r}")
        name, value = line.split(":", 1)
        headers.append((name.strip().lower(), value.strip()))
    return int(m.group(1)), headers


async def _read_body(reader, headers: list) -> bytes:
    hdr = dict(headers)
    if "chunked" in hdr.get("transfer-encoding", "").lower():
        chunks, size = [], 0
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                n = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise MalformedHTTP(f"a bad chunk size line: {line[:40]!r}") from None
            if n == 0:
                with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    await reader.readuntil(b"\r\n")
                return b"".join(chunks)
            size += n
            if size > MAX_BODY:
                raise MalformedHTTP(f"the answer is larger than {MAX_BODY} bytes")
            chunks.append(await reader.readexactly(n))
            await reader.readexactly(2)
    if "content-length" in hdr:
        try:
            n = int(hdr["content-length"])
        except ValueError:
            raise MalformedHTTP(f"a bad Content-Length {hdr['content-length']!r}") from None
        if n > MAX_BODY:
            raise MalformedHTTP(f"the answer is larger than {MAX_BODY} bytes")
        return await reader.readexactly(n)
    return await reader.read(MAX_BODY)


async def http_request(address: str, port: int, method: str, path: str, *, body: bytes = b"", headers=None,
                       ssl_ctx=None, timeout: float = 2.0, read_body: bool = True) -> dict:  # fmt: skip
    """One HTTP/1.1 request on a new connection (``Connection: close``): ``{status, headers, body, cert_der}``."""
    async with _timeout(timeout):
        reader, writer = await asyncio.open_connection(address, port, ssl=ssl_ctx, limit=MAX_HEAD,
                                                       server_hostname="" if ssl_ctx else None)  # fmt: skip
        try:
            cert = None
            if ssl_ctx is not None:
                obj = writer.get_extra_info("ssl_object")
                cert = obj.getpeercert(binary_form=True) if obj else None
            lines = [f"{method} {path} HTTP/1.1", f"Host: {address}:{port}", "Connection: close",
                     "User-Agent: oob-prep amt_discovery"]  # fmt: skip
            lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
            if body or method == "POST":
                lines.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            status, hdrs = await _read_head(reader)
            data = await _read_body(reader, hdrs) if read_body else b""
            return {"status": status, "headers": hdrs, "body": data, "cert_der": cert}
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 0.5)


class Wsman:
    """A WS-MAN client of one device: digest auth on the first 401, then preemptive with a growing nc."""

    def __init__(self, address: str, port: int, username: str, password: str, *, ssl_ctx=None, timeout: float = 2.0):
        self.address, self.port, self.ssl_ctx, self.timeout = address, port, ssl_ctx, timeout
        self.username, self.password = username, password
        self.challenge: dict | None = None
        self.nc = 0
        self.message_id = 0

    async def post(self, envelope: bytes) -> bytes:
        """One WS-MAN request. A 401 to an authenticated request that carries a new nonce is answered once more with
        it, whatever ``stale`` says (AMT firmware often omits stale=true when its nonce expired); a second refusal,
        or a refusal with the same nonce and no stale=true, is AuthError. So at most three requests: the first
        without credentials (no challenge yet), one with them, one retry."""
        retried = False
        for _attempt in range(3):
            headers = dict(SOAP_HEADERS)
            sent_auth = self.challenge is not None
            if sent_auth:
                self.nc += 1
                cnonce = os.urandom(8).hex()
                headers["Authorization"] = digest_authorization(self.username, self.password, "POST", "/wsman",
                                                                self.challenge, nc=self.nc, cnonce=cnonce)  # fmt: skip
            r = await http_request(self.address, self.port, "POST", "/wsman", body=envelope, headers=headers,
                                   ssl_ctx=self.ssl_ctx, timeout=self.timeout)  # fmt: skip
            if r["status"] == 401:
                new = parse_challenges([v for k, v in r["headers"] if k == "www-authenticate"])
                if sent_auth:
                    fresh = new.get("nonce") != self.challenge.get("nonce")
                    if retried:
                        raise AuthError(f"WS-MAN on {self.port}: the device refused the credentials again after one "
                                        f"retry with its new nonce (digest realm {new.get('realm')}): a wrong user "
                                        "or password, or nonces that expire before they can be used")  # fmt: skip
                    if not fresh and new.get("stale", "").lower() != "true":
                        raise AuthError(f"WS-MAN on {self.port}: the device refused the credentials (digest realm "
                                        f"{new.get('realm')})")  # fmt: skip
                    retried = True
                self.challenge, self.nc = new, 0
                continue
            if r["status"] != 200:
                parse_wsman(r["body"], "CIM_SoftwareIdentity")  # a SOAP fault says why
                raise ValueError(f"WS-MAN on {self.port}: HTTP {r['status']}")
            return r["body"]
        raise AuthError(f"WS-MAN on {self.port}: no accepted digest answer after 3 tries")

    async def get(self, class_name: str) -> list[dict]:
        self.message_id += 1
        return parse_wsman(await self.post(wsman_get(class_name, self.message_id)), class_name)["items"]

    async def enumerate(self, class_name: str, max_pulls: int = 16) -> list[dict]:
        self.message_id += 1
        answer = parse_wsman(await self.post(wsman_enumerate(class_name, self.message_id)), class_name)
        items, context = list(answer["items"]), answer["context"]
        for _pull in range(max_pulls):
            if not context or answer["end"]:
                break
            self.message_id += 1
            answer = parse_wsman(await self.post(wsman_pull(class_name, context, self.message_id)), class_name)
            items += answer["items"]
            context = answer["context"] or context
        return items


async def read_certificate_hashes(wsman: Wsman) -> list[dict]:
    """The device's trusted root certificate hashes: Enumerate and Pull of AMT_ProvisioningCertificateHash with the
    client's credentials, as :func:`wire.certificate_hashes` gives them. Errors propagate (AuthError, TimeoutError,
    ValueError for a fault or a malformed answer)."""
    return certificate_hashes(await wsman.enumerate("AMT_ProvisioningCertificateHash"))


# --- per device ----------------------------------------------------------------------------------------------------


def _describe(exc: BaseException, legacy_tls: bool = True) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ssl.SSLError):
        if not legacy_tls and exc.reason in LEGACY_TLS_REASONS:
            return (f"TLS handshake failed: {exc.reason}: the device offers only old TLS (TLS 1.0, SHA-1 signatures, "
                    "1024-bit keys, as old AMT firmware does), which OpenSSL refuses at its default security level; "
                    "set legacy_tls=true to read such devices (TLS 1.0 and SECLEVEL=0 for the AMT connections "
                    "only)")  # fmt: skip
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "the connection closed in the middle of the answer"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset"
    return str(exc) or type(exc).__name__


def _legacy_hint(exc: BaseException) -> str:
    """A reset or an early end of a TLS connection can be old firmware too: some TLS 1.0-only servers drop a TLS 1.2
    handshake without an alert (the simulator's asyncio server does)."""
    if isinstance(exc, ConnectionResetError | ssl.SSLEOFError | asyncio.IncompleteReadError):
        return (" (if this is old AMT firmware that speaks only TLS 1.0, SHA-1 and 1024-bit keys, OpenSSL's default "
                "security level refuses it: set legacy_tls=true)")  # fmt: skip
    return ""


def new_device(address: str, ports: list[int]) -> dict:
    return {"address": address, "ports": ports, "amt": False, "server": None, "version": None,
            "version_source": None, "header_version": None, "header_form": None, "server_401": None,
            "support_class": "unknown", "hostname": None,
            "domain": None, "fqdn": None, "digest_realm": None, "provisioning_state": None, "provisioning_mode": None,
            "power_state": None, "tls": None, "error": None}  # fmt: skip


def _note(dev: dict, text: str) -> None:
    dev["error"] = text if not dev["error"] else f"{dev['error']}; {text}"


def _server(dev: dict, answer: dict, key: str = "server") -> None:
    """Take the ``Server:`` header of an answer (``key``: ``server`` for ``GET /``, ``server_401`` for the 401 of
    ``POST /wsman``): a known form marks the device as Intel's firmware and gives its form and version."""
    server = dict(answer["headers"]).get("server")
    if dev[key] is None and server is not None:
        dev[key] = server
    facts = parse_server_header(server)
    if facts:
        dev["amt"] = True
        if dev["header_form"] in (None, "me11", "amt_unversioned") or facts["variant"] == "ism":
            dev["header_form"] = facts["variant"]
        if facts["version"] and not dev["header_version"]:
            dev["version"] = dev["header_version"] = facts["version"]
            dev["version_source"] = "header" if key == "server" else "header_401"


def classify(dev: dict) -> str:
    """The device's support class (oob_amt.support_class of its version and header form)."""
    dev["support_class"] = support_class(dev["version"], dev.get("header_form"))
    return dev["support_class"]


async def _read_401(dev: dict, opts: dict) -> None:
    """``POST /wsman`` without credentials, for the ``Server:`` header of its 401: firmware that says only ``AMT`` (or
    nothing known) on ``GET /`` may name its product and version there (ME 11+; Open AMT RPS recordings). Read-only:
    nothing is authenticated, so nothing runs."""
    port = 16992 if 16992 in dev["ports"] else 16993
    ctx = opts["tls_any"] if port in TLS_PORTS else None
    try:
        answer = await http_request(dev["address"], port, "POST", "/wsman",
                                    body=wsman_enumerate("CIM_SoftwareIdentity"), headers=SOAP_HEADERS, ssl_ctx=ctx,
                                    timeout=opts["timeout"])  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - what the header of GET / said stands
        _note(dev, f"{port} POST /wsman: {_describe(exc, opts['legacy_tls'])}")
        return
    _server(dev, answer, "server_401")


async def probe_device(dev: dict, opts: dict) -> dict:
    """Fill ``dev`` (from :func:`new_device`) in place: what a partial probe found survives a host deadline."""
    addr, timeout, legacy = dev["address"], opts["timeout"], opts["legacy_tls"]
    http_ok = False
    if 16992 in dev["ports"]:
        try:
            _server(dev, await http_request(addr, 16992, "GET", "/", timeout=timeout, read_body=False))
            http_ok = True
        except Exception as exc:  # noqa: BLE001 - every failure of one device is that device's error
            _note(dev, f"16992: {_describe(exc, legacy)}")
    if 16993 in dev["ports"]:
        try:
            answer = await http_request(addr, 16993, "GET", "/", ssl_ctx=opts["tls_any"], timeout=timeout,
                                        read_body=False)  # fmt: skip
            if answer["cert_der"]:
                dev["tls"] = certificate_facts(answer["cert_der"])
            _server(dev, answer)
            http_ok = True
        except Exception as exc:  # noqa: BLE001
            _note(dev, f"16993: {_describe(exc, legacy)}{'' if legacy else _legacy_hint(exc)}")
    if http_ok and not dev["header_version"] and dev["header_form"] != "ism":
        await _read_401(dev, opts)
    if not dev["amt"]:
        if dev["server"] is not None or dev["server_401"] is not None:
            seen = " / ".join(repr(v) for v in dict.fromkeys((dev["server"], dev["server_401"])) if v is not None)
            _note(
                dev, f"the Server header {seen} is not a form of Intel's firmware this module knows ({KNOWN_HEADERS})"
            )
        elif http_ok:
            _note(dev, "the answers carry no Server header, so the device is not identified as Intel AMT")
    if opts.get("certificate_hashes"):
        dev["certificate_hashes"] = None
    if opts.get("username") and opts.get("password") and opts["wsman_port"] in dev["ports"]:
        await _wsman(dev, opts)
    classify(dev)
    return dev


async def _wsman(dev: dict, opts: dict) -> None:
    port = opts["wsman_port"]
    ctx = opts["tls_wsman"] if port in TLS_PORTS else None
    client = Wsman(dev["address"], port, opts["username"], opts["password"], ssl_ctx=ctx, timeout=opts["timeout"])
    steps = (
        ("CIM_SoftwareIdentity", client.enumerate, _apply_software),
        ("AMT_GeneralSettings", client.get, _apply_general),
        ("AMT_SetupAndConfigurationService", client.get, _apply_setup),
        ("CIM_AssociatedPowerManagementService", client.enumerate, _apply_power),
    )
    if opts.get("certificate_hashes"):
        steps += (("AMT_ProvisioningCertificateHash", lambda _name: read_certificate_hashes(client), _apply_hashes),)
    for class_name, call, apply in steps:
        try:
            apply(dev, await call(class_name))
        except AuthError as exc:
            _note(dev, str(exc))
            return
        except TimeoutError:
            _note(dev, f"WS-MAN {class_name}: no answer within timeout={opts['timeout']:g} s")
            return
        except Exception as exc:  # noqa: BLE001
            _note(dev, f"WS-MAN {class_name}: {_describe(exc, opts['legacy_tls'] or port not in TLS_PORTS)}")


def _apply_software(dev: dict, items: list) -> None:
    version = amt_version(items)
    if version:
        dev.update(version=version, version_source="wsman", amt=True)


def _apply_general(dev: dict, items: list) -> None:
    if items:
        facts = general_settings(items[0])
        dev.update(hostname=facts["hostname"], domain=facts["domain"], digest_realm=facts["digest_realm"])
        if facts["hostname"]:
            dev["fqdn"] = f"{facts['hostname']}.{facts['domain']}" if facts["domain"] else facts["hostname"]


def _apply_setup(dev: dict, items: list) -> None:
    if items:
        facts = provisioning(items[0])
        dev.update(provisioning_state=facts["provisioning_state"], provisioning_mode=facts["provisioning_mode"])


def _apply_power(dev: dict, items: list) -> None:
    dev["power_state"] = power_state(items)


def _apply_hashes(dev: dict, hashes: list) -> None:
    dev["certificate_hashes"] = hashes


# --- the scan --------------------------------------------------------------------------------------------------------


def _wake(fut) -> None:
    if not fut.done():
        fut.set_result(None)


async def open_ports_of(loop, address: str, ports: list[int], timeout: float) -> list[int]:
    """The ports of ``ports`` that accept a TCP connection within ``timeout``. Non-blocking connects are started on all
    ports at once; a refusal that comes back at once (a host that answers with a reset, the loopback) costs no event
    loop round trip, and only connects still in progress are waited for (a writer callback each, no task)."""
    found, pending = [], {}
    try:
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
            err = sock.connect_ex((address, port))
            if err == 0:
                found.append(port)
                sock.close()
            elif err in (errno.EINPROGRESS, errno.EAGAIN):
                pending[port] = (sock, loop.create_future())
                loop.add_writer(sock.fileno(), _wake, pending[port][1])
            else:
                sock.close()
        if pending:
            await asyncio.wait([fut for _sock, fut in pending.values()], timeout=timeout)
    finally:
        for port, (sock, fut) in pending.items():
            loop.remove_writer(sock.fileno())
            if fut.done() and not fut.cancelled() and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                found.append(port)
            sock.close()
    return [p for p in ports if p in found]


async def _worker(addresses, ports: list[int], opts: dict, devices: list) -> None:
    loop = asyncio.get_running_loop()
    timeout = opts["timeout"]
    for address in addresses:  # one shared iterator: each address goes to exactly one worker
        open_ports = await open_ports_of(loop, address, ports, timeout)
        if not open_ports:
            continue
        devices.append(await _probe_one(address, open_ports, opts))


async def _probe_one(address: str, open_ports: list[int], opts: dict) -> dict:
    dev = new_device(address, open_ports)
    try:
        async with _timeout(opts["host_timeout"]):
            await probe_device(dev, opts)
    except TimeoutError:
        _note(dev, f"no complete answer within host_timeout={opts['host_timeout']:g} s")
        classify(dev)
    except Exception as exc:  # noqa: BLE001 - never a module failure for one device
        _note(dev, _describe(exc, opts["legacy_tls"]))
    return dev


# The scanners (connect and SYN) are the real Python files amt/scanner_connect.py and amt/scanner_syn.py:
# imported here (so AnsiballZ packs them, and ruff and coverage see them) and run from their source in children.


async def _scan_processes(ranges: list, opts: dict, processes: int, concurrency: int, devices: list, *,
                          method: str = "connect") -> None:  # fmt: skip
    """The connect phase in ``processes`` child scanners (one SYN scanner with ``method='syn'``); each address they
    report is probed here as it arrives."""
    queue: asyncio.Queue = asyncio.Queue()
    inflight = max(1, concurrency // processes) if method == "connect" else SYN_INFLIGHT
    children = []
    for k in range(processes):
        args = {"ranges": ranges, "ports": opts["ports"], "timeout": opts["timeout"],
                "inflight": inflight, "k": k, "n": processes}  # fmt: skip
        source = inspect.getsource(scanner_syn if method == "syn" else scanner_connect)
        children.append(await asyncio.create_subprocess_exec(sys.executable, "-c", source, json.dumps(args),
                                                             stdout=asyncio.subprocess.PIPE,
                                                             stderr=asyncio.subprocess.PIPE))  # fmt: skip

    async def read(child):
        async for line in child.stdout:
            address, ports = line.decode().split()
            await queue.put((address, [int(p) for p in ports.split(",")]))
        err = (await child.stderr.read()).decode(errors="replace").strip()
        if await child.wait() != 0:
            raise OSError(f"a scanner process failed: {err[-500:]}")

    async def probe():
        while True:
            item = await queue.get()
            if item is None:
                return
            devices.append(await _probe_one(item[0], item[1], opts))

    probers = [asyncio.ensure_future(probe()) for _prober in range(max(1, min(concurrency, 256)))]
    try:
        await asyncio.gather(*(read(c) for c in children))
    finally:
        for _prober in probers:
            queue.put_nowait(None)
        await asyncio.gather(*probers)
        for c in children:
            if c.returncode is None:
                c.kill()
                await c.wait()


def raw_allowed() -> bool:
    """Whether this process may open a raw TCP socket (root or CAP_NET_RAW): the SYN scanner's condition."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP).close()
        return True
    except OSError:
        return False


def fit_concurrency(wanted: int, targets_count: int, per_worker: int) -> int:
    """Workers to run: at most MAX_CONCURRENCY and the targets, and what the open-file limit allows with
    ``per_worker`` sockets each (the soft limit is raised toward the hard limit when it is too low)."""
    import resource

    need = max(1, min(wanted, MAX_CONCURRENCY, targets_count))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want_fds = need * per_worker + 64
    if soft != resource.RLIM_INFINITY and soft < want_fds:
        target = want_fds if hard == resource.RLIM_INFINITY else min(hard, want_fds)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        need = max(1, min(need, (soft - 64) // per_worker))
    return need


def check_options(opts: dict) -> dict:
    """Validate and complete the scan options (ValueError on bad input); returns a new dict."""
    o = dict(opts)
    ports = list(dict.fromkeys(o.get("ports") or [16992, 16993]))
    bad = [p for p in ports if p not in AMT_PORTS]
    if bad:
        raise ValueError(f"ports {bad} are not AMT ports: use {', '.join(map(str, AMT_PORTS))}")
    o["ports"] = ports
    if not 0 < float(o.get("timeout", 2.0)) <= 60:
        raise ValueError(f"timeout must be more than 0 and at most 60 seconds, not {o.get('timeout')}")
    o["timeout"] = float(o.get("timeout", 2.0))
    o["host_timeout"] = float(o.get("host_timeout") or 30.0)
    if o["host_timeout"] < o["timeout"]:
        raise ValueError(f"host_timeout ({o['host_timeout']:g} s) must be at least timeout ({o['timeout']:g} s)")
    if int(o.get("concurrency", 512)) < 1:
        raise ValueError("concurrency must be at least 1")
    o.setdefault("wsman_port", 16992)
    if o["wsman_port"] not in (16992, 16993):
        raise ValueError(f"wsman_port must be 16992 or 16993, not {o['wsman_port']}")
    if bool(o.get("username")) != bool(o.get("password")):
        raise ValueError("username and password go together: give both for WS-MAN, or neither")
    o["certificate_hashes"] = bool(o.get("certificate_hashes", False))
    if o["certificate_hashes"] and not o.get("username"):
        raise ValueError("certificate_hashes needs username and password: the trusted root hashes are read over WS-MAN "
                         "with the AMT administrator's credentials")  # fmt: skip
    if o.get("ca_file") and not os.path.isfile(o["ca_file"]):
        raise ValueError(f"ca_file {o['ca_file']} does not exist: give the PEM file of the CA that issued the AMT "
                         "certificates")  # fmt: skip
    o["legacy_tls"] = bool(o.get("legacy_tls", False))
    o["tls_any"] = tls_context(False, legacy=o["legacy_tls"])
    o["tls_wsman"] = tls_context(bool(o.get("validate_certs", True)), o.get("ca_file"), legacy=o["legacy_tls"])
    return o


def summarize(devices: list[dict]) -> dict:
    """Counts by support class, version, provisioning state, and devices with an error."""
    out = {"devices": len(devices), "support_class": {}, "version": {}, "provisioning_state": {}, "errors": 0}
    for d in devices:
        out["support_class"][d["support_class"]] = out["support_class"].get(d["support_class"], 0) + 1
        v = d["version"] or "unknown"
        out["version"][v] = out["version"].get(v, 0) + 1
        s = d["provisioning_state"] or "unknown"
        out["provisioning_state"][s] = out["provisioning_state"].get(s, 0) + 1
        out["errors"] += 1 if d["error"] else 0
    return out


def discover(options: dict) -> dict:
    """Run a discovery: ``options`` as the module's parameters. Returns ``{devices, summary, scanned, elapsed_s,
    concurrency}``; ValueError on bad input before anything is sent."""
    ranges, total = plan_targets(options["targets"], int(options.get("max_targets") or 65536),
                                 bool(options.get("allow_large")))  # fmt: skip
    opts = check_options(options)
    concurrency = fit_concurrency(int(opts.get("concurrency", 512)), total, len(opts["ports"]) + 1)
    processes = int(opts.get("processes") or 0)
    if processes < 1:  # auto: one scanner per CPU for a large scan, else the event loop alone
        processes = min(os.cpu_count() or 1, 8) if total >= PARALLEL_FROM else 1
    processes = max(1, min(processes, total))
    method = opts.get("scan_method") or "auto"
    if method == "auto":  # full connects: no half-open connections to devices unless asked for
        method = "connect"
    if method == "syn":
        if not raw_allowed():
            raise ValueError("scan_method=syn needs root or CAP_NET_RAW (a raw socket); use connect or auto")
        processes = 1
    devices: list[dict] = []
    start = time.monotonic()

    async def _run():
        if processes > 1 or method == "syn":
            await _scan_processes(ranges, opts, processes, concurrency, devices, method=method)
            return
        addresses = iter_addresses(ranges)
        await asyncio.gather(*(_worker(addresses, opts["ports"], opts, devices) for _worker_no in range(concurrency)))

    asyncio.run(_run())
    devices.sort(key=lambda d: int(ipaddress.ip_address(d["address"])))
    return {"devices": devices, "summary": summarize(devices), "scanned": total,
            "elapsed_s": round(time.monotonic() - start, 3), "concurrency": concurrency,
            "processes": processes, "scan_method": method}  # fmt: skip
