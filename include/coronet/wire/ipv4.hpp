// IPv4 (RFC 791): a checked view over a received datagram (version, header
// length, total length and header checksum verified once) and the 20-byte
// option-less header builder.
#pragma once

#include <coronet/wire/bytes.hpp>
#include <coronet/wire/error.hpp>
#include <cstddef>
#include <cstdint>

namespace coronet::wire {

namespace ip_proto {
inline constexpr std::uint8_t icmp = 1, tcp = 6, udp = 17;
}  // namespace ip_proto

// A datagram whose header, options and total_length bytes are known present.
class ipv4_view {
public:
    // errc::truncated below 20 bytes; bad_version unless 4; bad_header_length if IHL < 5
    // or past the end; bad_length if total_length < IHL*4 or past the end (a longer
    // buffer is fine: Ethernet padding); bad_checksum if the header checksum fails.
    static result<ipv4_view> parse(bytes packet);

    // IHL in bytes (20..60).
    std::uint8_t header_len() const;
    std::uint8_t dscp_ecn() const;
    std::uint16_t total_length() const;
    std::uint16_t ident() const;
    bool dont_fragment() const;
    bool more_fragments() const;
    // Fragment offset in bytes (the field times 8).
    std::uint16_t fragment_offset() const;
    // MF set or a non-zero offset: a piece of a larger datagram.
    bool is_fragment() const;
    std::uint8_t ttl() const;
    std::uint8_t protocol() const;
    std::uint16_t checksum() const;
    address_v4 src() const;
    address_v4 dst() const;
    // The options between the fixed header and header_len().
    bytes options() const;
    // The bytes after the header up to total_length (padding excluded).
    bytes payload() const;
    // The header including options.
    bytes header() const;
    // Header and payload: the first total_length bytes.
    bytes raw() const { return packet_; }

private:
    explicit ipv4_view(bytes packet) : packet_(packet) {}
    bytes packet_;  // trimmed to total_length
};

// An option-less, unfragmented-or-DF IPv4 header to write.
struct ipv4_repr {
    address_v4 src, dst;
    std::uint8_t protocol = 0;
    std::uint8_t ttl = 64;
    std::uint16_t ident = 0;
    bool dont_fragment = true;
    std::uint8_t dscp_ecn = 0;
    std::uint16_t payload_len = 0;
    static constexpr std::size_t header_len = 20;
    static constexpr std::size_t max_packet_len = 65535;

    // The fields of view (options dropped; payload_len from its payload()).
    static ipv4_repr from(const ipv4_view& view);
    // header_len + payload_len.
    std::size_t total_len() const { return header_len + payload_len; }
    // Writes the 20-byte header incl. checksum at the start of out; std::length_error if
    // out is shorter than 20 or total_len() exceeds 65535.
    void emit(mut_bytes out) const;
};

}  // namespace coronet::wire
