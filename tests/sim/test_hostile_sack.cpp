// A peer whose SACK options lie or are broken: blocks outside the window,
// beyond what was sent, empty or inverted, overlapping, DSACKs for data never
// sent, option lengths that are not 2 + 8n, and a flood of blocks that would
// cut the scoreboard into single bytes. Each is ignored and counted (or the
// segment dropped), nothing is resent or forgotten for it, the scoreboard
// stays within its bound, and the data still arrives byte for byte. And an
// honest DSACK of data and our FIN counts the segments that carried them.
#include "sim_pair.hpp"
#include "support/data_test_case.hpp"

namespace coronet::test {

namespace bdata = boost::unit_test::data;
using tcp::seq_range;

namespace {

constexpr std::size_t stream_len = 8000;  // eight 1000-byte segments, all in flight at once

seq32 at(seq32 first, std::int64_t offset) { return first + static_cast<std::uint32_t>(offset); }

// Every segment's payload is the stream's bytes at its offset from first.
bool byte_exact(const std::vector<received_segment>& segs, seq32 first, const std::vector<std::byte>& d) {
    for (const auto& s : segs) {
        const std::size_t off = wire::distance(first, s.h.seq);
        if (off + s.payload.size() > d.size()) return false;
        if (!std::equal(s.payload.begin(), s.payload.end(), d.begin() + static_cast<std::ptrdiff_t>(off))) return false;
    }
    return true;
}

// a with eight 1000-byte segments in flight to a SACK-capable hand-driven peer.
struct eight_in_flight : with_raw_peer {
    std::vector<received_segment> segs = written(*this, stream_len);
    seq32 first = segs.empty() ? seq32{} : segs[0].h.seq;
    const tcp::connection_stats& st = ca.tcb().stats();
    eight_in_flight() : with_raw_peer(sack_peer()) { BOOST_REQUIRE(segs.size() == 8u); }

