// Lifetimes of the Asio adapters: async_close and async_shutdown complete
// once the peer has acknowledged the FIN (so a program may exit after them
// without losing data), fail on a reset or a silent peer; the accessors
// outlive close; and the io_context, the stacks and their loop may be
// destroyed in any order while transfers are in flight.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "asio_pair.hpp"

using namespace coronet;
using namespace coronet::test;

namespace {

constexpr std::size_t two_mib = 2'097'152;  // what the user wrote

// The ends of a transfer that own their streams, as an Asio program's
// coroutines do: `send` writes up to 64 MiB, `sink` reads until EOF.
asio::awaitable<void> send_all(asio_stream s, bool& finished) {
    const std::string chunk(1 << 20, 's');
    for (int i = 0; i < 64; ++i) co_await asio::async_write(s, asio::buffer(chunk), asio::use_awaitable);
    finished = true;
}

asio::awaitable<void> sink(asio_stream s) {
    std::string buf(64 * 1024, '\0');
    for (int i = 0; i < 1'000'000; ++i) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
    }
}

// Two hosts whose parts a test destroys in the order it chooses: the
// io_context (declared first, so by default it goes last, after the loop),
// the simulated loop, and each host's stack.
struct parts {
    std::optional<asio::io_context> io{std::in_place};
    runtime::sim_loop sim;
    asio_bridge bridge{io->get_executor(), sim};
    link::sim_link wire{sim, {.rate_mbit = 100}};  // 50 ms move about 600 KB of the 64 MiB
    std::optional<node> a{std::in_place, sim, wire.a(), "10.0.0.1", tcp::tcp_config{}, 1};
    std::optional<node> b{std::in_place, sim, wire.b(), "10.0.0.2", tcp::tcp_config{}, 2};
    std::optional<asio_acceptor> acceptor;
    std::optional<asio_stream> sa, sb;
    bool finished = false;

    parts() {
        sim.run_for(1ms);
        open_streams(*io, sim, bridge, a->tcp, b->tcp, {make_address_v4("10.0.0.2"), 80}, acceptor, sa, sb);
    }
    // Hands both streams to coroutines (a sends, b reads) and runs until
    // data flows: then each holds an operation waiting in the stack.
    void start_transfer() {
        asio::co_spawn(*io, send_all(std::move(*sa), finished), asio::detached);
        asio::co_spawn(*io, sink(std::move(*sb)), asio::detached);
        run_in_turns(
            *io, sim, [] { return false; }, 50ms);
        BOOST_TEST(!finished);
        BOOST_TEST(b->tcp.connection_count() == 1u);
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(asio_lifetime)

// Issue 16: "wrote 2,097,152 B, the peer got 1,862,128 B and never saw a FIN".
BOOST_AUTO_TEST_CASE(async_close_completes_once_the_peer_has_every_byte_and_the_fin) {
    asio_pair t;
    const std::string data(two_mib, 'd');
    std::string got;
    std::optional<error_code> close_ec;
    bool peer_had_all = false;
    auto write_then_close = [&]() -> asio::awaitable<void> {
        co_await asio::async_write(*t.a, asio::buffer(data), asio::use_awaitable);
        auto [ec] = co_await t.a->async_close(asio::as_tuple(asio::use_awaitable));
        close_ec = ec;
        const tcp::tcb& peer = t.b->native_connection()->tcb();
        peer_had_all = peer.stats().bytes_received == two_mib && peer.peer_finished();
    };
    asio::co_spawn(t.io, write_then_close(), asio::detached);
    asio::async_read(*t.b, asio::dynamic_buffer(got), [](error_code, std::size_t) {});
    BOOST_TEST(t.run_until([&] { return close_ec.has_value(); }));
    BOOST_TEST(!*close_ec, close_ec->message());
    BOOST_TEST(peer_had_all);  // so leaving io.run() now loses nothing
    BOOST_TEST(!t.a->is_open());
}

BOOST_AUTO_TEST_CASE(async_close_fails_with_connection_reset_when_the_peer_resets_first) {
    asio_pair t;
    const std::string big(8 << 20, 'w');  // more than both buffers: b does not read
    std::optional<error_code> write_ec, close_ec;
    asio::async_write(*t.a, asio::buffer(big), [&](error_code ec, std::size_t) { write_ec = ec; });
    t.run_for(1s);
    t.a->async_close([&](error_code ec) { close_ec = ec; });
    t.run_for(1s);
    BOOST_TEST((write_ec == asio::error::operation_aborted));
    BOOST_TEST(!close_ec);  // our FIN waits behind data b does not take
    t.b->abort();
    BOOST_TEST(t.run_until([&] { return close_ec.has_value(); }));
    BOOST_TEST((*close_ec == asio::error::connection_reset), close_ec->message());
}

BOOST_AUTO_TEST_CASE(async_close_after_a_reset_reports_the_reset) {
    asio_pair t;
    t.b->abort();
    t.run_for(100ms);
    std::optional<error_code> close_ec;
    t.a->async_close([&](error_code ec) { close_ec = ec; });
    BOOST_TEST(t.run_until([&] { return close_ec.has_value(); }));
    BOOST_TEST((*close_ec == asio::error::connection_reset), close_ec->message());
}

BOOST_AUTO_TEST_CASE(async_close_fails_with_timed_out_when_the_peer_goes_silent) {
    tcp::tcp_config quick;
    quick.orphan_retries = quick.max_retransmits = 3;
    asio_pair t{quick};
    t.p.wire.b_to_a().set_params({.loss = 1.0});  // no ACK comes back
    std::optional<error_code> close_ec;
    asio::async_write(*t.a, asio::buffer(std::string_view("last words")), [](error_code, std::size_t) {});
    t.a->async_close([&](error_code ec) { close_ec = ec; });
    BOOST_TEST(t.run_until([&] { return close_ec.has_value(); }, 600s));
    BOOST_TEST((*close_ec == asio::error::timed_out), close_ec->message());
}

BOOST_AUTO_TEST_CASE(async_shutdown_completes_on_the_fins_ack_and_reading_goes_on) {
    asio_pair t;
    std::optional<error_code> shut_ec;
    std::string request, reply;
    std::optional<error_code> reply_ec;
    asio::async_write(*t.a, asio::buffer(std::string_view("GET")),
                      [&](error_code, std::size_t) { t.a->async_shutdown([&](error_code ec) { shut_ec = ec; }); });
    BOOST_TEST(t.run_until([&] { return shut_ec.has_value(); }));
    BOOST_TEST(!*shut_ec, shut_ec->message());
    BOOST_TEST(t.b->native_connection()->tcb().peer_finished());
    asio::async_write(*t.b, asio::buffer(std::string_view("200 OK")), [&](error_code, std::size_t) { t.b->close(); });
    asio::async_read(*t.a, asio::dynamic_buffer(reply), [&](error_code ec, std::size_t) { reply_ec = ec; });
    BOOST_TEST(t.run_until([&] { return reply_ec.has_value(); }));
    BOOST_TEST((*reply_ec == asio::error::eof));
    BOOST_TEST(reply == "200 OK");
}

BOOST_AUTO_TEST_CASE(a_cancelled_async_close_completes_and_the_close_goes_on) {
    asio_pair t;
    t.p.wire.b_to_a().set_params({.loss = 1.0});  // the FIN's ACK does not come back yet
    asio::cancellation_signal cancel;
    std::optional<error_code> close_ec, again_ec;
    t.a->async_close(asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec) { close_ec = ec; }));
    t.run_for(100ms);
    cancel.emit(asio::cancellation_type::terminal);
    BOOST_TEST(t.run_until([&] { return close_ec.has_value(); }));
    BOOST_TEST((*close_ec == asio::error::operation_aborted));
    t.a->async_close([&](error_code ec) { again_ec = ec; });  // waits for the same close
    t.p.wire.b_to_a().set_params({});
    BOOST_TEST(t.run_until([&] { return again_ec.has_value(); }, 60s));
    BOOST_TEST(!*again_ec, again_ec->message());
}

