#include <boost/test/unit_test.hpp>
#include <chrono>
#include <coronet/tcp/delivery_rate.hpp>

using coronet::tcp::delivery_rate;
using namespace std::chrono_literals;

// Named, not anonymous: the unity build shares anonymous namespaces between test files.
namespace delivery_rate_tests {
const coronet::runtime::time_point start{};
}  // namespace delivery_rate_tests

BOOST_AUTO_TEST_SUITE(tcp_delivery_rate)

const coronet::runtime::time_point& t0 = delivery_rate_tests::start;

// Ten 1,000-byte segments sent 1 ms apart from idle, each ACKed 10 ms after
// it left. All were sent before the first ACK, so each carries the idle
// snapshot (nothing delivered, at 0 ms): the ACK of segment i samples the
// i + 1 segments delivered by then over i + 10 ms (the ACK interval is the
// longer). Once ACKs flow, the samples approach the sending rate, 1 MB/s.
BOOST_AUTO_TEST_CASE(samples_count_from_the_snapshot_each_segment_carried) {
    delivery_rate r;
    delivery_rate::snapshot sent[10];
    for (int i = 0; i < 10; ++i) sent[i] = r.on_send(i == 0, t0 + i * 1ms);
    for (int i = 0; i < 10; ++i) {
        BOOST_TEST(sent[i].delivered == 0u);
        const auto rs = r.on_ack(1000, sent[i], t0 + i * 1ms, t0 + i * 1ms + 10ms, 0ms);
        BOOST_TEST_REQUIRE(rs.valid());
        BOOST_TEST(rs.prior_delivered == 0u);
        BOOST_TEST(rs.delivered == 1000u * static_cast<unsigned>(i + 1));
        BOOST_TEST(rs.interval == std::chrono::duration_cast<coronet::runtime::duration>((i + 10) * 1ms));
        BOOST_TEST(rs.bytes_per_second() == 1'000'000u * static_cast<unsigned>(i + 1) / static_cast<unsigned>(i + 10));
    }
    BOOST_TEST(r.delivered() == 10000u);
    // The next transmission carries the state the ACKs left: everything
    // delivered, the last at 19 ms.
    const auto later = r.on_send(false, t0 + 20ms);
    BOOST_TEST(later.delivered == 10000u);
    BOOST_TEST((later.delivered_time == t0 + 19ms));
}

// 3.3: the sample spans the longer of the send and the ACK intervals, so a
// burst of ACKs (compressed) does not inflate the rate.
BOOST_AUTO_TEST_CASE(compressed_acks_do_not_inflate_the_rate) {
    delivery_rate r;
    const auto a = r.on_send(true, t0);
    r.on_ack(1000, a, t0, t0 + 10ms, 0ms);  // delivered_time = 10 ms
    // Ten segments sent over 10 ms after it, all ACKed at once at 30 ms.
    delivery_rate::snapshot s[10];
    for (int i = 0; i < 10; ++i) s[i] = r.on_send(false, t0 + 10ms + i * 1ms);
    const auto rs = r.on_ack(10000, s[9], t0 + 19ms, t0 + 30ms, 0ms);
    BOOST_TEST_REQUIRE(rs.valid());
    // ack interval: 30 - 10 = 20 ms; send interval: 19 - 0 = 19 ms -> 20 ms.
    BOOST_TEST(rs.interval == std::chrono::duration_cast<coronet::runtime::duration>(20ms));
    BOOST_TEST(rs.delivered == 10000u);
    BOOST_TEST(rs.bytes_per_second() == 500'000u);
}

BOOST_AUTO_TEST_CASE(an_interval_below_min_rtt_is_no_sample) {
    delivery_rate r;
    const auto a = r.on_send(true, t0);
    const auto rs = r.on_ack(1000, a, t0, t0 + 5ms, 10ms);
    BOOST_TEST(!rs.valid());
    BOOST_TEST(rs.bytes_per_second() == 0u);
    BOOST_TEST(r.delivered() == 1000u);  // delivered all the same
}

// 3.4: data sent while the sender had nothing more to send carries the
// mark until what was in flight then has been delivered.
BOOST_AUTO_TEST_CASE(app_limited_marks_last_until_the_flight_is_delivered) {
    delivery_rate r;
    const auto a = r.on_send(true, t0);
    BOOST_TEST(!a.app_limited);
    r.on_app_limited(2000);  // 2,000 bytes in flight, nothing more to send
    BOOST_TEST(r.app_limited());
    const auto b = r.on_send(false, t0 + 1ms);
    BOOST_TEST(b.app_limited);
    auto rs = r.on_ack(1000, a, t0, t0 + 10ms, 0ms);
    BOOST_TEST(!rs.app_limited);  // sent before the mark
    BOOST_TEST(r.app_limited());  // 1,000 of 2,000 delivered
    rs = r.on_ack(1500, b, t0 + 1ms, t0 + 11ms, 0ms);
    BOOST_TEST(rs.app_limited);
    BOOST_TEST(!r.app_limited());  // past the mark: later data measures the path again
    BOOST_TEST(!r.on_send(false, t0 + 12ms).app_limited);
}

BOOST_AUTO_TEST_CASE(an_ack_that_delivers_nothing_is_no_sample) {
    delivery_rate r;
    const auto a = r.on_send(true, t0);
    BOOST_TEST(!r.on_ack(0, a, t0, t0 + 10ms, 0ms).valid());
    BOOST_TEST(r.delivered() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
