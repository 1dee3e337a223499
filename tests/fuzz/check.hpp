// What every harness shares: a broken invariant aborts with a message
// (tests/support's fail(), which in this tree aborts: libFuzzer reports a
// crash and saves the input), the fuzzer's bytes as a span, and the
// deterministic byte streams the stack harnesses send and expect back.
#pragma once

#include <coronet/wire/bytes.hpp>
#include <cstdint>
#include <span>

#include "support/check.hpp"

namespace coronet::fuzz {

using namespace coronet::test;

// The fuzzer's input as bytes.
inline wire::bytes input_bytes(const std::uint8_t* data, std::size_t size) {
    return std::as_bytes(std::span{data, size});
}

// Byte `at` of the stream named `salt` (splitmix64 of both): streams whose
// bytes depend on their position, so a byte delivered twice, out of order or
// never sent shows up as a wrong value.
inline std::byte stream_byte(std::uint64_t salt, std::uint64_t at) {
    std::uint64_t x = salt * 0x9e3779b97f4a7c15ull + at;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return std::byte(static_cast<std::uint8_t>(x ^ (x >> 31)));
}

}  // namespace coronet::fuzz
