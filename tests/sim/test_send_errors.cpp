// A connect the host has no route for fails at once: off the subnet with no
// gateway, nothing could answer (it used to send nothing, count each SYN as
// a send error, and time out after 127 s). And a SYN that waited for ARP:
// the handshake's RTT sample counts from when it left.
#include <boost/test/unit_test.hpp>

#include "sim_pair.hpp"
#include "support/boost_print.hpp"

namespace coronet::test {

BOOST_AUTO_TEST_SUITE(send_errors)

BOOST_AUTO_TEST_CASE(a_connect_off_the_subnet_without_a_gateway_is_network_unreachable_at_once) {
    sim_pair p;
    // 192.0.2.1 is off the 10.0.0.0/24 link and the host has no gateway.
    auto opened = p.a.tcp.connect(make_address_v4("192.0.2.1"), 80);
    BOOST_REQUIRE(!opened);
    BOOST_TEST(opened.error() == std::make_error_code(std::errc::network_unreachable));
    BOOST_TEST(p.a.tcp.connection_count() == 0u);
    p.sim.run_for(10s);
    BOOST_TEST(p.a.host.counters().tx_no_route == 0u);  // not even tried
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(handshake_rtt)

// 10 ms each way: the client's first SYN waits 20 ms for ARP's answer, then
// the handshake takes 20 ms. Both ends' first SRTT is the path's 20 ms (the
// client's was 40, the wait included).
BOOST_AUTO_TEST_CASE(a_syn_that_waited_for_arp_is_timed_from_when_it_left) {
    sim_pair p{1, {.delay = 10ms}};
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    listener l{*lr};
    connection ca, cb;
    auto open = [&]() -> task<void> {
        if (auto c = co_await connect(p.a.tcp, p.b_at(80))) ca = std::move(*c);
    };
    auto take = [&]() -> task<void> {
        if (auto c = co_await l.accept()) cb = std::move(*c);
    };
    p.sim.spawn(open());
    p.sim.spawn(take());
    p.sim.run_for(1s);
    BOOST_REQUIRE(ca.valid());
    BOOST_REQUIRE(cb.valid());
    BOOST_TEST(p.a.host.counters().arp_requests_sent > 0u);
    for (const connection* c : {&ca, &cb}) {
        const double srtt_ms = std::chrono::duration<double, std::milli>(c->tcb().rtt().srtt()).count();
        BOOST_TEST(srtt_ms == 20.0, boost::test_tools::tolerance(0.05));
    }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace coronet::test
