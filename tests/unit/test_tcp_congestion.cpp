#include <boost/test/unit_test.hpp>
#include <chrono>
#include <coronet/tcp/congestion.hpp>
#include <string_view>

using coronet::tcp::congestion_control;
using coronet::tcp::make_congestion_control;
using coronet::tcp::new_reno;
using namespace std::chrono_literals;

namespace {

const coronet::runtime::time_point t0{};

// A NewReno sender with SMSS 1000 (IW 10000), in slow start.
new_reno make_reno() {
    new_reno cc;
    cc.init(1000);
    return cc;
}

// Acknowledges n segments of size bytes each, outside recovery.
void ack(congestion_control& cc, int n, std::uint32_t size) {
    for (int i = 0; i < n; ++i) cc.on_ack({.bytes_acked = size, .flight_before = cc.window(), .now = t0});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_congestion)

BOOST_AUTO_TEST_CASE(initial_window_follows_rfc6928) {
    BOOST_TEST(new_reno::initial_window(1460) == 14600u);
    BOOST_TEST(new_reno::initial_window(536) == 5360u);    // 10 segments
    BOOST_TEST(new_reno::initial_window(9000) == 18000u);  // 2 segments
    BOOST_TEST(new_reno::initial_window(4000) == 14600u);  // 14600 bytes
    new_reno cc;
    cc.init(1460);
    BOOST_TEST(cc.window() == 14600u);
    BOOST_TEST(cc.ssthresh() == 0xffffffffu);
}

BOOST_AUTO_TEST_CASE(slow_start_grows_by_every_byte_acked) {
    new_reno cc = make_reno();
    // No RFC 3465 limit L: one ACK for a 64 KiB super-frame opens cwnd by all of it.
    cc.on_ack({.bytes_acked = 3000, .flight_before = 10000, .now = t0});
    BOOST_TEST(cc.window() == 13000u);
    cc.on_ack({.bytes_acked = 500, .flight_before = 10000, .now = t0});
    BOOST_TEST(cc.window() == 13500u);
    cc.on_ack({.bytes_acked = 65000, .flight_before = 13500, .now = t0});
    BOOST_TEST(cc.window() == 78500u);
}

BOOST_AUTO_TEST_CASE(an_unused_window_does_not_grow_rfc_7661) {
    new_reno cc = make_reno();                                           // cwnd 10000
    cc.on_ack({.bytes_acked = 1000, .flight_before = 4000, .now = t0});  // less than half the window was in flight
    BOOST_TEST(cc.window() == 10000u);
    cc.on_ack({.bytes_acked = 1000, .flight_before = 5000, .now = t0});  // half of it
    BOOST_TEST(cc.window() == 11000u);
}

// RFC 5681 3.1 grows cwnd on ACKs of new data; Linux (tcp_may_raise_cwnd)
// grows on data delivered only by SACK once the path has reordered, and
// never on an ACK below SND.UNA.
BOOST_AUTO_TEST_CASE(an_ack_that_only_sacks_grows_the_window_only_where_the_path_reorders) {
    new_reno cc = make_reno();  // cwnd 10000
    cc.on_ack({.bytes_acked = 1000, .flight_before = 10000, .now = t0, .sack_only = true});
    BOOST_TEST(cc.window() == 10000u);
    cc.on_ack({.bytes_acked = 1000, .flight_before = 10000, .now = t0, .sack_only = true, .reordering = true});
    BOOST_TEST(cc.window() == 11000u);
    cc.on_ack({.bytes_acked = 1000, .flight_before = 11000, .now = t0});  // SND.UNA moved
    BOOST_TEST(cc.window() == 12000u);
    // An ACK newer ones overtook grows nothing (Linux takes it only for its SACK blocks).
    cc.on_ack({.bytes_acked = 1000,
               .flight_before = 12000,
               .now = t0,
               .sack_only = true,
               .below_una = true,
               .reordering = true});
    BOOST_TEST(cc.window() == 12000u);
}

BOOST_AUTO_TEST_CASE(slow_start_doubles_cwnd_per_round_trip) {
    new_reno cc = make_reno();
    ack(cc, 10, 1000);  // one window of one-segment ACKs
    BOOST_TEST(cc.window() == 20000u);
    ack(cc, 20, 1000);
    BOOST_TEST(cc.window() == 40000u);
}

BOOST_AUTO_TEST_CASE(congestion_avoidance_adds_one_segment_per_round_trip) {
    new_reno cc = make_reno();
    cc.on_timeout(20000);  // ssthresh 10000, cwnd 1000
    ack(cc, 9, 1000);      // slow start back to ssthresh
    BOOST_TEST(cc.window() == 10000u);
    for (std::uint32_t rtt = 0; rtt < 20; ++rtt) {
        const std::uint32_t before = cc.window();
        ack(cc, static_cast<int>(before / 1000) - 1, 1000);
        BOOST_TEST(cc.window() == before);  // not quite a window yet
        ack(cc, 1, 1000);
        BOOST_TEST(cc.window() == before + 1000);
    }
}

BOOST_AUTO_TEST_CASE(slow_start_stops_at_ssthresh_and_the_rest_counts_in_avoidance) {
    new_reno cc = make_reno();
    cc.on_timeout(20000);  // ssthresh 10000, cwnd 1000
    BOOST_TEST(cc.ssthresh() == 10000u);
    ack(cc, 4, 2000);
    BOOST_TEST(cc.window() == 9000u);
    cc.on_ack({.bytes_acked = 2000, .flight_before = 9000, .now = t0});  // 1000 to reach ssthresh, 1000 counted
    BOOST_TEST(cc.window() == 10000u);
    ack(cc, 4, 2000);  // 9000 counted
    BOOST_TEST(cc.window() == 10000u);
    cc.on_ack({.bytes_acked = 2000, .flight_before = 10000, .now = t0});  // 11000 counted: one cwnd and 1000
    BOOST_TEST(cc.window() == 11000u);
}

BOOST_AUTO_TEST_CASE(recovery_holds_the_window_and_exits_at_ssthresh) {
    new_reno cc = make_reno();
    ack(cc, 5, 2000);
    BOOST_TEST(cc.window() == 20000u);
    cc.on_loss(20000, t0);  // ssthresh = cwnd = 20000 / 2; the sender's PRR paces the flight down
    BOOST_TEST(cc.ssthresh() == 10000u);
    BOOST_TEST(cc.window() == 10000u);
    cc.on_ack({.in_recovery = true});
    cc.on_ack({.bytes_acked = 3000, .flight_before = 20000, .in_recovery = true});  // nothing grows in recovery
    BOOST_TEST(cc.window() == 10000u);
    BOOST_TEST(std::string_view{cc.info().phase} == "recovery");
    cc.on_ack({.flight_after = 8000, .in_recovery = true, .ends_recovery = true});
    BOOST_TEST(cc.window() == 10000u);  // RFC 6937: cwnd = ssthresh
    BOOST_TEST(cc.ssthresh() == 10000u);
    BOOST_TEST(std::string_view{cc.info().phase} == "avoidance");
    // The ACK that ends one recovery may start the next: recovery at once.
    cc.on_loss(10000, t0);
    BOOST_TEST(std::string_view{cc.info().phase} == "recovery");
    cc.on_undo();
    BOOST_TEST(std::string_view{cc.info().phase} == "avoidance");
}

// Linux counts the ACK that ends a recovery in congestion avoidance (its
// state is Open again when tcp_cong_avoid runs): what that ACK delivered
// (the resent hole and what was sent in recovery behind it) starts the
// count from ssthresh, where not counting it left coronet's window a
// segment behind kernel Reno's after most recoveries.
BOOST_AUTO_TEST_CASE(the_ack_that_ends_recovery_counts_in_congestion_avoidance) {
    new_reno cc = make_reno();
    ack(cc, 5, 2000);  // cwnd 20000
    cc.on_loss(20000, t0);
    cc.on_ack({.bytes_acked = 4000, .flight_before = 20000, .in_recovery = true});  // not counted: in recovery
    cc.on_ack({.bytes_acked = 6000, .flight_before = 12000, .in_recovery = true, .ends_recovery = true});
    BOOST_TEST(cc.window() == 10000u);  // cwnd = ssthresh, 6000 of the next 10000 counted
    ack(cc, 3, 1000);
    BOOST_TEST(cc.window() == 10000u);
    ack(cc, 1, 1000);
    BOOST_TEST(cc.window() == 11000u);
    // An ending ACK that delivers a whole window or more adds its segment at once.
    cc.on_loss(22000, t0);  // ssthresh 11000
    cc.on_ack({.bytes_acked = 12000, .flight_before = 22000, .in_recovery = true, .ends_recovery = true});
    BOOST_TEST(cc.window() == 12000u);
}

BOOST_AUTO_TEST_CASE(small_flight_keeps_ssthresh_at_two_segments) {
    new_reno cc = make_reno();
    cc.on_loss(3000, t0);
    BOOST_TEST(cc.ssthresh() == 2000u);
    BOOST_TEST(cc.window() == 2000u);
}

// Half of an odd number of segments: the sender sends no part segment, so
// a window of 7.5 would carry 7, and one segment per cwnd of acknowledged
// bytes would then add a segment every 1.07 round trips, not every one.
BOOST_AUTO_TEST_CASE(the_reduced_window_is_a_whole_number_of_segments) {
    new_reno cc = make_reno();
    ack(cc, 5, 1000);  // cwnd 15000
    cc.on_loss(15000, t0);
    BOOST_TEST(cc.ssthresh() == 7000u);
    BOOST_TEST(cc.window() == 7000u);
    cc.on_ack({.in_recovery = true, .ends_recovery = true});
    ack(cc, 7, 1000);  // one round trip of the 7 segments it can send
    BOOST_TEST(cc.window() == 8000u);
    cc.on_timeout(15500);  // a part segment in flight counts for nothing
    BOOST_TEST(cc.ssthresh() == 7000u);
}

// The segment is the sender's current one: after the path MTU went down,
// the reduction rounds to the smaller segments, and the floor is two of them.
BOOST_AUTO_TEST_CASE(the_reduction_rounds_to_the_segment_the_sender_now_sends) {
    new_reno cc = make_reno();                                             // SMSS 1000
    cc.on_ack({.bytes_acked = 5000, .flight_before = 10000, .mss = 500});  // slow start: cwnd 15000
    cc.on_loss(15000, t0);
    BOOST_TEST(cc.ssthresh() == 7500u);  // 15 segments of 500
    cc.on_loss(1500, t0);
    BOOST_TEST(cc.ssthresh() == 1000u);
}

BOOST_AUTO_TEST_CASE(undo_restores_the_window_before_the_reduction) {
    new_reno cc = make_reno();
    ack(cc, 5, 2000);  // cwnd 20000, ssthresh infinite
    cc.on_loss(20000, t0);
    BOOST_TEST(cc.window() == 10000u);
    cc.on_undo();  // RFC 4015 3.2: the reduction was spurious
    BOOST_TEST(cc.window() == 20000u);
    BOOST_TEST(cc.ssthresh() == 0xffffffffu);
    cc.on_timeout(20000);
    BOOST_TEST(cc.window() == 1000u);
    cc.on_undo();
    BOOST_TEST(cc.window() == 20000u);
}

BOOST_AUTO_TEST_CASE(rto_collapses_cwnd_to_one_segment) {
    new_reno cc;
    cc.init(1460);
    cc.on_timeout(29200);
    BOOST_TEST(cc.ssthresh() == 14600u);
    BOOST_TEST(cc.window() == 1460u);
    cc.on_timeout(1000);
    BOOST_TEST(cc.ssthresh() == 2920u);
    BOOST_TEST(cc.window() == 1460u);
}

BOOST_AUTO_TEST_CASE(idle_longer_than_rto_restarts_from_the_initial_window) {
    new_reno cc = make_reno();
    ack(cc, 10, 2000);
    BOOST_TEST(cc.window() == 30000u);
    cc.on_idle({}, 1s, 1s);  // not longer than the RTO
    BOOST_TEST(cc.window() == 30000u);
    cc.on_idle({}, 2s, 1s);
    BOOST_TEST(cc.window() == 10000u);
    cc.on_timeout(10000);
    cc.on_idle({}, 2s, 1s);  // RW = min(IW, cwnd)
    BOOST_TEST(cc.window() == 1000u);
}

BOOST_AUTO_TEST_CASE(cwnd_saturates_instead_of_overflowing) {
    new_reno cc;
    cc.init(65535);
    ack(cc, 20000, 131070);
    BOOST_TEST(cc.window() == new_reno::max_cwnd);
}

BOOST_AUTO_TEST_CASE(factory_knows_newreno_by_both_names_and_refuses_others) {
    auto cc = make_congestion_control("newreno");
    BOOST_REQUIRE(cc);
    BOOST_TEST(std::string_view{cc->name()} == "newreno");
    auto linux_name = make_congestion_control("reno");  // Linux's name for it
    BOOST_REQUIRE(linux_name);
    BOOST_TEST(std::string_view{linux_name->name()} == "newreno");
    cc->init(1460);
    BOOST_TEST(cc->window() == 14600u);
    BOOST_TEST(!make_congestion_control("no-such-algorithm"));
    BOOST_TEST(!make_congestion_control(""));
}

BOOST_AUTO_TEST_SUITE_END()
