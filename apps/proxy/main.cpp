// coronet-proxy: a TCP proxy on the user-space stack (the sample app).
// Options and signals here; the proxying is in proxy.cpp.
#include <spdlog/spdlog.h>

#include <coronet/api/table.hpp>
#include <csignal>
#include <cstdio>
#include <memory>

#include "../common/metrics_server.hpp"
#include "../common/options.hpp"
#include "cli.hpp"
#include "metrics.hpp"
#include "proxy.hpp"
#include "summary.hpp"

namespace {

using namespace coronet;
using runtime::task;

constexpr auto table_period = std::chrono::seconds(5);

// The connection table, then a line on the proxy's memory.
void print_table(stack& st, const apps::proxy_memory& m) {
    const std::string t =
        format_connection_table(connection_rows(st.tcp())) +
        fmt::format(
            "proxy: {} sessions; copy buffers {} KiB in use, {} KiB allocated (peak {} KiB) "
            "of {} KiB; TCP buffers {} KiB allocated, {} KiB reserved\n",
            m.sessions, m.buffers_in_use >> 10, m.buffers_allocated >> 10, m.buffers_peak >> 10, m.buffer_limit >> 10,
            apps::tcp_buffer_memory(st.tcp()) >> 10, st.tcp().buffer_reserved() >> 10);
    std::fwrite(t.data(), 1, t.size(), stdout);
    std::fflush(stdout);
}

// The --metrics endpoint, listening; none without the option. Exits 1 when it cannot listen.
std::unique_ptr<apps::metrics_server> open_metrics(runtime::loop& loop, const std::optional<endpoint>& at) {
    if (!at) return nullptr;
    auto server = apps::metrics_server::open(loop, *at);
    if (!server)
        apps::die("coronet-proxy", "--metrics " + apps::endpoint_text(*at) + ": " + server.error().message(), 1);
    return std::move(*server);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string program = "coronet-proxy";
    auto command = apps::parse_proxy_command(argc, argv);
    apps::proxy_config& cfg = command.proxy;

    try {
        runtime::loop loop{command.common.loop};
        // Before the stack: its frames (scrapes) die with the stack's loop tasks.
        const auto metrics = open_metrics(loop, command.metrics);
        stack st{loop, command.common.iface};
        apps::exit_when_interface_lost(st, program);
        std::unique_ptr<apps::summary_sink> summary;
        if (!command.summary_json.empty()) summary = std::make_unique<apps::summary_sink>(command.summary_json);
        std::unique_ptr<apps::json_lines> access;
        if (!command.access_log.empty())
            access = std::make_unique<apps::json_lines>(command.access_log, "--access-log");
        cfg.on_session_end = [&summary, &access](const apps::session_summary& s) {
            if (access) access->write(apps::session_json(s));
            if (summary) summary->session(s);
        };
        apps::proxy px{st, cfg};
        if (auto r = px.start(); !r)
            apps::die(program, "listen on port " + std::to_string(cfg.listen_port) + ": " + r.error().message(), 1);
        if (summary) summary->listening(cfg.listen_port, cfg.upstream);
        if (metrics) metrics->start([&](apps::prometheus_text& out) { apps::write_proxy_metrics(out, st, loop, px); });
        runtime::signal_set signals{loop, {SIGINT, SIGTERM, SIGUSR1}};
        auto on_signals = [&]() -> task<void> {
            for (;;) {
                const int sig = co_await signals.wait();
                if (sig == SIGUSR1) {
                    print_table(st, px.memory());
                    if (summary) {
                        summary->table(st.tcp());
                        summary->memory(px.memory(), st.tcp());
                    }
                    continue;
                }
                spdlog::info("proxy: signal {}, stopping", sig);
                break;
            }
            if (metrics) co_await metrics->stop();
            co_await px.stop();
            const auto& c = px.counters();
            spdlog::info(
                "proxy: {} connections accepted, {} completed, {} failed ({} upstream failures, {} slow), {} refused "
                "(--max-per-source)",
                c.accepted, c.completed, c.failed, c.upstream_failed, c.slow, c.refused_per_source);
            if (summary) summary->stopped(c);
            loop.stop();
        };
        auto log_table = [&]() -> task<void> {
            for (;;) {
                co_await loop.sleep_for(table_period);
                if (spdlog::should_log(spdlog::level::debug))
                    spdlog::debug("connections:\n{}", format_connection_table(connection_rows(st.tcp())));
            }
        };
        loop.spawn(on_signals(), "signals");
        loop.spawn(log_table(), "table");
        loop.run();
        return 0;
    } catch (const std::exception& e) {
        apps::die(program, e.what(), 2);
    }
}
