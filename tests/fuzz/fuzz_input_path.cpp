// The full input path: frames from the fuzzer go into a host's device and up
// through Ethernet, ARP, IPv4, ICMP and TCP (demultiplexing, the listener,
// two established connections' state machines), with virtual time passing
// between them and for ten minutes after the last, so timers fire. Every
// frame the stack sends must be well formed, and after each frame every
// connection keeps its invariants. Input format: input_path_format.hpp. The
// connection the stack opened (its peer offered no SACK) runs the congestion
// control the input's length picks (active_controls), so that each
// controller meets hostile frames and a peer's duplicate ACKs without SACK
// here too (the seeds active-dup-acks-* walk that recovery under each).
#include <array>
#include <coronet/tcp/congestion.hpp>
#include <coronet/wire/checksum.hpp>
#include <coronet/wire/ipv4.hpp>
#include <vector>

#include "check.hpp"
#include "input_path_format.hpp"
#include "support/stack_under_test.hpp"

namespace coronet::fuzz {
namespace {

using namespace input_path;
using namespace std::chrono_literals;

tcp::tcp_config make_config() {
    tcp::tcp_config cfg;
    cfg.send_buffer = 16 * 1024;
    cfg.receive_buffer = 8 * 1024;  // small: the fuzzer fills windows and holes quickly
    return cfg;
}
const tcp::tcp_config config = make_config();

// Takes the frames the stack sent (decoding checks each is well formed) and
// answers its ARP requests for the peer, until it sends nothing more.
void drain(stack_under_test& s) {
    s.drain([](const sent_frame&) {});
}

// The application reads whatever has arrived.
void read_all(tcp::tcb& c) {
    std::array<std::byte, 4096> buf;
    while (c.app_read(buf) > 0) {
    }
}

// ---- the fix-ups a record's control byte asks for ---------------------------

constexpr std::size_t eth_len = wire::ethernet_repr::header_len;

bool is_ipv4(const std::vector<std::byte>& f) {
    return f.size() >= eth_len + wire::ipv4_repr::header_len && wire::load_u16(f, 12) == wire::ethertype::ipv4;
}

// IHL in bytes, at least 20 and within the frame.
std::size_t ip_header_len(const std::vector<std::byte>& f) {
    const std::size_t ihl = std::max<std::size_t>(20, (wire::load_u8(f, eth_len) & 0x0fu) * 4u);
    return std::min(ihl, f.size() - eth_len);
}

// The transport bytes the IPv4 header's total length covers.
wire::mut_bytes l4_of(std::vector<std::byte>& f) {
    const std::size_t total = std::min<std::size_t>(wire::load_u16(f, eth_len + 2), f.size() - eth_len);
    const std::size_t ihl = ip_header_len(f);
    if (total < ihl) return {};
    return wire::mut_bytes{f}.subspan(eth_len + ihl, total - ihl);
}

void rebase_ack(std::vector<std::byte>& f, wire::seq32 passive_iss, wire::seq32 active_iss) {
    if (!is_ipv4(f) || wire::load_u8(f, eth_len + 9) != wire::ip_proto::tcp) return;
    const wire::mut_bytes seg = l4_of(f);
    if (seg.size() < 20) return;
    const std::uint16_t port = wire::load_u16(seg, 2);
    const wire::seq32 iss = port == listen_port ? passive_iss : port == active_local_port ? active_iss : wire::seq32{};
    wire::store_u32(seg, 8, wire::load_u32(seg, 8) + iss.value);
}

void fix_ipv4(std::vector<std::byte>& f) {
    if (!is_ipv4(f)) return;
    const wire::mut_bytes ip = wire::mut_bytes{f}.subspan(eth_len);
    wire::store_u16(ip, 2, static_cast<std::uint16_t>(std::min<std::size_t>(ip.size(), 0xffff)));
    wire::store_u16(ip, 10, 0);
    wire::store_u16(ip, 10, wire::internet_checksum(ip.first(ip_header_len(f))));
}

void fix_l4(std::vector<std::byte>& f) {
    if (!is_ipv4(f)) return;
    const std::uint8_t protocol = wire::load_u8(f, eth_len + 9);
    const wire::mut_bytes l4 = l4_of(f);
    if (protocol == wire::ip_proto::tcp && l4.size() >= 20) {
        wire::store_u16(l4, 16, 0);
        wire::checksum_acc acc;
        wire::add_pseudo_header(acc, wire::load_address_v4(f, eth_len + 12), wire::load_address_v4(f, eth_len + 16),
                                wire::ip_proto::tcp, static_cast<std::uint16_t>(l4.size()));
        acc.add(l4);
        wire::store_u16(l4, 16, acc.finish());
    } else if (protocol == wire::ip_proto::icmp && l4.size() >= 8) {
        wire::store_u16(l4, 2, 0);
        wire::store_u16(l4, 2, wire::internet_checksum(l4));
    }
}

// ---- the set-up -----------------------------------------------------------

struct world {
    stack_under_test s{config, 32};
    std::shared_ptr<tcp::listener_state> listener;
    opened passive, active;

