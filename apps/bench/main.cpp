// coronet-bench: TCP benchmark (bulk, request/response, connect/request/close)
// for coronet's user-space stack and, with --stack kernel, for the kernel's
// TCP through the same code, so that the two are compared in the same run;
// and, as `link`, frame rates through a raw socket or coronet's device.
// See options.cpp for the command line and the JSON it prints.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>

#include "kernel_transport.hpp"
#include "link.hpp"
#include "loops.hpp"
#include "options.hpp"
#include "server.hpp"
#include "shutdown.hpp"
#include "user_transport.hpp"

namespace {

using namespace coronet;
using namespace coronet::bench;

// Kernel sockets are descriptors: many concurrent connections need more
// than the usual soft limit of 1024, so take what the hard limit allows.
void raise_descriptor_limit() {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == r.rlim_max) return;
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
}

std::unique_ptr<transport> make_transport(runtime::loop& loop, const bench_options& o) {
    if (o.stack == stack_kind::kernel) {
        raise_descriptor_limit();
        return std::make_unique<kernel_transport>(loop, o.congestion);
    }
    return std::make_unique<user_transport>(loop, o.common.iface);
}

int run_server(runtime::loop& loop, transport& net, std::uint16_t port, runtime::signal_set& signals, bool stats) {
    auto a = net.listen(port);
    if (!a) {
        std::fprintf(stderr, "%s: listen on port %u: %s\n", program, port, apps::describe(a.error()).c_str());
        return 1;
    }
    server srv{loop, net};
    loop.spawn(srv.accept_loop(std::move(*a)), "accept");
    auto on_signal = [&]() -> task<void> {
        co_await signals.wait();
        srv.stop();
        co_await stop_when(loop, [&] { return srv.idle(); });
    };
    loop.spawn(on_signal(), "signals");
    std::fprintf(stderr, "%s: listening on port %u (stack %s)\n", program, port, std::string(net.name()).c_str());
    std::fflush(stderr);
    loop.run();
    std::printf("%s\n", srv.json().c_str());
    if (stats) print_counters(net);
    if (!srv.idle()) exit_now(0);
    return 0;
}

int run_client(runtime::loop& loop, transport& net, const client_config& cfg, runtime::signal_set& signals,
               bool stats) {
    client c{loop, net, cfg};
    int interrupted = 0;
    auto on_signal = [&]() -> task<void> {
        interrupted = co_await signals.wait();
        co_await end_early(loop, c, std::string("interrupted by ") + (interrupted == SIGINT ? "SIGINT" : "SIGTERM"));
    };
    loop.spawn(watchdog(loop, c, cfg.duration), "watchdog");
    loop.spawn(on_signal(), "signals");
    c.start([&] { loop.stop(); });
    loop.run();
    if (c.error()) std::fprintf(stderr, "%s: %s\n", program, c.error()->c_str());
    if (stats) print_counters(net);
    if (interrupted > 0) die_by(interrupted);
    if (!c.done()) exit_now(1);
    if (c.error()) return 1;
    std::printf("%s\n", c.json().c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // Logs go to stderr: stdout carries the one JSON line a script reads.
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
    const bench_options o = parse_or_exit(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        if (o.role == bench_role::link) {
            std::printf("%s\n", run_link(o.link).c_str());
            return 0;
        }
        if (o.loops != 1) return run_loops(o, o.loops);
        runtime::loop loop{o.common.loop};
        // Declared after the loop: the stack must go first (its connections'
        // coroutines are destroyed with the loop's tasks).
        const auto net = make_transport(loop, o);
        runtime::signal_set signals{loop, {SIGINT, SIGTERM}};
        return o.role == bench_role::server ? run_server(loop, *net, o.listen_port, signals, o.stats)
                                            : run_client(loop, *net, o.client, signals, o.stats);
    } catch (const std::exception& e) {
        apps::die(program, e.what(), 2);
    }
}
