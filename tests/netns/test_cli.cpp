// Command-line behaviour of the apps: --help, usage errors, start-up errors.
#include <boost/test/unit_test.hpp>
#include <coronet/version.hpp>

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
    for (const std::string name : {"cat", "ping", "proxy", "bench", "impair", "asio-echo"}) {
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

BOOST_AUTO_TEST_CASE(tcp_options_are_documented_and_checked) {
    const std::string proxy = bin("apps/coronet-proxy");
    std::string out;
    BOOST_TEST(sh(proxy + " --help", &out) == 0);
    for (const char* opt : {"--tcp-buffer", "--tcp-buffer-max", "--tcp-memory-limit", "--tcp-max-connections",
                            "--keepalive", "--no-syn-cookies", "--no-sack"})
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
    for (const char* opt : {"--listen", "--connect-timeout", "--no-delay", "--iface", "--pcap", "HOST PORT"})
        BOOST_TEST(out.find(opt) != std::string::npos, opt);
    struct {
        std::string args, message;
    } cases[] = {
        {"--iface lo --ip 10.0.0.2/24", "give HOST PORT"},
        {"--iface lo --ip 10.0.0.2/24 10.0.0.1", "give HOST PORT"},
        {"--iface lo --ip 10.0.0.2/24 10.0.0.1 99999", "invalid"},
        {"--iface lo --ip 10.0.0.2/24 host.example 80", "not an IPv4 address"},
        {"--iface lo --ip 10.0.0.2/24 --listen 0", "--listen needs a port"},
        {"--iface lo --ip 10.0.0.2/24 --listen 80 10.0.0.1 80", "--listen takes no HOST PORT"},
        {"--iface lo --ip 10.0.0.2/24 --connect-timeout -1 10.0.0.1 80", "--connect-timeout"},
    };
    for (const auto& c : cases) {
        const int rc = sh(cat + " " + c.args, &out);
        BOOST_TEST(rc == 2, c.args);
        BOOST_TEST(out.find(c.message) != std::string::npos, c.args << " -> " << out);
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

BOOST_AUTO_TEST_SUITE_END()