BOOST_AUTO_TEST_CASE(accessors_keep_working_after_close_and_abort) {
    asio_pair t;
    bool written = false;
    asio::async_write(*t.a, asio::buffer(std::string(1000, 'x')), [&](error_code, std::size_t) { written = true; });
    BOOST_TEST(t.run_until([&] { return written; }));
    t.a->close();
    t.b->abort();
    t.run_for(1s);
    for (asio_stream* s : {&*t.a, &*t.b}) {
        BOOST_TEST(!s->is_open());
        BOOST_TEST(!s->native_connection()->valid());
        BOOST_TEST(s->native_connection()->tcb().stats().segments_sent > 0u);
    }
    BOOST_TEST((t.a->remote() == t.p.b_at(80)));
    BOOST_TEST((t.a->native_connection()->remote() == t.p.b_at(80)));
    BOOST_TEST((t.b->local() == t.p.b_at(80)));
    BOOST_TEST(t.a->stats().bytes_sent == 1000u);
    BOOST_TEST(t.acceptor->port() == 80);
    t.acceptor->close();
    BOOST_TEST(t.acceptor->port() == 80);
    asio_stream never{t.io.get_executor()};  // what a failed connect yields
    BOOST_TEST((never.remote() == endpoint{}));
    BOOST_TEST(never.stats().bytes_sent == 0u);
    BOOST_TEST(!never.native_connection());
}

// Issue 16: "declaring the io_context before the stack crashes at shutdown".
BOOST_AUTO_TEST_CASE(the_stacks_may_go_before_the_io_context_with_transfers_in_flight) {
    parts w;
    w.start_transfer();
    w.a.reset();
    w.b.reset();
    w.io.reset();  // its coroutines own the streams; the loop still runs
    w.sim.run_for(10ms);
}

BOOST_AUTO_TEST_CASE(the_io_context_may_go_before_the_stacks_with_transfers_in_flight) {
    parts w;
    w.start_transfer();
    w.io.reset();
    w.sim.run_for(10ms);
    w.a.reset();
    w.b.reset();
}

BOOST_AUTO_TEST_CASE(the_io_context_may_outlive_the_stacks_and_their_loop) {
    parts w;
    w.start_transfer();  // then the members go in reverse order: the io_context last
}

BOOST_AUTO_TEST_CASE(a_stream_used_after_its_stack_is_gone_fails_with_connection_aborted) {
    parts w;
    w.a.reset();
    w.b.reset();
    std::optional<error_code> read_ec, write_ec, close_ec;
    char buf[8];
    w.sa->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) { read_ec = ec; });
    w.sb->async_write_some(asio::buffer(std::string_view("late")), [&](error_code ec, std::size_t) { write_ec = ec; });
    w.sa->async_close([&](error_code ec) { close_ec = ec; });
    w.io->restart();
    w.io->run();  // nothing of the stacks is needed: it runs out of work
    BOOST_TEST((read_ec == asio::error::connection_aborted), read_ec.value_or(error_code{}).message());
    BOOST_TEST((write_ec == asio::error::connection_aborted));
    BOOST_TEST((close_ec == asio::error::connection_aborted));
    BOOST_TEST((w.sa->remote() == endpoint{make_address_v4("10.0.0.2"), 80}));
}

BOOST_AUTO_TEST_SUITE_END()
