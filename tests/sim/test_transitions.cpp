// One test per arrow of the TCP state diagram (DESIGN.md's table), each
// named after its transition.
#include "sim_pair.hpp"
#include "support/boost_print.hpp"

using namespace coronet;
using namespace coronet::test;
using namespace wire::tcp_flag;

namespace {

// a connects to b:80 where b listens; returns both ends.
struct connected {
    sim_pair& p;
    listener l;
    connection ca, cb;
    explicit connected(sim_pair& pair) : p(pair) {
        auto lr = p.b.tcp.listen(80, 8);
        BOOST_REQUIRE(lr);
        l = listener{*lr};
        auto open = [&]() -> task<void> {
            auto c = co_await connect(p.a.tcp, p.b_at(80));
            BOOST_REQUIRE(c);
            ca = std::move(*c);
        };
        auto take = [&]() -> task<void> {
            auto c = co_await l.accept();
            BOOST_REQUIRE(c);
            cb = std::move(*c);
        };
        p.sim.spawn(open());
        p.sim.spawn(take());
        p.sim.run_for(1s);
        BOOST_REQUIRE(ca.valid());
        BOOST_REQUIRE(cb.valid());
    }
};

tcp::tcb& only_connection(node& n) {
    tcp::tcb* found = nullptr;
    n.tcp.for_each([&](tcp::tcb& c) { found = &c; });
    BOOST_REQUIRE(found);
    return *found;
}

// a connects to b:port while the simulator runs for `run`, which must see
// the open end: how it ended, and when (measured from its start).
struct open_attempt {
    result<connection> got = std::make_error_code(std::errc::not_connected);
    runtime::duration took{};
    bool ended = false;
};
// (A coroutine function: its arguments live in its frame, unlike a lambda's captures.)
task<void> open_and_time(sim_pair& p, std::uint16_t port, std::optional<runtime::duration> timeout, open_attempt& out) {
    const auto start = p.sim.now();
    out.got = co_await connect(p.a.tcp, p.b_at(port), timeout);
    out.took = p.sim.now() - start;
    out.ended = true;
}
open_attempt attempt_open(sim_pair& p, std::uint16_t port, runtime::duration run,
                          std::optional<runtime::duration> timeout = std::nullopt) {
    open_attempt a;
    p.sim.spawn(open_and_time(p, port, timeout, a));
    p.sim.run_for(run);
    BOOST_REQUIRE_MESSAGE(a.ended, "the open did not end within the run");
    return a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transitions)

BOOST_AUTO_TEST_CASE(closed_to_syn_sent_to_established_and_listen_to_syn_rcvd_to_established) {
    sim_pair p;
    connected c{p};
    BOOST_TEST(p.a.saw(state::closed, state::syn_sent), p.a.trace());
    BOOST_TEST(p.a.saw(state::syn_sent, state::established), p.a.trace());
    BOOST_TEST(p.b.saw(state::listen, state::syn_rcvd), p.b.trace());
    BOOST_TEST(p.b.saw(state::syn_rcvd, state::established), p.b.trace());
    BOOST_TEST((c.ca.state() == state::established));
    BOOST_TEST((c.cb.state() == state::established));
    BOOST_TEST(c.ca.tcb().mss() == 1448);  // 1500 - 40 - 12 bytes of timestamps
}

BOOST_AUTO_TEST_CASE(four_way_close_fin_wait_2_time_wait_close_wait_last_ack_and_2msl) {
    sim_pair p;
    connected c{p};
    bool closed_a = false;
    auto close_a = [&]() -> task<void> { closed_a = static_cast<bool>(co_await c.ca.close()); };
    p.sim.spawn(close_a());
    p.sim.run_for(1s);
    BOOST_TEST(closed_a);
    BOOST_TEST(p.a.saw(state::established, state::fin_wait_1), p.a.trace());
    BOOST_TEST(p.a.saw(state::fin_wait_1, state::fin_wait_2), p.a.trace());
    BOOST_TEST(p.b.saw(state::established, state::close_wait), p.b.trace());
    auto close_b = [&]() -> task<void> { co_await c.cb.close(); };
    p.sim.spawn(close_b());
    p.sim.run_for(1s);
    BOOST_TEST(p.b.saw(state::close_wait, state::last_ack), p.b.trace());
    BOOST_TEST(p.b.saw(state::last_ack, state::closed), p.b.trace());
    BOOST_TEST(p.a.saw(state::fin_wait_2, state::time_wait), p.a.trace());
    BOOST_TEST(p.a.tcp.connection_count() == 1u);  // TIME_WAIT holds the 4-tuple
    p.sim.run_for(58s);
    BOOST_TEST(p.a.tcp.connection_count() == 1u);
    p.sim.run_for(2s);
    BOOST_TEST(p.a.saw(state::time_wait, state::closed), p.a.trace());
    BOOST_TEST(p.a.tcp.connection_count() == 0u);
    BOOST_TEST(p.b.tcp.connection_count() == 0u);
}

BOOST_AUTO_TEST_CASE(fin_wait_1_to_closing_to_time_wait_on_simultaneous_close) {
    sim_pair p;
    connected c{p};
    auto close_a = [&]() -> task<void> { co_await c.ca.close(); };
    auto close_b = [&]() -> task<void> { co_await c.cb.close(); };
    p.sim.spawn(close_a());
    p.sim.spawn(close_b());
    p.sim.run_for(1s);
    for (node* n : {&p.a, &p.b}) {
        BOOST_TEST(n->saw(state::fin_wait_1, state::closing), n->trace());
        BOOST_TEST(n->saw(state::closing, state::time_wait), n->trace());
    }
    p.sim.run_for(61s);
    BOOST_TEST(p.a.tcp.connection_count() + p.b.tcp.connection_count() == 0u);
}

BOOST_AUTO_TEST_CASE(fin_wait_1_to_time_wait_on_fin_and_ack_together) {
    with_raw_peer t;
    auto& p = t.p;
    auto& peer = t.peer;
    auto& ca = t.ca;
    auto closer = [&]() -> task<void> { co_await ca.close(); };
    p.sim.spawn(closer());
    p.sim.run_for(10ms);
    auto finseg = peer.pop();
    BOOST_REQUIRE(finseg.has(fin | ack));
    peer.send(reply_to(finseg).fin().seq(5001));  // acks our FIN and carries theirs
    p.sim.run_for(10ms);
    BOOST_TEST(p.a.saw(state::fin_wait_1, state::time_wait), p.a.trace());
    BOOST_TEST(!p.a.saw(state::fin_wait_1, state::closing), p.a.trace());
    auto last = peer.pop();
    BOOST_TEST(last.has(ack));
    BOOST_TEST(last.h.ack.value == 5002u);
}

BOOST_AUTO_TEST_CASE(syn_sent_to_syn_rcvd_on_simultaneous_open) {
    sim_pair p;
    raw_peer peer{p.b.host};
    result<connection> got = std::make_error_code(std::errc::not_connected);
    auto open = [&]() -> task<void> { got = co_await connect(p.a.tcp, p.b_at(80)); };
    p.sim.spawn(open());
    p.sim.run_for(10ms);
    auto syn_a = peer.pop();
    peer.send(segment{80, syn_a.h.src_port}.syn().seq(9000));  // a SYN crossing ours, no ACK
    p.sim.run_for(10ms);
    BOOST_TEST(p.a.saw(state::syn_sent, state::syn_rcvd), p.a.trace());
    auto synack = peer.pop();
    BOOST_TEST(synack.has(syn | ack));
    BOOST_TEST(synack.h.ack.value == 9001u);
    peer.send(reply_to(synack).seq(9001));
    p.sim.run_for(10ms);
    BOOST_TEST(p.a.saw(state::syn_rcvd, state::established), p.a.trace());
    BOOST_TEST(static_cast<bool>(got));
}

BOOST_AUTO_TEST_CASE(syn_rcvd_to_fin_wait_1_on_close_before_established) {
    sim_pair p;
    raw_peer peer{p.b.host};
    auto open = [&]() -> task<void> { co_await connect(p.a.tcp, p.b_at(80)); };
    p.sim.spawn(open());
    p.sim.run_for(10ms);
    auto syn_a = peer.pop();
    peer.send(segment{80, syn_a.h.src_port}.syn().seq(9000));
    p.sim.run_for(10ms);
    BOOST_REQUIRE((only_connection(p.a).current() == state::syn_rcvd));
    only_connection(p.a).app_close();
    p.sim.run_for(10ms);
    BOOST_TEST(p.a.saw(state::syn_rcvd, state::fin_wait_1), p.a.trace());
}

BOOST_AUTO_TEST_CASE(syn_rcvd_to_listen_on_rst_to_a_passive_open) {
    sim_pair p;
    raw_peer peer{p.a.host, make_address_v4("10.0.0.2")};  // the hand-driven peer is a; b listens with real TCP
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    listener l{*lr};
    peer.send(segment{4000, 80}.syn().seq(100));
    p.sim.run_for(10ms);
    BOOST_TEST(p.b.saw(state::listen, state::syn_rcvd), p.b.trace());
    auto synack = peer.pop();
    BOOST_REQUIRE(synack.has(syn | ack));
    peer.send(segment{4000, 80}.rst().seq(101));
    p.sim.run_for(10ms);
    BOOST_TEST(p.b.saw(state::syn_rcvd, state::listen), p.b.trace());
    BOOST_TEST(p.b.tcp.connection_count() == 0u);
    // The listener still works.
    peer.host.set_handler(wire::ip_proto::tcp, &p.a.tcp);
    result<connection> got = std::make_error_code(std::errc::not_connected);
    auto open = [&]() -> task<void> { got = co_await connect(p.a.tcp, p.b_at(80)); };
    p.sim.spawn(open());
    p.sim.run_for(1s);
    BOOST_TEST(static_cast<bool>(got));
}

BOOST_AUTO_TEST_CASE(closed_to_listen_on_passive_open_and_back_on_close) {
    sim_pair p;
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    BOOST_TEST(((*lr)->current() == state::listen));
    BOOST_TEST(!p.b.tcp.listen(80, 8));  // the port is taken: address_in_use
    (*lr)->close();
    BOOST_TEST(((*lr)->current() == state::closed));
    BOOST_TEST(static_cast<bool>(p.b.tcp.listen(80, 8)));
}

BOOST_AUTO_TEST_CASE(syn_sent_to_closed_on_close_before_an_answer) {
    sim_pair p;
    raw_peer peer{p.b.host};  // never answers
    result<connection> got = std::make_error_code(std::errc::not_connected);
    auto open = [&]() -> task<void> { got = co_await connect(p.a.tcp, p.b_at(80)); };
    p.sim.spawn(open());
    p.sim.run_for(10ms);
    only_connection(p.a).app_close();
    p.sim.run_for(10ms);
    BOOST_TEST(p.a.saw(state::syn_sent, state::closed), p.a.trace());
    BOOST_TEST(!got);
    BOOST_TEST(p.a.tcp.connection_count() == 0u);
}

BOOST_AUTO_TEST_CASE(established_to_closed_on_abort_sends_rst_and_resets_the_peer) {
    sim_pair p;
    connected c{p};
    c.ca.abort();
    p.sim.run_for(10ms);
    BOOST_TEST(p.a.saw(state::established, state::closed), p.a.trace());
    BOOST_TEST(p.b.saw(state::established, state::closed), p.b.trace());
    bool reset = false;
    auto reader = [&]() -> task<void> {
        std::array<std::byte, 8> b;
        auto r = co_await c.cb.read(b);
        reset = !r && r.error() == std::errc::connection_reset;
    };
    p.sim.spawn(reader());
    p.sim.run_for(10ms);
    BOOST_TEST(reset);
}

BOOST_AUTO_TEST_CASE(syn_sent_to_closed_on_rst_is_connection_refused) {
    sim_pair p;  // nothing listens on b:81
    const auto open = attempt_open(p, 81, 1s);
    BOOST_REQUIRE(!open.got);
    BOOST_TEST((open.got.error() == std::errc::connection_refused));
    BOOST_TEST(p.a.saw(state::syn_sent, state::closed), p.a.trace());
    BOOST_TEST(p.b.tcp.counters().resets_sent == 1u);
}

BOOST_AUTO_TEST_CASE(syn_sent_to_closed_with_host_unreachable_when_arp_gets_no_answer) {
    sim_pair p{1, {.loss = 1.0}};  // every frame lost, ARP included
    const auto open = attempt_open(p, 80, 300s);
    BOOST_REQUIRE(!open.got);
    BOOST_TEST((open.got.error() == std::errc::host_unreachable));
    BOOST_TEST((open.took == 3s));  // three ARP requests, a second apart
    BOOST_TEST(p.a.saw(state::syn_sent, state::closed), p.a.trace());
}

BOOST_AUTO_TEST_CASE(syn_sent_to_closed_on_timeout_when_syns_are_dropped) {
    sim_pair p;
    raw_peer peer{p.b.host};  // b answers ARP but ignores the SYNs
    const auto open = attempt_open(p, 80, 300s);
    BOOST_REQUIRE(!open.got);
    BOOST_TEST((open.got.error() == std::errc::timed_out));
    BOOST_TEST(peer.got.size() == 7u);  // the SYN and 6 retries
    BOOST_TEST((open.took >= 126s));
    BOOST_TEST((open.took <= 128s));
}

BOOST_AUTO_TEST_CASE(connect_timeout_option_ends_the_open_early) {
    sim_pair p;
    raw_peer peer{p.b.host};
    const auto open = attempt_open(p, 80, 4s, 3s);
    BOOST_REQUIRE(!open.got);
    BOOST_TEST((open.got.error() == std::errc::timed_out));
}

BOOST_AUTO_TEST_CASE(connect_timeout_ends_with_the_open_and_does_not_fire_later) {
    // The deadline shares a timer slot with FIN_WAIT_2 and TIME_WAIT; once
    // established, a stale one would fire again and again at the same
    // instant (this test would then never finish) and cut FIN_WAIT_2 short.
    sim_pair p;
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    listener l{*lr};
    connection ca, cb;
    auto open = [&]() -> task<void> { ca = *(co_await connect(p.a.tcp, p.b_at(80), 1s)); };
    auto take = [&]() -> task<void> { cb = *(co_await l.accept()); };
    p.sim.spawn(open());
    p.sim.spawn(take());
    p.sim.run_for(5s);
    BOOST_REQUIRE(ca.valid());
    BOOST_TEST((ca.state() == state::established));
    auto close_a = [&]() -> task<void> { co_await ca.close(); };
    p.sim.spawn(close_a());
    p.sim.run_for(10s);  // b never closes: a's orphaned FIN_WAIT_2 lasts fin_wait_2_timeout (60 s)
    BOOST_TEST(p.a.saw(state::fin_wait_1, state::fin_wait_2), p.a.trace());
    BOOST_TEST(!p.a.saw(state::fin_wait_2, state::closed), p.a.trace());
    p.sim.run_for(60s);
    BOOST_TEST(p.a.saw(state::fin_wait_2, state::closed), p.a.trace());
}

BOOST_AUTO_TEST_CASE(listen_to_syn_sent_on_send_from_a_passively_opened_tcb) {
    sim_pair p;
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    auto la = p.a.tcp.listen(7000, 8);
    BOOST_REQUIRE(la);
    (*la)->close();  // the passive TCB is turned into an active one from its port
    auto opened = p.a.tcp.connect(make_address_v4("10.0.0.2"), 80, 7000, state::listen);
    BOOST_REQUIRE(opened);
    p.sim.run_for(1s);
    BOOST_TEST(p.a.saw(state::listen, state::syn_sent), p.a.trace());
    BOOST_TEST(p.a.saw(state::syn_sent, state::established), p.a.trace());
    BOOST_TEST((*opened)->id().local_port == 7000);
    (*opened)->app_abort();
}

BOOST_AUTO_TEST_CASE(time_wait_is_reused_by_a_new_syn_per_rfc6191) {
    sim_pair p;
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    listener l{*lr};
    // b closes first, so b holds TIME_WAIT; then a reconnects from the same port.
    auto first = p.a.tcp.connect(make_address_v4("10.0.0.2"), 80, 5555);
    BOOST_REQUIRE(first);
    connection cb;
    auto take = [&]() -> task<void> { cb = *(co_await l.accept()); };
    p.sim.spawn(take());
    p.sim.run_for(1s);
    auto close_b = [&]() -> task<void> { co_await cb.close(); };
    p.sim.spawn(close_b());
    p.sim.run_for(1s);
    (*first)->app_close();
    p.sim.run_for(1s);
    BOOST_REQUIRE(p.b.saw(state::fin_wait_2, state::time_wait));
    auto second = p.a.tcp.connect(make_address_v4("10.0.0.2"), 80, 5555);
    BOOST_REQUIRE(second);
    p.sim.run_for(1s);
    BOOST_TEST(p.b.tcp.counters().time_wait_reused == 1u);
    BOOST_TEST(p.b.saw(state::time_wait, state::closed), p.b.trace());
    BOOST_TEST(((*second)->current() == state::established));
}

// a connects to b's listener l; b accepts and closes first, so that b holds
// TIME_WAIT once the last ACK reaches it; a closes. Returns a's port.
task<std::uint16_t> b_closes_first(sim_pair& p, listener& l) {
    auto ca = co_await connect(p.a.tcp, {make_address_v4("10.0.0.2"), 80});
    BOOST_REQUIRE_MESSAGE(ca, "connect: " << ca.error().message());
    auto cb = co_await l.accept();
    BOOST_REQUIRE(cb);
    BOOST_REQUIRE(co_await cb->close());
    BOOST_REQUIRE(co_await ca->close());
    co_return ca->local().port;
}

// A table full of TIME_WAIT connections (b closes first, as an HTTP server
// does, and holds 2MSL for each client) still takes new ones: each ends the
// connection longest in TIME_WAIT. Before,
// the fifth client of a 4-connection table was refused with a reset.
BOOST_AUTO_TEST_CASE(a_table_full_of_time_wait_ends_the_oldest_for_a_new_connection) {
    tcp::tcp_config cfg_b;
    cfg_b.max_connections = 4;
    sim_pair p{1, {}, {}, cfg_b};
    std::vector<std::uint16_t> evicted;  // the clients' ports whose TIME_WAIT b ended early
    p.b.tcp.on_transition = [&](const tcp::tcb& c, state from, state to, const char* cause) {
        p.b.record(from, to, cause);
        if (from == state::time_wait && std::string_view{cause}.starts_with("evicted"))
            evicted.push_back(c.id().remote_port);
    };
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    listener l{*lr};
    std::vector<std::uint16_t> ports;  // the clients', in order
    for (std::uint16_t i = 0; i < 7; ++i) {
        BOOST_TEST_CONTEXT("client " << i + 1) ports.push_back(p.sim.run_task(b_closes_first(p, l), 10s));
        p.sim.run_for(100ms);  // the last ACK reaches b: TIME_WAIT
    }
    BOOST_TEST(p.b.tcp.counters().connections_refused == 0u);
    BOOST_TEST(p.b.tcp.counters().time_wait_evicted == 3u);
    BOOST_REQUIRE_EQUAL(ports.size(), 7u);
    BOOST_TEST(evicted == std::vector<std::uint16_t>(ports.begin(), ports.begin() + 3));  // the oldest first
    BOOST_TEST(p.b.tcp.connection_count() == 4u);  // the last four clients' TIME_WAIT
}

// A new connection refused for memory ends no TIME_WAIT: the memory limit is
// checked before the table. b: 3 connections' buffers (no shrinking: the
// minimum is the full size) and a table of 4, one of them in TIME_WAIT.
BOOST_AUTO_TEST_CASE(a_connection_refused_for_memory_evicts_no_time_wait) {
    tcp::tcp_config cfg_b;
    cfg_b.send_buffer = cfg_b.receive_buffer = cfg_b.min_buffer = 64 * 1024;
    cfg_b.buffer_auto_tuning = false;
    cfg_b.memory_limit = 3 * 128 * 1024;
    cfg_b.max_connections = 4;
    sim_pair p{1, {}, {}, cfg_b};
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    listener l{*lr};
    const endpoint server{make_address_v4("10.0.0.2"), 80};
    p.sim.run_task(b_closes_first(p, l), 10s);
    p.sim.run_for(100ms);
    BOOST_REQUIRE(p.b.saw(state::fin_wait_2, state::time_wait));
    std::vector<connection> held;  // both ends of three open connections
    auto open = [&]() -> task<std::error_code> {
        auto ca = co_await connect(p.a.tcp, server, 1s);
        if (!ca) co_return ca.error();
        held.push_back(std::move(*ca));
        auto cb = co_await l.accept();
        if (!cb) co_return cb.error();
        held.push_back(std::move(*cb));
        co_return std::error_code{};
    };
    for (int i = 0; i < 3; ++i) BOOST_REQUIRE(!p.sim.run_task(open(), 10s));
    BOOST_REQUIRE_EQUAL(p.b.tcp.connection_count(), 4u);  // full: three open, one in TIME_WAIT
    const std::error_code refused = p.sim.run_task(open(), 10s);
    BOOST_TEST(refused == std::make_error_code(std::errc::connection_refused), refused.message());
    BOOST_TEST(p.b.tcp.counters().connections_refused == 1u);
    BOOST_TEST(p.b.tcp.counters().time_wait_evicted == 0u);
    BOOST_TEST(!p.b.saw(state::time_wait, state::closed), p.b.trace());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(fin_wait_2_of_an_orphaned_connection_times_out) {
    with_raw_peer t;
    auto& p = t.p;
    auto& peer = t.peer;
    auto& ca = t.ca;
    ca = connection{};  // dropped without close(): closes like close()
    p.sim.run_for(10ms);
    auto fin_seg = peer.pop();
    BOOST_REQUIRE(fin_seg.has(fin));
    peer.send(reply_to(fin_seg).seq(5001));  // acks the FIN but never sends its own
    p.sim.run_for(10ms);
    BOOST_TEST(p.a.saw(state::fin_wait_1, state::fin_wait_2), p.a.trace());
    p.sim.run_for(59s);
    BOOST_TEST(p.a.tcp.connection_count() == 1u);
    p.sim.run_for(2s);
    BOOST_TEST(p.a.saw(state::fin_wait_2, state::closed), p.a.trace());
    BOOST_TEST(p.a.tcp.connection_count() == 0u);
}

// local(), remote() and tcb() outlive close() and abort() (they dereferenced
// a null pointer), and a default connection answers without crashing.
BOOST_AUTO_TEST_CASE(accessors_keep_working_after_close_and_abort) {
    sim_pair p;
    connected c{p};
    const endpoint local = c.ca.local(), remote = c.ca.remote();
    BOOST_TEST(remote == p.b_at(80));
    bool closed = false;
    auto closer = [&]() -> task<void> { closed = static_cast<bool>(co_await c.ca.close()); };
    p.sim.spawn(closer());
    p.sim.run_for(1s);
    BOOST_REQUIRE(closed);
    BOOST_TEST(!c.ca.valid());
    BOOST_TEST((c.ca.state() == state::closed));
    BOOST_TEST(c.ca.local() == local);
    BOOST_TEST(c.ca.remote() == remote);
    BOOST_TEST((c.ca.tcb().current() == state::fin_wait_2));  // the peer has not closed yet
    BOOST_TEST(c.ca.tcb().stats().segments_sent > 0u);
    c.ca.set_no_delay(true);  // no connection left to set: nothing happens
    c.ca.set_keep_alive(true);

    c.cb.abort();
    BOOST_TEST(!c.cb.valid());
    BOOST_TEST(c.cb.remote() == local);
    BOOST_TEST((c.cb.tcb().current() == state::closed));

    connection none;
    BOOST_TEST(none.local() == endpoint{});
    BOOST_TEST(none.remote() == endpoint{});
    BOOST_TEST((none.state() == state::closed));
    BOOST_CHECK_THROW(none.tcb(), std::logic_error);
    none.set_no_delay(true);
}

BOOST_AUTO_TEST_CASE(a_listener_says_its_port_after_close_and_a_default_one_says_0) {
    sim_pair p;
    listener l{*p.b.tcp.listen(8080, 8)};
    BOOST_TEST(l.port() == 8080);
    l.close();
    BOOST_TEST(l.port() == 8080);
    BOOST_TEST((l.try_accept().error() == std::errc::operation_canceled));
    listener none;
    BOOST_TEST(none.port() == 0);
    BOOST_TEST(none.queued() == 0u);
    BOOST_TEST((none.try_accept().error() == std::errc::operation_canceled));
    none.close();
}

BOOST_AUTO_TEST_CASE(options_are_negotiated_mss_window_scale_timestamps) {
    sim_pair p;
    connected c{p};
    const auto& a = c.ca.tcb();
    BOOST_TEST(a.mss() == 1448u);  // 1460 less 12 bytes of timestamps on every segment
    // A 256 KiB receive buffer needs window scale 3 to be advertised whole.
    bool ok_a = true, ok_b = true;
    std::size_t got = 0;
    auto sender = [&]() -> task<void> { co_await send_stream(c.ca, 4, 200000, ok_a); };
    auto receiver = [&]() -> task<void> { got = co_await receive_stream(c.cb, 4, ok_b); };
    p.sim.spawn(sender());
    p.sim.spawn(receiver());
    p.sim.run_for(5s);
    BOOST_TEST(got == 200000u);
    BOOST_TEST(a.snd_wnd() > 65535u);  // only possible with window scaling
}

BOOST_AUTO_TEST_CASE(without_peer_options_the_defaults_apply) {
    sim_pair p;
    raw_peer peer{p.b.host};
    connection ca;
    auto open = [&]() -> task<void> { ca = *(co_await connect(p.a.tcp, p.b_at(80))); };
    p.sim.spawn(open());
    p.sim.run_for(10ms);
    auto syn_seg = peer.pop();
    BOOST_TEST(syn_seg.h.options.mss.has_value());
    BOOST_TEST(syn_seg.h.options.window_scale.has_value());
    BOOST_TEST(syn_seg.h.options.timestamp.has_value());
    peer.send(reply_to(syn_seg).syn().seq(5000));  // no options at all
    p.sim.run_for(10ms);
    BOOST_REQUIRE((ca.state() == state::established));
    BOOST_TEST(ca.tcb().mss() == 536u);  // RFC 9293 3.7.1 default
    peer.got.clear();
    bool ok = true;
    auto writer = [&]() -> task<void> { co_await send_stream(ca, 2, 1000, ok); };
    p.sim.spawn(writer());
    p.sim.run_for(10ms);
    BOOST_REQUIRE(!peer.got.empty());
    BOOST_TEST(!peer.got.front().h.options.timestamp.has_value());  // not negotiated: not sent
}

BOOST_AUTO_TEST_SUITE_END()
