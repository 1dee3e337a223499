#include "support/frames.hpp"

#include <algorithm>
#include <coronet/wire/icmp.hpp>
#include <coronet/wire/ipv4.hpp>

#include "support/check.hpp"

namespace coronet::test {

sent_frame decode_sent(wire::bytes frame, std::uint16_t mtu) {
    sent_frame out;
    auto eth = wire::ethernet_view::parse(frame);
    require(eth && frame.size() <= mtu + wire::ethernet_repr::header_len, "the stack sent a short or oversized frame");
    require(eth->src() == stack_mac, "the stack sent a frame from another MAC");
    if (eth->type() == wire::ethertype::arp) {
        auto arp = wire::arp_view::parse(eth->payload());
        require(static_cast<bool>(arp), "the stack sent a malformed ARP packet");
        out.arp = wire::arp_repr::from(*arp);
        return out;
    }
    require(eth->type() == wire::ethertype::ipv4, "the stack sent a frame that is neither ARP nor IPv4");
    auto ip = wire::ipv4_view::parse(eth->payload());
    require(ip && ip->src() == stack_ip, "the stack sent a malformed IPv4 datagram");
    out.dont_fragment = ip->dont_fragment();
    if (ip->protocol() == wire::ip_proto::icmp) {
        require(static_cast<bool>(wire::icmp_view::parse(ip->payload())), "the stack sent a malformed ICMP message");
        return out;
    }
    require(ip->protocol() == wire::ip_proto::tcp, "the stack sent an IPv4 protocol it does not speak");
    auto seg = wire::tcp_view::parse(ip->payload(), ip->src(), ip->dst());
    require(static_cast<bool>(seg), "the stack sent a malformed TCP segment (header, options or checksum)");
    out.tcp = wire::tcp_repr::from(*seg);
    out.payload = seg->payload();
    return out;
}

std::vector<std::byte> peer_tcp_frame(const wire::tcp_repr& h, wire::bytes payload, bool good_checksum) {
    constexpr std::size_t l2 = wire::ethernet_repr::header_len, l3 = wire::ipv4_repr::header_len;
    const std::size_t l4 = h.header_len() + payload.size();
    std::vector<std::byte> f(l2 + l3 + l4);
    const wire::mut_bytes frame{f};
    wire::ethernet_repr{.dst = stack_mac, .src = peer_mac, .type = wire::ethertype::ipv4}.emit(frame);
    wire::ipv4_repr ip{};
    ip.src = peer_ip;
    ip.dst = stack_ip;
    ip.protocol = wire::ip_proto::tcp;
    ip.payload_len = static_cast<std::uint16_t>(l4);
    ip.emit(frame.subspan(l2));
    const wire::mut_bytes seg = frame.subspan(l2 + l3);
    std::copy(payload.begin(), payload.end(), seg.begin() + static_cast<std::ptrdiff_t>(h.header_len()));
    h.emit(seg, peer_ip, stack_ip);
    if (!good_checksum) seg[16] ^= std::byte{0x5a};
    return f;
}

std::vector<std::byte> icmp_error_frame(std::uint8_t type, std::uint8_t code, const quoted_segment& q,
                                        std::uint16_t mtu) {
    constexpr std::size_t l2 = wire::ethernet_repr::header_len, l3 = wire::ipv4_repr::header_len;
    constexpr std::size_t quote = l3 + 8, l4 = wire::icmp_repr::header_len + quote;
    std::vector<std::byte> f(l2 + l3 + l4);
    const wire::mut_bytes frame{f};
    wire::ethernet_repr{.dst = stack_mac, .src = peer_mac, .type = wire::ethertype::ipv4}.emit(frame);
    wire::ipv4_repr ip{};
    ip.src = wire::address_v4{0x0a0000fe};
    ip.dst = stack_ip;
    ip.protocol = wire::ip_proto::icmp;
    ip.payload_len = static_cast<std::uint16_t>(l4);
    ip.emit(frame.subspan(l2));
    const wire::mut_bytes msg = frame.subspan(l2 + l3);
    wire::ipv4_repr quoted{};
    quoted.src = stack_ip;
    quoted.dst = peer_ip;
    quoted.protocol = wire::ip_proto::tcp;
    quoted.payload_len = static_cast<std::uint16_t>(q.length - l3);
    quoted.emit(msg.subspan(wire::icmp_repr::header_len));
    const wire::mut_bytes tcp = msg.subspan(wire::icmp_repr::header_len + l3);
    wire::store_u16(tcp, 0, q.local_port);
    wire::store_u16(tcp, 2, q.peer_port);
    wire::store_u32(tcp, 4, q.seq.value);
    wire::icmp_repr{.type = type, .code = code, .ident = 0, .seq_no = mtu}.emit(msg);
    return f;
}

std::vector<std::byte> peer_arp_frame(std::uint16_t op) {
    const bool request = op == wire::arp_op::request;
    return arp_frame({.operation = op,
                      .sender_mac = peer_mac,
                      .sender_ip = peer_ip,
                      .target_mac = request ? wire::mac_address{} : stack_mac,
                      .target_ip = stack_ip},
                     request ? wire::mac_address::broadcast() : stack_mac);
}

std::vector<std::byte> arp_frame(const wire::arp_repr& arp, const wire::mac_address& dst) {
    std::vector<std::byte> f(wire::ethernet_repr::header_len + wire::arp_repr::len);
    const wire::mut_bytes frame{f};
    wire::ethernet_repr{.dst = dst, .src = arp.sender_mac, .type = wire::ethertype::arp}.emit(frame);
    arp.emit(frame.subspan(wire::ethernet_repr::header_len));
    return f;
}

}  // namespace coronet::test
