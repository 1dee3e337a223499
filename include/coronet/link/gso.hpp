// Software segmentation of a TCP/IPv4 GSO super-frame (a kernel's TSO send,
// read through PACKET_VNET_HDR): the MSS-sized frames a NIC would put on the
// wire for it, made the way Linux's tcp_gso_segment makes them. coronet-impair
// uses it to impair each packet of a super-frame on its own.
#pragma once

#include <coronet/wire/bytes.hpp>
#include <coronet/wire/error.hpp>
#include <cstddef>
#include <cstdint>

namespace coronet::link {

class tcp4_super_frame {
public:
    // Checks that frame is Ethernet + IPv4 (unfragmented, valid header
    // checksum) + TCP and that mss is above 0; the TCP checksum is not read
    // (a super-frame's is usually left to offload). Errors: the wire views'
    // (truncated, bad_checksum, ...), errc::unsupported for another protocol,
    // a fragment or mss 0.
    static wire::result<tcp4_super_frame> parse(wire::bytes frame, std::uint16_t mss);

    // How many frames it becomes (1 when it carries no payload).
    std::size_t segments() const noexcept;
    // The length of segment i's frame.
    std::size_t segment_len(std::size_t i) const noexcept;
    // Writes segment i into out (at least segment_len(i) bytes): the
    // super-frame's headers with the IPv4 total length, identification
    // (+ i) and header checksum, the TCP sequence number (+ i * mss) and
    // flags made per segment (CWR on the first only, FIN and PSH on the last
    // only), its share of the payload, and a complete TCP checksum.
    void write_segment(std::size_t i, wire::mut_bytes out) const;

private:
    explicit tcp4_super_frame(wire::bytes frame) : frame_(frame) {}
    std::size_t payload_bytes(std::size_t i) const noexcept;

    wire::bytes frame_;           // trimmed to the IPv4 total length
    std::size_t ip_off_ = 0;      // the IPv4 header, after Ethernet
    std::size_t tcp_off_ = 0;     // the TCP header
    std::size_t header_len_ = 0;  // Ethernet + IPv4 + TCP headers: where the payload starts
    std::uint16_t mss_ = 0;
};

}  // namespace coronet::link
