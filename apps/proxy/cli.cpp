#include "cli.hpp"

namespace coronet::apps {

namespace {

const std::string program = "coronet-proxy";

runtime::duration from_seconds(double s) {
    return std::chrono::duration_cast<runtime::duration>(std::chrono::duration<double>(s));
}

const char* const summary_text =
    "A TCP proxy on the user-space stack: accepts clients on PORT and connects each to HOST:PORT\n"
    "through the same stack, copying both directions. A FIN from one side is passed on as a\n"
    "half-close; a reset on one side resets the other; a refused or silent upstream resets the\n"
    "client. SIGINT/SIGTERM: stop accepting, let open connections finish for --drain-timeout,\n"
    "reset the rest, exit 0. SIGUSR1 prints the connection table (as ss -tan) on stdout; at\n"
    "--log-level debug it is logged every 5 s. --log-level info logs every state transition\n"
    "and, without --access-log, a line per session as it starts and ends.\n"
    "--access-log FILE (or - for stdout) writes one JSON line per finished session, flushed as\n"
    "written: {\"event\":\"session\",\"id\",\"start\" (UTC, ISO 8601),\"client\",\"upstream\",\"ok\",\n"
    "\"side\" (client|upstream|idle|slow|proxy),\"error\" (errno name),\"reason\",\"bytes_up\",\"bytes_down\",\n"
    "\"retransmits_client\",\"retransmits_upstream\",\"seconds\"}; the log then keeps its session lines\n"
    "at debug only.\n"
    "--summary-json FILE writes the same facts and more for programs, one JSON object a line:\n"
    "{\"event\":\"listening\",\"port\",\"upstream\"} once listening; the access log's session line per\n"
    "session; {\"event\":\"table\",\"states\":{\"LISTEN\":1,...},\"listen_queued\"} and "
    "{\"event\":\"memory\",\"sessions\",\n"
    "\"buffers_in_use\",\"buffers_allocated\",\"buffers_peak\",\"buffer_limit\",\"buffer_waits\",\"tcp_buffers\",\n"
    "\"tcp_reserved\",\"vm_rss_kib\"} on SIGUSR1; {\"event\":\"stopped\",\"accepted\",\"completed\",\"failed\",\n"
    "\"upstream_failed\",\"aborted\",\"refused_per_source\",\"slow\",\"peak_sessions\"} on exit.\n"
    "Hardening: one client address holds at most --max-per-source sessions (more are reset); a\n"
    "session where neither side sent a byte for --first-byte-timeout, or where the client keeps\n"
    "sending below --min-rate while the upstream does not answer (slowloris), or idle for\n"
    "--idle-timeout, is reset (side \"slow\" or \"idle\"). A session waiting for data holds no copy\n"
    "buffer; those in use come from a pool of --buffer-memory bytes.";

// The option values as given, before they are checked.
struct given {
    std::uint16_t listen_port = 0;
    std::string upstream;
    std::size_t max_connections = 1024, max_per_source = 64, backlog = 128, min_rate = 16;
    double connect_timeout = 10, idle_timeout = 300, first_byte_timeout = 20, min_rate_window = 10, drain_timeout = 5;
    std::size_t buffer_memory = std::size_t{32} << 20;
    std::string metrics;
};

po::options_description proxy_description(given& g, proxy_command& out) {
    po::options_description own("Proxy options");
    own.add_options()("listen", port_value("--listen", g.listen_port)->required(), "port to accept clients on")(
        "upstream", po::value(&g.upstream)->value_name("HOST:PORT")->required(), "IPv4 address and port to connect to")(
        "max-connections", po::value(&g.max_connections)->value_name("N")->default_value(g.max_connections),
        "connections proxied at once; more clients wait in the backlog")(
        "max-per-source", po::value(&g.max_per_source)->value_name("N")->default_value(g.max_per_source),
        "connections proxied at once from one client address; more are reset")(
        "backlog", po::value(&g.backlog)->value_name("N")->default_value(g.backlog),
        "established connections waiting to be accepted, at most")(
        "connect-timeout", po::value(&g.connect_timeout)->value_name("SECONDS")->default_value(g.connect_timeout),
        "give up on the upstream after SECONDS (the client is reset)")(
        "idle-timeout", po::value(&g.idle_timeout)->value_name("SECONDS")->default_value(g.idle_timeout),
        "reset both sides after SECONDS without data (0: never)")(
        "first-byte-timeout",
        po::value(&g.first_byte_timeout)->value_name("SECONDS")->default_value(g.first_byte_timeout),
        "reset both sides when neither has sent a byte SECONDS after the accept (0: never)")(
        "min-rate", po::value(&g.min_rate)->value_name("BYTES/S")->default_value(g.min_rate),
        "a client that keeps sending while the upstream does not answer must send this much per second, "
        "judged over each --min-rate-window (0: no rule)")(
        "min-rate-window", po::value(&g.min_rate_window)->value_name("SECONDS")->default_value(g.min_rate_window),
        "the window --min-rate is judged over")(
        "buffer-memory",
        po::value<std::string>()->value_name("BYTES")->default_value("32M")->notifier([&g](const std::string& v) {
            const auto n = parse_size(v);
            if (!n || *n == 0) throw po::error("--buffer-memory: '" + v + "' is not a size such as 16M");
            g.buffer_memory = *n;
        }),
        "copy buffers of all sessions together (64K each, held only while data moves); at the limit "
        "sessions wait for one")("drain-timeout",
                                 po::value(&g.drain_timeout)->value_name("SECONDS")->default_value(g.drain_timeout),
                                 "on SIGINT/SIGTERM, how long open connections may take to finish")(
        "metrics", po::value(&g.metrics)->value_name("ADDR:PORT"),
        "answer HTTP GET /metrics on ADDR:PORT (e.g. 127.0.0.1:9464) with Prometheus text: sessions by "
        "outcome, bytes, retransmits, refusals, upstream failures by error, connections by state, resets, "
        "drops by cause, per loop ({loop=\"0\"}). It is a kernel TCP socket of the host's network (where an "
        "operator scrapes from), not one of the stack's, served by the proxy's own io_uring loop; at most 4 "
        "scrapes at once, 4 KiB of request and 5 s each")(
        "access-log", po::value(&out.access_log)->value_name("FILE"),
        "write one JSON line per finished session to FILE (- for stdout; see above)")(
        "summary-json", po::value(&out.summary_json)->value_name("FILE"),
        "write one JSON line per event to FILE (see above)");
    return own;
}

// Checks the values and fills out; a bad one exits 2.
void check(const given& g, proxy_command& out) {
    proxy_config& cfg = out.proxy;
    cfg.listen_port = g.listen_port;
    const auto up = parse_endpoint(g.upstream);
    if (!up) die(program, not_an_endpoint("--upstream", g.upstream), 2);
    cfg.upstream = *up;
    if (g.max_connections == 0) die(program, "--max-connections must be at least 1", 2);
    if (g.backlog == 0) die(program, "--backlog must be at least 1", 2);
    if (g.connect_timeout <= 0) die(program, "--connect-timeout must be positive", 2);
    if (g.max_per_source == 0) die(program, "--max-per-source must be at least 1", 2);
    if (g.idle_timeout < 0 || g.first_byte_timeout < 0 || g.drain_timeout < 0)
        die(program, "timeouts must not be negative", 2);
    if (g.min_rate_window <= 0) die(program, "--min-rate-window must be positive", 2);
    cfg.max_connections = g.max_connections;
    cfg.max_per_source = g.max_per_source;
    cfg.backlog = g.backlog;
    cfg.connect_timeout = from_seconds(g.connect_timeout);
    cfg.idle_timeout.reset();
    if (g.idle_timeout > 0) cfg.idle_timeout = from_seconds(g.idle_timeout);
    cfg.first_byte_timeout.reset();
    if (g.first_byte_timeout > 0) cfg.first_byte_timeout = from_seconds(g.first_byte_timeout);
    cfg.min_rate = g.min_rate;
    cfg.min_rate_window = from_seconds(g.min_rate_window);
    cfg.buffer_memory = g.buffer_memory;
    cfg.drain_timeout = from_seconds(g.drain_timeout);
    if (g.metrics.empty()) return;
    out.metrics = parse_endpoint(g.metrics);
    if (!out.metrics) die(program, not_an_endpoint("--metrics", g.metrics), 2);
}

}  // namespace

proxy_command parse_proxy_command(int argc, char** argv) {
    proxy_command out;
    given g;
    command_line cl;
    cl.usage = "coronet-proxy --iface IF --ip A.B.C.D/N [options] --listen PORT --upstream HOST:PORT";
    cl.summary = summary_text;
    cl.options.add(proxy_description(g, out)).add(common_description(out.common)).add(tcp_description(out.common));
    parse_or_exit(argc, argv, cl, out.common);
    check(g, out);
    out.proxy.sessions_in_log = out.access_log.empty();
    return out;
}

}  // namespace coronet::apps
