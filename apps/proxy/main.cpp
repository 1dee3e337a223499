// coronet-proxy: a TCP proxy on the user-space stack (the sample app).
// Options and signals here; the proxying is in proxy.cpp.
#include <spdlog/spdlog.h>

#include <coronet/api/table.hpp>
#include <csignal>
#include <cstdio>
#include <memory>

#include "../common/options.hpp"
#include "proxy.hpp"
#include "summary.hpp"

namespace {

using namespace coronet;
using runtime::task;

constexpr auto table_period = std::chrono::seconds(5);

runtime::duration from_seconds(double s) {
    return std::chrono::duration_cast<runtime::duration>(std::chrono::duration<double>(s));
}

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

}  // namespace

int main(int argc, char** argv) {
    const std::string program = "coronet-proxy";
    apps::common_options common;
    apps::command_line cl;
    cl.usage = "coronet-proxy --iface IF --ip A.B.C.D/N [options] --listen PORT --upstream HOST:PORT";
    cl.summary =
        "A TCP proxy on the user-space stack: accepts clients on PORT and connects each to HOST:PORT\n"
        "through the same stack, copying both directions. A FIN from one side is passed on as a\n"
        "half-close; a reset on one side resets the other; a refused or silent upstream resets the\n"
        "client. SIGINT/SIGTERM: stop accepting, let open connections finish for --drain-timeout,\n"
        "reset the rest, exit 0. SIGUSR1 prints the connection table (as ss -tan) on stdout; at\n"
        "--log-level debug it is logged every 5 s. --log-level info logs every state transition\n"
        "and a summary line per connection.\n"
        "--summary-json FILE writes the same facts for programs, one JSON object a line, flushed as\n"
        "written: {\"event\":\"listening\",...} once listening; {\"event\":\"session\",\"id\",\"client\",\"ok\",\n"
        "\"side\" (client|upstream|idle|slow|proxy),\"error\" (errno name),\"reason\",\"bytes_up\",\"bytes_down\",\n"
        "\"retransmits_client\",\"retransmits_upstream\",\"seconds\"} per connection as it ends;\n"
        "{\"event\":\"table\",\"states\":{\"LISTEN\":1,...},\"listen_queued\"} and "
        "{\"event\":\"memory\",\"sessions\",\n"
        "\"buffers_in_use\",\"buffers_allocated\",\"buffers_peak\",\"buffer_limit\",\"buffer_waits\",\"tcp_buffers\",\n"
        "\"tcp_reserved\",\"vm_rss_kib\"} on SIGUSR1; {\"event\":\"stopped\",\"accepted\",\"completed\",\"failed\",\n"
        "\"upstream_failed\",\"aborted\",\"refused_per_source\",\"slow\",\"peak_sessions\"} on exit.\n"
        "Hardening: one client address holds at most --max-per-source sessions (more are reset); a\n"
        "session where neither side sent a byte for --first-byte-timeout, or where the client keeps\n"
        "sending below --min-rate while the upstream does not answer (slowloris), or idle for\n"
        "--idle-timeout, is reset (side \"slow\" or \"idle\"). A session waiting for data holds no copy\n"
        "buffer; those in use come from a pool of --buffer-memory bytes.";
    std::uint32_t listen_port = 0;
    std::string upstream, summary_json;
    std::size_t max_connections = 1024, max_per_source = 64, backlog = 128, min_rate = 16;
    double connect_timeout = 10, idle_timeout = 300, first_byte_timeout = 20, min_rate_window = 10, drain_timeout = 5;
    std::size_t buffer_memory = std::size_t{32} << 20;
    apps::po::options_description own("Proxy options");
    own.add_options()("listen", apps::po::value(&listen_port)->value_name("PORT")->required(),
                      "port to accept clients on")("upstream",
                                                   apps::po::value(&upstream)->value_name("HOST:PORT")->required(),
                                                   "IPv4 address and port to connect to")(
        "max-connections", apps::po::value(&max_connections)->value_name("N")->default_value(max_connections),
        "connections proxied at once; more clients wait in the backlog")(
        "max-per-source", apps::po::value(&max_per_source)->value_name("N")->default_value(max_per_source),
        "connections proxied at once from one client address; more are reset")(
        "backlog", apps::po::value(&backlog)->value_name("N")->default_value(backlog),
        "established connections waiting to be accepted, at most")(
        "connect-timeout", apps::po::value(&connect_timeout)->value_name("SECONDS")->default_value(connect_timeout),
        "give up on the upstream after SECONDS (the client is reset)")(
        "idle-timeout", apps::po::value(&idle_timeout)->value_name("SECONDS")->default_value(idle_timeout),
        "reset both sides after SECONDS without data (0: never)")(
        "first-byte-timeout",
        apps::po::value(&first_byte_timeout)->value_name("SECONDS")->default_value(first_byte_timeout),
        "reset both sides when neither has sent a byte SECONDS after the accept (0: never)")(
        "min-rate", apps::po::value(&min_rate)->value_name("BYTES/S")->default_value(min_rate),
        "a client that keeps sending while the upstream does not answer must send this much per second, "
        "judged over each --min-rate-window (0: no rule)")(
        "min-rate-window", apps::po::value(&min_rate_window)->value_name("SECONDS")->default_value(min_rate_window),
        "the window --min-rate is judged over")(
        "buffer-memory",
        apps::po::value<std::string>()->value_name("BYTES")->default_value("32M")->notifier([&](const std::string& v) {
            const auto n = apps::parse_size(v);
            if (!n || *n == 0) throw apps::po::error("--buffer-memory: '" + v + "' is not a size such as 16M");
            buffer_memory = *n;
        }),
        "copy buffers of all sessions together (64K each, held only while data moves); at the limit "
        "sessions wait for one")("drain-timeout",
                                 apps::po::value(&drain_timeout)->value_name("SECONDS")->default_value(drain_timeout),
                                 "on SIGINT/SIGTERM, how long open connections may take to finish")(
        "summary-json", apps::po::value(&summary_json)->value_name("FILE"),
        "write one JSON line per event to FILE (see above)");
    cl.options.add(own).add(apps::common_description(common)).add(apps::tcp_description(common));
    apps::parse_or_exit(argc, argv, cl, common);

    apps::proxy_config cfg;
    if (listen_port == 0 || listen_port > 65535) apps::die(program, "--listen needs a port from 1 to 65535", 2);
    cfg.listen_port = static_cast<std::uint16_t>(listen_port);
    const auto up = apps::parse_endpoint(upstream);
    if (!up) apps::die(program, "--upstream '" + upstream + "' is not A.B.C.D:PORT (port 1-65535)", 2);
    cfg.upstream = *up;
    if (max_connections == 0) apps::die(program, "--max-connections must be at least 1", 2);
    if (backlog == 0) apps::die(program, "--backlog must be at least 1", 2);
    if (connect_timeout <= 0) apps::die(program, "--connect-timeout must be positive", 2);
    if (max_per_source == 0) apps::die(program, "--max-per-source must be at least 1", 2);
    if (idle_timeout < 0 || first_byte_timeout < 0 || drain_timeout < 0)
        apps::die(program, "timeouts must not be negative", 2);
    if (min_rate_window <= 0) apps::die(program, "--min-rate-window must be positive", 2);
    cfg.max_connections = max_connections;
    cfg.max_per_source = max_per_source;
    cfg.backlog = backlog;
    cfg.connect_timeout = from_seconds(connect_timeout);
    cfg.idle_timeout.reset();
    if (idle_timeout > 0) cfg.idle_timeout = from_seconds(idle_timeout);
    cfg.first_byte_timeout.reset();
    if (first_byte_timeout > 0) cfg.first_byte_timeout = from_seconds(first_byte_timeout);
    cfg.min_rate = min_rate;
    cfg.min_rate_window = from_seconds(min_rate_window);
    cfg.buffer_memory = buffer_memory;
    cfg.drain_timeout = from_seconds(drain_timeout);

    try {
        runtime::loop loop{common.loop};
        stack st{loop, common.iface};
        apps::exit_when_interface_lost(st, program);
        std::unique_ptr<apps::summary_sink> summary;
        if (!summary_json.empty()) {
            summary = std::make_unique<apps::summary_sink>(summary_json);
            cfg.on_session_end = [&summary](const apps::session_summary& s) { summary->session(s); };
        }
        apps::proxy px{st, cfg};
        if (auto r = px.start(); !r)
            apps::die(program, "listen on port " + std::to_string(cfg.listen_port) + ": " + r.error().message(), 1);
        if (summary) summary->listening(cfg.listen_port, cfg.upstream);
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
