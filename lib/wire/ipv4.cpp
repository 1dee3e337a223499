// IPv4 header view and builder (RFC 791).
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/ipv4.hpp>

namespace coronet::wire {

namespace {

// Field offsets of the IPv4 header.
namespace ipv4_field {
constexpr std::size_t ver_ihl = 0;
constexpr std::size_t dscp_ecn = 1;
constexpr std::size_t total_length = 2;
constexpr std::size_t ident = 4;
constexpr std::size_t flags_frag = 6;
constexpr std::size_t ttl = 8;
constexpr std::size_t protocol = 9;
constexpr std::size_t checksum = 10;
constexpr std::size_t src = 12;
constexpr std::size_t dst = 16;
}  // namespace ipv4_field

constexpr std::uint16_t flag_df = 0x4000;
constexpr std::uint16_t flag_mf = 0x2000;
constexpr std::uint16_t frag_offset_mask = 0x1fff;

}  // namespace

result<ipv4_view> ipv4_view::parse(bytes packet) {
    if (packet.size() < ipv4_repr::header_len) {
        return errc::truncated;
    }
    const std::uint8_t ver_ihl = load_u8(packet, ipv4_field::ver_ihl);
    if ((ver_ihl >> 4) != 4) {
        return errc::bad_version;
    }
    const std::size_t ihl = std::size_t{ver_ihl & 0x0fu} * 4;
    if (ihl < ipv4_repr::header_len || ihl > packet.size()) {
        return errc::bad_header_length;
    }
    const std::size_t total = load_u16(packet, ipv4_field::total_length);
    if (total < ihl || total > packet.size()) {
        return errc::bad_length;
    }
    if (internet_checksum(packet.first(ihl)) != 0) {
        return errc::bad_checksum;
    }
    return ipv4_view{packet.first(total)};
}

std::uint8_t ipv4_view::header_len() const {
    return static_cast<std::uint8_t>((load_u8(packet_, ipv4_field::ver_ihl) & 0x0f) * 4);
}
std::uint8_t ipv4_view::dscp_ecn() const { return load_u8(packet_, ipv4_field::dscp_ecn); }
std::uint16_t ipv4_view::total_length() const { return load_u16(packet_, ipv4_field::total_length); }
std::uint16_t ipv4_view::ident() const { return load_u16(packet_, ipv4_field::ident); }
bool ipv4_view::dont_fragment() const { return (load_u16(packet_, ipv4_field::flags_frag) & flag_df) != 0; }
bool ipv4_view::more_fragments() const { return (load_u16(packet_, ipv4_field::flags_frag) & flag_mf) != 0; }
std::uint16_t ipv4_view::fragment_offset() const {
    return static_cast<std::uint16_t>((load_u16(packet_, ipv4_field::flags_frag) & frag_offset_mask) * 8);
}
bool ipv4_view::is_fragment() const { return more_fragments() || fragment_offset() != 0; }
std::uint8_t ipv4_view::ttl() const { return load_u8(packet_, ipv4_field::ttl); }
std::uint8_t ipv4_view::protocol() const { return load_u8(packet_, ipv4_field::protocol); }
std::uint16_t ipv4_view::checksum() const { return load_u16(packet_, ipv4_field::checksum); }
address_v4 ipv4_view::src() const { return load_address_v4(packet_, ipv4_field::src); }
address_v4 ipv4_view::dst() const { return load_address_v4(packet_, ipv4_field::dst); }
bytes ipv4_view::options() const {
    return packet_.subspan(ipv4_repr::header_len, header_len() - ipv4_repr::header_len);
}
bytes ipv4_view::payload() const { return packet_.subspan(header_len()); }
bytes ipv4_view::header() const { return packet_.first(header_len()); }

ipv4_repr ipv4_repr::from(const ipv4_view& view) {
    ipv4_repr r;
    r.src = view.src();
    r.dst = view.dst();
    r.protocol = view.protocol();
    r.ttl = view.ttl();
    r.ident = view.ident();
    r.dont_fragment = view.dont_fragment();
    r.dscp_ecn = view.dscp_ecn();
    r.payload_len = static_cast<std::uint16_t>(view.payload().size());
    return r;
}

void ipv4_repr::emit(mut_bytes out) const {
    expect_room(out, header_len, "ipv4_repr::emit: buffer shorter than 20 bytes");
    if (total_len() > 0xffff) {
        throw std::length_error("ipv4_repr::emit: total length exceeds 65535");
    }
    store_u8(out, ipv4_field::ver_ihl, 0x45);  // version 4, IHL 5 words
    store_u8(out, ipv4_field::dscp_ecn, dscp_ecn);
    store_u16(out, ipv4_field::total_length, static_cast<std::uint16_t>(total_len()));
    store_u16(out, ipv4_field::ident, ident);
    store_u16(out, ipv4_field::flags_frag, dont_fragment ? flag_df : 0);
    store_u8(out, ipv4_field::ttl, ttl);
    store_u8(out, ipv4_field::protocol, protocol);
    store_u16(out, ipv4_field::checksum, 0);
    store_address_v4(out, ipv4_field::src, src);
    store_address_v4(out, ipv4_field::dst, dst);
    store_u16(out, ipv4_field::checksum, internet_checksum(out.first(header_len)));
}

}  // namespace coronet::wire
