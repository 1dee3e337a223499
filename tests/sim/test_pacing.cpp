// Pacing (tcp_config::pacing) and the choice of congestion control per
// layer, listener and connection.
#include "sim_pair.hpp"

namespace coronet::test {

namespace {

// NewReno, paced as `mode` says (BBR, the default, always paces itself).
tcp::tcp_config paced(tcp::tcp_config::pacing_mode mode) {
    tcp::tcp_config cfg;
    cfg.congestion = "newreno";
    cfg.pacing = mode;
    return cfg;
}

// A 20 ms path through a 100 Mbit/s bottleneck whose queue holds 20
// frames, a tenth of the path's BDP: a window sent in bursts overflows it
// early in slow start, and the flow then creeps up in congestion
// avoidance; spread over the round trip the same window passes.
const link::impairment shallow_bottleneck{.delay = 10ms, .rate_mbit = 100, .queue_packets = 20};

}  // namespace

BOOST_AUTO_TEST_SUITE(pacing)

BOOST_AUTO_TEST_CASE(paced_frames_pass_a_shallow_queue_that_bursts_overflow) {
    using pacing_mode = tcp::tcp_config::pacing_mode;
    runtime::duration took[2]{};
    std::uint64_t rate[2] = {};
    for (const pacing_mode mode : {pacing_mode::off, pacing_mode::all}) {
        sim_pair p{1, shallow_bottleneck, paced(mode)};
        const auto r = transfer(p, 8 << 20);
        BOOST_TEST(r.ok(8 << 20));
        const auto i = mode == pacing_mode::off ? 0 : 1;
        took[i] = r.took;
        rate[i] = r.a_stats.pacing_rate;
        BOOST_TEST_MESSAGE((i ? "paced" : "unpaced")
                           << ": " << p.wire.a_to_b().counters().queue_drops << " queue drops, " << r.a_stats.recoveries
                           << " recoveries, took " << std::chrono::duration<double>(r.took).count() << " s");
    }
    BOOST_TEST(rate[0] == 0u);  // off: no rate at all
    BOOST_TEST(rate[1] > 0u);
    // Virtual time: the same seed, the same path, only the pacing differs.
    // Paced, slow start runs on to about the path's BDP before the queue
    // overflows; in bursts it overflows at less than half of it. (Paced
    // 1.34 s, two recoveries: data the first one sent was lost too, and
    // the second halved the window again, as Linux does; 0.91 s
    // before that. Unpaced 1.66 s.)
    BOOST_TEST(took[1] * 6 < took[0] * 5);
}

BOOST_AUTO_TEST_CASE(the_rate_is_the_window_over_srtt_with_linuxs_gains) {
    sim_pair p{1, {.delay = 10ms}, paced(tcp::tcp_config::pacing_mode::all)};
    // Slow start (cwnd far below ssthresh, "infinite"): twice the window per
    // SRTT. Checked once, 200 kB into the transfer.
    bool checked = false;
    const auto check = [&](const tcp::tcb& t, const tcp::tcb&) {
        if (checked || t.stats().bytes_sent <= 200'000) return;
        checked = true;
        const double srtt = std::chrono::duration<double>(t.rtt().srtt()).count();
        BOOST_REQUIRE(srtt > 0.0);
        const double window = std::max<double>(t.cwnd(), t.sequence().flight_size());
        BOOST_TEST(static_cast<double>(t.pacing_rate()) == 2.0 * window / srtt, boost::test_tools::tolerance(0.01));
    };
    const auto r = transfer(p, 2 << 20, {.watch = check});
    BOOST_TEST(r.ok(2 << 20));
    BOOST_TEST(checked);
}

BOOST_AUTO_TEST_CASE(every_connection_is_paced_by_default_and_newreno_only_with_all) {
    {
        sim_pair p{1, {.delay = 10ms}};  // the default: every connection past a LAN's RTT
        const auto r = transfer(p, 1 << 20);
        BOOST_TEST(r.ok(1 << 20));
        BOOST_TEST(r.a_stats.pacing_rate > 0u);
    }
    {
        sim_pair p{1, {.delay = 10ms}, paced(tcp::tcp_config::pacing_mode::controller)};  // NewReno asks for none
        const auto r = transfer(p, 1 << 20);
        BOOST_TEST(r.ok(1 << 20));
        BOOST_TEST(r.a_stats.pacing_rate == 0u);
        BOOST_TEST(r.a_stats.cwnd == r.cwnd);
    }
    {
        sim_pair p{1, {.delay = 500us}};  // a LAN at a LAN's rate: unpaced whatever the mode
        const auto r = transfer(p, 1 << 20);
        BOOST_TEST(r.ok(1 << 20));
        BOOST_TEST(r.a_stats.pacing_rate == 0u);
    }
}

// The default for NewReno and CUBIC: paced while cwnd is below ssthresh,
// by the ACK clock in congestion avoidance (as Linux's without fq). On the
// shallow bottleneck the first slow start ends in losses, and congestion
// avoidance follows.
BOOST_AUTO_TEST_CASE(slow_start_pacing_ends_with_slow_start) {
    using pacing_mode = tcp::tcp_config::pacing_mode;
    BOOST_TEST((tcp::tcp_config{}.pacing == pacing_mode::slow_start));
    sim_pair p{1, shallow_bottleneck, paced(pacing_mode::slow_start)};
    std::uint64_t in_slow_start = 0, paced_in_slow_start = 0, in_avoidance = 0, paced_in_avoidance = 0;
    const auto check = [&](const tcp::tcb& t, const tcp::tcb&) {
        if (!t.transfer_state_made() || !t.rtt().has_sample()) return;  // no SRTT: no rate yet
        const auto f = t.congestion_now();
        if (f.cwnd < f.ssthresh) {
            ++in_slow_start;
            paced_in_slow_start += t.pacing_rate() > 0;
        } else {
            ++in_avoidance;
            paced_in_avoidance += t.pacing_rate() > 0;
        }
    };
    const auto r = transfer(p, 8 << 20, {.watch = check});
    BOOST_TEST(r.ok(8 << 20));
    BOOST_TEST_MESSAGE(in_slow_start << " checks in slow start, " << in_avoidance << " in congestion avoidance, "
                                     << r.a_stats.recoveries << " recoveries");
    BOOST_TEST(in_slow_start > 0u);
    BOOST_TEST(in_avoidance > 0u);
    BOOST_TEST(paced_in_slow_start == in_slow_start);
    BOOST_TEST(paced_in_avoidance == 0u);
}

// A LAN is a path whose round trip is short, not one whose SRTT is: the
// queue a sender builds itself lifts SRTT past any LAN's (on wan.sh's clean
// cell, BBR's flight made 2-14 ms of 0.14), and pacing there cost a loop
// turn per frame for nothing. Here a 0.5 ms path with a deep queue at
// 1 Gbit/s: BBR's STARTUP fills it, and stays unpaced throughout (the sim
// has no segmentation offload: a frame of one segment lasts 12 us at that
// rate; 64 KiB ones would be paced, tcp_offload_frames shows).
BOOST_AUTO_TEST_CASE(a_lan_whose_queue_lifts_srtt_stays_unpaced) {
    sim_pair p{1, {.delay = 250us, .rate_mbit = 1000, .queue_bytes = 4'000'000}};
    runtime::duration highest{};
    std::uint64_t paced_while_queued = 0;
    const auto check = [&](const tcp::tcb& t, const tcp::tcb&) {
        highest = std::max(highest, t.rtt().srtt());
        if (t.rtt().srtt() > 2ms && t.pacing_rate() > 0) ++paced_while_queued;
    };
    const auto r = transfer(p, 16 << 20, {.watch = check});
    BOOST_TEST(r.ok(16 << 20));
    const double highest_ms = std::chrono::duration<double, std::milli>(highest).count();
    BOOST_TEST_MESSAGE("highest SRTT " << highest_ms << " ms");
    BOOST_TEST(highest > 2ms);  // the queue did lift it
    BOOST_TEST(paced_while_queued == 0u);
}

BOOST_AUTO_TEST_CASE(unknown_congestion_controls_are_refused) {
    sim_pair p;
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    listener l{*lr};
    BOOST_TEST(l.set_congestion_control("vegas") == std::make_error_code(std::errc::invalid_argument));
    BOOST_TEST(!l.set_congestion_control("reno"));  // Linux's name for the same algorithm
    connection none;
    BOOST_TEST(none.set_congestion_control("newreno") == std::make_error_code(std::errc::not_connected));
    l.close();
    BOOST_TEST(l.set_congestion_control("newreno") == std::make_error_code(std::errc::not_connected));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace coronet::test
