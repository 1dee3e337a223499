#!/usr/bin/python3
"""Hostile frames at coronet: damaged headers, impossible flags, forged RSTs,
SYNs and ACKs, frames for other hosts; at a listening port, or at a live
connection whose sequence numbers are read off the wire.

Usage: hostile.py IFACE STACK_MAC STACK_IP PEER_IP MODE PORT [REPEAT [TBF]]
  listener  PORT is a coronet echo listener. Each kind is built around a SYN
            (from PEER_IP and from forged addresses): none may draw a SYN+ACK.
            Then a hand-made connection whose sequence numbers cross 2^32
            must be acknowledged and echoed correctly, and one whose ISN is
            in the upper half of the sequence space must ignore a RST beyond
            its window.
  receiver  coronet, listening on PORT, receives from a kernel client whose
            data the caller paces with a tbf qdisc on IFACE (TBF: its
            parameters, e.g. "rate 64mbit burst 64kb limit 1mb"). Each round
            of kinds is sent while the kernel's data is held in that queue
            and coronet has acknowledged all that left: RCV.NXT and the
            window stand still, so "in the window" is certain. Each kind is
            built around an in-window RST of that connection: one that got
            through would draw a challenge ACK (counted by coronet).
  sender    coronet sends to a kernel server on PORT. Each kind is built
            around a RST at exactly RCV.NXT: one that got through would reset
            the connection. ICMP errors quoting the connection but no
            sequence number in flight must change nothing (RFC 5927). Forged segments that RFC 9293 / RFC 5961 answer
            with an ACK must draw exactly one; the others none. Then 1.5 s of
            forged zero-window ACKs; "attacks done" is printed and the
            script watches (the caller stops the kernel's reader, whose
            window closes) until coronet's FIN.
The caller filters the kernel's own RSTs (nftables) where needed. Every kind
is sent REPEAT times (default 3). Prints "ready" once its sockets are open,
then one JSON object: "sent_<kind>" per kind, and what it saw on the wire.
"""
import contextlib
import fcntl
import json
import os
import socket
import struct
import subprocess
import sys
import termios
import threading
import time

from scapy.all import IP, Ether, Raw, raw
from scapy.utils import checksum

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_QDISC_BYPASS = 20  # skip the peer's rate-limiting qdisc: forged frames must not queue
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33      # socket.SO_RCVBUFFORCE where Python names it
HOSTILE_TOS = 0x28        # marks our frames so the sniffer tells them from the kernel's
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
MOD = 1 << 32
MSS = 1448  # with timestamps, on the veth's 1500-byte MTU
HOSTILE_PORTS = range(20000, 21000)
WRAP_PORT, UPPER_PORT, OFFPATH_PORT, BROADCAST_PORT = 20001, 20002, 20003, 20004  # hand-made, to the listener
OTHER_MAC = "02:00:5e:10:20:30"
OTHER_IP = "10.201.0.99"
FORGED_SOURCES = ["10.201.0.50", "198.51.100.7"]  # on-link but silent; off-link
# The tbf that holds the kernel's data: one 1600-byte burst, then one frame
# per ~13 s. Queued frames wait; none is dropped (the caller's queue limit stays).
HELD_RATE = "rate 1kbit burst 1600"
QUIET = 0.03  # seconds without a kernel frame before RCV.NXT counts as still


def ts_option(tsval, tsecr):
    return bytes([1, 1, 8, 10]) + struct.pack("!II", tsval % MOD, tsecr % MOD)


class Endpoints:
    """Where forged frames go and whom they claim to come from."""

    def __init__(self, my_mac, stack_mac, src, dst, sport, dport):
        self.my_mac, self.stack_mac = my_mac, stack_mac
        self.src, self.dst, self.sport, self.dport = src, dst, sport, dport


def tcp(e, seq, ack, flags, *, window=65535, options=b"", payload=b"", data_offset=None, bad_checksum=False,
        src=None, dst=None, sport=None):
    """A TCP segment, checksummed over the pseudo header of (src, dst) unless told not to."""
    src, dst = src or e.src, dst or e.dst
    offset = (20 + len(options)) // 4 if data_offset is None else data_offset
    header = struct.pack("!HHIIBBHHH", e.sport if sport is None else sport, e.dport, seq % MOD, ack % MOD,
                         offset << 4, flags, window, 0, 0) + options
    segment = header + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(segment))
    csum = checksum(pseudo + segment)
    if bad_checksum:
        csum ^= 0x0F0F
    return segment[:16] + struct.pack("!H", csum) + segment[18:]


def ipv4(e, l4, *, src=None, dst=None, ttl=64, flags="DF", frag=0, ihl=None, total=None, version=None,
         bad_checksum=False):
    ip = IP(src=src or e.src, dst=dst or e.dst, proto=6, ttl=ttl, flags=flags, frag=frag, tos=HOSTILE_TOS,
            id=0xBAD0)
    if ihl is not None:
        ip.ihl = ihl
    if total is not None:
        ip.len = total
    if version is not None:
        ip.version = version
    data = raw(ip / Raw(l4))
    if bad_checksum:
        data = data[:10] + bytes([data[10] ^ 0x5A, data[11]]) + data[12:]
    return data


