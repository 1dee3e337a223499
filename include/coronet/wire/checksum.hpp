// The Internet checksum (RFC 1071) as an accumulator that takes a packet in
// pieces, the RFC 1624 incremental update, and the IPv4 pseudo header that
// TCP, UDP and ICMP-over-IP checksums cover.
#pragma once

#include <coronet/wire/bytes.hpp>
#include <cstdint>

namespace coronet::wire {

// One's complement sum over a byte stream fed in any number of spans of any
// length and alignment: odd-length pieces join up as if contiguous.
class checksum_acc {
public:
    // Adds data to the stream.
    void add(bytes data);
    // Adds a 16-bit value as two big-endian bytes of the stream.
    void add_u16(std::uint16_t v);
    // Adds a 32-bit value as four big-endian bytes of the stream.
    void add_u32(std::uint32_t v);
    // The one's complement sum folded to 16 bits, NOT inverted.
    std::uint16_t fold() const;
    // ~fold(): the value to store in a checksum field.
    std::uint16_t finish() const { return static_cast<std::uint16_t>(~fold()); }

private:
    void add_word(std::uint64_t w);

    std::uint64_t sum_ = 0;  // one's complement sum modulo 2^64 - 1
    bool odd_ = false;       // odd byte count so far: next byte is a low half
};

// The checksum of data (~sum); 0 when data already holds a correct checksum.
std::uint16_t internet_checksum(bytes data);

// RFC 1624 eqn 3: the checksum after one 16-bit field changed old -> new.
std::uint16_t checksum_update(std::uint16_t old_checksum, std::uint16_t old_field, std::uint16_t new_field);

// Adds the IPv4 pseudo header (RFC 9293 3.1): src, dst, zero, protocol, length.
void add_pseudo_header(checksum_acc& acc, address_v4 src, address_v4 dst, std::uint8_t protocol, std::uint16_t length);

}  // namespace coronet::wire
