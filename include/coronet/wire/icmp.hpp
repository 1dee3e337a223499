// ICMPv4 (RFC 792): a checked view over a received message (length and
// checksum verified once), the datagram an error message quotes, and the
// 8-byte header builder.
#pragma once

#include <coronet/wire/bytes.hpp>
#include <coronet/wire/error.hpp>
#include <cstddef>
#include <cstdint>

namespace coronet::wire {

namespace icmp_type {
inline constexpr std::uint8_t echo_reply = 0, dest_unreachable = 3, source_quench = 4, redirect = 5, echo_request = 8,
                              time_exceeded = 11, parameter_problem = 12;
}  // namespace icmp_type

// Codes of destination unreachable (RFC 792, RFC 1122 3.2.2.1, RFC 1812 5.2.7.1).
namespace icmp_unreachable {
inline constexpr std::uint8_t net = 0, host = 1, protocol = 2, port = 3, fragmentation_needed = 4,
                              source_route_failed = 5, net_unknown = 6, host_unknown = 7, host_isolated = 8,
                              net_prohibited = 9, host_prohibited = 10, net_tos = 11, host_tos = 12,
                              admin_prohibited = 13, precedence_violation = 14, precedence_cutoff = 15;
}  // namespace icmp_unreachable

// Whether an ICMP message of this type reports an error about a datagram
// (and quotes its start): destination unreachable, source quench,
// redirect, time exceeded, parameter problem.
bool is_icmp_error(std::uint8_t type) noexcept;

// An ICMP message whose 8-byte header is present and whose checksum verified.
class icmp_view {
public:
    // errc::truncated below 8 bytes; errc::bad_checksum if the checksum over msg fails.
    static result<icmp_view> parse(bytes msg);

    std::uint8_t type() const;
    std::uint8_t code() const;
    std::uint16_t checksum() const;
    // Bytes 4-5: the echo identifier.
    std::uint16_t ident() const;
    // Bytes 6-7: the echo sequence number (next-hop MTU for "fragmentation needed").
    std::uint16_t seq_no() const;
    // After the 8-byte header: echo data, or the embedded IP header + 8 bytes.
    bytes payload() const;
    // The whole message.
    bytes raw() const { return msg_; }

private:
    explicit icmp_view(bytes msg) : msg_(msg) {}
    bytes msg_;
};

// The start of the datagram an ICMP error quotes (RFC 792: its IP header
// and at least 8 bytes of its payload; RFC 1812 routers send more). The
// quote is cut short, so its total length is not checked against what is
// there, nor its header checksum (RFC 5927 leaves that to the transport's
// own checks of the quoted ports and sequence numbers).
struct icmp_quote {
    address_v4 src, dst;
    std::uint8_t protocol = 0;
    std::uint16_t total_length = 0;  // of the original datagram
    bytes transport;                 // the quoted transport bytes (8 or more)

    // errc::truncated unless a header and 8 transport bytes are there;
    // bad_version unless 4; bad_header_length if IHL < 5.
    static result<icmp_quote> parse(bytes icmp_payload);
};

// An ICMP header to write in front of a payload the caller already placed.
struct icmp_repr {
    std::uint8_t type = 0, code = 0;
    std::uint16_t ident = 0, seq_no = 0;
    static constexpr std::size_t header_len = 8;

    // The header fields of view.
    static icmp_repr from(const icmp_view& view);
    // msg = 8-byte header + payload already in place: writes the header and the
    // checksum over all of msg; std::length_error if msg is shorter than 8.
    void emit(mut_bytes msg) const;
};

}  // namespace coronet::wire
