// Sequence numbers across 2^32, on the wire: both ISNs placed just below the
// wrap, then data each way whose numbers wrap inside one segment.
#include <array>
#include <boost/test/unit_test.hpp>

#include "support/stack_under_test.hpp"

using namespace coronet;
using namespace coronet::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(tcp_wrap)

BOOST_AUTO_TEST_CASE(data_whose_sequence_numbers_wrap_is_sent_acknowledged_and_received_in_order) {
    stack_under_test s;
    introduce_peer(s);
    const seq32 iss = before_wrap(4), irs = before_wrap(3);
    place_next_iss(s, 50000, 40000, iss);
    const auto open = connect_to_peer(s, 50000, {.iss = irs, .port = 40000});
    BOOST_REQUIRE(open);
    BOOST_TEST(open->iss.value == iss.value);
    tcp::tcb& c = *open->conn;
    const segment from_us{50000, 40000}, from_peer{40000, 50000};

    // Our 10 bytes start at 2^32 - 3 and end past the wrap.
    const std::string_view digits = "0123456789";
    BOOST_TEST(c.app_write(std::as_bytes(std::span{digits.data(), digits.size()})) == 10u);
    s.sim.run_for(1ms);
    s.expect_sent(segment{from_us}.seq(iss + 1).ack(irs + 1).data(digits));
    s.inject(segment{from_peer}.seq(irs + 1).ack(iss + 11));
    s.sim.run_for(1ms);
    s.expect_nothing();
    BOOST_TEST(c.snd_una().value == 7u);  // 2^32 - 4 + 11
    BOOST_TEST(c.send_queue() == 0u);

    // The peer's 10 bytes start at 2^32 - 2: received whole, acknowledged past the wrap.
    s.inject(segment{from_peer}.seq(irs + 1).ack(iss + 11).data("abcdefghij"));
    s.sim.run_for(200ms);  // a delayed ACK comes within 500 ms (RFC 9293 3.8.6.3)
    s.expect_sent(segment{from_us}.seq(iss + 11).ack(irs + 11));
    BOOST_TEST(c.rcv_nxt().value == 8u);  // 2^32 - 3 + 11
    std::array<std::byte, 16> buf{};
    BOOST_REQUIRE(c.app_read(buf) == 10u);
    BOOST_TEST(std::string(reinterpret_cast<const char*>(buf.data()), 10) == "abcdefghij");
}

BOOST_AUTO_TEST_SUITE_END()
