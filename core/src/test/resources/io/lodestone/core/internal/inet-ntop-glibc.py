#!/usr/bin/env python3
"""Writes inet-ntop-glibc.csv, the table AddressesTextTest compares Addresses.toText with.

Each row is 16 address bytes in hex and their text from the C library's inet_ntop (Python's
socket.inet_ntop calls it). Run on a glibc system: python3 inet-ntop-glibc.py > inet-ntop-glibc.csv
The rows are every pattern of zero and non-zero fields with a few field values, then random
addresses with many zero fields, fixed seed, so the table is the same on every run.
"""
import random
import socket

VALUES = [0x1, 0xffff, 0x102, 0xa0b]


def row(fields):
    b = b"".join(f.to_bytes(2, "big") for f in fields)
    return b.hex() + "," + socket.inet_ntop(socket.AF_INET6, b)


rows = []
for mask in range(256):
    for v in VALUES:
        rows.append(row([v if mask >> (7 - i) & 1 else 0 for i in range(8)]))
    # an IPv4-mapped or -compatible prefix, with the last two fields varied
    rows.append(row([0, 0, 0, 0, 0, 0xffff] + [0x1234 if mask >> i & 1 else 0 for i in range(2)]))

rnd = random.Random(5952)
for _ in range(1500):
    fields = []
    for i in range(8):
        k = rnd.randrange(4)
        f = 0 if k < 2 else rnd.randrange(16) << rnd.randrange(4) * 4 if k == 2 else rnd.randrange(0x10000)
        fields.append(f)
    if rnd.randrange(4) == 0:
        fields[:5] = [0] * 5
        if rnd.randrange(2) == 0:
            fields[5] = rnd.choice([0, 0xffff])
    rows.append(row(fields))

print("# 16 bytes in hex, glibc inet_ntop's text; written by inet-ntop-glibc.py")
for r in dict.fromkeys(rows):
    print(r)
