// What a blind attacker's segments meet besides RFC 5961: TCP in a
// link-layer broadcast frame is dropped whatever its IP destination, and
// once both ends chose timestamps a segment without them is dropped
// silently (RFC 7323 3.2); a RST still counts without them.
#include <boost/test/unit_test.hpp>

#include "support/boost_print.hpp"
#include "support/stack_under_test.hpp"

using namespace coronet;
using namespace coronet::test;
using namespace std::chrono_literals;

namespace {

// An established connection whose handshake carried timestamps both ways.
struct timestamped : connected_stack {
    timestamped() : connected_stack(peer_syn_options(1460, false, 1000)) {}
    segment from_peer(std::uint32_t tsval) const {
        wire::tcp_options o;
        if (tsval != 0) o.timestamp = {{tsval, 0}};
        return segment{connected_stack::peer_port, connected_stack::our_port}.seq(irs + 1).ack(iss + 1).options(o);
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(off_path)

BOOST_AUTO_TEST_CASE(a_syn_in_a_broadcast_frame_draws_nothing) {
    stack_under_test s;
    auto l = s.tcp.listen(80, 8);
    BOOST_REQUIRE(l);
    introduce_peer(s);
    auto frame = peer_tcp_frame(segment{connected_stack::peer_port, 80}.syn().seq(1000).mss(1460));
    std::fill_n(frame.begin(), 6, std::byte{0xff});  // to every host on the link
    s.dev.inject(frame);
    s.sim.run_for(1ms);
    s.expect_nothing();
    BOOST_TEST(s.host.counters().rx_broadcast_tcp == 1u);
    s.inject(segment{connected_stack::peer_port, 80}.syn().seq(1000).mss(1460));  // the same SYN to our MAC is answered
    s.sim.run_for(1ms);
    const auto got = s.take_segments();
    BOOST_REQUIRE_EQUAL(got.size(), 1u);
    BOOST_TEST(got[0].has(wire::tcp_flag::syn | wire::tcp_flag::ack));
}

BOOST_AUTO_TEST_CASE(segments_without_timestamps_are_dropped_once_both_ends_chose_them) {
    timestamped t;
    t.s.inject(t.from_peer(0).data("forged"));
    t.s.sim.run_for(1s);
    t.s.expect_nothing();  // not even an ACK
    BOOST_TEST(t.conn->stats().missing_timestamps == 1u);
    BOOST_TEST(t.conn->rcv_nxt().value == (t.irs + 1).value);
    BOOST_TEST(t.conn->receive_queue() == 0u);
    // With timestamps the same data is taken.
    t.s.inject(t.from_peer(1001).data("real"));
    t.s.sim.run_for(1s);
    BOOST_TEST(t.conn->receive_queue() == 4u);
    // A RST needs none (RFC 7323 3.2): at RCV.NXT it resets.
    t.s.inject(segment{connected_stack::peer_port, connected_stack::our_port}.seq(t.irs + 5).rst());
    t.s.sim.run_for(1ms);
    BOOST_TEST(t.conn->current() == tcp::state::closed);
    BOOST_TEST(t.conn->error() == std::make_error_code(std::errc::connection_reset));
}

BOOST_AUTO_TEST_SUITE_END()
