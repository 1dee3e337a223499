// The hash that spreads TCP flows over the loops sharing an interface: the
// fanout program of the link (link/fanout.hpp) computes it in the kernel for each
// received segment and the TCP layer for each ephemeral port it picks.
#pragma once

#include <cstdint>

namespace coronet::storage {

// A flow's hash from its two ports, in either order; the loop is hash % loops.
// Not plain XOR: Linux gives connect() ports of one parity only, so the XOR's
// low bit is the same for every flow from one Linux host to one server port.
// The multiplication (Knuth's, mod 2^32) brings every bit into the top half.
constexpr std::uint32_t flow_hash(std::uint16_t a, std::uint16_t b) noexcept {
    return ((std::uint32_t{a} ^ std::uint32_t{b}) * 0x9e3779b1u) >> 16;
}

}  // namespace coronet::storage