def eth(e, l3, *, dst_mac=None):
    return raw(Ether(dst=dst_mac or e.stack_mac, src=e.my_mac, type=0x0800)) + l3


def malformed(e, carrier):
    """Frames some layer must drop, each built around the segment carrier
    (tcp() keyword arguments), as functions that build them: building takes
    a while and the connection moves on meanwhile. The caller's table says
    which counter shows each kind."""
    c = dict(carrier)
    seg = tcp(e, **c)
    seg64 = tcp(e, **dict(c, payload=bytes(64)))
    bare = dict(c, options=b"")
    broadcast = e.dst.rsplit(".", 1)[0] + ".255"  # the topology's /24
    return {
        # Ethernet and IPv4: the host's counters. (A frame shorter than an
        # Ethernet header cannot be sent: AF_PACKET refuses it with EINVAL.)
        "eth_header_only": lambda: eth(e, b""),
        "ip_truncated": lambda: eth(e, ipv4(e, seg)[:12]),
        "ip_bad_version": lambda: eth(e, ipv4(e, seg, version=6)),
        "ip_ihl_below_5": lambda: eth(e, ipv4(e, seg, ihl=4)),
        "ip_ihl_past_end": lambda: eth(e, ipv4(e, seg[:20], ihl=15)),
        "ip_total_length_past_frame": lambda: eth(e, ipv4(e, seg, total=20 + len(seg) + 100)),
        "ip_total_length_below_header": lambda: eth(e, ipv4(e, seg, total=16)),
        "ip_bad_checksum": lambda: eth(e, ipv4(e, seg, bad_checksum=True)),
        "ip_fragment_first": lambda: eth(e, ipv4(e, seg, flags="MF")),
        "ip_fragment_later": lambda: eth(e, ipv4(e, seg, flags=0, frag=8)),
        "ip_ttl_zero": lambda: eth(e, ipv4(e, seg, ttl=0)),
        "other_mac": lambda: eth(e, ipv4(e, seg), dst_mac=OTHER_MAC),
        "other_ip": lambda: eth(e, ipv4(e, tcp(e, **c, dst=OTHER_IP), dst=OTHER_IP)),
        # IPv4 total length inside the TCP segment: TCP's counters
        "ip_total_length_cuts_tcp_header": lambda: eth(e, ipv4(e, seg, total=20 + 12)),
        "ip_total_length_cuts_payload": lambda: eth(e, ipv4(e, seg64, total=20 + len(seg64) - 32)),
        # TCP header and options
        "tcp_truncated": lambda: eth(e, ipv4(e, seg[:12])),
        "tcp_bad_checksum": lambda: eth(e, ipv4(e, tcp(e, **c, bad_checksum=True))),
        "tcp_data_offset_0": lambda: eth(e, ipv4(e, tcp(e, **bare, data_offset=0))),
        "tcp_data_offset_4": lambda: eth(e, ipv4(e, tcp(e, **bare, data_offset=4))),
        "tcp_data_offset_past_end": lambda: eth(e, ipv4(e, tcp(e, **bare, data_offset=15))),
        "opt_past_header": lambda: eth(e, ipv4(e, tcp(e, **dict(c, options=bytes([8, 10, 0, 0]))))),
        "opt_length_zero": lambda: eth(e, ipv4(e, tcp(e, **dict(c, options=bytes([0x22, 0, 0, 0]))))),
        "opt_length_one": lambda: eth(e, ipv4(e, tcp(e, **dict(c, options=bytes([3, 1, 0, 0]))))),
        "opt_oversized": lambda: eth(e, ipv4(e, tcp(e, **dict(c, options=bytes([2, 40, 5, 180]))))),
        "opt_wrong_length_for_kind": lambda: eth(e, ipv4(e, tcp(e, **dict(c, options=bytes([2, 6, 5, 180, 0, 0, 1, 1]))))),
        "opt_sack_bad_length": lambda: eth(e, ipv4(e, tcp(e, **dict(c, options=bytes([1, 1, 5, 11]) + bytes(12))))),
        "opt_no_room_for_length": lambda: eth(e, ipv4(e, tcp(e, **dict(c, options=bytes([1, 1, 1, 2]))))),
        # impossible flags
        "flags_syn_fin": lambda: eth(e, ipv4(e, tcp(e, **dict(c, flags=SYN | FIN)))),
        "flags_syn_rst": lambda: eth(e, ipv4(e, tcp(e, **dict(c, flags=SYN | RST)))),
        "flags_none": lambda: eth(e, ipv4(e, tcp(e, **dict(c, flags=0, payload=b"junk" * 4)))),
        "flags_all": lambda: eth(e, ipv4(e, tcp(e, **dict(c, flags=0xFF)))),
        "flags_fin_only": lambda: eth(e, ipv4(e, tcp(e, **dict(c, flags=FIN)))),
        "flags_xmas": lambda: eth(e, ipv4(e, tcp(e, **dict(c, flags=FIN | PSH | URG)))),
        # addresses and ports no connection can have
        "to_subnet_broadcast": lambda: eth(e, ipv4(e, tcp(e, **c, dst=broadcast), dst=broadcast)),
        "to_limited_broadcast": lambda: eth(e, ipv4(e, tcp(e, **c, dst="255.255.255.255"), dst="255.255.255.255")),
        "from_multicast": lambda: eth(e, ipv4(e, tcp(e, **c, src="224.0.0.9"), src="224.0.0.9")),
        "from_loopback": lambda: eth(e, ipv4(e, tcp(e, **c, src="127.0.0.1"), src="127.0.0.1")),
        "from_own_address": lambda: eth(e, ipv4(e, tcp(e, **c, src=e.dst), src=e.dst)),
        "from_port_zero": lambda: eth(e, ipv4(e, tcp(e, **c, sport=0))),
    }


