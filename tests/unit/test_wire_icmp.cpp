// ICMPv4: echo and destination-unreachable messages, view and builder.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/icmp.hpp>
#include <vector>

#include "support/wire_errors.hpp"

namespace wire = coronet::wire;
using coronet::test::code;
using coronet::test::error_of;

namespace {

// Header from repr, payload placed first as emit() expects.
std::vector<std::byte> make_message(const wire::icmp_repr& repr, std::string_view payload) {
    const wire::bytes p = wire::to_bytes(payload);
    std::vector<std::byte> msg(wire::icmp_repr::header_len + p.size());
    std::copy(p.begin(), p.end(), msg.begin() + wire::icmp_repr::header_len);
    repr.emit(msg);
    return msg;
}

wire::icmp_repr ping(std::uint16_t seq_no) { return {wire::icmp_type::echo_request, 0, 0x1234, seq_no}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_icmp)

BOOST_AUTO_TEST_CASE(echo_request_round_trips_every_field) {
    const auto msg = make_message(ping(7), "abcdefghijklmnopqrstuvwabcdefghi");
    const auto view = wire::icmp_view::parse(msg);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->type() == wire::icmp_type::echo_request);
    BOOST_TEST(view->code() == 0);
    BOOST_TEST(view->checksum() == wire::load_u16(msg, 2));
    BOOST_TEST(view->ident() == 0x1234);
    BOOST_TEST(view->seq_no() == 7);
    BOOST_TEST(view->payload().size() == 32u);
    BOOST_TEST(wire::load_u8(view->payload(), 31) == 'i');
    BOOST_TEST(view->raw().size() == msg.size());

    const auto back = wire::icmp_repr::from(*view);
    BOOST_TEST(back.type == wire::icmp_type::echo_request);
    BOOST_TEST(back.ident == 0x1234);
    BOOST_TEST(back.seq_no == 7);
}

BOOST_AUTO_TEST_CASE(echo_reply_built_from_request_verifies) {
    const auto request = make_message(ping(9), "odd-length");
    auto reply = request;
    auto repr = wire::icmp_repr::from(*wire::icmp_view::parse(request));
    repr.type = wire::icmp_type::echo_reply;
    repr.emit(reply);
    const auto view = wire::icmp_view::parse(reply);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->type() == wire::icmp_type::echo_reply);
    BOOST_TEST(wire::internet_checksum(reply) == 0);
}

BOOST_AUTO_TEST_CASE(dest_unreachable_carries_the_offending_header) {
    const std::string_view offending = "IPHEADER-twenty-byte+8 bytes";  // stands in for 28 bytes
    const auto msg = make_message({wire::icmp_type::dest_unreachable, 3, 0, 0}, offending);
    const auto view = wire::icmp_view::parse(msg);
    BOOST_TEST_REQUIRE(view.has_value());
    BOOST_TEST(view->type() == wire::icmp_type::dest_unreachable);
    BOOST_TEST(view->code() == 3);
    BOOST_TEST(view->payload().size() == offending.size());
    BOOST_TEST(wire::load_u8(view->payload(), 0) == 'I');
}

BOOST_AUTO_TEST_CASE(icmp_parse_rejects_every_truncated_prefix) {
    const auto msg = make_message(ping(1), "ping payload!");
    for (std::size_t len = 0; len < msg.size(); ++len) {
        const std::vector<std::byte> prefix(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(len));
        const auto expected = len < 8 ? wire::errc::truncated : wire::errc::bad_checksum;
        BOOST_TEST(error_of(wire::icmp_view::parse(prefix)) == code(expected), "prefix length " << len);
    }
}

BOOST_AUTO_TEST_CASE(icmp_parse_rejects_corrupted_byte_anywhere) {
    const auto good = make_message(ping(2), "payload");
    for (std::size_t offset = 0; offset < good.size(); ++offset) {
        auto msg = good;
        wire::store_u8(msg, offset, static_cast<std::uint8_t>(wire::load_u8(msg, offset) ^ 0x01));
        BOOST_TEST(error_of(wire::icmp_view::parse(msg)) == code(wire::errc::bad_checksum), "offset " << offset);
    }
}

BOOST_AUTO_TEST_CASE(icmp_emit_throws_on_short_buffer) {
    std::vector<std::byte> small(7);
    BOOST_CHECK_THROW(ping(0).emit(small), std::length_error);
}

BOOST_AUTO_TEST_SUITE_END()
