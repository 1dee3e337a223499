// Floods and bounds: coronet-test-sink (a coronet server) against a spoofed
// SYN flood (coronet-test-synflood) and against thousands of kernel
// connections (coronet-test-clients), all inside the namespaces a test
// creates. The figures (rates, RSS, memory per connection, counters) are
// logged; what is asserted is behaviour: bounded tables, connections made or
// refused cleanly, the server still serving. Timing is never asserted.
#include <signal.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <thread>

#include "netns.hpp"

using namespace coronet::test;

namespace {

using json = boost::property_tree::ptree;

json parse_json(const std::string& line) {
    json j;
    std::istringstream in(line);
    try {
        boost::property_tree::read_json(in, j);
    } catch (const std::exception& e) {
        BOOST_FAIL("not JSON (" << e.what() << "): " << line);
    }
    return j;
}

// The lines of a program's output that are JSON reports of one kind
// ({"report":"kind",...}).
std::vector<std::string> reports(const child_process& p, const std::string& kind) {
    std::vector<std::string> found;
    std::istringstream in(p.output());
    const std::string prefix = "{\"report\":\"" + kind + "\"";
    for (std::string line; std::getline(in, line);) {
        if (in.eof()) break;  // no newline yet: the line is still being written (a report is several KiB)
        if (line.rfind(prefix, 0) == 0) found.push_back(line);
    }
    return found;
}

// Waits (bounded) until p has printed more than `already` reports of kind;
// returns the last one. Fails the test when none comes.
json next_report(child_process& p, const std::string& kind, std::size_t already,
                 std::chrono::milliseconds timeout = 20000ms) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto r = reports(p, kind); r.size() > already) return parse_json(r.back());
        BOOST_REQUIRE_MESSAGE(p.running() && std::chrono::steady_clock::now() < end,
                              "no \"" << kind << "\" report; output:\n"
                                      << p.output().substr(0, 4000));
        std::this_thread::sleep_for(20ms);
    }
}

// Sends SIGUSR1 and returns the report it draws.
json ask(child_process& p, const std::string& kind = "usr1") {
    const std::size_t before = reports(p, kind).size();
    p.signal(SIGUSR1);
    return next_report(p, kind, before);
}

double kib(const json& j, const char* key) { return j.get<double>(key, 0); }
double counter(const json& sink_report, const std::string& name) {
    return sink_report.get<double>("counters." + name, -1);
}

// The stack's counters that tell a flood's story, as one log line.
std::string flood_counters(const json& r) {
    std::ostringstream s;
    for (const char* name :
         {"tcp_segments_in", "tcp_syn_cookies_sent", "tcp_syn_cookies_accepted", "tcp_syn_cookies_rejected",
          "tcp_syns_dropped", "tcp_connections_refused", "tcp_resets_sent", "tx_no_buffer", "dev_tx_dropped",
          "dev_rx_kernel_drops", "arp_requests_sent", "arp_resolve_failed", "arp_queue_drops"})
        s << name << "=" << counter(r, name) << " ";
    return s.str();
}

struct sink_process {
    const topology& t;
    std::string port;
    child_process proc;

    sink_process(const topology& topo, const std::string& p, std::vector<std::string> args)
        : t(topo), port(p), proc(topo.stack_cmd("tests/netns/coronet-test-sink", with_port(p, std::move(args)))) {
        BOOST_REQUIRE_MESSAGE(proc.wait_for_output("listening", 10000ms), proc.output());
    }
    static std::vector<std::string> with_port(const std::string& p, std::vector<std::string> args) {
        args.insert(args.begin(), {"--listen", p});
        return args;
    }
    json report() { return ask(proc); }
    // Polls reports (bounded) until done(report) holds; returns the last one.
    template <class Pred>
    json report_until(Pred done, int tries = 50, std::chrono::milliseconds pause = 200ms) {
        json r = report();
        for (int i = 1; i < tries && !done(r); ++i) {
            std::this_thread::sleep_for(pause);
            r = report();
        }
        return r;
    }
    // SIGTERM: it must exit 0 with a final report.
    void stop() {
        BOOST_TEST(proc.terminate(10000ms) == 0, proc.output().substr(0, 4000));
        BOOST_TEST(!reports(proc, "final").empty());
    }
};

