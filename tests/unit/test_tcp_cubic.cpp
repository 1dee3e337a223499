#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <coronet/tcp/congestion.hpp>
#include <coronet/tcp/cubic.hpp>
#include <deque>
#include <limits>
#include <string_view>
#include <vector>

using coronet::runtime::duration;
using coronet::runtime::time_point;
using coronet::tcp::cubic;
using coronet::tcp::make_congestion_control;
using namespace std::chrono_literals;

// A namespace of its own: the unity build puts other suites' helpers (t0) beside these.
namespace cubic_test {

namespace {

const time_point t0{};
constexpr std::uint32_t mss = 1000;

double segments(std::uint32_t bytes) { return static_cast<double>(bytes) / mss; }
std::string_view phase(const cubic& cc) { return cc.info().phase; }

// A window-limited sender over a path that acknowledges every segment,
// alone, one RTT after it left: the ACK samples a real sender would hand
// its controller, with the delivered counts HyStart++ counts rounds by.
struct path {
    struct segment {
        time_point sent;
        duration rtt;
        std::uint64_t delivered;  // C.delivered when it left
    };
    cubic& cc;
    duration rtt = 100ms;                                                  // for segments sent from now on
    std::uint32_t max_flight = std::numeric_limits<std::uint32_t>::max();  // the application's limit
    time_point now = t0;
    std::uint64_t delivered = 0;
    duration min_rtt = duration::max();
    std::deque<segment> flight;
    bool paced = false;      // what the ACKs say of the sender
    bool sack_only = false;  // the ACKs only SACK (a hole lies below them)
    bool overtaken = false;  // newer ACKs came before them

    explicit path(cubic& c, duration r = 100ms) : cc(c), rtt(r) { fill(); }

