// BBR (tcp_config::congestion = "bbr") over simulated paths: byte-exact
// under loss and reordering, and on a 100 Mbit/s, 40 ms bottleneck its
// model (BtlBw, RTprop), how soon it fills the pipe, and its rate under
// random loss; and, paced at its model's rate, that it leaves DRAIN for
// PROBE_BW and keeps the bottleneck's queue short (without pacing it would
// stay in DRAIN, whose window of 2.885 BDP overfills this path).
#include <coronet/tcp/bbr.hpp>

#include "sim_pair.hpp"

namespace coronet::test {

namespace {

double milliseconds(runtime::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

tcp::tcp_config with_bbr() {
    tcp::tcp_config cfg;
    cfg.congestion = "bbr";
    return cfg;
}

// 100 Mbit/s (12.5 MB/s) with 20 ms each way, and a bottleneck queue of one
// BDP (12.5 MB/s * 40 ms = 500 kB).
constexpr double path_bytes_per_second = 12.5e6;
const link::impairment bottleneck{.delay = 20ms, .rate_mbit = 100, .queue_bytes = 500'000};

// a sends n bytes to b, which reads and counts them; the test runs the
// clock and watches a's controller on the way.
struct bulk_flow {
    sim_pair& p;
    listener l;
    connection ca, cb;
    bool ok = true;

    bulk_flow(sim_pair& pair, std::size_t n) : p(pair), l(listen(p)) {
        p.sim.spawn(client(n));
        p.sim.spawn(server());
    }
    static listener listen(sim_pair& p) {
        auto lr = p.b.tcp.listen(80, 8);
        BOOST_REQUIRE(lr);
        return listener{*lr};
    }
    // Coroutines of the flow's own (a lambda's captures would die with the lambda).
    task<void> client(std::size_t n) {
        auto c = co_await connect(p.a.tcp, p.b_at(80));
        if (!c) {
            ok = false;
            co_return;
        }
        ca = std::move(*c);
        co_await send_stream(ca, 7, n, ok);
    }
    task<void> server() {
        auto c = co_await l.accept();
        if (!c) {
            ok = false;
            co_return;
        }
        cb = std::move(*c);
        co_await receive_stream(cb, 7, ok);
    }
    ~bulk_flow() {
        ca.abort();
        cb.abort();
        p.sim.run_for(10ms);
    }
    const tcp::bbr& model() const { return dynamic_cast<const tcp::bbr&>(ca.tcb().congestion()); }
    std::uint64_t delivered() const { return cb.valid() ? cb.tcb().stats().bytes_received : 0; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(bbr_sim)

BOOST_AUTO_TEST_CASE(delivers_byte_exact_under_loss_and_reordering) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        BOOST_TEST_CONTEXT("seed " << seed) {
            sim_pair p{seed, {.loss = 0.01, .reorder = 0.02, .delay = 10ms, .reorder_gap = 2ms}, with_bbr()};
            const auto r = transfer(p, 4 << 20);
            BOOST_TEST_MESSAGE(
                "seed " << seed << ": " << r.got * 8 / std::chrono::duration<double>(r.took).count() / 1e6
                        << " Mbit/s, retransmits " << r.a_stats.retransmits << ", timeouts " << r.a_stats.timeouts);
            BOOST_TEST(r.ok(4 << 20));
        }
    }
}

// STARTUP doubles the rate each round trip from the initial window (14.5 kB
// per 40 ms) to the BDP (500 kB): about six rounds, then three without
// growth show the pipe full; the rounds whose samples the send buffer's
// growth left application-limited do not count towards those three.
BOOST_AUTO_TEST_CASE(fills_a_100_mbit_path_and_measures_it) {
    sim_pair p{1, bottleneck, with_bbr()};
    bulk_flow f{p, 64 << 20};
    const auto start = p.sim.now();
    while (!(f.ca.valid() && f.model().filled_pipe()) && p.sim.now() - start < 1s) p.sim.run_for(1ms);
    BOOST_REQUIRE(f.ca.valid());
    const auto& cc = f.model();
    BOOST_TEST_MESSAGE("the pipe full after " << cc.rounds() << " rounds, " << milliseconds(p.sim.now() - start)
                                              << " ms");
    BOOST_TEST(cc.filled_pipe());
    BOOST_TEST(cc.rounds() <= 13u);
    BOOST_TEST(std::string_view{cc.info().phase} != "startup");

    p.sim.run_for(start + 1s - p.sim.now());
    const std::uint64_t at_1s = f.delivered();
    p.sim.run_for(1s);
    const double rate = static_cast<double>(f.delivered() - at_1s);
    const auto info = cc.info();
    const auto& st = f.ca.tcb().stats();
    BOOST_TEST_MESSAGE("second second: " << rate * 8 / 1e6 << " Mbit/s; BtlBw " << info.bandwidth * 8 / 1e6
                                         << " Mbit/s, RTprop " << milliseconds(info.min_rtt) << " ms, resent "
                                         << st.retransmitted_bytes << " bytes of " << st.bytes_sent);
    BOOST_TEST(f.ok);
    BOOST_TEST(rate >= 0.9 * path_bytes_per_second);
    BOOST_TEST(static_cast<double>(info.bandwidth) >= 0.8 * path_bytes_per_second);
    BOOST_TEST(static_cast<double>(info.bandwidth) <= 1.2 * path_bytes_per_second);
    BOOST_TEST(milliseconds(info.min_rtt) >= 40.0);
    BOOST_TEST(milliseconds(info.min_rtt) <= 41.0);  // the propagation delay and a frame's serialisation
}

// Paced at gain x BtlBw, the flight drains to one BDP after STARTUP and
// PROBE_BW's cycle (1.25, 0.75, 1...) leaves at most a quarter of a BDP
// queued: after the first two seconds no frame is dropped at the
// bottleneck and the RTT stays within 1.5x the path's 40 ms.
BOOST_AUTO_TEST_CASE(paced_it_keeps_the_queue_short) {
    sim_pair p{1, bottleneck, with_bbr()};
    bulk_flow f{p, 64 << 20};
    p.sim.run_for(2s);
    BOOST_REQUIRE(f.ca.valid());
    BOOST_TEST(std::string_view{f.model().info().phase} == "probe_bw");
    BOOST_TEST(f.ca.tcb().pacing_rate() > 0u);
    const std::uint64_t drops_before = p.wire.a_to_b().counters().queue_drops;
    const std::uint64_t at_2s = f.delivered();
    runtime::duration worst{};
    for (int ms = 0; ms < 4000; ++ms) {
        p.sim.run_for(1ms);
        worst = std::max(worst, f.ca.tcb().rtt().srtt());
    }
    const double rate = static_cast<double>(f.delivered() - at_2s) / 4;
    BOOST_TEST_MESSAGE("2-6 s: " << rate * 8 / 1e6 << " Mbit/s, largest SRTT " << milliseconds(worst)
                                 << " ms, queue drops " << p.wire.a_to_b().counters().queue_drops - drops_before);
    BOOST_TEST(f.ok);
    BOOST_TEST(p.wire.a_to_b().counters().queue_drops == drops_before);
    BOOST_TEST(milliseconds(worst) <= 60.0);
    BOOST_TEST(rate >= 0.9 * path_bytes_per_second);
}

// BBR's model ignores loss: 1 % random loss on the same path leaves BtlBw
// and the rate where they were (NewReno, halving on each, gets about
// 5 Mbit/s here).
BOOST_AUTO_TEST_CASE(random_loss_does_not_collapse_the_rate) {
    auto lossy = bottleneck;
    lossy.loss = 0.01;
    sim_pair p{1, lossy, with_bbr()};
    bulk_flow f{p, 64 << 20};
    p.sim.run_for(1s);
    const std::uint64_t at_1s = f.delivered();
    p.sim.run_for(2s);
    const double rate = static_cast<double>(f.delivered() - at_1s) / 2;
    const auto info = f.model().info();
    BOOST_TEST_MESSAGE("1 % loss: " << rate * 8 / 1e6 << " Mbit/s; BtlBw " << info.bandwidth * 8 / 1e6
                                    << " Mbit/s, random drops " << p.wire.a_to_b().counters().dropped
                                    << ", queue drops " << p.wire.a_to_b().counters().queue_drops);
    BOOST_TEST(f.ok);
    BOOST_TEST(rate >= 0.8 * path_bytes_per_second);
    BOOST_TEST(static_cast<double>(info.bandwidth) >= 0.8 * path_bytes_per_second);
}

// A token-bucket policer (20 Mbit/s, 64 KiB bucket, no queue) on a 40 ms
// path whose links are otherwise 100 Mbit/s. The bucket passes bursts at
// the link's rate, but a delivery-rate sample spans about a round trip, so
// BtlBw settles at the policed rate, and pacing at it loses only what the
// 1.25 probing phase sends beyond it (a quarter of one round in eight).
// Linux's long-term sampling for policers (tcp_bbr.c's lt_bw) needs 20 %
// loss over 4-16 rounds to engage; it would not here, and coronet has none.
// (16 KiB to 1 MiB buckets gave the same: 19.1-19.2 Mbit/s, 3.9-4.3 % resent.)
BOOST_AUTO_TEST_CASE(a_policer_is_measured_and_paced_at) {
    auto policed = bottleneck;
    policed.police_mbit = 20;
    policed.police_burst = 64 * 1024;
    constexpr double policed_bytes_per_second = 2.5e6;
    sim_pair p{1, policed, with_bbr()};
    bulk_flow f{p, 64 << 20};
    p.sim.run_for(2s);
    BOOST_REQUIRE(f.ca.valid());
    const std::uint64_t at_2s = f.delivered();
    const auto& st = f.ca.tcb().stats();
    const std::uint64_t sent_2s = st.bytes_sent, resent_2s = st.retransmitted_bytes;
    const std::uint64_t drops_2s = p.wire.a_to_b().counters().police_drops;
    p.sim.run_for(8s);
    const double rate = static_cast<double>(f.delivered() - at_2s) / 8;
    const double sent = static_cast<double>(st.bytes_sent - sent_2s);
    const double resent = static_cast<double>(st.retransmitted_bytes - resent_2s);
    const auto info = f.model().info();
    BOOST_TEST_MESSAGE("policed at 20 Mbit/s, 2-10 s: " << rate * 8 / 1e6 << " Mbit/s; BtlBw "
                                                        << info.bandwidth * 8 / 1e6 << " Mbit/s, resent " << resent
                                                        << " of " << sent << " bytes, police drops "
                                                        << p.wire.a_to_b().counters().police_drops - drops_2s);
    BOOST_TEST(f.ok);
    BOOST_TEST(rate >= 0.85 * policed_bytes_per_second);
    BOOST_TEST(resent <= 0.05 * sent);
    BOOST_TEST(static_cast<double>(info.bandwidth) <= 1.1 * policed_bytes_per_second);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace coronet::test
