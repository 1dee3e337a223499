#include <boost/test/unit_test.hpp>
#include <chrono>
#include <coronet/tcp/rtt.hpp>

using coronet::tcp::rto_config;
using coronet::tcp::rtt_estimator;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// Durations print as nanosecond counts in failures.
long long ns(coronet::runtime::duration d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_rtt)

BOOST_AUTO_TEST_CASE(before_any_sample_the_rto_is_the_initial_one) {
    rtt_estimator rtt;
    BOOST_TEST(!rtt.has_sample());
    BOOST_TEST(ns(rtt.rto()) == ns(seconds(1)));
}

BOOST_AUTO_TEST_CASE(first_sample_sets_srtt_and_half_of_it_as_rttvar) {
    rtt_estimator rtt;
    rtt.sample(milliseconds(100));
    BOOST_TEST(rtt.has_sample());
    BOOST_TEST(ns(rtt.srtt()) == ns(milliseconds(100)));
    BOOST_TEST(ns(rtt.rttvar()) == ns(milliseconds(50)));
    BOOST_TEST(ns(rtt.rto()) == ns(milliseconds(300)));  // 100 + max(1, 4 * 50)
}

BOOST_AUTO_TEST_CASE(later_samples_follow_rfc6298_2_3) {
    rtt_estimator rtt;
    rtt.sample(milliseconds(100));
    // R' = 200: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
    rtt.sample(milliseconds(200));
    BOOST_TEST(ns(rtt.rttvar()) == ns(microseconds(62'500)));
    BOOST_TEST(ns(rtt.srtt()) == ns(microseconds(112'500)));
    BOOST_TEST(ns(rtt.rto()) == ns(microseconds(362'500)));  // 112.5 + 4 * 62.5
    // R' = 50: RTTVAR = 3/4 * 62.5 + 1/4 * 62.5 = 62.5; SRTT = (7 * 112.5 + 50) / 8 = 104.6875.
    rtt.sample(milliseconds(50));
    BOOST_TEST(ns(rtt.rttvar()) == ns(microseconds(62'500)));
    BOOST_TEST(ns(rtt.srtt()) == 104'687'500);
    BOOST_TEST(ns(rtt.rto()) == 354'687'500);
}

BOOST_AUTO_TEST_CASE(steady_samples_shrink_rttvar) {
    rtt_estimator rtt;
    for (int i = 0; i < 50; ++i) rtt.sample(milliseconds(80));
    BOOST_TEST(ns(rtt.srtt()) == ns(milliseconds(80)));
    BOOST_TEST(ns(rtt.rttvar()) < ns(microseconds(1)));
    BOOST_TEST(ns(rtt.rto()) == ns(milliseconds(200)));  // 80 + G, raised to the floor
}

BOOST_AUTO_TEST_CASE(rto_is_clamped_to_min_and_max) {
    rtt_estimator fast;
    fast.sample(milliseconds(10));  // 10 + 4 * 5 = 30 ms
    BOOST_TEST(ns(fast.rto()) == ns(milliseconds(200)));
    rtt_estimator slow;
    slow.sample(seconds(100));  // 100 + 4 * 50 = 300 s
    BOOST_TEST(ns(slow.rto()) == ns(seconds(120)));
}

BOOST_AUTO_TEST_CASE(clock_granularity_bounds_the_variance_term) {
    rto_config cfg;
    cfg.min = milliseconds(0);
    cfg.granularity = milliseconds(10);
    rtt_estimator rtt(cfg);
    rtt.sample(milliseconds(1));  // RTTVAR 0.5 ms: 4 * RTTVAR = 2 ms < G
    BOOST_TEST(ns(rtt.rto()) == ns(milliseconds(11)));
}

BOOST_AUTO_TEST_CASE(backoff_doubles_and_saturates_at_max) {
    rtt_estimator rtt;  // initial 1 s
    const long long expected[] = {2, 4, 8, 16, 32, 64, 120, 120};
    for (long long s : expected) {
        rtt.backoff();
        BOOST_TEST(ns(rtt.rto()) == ns(seconds(s)));
    }
    BOOST_TEST(rtt.backoffs() == 8u);
    for (int i = 0; i < 200; ++i) rtt.backoff();  // far past 64 doublings: no overflow
    BOOST_TEST(ns(rtt.rto()) == ns(seconds(120)));
    BOOST_TEST(rtt.backoffs() == 208u);
}

BOOST_AUTO_TEST_CASE(backoff_applies_to_the_clamped_rto) {
    rtt_estimator rtt;
    rtt.sample(milliseconds(10));  // base 30 ms, clamped to 200 ms
    rtt.backoff();
    BOOST_TEST(ns(rtt.rto()) == ns(milliseconds(400)));
}

BOOST_AUTO_TEST_CASE(sample_and_reset_undo_the_backoff) {
    rtt_estimator rtt;
    rtt.sample(milliseconds(100));
    rtt.backoff();
    rtt.backoff();
    BOOST_TEST(ns(rtt.rto()) == ns(milliseconds(1200)));
    rtt.sample(milliseconds(100));  // RTTVAR 37.5, SRTT 100
    BOOST_TEST(rtt.backoffs() == 0u);
    BOOST_TEST(ns(rtt.rto()) == ns(milliseconds(250)));
    rtt.backoff();
    rtt.reset_backoff();
    BOOST_TEST(ns(rtt.rto()) == ns(milliseconds(250)));
}

BOOST_AUTO_TEST_SUITE_END()
