// RST rules (RFC 5961), half-close, zero windows, and bulk transfers under
// loss, reordering, duplication and corruption on virtual time.
#include <set>

#include "sim_pair.hpp"
#include "support/boost_print.hpp"
#include "support/data_test_case.hpp"

using namespace coronet;
using namespace coronet::test;
using namespace wire::tcp_flag;
namespace bdata = boost::unit_test::data;

BOOST_AUTO_TEST_SUITE(rst_and_syn_rules)

BOOST_AUTO_TEST_CASE(rst_at_rcv_nxt_resets_an_established_connection) {
    with_raw_peer t;
    t.peer.send(t.seg(5001, rst));
    t.p.sim.run_for(10ms);
    BOOST_TEST(t.p.a.saw(state::established, state::closed), t.p.a.trace());
    bool reset = false;
    auto reader = [&]() -> task<void> {
        std::array<std::byte, 16> b;
        auto r = co_await t.ca.read(b);
        reset = !r && r.error() == std::errc::connection_reset;
    };
    t.p.sim.spawn(reader());
    t.p.sim.run_for(10ms);
    BOOST_TEST(reset);
}

BOOST_AUTO_TEST_CASE(in_window_rst_not_at_rcv_nxt_draws_a_challenge_ack) {
    with_raw_peer t;
    t.peer.send(t.seg(5001 + 1000, rst));
    t.p.sim.run_for(10ms);
    BOOST_TEST((t.ca.state() == state::established));
    BOOST_REQUIRE(t.peer.got.size() == 1u);
    auto ch = t.peer.pop();
    BOOST_TEST(ch.has(ack));
    BOOST_TEST(ch.h.ack.value == 5001u);
    BOOST_TEST(t.ca.tcb().stats().challenge_acks == 1u);
}

BOOST_AUTO_TEST_CASE(out_of_window_rst_is_ignored_with_an_ack) {
    with_raw_peer t;
    t.peer.send(t.seg(5001 + 10'000'000, rst));
    t.p.sim.run_for(10ms);
    BOOST_TEST((t.ca.state() == state::established));
    BOOST_TEST(t.ca.tcb().stats().challenge_acks == 0u);
}

BOOST_AUTO_TEST_CASE(syn_in_established_draws_a_challenge_ack_and_no_reset) {
    with_raw_peer t;
    t.peer.send(t.seg(5001, syn));
    t.p.sim.run_for(10ms);
    BOOST_TEST((t.ca.state() == state::established));
    BOOST_REQUIRE(!t.peer.got.empty());
    BOOST_TEST(t.peer.pop().has(ack));
    BOOST_TEST(t.ca.tcb().stats().challenge_acks == 1u);
}

BOOST_AUTO_TEST_CASE(challenge_acks_are_limited_per_connection) {
    with_raw_peer t;
    for (int i = 0; i < 300; ++i) t.peer.send(t.seg(5001 + 100 + static_cast<std::uint32_t>(i), rst));
    t.p.sim.run_for(10ms);
    BOOST_TEST(t.ca.tcb().stats().challenge_acks == 10u);
    BOOST_TEST(t.ca.tcb().stats().challenge_acks_limited == 290u);
    BOOST_TEST(t.p.a.tcp.counters().challenge_acks_limited == 0u);  // the layer's budget is untouched
    t.p.sim.run_for(1s);                                            // a new second, a new budget
    t.peer.send(t.seg(5001 + 100, rst));
    t.p.sim.run_for(10ms);
    BOOST_TEST(t.ca.tcb().stats().challenge_acks == 11u);
}

// The layer's budget is drawn anew each second between half and 1.5 times
// the limit: an attacker draining it cannot tell its own answers from
// someone else's RST having spent one (CVE-2016-5696).
BOOST_AUTO_TEST_CASE(the_layer_wide_challenge_ack_budget_is_random_each_second) {
    tcp::tcp_config cfg;
    cfg.challenge_acks_per_connection = 1000;
    cfg.challenge_ack_limit = 100;
    with_raw_peer t({}, cfg);
    std::set<std::uint64_t> budgets;
    std::uint64_t before = 0;
    for (int second = 0; second < 8; ++second) {
        for (std::uint32_t i = 0; i < 300; ++i) t.peer.send(t.seg(5001 + 100 + i, rst));
        t.p.sim.run_for(10ms);
        const std::uint64_t sent = t.ca.tcb().stats().challenge_acks - before;
        before = t.ca.tcb().stats().challenge_acks;
        BOOST_TEST(sent >= 50u);
        BOOST_TEST(sent < 150u);
        budgets.insert(sent);
        t.p.sim.run_for(1s);
    }
    BOOST_TEST(budgets.size() > 4u);  // not one fixed figure
}

