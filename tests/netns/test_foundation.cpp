// ARP, IPv4 and ICMP of the stack against the kernel over a veth pair.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "netns.hpp"

using namespace coronet::test;

namespace {

// The N of "N received" in ping(8) or coronet-ping output, or -1.
long received(const std::string& ping_output) {
    const auto at = ping_output.find(" received");
    if (at == std::string::npos) return -1;
    auto start = at;
    while (start > 0 && std::isdigit(static_cast<unsigned char>(ping_output[start - 1]))) --start;
    return start == at ? -1 : std::stol(ping_output.substr(start, at - start));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(foundation)

BOOST_AUTO_TEST_CASE(kernel_ping_to_the_stack_gets_20_replies) {
    topology t;
    child_process host(t.stack_cmd("tests/netns/coronet-test-host"));
    BOOST_REQUIRE_MESSAGE(host.wait_for_output("ready", 5000ms), host.output());
    std::string out;
    const int rc = sh(t.in_peer("ping -c 20 -i 0.05 -W 2 " + t.stack_ip), &out);
    BOOST_TEST_MESSAGE(out);
    BOOST_TEST(rc == 0);
    BOOST_TEST(received(out) == 20);
    BOOST_TEST(host.terminate() == 0);
    BOOST_TEST(json_field(host.output(), "icmp_echo_requests") == 20);
}

// RFC 7739: the IP IDs coronet puts on what it sends one destination do not
// move with what it sends others. With one global counter (as before) the
// gap an observer sees counts the datagrams sent elsewhere: an idle scan.
// Two other destinations: a counter of theirs may share the observer's
// (one in 2048), both together cannot in practice.
BOOST_AUTO_TEST_CASE(ip_ids_towards_one_peer_do_not_count_traffic_to_others) {
    topology t;
    BOOST_REQUIRE(sh("ip -n " + t.ns_peer + " addr add 10.201.0.3/24 dev " + t.if_peer + " && ip -n " + t.ns_peer +
                     " addr add 10.201.0.4/24 dev " + t.if_peer) == 0);
    child_process host(t.stack_cmd("tests/netns/coronet-test-host"));
    BOOST_REQUIRE_MESSAGE(host.wait_for_output("ready", 5000ms), host.output());
    temp_file pcap("ids");
    child_process capture({"ip", "netns", "exec", t.ns_peer, "tcpdump", "-i", t.if_peer, "-n", "--immediate-mode", "-U",
                           "-w", pcap.path, "icmp[icmptype] == icmp-echoreply"});
    BOOST_REQUIRE(capture.wait_for_output("listening on", 5000ms));
    auto ping = [&](const std::string& from, int count) {
        std::string out;
        BOOST_REQUIRE_MESSAGE(
            sh(t.in_peer("ping -q -c " + std::to_string(count) + " -i 0.01 -W 2 -I " + from + " " + t.stack_ip),
               &out) == 0,
            out);
    };
    ping(t.peer_ip, 2);
    ping("10.201.0.3", 50);
    ping("10.201.0.4", 50);
    ping(t.peer_ip, 1);
    std::this_thread::sleep_for(500ms);  // the capture writes each packet as it comes (immediate mode)
    capture.terminate();
    std::string ids;
    // The IP header's "ttl 64, id N," (the ICMP echo's own "id" follows later on the line).
    sh("tcpdump -r " + pcap.path + " -n -v 'dst host " + t.peer_ip +
           "' 2>/dev/null | grep -o 'ttl [0-9]*, id [0-9]*' | sed 's/.* id //'",
       &ids);
    std::vector<long> id;
    std::istringstream in(ids);
    for (long n; in >> n;) id.push_back(n);
    BOOST_REQUIRE_MESSAGE(id.size() == 3u, ids);
    BOOST_TEST((id[1] - id[0] + 65536) % 65536 == 1);
    const long gap = (id[2] - id[1] + 65536) % 65536;
    BOOST_TEST(gap < 101, "the counter towards " << t.peer_ip << " moved by " << gap);  // 101: one global counter
    BOOST_TEST(host.terminate() == 0);
}

BOOST_AUTO_TEST_CASE(kernel_neighbour_table_learns_the_stack_mac) {
    topology t;
    child_process host(t.stack_cmd("tests/netns/coronet-test-host"));
    BOOST_REQUIRE_MESSAGE(host.wait_for_output("ready", 5000ms), host.output());
    BOOST_TEST(sh(t.in_peer("ping -c 1 -W 2 " + t.stack_ip)) == 0);
    std::string neigh;
    sh("ip -n " + t.ns_peer + " neigh show " + t.stack_ip, &neigh);
    BOOST_TEST_MESSAGE("neighbour entry: " << neigh);
    BOOST_TEST(neigh.find(t.stack_mac()) != std::string::npos);
    BOOST_TEST(neigh.find("FAILED") == std::string::npos);
    BOOST_TEST(host.terminate() == 0);
    BOOST_TEST(json_field(host.output(), "arp_requests_answered") >= 1);
}

BOOST_AUTO_TEST_CASE(coronet_ping_to_the_kernel_gets_replies) {
    topology t;
    child_process ping(t.stack_cmd("apps/coronet-ping", {"-c", "5", "-i", "0.1", t.peer_ip}));
    const int rc = ping.wait(20000ms);
    BOOST_TEST_MESSAGE(ping.output());
    BOOST_TEST(rc == 0);
    BOOST_TEST(received(ping.output()) == 5);
    BOOST_TEST(ping.output().find("5 packets transmitted, 5 received, 0% packet loss") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(coronet_ping_to_a_silent_address_exits_1) {
    topology t;
    child_process ping(t.stack_cmd("apps/coronet-ping", {"-c", "2", "-i", "0.2", "-W", "1", "10.201.0.77"}));
    const int rc = ping.wait(20000ms);
    BOOST_TEST_MESSAGE(ping.output());
    BOOST_TEST(rc == 1);
    BOOST_TEST(received(ping.output()) == 0);
}

BOOST_AUTO_TEST_CASE(coronet_ping_pcap_is_readable_by_tshark) {
    topology t;
    const std::string pcap = "/tmp/" + t.ns_stack + ".pcapng";
    child_process ping(t.stack_cmd("apps/coronet-ping", {"-c", "3", "-i", "0.1", "--pcap", pcap, t.peer_ip}));
    BOOST_TEST(ping.wait(20000ms) == 0);
    std::string out;
    const int rc = sh("tshark -r " + pcap + " -Y icmp -T fields -e icmp.type", &out);
    ::unlink(pcap.c_str());
    BOOST_TEST_MESSAGE(out);
    BOOST_TEST(rc == 0);
    // three requests (8) and three replies (0), plus the ARP exchange not shown
    BOOST_TEST(std::count(out.begin(), out.end(), '8') == 3);
    BOOST_TEST(std::count(out.begin(), out.end(), '0') == 3);
}

BOOST_AUTO_TEST_CASE(flood_of_10000_malformed_frames_is_counted_and_ping_still_works) {
    topology t;
    child_process host(t.stack_cmd("tests/netns/coronet-test-host"));
    BOOST_REQUIRE_MESSAGE(host.wait_for_output("ready", 5000ms), host.output());
    std::string sent;
    const std::string script = std::string(CORONET_SOURCE_DIR) + "/tests/netns/malformed_flood.py";
    const int rc = sh(t.in_peer("/usr/bin/python3 " + script + " " + t.if_peer + " " + t.stack_mac() + " " +
                                t.stack_ip + " " + t.peer_ip + " 10000"),
                      &sent);
    BOOST_TEST_MESSAGE("sent: " << sent);
    BOOST_REQUIRE(rc == 0);
    std::string out;
    BOOST_TEST(sh(t.in_peer("ping -c 3 -i 0.1 -W 2 " + t.stack_ip), &out) == 0);
    BOOST_TEST(received(out) == 3);
    BOOST_REQUIRE(host.terminate() == 0);  // still alive: no crash
    const std::string counters = host.output();
    BOOST_TEST_MESSAGE("counters: " << counters);
    const long dropped = json_field(counters, "rx_dropped");
    const long kernel_drops = json_field(counters, "dev_rx_kernel_drops");
    BOOST_TEST(kernel_drops == 0);
    BOOST_TEST(dropped >= 10000);  // kernel IPv6 chatter may add a few
    // Each kind of damage lands in its own counter, frame for frame.
    auto sent_of = [&](std::initializer_list<const char*> kinds) {
        long n = 0;
        for (const char* k : kinds) n += json_field(sent, k);
        return n;
    };
    BOOST_TEST(json_field(counters, "rx_bad_arp") == sent_of({"arp_truncated", "arp_bad_htype"}));
    BOOST_TEST(json_field(counters, "rx_bad_ipv4") ==
               sent_of({"ipv4_truncated", "ipv4_bad_version", "ipv4_ihl_too_small", "ipv4_ihl_past_end",
                        "ipv4_total_length_past_frame", "ipv4_total_length_below_header", "ipv4_bad_checksum"}));
    BOOST_TEST(json_field(counters, "rx_fragments") == sent_of({"ipv4_fragment"}));
    BOOST_TEST(json_field(counters, "rx_ttl_zero") == sent_of({"ipv4_ttl_zero"}));
    BOOST_TEST(json_field(counters, "rx_other_ip") == sent_of({"ipv4_other_ip"}));
    BOOST_TEST(json_field(counters, "rx_unknown_protocol") == sent_of({"ipv4_unknown_protocol"}));
    BOOST_TEST(json_field(counters, "rx_bad_icmp") == sent_of({"icmp_bad_checksum", "icmp_truncated"}));
    // The kernel's own IPv6 multicast may add to these two.
    BOOST_TEST(json_field(counters, "rx_other_mac") >= sent_of({"other_mac"}));
    BOOST_TEST(json_field(counters, "rx_unknown_ethertype") >= sent_of({"unknown_ethertype"}));
}

// The receive rings hold 4,494 small frames (7 blocks of 642) and 15 large
// ones here; with the stack stopped, the frames past them roll over to the
// overflow socket's queue (af_packet_options::rx_overflow) and are read once
// it runs again: none is dropped. Without the overflow the kernel dropped
// 5,495.
BOOST_AUTO_TEST_CASE(frames_that_find_the_receive_rings_full_overflow_and_none_is_lost) {
    topology t;
    child_process host(t.stack_cmd("tests/netns/coronet-test-host", {"--rx-ring-slots", "15"}));
    BOOST_REQUIRE_MESSAGE(host.wait_for_output("ready", 5000ms), host.output());
    host.signal(SIGSTOP);
    std::string sent;
    const std::string script = std::string(CORONET_SOURCE_DIR) + "/tests/netns/malformed_flood.py";
    const int rc = sh(t.in_peer("/usr/bin/python3 " + script + " " + t.if_peer + " " + t.stack_mac() + " " +
                                t.stack_ip + " " + t.peer_ip + " 10000"),
                      &sent);
    host.signal(SIGCONT);
    BOOST_TEST_MESSAGE("sent: " << sent);
    BOOST_REQUIRE(rc == 0);
    std::string out;
    BOOST_TEST(sh(t.in_peer("ping -c 3 -i 0.1 -W 2 " + t.stack_ip), &out) == 0);
    BOOST_TEST(received(out) == 3);
    BOOST_REQUIRE(host.terminate() == 0);
    const std::string counters = host.output();
    BOOST_TEST_MESSAGE("counters: " << counters);
    BOOST_TEST(json_field(counters, "dev_rx_kernel_drops") == 0);
    BOOST_TEST(json_field(counters, "dev_rx_overflow") >= 10000 - 4494 - 15);
    BOOST_TEST(json_field(counters, "rx_dropped") >= 10000);
}

BOOST_AUTO_TEST_SUITE_END()
