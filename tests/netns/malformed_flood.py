#!/usr/bin/python3
"""Sends COUNT malformed or not-for-us frames at the stack through a raw socket.

Usage: malformed_flood.py IFACE DST_MAC DST_IP SRC_IP COUNT
Each kind of damage is one the stack must reject and count (see host_counters).
Prints the number of frames sent per kind as JSON.
"""
import json
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, *, ttl=64, flags_frag=0x4000, ihl=5, version=4, total=None, bad_csum=False):
    total = 20 + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total, 0x1234, flags_frag, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    csum = checksum(hdr)
    if bad_csum:
        csum ^= 0x5555
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + payload


def icmp_echo(payload=b"x" * 32, bad_csum=False):
    hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1)
    csum = checksum(hdr + payload)
    if bad_csum:
        csum ^= 0x00FF
    return hdr[:2] + struct.pack("!H", csum) + hdr[4:] + payload


def main():
    iface, dst_mac, dst_ip, src_ip, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = s.getsockname()[4]
    dst = bytes.fromhex(dst_mac.replace(":", ""))
    other_ip = "10.201.0.99"

    def eth(payload, ethertype=0x0800, to=dst):
        return to + src_mac + struct.pack("!H", ethertype) + payload

    good_icmp = icmp_echo()
    kinds = {
        "unknown_ethertype": eth(b"\0" * 46, 0x88B5),
        "other_mac": eth(ipv4(src_ip, dst_ip, 1, good_icmp), to=b"\x02\x11\x22\x33\x44\x55"),
        "arp_truncated": eth(b"\x00\x01\x08\x00\x06\x04", 0x0806),
        "arp_bad_htype": eth(struct.pack("!HHBBH", 6, 0x0800, 6, 4, 1) + b"\0" * 20, 0x0806),
        "ipv4_truncated": eth(b"\x45\x00\x00\x54\x00"),
        "ipv4_bad_version": eth(ipv4(src_ip, dst_ip, 1, good_icmp, version=6)),
        "ipv4_ihl_too_small": eth(ipv4(src_ip, dst_ip, 1, good_icmp, ihl=3)),
        "ipv4_ihl_past_end": eth(ipv4(src_ip, dst_ip, 1, b"", ihl=15)),
        "ipv4_total_length_past_frame": eth(ipv4(src_ip, dst_ip, 1, good_icmp, total=1400)),
        "ipv4_total_length_below_header": eth(ipv4(src_ip, dst_ip, 1, good_icmp, total=12)),
        "ipv4_bad_checksum": eth(ipv4(src_ip, dst_ip, 1, good_icmp, bad_csum=True)),
        "ipv4_fragment": eth(ipv4(src_ip, dst_ip, 1, good_icmp, flags_frag=0x2000)),
        "ipv4_ttl_zero": eth(ipv4(src_ip, dst_ip, 1, good_icmp, ttl=0)),
        "ipv4_other_ip": eth(ipv4(src_ip, other_ip, 1, good_icmp)),
        "ipv4_unknown_protocol": eth(ipv4(src_ip, dst_ip, 253, b"\0" * 8)),
        "icmp_bad_checksum": eth(ipv4(src_ip, dst_ip, 1, icmp_echo(bad_csum=True))),
        "icmp_truncated": eth(ipv4(src_ip, dst_ip, 1, b"\x08\x00\x00")),
    }
    names = list(kinds)
    sent = dict.fromkeys(names, 0)
    for i in range(count):
        name = names[i % len(names)]
        s.send(kinds[name])
        sent[name] += 1
        if i % 200 == 199:
            time.sleep(0.002)  # stay well inside the receiver's socket buffer
    print(json.dumps(sent))


if __name__ == "__main__":
    main()
