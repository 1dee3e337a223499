// What a TCP option list keeps through emit() and parse(): everything but
// the SACK blocks that do not fit beside the other options.
#pragma once

#include <coronet/wire/tcp.hpp>
#include <vector>

#include "check.hpp"

namespace coronet::fuzz {

// Emits o, parses the bytes back and fail()s unless the result is o as emit() promises to write it.
inline void require_options_roundtrip(const wire::tcp_options& o, const char* who) {
    const std::size_t len = o.encoded_len();
    require(len <= wire::tcp_options::max_len && len % 4 == 0, who);
    std::vector<std::byte> out(len);
    o.emit(out);
    auto back = wire::tcp_options::parse(out);
    require(back.has_value(), who);
    const std::uint8_t blocks = o.encoded_sack_count();
    bool same = back->mss == o.mss && back->window_scale == o.window_scale &&
                back->sack_permitted == o.sack_permitted && back->timestamp == o.timestamp &&
                back->sack_count == blocks;
    for (std::size_t i = 0; same && i < blocks; ++i) same = back->sack[i] == o.sack[i];
    require(same, who);
}

}  // namespace coronet::fuzz
