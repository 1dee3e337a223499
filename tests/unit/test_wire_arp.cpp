// ARP for IPv4 over Ethernet: view and builder.
#include <boost/test/unit_test.hpp>
#include <coronet/wire/arp.hpp>
#include <vector>

#include "support/wire_errors.hpp"

namespace wire = coronet::wire;
using coronet::test::code;
using coronet::test::error_of;

namespace {

const wire::mac_address host_a{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
const wire::mac_address host_b{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};
const wire::address_v4 ip_a = boost::asio::ip::make_address_v4("10.0.0.1");
const wire::address_v4 ip_b = boost::asio::ip::make_address_v4("10.0.0.2");

// "Who has 10.0.0.2? Tell 10.0.0.1", as host_a sends it.
wire::arp_repr who_has_b() { return {wire::arp_op::request, host_a, ip_a, wire::mac_address{}, ip_b}; }

std::vector<std::byte> make_packet(const wire::arp_repr& repr, std::size_t padding = 0) {
    std::vector<std::byte> packet(wire::arp_repr::len + padding);
    repr.emit(packet);
    return packet;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_arp)

BOOST_AUTO_TEST_CASE(arp_repr_round_trips_every_field) {
    const auto packet = make_packet(who_has_b());
    const auto view = wire::arp_view::parse(packet);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->operation() == wire::arp_op::request);
    BOOST_TEST(view->sender_mac() == host_a);
    BOOST_TEST(view->sender_ip() == ip_a);
    BOOST_TEST(view->target_mac() == wire::mac_address{});
    BOOST_TEST(view->target_ip() == ip_b);

    const auto reply = wire::arp_repr{wire::arp_op::reply, host_b, ip_b, host_a, ip_a};
    const auto back = wire::arp_repr::from(*wire::arp_view::parse(make_packet(reply)));
    BOOST_TEST(back.operation == wire::arp_op::reply);
    BOOST_TEST(back.sender_mac == host_b);
    BOOST_TEST(back.sender_ip == ip_b);
    BOOST_TEST(back.target_mac == host_a);
    BOOST_TEST(back.target_ip == ip_a);
}

BOOST_AUTO_TEST_CASE(arp_emit_writes_ethernet_ipv4_hardware_and_protocol_types) {
    const auto packet = make_packet(who_has_b());
    BOOST_TEST(wire::load_u16(packet, 0) == 1);       // htype Ethernet
    BOOST_TEST(wire::load_u16(packet, 2) == 0x0800);  // ptype IPv4
    BOOST_TEST(wire::load_u8(packet, 4) == 6);
    BOOST_TEST(wire::load_u8(packet, 5) == 4);
    BOOST_TEST(wire::load_u16(packet, 6) == wire::arp_op::request);
}

BOOST_AUTO_TEST_CASE(arp_parse_accepts_ethernet_padding) {
    const auto packet = make_packet(who_has_b(), 18);  // padded to the 46-byte minimum
    const auto view = wire::arp_view::parse(packet);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->target_ip() == ip_b);
}

BOOST_AUTO_TEST_CASE(arp_parse_rejects_every_truncated_prefix) {
    const auto packet = make_packet(who_has_b());
    for (std::size_t len = 0; len < packet.size(); ++len) {
        const std::vector<std::byte> prefix(packet.begin(), packet.begin() + len);
        BOOST_TEST(error_of(wire::arp_view::parse(prefix)) == code(wire::errc::truncated), "prefix length " << len);
    }
}

BOOST_AUTO_TEST_CASE(arp_parse_rejects_other_hardware_or_protocol) {
    struct patch {
        std::size_t offset;
        std::uint8_t value;
    };
    // htype 6 (IEEE 802), ptype 0x86dd, hlen 8, plen 16.
    for (const patch p : {patch{1, 6}, patch{2, 0x86}, patch{4, 8}, patch{5, 16}}) {
        auto packet = make_packet(who_has_b());
        wire::store_u8(packet, p.offset, p.value);
        BOOST_TEST(error_of(wire::arp_view::parse(packet)) == code(wire::errc::unsupported), "offset " << p.offset);
    }
}

BOOST_AUTO_TEST_CASE(arp_emit_throws_on_short_buffer) {
    std::vector<std::byte> small(27);
    BOOST_CHECK_THROW(who_has_b().emit(small), std::length_error);
}

BOOST_AUTO_TEST_SUITE_END()
