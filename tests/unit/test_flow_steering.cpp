// Two loops on one interface: the link steers a TCP segment to loop
// flow_hash(source port, destination port) % loops with a classic BPF program, and
// each loop's TCP picks ephemeral ports whose flows that rule steers to it.
// The program runs here in a small interpreter of the instructions it uses,
// with the kernel's meaning for SKF_NET_OFF (the network header),
// SKF_AD_PROTOCOL (the ethertype), SKF_AD_PKTTYPE and the length (skb->len
// when a fanout runs: the Ethernet header pulled). So do the receive rings'
// size split and the socket filter for kernels without IGNORE_OUTGOING.
#include <linux/if_packet.h>

#include <boost/test/unit_test.hpp>
#include <coronet/link/fanout.hpp>
#include <coronet/link/sim_link.hpp>
#include <coronet/net/host.hpp>
#include <coronet/runtime/sim_loop.hpp>
#include <coronet/storage/flow_hash.hpp>
#include <coronet/tcp/layer.hpp>
#include <coronet/wire/arp.hpp>
#include <coronet/wire/bytes.hpp>
#include <coronet/wire/ethernet.hpp>
#include <coronet/wire/ipv4.hpp>
#include <coronet/wire/tcp.hpp>
#include <span>
#include <vector>

using namespace coronet;
using boost::asio::ip::address_v4;
using boost::asio::ip::make_address_v4;

namespace {

const auto stack_ip = make_address_v4("10.0.0.2"), peer_ip = make_address_v4("10.0.0.1");

constexpr std::int64_t unsupported = -1;

// What the kernel's fanout does with the program: its value (the member is
// value % members), or `unsupported` for an instruction this interpreter lacks.
std::int64_t run_program(const std::vector<sock_filter>& prog, std::span<const std::byte> frame,
                         std::uint32_t pkttype = PACKET_HOST) {
    constexpr std::size_t network_header = wire::ethernet_repr::header_len;
    std::uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
    // A load of size bytes at k (+ X for BPF_IND); a load out of the frame ends the program with 0, as in the kernel.
    auto load = [&](std::int64_t k, std::size_t size) -> std::optional<std::uint32_t> {
        if (k == SKF_AD_OFF + SKF_AD_PROTOCOL) return wire::load_u16(frame, 12);
        if (k == SKF_AD_OFF + SKF_AD_PKTTYPE) return pkttype;
        const std::int64_t at = k >= SKF_NET_OFF && k < SKF_AD_OFF ? k - SKF_NET_OFF + network_header : k;
        if (at < 0 || static_cast<std::size_t>(at) + size > frame.size()) return std::nullopt;
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < size; ++i) v = v << 8 | std::to_integer<std::uint32_t>(frame[at + i]);
        return v;
    };
    for (std::size_t pc = 0; pc < prog.size(); ++pc) {
        const sock_filter& f = prog[pc];
        const std::int64_t k = static_cast<std::int32_t>(f.k);
        const std::size_t size = BPF_SIZE(f.code) == BPF_B ? 1 : BPF_SIZE(f.code) == BPF_H ? 2 : 4;
        switch (f.code) {
            case BPF_LD | BPF_W | BPF_ABS:
            case BPF_LD | BPF_H | BPF_ABS:
            case BPF_LD | BPF_B | BPF_ABS:
            case BPF_LD | BPF_H | BPF_IND:
            case BPF_LD | BPF_B | BPF_IND: {
                const auto v = load(BPF_MODE(f.code) == BPF_IND ? k + x : k, size);
                if (!v) return 0;
                a = *v;
                break;
            }
            case BPF_LD | BPF_W | BPF_LEN:
                a = static_cast<std::uint32_t>(frame.size() - network_header);
                break;
            case BPF_LDX | BPF_W | BPF_MEM:
                x = mem[f.k];
                break;
            case BPF_ST:
                mem[f.k] = a;
                break;
            case BPF_MISC | BPF_TAX:
                x = a;
                break;
            case BPF_ALU | BPF_AND | BPF_K:
                a &= f.k;
                break;
            case BPF_ALU | BPF_LSH | BPF_K:
                a <<= f.k;
                break;
            case BPF_ALU | BPF_XOR | BPF_X:
                a ^= x;
                break;
            case BPF_ALU | BPF_MUL | BPF_K:
                a *= f.k;
                break;
            case BPF_ALU | BPF_RSH | BPF_K:
                a >>= f.k;
                break;
            case BPF_ALU | BPF_MOD | BPF_K:
                if (f.k == 0) return unsupported;  // the kernel's checker refuses it
                a %= f.k;
                break;
            case BPF_JMP | BPF_JEQ | BPF_K:
                pc += a == f.k ? f.jt : f.jf;
                break;
            case BPF_JMP | BPF_JGT | BPF_K:
                pc += a > f.k ? f.jt : f.jf;
                break;
            case BPF_JMP | BPF_JSET | BPF_K:
                pc += (a & f.k) ? f.jt : f.jf;
                break;
            case BPF_RET | BPF_A:
                return a;
            case BPF_RET | BPF_K:
                return f.k;
            default:
                return unsupported;
        }
    }
    return unsupported;  // fell off the end: the kernel's checker refuses such a program
}