    explicit world(std::string_view active_control) {
        introduce_peer(s);
        listener = s.tcp.listen(listen_port, 4).value();
        wire::tcp_options linux_like;
        linux_like.mss = 1460;
        linux_like.window_scale = 7;
        linux_like.sack_permitted = true;
        linux_like.timestamp = {{peer_ts_start, 0}};
        auto p =
            accept_from_peer(s, *listener, listen_port, {wire::seq32{passive_peer_iss}, passive_peer_port, linux_like});
        wire::tcp_options small;
        small.mss = 536;
        auto a = connect_to_peer(s, active_local_port, {wire::seq32{active_peer_iss}, active_peer_port, small});
        if (!p || !a) fail("the set-up's handshakes did not complete");
        passive = *p;
        active = *a;
        if (!active.conn->set_congestion_control(active_control)) fail("the input picks an unknown congestion control");
        // Data in flight both ways for the fuzzer's ACKs to meet.
        std::vector<std::byte> data(3000);
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = stream_byte(1, i);
        passive.conn->app_write(data);
        active.conn->app_write(wire::bytes(data).first(1000));
        drain(s);
        // The controller the data went out under.
        if (tcp::congestion_algorithm_named(active.conn->congestion().name()) !=
            tcp::congestion_algorithm_named(active_control))
            fail("the opened connection does not run the congestion control the input picks");
    }
};

}  // namespace
}  // namespace coronet::fuzz

using namespace coronet::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    world w{active_control(size)};
    byte_reader in{input_bytes(data, size)};
    std::vector<std::byte> frame;
    while (!in.empty()) {
        const std::uint8_t ctl = in.u8();
        const coronet::wire::bytes bytes = in.take(in.u16());
        frame.assign(bytes.begin(), bytes.end());
        w.s.advance(waits[ctl >> control::wait_shift], [&] { drain(w.s); });
        if (ctl & control::rebase_ack) rebase_ack(frame, w.passive.iss, w.active.iss);
        if (ctl & control::fix_ipv4) fix_ipv4(frame);
        if (ctl & control::fix_l4) fix_l4(frame);
        coronet::storage::rx_meta meta;
        const unsigned checksum = ctl & control::rx_checksum_mask;
        meta.checksum = checksum == 1   ? coronet::storage::rx_checksum::partial
                        : checksum == 2 ? coronet::storage::rx_checksum::verified
                                        : coronet::storage::rx_checksum::unknown;
        w.s.dev.inject(frame, meta);
        read_all(*w.passive.conn);
        drain(w.s);
        w.s.check_invariants();
    }
    // The application finishes one connection; then the timers have their turn.
    w.passive.conn->app_shutdown_write();
    w.s.advance(std::chrono::minutes(10), [&] {
        drain(w.s);
        w.s.check_invariants();
    });
    return 0;
}
