// BBR v1 driven by scripted ACK samples: the bandwidth and RTT filters, the
// state machine's arrows, the pacing rate, and the window in recovery and
// after a timeout.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <coronet/tcp/bbr.hpp>
#include <string_view>

using coronet::tcp::ack_sample;
using coronet::tcp::bbr;
using namespace std::chrono_literals;
using duration = coronet::runtime::duration;

namespace {

constexpr std::uint32_t mss = 1000;
constexpr std::uint64_t mb = 1'000'000;  // bytes per second

// A sender on a path of 40 ms RTT feeding BBR one ACK at a time. Each ACK
// carries a delivery-rate sample of the rate the test names (so many bytes
// over 10 ms) and says how much is in the network.
struct path {
    bbr cc;
    coronet::runtime::time_point now{};
    std::uint64_t delivered = 0;    // C.delivered
    std::uint64_t round_prior = 0;  // what had been delivered when the current round's data was sent
    std::uint32_t pipe = 50 * mss;
    duration rtt = 40ms;

    path() { cc.init(mss); }

    // An ACK `dt` from the last one, delivering `bytes` at `bw`, of data
    // sent when `prior` bytes had been delivered.
    ack_sample sample(duration dt, std::uint64_t bw, std::uint64_t prior, std::uint32_t bytes = 2 * mss) {
        now += dt;
        delivered += bytes;
        return {.bytes_acked = bytes,
                .flight_before = pipe + bytes,
                .flight_after = pipe,
                .pipe = pipe,
                .now = now,
                .delivered = delivered,
                .rtt = rtt,
                .min_rtt = rtt,
                .srtt = rtt,
                .mss = mss,
                .rate = {.delivered = bw / 100, .interval = 10ms, .prior_delivered = prior}};
    }
    // The first ACK of a round trip: it delivers data sent as the last round began.
    ack_sample round_sample(std::uint64_t bw) {
        round_prior = delivered;
        return sample(rtt, bw, round_prior);
    }
    // An ACK later in the same round trip.
    ack_sample within_round(duration dt, std::uint64_t bw, std::uint32_t bytes = 2 * mss) {
        return sample(dt, bw, round_prior, bytes);
    }

    void round(std::uint64_t bw) { cc.on_ack(round_sample(bw)); }
    void app_limited_round(std::uint64_t bw) {
        auto s = round_sample(bw);
        s.rate.app_limited = true;
        cc.on_ack(s);
    }

