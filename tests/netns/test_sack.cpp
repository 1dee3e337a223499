// SACK on the wire with the kernel's TCP: coronet-cat and kernel socat
// exchange 4 MiB each way through coronet-impair dropping 2% of packets.
// Three witnesses that blocks flow both ways (RFC 2018): a capture on the
// kernel's interface (TCP option kind 5 from each side), the kernel's own
// counters in its namespace (it recovers with SACK as a sender), and
// coronet's --stats. The same run with --no-sack is the control: the checks
// would catch a coronet that neither sends nor reads blocks.
#include <boost/test/unit_test.hpp>
#include <map>
#include <sstream>
#include <thread>

#include "netns.hpp"

using namespace coronet::test;

namespace {

constexpr int transfer_mib = 4;

// A packet capture on the kernel's end of the veth pair, as a file.
// --immediate-mode: without it libpcap holds packets in a TPACKET_V3 block
// until the block's timeout, and those of a transfer that ended within it
// were lost at stop() (the second exchange, once coronet sent one ACK per
// loop turn, was sometimes missing whole: -U only flushes the file).
class capture {
public:
    capture(const topology& t, const temp_file& file)
        : dump_({"ip", "netns", "exec", t.ns_peer, "tcpdump", "-i", t.if_peer, "--immediate-mode", "-U", "-s", "128",
                 "-w", file.path, "tcp"}) {
        BOOST_REQUIRE_MESSAGE(dump_.wait_for_output("listening on", 10000ms), "tcpdump: " << dump_.output());
    }
    // Ends the capture (tcpdump writes out what it holds on SIGTERM).
    void stop() { BOOST_TEST(dump_.terminate() == 0, dump_.output()); }

private:
    child_process dump_;
};

// The TCP segments in a capture that match a tshark display filter, counted
// by source address (tshark's own exit status checked: a capture it could not
// read must not pass for one without SACK blocks).
std::map<std::string, long> segments_by_source(const std::string& pcap, const std::string& filter) {
    std::string out;
    const int rc = sh("tshark -r " + pcap + " -Y '" + filter + "' -T fields -e ip.src 2>/dev/null", &out);
    BOOST_TEST(rc == 0, "tshark: " << out);
    std::map<std::string, long> by_source;
    std::istringstream lines(out);
    std::string source;
    while (lines >> source) ++by_source[source];
    return by_source;
}

// The kernel's TcpExt/Tcp counters in namespace ns, absolute (a fresh
// namespace starts them at zero) and without touching nstat's history file.
std::map<std::string, long> kernel_counters(const std::string& ns) {
    std::string out;
    BOOST_TEST(sh("ip netns exec " + ns + " nstat -asz", &out) == 0, out);
    std::map<std::string, long> counters;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string name;
        long value = 0;
        if (fields >> name >> value) counters[name] = value;
    }
    return counters;
}

struct exchange {
    std::string sent_stats, received_stats;  // coronet-cat --stats, as sender and as receiver
};

// in goes from coronet-cat to a kernel socat server, then from a kernel socat
// client to coronet-cat --listen; both copies must arrive byte-exact.
exchange both_ways(const topology& t, const temp_file& in, const std::vector<std::string>& cat_options) {
    exchange e;
    temp_file out("sack-out"), back("sack-back");
    {
        child_process server(
            {"ip", "netns", "exec", t.ns_peer, "socat", "-u", "TCP-LISTEN:5011,reuseaddr", "CREATE:" + out.path});
        BOOST_REQUIRE(wait_listening(t.ns_peer, 5011));
        std::vector<std::string> args = cat_options;
        args.insert(args.end(), {"--stats", t.peer_ip, "5011"});
        child_process cat(t.stack_cmd("apps/coronet-cat", args), in.path);
        BOOST_TEST_REQUIRE(cat.wait(180000ms) == 0, cat.output());
        BOOST_TEST_REQUIRE(server.wait(20000ms) == 0);
        e.sent_stats = cat.output();
    }
    BOOST_TEST(sha256(out.path) == sha256(in.path));
    {
        std::vector<std::string> args = cat_options;
        args.insert(args.end(), {"--stats", "--listen", "5012"});
        child_process cat(t.stack_cmd("apps/coronet-cat", args), "/dev/null", back.path);
        std::this_thread::sleep_for(300ms);
        std::string client_out;
        BOOST_TEST(
            sh(t.in_peer("timeout 180 socat -u OPEN:" + in.path + " TCP:" + t.stack_ip + ":5012"), &client_out) == 0,
            client_out);
        BOOST_TEST_REQUIRE(cat.wait(60000ms) == 0, cat.output());
        e.received_stats = cat.output();
    }
    BOOST_TEST(sha256(back.path) == sha256(in.path));
    return e;
}

struct observed {
    long segments_from_kernel = 0, segments_from_coronet = 0;  // captured TCP segments
    long blocks_from_kernel = 0, blocks_from_coronet = 0;      // of them, those with SACK blocks
    std::map<std::string, long> kernel;
    exchange stats;
};

