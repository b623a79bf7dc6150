# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Intel AMT provisioning "hello" (version 3): build and parse. Stdlib only, no Ansible imports.

An AMT device in setup mode resolves ``ProvisionServer.<domain>``, opens TCP 9971 to it, writes the hello in one
write and closes. Version 3 layout, every integer little-endian:

====== ======= ===========================================================================================
offset size    field
====== ======= ===========================================================================================
0      u16     admin credentials set (0 or 1)
2      u16     hello version (3; the older PID/PSK hellos are version 2)
4      u32     retry count (how many hellos this device sent before this one)
8      16      UUID, SMBIOS byte order: the first three groups little-endian (``uuid.UUID(bytes_le=...)``)
24     u8      number of certificate hashes
25     ...     per hash: u8 type (1 SHA-1, 2 SHA-256, 3 SHA-384), u8 size (20, 32, 48), the hash bytes
====== ======= ===========================================================================================

Primary source: MeshCentral ``amtprovisioningserver.js`` (Ylianst/MeshCentral, Intel Corporation, Apache-2.0),
``parseHelloData``: ``readInt16LE(0)`` admin credentials set (>1 is invalid), ``readInt16LE(2)`` version (only 3
accepted), ``readInt32LE(4)`` retry count, ``slice(8, 24)`` the GUID (``guidToStr`` swaps the first three groups),
``data[24]`` the hash count, then per hash type/size/bytes with type 1..3 and size 20/32/48 enforced; it reads the
data when the socket closes. ConfigMgr 2007 SP1 documents the same message ("UUID and the list of certificate
thumbprints"; "AMT Provisioning Process", systemscenter.ru/smsv4.en 236a10db-77d7-4200-a7b5-fabca8034ca4).

The retry schedule a device follows (the same ConfigMgr 2007 SP1 page): a hello once a minute for 5 minutes, then
once every 5 minutes for an hour, then once an hour for 23 hours; see :func:`retry_schedule`.
"""

from __future__ import annotations

import struct
import uuid as _uuid

HELLO_VERSION = 3
HEADER = struct.Struct("<HHI16sB")  # admin creds, version, retry count, uuid (bytes_le), hash count
HASH_TYPES = {1: ("sha1", 20), 2: ("sha256", 32), 3: ("sha384", 48)}
HASH_CODES = {name: (code, size) for code, (name, size) in HASH_TYPES.items()}


def _hash_code(kind) -> int:
    if isinstance(kind, int) and kind in HASH_TYPES:
        return kind
    name = str(kind).lower().replace("-", "")
    if name not in HASH_CODES:
        raise ValueError(f"unknown hash type {kind!r}: one of 1/sha1, 2/sha256, 3/sha384")
    return HASH_CODES[name][0]


def build(uuid, hashes=(), *, retry_count: int = 0, admin_credentials_set: bool = False) -> bytes:
    """The hello v3 bytes. ``uuid``: a uuid.UUID or its text; ``hashes``: (type, bytes-or-hex) pairs, type 1/2/3 or
    'sha1'/'sha256'/'sha384'. Raises ValueError for a value the layout cannot carry."""
    value = uuid if isinstance(uuid, _uuid.UUID) else _uuid.UUID(str(uuid))
    if not 0 <= int(retry_count) <= 0xFFFFFFFF:
        raise ValueError(f"retry count must fit in 32 bits, not {retry_count}")
    items = list(hashes)
    if len(items) > 255:
        raise ValueError(f"at most 255 hashes fit in a hello, not {len(items)}")
    out = bytearray(HEADER.pack(1 if admin_credentials_set else 0, HELLO_VERSION, int(retry_count), value.bytes_le,
                                len(items)))  # fmt: skip
    for kind, digest in items:
        code = _hash_code(kind)
        raw = bytes.fromhex(digest) if isinstance(digest, str) else bytes(digest)
        name, size = HASH_TYPES[code]
        if len(raw) != size:
            raise ValueError(f"a {name} hash is {size} octets, not {len(raw)}")
        out += bytes((code, size)) + raw
    return bytes(out)


def parse(data: bytes) -> dict:
    """{admin_credentials_set, version, retry_count, uuid, hashes: [{type, name, size, hex}]} of a hello v3.
    Raises ValueError (with the offset and what was expected) for anything else; trailing bytes are an error."""
    data = bytes(data)
    if len(data) < HEADER.size:
        raise ValueError(f"truncated hello: {len(data)} octets, the v3 header needs {HEADER.size}")
    admin, version, retries, raw_uuid, count = HEADER.unpack_from(data)
    if admin > 1:
        raise ValueError(f"offset 0: admin-credentials-set must be 0 or 1, not {admin} (not an AMT hello?)")
    if version != HELLO_VERSION:
        what = " (a PID/PSK hello)" if version == 2 else ""
        raise ValueError(f"offset 2: hello version {version}{what}; only version {HELLO_VERSION} is parsed")
    hashes, offset = [], HEADER.size
    for index in range(count):
        if len(data) < offset + 2:
            raise ValueError(f"truncated hello: hash {index + 1} of {count} has no type/size at offset {offset}")
        code, size = data[offset], data[offset + 1]
        if code not in HASH_TYPES:
            raise ValueError(f"offset {offset}: hash {index + 1} has type {code}; 1 SHA-1, 2 SHA-256, 3 SHA-384")
        name, expected = HASH_TYPES[code]
        if size != expected:
            raise ValueError(f"offset {offset + 1}: hash {index + 1} ({name}) has size {size}, not {expected}")
        digest = data[offset + 2 : offset + 2 + size]
        if len(digest) != size:
            raise ValueError(f"truncated hello: hash {index + 1} ({name}) needs {size} octets at offset "
                             f"{offset + 2}, {len(digest)} left")  # fmt: skip
        hashes.append({"type": code, "name": name, "size": size, "hex": digest.hex()})
        offset += 2 + size
    if offset != len(data):
        raise ValueError(f"{len(data) - offset} trailing octets after the {count} hashes at offset {offset}")
    return {
        "admin_credentials_set": bool(admin),
        "version": version,
        "retry_count": retries,
        "uuid": str(_uuid.UUID(bytes_le=raw_uuid)),
        "hashes": hashes,
    }


def retry_schedule(scale: float = 1.0) -> list[float]:
    """Seconds to wait before each retry, as ConfigMgr 2007 SP1 documents it: every minute for 5 minutes, every 5
    minutes for the rest of the first hour, then hourly for 23 hours (then the device stops). ``scale`` shrinks it
    (0.001: a minute becomes 60 ms)."""
    minute = 60.0 * scale
    return [minute] * 5 + [5 * minute] * 11 + [60 * minute] * 23
