#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz corpora (tests/fuzz/corpus/*/seed-*).

Run from the top of the tree: python3 tests/fuzz/mkseeds.py.  The seeds
are valid packets for the service of fuzz_engine.c (10.0.0.1, ports 80 and
53, servers 10.0.1.1-3), so that the fuzzer starts inside the interesting
paths; libFuzzer's own finds are merged in with -merge=1 (see README).
"""
import os
import struct


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, proto, payload, frag=0, opts=b""):
    hl = 20 + len(opts)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | hl // 4, 0, hl + len(payload), 1,
                    frag, 64, proto, 0, bytes(src), bytes(dst)) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def l4(src, dst, proto, seg, coff):
    ph = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, proto, len(seg))
    c = csum(ph + seg)
    if proto == 17 and c == 0:
        c = 0xFFFF
    return seg[:coff] + struct.pack("!H", c) + seg[coff + 2:]


def tcp(src, dst, sport, dport, flags, data=b""):
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000, 5 << 4, flags,
                      65535, 0, 0) + data
    return ip4(src, dst, 6, l4(src, dst, 6, seg, 16))


def udp(src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    return ip4(src, dst, 17, l4(src, dst, 17, seg, 6))


C = [198, 51, 100, 7]
V = [10, 0, 0, 1]
S = [10, 0, 1, 1]
pkts = {
    "syn": tcp(C, V, 40000, 80, 0x02),
    "synack": tcp(S, C, 80, 40000, 0x12),
    "ack": tcp(C, V, 40000, 80, 0x10),
    "data": tcp(C, V, 40000, 80, 0x18, b"GET / HTTP/1.0\r\n\r\n"),
    "fin": tcp(C, V, 40000, 80, 0x11),
    "rst": tcp(S, C, 80, 40000, 0x04),
    "udp": udp(C, V, 5353, 53, b"\x12\x34query"),
    "udpreply": udp(S, C, 53, 5353, b"\x12\x34answer"),
    "icmp": ip4(C, V, 1, b"\x08\x00\xf7\xff\x00\x00\x00\x00"),
    "frag": ip4(C, V, 6, b"\x00" * 24, frag=0x2000),
    "opts": ip4(C, V, 17, struct.pack("!HHHH", 1, 53, 8, 0), opts=b"\x01" * 4),
    "other": tcp([192, 0, 2, 1], [192, 0, 2, 2], 1, 2, 0x02),
}
ip6 = (struct.pack("!IHBB", 6 << 28, 8 + 20, 0, 64) + b"\x20\x01\x0d\xb8" +
       b"\0" * 11 + b"\x01" + b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\x02" +
       bytes([6, 0, 1, 4, 0, 0, 0, 0]) +
       struct.pack("!HHIIBBHHH", 1, 80, 0, 0, 5 << 4, 2, 1, 0, 0))
pkts["ip6hbh"] = ip6

top = os.path.join(os.path.dirname(__file__), "corpus")
for name in ("pkt", "engine", "config"):
    os.makedirs(os.path.join(top, name), exist_ok=True)
for k, p in pkts.items():
    with open(os.path.join(top, "pkt", "seed-" + k), "wb") as f:
        f.write(p)
    # Engine inputs: a length-prefixed sequence (see fuzz_engine.c).
seq = ["syn", "synack", "ack", "data", "fin", "rst", "udp", "udpreply",
       "icmp", "frag", "opts", "other", "ip6hbh"]
with open(os.path.join(top, "engine", "seed-conversation"), "wb") as f:
    for k in seq:
        p = pkts[k]
        f.write(bytes([len(p) & 0xFF, (len(p) >> 8) & 0x07 | 0x08]) + p)
for k in ("syn", "udp"):
    with open(os.path.join(top, "engine", "seed-" + k), "wb") as f:
        p = pkts[k]
        f.write(bytes([len(p) & 0xFF, (len(p) >> 8) & 0x07]) + p)
conf = {
    "sample": open("etc/loadd.conf", "rb").read(),
    "full": b"ipaliasing = 10.0.0.1\nports = 80\nservers = 10.0.1.1:8080 "
            b"weight 5, 10.0.1.2\nbalancingmode = roundrobbin\nprotocol = "
            b"udp\nmaxflows = 10\nqueue = 1\nfailopen = yes\n"
            b"timeout_udp = 30\npidfile = /run/x.pid\n",
    "v6": b"ipaliasing = 2001:db8::1\nports = 443, 80\nservers = "
          b"2001:db8::10, [2001:db8::11]:80\n",
}
for k, c in conf.items():
    with open(os.path.join(top, "config", "seed-" + k), "wb") as f:
        f.write(c)

# Agent reports for fuzz_report.c (layout: doc/report-protocol.md).  The
# first byte is the harness's mode: 0 as received, 1 the harness signs it,
# 3 signed and sent from the address the report names.
import hashlib
import hmac


def report(keyid, family, proto, addr, port, seq, cpu, check, flags, key):
    body = struct.pack("!IBBBB16sHHQQIHHIIBBHII", 0x4C4D4452, 1, keyid,
                       family, proto, addr, port, port, seq, 1700000000, 0,
                       cpu, 500, 150, 20, check, flags, 0, 900, 1000)
    assert len(body) == 72
    return body + hmac.new(key, body, hashlib.sha256).digest()


os.makedirs(os.path.join(top, "report"), exist_ok=True)
A11 = bytes([10, 0, 1, 11]) + bytes(12)
A6 = bytes.fromhex("20010db8000000000000000000000011")
reports = {
    "signed": b"\0" + report(1, 4, 6, A11, 80, 1, 250, 1, 0, b"\x42" * 32),
    "key2": b"\0" + report(2, 4, 6, A11, 80, 2, 900, 2, 1, b"\x99" * 32),
    "drain": b"\1" + report(1, 4, 6, A11, 80, 3, 10, 1, 1, bytes(32)),
    "v6": b"\3" + report(1, 6, 17, A6, 53, 4, 0, 0, 0, bytes(32)),
    "short": b"\0" + report(1, 4, 6, A11, 80, 5, 0, 0, 0, bytes(32))[:50],
}
for k, r in reports.items():
    with open(os.path.join(top, "report", "seed-" + k), "wb") as f:
        f.write(r)


# conntrack events for fuzz_ctev.c: netlink messages as the kernel sends
# them (ctnetlink, linux/netfilter/nfnetlink_conntrack.h), with loadd's
# marks for the servers of the harness's configuration.
def nla(t, payload, nested=False):
    n = struct.pack("=HH", 4 + len(payload), t | (0x8000 if nested else 0))
    return n + payload + bytes((4 - len(payload) % 4) % 4)


def ctmsg(kind, src, sport, dst, dport, proto, ctid, mark, pkts=0, nbytes=0):
    ip = nla(1, bytes(src)) + nla(2, bytes(dst))             # V4_SRC, V4_DST
    pr = nla(1, bytes([proto])) + nla(2, struct.pack("!H", sport)) + \
        nla(3, struct.pack("!H", dport))                    # NUM, ports
    tup = nla(1, ip, True) + nla(2, pr, True)               # TUPLE_IP, _PROTO
    cnt = nla(1, struct.pack("!Q", pkts)) + nla(2, struct.pack("!Q", nbytes))
    body = nla(1, tup, True) + nla(12, struct.pack("!I", ctid)) + \
        nla(8, struct.pack("!I", mark)) + nla(9, cnt, True)  # ORIG, ID, MARK
    payload = struct.pack("=BBH", 2, 0, 0) + body           # nfgenmsg AF_INET
    mtype = (1 << 8) | kind                                 # CTNETLINK
    return struct.pack("=IHHII", 16 + len(payload), mtype, 0, 0, 0) + payload


os.makedirs(os.path.join(top, "ctev"), exist_ok=True)
CL = [198, 51, 100, 7]
VIP = [10, 0, 0, 1]
# The harness reads mark 0x4c0000NN as server NN's (the real marks are a
# hash); services 10.0.0.1:80 (servers 0-2) and :53 (3-5).
evs = {
    "new": ctmsg(0, CL, 1000, VIP, 80, 6, 7, 0x4C000001),
    "new-destroy": ctmsg(0, CL, 1000, VIP, 80, 6, 7, 0x4C000001) +
    ctmsg(2, CL, 1000, VIP, 80, 6, 7, 0x4C000001, 10, 5000),
    "other-mark": ctmsg(2, CL, 1001, VIP, 80, 17, 8, 0x12345678),
    "udp": ctmsg(0, CL, 5353, VIP, 53, 17, 9, 0x4C000004),
    "stale-id": ctmsg(0, CL, 1002, VIP, 80, 6, 11, 0x4C000002) +
    ctmsg(2, CL, 1002, VIP, 80, 6, 10, 0x4C000002),
}
for k, m in evs.items():
    with open(os.path.join(top, "ctev", "seed-" + k), "wb") as f:
        f.write(m)


# HTTP answers for fuzz_http.c: the first byte picks the reader (0: as
# loadd reads, 3: as lmd does; 4: a body text is looked for).
os.makedirs(os.path.join(top, "http"), exist_ok=True)
answers = {
    "loadd-200": b"\0HTTP/1.1 200 OK\r\nServer: x\r\n\r\nhello",
    "loadd-body": b"\4HTTP/1.0 204 No Content\r\n\r\nstill alive",
    "loadd-503": b"\0HTTP/1.1 503 Service Unavailable\r\n\r\n",
    "lmd-200": b"\3HTTP/2.0 200 OK\r\n\r\n",
    "lmd-noline": b"\3HTTP/1.1 200 OK",
    "not-http": b"\0SSH-2.0-OpenSSH_9.6\r\n",
}
for k, a in answers.items():
    with open(os.path.join(top, "http", "seed-" + k), "wb") as f:
        f.write(a)
