#include <array>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <coronet/tcp/isn.hpp>
#include <cstdint>
#include <set>

using boost::asio::ip::make_address_v4;
using coronet::tcp::isn_generator;
using coronet::tcp::siphash24;
using coronet::wire::seq32;
using namespace std::chrono_literals;

namespace {

// The key of the SipHash paper's test vectors: 00 01 02 ... 0f.
std::array<std::uint8_t, 16> paper_key() {
    std::array<std::uint8_t, 16> k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i);
    return k;
}

const auto local = make_address_v4("10.0.0.1");
const auto remote = make_address_v4("10.0.0.2");
const coronet::runtime::time_point isn_epoch = coronet::runtime::time_point{} + 1234567us;

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_isn)

BOOST_AUTO_TEST_CASE(siphash24_matches_the_paper_vectors) {
    std::array<std::byte, 15> msg{};
    for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = std::byte(i);
    BOOST_TEST(siphash24(paper_key(), msg) == 0xa129ca6149be45e5u);  // SipHash paper, appendix A
    BOOST_TEST(siphash24(paper_key(), {}) == 0x726fdb47dd0e0e31u);   // the empty message
}

BOOST_AUTO_TEST_CASE(siphash24_covers_whole_words_and_every_tail_length) {
    // Messages of 0..20 bytes all hash differently (the length is in the last word).
    std::array<std::byte, 20> msg{};
    std::set<std::uint64_t> seen;
    for (std::size_t n = 0; n <= msg.size(); ++n) seen.insert(siphash24(paper_key(), std::span{msg}.first(n)));
    BOOST_TEST(seen.size() == 21u);
}

BOOST_AUTO_TEST_CASE(same_tuple_four_microseconds_later_gives_the_next_isn) {
    const isn_generator gen(paper_key());
    const seq32 a = gen.next(local, 40000, remote, 80, isn_epoch);
    BOOST_TEST(gen.next(local, 40000, remote, 80, isn_epoch) == a);  // a pure function of tuple and time
    BOOST_TEST(gen.next(local, 40000, remote, 80, isn_epoch + 4us) == a + 1);
    BOOST_TEST(gen.next(local, 40000, remote, 80, isn_epoch + 4ms) == a + 1000);
}

BOOST_AUTO_TEST_CASE(different_tuples_give_different_isns) {
    const isn_generator gen(paper_key());
    std::set<std::uint32_t> seen;
    seen.insert(gen.next(local, 40000, remote, 80, isn_epoch).value);
    seen.insert(gen.next(local, 40001, remote, 80, isn_epoch).value);
    seen.insert(gen.next(local, 40000, remote, 81, isn_epoch).value);
    seen.insert(gen.next(remote, 40000, local, 80, isn_epoch).value);
    seen.insert(gen.next(make_address_v4("10.0.0.3"), 40000, remote, 80, isn_epoch).value);
    seen.insert(gen.next(local, 80, remote, 40000, isn_epoch).value);  // ports swapped
    BOOST_TEST(seen.size() == 6u);
}

BOOST_AUTO_TEST_CASE(the_secret_changes_the_output) {
    auto other = paper_key();
    other[0] ^= 1;
    const seq32 a = isn_generator(paper_key()).next(local, 40000, remote, 80, isn_epoch);
    const seq32 b = isn_generator(other).next(local, 40000, remote, 80, isn_epoch);
    BOOST_TEST(a != b);
}

BOOST_AUTO_TEST_CASE(a_randomly_keyed_generator_still_ticks_every_four_microseconds) {
    const isn_generator gen(coronet::runtime::random_source::from_entropy().key());
    const seq32 a = gen.next(local, 40000, remote, 80, isn_epoch);
    BOOST_TEST(gen.next(local, 40000, remote, 80, isn_epoch + 40us) == a + 10);
}

BOOST_AUTO_TEST_CASE(a_seeded_random_source_replays_and_seeds_differ) {
    coronet::runtime::random_source a(42), b(42), c(43);
    for (int i = 0; i < 100; ++i) {
        const std::uint64_t x = a.next();
        BOOST_TEST(x == b.next());
        BOOST_TEST(x != c.next());
    }
    BOOST_TEST(a.seed() == 42u);
    coronet::runtime::random_source d(7);
    for (int i = 0; i < 1000; ++i) BOOST_TEST(d.below(10) < 10u);
}

BOOST_AUTO_TEST_CASE(entropy_sources_differ) {
    BOOST_TEST(coronet::runtime::random_source::from_entropy().key() !=
               coronet::runtime::random_source::from_entropy().key());
}

BOOST_AUTO_TEST_CASE(a_syn_cookie_checks_in_its_period_and_the_next_and_remembers_the_mss_index) {
    const isn_generator gen(paper_key());
    const auto tuple = isn_generator::tuple(local, 80, remote, 40000);
    const seq32 peer{123456789};
    for (unsigned index = 0; index < 8; ++index) {
        const seq32 c = gen.cookie(tuple, peer, 1000, index);
        BOOST_TEST(gen.check_cookie(tuple, peer, c, 1000) == static_cast<int>(index));
        BOOST_TEST(gen.check_cookie(tuple, peer, c, 1001) == static_cast<int>(index));
        BOOST_TEST(gen.check_cookie(tuple, peer, c, 1002) == -1);  // too old
        BOOST_TEST(gen.check_cookie(tuple, peer, c, 999) == -1);   // from the future
        BOOST_TEST(gen.check_cookie(tuple, peer + 1, c, 1000) == -1);
        BOOST_TEST(gen.check_cookie(isn_generator::tuple(local, 80, remote, 40001), peer, c, 1000) == -1);
        BOOST_TEST(gen.check_cookie(tuple, peer, c + 1, 1000) == -1);
    }
    // The period wraps at 32 without harm.
    const seq32 c = gen.cookie(tuple, peer, 31, 2);
    BOOST_TEST(gen.check_cookie(tuple, peer, c, 32) == 2);
}

BOOST_AUTO_TEST_CASE(guessed_syn_cookies_are_rejected) {
    const isn_generator gen(paper_key());
    const auto tuple = isn_generator::tuple(local, 80, remote, 40000);
    unsigned accepted = 0;
    for (std::uint32_t guess = 0; guess < 100000; ++guess)
        accepted += gen.check_cookie(tuple, seq32{1}, seq32{guess * 42949u}, 77) >= 0;
    BOOST_TEST(accepted <= 1u);  // a 24-bit MAC: about 0.006 expected
}

BOOST_AUTO_TEST_SUITE_END()
