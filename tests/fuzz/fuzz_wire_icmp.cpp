// ICMP: icmp_view::parse on any bytes and the repr round trip. The first
// input byte chooses whether the harness fixes the checksum first, so the
// fuzzer reaches the accessors and not only the checksum test.
#include <algorithm>
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/icmp.hpp>
#include <vector>

#include "check.hpp"

namespace wire = coronet::wire;
using coronet::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    std::vector<std::byte> msg(reinterpret_cast<const std::byte*>(data) + 1,
                               reinterpret_cast<const std::byte*>(data) + size);
    if ((data[0] & 1) && msg.size() >= wire::icmp_repr::header_len) {
        wire::store_u16(msg, 2, 0);
        wire::store_u16(msg, 2, wire::internet_checksum(msg));
    }
    auto icmp = wire::icmp_view::parse(msg);
    if (!icmp) return 0;
    require(msg.size() >= wire::icmp_repr::header_len && wire::internet_checksum(msg) == 0,
            "icmp: a bad message parsed");
    require(icmp->payload().size() == msg.size() - wire::icmp_repr::header_len, "icmp: payload size");
    // Re-emitted over the same payload, only the checksum may differ (0x0000 and 0xffff are both zero).
    std::vector<std::byte> out = msg;
    wire::icmp_repr::from(*icmp).emit(out);
    require(wire::icmp_view::parse(out).has_value(), "icmp: an emitted message does not parse");
    out[2] = msg[2];
    out[3] = msg[3];
    require(out == msg, "icmp: repr round trip changed the message");
    return 0;
}
