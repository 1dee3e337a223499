#include "options.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/address_v4.hpp>
#include <cctype>
#include <coronet/runtime/log.hpp>
#include <coronet/tcp/congestion.hpp>
#include <coronet/version.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace coronet::apps {

namespace {

// The smallest --pcap-max-bytes: a file must hold one 64 KiB offload frame.
constexpr std::size_t min_pcap_file = std::size_t{64} << 10;

}  // namespace

po::options_description common_description(common_options& out) {
    po::options_description d("Interface options (shared by every coronet program)");
    d.add_options()("iface", po::value(&out.iface.ifname)->value_name("IF"),
                    "interface the stack owns (it should carry no kernel IPv4 address in the stack's subnet)")(
        "ip", po::value(&out.iface.address)->value_name("A.B.C.D/N"), "the stack's IPv4 address and prefix")(
        "gateway", po::value<std::string>()->value_name("A.B.C.D")->notifier([&out](const std::string& g) {
            out.iface.gateway = g;
        }),
        "next hop for destinations outside the prefix")(
        "mac",
        po::value<std::string>()->value_name("MAC")->notifier([&out](const std::string& m) { out.iface.mac = m; }),
        "source MAC to use (default: the interface's)")(
        "neighbor",
        po::value<std::vector<std::string>>()
            ->value_name("A.B.C.D=MAC")
            ->composing()
            ->notifier([&out](const std::vector<std::string>& all) {
                for (const auto& v : all) {
                    const auto eq = v.find('=');
                    boost::system::error_code ec;
                    if (eq != std::string::npos) boost::asio::ip::make_address_v4(v.substr(0, eq), ec);
                    if (eq == std::string::npos || ec || !wire::mac_address::parse(v.substr(eq + 1)))
                        throw po::error("--neighbor: '" + v + "' is not A.B.C.D=MAC (e.g. 10.0.0.2=02:00:00:00:00:02)");
                    out.iface.neighbors.emplace_back(v.substr(0, eq), v.substr(eq + 1));
                }
            }),
        "a permanent ARP entry (repeatable): frames to A.B.C.D go to MAC without an ARP request, as the kernel's "
        "'ip neigh add A.B.C.D lladdr MAC nud permanent'")("mtu", po::value(&out.iface.mtu)->value_name("BYTES"),
                                                           "IP MTU (default: the interface's)")(
        "log-level", po::value(&out.log_level)->value_name("LEVEL")->default_value("warn"),
        "trace, debug, info, warn, error or off")("pcap", po::value(&out.iface.pcap)->value_name("FILE"),
                                                  "write every frame sent and received to a pcapng file")(
        "pcap-max-bytes", po::value<std::string>()->value_name("BYTES")->notifier([&out](const std::string& v) {
            const auto n = parse_size(v);
            if (!n || *n < min_pcap_file)
                throw po::error("--pcap-max-bytes: '" + v + "' is not a size of at least 64K (one offload frame)");
            out.iface.pcap_rotation.max_bytes = *n;
        }),
        "rotate the --pcap file when it would grow past BYTES: FILE becomes FILE.1, FILE.1 FILE.2 and so on, "
        "each a pcapng file of its own; at most --pcap-files files are kept (default: one file, unbounded)")(
        "pcap-files", po::value<unsigned>()->value_name("N")->default_value(5)->notifier([&out](unsigned n) {
            if (n == 0 || n > 1000) throw po::error("--pcap-files: from 1 to 1000");
            out.iface.pcap_rotation.files = n;
        }),
        "with --pcap-max-bytes, how many files are kept, FILE included; the oldest is dropped")(
        "no-offload", po::bool_switch()->notifier([&out](bool off) { out.iface.offload = !off; }),
        "send MTU-sized frames with checksums computed here, not 64 KiB segmentation-offload frames")(
        "rx-path", po::value<std::string>()->value_name("PATH")->notifier([&out](const std::string& v) {
            if (v == "multishot")
                out.iface.rx = link::rx_path::multishot;
            else if (v == "ring")
                out.iface.rx = link::rx_path::ring;
            else
                throw po::error("--rx-path: 'multishot' or 'ring', not '" + v + "'");
        }),
        "how frames are received: ring (mapped TPACKET_V2 rings, 25 MiB resident from the start at MTU 1500: the "
        "kernel copies each frame where it receives it, on veth the sender's CPU; frames up to the MTU in about "
        "4,500 small slots, "
        "offload super-frames in --rx-ring-slots 64 KiB ones, and what finds its ring full goes to a third socket, "
        "read as multishot does) or multishot (io_uring receives into buffers: the kernel copies each frame on "
        "this loop's thread). Default: ring (with --loops, rings per loop: 25 MiB each)")(
        "rx-ring-slots", po::value<unsigned>()->value_name("N")->notifier([&out](unsigned n) {
            if (n < 1 || n > 16384) throw po::error("--rx-ring-slots: from 1 to 16384");
            out.iface.rx_ring_slots = n;
        }),
        "slots of the ring for offload super-frames (rounded up to fill its 1 MiB blocks, 15 slots each; default "
        "256: 18 MiB)")(
        "busy-poll", po::value<unsigned>()->value_name("USEC")->notifier([&out](unsigned us) {
            if (us > 1'000'000) throw po::error("--busy-poll: at most 1000000 microseconds");
            out.loop.busy_poll = std::chrono::microseconds(us);
        }),
        "after each completion keep polling this long instead of sleeping: lower latency, a busy core (default 0: "
        "off)")("wait-for-interface", po::bool_switch(&out.iface.wait_for_interface),
                "when the interface goes away (deleted), wait for one of the same name to be up again and carry on "
                "there: connections keep their state, the address is announced again (default: print that it is "
                "gone and exit with status 1)")(
        "conflict-probes", po::value(&out.iface.conflict.probes)->value_name("N")->default_value(3),
        "before using --ip, send N ARP probes for it 100 ms apart (RFC 5227) and refuse to start (exit 2) if "
        "another host answers; 0 skips that check. A second coronet on the same interface and address is refused "
        "either way");
    return d;
}

