// TCP: tcp_view::parse on any segment, the view's promises (header and
// payload within the buffer, options as tcp_options::parse reads them, a
// checksum that verifies) and the repr round trip.
// Input: mode (bit 0: fix the checksum first, so the fuzzer gets past it;
// bit 1: parse with checksum_mode::skip), source and destination address
// (u32 each), then the segment.
#include <algorithm>
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/ipv4.hpp>
#include <vector>

#include "byte_io.hpp"
#include "tcp_options_roundtrip.hpp"

namespace wire = coronet::wire;
using coronet::fuzz::require;

namespace {

std::uint16_t segment_checksum(wire::bytes seg, wire::address_v4 src, wire::address_v4 dst) {
    wire::checksum_acc acc;
    wire::add_pseudo_header(acc, src, dst, wire::ip_proto::tcp, static_cast<std::uint16_t>(seg.size()));
    acc.add(seg);
    return acc.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    coronet::fuzz::byte_reader in{coronet::fuzz::input_bytes(data, size)};
    const std::uint8_t mode = in.u8();
    const wire::address_v4 src{in.u32()}, dst{in.u32()};
    const wire::bytes rest = in.take(size);
    std::vector<std::byte> seg(rest.begin(), rest.end());
    if ((mode & 1) && seg.size() >= 20 && seg.size() <= 0xffff) {
        wire::store_u16(seg, 16, 0);
        wire::store_u16(seg, 16, segment_checksum(seg, src, dst));
    }
    const auto checksums = (mode & 2) ? wire::checksum_mode::skip : wire::checksum_mode::verify;
    auto v = wire::tcp_view::parse(seg, src, dst, checksums);
    if (!v) return 0;

    const std::size_t hlen = v->header_len();
    require(hlen >= 20 && hlen <= 60 && hlen <= seg.size(), "tcp: header length out of bounds");
    require(v->payload().size() == seg.size() - hlen && v->raw().size() == seg.size(), "tcp: payload size");
    require(v->seg_len() == v->payload().size() + v->has(wire::tcp_flag::syn) + v->has(wire::tcp_flag::fin),
            "tcp: seg_len");
    if (checksums == wire::checksum_mode::verify)
        require(segment_checksum(seg, src, dst) == 0, "tcp: a segment with a bad checksum parsed");
    auto options = wire::tcp_options::parse(wire::bytes(seg).subspan(20, hlen - 20));
    require(options && options->mss == v->options().mss && options->timestamp == v->options().timestamp,
            "tcp: the view's options differ from parsing the option bytes");
    coronet::fuzz::require_options_roundtrip(v->options(), "tcp: options round trip");

    // Header fields and payload survive emit and parse; options as emit() normalizes them.
    const wire::tcp_repr r = wire::tcp_repr::from(*v);
    if (r.header_len() + v->payload().size() > 0xffff) return 0;  // aligned options can take more room
    std::vector<std::byte> out(r.header_len() + v->payload().size());
    std::copy(v->payload().begin(), v->payload().end(), out.begin() + static_cast<std::ptrdiff_t>(r.header_len()));
    r.emit(out, src, dst);
    auto again = wire::tcp_view::parse(out, src, dst);
    require(static_cast<bool>(again), "tcp: an emitted segment does not parse");
    const wire::tcp_repr r2 = wire::tcp_repr::from(*again);
    require(r2.src_port == r.src_port && r2.dst_port == r.dst_port && r2.seq == r.seq && r2.ack == r.ack &&
                r2.flags == r.flags && r2.window == r.window && r2.urgent == r.urgent &&
                std::ranges::equal(again->payload(), v->payload()),
            "tcp: repr round trip changed a field");
    return 0;
}
