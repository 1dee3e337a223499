// coronet-proxy for operators: the --metrics endpoint (Prometheus text,
// scraped with curl from the stack's namespace, where it is a kernel socket
// on 127.0.0.1) counting known downloads and a refused upstream, and staying
// bounded against scrapers that hold connections or send too much; the
// --access-log lines (one JSON object per session, parsed by python3's json);
// --pcap-max-bytes rotation (each file read by tshark, the total bounded);
// and bad values of these options.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "proxied.hpp"

using namespace coronet::test;

namespace {

const std::string metrics_at = "127.0.0.1:9464";

// GET path from the metrics endpoint, with curl in the stack's namespace; curl's exit status.
int scrape(const proxied& p, std::string& page, const std::string& path = "/metrics") {
    page.clear();
    return sh("ip netns exec " + p.t.ns_stack + " curl -sS --max-time 20 http://" + metrics_at + path, &page);
}

// The value of one series in a page (its name and labels as the proxy
// writes them, e.g. coronet_proxy_bytes_total{loop="0",direction="up"}); -1 when absent.
double series(const std::string& page, const std::string& name) {
    std::istringstream in(page);
    for (std::string line; std::getline(in, line);)
        if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 && line[name.size()] == ' ')
            return std::stod(line.substr(name.size() + 1));
    return -1;
}

// Scrapes until the series reaches at least `value` (sessions end a little
// after curl: the proxy waits for both closes to be acknowledged); the last page.
std::string scrape_until(const proxied& p, const std::string& name, double value) {
    std::string page;
    for (int i = 0; i < 100; ++i) {
        BOOST_REQUIRE_MESSAGE(scrape(p, page) == 0, page);
        if (series(page, name) >= value) break;
        std::this_thread::sleep_for(100ms);
    }
    return page;
}

const std::string ended_ok = R"(coronet_proxy_sessions_ended_total{loop="0",outcome="ok"})";

// Four connections to the metrics endpoint that send nothing, held for 30 s at most.
const char* holders_py = R"(import socket, sys, time
held = [socket.create_connection(('127.0.0.1', 9464)) for _ in range(4)]
print('held', flush=True)
time.sleep(30)
)";

