#include "stack_fixture.hpp"

#include "check.hpp"

#include <coronet/wire/icmp.hpp>
#include <coronet/wire/ipv4.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <exception>

namespace coronet::fuzz {

using namespace wire::tcp_flag;

bool tracing() {
    static const bool on = std::getenv("CORONET_FUZZ_TRACE") != nullptr;
    return on;
}

// ---- tap_device ------------------------------------------------------------

tap_device::tap_device(std::size_t frames, std::uint16_t mtu)
    : mtu_(mtu), pool_(frames, mtu + 14 + link::packet_headroom, link::packet_headroom) {}

std::optional<storage::packet> tap_device::allocate(std::size_t) {
    auto p = pool_.get();
    if (!p) ++counters_.tx_dropped;
    return p;
}

void tap_device::transmit(storage::packet frame) {
    ++counters_.tx_frames;
    counters_.tx_bytes += frame.size();
    sent_.push_back(std::move(frame));
}

void tap_device::inject(wire::bytes frame, const storage::rx_meta& meta) {
    if (!sink_) return;
    ++counters_.rx_frames;
    counters_.rx_bytes += frame.size();
    sink_->on_frame(frame, meta);
}

// ---- frames ---------------------------------------------------------------

sent_frame decode_sent(wire::bytes frame, std::uint16_t mtu) {
    sent_frame out;
    auto eth = wire::ethernet_view::parse(frame);
    require(eth && frame.size() <= mtu + wire::ethernet_repr::header_len, "the stack sent a short or oversized frame");
    require(eth->src() == stack_mac, "the stack sent a frame from another MAC");
    if (eth->type() == wire::ethertype::arp) {
        auto arp = wire::arp_view::parse(eth->payload());
        require(static_cast<bool>(arp), "the stack sent a malformed ARP packet");
        out.arp = wire::arp_repr::from(*arp);
        return out;
    }
    require(eth->type() == wire::ethertype::ipv4, "the stack sent a frame that is neither ARP nor IPv4");
    auto ip = wire::ipv4_view::parse(eth->payload());
    require(ip && ip->src() == stack_ip, "the stack sent a malformed IPv4 datagram");
    if (ip->protocol() == wire::ip_proto::icmp) {
        require(static_cast<bool>(wire::icmp_view::parse(ip->payload())), "the stack sent a malformed ICMP message");
        return out;
    }
    require(ip->protocol() == wire::ip_proto::tcp, "the stack sent an IPv4 protocol it does not speak");
    auto seg = wire::tcp_view::parse(ip->payload(), ip->src(), ip->dst());
    require(static_cast<bool>(seg), "the stack sent a malformed TCP segment (header, options or checksum)");
    out.tcp = wire::tcp_repr::from(*seg);
    out.payload = seg->payload();
    return out;
}

std::vector<std::byte> peer_tcp_frame(const wire::tcp_repr& h, wire::bytes payload, bool good_checksum) {
    constexpr std::size_t l2 = wire::ethernet_repr::header_len, l3 = wire::ipv4_repr::header_len;
    const std::size_t l4 = h.header_len() + payload.size();
    std::vector<std::byte> f(l2 + l3 + l4);
    const wire::mut_bytes frame{f};
    wire::ethernet_repr{.dst = stack_mac, .src = peer_mac, .type = wire::ethertype::ipv4}.emit(frame);
    wire::ipv4_repr ip{};
    ip.src = peer_ip;
    ip.dst = stack_ip;
    ip.protocol = wire::ip_proto::tcp;
    ip.payload_len = static_cast<std::uint16_t>(l4);
    ip.emit(frame.subspan(l2));
    const wire::mut_bytes seg = frame.subspan(l2 + l3);
    std::copy(payload.begin(), payload.end(), seg.begin() + static_cast<std::ptrdiff_t>(h.header_len()));
    h.emit(seg, peer_ip, stack_ip);
    if (!good_checksum) seg[16] ^= std::byte{0x5a};
    return f;
}

std::vector<std::byte> peer_arp_frame(std::uint16_t op) {
    const bool request = op == wire::arp_op::request;
    std::vector<std::byte> f(wire::ethernet_repr::header_len + wire::arp_repr::len);
    const wire::mut_bytes frame{f};
    wire::ethernet_repr{.dst = request ? wire::mac_address::broadcast() : stack_mac, .src = peer_mac,
                        .type = wire::ethertype::arp}
        .emit(frame);
    wire::arp_repr{.operation = op, .sender_mac = peer_mac, .sender_ip = peer_ip,
                   .target_mac = request ? wire::mac_address{} : stack_mac, .target_ip = stack_ip}
        .emit(frame.subspan(wire::ethernet_repr::header_len));
    return f;
}

// ---- the stack ------------------------------------------------------------

namespace {

constexpr std::array<std::uint8_t, 16> isn_secret{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// The first TCP segment among the frames sent so far whose flags are exactly `flags`.
std::optional<wire::tcp_repr> take_segment(stack_under_test& s, std::uint8_t flags) {
    std::optional<wire::tcp_repr> found;
    for (auto& p : s.dev.take_sent()) {
        const sent_frame f = decode_sent(p.data(), s.dev.mtu());
        if (!found && f.tcp && f.tcp->flags == flags) found = f.tcp;
    }
    return found;
}

// The arrows of the state diagram (DESIGN.md, "The state machine").
bool legal_transition(tcp::state from, tcp::state to) {
    using enum tcp::state;
    switch (from) {
    case closed: return to == syn_sent;
    case listen: return to == syn_rcvd || to == syn_sent;
    case syn_sent: return to == established || to == syn_rcvd || to == closed;
    case syn_rcvd: return to == established || to == listen || to == fin_wait_1 || to == closed;
    case established: return to == fin_wait_1 || to == close_wait || to == closed;
    case fin_wait_1: return to == fin_wait_2 || to == closing || to == time_wait || to == closed;
    case fin_wait_2: return to == time_wait || to == closed;
    case close_wait: return to == last_ack || to == closed;
    case closing: return to == time_wait || to == closed;
    case last_ack: return to == closed;
    case time_wait: return to == closed;
    }
    return false;
}

}  // namespace

stack_under_test::stack_under_test(const tcp::tcp_config& cfg, std::size_t frames)
    : dev(frames), host(sim, dev, {.address = stack_ip, .prefix_len = 24}), tcp(host, cfg, isn_secret) {
    // CORONET_FUZZ_TRACE=1 when replaying one input: the stack logs its transitions.
    spdlog::set_level(tracing() ? spdlog::level::info : spdlog::level::off);
    sim.set_error_handler([](std::string_view name, std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            fail("task '" + std::string(name) + "' threw: " + ex.what());
        } catch (...) {
            fail("task '" + std::string(name) + "' threw");
        }
    });
    tcp.on_transition = [](const tcp::tcb&, tcp::state from, tcp::state to, const char* cause) {
        if (!legal_transition(from, to))
            fail("no such arrow in the state diagram: " + std::string(tcp::to_string(from)) + " -> " +
                 std::string(tcp::to_string(to)) + " (" + cause + ")");
    };
    host.start();
    dev.take_sent();  // the gratuitous ARP
}

void introduce_peer(stack_under_test& s) {
    s.dev.inject(peer_arp_frame(wire::arp_op::request));
    s.dev.take_sent();  // the reply
}

std::optional<opened> accept_from_peer(stack_under_test& s, tcp::listener_state& l, std::uint16_t local_port,
                                       const peer_open& p) {
    wire::tcp_repr h{.src_port = p.port, .dst_port = local_port, .seq = p.iss, .flags = syn, .window = p.window,
                     .options = p.options};
    s.dev.inject(peer_tcp_frame(h, {}));
    const auto syn_ack = take_segment(s, syn | ack);
    if (!syn_ack || syn_ack->ack != p.iss + 1) return std::nullopt;
    h = {.src_port = p.port, .dst_port = local_port, .seq = p.iss + 1, .ack = syn_ack->seq + 1, .flags = ack,
         .window = p.window};
    if (p.options.timestamp && syn_ack->options.timestamp)
        h.options.timestamp = {{p.options.timestamp->first, syn_ack->options.timestamp->first}};
    s.dev.inject(peer_tcp_frame(h, {}));
    s.dev.take_sent();
    auto conn = l.pop();
    if (!conn || conn->current() != tcp::state::established) return std::nullopt;
    return opened{conn, syn_ack->seq, syn_ack->options};
}

std::optional<opened> connect_to_peer(stack_under_test& s, std::uint16_t local_port, const peer_open& p) {
    auto conn = s.tcp.connect(peer_ip, p.port, local_port);
    if (!conn) return std::nullopt;
    const auto syn_seg = take_segment(s, syn);
    if (!syn_seg) return std::nullopt;
    wire::tcp_repr h{.src_port = p.port, .dst_port = local_port, .seq = p.iss, .ack = syn_seg->seq + 1,
                     .flags = syn | ack, .window = p.window, .options = p.options};
    if (h.options.timestamp) {
        if (syn_seg->options.timestamp) h.options.timestamp->second = syn_seg->options.timestamp->first;
        else h.options.timestamp.reset();  // RFC 7323 3.2: only when the SYN had one
    }
    s.dev.inject(peer_tcp_frame(h, {}));
    s.dev.take_sent();  // the ACK
    if ((*conn)->current() != tcp::state::established) return std::nullopt;
    return opened{*conn, syn_seg->seq, syn_seg->options};
}

}  // namespace coronet::fuzz