class Segment:
    __slots__ = ("src", "dst", "sport", "dport", "seq", "ack", "flags", "window", "length", "tsval", "tsecr",
                 "wscale", "payload")


def parse(frame):
    """The TCP/IPv4 segment in an Ethernet frame, or None (ours, or not TCP)."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[14 + 1] == HOSTILE_TOS or frame[14 + 9] != 6:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    total = struct.unpack("!H", ip[2:4])[0] or len(ip)
    t = ip[ihl:total]
    if len(t) < 20:
        return None
    s = Segment()
    s.src, s.dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    s.sport, s.dport, s.seq, s.ack, off, s.flags, s.window = struct.unpack("!HHIIBBH", t[:16])
    off = (off >> 4) * 4
    s.payload = t[off:]
    s.length = len(s.payload)
    s.tsval = s.tsecr = s.wscale = None
    opts, i = t[20:off], 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        size = opts[i + 1]
        if kind == 8 and size == 10:
            s.tsval, s.tsecr = struct.unpack("!II", opts[i + 2:i + 10])
        elif kind == 3 and size == 3:
            s.wscale = opts[i + 2]
        i += size
    return s


def seq_lt(a, b):
    return 0 < (b - a) % MOD < (1 << 31)


class Wire(threading.Thread):
    """Reads every frame on the interface and keeps what the attacks need:
    the live connection's latest segment from each end, coronet's pure ACKs
    on it, and coronet's answers to the hostile source ports."""

    def __init__(self, iface, stack_ip, peer_ip, stack_port=None, kernel_port=None):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        # SO_RCVBUFFORCE (root): SO_RCVBUF stops at net.core.rmem_max (208 KiB
        # by default), a few GRO frames of the live transfer, and a frame
        # dropped there would be a reply the attacks missed.
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
        self.sock.bind((iface, 0))
        self.sock.settimeout(0.1)
        self.stack_ip, self.peer_ip = stack_ip, peer_ip
        self.stack_port, self.kernel_port = stack_port, kernel_port
        self.lock = threading.Condition()
        self.stop = False
        self.stack = self.kernel = None   # latest segment of the live connection from each end
        self.stack_isn = self.kernel_isn = None
        self.stack_wscale = 0
        self.stack_max_end = None
        self.pure_acks = 0                # coronet's ACKs without data, SYN, FIN or RST
        self.old_pure_acks = 0            # ... of them with a sequence number below its highest (probes)
        self.kernel_wscale = 0
        self.kernel_end = None            # the end of the kernel's highest data on the wire
        self.kernel_sent_at = 0.0         # when the last of its data segments was taken
        self.kernel_closed_windows = 0    # kernel ACKs offering less than one MSS
        self.stack_fin = False
        self.synacks_to_hostile = 0
        self.rsts_to_hostile = 0
        self.watched = {p: [] for p in (WRAP_PORT, UPPER_PORT, OFFPATH_PORT, BROADCAST_PORT)}  # coronet's segments

    def run(self):
        while not self.stop:
            try:
                frame, address = self.sock.recvfrom(1 << 16)
            except socket.timeout:
                continue
            s = parse(frame)
            if s is not None:
                with self.lock:
                    self.take(s, address[2] == PACKET_OUTGOING)
                    self.lock.notify_all()

    def take(self, s, outgoing):
        if s.src == self.stack_ip and s.dport in HOSTILE_PORTS:
            self.synacks_to_hostile += (s.flags & (SYN | ACK)) == (SYN | ACK)
            self.rsts_to_hostile += (s.flags & RST) != 0
            if s.dport in self.watched:
                self.watched[s.dport].append(s)
            return
        if s.src == self.stack_ip and s.dst == self.peer_ip:
            if self.stack_port not in (None, s.sport) or self.kernel_port not in (None, s.dport):
                return
            self.stack_port, self.kernel_port = s.sport, s.dport
            self.from_stack(s)
        elif s.src == self.peer_ip and s.dst == self.stack_ip and outgoing:
            if self.stack_port not in (None, s.dport) or self.kernel_port not in (None, s.sport):
                return
            self.kernel = s
            end = (s.seq + s.length) % MOD
            if s.length and (self.kernel_end is None or seq_lt(self.kernel_end, end)):
                self.kernel_end = end
            if s.length:
                self.kernel_sent_at = time.monotonic()
            if s.flags & SYN:
                self.kernel_isn = s.seq
                self.kernel_wscale = s.wscale or 0
            elif (s.window << self.kernel_wscale) < MSS and not s.flags & RST:
                self.kernel_closed_windows += 1

    def from_stack(self, s):
        if s.flags & SYN:
            self.stack_isn = s.seq
            self.stack_wscale = s.wscale or 0
        end = (s.seq + s.length + (1 if s.flags & (SYN | FIN) else 0)) % MOD
        if self.stack_max_end is None or seq_lt(self.stack_max_end, end):
            self.stack_max_end = end
        if s.flags & FIN:
            self.stack_fin = True
        if s.flags & (SYN | FIN | RST) == 0 and s.flags & ACK and s.length == 0:
            self.pure_acks += 1
            if seq_lt(s.seq, self.stack_max_end):
                self.old_pure_acks += 1
        if s.flags & ACK:
            self.stack = s

    def caught_up(self):
        """Whether no captured frame waits in the socket to be taken."""
        return struct.unpack("i", fcntl.ioctl(self.sock, termios.FIONREAD, b"\0" * 4))[0] == 0

    def still(self, min_window):
        """Whether the live connection stands still (called under the lock):
        every frame taken, none of the kernel's data for QUIET seconds,
        coronet's latest ACK at the end of the kernel's data (so that is
        RCV.NXT), and a window of at least min_window."""
        s = self.stack
        return (s is not None and self.kernel_end is not None and self.caught_up()
                and time.monotonic() - self.kernel_sent_at >= QUIET and s.ack == self.kernel_end
                and (s.window << self.stack_wscale) >= min_window)

    def wait(self, pred, timeout):
        """Waits until pred() (called under the lock) is true; returns its last value."""
        end = time.monotonic() + timeout
        with self.lock:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(min(left, 0.01))  # pred may turn true with time alone (Wire.still)
            return pred()