struct frame_spec {
    std::uint8_t protocol = wire::ip_proto::tcp;
    std::uint16_t src_port = 0, dst_port = 0;
    std::size_t ip_options = 0;  // bytes of NOP options (a multiple of 4)
    std::uint16_t fragment_offset = 0;
};

// An Ethernet + IPv4 frame from the peer to the stack with a TCP header (or,
// for another protocol, 20 bytes of zeros).
std::vector<std::byte> ipv4_frame(const frame_spec& s) {
    const std::size_t ip_len = wire::ipv4_repr::header_len + s.ip_options, l4_len = 20;
    std::vector<std::byte> f(wire::ethernet_repr::header_len + ip_len + l4_len);
    const auto frame = std::span(f);
    wire::ethernet_repr{.dst = {}, .src = {}, .type = wire::ethertype::ipv4}.emit(frame);
    auto ip = frame.subspan(wire::ethernet_repr::header_len);
    wire::ipv4_repr{.src = peer_ip,
                    .dst = stack_ip,
                    .protocol = s.protocol,
                    .payload_len = static_cast<std::uint16_t>(s.ip_options + l4_len)}
        .emit(ip);
    if (s.ip_options > 0) {  // move the fixed header's end to make room for the options
        std::fill(ip.begin() + wire::ipv4_repr::header_len, ip.begin() + static_cast<std::ptrdiff_t>(ip_len),
                  std::byte{1});
        ip[0] = static_cast<std::byte>(0x40 | ip_len / 4);
    }
    if (s.fragment_offset > 0) wire::store_u16(ip, 6, s.fragment_offset);
    if (s.protocol == wire::ip_proto::tcp) {
        wire::tcp_repr t{};
        t.src_port = s.src_port;
        t.dst_port = s.dst_port;
        t.flags = wire::tcp_flag::syn;
        t.emit(ip.subspan(ip_len, l4_len), peer_ip, stack_ip);
    }
    return f;
}