// coronet-test-clients in the peer namespace, towards the sink.
std::vector<std::string> clients_cmd(const topology& t, const std::string& port, std::vector<std::string> args) {
    std::vector<std::string> argv{"ip",
                                  "netns",
                                  "exec",
                                  t.ns_peer,
                                  bin("tests/netns/coronet-test-clients"),
                                  "--connect",
                                  t.stack_ip + ":" + port};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

// Runs clients to completion (they do not --hold) and returns their report.
json run_clients(const topology& t, const std::string& port, std::vector<std::string> args) {
    child_process c(clients_cmd(t, port, std::move(args)));
    const int rc = c.wait(60000ms);
    BOOST_REQUIRE_MESSAGE(rc == 0, "clients exited " << rc << ": " << c.output());
    return next_report(c, "connected", 0, 1000ms);
}

std::string rss_line(const json& r) {
    std::ostringstream s;
    s << "VmRSS " << kib(r, "vm_rss_kib") / 1024 << " MiB, VmHWM " << kib(r, "vm_hwm_kib") / 1024 << " MiB";
    return s.str();
}

// What the sink showed while a flood ran.
struct flood_samples {
    double peak_rss_kib = 0, max_syn_rcvd = 0;
    bool flood_running_at_legit_end = false;
};

// Samples the sink about once a second (and logs it) until the flood and
// the legitimate client are both done; bounded to a minute.
flood_samples watch_flood(sink_process& sink, child_process& flood, child_process& legit) {
    flood_samples seen;
    bool legit_done = false;
    for (int i = 0; i < 60 && (flood.running() || legit.running()); ++i) {
        const json r = sink.report();
        seen.peak_rss_kib = std::max(seen.peak_rss_kib, kib(r, "vm_hwm_kib"));
        seen.max_syn_rcvd = std::max(seen.max_syn_rcvd, r.get<double>("states.SYN_RCVD", 0));
        BOOST_TEST_MESSAGE("during the flood: tcp_connections "
                           << r.get<double>("tcp_connections") << " (SYN_RCVD " << r.get<double>("states.SYN_RCVD", 0)
                           << "), " << rss_line(r) << ", timer samples " << r.get<double>("timer_samples") << "; "
                           << flood_counters(r));
        if (!legit_done && !legit.running()) {
            legit_done = true;
            seen.flood_running_at_legit_end = flood.running();
        }
        std::this_thread::sleep_for(1000ms);
    }
    return seen;
}

// 20,000 spoofed SYNs/s for 10 s to a sink whose listener backlog is 128,
// while a legitimate kernel client connects and has 1 MiB echoed, then one
// more after the flood. The strategy under test is SYN cookies once the SYN
// queue (the backlog) is full. The spoofed sources (src_range) are on the
// link, or behind the peer as a gateway.
void syn_flood(const std::string& src_range, bool via_gateway) {
    topology t;
    constexpr int backlog = 128;
    std::vector<std::string> args{"--mode", "echo", "--backlog", std::to_string(backlog)};
    if (via_gateway) args.insert(args.end(), {"--gateway", t.peer_ip});
    sink_process sink(t, "7100", args);
    const json idle = sink.report();
    BOOST_TEST_MESSAGE("sink before the flood: " << rss_line(idle));

    child_process flood({"ip", "netns", "exec", t.ns_peer, bin("tests/netns/coronet-test-synflood"), "--iface",
                         t.if_peer, "--dst-mac", t.stack_mac(), "--dst", t.stack_ip + ":" + sink.port, "--src-range",
                         src_range, "--rate", "20000", "--duration", "10", "--seed", "7"});
    std::this_thread::sleep_for(2000ms);  // well into the flood: the SYN queue is full by now

    temp_file sent("flood-sent"), echoed("flood-echo");
    fill_random(sent, 1);
    child_process legit(clients_cmd(
        t, sink.port, {"--count", "1", "--send", sent.path, "--echo", "--echo-out", echoed.path, "--timeout", "30"}));
    const flood_samples seen = watch_flood(sink, flood, legit);
    BOOST_REQUIRE_MESSAGE(flood.wait(10000ms) == 0, flood.output());
    BOOST_REQUIRE_MESSAGE(legit.wait(10000ms) == 0, legit.output());

    const json f = parse_json(flood.output());
    BOOST_TEST_MESSAGE("flood: " << f.get<double>("sent") << " SYNs in " << f.get<double>("duration_s") << " s ("
                                 << f.get<double>("rate_per_s") << "/s) from " << f.get<double>("sources")
                                 << " addresses, " << f.get<double>("send_errors") << " send errors");
    BOOST_TEST(f.get<double>("sent") + f.get<double>("send_errors") == 200000);

    // The legitimate client connected, during the flood, and its bytes came back intact.
    const json l = next_report(legit, "connected", 0, 1000ms);
    BOOST_TEST_MESSAGE("legitimate client: connected in "
                       << l.get<double>("connect_ms_max") << " ms, 1 MiB echoed in " << l.get<double>("elapsed_s")
                       << " s; the flood was " << (seen.flood_running_at_legit_end ? "still running" : "over")
                       << " when it ended");
    BOOST_TEST(l.get<int>("connected") == 1, legit.output());
    BOOST_TEST(l.get<int>("echo_ok") == 1, legit.output());
    BOOST_TEST(sha256(echoed.path) == sha256(sent.path));
    BOOST_TEST(seen.flood_running_at_legit_end, "the legitimate client got through only after the flood");

    // Afterwards the sink still serves, and its timers still run.
    const json after = run_clients(t, sink.port, {"--count", "1", "--write", "1000", "--echo", "--timeout", "10"});
    BOOST_TEST(after.get<int>("echo_ok") == 1, "a client after the flood: " << after.get<std::string>("first_error"));

    // The connection table stayed within the backlog (plus the legitimate
    // clients), and memory stayed bounded.
    const json end = sink.report();
    const double peak_tcp = end.get<double>("peak_tcp_connections");
    const double peak_rss_kib = std::max(seen.peak_rss_kib, kib(end, "vm_hwm_kib"));
    BOOST_TEST_MESSAGE("sink after the flood: peak connections "
                       << peak_tcp << " (most in SYN_RCVD " << seen.max_syn_rcvd << ", backlog " << backlog
                       << "), peak RSS " << peak_rss_kib / 1024 << " MiB; " << flood_counters(end));
    BOOST_TEST(peak_tcp <= backlog + 8);
    BOOST_TEST(peak_rss_kib < (address_sanitizer ? 512 : 64) * 1024.0);
    BOOST_TEST(counter(end, "tcp_syn_cookies_sent") > 0);
    // sample() runs every 20 ms: ~700 passes in these 14 s; a stalled timer queue shows as none.
    BOOST_TEST(end.get<double>("timer_samples") > idle.get<double>("timer_samples") + 100,
               "the sink's timers stopped firing");
    BOOST_TEST(sink.proc.running());
    sink.stop();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(flood)

// Sources on the stack's own subnet: every SYN+ACK or cookie needs ARP for a
// host that never answers, so the frames wait in the ARP queue until it gives up.
BOOST_AUTO_TEST_CASE(syn_flood_from_on_link_sources_is_bounded_and_a_client_gets_through) {
    syn_flood("10.201.0.10-10.201.0.250", false);
}

// Sources behind a gateway (the peer's kernel, which drops what it cannot
// route): the cookies go out at the flood's rate.
BOOST_AUTO_TEST_CASE(syn_flood_from_off_link_sources_is_bounded_and_a_client_gets_through) {
    syn_flood("198.18.0.0-198.18.255.255", true);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bounds)

// 10,000 kernel connections to one coronet listener, idle, then each with
// 64 KiB written that the sink never reads. Memory per connection is logged.
BOOST_AUTO_TEST_CASE(ten_thousand_kernel_connections_are_all_established) {
    constexpr int count = 10000, data = 64 * 1024;
    topology t;
    // One peer address, so the ephemeral ports must cover 10,000 tuples.
    BOOST_REQUIRE(sh(t.in_peer("sysctl -qw net.ipv4.ip_local_port_range='1024 65000'")) == 0);
    sink_process sink(t, "7200", {"--mode", "hold", "--backlog", "4096"});
    const json base = sink.report();

    child_process clients(clients_cmd(t, sink.port,
                                      {"--count", std::to_string(count), "--parallel", "512", "--timeout", "30",
                                       "--hold", "--usr1-write", std::to_string(data), "--io-timeout", "5"}));
    const json c = next_report(clients, "connected", 0, 90000ms);
    BOOST_TEST_MESSAGE("clients: " << c.get<int>("connected") << " connected in " << c.get<double>("elapsed_s")
                                   << " s (connect p50 " << c.get<double>("connect_ms_p50") << " ms, p99 "
                                   << c.get<double>("connect_ms_p99") << " ms), " << c.get<int>("refused")
                                   << " refused, " << c.get<int>("timed_out") << " timed out");
    BOOST_TEST(c.get<int>("connected") == count);

    // All of them established and accepted, as the sink sees it.
    const json idle = sink.report_until([&](const json& r) { return r.get<int>("accepted") >= count; });
    BOOST_TEST(idle.get<int>("accepted") == count);
    BOOST_TEST(idle.get<int>("states.ESTABLISHED", 0) == count);
    BOOST_TEST(idle.get<int>("connections_open") == count);
    const double idle_per_conn = (kib(idle, "vm_rss_kib") - kib(base, "vm_rss_kib")) * 1024 / count;
    BOOST_TEST_MESSAGE("sink with " << count << " idle connections: " << rss_line(idle) << " (from "
                                    << kib(base, "vm_rss_kib") / 1024 << " MiB): " << idle_per_conn
                                    << " bytes per connection");

    // Each client writes 64 KiB; the sink reads none of it. Wait (bounded)
    // until the sink's receive buffers stop filling.
    const json w = ask(clients);
    double last = -1;
    const json full = sink.report_until(
        [&](const json& r) {
            const double now = r.get<double>("rx_buffered");
            const bool settled = now == last || now >= double(count) * data;
            last = now;
            return settled;
        },
        20, 1000ms);
    const double buffered = full.get<double>("rx_buffered");
    const double data_per_conn = (kib(full, "vm_rss_kib") - kib(base, "vm_rss_kib")) * 1024 / count;
    BOOST_TEST_MESSAGE("clients wrote " << w.get<double>("bytes_written") << " bytes ("
                                        << w.get<double>("send_queue_bytes") << " still in their send queues, "
                                        << w.get<int>("write_incomplete") << " writes incomplete)");
    BOOST_TEST_MESSAGE("sink holding " << buffered << " bytes unread (" << buffered / count
                                       << " per connection): " << rss_line(full) << ": " << data_per_conn
                                       << " bytes per connection; " << flood_counters(full));
    BOOST_TEST(full.get<int>("states.ESTABLISHED", 0) == count);
    BOOST_TEST(buffered > 0);

    const std::size_t released = reports(clients, "released").size();
    clients.signal(SIGTERM);
    const json r = next_report(clients, "released", released, 30000ms);
    BOOST_TEST(r.get<int>("lost") == 0);
    BOOST_TEST(clients.wait(10000ms) == 0);
    sink.stop();
}

// Past tcp_config::max_connections new connections are refused (a reset for
// the SYN); the open ones keep working and, once they close, new ones are
// accepted again.
BOOST_AUTO_TEST_CASE(max_connections_refuses_new_connections_and_keeps_the_open_ones) {
    constexpr int limit = 20;
    topology t;
    sink_process sink(t, "7300", {"--mode", "echo", "--max-connections", std::to_string(limit)});

    child_process held(clients_cmd(
        t, sink.port, {"--count", std::to_string(limit), "--write", "1000", "--echo", "--hold", "--timeout", "10"}));
    const json h = next_report(held, "connected", 0);
    BOOST_TEST(h.get<int>("connected") == limit);
    BOOST_TEST(h.get<int>("echo_ok") == limit);

    const json more = run_clients(t, sink.port, {"--count", "10", "--timeout", "3"});
    BOOST_TEST_MESSAGE("10 more at the limit: " << more.get<int>("connected") << " connected, "
                                                << more.get<int>("refused") << " refused, "
                                                << more.get<int>("timed_out") << " timed out");
    BOOST_TEST(more.get<int>("connected") == 0);
    BOOST_TEST(more.get<int>("refused") + more.get<int>("timed_out") == 10);
    const json at_limit = sink.report();
    BOOST_TEST_MESSAGE("sink at the limit: " << flood_counters(at_limit));
    BOOST_TEST(counter(at_limit, "tcp_connections_refused") >= 10);
    BOOST_TEST(at_limit.get<int>("connections_open") == limit);

    // The connections made before the limit still carry data.
    held.signal(SIGTERM);
    const json r = next_report(held, "released", 0);
    BOOST_TEST(r.get<int>("final_echo_ok") == limit);
    BOOST_TEST(held.wait(10000ms) == 0);

    // Once they are gone, there is room again.
    sink.report_until([](const json& s) { return s.get<int>("tcp_connections") == 0; });
    const json again = run_clients(t, sink.port, {"--count", "5", "--write", "1000", "--echo", "--timeout", "10"});
    BOOST_TEST(again.get<int>("connected") == 5);
    BOOST_TEST(again.get<int>("echo_ok") == 5);
    sink.stop();
}

// With a small tcp_config::memory_limit, buffers shrink (so do the windows:
// data stays in the clients' send queues) and then new connections are
// refused; the buffered bytes never exceed the limit, and reading them
// reopens the windows.
BOOST_AUTO_TEST_CASE(memory_limit_shrinks_windows_then_refuses_new_connections) {
    constexpr int count = 200, data = 64 * 1024;
    constexpr double limit = 4 << 20;
    topology t;
    sink_process sink(t, "7400", {"--mode", "hold", "--memory-limit", std::to_string(int(limit))});

    child_process clients(clients_cmd(t, sink.port,
                                      {"--count", std::to_string(count), "--write", std::to_string(data), "--timeout",
                                       "5", "--hold", "--io-timeout", "5"}));
    const json c = next_report(clients, "connected", 0);
    const int connected = c.get<int>("connected");
    BOOST_TEST_MESSAGE(count << " clients at a " << limit / 1024 / 1024 << " MiB limit: " << connected << " connected, "
                             << c.get<int>("refused") << " refused, " << c.get<int>("timed_out") << " timed out");
    BOOST_TEST(connected > 0);
    BOOST_TEST(c.get<int>("refused") > 0);
    BOOST_TEST(connected + c.get<int>("refused") + c.get<int>("timed_out") == count);

    const json full = sink.report_until([&](const json& r) { return r.get<int>("accepted") >= connected; });
    const json q = ask(clients);
    BOOST_TEST_MESSAGE("sink holds " << full.get<double>("rx_buffered") << " bytes unread; clients still queue "
                                     << q.get<double>("send_queue_bytes") << " bytes; " << rss_line(full) << "; "
                                     << flood_counters(full));
    BOOST_TEST(full.get<double>("rx_buffered") <= limit);
    BOOST_TEST(counter(full, "tcp_connections_refused") >= c.get<int>("refused"));
    BOOST_TEST(full.get<int>("connections_open") == connected);

    // The sink starts reading: every byte written arrives.
    sink.proc.signal(SIGUSR2);
    json drained = ask(clients);
    for (int i = 0; i < 50 && drained.get<double>("send_queue_bytes") > 0; ++i) {
        std::this_thread::sleep_for(200ms);
        drained = ask(clients);
    }
    BOOST_TEST(drained.get<double>("send_queue_bytes") == 0);
    BOOST_TEST(drained.get<int>("lost") == 0);

    clients.signal(SIGTERM);
    BOOST_TEST(clients.wait(10000ms) == 0);
    sink.report_until([](const json& s) { return s.get<int>("tcp_connections") == 0; });
    const json again = run_clients(t, sink.port, {"--count", "5", "--write", "1000", "--timeout", "10"});
    BOOST_TEST(again.get<int>("connected") == 5);
    sink.stop();
}

BOOST_AUTO_TEST_SUITE_END()
