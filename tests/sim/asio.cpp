// The Asio adapters over two stacks on virtual time: an io_context runs the
// Asio side (coroutines with use_awaitable, and plain callbacks), the
// simulator the stacks, in turns. async_read/async_write/async_read_until,
// EOF, errors as asio::error values, completions never inline, and close,
// abort and per-operation cancellation with no coroutine left behind.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <coronet/api/asio.hpp>
#include <functional>
#include <optional>
#include <string>

#include "asio_pair.hpp"

using namespace coronet;
using namespace coronet::test;

namespace {

std::string numbered_lines(int count) {
    std::string text;
    for (int i = 0; i < count; ++i) text += "line " + std::to_string(i) + " " + std::string(i % 97, 'x') + "\n";
    return text;
}

// Echoes lines as coronet-asio-echo does, until EOF; then closes.
asio::awaitable<void> echo_lines(asio_stream& s) {
    std::string buf;
    for (;;) {
        auto [ec, n] =
            co_await asio::async_read_until(s, asio::dynamic_buffer(buf), '\n', asio::as_tuple(asio::use_awaitable));
        if (ec) break;
        co_await asio::async_write(s, asio::buffer(buf.data(), n), asio::use_awaitable);
        buf.erase(0, n);
    }
    s.close();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(asio_adapters)

BOOST_AUTO_TEST_CASE(lines_written_with_async_write_come_back_through_async_read_until) {
    asio_pair t;
    const std::string text = numbered_lines(3000);  // ~170 KB: the send buffers fill and drain
    std::string back(text.size(), '\0');
    bool echoed = false, sent = false, received = false;
    auto send = [&]() -> asio::awaitable<void> {
        const std::size_t n = co_await asio::async_write(*t.a, asio::buffer(text), asio::use_awaitable);
        BOOST_TEST(n == text.size());
        BOOST_TEST(!t.a->shutdown_write());
    };
    auto receive = [&]() -> asio::awaitable<void> {
        co_await asio::async_read(*t.a, asio::buffer(back), asio::use_awaitable);
        char extra;
        auto [ec, n] = co_await asio::async_read(*t.a, asio::buffer(&extra, 1), asio::as_tuple(asio::use_awaitable));
        BOOST_TEST((ec == asio::error::eof));  // the echo server closed after our FIN
        BOOST_TEST(n == 0u);
    };
    t.spawn(echo_lines(*t.b), echoed);
    t.spawn(send(), sent);
    t.spawn(receive(), received);
    BOOST_TEST(t.run_until([&] { return echoed && sent && received; }));
    BOOST_TEST((back == text));
}

BOOST_AUTO_TEST_CASE(async_read_to_eof_reports_eof_with_every_byte) {
    asio_pair t;
    const std::string text(100'000, 'q');
    std::string got(200'000, '\0');
    error_code read_ec;
    std::size_t read_n = 0;
    bool done = false;
    asio::async_write(*t.a, asio::buffer(text), [&](error_code ec, std::size_t) {
        BOOST_TEST(!ec);
        BOOST_TEST(!t.a->shutdown_write());
    });
    asio::async_read(*t.b, asio::buffer(got), [&](error_code ec, std::size_t n) {
        read_ec = ec;
        read_n = n;
        done = true;
    });
    BOOST_TEST(t.run_until([&] { return done; }));
    BOOST_TEST((read_ec == asio::error::eof));
    BOOST_TEST(read_n == text.size());
}

BOOST_AUTO_TEST_CASE(a_handler_never_runs_inside_the_initiating_call) {
    asio_pair t;
    asio::async_write(*t.a, asio::buffer(std::string_view("ready")), [](error_code, std::size_t) {});
    t.run_for(100ms);  // the bytes wait in b's receive buffer
    char buf[16];
    bool called = false;
    std::size_t got = 0;
    t.b->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t n) {
        BOOST_TEST(!ec);
        called = true;
        got = n;
    });
    BOOST_TEST(!called);
    t.io.restart();
    t.io.poll();
    BOOST_TEST(called);
    BOOST_TEST(got == 5u);
}

BOOST_AUTO_TEST_CASE(a_second_read_while_one_is_pending_fails_with_already_started) {
    asio_pair t;
    char one[8], two[8];
    error_code first, second;
    t.b->async_read_some(asio::buffer(one), [&](error_code ec, std::size_t) { first = ec; });
    t.b->async_read_some(asio::buffer(two), [&](error_code ec, std::size_t) { second = ec; });
    t.run_for(10ms);
    BOOST_TEST((second == asio::error::already_started));
    t.b->close();
    t.run_for(10ms);
    BOOST_TEST((first == asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(close_with_a_read_pending_aborts_it_and_leaves_no_coroutine) {
    asio_pair t;
    const std::size_t before = t.p.sim.detached_count();
    char buf[64];
    std::optional<error_code> result;
    t.b->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) { result = ec; });
    t.run_for(10ms);
    BOOST_TEST(!result);
    t.b->close();
    BOOST_TEST(t.run_until([&] { return result.has_value(); }));
    BOOST_TEST((*result == asio::error::operation_aborted));
    // The peer sees our FIN; once it closes too, the read waiting in the stack ends.
    std::optional<error_code> peer;
    asio::async_read(*t.a, asio::buffer(buf), [&](error_code ec, std::size_t) { peer = ec; });
    BOOST_TEST(t.run_until([&] { return peer.has_value(); }));
    BOOST_TEST((*peer == asio::error::eof));
    t.a->close();
    t.run_for(70s);                                      // TIME_WAIT
    BOOST_TEST(t.p.sim.detached_count() == before - 2);  // both connections' lives, and nothing of ours
    BOOST_TEST(t.p.a.tcp.connection_count() + t.p.b.tcp.connection_count() == 0u);
    error_code after;
    t.b->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) { after = ec; });
    t.run_for(1ms);
    BOOST_TEST((after == asio::error::bad_descriptor));
}

BOOST_AUTO_TEST_CASE(abort_with_a_write_pending_aborts_it_and_resets_the_peer) {
    asio_pair t;
    const std::string big(4 << 20, 'w');  // more than both buffers hold: a never reads yet
    std::optional<error_code> write_ec;
    asio::async_write(*t.b, asio::buffer(big), [&](error_code ec, std::size_t) { write_ec = ec; });
    t.run_for(1s);
    BOOST_TEST(!write_ec);
    t.b->abort();
    BOOST_TEST(t.run_until([&] { return write_ec.has_value(); }));
    BOOST_TEST((*write_ec == asio::error::operation_aborted));
    std::string sink(big.size(), '\0');
    std::optional<error_code> read_ec;
    asio::async_read(*t.a, asio::buffer(sink), [&](error_code ec, std::size_t) { read_ec = ec; });
    BOOST_TEST(t.run_until([&] { return read_ec.has_value(); }));
    BOOST_TEST((*read_ec == asio::error::connection_reset), read_ec->message());
}

BOOST_AUTO_TEST_CASE(a_read_cancelled_through_its_slot_loses_no_byte) {
    asio_pair t;
    asio::cancellation_signal cancel;
    char buf[16];
    std::optional<error_code> cancelled;
    t.b->async_read_some(asio::buffer(buf),
                         asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, std::size_t n) {
                             cancelled = ec;
                             BOOST_TEST(n == 0u);
                         }));
    t.run_for(10ms);
    cancel.emit(asio::cancellation_type::total);
    BOOST_TEST(t.run_until([&] { return cancelled.has_value(); }));
    BOOST_TEST((*cancelled == asio::error::operation_aborted));
    // The stack's read is still waiting: the bytes that wake it go to the next read.
    asio::async_write(*t.a, asio::buffer(std::string_view("abcdef")), [](error_code, std::size_t) {});
    t.run_for(100ms);
    std::string got(6, '\0');
    bool done = false;
    asio::async_read(*t.b, asio::buffer(got), [&](error_code ec, std::size_t) {
        BOOST_TEST(!ec);
        done = true;
    });
    BOOST_TEST(t.run_until([&] { return done; }));
    BOOST_TEST(got == "abcdef");
}

