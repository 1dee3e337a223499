// Errors from the host reach TCP: a segment the host cannot send (no route)
// is counted, stays unsent, and is tried again by the connection's timers.
#include <boost/test/unit_test.hpp>

#include "sim_pair.hpp"
#include "support/boost_print.hpp"

namespace coronet::test {

BOOST_AUTO_TEST_SUITE(send_errors)

BOOST_AUTO_TEST_CASE(a_syn_with_no_route_is_counted_and_retried_until_the_connect_times_out) {
    sim_pair p;
    // 192.0.2.1 is off the 10.0.0.0/24 link and the host has no gateway.
    auto opened = p.a.tcp.connect(make_address_v4("192.0.2.1"), 80);
    BOOST_REQUIRE(opened);
    auto t = *opened;
    p.sim.run_for(10s);
    BOOST_TEST(t->current() == state::syn_sent);
    BOOST_TEST(t->stats().segments_sent == 0u);  // nothing counted as sent
    BOOST_TEST(t->stats().send_errors >= 3u);    // the SYN and its retransmissions (1 s, 2 s, 4 s)
    BOOST_TEST(p.a.host.counters().tx_no_route >= 3u);
    p.sim.run_for(200s);
    BOOST_TEST(t->current() == state::closed);
    BOOST_TEST((t->error() == std::errc::timed_out));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace coronet::test