class Attack:
    """The sending side: a raw socket that bypasses the interface's qdisc,
    what was sent of each kind, and what the attacks observed."""

    def __init__(self, iface, stack_mac, stack_ip, peer_ip, repeat, tbf=None):
        self.tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.tx.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        self.tx.bind((iface, 0))
        self.queued_tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)  # through the qdisc
        self.queued_tx.bind((iface, 0))
        self.iface, self.tbf = iface, tbf
        self.my_mac = ":".join(f"{b:02x}" for b in self.tx.getsockname()[4])
        self.stack_mac, self.stack_ip, self.peer_ip, self.repeat = stack_mac, stack_ip, peer_ip, repeat
        self.sent = {}
        self.report = {}

    def send(self, kind, frame):
        """Sends frame (bytes, or a function that builds them) and counts it as kind."""
        self.tx.send(frame() if callable(frame) else frame)
        self.sent[kind] = self.sent.get(kind, 0) + 1

    def send_all(self, frames):
        for kind, frame in frames.items():
            self.send(kind, frame)
            time.sleep(0.0005)

    def endpoints(self, src, sport, dport):
        return Endpoints(self.my_mac, self.stack_mac, src, self.stack_ip, sport, dport)

    def result(self):
        out = {f"sent_{k}": v for k, v in sorted(self.sent.items())}
        out.update(self.report)
        return out


# ---- listener --------------------------------------------------------------------------

def listener(a, wire, port):
    """Every malformed kind around a SYN, from the peer and from forged
    sources; RST, ACK and data to the listener; then the hand-made
    connections."""
    sport = 20100
    for _ in range(a.repeat):
        for src in [a.peer_ip] + FORGED_SOURCES:
            sport += 1
            e = a.endpoints(src, sport, port)
            frames = malformed(e, dict(seq=int.from_bytes(os.urandom(4), "big"), ack=0, flags=SYN,
                                       options=bytes([2, 4, 5, 180])))
            if src == FORGED_SOURCES[-1]:  # the host itself drops broadcasts from off-link sources
                del frames["to_subnet_broadcast"], frames["to_limited_broadcast"]
            a.send_all(frames)
        sport += 1
        e = a.endpoints(a.peer_ip, sport, port)
        a.send("rst_to_listener", eth(e, ipv4(e, tcp(e, 1000, 0, RST))))
        a.send("ack_to_listener", eth(e, ipv4(e, tcp(e, 1000, 5000, ACK))))
        a.send("data_to_listener", eth(e, ipv4(e, tcp(e, 1000, 5000, ACK | PSH, payload=b"hello"))))
    time.sleep(0.3)
    with wire.lock:
        a.report["synacks_to_hostile"] = wire.synacks_to_hostile
        a.report["rsts_to_hostile"] = wire.rsts_to_hostile
    a.report.update(wrap_session(a, wire, port))
    a.report.update(upper_half_session(a, wire, port))
    a.report.update(off_path_session(a, wire, port))


