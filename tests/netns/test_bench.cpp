// coronet-bench smoke test: each mode runs for a second with coronet on one
// side and the kernel on the other, and its one JSON line must name the run
// and hold sane figures; the link role sends and receives frames through both
// paths. Nothing here asserts a speed: benchmarks are not tests.
#include <unistd.h>

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>

#include "netns.hpp"

using namespace coronet::test;

namespace {

const std::string port = "5201";

struct client_run {
    int rc = -1;
    std::string out, err;
};

// Runs a client to completion: its stdout and, separately, its stderr.
client_run run_client(const std::vector<std::string>& argv) {
    static int n = 0;
    const std::string path = "/tmp/coronet-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    client_run r;
    {
        child_process c(argv, "/dev/null", path);
        r.rc = c.wait(30000ms);  // 1 s of work, 10 s of grace: more means it hangs
        r.err = c.output();
    }
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    r.out = ss.str();
    ::unlink(path.c_str());
    return r;
}

struct expected {
    std::string mode, stack;
    bool reverse = false;
};

// The client's stdout must be exactly one JSON line describing the run.
void check_result(const client_run& r, const expected& e) {
    BOOST_TEST_MESSAGE(e.stack << " client, " << e.mode << (e.reverse ? " reverse" : "") << ": " << r.out);
    BOOST_TEST_REQUIRE(r.rc == 0, r.err);
    BOOST_TEST_REQUIRE(std::count(r.out.begin(), r.out.end(), '\n') == 1, r.out);
    boost::property_tree::ptree j;
    std::istringstream in(r.out);
    BOOST_REQUIRE_NO_THROW(boost::property_tree::read_json(in, j));
    BOOST_TEST(j.get<std::string>("mode", "") == e.mode);
    BOOST_TEST(j.get<std::string>("stack", "") == e.stack);
    BOOST_TEST(j.get<bool>("reverse", !e.reverse) == e.reverse);
    BOOST_TEST(j.get<double>("bytes", 0) > 0);
    BOOST_TEST(j.get<double>("transactions", 0) > 0);
    const double secs = j.get<double>("duration_s", 0);
    BOOST_TEST((secs > 0.5 && secs < 11), secs);
    BOOST_TEST(j.get<double>("retransmits", -1) >= 0);
    if (e.mode == "bulk") {
        BOOST_TEST(j.get<double>("gbit_per_s", 0) > 0);
        return;
    }
    BOOST_TEST(j.get<double>("transactions_per_s", 0) > 0);
    const double p50 = j.get<double>("p50_us", 0), p99 = j.get<double>("p99_us", 0);
    BOOST_TEST(p50 > 0);
    BOOST_TEST(p99 >= p50);
    if (e.mode == "crr") BOOST_TEST(j.get<double>("connections_per_s", 0) > 0);
}

// The client arguments of one run: mode (and --reverse) for a second.
std::vector<std::string> client_args(const std::string& to, const expected& e, std::vector<std::string> extra = {}) {
    std::vector<std::string> a{"client", "--connect", to + ":" + port, "--mode", e.mode, "--duration", "1"};
    if (e.reverse) a.push_back("--reverse");
    if (e.stack == "kernel") a.insert(a.end(), {"--stack", "kernel"});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

const expected runs[] = {{"bulk", "", false}, {"bulk", "", true}, {"rr", "", false}, {"crr", "", false}};

// Stops a server with SIGTERM: it must exit 0 with its totals.
void stop_server(child_process& server) {
    BOOST_TEST(server.terminate() == 0, server.output());
    BOOST_TEST(server.output().find("\"role\":\"server\"") != std::string::npos, server.output());
}

// The argv of a link run on interface `iface` of namespace ns, for half a second (a receiver: longer).
std::vector<std::string> link_args(const std::string& ns, const std::string& iface, const std::string& path,
                                   const std::string& direction) {
    return {"ip",
            "netns",
            "exec",
            ns,
            bin("apps/coronet-bench"),
            "link",
            "--iface",
            iface,
            "--path",
            path,
            "--direction",
            direction,
            "--duration",
            direction == "send" ? "0.5" : "2"};
}

// A link run's stdout must be one JSON line naming the run, with frames counted.
void check_link(const client_run& r, const std::string& path, const std::string& direction) {
    BOOST_TEST_MESSAGE("link " << path << " " << direction << ": " << r.out);
    BOOST_TEST_REQUIRE(r.rc == 0, r.err);
    BOOST_TEST_REQUIRE(std::count(r.out.begin(), r.out.end(), '\n') == 1, r.out);
    boost::property_tree::ptree j;
    std::istringstream in(r.out);
    BOOST_REQUIRE_NO_THROW(boost::property_tree::read_json(in, j));
    BOOST_TEST(j.get<std::string>("role", "") == "link");
    BOOST_TEST(j.get<std::string>("path", "") == path);
    BOOST_TEST(j.get<std::string>("direction", "") == direction);
    BOOST_TEST(j.get<int>("frame_size", 0) == 64);
    BOOST_TEST(j.get<double>("frames", 0) > 0);
    BOOST_TEST(j.get<double>("duration_s", 0) > 0);
    BOOST_TEST(j.get<double>("mpps", 0) > 0);
    BOOST_TEST(j.get<double>("gbit_per_s", 0) > 0);
    BOOST_TEST(j.get<double>(direction == "send" ? "send_errors" : "kernel_drops", -1) >= 0);
}

// A receiver started in the background, then a sender run to completion;
// both must have counted frames.
void check_link_pair(const std::vector<std::string>& receiver, const std::vector<std::string>& sender,
                     const std::string& receiver_path, const std::string& sender_path) {
    temp_file out("link-receiver");
    client_run rx;
    {
        child_process c(receiver, "/dev/null", out.path);
        BOOST_REQUIRE_MESSAGE(c.wait_for_output("receiving", 5000ms), c.output());
        check_link(run_client(sender), sender_path, "send");
        rx.rc = c.wait(15000ms);
        rx.err = c.output();
    }
    std::ifstream in(out.path);
    std::stringstream ss;
    ss << in.rdbuf();
    rx.out = ss.str();
    check_link(rx, receiver_path, "receive");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bench)

BOOST_AUTO_TEST_CASE(help_exits_0_and_usage_errors_exit_2) {
    const std::string bench = bin("apps/coronet-bench");
    std::string out;
    BOOST_TEST(sh(bench + " --help", &out) == 0);
    for (const char* opt :
         {"server", "client", "link", "--listen", "--connect", "--mode", "--duration", "--size", "--connections",
          "--reverse", "--stack", "--iface", "--path", "--direction", "--frame-size", "--bytes", "--cc", "Exit status"})
        BOOST_TEST(out.find(opt) != std::string::npos, opt);
    struct {
        std::string args, message;
    } cases[] = {
        {"", "server, client or link"},
        {"client --stack kernel --mode rr", "--connect"},
        {"client --stack kernel --connect 10.0.0.1:5201 --mode ping", "unknown --mode"},
        {"client --stack kernel --connect 10.0.0.1 --mode rr",
         "--connect: '10.0.0.1' is not A.B.C.D:PORT (port 1-65535)"},
        {"client --stack kernel --connect 10.0.0.1:5201 --mode rr --reverse", "--reverse"},
        {"client --connect 10.0.0.1:5201 --mode rr", "--iface is required"},
        {"server --stack kernel", "--listen"},
        {"server --stack kernel --listen 5201 --mode rr", "client option"},
        {"link --path raw --direction send", "--iface is required"},
        {"link --iface lo --direction send", "--path"},
        {"link --iface lo --path raw --direction up", "unknown --direction"},
        {"link --iface lo --path raw --direction send --frame-size 1515", "--frame-size"},
        {"link --iface lo --path raw --direction send --ip 10.0.0.1/24", "not a link option"},
        {"client --stack kernel --connect 10.0.0.1:5201 --mode rr --path raw", "link option"},
        {"client --stack kernel --connect 10.0.0.1:5201 --mode rr --bytes 1M", "--bytes is for --mode bulk"},
        {"client --stack kernel --connect 10.0.0.1:5201 --mode bulk --bytes 0", "--bytes: '0'"},
        {"client --stack kernel --connect 10.0.0.1:5201 --mode bulk --bytes 3X", "--bytes: '3X'"},
        {"client --stack kernel --connect 10.0.0.1:5201 --mode bulk --bytes 1M --connections 2", "one connection"},
        {"server --stack kernel --listen 5201 --bytes 1M", "client option"},
        {"client --stack kernel --connect 10.0.0.1:5201 --mode bulk --cc no-such-cc", "the kernel refuses it"},
        {"server --stack kernel --listen 5201 --cc no-such-cc", "available here"},
        {"client --iface lo --ip 10.0.0.2/24 --connect 10.0.0.1:5201 --mode bulk --cc vegas",
         "coronet has no such congestion control"},
        {"link --iface lo --path raw --direction send --cc reno", "server or client option"},
    };
    for (const auto& c : cases) {
        const int rc = sh(bench + " " + c.args, &out);
        BOOST_TEST(rc == 2, c.args);
        BOOST_TEST(out.find(c.message) != std::string::npos, c.args << " -> " << out);
    }
}

BOOST_AUTO_TEST_CASE(kernel_clients_against_a_coronet_server) {
    topology t;
    child_process server(t.stack_cmd("apps/coronet-bench", {"server", "--listen", port}));
    BOOST_REQUIRE_MESSAGE(server.wait_for_output("listening", 5000ms), server.output());
    const std::vector<std::string> peer{"ip", "netns", "exec", t.ns_peer, bin("apps/coronet-bench")};
    for (expected e : runs) {
        e.stack = "kernel";
        auto argv = peer;
        for (auto& a : client_args(t.stack_ip, e)) argv.push_back(a);
        check_result(run_client(argv), e);
    }
    stop_server(server);
}

BOOST_AUTO_TEST_CASE(coronet_clients_against_a_kernel_server) {
    topology t;
    child_process server(
        {"ip", "netns", "exec", t.ns_peer, bin("apps/coronet-bench"), "server", "--stack", "kernel", "--listen", port});
    BOOST_REQUIRE_MESSAGE(server.wait_for_output("listening", 5000ms), server.output());
    for (expected e : runs) {
        e.stack = "user";
        check_result(run_client(t.stack_cmd("apps/coronet-bench", client_args(t.peer_ip, e))), e);
    }
    // Concurrent connections are summed into the one line.
    const expected e{"crr", "user", false};
    check_result(run_client(t.stack_cmd("apps/coronet-bench", client_args(t.peer_ip, e, {"--connections", "3"}))), e);
    stop_server(server);
}

// coronet at both ends (bench.sh's coronet -> coronet column): the peer's
// veth end loses its kernel address and IPv6, and a second stack owns it;
// both resolve ARP themselves. Each mode, one loop each, then 8 crr
// connections on two loops at both ends.
BOOST_AUTO_TEST_CASE(coronet_clients_against_a_coronet_server) {
    topology t;
    BOOST_REQUIRE(sh(t.in_peer("ip addr flush dev " + t.if_peer)) == 0);
    BOOST_REQUIRE(sh(t.in_peer("sysctl -qw net.ipv6.conf." + t.if_peer + ".disable_ipv6=1")) == 0);
    for (const std::string loops : {"1", "2"}) {
        child_process server(t.stack_cmd("apps/coronet-bench", {"server", "--listen", port, "--loops", loops}));
        BOOST_REQUIRE_MESSAGE(server.wait_for_output("listening", 5000ms), server.output());
        const std::vector<std::string> peer{"ip", "netns", "exec", t.ns_peer, bin("apps/coronet-bench")};
        std::vector<expected> cases;
        if (loops == "1")
            cases.assign(std::begin(runs), std::end(runs));
        else
            cases.push_back({"crr", "", false});
        for (expected e : cases) {
            e.stack = "user";
            auto argv = peer;
            std::vector<std::string> extra{"--iface", t.if_peer, "--ip", t.peer_ip + "/24", "--loops", loops};
            if (loops == "2") extra.insert(extra.end(), {"--connections", "8"});
            for (auto& a : client_args(t.stack_ip, e, extra)) argv.push_back(a);
            check_result(run_client(argv), e);
        }
        stop_server(server);
    }
}

// Busy polling at both ends (bench.sh's busy-poll rows): each loop takes
// its frames from the receive rings as it spins, entering the kernel only
// every few spins; rr and crr must go on as without it.
BOOST_AUTO_TEST_CASE(coronet_at_both_ends_busy_polling) {
    topology t;
    BOOST_REQUIRE(sh(t.in_peer("ip addr flush dev " + t.if_peer)) == 0);
    BOOST_REQUIRE(sh(t.in_peer("sysctl -qw net.ipv6.conf." + t.if_peer + ".disable_ipv6=1")) == 0);
    child_process server(t.stack_cmd("apps/coronet-bench", {"server", "--listen", port, "--busy-poll", "50"}));
    BOOST_REQUIRE_MESSAGE(server.wait_for_output("listening", 5000ms), server.output());
    const std::vector<std::string> peer{"ip", "netns", "exec", t.ns_peer, bin("apps/coronet-bench")};
    for (expected e : {expected{"rr", "user", false}, expected{"crr", "user", false}}) {
        auto argv = peer;
        for (auto& a : client_args(t.stack_ip, e,
                                   {"--iface", t.if_peer, "--ip", t.peer_ip + "/24", "--busy-poll", "50", "--stats"}))
            argv.push_back(a);
        const client_run r = run_client(argv);
        check_result(r, e);
        // The client's loop spun, and spins read the receive rings without
        // entering the kernel (it enters every eighth, or to submit, or
        // after the rings gave frames).
        const long polls = json_field(r.err, "loop_busy_polls"), quiet = json_field(r.err, "loop_quiet_spins");
        BOOST_TEST_MESSAGE(e.mode << ": busy polls " << polls << ", quiet spins " << quiet);
        BOOST_TEST(polls > 0, r.err);
        BOOST_TEST(quiet > 0, r.err);
    }
    stop_server(server);
}

// Several bulk connections from one stack still leave in offload
// super-frames: a loop turn's output for all of them finds a large transmit
// buffer for each frame. With 64 such buffers, four connections sent most of
// their frames MTU-sized (2 s: dev_tx_large_exhausted 375,772 of 426,817
// frames, 15.6 Gbit/s; with 512, 0 of 117,753 and 30.3 Gbit/s). --stats
// prints the client's counters to stderr.
BOOST_AUTO_TEST_CASE(four_bulk_connections_send_offload_super_frames) {
    topology t;
    BOOST_REQUIRE(sh(t.in_peer("ip addr flush dev " + t.if_peer)) == 0);
    BOOST_REQUIRE(sh(t.in_peer("sysctl -qw net.ipv6.conf." + t.if_peer + ".disable_ipv6=1")) == 0);
    child_process server(t.stack_cmd("apps/coronet-bench", {"server", "--listen", port}));
    BOOST_REQUIRE_MESSAGE(server.wait_for_output("listening", 5000ms), server.output());
    std::vector<std::string> argv{"ip", "netns", "exec", t.ns_peer, bin("apps/coronet-bench")};
    const expected e{"bulk", "user", false};
    for (auto& a :
         client_args(t.stack_ip, e, {"--iface", t.if_peer, "--ip", t.peer_ip + "/24", "--connections", "4", "--stats"}))
        argv.push_back(a);
    const client_run r = run_client(argv);
    check_result(r, e);
    const long frames = json_field(r.err, "dev_tx_frames"), offload = json_field(r.err, "dev_tx_gso_frames"),
               exhausted = json_field(r.err, "dev_tx_large_exhausted");
    BOOST_TEST_MESSAGE("frames " << frames << ", super-frames " << offload << ", large buffers exhausted "
                                 << exhausted);
    BOOST_TEST_REQUIRE(frames > 1000, r.err);
    BOOST_TEST(offload * 4 >= frames * 3, r.err);  // the rest: handshakes and the odd short segment
    BOOST_TEST(exhausted * 100 <= frames, r.err);
    stop_server(server);
}

// Raw frames through both paths, each way: the raw sender loads both
// receivers, and a raw receiver counts for both senders.
BOOST_AUTO_TEST_CASE(link_mode_sends_and_receives_frames_on_both_paths) {
    topology t;
    for (const std::string path : {"raw", "device"}) {
        check_link_pair(link_args(t.ns_stack, t.if_stack, path, "receive"),
                        link_args(t.ns_peer, t.if_peer, "raw", "send"), path, "raw");
        check_link_pair(link_args(t.ns_peer, t.if_peer, "raw", "receive"),
                        link_args(t.ns_stack, t.if_stack, path, "send"), "raw", path);
    }
}

BOOST_AUTO_TEST_CASE(a_refused_connection_exits_1_with_a_message) {
    topology t;
    const auto r = run_client(t.stack_cmd("apps/coronet-bench", client_args(t.peer_ip, {"rr", "user", false})));
    BOOST_TEST(r.rc == 1);
    BOOST_TEST(r.out.empty(), r.out);
    BOOST_TEST(r.err.find("connection refused") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()
