// A connect the host has no route for fails at once: off the subnet with no
// gateway, nothing could answer (it used to send nothing, count each SYN as
// a send error, and time out after 127 s).
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

}  // namespace coronet::test
