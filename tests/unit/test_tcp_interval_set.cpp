#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <coronet/tcp/interval_set.hpp>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

using coronet::tcp::interval_set;
using coronet::tcp::seq_range;
using coronet::wire::seq32;

namespace {

// Sequence numbers just below the 2^32 wrap, so that every test crosses it.
constexpr std::uint32_t base = 0xffffff00;

// The range [base + l, base + r).
seq_range rel(std::uint32_t l, std::uint32_t r) { return seq_range{seq32{base + l}, seq32{base + r}}; }

bool add(interval_set& s, std::uint32_t l, std::uint32_t r) { return s.add(seq32{base + l}, seq32{base + r}); }

std::vector<seq_range> ranges_of(const interval_set& s) { return {s.ranges().begin(), s.ranges().end()}; }

// The ranges that bits [from, to) of a bitmap of held bytes (bit i: byte
// base + i) describe, ascending.
std::vector<seq_range> ranges_of_bits(const std::vector<bool>& held, std::uint32_t from, std::uint32_t to) {
    std::vector<seq_range> out;
    for (std::uint32_t i = from; i < to; ++i) {
        if (!held[i]) continue;
        if (!out.empty() && out.back().right == seq32{base + i}) {
            out.back().right += 1;
        } else {
            out.push_back(rel(i, i + 1));
        }
    }
    return out;
}

std::vector<seq_range> sack_of(const interval_set& s, std::size_t n) {
    std::vector<seq_range> out(n);
    out.resize(s.sack_blocks(out));
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_interval_set)

BOOST_AUTO_TEST_CASE(disjoint_ranges_stay_separate_and_sorted) {
    interval_set s;
    BOOST_TEST(add(s, 300, 400));
    BOOST_TEST(add(s, 100, 200));
    BOOST_TEST(add(s, 500, 600));
    BOOST_TEST(ranges_of(s) == (std::vector{rel(100, 200), rel(300, 400), rel(500, 600)}),
               boost::test_tools::per_element());
    BOOST_TEST(s.count() == 3u);
    BOOST_TEST(s.bytes() == 300u);
}

BOOST_AUTO_TEST_CASE(overlapping_adjacent_and_contained_ranges_merge) {
    interval_set s;
    add(s, 100, 200);
    add(s, 150, 250);  // overlaps the end
    BOOST_TEST(ranges_of(s) == (std::vector{rel(100, 250)}), boost::test_tools::per_element());
    add(s, 250, 260);  // adjacent after
    add(s, 90, 100);   // adjacent before
    BOOST_TEST(ranges_of(s) == (std::vector{rel(90, 260)}), boost::test_tools::per_element());
    add(s, 120, 130);  // contained
    BOOST_TEST(ranges_of(s) == (std::vector{rel(90, 260)}), boost::test_tools::per_element());
    add(s, 50, 300);  // contains
    BOOST_TEST(ranges_of(s) == (std::vector{rel(50, 300)}), boost::test_tools::per_element());
    BOOST_TEST(s.bytes() == 250u);
}

BOOST_AUTO_TEST_CASE(a_range_bridging_several_merges_them_all) {
    interval_set s;
    add(s, 0, 10);
    add(s, 20, 30);
    add(s, 40, 50);
    add(s, 60, 70);
    BOOST_TEST(add(s, 10, 45));  // touches the first, swallows the second, overlaps the third
    BOOST_TEST(ranges_of(s) == (std::vector{rel(0, 50), rel(60, 70)}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ranges_across_the_wrap_merge_and_order_correctly) {
    interval_set s;
    // base + 0x100 is 0: these straddle and follow the wrap.
    BOOST_TEST(s.add(seq32{10}, seq32{20}));
    BOOST_TEST(s.add(seq32{0xfffffff0}, seq32{5}));
    BOOST_TEST(ranges_of(s) == (std::vector{seq_range{seq32{0xfffffff0}, seq32{5}}, seq_range{seq32{10}, seq32{20}}}),
               boost::test_tools::per_element());
    BOOST_TEST(s.bytes() == 31u);
    BOOST_TEST(s.add(seq32{5}, seq32{10}));
    BOOST_TEST(ranges_of(s) == (std::vector{seq_range{seq32{0xfffffff0}, seq32{20}}}),
               boost::test_tools::per_element());
    BOOST_TEST(s.bytes() == 36u);
}

BOOST_AUTO_TEST_CASE(empty_range_is_a_no_op) {
    interval_set s(1);
    add(s, 10, 20);
    BOOST_TEST(add(s, 50, 50));
    BOOST_TEST(ranges_of(s) == (std::vector{rel(10, 20)}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(take_contiguous_removes_the_run_at_rcv_nxt) {
    interval_set s;
    add(s, 100, 200);
    add(s, 300, 400);
    BOOST_TEST(s.take_contiguous(seq32{base + 50}) == 0u);  // a hole before the first range
    BOOST_TEST(s.count() == 2u);
    BOOST_TEST(s.take_contiguous(seq32{base + 100}) == 100u);
    BOOST_TEST(ranges_of(s) == (std::vector{rel(300, 400)}), boost::test_tools::per_element());
    // rcv_nxt inside a range: only the part beyond rcv_nxt counts.
    BOOST_TEST(s.take_contiguous(seq32{base + 350}) == 50u);
    BOOST_TEST(s.empty());
}

BOOST_AUTO_TEST_CASE(take_contiguous_drops_ranges_wholly_below_rcv_nxt) {
    interval_set s;
    add(s, 100, 200);
    add(s, 250, 300);
    add(s, 400, 500);
    BOOST_TEST(s.take_contiguous(seq32{base + 260}) == 40u);
    BOOST_TEST(ranges_of(s) == (std::vector{rel(400, 500)}), boost::test_tools::per_element());
    BOOST_TEST(s.take_contiguous(seq32{base + 600}) == 0u);
    BOOST_TEST(s.empty());
}

BOOST_AUTO_TEST_CASE(discard_below_drops_ranges_and_trims_the_straddler) {
    interval_set s;
    add(s, 100, 200);
    add(s, 300, 400);
    add(s, 500, 600);
    s.discard_below(seq32{base + 350});
    BOOST_TEST(ranges_of(s) == (std::vector{rel(350, 400), rel(500, 600)}), boost::test_tools::per_element());
    s.discard_below(seq32{base + 400});  // exactly the end of a range drops it
    BOOST_TEST(ranges_of(s) == (std::vector{rel(500, 600)}), boost::test_tools::per_element());
    s.discard_below(seq32{base + 10});  // below everything: nothing changes
    BOOST_TEST(ranges_of(s) == (std::vector{rel(500, 600)}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(remove_takes_out_exactly_the_bytes_held_in_a_span) {
    interval_set s;
    add(s, 100, 200);
    add(s, 300, 400);
    add(s, 500, 600);
    BOOST_TEST(s.remove(seq32{base + 150}, seq32{base + 350}) == 100u);  // two trims
    BOOST_TEST(ranges_of(s) == (std::vector{rel(100, 150), rel(350, 400), rel(500, 600)}),
               boost::test_tools::per_element());
    BOOST_TEST(s.remove(seq32{base + 150}, seq32{base + 350}) == 0u);   // the same span again: nothing left there
    BOOST_TEST(s.remove(seq32{base + 520}, seq32{base + 530}) == 10u);  // a split
    BOOST_TEST(s.remove(seq32{base + 0}, seq32{base + 1000}) == 190u);  // all of it
    BOOST_TEST(s.empty());
}

BOOST_AUTO_TEST_CASE(remove_refuses_a_split_beyond_max_ranges_and_changes_nothing) {
    interval_set s(2);
    add(s, 100, 200);
    add(s, 300, 400);
    BOOST_TEST(s.remove(seq32{base + 120}, seq32{base + 130}) == 0u);
    BOOST_TEST(ranges_of(s) == (std::vector{rel(100, 200), rel(300, 400)}), boost::test_tools::per_element());
    BOOST_TEST(s.remove(seq32{base + 100}, seq32{base + 130}) == 30u);  // a trim needs no room
}

BOOST_AUTO_TEST_CASE(refuses_a_range_beyond_max_ranges_and_changes_nothing) {
    interval_set s(3);
    BOOST_TEST(add(s, 0, 10));
    BOOST_TEST(add(s, 20, 30));
    BOOST_TEST(add(s, 40, 50));
    const auto before = ranges_of(s);
    const auto sack_before = sack_of(s, 4);
    BOOST_TEST(!add(s, 60, 70));
    BOOST_TEST(!add(s, 12, 18));
    BOOST_TEST(ranges_of(s) == (before), boost::test_tools::per_element());
    BOOST_TEST(sack_of(s, 4) == (sack_before), boost::test_tools::per_element());
    // Ranges that merge need no new slot, so they are still accepted.
    BOOST_TEST(add(s, 10, 20));
    BOOST_TEST(add(s, 45, 70));
    BOOST_TEST(ranges_of(s) == (std::vector{rel(0, 30), rel(40, 70)}), boost::test_tools::per_element());
    BOOST_TEST(add(s, 100, 110));
}

BOOST_AUTO_TEST_CASE(sack_blocks_put_the_most_recently_added_first) {
    interval_set s;
    add(s, 100, 200);  // A
    add(s, 300, 400);  // B
    add(s, 500, 600);  // C
    BOOST_TEST(sack_of(s, 4) == (std::vector{rel(500, 600), rel(300, 400), rel(100, 200)}),
               boost::test_tools::per_element());
    add(s, 400, 450);  // B grows: it took the latest data
    BOOST_TEST(sack_of(s, 4) == (std::vector{rel(300, 450), rel(500, 600), rel(100, 200)}),
               boost::test_tools::per_element());
    add(s, 120, 130);  // a duplicate inside A still makes A the latest (RFC 2018 4)
    BOOST_TEST(sack_of(s, 2) == (std::vector{rel(100, 200), rel(300, 450)}), boost::test_tools::per_element());
    add(s, 200, 300);  // A and B merge into the latest block
    BOOST_TEST(sack_of(s, 3) == (std::vector{rel(100, 450), rel(500, 600)}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sack_blocks_after_the_front_is_taken) {
    interval_set s;
    add(s, 300, 400);
    add(s, 100, 200);
    add(s, 500, 600);
    s.take_contiguous(seq32{base + 100});
    BOOST_TEST(sack_of(s, 3) == (std::vector{rel(500, 600), rel(300, 400)}), boost::test_tools::per_element());
    std::array<seq_range, 0> none{};
    BOOST_TEST(s.sack_blocks(none) == 0u);
}

BOOST_AUTO_TEST_CASE(clear_empties_the_set) {
    interval_set s;
    add(s, 1, 2);
    add(s, 5, 9);
    s.clear();
    BOOST_TEST(s.empty());
    BOOST_TEST(s.bytes() == 0u);
    BOOST_TEST(sack_of(s, 4).empty());
}

// Random adds and takes sliding across the wrap, checked against a bitmap.
BOOST_AUTO_TEST_CASE(random_operations_match_a_bitmap_model) {
    constexpr std::uint32_t window = 400;  // adds land within this distance of rcv_nxt
    std::mt19937 rng(7);
    auto pick = [&](std::uint32_t lo, std::uint32_t hi) {
        return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
    };
    interval_set s(6);
    std::vector<bool> held(100'000);
    std::uint32_t rcv_nxt = 0;  // offset from base; nothing below it is held
    int refused = 0;
    for (int op = 0; op < 20'000 && rcv_nxt + 2 * window < held.size(); ++op) {
        if (pick(0, 9) < 8) {
            const std::uint32_t l = rcv_nxt + pick(1, window), r = l + pick(0, 19);
            auto next = held;
            std::fill(next.begin() + l, next.begin() + r, true);
            const bool fits = ranges_of_bits(next, rcv_nxt, rcv_nxt + 2 * window).size() <= s.max_ranges();
            BOOST_REQUIRE_EQUAL(add(s, l, r), fits);
            if (fits) held = std::move(next);
            refused += fits ? 0 : 1;
        } else {
            // rcv_nxt advances a little, as in-order data would; then what follows is taken.
            const std::uint32_t from = rcv_nxt;
            rcv_nxt += pick(0, 3);
            std::fill(held.begin() + from, held.begin() + rcv_nxt, false);
            std::uint32_t run = 0;
            while (held[rcv_nxt + run]) held[rcv_nxt + run++] = false;
            BOOST_REQUIRE_EQUAL(s.take_contiguous(seq32{base + rcv_nxt}), run);
            rcv_nxt += run;
        }
        const auto expected = ranges_of_bits(held, rcv_nxt, rcv_nxt + 2 * window);
        BOOST_REQUIRE(std::equal(expected.begin(), expected.end(), s.ranges().begin(), s.ranges().end()));
        const auto in_window = std::count(held.begin() + rcv_nxt, held.begin() + rcv_nxt + 2 * window, true);
        BOOST_REQUIRE_EQUAL(s.bytes(), static_cast<std::uint64_t>(in_window));
    }
    BOOST_TEST(rcv_nxt > 256u);  // the run crossed the wrap
    BOOST_TEST(refused > 0);     // and the bound was reached
}

BOOST_AUTO_TEST_SUITE_END()
