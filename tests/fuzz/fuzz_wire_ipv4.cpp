// IPv4: ipv4_view::parse on any bytes, the view's promises (lengths within
// the buffer, header checksum good) and the repr round trip. The first input
// byte chooses whether the harness fixes the header checksum first.
#include <algorithm>
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/ipv4.hpp>
#include <vector>

#include "check.hpp"

namespace wire = coronet::wire;
using coronet::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    std::vector<std::byte> pkt(reinterpret_cast<const std::byte*>(data) + 1,
                               reinterpret_cast<const std::byte*>(data) + size);
    if ((data[0] & 1) && pkt.size() >= wire::ipv4_repr::header_len) {
        const std::size_t ihl = std::min<std::size_t>((wire::load_u8(pkt, 0) & 0x0f) * 4u, pkt.size());
        wire::store_u16(pkt, 10, 0);
        wire::store_u16(pkt, 10, wire::internet_checksum(wire::bytes(pkt).first(ihl)));
    }
    auto ip = wire::ipv4_view::parse(pkt);
    if (!ip) return 0;
    const std::size_t ihl = ip->header_len();
    require(ihl >= 20 && ihl <= 60 && ip->total_length() <= pkt.size() && ip->total_length() >= ihl,
            "ipv4: lengths out of bounds");
    require(ip->raw().size() == ip->total_length() && ip->payload().size() == ip->total_length() - ihl &&
                ip->options().size() == ihl - 20 && ip->header().size() == ihl,
            "ipv4: views disagree with the lengths");
    require(wire::internet_checksum(ip->header()) == 0, "ipv4: header checksum does not verify");
    require(ip->is_fragment() == (ip->more_fragments() || ip->fragment_offset() != 0), "ipv4: is_fragment");

    // The repr drops options and fragmentation; what it keeps survives emit and parse.
    const wire::ipv4_repr r = wire::ipv4_repr::from(*ip);
    std::vector<std::byte> out(r.total_len());
    r.emit(out);
    std::copy(ip->payload().begin(), ip->payload().end(), out.begin() + wire::ipv4_repr::header_len);
    auto again = wire::ipv4_view::parse(out);
    require(static_cast<bool>(again), "ipv4: an emitted datagram does not parse");
    const wire::ipv4_repr r2 = wire::ipv4_repr::from(*again);
    require(
        r2.src == r.src && r2.dst == r.dst && r2.protocol == r.protocol && r2.ttl == r.ttl && r2.ident == r.ident &&
            r2.dont_fragment == r.dont_fragment && r2.dscp_ecn == r.dscp_ecn && r2.payload_len == r.payload_len &&
            std::equal(again->payload().begin(), again->payload().end(), ip->payload().begin(), ip->payload().end()),
        "ipv4: repr round trip changed a field");
    return 0;
}
