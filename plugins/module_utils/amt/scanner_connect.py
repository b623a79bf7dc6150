# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connect phase of a large scan, in one process per CPU (each takes every n-th address): plain non-blocking
connects under epoll, no event loop and no task per address. Prints "address port,port" for each address with an
open port.

Stdlib only: amt.scan runs this file's source as ``python -c`` in a child process (a module runs from a zip that a
child interpreter cannot import from), with the scan's arguments as JSON in ``sys.argv[1]``. Importing it does
nothing; the scan is ``main()``.
"""

# ruff: noqa: E401, E731, PLW0603, PLW2901 - compact on purpose: one flat loop, every microsecond counts in a /16
import collections
import errno
import json
import select
import socket
import sys
import time


def main() -> None:
    a = json.loads(sys.argv[1])
    ports, timeout, inflight, k, n = a["ports"], a["timeout"], a["inflight"], a["k"], a["n"]

    def addresses():  # the ranges of network.ipv4.expand_targets: exactly the addresses given, each once
        i = 0
        for first, last in a["ranges"]:
            for addr in range(first, last + 1):
                if i % n == k:
                    yield socket.inet_ntoa(addr.to_bytes(4, "big"))
                i += 1

    ep = select.epoll()
    pending, order, left, found = {}, collections.deque(), {}, {}
    out = sys.stdout

    def done(addr, port, ok):
        if ok:
            found.setdefault(addr, []).append(port)
        left[addr] -= 1
        if not left[addr]:
            del left[addr]
            hit = found.pop(addr, None)
            if hit:
                out.write(addr + " " + ",".join(str(p) for p in sorted(hit)) + "\n")
                out.flush()

    it, more = addresses(), True
    while True:
        while more and len(pending) < inflight:
            addr = next(it, None)
            if addr is None:
                more = False
                break
            left[addr] = len(ports)
            for port in ports:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
                e = s.connect_ex((addr, port))
                if e in (errno.EINPROGRESS, errno.EAGAIN):
                    fd = s.fileno()
                    pending[fd] = (s, addr, port)
                    ep.register(fd, select.EPOLLOUT)
                    order.append((time.monotonic() + timeout, fd, s))
                else:
                    s.close()
                    done(addr, port, e == 0)
        if not pending:
            if not more:
                break
            continue
        wait = max(0.0, min(0.05, order[0][0] - time.monotonic())) if order else 0.05
        for fd, _ev in ep.poll(wait):
            s, addr, port = pending.pop(fd)
            ep.unregister(fd)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            s.close()
            done(addr, port, err == 0)
        now = time.monotonic()
        while order and (
            order[0][1] not in pending or pending[order[0][1]][0] is not order[0][2] or order[0][0] <= now
        ):
            _deadline, fd, s = order.popleft()
            entry = pending.get(fd)
            if entry is not None and entry[0] is s:
                del pending[fd]
                ep.unregister(fd)
                s.close()
                done(entry[1], entry[2], False)


if __name__ == "__main__":
    main()
