// coronet-impair between two kernels: kernel A <-veth-> relay namespace
// <-veth-> kernel B. Pings and a TCP transfer of the kernels cross the relay
// unimpaired, lossy, delayed, reordered, duplicated, corrupted and through a
// congested bottleneck, per packet (super-frames cut) and per frame; the
// relay's counters must account for every frame.
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <map>
#include <regex>
#include <thread>

#include "netns.hpp"

using namespace coronet::test;

namespace {

std::atomic<int> relay_topology_counter{0};

// Three namespaces, cn<pid>-<n>ia / ir / ib (names cleanup.sh recognises):
// kernel A (10.202.0.1/24) and kernel B (10.202.0.2/24) each joined by a veth
// to the relay namespace, whose two ends carry no address. IPv6 is off
// everywhere so that the frames on the wire are only the test's own.
class relay_topology {
public:
    relay_topology() {
        if (::geteuid() != 0)
            BOOST_FAIL("the netns tier needs root (CAP_NET_ADMIN) to create network namespaces; run it as root");
        const std::string id = "cn" + std::to_string(::getpid()) + "-" + std::to_string(relay_topology_counter++);
        ns_a = id + "ia";
        ns_relay = id + "ir";
        ns_b = id + "ib";
        if_a = id + "a0";
        if_relay_a = id + "ra";
        if_relay_b = id + "rb";
        if_b = id + "b0";
        std::string cmd = "set -e";
        for (const auto& ns : {ns_a, ns_relay, ns_b})
            cmd += "; ip netns add " + ns + "; ip netns exec " + ns +
                   " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; ip -n " + ns +
                   " link set lo up";
        cmd += "; ip link add " + if_a + " netns " + ns_a + " type veth peer name " + if_relay_a + " netns " + ns_relay;
        cmd += "; ip link add " + if_b + " netns " + ns_b + " type veth peer name " + if_relay_b + " netns " + ns_relay;
        cmd += "; ip -n " + ns_relay + " link set " + if_relay_a + " up; ip -n " + ns_relay + " link set " +
               if_relay_b + " up";
        cmd += "; ip -n " + ns_a + " addr add " + ip_a + "/24 dev " + if_a + "; ip -n " + ns_a + " link set " + if_a +
               " up";
        cmd += "; ip -n " + ns_b + " addr add " + ip_b + "/24 dev " + if_b + "; ip -n " + ns_b + " link set " + if_b +
               " up";
        std::string out;
        if (sh(cmd, &out) != 0) {
            remove();
            BOOST_FAIL("cannot create the relay test namespaces: " + out);
        }
    }
    ~relay_topology() { remove(); }
    relay_topology(const relay_topology&) = delete;
    relay_topology& operator=(const relay_topology&) = delete;

    std::string ns_a, ns_relay, ns_b, if_a, if_relay_a, if_relay_b, if_b;
    std::string ip_a = "10.202.0.1", ip_b = "10.202.0.2";

    std::string in_a(const std::string& cmd) const { return "ip netns exec " + ns_a + " " + cmd; }
    std::string in_b(const std::string& cmd) const { return "ip netns exec " + ns_b + " " + cmd; }

    // argv of coronet-impair in the relay namespace between the two veths.
    std::vector<std::string> relay_cmd(const std::vector<std::string>& args = {}) const {
        std::vector<std::string> argv{"ip",  "netns",    "exec", ns_relay,  bin("apps/coronet-impair"),
                                      "--a", if_relay_a, "--b",  if_relay_b};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }

