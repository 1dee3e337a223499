// coronet behind a kernel router: what routers say in ICMP must reach TCP.
// An upload through a hop with a smaller MTU learns the path MTU from the
// router's "fragmentation needed" (RFC 1191) and completes byte-exact, with
// and without segmentation offload; a SYN answered by an ICMP unreachable
// (an nftables reject in the router) fails the connect at once with the
// error it names (RFC 1122 4.2.3.9), not after the SYN timeout.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "netns.hpp"

using namespace coronet::test;
namespace bdata = boost::unit_test::data;

namespace {

// The router's ICMP is not rate-limited: each test's answers come when asked.
void unlimited_icmp(const topology& t) { BOOST_REQUIRE(sh(t.in_mid("sysctl -qw net.ipv4.icmp_ratelimit=0")) == 0); }

}  // namespace

BOOST_AUTO_TEST_SUITE(icmp_netns)

BOOST_DATA_TEST_CASE(an_upload_through_a_narrower_hop_learns_the_path_mtu, bdata::make({true, false}), offload) {
    topology t(topology::middle::router);
    unlimited_icmp(t);
    // The peer's own link says 1500 (its SYN+ACK offers MSS 1460); the
    // router's side of it takes 1400 only, and says so in ICMP.
    BOOST_REQUIRE(sh("ip -n " + t.ns_mid + " link set " + t.mid_b + " mtu 1400") == 0);
    temp_file in("in"), out("out");
    fill_random(in, 4);
    const auto server = kernel_sink(t, 5101, out.path);
    std::vector<std::string> args{"--stats", t.peer_ip, "5101"};
    if (!offload) args.insert(args.begin(), "--no-offload");
    child_process cat(t.stack_cmd("apps/coronet-cat", args), in.path);
    const int status = cat.wait(120000ms);
    const std::string counters = cat.output();
    BOOST_TEST_MESSAGE("counters: " << counters);
    BOOST_TEST(status == 0, "coronet-cat exited with " << status << ": " << counters);
    BOOST_TEST(server->wait(20000ms) == 0);
    BOOST_TEST(sha256(out.path) == sha256(in.path));
    BOOST_TEST(json_field(counters, "tcp_icmp_path_mtu") >= 1);
    BOOST_TEST(json_field(counters, "conn_mss_reductions") == 1);
}

BOOST_DATA_TEST_CASE(a_syn_answered_by_icmp_unreachable_fails_the_connect_at_once,
                     bdata::make({"port-unreachable", "host-unreachable", "net-unreachable", "prot-unreachable"}) ^
                         bdata::make({"connection refused", "no route to host", "network unreachable",
                                      "protocol unreachable"}),
                     icmp, message) {
    topology t(topology::middle::router);
    unlimited_icmp(t);
    BOOST_REQUIRE(sh(t.in_mid("nft 'add table ip t; add chain ip t f { type filter hook forward priority 0; }; "
                              "add rule ip t f tcp dport 5102 reject with icmp type " +
                              std::string(icmp) + "'")) == 0);
    // Without the ICMP the SYNs would go unanswered for the whole SYN
    // timeout (about two minutes); the bound is far below that.
    child_process cat(t.stack_cmd("apps/coronet-cat", {"--stats", t.peer_ip, "5102"}));
    const int status = cat.wait(30000ms);
    BOOST_TEST(status == 1, "coronet-cat exited with " << status << ": " << cat.output());
    BOOST_TEST(cat.output().find(message) != std::string::npos, cat.output());
}

BOOST_AUTO_TEST_SUITE_END()
