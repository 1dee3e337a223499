// Steering one interface's traffic to several AF_PACKET sockets, one per
// loop (PACKET_FANOUT): the classic BPF program that picks the member for a
// frame, so that each TCP flow always reaches the loop that owns it.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

namespace coronet::link {

// The PACKET_FANOUT_CBPF program: an IPv4 TCP segment (not a later fragment)
// returns flow_hash(source port, destination port), everything else (ARP,
// ICMP, fragments) 0; the kernel sends the frame to member (value % members).
// tcp::flow_steering::owns applies the same rule to choose ephemeral ports.
// Loads are relative to the network header (SKF_NET_OFF) and the protocol is
// skb->protocol (SKF_AD_PROTOCOL), so the program does not depend on where the
// kernel's packet data starts when the fanout runs. Cannot fail.
std::vector<sock_filter> flow_steering_program();

// The PACKET_FANOUT_CBPF program of a device's receive rings (rx_path::ring):
// a frame whose IP packet (skb->len when the fanout runs: the Ethernet header
// is pulled) is at most max_small bytes to member 0, the ring of small slots,
// a longer one to member 1, the ring of large slots. Rollover takes a
// frame whose ring has no room to another member.
std::vector<sock_filter> size_split_program(std::uint32_t max_small);

// A socket filter (SO_ATTACH_FILTER) for the receive sockets of loop `index`
// of `loops` when each loop has receive rings of its own (rx_path::ring):
// it passes whole the frames flow_steering_program would send to that
// loop's member (value % loops == index: a TCP flow the loop owns; loop 0
// also everything that is not TCP) and refuses the rest, and the frames
// the host sends (PACKET_OUTGOING). loops must not be 0.
std::vector<sock_filter> loop_filter_program(std::uint32_t index, std::uint32_t loops);

// A socket filter (SO_ATTACH_FILTER) that refuses the frames the host sends
// (PACKET_OUTGOING) and passes the rest whole: a fanout group member's own
// frames on a kernel without PACKET_FANOUT_FLAG_IGNORE_OUTGOING (before 6.2).
std::vector<sock_filter> incoming_only_program();

}  // namespace coronet::link