    // Permanent neighbour entries on both kernels: no ARP on the wire, so the
    // relay sees only the test's frames and a seed gives the same drops.
    void static_neighbours() const {
        const std::string set = "set -e; ip -n " + ns_a + " neigh replace " + ip_b + " lladdr " + mac(ns_b, if_b) +
                                " dev " + if_a + " nud permanent; ip -n " + ns_b + " neigh replace " + ip_a +
                                " lladdr " + mac(ns_a, if_a) + " dev " + if_b + " nud permanent";
        std::string out;
        BOOST_REQUIRE_MESSAGE(sh(set, &out) == 0, out);
    }

private:
    static std::string mac(const std::string& ns, const std::string& ifname) {
        std::string out;
        sh("ip netns exec " + ns + " cat /sys/class/net/" + ifname + "/address", &out);
        while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
        return out;
    }
    void remove() const {
        for (const auto& ns : {ns_a, ns_relay, ns_b}) sh("ip netns del " + ns + " 2>/dev/null");
    }
};

// A running coronet-impair: started, and ready when the constructor returns.
class relay_process {
public:
    relay_process(const relay_topology& t, const std::vector<std::string>& args) : p_(t.relay_cmd(args)) {
        BOOST_REQUIRE_MESSAGE(p_.wait_for_output("relaying", 5000ms), p_.output());
    }
    // SIGTERM; returns the exit code. The output then holds the counters.
    int stop() { return p_.terminate(); }
    std::string output() const { return p_.output(); }

private:
    child_process p_;
};

using counters = std::map<std::string, long>;

// One direction's counters ("a_to_b" or "b_to_a") from the JSON object.
counters direction_counters(const std::string& output, const std::string& direction) {
    counters c;
    std::smatch m;
    if (!std::regex_search(output, m, std::regex("\"" + direction + "\":\\{([^}]*)\\}"))) return c;
    const std::string body = m[1];
    const std::regex field("\"(\\w+)\":(\\d+)");
    for (auto it = std::sregex_iterator(body.begin(), body.end(), field); it != std::sregex_iterator(); ++it)
        c[(*it)[1]] = std::stol((*it)[2]);
    return c;
}

// Every frame in is accounted for once (a super-frame cut into segments as
// those segments), and so is every copy made.
void check_balance(const counters& c, const std::string& direction) {
    BOOST_TEST_CONTEXT(direction) {
        BOOST_TEST(c.at("received") - c.at("segmented") + c.at("segments") + c.at("duplicated") ==
                   c.at("forwarded") + c.at("dropped") + c.at("police_drops") + c.at("queue_drops") +
                       c.at("pool_drops") + c.at("unsupported") + c.at("held"));
        BOOST_TEST(c.at("pool_drops") == 0);
        BOOST_TEST(c.at("unsupported") == 0);
        BOOST_TEST(c.at("rx_kernel_drops") == 0);
        // How far behind its schedule the relay fell (a figure, never asserted: timing).
        BOOST_TEST(c.at("late_1ms") <= c.at("forwarded"));
        BOOST_TEST(c.count("max_late_us") == 1u);
    }
}

long ping_received(const std::string& out) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("(\\d+) received"))) return -1;
    return std::stol(m[1]);
}

// min and avg of ping(8)'s "rtt min/avg/max/mdev = a/b/c/d ms"; -1 when absent.
std::pair<double, double> ping_rtt(const std::string& out) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("= ([\\d.]+)/([\\d.]+)/([\\d.]+)/"))) return {-1, -1};
    return {std::stod(m[1]), std::stod(m[2])};
}

// The sum of the named kernel counters (nstat) in a namespace.
long kernel_counter_sum(const std::string& ns, const std::string& names) {
    std::string out;
    sh("ip netns exec " + ns + " nstat -asz " + names, &out);
    long sum = 0;
    const std::regex line("(\\w+)\\s+(\\d+)");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator(); ++it)
        sum += std::stol((*it)[2]);
    return sum;
}

