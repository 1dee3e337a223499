#!/usr/bin/python3
"""A hand-driven TCP peer for transitions the kernel will not make.

Usage:
  scapy_peer.py IFACE SRC_IP DST_IP passive-rst PORT
      SYN to DST_IP:PORT (a coronet listener), wait for SYN+ACK, answer with
      an exact RST: coronet's embryonic connection goes SYN_RCVD -> LISTEN.
  scapy_peer.py IFACE SRC_IP DST_IP simultaneous-open PORT
      wait for coronet's SYN to SRC_IP:PORT, answer with a crossing SYN (no
      ACK), then ACK its SYN+ACK: SYN_SENT -> SYN_RCVD -> ESTABLISHED.
The kernel's own RSTs must be filtered by the caller (nftables).
Prints what it saw and exits 0 on the expected exchange, 1 otherwise.
"""
import sys
import time

from scapy.all import IP, TCP, conf, sniff, sendp, Ether, srp1  # noqa: F401
from scapy.sendrecv import AsyncSniffer

conf.verb = 0


def wait_for(iface, flt, timeout=5):
    got = sniff(iface=iface, filter=flt, count=1, timeout=timeout)
    return got[0] if got else None


def passive_rst(iface, src, dst, port):
    sniffer = AsyncSniffer(iface=iface, filter=f"tcp and src host {dst} and src port {port}", count=1, timeout=5)
    sniffer.start()
    time.sleep(0.5)  # let the capture socket open
    sendp(Ether() / IP(src=src, dst=dst) / TCP(sport=40001, dport=port, flags="S", seq=1000), iface=iface)
    sniffer.join()
    if not sniffer.results:
        print("no SYN+ACK")
        return 1
    synack = sniffer.results[0]
    print("got", synack[TCP].flags, "ack", synack[TCP].ack)
    if synack[TCP].flags != "SA" or synack[TCP].ack != 1001:
        return 1
    sendp(Ether() / IP(src=src, dst=dst) / TCP(sport=40001, dport=port, flags="R", seq=1001), iface=iface)
    print("sent RST")
    return 0


def simultaneous_open(iface, src, dst, port):
    syn = wait_for(iface, f"tcp and dst port {port} and src host {dst}", timeout=10)
    if syn is None or syn[TCP].flags != "S":
        print("no SYN")
        return 1
    print("got SYN seq", syn[TCP].seq)
    sniffer = AsyncSniffer(iface=iface, filter=f"tcp and dst port {port} and src host {dst}",
                           lfilter=lambda p: p[TCP].flags == "SA", count=1, timeout=5)
    sniffer.start()
    time.sleep(0.5)
    sendp(Ether() / IP(src=src, dst=dst) / TCP(sport=port, dport=syn[TCP].sport, flags="S", seq=7000), iface=iface)
    sniffer.join()
    if not sniffer.results:
        print("no SYN+ACK")
        return 1
    synack = sniffer.results[0]
    print("got SYN+ACK ack", synack[TCP].ack)
    if synack[TCP].ack != 7001:
        return 1
    sendp(Ether() / IP(src=src, dst=dst) / TCP(sport=port, dport=syn[TCP].sport, flags="A", seq=7001,
                                                ack=synack[TCP].seq + 1), iface=iface)
    print("sent ACK")
    return 0


def main():
    iface, src, dst, mode, port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    if mode == "passive-rst":
        return passive_rst(iface, src, dst, port)
    if mode == "simultaneous-open":
        return simultaneous_open(iface, src, dst, port)
    print("unknown mode", mode)
    return 2


if __name__ == "__main__":
    sys.exit(main())
