// The link-layer device interface shared by the AF_PACKET device, the
// in-memory sim_link and the pcapng tap. Received frames are pushed up to a
// frame_sink from the loop; frames to send are packets from the device's pool.
#pragma once

#include <coronet/storage/packet.hpp>
#include <coronet/wire/ethernet.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace coronet::link {

// The frame vocabulary devices share with the layers above (storage/).
using storage::packet;
using storage::packet_pool;
using storage::rx_checksum;
using storage::rx_meta;
using storage::tx_offload;
using wire::bytes;
using wire::mut_bytes;

struct device_counters {
    std::uint64_t rx_frames = 0, rx_bytes = 0, rx_no_buffers = 0, rx_errors = 0;
    std::uint64_t tx_frames = 0, tx_bytes = 0, tx_dropped = 0, tx_errors = 0;
    std::uint64_t tx_gso_frames = 0;       // of tx_frames: segmentation-offload super-frames
    std::uint64_t tx_large_exhausted = 0;  // a sender wanted a super-frame buffer and got an MTU-sized one
    std::uint64_t rx_kernel_drops = 0;     // frames the kernel dropped before we could read them
    std::uint64_t rx_overflow = 0;         // of rx_frames: found the receive ring full, read from the overflow socket
};

class frame_sink {
public:
    // One received Ethernet frame; the bytes are valid only during the call.
    virtual void on_frame(bytes frame, const rx_meta& meta) = 0;

protected:
    ~frame_sink() = default;
};

class device {
public:
    virtual ~device() = default;
    virtual wire::mac_address mac() const = 0;
    // Largest IP packet per frame (the interface MTU, without the Ethernet header).
    virtual std::uint16_t mtu() const = 0;
    virtual std::string name() const = 0;
    // Whether transmit() honours packet::offload (checksum and segmentation).
    virtual bool supports_offload() const { return false; }

    // Starts delivering received frames to sink (which must outlive the device).
    virtual void start(frame_sink& sink) = 0;
    // An empty packet with headroom for every header, or nullopt when the
    // transmit pool is exhausted (counted as tx_dropped). Its tailroom is an
    // MTU-sized frame's; a device with segmentation offload may hand out a
    // larger one when `wanted` bytes are asked for (the caller checks
    // tailroom()).
    virtual std::optional<packet> allocate(std::size_t wanted) = 0;
    std::optional<packet> allocate() { return allocate(0); }
    // Sends one complete Ethernet frame; a frame that cannot be queued is
    // dropped and counted.
    virtual void transmit(packet frame) = 0;
    // How many more frames transmit() can queue now. A device with a limit on
    // sends in flight frees room as the loop reaps their completions; one
    // without says SIZE_MAX.
    virtual std::size_t tx_room() const { return std::numeric_limits<std::size_t>::max(); }
    virtual const device_counters& counters() const = 0;
};

// Headroom every packet gets: virtio_net_hdr (10) + Ethernet (14) + IPv4 with
// options (60) + TCP with options (60), rounded up.
inline constexpr std::size_t packet_headroom = 160;

}  // namespace coronet::link
