#include "support/tap_device.hpp"

namespace coronet::test {

tap_device::tap_device(wire::mac_address mac, std::size_t frames, std::uint16_t mtu)
    : mac_(mac), mtu_(mtu), pool_(frames, mtu + 14 + link::packet_headroom, link::packet_headroom) {}

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

}  // namespace coronet::test
