// coronet-beast-files: a Boost.Beast HTTP/1.1 file server written as for
// kernel sockets, run on the user-space stack through the Asio adapters
// (asio_acceptor, asio_stream) or, with --kernel, on kernel sockets: the same
// session code, so that the two can be compared (cmake/bench.sh) and the
// adapters checked against a real Asio library (tests/netns/test_asio.cpp).
// GET /NAME serves the file NAME of --root, with keep-alive; a connection
// ends with async_close on coronet, so everything sent arrives before the
// program exits (--requests). SIGINT or SIGTERM ends it with status 0.
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <coronet/api/asio.hpp>
#include <coronet/api/stack.hpp>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>

#include "../common/options.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace coronet;

constexpr const char* program = "coronet-beast-files";
constexpr auto use_result = asio::as_tuple(asio::use_awaitable);

struct server {
    std::string root;
    std::uint64_t requests_left = 0;  // 0: no limit (--requests)
    std::function<void()> stop;       // closes the acceptor and stops the io_context
};

// The file under root that target names ("/NAME", no "..", no subdirectory).
std::optional<std::string> file_for(std::string_view target, const std::string& root) {
    if (target.size() < 2 || target[0] != '/' || target.find('/', 1) != std::string_view::npos ||
        target.find("..") != std::string_view::npos)
        return std::nullopt;
    return root + std::string(target);
}

template <class Stream, class Body>
asio::awaitable<bool> send(Stream& s, http::response<Body>& res, const http::request<http::empty_body>& req) {
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(s, res, use_result);
    co_return !ec;
}

// Answers req with the file or 404; false when the response could not be sent.
template <class Stream>
asio::awaitable<bool> respond(Stream& s, const http::request<http::empty_body>& req, const std::string& root) {
    beast::error_code ec;
    http::file_body::value_type file;
    const auto path = file_for(req.target(), root);
    if (path) file.open(path->c_str(), beast::file_mode::scan, ec);
    if (!path || ec) {
        http::response<http::string_body> res{http::status::not_found, req.version(), "not found\n"};
        co_return co_await send(s, res, req);
    }
    http::response<http::file_body> res{http::status::ok, req.version(), std::move(file)};
    co_return co_await send(s, res, req);
}

// Ends a connection. On coronet, async_close waits until the peer has
// acknowledged everything; the kernel keeps sending after close() by itself.
asio::awaitable<void> finish(asio_stream& s) {
    if (auto [ec] = co_await s.async_close(use_result); ec) spdlog::info("close: {}", ec.message());
}

asio::awaitable<void> finish(asio::ip::tcp::socket& s) {
    boost::system::error_code ignored;
    s.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    s.close(ignored);
    co_return;
}

template <class Stream>
asio::awaitable<void> session(Stream s, server& srv) {
    beast::flat_buffer buf;
    bool last = false;
    while (!last) {
        http::request<http::empty_body> req;
        if (auto [ec, n] = co_await http::async_read(s, buf, req, use_result); ec) break;
        last = !co_await respond(s, req, srv.root) || !req.keep_alive();
        if (srv.requests_left > 0 && --srv.requests_left == 0) last = true;
    }
    co_await finish(s);
    if (srv.requests_left == 0 && srv.stop) srv.stop();
}

// Accepts from a coronet asio_acceptor or a kernel tcp::acceptor alike.
template <class Acceptor>
asio::awaitable<void> accept_all(Acceptor& acceptor, server& srv) {
    for (;;) {
        auto [ec, s] = co_await acceptor.async_accept(use_result);
        if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;  // closed
        if (ec) {
            spdlog::warn("accept: {}", ec.message());
            continue;
        }
        asio::co_spawn(acceptor.get_executor(), session(std::move(s), srv), asio::detached);
    }
}

template <class Acceptor>
int run(asio::io_context& io, Acceptor& acceptor, server& srv, const std::string& where) {
    const bool limited = srv.requests_left > 0;
    srv.stop = [&] {
        acceptor.close();
        io.stop();
    };
    if (!limited) srv.stop = nullptr;
    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](const boost::system::error_code&, int) {
        acceptor.close();
        io.stop();
    });
    asio::co_spawn(io, accept_all(acceptor, srv), asio::detached);
    std::printf("%s: listening on %s\n", program, where.c_str());
    std::fflush(stdout);
    io.run();
    return 0;
}

int serve_coronet(const apps::common_options& common, server& srv, std::uint16_t port) {
    // Declared first on purpose, before the loop and the stack: the adapters
    // make any order safe (issue 16 found this one crashing at exit).
    asio::io_context io;
    runtime::loop loop{common.loop};
    stack st{loop, common.iface};
    apps::exit_when_interface_lost(st, program);
    auto l = st.listen(port);
    if (!l) {
        std::fprintf(stderr, "%s: listen on %u: %s\n", program, port, l.error().message().c_str());
        return 1;
    }
    auto driver = run_in(io, loop);
    asio_acceptor acceptor{driver.bridge(), std::move(*l)};
    const auto address = parse_ipv4_prefix(common.iface.address).address;
    return run(io, acceptor, srv, apps::endpoint_text({address, port}));
}

int serve_kernel(const apps::common_options& common, server& srv, std::uint16_t port) {
    asio::io_context io;
    const auto address = parse_ipv4_prefix(common.iface.address).address;
    boost::system::error_code ec;
    asio::ip::tcp::acceptor acceptor{io};
    const asio::ip::tcp::endpoint at{address, port};
    if (!acceptor.open(at.protocol(), ec) && !acceptor.set_option(asio::socket_base::reuse_address(true), ec) &&
        !acceptor.bind(at, ec) && !acceptor.listen(asio::socket_base::max_listen_connections, ec))
        return run(io, acceptor, srv, apps::endpoint_text({address, port}));
    std::fprintf(stderr, "%s: listen on %u: %s\n", program, port, ec.message().c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    apps::common_options common;
    apps::command_line cl;
    cl.usage = "coronet-beast-files --iface IF --ip A.B.C.D/N --root DIR --listen PORT [options]";
    cl.summary =
        "A Boost.Beast HTTP/1.1 file server (GET /NAME serves DIR/NAME, keep-alive) on the user-space\n"
        "TCP stack through the Asio adapters, or with --kernel on kernel sockets bound to --ip's\n"
        "address: the same session code. Prints 'listening on ADDRESS:PORT' once ready. Exit status:\n"
        "0 after SIGINT, SIGTERM or --requests responses, 1 when the port is in use, 2 on usage errors.";
    apps::po::options_description own("File server options");
    std::uint16_t port = 0;
    server srv;
    bool kernel = false;
    own.add_options()("listen,l", apps::port_value("--listen", port)->required(),
                      "accept connections on PORT (required)")("root", apps::po::value(&srv.root)->value_name("DIR"),
                                                               "the directory served (required)")(
        "requests", apps::po::value(&srv.requests_left)->value_name("N"),
        "exit once N responses have been sent and their connections closed")(
        "kernel", apps::po::bool_switch(&kernel), "serve through kernel sockets (the baseline)");
    cl.options.add(own).add(apps::common_description(common)).add(apps::tcp_description(common));
    apps::parse_or_exit(argc, argv, cl, common);
    if (srv.root.empty()) apps::usage_error(program, "give --root DIR");
    try {
        return kernel ? serve_kernel(common, srv, port) : serve_coronet(common, srv, port);
    } catch (const std::exception& e) {
        apps::die(program, e.what(), 2);
    }
}
