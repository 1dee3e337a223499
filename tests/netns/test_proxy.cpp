// coronet-proxy between kernel clients (curl, socat, python) and kernel
// servers in the peer namespace: byte-exact downloads, many at once,
// half-close, an upstream that is down, resets mid-transfer, the connection
// limit, SIGUSR1's table, SIGTERM, and the pcapng transition comments. The
// checks read the proxy's --summary-json lines, not its log (that is for
// people).
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <fstream>
#include <regex>
#include <thread>

#include "proxied.hpp"

using namespace coronet::test;

BOOST_AUTO_TEST_SUITE(proxy)

BOOST_AUTO_TEST_CASE(curl_downloads_50_mib_through_the_proxy_byte_exact) {
    proxied p;
    const std::string sum = p.serve("big", 50);
    p.start();
    temp_file out("proxy-download");
    std::string err;
    BOOST_TEST(p.curl("-o " + out.path + " " + p.url + "big", &err) == 0, err);
    BOOST_TEST(sha256(out.path) == sum);
    BOOST_TEST(p.stop() == 0);
    const auto sessions = p.sessions();
    BOOST_REQUIRE_MESSAGE(sessions.size() == 1, p.both());
    BOOST_TEST(json_value(sessions[0], "ok") == "true", sessions[0]);
    BOOST_TEST(json_field(sessions[0], "bytes_up") > 0);
    // The file and the HTTP header on top of it.
    BOOST_TEST(json_field(sessions[0], "bytes_down") > 52428800);
    BOOST_TEST(json_field(sessions[0], "bytes_down") < 52428800 + 1024);
}

// The proxy's upstream connections take ephemeral ports by RFC 6056
// algorithm 4 with random steps: one connection's port does not give away
// the next (it was always the last one + 1). The ports are read from the
// proxy's log ("upstream ... from port N"). The kernel server's TIME_WAIT
// sockets listed 18 or 19 of the 20 in 5 of 22 runs on a loaded machine
// (2026-12-06): the server closes first only when its FIN beats the one the
// proxy sends once curl has the whole response and closes.
BOOST_AUTO_TEST_CASE(upstream_ports_do_not_count_up_by_one) {
    proxied p;
    p.serve("small", 1);
    p.start();
    for (int i = 0; i < 20; ++i) BOOST_REQUIRE(p.curl("-o /dev/null " + p.url + "small") == 0);
    BOOST_TEST(p.stop() == 0);
    const std::string log = p.proxy->output();
    std::vector<int> ports;
    const std::regex upstream("upstream " + p.t.peer_ip + ":8000 from port ([0-9]+)");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), upstream); it != std::sregex_iterator(); ++it)
        ports.push_back(std::stoi((*it)[1].str()));
    BOOST_REQUIRE_MESSAGE(ports.size() == 20u, p.both());
    std::sort(ports.begin(), ports.end());
    BOOST_TEST((std::adjacent_find(ports.begin(), ports.end()) == ports.end()), p.both());  // 20 different ports
    int by_one = 0;
    for (std::size_t i = 1; i < ports.size(); ++i) by_one += ports[i] == ports[i - 1] + 1;
    BOOST_TEST(by_one < 15, p.both());  // random steps of 1 to 8: about one in eight is +1
}

BOOST_AUTO_TEST_CASE(one_hundred_concurrent_downloads_are_all_byte_exact) {
    proxied p;
    const std::string sum = p.serve("one", 1);
    p.start({"--max-per-source", "100"});  // all from one address: more than the default 64
    const std::string outdir = "/tmp/coronet-many-" + p.t.ns_peer;
    std::string out;
    const int rc = sh("mkdir -p " + outdir + " && for i in $(seq 1 100); do " +
                          p.t.in_peer("curl -sS --max-time 60 -o " + outdir + "/$i " + p.url + "one") +
                          " & done; wait; sha256sum " + outdir + "/* | cut -d' ' -f1 | sort | uniq -c",
                      &out);
    sh("rm -rf " + outdir);
    BOOST_TEST(rc == 0);
    BOOST_TEST(p.stop() == 0);
    std::string failed;
    for (const auto& s : p.sessions())
        if (json_value(s, "ok") != "true") failed += s + "\n";
    std::string overflows;  // the upstream's accept queue
    sh(p.t.in_peer("nstat -az TcpExtListenOverflows TcpExtListenDrops"), &overflows);
    BOOST_TEST(out.find("100 " + sum) != std::string::npos, out << "sessions that failed:\n"
                                                                << failed << "the upstream's kernel:\n"
                                                                << overflows);
    check_counters(p, 100, 100, 0);
}

