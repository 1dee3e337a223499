// What a benchmark client tells the server at the start of each connection:
// a 24-byte header (magic, mode, direction, message size, duration, and the
// size of a fixed-size bulk transfer), after which both sides run the mode's
// exchange. Plus the two read helpers every
// mode needs.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "stream.hpp"

namespace coronet::bench {

enum class mode : std::uint8_t { bulk, rr, crr };

// "bulk", "rr", "crr"; nullopt for anything else.
std::optional<mode> parse_mode(std::string_view text);
std::string_view to_string(mode m);

// The largest request or response: the server refuses larger ones rather
// than allocate them (a typo must not cost gigabytes).
constexpr std::uint32_t max_message_size = 16 * 1024 * 1024;

struct header {
    static constexpr std::size_t size = 24;
    mode m = mode::bulk;
    bool reverse = false;                  // bulk: the server sends, the client receives
    std::uint32_t message_size = 1;        // rr/crr: bytes per request and per response
    std::chrono::milliseconds duration{};  // reverse bulk: how long the server sends
    std::uint64_t total_bytes = 0;         // bulk: exactly this many bytes of the pattern (0: for the duration)

    std::array<std::byte, size> encode() const;
    // nullopt when the bytes are not a header of this protocol version.
    static std::optional<header> decode(wire::bytes b);
};

// Reads exactly buf.size() bytes and returns that, or 0 for a clean end of
// stream before the first byte; an end of stream inside buf is an error (EPIPE).
task<result<std::size_t>> read_exact(stream& s, wire::mut_bytes buf);

// Reads and discards until the end of stream; returns the bytes read.
task<result<std::uint64_t>> drain(stream& s, wire::mut_bytes scratch);

}  // namespace coronet::bench