    // STARTUP doubling to bw, three rounds without growth, then the queue drained.
    void to_probe_bw(std::uint64_t bw) {
        pipe = 2000 * mss;
        for (std::uint64_t b : {bw / 8, bw / 4, bw / 2, bw, bw, bw, bw}) round(b);
        BOOST_REQUIRE(cc.state() == bbr::mode::drain);
        pipe = 10 * mss;
        cc.on_ack(within_round(1ms, bw));
        BOOST_REQUIRE(cc.state() == bbr::mode::probe_bw);
    }
    // PROBE_BW at the start of the phase `index` of its cycle, an ACK each
    // 5 ms until then with a flight so large that no phase ends early.
    void to_phase(std::uint64_t bw, std::size_t index) {
        to_probe_bw(bw);
        pipe = 1000 * mss;
        while (cc.cycle_index() != index) cc.on_ack(within_round(5ms, bw));
    }
    // PROBE_BW from the start of its third phase for 200 ms, an ACK of 20
    // segments each 5 ms, so that cwnd reaches its target, and ends in the
    // sixth: phases of gain 1 only, whose targets are the same.
    void cruise(std::uint64_t bw) {
        to_phase(bw, 2);
        for (int i = 0; i < 40; ++i) cc.on_ack(within_round(5ms, bw, 20 * mss));
        BOOST_REQUIRE(cc.cycle_index() == 6u);
    }
};

// A 10 MB/s path after cruise(): cwnd `before` at its target.
struct cruising : path {
    std::uint32_t before = 0;
    cruising() {
        cruise(10 * mb);
        before = cc.window();
    }
    // An ACK in recovery: `left` bytes in the network after it, `lost` newly marked lost.
    ack_sample in_recovery(std::uint32_t left, std::uint32_t lost = 0) {
        auto s = within_round(1ms, 10 * mb);
        s.in_recovery = true;
        s.pipe = left;
        s.lost = lost;
        return s;
    }
};

std::string_view phase(const bbr& cc) { return cc.info().phase; }

// p in PROBE_RTT with its flight drained to four segments: the 200 ms
// have just started.
void drain_into_probe_rtt(path& p) {
    p.to_probe_bw(10 * mb);
    p.rtt = 45ms;
    while (phase(p.cc) != "probe_rtt") p.cc.on_ack(p.within_round(50ms, 10 * mb));
    p.pipe = 4 * mss;
    p.cc.on_ack(p.within_round(5ms, 1 * mb));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_bbr)

BOOST_AUTO_TEST_CASE(factory_makes_bbr_which_sets_its_own_recovery_window) {
    auto cc = coronet::tcp::make_congestion_control("bbr");
    BOOST_REQUIRE(cc);
    BOOST_TEST(std::string_view{cc->name()} == "bbr");
    BOOST_TEST(cc->sets_recovery_window());
    cc->init(1460);
    BOOST_TEST(cc->window() == 14600u);  // RFC 6928
    BOOST_TEST(cc->ssthresh() == 0xffffffffu);
    BOOST_TEST(std::string_view{cc->info().phase} == "startup");
    BOOST_TEST(coronet::tcp::congestion_control_names().find("bbr") != std::string_view::npos);
}

BOOST_AUTO_TEST_CASE(a_round_ends_when_data_sent_after_its_start_is_delivered) {
    path p;
    p.round(1 * mb);
    BOOST_TEST(p.cc.rounds() == 1u);
    for (int i = 0; i < 5; ++i) p.cc.on_ack(p.within_round(1ms, 1 * mb));  // data sent before the round began
    BOOST_TEST(p.cc.rounds() == 1u);
    p.round(1 * mb);
    BOOST_TEST(p.cc.rounds() == 2u);
    auto none = p.round_sample(1 * mb);
    none.rate.interval = {};  // no rate sample: no round counted either (Linux)
    p.cc.on_ack(none);
    BOOST_TEST(p.cc.rounds() == 2u);
}

BOOST_AUTO_TEST_CASE(bandwidth_is_the_max_of_the_last_ten_rounds) {
    path p;
    p.round(4 * mb);
    BOOST_TEST(p.cc.bandwidth() == 4 * mb);
    p.round(1 * mb);
    p.round(1 * mb);
    p.round(3 * mb);                              // kept in reserve: a quarter of the window later
    for (int r = 0; r < 7; ++r) p.round(2 * mb);  // rounds 5 to 11
    BOOST_TEST(p.cc.rounds() == 11u);
    BOOST_TEST(p.cc.bandwidth() == 4 * mb);  // ten rounds after it, the max of round 1 holds
    p.round(2 * mb);
    BOOST_TEST(p.cc.bandwidth() == 3 * mb);  // round 12 forgets it; the next best in the window remains
    p.round(5 * mb);
    BOOST_TEST(p.cc.bandwidth() == 5 * mb);  // a new max at once
}

BOOST_AUTO_TEST_CASE(application_limited_samples_count_only_when_they_raise_the_max) {
    path p;
    p.round(4 * mb);
    for (int r = 0; r < 10; ++r) p.app_limited_round(3 * mb);
    p.round(1 * mb);  // round 12: the max of round 1 is gone, and no app-limited sample was kept
    BOOST_TEST(p.cc.bandwidth() == 1 * mb);
    p.app_limited_round(6 * mb);  // the application sent little, and still faster: the path can do at least this
    BOOST_TEST(p.cc.bandwidth() == 6 * mb);
}

BOOST_AUTO_TEST_CASE(startup_ends_after_three_rounds_without_25_percent_growth) {
    path p;
    p.pipe = 1000 * mss;  // far above the BDP: DRAIN has work to do
    BOOST_TEST(p.cc.pacing_gain() == bbr::high_gain);
    BOOST_TEST(p.cc.cwnd_gain() == bbr::high_gain);
    for (std::uint64_t b : {1 * mb, 2 * mb, 4 * mb, 8 * mb}) p.round(b);
    p.round(9 * mb);   // +12 %: not growth
    p.round(10 * mb);  // +25 % over 8: growth, the count starts over
    p.round(11 * mb);
    p.round(12 * mb);
    BOOST_TEST(phase(p.cc) == "startup");
    BOOST_TEST(!p.cc.filled_pipe());
    auto limited = p.round_sample(12 * mb);
    limited.rate.app_limited = true;  // an application-limited round says nothing
    p.cc.on_ack(limited);
    BOOST_TEST(phase(p.cc) == "startup");
    p.round(12 * mb);  // third round without growth
    BOOST_TEST(p.cc.filled_pipe());
    BOOST_TEST(phase(p.cc) == "drain");
    BOOST_TEST(p.cc.pacing_gain() == bbr::drain_gain);
    BOOST_TEST(p.cc.cwnd_gain() == bbr::high_gain);
    BOOST_TEST(p.cc.ssthresh() < 0xffffffffu);  // Linux reports the BDP-based window as ssthresh
}

BOOST_AUTO_TEST_CASE(drain_lasts_until_the_flight_is_down_to_one_bdp) {
    path p;
    for (std::uint64_t b : {1 * mb, 2 * mb, 4 * mb, 10 * mb, 10 * mb, 10 * mb}) p.round(b);
    p.pipe = 800 * mss;  // the BDP is 10 MB/s * 40 ms = 400 segments
    p.round(10 * mb);
    BOOST_REQUIRE(phase(p.cc) == "drain");
    p.pipe = 420 * mss;
    p.cc.on_ack(p.within_round(5ms, 10 * mb));
    BOOST_TEST(phase(p.cc) == "drain");
    p.pipe = 400 * mss;
    p.cc.on_ack(p.within_round(5ms, 10 * mb));
    BOOST_TEST(phase(p.cc) == "probe_bw");
    BOOST_TEST(p.cc.cwnd_gain() == bbr::probe_bw_cwnd_gain);
    BOOST_TEST(p.cc.pacing_gain() != 0.75);  // 4.3.4.2: the cycle never starts by draining
}

BOOST_AUTO_TEST_CASE(pacing_rate_is_the_gain_times_the_bandwidth_less_one_percent) {
    path p;
    // 4.2.1: before any RTT, high_gain * IW per nominal 1 ms.
    BOOST_TEST(p.cc.pacing_rate() == static_cast<std::uint64_t>(10 * mss * 1000 * bbr::high_gain * 0.99));
    p.round(2 * mb);  // SRTT 40 ms: high_gain * IW / SRTT = 0.7 MB/s, below high_gain * 2 MB/s
    BOOST_TEST(p.cc.pacing_rate() == static_cast<std::uint64_t>(2 * mb * bbr::high_gain * 0.99));
    p.to_probe_bw(8 * mb);
    for (int i = 0; i < 100; ++i) {
        p.cc.on_ack(p.within_round(5ms, 8 * mb));
        BOOST_TEST(p.cc.pacing_rate() == static_cast<std::uint64_t>(8 * mb * p.cc.pacing_gain() * 0.99));
    }
}

BOOST_AUTO_TEST_CASE(startup_pacing_does_not_follow_a_lower_sample_down) {
    path p;
    p.round(8 * mb);
    const auto rate = p.cc.pacing_rate();
    // The 8 MB/s sample expires behind application-limited rounds (which do
    // not count towards a full pipe either).
    for (int r = 0; r < 10; ++r) p.app_limited_round(1 * mb);
    p.round(1 * mb);
    BOOST_TEST(p.cc.bandwidth() == 1 * mb);
    BOOST_TEST(phase(p.cc) == "startup");
    BOOST_TEST(p.cc.pacing_rate() == rate);
}

BOOST_AUTO_TEST_CASE(probe_bw_cycles_its_gains_about_once_per_min_rtt) {
    path p;
    p.to_probe_bw(10 * mb);
    p.pipe = 1000 * mss;  // a large flight: no phase ends early
    std::size_t index = p.cc.cycle_index();
    auto since = p.now;
    int changes = 0;
    for (int i = 0; i < 400 && changes < 16; ++i) {
        p.cc.on_ack(p.within_round(5ms, 10 * mb));
        if (p.cc.cycle_index() == index) continue;
        BOOST_TEST(p.cc.cycle_index() == (index + 1) % 8);  // in order, one phase at a time
        BOOST_TEST((p.now - since > 40ms));                 // each phase lasts a little more than RTprop
        BOOST_TEST((p.now - since <= 45ms));
        BOOST_TEST(p.cc.pacing_gain() == bbr::pacing_gain_cycle[p.cc.cycle_index()]);
        index = p.cc.cycle_index();
        since = p.now;
        ++changes;
    }
    BOOST_TEST(changes == 16);  // two whole cycles
}

BOOST_AUTO_TEST_CASE(probing_waits_for_the_flight_to_reach_its_gain_and_draining_ends_early) {
    path p;
    p.to_phase(10 * mb, 0);
    // Probing at 1.25: RTprop passes, but the flight is only one BDP.
    p.pipe = 400 * mss;
    for (int i = 0; i < 20; ++i) p.cc.on_ack(p.within_round(5ms, 10 * mb));
    BOOST_TEST(p.cc.cycle_index() == 0u);
    p.pipe = 600 * mss;  // 1.25 BDP and the allowances
    p.cc.on_ack(p.within_round(5ms, 10 * mb));
    BOOST_TEST(p.cc.cycle_index() == 1u);
    // Draining at 0.75: the flight is already down to one BDP, so it ends at the next ACK.
    p.pipe = 400 * mss;
    p.cc.on_ack(p.within_round(1ms, 10 * mb));
    BOOST_TEST(p.cc.cycle_index() == 2u);
}

BOOST_AUTO_TEST_CASE(a_loss_ends_the_probing_phase_once_rtprop_has_passed) {
    path p;
    p.to_phase(10 * mb, 0);
    p.pipe = 400 * mss;  // short of 1.25 BDP
    auto lossy = [&](duration dt) {
        auto s = p.within_round(dt, 10 * mb);
        s.lost = mss;
        p.cc.on_ack(s);
    };
    lossy(5ms);
    BOOST_TEST(p.cc.cycle_index() == 0u);  // a phase lasts RTprop at least
    lossy(40ms);
    BOOST_TEST(p.cc.cycle_index() == 1u);  // then a loss ends it: 1.25 BDP may not fit in the path's buffer
}

BOOST_AUTO_TEST_CASE(min_rtt_keeps_the_smallest_sample_for_ten_seconds) {
    path p;
    p.round(1 * mb);
    BOOST_TEST((p.cc.min_rtt() == duration(40ms)));
    p.rtt = 50ms;
    p.round(1 * mb);
    BOOST_TEST((p.cc.min_rtt() == duration(40ms)));
    p.rtt = 30ms;
    p.round(1 * mb);
    BOOST_TEST((p.cc.min_rtt() == duration(30ms)));
    BOOST_TEST((p.cc.info().min_rtt == duration(30ms)));
}

BOOST_AUTO_TEST_CASE(probe_rtt_after_ten_seconds_without_a_new_min_rtt) {
    path p;
    p.to_probe_bw(10 * mb);
    const coronet::runtime::time_point measured = coronet::runtime::time_point{} + 40ms;  // the first round's sample
    p.rtt = 45ms;
    p.pipe = 600 * mss;
    while (p.now + 5ms <= measured + 10s) p.cc.on_ack(p.within_round(5ms, 10 * mb));
    BOOST_TEST(phase(p.cc) == "probe_bw");
    const std::uint32_t cwnd = p.cc.window();
    BOOST_TEST(cwnd > 500 * mss);
    p.cc.on_ack(p.within_round(5ms, 10 * mb));
    BOOST_TEST(phase(p.cc) == "probe_rtt");
    BOOST_TEST((p.cc.min_rtt() == duration(45ms)));  // the expired minimum gives way to the sample
    BOOST_TEST(p.cc.window() == 4 * mss);
    BOOST_TEST(p.cc.pacing_gain() == 1.0);

    // The flight drains to four segments; from then on 200 ms and a round trip.
    p.pipe = 4 * mss;
    p.cc.on_ack(p.within_round(5ms, 1 * mb));
    p.cc.on_ack(p.round_sample(1 * mb));  // a round trip, after 45 ms
    BOOST_TEST(phase(p.cc) == "probe_rtt");
    for (int i = 0; i < 31; ++i) p.cc.on_ack(p.within_round(5ms, 1 * mb));  // 200 ms in all
    BOOST_TEST(phase(p.cc) == "probe_rtt");
    BOOST_TEST(p.cc.window() == 4 * mss);
    p.cc.on_ack(p.within_round(5ms, 1 * mb));
    BOOST_TEST(phase(p.cc) == "probe_bw");  // the pipe had been filled: back to PROBE_BW
    // With the window from before, within the target of the phase it returns to.
    BOOST_TEST(p.cc.window() + 2 * mss >= cwnd);
}

BOOST_AUTO_TEST_CASE(samples_of_data_sent_in_probe_rtt_do_not_lower_the_bandwidth) {
    path p;
    p.to_probe_bw(10 * mb);
    while (phase(p.cc) != "probe_rtt") p.cc.on_ack(p.within_round(50ms, 10 * mb));
    p.pipe = 4 * mss;
    p.rtt = 15ms;
    for (int r = 0; r < 11; ++r) p.round(1 * mb);  // without the marking, these would push 10 MB/s out of the window
    BOOST_TEST(phase(p.cc) == "probe_rtt");
    BOOST_TEST(p.cc.bandwidth() == 10 * mb);
}

BOOST_AUTO_TEST_CASE(probe_rtt_lasts_a_round_trip_even_after_200_ms) {
    path p;
    drain_into_probe_rtt(p);
    p.cc.on_ack(p.within_round(300ms, 1 * mb));
    BOOST_TEST(phase(p.cc) == "probe_rtt");  // data sent before it: no round trip yet
    p.cc.on_ack(p.round_sample(1 * mb));
    BOOST_TEST(phase(p.cc) == "probe_bw");
}

// Linux's bbr_cwnd_event: a PROBE_RTT whose 200 ms ran out while the
// application had nothing to send ends at the restart, not at the first
// ACK a round trip later.
BOOST_AUTO_TEST_CASE(a_probe_rtt_that_ran_out_while_idle_ends_at_the_restart) {
    path p;
    drain_into_probe_rtt(p);
    p.cc.on_idle(p.now + 100ms, 100ms, 200ms);
    BOOST_TEST(phase(p.cc) == "probe_rtt");  // 100 ms of 200
    p.now += 300ms;
    p.cc.on_idle(p.now, 300ms, 200ms);
    BOOST_TEST(phase(p.cc) == "probe_bw");
    BOOST_TEST(p.cc.window() > 4 * mss);  // the window from before PROBE_RTT
}

BOOST_FIXTURE_TEST_CASE(recovery_conserves_packets_for_a_round_then_restores_the_window, cruising) {
    BOOST_TEST(before > 800 * mss);  // 2 BDP
    cc.on_loss(500 * mss, now);
    BOOST_TEST(cc.window() == before);  // nothing yet: the sender uses window() in recovery

    cc.on_ack(in_recovery(300 * mss, 5 * mss));  // the ACK that started recovery
    BOOST_TEST(cc.window() == 302 * mss);        // in flight plus what this ACK delivered
    cc.on_ack(in_recovery(290 * mss, 4 * mss));
    BOOST_TEST(cc.window() == 298 * mss);  // each loss takes its segment out of the window
    cc.on_ack(in_recovery(299 * mss));
    BOOST_TEST(cc.window() == 301 * mss);  // never below what is in flight plus what was delivered

    // A round trip later conservation ends and the window grows by what is delivered.
    auto later = sample(1ms, 10 * mb, delivered);
    later.in_recovery = true;
    cc.on_ack(later);
    BOOST_TEST(cc.window() == 303 * mss);
    auto end = in_recovery(pipe);
    end.ends_recovery = true;
    cc.on_ack(end);
    BOOST_TEST(cc.window() == before);
}

BOOST_FIXTURE_TEST_CASE(a_timeout_drops_to_one_segment_and_restores_once_its_flight_is_delivered, cruising) {
    cc.on_timeout(100 * mss);
    BOOST_TEST(cc.window() == mss);
    pipe = 2 * mss;
    cc.on_ack(within_round(1ms, 10 * mb));  // 2 of the 100 segments
    BOOST_TEST(cc.window() == 4 * mss);     // the minimum window
    for (int i = 0; i < 48; ++i) cc.on_ack(within_round(1ms, 10 * mb));
    BOOST_TEST(cc.window() == 100 * mss);  // grown by what was delivered: 98 of 100 segments
    cc.on_ack(within_round(1ms, 10 * mb));
    BOOST_TEST(cc.window() == before);
}

BOOST_FIXTURE_TEST_CASE(undo_restores_the_window_from_before_the_timeout, cruising) {
    cc.on_timeout(100 * mss);
    cc.on_undo();  // the timeout was spurious (RFC 4015)
    BOOST_TEST(cc.window() == before);
    cc.on_ack(within_round(1ms, 10 * mb));
    BOOST_TEST(cc.window() == before);  // the repair is over: the next ACK does not cut it again
}

BOOST_AUTO_TEST_CASE(restart_from_idle_paces_at_the_bandwidth) {
    path p;
    p.to_phase(10 * mb, 0);
    const std::uint32_t cwnd = p.cc.window();
    p.cc.on_idle(p.now, 2s, 200ms);
    BOOST_TEST(p.cc.pacing_rate() == static_cast<std::uint64_t>(10 * mb * 0.99));
    BOOST_TEST(p.cc.window() == cwnd);  // no restart window: Linux skips it for BBR
}

BOOST_AUTO_TEST_CASE(no_aggregation_allowance_before_the_pipe_is_full) {
    path p;
    p.round(1 * mb);
    p.cc.on_ack(p.within_round(100us, 1 * mb, 100 * mss));  // a burst 100 times BtlBw's pace
    BOOST_TEST(!p.cc.filled_pipe());
    BOOST_TEST(p.cc.aggregation_allowance() == 0u);
}

// On the 10 MB/s path cruise()'s ACKs deliver 20 segments each 5 ms, less
// than BtlBw's 50 per 5 ms: each starts a new epoch and is its own excess.
// Then a silence of 20 ms and five ACKs of 100 segments 0.1 ms apart: 500
// segments where BtlBw expected 4 since the first of them.
BOOST_FIXTURE_TEST_CASE(acks_that_come_in_bursts_widen_the_window_by_the_burst, cruising) {
    BOOST_TEST(cc.aggregation_allowance() == 20 * mss);
    cc.on_ack(within_round(20ms, 10 * mb, 100 * mss));
    for (int i = 0; i < 4; ++i) cc.on_ack(within_round(100us, 10 * mb, 100 * mss));
    BOOST_TEST(cc.aggregation_allowance() == 496 * mss);
    BOOST_TEST(cc.window() >= before - 20 * mss + 496 * mss);
    BOOST_TEST(cc.window() <= before - 20 * mss + 496 * mss + 2 * mss);  // up to the rounding to even segments
}

BOOST_FIXTURE_TEST_CASE(the_allowance_is_at_most_100_ms_of_bandwidth, cruising) {
    for (int i = 0; i < 20; ++i) cc.on_ack(within_round(10us, 10 * mb, 100 * mss));
    BOOST_TEST(cc.aggregation_allowance() == 1000 * mss);  // 100 ms at 10 MB/s, below cwnd
}

// The excess is remembered for one to two windows of five round trips.
BOOST_FIXTURE_TEST_CASE(a_burst_is_forgotten_within_ten_round_trips, cruising) {
    cc.on_ack(within_round(20ms, 10 * mb, 300 * mss));
    BOOST_TEST(cc.aggregation_allowance() == 300 * mss);
    int rounds = 0;
    while (cc.aggregation_allowance() == 300 * mss && rounds < 20) {
        round(10 * mb);
        ++rounds;
    }
    BOOST_TEST(rounds >= 5);
    BOOST_TEST(rounds <= 10);
    BOOST_TEST(cc.aggregation_allowance() == 2 * mss);  // what each round's ACK brought
}

BOOST_AUTO_TEST_SUITE_END()
