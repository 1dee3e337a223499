// coronet's TCP against the kernel's over veth (default offloads on):
// byte-exact transfers both ways, half-close, refusal, timeouts, a lossy
// bridge, the impairment relay, and many short connections.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <thread>

#include "netns.hpp"

using namespace coronet::test;

namespace {

// A kernel server in the peer namespace that answers each connection (with
// fork: every one) with the sha256sum of what it read. After the client's
// FIN socat waits -t seconds for that answer, then closes the connection
// without it; the default 0.5 s is shorter than starting sh and sha256sum
// can take on a loaded machine (a lost cycle: EOF, no answer).
std::vector<std::string> sha256_server(const topology& t, int port, bool fork = false) {
    return {"ip",
            "netns",
            "exec",
            t.ns_peer,
            "socat",
            "-t",
            "30",
            "TCP-LISTEN:" + std::to_string(port) + ",reuseaddr" + (fork ? ",fork" : ""),
            "SYSTEM:sha256sum"};
}

// coronet-cat HOST PORT < in, with a kernel socat server in the peer namespace writing to out.
void send_to_kernel(const topology& t, const std::string& peer_ns, const std::string& peer_ip, const temp_file& in,
                    const temp_file& out) {
    child_process server(
        {"ip", "netns", "exec", peer_ns, "socat", "-u", "TCP-LISTEN:5001,reuseaddr", "CREATE:" + out.path});
    BOOST_REQUIRE(wait_listening(peer_ns, 5001));
    const auto start = std::chrono::steady_clock::now();
    child_process cat(t.stack_cmd("apps/coronet-cat", {peer_ip, "5001"}), in.path);
    const int rc = cat.wait(240000ms);
    const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST_MESSAGE("coronet-cat -> kernel: " << secs << " s; " << cat.output());
    BOOST_TEST(rc == 0, cat.output());
    BOOST_TEST(server.wait(20000ms) == 0);
    BOOST_TEST(sha256(out.path) == sha256(in.path));
}

// A kernel socat client sends in to coronet-cat --listen (with more
// options: extra), which writes out. Returns coronet-cat's output.
std::string receive_from_kernel(const topology& t, const temp_file& in, const temp_file& out,
                                std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--listen", "5002"});
    child_process cat(t.stack_cmd("apps/coronet-cat", extra), "/dev/null", out.path);
    std::this_thread::sleep_for(300ms);
    const auto start = std::chrono::steady_clock::now();
    std::string client_out;
    BOOST_TEST(sh(t.in_peer("socat -u OPEN:" + in.path + " TCP:" + t.stack_ip + ":5002"), &client_out) == 0,
               client_out);
    BOOST_TEST(cat.wait(120000ms) == 0, cat.output());
    const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST_MESSAGE("kernel -> coronet-cat: " << secs << " s");
    BOOST_TEST(sha256(out.path) == sha256(in.path));
    return cat.output();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_kernel)

BOOST_AUTO_TEST_CASE(coronet_cat_sends_100_mib_to_a_kernel_server) {
    topology t;
    temp_file in("in"), out("out");
    fill_random(in, 100);
    send_to_kernel(t, t.ns_peer, t.peer_ip, in, out);
}

BOOST_AUTO_TEST_CASE(kernel_client_sends_100_mib_to_coronet_cat_listening) {
    topology t;
    temp_file in("in"), out("out");
    fill_random(in, 100);
    receive_from_kernel(t, in, out);
}

// Both receive paths (--rx-path: the multishot receive, and the mapped
// TPACKET_V2 rings, the default): every byte both ways, the kernel's 64 KiB
// offload frames received whole (in a ring slot, in a provided buffer).
BOOST_AUTO_TEST_CASE(both_receive_paths_carry_data_both_ways) {
    for (const std::string path : {"multishot", "ring"}) {
        topology t;
        temp_file in("in"), out("out"), back("back");
        fill_random(in, 32);
        const std::string counters = receive_from_kernel(t, in, back, {"--rx-path", path, "--stats"});
        const long frames = json_field(counters, "dev_rx_frames"), bytes = json_field(counters, "dev_rx_bytes");
        BOOST_TEST_MESSAGE(path << ": " << frames << " frames, " << bytes << " bytes received");
        BOOST_REQUIRE(frames > 0);
        // Frames larger than an MTU arrived whole (how large depends on the
        // sender's offload sizing: the average was 6,000 to 9,000 bytes).
        BOOST_TEST(bytes / frames > 1514, path);
        BOOST_TEST(json_field(counters, "dev_rx_errors") == 0, path);
        child_process server(
            {"ip", "netns", "exec", t.ns_peer, "socat", "-u", "TCP-LISTEN:5005,reuseaddr", "CREATE:" + out.path});
        BOOST_REQUIRE(wait_listening(t.ns_peer, 5005));
        child_process cat(t.stack_cmd("apps/coronet-cat", {"--rx-path", path, t.peer_ip, "5005"}), in.path);
        BOOST_TEST(cat.wait(60000ms) == 0, cat.output());
        BOOST_TEST(server.wait(20000ms) == 0);
        BOOST_TEST(sha256(out.path) == sha256(in.path), path);
    }
}

// Segmentation offload: coronet hands the kernel 64 KiB TCP frames (the
// kernel cuts them into MSS-sized segments where it must); --no-offload
// keeps every frame within the MTU. Both deliver every byte.
BOOST_AUTO_TEST_CASE(coronet_sends_offload_frames_unless_told_not_to) {
    for (const bool offload : {true, false}) {
        topology t;
        temp_file in("in"), out("out");
        fill_random(in, 16);
        child_process server(
            {"ip", "netns", "exec", t.ns_peer, "socat", "-u", "TCP-LISTEN:5003,reuseaddr", "CREATE:" + out.path});
        BOOST_REQUIRE(wait_listening(t.ns_peer, 5003));
        std::vector<std::string> args{"--stats", t.peer_ip, "5003"};
        if (!offload) args.insert(args.begin(), "--no-offload");
        child_process cat(t.stack_cmd("apps/coronet-cat", args), in.path);
        BOOST_TEST(cat.wait(60000ms) == 0, cat.output());
        BOOST_TEST(server.wait(20000ms) == 0);
        BOOST_TEST(sha256(out.path) == sha256(in.path));
        const std::string counters = cat.output();
        const long frames = json_field(counters, "dev_tx_frames"), bytes = json_field(counters, "dev_tx_bytes");
        const long gso = json_field(counters, "dev_tx_gso_frames");
        BOOST_TEST_MESSAGE("offload " << offload << ": " << frames << " frames, " << bytes << " bytes, " << gso
                                      << " offload frames");
        BOOST_REQUIRE(frames > 0);
        if (offload) {
            BOOST_TEST(gso > 0);
            BOOST_TEST(bytes / frames > 4 * 1514);  // most data went in super-frames
        } else {
            BOOST_TEST(gso == 0);
            BOOST_TEST(bytes / frames <= 1514);
        }
    }
}

// A 9000-byte MTU: coronet's transmit buffers are sized from the
// interface's MTU, so full-sized segments fit, offloaded or not.
BOOST_AUTO_TEST_CASE(jumbo_mtu_carries_data_both_ways) {
    topology t;
    for (const auto& [ns, ifname] : {std::pair{t.ns_stack, t.if_stack}, std::pair{t.ns_peer, t.if_peer}})
        BOOST_REQUIRE(sh("ip -n " + ns + " link set dev " + ifname + " mtu 9000") == 0);
    temp_file in("in"), out("out"), back("back");
    fill_random(in, 8);
    for (const bool offload : {true, false}) {
        child_process server(
            {"ip", "netns", "exec", t.ns_peer, "socat", "-u", "TCP-LISTEN:5004,reuseaddr", "CREATE:" + out.path});
        BOOST_REQUIRE(wait_listening(t.ns_peer, 5004));
        std::vector<std::string> args{"--stats", t.peer_ip, "5004"};
        if (!offload) args.insert(args.begin(), "--no-offload");
        child_process cat(t.stack_cmd("apps/coronet-cat", args), in.path);
        BOOST_TEST(cat.wait(60000ms) == 0, cat.output());
        BOOST_TEST(server.wait(20000ms) == 0);
        BOOST_TEST(sha256(out.path) == sha256(in.path), "offload " << offload);
        const std::string counters = cat.output();
        BOOST_TEST_MESSAGE("jumbo, offload " << offload << ": " << json_field(counters, "dev_tx_frames") << " frames, "
                                             << json_field(counters, "dev_tx_bytes") << " bytes");
        if (!offload) BOOST_TEST(json_field(counters, "dev_tx_bytes") / json_field(counters, "dev_tx_frames") > 1514);
    }
    receive_from_kernel(t, in, back);
}

BOOST_AUTO_TEST_CASE(half_close_peer_reads_to_eof_then_answers) {
    topology t;
    temp_file in("in"), out("out");
    fill_random(in, 5);
    child_process server(sha256_server(t, 5003));
    BOOST_REQUIRE(wait_listening(t.ns_peer, 5003));
    child_process cat(t.stack_cmd("apps/coronet-cat", {t.peer_ip, "5003"}), in.path, out.path);
    BOOST_TEST(cat.wait(60000ms) == 0, cat.output());
    std::string answer;
    sh("cut -d' ' -f1 " + out.path, &answer);
    while (!answer.empty() && answer.back() == '\n') answer.pop_back();
    BOOST_TEST(answer == sha256(in.path));
}

BOOST_AUTO_TEST_CASE(connect_to_a_closed_port_is_refused) {
    topology t;
    child_process cat(t.stack_cmd("apps/coronet-cat", {t.peer_ip, "5999"}));
    BOOST_TEST(cat.wait(20000ms) == 1);
    BOOST_TEST(cat.output().find("connection refused") != std::string::npos, cat.output());
}

BOOST_AUTO_TEST_CASE(connect_times_out_against_a_host_that_drops_syns) {
    topology t;
    const std::string nft = "ip netns exec " + t.ns_peer + " nft ";
    BOOST_REQUIRE(sh(nft + "add table inet t") == 0);
    BOOST_REQUIRE(sh(nft + "'add chain inet t in { type filter hook input priority 0; }'") == 0);
    BOOST_REQUIRE(sh(nft + "add rule inet t in tcp dport 5004 drop") == 0);
    child_process cat(t.stack_cmd("apps/coronet-cat", {"--connect-timeout", "2", t.peer_ip, "5004"}));
    BOOST_TEST(cat.wait(20000ms) == 1);
    BOOST_TEST(cat.output().find("connection timed out") != std::string::npos, cat.output());
}

// coronet-cat closes first, so it ends in TIME_WAIT; the peer (in
// LAST_ACK) loses coronet's ACK of its FIN and sends the FIN again. A
// coronet-cat that exited at once left nobody to answer it: the kernel's
// socket sat in LAST_ACK, retransmitting. Lingering, it answers.
BOOST_AUTO_TEST_CASE(coronet_cat_lingers_in_time_wait_to_acknowledge_a_fin_sent_again) {
    topology t;
    temp_file out("out");
    const auto server = kernel_sink(t, 5010, out.path);
    held_fifo stdin_open;
    child_process cat(t.stack_cmd("apps/coronet-cat", {"--linger", "5", t.peer_ip, "5010"}), stdin_open.file.path);
    BOOST_REQUIRE_MESSAGE(wait_established(t.ns_peer, 5010), cat.output());
    // From now on the first pure ACK coronet sends the peer is lost: the one for the peer's FIN.
    const std::string nft = "ip netns exec " + t.ns_peer + " nft ";
    BOOST_REQUIRE(sh(nft + "'add table inet z; add chain inet z in { type filter hook input priority 0; }; "
                           "add rule inet z in tcp dport 5010 tcp flags & (fin | syn | rst | psh) == 0 "
                           "quota until 60 bytes counter drop'") == 0);
    stdin_open.release();  // coronet-cat's FIN; the kernel answers with its own
    BOOST_TEST(server->wait(20000ms) == 0);
    BOOST_TEST(cat.wait(30000ms) == 0, cat.output());
    std::string rules, last_ack;
    sh(nft + "list table inet z", &rules);
    BOOST_TEST(rules.find("packets 1 ") != std::string::npos, rules);  // the ACK was lost
    sh(t.in_peer("ss -Htn state last-ack"), &last_ack);
    BOOST_TEST(last_ack.empty(), "the kernel still waits in LAST_ACK: " << last_ack);
}

// The peer's interface takes another MAC while coronet only sends: frames
// to the old MAC are lost and nothing the peer sends would tell. The first
// retransmission timeout makes coronet doubt its ARP entry; unicast probes
// go unanswered, the entry goes, and a broadcast request finds the new MAC
// in seconds. Before, the entry lived its 60 s and the transfer waited for
// the next timeout after that (about 100 s).
BOOST_AUTO_TEST_CASE(a_peer_that_comes_back_with_another_mac_is_found_again) {
    topology t;
    temp_file in("in"), out("out");
    fill_random(in, 1);
    const auto server = kernel_sink(t, 5012, out.path);
    held_fifo stdin_open;
    child_process cat(t.stack_cmd("apps/coronet-cat", {"--stats", t.peer_ip, "5012"}), stdin_open.file.path);
    BOOST_REQUIRE_MESSAGE(wait_established(t.ns_peer, 5012), cat.output());
    BOOST_REQUIRE(sh("ip -n " + t.ns_peer + " link set dev " + t.if_peer + " address 02:00:5e:77:88:99") == 0);
    // 32 KiB through the FIFO (its buffer holds them), then its end.
    std::string data;
    BOOST_REQUIRE(sh("head -c 32768 " + in.path, &data) == 0);
    BOOST_REQUIRE(::write(stdin_open.fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    stdin_open.release();
    const int status = cat.wait(60000ms);  // far below the ~100 s it took
    BOOST_TEST(status == 0, "coronet-cat exited with " << status << ": " << cat.output());
    BOOST_TEST(server->wait(20000ms) == 0);
    std::string got;
    sh("head -c 32768 " + in.path + " | sha256sum | cut -d' ' -f1", &got);
    BOOST_TEST(got == sha256(out.path) + "\n");
    BOOST_TEST(json_field(cat.output(), "arp_probes_sent") >= 3);
    BOOST_TEST(json_field(cat.output(), "arp_probes_failed") >= 1);
}

BOOST_AUTO_TEST_CASE(connect_to_a_silent_address_reports_no_route) {
    topology t;
    child_process cat(t.stack_cmd("apps/coronet-cat", {"10.201.0.77", "5005"}));
    BOOST_TEST(cat.wait(20000ms) == 1);
    BOOST_TEST(cat.output().find("no route to host") != std::string::npos, cat.output());
}

BOOST_AUTO_TEST_CASE(two_hundred_cycles_in_one_stack_end_with_an_empty_connection_table) {
    topology t;
    child_process server(sha256_server(t, 5007, true));
    BOOST_REQUIRE(wait_listening(t.ns_peer, 5007));
    child_process cycles(t.stack_cmd("tests/netns/coronet-test-cycles",
                                     {"--connect", t.peer_ip + ":5007", "--cycles", "200", "--msl", "1"}));
    const int rc = cycles.wait(120000ms);
    BOOST_TEST_MESSAGE(cycles.output());
    BOOST_TEST(rc == 0, cycles.output());
    BOOST_TEST(cycles.output().find("{\"ok\":200,\"connections\":0}") != std::string::npos, cycles.output());
}

BOOST_AUTO_TEST_CASE(fifty_coronet_cat_runs_leave_no_connection_on_the_kernel_side) {
    topology t;
    temp_file in("in");
    fill_random(in, 1);
    child_process server(sha256_server(t, 5006, true));
    BOOST_REQUIRE(wait_listening(t.ns_peer, 5006));
    int ok = 0;
    const std::string expected = sha256(in.path);
    for (int i = 0; i < 50; ++i) {
        temp_file out("out");
        // --linger 0: TIME_WAIT is not under test here (coronet_cat_lingers_...
        // is), and fifty seconds of it were a tenth of the tier.
        child_process cat(t.stack_cmd("apps/coronet-cat", {"--linger", "0", t.peer_ip, "5006"}), in.path, out.path);
        if (cat.wait(20000ms) != 0) continue;
        std::string answer;
        sh("cut -d' ' -f1 " + out.path, &answer);
        if (answer.substr(0, 64) == expected) ++ok;
    }
    BOOST_TEST(ok == 50);
    // Each run's stack ends with its process; the kernel side must be clean too.
    std::string left;
    sh("ip netns exec " + t.ns_peer + " ss -Htn state established '( sport = :5006 )'", &left);
    BOOST_TEST(left.empty(), left);
}

BOOST_AUTO_TEST_CASE(hundred_mib_each_way_across_a_bridge_dropping_3_percent) {
    topology t{topology::middle::bridge};
    const std::string nft = "ip netns exec " + t.ns_mid + " nft ";
    BOOST_REQUIRE(sh(nft + "add table bridge t") == 0);
    BOOST_REQUIRE(sh(nft + "'add chain bridge t f { type filter hook forward priority 0; }'") == 0);
    BOOST_REQUIRE(sh(nft + "add rule bridge t f meta l4proto tcp numgen random mod 100 \\< 3 counter drop") == 0);
    temp_file in("in"), out("out"), back("back");
    fill_random(in, 100);
    send_to_kernel(t, t.ns_peer, t.peer_ip, in, out);
    receive_from_kernel(t, in, back);
    std::string counters;
    sh(nft + "list chain bridge t f", &counters);
    BOOST_TEST_MESSAGE("bridge drops: " << counters);
    BOOST_TEST(counters.find("packets 0 ") == std::string::npos, counters);
}

BOOST_AUTO_TEST_CASE(hundred_mib_each_way_through_the_impairment_relay) {
    topology t{topology::middle::relay};
    child_process relay({"ip", "netns", "exec", t.ns_mid, bin("apps/coronet-impair"), "--a", t.mid_a, "--b", t.mid_b,
                         "--reorder", "2", "--duplicate", "1", "--delay", "1", "--seed", "7"});
    std::this_thread::sleep_for(300ms);
    BOOST_REQUIRE(relay.running());
    temp_file in("in"), out("out"), back("back");
    fill_random(in, 100);
    send_to_kernel(t, t.ns_peer, t.peer_ip, in, out);
    receive_from_kernel(t, in, back);
    BOOST_TEST(relay.terminate() == 0);
    BOOST_TEST_MESSAGE("relay: " << relay.output());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tcp_scapy)

namespace {
// Keeps the peer kernel from answering the hand-made connection with RSTs.
void drop_kernel_rsts(const topology& t) {
    const std::string nft = "ip netns exec " + t.ns_peer + " nft ";
    BOOST_REQUIRE(sh(nft + "add table inet s") == 0);
    BOOST_REQUIRE(sh(nft + "'add chain inet s out { type filter hook output priority 0; }'") == 0);
    BOOST_REQUIRE(sh(nft + "add rule inet s out tcp flags rst drop") == 0);
}
std::string scapy(const topology& t, const std::string& args) {
    return t.in_peer("/usr/bin/python3 " + std::string(CORONET_SOURCE_DIR) + "/tests/netns/scapy_peer.py " + t.if_peer +
                     " " + t.peer_ip + " " + t.stack_ip + " " + args);
}
}  // namespace

BOOST_AUTO_TEST_CASE(rst_from_scapy_returns_an_embryonic_connection_to_listen) {
    topology t;
    drop_kernel_rsts(t);
    child_process cat(t.stack_cmd("apps/coronet-cat", {"--log-level", "info", "--listen", "6001"}));
    std::this_thread::sleep_for(300ms);
    std::string out;
    const int rc = sh(scapy(t, "passive-rst 6001"), &out);
    BOOST_TEST_MESSAGE(out);
    BOOST_TEST(rc == 0, out);
    BOOST_TEST(cat.wait_for_output("SYN_RCVD -> LISTEN (RST)", 5000ms), cat.output());
    BOOST_TEST(cat.running());  // still listening
}

BOOST_AUTO_TEST_CASE(simultaneous_open_with_scapy_goes_through_syn_rcvd) {
    topology t;
    drop_kernel_rsts(t);
    child_process peer({"ip", "netns", "exec", t.ns_peer, "/usr/bin/python3",
                        std::string(CORONET_SOURCE_DIR) + "/tests/netns/scapy_peer.py", t.if_peer, t.peer_ip,
                        t.stack_ip, "simultaneous-open", "6002"});
    std::this_thread::sleep_for(1500ms);  // scapy's start-up
    child_process cat(t.stack_cmd("apps/coronet-cat", {"--log-level", "info", t.peer_ip, "6002"}));
    BOOST_TEST(peer.wait(20000ms) == 0, peer.output());
    BOOST_TEST(cat.wait_for_output("SYN_SENT -> SYN_RCVD", 5000ms), cat.output());
    BOOST_TEST(cat.wait_for_output("SYN_RCVD -> ESTABLISHED", 5000ms), cat.output());
}

BOOST_AUTO_TEST_SUITE_END()