void apply_log_level(const std::string& program, const std::string& level) {
    const auto parsed = spdlog::level::from_str(level);
    if (parsed == spdlog::level::off && level != "off") usage_error(program, "unknown --log-level '" + level + "'");
    spdlog::set_level(parsed);
    runtime::set_logger(spdlog::default_logger());
}

void add_help_and_version(po::options_description& d) {
    d.add_options()("help,h", "show this help and exit")("version", "print the version and exit");
}

void exit_if_version(const po::variables_map& vm, const std::string& program) {
    if (!vm.count("version")) return;
    std::cout << program << " " << coronet::version << "\n";
    std::exit(0);
}

std::optional<std::string> ip_option_problem(const std::string& address) {
    try {
        parse_ipv4_prefix(address);
    } catch (const std::invalid_argument& e) {
        return std::string("--ip: ") + e.what();
    }
    if (address.find('/') == std::string::npos)
        return "--ip '" + address + "' has no prefix length: write A.B.C.D/N, e.g. " + address + "/24";
    return std::nullopt;
}

std::optional<std::size_t> parse_size(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == 0 || digits > 12 || text.size() > digits + 1) return std::nullopt;
    std::size_t n = std::stoull(text.substr(0, digits));
    if (text.size() == digits + 1) {
        const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
        const std::string units = "KMG";
        const auto at = units.find(unit);
        if (at == std::string::npos) return std::nullopt;
        n <<= 10 * (at + 1);
    }
    return n;
}

namespace {

// A size option: hands the size to store, or throws a usage error naming the option.
template <class Store>
auto size_option(const char* name, Store store) {
    return po::value<std::string>()->value_name("BYTES")->notifier([name, store](const std::string& v) {
        const auto n = parse_size(v);
        if (!n || *n == 0)
            throw po::error(std::string("--") + name + ": '" + v + "' is not a size such as 65536, 256K or 2G");
        store(*n);
    });
}

}  // namespace

