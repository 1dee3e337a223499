// TCP protocol values with types of their own, so that none is handled as a
// bare integer: timestamps (compared modulo 2^32, RFC 7323 5.3, like seq32)
// and the window scale shift (RFC 7323 2).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace coronet::wire {

// A TCP timestamp value (TSval / TSecr): a 32-bit clock that wraps.
struct ts32 {
    std::uint32_t value = 0;

    constexpr ts32() = default;
    constexpr explicit ts32(std::uint32_t v) : value(v) {}

    // Milliseconds from b to a (negative when a is older).
    friend constexpr std::int32_t operator-(ts32 a, ts32 b) { return static_cast<std::int32_t>(a.value - b.value); }
    friend constexpr bool operator==(ts32 a, ts32 b) = default;
    // a is older than b (RFC 7323 5.3 PAWS: modulo 2^32).
    friend constexpr bool operator<(ts32 a, ts32 b) { return (a - b) < 0; }
    friend constexpr bool operator>(ts32 a, ts32 b) { return b < a; }
};

// A window scale shift count (RFC 7323 2.2), at most 14 (2.3).
class window_scale {
public:
    static constexpr std::uint8_t max_shift = 14;

    constexpr window_scale() = default;
    // shift: as the option says; more than 14 is taken as 14 (RFC 7323 2.3).
    constexpr explicit window_scale(std::uint8_t shift) : shift_(std::min(shift, max_shift)) {}

    // The smallest scale that lets a buffer of `bytes` be advertised whole.
    static constexpr window_scale for_buffer(std::size_t bytes) noexcept {
        std::uint8_t s = 0;
        while (s < max_shift && (bytes >> s) > 65535) ++s;
        return window_scale(s);
    }

    constexpr std::uint8_t shift() const noexcept { return shift_; }
    // The window in bytes that a segment's 16-bit window field means.
    constexpr std::uint32_t expand(std::uint16_t field) const noexcept { return std::uint32_t{field} << shift_; }
    // The 16-bit window field that offers `bytes` (rounded down, at most 65535 units).
    constexpr std::uint16_t field_for(std::size_t bytes) const noexcept {
        return static_cast<std::uint16_t>(std::min<std::size_t>(bytes >> shift_, 65535));
    }
    friend constexpr bool operator==(window_scale, window_scale) = default;

private:
    std::uint8_t shift_ = 0;
};

}  // namespace coronet::wire