// The files of a rotated capture beyond the first, removed at the end.
struct rotated_captures {
    std::string path;
    ~rotated_captures() { sh("rm -f " + path + ".[0-9]*"); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(proxy_ops)

BOOST_AUTO_TEST_CASE(metrics_count_sessions_bytes_and_a_refused_upstream) {
    proxied p;
    p.serve("one", 1);
    p.start({"--metrics", metrics_at});
    for (int i = 0; i < 3; ++i) BOOST_REQUIRE(p.curl("-o /dev/null " + p.url + "one") == 0);
    std::string page = scrape_until(p, ended_ok, 3);
    BOOST_TEST(series(page, ended_ok) == 3, page);
    BOOST_TEST(series(page, R"(coronet_proxy_sessions_accepted_total{loop="0"})") == 3);
    BOOST_TEST(series(page, R"(coronet_proxy_bytes_total{loop="0",direction="down"})") >= 3 * 1048576.0);
    BOOST_TEST(series(page, R"(coronet_proxy_bytes_total{loop="0",direction="up"})") > 0);
    BOOST_TEST(series(page, R"(coronet_proxy_sessions_open{loop="0"})") == 0);
    BOOST_TEST(series(page, R"(coronet_tcp_connections{loop="0",state="listen"})") == 1);
    BOOST_TEST(series(page, R"(coronet_device_frames_total{loop="0",direction="rx"})") > 0);
    BOOST_TEST(page.find("# HELP coronet_proxy_bytes_total ") != std::string::npos);
    BOOST_TEST(page.find("# TYPE coronet_proxy_bytes_total counter\n") != std::string::npos);
    BOOST_TEST(page.find("# TYPE coronet_tcp_connections gauge\n") != std::string::npos);
    // The upstream goes away: its kernel refuses the next connect and the client is reset.
    p.http.reset();
    BOOST_TEST(p.curl("-o /dev/null " + p.url + "one") != 0);
    page = scrape_until(p, R"(coronet_proxy_sessions_ended_total{loop="0",outcome="upstream"})", 1);
    BOOST_TEST(series(page, R"(coronet_proxy_upstream_connect_failures_total{loop="0",error="ECONNREFUSED"})") == 1,
               page);
    BOOST_TEST(series(page, R"(coronet_proxy_sessions_ended_total{loop="0",outcome="upstream"})") == 1);
    BOOST_TEST(series(page, R"(coronet_proxy_sessions_accepted_total{loop="0"})") == 4);
    BOOST_TEST(series(page, R"(coronet_metrics_scrapes_total{result="ok"})") >= 1);  // the page's own scrape not yet
    BOOST_TEST(p.stop() == 0);
}

// Scrapers that connect and send nothing hold the (four) slots only until
// their timeout (5 s); the proxy proxies meanwhile; a request that is too
// large, for another path or another method is answered with an error.
BOOST_AUTO_TEST_CASE(metrics_endpoint_bounds_scrapers_that_hold_or_send_too_much) {
    proxied p;
    const std::string sum = p.serve("one", 1);
    p.start({"--metrics", metrics_at});
    child_process holders({"ip", "netns", "exec", p.t.ns_stack, "python3", "-c", holders_py});
    BOOST_REQUIRE_MESSAGE(holders.wait_for_output("held", 5000ms), holders.output());
    const auto held_at = std::chrono::steady_clock::now();
    temp_file out("ops-download");
    BOOST_TEST(p.curl("-o " + out.path + " " + p.url + "one") == 0);
    BOOST_TEST(sha256(out.path) == sum);
    std::string page;
    BOOST_TEST(scrape(p, page) == 0, page);  // waits in the backlog for a slot
    BOOST_TEST((std::chrono::steady_clock::now() - held_at >= 4s), "a scrape was served while 4 slots were held");
    BOOST_TEST(series(page, R"(coronet_metrics_scrapes_total{result="timeout"})") >= 1, page);
    const std::string curl = "ip netns exec " + p.t.ns_stack + " curl -s --max-time 20 -o /dev/null -w '%{http_code}' ";
    std::string code;
    sh(curl + "-H \"X-Big: $(head -c 8000 /dev/zero | tr '\\0' a)\" http://" + metrics_at + "/metrics", &code);
    BOOST_TEST(code == "431");
    sh(curl + "http://" + metrics_at + "/other", &code);
    BOOST_TEST(code == "404");
    sh(curl + "-X POST http://" + metrics_at + "/metrics", &code);
    BOOST_TEST(code == "405");
    BOOST_TEST(scrape(p, page) == 0, page);
    BOOST_TEST(series(page, R"(coronet_metrics_scrapes_total{result="too_large"})") == 1, page);
    BOOST_TEST(series(page, R"(coronet_metrics_scrapes_total{result="not_found"})") == 1);
    BOOST_TEST(series(page, R"(coronet_metrics_scrapes_total{result="bad_request"})") == 1);
    BOOST_TEST(p.stop() == 0);
}

// One JSON line per session, each parsed by python3's json module, with the
// byte counts of what was downloaded; the log no longer carries the session
// lines, and --summary-json's session lines are the same lines.
BOOST_AUTO_TEST_CASE(access_log_has_one_json_line_per_session) {
    proxied p;
    p.serve("one", 1);
    p.serve("two", 2);
    temp_file access("proxy-access");
    p.start({"--access-log", access.path});
    BOOST_TEST(p.curl("-o /dev/null " + p.url + "one") == 0);
    BOOST_TEST(p.curl("-o /dev/null " + p.url + "two") == 0);
    BOOST_TEST(p.stop() == 0);
    std::string fields;
    BOOST_TEST(sh("python3 -c 'import json, sys\n"
                  "for line in open(sys.argv[1]):\n"
                  "    s = json.loads(line)\n"
                  "    print(s[\"event\"], s[\"ok\"], s[\"bytes_down\"], s[\"bytes_up\"] > 0, s[\"upstream\"], "
                  "s[\"client\"].split(\":\")[0], s[\"start\"][:2], s[\"start\"][-1], s[\"seconds\"] >= 0)' " +
                      access.path,
                  &fields) == 0,
               fields);
    std::istringstream lines(fields);
    std::vector<std::string> got;
    for (std::string line; std::getline(lines, line);) got.push_back(line);
    BOOST_REQUIRE_MESSAGE(got.size() == 2u, fields);
    const std::string common = " " + p.t.peer_ip + ":8000 " + p.t.peer_ip + " 20 Z True";
    for (const auto& [line, mib] : {std::pair{got[0], 1}, std::pair{got[1], 2}}) {
        std::istringstream in(line);
        std::string event, ok, rest;
        long bytes_down = 0;
        in >> event >> ok >> bytes_down;
        std::getline(in, rest);
        BOOST_TEST(event == "session", line);
        BOOST_TEST(ok == "True", line);
        BOOST_TEST(bytes_down > mib * 1048576L, line);  // the file and the HTTP header on top
        BOOST_TEST(bytes_down < mib * 1048576L + 1024, line);
        BOOST_TEST(rest == " True" + common, line);
    }
    BOOST_TEST(p.sessions().size() == 2u);
    std::ifstream in(access.path);
    for (const auto& s : p.sessions()) {
        std::string line;
        std::getline(in, line);
        BOOST_TEST(line == s);
    }
    BOOST_TEST(p.proxy->output().find("session 1") == std::string::npos, p.proxy->output());
    BOOST_TEST(p.proxy->output().find("ESTABLISHED") != std::string::npos);  // the transitions stay in the log
}

BOOST_AUTO_TEST_CASE(pcap_rotates_into_files_each_readable_and_bounded) {
    proxied p;
    p.serve("four", 4);
    temp_file pcap("ops.pcapng");
    rotated_captures rotated{pcap.path};
    const std::uintmax_t max_bytes = 256 * 1024;
    p.start({"--pcap", pcap.path, "--pcap-max-bytes", "256K", "--pcap-files", "3"});
    BOOST_TEST(p.curl("-o /dev/null " + p.url + "four") == 0);
    BOOST_TEST(p.stop() == 0);
    std::uintmax_t total = 0;
    temp_file frames("ops-frames");
    for (int i = 0; i < 3; ++i) {
        const std::string name = i == 0 ? pcap.path : pcap.path + "." + std::to_string(i);
        BOOST_TEST_CONTEXT(name) {
            BOOST_REQUIRE(std::filesystem::exists(name));
            const auto size = std::filesystem::file_size(name);
            BOOST_TEST(size <= max_bytes);
            total += size;
            std::string err;
            BOOST_TEST(sh("tshark -r " + name + " -T fields -e frame.number > " + frames.path, &err) == 0, err);
            BOOST_TEST(err.find("cut short") == std::string::npos, err);
            std::string count;
            sh("wc -l < " + frames.path, &count);
            BOOST_TEST(std::stol(count) > 0);
        }
    }
    BOOST_TEST(!std::filesystem::exists(pcap.path + ".3"));
    BOOST_TEST(total <= 3 * max_bytes);
}

BOOST_AUTO_TEST_CASE(bad_operator_options_exit_2_with_one_line_naming_the_option) {
    const std::string px =
        bin("apps/coronet-proxy") + " --iface lo --ip 10.0.0.1/24 --listen 8080 --upstream 10.0.0.2:80 ";
    const std::pair<const char*, const char*> cases[] = {
        {"--metrics nonsense", "--metrics"},
        {"--metrics 127.0.0.1:0", "--metrics"},
        {"--metrics 127.0.0.1:70000", "--metrics"},
        {"--metrics 9464", "--metrics"},
        {"--pcap /tmp/never.pcapng --pcap-max-bytes 0", "--pcap-max-bytes"},
        {"--pcap /tmp/never.pcapng --pcap-max-bytes 1K", "--pcap-max-bytes"},
        {"--pcap-max-bytes 1M", "--pcap-max-bytes needs --pcap"},
        {"--pcap /tmp/never.pcapng --pcap-max-bytes 1M --pcap-files 0", "--pcap-files"},
    };
    for (const auto& [args, named] : cases) {
        std::string out;
        BOOST_TEST(sh(px + args, &out) == 2, args);
        const std::string first = out.substr(0, out.find('\n'));
        BOOST_TEST(first.starts_with("coronet-proxy: "), out);
        BOOST_TEST(first.find(named) != std::string::npos, out);
        BOOST_TEST((out.find('\n') == out.size() - 1 || out.find("Try '") != std::string::npos), out);
    }
    BOOST_TEST(!std::filesystem::exists("/tmp/never.pcapng"));
    std::string help;
    BOOST_TEST(sh(bin("apps/coronet-proxy") + " --help", &help) == 0);
    for (const char* option : {"--metrics", "--access-log", "--pcap-max-bytes", "--pcap-files"})
        BOOST_TEST(help.find(option) != std::string::npos, option);
}

BOOST_AUTO_TEST_SUITE_END()