def open_by_hand(a, wire, port, sport, isn, tsval=None):
    """Opens a connection from sport to coronet's port with our ISN (and
    timestamps from tsval, when given); returns its endpoints, coronet's ISN
    and its SYN+ACK, or None."""
    e = a.endpoints(a.peer_ip, sport, port)
    syn_options = bytes([2, 4, 5, 180]) + (ts_option(tsval, 0) if tsval is not None else b"")
    a.send("hand_syn", eth(e, ipv4(e, tcp(e, isn, 0, SYN, options=syn_options))))
    if not wire.wait(lambda: any(s.flags & SYN for s in wire.watched[sport]), 3):
        return None
    with wire.lock:
        synack = next(s for s in wire.watched[sport] if s.flags & SYN)
    if synack.ack != (isn + 1) % MOD:
        return None
    ack_options = ts_option(tsval + 1, synack.tsval or 0) if tsval is not None else b""
    a.send("hand_ack", eth(e, ipv4(e, tcp(e, isn + 1, synack.seq + 1, ACK, options=ack_options))))
    return e, synack.seq, synack


def wrap_session(a, wire, port):
    """A connection whose sequence numbers cross 2^32 1300 bytes after its
    SYN: coronet must acknowledge and echo every byte across the wrap. Ended
    with a RST at exactly its RCV.NXT."""
    isn = MOD - 1300
    opened = open_by_hand(a, wire, port, WRAP_PORT, isn)
    if opened is None:
        return {"wrap_synack": 0}
    e, irs, _ = opened
    eth_tcp = lambda seq, ack, flags, **kw: eth(e, ipv4(e, tcp(e, seq, ack, flags, **kw)))
    data = os.urandom(3000)
    acked_end = False
    for i in range(3):
        a.send("wrap_data", eth_tcp(isn + 1 + 1000 * i, irs + 1, ACK | PSH, payload=data[1000 * i:1000 * (i + 1)]))
    end = (isn + 1 + 3000) % MOD
    echo, have = bytearray(3000), 0  # the echoed bytes, and how many in a row from the start
    deadline = time.monotonic() + 3
    watched = wire.watched[WRAP_PORT]
    while have < 3000 and time.monotonic() < deadline:
        wire.wait(lambda: len(watched) > 0 and watched[-1].length > 0, 0.2)
        with wire.lock:
            segments = watched[:]
            del watched[:]
        for s in segments:
            offset = (s.seq - irs - 1) % MOD
            if s.length and offset <= have < offset + s.length <= 3000:
                echo[offset:offset + s.length] = s.payload
                have = offset + s.length
            acked_end = acked_end or s.ack == end
        a.send("wrap_ack", eth_tcp(end, irs + 1 + have, ACK))  # Nagle holds the tail until this
    a.send("wrap_rst", eth_tcp(end, 0, RST))
    return {"wrap_synack": 1, "wrap_acked_across_2_32": int(acked_end), "wrap_echo_equal": int(bytes(echo) == data)}


def upper_half_session(a, wire, port):
    """A connection whose ISN lies in the upper half of the sequence space,
    as half of all ISNs do: a RST 1 MiB beyond its window must draw nothing
    (RFC 9293 3.10.7.4, RFC 5961 3.2), as with any other ISN."""
    isn = 0xC0000000
    opened = open_by_hand(a, wire, port, UPPER_PORT, isn)
    if opened is None:
        return {"upper_half_open": 0}
    e = opened[0]
    time.sleep(0.1)
    with wire.lock:
        before = len(wire.watched[UPPER_PORT])
    a.send("upper_half_rst_out_of_window", eth(e, ipv4(e, tcp(e, isn + 1 + (1 << 20), 0, RST))))
    time.sleep(0.3)
    with wire.lock:
        replies = len(wire.watched[UPPER_PORT]) - before
    a.send("upper_half_rst_exact", eth(e, ipv4(e, tcp(e, isn + 1, 0, RST))))
    return {"upper_half_open": 1, "upper_half_rst_replies": replies}


def replies_to(a, wire, port, seconds, frames, until=None):
    """Sends frames ({kind: frame}) and returns coronet's segments to a
    hand-made connection's port from then until seconds later (or, with
    until, as soon as until(segments) holds)."""
    with wire.lock:
        before = len(wire.watched[port])
    for kind, frame in frames.items():
        a.send(kind, frame)
    if until is None:
        time.sleep(seconds)
    else:
        wire.wait(lambda: until(wire.watched[port][before:]), seconds)
    with wire.lock:
        return wire.watched[port][before:]


