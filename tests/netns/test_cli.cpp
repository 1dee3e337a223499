// Command-line behaviour of the apps: --help, usage errors, start-up errors.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <coronet/version.hpp>
#include <thread>

#include "netns.hpp"

using namespace coronet::test;

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(ping_help_documents_the_options_and_exits_0) {
    std::string out;
    BOOST_TEST(sh(bin("apps/coronet-ping") + " --help", &out) == 0);
    for (const char* opt : {"--iface", "--ip", "--gateway", "--mac", "--mtu", "--log-level", "--pcap", "--count",
                            "--interval", "HOST", "Exit status"})
        BOOST_TEST(out.find(opt) != std::string::npos, opt);
}

BOOST_AUTO_TEST_CASE(ping_usage_errors_exit_2_with_a_message) {
    const std::string ping = bin("apps/coronet-ping");
    struct {
        std::string args, message;
    } cases[] = {
        {"--bogus", "unrecognised option"},
        {"--ip 10.0.0.2/24 10.0.0.1", "--iface is required"},
        {"--iface lo 10.0.0.1", "--ip is required"},
        {"--iface lo --ip 10.0.0.2/33 10.0.0.1", "prefix length"},
        {"--iface lo --ip nonsense 10.0.0.1", "not an IPv4 address"},
        {"--iface lo --ip 10.0.0.2 10.0.0.1", "--ip '10.0.0.2' has no prefix length: write A.B.C.D/N"},
        {"--iface lo --ip 10.0.0.2/24", "missing HOST"},
        {"--iface lo --ip 10.0.0.2/24 -c abc 10.0.0.1", "invalid"},
        {"--iface lo --ip 10.0.0.2/24 --log-level loud 10.0.0.1", "--log-level"},
        {"--iface no-such-if0 --ip 10.0.0.2/24 -c 1 10.0.0.1", "no-such-if0"},
    };
    for (const auto& c : cases) {
        std::string out;
        const int rc = sh(ping + " " + c.args, &out);
        BOOST_TEST(rc == 2, c.args);
        BOOST_TEST(out.find(c.message) != std::string::npos, c.args << " -> " << out);
    }
}

