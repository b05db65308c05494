#!/usr/bin/env python3
"""Generate examples/traffic.pcap: a small standard packet set for the examples and the
user-space vs kernel comparisons. No downloads, no third-party modules.

Packets (in order): IPv4/TCP SYN, IPv4/UDP to port 53, IPv4/UDP from a blocklisted
source (192.0.2.66), IPv4/ICMP echo, IPv6/UDP, IPv6/TCP, ARP request, a truncated
10-byte frame, IPv4/UDP from 192.0.2.66 again, IPv4/TCP with a VLAN-less jumbo-ish
payload (1400 bytes).
Addresses are from the documentation ranges (RFC 5737 / RFC 3849).
"""
import struct
import sys


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a: str) -> bytes:
    return bytes(int(x) for x in a.split("."))


def eth(dst: bytes, src: bytes, proto: int) -> bytes:
    return dst + src + struct.pack("!H", proto)


MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def ipv4(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64, ident: int = 1) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, proto, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def l4_csum_v4(src: str, dst: str, proto: int, seg: bytes) -> int:
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, len(seg))
    c = csum(pseudo + seg)
    return c if c else 0xFFFF


def udp4(src, dst, sport, dport, payload, ttl=64):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = l4_csum_v4(src, dst, 17, seg)
    return ipv4(src, dst, 17, seg[:6] + struct.pack("!H", c) + seg[8:], ttl=ttl)


def tcp4(src, dst, sport, dport, flags, payload=b""):
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, flags, 65535, 0, 0) + payload
    c = l4_csum_v4(src, dst, 6, seg)
    return ipv4(src, dst, 6, seg[:16] + struct.pack("!H", c) + seg[18:])


def icmp4(src, dst):
    msg = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"bpfbox-ping"
    msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
    return ipv4(src, dst, 1, msg)


def ipv6(src: bytes, dst: bytes, nh: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, 64) + src + dst + payload


V6A = bytes.fromhex("20010db8000000000000000000000001")
V6B = bytes.fromhex("20010db8000000000000000000000002")


def l4_csum_v6(src, dst, nh, seg):
    pseudo = src + dst + struct.pack("!IxxxB", len(seg), nh)
    c = csum(pseudo + seg)
    return c if c else 0xFFFF


def udp6(sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = l4_csum_v6(V6A, V6B, 17, seg)
    return ipv6(V6A, V6B, 17, seg[:6] + struct.pack("!H", c) + seg[8:])


def tcp6(sport, dport, flags):
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0)
    c = l4_csum_v6(V6A, V6B, 6, seg)
    return ipv6(V6A, V6B, 6, seg[:16] + struct.pack("!H", c) + seg[18:])


def arp_request():
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A, ip4("192.0.2.1"), b"\0" * 6, ip4("192.0.2.2"))


def packets():
    yield eth(MAC_B, MAC_A, 0x0800) + tcp4("192.0.2.1", "198.51.100.7", 40000, 80, 0x02)
    yield eth(MAC_B, MAC_A, 0x0800) + udp4("192.0.2.1", "198.51.100.53", 40001, 53, b"\x12\x34\x01\x00\x00\x01" + b"\0" * 6, ttl=61)
    yield eth(MAC_B, MAC_A, 0x0800) + udp4("192.0.2.66", "198.51.100.7", 5000, 9999, b"blocked?")
    yield eth(MAC_B, MAC_A, 0x0800) + icmp4("192.0.2.1", "198.51.100.7")
    yield eth(MAC_B, MAC_A, 0x86DD) + udp6(40002, 53, b"v6-dns-query")
    yield eth(MAC_B, MAC_A, 0x86DD) + tcp6(40003, 443, 0x02)
    yield eth(b"\xff" * 6, MAC_A, 0x0806) + arp_request()
    yield eth(MAC_B, MAC_A, 0x0800)[:10]
    yield eth(MAC_B, MAC_A, 0x0800) + udp4("192.0.2.66", "198.51.100.53", 5001, 53, b"again")
    yield eth(MAC_B, MAC_A, 0x0800) + tcp4("192.0.2.1", "198.51.100.7", 40004, 80, 0x18, bytes(range(256)) * 5 + b"x" * 120)


def main(path):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # LINKTYPE_ETHERNET
        for i, p in enumerate(packets()):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(p), len(p)))
            f.write(p)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "traffic.pcap")