BOOST_AUTO_TEST_CASE(ack_of_unsent_data_is_answered_and_dropped) {
    with_raw_peer t;
    t.peer.send(t.seg(5001, ack).ack(t.a_next + 100000));
    t.p.sim.run_for(10ms);
    BOOST_TEST((t.ca.state() == state::established));
    BOOST_TEST(t.ca.tcb().snd_una().value == t.a_next);
}

// Brings a's connection to `target` with the raw peer; returns the peer's next sequence number.
std::uint32_t drive_to(with_raw_peer& t, state target) {
    std::uint32_t peer_seq = 5001;
    auto a_fin = [&] {
        t.p.sim.spawn([](connection& c) -> task<void> { co_await c.shutdown_write(); }(t.ca));
        t.p.sim.run_for(10ms);
        ++t.a_next;  // a's FIN
    };
    switch (target) {
        case state::established:
            break;
        case state::close_wait:
            t.peer.send(t.seg(peer_seq++, fin | ack));
            break;
        case state::fin_wait_1:
            a_fin();
            --t.a_next;  // not acknowledged
            break;
        case state::fin_wait_2:
            a_fin();
            t.peer.send(t.seg(peer_seq, ack));
            break;
        case state::closing:
            a_fin();
            t.a_next -= 1;
            t.peer.send(t.seg(peer_seq++, fin | ack));  // their FIN, ours not acknowledged
            break;
        case state::last_ack:
            t.peer.send(t.seg(peer_seq++, fin | ack));
            t.p.sim.run_for(10ms);
            a_fin();
            --t.a_next;
            break;
        case state::time_wait:
            a_fin();
            t.peer.send(t.seg(peer_seq++, fin | ack));
            break;
        default:
            break;
    }
    t.p.sim.run_for(10ms);
    t.peer.got.clear();
    return peer_seq;
}

const state synchronized_states[] = {state::established, state::fin_wait_1, state::fin_wait_2, state::close_wait,
                                     state::closing,     state::last_ack,   state::time_wait};

