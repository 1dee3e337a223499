#include "options.hpp"

#include <cmath>
#include <coronet/tcp/congestion.hpp>
#include <iostream>

namespace coronet::bench {

namespace {

namespace po = apps::po;

constexpr std::uint32_t default_bulk_size = 64 * 1024;
constexpr unsigned max_connections = 10000;
constexpr double max_duration = 24 * 3600;
// With --bytes, --duration bounds the transfer; unless given, this long.
constexpr double fixed_default_limit = 600;

constexpr const char* usage =
    "coronet-bench server --listen PORT [--stack user|kernel] [--cc NAME] [interface options]\n"
    "       coronet-bench client --connect HOST:PORT --mode bulk|rr|crr [--duration S] [--size N]\n"
    "                            [--connections N] [--reverse] [--bytes N] [--stack user|kernel] [--cc NAME]\n"
    "                            [interface options]\n"
    "       coronet-bench link --iface IF --path raw|device --direction send|receive [--frame-size N]\n"
    "                          [--duration S]";

constexpr const char* summary =
    "TCP benchmark for coronet's user-space stack and, with --stack kernel, for the kernel's own\n"
    "TCP (ordinary sockets in the current namespace, driven through the same io_uring loop and\n"
    "the same benchmark code). With --stack user (the default) --iface and --ip are required.\n"
    "\n"
    "The server serves any mode to any number of clients until SIGINT/SIGTERM, then prints its\n"
    "totals as one JSON line. The client tells the server its mode in a header at the start of\n"
    "each connection, runs for --duration, and prints exactly one JSON line on stdout:\n"
    "  bulk  streams data (client -> server, or server -> client with --reverse): gbit_per_s\n"
    "  rr    --size-byte requests and responses on one connection: transactions_per_s, p50_us, p99_us\n"
    "  crr   connect, request, response, close per transaction: connections_per_s (and latencies)\n"
    "plus bytes, transactions (bulk: connections), duration_s, retransmits and dsacks (this side's\n"
    "retransmitted segments and the DSACKs it received, i.e. resends the peer already had:\n"
    "coronet's TCB counters, or the kernel's TCP_INFO tcpi_total_retrans and tcpi_dsack_dups;\n"
    "the server's line gives the same for its side); coronet's lines add recoveries, the fast\n"
    "recoveries it entered (some may have been undone; the kernel counts them per namespace,\n"
    "nstat's TcpExtTCPSackRecovery). --connections runs that\n"
    "many connections (or crr chains) at once and sums them. Nothing is asserted about time.\n"
    "\n"
    "bulk --bytes N is a fixed-size, checked transfer on one connection: the client sends exactly N\n"
    "bytes (with --reverse the server does) of a pattern that is a function of the stream offset;\n"
    "the receiver checks every byte against it and both ends hash what they sent or received with\n"
    "SHA-256. The server then sends the client a trailer (its digest, its verdict, its\n"
    "retransmissions so far), and the client's JSON adds fixed_bytes, goodput_mbit_s (from the\n"
    "header sent to the trailer received: the transfer plus about one round trip; goodput_timing\n"
    "says so), sha256_sender, sha256_receiver, sha256_match, verified (the receiver found every\n"
    "byte in place) and peer_retransmits. --duration then bounds the transfer (default 600 s).\n"
    "The server's totals count fixed_verified / fixed_failed and give last_sha256.\n"
    "\n"
    "--cc NAME sets the kernel sockets' congestion control (TCP_CONGESTION, on the listening socket\n"
    "too, so accepted connections inherit it): any name in\n"
    "/proc/sys/net/ipv4/tcp_available_congestion_control (root may name any the kernel can load).\n"
    "With --stack user it picks coronet's congestion control (as --tcp-cc does): newreno (or reno),\n"
    "cubic or bbr. Every\n"
    "JSON line gives cc, what the connections ran, read back from them.\n"
    "\n"
    "The link role measures frames per second on --iface with no TCP/IP at all: --path raw uses a\n"
    "plain AF_PACKET socket (receive: recvmmsg batches of 64; send: sendmmsg batches of 64), --path\n"
    "device coronet's AF_PACKET device on its io_uring loop. send blasts --frame-size-byte frames of\n"
    "EtherType 0x88b5 (local experimental) to 02:00:5e:00:88:b5 for --duration; receive counts the\n"
    "frames of that EtherType arriving within --duration (start the peer's sender once it prints\n"
    "'receiving' on stderr). It prints one JSON line: role, path, direction, frame_size, frames,\n"
    "duration_s, mpps, gbit_per_s, and send_errors (send) or kernel_drops (receive: dropped at the\n"
    "socket). A receiver's duration_s is the time from its first frame to its last, so its rate is\n"
    "the sender's while both ran. Exit status 2 also when the interface cannot be opened.\n"
    "\n"
    "Exit status: 0 on success (server: stopped by a signal), 1 on a connection error or a run that\n"
    "does not end within its duration + 10 s, 2 on usage or start-up errors.";

[[noreturn]] void usage_error(const std::string& message) {
    apps::die(program, message + "\nTry 'coronet-bench --help'.", 2);
}

struct raw_options {
    std::string role, stack = "user", connect, mode, path, direction, bytes;
    double duration = 5;
    std::uint32_t size = 0;
    unsigned connections = 1;
};

po::options_description own_description(raw_options& raw, bench_options& o) {
    po::options_description d("Benchmark options");
    d.add_options()("stack", po::value(&raw.stack)->value_name("user|kernel")->default_value("user"),
                    "coronet's user-space TCP on --iface, or the kernel's TCP")(
        "listen", apps::port_value("--listen", o.listen_port), "server: the port to listen on")(
        "connect", po::value(&raw.connect)->value_name("HOST:PORT"), "client: the server's IPv4 address and port")(
        "mode", po::value(&raw.mode)->value_name("bulk|rr|crr"), "client: what to measure")(
        "duration", po::value(&raw.duration)->value_name("S")->default_value(5), "client, link: seconds to run")(
        "size", po::value(&raw.size)->value_name("N"),
        "client: rr/crr bytes per request and response (default 1); bulk bytes per write (default 65536)")(
        "connections", po::value(&raw.connections)->value_name("N")->default_value(1),
        "client: concurrent connections (crr: concurrent connect-close chains)")(
        "reverse", po::bool_switch(&o.client.reverse), "client, bulk: the server sends and the client receives")(
        "bytes", po::value(&raw.bytes)->value_name("N"),
        "client, bulk: a fixed-size, checked transfer of exactly N bytes (65536, 256K, 32M, 2G) on one connection")(
        "cc", po::value(&o.congestion)->value_name("NAME"),
        "congestion control: kernel TCP_CONGESTION (reno, cubic, bbr, ...) or, with --stack user, coronet's "
        "(newreno, cubic, bbr; default bbr)")(
        "loops", po::value(&o.loops)->value_name("N")->default_value(1),
        "server, client (user stack): N threads, each with its own loop and stack on --iface, which share it "
        "by TCP flow (each loop's receive rings keep its flows by a socket filter; with --rx-path multishot, a "
        "PACKET_FANOUT group); the client splits --connections across them")(
        "path", po::value(&raw.path)->value_name("raw|device"),
        "link: a plain AF_PACKET socket, or coronet's AF_PACKET device")(
        "direction", po::value(&raw.direction)->value_name("send|receive"), "link: send frames, or count them")(
        "frame-size", po::value(&o.link.frame_size)->value_name("N")->default_value(64),
        "link: bytes per frame, Ethernet header included and FCS not (60..1514)")(
        "stats", po::bool_switch(&o.stats),
        "server, client (user stack): when the run ends, print the stack's counters to stderr as one JSON "
        "line (with --loops, a line per loop, in no fixed order)")(
        "role", po::value(&raw.role)->value_name("server|client|link"), "server, client or link");
    return d;
}

// The options a role does not take, given anyway, are usage errors rather than silently ignored.
void reject(const po::variables_map& vm, std::initializer_list<const char*> names, const std::string& why) {
    for (const char* n : names)
        if (vm.count(n) && !vm[n].defaulted()) usage_error(std::string("--") + n + " " + why);
}

constexpr std::initializer_list<const char*> link_only = {"path", "direction", "frame-size"};

runtime::duration checked_duration(double seconds) {
    if (!(seconds > 0 && seconds <= max_duration))
        usage_error("--duration must be more than 0 and at most 86400 seconds");
    return std::chrono::duration_cast<runtime::duration>(std::chrono::duration<double>(seconds));
}

// --bytes: one connection, bulk, a size; --duration becomes the transfer's limit.
void check_fixed(const po::variables_map& vm, const raw_options& raw, bench_options& o) {
    if (o.client.m != mode::bulk) usage_error("--bytes is for --mode bulk");
    if (o.client.connections != 1) usage_error("--bytes runs one connection: leave out --connections");
    const auto n = apps::parse_size(raw.bytes);
    if (!n || *n == 0) usage_error("--bytes: '" + raw.bytes + "' is not a size such as 65536, 256K, 32M or 2G");
    o.client.total_bytes = *n;
    if (vm["duration"].defaulted()) o.client.duration = checked_duration(fixed_default_limit);
}

void check_client(const po::variables_map& vm, const raw_options& raw, bench_options& o) {
    reject(vm, {"listen"}, "is a server option");
    reject(vm, link_only, "is a link option");
    if (raw.connect.empty()) usage_error("client: --connect HOST:PORT is required");
    const auto remote = apps::parse_endpoint(raw.connect);
    if (!remote) usage_error(apps::not_an_endpoint("--connect", raw.connect));
    o.client.remote = *remote;
    const auto m = parse_mode(raw.mode);
    if (!m) usage_error(raw.mode.empty() ? "client: --mode is required" : "unknown --mode '" + raw.mode + "'");
    o.client.m = *m;
    o.client.duration = checked_duration(raw.duration);
    o.client.size = vm.count("size") ? raw.size : *m == mode::bulk ? default_bulk_size : 1;
    if (o.client.size < 1 || o.client.size > max_message_size)
        usage_error("--size must be 1.." + std::to_string(max_message_size));
    if (raw.connections < 1 || raw.connections > max_connections)
        usage_error("--connections must be 1.." + std::to_string(max_connections));
    o.client.connections = raw.connections;
    if (o.client.reverse && *m != mode::bulk) usage_error("--reverse is for --mode bulk");
    if (vm.count("bytes")) check_fixed(vm, raw, o);
}

void check_server(const po::variables_map& vm, bench_options& o) {
    reject(vm, {"connect", "mode", "duration", "size", "connections", "bytes"}, "is a client option");
    reject(vm, link_only, "is a link option");
    if (o.client.reverse) usage_error("--reverse is a client option");
    if (!vm.count("listen")) usage_error("server: --listen PORT is required");
}

void check_link(const po::variables_map& vm, const raw_options& raw, bench_options& o) {
    reject(vm, {"listen", "stack", "ip", "gateway", "mac", "mtu", "pcap"}, "is not a link option");
    reject(vm, {"connect", "mode", "size", "connections", "bytes"}, "is a client option");
    reject(vm, {"loops", "cc", "stats"}, "is a server or client option");
    if (o.client.reverse) usage_error("--reverse is a client option");
    if (o.common.iface.ifname.empty()) usage_error("link: --iface is required");
    o.link.ifname = o.common.iface.ifname;
    if (raw.path == "raw")
        o.link.path = link_path::raw;
    else if (raw.path == "device")
        o.link.path = link_path::device;
    else
        usage_error(raw.path.empty() ? "link: --path raw|device is required"
                                     : "unknown --path '" + raw.path + "' (raw or device)");
    if (raw.direction == "send")
        o.link.direction = link_direction::send;
    else if (raw.direction == "receive")
        o.link.direction = link_direction::receive;
    else
        usage_error(raw.direction.empty() ? "link: --direction send|receive is required"
                                          : "unknown --direction '" + raw.direction + "' (send or receive)");
    if (o.link.frame_size < min_link_frame || o.link.frame_size > max_link_frame)
        usage_error("--frame-size must be " + std::to_string(min_link_frame) + ".." + std::to_string(max_link_frame));
    o.link.duration = checked_duration(raw.duration);
}

void check_stack(const po::variables_map& vm, const raw_options& raw, bench_options& o) {
    if (raw.stack == "kernel") {
        o.stack = stack_kind::kernel;
        reject(vm, {"iface", "ip", "gateway", "mac", "mtu", "pcap", "no-offload", "stats"}, "is for --stack user");
        if (vm.count("cc") && o.congestion.empty()) usage_error("--cc: the name is empty");
        return;  // the kernel itself judges --cc, once the transport opens
    }
    if (raw.stack != "user") usage_error("--stack must be user or kernel, got '" + raw.stack + "'");
    if (vm.count("cc")) {
        if (!tcp::make_congestion_control(o.congestion))
            usage_error("--cc '" + o.congestion + "': coronet has no such congestion control (it has " +
                        std::string(tcp::congestion_control_names()) + ")");
        o.common.iface.tcp.congestion = o.congestion;
    }
    if (o.common.iface.ifname.empty()) usage_error("--iface is required with --stack user");
    if (o.common.iface.address.empty()) usage_error("--ip is required with --stack user");
    if (const auto problem = apps::ip_option_problem(o.common.iface.address)) usage_error(*problem);
}

}  // namespace

bench_options parse_or_exit(int argc, char** argv) {
    bench_options o;
    raw_options raw;
    po::options_description all;
    all.add(own_description(raw, o)).add(apps::common_description(o.common)).add(apps::tcp_description(o.common));
    apps::add_help_and_version(all);
    po::positional_options_description positional;
    positional.add("role", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
        if (vm.count("help")) {
            std::cout << "Usage: " << usage << "\n\n" << summary << "\n\n" << all << "\n";
            std::exit(0);
        }
        apps::exit_if_version(vm, program);
        po::notify(vm);
    } catch (const po::error& e) {
        usage_error(e.what());
    }
    apps::apply_log_level(program, o.common.log_level);  // the logger main() made
    if (raw.role == "link") {
        o.role = bench_role::link;
        check_link(vm, raw, o);
        return o;
    }
    if (raw.role != "server" && raw.role != "client")
        usage_error(raw.role.empty() ? "say server, client or link"
                                     : "unknown role '" + raw.role + "' (server, client or link)");
    o.role = raw.role == "server" ? bench_role::server : bench_role::client;
    if (o.role == bench_role::server)
        check_server(vm, o);
    else
        check_client(vm, raw, o);
    check_stack(vm, raw, o);
    return o;
}

}  // namespace coronet::bench
