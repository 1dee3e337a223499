#include "ip_device.hpp"

#include <algorithm>
#include <coronet/wire/arp.hpp>

namespace coronet::packetdrill {

namespace {
constexpr std::size_t ethernet = wire::ethernet_repr::header_len;
constexpr std::size_t frames = 256;
}  // namespace

ip_device::ip_device(runtime::executor& ex)
    : ex_(ex), pool_(frames, 1500 + ethernet + link::packet_headroom, link::packet_headroom) {}

std::optional<storage::packet> ip_device::allocate(std::size_t) {
    auto p = pool_.get();
    if (!p) ++counters_.tx_dropped;
    return p;
}

void ip_device::transmit(storage::packet frame) {
    ++counters_.tx_frames;
    counters_.tx_bytes += frame.size();
    const auto eth = wire::ethernet_view::parse(frame.data());
    if (!eth) {
        ++counters_.tx_errors;
        return;
    }
    if (eth->type() == wire::ethertype::arp) {
        if (const auto arp = wire::arp_view::parse(eth->payload()); arp && arp->operation() == wire::arp_op::request)
            arp_asked_.push_back({arp->target_ip(), arp->sender_ip()});
        return;
    }
    if (eth->type() != wire::ethertype::ipv4) return;
    const wire::bytes ip = eth->payload();
    sent_.push_back({{ip.begin(), ip.end()}, ex_.now()});
}

bool ip_device::receive(wire::bytes ip_packet) {
    if (ip_packet.empty() || (std::to_integer<unsigned>(ip_packet[0]) >> 4) != 4) return false;
    deliver(wire::ethertype::ipv4, ip_packet);
    return true;
}

bool ip_device::answer_arp() {
    if (arp_asked_.empty()) return false;
    for (const auto& [asked, by] : std::exchange(arp_asked_, {})) {
        std::array<std::byte, wire::arp_repr::len> arp{};
        wire::arp_repr{.operation = wire::arp_op::reply,
                       .sender_mac = peer_mac,
                       .sender_ip = asked,
                       .target_mac = own_mac,
                       .target_ip = by}
            .emit(arp);
        deliver(wire::ethertype::arp, arp);
    }
    return true;
}

void ip_device::deliver(std::uint16_t type, wire::bytes payload) {
    if (!sink_) return;
    std::vector<std::byte> frame(ethernet + payload.size());
    wire::ethernet_repr{.dst = own_mac, .src = peer_mac, .type = type}.emit(frame);
    std::copy(payload.begin(), payload.end(), frame.begin() + ethernet);
    ++counters_.rx_frames;
    counters_.rx_bytes += frame.size();
    sink_->on_frame(frame, {});
}

}  // namespace coronet::packetdrill
