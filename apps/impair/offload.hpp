// What the relay does about checksum and segmentation offloads: a frame read
// with PACKET_VNET_HDR may be a GSO super-frame and may carry an L4 checksum
// that nobody has computed yet. The relay passes both on to the output
// socket, and finishes the checksum itself before it damages a frame (else
// the receiving side would checksum the damage and accept it).
#pragma once

#include <coronet/link/device.hpp>
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/ethernet.hpp>
#include <coronet/wire/ipv4.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace coronet::impair {

using link::bytes;
using link::mut_bytes;

inline constexpr std::size_t ethernet_header_len = wire::ethernet_repr::header_len;
inline constexpr std::size_t ipv6_header_len = 40;

// Where a frame's TCP or UDP checksum lives, counted from the frame's start.
struct l4_checksum {
    std::uint16_t csum_start = 0;   // first byte the checksum covers (the L4 header)
    std::uint16_t csum_offset = 0;  // the field, from csum_start: 16 for TCP, 6 for UDP
    std::size_t end = 0;            // end of the L3 payload (Ethernet padding excluded)
    bool ipv4_tcp = false;          // the one kind the output device can segment
    bool udp = false;
};

// The L4 checksum of a TCP or UDP frame over IPv4, or over IPv6 without
// extension headers; nullopt for anything else or a malformed header.
inline std::optional<l4_checksum> locate_l4_checksum(bytes frame) {
    auto eth = wire::ethernet_view::parse(frame);
    if (!eth) return std::nullopt;
    l4_checksum l;
    std::uint8_t proto = 0;
    if (eth->type() == wire::ethertype::ipv4) {
        auto ip = wire::ipv4_view::parse(eth->payload());
        if (!ip || ip->is_fragment()) return std::nullopt;
        proto = ip->protocol();
        l.csum_start = static_cast<std::uint16_t>(ethernet_header_len + ip->header_len());
        l.end = ethernet_header_len + ip->total_length();
        l.ipv4_tcp = proto == wire::ip_proto::tcp;
    } else if (eth->type() == wire::ethertype::ipv6) {
        const bytes ip = eth->payload();
        if (ip.size() < ipv6_header_len || (wire::load_u8(ip, 0) >> 4) != 6) return std::nullopt;
        proto = wire::load_u8(ip, 6);  // next header
        l.csum_start = static_cast<std::uint16_t>(ethernet_header_len + ipv6_header_len);
        l.end = l.csum_start + std::size_t{wire::load_u16(ip, 4)};  // payload length
    } else {
        return std::nullopt;
    }
    if (proto == wire::ip_proto::tcp) {
        l.csum_offset = 16;
    } else if (proto == wire::ip_proto::udp) {
        l.csum_offset = 6;
        l.udp = true;
    } else {
        return std::nullopt;
    }
    if (l.end > frame.size() || l.csum_start + std::size_t{l.csum_offset} + 2 > l.end) return std::nullopt;
    return l;
}

// Translates what the kernel said about a received frame into what the
// output socket must be asked to do, so the frame arrives valid. Returns
// false when the frame cannot be carried: a pending checksum we cannot
// locate, or a super-frame other than TCP over IPv4 (the device API has no
// other GSO type).
inline bool carry_offload(bytes frame, const storage::rx_meta& meta, storage::tx_offload& out) {
    out = {};
    if (meta.checksum != storage::rx_checksum::partial && meta.gso_size == 0) return true;
    const auto l4 = locate_l4_checksum(frame);
    if (!l4) return false;
    if (meta.gso_size > 0) {
        if (!l4->ipv4_tcp) return false;
        out.gso_size = meta.gso_size;
    }
    // A super-frame without a pending checksum carries complete ones; the
    // kernel redoes them per segment either way.
    if (meta.checksum == storage::rx_checksum::partial) {
        out.checksum_partial = true;
        out.csum_start = l4->csum_start;
        out.csum_offset = l4->csum_offset;
    }
    return true;
}

// Computes the checksum the sender left to offload (the field holds the
// pseudo-header sum; the checksum covers csum_start to the end of the L3
// payload) and clears checksum_partial: the frame is then complete on its own.
inline void complete_checksum(mut_bytes frame, storage::tx_offload& o) {
    const auto l4 = locate_l4_checksum(frame);
    if (!l4) return;
    std::uint16_t sum = wire::internet_checksum(frame.subspan(o.csum_start, l4->end - o.csum_start));
    if (sum == 0 && l4->udp) sum = 0xffff;  // RFC 768: zero means "no checksum"
    wire::store_u16(frame, std::size_t{o.csum_start} + o.csum_offset, sum);
    o.checksum_partial = false;
}

// Flips one bit the way a noisy wire would, so that the receiver's checksums
// can catch it, and returns whether it did: only IPv4 frames are damaged
// (like sim_link), bit >= 14 * 8 as the impairment model draws it. A pending
// L4 checksum is completed first. A super-frame's checksums are recomputed
// per segment by the kernel, so damage to its payload would go unnoticed:
// there the bit lands in the IPv4 header and the receiver drops the frame,
// as it would drop a damaged segment.
inline bool corrupt_frame(mut_bytes frame, storage::tx_offload& o, std::size_t bit) {
    auto eth = wire::ethernet_view::parse(frame);
    if (!eth || eth->type() != wire::ethertype::ipv4 || bit / 8 >= frame.size()) return false;
    if (o.gso_size > 0) {
        const std::size_t header_bits = std::size_t{wire::load_u8(eth->payload(), 0) & 0x0fu} * 4 * 8;
        if (header_bits == 0) return false;
        bit = ethernet_header_len * 8 + bit % header_bits;
    } else if (o.checksum_partial) {
        complete_checksum(frame, o);
    }
    frame[bit / 8] ^= std::byte(1u << (bit % 8));
    return true;
}

}  // namespace coronet::impair
