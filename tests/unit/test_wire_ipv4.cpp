// IPv4 header: view checks (version, IHL, total length, checksum) and builder.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/ipv4.hpp>
#include <vector>

#include "support/wire_errors.hpp"

namespace wire = coronet::wire;
using coronet::test::code;
using coronet::test::error_of;

namespace {

const wire::address_v4 src_addr = boost::asio::ip::make_address_v4("10.0.0.1");
const wire::address_v4 dst_addr = boost::asio::ip::make_address_v4("192.0.2.200");

wire::ipv4_repr tcp_to_b(std::uint16_t payload_len) {
    wire::ipv4_repr r;
    r.src = src_addr;
    r.dst = dst_addr;
    r.protocol = wire::ip_proto::tcp;
    r.ttl = 63;
    r.ident = 0xbeef;
    r.dscp_ecn = 0xb8;  // EF, not-ECT
    r.payload_len = payload_len;
    return r;
}

// Header from repr (options inserted after it, IHL and checksum fixed), then payload.
std::vector<std::byte> make_packet(std::string_view payload, std::vector<std::uint8_t> options = {}) {
    const wire::bytes p = wire::to_bytes(payload);
    const auto repr = tcp_to_b(static_cast<std::uint16_t>(options.size() + p.size()));
    std::vector<std::byte> packet(repr.total_len());
    repr.emit(packet);
    const std::size_t ihl = wire::ipv4_repr::header_len + options.size();
    for (std::size_t i = 0; i < options.size(); ++i) {
        wire::store_u8(packet, wire::ipv4_repr::header_len + i, options[i]);
    }
    std::copy(p.begin(), p.end(), packet.begin() + static_cast<std::ptrdiff_t>(ihl));
    wire::store_u8(packet, 0, static_cast<std::uint8_t>(0x40 | ihl / 4));
    wire::store_u16(packet, 10, 0);
    wire::store_u16(packet, 10, wire::internet_checksum(wire::bytes(packet).first(ihl)));
    return packet;
}

// Rewrites one 16-bit header field and patches the checksum (RFC 1624).
void set_field(std::vector<std::byte>& packet, std::size_t offset, std::uint16_t value) {
    const std::uint16_t old_value = wire::load_u16(packet, offset);
    wire::store_u16(packet, 10, wire::checksum_update(wire::load_u16(packet, 10), old_value, value));
    wire::store_u16(packet, offset, value);
}

// Parses an exact-size copy of the first len bytes, so ASan sees any overread.
std::error_code parse_prefix(const std::vector<std::byte>& packet, std::size_t len) {
    const std::vector<std::byte> prefix(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(len));
    return error_of(wire::ipv4_view::parse(prefix));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_ipv4)

BOOST_AUTO_TEST_CASE(ipv4_repr_round_trips_every_field) {
    const auto packet = make_packet("hello");
    const auto view = wire::ipv4_view::parse(packet);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->header_len() == 20);
    BOOST_TEST(view->dscp_ecn() == 0xb8);
    BOOST_TEST(view->total_length() == 25);
    BOOST_TEST(view->ident() == 0xbeef);
    BOOST_TEST(view->dont_fragment());
    BOOST_TEST(!view->more_fragments());
    BOOST_TEST(view->fragment_offset() == 0);
    BOOST_TEST(!view->is_fragment());
    BOOST_TEST(view->ttl() == 63);
    BOOST_TEST(view->protocol() == wire::ip_proto::tcp);
    BOOST_TEST(view->checksum() == wire::load_u16(packet, 10));
    BOOST_TEST(view->src() == src_addr);
    BOOST_TEST(view->dst() == dst_addr);
    BOOST_TEST(view->options().empty());
    BOOST_TEST(view->header().size() == 20u);
    BOOST_TEST(view->payload().size() == 5u);
    BOOST_TEST(wire::load_u8(view->payload(), 0) == 'h');

    const auto back = wire::ipv4_repr::from(*view);
    std::vector<std::byte> again(back.total_len());
    back.emit(again);
    BOOST_TEST(std::equal(again.begin(), again.begin() + 20, packet.begin()));
}

BOOST_AUTO_TEST_CASE(ipv4_emit_without_dont_fragment_clears_the_flag) {
    auto repr = tcp_to_b(0);
    repr.dont_fragment = false;
    std::vector<std::byte> packet(20);
    repr.emit(packet);
    const auto view = wire::ipv4_view::parse(packet);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(!view->dont_fragment());
    BOOST_TEST(wire::load_u16(packet, 6) == 0);
}

BOOST_AUTO_TEST_CASE(ipv4_parse_exposes_options_and_payload_after_them) {
    const auto packet = make_packet("data", {0x94, 0x04, 0x00, 0x00});  // router alert
    const auto view = wire::ipv4_view::parse(packet);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->header_len() == 24);
    BOOST_TEST(view->options().size() == 4u);
    BOOST_TEST(wire::load_u8(view->options(), 0) == 0x94);
    BOOST_TEST(view->header().size() == 24u);
    BOOST_TEST(view->payload().size() == 4u);
    BOOST_TEST(wire::load_u8(view->payload(), 0) == 'd');
}

