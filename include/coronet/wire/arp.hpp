// ARP (RFC 826) for IPv4 over Ethernet only: a checked view over a received
// packet and the 28-byte packet builder.
#pragma once

#include <coronet/wire/bytes.hpp>
#include <coronet/wire/error.hpp>
#include <coronet/wire/ethernet.hpp>
#include <cstddef>
#include <cstdint>

namespace coronet::wire {

namespace arp_op {
inline constexpr std::uint16_t request = 1, reply = 2;
}  // namespace arp_op

// An Ethernet/IPv4 ARP packet whose 28 bytes are known to be present.
class arp_view {
public:
    // errc::truncated if short; errc::unsupported unless htype 1, ptype 0x0800, hlen 6, plen 4.
    static result<arp_view> parse(bytes packet);

    std::uint16_t operation() const;
    mac_address sender_mac() const;
    address_v4 sender_ip() const;
    mac_address target_mac() const;
    address_v4 target_ip() const;

private:
    explicit arp_view(bytes packet) : packet_(packet) {}
    bytes packet_;
};

// An Ethernet/IPv4 ARP packet to write.
struct arp_repr {
    std::uint16_t operation = 0;
    mac_address sender_mac;
    address_v4 sender_ip;
    mac_address target_mac;
    address_v4 target_ip;
    static constexpr std::size_t len = 28;

    // The fields of view.
    static arp_repr from(const arp_view& view);
    // Writes the 28-byte packet at the start of out; std::length_error if out is shorter.
    void emit(mut_bytes out) const;
};

}  // namespace coronet::wire
