// The sender's scoreboard against RFC 6675's rules (pipe, IsLost via RACK,
// NextSeg rule 1) and RFC 8985's loss detection; PRR's arithmetic (RFC 6937).
#include <boost/test/unit_test.hpp>
#include <coronet/tcp/recovery.hpp>
#include <coronet/tcp/scoreboard.hpp>
#include <vector>

#include "support/boost_print.hpp"

using namespace coronet;
using tcp::scoreboard;
using tcp::seq_range;
using wire::seq32;
using namespace std::chrono_literals;

namespace {
const runtime::time_point first_sent{1s};
const seq32 wrap_base = seq32{0u - 3000};  // the runs cross the 2^32 wrap

// Ten 1000-byte segments, sent 1 ms apart.
scoreboard ten_segments() {
    scoreboard b;
    for (std::uint32_t i = 0; i < 10; ++i)
        b.sent(wrap_base + i * 1000, wrap_base + (i + 1) * 1000, first_sent + i * 1ms);
    return b;
}
std::vector<seq_range> blocks(std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> l) {
    std::vector<seq_range> v;
    for (auto [a, b] : l) v.push_back({wrap_base + a, wrap_base + b});
    return v;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_scoreboard)

BOOST_AUTO_TEST_CASE(pipe_counts_what_is_neither_sacked_nor_lost_and_resends_again) {
    scoreboard b = ten_segments();
    BOOST_TEST(b.pipe() == 10000u);
    auto d = b.on_ack(wrap_base + 1000, blocks({{3000, 5000}, {7000, 8000}}));
    BOOST_TEST(d.acked == 1000u);
    BOOST_TEST(d.sacked == 3000u);
    BOOST_TEST(b.sacked_bytes() == 3000u);
    BOOST_TEST(b.outstanding() == 9000u);
    BOOST_TEST(b.pipe() == 6000u);
    BOOST_TEST(*b.highest_sacked() == wrap_base + 8000);
    BOOST_REQUIRE(d.newest.has_value());
    BOOST_TEST(d.newest->end == wrap_base + 8000);  // the most recently sent among those delivered
    // IsLost as RACK decides it (RFC 8985 6.2 step 5): sent before the newest
    // delivery (the segment ending at 8000, sent at 7 ms) and out for 5 ms.
    const auto r = b.detect(d.newest->order, wrap_base + 8000, 5ms, first_sent + 10ms + 500us);
    BOOST_TEST(r.newly_lost == 3000u);  // sent at 1, 2 and 5 ms
    BOOST_TEST((r.next == 500us));      // the one sent at 6 ms is due in 0.5 ms
    BOOST_TEST(b.lost_bytes() == 3000u);
    BOOST_TEST(b.pipe() == 3000u);  // 9000 - 3000 SACKed - 3000 lost
    // NextSeg rule 1: the first lost run not resent yet.
    BOOST_TEST((*b.next_lost(5000) == seq_range{wrap_base + 1000, wrap_base + 2000}));
    b.resent(wrap_base + 1000, wrap_base + 2000, first_sent + 11ms);
    BOOST_TEST(b.pipe() == 4000u);  // a resend is in the network again
    BOOST_TEST((*b.next_lost(500) == seq_range{wrap_base + 2000, wrap_base + 2500}));
    // A later detection does not mark the resend lost before its own RTT.
    BOOST_TEST(b.detect(d.newest->order, wrap_base + 8000, 5ms, first_sent + 12ms).newly_lost ==
               1000u);  // the 6 ms one
    BOOST_TEST(b.lost_bytes() == 4000u);
}

BOOST_AUTO_TEST_CASE(a_timeout_marks_all_but_sacked_data_lost_and_reneging_forgets_sacks) {
    scoreboard b = ten_segments();
    b.on_ack(wrap_base, blocks({{3000, 5000}}));
    BOOST_TEST(b.mark_all_lost() == 8000u);  // the bytes newly marked
    BOOST_TEST(b.lost_bytes() == 8000u);
    BOOST_TEST(b.mark_all_lost() == 0u);  // a second timeout finds them lost already
    BOOST_TEST(b.pipe() == 0u);
    BOOST_TEST((*b.next_lost(1000) == seq_range{wrap_base, wrap_base + 1000}));
    b.forget_sacks();
    BOOST_TEST(b.sacked_bytes() == 0u);
    BOOST_TEST(b.pipe() == 2000u);  // the formerly SACKed data counts as in flight again
    b.unmark_lost();
    BOOST_TEST(b.pipe() == 10000u);
}

BOOST_AUTO_TEST_CASE(cumulative_ack_counts_only_bytes_not_sacked_before) {
    scoreboard b = ten_segments();
    b.on_ack(wrap_base + 1000, blocks({{3000, 5000}}));
    const auto d = b.on_ack(wrap_base + 6000, {});
    BOOST_TEST(d.acked == 3000u);  // [1000, 3000) and [5000, 6000)
    BOOST_TEST(d.sacked == 0u);
    BOOST_TEST(b.sacked_bytes() == 0u);
    BOOST_TEST(!b.highest_sacked());
    BOOST_TEST(b.outstanding() == 4000u);
    // Part of a run: its front goes.
    BOOST_TEST(b.on_ack(wrap_base + 6500, {}).acked == 500u);
    BOOST_TEST(b.runs().front().start == wrap_base + 6500);
}

BOOST_AUTO_TEST_CASE(an_original_arriving_below_sacked_data_is_reordering) {
    scoreboard b = ten_segments();
    BOOST_TEST(!b.on_ack(wrap_base, blocks({{5000, 6000}})).reordered);
    BOOST_TEST(b.on_ack(wrap_base, blocks({{2000, 3000}, {5000, 6000}})).reordered);
    // A resend arriving there says nothing about order.
    b.resent(wrap_base, wrap_base + 1000, first_sent + 20ms);
    BOOST_TEST(!b.on_ack(wrap_base + 1000, blocks({{2000, 3000}, {5000, 6000}})).reordered);
}

BOOST_AUTO_TEST_CASE(runs_are_bounded_and_sack_edges_past_the_bound_are_ignored) {
    scoreboard b(4);
    b.sent(wrap_base, wrap_base + 10000, first_sent);
    BOOST_TEST(b.on_ack(wrap_base, blocks({{1000, 2000}})).sacked == 1000u);  // three runs
    BOOST_TEST(b.runs().size() == 3u);
    BOOST_TEST(b.on_ack(wrap_base, blocks({{5000, 6000}})).sacked == 0u);  // would need five
    BOOST_TEST(b.runs().size() <= 4u);
    BOOST_TEST(b.split_refused() == 1u);
    BOOST_TEST(b.sacked_bytes() == 1000u);
}

BOOST_AUTO_TEST_CASE(a_resend_the_bound_cannot_cut_marks_only_the_run_it_went_out_in) {
    scoreboard b(4);
    b.sent(wrap_base, wrap_base + 10000, first_sent);
    b.on_ack(wrap_base, blocks({{1000, 2000}}));
    b.mark_all_lost();
    b.on_ack(wrap_base, blocks({{3000, 4000}}));  // cuts at 3000; the bound refuses 4000
    BOOST_REQUIRE(b.runs().size() == 4u);  // [0, 1000) lost, [1000, 2000) SACKed, [2000, 3000), [3000, 10000) lost
    b.resent(wrap_base, wrap_base + 500, first_sent + 1ms);  // the cut at 500 is refused too
    // The run that held the resend counts as out again; the lost runs after
    // it are still to be resent, and nothing else changed.
    BOOST_TEST(b.retransmitted_bytes() == 1000u);
    BOOST_TEST((*b.next_lost(1000) == seq_range{wrap_base + 2000, wrap_base + 3000}));
    BOOST_TEST((b.runs()[2].sent == first_sent));
    // A probe of the tail, whose start cannot be cut either.
    b.resent(wrap_base + 9000, wrap_base + 10000, first_sent + 2ms);
    BOOST_TEST(b.retransmitted_bytes() == 8000u);
    BOOST_TEST((*b.next_lost(1000) == seq_range{wrap_base + 2000, wrap_base + 3000}));
}

BOOST_AUTO_TEST_CASE(runs_sent_in_one_turn_are_one_run) {
    scoreboard b;
    b.sent(wrap_base, wrap_base + 1000, first_sent);
    b.sent(wrap_base + 1000, wrap_base + 2000, first_sent);
    b.sent(wrap_base + 2000, wrap_base + 3000, first_sent + 1ms);
    BOOST_TEST(b.runs().size() == 2u);
    BOOST_TEST(b.outstanding() == 3000u);
}

BOOST_AUTO_TEST_CASE(prr_sends_in_proportion_then_slow_starts_back_to_ssthresh) {
    tcp::prr_state prr;
    prr.start(20000);  // RecoverFS, ssthresh 10000, MSS 1000
    // The first ACK always lets the fast retransmit out.
    BOOST_TEST(prr.on_ack(1000, 19000, 10000, 1000) == 20000u);
    prr.sent(1000);
    // Then about one segment per two delivered (ssthresh / RecoverFS = 1/2).
    BOOST_TEST(prr.on_ack(1000, 19000, 10000, 1000) == 19000u);  // CEIL(2000 / 2) - 1000 = 0
    BOOST_TEST(prr.on_ack(1000, 18000, 10000, 1000) == 18500u);  // CEIL(3000 / 2) - 1000 = 500
    prr.sent(500);
    // Below ssthresh (PRR-SSRB): at most what was delivered plus one MSS, up to ssthresh.
    BOOST_TEST(prr.on_ack(1000, 8000, 10000, 1000) == 10000u);  // min(2000, max(4000 - 1500, 1000) + 1000)
    BOOST_TEST(prr.on_ack(1000, 9500, 10000, 1000) == 10000u);  // min(500, ...)
}

BOOST_AUTO_TEST_CASE(rack_reordering_window_is_zero_until_reordering_then_grows_with_dsacks) {
    tcp::rack_state rack;
    scoreboard::run r{.start = wrap_base, .end = wrap_base + 1000, .sent = first_sent};
    rack.on_delivered(r, first_sent + 20ms);
    BOOST_TEST((rack.rtt() == 20ms));
    BOOST_TEST((rack.min_rtt() == 20ms));
    // Before any reordering: a quarter min_rtt outside recovery with few SACKed, 0 otherwise.
    BOOST_TEST((rack.reo_wnd(false, 1000, 1000, 30ms) == 5ms));
    BOOST_TEST((rack.reo_wnd(true, 1000, 1000, 30ms) == 0ms));
    BOOST_TEST((rack.reo_wnd(false, 3000, 1000, 30ms) == 0ms));
    rack.saw_reordering();
    BOOST_TEST((rack.reo_wnd(true, 3000, 1000, 30ms) == 5ms));
    rack.on_dsack(wrap_base, wrap_base + 5000);
    BOOST_TEST((rack.reo_wnd(true, 3000, 1000, 30ms) == 10ms));
    rack.on_dsack(wrap_base + 1000, wrap_base + 5000);  // the same round: no more
    BOOST_TEST(rack.multiplier() == 2u);
    BOOST_TEST((rack.reo_wnd(true, 3000, 1000, 8ms) == 8ms));  // never above SRTT
    for (int i = 0; i < 16; ++i) rack.on_recovery_end();
    BOOST_TEST(rack.multiplier() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