def off_path_session(a, wire, port):
    """A connection with timestamps on both ends. Data without a timestamp
    must be dropped without an answer (RFC 7323 3.2), the same data with one
    echoed; a burst of in-window RSTs draws at most the per-connection
    budget of challenge ACKs (RFC 5961 7); a SYN in a broadcast frame draws
    nothing (RFC 1122 4.2.3.10)."""
    isn, tsval = 0x10000000, 5000
    opened = open_by_hand(a, wire, port, OFFPATH_PORT, isn, tsval)
    if opened is None or opened[2].tsval is None:
        return {"offpath_open": 0}
    e, irs, synack = opened
    stack_ts = synack.tsval
    seg = lambda seq, flags, ts, **kw: eth(e, ipv4(e, tcp(e, seq, irs + 1, flags, options=ts, **kw)))
    with_ts = lambda v: ts_option(v, stack_ts)
    out = {"offpath_open": 1}
    time.sleep(0.1)
    untimestamped = seg(isn + 1, ACK | PSH, b"", payload=b"u" * 100)
    out["offpath_untimestamped_replies"] = len(
        replies_to(a, wire, OFFPATH_PORT, 0.5, {"offpath_data_without_timestamp": untimestamped}))
    timestamped = seg(isn + 1, ACK | PSH, with_ts(tsval + 2), payload=b"t" * 100)
    echoed = replies_to(a, wire, OFFPATH_PORT, 5, {"offpath_data_with_timestamp": timestamped},
                        until=lambda segs: any(s.length == 100 for s in segs))
    out["offpath_timestamped_echo"] = int(any(s.length == 100 for s in echoed))  # then resent: we never ACK it
    with wire.lock:
        before = len(wire.watched[OFFPATH_PORT])
    for i in range(30):
        a.send("offpath_rst_in_window", seg(isn + 1 + 100 + 1000 + i, RST, b""))
    time.sleep(0.5)
    with wire.lock:
        answers = wire.watched[OFFPATH_PORT][before:]
    out["offpath_challenge_acks"] = sum(1 for s in answers if s.flags & ACK and not s.flags & RST and s.length == 0)
    a.send("offpath_rst", seg(isn + 1 + 100, RST, b""))  # exact: the connection ends
    b = a.endpoints(a.peer_ip, BROADCAST_PORT, port)
    syn = eth(b, ipv4(b, tcp(b, 7777, 0, SYN, options=bytes([2, 4, 5, 180]))), dst_mac="ff:ff:ff:ff:ff:ff")
    out["broadcast_syn_replies"] = len(replies_to(a, wire, BROADCAST_PORT, 0.5, {"broadcast_syn": syn}))
    return out


# ---- a live connection -------------------------------------------------------------------

def live(wire, mode, timeout=15):
    """Waits until data flows on the live connection (64 KiB acknowledged)."""
    def flowing():
        if wire.stack is None or wire.kernel is None or wire.stack_isn is None or wire.kernel_isn is None:
            return False
        return progress(wire, mode, locked=True) > 65536
    return wire.wait(flowing, timeout)


def connection_view(a, wire):
    """The live connection as forged segments need it: coronet's RCV.NXT and
    window, the kernel's latest ACK, and timestamps: the kernel's latest
    ("ts"), and 10 s ahead of it ("ts_ahead"), which passes PAWS even
    after the kernel's clock has moved on. (The sniffer can lag the wire
    by more than 100 ms on a loaded machine: a TSval only 100 ms ahead
    then failed PAWS, and coronet's PAWS ACK was taken for another
    answer. Only segments that are accepted may carry the first: an
    accepted timestamp from the future would make the kernel's own
    segments fail PAWS.)"""
    with wire.lock:
        s, k = wire.stack, wire.kernel
        e = a.endpoints(a.peer_ip, wire.kernel_port, wire.stack_port)
        v = dict(rcv_nxt=s.ack, window=s.window << wire.stack_wscale,
                 kernel_ack=k.ack if k.flags & ACK else s.seq,
                 ts=b"", ts_ahead=b"")
        if s.tsval is not None:
            tsval = max(s.tsecr or 0, k.tsval or 0)
            v.update(ts=ts_option(tsval, s.tsval), ts_ahead=ts_option(tsval + 10_000, s.tsval))
    return e, v


def progress(wire, mode, locked=False):
    """Bytes of the transfer acknowledged so far on the live connection."""
    if not locked:
        with wire.lock:
            return progress(wire, mode, True)
    if mode == "receiver":
        return (wire.stack.ack - wire.kernel_isn - 1) % MOD
    return (wire.kernel.ack - wire.stack_isn - 1) % MOD


def inside_window(v):
    """A sequence number in the middle of coronet's receive window. Inside
    when the segment arrives only if RCV.NXT has not moved meanwhile (the
    window's right edge never moves back, RFC 9293 3.8.6.2.2): a window-
    limited kernel sends right up to that edge within a round trip, so the
    receiver holds the kernel's data while it sends (held()). (Where coronet
    sends, the kernel sends no data: RCV.NXT stands still anyway.)"""
    return v["rcv_nxt"] + v["window"] // 2


