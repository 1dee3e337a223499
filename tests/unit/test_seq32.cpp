// seq32: sequence-number arithmetic modulo 2^32 (RFC 9293 3.4).
#include <boost/test/unit_test.hpp>
#include <coronet/wire/seq32.hpp>
#include <type_traits>

using coronet::wire::in_window;
using coronet::wire::seq32;

static_assert(!std::is_convertible_v<std::uint32_t, seq32>, "no implicit conversion");
static_assert(seq32{0xffffffff} < seq32{0}, "comparison is constexpr and wrap-safe");
static_assert(in_window(seq32{1}, seq32{0xffffffff}, 4), "in_window is constexpr");

BOOST_AUTO_TEST_SUITE(wire_seq32)

BOOST_AUTO_TEST_CASE(order_holds_up_to_half_the_space) {
    const seq32 zero{0};
    BOOST_TEST(zero < seq32{0x7fffffff});
    BOOST_TEST(seq32{0x7fffffff} > zero);
    BOOST_TEST(zero > seq32{0x80000001});  // more than 2^31 ahead reads as behind
    BOOST_TEST(seq32{0x80000001} < zero);
    BOOST_TEST((seq32{0x7fffffff} - zero) == 0x7fffffff);
    BOOST_TEST((seq32{0x80000001} - zero) == -0x7fffffff);
}

BOOST_AUTO_TEST_CASE(numbers_exactly_half_apart_are_each_before_the_other) {
    const seq32 a{0}, b{0x80000000};
    BOOST_TEST(a < b);
    BOOST_TEST(b < a);
    BOOST_TEST(a > b);
    BOOST_TEST(a <= b);
    BOOST_TEST(a >= b);
}

BOOST_AUTO_TEST_CASE(order_holds_across_the_wrap) {
    const seq32 before_wrap{0xfffffff0}, after_wrap{0x10};
    BOOST_TEST(before_wrap < after_wrap);
    BOOST_TEST(after_wrap > before_wrap);
    BOOST_TEST(before_wrap <= after_wrap);
    BOOST_TEST(after_wrap >= before_wrap);
    BOOST_TEST(!(after_wrap < before_wrap));
    BOOST_TEST((after_wrap - before_wrap) == 0x20);
    BOOST_TEST((before_wrap - after_wrap) == -0x20);
}

BOOST_AUTO_TEST_CASE(equal_numbers_compare_equal_not_less) {
    const seq32 a{12345}, b{12345};
    BOOST_TEST(a == b);
    BOOST_TEST(!(a < b));
    BOOST_TEST(!(a > b));
    BOOST_TEST(a <= b);
    BOOST_TEST(a >= b);
}

BOOST_AUTO_TEST_CASE(addition_and_subtraction_wrap) {
    BOOST_TEST(seq32{0xfffffff0} + 0x20 == seq32{0x10});
    BOOST_TEST(seq32{0x10} - 0x20 == seq32{0xfffffff0});
    seq32 s{0xffffffff};
    s += 1;
    BOOST_TEST(s == seq32{0});
    s -= 2;
    BOOST_TEST(s == seq32{0xfffffffe});
}

BOOST_AUTO_TEST_CASE(in_window_is_half_open_across_the_wrap) {
    const seq32 start{0xfffffffc};
    BOOST_TEST(in_window(start, start, 8));
    BOOST_TEST(in_window(seq32{0xffffffff}, start, 8));
    BOOST_TEST(in_window(seq32{0}, start, 8));
    BOOST_TEST(in_window(seq32{3}, start, 8));
    BOOST_TEST(!in_window(seq32{4}, start, 8));  // start + len is outside
    BOOST_TEST(!in_window(seq32{0xfffffffb}, start, 8));
}

BOOST_AUTO_TEST_CASE(in_window_with_zero_length_is_always_false) {
    BOOST_TEST(!in_window(seq32{5}, seq32{5}, 0));
    BOOST_TEST(!in_window(seq32{0}, seq32{0xffffffff}, 0));
}

BOOST_AUTO_TEST_CASE(seq_max_and_min_respect_the_wrap) {
    BOOST_TEST(coronet::wire::seq_max(seq32{0xfffffff0}, seq32{0x10}) == seq32{0x10});
    BOOST_TEST(coronet::wire::seq_min(seq32{0xfffffff0}, seq32{0x10}) == seq32{0xfffffff0});
}

BOOST_AUTO_TEST_SUITE_END()
