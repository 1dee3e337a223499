// coronet-test-synflood: a bounded spoofed-SYN generator for the netns tier.
// It writes raw Ethernet frames (AF_PACKET, batched with sendmmsg) carrying
// TCP SYNs from random source addresses of a given range and random ports to
// one destination, at a given rate for a given time, then prints what it sent
// as one JSON line. Rate, duration and total are hard-capped: it is a test
// load, to be run only on an interface inside a test's own namespace.
#include <net/if.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <chrono>
#include <coronet/wire/ethernet.hpp>
#include <coronet/wire/ipv4.hpp>
#include <coronet/wire/tcp.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../../../apps/common/options.hpp"

namespace {

namespace po = boost::program_options;
namespace wire = coronet::wire;
using wire::address_v4;
using clock_type = std::chrono::steady_clock;

constexpr const char* program = "coronet-test-synflood";
constexpr double max_rate = 100000;           // SYNs per second
constexpr double max_duration = 60;           // seconds
constexpr std::uint64_t max_total = 2000000;  // SYNs in one run
constexpr std::size_t max_batch = 64;         // frames per sendmmsg

[[noreturn]] void usage_error(const std::string& message) { coronet::apps::usage_error(program, message); }
[[noreturn]] void fail(const std::string& what) { coronet::apps::die_errno(program, what); }

struct options {
    std::string iface;
    wire::mac_address dst_mac, src_mac;
    bool have_src_mac = false;
    address_v4 dst;
    std::uint16_t dst_port = 0;
    std::uint32_t src_first = 0, src_last = 0;  // host order, inclusive
    double rate = 20000;
    double duration = 10;
    std::uint64_t seed = 0;
};

// "A.B.C.D-E.F.G.H" (inclusive) or a single address.
void parse_range(const std::string& text, options& o) {
    const auto dash = text.find('-');
    boost::system::error_code ec1, ec2;
    const auto first = boost::asio::ip::make_address_v4(text.substr(0, dash), ec1);
    const auto last = dash == std::string::npos ? first : boost::asio::ip::make_address_v4(text.substr(dash + 1), ec2);
    if (ec1 || ec2 || first.to_uint() > last.to_uint())
        usage_error("--src-range takes FIRST-LAST addresses, e.g. 10.201.0.10-10.201.0.250");
    if (last.to_uint() - first.to_uint() >= 65536) usage_error("--src-range spans more than a /16");
    o.src_first = first.to_uint();
    o.src_last = last.to_uint();
}

options parse(int argc, char** argv) {
    options o;
    std::string dst_mac, src_mac, dst, range;
    po::options_description d("Options");
    d.add_options()("help,h", "show this help and exit")("iface", po::value(&o.iface)->required()->value_name("IF"),
                                                         "interface to send on (in the test's namespace)")(
        "dst-mac", po::value(&dst_mac)->required()->value_name("MAC"), "destination MAC (the stack's interface)")(
        "src-mac", po::value(&src_mac)->value_name("MAC"), "source MAC (default: the interface's)")(
        "dst", po::value(&dst)->required()->value_name("A.B.C.D:PORT"), "where the SYNs go")(
        "src-range", po::value(&range)->required()->value_name("FIRST-LAST"),
        "spoofed source addresses, drawn uniformly (at most a /16's worth)")(
        "rate", po::value(&o.rate)->value_name("N"), "SYNs per second (default 20000, at most 100000)")(
        "duration", po::value(&o.duration)->value_name("S"), "seconds to send for (default 10, at most 60)")(
        "seed", po::value(&o.seed)->value_name("N"), "random seed (default: random)");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, d), vm);
        if (vm.count("help")) {
            std::cout
                << "Usage: " << program
                << " --iface IF --dst-mac MAC --dst A.B.C.D:PORT --src-range FIRST-LAST [--rate N] [--duration S]\n\n"
                   "Sends TCP SYNs from random source addresses and ports as raw Ethernet frames (a\n"
                   "SYN flood for tests), paced at --rate for --duration, then prints one JSON line:\n"
                   "{\"sent\",\"send_errors\",\"duration_s\",\"rate_per_s\",...}. Rate, duration and total\n"
                   "(2,000,000) are capped. Exit status: 0 done, 1 system error, 2 usage error.\n\n"
                << d << "\n";
            std::exit(0);
        }
        po::notify(vm);
    } catch (const po::error& e) {
        usage_error(e.what());
    }
    auto mac = wire::mac_address::parse(dst_mac);
    if (!mac) usage_error("--dst-mac: not a MAC address");
    o.dst_mac = *mac;
    if (!src_mac.empty()) {
        auto s = wire::mac_address::parse(src_mac);
        if (!s) usage_error("--src-mac: not a MAC address");
        o.src_mac = *s;
        o.have_src_mac = true;
    }
    const auto colon = dst.rfind(':');
    boost::system::error_code ec;
    o.dst = boost::asio::ip::make_address_v4(dst.substr(0, colon), ec);
    const int port = colon == std::string::npos ? 0 : std::atoi(dst.c_str() + colon + 1);
    if (ec || port <= 0 || port > 65535) usage_error("--dst takes A.B.C.D:PORT");
    o.dst_port = static_cast<std::uint16_t>(port);
    parse_range(range, o);
    if (!(o.rate > 0 && o.rate <= max_rate)) usage_error("--rate must be in (0, 100000]");
    if (!(o.duration > 0 && o.duration <= max_duration)) usage_error("--duration must be in (0, 60]");
    if (!vm.count("seed")) o.seed = std::random_device{}();
    return o;
}

