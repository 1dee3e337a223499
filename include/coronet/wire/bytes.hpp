// Byte spans and big-endian field access: the vocabulary every wire view and
// repr is written in. Fields are read and written at byte offsets with shifts,
// never by casting wire bytes to a struct, so any alignment is fine.
#pragma once

#include <boost/asio/ip/address_v4.hpp>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string_view>

namespace coronet::wire {

using bytes = std::span<const std::byte>;
using mut_bytes = std::span<std::byte>;
using address_v4 = boost::asio::ip::address_v4;

// Reads one byte at off (off must be in range).
inline std::uint8_t load_u8(bytes b, std::size_t off) {
    assert(off < b.size());
    return static_cast<std::uint8_t>(b[off]);
}

// Reads a big-endian 16-bit field at off (off + 2 must be in range).
inline std::uint16_t load_u16(bytes b, std::size_t off) {
    assert(off + 2 <= b.size());
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(b[off]) << 8) | std::to_integer<unsigned>(b[off + 1]));
}

// Reads a big-endian 32-bit field at off (off + 4 must be in range).
inline std::uint32_t load_u32(bytes b, std::size_t off) {
    return (std::uint32_t{load_u16(b, off)} << 16) | load_u16(b, off + 2);
}

// Writes one byte at off (off must be in range).
inline void store_u8(mut_bytes b, std::size_t off, std::uint8_t v) {
    assert(off < b.size());
    b[off] = std::byte{v};
}

// Writes v big-endian at off (off + 2 must be in range).
inline void store_u16(mut_bytes b, std::size_t off, std::uint16_t v) {
    assert(off + 2 <= b.size());
    b[off] = static_cast<std::byte>(v >> 8);
    b[off + 1] = static_cast<std::byte>(v & 0xff);
}

// Writes v big-endian at off (off + 4 must be in range).
inline void store_u32(mut_bytes b, std::size_t off, std::uint32_t v) {
    store_u16(b, off, static_cast<std::uint16_t>(v >> 16));
    store_u16(b, off + 2, static_cast<std::uint16_t>(v & 0xffff));
}

// Reads an IPv4 address stored in network order at off.
inline address_v4 load_address_v4(bytes b, std::size_t off) { return address_v4{load_u32(b, off)}; }

// Writes an IPv4 address in network order at off.
inline void store_address_v4(mut_bytes b, std::size_t off, address_v4 a) { store_u32(b, off, a.to_uint()); }

// The bytes of a string, e.g. a test payload; no copy.
inline bytes to_bytes(std::string_view s) { return std::as_bytes(std::span{s.data(), s.size()}); }

// The bytes of a contiguous container (array, vector, ...) of trivially
// copyable elements; no copy.
template <class Range>
bytes as_bytes_of(const Range& r) {
    return std::as_bytes(std::span{std::data(r), std::size(r)});
}

// The writable bytes of a contiguous container; no copy.
template <class Range>
mut_bytes as_writable_bytes_of(Range& r) {
    return std::as_writable_bytes(std::span{std::data(r), std::size(r)});
}

// Throws std::length_error when out is shorter than n: emit() with a buffer
// too small is a programming error, not a packet error.
inline void expect_room(mut_bytes out, std::size_t n, const char* what) {
    if (out.size() < n) {
        throw std::length_error(what);
    }
}

}  // namespace coronet::wire
