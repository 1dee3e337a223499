// Big-endian field access and the "coronet.wire" error category.
#include <array>
#include <boost/test/unit_test.hpp>
#include <coronet/wire/bytes.hpp>
#include <coronet/wire/error.hpp>
#include <string>

namespace wire = coronet::wire;

BOOST_AUTO_TEST_SUITE(wire_bytes)

BOOST_AUTO_TEST_CASE(stores_are_big_endian_at_any_offset) {
    std::array<std::byte, 8> buf{};
    wire::store_u32(buf, 1, 0x01020304);
    wire::store_u16(buf, 5, 0xa0b0);
    wire::store_u8(buf, 7, 0xff);
    const std::array<std::byte, 8> expected{std::byte{0}, std::byte{1},    std::byte{2},    std::byte{3},
                                            std::byte{4}, std::byte{0xa0}, std::byte{0xb0}, std::byte{0xff}};
    BOOST_TEST((buf == expected));
    BOOST_TEST(wire::load_u32(buf, 1) == 0x01020304u);
    BOOST_TEST(wire::load_u16(buf, 5) == 0xa0b0);
    BOOST_TEST(wire::load_u8(buf, 7) == 0xff);
    BOOST_TEST(wire::load_u32(buf, 3) == 0x0304a0b0u);
}

BOOST_AUTO_TEST_CASE(addresses_are_stored_in_network_order) {
    std::array<std::byte, 4> buf{};
    wire::store_address_v4(buf, 0, boost::asio::ip::make_address_v4("192.0.2.7"));
    BOOST_TEST(wire::load_u8(buf, 0) == 192);
    BOOST_TEST(wire::load_u8(buf, 3) == 7);
    BOOST_TEST(wire::load_address_v4(buf, 0).to_string() == "192.0.2.7");
}

BOOST_AUTO_TEST_CASE(to_bytes_views_a_string_without_copying) {
    const std::string_view text = "hi!";
    const wire::bytes b = wire::to_bytes(text);
    BOOST_TEST(b.size() == 3u);
    BOOST_TEST(static_cast<const void*>(b.data()) == static_cast<const void*>(text.data()));
    BOOST_TEST(wire::load_u8(b, 2) == '!');
}

BOOST_AUTO_TEST_CASE(as_bytes_of_views_a_container) {
    std::array<std::uint16_t, 2> words{};
    BOOST_TEST(wire::as_bytes_of(words).size() == 4u);
    BOOST_TEST(wire::as_writable_bytes_of(words).size() == 4u);
}

BOOST_AUTO_TEST_CASE(expect_room_throws_when_too_short) {
    std::array<std::byte, 3> buf{};
    BOOST_CHECK_THROW(wire::expect_room(buf, 4, "short"), std::length_error);
    BOOST_CHECK_NO_THROW(wire::expect_room(buf, 3, "fits"));
}

BOOST_AUTO_TEST_CASE(errors_live_in_the_coronet_wire_category_with_messages) {
    const std::error_code ec = wire::errc::bad_checksum;
    BOOST_TEST(std::string(ec.category().name()) == "coronet.wire");
    BOOST_TEST(ec.message() == "bad checksum");
    BOOST_TEST(ec == wire::make_error_code(wire::errc::bad_checksum));
    BOOST_TEST(ec != wire::make_error_code(wire::errc::truncated));
    for (int e = 1; e <= static_cast<int>(wire::errc::unsupported); ++e) {
        const std::error_code each = wire::make_error_code(static_cast<wire::errc>(e));
        BOOST_TEST(each.message().find("unknown") == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(result_holds_a_value_or_a_wire_error) {
    const wire::result<int> good = 7;
    const wire::result<int> bad = wire::errc::truncated;
    BOOST_TEST(good.has_value());
    BOOST_TEST(*good == 7);
    BOOST_TEST(!bad.has_value());
    BOOST_TEST(bad.error() == wire::make_error_code(wire::errc::truncated));
}

BOOST_AUTO_TEST_SUITE_END()