// A raw socket bound to the interface for sending only (protocol 0: it
// receives nothing).
int open_socket(const options& o, wire::mac_address& own_mac) {
    const int fd = ::socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) fail("socket(AF_PACKET)");
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", o.iface.c_str());
    if (::ioctl(fd, SIOCGIFINDEX, &ifr) < 0) fail("interface " + o.iface);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = ifr.ifr_ifindex;
    sll.sll_protocol = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) fail("bind");
    if (::ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) fail("SIOCGIFHWADDR");
    std::memcpy(own_mac.octets.data(), ifr.ifr_hwaddr.sa_data, 6);
    const int sndbuf = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
    return fd;
}

// One SYN as Linux would send it (MSS, SACK permitted, timestamps, window
// scale), from a random address of the range and a random port.
class syn_maker {
public:
    syn_maker(const options& o, const wire::mac_address& src_mac) : o_(o), rng_(o.seed) {
        eth_.dst = o.dst_mac;
        eth_.src = src_mac;
        eth_.type = wire::ethertype::ipv4;
        tcp_.dst_port = o.dst_port;
        tcp_.flags = wire::tcp_flag::syn;
        tcp_.window = 64240;
        tcp_.options.mss = 1460;
        tcp_.options.sack_permitted = true;
        tcp_.options.window_scale = 7;
        tcp_.options.timestamp = std::pair<std::uint32_t, std::uint32_t>{0, 0};
    }

    // Bytes of every frame make() writes.
    std::size_t frame_len() const {
        return wire::ethernet_repr::header_len + wire::ipv4_repr::header_len + tcp_.header_len();
    }

    // Writes the next SYN over frame (frame_len() bytes).
    void make(wire::mut_bytes frame) {
        const auto src = address_v4(
            static_cast<std::uint32_t>(std::uniform_int_distribution<std::uint32_t>(o_.src_first, o_.src_last)(rng_)));
        tcp_.src_port = static_cast<std::uint16_t>(std::uniform_int_distribution<unsigned>(1024, 65535)(rng_));
        tcp_.seq = wire::seq32(static_cast<std::uint32_t>(rng_()));
        tcp_.options.timestamp = std::pair<std::uint32_t, std::uint32_t>{static_cast<std::uint32_t>(rng_()), 0};
        const std::size_t tcp_len = tcp_.header_len();
        wire::ipv4_repr ip;
        ip.src = src;
        ip.dst = o_.dst;
        ip.protocol = 6;
        ip.ident = static_cast<std::uint16_t>(rng_());
        ip.payload_len = static_cast<std::uint16_t>(tcp_len);
        eth_.emit(frame);
        ip.emit(frame.subspan(wire::ethernet_repr::header_len));
        tcp_.emit(frame.subspan(wire::ethernet_repr::header_len + wire::ipv4_repr::header_len, tcp_len), src, o_.dst);
    }

private:
    const options& o_;
    std::mt19937_64 rng_;
    wire::ethernet_repr eth_;
    wire::tcp_repr tcp_;
};

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    wire::mac_address own_mac;
    const int fd = open_socket(o, own_mac);
    syn_maker maker(o, o.have_src_mac ? o.src_mac : own_mac);

    const auto total = std::min<std::uint64_t>(max_total, static_cast<std::uint64_t>(o.rate * o.duration));
    // About one batch per millisecond, so the load is smooth at the millisecond scale.
    const std::size_t batch = std::clamp<std::size_t>(static_cast<std::size_t>(o.rate / 1000), 1, max_batch);
    std::vector<std::vector<std::byte>> frames(batch, std::vector<std::byte>(maker.frame_len()));
    std::vector<iovec> iov(batch);
    std::vector<mmsghdr> msgs(batch);
    for (std::size_t i = 0; i < batch; ++i) {
        iov[i] = {frames[i].data(), frames[i].size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    std::uint64_t sent = 0, errors = 0, calls = 0;
    const auto start = clock_type::now();
    const auto hard_end = start + std::chrono::duration<double>(o.duration * 1.5 + 1);
    while (sent + errors < total && clock_type::now() < hard_end) {
        // Pacing: batch k may leave at start + k*batch/rate.
        const auto due = start + std::chrono::duration_cast<clock_type::duration>(
                                     std::chrono::duration<double>(static_cast<double>(sent + errors) / o.rate));
        std::this_thread::sleep_until(due);
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(batch, total - sent - errors));
        for (std::size_t i = 0; i < n; ++i) maker.make(frames[i]);
        ++calls;
        const int r = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
        if (r < 0) {
            if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) fail("sendmmsg");
            errors += n;  // dropped by the kernel: counted, not retried, so the rate stays honest
            continue;
        }
        sent += static_cast<std::uint64_t>(r);
        errors += n - static_cast<std::size_t>(r);
    }
    const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    ::close(fd);
    std::printf(
        "{\"sent\":%lu,\"send_errors\":%lu,\"sendmmsg_calls\":%lu,\"duration_s\":%.3f,\"rate_per_s\":%.0f,"
        "\"requested_rate\":%.0f,\"sources\":%u,\"dst\":\"%s:%u\"}\n",
        static_cast<unsigned long>(sent), static_cast<unsigned long>(errors), static_cast<unsigned long>(calls), secs,
        secs > 0 ? static_cast<double>(sent) / secs : 0.0, o.rate, o.src_last - o.src_first + 1,
        o.dst.to_string().c_str(), o.dst_port);
    return 0;
}