std::vector<std::byte> arp_request() {
    std::vector<std::byte> f(wire::ethernet_repr::header_len + wire::arp_repr::len);
    const auto frame = std::span(f);
    wire::ethernet_repr{.dst = wire::mac_address::broadcast(), .src = {}, .type = wire::ethertype::arp}.emit(frame);
    wire::arp_repr{.operation = wire::arp_op::request,
                   .sender_mac = {},
                   .sender_ip = peer_ip,
                   .target_mac = {},
                   .target_ip = stack_ip}
        .emit(frame.subspan(wire::ethernet_repr::header_len));
    return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(flow_steering_tests)

BOOST_AUTO_TEST_CASE(a_tcp_segment_is_steered_by_the_hash_of_its_ports) {
    const auto prog = link::flow_steering_program();
    for (auto [sport, dport] : {std::pair<std::uint16_t, std::uint16_t>{40000, 5201}, {5201, 40000}, {65535, 1}}) {
        const auto v = run_program(prog, ipv4_frame({.src_port = sport, .dst_port = dport}));
        BOOST_TEST(v == storage::flow_hash(sport, dport));
        BOOST_TEST(storage::flow_hash(sport, dport) == storage::flow_hash(dport, sport));
        // The member the kernel picks owns the flow by the TCP layer's rule, for any number of loops.
        for (unsigned loops = 2; loops <= 5; ++loops) {
            const auto member = static_cast<unsigned>(v % loops);
            BOOST_TEST((tcp::flow_steering{member, loops}.owns(dport, sport)), loops);
        }
    }
}

BOOST_AUTO_TEST_CASE(ip_options_move_the_ports_and_the_program_follows) {
    const auto v =
        run_program(link::flow_steering_program(), ipv4_frame({.src_port = 40001, .dst_port = 80, .ip_options = 8}));
    BOOST_TEST(v == storage::flow_hash(40001, 80));
}

BOOST_AUTO_TEST_CASE(arp_icmp_udp_and_later_fragments_go_to_the_first_loop) {
    const auto prog = link::flow_steering_program();
    BOOST_TEST(run_program(prog, arp_request()) == 0);
    BOOST_TEST(run_program(prog, ipv4_frame({.protocol = wire::ip_proto::icmp})) == 0);
    BOOST_TEST(run_program(prog, ipv4_frame({.protocol = 17})) == 0);
    BOOST_TEST(run_program(prog, ipv4_frame({.src_port = 3, .dst_port = 5, .fragment_offset = 0x2000 | 185})) == 0);
}

BOOST_AUTO_TEST_CASE(ephemeral_ports_are_chosen_among_the_flows_steered_to_this_loop) {
    for (unsigned loops : {2u, 3u, 4u}) {
        for (unsigned index = 0; index < loops; ++index) {
            runtime::sim_loop sim;
            link::sim_link wire{sim, {}, 1};
            net::host host{sim, wire.a(), {.address = stack_ip, .prefix_len = 24}};
            tcp::tcp_config cfg;
            cfg.steering = {index, loops};
            tcp::tcp_layer layer{host, cfg};
            for (std::uint16_t remote_port : {std::uint16_t{80}, std::uint16_t{5201}}) {
                for (int i = 0; i < 40; ++i) {
                    auto c = layer.connect(peer_ip, remote_port);
                    BOOST_TEST_REQUIRE(c.has_value());
                    const std::uint16_t local = (*c)->id().local_port;
                    BOOST_TEST(storage::flow_hash(local, remote_port) % loops == index, local << " " << remote_port);
                }
            }
        }
    }
}

// RFC 6056 algorithm 4: ports to one destination come from a keyed hash of
// it and a counter that moves by random steps; they are not the next port
// after the last connection's, and traffic to another destination does not
// move them (an observer learns nothing of connections to others).
BOOST_AUTO_TEST_CASE(ephemeral_ports_are_unpredictable_and_per_destination) {
    runtime::sim_loop sim;
    link::sim_link wire{sim, {}, 1};
    net::host host{sim, wire.a(), {.address = stack_ip, .prefix_len = 24}};
    tcp::tcp_layer layer{host, {}, runtime::random_source(3)};
    const auto other = make_address_v4("10.0.0.77");
    auto port_to = [&](address_v4 dst, std::uint16_t remote_port) {
        auto c = layer.connect(dst, remote_port);
        BOOST_TEST_REQUIRE(c.has_value());
        return int{(*c)->id().local_port};
    };
    std::vector<int> ports;
    for (int i = 0; i < 20; ++i) ports.push_back(port_to(peer_ip, 80));
    int consecutive = 0;
    for (std::size_t i = 1; i < ports.size(); ++i) consecutive += ports[i] == ports[i - 1] + 1;
    BOOST_TEST(consecutive < 10);  // random steps of 1 to 8: about one in eight is +1 (it was every one)
    // Connections elsewhere leave the sequence towards the peer where it was:
    // the gap across them is one random step, not the count of connections made.
    const int before = port_to(peer_ip, 80);
    for (int i = 0; i < 200; ++i) port_to(other, 80);
    const int after = port_to(peer_ip, 80);
    BOOST_TEST(after > before);
    BOOST_TEST(after - before <= 8);
    // Another destination starts somewhere else in the range.
    BOOST_TEST(std::abs(port_to(other, 443) - after) > 8);
    // Every port is in the range.
    for (int p : ports) BOOST_TEST((p >= 32768 && p <= 60999));
}

// Linux connect() picks even ports only: their flows must still spread over both loops.
BOOST_AUTO_TEST_CASE(a_linux_client_s_even_ports_spread_over_two_loops) {
    unsigned on_loop_1 = 0, ports = 0;
    for (unsigned p = 32768; p < 61000; p += 2, ++ports)
        on_loop_1 += storage::flow_hash(static_cast<std::uint16_t>(p), 5201) % 2;
    BOOST_TEST(on_loop_1 > ports * 4 / 10);
    BOOST_TEST(on_loop_1 < ports * 6 / 10);
}

BOOST_AUTO_TEST_CASE(one_loop_owns_every_flow) {
    const tcp::flow_steering all{};
    for (unsigned p = 1; p < 65536; p += 997) BOOST_TEST(all.owns(static_cast<std::uint16_t>(p), 80));
}

// The receive rings (rx_path::ring): an IP packet up to the MTU to the
// small slots (member 0), a longer one (an offload super-frame) to the large.
BOOST_AUTO_TEST_CASE(the_receive_rings_split_frames_by_their_ip_packet_s_length) {
    const auto prog = link::size_split_program(1500);
    auto frame_of = [](std::size_t ip_bytes) {
        return std::vector<std::byte>(wire::ethernet_repr::header_len + ip_bytes);
    };
    BOOST_TEST(run_program(prog, frame_of(40)) == 0);
    BOOST_TEST(run_program(prog, frame_of(1500)) == 0);
    BOOST_TEST(run_program(prog, frame_of(1501)) == 1);
    BOOST_TEST(run_program(prog, frame_of(65535)) == 1);
}

BOOST_AUTO_TEST_CASE(on_an_old_kernel_a_member_s_filter_refuses_the_host_s_own_frames) {
    const auto prog = link::incoming_only_program();
    const auto frame = ipv4_frame({.src_port = 40000, .dst_port = 5201});
    BOOST_TEST(run_program(prog, frame, PACKET_OUTGOING) == 0);
    for (std::uint32_t type : {PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST})
        BOOST_TEST(run_program(prog, frame, type) == 0xffffffff, type);
}

// Rings per loop: each loop's receive sockets keep, by their own filter,
// the frames the fanout program would steer to that loop, and no other.
BOOST_AUTO_TEST_CASE(each_loop_s_ring_filter_keeps_the_frames_steering_gives_that_loop) {
    constexpr std::uint32_t all = 0xffffffff;
    for (unsigned loops : {1u, 2u, 3u}) {
        std::vector<std::vector<sock_filter>> filters;
        for (unsigned i = 0; i < loops; ++i) filters.push_back(link::loop_filter_program(i, loops));
        for (std::uint32_t port = 1024; port < 65536; port += 4999) {
            const auto frame = ipv4_frame({.src_port = static_cast<std::uint16_t>(port), .dst_port = 5201});
            const auto member = run_program(link::flow_steering_program(), frame) % loops;
            for (unsigned i = 0; i < loops; ++i) {
                BOOST_TEST(run_program(filters[i], frame) == (i == member ? all : 0), "loop " << i << " port " << port);
                BOOST_TEST(run_program(filters[i], frame, PACKET_OUTGOING) == 0);
            }
        }
        for (const auto& frame : {arp_request(), ipv4_frame({.protocol = wire::ip_proto::icmp}),
                                  ipv4_frame({.src_port = 3, .dst_port = 5, .fragment_offset = 185})})
            for (unsigned i = 0; i < loops; ++i) BOOST_TEST(run_program(filters[i], frame) == (i == 0 ? all : 0));
    }
}

BOOST_AUTO_TEST_SUITE_END()
