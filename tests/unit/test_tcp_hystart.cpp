// HyStart++ (lib/tcp/hystart.cpp) fed directly, round by round: the paced
// sender's rise within a round, its blindness to jitter, and the CSS it
// starts (the entries and exits through CUBIC are in test_tcp_cubic.cpp).
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <coronet/tcp/hystart.hpp>
#include <functional>

using coronet::runtime::duration;
using coronet::runtime::time_point;
using coronet::tcp::hystart_pp;
using namespace std::chrono_literals;

// A namespace of its own: the unity build puts other suites' helpers beside these.
namespace hystart_test {

namespace {

const time_point t0{};
constexpr std::uint32_t mss = 1000;

// HyStart++ fed round by round: each round 32 ACKs of one segment, 5 ms
// apart (no ACK train), from a paced sender, with the RTTs rtt_of(k).
struct hystart_rounds {
    hystart_pp h;
    std::uint64_t delivered = 0;
    time_point now = t0;
    // The verdict on the round's last ACK, or exit on the ACK that gave it
    // (the round stops there: the controller asks no more).
    hystart_pp::verdict round(const std::function<duration(int)>& rtt_of) {
        const std::uint64_t began = delivered + mss;
        auto v = hystart_pp::verdict::grow;
        for (int k = 0; k < 32; ++k) {
            delivered += mss;
            now += 5ms;
            v = h.on_ack({.bytes_acked = mss,
                          .now = now,
                          .delivered = delivered,
                          .rtt = rtt_of(k),
                          .mss = mss,
                          .paced = true,
                          .rate = {.delivered = mss, .prior_delivered = k == 0 ? delivered : began - 1}},
                         1'000'000);
            if (v == hystart_pp::verdict::exit) break;
        }
        return v;
    }
};
// A round whose first eight samples see the path's 100 ms and the rest `later`.
std::function<duration(int)> rising_to(duration later) {
    return [later](int k) { return k < 8 ? duration{100ms} : later; };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_hystart)

// Jitter within rounds: later samples 10 ms up (below RttThresh, 12.5
// ms), or one sample in four 20 ms up, start nothing; a later block 20 ms
// up does.
BOOST_AUTO_TEST_CASE(a_rise_within_a_round_below_rtt_thresh_or_in_single_samples_is_not_one) {
    const auto css_after = [](const std::function<duration(int)>& rtt_of) {
        hystart_rounds r;
        for (int i = 0; i < 4; ++i) r.round(rtt_of);
        return r.h.in_css();
    };
    BOOST_TEST(!css_after(rising_to(110ms)));
    BOOST_TEST(!css_after([](int k) { return k % 4 == 3 ? 120ms : 100ms; }));
    BOOST_TEST(css_after(rising_to(120ms)));
}

// CSS begun on a rise within a round goes on while rounds keep rising and
// ends slow start after CSS_ROUNDS; a round with no rise in it was a false
// alarm, and slow start resumes (the RFC's test, a round minimum below the
// baseline, cannot tell: every round starts with the queue drained).
BOOST_AUTO_TEST_CASE(css_begun_on_a_rise_within_a_round_ends_on_a_round_without_one) {
    using verdict = hystart_pp::verdict;
    const auto flat = [](int) { return duration{100ms}; };
    hystart_rounds r;
    r.round(flat);
    BOOST_TEST((r.round(rising_to(120ms)) == verdict::grow_conservative));  // CSS from the second block on
    BOOST_TEST((r.round(rising_to(120ms)) == verdict::grow_conservative));
    BOOST_TEST((r.round(flat) == verdict::grow_conservative));  // not judged until the round ends
    BOOST_TEST((r.round(flat) == verdict::grow));               // the first ACK found the false alarm
    BOOST_TEST(!r.h.in_css());
    // A rise that stays: CSS again for five rounds (the one it began in
    // counts), and the ACK that ends the fifth ends slow start.
    for (int i = 0; i < 5; ++i) BOOST_TEST((r.round(rising_to(120ms)) == verdict::grow_conservative));
    const std::uint64_t rounds = r.h.rounds();
    BOOST_TEST((r.round(rising_to(120ms)) == verdict::exit));
    BOOST_TEST(r.h.rounds() == rounds);
}

// CSS begun on a rise within a round goes on when the queue stops draining
// between rounds: the next round shows no rise within it, but its minimum
// has risen over the last round's (RttThresh past it).
BOOST_AUTO_TEST_CASE(css_begun_within_a_round_goes_on_when_the_queue_stops_draining) {
    using verdict = hystart_pp::verdict;
    const auto standing = [](int) { return duration{125ms}; };
    hystart_rounds r;
    r.round([](int) { return duration{100ms}; });
    r.round(rising_to(120ms));
    BOOST_REQUIRE(r.h.in_css());
    r.round(standing);
    BOOST_TEST((r.round(standing) == verdict::grow_conservative));  // judged on its first ACK
    BOOST_TEST(r.h.in_css());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace hystart_test
