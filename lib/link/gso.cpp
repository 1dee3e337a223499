#include <algorithm>
#include <coronet/link/gso.hpp>
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/ethernet.hpp>
#include <coronet/wire/ipv4.hpp>
#include <coronet/wire/tcp.hpp>

namespace coronet::link {

namespace {

// Field offsets within the IPv4 header (RFC 791 3.1) and the TCP header
// (RFC 9293 3.1).
constexpr std::size_t ipv4_total_length = 2, ipv4_ident = 4, ipv4_checksum = 10;
constexpr std::size_t tcp_seq = 4, tcp_flags = 13, tcp_checksum = 16;

}  // namespace

wire::result<tcp4_super_frame> tcp4_super_frame::parse(wire::bytes frame, std::uint16_t mss) {
    auto eth = wire::ethernet_view::parse(frame);
    if (!eth) return eth.error();
    if (eth->type() != wire::ethertype::ipv4 || mss == 0) return wire::errc::unsupported;
    auto ip = wire::ipv4_view::parse(eth->payload());
    if (!ip) return ip.error();
    if (ip->is_fragment() || ip->protocol() != wire::ip_proto::tcp) return wire::errc::unsupported;
    auto tcp = wire::tcp_view::parse(ip->payload(), ip->src(), ip->dst(), wire::checksum_mode::skip);
    if (!tcp) return tcp.error();

    tcp4_super_frame s{frame.first(wire::ethernet_repr::header_len + ip->total_length())};
    s.ip_off_ = wire::ethernet_repr::header_len;
    s.tcp_off_ = s.ip_off_ + ip->header_len();
    s.header_len_ = s.tcp_off_ + tcp->header_len();
    s.mss_ = mss;
    return s;
}

std::size_t tcp4_super_frame::segments() const noexcept {
    const std::size_t payload = frame_.size() - header_len_;
    return payload == 0 ? 1 : (payload + mss_ - 1) / mss_;
}

std::size_t tcp4_super_frame::payload_bytes(std::size_t i) const noexcept {
    const std::size_t payload = frame_.size() - header_len_;
    return std::min<std::size_t>(mss_, payload - std::min(payload, i * mss_));
}

std::size_t tcp4_super_frame::segment_len(std::size_t i) const noexcept { return header_len_ + payload_bytes(i); }

void tcp4_super_frame::write_segment(std::size_t i, wire::mut_bytes out) const {
    const std::size_t len = segment_len(i);
    const std::size_t payload_at = header_len_ + i * mss_;
    std::copy_n(frame_.data(), header_len_, out.data());
    std::copy_n(frame_.data() + payload_at, len - header_len_, out.data() + header_len_);

    const auto ip = out.subspan(ip_off_, tcp_off_ - ip_off_);
    wire::store_u16(ip, ipv4_total_length, static_cast<std::uint16_t>(len - ip_off_));
    // Linux numbers the segments' IDs on from the super-frame's.
    wire::store_u16(ip, ipv4_ident, static_cast<std::uint16_t>(wire::load_u16(ip, ipv4_ident) + i));
    wire::store_u16(ip, ipv4_checksum, 0);
    wire::store_u16(ip, ipv4_checksum, wire::internet_checksum(ip));

    const auto tcp = out.subspan(tcp_off_, len - tcp_off_);
    wire::store_u32(tcp, tcp_seq, static_cast<std::uint32_t>(wire::load_u32(tcp, tcp_seq) + i * mss_));
    std::uint8_t flags = wire::load_u8(tcp, tcp_flags);
    // CWR answers an ECE once, with the first segment (RFC 3168 6.1.2); FIN
    // and PSH belong to the end of the data.
    if (i > 0) flags &= static_cast<std::uint8_t>(~wire::tcp_flag::cwr);
    if (i + 1 < segments()) flags &= static_cast<std::uint8_t>(~(wire::tcp_flag::fin | wire::tcp_flag::psh));
    wire::store_u8(tcp, tcp_flags, flags);
    wire::store_u16(tcp, tcp_checksum, 0);
    wire::checksum_acc acc;
    wire::add_pseudo_header(acc, wire::load_address_v4(ip, 12), wire::load_address_v4(ip, 16), wire::ip_proto::tcp,
                            static_cast<std::uint16_t>(tcp.size()));
    acc.add(tcp);
    wire::store_u16(tcp, tcp_checksum, acc.finish());
}

}  // namespace coronet::link