BOOST_AUTO_TEST_CASE(an_upstream_that_refuses_resets_the_client_promptly) {
    proxied p;
    p.start({}, 8001);  // nothing listens there: the kernel answers the SYN with RST
    std::string err;
    const int rc = p.curl("-o /dev/null " + p.url, &err);
    // The reset reaches curl while it connects (7) or waits for the reply
    // (56: reset, 52: empty reply); 28 would be a hang ended by --max-time.
    BOOST_TEST((rc == 7 || rc == 56 || rc == 52), "curl exit " << rc << ": " << err);
    BOOST_TEST(p.stop() == 0);
    BOOST_TEST(sessions_failed_by(p.sessions(), "upstream", "ECONNREFUSED") == 1, p.both());
    BOOST_TEST(json_field(p.stopped(), "upstream_failed") == 1);
}

BOOST_AUTO_TEST_CASE(a_silent_upstream_resets_the_client_after_the_connect_timeout) {
    proxied p;
    // Drop SYNs to the upstream port, so the connect can only time out.
    BOOST_REQUIRE(sh(p.t.in_peer("nft 'add table inet t; add chain inet t in { type filter hook input priority 0; }; "
                                 "add rule inet t in tcp dport 8000 drop'")) == 0);
    p.start({"--connect-timeout", "1"});
    std::string err;
    const int rc = p.curl("-o /dev/null " + p.url, &err);
    BOOST_TEST((rc == 7 || rc == 56 || rc == 52), "curl exit " << rc << ": " << err);
    BOOST_TEST(p.stop() == 0);
    BOOST_TEST(sessions_failed_by(p.sessions(), "upstream", "ETIMEDOUT") == 1, p.both());
    BOOST_TEST(json_field(p.stopped(), "upstream_failed") == 1);
}

BOOST_AUTO_TEST_CASE(half_close_is_passed_through_both_ways) {
    proxied p;
    // -t 30: socat waits for sha256sum's answer after our FIN (0.5 s by default).
    child_process server(
        {"ip", "netns", "exec", p.t.ns_peer, "socat", "-t", "30", "TCP-LISTEN:9000,reuseaddr", "SYSTEM:sha256sum"});
    BOOST_REQUIRE(wait_listening(p.t.ns_peer, 9000));
    p.start({}, 9000);
    temp_file in("proxy-half-close");
    fill_random(in, 5);
    // socat sends the file, shuts down writing, and reads the answer that
    // the server only writes after our FIN reached it through the proxy.
    std::string answer;
    BOOST_TEST(sh(p.t.in_peer("socat -t 30 - TCP:" + p.t.stack_ip + ":8080 < " + in.path), &answer) == 0, answer);
    BOOST_TEST(answer.substr(0, 64) == sha256(in.path));
    BOOST_TEST(p.stop() == 0);
}

BOOST_AUTO_TEST_CASE(clients_that_reset_mid_transfer_leave_the_proxy_serving) {
    proxied p;
    const std::string sum = p.serve("big", 20);
    p.start();
    // Ten clients read a little of the file and reset (SO_LINGER 0).
    const std::string script =
        "import socket, struct\n"
        "for i in range(10):\n"
        "    s = socket.create_connection(('" +
        p.t.stack_ip +
        "', 8080))\n"
        "    s.sendall(b'GET /big HTTP/1.0\\r\\n\\r\\n')\n"
        "    got = 0\n"
        "    while got < 100000:\n"
        "        got += len(s.recv(65536))\n"
        "    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\n"
        "    s.close()\n";
    temp_file py("proxy-reset.py");
    std::ofstream(py.path) << script;
    std::string err;
    BOOST_TEST(sh(p.t.in_peer("python3 " + py.path), &err) == 0, err);
    temp_file out("proxy-after-reset");
    BOOST_TEST(p.curl("-o " + out.path + " " + p.url + "big", &err) == 0, err);
    BOOST_TEST(sha256(out.path) == sum);
    BOOST_TEST(p.stop() == 0);
    check_counters(p, 11, 1, 10);
    BOOST_TEST(sessions_failed_by(p.sessions(), "client", "ECONNRESET") == 10, p.both());
}

BOOST_AUTO_TEST_CASE(over_max_connections_clients_wait_in_the_backlog) {
    proxied p;
    const std::string sum = p.serve("one", 1);
    p.start({"--max-connections", "2"});
    const std::string outdir = "/tmp/coronet-limit-" + p.t.ns_peer;
    std::string out;
    sh("mkdir -p " + outdir + " && for i in 1 2 3 4 5 6; do " +
           p.t.in_peer("curl -sS --max-time 60 --limit-rate 2M -o " + outdir + "/$i " + p.url + "one") +
           " & done; wait; sha256sum " + outdir + "/* | cut -d' ' -f1 | sort | uniq -c",
       &out);
    sh("rm -rf " + outdir);
    BOOST_TEST(out.find("6 " + sum) != std::string::npos, out);
    BOOST_TEST(p.stop() == 0);
    BOOST_TEST(json_field(p.stopped(), "peak_sessions") == 2, p.both());
    check_counters(p, 6, 6, 0);
}

