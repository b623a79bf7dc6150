"""amt.hello: expected bytes written out by hand from the published v3 layout (not produced by the builder)."""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.amt.hello import build, parse, retry_schedule

UUID = "12345678-9abc-def0-1122-334455667788"
# SMBIOS order: first three groups byte-swapped, the last two as written
UUID_LE = "78563412bc9af0de1122334455667788"
SHA1 = bytes(range(20))
SHA256 = bytes(range(0x20, 0x40))
SHA384 = bytes(range(0x40, 0x70))

HELLO_NO_HASH = bytes.fromhex(
    "0000"  # admin credentials set: 0
    "0300"  # version 3
    "00000000" + UUID_LE + "00"  # retry count 0  # hash count 0
)
HELLO_THREE = bytes.fromhex(
    "0100"  # admin credentials set: 1
    "0300"  # version 3
    "07010000"  # retry count 0x107 = 263
    + UUID_LE
    + "03"  # three hashes
    + "0114"
    + SHA1.hex()  # SHA-1, 20
    + "0220"
    + SHA256.hex()  # SHA-256, 32
    + "0330"
    + SHA384.hex()  # SHA-384, 48
)


def test_build_matches_hand_written_bytes():
    assert build(UUID) == HELLO_NO_HASH
    got = build(UUID, [(1, SHA1), ("sha256", SHA256.hex()), ("SHA-384", SHA384)], retry_count=263,
                admin_credentials_set=True)  # fmt: skip
    assert got == HELLO_THREE
    assert len(HELLO_THREE) == 25 + 22 + 34 + 50


def test_parse_hand_written_bytes():
    hello = parse(HELLO_THREE)
    assert hello["admin_credentials_set"] is True
    assert hello["version"] == 3
    assert hello["retry_count"] == 263
    assert hello["uuid"] == UUID
    assert [(h["type"], h["name"], h["size"], h["hex"]) for h in hello["hashes"]] == [
        (1, "sha1", 20, SHA1.hex()),
        (2, "sha256", 32, SHA256.hex()),
        (3, "sha384", 48, SHA384.hex()),
    ]
    assert parse(HELLO_NO_HASH) == {"admin_credentials_set": False, "version": 3, "retry_count": 0, "uuid": UUID,
                                    "hashes": []}  # fmt: skip


def test_parse_header_of_meshcentral_sample():
    # the first 25 octets of the sample hello in MeshCentral's amtprovisioningserver.js, hash count set to 0:
    # admin credentials 1, version 3, retry 0, GUID bytes 4b529b93 d413 181d e487 1c697a6b7a2b
    hello = parse(bytes.fromhex("01000300000000004b529b93d413181de4871c697a6b7a2b00"))
    assert hello["uuid"] == "939b524b-13d4-1d18-e487-1c697a6b7a2b"  # what its guidToStr makes of them
    assert hello["admin_credentials_set"] is True


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated hello: 0 octets"),
        (HELLO_NO_HASH[:24], "truncated hello: 24 octets"),
        (bytes.fromhex("0200") + HELLO_NO_HASH[2:], "admin-credentials-set must be 0 or 1, not 2"),
        (HELLO_NO_HASH[:2] + bytes.fromhex("0200") + HELLO_NO_HASH[4:], "hello version 2 (a PID/PSK hello)"),
        (HELLO_NO_HASH[:24] + b"\x01", "hash 1 of 1 has no type/size at offset 25"),
        (HELLO_NO_HASH[:24] + bytes.fromhex("010414") + SHA1, "hash 1 has type 4"),
        (HELLO_NO_HASH[:24] + bytes.fromhex("010220") + SHA1, "(sha256) needs 32 octets at offset 27, 20 left"),
        (HELLO_NO_HASH[:24] + bytes.fromhex("010214") + SHA1, "(sha256) has size 20, not 32"),
        (HELLO_NO_HASH[:24] + bytes.fromhex("010114") + SHA1[:10], "needs 20 octets at offset 27, 10 left"),
        (HELLO_NO_HASH + b"\x00", "1 trailing octets"),
    ],
)
def test_parse_errors(data, message):
    with pytest.raises(ValueError) as err:
        parse(data)
    assert message in str(err.value)


def test_build_rejects():
    with pytest.raises(ValueError, match="sha1 hash is 20 octets, not 19"):
        build(UUID, [(1, SHA1[:19])])
    with pytest.raises(ValueError, match="unknown hash type"):
        build(UUID, [("md5", SHA1)])
    with pytest.raises(ValueError, match="32 bits"):
        build(UUID, retry_count=2**32)


def test_retry_schedule():
    schedule = retry_schedule()
    assert len(schedule) == 5 + 11 + 23
    assert sum(schedule[:16]) == 3600  # the first hour: 5 x 1 min, then every 5 min
    assert sum(schedule) == 24 * 3600
    assert retry_schedule(0.001)[0] == pytest.approx(0.06)
