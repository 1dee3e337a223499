// TCP header view and builder (RFC 9293 3.1).
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/ipv4.hpp>
#include <coronet/wire/tcp.hpp>

namespace coronet::wire {

namespace {

// Field offsets of the TCP header.
namespace tcp_field {
constexpr std::size_t src_port = 0;
constexpr std::size_t dst_port = 2;
constexpr std::size_t seq = 4;
constexpr std::size_t ack = 8;
constexpr std::size_t data_offset = 12;  // high nibble, in 32-bit words
constexpr std::size_t flags = 13;
constexpr std::size_t window = 14;
constexpr std::size_t checksum = 16;
constexpr std::size_t urgent = 18;
constexpr std::size_t options = 20;
}  // namespace tcp_field

constexpr std::size_t min_header_len = 20;
constexpr std::size_t max_segment_len = 0xffff;  // the pseudo header's length field

// The one's complement sum of the pseudo header and segment, not inverted.
std::uint16_t folded_sum(bytes segment, address_v4 src, address_v4 dst, bool include_segment) {
    checksum_acc acc;
    add_pseudo_header(acc, src, dst, ip_proto::tcp, static_cast<std::uint16_t>(segment.size()));
    if (include_segment) {
        acc.add(segment);
    }
    return acc.fold();
}

}  // namespace

result<tcp_view> tcp_view::parse(bytes segment, address_v4 src, address_v4 dst, checksum_mode mode) {
    if (segment.size() < min_header_len) {
        return errc::truncated;
    }
    if (segment.size() > max_segment_len) {
        return errc::bad_length;
    }
    const std::size_t header_len = (std::size_t{load_u8(segment, tcp_field::data_offset)} >> 4) * 4;
    if (header_len < min_header_len || header_len > segment.size()) {
        return errc::bad_header_length;
    }
    if (mode == checksum_mode::verify && folded_sum(segment, src, dst, true) != 0xffff) {
        return errc::bad_checksum;
    }
    auto options = tcp_options::parse(segment.subspan(tcp_field::options, header_len - min_header_len));
    if (!options) {
        return options.error();
    }
    return tcp_view{segment, *options};
}

std::uint16_t tcp_view::src_port() const { return load_u16(segment_, tcp_field::src_port); }
std::uint16_t tcp_view::dst_port() const { return load_u16(segment_, tcp_field::dst_port); }
seq32 tcp_view::seq() const { return seq32{load_u32(segment_, tcp_field::seq)}; }
seq32 tcp_view::ack() const { return seq32{load_u32(segment_, tcp_field::ack)}; }
std::uint8_t tcp_view::header_len() const {
    return static_cast<std::uint8_t>((load_u8(segment_, tcp_field::data_offset) >> 4) * 4);
}
std::uint8_t tcp_view::flags() const { return load_u8(segment_, tcp_field::flags); }
std::uint16_t tcp_view::window() const { return load_u16(segment_, tcp_field::window); }
std::uint16_t tcp_view::checksum() const { return load_u16(segment_, tcp_field::checksum); }
std::uint16_t tcp_view::urgent() const { return load_u16(segment_, tcp_field::urgent); }
bytes tcp_view::payload() const { return segment_.subspan(header_len()); }

std::uint32_t tcp_view::seg_len() const {
    std::uint32_t n = static_cast<std::uint32_t>(payload().size());
    n += has(tcp_flag::syn) ? 1u : 0u;
    n += has(tcp_flag::fin) ? 1u : 0u;
    return n;
}

tcp_repr tcp_repr::from(const tcp_view& view) {
    tcp_repr r;
    r.src_port = view.src_port();
    r.dst_port = view.dst_port();
    r.seq = view.seq();
    r.ack = view.ack();
    r.flags = view.flags();
    r.window = view.window();
    r.urgent = view.urgent();
    r.options = view.options();
    return r;
}

std::size_t tcp_repr::header_len() const { return min_header_len + options.encoded_len(); }

void tcp_repr::emit(mut_bytes segment, address_v4 src, address_v4 dst, checksum_mode mode) const {
    const std::size_t len = header_len();
    expect_room(segment, len, "tcp_repr::emit: buffer shorter than header_len()");
    if (segment.size() > max_segment_len) {
        throw std::length_error("tcp_repr::emit: segment longer than 65535 bytes");
    }
    store_u16(segment, tcp_field::src_port, src_port);
    store_u16(segment, tcp_field::dst_port, dst_port);
    store_u32(segment, tcp_field::seq, seq.value);
    store_u32(segment, tcp_field::ack, ack.value);
    store_u8(segment, tcp_field::data_offset, static_cast<std::uint8_t>((len / 4) << 4));
    store_u8(segment, tcp_field::flags, flags);
    store_u16(segment, tcp_field::window, window);
    store_u16(segment, tcp_field::checksum, 0);
    store_u16(segment, tcp_field::urgent, urgent);
    options.emit(segment.subspan(tcp_field::options, len - min_header_len));
    if (mode == checksum_mode::verify) {
        store_u16(segment, tcp_field::checksum, static_cast<std::uint16_t>(~folded_sum(segment, src, dst, true)));
    } else {
        store_u16(segment, tcp_field::checksum, folded_sum(segment, src, dst, false));
    }
}

}  // namespace coronet::wire