po::options_description tcp_description(common_options& out) {
    auto& t = out.iface.tcp;
    po::options_description d("TCP options (shared by every coronet program)");
    // Notifiers run in option-name order: --tcp-buffer's before --tcp-buffer-max's.
    d.add_options()("tcp-buffer",
                    size_option("tcp-buffer",
                                [&t](std::size_t n) {
                                    t.send_buffer = t.receive_buffer = n;
                                    t.buffer_auto_tuning = false;
                                }),
                    "fixed send and receive buffer of each connection, the most it can have in flight; turns "
                    "buffer auto-tuning off (default: auto-tuned, from 256K up to --tcp-buffer-max)")(
        "tcp-buffer-max",
        size_option("tcp-buffer-max",
                    [&t](std::size_t n) {
                        if (!t.buffer_auto_tuning)
                            throw po::error(
                                "--tcp-buffer-max: --tcp-buffer fixes the buffers, auto-tuning "
                                "is off; give one of the two");
                        t.send_buffer_max = t.receive_buffer_max = n;
                        t.send_buffer = std::min(t.send_buffer, n);
                        t.receive_buffer = std::min(t.receive_buffer, n);
                    }),
        "buffer auto-tuning grows each connection's send and receive buffers up to this "
        "(default 4M send, 6M receive)")(
        "tcp-memory-limit", size_option("tcp-memory-limit", [&t](std::size_t n) { t.memory_limit = n; }),
        "buffer memory for all connections; past half of it no buffer grows and new connections get "
        "smaller buffers, at it they are refused (default 2G)")(
        "tcp-max-connections", po::value(&t.max_connections)->value_name("N"),
        "connections at most, TIME_WAIT included; more are refused (default 262144)")(
        "keepalive", po::value<unsigned>()->value_name("SECONDS")->notifier([&t](unsigned idle) {
            if (idle == 0) throw po::error("--keepalive: the idle time must be at least 1 second");
            t.keepalive.enabled = true;
            t.keepalive.idle = std::chrono::seconds(idle);
        }),
        "probe every connection idle this long; 9 unanswered probes 75 s apart end it (default off)")(
        "no-syn-cookies", po::bool_switch()->notifier([&t](bool off) { t.syn_cookies = !off; }),
        "drop SYNs when a listener's SYN queue is full instead of answering with SYN cookies")(
        "tcp-cc", po::value<std::string>()->value_name("NAME")->notifier([&t](const std::string& name) {
            if (!tcp::make_congestion_control(name))
                throw po::error("--tcp-cc: '" + name + "' is not a congestion control (coronet has " +
                                std::string(tcp::congestion_control_names()) + ")");
            t.congestion = name;
        }),
        ("congestion control of every connection: " + std::string(tcp::congestion_control_names()) + " (default " +
         t.congestion + ")")
            .c_str())(
        "tcp-pacing", po::value<std::string>()->value_name("WHEN")->notifier([&t](const std::string& when) {
            using pacing_mode = tcp::tcp_config::pacing_mode;
            if (when == "controller")
                t.pacing = pacing_mode::controller;
            else if (when == "all")
                t.pacing = pacing_mode::all;
            else if (when == "slow-start")
                t.pacing = pacing_mode::slow_start;
            else if (when == "off")
                t.pacing = pacing_mode::off;
            else
                throw po::error("--tcp-pacing: '" + when + "' is not controller, slow-start, all or off");
        }),
        "pace data frames over the round trip: 'controller' where the congestion control asks for it (bbr), "
        "'slow-start' the others too while in slow start, 'all' every connection (cwnd/SRTT x2 in slow start, "
        "x1.2 after, as Linux with fq), 'off'; on a LAN (SRTT or the smallest RTT sample up to 2 ms) only below a "
        "LAN's rate (the largest frame lasting 100 us or more: under 5.2 Gbit/s with 64 KiB offload frames, 116 "
        "Mbit/s without) (default slow-start)")(
        "no-sack", po::bool_switch()->notifier([&t](bool off) { t.sack = !off; }),
        "neither offer nor accept SACK (RFC 2018): losses are then found by three duplicate ACKs and partial ACKs "
        "(RFC 6582), not RACK-TLP (default: SACK on)");
    return d;
}

