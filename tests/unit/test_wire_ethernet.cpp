// Ethernet II: MAC address text form, header view and builder.
#include <boost/test/unit_test.hpp>
#include <coronet/wire/ethernet.hpp>
#include <vector>

#include "support/wire_errors.hpp"

namespace wire = coronet::wire;
using coronet::test::code;
using coronet::test::error_of;

namespace {

const wire::mac_address mac_a{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
const wire::mac_address mac_b{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};

// A frame: header from repr, then payload.
std::vector<std::byte> make_frame(const wire::ethernet_repr& repr, std::string_view payload) {
    std::vector<std::byte> frame(wire::ethernet_repr::header_len + payload.size());
    repr.emit(frame);
    const wire::bytes p = wire::to_bytes(payload);
    std::copy(p.begin(), p.end(), frame.begin() + wire::ethernet_repr::header_len);
    return frame;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_ethernet)

BOOST_AUTO_TEST_CASE(mac_text_round_trips_in_lower_case) {
    const auto mac = wire::mac_address::parse("02:AB:cd:00:ff:10");
    BOOST_TEST_REQUIRE(mac.has_value());
    BOOST_TEST(mac->octets[1] == 0xab);
    BOOST_TEST(mac->to_string() == "02:ab:cd:00:ff:10");
    BOOST_TEST(*wire::mac_address::parse(mac->to_string()) == *mac);
}

BOOST_AUTO_TEST_CASE(mac_parse_rejects_malformed_text) {
    const auto invalid = std::make_error_code(std::errc::invalid_argument);
    for (const char* text : {"", "02:ab:cd:00:ff", "02:ab:cd:00:ff:1", "02:ab:cd:00:ff:100", "02-ab-cd-00-ff-10",
                             "02:ab:cd:00:ff:1g", "02:ab:cd:00:ff:10:"}) {
        BOOST_TEST(error_of(wire::mac_address::parse(text)) == invalid, "text: " << text);
    }
}

BOOST_AUTO_TEST_CASE(broadcast_is_all_ones_and_multicast) {
    const auto bcast = wire::mac_address::broadcast();
    BOOST_TEST(bcast.to_string() == "ff:ff:ff:ff:ff:ff");
    BOOST_TEST(bcast.is_broadcast());
    BOOST_TEST(bcast.is_multicast());
    BOOST_TEST(!mac_a.is_broadcast());
    BOOST_TEST(!mac_a.is_multicast());
    BOOST_TEST(wire::mac_address::parse("01:00:5e:00:00:01")->is_multicast());
}

BOOST_AUTO_TEST_CASE(ethernet_repr_round_trips_every_field) {
    const wire::ethernet_repr repr{mac_b, mac_a, wire::ethertype::ipv4};
    const auto frame = make_frame(repr, "payload");
    const auto view = wire::ethernet_view::parse(frame);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->dst() == mac_b);
    BOOST_TEST(view->src() == mac_a);
    BOOST_TEST(view->type() == wire::ethertype::ipv4);
    BOOST_TEST(view->payload().size() == 7u);
    BOOST_TEST(wire::load_u8(view->payload(), 0) == 'p');
    BOOST_TEST(view->raw().size() == frame.size());
    const auto again = wire::ethernet_repr::from(*view);
    BOOST_TEST(again.dst == mac_b);
    BOOST_TEST(again.src == mac_a);
    BOOST_TEST(again.type == wire::ethertype::ipv4);
}

BOOST_AUTO_TEST_CASE(ethernet_header_is_destination_source_type) {
    const wire::ethernet_repr repr{wire::mac_address::broadcast(), mac_a, wire::ethertype::arp};
    const auto frame = make_frame(repr, "");
    BOOST_TEST(wire::load_u8(frame, 0) == 0xff);
    BOOST_TEST(wire::load_u8(frame, 11) == 0x0a);
    BOOST_TEST(wire::load_u16(frame, 12) == 0x0806);
}

BOOST_AUTO_TEST_CASE(ethernet_parse_accepts_header_only_frame) {
    const auto frame = make_frame({mac_b, mac_a, wire::ethertype::ipv6}, "");
    const auto view = wire::ethernet_view::parse(frame);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->payload().empty());
}

BOOST_AUTO_TEST_CASE(ethernet_parse_rejects_every_truncated_prefix) {
    const auto frame = make_frame({mac_b, mac_a, wire::ethertype::ipv4}, "");
    for (std::size_t len = 0; len < frame.size(); ++len) {
        // A fresh exact-size copy so ASan sees any read past the prefix.
        const std::vector<std::byte> prefix(frame.begin(), frame.begin() + len);
        BOOST_TEST(error_of(wire::ethernet_view::parse(prefix)) == wire::make_error_code(wire::errc::truncated),
                   "prefix length " << len);
    }
}

BOOST_AUTO_TEST_CASE(ethernet_emit_throws_on_short_buffer) {
    std::vector<std::byte> small(13);
    BOOST_CHECK_THROW((wire::ethernet_repr{mac_a, mac_b, 0}.emit(small)), std::length_error);
}

BOOST_AUTO_TEST_SUITE_END()
