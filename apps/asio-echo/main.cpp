// coronet-asio-echo: an Asio-style line echo server on the user-space stack.
// It owns an asio::io_context and runs the coronet loop inside it
// (coronet::run_in); each connection is an asio::co_spawn coroutine that
// echoes lines with async_read_until and async_write, as it would on an
// asio::ip::tcp::socket. SIGINT or SIGTERM ends it with status 0.
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <coronet/api/asio.hpp>
#include <csignal>
#include <cstdio>
#include <string>

#include "../common/options.hpp"

namespace {

namespace asio = boost::asio;
using namespace coronet;

// Errors come back as values, as the stack's own API does.
constexpr auto use_result = asio::as_tuple(asio::use_awaitable);

std::string peer(asio_stream& s) {
    const endpoint e = s.remote();
    return e.address.to_string() + ":" + std::to_string(e.port);
}

// Echoes each line, and at EOF a last line without '\n', then closes: FIN
// after the echoed bytes.
asio::awaitable<void> echo(asio_stream s) {
    const std::string who = peer(s);
    std::string buf;
    for (;;) {
        auto [ec, n] = co_await asio::async_read_until(s, asio::dynamic_buffer(buf), '\n', use_result);
        if (ec == asio::error::eof)
            n = buf.size();
        else if (ec) {
            spdlog::info("{}: read: {}", who, ec.message());
            co_return;
        }
        if (n > 0) {
            if (auto [wec, written] = co_await asio::async_write(s, asio::buffer(buf.data(), n), use_result); wec) {
                spdlog::info("{}: write: {}", who, wec.message());
                co_return;
            }
            buf.erase(0, n);
        }
        if (ec) break;
    }
    s.close();
}

asio::awaitable<void> serve(asio_acceptor& acceptor) {
    for (;;) {
        auto [ec, s] = co_await acceptor.async_accept(use_result);
        if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;  // closed
        if (ec) {
            spdlog::warn("accept: {}", ec.message());
            continue;
        }
        asio::co_spawn(acceptor.get_executor(), echo(std::move(s)), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    apps::common_options common;
    apps::command_line cl;
    cl.usage = "coronet-asio-echo --iface IF --ip A.B.C.D/N [options] --listen PORT";
    cl.summary =
        "An Asio line echo server on the user-space TCP stack: the coronet loop runs inside an\n"
        "asio::io_context and each connection is an Asio coroutine (async_read_until, async_write).\n"
        "Prints 'listening on ADDRESS:PORT' once ready. Exit status: 0 after SIGINT or SIGTERM,\n"
        "1 when the port is in use, 2 on usage or start-up errors.";
    apps::po::options_description own("Echo options");
    std::uint16_t port = 0;
    own.add_options()("listen,l", apps::port_value("--listen", port)->required(),
                      "accept connections on PORT (required)");
    cl.options.add(own).add(apps::common_description(common)).add(apps::tcp_description(common));
    apps::parse_or_exit(argc, argv, cl, common);

    try {
        // Order matters for shutdown: the io_context's coroutines own streams
        // on the stack, so it goes before the stack, and the driver before it.
        runtime::loop loop{common.loop};
        stack st{loop, common.iface};
        apps::exit_when_interface_lost(st, "coronet-asio-echo");
        auto l = st.listen(port);
        if (!l) {
            std::fprintf(stderr, "coronet-asio-echo: listen on %u: %s\n", port, l.error().message().c_str());
            return 1;
        }
        asio::io_context io;
        auto driver = run_in(io, loop);
        asio_acceptor acceptor{driver.bridge(), std::move(*l)};
        asio::signal_set signals{io, SIGINT, SIGTERM};
        signals.async_wait([&](const boost::system::error_code&, int) {
            acceptor.close();
            io.stop();
        });
        asio::co_spawn(io, serve(acceptor), asio::detached);
        std::printf("coronet-asio-echo: listening on %s:%u\n",
                    parse_ipv4_prefix(common.iface.address).address.to_string().c_str(), port);
        std::fflush(stdout);
        io.run();
        return 0;
    } catch (const std::exception& e) {
        apps::die("coronet-asio-echo", e.what(), 2);
    }
}
