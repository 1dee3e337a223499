// ARP for IPv4 over Ethernet (RFC 826).
#include <coronet/wire/arp.hpp>

namespace coronet::wire {

namespace {

// Field offsets of an Ethernet/IPv4 ARP packet.
namespace arp_field {
constexpr std::size_t htype = 0;
constexpr std::size_t ptype = 2;
constexpr std::size_t hlen = 4;
constexpr std::size_t plen = 5;
constexpr std::size_t oper = 6;
constexpr std::size_t sha = 8;
constexpr std::size_t spa = 14;
constexpr std::size_t tha = 18;
constexpr std::size_t tpa = 24;
}  // namespace arp_field

constexpr std::size_t fixed_len = 8;  // htype .. oper: enough to learn the sizes
constexpr std::uint16_t htype_ethernet = 1;
constexpr std::uint8_t hlen_ethernet = 6;
constexpr std::uint8_t plen_ipv4 = 4;

}  // namespace

result<arp_view> arp_view::parse(bytes packet) {
    if (packet.size() < fixed_len) {
        return errc::truncated;
    }
    if (load_u16(packet, arp_field::htype) != htype_ethernet || load_u16(packet, arp_field::ptype) != ethertype::ipv4 ||
        load_u8(packet, arp_field::hlen) != hlen_ethernet || load_u8(packet, arp_field::plen) != plen_ipv4) {
        return errc::unsupported;
    }
    if (packet.size() < arp_repr::len) {
        return errc::truncated;
    }
    return arp_view{packet.first(arp_repr::len)};
}

std::uint16_t arp_view::operation() const { return load_u16(packet_, arp_field::oper); }
mac_address arp_view::sender_mac() const { return load_mac(packet_, arp_field::sha); }
address_v4 arp_view::sender_ip() const { return load_address_v4(packet_, arp_field::spa); }
mac_address arp_view::target_mac() const { return load_mac(packet_, arp_field::tha); }
address_v4 arp_view::target_ip() const { return load_address_v4(packet_, arp_field::tpa); }

arp_repr arp_repr::from(const arp_view& view) {
    return {view.operation(), view.sender_mac(), view.sender_ip(), view.target_mac(), view.target_ip()};
}

void arp_repr::emit(mut_bytes out) const {
    expect_room(out, len, "arp_repr::emit: buffer shorter than 28 bytes");
    store_u16(out, arp_field::htype, htype_ethernet);
    store_u16(out, arp_field::ptype, ethertype::ipv4);
    store_u8(out, arp_field::hlen, hlen_ethernet);
    store_u8(out, arp_field::plen, plen_ipv4);
    store_u16(out, arp_field::oper, operation);
    store_mac(out, arp_field::sha, sender_mac);
    store_address_v4(out, arp_field::spa, sender_ip);
    store_mac(out, arp_field::tha, target_mac);
    store_address_v4(out, arp_field::tpa, target_ip);
}

}  // namespace coronet::wire