BOOST_DATA_TEST_CASE(rst_rules_hold_in_every_synchronized_state, bdata::make(synchronized_states), target) {
    for (int variant = 0; variant < 3; ++variant) {  // exact, in window, out of window
        with_raw_peer t;
        const std::uint32_t next = drive_to(t, target);
        auto& tcb = const_cast<tcp::tcb&>(t.ca.tcb());
        BOOST_REQUIRE_MESSAGE(tcb.current() == target, tcp::to_string(target) << ": " << t.p.a.trace());
        const std::uint32_t seq = variant == 0 ? next : variant == 1 ? next + 1000 : next + 50'000'000;
        t.peer.send(t.seg(seq, rst));
        t.p.sim.run_for(10ms);
        if (variant == 0) {
            BOOST_TEST((tcb.current() == state::closed), tcp::to_string(target) << " exact RST: " << t.p.a.trace());
        } else {
            BOOST_TEST((tcb.current() == target), tcp::to_string(target) << " variant " << variant);
            if (variant == 1 && target != state::time_wait)
                BOOST_TEST(tcb.stats().challenge_acks == 1u, tcp::to_string(target));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(data_transfer)

BOOST_AUTO_TEST_CASE(one_mebibyte_arrives_intact_on_a_clean_link) {
    sim_pair p;
    auto r = transfer(p, 1 << 20);
    BOOST_TEST(r.ok_a);
    BOOST_TEST(r.ok_b);
    BOOST_TEST(r.got == std::size_t{1 << 20});
    // The reader mostly waits with its buffer: data goes straight into it
    // (and still arrives intact, in order, which receive_stream checked).
    BOOST_TEST(r.b_stats.bytes_placed > 0u);
    BOOST_TEST(r.b_stats.bytes_placed <= r.got);
}

// Reading in place (read_view / consume): every byte once, in order, also
// when the views wrap round the receive buffer's end and are used in part;
// nothing is placed in a reader's buffer (an in-place reader lends none).
BOOST_DATA_TEST_CASE(reading_in_place_gets_every_byte_once, bdata::xrange(3), kind) {
    const link::impairment imps[] = {{}, {.loss = 0.02}, {.reorder = 0.05}};
    link::impairment imp = imps[kind];
    imp.delay = 1ms;
    sim_pair p{static_cast<std::uint64_t>(kind + 1), imp};
    const std::size_t n = 4 << 20;
    auto r = transfer(p, n, {.in_place_bite = 7001});
    BOOST_TEST(r.ok(n), "kind " << kind << ": got " << r.got);
    BOOST_TEST(r.b_stats.bytes_placed == 0u);
}

// The API's edges: consuming more than was lent is refused (and takes
// nothing), a finished peer lends an empty view, a default connection none.
BOOST_AUTO_TEST_CASE(read_view_and_consume_refuse_what_they_cannot_do) {
    sim_pair p;
    listener l = listen_on_b(p);
    connection ca, cb;
    bool done = false;
    const auto data = stream_bytes(3000);
    auto client = [&]() -> task<void> {
        auto c = co_await connect(p.a.tcp, p.b_at(80));
        if (!c) co_return;
        ca = std::move(*c);
        co_await ca.write(data);
        co_await ca.shutdown_write();
    };
    auto server = [&]() -> task<void> {
        auto c = co_await l.accept();
        if (!c) co_return;
        cb = std::move(*c);
        auto v = co_await cb.read_view();
        BOOST_REQUIRE(v);
        BOOST_TEST(!v->empty());
        BOOST_TEST(std::equal(v->begin(), v->end(), data.begin()));
        const std::size_t lent = v->size();
        auto over = cb.consume(cb.readable() + 1);
        BOOST_TEST(!over);
        if (!over) BOOST_TEST((over.error() == std::errc::invalid_argument));
        BOOST_TEST(cb.readable() >= lent);  // the refused consume took nothing
        std::size_t got = 0;
        for (;;) {  // the rest; then the FIN lends an empty view
            auto w = co_await cb.read_view();
            BOOST_REQUIRE(w);
            if (w->empty()) break;
            BOOST_TEST(std::equal(w->begin(), w->end(), data.begin() + static_cast<std::ptrdiff_t>(got)));
            got += w->size();
            BOOST_REQUIRE(cb.consume(w->size()));
        }
        BOOST_TEST(got == data.size());
        auto again = co_await cb.read_view();  // still finished
        BOOST_TEST((again && again->empty()));
        connection none;
        auto nv = co_await none.read_view();
        BOOST_TEST((!nv && nv.error() == std::errc::not_connected));
        BOOST_TEST((!none.consume(0) && none.consume(0).error() == std::errc::not_connected));
        co_await cb.close();
        done = true;
    };
    p.sim.spawn(client());
    p.sim.spawn(server());
    p.sim.run_until([&] { return done; }, p.sim.now() + 10s);
    BOOST_TEST(done);
}

const link::impairment impairments[] = {
    {}, {.loss = 0.01}, {.loss = 0.05}, {.reorder = 0.05}, {.duplicate = 0.05}, {.corrupt = 0.02},
};
const char* const impairment_names[] = {"clean", "1% loss", "5% loss", "5% reorder", "5% duplicate", "2% corrupt"};

BOOST_DATA_TEST_CASE(sixteen_mebibytes_arrive_intact_under_impairment, bdata::xrange(6) * bdata::xrange(1, 21), kind,
                     seed) {
    link::impairment imp = impairments[kind];
    imp.delay = 1ms;
    sim_pair p{static_cast<std::uint64_t>(seed), imp};
    BOOST_TEST_MESSAGE(impairment_names[kind] << ", seed " << seed);
    auto r = transfer(p, 16 << 20);
    BOOST_TEST(r.ok_a, impairment_names[kind] << " seed " << seed);
    BOOST_TEST(r.ok_b, impairment_names[kind] << " seed " << seed);
    BOOST_TEST(r.got == std::size_t{16 << 20}, impairment_names[kind] << " seed " << seed);
    BOOST_TEST(r.b_stats.bytes_placed <= r.got);
    if (imp.corrupt > 0) BOOST_TEST(p.b.tcp.counters().bad_checksums + p.b.host.counters().rx_bad_ipv4 > 0u);
}

// A bottleneck the sender must find: 100 Mbit/s behind a 20-packet queue on a
// 20 ms round trip (a bandwidth-delay product of ~170 packets), so the
// congestion window outgrows the queue and segments are lost at its tail.
BOOST_AUTO_TEST_CASE(bulk_transfer_through_a_congested_bottleneck_arrives_intact_despite_tail_drops) {
    link::impairment imp;
    imp.rate_mbit = 100;
    imp.queue_packets = 20;
    imp.delay = 10ms;
    sim_pair p{3, imp};
    const auto start = p.sim.now();
    auto r = transfer(p, 8 << 20, {.limit = 120s});
    BOOST_TEST(r.ok_a);
    BOOST_TEST(r.ok_b);
    BOOST_TEST(r.got == std::size_t{8 << 20});
    const auto& link = p.wire.a_to_b().counters();
    BOOST_TEST_MESSAGE("virtual time " << std::chrono::duration<double>(p.sim.now() - start).count() << " s, "
                                       << link.passed << " frames passed, " << link.queue_drops << " queue drops");
    BOOST_TEST(link.queue_drops > 0u);
    BOOST_TEST(link.dropped == 0u);  // every loss was the queue's
}

BOOST_AUTO_TEST_CASE(half_close_data_keeps_flowing_to_the_side_in_fin_wait_2) {
    sim_pair p;
    auto lr = p.b.tcp.listen(80, 8);
    listener l{*lr};
    connection ca, cb;
    bool ok_a = true, ok_b = true;
    std::size_t got = 0;
    auto client = [&]() -> task<void> {
        ca = *(co_await connect(p.a.tcp, p.b_at(80)));
        co_await ca.shutdown_write();  // a is done sending at once
        got = co_await receive_stream(ca, 3, ok_a);
    };
    auto server = [&]() -> task<void> {
        cb = *(co_await l.accept());
        std::array<std::byte, 16> b;
        auto r = co_await cb.read(b);  // the FIN: 0 bytes
        ok_b = r && *r == 0;
        co_await send_stream(cb, 3, 1 << 20, ok_b);
    };
    p.sim.spawn(client());
    p.sim.spawn(server());
    p.sim.run_for(30s);
    BOOST_TEST(ok_a);
    BOOST_TEST(ok_b);
    BOOST_TEST(got == std::size_t{1 << 20});
    BOOST_TEST(p.a.saw(state::fin_wait_1, state::fin_wait_2), p.a.trace());
    BOOST_TEST(p.a.saw(state::fin_wait_2, state::time_wait), p.a.trace());
}

BOOST_AUTO_TEST_CASE(zero_window_is_probed_until_the_reader_drains_it) {
    sim_pair p;
    auto lr = p.b.tcp.listen(80, 8);
    listener l{*lr};
    connection ca, cb;
    bool ok_a = true, ok_b = true;
    std::size_t got = 0;
    bool reading = false;
    auto client = [&]() -> task<void> {
        ca = *(co_await connect(p.a.tcp, p.b_at(80)));
        co_await send_stream(ca, 5, 1 << 20, ok_a);
    };
    auto server = [&]() -> task<void> {
        cb = *(co_await l.accept());
        while (!reading) co_await p.sim.sleep_for(1s);
        got = co_await receive_stream(cb, 5, ok_b);
    };
    p.sim.spawn(client());
    p.sim.spawn(server());
    p.sim.run_for(30s);
    BOOST_TEST(ca.tcb().snd_wnd() < ca.tcb().mss());  // b's buffer is full and it reads nothing
    BOOST_TEST((ca.state() == state::established));
    reading = true;
    p.sim.run_for(120s);
    BOOST_TEST(ok_a);
    BOOST_TEST(ok_b);
    BOOST_TEST(got == std::size_t{1 << 20});
}

BOOST_AUTO_TEST_CASE(zero_window_draws_persist_probes_with_backoff_until_it_opens) {
    with_raw_peer t;
    t.peer.send(t.seg(5001, ack).window(0));
    t.p.sim.run_for(10ms);
    bool ok = true;
    auto writer = [&]() -> task<void> { co_await send_stream(t.ca, 1, 10000, ok); };
    t.p.sim.spawn(writer());
    t.p.sim.run_for(20s);
    std::size_t probes = 0;
    for (const auto& s : t.peer.got) {
        BOOST_TEST(s.payload.empty());  // nothing beyond the closed window
        if (s.h.seq.value == t.a_next - 1) ++probes;
    }
    BOOST_TEST(probes >= 3u);
    BOOST_TEST(probes <= 6u);                         // backed off, not one per RTO
    BOOST_TEST((t.ca.state() == state::fin_wait_1));  // still waiting to send its data and FIN
    t.peer.got.clear();
    t.peer.send(t.seg(5001, ack));  // window 65535
    t.p.sim.run_for(1s);
    std::size_t data = 0;
    for (const auto& s : t.peer.got) data += s.payload.size();
    BOOST_TEST(data > 0u);
}

BOOST_AUTO_TEST_CASE(two_hundred_sequential_connections_leave_no_tcb_behind) {
    sim_pair p;
    auto lr = p.b.tcp.listen(80, 8);
    listener l{*lr};
    int ok = 0;
    auto server = [&]() -> task<void> {
        for (;;) {
            auto c = co_await l.accept();
            if (!c) co_return;
            bool good = true;
            connection cb = std::move(*c);
            co_await receive_stream(cb, 9, good);
            co_await cb.close();
        }
    };
    auto client = [&]() -> task<void> {
        for (int i = 0; i < 200; ++i) {
            auto c = co_await connect(p.a.tcp, p.b_at(80));
            if (!c) continue;
            bool good = true;
            co_await send_stream(*c, 9, 10000, good);
            std::array<std::byte, 16> b;
            auto r = co_await c->read(b);
            if (good && r && *r == 0) ++ok;
            co_await c->close();
        }
    };
    p.sim.spawn(server());
    p.sim.spawn(client());
    p.sim.run_for(120s);
    BOOST_TEST(ok == 200);
    BOOST_TEST(p.a.tcp.connection_count() == 0u);  // every TIME_WAIT expired
    BOOST_TEST(p.b.tcp.connection_count() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