    // After the hostile ACKs the peer, which holds everything, acknowledges
    // it all: the scoreboard empties, no timer fires for data delivered, and
    // what a sent was the stream byte for byte.
    void acknowledge_everything() {
        peer.send(sack_ack(*this, first + stream_len, {}));
        p.sim.run_for(500ms);
        BOOST_TEST(ca.tcb().board().empty());
        BOOST_TEST(st.timeouts == 0u);
    }
};

// A SACK block no receiver could send (offsets from the first byte in flight;
// everything before `stream_len` was sent).
struct bad_block {
    const char* what;
    std::int64_t left, right;
};
const bad_block bad_blocks[] = {
    {"beyond SND.NXT", 7000, 9000},
    {"data never sent", 9000, 10000},
    {"far beyond, half the sequence space", 1000, 0x7fff0000},
    {"empty", 2000, 2000},
    {"inverted", 3000, 2000},
    {"older than the largest window", -200000, -199000},
    {"starting below the window", -100000, 3000},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_sack)

BOOST_DATA_TEST_CASE(an_impossible_sack_block_is_ignored_and_counted, bdata::xrange(std::size(bad_blocks)), kind) {
    const bad_block& bad = bad_blocks[kind];
    BOOST_TEST_MESSAGE(bad.what);
    eight_in_flight t;
    const seq32 first = t.first;
    const auto& st = t.st;
    // Three times over: were the block believed, this would be three duplicate ACKs.
    for (int i = 0; i < 3; ++i) t.peer.send(sack_ack(t, first, {{at(first, bad.left), at(first, bad.right)}}));
    t.p.sim.run_for(1ms);
    BOOST_TEST(st.sack_ignored == 3u, bad.what);
    BOOST_TEST(st.dsacks_received == 0u);
    BOOST_TEST(st.sacked_bytes == 0u);
    BOOST_TEST(t.ca.tcb().board().sacked_bytes() == 0u);
    BOOST_TEST(t.ca.tcb().board().outstanding() == stream_len);  // nothing forgotten
    BOOST_TEST(st.recoveries == 0u);
    BOOST_TEST(st.retransmits == 0u);
    BOOST_TEST(t.peer.got.empty());  // nothing resent
    t.acknowledge_everything();
    BOOST_TEST(st.retransmits == 0u);
}

BOOST_AUTO_TEST_CASE(a_dsack_for_data_never_sent_is_not_taken_for_a_duplicate) {
    eight_in_flight t;
    const seq32 first = t.first;
    const auto& st = t.st;
    // RFC 2883's two DSACK forms, each for bytes never sent: a first block
    // inside the second, past SND.NXT; and one below the ACK, older than any
    // window.
    t.peer.send(sack_ack(t, first + 2000, {{first + 9000, first + 9500}, {first + 8500, first + 10000}}));
    t.peer.send(sack_ack(t, first + 2000, {{at(first, -300000), at(first, -299000)}}));
    t.p.sim.run_for(1ms);
    BOOST_TEST(st.sack_ignored == 3u);
    BOOST_TEST(st.dsacks_received == 0u);
    BOOST_TEST(st.sacked_bytes == 0u);
    BOOST_TEST(st.undos == 0u);
    BOOST_TEST(t.ca.tcb().board().outstanding() == stream_len - 2000);
    BOOST_TEST(st.retransmits == 0u);
    t.acknowledge_everything();
    BOOST_TEST(st.retransmits == 0u);
}

BOOST_AUTO_TEST_CASE(overlapping_and_repeated_blocks_count_each_byte_once) {
    eight_in_flight t;
    const seq32 first = t.first;
    const auto& st = t.st;
    const std::vector<seq_range> overlapping = {
        {first + 1000, first + 4000},
        {first + 2000, first + 5000},
        {first + 3000, first + 6000},
        {first + 1000, first + 4000},
    };
    t.peer.send(sack_ack(t, first, overlapping));
    t.p.sim.run_for(1ms);
    BOOST_TEST(st.sacked_bytes == 5000u);  // [1000, 6000) once
    BOOST_TEST(t.ca.tcb().board().sacked_bytes() == 5000u);
    BOOST_TEST(st.sack_ignored == 0u);
    // Only the hole below the SACKed data is resent, once.
    BOOST_REQUIRE(t.peer.got.size() == 1u);
    BOOST_TEST(t.peer.got[0].h.seq == first);
    BOOST_TEST(t.peer.got[0].payload == t.segs[0].payload);
    t.peer.got.clear();
    for (int i = 0; i < 3; ++i) t.peer.send(sack_ack(t, first, overlapping));  // the same news again
    t.p.sim.run_for(1ms);
    BOOST_TEST(st.sacked_bytes == 5000u);
    BOOST_TEST(st.retransmits == 1u);
    BOOST_TEST(st.recoveries == 1u);
    t.acknowledge_everything();
    BOOST_TEST(st.retransmits == 1u);
}

// RFC 2883 / RFC 3708: only a duplicate of a resend shows the resend was
// needless. A duplicate of an original (the network copied it) says nothing
// of the loss being repaired, and neither does the same report twice.
BOOST_AUTO_TEST_CASE(a_dsack_of_data_never_resent_does_not_undo_a_real_loss) {
    eight_in_flight t;
    const seq32 first = t.first;
    const auto& st = t.st;
    t.peer.send(sack_ack(t, first, {{first + 1000, first + 8000}}));  // [0, 1000) lost
    t.p.sim.run_for(1ms);
    BOOST_REQUIRE(st.recoveries == 1u);
    BOOST_REQUIRE(st.retransmits == 1u);
    // A duplicate of [3000, 4000), sent once, inside the SACKed block.
    t.peer.send(sack_ack(t, first, {{first + 3000, first + 4000}, {first + 1000, first + 8000}}));
    t.p.sim.run_for(1ms);
    BOOST_TEST(st.dsacks_received == 1u);
    BOOST_TEST(st.undos == 0u);
    t.acknowledge_everything();
    BOOST_TEST(st.undos == 0u);
}

BOOST_AUTO_TEST_CASE(the_same_dsack_twice_takes_back_one_resend_only) {
    eight_in_flight t;
    const seq32 first = t.first;
    const auto& st = t.st;
    // Two holes, [0, 1000) and [2000, 3000): both resent.
    t.peer.send(sack_ack(t, first, {{first + 1000, first + 2000}, {first + 3000, first + 8000}}));
    t.p.sim.run_for(1ms);
    BOOST_REQUIRE(st.retransmits == 2u);
    // The first resend arrived twice (the original was only late); the
    // second hole is still a hole. The peer says so, then says it again.
    for (int i = 0; i < 2; ++i) {
        t.peer.send(sack_ack(t, first + 2000, {{first, first + 1000}, {first + 3000, first + 8000}}));
        t.p.sim.run_for(1ms);
    }
    BOOST_TEST(st.dsacks_received == 2u);
    BOOST_TEST(st.undos == 0u);
    t.acknowledge_everything();
    BOOST_TEST(st.undos == 0u);
}

// A DSACK of the last segment and our FIN counts the segment, as its
// resend counted (the FIN's sequence byte is no data): one, not two.
BOOST_AUTO_TEST_CASE(a_dsack_of_data_and_fin_counts_the_segments_that_carried_them) {
    with_raw_peer t(sack_peer());
    const auto data = stream_bytes(2000);
    auto w = [&]() -> task<void> {
        co_await t.ca.write(data);
        co_await t.ca.shutdown_write();
    };
    t.p.sim.spawn(w());
    t.p.sim.run_for(1ms);
    BOOST_REQUIRE(t.peer.got.size() == 2u);
    const seq32 first = t.peer.got[0].h.seq;
    BOOST_REQUIRE(t.peer.got[1].has(wire::tcp_flag::fin));
    t.peer.got.clear();
    // The first segment arrives; the second's ACK is lost, and the probe and the timeout resend it.
    t.peer.send(sack_ack(t, first + 1000, {}));
    const auto& st = t.ca.tcb().stats();
    for (int ms = 0; ms < 1000 && st.timeouts == 0; ++ms) t.p.sim.run_for(1ms);
    BOOST_REQUIRE(st.timeouts == 1u);
    BOOST_REQUIRE(st.retransmits >= 1u);  // the tail loss probe, then the timeout
    // The peer had it: everything and the FIN acknowledged, the duplicate reported.
    t.peer.send(sack_ack(t, first + 2001, {{first + 1000, first + 2001}}));
    t.p.sim.run_for(1ms);
    BOOST_TEST(st.dsacks_received == 1u);
    BOOST_TEST(st.sack_ignored == 0u);
}

namespace {
// SACK option lengths (kind and length bytes included) that are not 2 + 8n
// for n in 1..4, or that run past the 20 bytes of options the segment has.
const std::uint8_t bad_lengths[] = {2, 9, 14, 17, 26, 42, 255};
}  // namespace

BOOST_DATA_TEST_CASE(a_sack_option_with_a_malformed_length_drops_the_segment, bdata::xrange(std::size(bad_lengths)),
                     kind) {
    const std::uint8_t len = bad_lengths[kind];
    eight_in_flight t;
    const seq32 first = t.first;
    const auto& st = t.st;
    const auto bad_options_before = t.p.a.tcp.counters().bad_options;
    // A good two-block SACK (NOP NOP kind length, then the blocks: 20 bytes
    // of options) with its length byte rewritten.
    const segment ack = sack_ack(t, first, {{first + 1000, first + 2000}, {first + 3000, first + 4000}});
    BOOST_REQUIRE(ack.header().header_len() == 40u);
    for (int i = 0; i < 3; ++i) {
        t.peer.send_edited(ack, [len](wire::mut_bytes tcp) {
            constexpr std::size_t kind_at = 22, len_at = 23;
            BOOST_REQUIRE(wire::load_u8(tcp, kind_at) == wire::tcp_option_kind::sack);
            wire::store_u8(tcp, len_at, len);
        });
    }
    t.p.sim.run_for(1ms);
    BOOST_TEST(t.p.a.tcp.counters().bad_options - bad_options_before == 3u, "length " << int{len});
    BOOST_TEST(st.sacked_bytes == 0u);
    BOOST_TEST(st.recoveries == 0u);
    BOOST_TEST(st.retransmits == 0u);
    BOOST_TEST(t.ca.tcb().board().outstanding() == stream_len);
    BOOST_TEST(t.peer.got.empty());
    t.acknowledge_everything();
    BOOST_TEST(st.retransmits == 0u);
}

BOOST_AUTO_TEST_CASE(sacking_every_other_byte_cannot_grow_the_scoreboard_past_its_bound) {
    constexpr std::size_t total = 200'000;
    constexpr std::size_t max_runs = 16384;  // scoreboard's default bound
    with_raw_peer t{sack_peer()};
    const auto d = stream_bytes(total);
    auto w = [&]() -> task<void> { co_await t.ca.write(d); };
    t.p.sim.spawn(w());
    seq32 first{t.a_next};
    bool exact = true;
    seq32 received = first;  // the end of what the peer holds (it loses nothing)
    auto take = [&] {
        for (const auto& s : t.peer.got) {
            exact = exact && byte_exact({s}, first, d);
            const seq32 end = s.h.seq + static_cast<std::uint32_t>(s.payload.size());
            if (end > received) received = end;
        }
        t.peer.got.clear();
    };
    // Honest at first, so that slow start fills the peer's 64 KiB window.
    for (int round = 0; round < 50 && t.ca.tcb().board().outstanding() < 60000; ++round) {
        t.p.sim.run_for(1ms);
        take();
        t.peer.send(sack_ack(t, received, {}));
    }
    t.p.sim.run_for(1ms);
    take();
    const seq32 una = t.ca.tcb().sequence().snd_una;
    const std::uint32_t flight = wire::distance(una, received);
    BOOST_REQUIRE(flight >= 40000u);
    // Then every other byte of the flight, four one-byte blocks an ACK: enough
    // edges for twice the bound.
    std::size_t most_runs = 0;
    for (std::uint32_t off = 1; off + 8 <= flight; off += 8) {
        std::vector<seq_range> blocks;
        for (std::uint32_t b = 0; b < 8; b += 2) blocks.push_back({una + off + b, una + off + b + 1});
        t.peer.send(sack_ack(t, una, blocks));
        if (off % 64 == 1) t.p.sim.run_for(100us);
        most_runs = std::max(most_runs, t.ca.tcb().board().runs().size());
        take();
    }
    t.p.sim.run_for(1ms);
    take();
    most_runs = std::max(most_runs, t.ca.tcb().board().runs().size());
    BOOST_TEST_MESSAGE("most runs " << most_runs << ", edges refused " << t.ca.tcb().board().split_refused());
    BOOST_TEST(most_runs <= max_runs);
    BOOST_TEST(t.ca.tcb().board().split_refused() > 0u);
    // Honest again: everything arrives, byte for byte.
    const seq32 end = first + static_cast<std::uint32_t>(total);
    for (int round = 0; round < 2000 && received != end; ++round) {
        t.peer.send(sack_ack(t, received, {}));
        t.p.sim.run_for(5ms);
        take();
    }
    t.peer.send(sack_ack(t, received, {}));
    t.p.sim.run_for(5ms);
    BOOST_TEST(received == end);
    BOOST_TEST(exact);
    BOOST_TEST(t.ca.tcb().board().empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace coronet::test
