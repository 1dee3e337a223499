// A device whose far end is the test: frames the host sends wait in the
// device, holding their pool buffers (so a small pool runs dry as a real one
// does), until the test takes them; inject() hands the host a frame. With
// `offload` it takes segmentation-offload frames as AF_PACKET does (up to a
// 64 KiB IP packet, checksum left to the device): the test reads their size
// and packet::offload, not their checksums.
#pragma once

#include <coronet/link/device.hpp>
#include <optional>
#include <utility>
#include <vector>

namespace coronet::test {

class tap_device final : public link::device {
public:
    tap_device(wire::mac_address mac, std::size_t frames, std::uint16_t mtu = 1500, bool offload = false);

    wire::mac_address mac() const override { return mac_; }
    std::uint16_t mtu() const override { return mtu_; }
    std::string name() const override { return "tap"; }
    bool supports_offload() const override { return offload_; }
    void start(link::frame_sink& sink) override { sink_ = &sink; }
    using link::device::allocate;
    std::optional<storage::packet> allocate(std::size_t wanted) override;
    void transmit(storage::packet frame) override;
    const link::device_counters& counters() const override { return counters_; }

    // Hands one frame to the host as received.
    void inject(wire::bytes frame, const storage::rx_meta& meta = {});
    // The frames sent since the last call; their buffers return to the pool when dropped.
    std::vector<storage::packet> take_sent() { return std::exchange(sent_, {}); }

private:
    wire::mac_address mac_;
    std::uint16_t mtu_;
    bool offload_;
    storage::packet_pool pool_;
    storage::packet_pool large_pool_;  // segmentation-offload frames; empty without offload
    link::frame_sink* sink_ = nullptr;
    std::vector<storage::packet> sent_;
    link::device_counters counters_;
};

}  // namespace coronet::test
