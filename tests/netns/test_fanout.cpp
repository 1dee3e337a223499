// Two loops on one interface (coronet-bench --loops 2): each TCP flow reaches
// the loop that owns it (by a socket filter per loop's rings, or a
// PACKET_FANOUT group of the loops' sockets), loop 0 answers ARP and ping,
// and a client's loops pick ephemeral ports whose flows come back to them.
// A flow steered to the wrong loop would be reset, so a run without a failed
// connection is the proof; the server's per-loop counts show both loops
// served.
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>

#include "netns.hpp"

using namespace coronet::test;
namespace pt = boost::property_tree;

namespace {

const std::string fanout_port = "5202";

struct run_result {
    int rc = -1;
    std::string out, err;
};

// Runs argv to completion: its stdout and, separately, its stderr.
run_result run(const std::vector<std::string>& argv) {
    temp_file out("fanout-out");
    run_result r;
    {
        child_process c(argv, "/dev/null", out.path);
        r.rc = c.wait(30000ms);
        r.err = c.output();
    }
    std::ifstream in(out.path);
    std::stringstream ss;
    ss << in.rdbuf();
    r.out = ss.str();
    return r;
}

pt::ptree json_line(const std::string& text) {
    pt::ptree j;
    std::istringstream in(text.substr(0, text.find('\n')));
    BOOST_REQUIRE_NO_THROW(pt::read_json(in, j));
    return j;
}

// The server's JSON line: printed on stdout once SIGTERM stopped it.
pt::ptree stop_server(child_process& server, const temp_file& out) {
    BOOST_TEST(server.terminate() == 0, server.output());
    std::ifstream in(out.path);
    std::stringstream ss;
    ss << in.rdbuf();
    BOOST_TEST_MESSAGE("server: " << ss.str());
    return json_line(ss.str());
}

std::vector<std::string> peer_bench(const topology& t, std::vector<std::string> args) {
    std::vector<std::string> argv{"ip", "netns", "exec", t.ns_peer, bin("apps/coronet-bench")};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

// A two-loop coronet server receiving through rx_path serves thousands of
// kernel connections, on both loops.
void serve_kernel_clients_on_two_loops(const std::string& rx_path) {
    topology t;
    temp_file server_out("fanout-server");
    child_process server(
        t.stack_cmd("apps/coronet-bench", {"server", "--listen", fanout_port, "--loops", "2", "--rx-path", rx_path}),
        "/dev/null", server_out.path);
    BOOST_REQUIRE_MESSAGE(server.wait_for_output("listening", 5000ms), server.output());

    // ARP and ICMP reach loop 0 only: it answers them for both.
    std::string out;
    BOOST_TEST(sh(t.in_peer("ping -c 2 -i 0.2 -W 2 " + t.stack_ip), &out) == 0, out);

    // Thousands of connections from 8 chains, each on a new port: any steered
    // to a loop that does not own it would be reset and fail the client.
    const auto c = run(peer_bench(t, {"client", "--stack", "kernel", "--connect", t.stack_ip + ":" + fanout_port,
                                      "--mode", "crr", "--connections", "8", "--duration", "1"}));
    BOOST_TEST_MESSAGE("kernel client: " << c.out);
    BOOST_TEST_REQUIRE(c.rc == 0, c.err);
    const auto client = json_line(c.out);
    const auto transactions = client.get<std::uint64_t>("transactions", 0);
    BOOST_TEST(transactions >= 64u);

    const auto s = stop_server(server, server_out);
    BOOST_TEST(s.get<unsigned>("loops", 0) == 2u);
    BOOST_TEST(s.get<std::uint64_t>("connections", 0) == transactions);
    BOOST_TEST(s.get<std::uint64_t>("errors", 1) == 0u);
    std::vector<std::uint64_t> per_loop;
    if (const auto loops = s.get_child_optional("loop_connections"))
        for (const auto& [key, value] : *loops) per_loop.push_back(value.get_value<std::uint64_t>());
    BOOST_TEST_REQUIRE(per_loop.size() == 2u);
    // The flow hash spreads a Linux client's ports about evenly; a loop with
    // under a quarter would mean the steering is off.
    for (auto n : per_loop) BOOST_TEST(n > transactions / 4, n << " of " << transactions);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fanout)

// Both receive paths: rings per loop, each loop's sockets keeping its own
// flows by a socket filter (the default), and the multishot receive, the
// loops' sockets one fanout group.
BOOST_DATA_TEST_CASE(kernel_clients_are_served_by_both_loops_of_a_coronet_server,
                     boost::unit_test::data::make({"ring", "multishot"}), rx_path) {
    serve_kernel_clients_on_two_loops(rx_path);
}

BOOST_AUTO_TEST_CASE(a_two_loop_coronet_client_runs_connections_on_both_loops) {
    topology t;
    temp_file server_out("fanout-server");
    child_process server(peer_bench(t, {"server", "--stack", "kernel", "--listen", fanout_port}), "/dev/null",
                         server_out.path);
    BOOST_REQUIRE_MESSAGE(server.wait_for_output("listening", 5000ms), server.output());
    const std::string to = t.peer_ip + ":" + fanout_port;

    // Bulk: 4 streams, 2 per loop.
    auto c = run(t.stack_cmd("apps/coronet-bench", {"client", "--connect", to, "--mode", "bulk", "--connections", "4",
                                                    "--loops", "2", "--duration", "1"}));
    BOOST_TEST_MESSAGE("coronet client, bulk: " << c.out);
    BOOST_TEST_REQUIRE(c.rc == 0, c.err);
    auto j = json_line(c.out);
    BOOST_TEST(j.get<unsigned>("loops", 0) == 2u);
    BOOST_TEST(j.get<unsigned>("connections", 0) == 4u);
    BOOST_TEST(j.get<unsigned>("transactions", 0) == 4u);  // bulk: one per connection, all finished
    BOOST_TEST(j.get<double>("gbit_per_s", 0) > 0);

    // crr: every connection a new ephemeral port, chosen so its flow comes back to its loop.
    c = run(t.stack_cmd("apps/coronet-bench", {"client", "--connect", to, "--mode", "crr", "--connections", "4",
                                               "--loops", "2", "--duration", "1"}));
    BOOST_TEST_MESSAGE("coronet client, crr: " << c.out);
    BOOST_TEST_REQUIRE(c.rc == 0, c.err);
    j = json_line(c.out);
    const auto transactions = j.get<std::uint64_t>("transactions", 0);
    BOOST_TEST(transactions >= 64u);

    const auto s = stop_server(server, server_out);
    BOOST_TEST(s.get<std::uint64_t>("connections", 0) == 4 + transactions);
    BOOST_TEST(s.get<std::uint64_t>("errors", 1) == 0u);
}

BOOST_AUTO_TEST_CASE(loops_is_for_the_user_stack_and_needs_a_connection_per_loop) {
    const std::string bench = bin("apps/coronet-bench");
    std::string out;
    BOOST_TEST(sh(bench + " server --stack kernel --listen 5202 --loops 2", &out) == 2);
    BOOST_TEST(out.find("user-space stack only") != std::string::npos, out);
    BOOST_TEST(sh(bench + " client --iface lo --ip 10.0.0.1/24 --connect 10.0.0.2:5202 --mode rr --loops 2", &out) ==
               2);
    BOOST_TEST(out.find("--connections must be at least --loops") != std::string::npos, out);
    BOOST_TEST(sh(bench + " link --iface lo --path raw --direction send --loops 2", &out) == 2);
    BOOST_TEST(out.find("--loops") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