// The exchange through a relay dropping 2% of packets each way, watched.
observed lossy_exchange(const std::vector<std::string>& cat_options) {
    topology t{topology::middle::relay};
    child_process relay({"ip", "netns", "exec", t.ns_mid, bin("apps/coronet-impair"), "--a", t.mid_a, "--b", t.mid_b,
                         "--loss", "2", "--seed", "13"});
    std::this_thread::sleep_for(300ms);
    BOOST_REQUIRE(relay.running());
    temp_file in("sack-in"), pcap("sack-pcap");
    fill_random(in, transfer_mib);
    observed o;
    {
        capture cap(t, pcap);
        o.stats = both_ways(t, in, cat_options);
        cap.stop();
    }
    BOOST_TEST(relay.terminate() == 0);
    BOOST_TEST_MESSAGE("relay: " << relay.output());
    auto all = segments_by_source(pcap.path, "tcp");
    auto blocks = segments_by_source(pcap.path, "tcp.option_kind == 5");  // RFC 2018 3: kind 5, SACK
    o.segments_from_kernel = all[t.peer_ip];
    o.segments_from_coronet = all[t.stack_ip];
    o.blocks_from_kernel = blocks[t.peer_ip];
    o.blocks_from_coronet = blocks[t.stack_ip];
    o.kernel = kernel_counters(t.ns_peer);
    BOOST_TEST_MESSAGE("segments with SACK blocks (of all captured): kernel -> coronet "
                       << o.blocks_from_kernel << " (" << o.segments_from_kernel << "), coronet -> kernel "
                       << o.blocks_from_coronet << " (" << o.segments_from_coronet << ")");
    // The capture saw both directions, so a zero below means no blocks, not no capture.
    BOOST_TEST(o.segments_from_kernel > 0);
    BOOST_TEST(o.segments_from_coronet > 0);
    std::ostringstream k;
    for (const auto& [name, value] : o.kernel)
        if (value != 0 && (name.find("Sack") != std::string::npos || name.find("SACK") != std::string::npos ||
                           name.find("Reno") != std::string::npos || name.find("Lost") != std::string::npos))
            k << name << "=" << value << " ";
    BOOST_TEST_MESSAGE("kernel: " << k.str());
    BOOST_TEST_MESSAGE("coronet sending: " << o.stats.sent_stats);
    BOOST_TEST_MESSAGE("coronet receiving: " << o.stats.received_stats);
    return o;
}

// SACK blocks the kernel processed as a sender: each one either shifts,
// merges or falls back to tagging skbs one by one (tcp_sacktag_walk).
long kernel_sack_blocks_processed(const std::map<std::string, long>& k) {
    auto at = [&](const char* name) { return k.count(name) ? k.at(name) : 0; };
    return at("TcpExtTCPSackShifted") + at("TcpExtTCPSackMerged") + at("TcpExtTCPSackShiftFallback");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sack_kernel)

BOOST_AUTO_TEST_CASE(sack_blocks_flow_both_ways_with_the_kernel_through_a_lossy_relay) {
    const observed o = lossy_exchange({});
    // The capture: both receivers reported holes with SACK blocks.
    BOOST_TEST(o.blocks_from_kernel > 0);
    BOOST_TEST(o.blocks_from_coronet > 0);
    // The kernel, sending to coronet, read coronet's blocks and recovered with them.
    BOOST_TEST(kernel_sack_blocks_processed(o.kernel) > 0);
    BOOST_TEST(o.kernel.count("TcpExtTCPSackRecovery") == 1u);
    BOOST_TEST(o.kernel.at("TcpExtTCPSackRecovery") > 0);
    // coronet, sending, took the kernel's blocks into its scoreboard; receiving, it sent blocks.
    BOOST_TEST(json_field(o.stats.sent_stats, "conn_sacked_bytes") > 0, o.stats.sent_stats);
    BOOST_TEST(json_field(o.stats.sent_stats, "conn_retransmitted_bytes") > 0, o.stats.sent_stats);
    BOOST_TEST(json_field(o.stats.received_stats, "conn_sack_segments_sent") > 0, o.stats.received_stats);
}

// The control: with --no-sack coronet offers no SACK, so the kernel sends
// no blocks either, recovers by duplicate ACKs (Reno), and coronet's
// counters stay at zero. Each check above would fail here.
BOOST_AUTO_TEST_CASE(with_no_sack_no_blocks_flow_and_the_kernel_recovers_without_them) {
    const observed o = lossy_exchange({"--no-sack"});
    BOOST_TEST(o.blocks_from_kernel == 0);
    BOOST_TEST(o.blocks_from_coronet == 0);
    BOOST_TEST(kernel_sack_blocks_processed(o.kernel) == 0);
    BOOST_TEST(o.kernel.count("TcpExtTCPSackRecovery") == 1u);
    BOOST_TEST(o.kernel.at("TcpExtTCPSackRecovery") == 0);
    BOOST_TEST(o.kernel.count("TcpExtTCPRenoRecovery") == 1u);
    BOOST_TEST(o.kernel.at("TcpExtTCPRenoRecovery") > 0);
    BOOST_TEST(json_field(o.stats.sent_stats, "conn_sacked_bytes") == 0, o.stats.sent_stats);
    BOOST_TEST(json_field(o.stats.received_stats, "conn_sack_segments_sent") == 0, o.stats.received_stats);
}

BOOST_AUTO_TEST_SUITE_END()