// 20 MiB of random bytes from kernel A to kernel B's socat through a relay
// started with relay_args; checks the SHA-256 on both sides and returns
// the relay's output.
std::string transfer_20_mib(const relay_topology& t, const std::vector<std::string>& relay_args) {
    const std::string file = "/tmp/" + t.ns_a + ".bin";
    std::string sent;
    BOOST_REQUIRE(sh("head -c 20M /dev/urandom > " + file + " && sha256sum < " + file, &sent) == 0);
    sent = sent.substr(0, 64);

    relay_process relay(t, relay_args);
    child_process sink({"ip", "netns", "exec", t.ns_b, "sh", "-c",
                        "timeout 60 socat -u TCP-LISTEN:5001,reuseaddr STDOUT | sha256sum"});
    bool listening = false;
    for (int i = 0; i < 100 && !listening; ++i) {  // up to 5 s
        listening = sh(t.in_b("ss -Hltn 'sport = :5001'") + " | grep -q 5001") == 0;
        if (!listening) std::this_thread::sleep_for(50ms);
    }
    BOOST_REQUIRE_MESSAGE(listening, "socat in B is not listening: " + sink.output());

    std::string out;
    const int rc = sh(t.in_a("timeout 60 socat -u FILE:" + file + " TCP:" + t.ip_b + ":5001"), &out);
    ::unlink(file.c_str());
    BOOST_TEST(rc == 0, "sender: " << out);
    BOOST_TEST(sink.wait(70000ms) == 0);
    BOOST_TEST_MESSAGE("sent " << sent << ", received " << sink.output());
    BOOST_TEST(sink.output().substr(0, 64) == sent);
    BOOST_TEST(relay.stop() == 0);
    return relay.output();
}