BOOST_AUTO_TEST_CASE(ipv4_parse_accepts_ethernet_padding_and_payload_stops_at_total_length) {
    auto packet = make_packet("abc");
    packet.resize(46, std::byte{0xee});
    const auto view = wire::ipv4_view::parse(packet);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->payload().size() == 3u);
    BOOST_TEST(view->raw().size() == 23u);
}

BOOST_AUTO_TEST_CASE(ipv4_parse_reports_fragments) {
    auto packet = make_packet("frag");
    set_field(packet, 6, 0x2000 | 185);  // MF, offset 185 * 8 = 1480
    const auto view = wire::ipv4_view::parse(packet);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->more_fragments());
    BOOST_TEST(!view->dont_fragment());
    BOOST_TEST(view->fragment_offset() == 1480);
    BOOST_TEST(view->is_fragment());

    set_field(packet, 6, 185);  // last fragment: offset only
    BOOST_TEST(wire::ipv4_view::parse(packet)->is_fragment());
    set_field(packet, 6, 0x2000);  // first fragment: MF only
    BOOST_TEST(wire::ipv4_view::parse(packet)->is_fragment());
}

BOOST_AUTO_TEST_CASE(ipv4_parse_rejects_prefixes_below_header_as_truncated_and_others_as_bad_length) {
    const auto packet = make_packet("some payload");
    for (std::size_t len = 0; len < packet.size(); ++len) {
        const auto expected = len < 20 ? wire::errc::truncated : wire::errc::bad_length;
        BOOST_TEST(parse_prefix(packet, len) == code(expected), "prefix length " << len);
    }
}

BOOST_AUTO_TEST_CASE(ipv4_parse_rejects_prefixes_cutting_options_as_bad_header_length) {
    const auto packet = make_packet("xy", {0x01, 0x01, 0x01, 0x00});
    for (std::size_t len = 0; len < packet.size(); ++len) {
        const auto expected = len < 20   ? wire::errc::truncated
                              : len < 24 ? wire::errc::bad_header_length
                                         : wire::errc::bad_length;
        BOOST_TEST(parse_prefix(packet, len) == code(expected), "prefix length " << len);
    }
}

BOOST_AUTO_TEST_CASE(ipv4_parse_rejects_other_versions) {
    auto packet = make_packet("v6?");
    wire::store_u8(packet, 0, 0x65);
    BOOST_TEST(error_of(wire::ipv4_view::parse(packet)) == code(wire::errc::bad_version));
}

BOOST_AUTO_TEST_CASE(ipv4_parse_rejects_ihl_below_five) {
    for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
        auto packet = make_packet("payload");
        wire::store_u8(packet, 0, static_cast<std::uint8_t>(0x40 | ihl));
        BOOST_TEST(error_of(wire::ipv4_view::parse(packet)) == code(wire::errc::bad_header_length), "ihl " << int{ihl});
    }
}

BOOST_AUTO_TEST_CASE(ipv4_parse_rejects_ihl_past_the_end) {
    auto packet = make_packet("0123456789");  // 30 bytes; IHL 15 wants 60
    wire::store_u8(packet, 0, 0x4f);
    BOOST_TEST(error_of(wire::ipv4_view::parse(packet)) == code(wire::errc::bad_header_length));
}

BOOST_AUTO_TEST_CASE(ipv4_parse_rejects_total_length_shorter_than_header) {
    auto packet = make_packet("payload");
    set_field(packet, 2, 19);
    BOOST_TEST(error_of(wire::ipv4_view::parse(packet)) == code(wire::errc::bad_length));
    set_field(packet, 2, 0);
    BOOST_TEST(error_of(wire::ipv4_view::parse(packet)) == code(wire::errc::bad_length));
}

BOOST_AUTO_TEST_CASE(ipv4_parse_rejects_total_length_past_the_end) {
    auto packet = make_packet("payload");
    set_field(packet, 2, static_cast<std::uint16_t>(packet.size() + 1));
    BOOST_TEST(error_of(wire::ipv4_view::parse(packet)) == code(wire::errc::bad_length));
}

BOOST_AUTO_TEST_CASE(ipv4_parse_rejects_corrupted_header_byte) {
    for (std::size_t offset = 0; offset < 20; ++offset) {
        if (offset == 0 || offset == 2 || offset == 3) {
            continue;  // version/IHL and total length fail earlier checks first
        }
        auto packet = make_packet("payload");
        wire::store_u8(packet, offset, static_cast<std::uint8_t>(wire::load_u8(packet, offset) ^ 0x10));
        BOOST_TEST(error_of(wire::ipv4_view::parse(packet)) == code(wire::errc::bad_checksum), "offset " << offset);
    }
}

BOOST_AUTO_TEST_CASE(ipv4_header_checksum_does_not_cover_payload) {
    auto packet = make_packet("payload");
    wire::store_u8(packet, 22, 'X');
    BOOST_TEST(wire::ipv4_view::parse(packet).has_value());
}

BOOST_AUTO_TEST_CASE(ipv4_emit_throws_on_short_buffer_or_oversized_payload) {
    std::vector<std::byte> small(19);
    BOOST_CHECK_THROW(tcp_to_b(0).emit(small), std::length_error);
    std::vector<std::byte> header(20);
    BOOST_CHECK_THROW(tcp_to_b(65516).emit(header), std::length_error);
    BOOST_CHECK_NO_THROW(tcp_to_b(65515).emit(header));
}

BOOST_AUTO_TEST_SUITE_END()
