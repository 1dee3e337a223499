// Resource bounds and dead peers on virtual time: SYN cookies when the SYN
// queue is full, the memory limit (smaller buffers, then refusal), buffers
// freed in TIME_WAIT, keep-alive, and orphaned connections that give up.
#include "sim_pair.hpp"

using namespace coronet;
using namespace coronet::test;
using namespace wire::tcp_flag;

namespace {

// One connect from a to b's port 80 (a coroutine function: its arguments
// live in its frame, unlike a lambda's captures).
task<void> open_one(sim_pair& p, connection& out, std::error_code& error, std::size_t& done,
                    runtime::duration timeout = 30s) {
    auto c = co_await connect(p.a.tcp, p.b_at(80), timeout);
    if (c)
        out = std::move(*c);
    else
        error = c.error();
    ++done;
}

// Opens n connections from a to b's port 80 at once; returns them (those that failed stay invalid).
std::vector<connection> open_many(sim_pair& p, std::size_t n, std::vector<std::error_code>& errors) {
    std::vector<connection> out(n);
    errors.assign(n, {});
    std::size_t done = 0;
    for (std::size_t i = 0; i < n; ++i) p.sim.spawn(open_one(p, out[i], errors[i], done));
    p.sim.run_until([&] { return done == n; }, p.sim.now() + 60s);
    BOOST_REQUIRE_EQUAL(done, n);
    return out;
}

// Accepts every connection listener l gets into `into`.
task<void> accept_all(listener& l, std::vector<connection>& into) {
    for (;;) {
        auto c = co_await l.accept();
        if (!c) co_return;
        into.push_back(std::move(*c));
    }
}

// b listening on port 80 with a backlog, accepting everything into
// `accepted`; open() connects n clients from a at once (errors[i]: why client i failed).
struct served {
    listener l;
    std::vector<connection> accepted;
    std::vector<std::error_code> errors;
    sim_pair& p;
    served(sim_pair& pair, std::size_t backlog) : l(listen_on(pair, backlog)), p(pair) {
        p.sim.spawn(accept_all(l, accepted));
    }
    std::vector<connection> open(std::size_t n) { return open_many(p, n, errors); }

private:
    static listener listen_on(sim_pair& pair, std::size_t backlog) {
        auto lr = pair.b.tcp.listen(80, backlog);
        BOOST_REQUIRE(lr);
        return listener{*lr};
    }
};

// Sends n bytes of stream id on `from` and checks them on `to`.
bool exchange(sim_pair& p, connection& from, connection& to, std::uint64_t id, std::size_t n) {
    bool ok_send = true, ok_recv = true, done = false;
    std::size_t got = 0;
    auto sender = [&]() -> task<void> { co_await send_stream(from, id, n, ok_send); };
    auto receiver = [&]() -> task<void> {
        got = co_await receive_stream(to, id, ok_recv);
        done = true;
    };
    p.sim.spawn(sender());
    p.sim.spawn(receiver());
    p.sim.run_until([&] { return done; }, p.sim.now() + 120s);
    return ok_send && ok_recv && got == n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(syn_cookies)

BOOST_AUTO_TEST_CASE(a_full_syn_queue_answers_with_cookies_and_the_connections_work) {
    sim_pair p{1, {.delay = 1ms}};
    served srv{p, 2};  // SYN queue and accept queue of 2
    auto clients = srv.open(8);
    for (std::size_t i = 0; i < clients.size(); ++i)
        BOOST_TEST(clients[i].valid(), "client " << i << ": " << srv.errors[i].message());
    // A cookie's ACK that finds the accept queue full is dropped (as Linux
    // does); the client's first data carries the ACK again.
    auto say = [&](connection& c) -> task<void> { co_await c.write(std::as_bytes(std::span{"hi", 2})); };
    for (auto& c : clients) p.sim.spawn(say(c));
    p.sim.run_for(5s);
    BOOST_TEST(srv.accepted.size() == 8u);
    const auto& k = p.b.tcp.counters();
    BOOST_TEST_MESSAGE("cookies sent " << k.syn_cookies_sent << ", srv.accepted " << k.syn_cookies_accepted
                                       << ", ACKs dropped (accept queue full) " << k.syns_dropped);
    BOOST_TEST(k.syn_cookies_sent >= 6u);
    BOOST_TEST(k.syn_cookies_accepted == k.syn_cookies_sent);
    BOOST_TEST(k.syn_cookies_rejected == 0u);
    BOOST_TEST(p.b.trace().find("SYN_RCVD->ESTABLISHED(ACK, SYN cookie)") != std::string::npos, p.b.trace());
    // A cookie's connection keeps window scaling and timestamps (both ends use
    // them here): a 4 MiB transfer each way, through windows beyond 64 KiB.
    for (auto& server : srv.accepted) {
        std::array<std::byte, 2> hi;
        bool read = false;
        auto get = [&]() -> task<void> {
            auto r = co_await server.read(hi);
            read = r && *r == 2;
        };
        p.sim.spawn(get());
        p.sim.run_for(10ms);
        BOOST_TEST(read);
    }
    auto& server = srv.accepted.back();  // the first two were srv.accepted from the SYN queue, the rest by cookie
    BOOST_TEST(server.tcb().mss() == 1460 - 12);  // the cookie kept the MSS; timestamps take 12 bytes
    for (auto& client : clients)
        if (client.local() == server.remote()) {
            BOOST_TEST(exchange(p, client, server, 1, 4 << 20));
            BOOST_TEST(server.tcb().snd_wnd() > 65535u);
            BOOST_TEST(exchange(p, server, client, 2, 4 << 20));
        }
}

// TCP_MAXSEG on the listener holds for the connections its cookies make too
// (their SYN+ACK offered the interface's MSS before).
BOOST_AUTO_TEST_CASE(a_cookie_offers_the_listeners_mss_clamp) {
    sim_pair p{1, {.delay = 1ms}};
    served srv{p, 1};
    srv.l.set_max_segment(1000);
    auto clients = srv.open(4);
    BOOST_REQUIRE(p.b.tcp.counters().syn_cookies_sent > 0u);
    for (std::size_t i = 0; i < clients.size(); ++i) {
        BOOST_REQUIRE_MESSAGE(clients[i].valid(), "client " << i << ": " << srv.errors[i].message());
        BOOST_TEST(clients[i].tcb().mss() <= 1000u, "client " << i);
    }
}

BOOST_AUTO_TEST_CASE(a_forged_ack_with_a_wrong_cookie_draws_a_reset_and_makes_nothing) {
    sim_pair p;
    served srv{p, 1};
    auto clients = srv.open(3);  // the later ones make b send cookies
    BOOST_REQUIRE(p.b.tcp.counters().syn_cookies_sent > 0u);
    const std::size_t before = p.b.tcp.connection_count();
    const auto resets = p.b.tcp.counters().resets_sent;
    raw_peer peer{p.a.host, p.b.host.address()};  // a's TCP steps aside: the test is the peer
    peer.send(segment{45000, 80}.seq(777).ack(123456).window(1000));
    p.sim.run_for(10ms);
    BOOST_TEST(p.b.tcp.counters().syn_cookies_rejected == 1u);
    BOOST_TEST(p.b.tcp.counters().resets_sent == resets + 1);
    BOOST_TEST(p.b.tcp.connection_count() == before);
}

BOOST_AUTO_TEST_CASE(without_cookies_a_full_syn_queue_drops_syns_and_the_peers_retry) {
    tcp::tcp_config cfg;
    cfg.syn_cookies = false;
    sim_pair p{1, {}, cfg};
    served srv{p, 1};
    auto clients = srv.open(3);
    for (std::size_t i = 0; i < clients.size(); ++i) BOOST_TEST(clients[i].valid(), srv.errors[i].message());
    BOOST_TEST(p.b.tcp.counters().syns_dropped > 0u);
    BOOST_TEST(p.b.tcp.counters().syn_cookies_sent == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(accept_queue)

// Connections established but not yet accepted never exceed the backlog,
// however the handshakes interleave: an ACK that would complete one while the
// accept queue is full is dropped (the peer retransmits), as Linux does. The
// worst case: the queue almost full when a burst of SYNs fills the SYN queue
// (and the rest draw cookies), all completing together.
void accept_queue_holds_at_most_the_backlog(const tcp::tcp_config& cfg) {
    sim_pair p{1, {.delay = 1ms}, cfg};
    constexpr std::size_t backlog = 4, early = backlog - 1, burst = 12;
    auto lr = p.b.tcp.listen(80, backlog);
    BOOST_REQUIRE(lr);
    listener l{*lr};  // nobody accepts yet
    std::vector<connection> clients(early + burst);
    std::vector<std::error_code> errors(clients.size());
    std::size_t done = 0, most = 0;
    for (std::size_t i = 0; i < early; ++i) p.sim.spawn(open_one(p, clients[i], errors[i], done));
    p.sim.run_until([&] { return l.queued() == early; }, p.sim.now() + 1s);
    BOOST_REQUIRE_EQUAL(l.queued(), early);
    // They may need most of their SYN retries (1, 3, 7, 15, 31, 63 s): the queue is full for the first 10 s.
    for (std::size_t i = early; i < clients.size(); ++i) p.sim.spawn(open_one(p, clients[i], errors[i], done, 120s));
    // Through SYN and SYN-ACK retransmissions (1, 3, 7 s...) the queue stays within the backlog.
    for (int ms = 0; ms < 10000; ++ms) {
        p.sim.run_for(1ms);
        most = std::max(most, l.queued());
    }
    BOOST_TEST(most == backlog, "at most " << most << " queued");
    BOOST_TEST(p.b.tcp.counters().syns_dropped > 0u);
    // Once accepted, every client gets in (its retransmitted SYN or ACK, or
    // its data, completes the handshake) and can talk.
    std::vector<connection> accepted;
    p.sim.spawn(accept_all(l, accepted));
    auto say = [](connection& c) -> task<void> { co_await c.write(std::as_bytes(std::span{"hi", 2})); };
    p.sim.run_until([&] { return done == clients.size(); }, p.sim.now() + 120s);
    for (std::size_t i = 0; i < clients.size(); ++i) {
        BOOST_TEST(clients[i].valid(), "client " << i << ": " << errors[i].message());
        if (clients[i].valid()) p.sim.spawn(say(clients[i]));
    }
    p.sim.run_until([&] { return accepted.size() == clients.size(); }, p.sim.now() + 60s);
    BOOST_TEST(accepted.size() == clients.size(), p.b.trace());
}

BOOST_AUTO_TEST_CASE(the_accept_queue_never_holds_more_than_the_backlog) { accept_queue_holds_at_most_the_backlog({}); }

BOOST_AUTO_TEST_CASE(without_cookies_the_accept_queue_never_holds_more_than_the_backlog) {
    tcp::tcp_config cfg;
    cfg.syn_cookies = false;
    accept_queue_holds_at_most_the_backlog(cfg);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(memory_limits)

BOOST_AUTO_TEST_CASE(past_half_the_limit_buffers_shrink_and_at_the_limit_connections_are_refused) {
    tcp::tcp_config cfg;
    cfg.send_buffer = cfg.receive_buffer = 64 * 1024;
    cfg.memory_limit = 1024 * 1024;  // full buffers for 4 connections, then less
    sim_pair p{1, {}, {}, cfg};      // the limit on b, the server
    served srv{p, 64};
    auto clients = srv.open(40);
    std::size_t refused = 0;
    for (std::size_t i = 0; i < clients.size(); ++i) {
        if (!clients[i].valid()) {
            BOOST_TEST(srv.errors[i] == std::make_error_code(std::errc::connection_refused), srv.errors[i].message());
            ++refused;
        }
    }
    p.sim.run_for(10ms);
    BOOST_TEST_MESSAGE("srv.accepted " << srv.accepted.size() << ", refused " << refused << ", reserved "
                                       << p.b.tcp.buffer_reserved());
    BOOST_TEST(refused > 0u);
    BOOST_TEST(srv.accepted.size() + refused == 40u);
    BOOST_TEST(p.b.tcp.counters().connections_refused == refused);
    BOOST_TEST(p.b.tcp.buffer_reserved() <= cfg.memory_limit);
    BOOST_REQUIRE(!srv.accepted.empty());
    BOOST_TEST(srv.accepted.front().tcb().receive_buffer() == 64 * 1024u);
    BOOST_TEST(srv.accepted.back().tcb().receive_buffer() < 64 * 1024u);
    BOOST_TEST(srv.accepted.back().tcb().receive_buffer() >= cfg.min_buffer);
    // Connections past the pressure point still carry data, within their smaller windows.
    for (auto& client : clients)
        if (client.valid() && client.local() == srv.accepted.back().remote())
            BOOST_TEST(exchange(p, client, srv.accepted.back(), 3, 1 << 20));
}

BOOST_AUTO_TEST_CASE(max_connections_refuses_connect_locally_with_no_buffer_space) {
    tcp::tcp_config cfg;
    cfg.max_connections = 2;
    sim_pair p{1, {}, cfg};
    served srv{p, 8};
    auto clients = srv.open(3);
    BOOST_TEST(clients[0].valid());
    BOOST_TEST(clients[1].valid());
    BOOST_TEST(!clients[2].valid());
    BOOST_TEST(srv.errors[2] == std::make_error_code(std::errc::no_buffer_space), srv.errors[2].message());
    BOOST_TEST(p.a.tcp.counters().connections_refused == 1u);
}

BOOST_AUTO_TEST_CASE(buffers_are_allocated_on_use_and_freed_in_time_wait) {
    sim_pair p;
    served srv{p, 8};
    auto clients = srv.open(1);
    p.sim.run_for(10ms);
    BOOST_REQUIRE(clients[0].valid());
    BOOST_REQUIRE_EQUAL(srv.accepted.size(), 1u);
    BOOST_TEST(clients[0].tcb().buffer_memory() == 0u);  // idle: nothing allocated yet
    BOOST_TEST(p.a.tcp.buffer_reserved() == 512 * 1024u);
    BOOST_TEST(exchange(p, clients[0], srv.accepted[0], 4, 100000));  // a shuts down writing at the end
    BOOST_TEST(clients[0].tcb().buffer_memory() > 0u);
    bool closed = false;
    auto closer = [&]() -> task<void> {
        co_await srv.accepted[0].close();
        closed = true;
    };
    p.sim.spawn(closer());
    p.sim.run_until([&] { return closed; }, p.sim.now() + 10s);
    p.sim.run_for(10ms);
    BOOST_TEST((clients[0].state() == state::time_wait));
    BOOST_TEST(clients[0].tcb().buffer_memory() == 0u);
    BOOST_TEST(p.a.tcp.buffer_reserved() == 0u);
    BOOST_TEST(p.b.tcp.buffer_reserved() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dead_peers)

BOOST_AUTO_TEST_CASE(keep_alive_ends_a_connection_whose_peer_vanished) {
    tcp::tcp_config cfg;
    cfg.keepalive = {.enabled = false, .idle = 10s, .interval = 2s, .probes = 3};
    sim_pair p{1, {}, cfg};
    served srv{p, 8};
    auto clients = srv.open(2);
    p.sim.run_for(10ms);
    BOOST_REQUIRE(clients[0].valid() && clients[1].valid());
    clients[0].set_keep_alive(true);
    // An answering peer keeps the connection up through many idle periods.
    p.sim.run_for(60s);
    BOOST_TEST((clients[0].state() == state::established));
    BOOST_TEST(p.b.tcp.counters().segments_in >= 6u);
    // Then b vanishes: after 10 s idle and 3 unanswered probes 2 s apart, a gives up.
    p.wire.a_to_b().set_params({.loss = 1.0});
    const auto start = p.sim.now();
    std::optional<runtime::time_point> ended;
    auto reader = [&]() -> task<void> {
        std::array<std::byte, 16> buf;
        auto r = co_await clients[0].read(buf);
        BOOST_TEST(!r);
        if (!r) BOOST_TEST(r.error() == std::make_error_code(std::errc::timed_out), r.error().message());
        ended = p.sim.now();
    };
    p.sim.spawn(reader());
    p.sim.run_until([&] { return ended.has_value(); }, start + 60s);
    BOOST_REQUIRE(ended);
    const auto took = *ended - start;
    BOOST_TEST(took >= 10s);
    BOOST_TEST(took <= 10s + 3 * 2s + 1s);
    BOOST_TEST(p.a.trace().find("keep-alive timeout") != std::string::npos, p.a.trace());
    // The connection without keep-alive is still there.
    BOOST_TEST((clients[1].state() == state::established));
}

BOOST_AUTO_TEST_CASE(an_orphaned_connection_whose_peer_vanished_is_released_after_orphan_retries) {
    tcp::tcp_config cfg;
    cfg.orphan_retries = 3;
    sim_pair p{1, {}, cfg};
    served srv{p, 8};
    auto clients = srv.open(1);
    BOOST_REQUIRE(clients[0].valid());
    p.wire.a_to_b().set_params({.loss = 1.0});  // b is gone
    bool written = false;
    auto writer = [&]() -> task<void> {
        std::vector<std::byte> data(50000, std::byte{7});
        co_await clients[0].write(data);
        written = true;
        clients[0] = connection{};  // dropped: closed gracefully, orphaned
    };
    p.sim.spawn(writer());
    p.sim.run_until([&] { return written; }, p.sim.now() + 1s);
    BOOST_REQUIRE(written);
    BOOST_TEST(p.a.tcp.connection_count() == 1u);
    // 3 retransmissions with backoff from a 1 s RTO: 1+2+4+8 s, far below max_retransmits' minutes.
    p.sim.run_for(20s);
    BOOST_TEST(p.a.tcp.connection_count() == 0u, p.a.trace());
    BOOST_TEST(p.a.tcp.buffer_reserved() == 0u);
    BOOST_TEST(p.a.trace().find("retransmission timeout") != std::string::npos, p.a.trace());
}

BOOST_AUTO_TEST_CASE(an_orphaned_fin_wait_2_and_time_wait_expire) {
    tcp::tcp_config cfg;
    cfg.fin_wait_2_timeout = 5s;
    cfg.msl = 2s;
    sim_pair p{1, {}, cfg};
    served srv{p, 8};
    auto clients = srv.open(1);
    p.sim.run_for(10ms);
    BOOST_REQUIRE(clients[0].valid());
    BOOST_REQUIRE_EQUAL(srv.accepted.size(), 1u);
    clients[0] = connection{};  // a closes; b never does: a waits in FIN_WAIT_2
    p.sim.run_for(1s);
    BOOST_TEST(p.a.saw(state::fin_wait_1, state::fin_wait_2));
    BOOST_TEST(p.a.tcp.connection_count() == 1u);
    p.sim.run_for(5s);
    BOOST_TEST(p.a.tcp.connection_count() == 0u, p.a.trace());
    BOOST_TEST(p.a.trace().find("FIN_WAIT_2 timeout") != std::string::npos, p.a.trace());
    // b closes too late: a answers with a reset; b's side ends. Then the other way
    // round: b's TIME_WAIT lasts 2*MSL and goes.
    srv.accepted.clear();
    p.sim.run_for(1s);
    BOOST_TEST(p.b.tcp.connection_count() == 0u, p.b.trace());
    auto again = srv.open(1);
    p.sim.run_for(10ms);
    BOOST_REQUIRE(again[0].valid());
    BOOST_REQUIRE_EQUAL(srv.accepted.size(), 1u);
    bool closed = false;
    auto closer = [&]() -> task<void> {
        co_await srv.accepted[0].close();  // b closes first, a follows
        closed = true;
    };
    p.sim.spawn(closer());
    p.sim.run_for(100ms);
    again[0] = connection{};
    p.sim.run_for(100ms);
    BOOST_TEST(p.b.saw(state::fin_wait_2, state::time_wait));
    BOOST_TEST(p.b.tcp.connection_count() == 1u);
    p.sim.run_for(4s);
    BOOST_TEST(p.b.tcp.connection_count() == 0u);
    BOOST_TEST(p.b.trace().find("2MSL timeout") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(destroyed_waiters)

// A coroutine destroyed while it waits (here: the executor's shutdown of its
// detached tasks) takes its handle back: the listener's close must not
// resume the dead frame. (read, write and connect waits do the same.)
task<void> accept_one(listener& l, bool& got) {
    [[maybe_unused]] auto c = co_await l.accept();
    got = true;
}

BOOST_AUTO_TEST_CASE(a_destroyed_accept_is_not_resumed_by_the_close) {
    sim_pair p;
    auto lr = p.b.tcp.listen(80, 8);
    BOOST_REQUIRE(lr);
    listener l{*lr};
    bool got = false;
    p.sim.spawn(accept_one(l, got));
    p.sim.run_for(1ms);
    BOOST_REQUIRE(!p.sim.has_ready());
    p.sim.destroy_detached();  // the waiter is gone
    l.close();                 // would post its handle
    BOOST_TEST(!p.sim.has_ready());
    p.sim.run_for(1ms);
    BOOST_TEST(!got);
}

BOOST_AUTO_TEST_SUITE_END()