    std::uint32_t in_flight() const { return static_cast<std::uint32_t>(flight.size()) * mss; }
    void fill() {
        while (in_flight() + mss <= std::min(cc.window(), max_flight)) flight.push_back({now, rtt, delivered});
    }
    // The next segment's ACK arrives.
    void ack_one() {
        const segment s = flight.front();
        const std::uint32_t before = in_flight();
        flight.pop_front();
        now = std::max(now, s.sent + s.rtt);
        delivered += mss;
        min_rtt = std::min(min_rtt, now - s.sent);
        cc.on_ack(
            {.bytes_acked = mss,
             .flight_before = before,
             .flight_after = in_flight(),
             .now = now,
             .delivered = delivered,
             .rtt = now - s.sent,
             .min_rtt = min_rtt,
             .srtt = now - s.sent,
             .mss = mss,
             .paced = paced,
             .rate = {.delivered = delivered - s.delivered, .interval = now - s.sent, .prior_delivered = s.delivered},
             .sack_only = sack_only,
             .overtaken = overtaken});
        fill();
    }
    // n round trips: each acknowledges what was in flight when it began.
    void rounds(int n) {
        for (int i = 0; i < n; ++i)
            for (std::size_t k = flight.size(); k > 0; --k) ack_one();
    }
    // Every ACK that arrives by t.
    void until(time_point t) {
        while (!flight.empty() && flight.front().sent + flight.front().rtt <= t) ack_one();
    }
};

// A CUBIC sender (SMSS 1000) whose window of w segments just took a loss
// and whose recovery ended: cwnd = ssthresh = 0.7 w, W_max = w, no epoch yet.
cubic after_loss_at(std::uint32_t w) {
    cubic cc;
    cc.init(mss);
    cc.on_ack({.bytes_acked = w * mss - cc.window(), .flight_before = cc.window(), .now = t0});  // slow start
    BOOST_REQUIRE(cc.window() == w * mss);
    cc.on_loss(w * mss, t0);
    cc.on_ack({.in_recovery = true, .ends_recovery = true});
    return cc;
}

// Two senders with the same history: after_loss_at(100), then the ACKs
// of their paths until `for_` into the epoch.
struct twins {
    cubic a = after_loss_at(100), b = after_loss_at(100);
    path pa{a}, pb{b};
    explicit twins(duration for_) {
        pa.until(t0 + for_);
        pb.until(t0 + for_);
        BOOST_REQUIRE(a.window() == b.window());
    }
};

// cc from its first ACK over a 100 ms path until 8 samples of a round show
// a 120 ms RTT (as the next test's steps): in Conservative Slow Start.
path into_css(cubic& cc) {
    cc.init(mss);
    path p{cc};
    p.rounds(3);
    p.rtt = 120ms;
    p.rounds(1);
    for (int i = 0; i < 8; ++i) p.ack_one();
    BOOST_REQUIRE(phase(cc) == "conservative_slow_start");
    return p;
}

// One round of a paced slow start whose queue builds within the round and
// drains between rounds: each ACK sends two segments, and those sent on the
// round's first four ACKs (the next round's first eight samples) see the
// path's 100 ms, the rest `later`.
void paced_round(path& p, duration later) {
    for (std::size_t k = 0, n = p.flight.size(); k < n; ++k) {
        p.rtt = k < 4 ? 100ms : later;
        p.ack_one();
    }
}

// cc, fresh, hears the ACKs of one round at the given times, one segment
// each with the window full, on a path whose smallest RTT and SRTT are 1 ms:
// the number of the ACK on which an ACK train ended slow start, 0 if none.
std::size_t train_exit_at(cubic& cc, const std::vector<duration>& at, bool paced) {
    cc.init(mss);
    std::uint64_t delivered = 0;
    for (std::size_t i = 0; i < at.size(); ++i) {
        delivered += mss;
        cc.on_ack({.bytes_acked = mss,
                   .flight_before = cc.window(),
                   .now = t0 + at[i],
                   .delivered = delivered,
                   .rtt = 1ms,
                   .min_rtt = 1ms,
                   .srtt = 1ms,
                   .mss = mss,
                   .paced = paced,
                   .rate = {.delivered = mss, .interval = 1ms, .prior_delivered = 0}});
        if (cc.ssthresh() != 0xffffffffu) return cc.hystart().train_exit() ? i + 1 : 0;
    }
    return 0;
}

// n ACK times, the first at 0, gap apart.
std::vector<duration> evenly(std::size_t n, duration gap) {
    std::vector<duration> at;
    for (std::size_t i = 0; i < n; ++i) at.push_back(gap * static_cast<int>(i));
    return at;
}

// RFC 9438 Figure 1 with C = 0.4, K from Figure 2 for a window that fell to beta * W_max.
double rfc_w_cubic(double t, double w_max, double cwnd_epoch) {
    const double k = std::cbrt((w_max - cwnd_epoch) / 0.4);
    return 0.4 * std::pow(t - k, 3) + w_max;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_cubic)

BOOST_AUTO_TEST_CASE(a_loss_cuts_the_window_by_beta_cubic_and_remembers_w_max) {
    cubic cc = after_loss_at(100);
    BOOST_TEST(cc.window() == 70000u);
    BOOST_TEST(cc.ssthresh() == 70000u);
    BOOST_TEST(cc.w_max() == 100.0);
    BOOST_TEST(phase(cc) == "avoidance");
    cubic small;
    small.init(mss);
    small.on_loss(10000, t0);
    BOOST_TEST(small.ssthresh() == 7000u);
    for (int i = 0; i < 5; ++i) small.on_loss(small.window(), t0);  // 4.6: never below two segments
    BOOST_TEST(small.ssthresh() == 2000u);
    BOOST_TEST(small.window() == 2000u);
}

BOOST_AUTO_TEST_CASE(the_window_follows_the_cubic_function_after_a_loss) {
    cubic cc = after_loss_at(100);
    path p{cc};
    const time_point start = t0 + p.rtt;  // the epoch begins with the first ACK after recovery
    const double k = std::cbrt(100 * 0.3 / 0.4);
    BOOST_TEST_MESSAGE("K = " << k << " s");
    for (double t : {0.5, 1.0, 2.0, 3.0, k, 5.0}) {
        p.until(start + std::chrono::duration_cast<duration>(std::chrono::duration<double>(t)));
        const double expected = rfc_w_cubic(t, 100, 70);
        BOOST_TEST_MESSAGE("t = " << t << " s: cwnd " << segments(cc.window()) << " W_cubic " << expected);
        BOOST_TEST(std::abs(segments(cc.window()) - expected) <= 1.0, "t = " << t << " s");
    }
    BOOST_TEST(std::abs(segments(cc.window()) - 100.2) <= 1.0);  // at 5 s: just past the plateau at W_max
}

BOOST_AUTO_TEST_CASE(growth_per_round_trip_is_at_most_half_the_window) {
    // 4.2: the target is W_cubic(t + RTT) clamped to 1.5 cwnd, however far
    // below the function the window is (here K = 0 and a 1 s RTT).
    cubic cc = after_loss_at(100);
    cc.on_timeout(70000);
    path p{cc, 10s};
    p.rounds(6);  // slow start from 1 segment up to ssthresh 49, then the epoch begins
    BOOST_REQUIRE(cc.window() >= cc.ssthresh());
    for (int i = 0; i < 4; ++i) {
        const std::uint32_t before = cc.window();
        p.rounds(1);
        BOOST_TEST(segments(cc.window()) <= 1.5 * segments(before) + 1);
        BOOST_TEST(cc.window() > before + before / 4);  // W_cubic is far above: the clamp decides
    }
}

BOOST_AUTO_TEST_CASE(the_reno_friendly_region_dominates_with_a_short_rtt_and_a_small_window) {
    cubic cc = after_loss_at(20);  // W_max 20, cwnd 14
    path p{cc, 10ms};
    const time_point start = t0 + p.rtt;
    p.until(start + 2s);
    // 4.3: W_est grows alpha_cubic per RTT up to cwnd_prior (20), then 1 per
    // RTT: 200 RTTs take it to about 20 + (200 - 6 / alpha) = 208.7 segments.
    const double alpha = 3 * 0.3 / 1.7;
    const double rtts = 2.0 / 0.01;
    const double w_est = 20 + (rtts - 6 / alpha);
    const double w_cubic = rfc_w_cubic(2.0, 20, 14);
    BOOST_TEST_MESSAGE("cwnd " << segments(cc.window()) << " W_est " << w_est << " W_cubic " << w_cubic);
    BOOST_TEST(w_cubic < 21.0);  // the cubic function still sits at its plateau
    BOOST_TEST(std::abs(segments(cc.window()) - w_est) <= 2.0);
}

// As NewReno (and Linux's CUBIC), the ACK that ends a recovery counts in
// congestion avoidance: a window's worth of it moves W_est (4.3) by
// alpha_cubic segments, and the window with it while W_cubic is below.
BOOST_AUTO_TEST_CASE(the_ack_that_ends_recovery_counts_in_congestion_avoidance) {
    cubic cc;
    cc.init(mss);
    cc.on_ack({.bytes_acked = 90000, .flight_before = cc.window(), .now = t0});  // slow start to 100 segments
    cc.on_loss(100000, t0);                                                      // cwnd = ssthresh = 70
    cc.on_ack({.bytes_acked = 70000, .flight_before = 100000, .now = t0, .in_recovery = true, .ends_recovery = true});
    // W_cubic(0) is the epoch's cwnd (70, K = cbrt(30 / C)); W_est is 70 + alpha_cubic.
    BOOST_TEST(segments(cc.window()) == 70 + cubic::alpha_cubic, boost::test_tools::tolerance(0.002));
}

// As NewReno: an ACK that delivers only by SACK does not grow the window
// (RFC 5681 3.1), unless the path reorders (Linux's tcp_may_raise_cwnd);
// nor does an ACK below SND.UNA.
BOOST_AUTO_TEST_CASE(an_ack_that_only_sacks_grows_the_window_only_where_the_path_reorders) {
    cubic cc = after_loss_at(100);  // cwnd 70 segments, in congestion avoidance
    const std::uint32_t cwnd = cc.window();
    const coronet::tcp::ack_sample sacks{
        .bytes_acked = cwnd, .flight_before = cwnd, .now = t0 + 1s, .srtt = 100ms, .mss = mss, .sack_only = true};
    cc.on_ack(sacks);
    BOOST_TEST(cc.window() == cwnd);
    auto old = sacks;
    old.below_una = old.reordering = true;
    cc.on_ack(old);
    BOOST_TEST(cc.window() == cwnd);
    auto reordered = sacks;
    reordered.reordering = true;
    cc.on_ack(reordered);
    // The epoch begins with this ACK: W_cubic(0) is cwnd, W_est cwnd + alpha_cubic (4.3).
    BOOST_TEST(segments(cc.window()) == 70 + cubic::alpha_cubic, boost::test_tools::tolerance(0.002));
}

BOOST_AUTO_TEST_CASE(fast_convergence_lowers_w_max_after_a_loss_below_it) {
    cubic cc = after_loss_at(100);  // W_max 100, cwnd 70
    cc.on_loss(70000, t0);          // 4.7: cwnd 70 < W_max: W_max = 70 * (1 + 0.7) / 2
    BOOST_TEST(cc.w_max() == 59.5);
    BOOST_TEST(cc.window() == 49000u);
    cc.on_ack({.in_recovery = true, .ends_recovery = true});
    // The function now plateaus at 59.5 segments, not at 70 (an RTT of
    // 200 ms keeps the Reno-friendly region below it).
    path p{cc, 200ms};
    const double k = std::cbrt((59.5 - 49) / 0.4);
    p.until(t0 + p.rtt + std::chrono::duration_cast<duration>(std::chrono::duration<double>(k)));
    BOOST_TEST(std::abs(segments(cc.window()) - 59.5) <= 1.0);
    // A loss at or above W_max takes the window itself for W_max.
    cubic above = after_loss_at(100);
    path pa{above};
    pa.until(t0 + 6s);
    const double w = segments(above.window());
    BOOST_REQUIRE(w >= 100);
    above.on_loss(above.window(), t0 + 10s);
    BOOST_TEST(above.w_max() == w);
}

BOOST_AUTO_TEST_CASE(undo_restores_the_window_and_the_epoch_as_if_nothing_happened) {
    // Two senders with the same history; one then takes a spurious loss and
    // a spurious timeout (twice, a backoff), each undone (4.9).
    twins t{2s};
    auto &a = t.a, &b = t.b;
    auto &pa = t.pa, &pb = t.pb;
    a.on_loss(a.window(), pa.now);
    BOOST_TEST(a.window() < b.window());
    BOOST_TEST(a.w_max() < b.w_max());
    a.on_undo();
    BOOST_TEST(a.window() == b.window());
    BOOST_TEST(a.ssthresh() == b.ssthresh());
    BOOST_TEST(a.w_max() == b.w_max());
    a.on_timeout(a.window());
    a.on_timeout(a.window());
    BOOST_TEST(a.window() == mss);
    a.on_undo();
    BOOST_TEST(a.window() == b.window());
    BOOST_TEST(a.ssthresh() == b.ssthresh());
    // The epoch, K and W_est came back too: the window grows on exactly as the other's.
    pa.until(t0 + 5s);
    pb.until(t0 + 5s);
    BOOST_TEST(a.window() == b.window());
    BOOST_TEST(a.window() > 90000u);
}

BOOST_AUTO_TEST_CASE(a_timeout_collapses_the_window_to_one_segment_and_forgets_w_max) {
    cubic cc = after_loss_at(100);
    cc.on_timeout(70000);
    BOOST_TEST(cc.window() == mss);
    BOOST_TEST(cc.ssthresh() == 49000u);  // 4.8: beta_cubic, as on a loss
    BOOST_TEST(cc.w_max() == 0.0);
    BOOST_TEST(phase(cc) == "slow_start");
    cc.on_timeout(1000);  // the backoff's next timeout: one reduction per episode
    BOOST_TEST(cc.ssthresh() == 49000u);
    path p{cc};
    p.rounds(6);  // 1, 2, 4, ... segments: standard slow start to ssthresh; the rest of the round in avoidance
    BOOST_TEST(cc.window() >= 49000u);
    BOOST_TEST(cc.window() < 50000u);
    // 4.8: the first epoch after a timeout takes its starting window for W_max, K = 0.
    BOOST_TEST(cc.w_max() == 49.0);
}

BOOST_AUTO_TEST_CASE(idle_restarts_from_the_initial_window_without_a_jump_in_the_function) {
    cubic cc = after_loss_at(100);
    path p{cc};
    p.until(t0 + 2s);
    const std::uint32_t w = cc.window();
    p.flight.clear();
    p.now += 1s;
    cc.on_idle(p.now, 1s, 1s);  // not longer than the RTO
    BOOST_TEST(cc.window() == w);
    // After 60 s idle the window restarts at IW (RFC 5681 4.1) and slow
    // starts back to ssthresh; the cubic function resumes where it was (about
    // 2.5 s into the epoch by then), not 60 s further on where it is far
    // above and only the 1.5 cwnd clamp would hold the window back.
    p.now += 60s;
    cc.on_idle(p.now, 60s, 1s);
    BOOST_TEST(cc.window() == 10000u);
    p.fill();
    p.rounds(3);  // 10, 20, 40, 70 (ssthresh)
    BOOST_TEST(cc.window() >= 70000u);
    p.rounds(2);
    BOOST_TEST(segments(cc.window()) > 85);
    BOOST_TEST(segments(cc.window()) < rfc_w_cubic(3.0, 100, 70) + 1);
}

// 5.8: a pause shorter than the RTO leaves cwnd as it is and the epoch's
// clock stopped: the rounds after it grow as if the pause had not been,
// not by the jump W_cubic made meanwhile (the 1.5 cwnd clamp would let half
// the window out at once).
BOOST_AUTO_TEST_CASE(an_application_limited_pause_does_not_count_as_epoch_time) {
    twins t{1s};
    auto &paused = t.a, &steady = t.b;
    auto &pp = t.pa, &ps = t.pb;
    // The paused sender's application stops writing: its flight drains, a
    // round of ACKs that (RFC 7661) do not grow the window it did not use.
    pp.max_flight = 0;
    pp.rounds(1);
    const std::uint32_t w = paused.window();
    pp.now += 900ms;
    paused.on_idle(pp.now, 900ms, 1s);
    BOOST_TEST(paused.window() == w);
    pp.max_flight = std::numeric_limits<std::uint32_t>::max();
    pp.fill();
    pp.rounds(3);
    ps.rounds(3);
    // The drain round's time counts for the paused one, its growth for the
    // steady one. Counting the pause too gave 96.4 segments against 89.4.
    BOOST_TEST_MESSAGE("paused " << segments(paused.window()) << ", steady " << segments(steady.window()));
    BOOST_TEST(segments(paused.window()) <= segments(steady.window()) + 2);
    BOOST_TEST(segments(paused.window()) >= segments(steady.window()) - 2);
}

// A fresh sender in slow start whose path's RTT has just risen from 100 to
// 120 ms, by more than RttThresh (12.5 ms): its window is 160 segments and
// the next eight samples decide whether CSS begins.
struct after_rtt_rise {
    cubic cc = fresh();
    path p{cc};
    after_rtt_rise() {
        p.rounds(3);
        p.rtt = 120ms;
        p.rounds(1);
        BOOST_REQUIRE(cc.window() == 160000u);
    }
    static cubic fresh() {
        cubic c;
        c.init(mss);
        return c;
    }
    void eight_acks() {
        for (int i = 0; i < 8; ++i) p.ack_one();
    }
};

// HyStart++ hears ACKs that only SACK, as Linux's hystart_update hears
// every ACK: they grow nothing, but their round trips count.
BOOST_AUTO_TEST_CASE(hystart_hears_acks_that_only_sack) {
    after_rtt_rise s;
    s.p.sack_only = true;
    s.eight_acks();
    BOOST_TEST(s.cc.hystart().in_css());
    BOOST_TEST(s.cc.window() == 160000u);
}

// The RTT of an ACK a newer one overtook rose by the path's reordering of
// ACKs, not by a queue: HyStart++ does not count it.
BOOST_AUTO_TEST_CASE(hystart_does_not_count_the_rtt_of_overtaken_acks) {
    after_rtt_rise s;
    s.p.overtaken = true;
    s.eight_acks();
    BOOST_TEST(!s.cc.hystart().in_css());
    BOOST_TEST(s.cc.window() == 168000u);  // still slow start: a segment an ACK
}

// HyStart++ (RFC 9406): the path's RTT rises by more than RttThresh
// (clamp(100 ms / 8, 4 ms, 16 ms) = 12.5 ms) as a queue would build.
BOOST_AUTO_TEST_CASE(an_rtt_rise_starts_css_and_five_css_rounds_end_slow_start) {
    cubic cc;
    cc.init(mss);
    path p{cc};
    p.rounds(3);
    BOOST_TEST(cc.window() == 80000u);
    BOOST_TEST(phase(cc) == "slow_start");
    p.rtt = 120ms;
    p.rounds(1);  // what was sent at 100 ms, while the 120 ms segments leave
    BOOST_TEST(cc.window() == 160000u);
    BOOST_TEST(!cc.hystart().in_css());
    // The first 8 samples at 120 ms: Conservative Slow Start; a quarter of
    // each ACK grows the window from the eighth on.
    for (int i = 0; i < 8; ++i) p.ack_one();
    BOOST_TEST(cc.hystart().in_css());
    BOOST_TEST(phase(cc) == "conservative_slow_start");
    const std::uint32_t at_css = cc.window();
    for (int i = 0; i < 100; ++i) p.ack_one();
    BOOST_TEST(cc.window() == at_css + 100 * mss / 4);
    BOOST_TEST(cc.ssthresh() == 0xffffffffu);
    const std::uint64_t css_began = cc.hystart().rounds();
    // The round CSS began in counts as the first of CSS_ROUNDS (5).
    while (cc.hystart().rounds() < css_began + 4) p.ack_one();
    BOOST_TEST(cc.hystart().in_css());
    BOOST_TEST(cc.ssthresh() == 0xffffffffu);
    // Slow start ends with the ACK that ends the fifth round, not before.
    const std::size_t round_left = p.flight.size();
    std::size_t acks = 0;
    while (cc.ssthresh() == 0xffffffffu && acks <= round_left) {
        p.ack_one();
        ++acks;
    }
    BOOST_TEST(acks > round_left / 2);
    BOOST_TEST(cc.hystart().rounds() == css_began + 4);
    BOOST_TEST(cc.ssthresh() == cc.window());  // RFC 9406: ssthresh = cwnd, congestion avoidance
    BOOST_TEST(phase(cc) == "avoidance");
    BOOST_TEST(cc.w_max() == 0.0);  // RFC 9438 4.10: no loss, no W_max until the epoch begins
    p.ack_one();
    BOOST_TEST(cc.w_max() == segments(cc.ssthresh()));
}

BOOST_AUTO_TEST_CASE(an_rtt_fall_below_the_css_baseline_resumes_slow_start) {
    cubic cc;
    path p = into_css(cc);
    // The rise was jitter: the RTT is back at 100 ms, below the 120 ms
    // baseline, for the first 8 samples of a round: slow start again.
    p.rtt = 100ms;
    p.rounds(2);
    BOOST_TEST(!cc.hystart().in_css());
    BOOST_TEST(phase(cc) == "slow_start");
    const std::uint32_t before = cc.window();
    p.rounds(1);
    BOOST_TEST(cc.window() >= 2 * before - mss);  // doubling again
    BOOST_TEST(cc.ssthresh() == 0xffffffffu);
}

// A paced sender's queue drains between rounds, so every round's smallest
// RTT is the path's and the round-against-round test never fires: a later
// block of eight samples 20 ms (past RttThresh, 12.5 ms) above the round's
// first eight starts CSS. Not for an unpaced sender, whose queue does not
// drain so (the RFC's test serves it).
BOOST_AUTO_TEST_CASE(a_paced_round_whose_later_samples_rise_starts_css) {
    for (const bool paced : {false, true}) {
        cubic cc;
        cc.init(mss);
        path p{cc};
        p.paced = paced;
        p.rounds(2);
        paced_round(p, 120ms);  // the rise shows from the next round on
        BOOST_TEST(!cc.hystart().in_css());
        paced_round(p, 120ms);
        paced_round(p, 120ms);
        BOOST_TEST(cc.hystart().in_css() == paced);
        BOOST_TEST(cc.ssthresh() == 0xffffffffu);
    }
}

BOOST_AUTO_TEST_CASE(an_rtt_rise_seen_by_fewer_than_eight_samples_does_not_end_slow_start) {
    cubic cc;
    cc.init(mss);
    path p{cc};
    p.max_flight = 7 * mss;  // the application keeps 7 segments out: 7 samples per round
    p.rounds(3);
    p.rtt = 200ms;
    p.rounds(4);
    BOOST_TEST(!cc.hystart().in_css());
    BOOST_TEST(cc.ssthresh() == 0xffffffffu);
    BOOST_TEST(cc.window() == 15000u);  // RFC 7661: no growth once less than half of it is used
    // The same rise seen by a full window of samples starts CSS.
    p.max_flight = std::numeric_limits<std::uint32_t>::max();
    p.rtt = 100ms;
    p.rounds(3);
    BOOST_TEST(!cc.hystart().in_css());
    p.rtt = 200ms;
    p.rounds(2);
    BOOST_TEST(cc.hystart().in_css());
}

// The ACK train (Linux's HyStart; the threshold is half of the 1 ms
// smallest RTT plus the ack delay, capped at 1 ms here: four 64 KiB frames
// at twice 21 segments per ms take longer): the first ACK more than 1 ms
// after the round's first ends slow start, cwnd as it stands.
BOOST_AUTO_TEST_CASE(an_ack_train_spanning_half_the_rtt_and_the_ack_delay_ends_slow_start) {
    cubic cc;
    BOOST_TEST(train_exit_at(cc, evenly(40, 100us), false) == 12u);  // at 1.1 ms
    BOOST_TEST(cc.window() == 21000u);                               // the initial 10 segments and 11 ACKs
    BOOST_TEST(cc.ssthresh() == cc.window());
    BOOST_TEST(phase(cc) == "avoidance");
    // Paced, the ACKs are spread by the sender: the whole 2 ms.
    BOOST_TEST(train_exit_at(cc, evenly(40, 100us), true) == 22u);  // at 2.1 ms
    // A larger window is a faster slow-start rate, and four 64 KiB frames
    // take less of it: at about 530 segments, twice that per ms, 0.25 ms;
    // the threshold is then about (1 + 0.25) / 2 ms, not (1 + 1) / 2.
    cc.init(mss);
    std::uint64_t delivered = 0;
    while (cc.window() < 400'000u) {  // every ACK its own round, all at t0
        delivered += 4 * mss;
        cc.on_ack({.bytes_acked = 4 * mss,
                   .flight_before = cc.window(),
                   .now = t0,
                   .delivered = delivered,
                   .rtt = 1ms,
                   .min_rtt = 1ms,
                   .srtt = 1ms,
                   .mss = mss,
                   .rate = {.delivered = mss, .interval = 1ms, .prior_delivered = delivered - 4 * mss}});
    }
    // One round from t0 + 1 ms: ACKs of 4 segments, 20 us apart.
    const std::uint64_t round_began = delivered;
    duration exit_after{};
    for (duration d{}; cc.ssthresh() == 0xffffffffu && d < 2ms; d += 20us) {
        delivered += 4 * mss;
        cc.on_ack({.bytes_acked = 4 * mss,
                   .flight_before = cc.window(),
                   .now = t0 + 1ms + d,
                   .delivered = delivered,
                   .rtt = 1ms,
                   .min_rtt = 1ms,
                   .srtt = 1ms,
                   .mss = mss,
                   .rate = {.delivered = mss, .interval = 1ms, .prior_delivered = round_began}});
        exit_after = d;
    }
    BOOST_TEST(cc.hystart().train_exit());
    BOOST_TEST(exit_after > 560us);
    BOOST_TEST(exit_after < 700us);
}

BOOST_AUTO_TEST_CASE(an_ack_gap_over_2_ms_or_a_window_under_16_segments_holds_the_train_back) {
    cubic cc;
    // ACKs 100 us apart, from the eighth on (16 segments) one gap of 2.1 ms:
    // the round's train is broken for good.
    std::vector<duration> at = evenly(8, 100us);
    for (std::size_t i = 0; i < 30; ++i) at.push_back(2800us + 100us * static_cast<int>(i));
    BOOST_TEST(train_exit_at(cc, at, false) == 0u);
    BOOST_TEST(cc.ssthresh() == 0xffffffffu);
    // A gap of 1.9 ms keeps it: the first ACK after it ends slow start.
    at = evenly(8, 100us);
    for (std::size_t i = 0; i < 30; ++i) at.push_back(2600us + 100us * static_cast<int>(i));
    BOOST_TEST(train_exit_at(cc, at, false) == 9u);
    // ACKs 300 us apart: the train is long enough at the fifth (1.2 ms),
    // but the window reaches 16 segments only with the sixth ACK.
    BOOST_TEST(train_exit_at(cc, evenly(20, 300us), false) == 7u);
    BOOST_TEST(cc.window() == 16000u);
}

BOOST_AUTO_TEST_CASE(a_loss_in_css_ends_slow_start) {
    cubic cc;
    path p = into_css(cc);
    const std::uint32_t w = cc.window();
    cc.on_loss(w, p.now);
    BOOST_TEST(cc.ssthresh() == static_cast<std::uint32_t>(w * 0.7));
    cc.on_ack({.bytes_acked = mss, .flight_before = w, .now = p.now, .in_recovery = true});
    BOOST_TEST(phase(cc) == "recovery");
    cc.on_ack({.now = p.now, .in_recovery = true, .ends_recovery = true});
    BOOST_TEST(phase(cc) == "avoidance");
    BOOST_TEST(cc.window() == cc.ssthresh());
}

// The ACK that ends one recovery may start the next (the sender tells of
// the end, then of the loss): the phase reads recovery at once, not after
// the next ACK.
BOOST_AUTO_TEST_CASE(the_phase_reads_recovery_from_the_loss_on) {
    cubic cc = after_loss_at(100);
    BOOST_TEST(phase(cc) == "avoidance");
    cc.on_loss(cc.window(), t0);
    BOOST_TEST(phase(cc) == "recovery");
    cc.on_undo();
    BOOST_TEST(phase(cc) == "avoidance");
}

// After the path MTU went down the sender's segments are smaller: W_max
// counts them (the same bytes), the window keeps its bytes, and the loss
// window is one of the new segments.
BOOST_AUTO_TEST_CASE(the_segment_follows_the_senders_as_the_path_mtu_moves) {
    cubic cc = after_loss_at(100);  // W_max 100 segments of 1000, cwnd 70000
    cc.on_ack({.bytes_acked = 500, .flight_before = 70000, .now = t0, .mss = 500});
    BOOST_TEST(cc.w_max() == 200.0);
    BOOST_TEST(cc.window() >= 70000u);
    BOOST_TEST(cc.window() <= 71000u);
    cc.on_timeout(0);
    BOOST_TEST(cc.window() == 500u);  // the loss window: one of the new segments
}

BOOST_AUTO_TEST_CASE(factory_makes_cubic_by_the_name_it_lists) {
    BOOST_TEST(coronet::tcp::congestion_control_names().find("cubic") != std::string_view::npos);
    const auto cc = make_congestion_control("cubic");
    BOOST_REQUIRE(dynamic_cast<cubic*>(cc.get()));
    BOOST_TEST(std::string_view{cc->name()} == "cubic");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cubic_test
