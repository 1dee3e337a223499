// Ethernet: ethernet_view::parse on any bytes, the header's repr round trip,
// and mac_address::parse on the same bytes as text.
#include <algorithm>
#include <array>
#include <cctype>
#include <coronet/wire/ethernet.hpp>
#include <string_view>

#include "check.hpp"

namespace wire = coronet::wire;
using coronet::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const wire::bytes in = coronet::fuzz::input_bytes(data, size);
    if (auto eth = wire::ethernet_view::parse(in)) {
        require(in.size() >= wire::ethernet_repr::header_len, "ethernet: a short frame parsed");
        require(eth->payload().size() == in.size() - wire::ethernet_repr::header_len, "ethernet: payload size");
        std::array<std::byte, wire::ethernet_repr::header_len> header{};
        wire::ethernet_repr::from(*eth).emit(header);
        require(std::equal(header.begin(), header.end(), in.begin()), "ethernet: repr round trip changed the header");
    } else {
        require(in.size() < wire::ethernet_repr::header_len, "ethernet: a full header was refused");
    }

    const std::string_view text{reinterpret_cast<const char*>(data), size};
    if (auto mac = wire::mac_address::parse(text)) {
        std::string lower(text);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return std::tolower(c); });
        require(mac->to_string() == lower, "mac_address: text round trip");
    }
    return 0;
}
