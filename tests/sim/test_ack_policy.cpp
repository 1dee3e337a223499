// When coronet acknowledges, updates its window and sets PSH, as Linux does
// (the upstream packetdrill scripts expect it): quick ACKs for the first
// data, a delayed ACK for the peer's FIN in ESTABLISHED once data has come,
// a window update only when a read doubles a shrunken window, PSH on the
// segment that ends a burst. On virtual time, against a hand-driven peer.
#include <boost/test/unit_test.hpp>

#include "support/stack_under_test.hpp"

using namespace coronet;
using namespace coronet::test;
using namespace std::chrono_literals;

namespace {

struct opened_pair : connected_stack {
    explicit opened_pair(const tcp::tcp_config& cfg = {}, bool sack = false)
        : connected_stack(peer_syn_options(1460, sack), cfg) {}
    // The peer sends len bytes at offset `at` of its stream.
    void peer_data(std::uint32_t at, std::size_t len, bool fin = false) {
        auto seg = from_peer().seq(irs + 1 + at).ack(iss + 1).data(std::string(len, 'x'));
        if (fin) seg.fin();
        s.inject(seg);
    }
    // After `wait`, the stack has sent exactly one segment, acknowledging
    // `acked` bytes of the peer's sequence space.
    void expect_ack_after(runtime::duration wait, std::uint32_t acked) {
        s.sim.run_for(wait);
        const auto sent = s.take_segments();
        BOOST_REQUIRE_EQUAL(sent.size(), 1u);
        BOOST_TEST(sent[0].h.ack.value == (irs + 1 + acked).value);
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ack_policy)

BOOST_AUTO_TEST_CASE(the_first_data_is_acknowledged_at_once) {
    opened_pair p;
    p.peer_data(0, 100);
    p.expect_ack_after(1ms, 100);
}

BOOST_AUTO_TEST_CASE(a_fin_in_established_after_data_is_acknowledged_after_the_delayed_ack_time) {
    opened_pair p;
    p.peer_data(0, 100);
    p.expect_ack_after(1ms, 100);
    p.peer_data(100, 0, true);
    p.s.sim.run_for(30ms);
    BOOST_TEST(p.s.take_segments().empty(), "the FIN's ACK waits for an answer to ride on");
    p.expect_ack_after(20ms, 101);
}

BOOST_AUTO_TEST_CASE(a_fin_before_any_data_is_acknowledged_at_once) {
    opened_pair p;
    p.peer_data(0, 0, true);
    p.expect_ack_after(1ms, 1);
}

// A resend of data we have, now carrying the FIN (packetdrill's
// kernel/tcp_close_no_rst.pkt): one ACK, of the FIN, within the delayed-ACK
// time; the duplicate's ACK at once had gone out before the FIN was taken,
// acknowledging the data only.
BOOST_AUTO_TEST_CASE(a_duplicate_that_brings_the_fin_is_acknowledged_with_it) {
    opened_pair p;
    p.peer_data(0, 1000);
    p.expect_ack_after(1ms, 1000);
    p.peer_data(0, 1000, true);
    p.expect_ack_after(40ms, 1001);
}

BOOST_AUTO_TEST_CASE(a_read_sends_a_window_update_only_when_it_doubles_a_shrunken_window) {
    tcp::tcp_config cfg;
    cfg.receive_buffer = 8192;
    cfg.buffer_auto_tuning = false;
    opened_pair p(cfg);
    std::array<std::byte, 8192> buf{};
    // 3000 of 8192 bytes: the window left (5192) is more than half the
    // buffer, so reading them sends nothing (it used to: they opened it by
    // more than an MSS).
    p.peer_data(0, 1500);
    p.peer_data(1500, 1500);
    p.s.sim.run_for(1ms);
    BOOST_REQUIRE(!p.s.take_segments().empty());
    BOOST_TEST(p.conn->app_read(buf) == 3000u);
    p.s.sim.run_for(1ms);
    BOOST_TEST(p.s.take_segments().empty(), "no update for a window that had not shrunk");
    // The window filled to the last byte: a read opens it from 0, and says so.
    for (std::uint32_t at = 3000; at < 3000 + 7000; at += 1400) p.peer_data(at, 1400);
    p.peer_data(10000, 1192);
    p.s.sim.run_for(100ms);
    const auto acks = p.s.take_segments();
    BOOST_REQUIRE(!acks.empty());
    BOOST_TEST(acks.back().h.window == 0u);
    BOOST_TEST(p.conn->app_read(std::span{buf}.first(4096)) == 4096u);
    p.s.sim.run_for(1ms);
    const auto update = p.s.take_segments();
    BOOST_REQUIRE_EQUAL(update.size(), 1u);
    BOOST_TEST(update[0].h.window > 0u);
}

BOOST_AUTO_TEST_CASE(psh_ends_every_second_segment_and_the_burst) {
    opened_pair p;
    // 3,000 bytes in segments of 1,460 (no Nagle, as https_client.pkt): the
    // second ends a unit, the third the data.
    p.conn->set_no_delay(true);
    const std::string small(3000, 's');
    BOOST_TEST(p.conn->app_write(std::as_bytes(std::span{small.data(), small.size()})) == small.size());
    p.s.sim.run_for(1ms);
    auto sent = p.s.take_segments();
    BOOST_REQUIRE_EQUAL(sent.size(), 3u);
    BOOST_TEST(!sent[0].has(wire::tcp_flag::psh));
    BOOST_TEST(sent[1].has(wire::tcp_flag::psh));
    BOOST_TEST(sent[2].has(wire::tcp_flag::psh));
    p.s.inject(p.from_peer().seq(p.irs + 1).ack(p.iss + 1 + 3000));
    p.s.sim.run_for(1ms);
    p.s.take_segments();
    // 21 segments' worth against a window of 11 or more: PSH on every second
    // segment, and on the last one the windows let go.
    const std::string data(21 * 1460, 'd');
    BOOST_TEST(p.conn->app_write(std::as_bytes(std::span{data.data(), data.size()})) == data.size());
    p.s.sim.run_for(1ms);
    sent = p.s.take_segments();
    BOOST_REQUIRE(sent.size() >= 10u);
    BOOST_REQUIRE(sent.size() < 21u);
    for (std::size_t i = 0; i + 1 < sent.size(); ++i)
        BOOST_TEST(sent[i].has(wire::tcp_flag::psh) == (i % 2 == 1), "segment " << i);
    BOOST_TEST(sent.back().has(wire::tcp_flag::psh));
}

// Out-of-order data with SACK: the first three duplicate ACKs at once (a
// sender counting them retransmits), then one ACK at the turn's end for the
// segments that only grew the range it reports first, at most 44 of them;
// a segment opening another range goes at once, naming both. Without SACK
// every segment out of order is answered (RFC 5681 4.2).
namespace {

constexpr std::uint32_t seg_len = 1000;

// The peer sends `count` segments of seg_len from offset `from`, all within
// one turn of the stack; returns the ACKs it sent (the turn's end included).
std::vector<received_segment> acks_for(opened_pair& p, std::uint32_t from, std::uint32_t count) {
    for (std::uint32_t i = 0; i < count; ++i) p.peer_data(from + i * seg_len, seg_len);
    p.s.sim.run_for(1ms);
    return p.s.take_segments();
}

bool first_block_is(const received_segment& ack, std::uint32_t left, std::uint32_t right, std::uint32_t irs1) {
    return ack.h.options.sack_count > 0 && ack.h.options.sack[0].left.value == irs1 + left &&
           ack.h.options.sack[0].right.value == irs1 + right;
}

// A connection with SACK that has acknowledged the peer's first segment, [0, 1000).
struct sack_receiver : opened_pair {
    const std::uint32_t base;  // the peer's offset 0 in sequence space
    sack_receiver() : opened_pair({}, true), base((irs + 1).value) { BOOST_TEST(acks_for(*this, 0, 1).size() == 1u); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(with_sack_out_of_order_segments_of_one_range_share_an_ack_after_the_third) {
    sack_receiver p;
    const std::uint32_t base = p.base;
    // [1000, 2000) lost; ten segments behind it.
    const auto acks = acks_for(p, 2 * seg_len, 10);
    BOOST_REQUIRE_EQUAL(acks.size(), 4u);
    for (std::size_t i = 0; i < 3; ++i) {
        BOOST_TEST(acks[i].h.ack.value == base + seg_len);
        BOOST_TEST(first_block_is(acks[i], 2 * seg_len, (3 + static_cast<std::uint32_t>(i)) * seg_len, base));
    }
    BOOST_TEST(first_block_is(acks[3], 2 * seg_len, 12 * seg_len, base), "the turn's ACK reports all ten");
    // A segment past a second hole opens a range: answered at once, the
    // range grown before it second.
    const auto opened = acks_for(p, 13 * seg_len, 1);
    BOOST_REQUIRE_EQUAL(opened.size(), 1u);
    BOOST_TEST(first_block_is(opened[0], 13 * seg_len, 14 * seg_len, base));
    BOOST_REQUIRE(opened[0].h.options.sack_count >= 2u);
    BOOST_TEST(opened[0].h.options.sack[1].left.value == base + 2 * seg_len);
    BOOST_TEST(opened[0].h.options.sack[1].right.value == base + 12 * seg_len);
    // The hole repaired: the cumulative ACK covers everything but the second hole.
    p.peer_data(seg_len, seg_len);
    p.s.sim.run_for(1ms);
    const auto repaired = p.s.take_segments();
    BOOST_REQUIRE_EQUAL(repaired.size(), 1u);
    BOOST_TEST(repaired[0].h.ack.value == base + 12 * seg_len);
}

BOOST_AUTO_TEST_CASE(with_sack_a_turn_s_ack_answers_at_most_44_segments) {
    sack_receiver p;
    const std::uint32_t base = p.base;
    // 3 at once, 44 waiting, the 48th at once, 12 at the turn's end.
    const auto acks = acks_for(p, 2 * seg_len, 60);
    BOOST_REQUIRE_EQUAL(acks.size(), 5u);
    BOOST_TEST(first_block_is(acks[3], 2 * seg_len, 50 * seg_len, base));
    BOOST_TEST(first_block_is(acks[4], 2 * seg_len, 62 * seg_len, base));
}

BOOST_AUTO_TEST_CASE(without_sack_every_segment_out_of_order_is_answered) {
    opened_pair p;
    const std::uint32_t base = (p.irs + 1).value;
    BOOST_TEST(acks_for(p, 0, 1).size() == 1u);
    const auto acks = acks_for(p, 2 * seg_len, 10);
    BOOST_REQUIRE_EQUAL(acks.size(), 10u);
    for (const auto& a : acks) BOOST_TEST(a.h.ack.value == base + seg_len);
}

// Full-sized segments (a path that is not a LAN delivers them one by one)
// draw an ACK for every second one even within one turn (RFC 5681 4.2, as
// a Linux receiver does): a sender with a window of a few segments needs
// each. Two such ACKs at most per turn: the turn's end answers the rest of
// a burst. Offload super-frames (a LAN's GRO) share the turn's one ACK.
BOOST_AUTO_TEST_CASE(full_sized_segments_of_one_turn_draw_an_ack_for_every_second_one_twice_at_most) {
    opened_pair p;
    constexpr std::uint32_t mss = 1460;
    for (std::uint32_t i = 0; i < 10; ++i) p.peer_data(i * mss, mss);
    p.s.sim.run_for(1ms);
    const auto acks = p.s.take_segments();
    BOOST_REQUIRE_EQUAL(acks.size(), 3u);
    const std::uint32_t acked[] = {2 * mss, 4 * mss, 10 * mss};
    for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(acks[i].h.ack.value == (p.irs + 1 + acked[i]).value, "ACK " << i);
    // The next turn may send two at once again.
    for (std::uint32_t i = 10; i < 14; ++i) p.peer_data(i * mss, mss);
    p.s.sim.run_for(1ms);
    BOOST_TEST(p.s.take_segments().size() == 2u);
}

BOOST_AUTO_TEST_CASE(super_frames_of_one_turn_share_its_ack) {
    opened_pair p;
    constexpr std::uint32_t len = 4 * 1460;
    for (std::uint32_t i = 0; i < 3; ++i) p.peer_data(i * len, len);
    p.expect_ack_after(1ms, 3 * len);
}

BOOST_AUTO_TEST_SUITE_END()

// RFC 7323 5.3 PAWS against ACKs the network reordered, as Linux treats them.
BOOST_AUTO_TEST_SUITE(paws)

namespace {

// A connection with timestamps and SACK, three segments of ours in flight.
struct timestamped_pair : connected_stack {
    timestamped_pair() : connected_stack(peer_syn_options(1460, true, 1000)) {
        BOOST_REQUIRE(conn->mss() == 1448u);
        const std::string data(3 * 1448, 'd');
        BOOST_REQUIRE(conn->app_write(std::as_bytes(std::span{data.data(), data.size()})) == data.size());
        s.sim.run_for(1ms);
        BOOST_REQUIRE_EQUAL(s.take_segments().size(), 3u);
    }
    // The peer's ACK of the first `acked` bytes of our data, with timestamp
    // tsval and SACK block [from, to) of it (none if empty).
    void ack(std::uint32_t tsval, std::uint32_t acked, std::uint32_t from, std::uint32_t to) {
        wire::tcp_options o;
        o.timestamp = {{tsval, 0}};
        if (from < to) {
            o.sack[0] = {iss + 1 + from, iss + 1 + to};
            o.sack_count = 1;
        }
        s.inject(segment{connected_stack::peer_port, connected_stack::our_port}
                     .seq(irs + 1)
                     .ack(iss + 1 + acked)
                     .window(65535)
                     .options(o));
    }
    // Of nothing new.
    void dup_ack(std::uint32_t tsval, std::uint32_t from, std::uint32_t to) { ack(tsval, 0, from, to); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_reordered_duplicate_ack_with_an_older_timestamp_is_taken) {
    timestamped_pair p;
    p.dup_ack(1010, 2 * 1448, 3 * 1448);  // the third segment arrived
    p.dup_ack(1008, 1448, 2 * 1448);      // sent before it, delayed: the second did too
    p.s.sim.run_for(1ms);
    BOOST_TEST(p.conn->stats().paws_rejected == 0u);
    BOOST_TEST(p.conn->board().sacked_bytes() == 2u * 1448u, "the older ACK's SACK block counts");
}

// Linux's TCP_PAWS_WINDOW: a timestamp one tick older than TS.Recent
// passes. Over a path whose ACKs reorder by a few milliseconds (wan.sh's
// jitter cell) the strict check dropped about 70 % of the ACKs a coronet
// sender received, where the kernel sender dropped about 35 %, and with
// them the DSACKs that undo a needless recovery.
BOOST_AUTO_TEST_CASE(an_old_ack_one_tick_older_than_ts_recent_is_taken_two_are_not) {
    timestamped_pair p;
    // The peer's ACKs as it sent them: the third segment came first (tick
    // 1008), then the first (1009), then the second (1010). The network
    // delivers them newest first; the two older ones are below SND.UNA by
    // then, so no disordered duplicate ACK.
    p.ack(1010, 3 * 1448, 0, 0);
    p.ack(1009, 1448, 2 * 1448, 3 * 1448);  // one tick older: taken
    p.ack(1008, 0, 2 * 1448, 3 * 1448);     // two: dropped (the strict check drops both, a wider window neither)
    p.s.sim.run_for(1ms);
    BOOST_TEST(p.conn->stats().paws_rejected == 1u);
    BOOST_TEST(p.conn->stats().sack_ignored == 0u);
}

BOOST_AUTO_TEST_CASE(old_timestamps_beyond_the_replay_window_are_dropped_and_answered_at_most_every_half_second) {
    timestamped_pair p;
    p.dup_ack(100000, 2 * 1448, 3 * 1448);
    p.s.sim.run_for(1ms);
    p.s.take_segments();
    // Ten segments with data and a timestamp far older than TS.Recent: old duplicates.
    for (int i = 0; i < 10; ++i) {
        wire::tcp_options o;
        o.timestamp = {{1000, 0}};
        p.s.inject(segment{connected_stack::peer_port, connected_stack::our_port}
                       .seq(p.irs + 1)
                       .ack(p.iss + 1)
                       .window(65535)
                       .options(o)
                       .data("old"));
    }
    p.s.sim.run_for(1ms);
    BOOST_TEST(p.conn->stats().paws_rejected == 10u);
    BOOST_TEST(p.conn->rcv_nxt().value == (p.irs + 1).value, "their data was not taken");
    const auto answers = p.s.take_segments();
    BOOST_TEST(std::count_if(answers.begin(), answers.end(), [](const auto& a) { return a.payload.empty(); }) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