BOOST_AUTO_TEST_CASE(every_program_prints_its_version) {
    for (const std::string name : {"cat", "ping", "proxy", "bench", "impair", "asio-echo", "beast-files"}) {
        std::string out;
        BOOST_TEST(sh(bin("apps/coronet-" + name) + " --version", &out) == 0, name);
        BOOST_TEST(out == "coronet-" + name + " " + coronet::version + "\n", name << ": " << out);
    }
    std::string out;  // and --help says so
    BOOST_TEST(sh(bin("apps/coronet-bench") + " --help", &out) == 0);
    BOOST_TEST(out.find("--version") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bench_wants_a_prefix_length_too) {
    std::string out;
    const int rc = sh(bin("apps/coronet-bench") + " server --listen 5201 --iface lo --ip 10.0.0.2", &out);
    BOOST_TEST(rc == 2);
    BOOST_TEST(out.find("--ip '10.0.0.2' has no prefix length") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(neighbor_entries_are_checked) {
    const std::string base = bin("apps/coronet-bench") + " server --listen 5201 --iface lo --ip 10.0.0.2/24 ";
    std::string out;
    for (const char* bad : {"10.0.0.1", "10.0.0.1=zz", "10.0.0.300=02:00:00:00:00:01", "=02:00:00:00:00:01"}) {
        BOOST_TEST(sh(base + "--neighbor " + bad, &out) == 2, bad);
        BOOST_TEST(out.find("--neighbor: '" + std::string(bad) + "' is not A.B.C.D=MAC") != std::string::npos,
                   bad << " -> " << out);
    }
}

BOOST_AUTO_TEST_CASE(tcp_options_are_documented_and_checked) {
    const std::string proxy = bin("apps/coronet-proxy");
    std::string out;
    BOOST_TEST(sh(proxy + " --help", &out) == 0);
    for (const char* opt : {"--tcp-buffer", "--tcp-buffer-max", "--tcp-memory-limit", "--tcp-max-connections",
                            "--keepalive", "--no-syn-cookies", "--no-sack", "--tcp-cc", "--tcp-pacing"})
        BOOST_TEST(out.find(opt) != std::string::npos, opt);
    const std::string base = proxy + " --iface no-such-if0 --ip 10.0.0.2/24 --listen 80 --upstream 10.0.0.1:80 ";
    struct {
        std::string args, message;
    } cases[] = {
        {"--tcp-buffer 12X", "--tcp-buffer: '12X' is not a size"},
        {"--tcp-buffer 0", "is not a size"},
        {"--tcp-memory-limit -5", "is not a size"},
        {"--tcp-buffer-max 6Q", "--tcp-buffer-max: '6Q' is not a size"},
        {"--tcp-buffer 64K --tcp-buffer-max 8M", "auto-tuning is off"},
        {"--tcp-max-connections lots", "invalid"},
        {"--keepalive 0", "at least 1 second"},
        {"--tcp-buffer 64K --tcp-memory-limit 1G --keepalive 30", "no-such-if0"},  // all accepted: the interface fails
        {"--tcp-buffer-max 16M", "no-such-if0"},
        {"--no-sack=1", "'--no-sack' does not take any arguments"},
        {"--no-sack --no-syn-cookies", "no-such-if0"},
        {"--tcp-cc vegas", "--tcp-cc: 'vegas' is not a congestion control (coronet has newreno"},
        {"--tcp-pacing sometimes", "--tcp-pacing: 'sometimes' is not controller, slow-start, all or off"},
        {"--tcp-cc reno --tcp-pacing all", "no-such-if0"},
        {"--tcp-cc cubic --tcp-pacing slow-start", "no-such-if0"},
    };
    for (const auto& c : cases) {
        const int rc = sh(base + c.args, &out);
        BOOST_TEST(rc == 2, c.args);
        BOOST_TEST(out.find(c.message) != std::string::npos, c.args << " -> " << out);
    }
}

BOOST_AUTO_TEST_CASE(cat_help_and_usage_errors) {
    const std::string cat = bin("apps/coronet-cat");
    std::string out;
    BOOST_TEST(sh(cat + " --help", &out) == 0);
    for (const char* opt : {"--listen", "--connect-timeout", "--no-delay", "--iface", "--pcap", "--rx-path",
                            "--rx-ring-slots", "HOST PORT"})
        BOOST_TEST(out.find(opt) != std::string::npos, opt);
    struct {
        std::string args, message;
    } cases[] = {
        {"--iface lo --ip 10.0.0.2/24", "give HOST PORT"},
        {"--iface lo --ip 10.0.0.2/24 10.0.0.1", "give HOST PORT"},
        {"--iface lo --ip 10.0.0.2/24 10.0.0.1 99999", "PORT: '99999' is not a port (1-65535)"},
        {"--iface lo --ip 10.0.0.2/24 --rx-path mmap 10.0.0.1 80", "--rx-path: 'multishot' or 'ring', not 'mmap'"},
        {"--iface lo --ip 10.0.0.2/24 --rx-ring-slots 0 10.0.0.1 80", "--rx-ring-slots: from 1 to 16384"},
        {"--iface lo --ip 10.0.0.2/24 --rx-ring-slots 20000 10.0.0.1 80", "--rx-ring-slots: from 1 to 16384"},
        {"--iface lo --ip 10.0.0.2/24 host.example 80", "not an IPv4 address"},
        {"--iface lo --ip 10.0.0.2/24 --listen 0", "--listen: '0' is not a port (1-65535)"},
        {"--iface lo --ip 10.0.0.2/24 --listen 80 10.0.0.1 80", "--listen takes no HOST PORT"},
        {"--iface lo --ip 10.0.0.2/24 --connect-timeout -1 10.0.0.1 80", "--connect-timeout"},
    };
    for (const auto& c : cases) {
        const int rc = sh(cat + " " + c.args, &out);
        BOOST_TEST(rc == 2, c.args);
        BOOST_TEST(out.find(c.message) != std::string::npos, c.args << " -> " << out);
    }
}

// Every program that opens an interface refuses a bad start with one line
// naming the cause and exit status 2, or, for a destination it cannot reach,
// exit status 1.
namespace {

struct program_case {
    std::string program, args;  // args after --iface/--ip
};
const program_case every_program[] = {
    {"apps/coronet-cat", "10.201.0.1 7000"},
    {"apps/coronet-ping", "-c 1 10.201.0.1"},
    {"apps/coronet-proxy", "--listen 8080 --upstream 10.201.0.1:80"},
    {"apps/coronet-asio-echo", "--listen 7000"},
    {"apps/coronet-bench", "server --listen 5201"},
    {"apps/coronet-beast-files", "--listen 8080 --root /tmp"},
};

// Runs command and checks its exit status and that it printed one line
// holding `expected` (a usage error adds the customary "Try '... --help'.").
void expect_one_line(const std::string& command, int status, const std::string& expected) {
    std::string out;
    BOOST_TEST(sh(command, &out) == status, command << " -> " << out);
    BOOST_TEST(out.find(expected) != std::string::npos, command << " -> " << out);
    const auto hint = out.find("\nTry '");
    const std::string error = hint == std::string::npos ? out : out.substr(0, hint + 1);
    BOOST_TEST(std::count(error.begin(), error.end(), '\n') == 1, command << " printed more than one line: " << out);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_program_refuses_a_bad_start_with_one_line_and_status_2) {
    topology t;
    const std::string in_stack = "ip netns exec " + t.ns_stack + " ";
    const std::string iface = " --iface " + t.if_stack;
    const std::string ip = " --ip " + t.stack_ip + "/24 ";
    for (const auto& p : every_program) {
        const std::string name = p.program.substr(p.program.rfind('/') + 1) + ": ";
        const std::string program = bin(p.program) + (p.program.ends_with("bench") ? " server" : "");
        const std::string args = p.program.ends_with("bench") ? " --listen 5201" : " " + p.args;
        expect_one_line(in_stack + program + " --iface no-such-if0" + ip + args, 2, name);
        expect_one_line(in_stack + program + " --iface no-such-if0" + ip + args, 2, "no-such-if0");
        expect_one_line(in_stack + program + iface + " --ip 10.201.0.300/24" + args, 2,
                        name + "--ip: '10.201.0.300/24' is not an IPv4 address");
        expect_one_line(in_stack + program + iface + " --ip 10.201.0.2" + args, 2,
                        name + "--ip '10.201.0.2' has no prefix length");
        expect_one_line(in_stack + "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " + program +
                            iface + ip + args,
                        2, name + "AF_PACKET socket (needs CAP_NET_RAW): Operation not permitted");
        BOOST_REQUIRE(sh("ip -n " + t.ns_stack + " link set " + t.if_stack + " down") == 0);
        expect_one_line(in_stack + program + iface + ip + args, 2,
                        name + "interface " + t.if_stack + " is down (ip link set " + t.if_stack + " up)");
        BOOST_REQUIRE(sh("ip -n " + t.ns_stack + " link set " + t.if_stack + " up") == 0);
    }
}

BOOST_AUTO_TEST_CASE(an_unreachable_destination_is_one_line_and_status_1) {
    topology t;
    const std::string in_stack = "ip netns exec " + t.ns_stack + " ";
    const std::string stack = " --iface " + t.if_stack + " --ip " + t.stack_ip + "/24 ";
    // Off the subnet with no gateway: at once.
    expect_one_line(in_stack + bin("apps/coronet-cat") + stack + "192.0.2.1 80", 1, "coronet-cat: network unreachable");
    // On the subnet, nobody answering ARP: after the three requests.
    expect_one_line(in_stack + bin("apps/coronet-cat") + stack + "10.201.0.77 80", 1, "coronet-cat: no route to host");
}

// A port out of range reads the same in every program that takes one.
BOOST_AUTO_TEST_CASE(port_errors_read_the_same_in_every_program) {
    const std::string common = " --iface lo --ip 10.0.0.2/24 ";
    struct {
        std::string command, message;
    } cases[] = {
        {"apps/coronet-cat" + common + "--listen 0", "coronet-cat: --listen: '0' is not a port (1-65535)"},
        {"apps/coronet-cat" + common + "--listen 70000", "coronet-cat: --listen: '70000' is not a port (1-65535)"},
        {"apps/coronet-cat" + common + "10.0.0.1 70000", "coronet-cat: PORT: '70000' is not a port (1-65535)"},
        {"apps/coronet-asio-echo" + common + "--listen 0", "coronet-asio-echo: --listen: '0' is not a port (1-65535)"},
        {"apps/coronet-beast-files" + common + "--root /tmp --listen 70000",
         "coronet-beast-files: --listen: '70000' is not a port (1-65535)"},
        {"apps/coronet-proxy" + common + "--listen 70000 --upstream 10.0.0.1:80",
         "coronet-proxy: --listen: '70000' is not a port (1-65535)"},
        {"apps/coronet-proxy" + common + "--listen 80 --upstream 10.0.0.1:0",
         "coronet-proxy: --upstream: '10.0.0.1:0' is not A.B.C.D:PORT (port 1-65535)"},
        {"apps/coronet-proxy" + common + "--listen 80 --upstream 10.0.0.1:80 --metrics 127.0.0.1:70000",
         "coronet-proxy: --metrics: '127.0.0.1:70000' is not A.B.C.D:PORT (port 1-65535)"},
        {"apps/coronet-bench server" + common + "--listen 70000",
         "coronet-bench: --listen: '70000' is not a port (1-65535)"},
        {"apps/coronet-bench client --mode rr --connect 10.0.0.1:0" + common,
         "coronet-bench: --connect: '10.0.0.1:0' is not A.B.C.D:PORT (port 1-65535)"},
    };
    for (const auto& c : cases) {
        std::string out;
        BOOST_TEST(sh(bin(c.command), &out) == 2, c.command);
        BOOST_TEST(out.find(c.message) != std::string::npos, c.command << " -> " << out);
    }
}

BOOST_AUTO_TEST_CASE(kernel_address_in_the_stack_subnet_draws_a_warning) {
    topology t;
    BOOST_REQUIRE(sh("ip -n " + t.ns_stack + " addr add 10.201.0.50/24 dev " + t.if_stack) == 0);
    child_process ping(t.stack_cmd("apps/coronet-ping", {"-c", "1", t.peer_ip}));
    ping.wait(20000ms);
    BOOST_TEST_MESSAGE(ping.output());
    BOOST_TEST(ping.output().find("has kernel address 10.201.0.50/24 in the stack's subnet") != std::string::npos);
}

// One stack per interface and address (RFC 5227 and the claim among coronet
// stacks): a second coronet on the same address refuses to start, and the
// first keeps working.
BOOST_AUTO_TEST_CASE(a_second_stack_on_the_same_interface_and_address_refuses_to_start) {
    topology t;
    child_process first(t.stack_cmd("apps/coronet-cat", {"--log-level", "info", "--listen", "7000"}));
    BOOST_REQUIRE_MESSAGE(first.wait_for_output("coronet on", 10000ms), first.output());
    child_process second(t.stack_cmd("apps/coronet-cat", {"--listen", "7001"}));
    BOOST_TEST(second.wait(10000ms) == 2);
    const std::string expected = t.stack_ip + " on " + t.if_stack +
                                 " is already used by another coronet stack (process " + std::to_string(first.pid()) +
                                 ")";
    BOOST_TEST(second.output().find(expected) != std::string::npos, second.output());
    BOOST_TEST(sh(t.in_peer("sh -c 'echo still-here | socat -t 5 - TCP:" + t.stack_ip + ":7000'")) == 0);
    BOOST_TEST(first.wait_for_output("still-here", 10000ms), first.output());
}

BOOST_AUTO_TEST_CASE(an_address_a_host_on_the_link_answers_for_is_refused) {
    topology t;
    std::string peer_mac;
    BOOST_REQUIRE(sh(t.in_peer("cat /sys/class/net/" + t.if_peer + "/address"), &peer_mac) == 0);
    peer_mac.erase(peer_mac.find_last_not_of("\n") + 1);
    child_process cat({"ip", "netns", "exec", t.ns_stack, bin("apps/coronet-cat"), "--iface", t.if_stack, "--ip",
                       t.peer_ip + "/24", "--listen", "7000"});
    BOOST_TEST(cat.wait(10000ms) == 2);
    const std::string expected = "coronet-cat: " + t.peer_ip + " on " + t.if_stack + " is already used by " + peer_mac +
                                 " (it answered our ARP probe)";
    BOOST_TEST(cat.output().find(expected) != std::string::npos, cat.output());
    // Without probes the address is taken unchecked.
    child_process unchecked({"ip", "netns", "exec", t.ns_stack, bin("apps/coronet-cat"), "--log-level", "info",
                             "--conflict-probes", "0", "--iface", t.if_stack, "--ip", t.peer_ip + "/24", "--listen",
                             "7000"});
    BOOST_TEST(unchecked.wait_for_output("coronet on", 10000ms), unchecked.output());
}

BOOST_AUTO_TEST_CASE(a_claim_on_the_address_in_use_is_defended_and_counted) {
    topology t;
    child_process cat(t.stack_cmd("apps/coronet-cat", {"--log-level", "info", "--stats", "--listen", "7000"}));
    BOOST_REQUIRE_MESSAGE(cat.wait_for_output("coronet on", 10000ms), cat.output());
    BOOST_REQUIRE(sh(t.in_peer("ping -c 1 -W 5 " + t.stack_ip)) == 0);  // the peer has a neighbour entry now
    const std::string rival = "02:00:00:00:00:66";
    // A gratuitous ARP from another MAC claiming the stack's address: the
    // peer's kernel takes it, until the stack's defence puts its MAC back.
    BOOST_REQUIRE(
        sh(t.in_peer("/usr/bin/python3 -c \"from scapy.all import Ether, ARP, sendp; sendp(Ether(src='" + rival +
                     "', dst='ff:ff:ff:ff:ff:ff') / ARP(op=1, hwsrc='" + rival + "', psrc='" + t.stack_ip +
                     "', pdst='" + t.stack_ip + "'), iface='" + t.if_peer + "', verbose=0)\"")) == 0);
    BOOST_TEST(cat.wait_for_output("is also claimed by " + rival + "; defended", 10000ms), cat.output());
    std::string neigh;
    for (int i = 0; i < 40; ++i) {
        sh("ip -n " + t.ns_peer + " neigh show " + t.stack_ip, &neigh);
        if (neigh.find(t.stack_mac()) != std::string::npos) break;
        std::this_thread::sleep_for(50ms);
    }
    BOOST_TEST(neigh.find(t.stack_mac()) != std::string::npos, "the peer's neighbour entry: " << neigh);
    BOOST_TEST(sh(t.in_peer("sh -c 'echo after-the-claim | socat -t 5 - TCP:" + t.stack_ip + ":7000'")) == 0);
    BOOST_TEST(cat.wait(20000ms) == 0);
    const std::string out = cat.output();
    BOOST_TEST(out.find("after-the-claim") != std::string::npos, out);
    BOOST_TEST(json_field(out, "arp_conflicts") == 1);
    BOOST_TEST(json_field(out, "address_defences") == 1);
    BOOST_TEST(json_field(out, "address_probes_sent") == 3);
}

BOOST_AUTO_TEST_SUITE_END()