BOOST_AUTO_TEST_CASE(sigusr1_prints_the_table_and_sigterm_aborts_what_does_not_drain) {
    proxied p;
    p.serve("big", 50);
    p.start({"--drain-timeout", "1"});
    // A slow download that is still running when the proxy stops.
    child_process slow({"ip", "netns", "exec", p.t.ns_peer, "curl", "-sS", "--max-time", "60", "--limit-rate", "1M",
                        "-o", "/dev/null", p.url + "big"});
    // SIGUSR1 until the table shows both of the session's connections.
    bool both_established = false;
    for (int i = 0; i < 50 && !both_established; ++i) {
        p.proxy->signal(SIGUSR1);
        std::this_thread::sleep_for(100ms);
        const auto tables = json_events(p.summary.path, "table");
        both_established = !tables.empty() && json_field(tables.back(), "ESTABLISHED") == 2;
    }
    BOOST_REQUIRE_MESSAGE(both_established, p.both());
    const std::string table = p.proxy->output();
    BOOST_TEST_MESSAGE(table);
    BOOST_TEST(std::regex_search(table, std::regex(R"(LISTEN +0 +128 +10\.201\.0\.2:8080 +\*:\*)")), table);
    BOOST_TEST(std::regex_search(table, std::regex(R"(ESTABLISHED +\d+ +\d+ +10\.201\.0\.2:8080 +10\.201\.0\.1:\d+)")));
    BOOST_TEST(std::regex_search(table, std::regex(R"(ESTABLISHED +\d+ +\d+ +10\.201\.0\.2:\d+ +10\.201\.0\.1:8000)")));
    BOOST_TEST(p.stop() == 0);
    BOOST_TEST(slow.wait(10000ms) != 0);  // reset: the download did not finish
    BOOST_TEST(json_field(p.stopped(), "aborted") == 1, p.both());
    BOOST_TEST(sessions_failed_by(p.sessions(), "proxy", "ECONNABORTED") == 1, p.both());
}

BOOST_AUTO_TEST_CASE(pcap_frames_that_caused_transitions_carry_comments) {
    proxied p;
    p.serve("small", 1);
    temp_file pcap("proxy.pcapng");
    p.start({"--pcap", pcap.path});
    BOOST_TEST(p.curl("-o /dev/null " + p.url + "small") == 0);
    BOOST_TEST(p.stop() == 0);
    std::string comments;
    BOOST_REQUIRE(
        sh("tshark -r " + pcap.path + " -Y frame.comment -T fields -e tcp.flags.str -e frame.comment", &comments) == 0);
    BOOST_TEST_MESSAGE(comments);
    // Each comment sits on the frame that caused it: the client's SYN, the
    // upstream's SYN+ACK, the FINs.
    BOOST_TEST(std::regex_search(comments, std::regex(R"(S\S*\tLISTEN -> SYN_RCVD \(SYN\))")), comments);
    BOOST_TEST(std::regex_search(comments, std::regex(R"(A\S*S\S*\tSYN_SENT -> ESTABLISHED \(SYN\+ACK\))")));
    BOOST_TEST(std::regex_search(comments, std::regex(R"(F\S*\tESTABLISHED -> CLOSE_WAIT \(FIN\))")));
    BOOST_TEST(comments.find("SYN_RCVD -> ESTABLISHED (ACK)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2_with_a_message) {
    std::string out;
    BOOST_TEST(sh(bin("apps/coronet-proxy") + " --help", &out) == 0);
    BOOST_TEST(out.find("--upstream") != std::string::npos);
    BOOST_TEST(out.find("--max-connections") != std::string::npos);
    BOOST_TEST(out.find("--summary-json") != std::string::npos);
    for (const char* option : {"--max-per-source", "--first-byte-timeout", "--min-rate", "--buffer-memory"})
        BOOST_TEST(out.find(option) != std::string::npos, option);
    const std::string px = bin("apps/coronet-proxy") + " --iface lo --ip 10.0.0.1/24 ";
    BOOST_TEST(sh(px + "--listen 8080", &out) == 2);
    BOOST_TEST(out.find("upstream") != std::string::npos, out);
    BOOST_TEST(sh(px + "--listen 8080 --upstream 10.0.0.2", &out) == 2);
    BOOST_TEST(out.find("A.B.C.D:PORT") != std::string::npos, out);
    BOOST_TEST(sh(px + "--listen 70000 --upstream 10.0.0.2:80", &out) == 2);
    BOOST_TEST(sh(px + "--listen 8080 --upstream 10.0.0.2:80 --max-connections 0", &out) == 2);
    BOOST_TEST(out.find("--max-connections") != std::string::npos, out);
    BOOST_TEST(sh(px + "--listen 8080 --upstream 10.0.0.2:80 --max-per-source 0", &out) == 2);
    BOOST_TEST(out.find("--max-per-source") != std::string::npos, out);
    BOOST_TEST(sh(px + "--listen 8080 --upstream 10.0.0.2:80 --buffer-memory lots", &out) == 2);
    BOOST_TEST(out.find("--buffer-memory") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