std::optional<std::uint16_t> parse_port(const std::string& text) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    const unsigned long p = std::stoul(text);
    if (p == 0 || p > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(p);
}

po::typed_value<std::string>* port_value(const std::string& name, std::uint16_t& out) {
    return po::value<std::string>()->value_name("PORT")->notifier([name, &out](const std::string& v) {
        const auto p = parse_port(v);
        if (!p) throw po::error(name + ": '" + v + "' is not a port (1-65535)");
        out = *p;
    });
}

std::optional<endpoint> parse_endpoint(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address_v4(text.substr(0, colon), ec);
    if (ec) return std::nullopt;
    const auto port = parse_port(text.substr(colon + 1));
    if (!port) return std::nullopt;
    return endpoint{address, *port};
}

std::string not_an_endpoint(const std::string& name, const std::string& text) {
    return name + ": '" + text + "' is not A.B.C.D:PORT (port 1-65535)";
}

std::string endpoint_text(const endpoint& e) { return e.address.to_string() + ":" + std::to_string(e.port); }

std::string describe(const std::error_code& ec) {
    if (ec == std::errc::connection_refused) return "connection refused";
    if (ec == std::errc::timed_out) return "connection timed out";
    if (ec == std::errc::connection_reset) return "connection reset by peer";
    if (ec == std::errc::connection_aborted) return "connection aborted";
    // ARP found nobody, or a router said so (ICMP destination unreachable).
    if (ec == std::errc::host_unreachable) return "no route to host";
    if (ec == std::errc::network_unreachable) return "network unreachable";
    if (ec == std::errc::no_protocol_option) return "protocol unreachable";
    if (ec == std::errc::broken_pipe) return "the peer closed the connection early";
    if (ec == std::errc::address_not_available) return "no free local port (too many connections in TIME_WAIT?)";
    return ec.message();
}

void exit_when_interface_lost(stack& st, const std::string& program) {
    st.on_interface_lost = [&st, program](std::error_code ec) {
        std::fprintf(stderr, "%s: interface %s is gone (%s)\n", program.c_str(), st.device().name().c_str(),
                     ec.message().c_str());
        // Nothing is torn down: coroutines of other loops may still hold connections.
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(1);
    };
}

[[noreturn]] void die(const std::string& program, const std::string& message, int code) {
    std::cerr << program << ": " << message << "\n";
    std::exit(code);
}

[[noreturn]] void usage_error(const std::string& program, const std::string& message) {
    die(program, message + "\nTry '" + program + " --help'.", 2);
}

[[noreturn]] void die_errno(const std::string& program, const std::string& what) {
    die(program, what + ": " + std::strerror(errno), 1);
}

po::variables_map parse_or_exit(int argc, char** argv, command_line& cl, common_options& common) {
    const std::string program = argc > 0 ? std::string(argv[0]).substr(std::string(argv[0]).rfind('/') + 1) : "coronet";
    add_help_and_version(cl.options);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(cl.options).positional(cl.positional).run(), vm);
        if (vm.count("help")) {
            std::cout << "Usage: " << cl.usage << "\n\n" << cl.summary << "\n\n" << cl.options << "\n";
            std::exit(0);
        }
        exit_if_version(vm, program);
        po::notify(vm);
    } catch (const po::error& e) {
        usage_error(program, e.what());
    }
    // Logs go to stderr: stdout is data (coronet-cat) or a report (bench, tables).
    spdlog::set_default_logger(spdlog::stderr_color_mt("coronet"));
    apply_log_level(program, common.log_level);
    if (common.iface.ifname.empty()) usage_error(program, "--iface is required");
    if (common.iface.address.empty()) usage_error(program, "--ip is required");
    if (const auto problem = ip_option_problem(common.iface.address)) usage_error(program, *problem);
    if (common.iface.pcap_rotation.max_bytes > 0 && common.iface.pcap.empty())
        usage_error(program, "--pcap-max-bytes needs --pcap FILE");
    return vm;
}

}  // namespace coronet::apps