BOOST_AUTO_TEST_CASE(a_write_waiting_behind_a_cancelled_one_keeps_the_byte_order) {
    tcp::tcp_config small;
    small.send_buffer = small.receive_buffer = 64 * 1024;
    asio_pair t{small};
    // a does not read: 100 KB fill a's receive buffer and most of b's send buffer.
    const std::string fill(100'000, '1'), first(60'000, '1'), second(1000, '2');
    bool filled = false;
    asio::async_write(*t.b, asio::buffer(fill), [&](error_code ec, std::size_t) { filled = !ec; });
    BOOST_TEST(t.run_until([&] { return filled; }));
    asio::cancellation_signal cancel;
    std::optional<error_code> first_ec;
    t.b->async_write_some(asio::buffer(first), asio::bind_cancellation_slot(
                                                   cancel.slot(), [&](error_code ec, std::size_t) { first_ec = ec; }));
    t.run_for(1s);
    BOOST_TEST(!first_ec);  // waits for room
    cancel.emit(asio::cancellation_type::partial);
    t.run_for(10ms);
    BOOST_TEST(!first_ec);  // its bytes are in the stack: only terminal cancellation abandons them
    cancel.emit(asio::cancellation_type::terminal);
    BOOST_TEST(t.run_until([&] { return first_ec.has_value(); }));
    BOOST_TEST((*first_ec == asio::error::operation_aborted));
    bool second_done = false;
    asio::async_write(*t.b, asio::buffer(second), [&](error_code ec, std::size_t) {
        BOOST_TEST(!ec);
        second_done = true;
        BOOST_TEST(!t.b->shutdown_write());
    });
    std::string all;
    bool eof = false;
    asio::async_read(*t.a, asio::dynamic_buffer(all),
                     [&](error_code ec, std::size_t) { eof = ec == asio::error::eof; });
    BOOST_TEST(t.run_until([&] { return second_done && eof; }));
    // The abandoned write's bytes were already the stack's: they come out whole, before `second`.
    BOOST_TEST(all.size() == fill.size() + first.size() + second.size());
    BOOST_TEST(all.find_first_not_of('1') == fill.size() + first.size());
    BOOST_TEST(all.substr(fill.size() + first.size()) == second);
}

