// The netns tests' coronet-proxy fixture (test_proxy.cpp,
// test_proxy_abuse.cpp): a directory served over HTTP by python3 in the peer
// namespace and coronet-proxy on the stack's side, read through its
// --summary-json lines.
#pragma once

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <memory>

#include "netns.hpp"

namespace coronet::test {

// A directory of files served over HTTP by python3 in the peer namespace,
// and coronet-proxy on the stack's side listening on 8080.
struct proxied {
    topology t;
    std::string dir;
    std::unique_ptr<child_process> http, proxy;
    std::string url;                     // http://stack_ip:8080/
    temp_file summary{"proxy-summary"};  // --summary-json

    proxied() {
        dir = "/tmp/coronet-web-" + t.ns_peer;
        BOOST_REQUIRE(sh("mkdir -p " + dir) == 0);
        http = std::make_unique<child_process>(std::vector<std::string>{
            "ip", "netns", "exec", t.ns_peer, "python3",
            std::string(CORONET_SOURCE_DIR) + "/tests/netns/sha256_http_server.py", dir, t.peer_ip, "8000"});
        BOOST_REQUIRE(wait_listening(t.ns_peer, 8000));
        url = "http://" + t.stack_ip + ":8080/";
    }
    ~proxied() {
        proxy.reset();
        http.reset();
        sh("rm -rf " + dir);
    }
    // A file of mib MiB of random bytes in the served directory; its sha256.
    std::string serve(const std::string& name, int mib) {
        const std::string path = dir + "/" + name;
        BOOST_REQUIRE(sh("head -c " + std::to_string(mib) + "M /dev/urandom > " + path) == 0);
        return sha256(path);
    }
    // Starts the proxy (upstream: the peer's port) and waits until it listens.
    void start(std::vector<std::string> extra = {}, int upstream_port = 8000) {
        std::vector<std::string> args{
            "--listen",    "8080", "--upstream",     t.peer_ip + ":" + std::to_string(upstream_port),
            "--log-level", "info", "--summary-json", summary.path};
        args.insert(args.end(), extra.begin(), extra.end());
        proxy = std::make_unique<child_process>(t.stack_cmd("apps/coronet-proxy", args));
        BOOST_REQUIRE_MESSAGE(wait_for_event(summary.path, "listening", 5000ms), proxy->output());
    }
    // curl in the peer namespace; its exit status.
    int curl(const std::string& args, std::string* out = nullptr) {
        return sh(t.in_peer("curl -sS --max-time 60 " + args), out);
    }
    // SIGTERM; the proxy's exit status.
    int stop() { return proxy->terminate(15000ms); }
    // The summary lines of the sessions that ended, in order.
    std::vector<std::string> sessions() const { return json_events(summary.path, "session"); }
    // The counters the proxy wrote on exit ("" before).
    std::string stopped() const {
        const auto lines = json_events(summary.path, "stopped");
        return lines.empty() ? "" : lines.back();
    }
    // The log and the summary, for a failed check's message.
    std::string both() const {
        std::ifstream in(summary.path);
        return proxy->output() + "\n--summary-json:\n" + std::string(std::istreambuf_iterator<char>(in), {});
    }
};

// The proxy's exit counters are these.
inline void check_counters(const proxied& p, long accepted, long completed, long failed) {
    const std::string c = p.stopped();
    BOOST_TEST(json_field(c, "accepted") == accepted, p.both());
    BOOST_TEST(json_field(c, "completed") == completed);
    BOOST_TEST(json_field(c, "failed") == failed);
}

// The sessions whose summary names this side and errno ("ECONNRESET").
inline int sessions_failed_by(const std::vector<std::string>& sessions, const std::string& side,
                              const std::string& error) {
    return static_cast<int>(std::count_if(sessions.begin(), sessions.end(), [&](const std::string& s) {
        return json_value(s, "ok") == "false" && json_value(s, "side") == side && json_value(s, "error") == error;
    }));
}

}  // namespace coronet::test