def forged(e, v):
    """Well-formed segments with the live 4-tuple that the connection must
    survive, and how RFC 9293 / RFC 5961 answer each: a (challenge) ACK, or
    nothing. Frames are returned as functions that build them."""
    n, w, opt = v["rcv_nxt"], v["window"], v["ts_ahead"]
    inside = inside_window(v)
    junk = b"\xee" * 100
    seg = lambda seq, ack, flags, **kw: eth(e, ipv4(e, tcp(e, seq, ack, flags, options=opt, **kw)))
    acked = {
        "rst_in_window": lambda: seg(inside, 0, RST),
        "syn_in_window": lambda: seg(inside, 0, SYN),
        "syn_out_of_window": lambda: seg(n + w + (1 << 20), 0, SYN),
        # A gibibyte past the kernel's ACK: unsent however far the sniffer lags.
        "ack_of_unsent": lambda: seg(inside, v["kernel_ack"] + (1 << 30), ACK | PSH, payload=junk),
        "ack_too_old": lambda: seg(inside, v["kernel_ack"] - (1 << 30), ACK | PSH, payload=junk),
        "data_beyond_window": lambda: seg(n + w + (1 << 20), v["kernel_ack"], ACK | PSH, payload=junk * 10),
        "seq_half_space_ahead": lambda: seg(n + (1 << 31), v["kernel_ack"], ACK | PSH, payload=junk),
        "seq_half_space_minus_1": lambda: seg(n + (1 << 31) - 1, v["kernel_ack"], ACK | PSH, payload=junk),
    }
    silent = {
        "rst_out_of_window": lambda: seg(n + w + (1 << 20), 0, RST),
        "rst_old": lambda: seg(n - (1 << 20), 0, RST),
    }
    for src in FORGED_SOURCES:  # an exact RST from another address is another connection's
        f = Endpoints(e.my_mac, e.stack_mac, src, e.dst, e.sport, e.dport)
        silent["rst_exact_from_" + src] = lambda f=f: eth(f, ipv4(f, tcp(f, n, 0, RST, options=opt)))
    return acked, silent


def icmp_error(e, icmp_type, code, quoted_seq, *, mtu=0, sport=None):
    """An ICMP error from a router (FORGED_SOURCES[1]) quoting a segment
    coronet sent on the live connection (its ports unless sport), with
    sequence number quoted_seq: its IPv4 header and 8 bytes of TCP."""
    quote_tcp = struct.pack("!HHI", e.dport if sport is None else sport, e.sport, quoted_seq % MOD)
    quote = raw(IP(src=e.dst, dst=e.src, proto=6, len=1500, flags="DF") / Raw(quote_tcp))
    body = struct.pack("!BBHHH", icmp_type, code, 0, 0, mtu) + quote
    body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    ip = raw(IP(src=FORGED_SOURCES[1], dst=e.dst, proto=1, tos=HOSTILE_TOS, id=0xBAD0) / Raw(body))
    return eth(e, ip)


def forged_icmp(e, v):
    """ICMP errors an attacker off the path can forge (RFC 5927): they quote
    the live 4-tuple but a sequence number coronet does not have in flight
    (beyond what it sent, or below what the kernel acknowledged), or
    another port. None may lower the MSS or end the connection.
    What the sniffer saw lags what coronet has sent by up to its send
    buffer (a mebibyte and more), so "unsent" is a gibibyte past the
    kernel's ACK: further than the whole transfer, still the forward half
    of the sequence space. "old" is as far behind."""
    unsent, old = v["kernel_ack"] + (1 << 30), v["kernel_ack"] - (1 << 30)
    return {
        "icmp_too_big_unsent": lambda: icmp_error(e, 3, 4, unsent, mtu=576),
        "icmp_too_big_old": lambda: icmp_error(e, 3, 4, old, mtu=576),
        "icmp_too_big_other_port": lambda: icmp_error(e, 3, 4, v["kernel_ack"], mtu=576, sport=1),
        "icmp_host_unreachable_old": lambda: icmp_error(e, 3, 1, old),
        "icmp_port_unreachable_unsent": lambda: icmp_error(e, 3, 3, unsent),
    }


def set_tbf(iface, spec):
    subprocess.run(["tc", "qdisc", "change", "dev", iface, "root", "tbf"] + spec.split(), check=True)


@contextlib.contextmanager
def held(a, wire, timeout=5):
    """Holds the kernel's data in the tbf queue on the interface and waits
    until the connection stands still (Wire.still); yields whether it did.
    Then lets the data go: the tbf takes its rate back, and a frame through
    the queue wakes it (a rate change alone leaves it asleep until the
    timer set at the held rate; coronet drops the frame, for another MAC)."""
    words = a.tbf.split()
    limit = words[words.index("limit"):words.index("limit") + 2] if "limit" in words else ["limit", "1mb"]
    set_tbf(a.iface, " ".join([HELD_RATE] + limit))
    try:
        time.sleep(QUIET)
        yield wire.wait(lambda: wire.still(4 * MSS), timeout)
    finally:
        set_tbf(a.iface, a.tbf)
        e = a.endpoints(a.peer_ip, 20999, 9)
        a.queued_tx.send(eth(e, ipv4(e, tcp(e, 0, 0, SYN)), dst_mac=OTHER_MAC))