// The relay's a_to_b counters of a 20 MiB transfer through it with
// relay_args; both directions' counters are checked to balance.
counters balanced_transfer_there(const relay_topology& t, const std::vector<std::string>& relay_args) {
    const std::string output = transfer_20_mib(t, relay_args);
    BOOST_TEST_MESSAGE(output);
    const auto there = direction_counters(output, "a_to_b");
    const auto back = direction_counters(output, "b_to_a");
    BOOST_TEST_REQUIRE(!there.empty());
    BOOST_TEST_REQUIRE(!back.empty());
    check_balance(there, "a_to_b");
    check_balance(back, "b_to_a");
    return there;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(impair)

BOOST_AUTO_TEST_CASE(kernel_ping_through_an_unimpaired_relay_gets_50_replies) {
    relay_topology t;
    relay_process relay(t, {});
    std::string out;
    const int rc = sh(t.in_a("timeout 30 ping -c 50 -i 0.02 -W 2 " + t.ip_b), &out);
    BOOST_TEST_MESSAGE(out);
    BOOST_TEST(rc == 0);
    BOOST_TEST(ping_received(out) == 50);
    BOOST_TEST(relay.stop() == 0);
    const auto there = direction_counters(relay.output(), "a_to_b");
    const auto back = direction_counters(relay.output(), "b_to_a");
    BOOST_TEST_MESSAGE(relay.output());
    BOOST_REQUIRE(!there.empty());
    BOOST_REQUIRE(!back.empty());
    check_balance(there, "a_to_b");
    check_balance(back, "b_to_a");
    BOOST_TEST(there.at("forwarded") >= 50);  // the requests, and ARP
    BOOST_TEST(back.at("forwarded") >= 50);
    BOOST_TEST(there.at("dropped") + back.at("dropped") == 0);
}

BOOST_AUTO_TEST_CASE(twenty_percent_loss_loses_pings_and_the_relay_counts_each_drop) {
    relay_topology t;
    t.static_neighbours();  // only ICMP crosses: one drop per lost ping
    relay_process relay(t, {"--loss", "20", "--seed", "1"});
    std::string out;
    sh(t.in_a("timeout 30 ping -c 50 -i 0.02 -W 2 " + t.ip_b), &out);
    BOOST_TEST_MESSAGE(out);
    const long received = ping_received(out);
    BOOST_TEST(received >= 20);
    BOOST_TEST(received <= 48);
    BOOST_TEST(relay.stop() == 0);
    BOOST_TEST_MESSAGE(relay.output());
    const auto there = direction_counters(relay.output(), "a_to_b");
    const auto back = direction_counters(relay.output(), "b_to_a");
    BOOST_REQUIRE(!there.empty());
    BOOST_REQUIRE(!back.empty());
    check_balance(there, "a_to_b");
    check_balance(back, "b_to_a");
    // 50 requests reached the relay; those it forwarded were answered; a ping
    // was lost exactly when its request or its reply was dropped.
    BOOST_TEST(there.at("received") == 50);
    BOOST_TEST(back.at("received") == there.at("forwarded"));
    BOOST_TEST(back.at("forwarded") == received);
    BOOST_TEST(there.at("dropped") + back.at("dropped") == 50 - received);
    BOOST_TEST(there.at("dropped") > 0);
    BOOST_TEST(back.at("dropped") > 0);
}

BOOST_AUTO_TEST_CASE(fifty_ms_delay_each_way_makes_every_rtt_at_least_100_ms) {
    relay_topology t;
    relay_process relay(t, {"--delay", "50"});
    std::string out;
    const int rc = sh(t.in_a("timeout 30 ping -c 10 -i 0.05 -W 2 " + t.ip_b), &out);
    BOOST_TEST_MESSAGE(out);
    BOOST_TEST(rc == 0);
    BOOST_TEST(ping_received(out) == 10);
    const auto [min, avg] = ping_rtt(out);
    BOOST_TEST(min >= 100.0);
    BOOST_TEST(avg >= 100.0);
    BOOST_TEST(relay.stop() == 0);
    check_balance(direction_counters(relay.output(), "a_to_b"), "a_to_b");
    check_balance(direction_counters(relay.output(), "b_to_a"), "b_to_a");
}

BOOST_AUTO_TEST_CASE(kernel_tcp_transfer_through_per_packet_loss_is_byte_exact_and_super_frames_are_cut) {
    relay_topology t;
    const auto there = balanced_transfer_there(t, {"--loss", "1", "--delay", "1", "--seed", "5"});
    // Kernel A's TCP sends TSO super-frames; the relay cut each into
    // MSS-sized packets, and the loss met those one by one.
    BOOST_TEST(there.at("segmented") > 0);
    BOOST_TEST(there.at("segments") > there.at("segmented"));
    BOOST_TEST(there.at("gso_frames") == 0);  // none passed on whole
    BOOST_TEST(there.at("dropped") > 0);
    BOOST_TEST(there.at("tx_errors") == 0);
}

BOOST_AUTO_TEST_CASE(kernel_tcp_transfer_through_a_small_bottleneck_queue_meets_tail_drops) {
    relay_topology t;
    // 100 Mbit/s behind 30 KiB (about 20 packets): a TSO burst alone overflows it.
    const auto there = balanced_transfer_there(t, {"--rate", "100", "--queue", "30k", "--delay", "2"});
    BOOST_TEST(there.at("queue_drops") > 0);
    BOOST_TEST(there.at("dropped") == 0);
}

BOOST_AUTO_TEST_CASE(kernel_tcp_transfer_through_a_policer_is_byte_exact_and_meets_police_drops) {
    relay_topology t;
    // 50 Mbit/s with a 32 KiB bucket: the kernel's slow start on veth soon
    // sends faster than that, and the excess is dropped, not queued.
    const auto there = balanced_transfer_there(t, {"--police", "50:32k", "--delay", "2"});
    BOOST_TEST(there.at("police_drops") > 0);
    BOOST_TEST(there.at("queue_drops") == 0);
    BOOST_TEST(there.at("dropped") == 0);
}

BOOST_AUTO_TEST_CASE(kernel_tcp_transfer_survives_reordering_duplication_and_delay_per_frame_with_offloads_on) {
    relay_topology t;
    const auto there = balanced_transfer_there(
        t, {"--per-frame", "--reorder", "5", "--duplicate", "2", "--delay", "1", "--seed", "7"});
    BOOST_TEST(there.at("reordered") > 0);
    BOOST_TEST(there.at("duplicated") > 0);
    BOOST_TEST(there.at("tx_errors") == 0);
    // Kernel A's TCP sends TSO super-frames with checksums left to offload;
    // with --per-frame they crossed the relay whole, with their offload requests.
    BOOST_TEST(there.at("gso_frames") > 0);
    BOOST_TEST(there.at("partial_checksums") > 0);
    BOOST_TEST(there.at("segmented") == 0);
}

BOOST_AUTO_TEST_CASE(corrupted_frames_are_caught_by_the_receivers_checksums) {
    relay_topology t;
    const std::string checksum_errors = "TcpInCsumErrors IpExtInCsumErrors IcmpInCsumErrors UdpInCsumErrors";
    const std::string output = transfer_20_mib(t, {"--corrupt", "3", "--seed", "3"});
    BOOST_TEST_MESSAGE(output);
    const auto there = direction_counters(output, "a_to_b");
    const auto back = direction_counters(output, "b_to_a");
    BOOST_REQUIRE(!there.empty());
    BOOST_REQUIRE(!back.empty());
    const long corrupted = there.at("corrupted") + back.at("corrupted");
    const long caught = kernel_counter_sum(t.ns_a, checksum_errors) + kernel_counter_sum(t.ns_b, checksum_errors);
    BOOST_TEST_MESSAGE("corrupted " << corrupted << ", caught by kernel checksums " << caught);
    BOOST_TEST(corrupted > 0);
    // A damaged header field (version, length) is refused before the checksum
    // or by the relay's own send; most damage must meet a checksum.
    BOOST_TEST(caught * 2 >= corrupted);
}

BOOST_AUTO_TEST_CASE(impair_help_documents_every_option_and_exits_0) {
    std::string out;
    BOOST_TEST(sh(bin("apps/coronet-impair") + " --help", &out) == 0);
    for (const char* opt : {"--a", "--b", "--loss", "--duplicate", "--reorder", "--delay", "--corrupt", "--rate",
                            "--seed", "--log-level", "--queue", "--police", "--pool", "--per-frame", "Exit status"})
        BOOST_TEST(out.find(opt) != std::string::npos, opt);
}

BOOST_AUTO_TEST_CASE(impair_usage_errors_exit_2_with_a_message) {
    const std::string impair = bin("apps/coronet-impair");
    struct {
        std::string args, message;
    } cases[] = {
        {"--a x0 --b y0 --loss 150", "--loss must be a percentage"},
        {"--a x0", "--b is required"},
        {"--b y0", "--a is required"},
        {"--a x0 --b y0 --bogus", "unrecognised option"},
        {"--a x0 --b x0", "must be different"},
        {"--a x0 --b y0 --duplicate -1", "--duplicate must be a percentage"},
        {"--a x0 --b y0 --delay 10:abc", "--delay jitter"},
        {"--a x0 --b y0 --rate -5", "--rate"},
        {"--a x0 --b y0 --queue 100", "--queue needs --rate"},
        {"--a x0 --b y0 --rate 100 --queue 10q", "neither packets"},
        {"--a x0 --b y0 --rate 100 --queue 0", "--queue must be from 1"},
        {"--a x0 --b y0 --rate 100 --queue 1000b", "one full frame"},
        {"--a x0 --b y0 --police 0", "--police: the rate must be above 0"},
        {"--a x0 --b y0 --police fast", "--police: 'fast' is not a number"},
        {"--a x0 --b y0 --police 10:lots", "is not a size in bytes"},
        {"--a x0 --b y0 --police 10:1000", "one full frame"},
        {"--a x0 --b y0 --per-frame --police 10", "the largest super-frame"},
        {"--a x0 --b y0 --pool 1", "--pool must be"},
        {"--a x0 --b y0 --seed banana", "--seed"},
        {"--a x0 --b y0 --loss 3 extra", "positional"},
        {"--a no-such-if0 --b no-such-if1", "no-such-if0"},
    };
    for (const auto& c : cases) {
        std::string out;
        const int rc = sh(impair + " " + c.args, &out);
        BOOST_TEST(rc == 2, c.args);
        BOOST_TEST(out.find(c.message) != std::string::npos, c.args << " -> " << out);
    }
}

BOOST_AUTO_TEST_SUITE_END()
