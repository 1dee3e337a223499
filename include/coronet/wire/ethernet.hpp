// Ethernet II frames (IEEE 802.3 with an EtherType): MAC addresses, a checked
// view over a received frame, and the 14-byte header builder.
#pragma once

#include <array>
#include <coronet/wire/bytes.hpp>
#include <coronet/wire/error.hpp>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace coronet::wire {

struct mac_address {
    std::array<std::uint8_t, 6> octets{};

    // Parses "aa:bb:cc:dd:ee:ff" (either case); std::errc::invalid_argument otherwise.
    static result<mac_address> parse(std::string_view text);
    // "aa:bb:cc:dd:ee:ff", lower case.
    std::string to_string() const;
    // ff:ff:ff:ff:ff:ff.
    static constexpr mac_address broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
    // All ones.
    bool is_broadcast() const { return *this == broadcast(); }
    // Group bit set (broadcast included).
    bool is_multicast() const { return (octets[0] & 0x01) != 0; }

    friend bool operator==(const mac_address&, const mac_address&) = default;
};

// Prints to_string(), for logs and test failures.
std::ostream& operator<<(std::ostream& os, const mac_address& mac);

// Reads a MAC address at off (off + 6 must be in range).
mac_address load_mac(bytes b, std::size_t off);
// Writes a MAC address at off (off + 6 must be in range).
void store_mac(mut_bytes b, std::size_t off, const mac_address& mac);

namespace ethertype {
inline constexpr std::uint16_t ipv4 = 0x0800, arp = 0x0806, ipv6 = 0x86dd;
}  // namespace ethertype

// A received frame whose 14-byte header is known to be present.
class ethernet_view {
public:
    // Checks the header fits; errc::truncated below 14 bytes.
    static result<ethernet_view> parse(bytes frame);

    mac_address dst() const;
    mac_address src() const;
    std::uint16_t type() const;
    // Everything after the header (may include Ethernet padding).
    bytes payload() const;
    // The whole frame.
    bytes raw() const { return frame_; }

private:
    explicit ethernet_view(bytes frame) : frame_(frame) {}
    bytes frame_;
};

// The Ethernet II header to write.
struct ethernet_repr {
    mac_address dst, src;
    std::uint16_t type = 0;
    static constexpr std::size_t header_len = 14;

    // The header of view.
    static ethernet_repr from(const ethernet_view& view);
    // Writes the 14-byte header at the start of out; std::length_error if out is shorter.
    void emit(mut_bytes out) const;
};

}  // namespace coronet::wire
