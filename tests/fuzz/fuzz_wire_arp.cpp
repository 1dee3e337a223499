// ARP: arp_view::parse on any bytes and the repr round trip (a parsed packet
// re-emitted is the same 28 bytes and parses to the same fields).
#include <algorithm>
#include <array>
#include <coronet/wire/arp.hpp>

#include "check.hpp"

namespace wire = coronet::wire;
using coronet::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const wire::bytes in = coronet::fuzz::input_bytes(data, size);
    auto arp = wire::arp_view::parse(in);
    if (!arp) return 0;
    require(in.size() >= wire::arp_repr::len, "arp: a short packet parsed");
    const wire::arp_repr r = wire::arp_repr::from(*arp);
    std::array<std::byte, wire::arp_repr::len> out{};
    r.emit(out);
    require(std::equal(out.begin(), out.end(), in.begin()), "arp: repr round trip changed the packet");
    auto again = wire::arp_view::parse(out);
    require(static_cast<bool>(again), "arp: an emitted packet does not parse back");
    const wire::arp_repr r2 = wire::arp_repr::from(*again);
    require(r2.operation == r.operation && r2.sender_mac == r.sender_mac && r2.sender_ip == r.sender_ip &&
                r2.target_mac == r.target_mac && r2.target_ip == r.target_ip,
            "arp: repr round trip changed a field");
    return 0;
}
