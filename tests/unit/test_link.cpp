#include <boost/test/unit_test.hpp>
#include <coronet/link/impairment.hpp>
#include <coronet/link/sim_link.hpp>
#include <coronet/runtime/sim_loop.hpp>
#include <coronet/storage/packet.hpp>
#include <cstring>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

struct recorder final : link::frame_sink {
    std::vector<std::vector<std::byte>> frames;
    std::vector<runtime::time_point> times;
    runtime::executor* ex = nullptr;
    void on_frame(wire::bytes f, const storage::rx_meta&) override {
        frames.emplace_back(f.begin(), f.end());
        if (ex) times.push_back(ex->now());
    }
};

// A frame of n bytes whose first payload byte (after a 14-byte header) is id.
void send(link::device& dev, std::uint8_t id, std::size_t n = 100) {
    auto p = dev.allocate();
    BOOST_REQUIRE(p);
    auto d = p->put(n);
    std::memset(d.data(), 0, n);
    d[14] = std::byte{id};
    dev.transmit(std::move(*p));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(link_tests)

BOOST_AUTO_TEST_CASE(packet_push_and_put_build_a_frame_in_the_headroom) {
    storage::packet_pool pool(2, 256, 64);
    auto p = pool.get();
    BOOST_REQUIRE(p);
    BOOST_TEST(pool.available() == 1u);
    std::memcpy(p->put(4).data(), "data", 4);
    std::memcpy(p->push(3).data(), "hdr", 3);
    BOOST_TEST(p->size() == 7u);
    BOOST_TEST(p->headroom() == 61u);
    BOOST_TEST(std::memcmp(p->data().data(), "hdrdata", 7) == 0);
    p->pull(3);
    BOOST_TEST(p->size() == 4u);
    { auto q = std::move(*p); }
    BOOST_TEST(pool.available() == 2u);
}

BOOST_AUTO_TEST_CASE(exhausted_pool_returns_nullopt) {
    storage::packet_pool pool(1, 128, 16);
    auto a = pool.get();
    BOOST_TEST(static_cast<bool>(a));
    BOOST_TEST(!pool.get().has_value());
}

BOOST_AUTO_TEST_CASE(sim_link_delivers_in_order_after_the_delay) {
    runtime::sim_loop sim;
    link::impairment imp;
    imp.delay = 5ms;
    link::sim_link wire{sim, imp, 1};
    recorder rb;
    rb.ex = &sim;
    wire.b().start(rb);
    const auto t0 = sim.now();
    for (std::uint8_t i = 0; i < 10; ++i) send(wire.a(), i);
    sim.run_until_idle();
    BOOST_REQUIRE(rb.frames.size() == 10u);
    for (std::uint8_t i = 0; i < 10; ++i) BOOST_TEST(std::to_integer<int>(rb.frames[i][14]) == i);
    BOOST_TEST((rb.times.front() - t0 == 5ms));
}

BOOST_AUTO_TEST_CASE(sim_link_impairments_are_deterministic_from_the_seed) {
    auto run = [](std::uint64_t seed) {
        runtime::sim_loop sim;
        link::impairment imp{.loss = 0.1, .duplicate = 0.05, .reorder = 0.1, .corrupt = 0.05};
        imp.jitter = 2ms;
        link::sim_link wire{sim, imp, seed};
        recorder ra, rb;
        wire.a().start(ra);
        wire.b().start(rb);
        for (int i = 0; i < 1000; ++i) send(wire.a(), static_cast<std::uint8_t>(i));
        sim.run_until_idle();
        return std::pair{rb.frames, wire.a_to_b().counters()};
    };
    auto [f1, c1] = run(42);
    auto [f2, c2] = run(42);
    auto [f3, c3] = run(43);
    BOOST_TEST((f1 == f2));
    BOOST_TEST((f1 != f3));
    BOOST_TEST(c1.dropped > 50u);
    BOOST_TEST(c1.dropped < 150u);
    BOOST_TEST(c1.duplicated > 10u);
    BOOST_TEST(c1.reordered > 40u);
    BOOST_TEST(c1.corrupted > 10u);
    BOOST_TEST(f1.size() == 1000 - c1.dropped + c1.duplicated);
}

BOOST_AUTO_TEST_CASE(impairment_rate_limit_spaces_frames_by_serialisation_time) {
    link::impairment imp;
    imp.rate_mbit = 8;  // 1 byte per microsecond
    link::impairment_model m{imp, 1};
    const runtime::time_point t{};
    BOOST_TEST((m.decide(1000, t).delay == 1000us));
    BOOST_TEST((m.decide(1000, t).delay == 2000us));
    BOOST_TEST((m.decide(1000, t + 5ms).delay == 1000us));
}

BOOST_AUTO_TEST_CASE(bottleneck_queue_of_three_packets_tail_drops_the_fourth_until_one_has_left) {
    link::impairment imp;
    imp.rate_mbit = 8;  // 1 byte per microsecond
    imp.queue_packets = 3;
    link::impairment_model m{imp, 1};
    const runtime::time_point t{};
    BOOST_TEST((m.decide(1000, t).delay == 1000us));  // being serialised: counts as queued
    BOOST_TEST((m.decide(1000, t).delay == 2000us));
    BOOST_TEST((m.decide(1000, t).delay == 3000us));
    BOOST_TEST(m.decide(1000, t).queue_drop);
    BOOST_TEST(m.decide(60, t + 999us).queue_drop);  // the first has not quite left
    BOOST_TEST(m.bottleneck().queued_packets() == 3u);
    // Once the first is out there is room for one more, behind the other two.
    const auto v = m.decide(1000, t + 1000us);
    BOOST_TEST(!v.queue_drop);
    BOOST_TEST((v.delay == 3000us));
    BOOST_TEST(m.counters().queue_drops == 2u);
    BOOST_TEST(m.counters().passed == 4u);
}

BOOST_AUTO_TEST_CASE(bottleneck_queue_in_bytes_admits_what_fits_and_drops_at_the_tail) {
    link::impairment imp;
    imp.rate_mbit = 8;
    imp.queue_bytes = 2500;
    link::impairment_model m{imp, 1};
    const runtime::time_point t{};
    BOOST_TEST(!m.decide(1000, t).queue_drop);
    BOOST_TEST(!m.decide(1000, t).queue_drop);
    BOOST_TEST(m.decide(1000, t).queue_drop);  // 3000 > 2500
    BOOST_TEST(!m.decide(400, t).queue_drop);  // 2400 fits
    BOOST_TEST(m.bottleneck().queued_bytes() == 2400u);
    BOOST_TEST(m.decide(200, t).queue_drop);
    BOOST_TEST((m.decide(1000, t + 2400us).delay == 1000us));  // drained: the link is idle again
    BOOST_TEST(m.counters().queue_drops == 2u);
}

BOOST_AUTO_TEST_CASE(policer_passes_its_burst_then_its_rate_and_drops_the_rest_without_delay) {
    link::impairment imp;
    imp.police_mbit = 8;  // 1 byte per microsecond
    imp.police_burst = 3000;
    imp.delay = 5ms;
    link::impairment_model m{imp, 1};
    const runtime::time_point t{};
    // The bucket starts full: three frames pass at once, none queued behind another.
    for (int i = 0; i < 3; ++i) {
        const auto v = m.decide(1000, t);
        BOOST_TEST(!v.police_drop);
        BOOST_TEST((v.delay == 5ms));
    }
    BOOST_TEST(m.decide(1000, t).police_drop);
    BOOST_TEST(m.decide(1000, t + 999us).police_drop);  // 999 bytes of tokens so far
    BOOST_TEST(!m.decide(1000, t + 1000us).police_drop);
    // A long pause refills the bucket only to its depth.
    for (int i = 0; i < 3; ++i) BOOST_TEST(!m.decide(1000, t + 1s).police_drop);
    BOOST_TEST(m.decide(100, t + 1s).police_drop);
    BOOST_TEST(m.counters().police_drops == 3u);
    BOOST_TEST(m.counters().queue_drops == 0u);
    BOOST_TEST(m.counters().passed == 7u);
}

BOOST_AUTO_TEST_CASE(a_duplicate_takes_its_own_tokens_from_the_policer) {
    link::impairment imp{.duplicate = 1};
    imp.police_mbit = 8;
    imp.police_burst = 3000;
    link::impairment_model m{imp, 1};
    const runtime::time_point t{};
    const auto first = m.decide(1000, t);  // the original and its copy: 2000 of the 3000 tokens
    BOOST_TEST(!first.police_drop);
    BOOST_TEST(first.duplicate_delay.has_value());
    const auto second = m.decide(1000, t);  // the original takes the last 1000, none left for its copy
    BOOST_TEST(!second.police_drop);
    BOOST_TEST(second.duplicate);
    BOOST_TEST(!second.duplicate_delay);
    BOOST_TEST(second.duplicate_police_drop);
    BOOST_TEST(m.counters().police_drops == 1u);
    BOOST_TEST(m.counters().queue_drops == 0u);
}

BOOST_AUTO_TEST_CASE(a_duplicate_queues_behind_its_original_and_can_be_tail_dropped) {
    link::impairment imp{.duplicate = 1};
    imp.rate_mbit = 8;
    imp.queue_packets = 3;
    imp.delay = 10ms;
    link::impairment_model m{imp, 1};
    const runtime::time_point t{};
    const auto first = m.decide(1000, t);
    BOOST_TEST((first.delay == 11ms));
    BOOST_REQUIRE(first.duplicate_delay);
    BOOST_TEST((*first.duplicate_delay == 12ms));
    const auto second = m.decide(1000, t);  // the third place is the original's, none for its copy
    BOOST_TEST((second.delay == 13ms));
    BOOST_TEST(second.duplicate);
    BOOST_TEST(!second.duplicate_delay);
    BOOST_TEST(m.counters().duplicated == 2u);
    BOOST_TEST(m.counters().queue_drops == 1u);
}

BOOST_AUTO_TEST_CASE(queue_limits_mean_nothing_without_a_rate) {
    link::impairment imp;
    imp.queue_packets = 1;
    link::impairment_model m{imp, 1};
    for (int i = 0; i < 10; ++i) BOOST_TEST(!m.decide(1500, runtime::time_point{}).queue_drop);
}

// On the simulated wire: frames sent at once leave the bottleneck one
// serialisation time apart, then take the propagation delay; those beyond
// the queue never arrive.
BOOST_AUTO_TEST_CASE(sim_link_spaces_frames_by_the_rate_and_drops_beyond_the_queue) {
    runtime::sim_loop sim;
    link::impairment imp;
    imp.rate_mbit = 8;  // a 100-byte frame takes 100 us
    imp.queue_packets = 4;
    imp.delay = 5ms;
    link::sim_link wire{sim, imp, 1};
    recorder rb;
    rb.ex = &sim;
    wire.b().start(rb);
    const auto t0 = sim.now();
    for (std::uint8_t i = 0; i < 10; ++i) send(wire.a(), i);
    sim.run_until_idle();
    BOOST_REQUIRE(rb.frames.size() == 4u);
    for (std::size_t i = 0; i < 4; ++i) {
        BOOST_TEST(std::to_integer<std::size_t>(rb.frames[i][14]) == i);
        BOOST_TEST((rb.times[i] - t0 == 5ms + (i + 1) * 100us));
    }
    BOOST_TEST(wire.a_to_b().counters().queue_drops == 6u);
}

BOOST_AUTO_TEST_SUITE_END()
