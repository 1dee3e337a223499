#include "support/tap_device.hpp"

#include <coronet/wire/bytes.hpp>
#include <coronet/wire/checksum.hpp>

namespace coronet::test {

namespace {
// A 64 KiB IP packet with its Ethernet header and headroom, as AF_PACKET's large buffers.
constexpr std::size_t large_buffer = 65536 + 256;
}  // namespace

tap_device::tap_device(wire::mac_address mac, std::size_t frames, std::uint16_t mtu, bool offload)
    : mac_(mac),
      mtu_(mtu),
      offload_(offload),
      pool_(frames, mtu + 14 + link::packet_headroom, link::packet_headroom),
      large_pool_(offload ? frames : 0, large_buffer, link::packet_headroom) {}

std::optional<storage::packet> tap_device::allocate(std::size_t wanted) {
    if (wanted > pool_.buffer_size() - link::packet_headroom) {
        if (auto big = large_pool_.get()) return big;  // else an MTU-sized one will do
    }
    auto p = pool_.get();
    if (!p) ++counters_.tx_dropped;
    return p;
}

void tap_device::transmit(storage::packet frame) {
    // With offload the checksum is the device's to finish (the field holds
    // the pseudo-header sum), so that the test can decode a single segment;
    // super-frames it reads by size.
    const storage::tx_offload& o = frame.offload;
    if (offload_ && o.checksum_partial && o.gso_size == 0 && o.csum_start + o.csum_offset + 2u <= frame.size()) {
        const wire::mut_bytes d = frame.data();
        wire::store_u16(d, std::size_t{o.csum_start} + o.csum_offset, wire::internet_checksum(d.subspan(o.csum_start)));
    }
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
