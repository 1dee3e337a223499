// Buffer auto-tuning on virtual time: the receive window grows with what the
// application drains per round trip (dynamic right-sizing), the send buffer
// with what may fly, both up to tcp_config's maxima and within half the
// memory limit; transfers stay byte-exact while the buffers grow under them.
#include "sim_pair.hpp"

using namespace coronet;
using namespace coronet::test;

namespace {

// 100 Mbit/s with 25 ms each way: a 50 ms path whose bandwidth-delay product is 625,000 bytes.
constexpr std::size_t path_bdp = 625'000;
link::impairment long_path() { return {.delay = 25ms, .rate_mbit = 100}; }

double mbit_per_s(std::size_t bytes, runtime::duration d) {
    return static_cast<double>(bytes) * 8 / std::chrono::duration<double>(d).count() / 1e6;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(buffer_tuning)

BOOST_AUTO_TEST_CASE(the_receive_window_grows_past_the_bandwidth_delay_product_of_a_50_ms_path) {
    sim_pair p{1, long_path()};
    const auto r = transfer(p, 32 << 20, {.limit = 120s});
    BOOST_TEST(r.ok_a);
    BOOST_TEST(r.ok_b);
    BOOST_TEST(r.got == std::size_t{32 << 20});
    BOOST_TEST_MESSAGE("50 ms, 100 Mbit/s: 32 MiB in "
                       << std::chrono::duration<double>(r.took).count() << " s (" << mbit_per_s(r.got, r.took)
                       << " Mbit/s); receive buffer " << r.receive_buffer << " after "
                       << r.b_stats.receive_buffer_growths << " growths, send buffer " << r.send_buffer << " after "
                       << r.a_stats.send_buffer_growths);
    const tcp::tcp_config defaults;
    BOOST_TEST(r.receive_buffer >= path_bdp);
    BOOST_TEST(r.receive_buffer <= defaults.receive_buffer_max);
    BOOST_TEST(r.b_stats.receive_buffer == r.receive_buffer);  // the stats tell the same size
    BOOST_TEST(r.send_buffer >= path_bdp);
    BOOST_TEST(r.send_buffer <= defaults.send_buffer_max);
    BOOST_TEST(r.a_stats.send_buffer_growths > 0u);
}

// A fixed 256 KiB window caps a 20 ms path at about 105 Mbit/s whatever the
// link; tuned, the window passes this 1 Gbit/s path's 2.5 MB product. The
// goodputs are reported, not asserted (virtual time; benchmarks measure).
BOOST_AUTO_TEST_CASE(on_a_20_ms_gigabit_path_the_window_outgrows_the_fixed_size) {
    const link::impairment path{.delay = 10ms, .rate_mbit = 1000};
    tcp::tcp_config fixed;
    fixed.buffer_auto_tuning = false;
    sim_pair p_fixed{7, path, fixed};
    const auto before = transfer(p_fixed, 32 << 20, {.limit = 120s});
    sim_pair p_tuned{7, path};
    const auto after = transfer(p_tuned, 32 << 20, {.limit = 120s});
    BOOST_TEST(before.got == std::size_t{32 << 20});
    BOOST_TEST(after.got == std::size_t{32 << 20});
    BOOST_TEST_MESSAGE("20 ms, 1 Gbit/s, 32 MiB: fixed 256 KiB buffers "
                       << mbit_per_s(before.got, before.took) << " Mbit/s; auto-tuned "
                       << mbit_per_s(after.got, after.took) << " Mbit/s (receive buffer " << after.receive_buffer
                       << ")");
    BOOST_TEST(before.receive_buffer == fixed.receive_buffer);
    BOOST_TEST(after.receive_buffer >= 2'500'000u);
}

// The receive ring grows while out-of-order bytes sit past its tail: a
// hand-driven peer (window scaling, no timestamps: the receiver times one
// window's arrival) leaves a hole, the application drains more than half
// the buffer in one round trip, the ring grows, and the hole is filled after.
BOOST_AUTO_TEST_CASE(the_receive_buffer_grows_with_out_of_order_bytes_past_its_tail) {
    sim_pair p;
    raw_peer peer{p.b.host};
    connection ca;
    auto open = [&]() -> task<void> {
        if (auto c = co_await connect(p.a.tcp, p.b_at(80))) ca = std::move(*c);
    };
    p.sim.spawn(open());
    p.sim.run_for(10ms);
    const auto syn = peer.pop();
    wire::tcp_options o;
    o.mss = 1460;
    o.window_scale = 7;
    peer.send(reply_to(syn).syn().seq(5000).options(o));
    p.sim.run_for(10ms);
    BOOST_REQUIRE((ca.state() == state::established));
    const seq32 a_next = syn.h.seq + 1;

    std::vector<std::byte> got;
    auto reader = [&]() -> task<void> {
        std::vector<std::byte> buf(64 * 1024);
        for (;;) {
            auto r = co_await ca.read(buf);
            if (!r || *r == 0) co_return;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r));
        }
    };
    p.sim.spawn(reader());
    // Stream bytes [from, to) in segments of 1000.
    auto send = [&](std::size_t from, std::size_t to) {
        for (std::size_t off = from; off < to; off += 1000) {
            std::vector<std::byte> d(std::min<std::size_t>(1000, to - off));
            for (std::size_t i = 0; i < d.size(); ++i) d[i] = content(1, off + i);
            peer.send(segment{80, ca.local().port}.seq(5001 + static_cast<std::uint32_t>(off)).ack(a_next).data(d));
        }
        p.sim.run_for(1ms);
    };
    const auto& stats = ca.tcb().stats();
    send(0, 128'000);
    p.sim.run_for(9ms);
    send(128'000, 200'000);
    send(200'000, 270'000);  // the first window's end passed 11 ms after it began: the receiver's RTT
    p.sim.run_for(20ms);
    send(420'000, 421'000);  // out of order: a hole of 150,000 bytes
    send(270'000, 410'000);  // 140,000 bytes drained in this round trip
    BOOST_REQUIRE_EQUAL(stats.receive_buffer_growths, 0u);
    p.sim.run_for(20ms);
    send(410'000, 411'000);  // the round trip is over: more than half the buffer was drained
    BOOST_TEST(stats.receive_buffer_growths == 1u);
    BOOST_TEST(ca.tcb().receive_buffer() > 256 * 1024u);
    BOOST_TEST(stats.ooo_segments == 1u);
    BOOST_TEST(ca.tcb().receive_queue() == 0u);  // the placed bytes are not readable yet
    send(411'000, 420'000);                      // fills the hole: the placed bytes join
    send(421'000, 500'000);
    BOOST_REQUIRE_EQUAL(got.size(), 500'000u);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < got.size(); ++i) wrong += got[i] != content(1, i);
    BOOST_TEST(wrong == 0u);
    ca.abort();
    p.sim.run_for(1ms);
}

// The send buffer holds SACKed data until it is cumulatively acknowledged:
// behind a hole it fills with data the network no longer carries. A
// hand-driven SACK receiver lets a NewReno sender's window grow past 128 KB
// with cumulative ACKs, then holds the first segment of the next flight back
// and SACKs the rest for a few round trips: the buffer grows on those SACKs
// (no cumulative ACK frees anything), the writer is woken, and new data
// leaves past the 256 KiB the buffer held.
BOOST_AUTO_TEST_CASE(the_send_buffer_grows_on_sacks_behind_a_hole) {
    wire::tcp_options synack = sack_peer();
    synack.window_scale = 7;
    tcp::tcp_config cfg = with_raw_peer::unpaced();
    cfg.congestion = "newreno";
    with_raw_peer t{synack, cfg};
    const seq32 first{t.a_next};
    bool wrote = true;
    auto writer = send_stream(t.ca, 1, std::size_t{8} << 20, wrote);
    t.p.sim.spawn(std::move(writer));
    const auto& stats = t.ca.tcb().stats();
    auto highest_sent = [&] {
        seq32 top = first;
        for (const auto& s : t.peer.got)
            if (const seq32 end = s.h.seq + static_cast<std::uint32_t>(s.payload.size()); top < end) top = end;
        t.peer.got.clear();
        return top;
    };
    const std::uint16_t window = 65535;  // << 7: 8 MiB, never the limit
    seq32 top = first;
    for (int round = 0; round < 20 && t.ca.tcb().cwnd() < 128'000; ++round) {
        t.p.sim.run_for(1ms);
        top = std::max(top, highest_sent());
        t.peer.send(segment{80, t.ca.local().port}.seq(5001).ack(top).window(window));
    }
    BOOST_REQUIRE_GE(t.ca.tcb().cwnd(), 128'000u);
    BOOST_REQUIRE_EQUAL(stats.send_buffer_growths, 0u);  // cwnd has not outgrown 256 KiB: no growth yet
    BOOST_REQUIRE_EQUAL(t.ca.tcb().send_buffer(), 256 * 1024u);

    // The hole: the next segment sent. SACKs for everything after it.
    const seq32 hole = top;
    seq32 sacked_to = hole;
    for (int round = 0; round < 6; ++round) {
        t.p.sim.run_for(1ms);
        const seq32 sent = highest_sent();
        if (sacked_to < sent) sacked_to = sent;
        if (hole + 1000 < sacked_to) {
            wire::tcp_options o;
            o.sack[0] = {hole + 1000, sacked_to};
            o.sack_count = 1;
            t.peer.send(segment{80, t.ca.local().port}.seq(5001).ack(hole).window(window).options(o));
        }
    }
    BOOST_TEST(t.ca.tcb().sequence().snd_una == hole);  // nothing freed the buffer
    BOOST_TEST(stats.send_buffer_growths >= 1u);
    BOOST_TEST(t.ca.tcb().send_buffer() > 256 * 1024u);
    BOOST_TEST(wire::distance(hole, sacked_to) > 256 * 1024u,
               "the sender stopped " << wire::distance(hole, sacked_to) << " bytes past the hole");
    t.ca.abort();
    t.p.sim.run_for(1ms);
}

BOOST_AUTO_TEST_CASE(growth_stops_at_the_configured_maxima) {
    tcp::tcp_config cfg;
    cfg.receive_buffer_max = cfg.send_buffer_max = 1 << 20;  // below what this path would take
    sim_pair p{2, long_path(), cfg};
    const auto r = transfer(p, 16 << 20, {.limit = 120s});
    BOOST_TEST(r.ok_b);
    BOOST_TEST(r.got == std::size_t{16 << 20});
    BOOST_TEST(r.receive_buffer == std::size_t{1 << 20});
    BOOST_TEST(r.send_buffer == std::size_t{1 << 20});
}

BOOST_AUTO_TEST_CASE(without_auto_tuning_the_buffers_keep_their_sizes) {
    tcp::tcp_config cfg;
    cfg.buffer_auto_tuning = false;
    sim_pair p{3, long_path(), cfg};
    const auto r = transfer(p, 8 << 20, {.limit = 120s});
    BOOST_TEST(r.ok_b);
    BOOST_TEST(r.got == std::size_t{8 << 20});
    BOOST_TEST_MESSAGE("fixed 256 KiB buffers: 8 MiB at " << mbit_per_s(r.got, r.took) << " Mbit/s");
    BOOST_TEST(r.receive_buffer == cfg.receive_buffer);
    BOOST_TEST(r.send_buffer == cfg.send_buffer);
    BOOST_TEST(r.b_stats.receive_buffer_growths + r.a_stats.send_buffer_growths == 0u);
}

// The window grows with what the application drains, not with what arrives:
// a receiver that reads nothing keeps its buffer (and its memory).
BOOST_AUTO_TEST_CASE(a_receiver_that_does_not_read_keeps_its_buffer) {
    sim_pair p{4, long_path()};
    const auto r = transfer(p, 4 << 20, {.limit = 10s, .read = false});
    const tcp::tcp_config defaults;
    BOOST_TEST(r.receive_buffer == defaults.receive_buffer);
    BOOST_TEST(r.b_stats.receive_buffer_growths == 0u);
    // The sender's buffer holds what the receiver's window took: no more room to fly, no growth.
    BOOST_TEST(r.send_buffer == defaults.send_buffer);
}

// Growth asks the layer first: it stops at half the memory limit (the other
// half stays for new connections), and the transfer goes on in what it has.
BOOST_AUTO_TEST_CASE(growth_is_refused_past_half_the_memory_limit) {
    tcp::tcp_config cfg_b;
    cfg_b.memory_limit = 2 << 20;  // 512 KiB at the open, growth up to 1 MiB in all
    sim_pair p{5, long_path(), {}, cfg_b};
    const auto r = transfer(p, 16 << 20, {.limit = 120s});
    BOOST_TEST(r.ok_b);
    BOOST_TEST(r.got == std::size_t{16 << 20});
    BOOST_TEST(p.b.tcp.counters().buffer_growths_refused > 0u);
    BOOST_TEST(r.b_reserved <= cfg_b.memory_limit / 2);
    BOOST_TEST(r.b_reserved == r.receive_buffer + cfg_b.send_buffer);  // what is counted is what was grown
    BOOST_TEST(r.receive_buffer > cfg_b.receive_buffer);               // some growth fitted
    // Once the connection is gone, nothing stays counted.
    BOOST_TEST(p.b.tcp.buffer_reserved() == 0u);
    // And new connections are still admitted.
    const auto again = transfer(p, 1 << 20, {.limit = 120s});
    BOOST_TEST(again.got == std::size_t{1 << 20});
}

// RFC 7323 2.2: the scale is fixed by the SYN, so it is chosen for the
// largest buffer auto-tuning may reach (6 MiB: shift 7), not the initial one.
BOOST_AUTO_TEST_CASE(the_window_scale_is_chosen_for_the_maximum) {
    for (const bool tuned : {true, false}) {
        tcp::tcp_config cfg;
        cfg.buffer_auto_tuning = tuned;
        sim_pair p{6, {}, cfg};
        raw_peer peer{p.b.host};
        connection ca;
        auto open = [&]() -> task<void> {
            if (auto c = co_await connect(p.a.tcp, p.b_at(80))) ca = std::move(*c);
        };
        p.sim.spawn(open());
        p.sim.run_for(10ms);
        const auto syn = peer.pop();
        BOOST_REQUIRE(syn.h.options.window_scale.has_value());
        BOOST_TEST(int{*syn.h.options.window_scale} == (tuned ? 7 : 3), (tuned ? "6 MiB" : "256 KiB"));
        ca.abort();
    }
}

BOOST_AUTO_TEST_SUITE_END()