BOOST_AUTO_TEST_CASE(connect_to_a_closed_port_fails_with_asio_connection_refused) {
    asio_pair t;
    std::optional<error_code> result;
    bool open = true;
    async_connect(t.bridge, t.p.a.tcp, t.p.b_at(81), [&](error_code ec, asio_stream s) {
        result = ec;
        open = s.is_open();
    });
    BOOST_TEST(t.run_until([&] { return result.has_value(); }));
    BOOST_TEST((*result == asio::error::connection_refused), result->message());
    BOOST_TEST(!open);
}

BOOST_AUTO_TEST_CASE(closing_the_acceptor_aborts_a_pending_accept) {
    asio_pair t;
    std::optional<error_code> result;
    t.acceptor->async_accept([&](error_code ec, asio_stream) { result = ec; });
    t.run_for(10ms);
    BOOST_TEST(!result);
    t.acceptor->close();
    BOOST_TEST(t.run_until([&] { return result.has_value(); }));
    BOOST_TEST((*result == asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(stack_errors_compare_equal_to_asio_errors) {
    BOOST_TEST((to_asio_error(std::make_error_code(std::errc::connection_reset)) == asio::error::connection_reset));
    BOOST_TEST((to_asio_error(std::make_error_code(std::errc::timed_out)) == asio::error::timed_out));
    BOOST_TEST((to_asio_error(std::make_error_code(std::errc::broken_pipe)) == asio::error::broken_pipe));
    BOOST_TEST((to_asio_error(std::make_error_code(std::errc::operation_canceled)) == asio::error::operation_aborted));
    BOOST_TEST(!to_asio_error(std::error_code{}));
}

BOOST_AUTO_TEST_SUITE_END()
