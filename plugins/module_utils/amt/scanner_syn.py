# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SYN variant (root or CAP_NET_RAW only): one raw socket sends a TCP SYN per address and port and reads the
answers (SYN-ACK: open; RST: closed; nothing within the timeout: closed), the way nmap -sS does; the kernel resets
the half-open connections itself. No socket per target, so it is several times cheaper than connects. Prints the
same lines as the connect scanner (amt.scanner_connect).

Stdlib only: amt.scan runs this file's source as ``python -c`` in a child process (a module runs from a zip that a
child interpreter cannot import from), with the scan's arguments as JSON in ``sys.argv[1]``. Importing it does
nothing; the scan is ``main()``.
"""

# ruff: noqa: E401, E731, PLW0603, PLW2901 - compact on purpose: one flat loop, every microsecond counts in a /16
import collections
import json
import random
import select
import socket
import struct
import sys
import time


def main() -> None:
    a = json.loads(sys.argv[1])
    ports, timeout, inflight = a["ports"], a["timeout"], max(64, a["inflight"])
    ranges = a["ranges"]  # network.ipv4.expand_targets: exactly the addresses given, each once
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    for opt, size in ((getattr(socket, "SO_RCVBUFFORCE", 33), 32 << 20), (socket.SO_RCVBUF, 32 << 20)):
        try:
            raw.setsockopt(socket.SOL_SOCKET, opt, size)
            break
        except OSError:
            pass
    raw.setblocking(False)

    def source(ip):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.connect((socket.inet_ntoa(ip.to_bytes(4, "big")), 9))
        src = u.getsockname()[0]
        u.close()
        return src

    src = source(ranges[0][0])
    guard = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # holds our source port so no connection gets it
    guard.bind((src, 0))
    sport = guard.getsockname()[1]
    seq = random.getrandbits(32)
    src_b = socket.inet_aton(src)
    # the TCP checksum (RFC 793) of a header where only the destination address and port change: the one's complement
    # sum of everything else once, then two additions per packet
    base = sum(struct.unpack("!HH", src_b)) + 6 + 20 + sport + (seq >> 16) + (seq & 0xFFFF) + (5 << 12 | 0x02) + 64240
    tmpl = bytearray(struct.pack("!HHIIBBHHH", sport, 0, seq, 0, 5 << 4, 0x02, 64240, 0, 0))
    pack_into = struct.pack_into
    pending, order, left, found = {}, collections.deque(), {}, {}
    out = sys.stdout
    ack_ok = (seq + 1) & 0xFFFFFFFF

    def done(ip, port, ok):
        if ok:
            found.setdefault(ip, []).append(port)
        left[ip] -= 1
        if not left[ip]:
            del left[ip]
            hit = found.pop(ip, None)
            if hit:
                out.write(socket.inet_ntoa(struct.pack("!I", ip)) + " " + ",".join(map(str, sorted(hit))) + "\n")
                out.flush()

    def drain():
        while True:
            try:
                pkt = raw.recv(256)
            except BlockingIOError:
                return
            ihl = (pkt[0] & 0x0F) * 4
            if len(pkt) < ihl + 14:
                continue
            tsport, tdport, _s, ack = struct.unpack_from("!HHII", pkt, ihl)
            if tdport != sport or ack != ack_ok:
                continue
            key = (struct.unpack_from("!I", pkt, 12)[0], tsport)
            if pending.pop(key, None) is None:
                continue
            flags = pkt[ihl + 13]
            done(key[0], key[1], flags & 0x12 == 0x12)

    def expire(now):
        while order and (order[0][1] not in pending or order[0][0] <= now):
            _d, key = order.popleft()
            if pending.pop(key, None) is not None:
                done(key[0], key[1], False)

    def send(pkt, dst):
        while True:
            try:
                raw.sendto(pkt, (dst, 0))
                return
            except (BlockingIOError, OSError) as exc:
                if getattr(exc, "errno", None) not in (11, 105):  # EAGAIN, ENOBUFS
                    raise
                select.select([raw], [raw], [], 0.01)
                drain()

    count = 0
    sendto, ntoa, monotonic = raw.sendto, socket.inet_ntoa, time.monotonic
    for first, last in ranges:
        for ip in range(first, last + 1):
            dst = ntoa(ip.to_bytes(4, "big"))
            left[ip] = len(ports)
            deadline = monotonic() + timeout
            part = base + (ip >> 16) + (ip & 0xFFFF)
            for port in ports:
                pending[(ip, port)] = deadline
                order.append((deadline, (ip, port)))
                c = part + port
                c = (c >> 16) + (c & 0xFFFF)
                c = (c >> 16) + (c & 0xFFFF)
                pack_into("!H", tmpl, 2, port)
                pack_into("!H", tmpl, 16, ~c & 0xFFFF)
                try:
                    sendto(tmpl, (dst, 0))
                except OSError:
                    send(bytes(tmpl), dst)
            count += 1
            if count % 64 == 0:
                drain()
                while len(pending) >= inflight:
                    select.select([raw], [], [], 0.01)
                    drain()
                    expire(monotonic())
    while pending:
        select.select([raw], [], [], 0.02)
        drain()
        expire(time.monotonic())


if __name__ == "__main__":
    main()
