// ICMPv4 (RFC 792): a checked view over a received message (length and
// checksum verified once) and the 8-byte header builder.
#pragma once

#include <coronet/wire/bytes.hpp>
#include <coronet/wire/error.hpp>
#include <cstddef>
#include <cstdint>

namespace coronet::wire {

namespace icmp_type {
inline constexpr std::uint8_t echo_reply = 0, dest_unreachable = 3, echo_request = 8, time_exceeded = 11;
}  // namespace icmp_type

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
