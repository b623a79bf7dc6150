# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""network_flow_probe's adapter: TCP connects from this host, concurrently (asyncio), each answer read by the
raw-socket reader (``network.probe_answer.Sniffer``) while the module runs as root, and who answered each probe
(``network.probe_answer.classify``, with this host's routes). What to probe and the check rows over the outcomes are
``network.flow_checks`` (pure).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import time

from ansible_collections.oob.prep.plugins.module_utils.network.probe_answer import (
    Sniffer,
    classify,
    gateway_for,
    read_routes,
)

UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM}
MAX_CONCURRENCY = 4096


class ProbeError(Exception):
    kind = "probe"


def _classify(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, TimeoutError):
        return "filtered", "no answer"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "ECONNREFUSED"
    if isinstance(exc, OSError) and exc.errno in UNREACHABLE:
        return "unreachable", errno.errorcode.get(exc.errno, str(exc.errno))
    if isinstance(exc, OSError) and exc.errno:
        return "error", f"{errno.errorcode.get(exc.errno, exc.errno)}: {exc.strerror}"
    return "error", str(exc) or type(exc).__name__


async def _connect(loop, sock: socket.socket, address: tuple, timeout: float, on_port) -> None:
    """A non-blocking connect that reports its local port (``on_port``) before anything can be answered, so the
    sniffer knows the probe's answers by their ports."""
    err = sock.connect_ex(address)
    on_port(sock.getsockname()[1])
    if err in (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK):
        fut = loop.create_future()
        loop.add_writer(sock.fileno(), lambda: fut.done() or fut.set_result(None))
        try:
            await asyncio.wait_for(fut, timeout)
        finally:
            loop.remove_writer(sock.fileno())
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, os.strerror(err))


async def _one(target: dict, sem: asyncio.Semaphore, timeout: float, source: str | None, sniffer) -> dict:
    async with sem:
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        local = {"port": 0, "address": source or ""}

        def on_port(port: int) -> None:
            local["port"] = port
            local["address"] = sock.getsockname()[0]
            if sniffer is not None:
                sniffer.expect(target["dest"], target["port"], port)

        try:
            sock.setblocking(False)
            if source:
                sock.bind((source, 0))
            await _connect(loop, sock, (target["dest"], target["port"]), timeout, on_port)
            status, detail = "open", ""
        except OSError as exc:  # TimeoutError (wait_for) is an OSError too
            status, detail = _classify(exc)
            if status == "filtered":
                detail = f"no answer within {timeout:g} s"
        finally:
            sock.close()
        return dict(target, status=status, detail=detail, elapsed_ms=round((time.monotonic() - start) * 1000, 1),
                    source=local["address"], local_port=local["port"])  # fmt: skip


async def _all(items: list[dict], timeout: float, concurrency: int, source: str | None, sniffer) -> list[dict]:
    sem = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    for s in sniffer.socks if sniffer is not None else []:
        loop.add_reader(s.fileno(), sniffer.drain)
    try:
        results = list(await asyncio.gather(*(_one(t, sem, timeout, source, sniffer) for t in items)))
        if sniffer is not None:  # answers that came with the last outcomes
            await asyncio.sleep(0.05)
            sniffer.drain()
    finally:
        for s in sniffer.socks if sniffer is not None else []:
            loop.remove_reader(s.fileno())
    return results


def probe(items: list[dict], timeout: float = 1.0, concurrency: int = 256, source: str | None = None,
          sniffer=None) -> list[dict]:  # fmt: skip
    """Connect to every target, at most ``concurrency`` at a time; results in the order of ``items``. With a
    ``sniffer`` (network.probe_answer.Sniffer) each result says who answered (answer_of)."""
    return asyncio.run(_all(items, timeout, concurrency, source, sniffer))


def answer_of(results: list[dict], sniffer) -> None:
    """Add to each result who answered it (network.probe_answer.classify): reason, answered_by, answers, evidence. The
    TTL of a SYN-ACK from a destination is the reference for every other answer in its name."""
    sniffed = sniffer is not None
    reference: dict[str, int] = {}
    per = []
    for r in results:
        answers = sniffer.of(r["dest"], r["port"], r["local_port"]) if sniffed else []
        per.append(answers)
        for a in answers:
            if a["kind"] == "syn-ack":
                reference.setdefault(r["dest"], a["ttl"])
    routes = read_routes()
    for r, answers in zip(results, per, strict=True):
        verdict = classify(r["status"], answers, dest=r["dest"], reference_ttl=reference.get(r["dest"]),
                           gateway=gateway_for(routes, r["dest"]), local=frozenset({r["source"]}),
                           sniffed=sniffed)  # fmt: skip
        r.update(verdict, answers=[{k: v for k, v in a.items() if k != "key"} for a in answers],
                 gateway=gateway_for(routes, r["dest"]))  # fmt: skip


def probe_with_answers(items: list[dict], timeout: float, concurrency: int, source: str | None) -> tuple[list, bool]:
    """Probe every target (``probe``) with the raw-socket reader when it can be opened, and say who answered each
    (``answer_of``); (results, whether the answers could be read)."""
    sniffer = Sniffer()
    sniffed = sniffer.ok
    try:
        results = probe(items, timeout, concurrency, source, sniffer if sniffed else None)
    except OSError as exc:  # pragma: no cover - per-target errors are results; this is the event loop itself
        raise ProbeError(f"the probes could not run: {exc}") from None
    finally:
        sniffer.close()
    answer_of(results, sniffer if sniffed else None)
    return results, sniffed


def fit_concurrency(wanted: int, targets_count: int) -> int:
    """The concurrency to use: at most MAX_CONCURRENCY, the targets, and what the open-file limit allows (raised
    toward the hard limit when it is lower than needed)."""
    import resource

    need = max(1, min(wanted, MAX_CONCURRENCY, targets_count))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need + 64:
        target = need + 64 if hard == resource.RLIM_INFINITY else min(hard, need + 64)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        need = max(1, min(need, soft - 64))
    return need


def check_source(source: str) -> None:
    """Fail once, before any probe, when the source address is not one of this host's (in this namespace)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((source, 0))
    except OSError as exc:
        raise ProbeError(f"source_address {source} cannot be used here: {exc.strerror}; give one of this host's "
                         "addresses") from None  # fmt: skip
    finally:
        sock.close()
