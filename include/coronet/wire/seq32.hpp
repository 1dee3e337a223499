// TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 3.4),
// so that ordering holds across the wrap for any two numbers less than 2^31
// apart. Never compare raw uint32_t sequence numbers; use this type.
#pragma once

#include <cstdint>
#include <iosfwd>

namespace coronet::wire {

struct seq32 {
    std::uint32_t value = 0;

    constexpr seq32() = default;
    constexpr explicit seq32(std::uint32_t v) : value(v) {}

    // Advances by n, wrapping at 2^32.
    constexpr seq32& operator+=(std::uint32_t n) {
        value += n;
        return *this;
    }
    // Moves back by n, wrapping at 2^32.
    constexpr seq32& operator-=(std::uint32_t n) {
        value -= n;
        return *this;
    }

    friend constexpr seq32 operator+(seq32 a, std::uint32_t n) { return a += n; }
    friend constexpr seq32 operator-(seq32 a, std::uint32_t n) { return a -= n; }
    // Signed distance a - b: positive when a is after b.
    friend constexpr std::int32_t operator-(seq32 a, seq32 b) { return static_cast<std::int32_t>(a.value - b.value); }

    friend constexpr bool operator==(seq32 a, seq32 b) = default;
    // a is before b. Numbers exactly 2^31 apart are each before the other
    // (as Linux's before()); windows are far smaller, so it never matters.
    friend constexpr bool operator<(seq32 a, seq32 b) { return (a - b) < 0; }
    friend constexpr bool operator>(seq32 a, seq32 b) { return b < a; }
    friend constexpr bool operator<=(seq32 a, seq32 b) { return a == b || a < b; }
    friend constexpr bool operator>=(seq32 a, seq32 b) { return a == b || b < a; }
};

// start <= x < start + len, modulo 2^32; false when len is 0.
constexpr bool in_window(seq32 x, seq32 start, std::uint32_t len) { return x.value - start.value < len; }

// How far `to` lies beyond `from` in sequence space (to - from modulo 2^32):
// the length of [from, to) when from <= to.
constexpr std::uint32_t distance(seq32 from, seq32 to) { return to.value - from.value; }

// Prints the raw value, for logs and test failures.
std::ostream& operator<<(std::ostream& os, seq32 s);

// The later of a and b in sequence space.
constexpr seq32 seq_max(seq32 a, seq32 b) { return a < b ? b : a; }
// The earlier of a and b in sequence space.
constexpr seq32 seq_min(seq32 a, seq32 b) { return a < b ? a : b; }

}  // namespace coronet::wire
