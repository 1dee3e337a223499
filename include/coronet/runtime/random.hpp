// The one source of every random choice a stack makes (ISN and SYN-cookie
// secrets, ephemeral ports): SipHash-2-4 in counter mode under a 128-bit key.
// Made from the kernel's entropy in production, or from a 64-bit seed so that
// a simulated run replays bit for bit from the seed it prints.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace coronet::runtime {

// SipHash-2-4 (Aumasson and Bernstein, 2012) of data under a 128-bit key,
// the key's bytes read little-endian as k0 = key[0..7], k1 = key[8..15].
std::uint64_t siphash24(const std::array<std::uint8_t, 16>& key, std::span<const std::byte> data);

class random_source {
public:
    // A deterministic source: the same seed gives the same choices (simulator, tests).
    explicit random_source(std::uint64_t seed);
    // A source keyed from getrandom(2) (std::random_device where that fails;
    // throws std::system_error when neither has entropy).
    static random_source from_entropy();

    // The seed it was made from (for an entropy source, only a label).
    std::uint64_t seed() const noexcept { return seed_; }
    // The next 64 random bits.
    std::uint64_t next() noexcept;
    // A fresh 128-bit secret.
    std::array<std::uint8_t, 16> key() noexcept;
    // A number in [0, n) (0 when n is 0).
    std::uint32_t below(std::uint32_t n) noexcept;

private:
    std::array<std::uint8_t, 16> key_{};
    std::uint64_t seed_ = 0;
    std::uint64_t counter_ = 0;
};

}  // namespace coronet::runtime
