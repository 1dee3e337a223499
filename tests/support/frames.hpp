// The frames between the stack under test (10.0.0.1) and the hand-driven
// peer (10.0.0.2): what the peer sends, built from readable headers, and
// what the stack sent, decoded and checked for well-formedness.
#pragma once

#include <coronet/wire/arp.hpp>
#include <coronet/wire/ethernet.hpp>
#include <coronet/wire/tcp.hpp>
#include <optional>
#include <vector>

#include "support/segment.hpp"

namespace coronet::test {

inline const wire::address_v4 stack_ip{0x0a000001}, peer_ip{0x0a000002};
inline constexpr wire::mac_address stack_mac{{2, 0, 0, 0, 0, 1}}, peer_mac{{2, 0, 0, 0, 0, 2}};

// A frame the stack sent, decoded; fail()s if it is not well formed (bad
// length, header or checksum, or larger than the MTU).
struct sent_frame {
    std::optional<wire::arp_repr> arp;
    bool dont_fragment = false;         // IPv4: the DF bit
    std::optional<wire::tcp_repr> tcp;  // with its payload:
    wire::bytes payload;                // valid while the frame is
    // Whether it is the stack's ARP request for the peer's address.
    bool asks_for_peer() const noexcept {
        return arp && arp->operation == wire::arp_op::request && arp->target_ip == peer_ip;
    }
};
sent_frame decode_sent(wire::bytes frame, std::uint16_t mtu);

// A frame from the peer: Ethernet, IPv4 and this TCP header before payload;
// the TCP checksum is damaged unless good_checksum. (A vector per frame:
// test input, not the data path.)
std::vector<std::byte> peer_tcp_frame(const wire::tcp_repr& h, wire::bytes payload, bool good_checksum = true);
inline std::vector<std::byte> peer_tcp_frame(const segment& s) { return peer_tcp_frame(s.header(), s.payload()); }
// What an ICMP error quotes of a TCP segment the stack sent to the peer:
// the IPv4 header (total length `length`) and the first 8 bytes of TCP.
struct quoted_segment {
    std::uint16_t local_port = 0, peer_port = 0;
    seq32 seq;
    std::uint16_t length = 1500;
};
// An ICMP error (type, code; mtu: the next-hop MTU field of "fragmentation
// needed") from a router at 10.0.0.254 behind the peer's MAC, quoting q.
std::vector<std::byte> icmp_error_frame(std::uint8_t type, std::uint8_t code, const quoted_segment& q,
                                        std::uint16_t mtu = 0);
// An ARP request (who has 10.0.0.1?) or reply (10.0.0.2 is at peer_mac) from the peer.
std::vector<std::byte> peer_arp_frame(std::uint16_t op);
// Any ARP packet, in an Ethernet frame from its sender's MAC to dst.
std::vector<std::byte> arp_frame(const wire::arp_repr& arp, const wire::mac_address& dst);

}  // namespace coronet::test