def receiver(a, wire):
    """Every kind at the connection on which coronet receives, each round
    while the kernel's data is held (held()), built from that still view."""
    if not live(wire, "receiver"):
        a.report["live"] = 0
        return
    a.report["live"] = 1
    a.report["progress_at_start"] = progress(wire, "receiver")
    not_still = 0
    for _ in range(a.repeat):
        with held(a, wire) as still:
            not_still += not still
            e, v = connection_view(a, wire)
            in_window_rst = dict(seq=inside_window(v), ack=0, flags=RST, options=v["ts"])
            for kind, frame in malformed(e, in_window_rst).items():
                a.send(kind, frame)
            acked, silent = forged(e, v)
            for kind, frame in list(acked.items()) + list(silent.items()):
                a.send(kind, frame)
                time.sleep(0.002)
        time.sleep(0.1)  # the data flows between rounds
    a.report["rounds_not_still"] = not_still
    a.report["progress_at_end"] = progress(wire, "receiver")


def sender(a, wire):
    """Every kind at the connection on which coronet sends, watching its
    answers; then the forged zero-window ACKs and the kernel's closed window."""
    if not live(wire, "sender"):
        a.report["live"] = 0
        return
    a.report["live"] = 1
    a.report["progress_at_start"] = progress(wire, "sender")
    silent_replies = 0
    for _ in range(a.repeat):
        e, v = connection_view(a, wire)
        acked, silent = forged(e, v)
        with wire.lock:
            before = wire.pure_acks
        exact_rst = dict(seq=v["rcv_nxt"], ack=0, flags=RST, options=v["ts"])
        a.send_all(malformed(e, exact_rst))
        a.send_all(silent)
        a.send_all(forged_icmp(e, v))
        time.sleep(0.3)
        with wire.lock:
            silent_replies += wire.pure_acks - before
        for kind in acked:
            e, v = connection_view(a, wire)  # timestamps move on
            with wire.lock:
                before = wire.pure_acks
            a.send(kind, forged(e, v)[0][kind])
            # The answer queues behind coronet's data in the paced link; on a
            # loaded machine it once came after the half second this waited.
            got = wire.wait(lambda: wire.pure_acks > before, 5)
            time.sleep(0.02)  # time for a second answer, which would be one too many
            with wire.lock:
                extra = wire.pure_acks - before - 1
            a.report[f"replied_{kind}"] = a.report.get(f"replied_{kind}", 0) + int(got)
            a.report["extra_replies"] = a.report.get("extra_replies", 0) + max(extra, 0)
    a.report["silent_replies"] = silent_replies
    zero_window_spoof(a, wire)
    a.report["progress_at_end"] = progress(wire, "sender")
    print("attacks done", flush=True)
    wire.wait(lambda: wire.stack_fin, 30)
    with wire.lock:
        a.report["kernel_closed_windows"] = wire.kernel_closed_windows
        a.report["stack_old_pure_acks"] = wire.old_pure_acks
        a.report["stack_fin"] = int(wire.stack_fin)


def zero_window_spoof(a, wire, seconds=1.5):
    """ACKs from the kernel's side closing the window, every 20 ms."""
    end = time.monotonic() + seconds
    before = progress(wire, "sender")
    while time.monotonic() < end:
        e, v = connection_view(a, wire)
        a.send("zero_window_ack", eth(e, ipv4(e, tcp(e, v["rcv_nxt"], v["kernel_ack"], ACK, window=0,
                                                     options=v["ts"]))))
        time.sleep(0.02)
    a.report["progress_during_zero_window_spoof"] = (progress(wire, "sender") - before) % MOD


def main():
    if len(sys.argv) < 7:
        print(__doc__, file=sys.stderr)
        return 2
    iface, stack_mac, stack_ip, peer_ip, mode, port = sys.argv[1:7]
    port = int(port)
    repeat = int(sys.argv[7]) if len(sys.argv) > 7 else 3
    tbf = sys.argv[8] if len(sys.argv) > 8 else None
    if mode == "receiver" and tbf is None:
        print("receiver mode needs TBF, the parameters of the tbf qdisc on", iface, file=sys.stderr)
        return 2
    a = Attack(iface, stack_mac, stack_ip, peer_ip, repeat, tbf)
    wire = Wire(iface, stack_ip, peer_ip, stack_port=port if mode == "receiver" else None,
                kernel_port=port if mode == "sender" else None)
    wire.start()
    print("ready", flush=True)
    if mode == "listener":
        listener(a, wire, port)
    elif mode == "receiver":
        receiver(a, wire)
    elif mode == "sender":
        sender(a, wire)
    else:
        print("unknown mode", mode)
        return 2
    wire.stop = True
    print(json.dumps(a.result()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
