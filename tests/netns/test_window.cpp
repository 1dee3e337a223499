// A kernel receiver's window behind a 20 ms path: coronet-cat sends 32 MiB
// to socat through coronet-impair --delay 10 while tcpdump in the peer's
// namespace records the kernel's ACKs. coronet's buffer is 4 MiB, so that
// the receiver, not the sender, limits the window. The window the kernel offers must grow
// far past the ~58 KB it could stay at for seconds when coronet sent each
// window as one 64 KiB frame (issue 13; tcb::frame_segments_for_rate).
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <thread>

#include "netns.hpp"

using namespace coronet::test;

namespace {

// The largest window (bytes, scaled) in the ACKs from `from` in a pcap file;
// -1 when none. Lines that are not a number (tshark's warnings) are skipped.
long largest_window(const std::string& pcap, const std::string& from) {
    std::string out;
    const std::string filter = "'ip.src==" + from + " && tcp.flags.syn==0'";
    if (sh("tshark -r " + pcap + " -Y " + filter + " -T fields -e tcp.window_size", &out) != 0) return -1;
    long most = -1;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
        if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos)
            most = std::max(most, std::stol(line));
    return most;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_window)

BOOST_AUTO_TEST_CASE(a_kernel_receivers_window_grows_past_512_kib_on_a_20_ms_path) {
    topology t{topology::middle::relay};
    child_process relay(
        {"ip", "netns", "exec", t.ns_mid, bin("apps/coronet-impair"), "--a", t.mid_a, "--b", t.mid_b, "--delay", "10"});
    std::this_thread::sleep_for(300ms);
    BOOST_REQUIRE(relay.running());
    temp_file in("in"), out("out"), pcap("acks.pcap");
    fill_random(in, 32);
    // --immediate-mode: libpcap otherwise holds packets until a buffer
    // timeout, and what was held when the capture stops can be lost.
    child_process capture({"ip", "netns", "exec", t.ns_peer, "tcpdump", "-i", t.if_peer, "--immediate-mode", "-s", "96",
                           "-U", "-w", pcap.path, "tcp and src host " + t.peer_ip});
    BOOST_REQUIRE(capture.wait_for_output("listening on", 5000ms));
    child_process server(
        {"ip", "netns", "exec", t.ns_peer, "socat", "-u", "TCP-LISTEN:5005,reuseaddr", "CREATE:" + out.path});
    BOOST_REQUIRE(wait_listening(t.ns_peer, 5005));
    child_process cat(t.stack_cmd("apps/coronet-cat", {"--stats", "--tcp-buffer", "4M", t.peer_ip, "5005"}), in.path);
    BOOST_TEST(cat.wait(120000ms) == 0, cat.output());
    BOOST_TEST(server.wait(20000ms) == 0);
    BOOST_TEST(sha256(out.path) == sha256(in.path));
    capture.terminate();
    const long window = largest_window(pcap.path, t.peer_ip);
    const std::string counters = cat.output();
    BOOST_TEST_MESSAGE("largest window " << window << " bytes; " << json_field(counters, "dev_tx_frames")
                                         << " frames sent, " << json_field(counters, "conn_retransmits")
                                         << " retransmitted");
    BOOST_TEST(window > 512 * 1024);
    BOOST_TEST(relay.terminate() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
