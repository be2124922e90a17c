# SPDX-License-Identifier: Apache-2.0
# KMS emulator, Google Cloud KMS support: CRC32C (Castagnoli), the checksum
# Cloud KMS puts on every payload; table-driven, no third-party module.
"""CRC32C as in RFC 3720 B.4 (iSCSI): reflected polynomial 0x82F63B78,
initial value and final XOR 0xFFFFFFFF. crc32c(b"123456789") == 0xE3069283.
"""

POLY = 0x82F63B78


def _table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ POLY if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


TABLE = _table()


def crc32c(data, crc=0):
    """CRC32C of data; pass a previous result as crc to continue it."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
