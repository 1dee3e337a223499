// What a frame's offloads mean to the layers above the device: the checksum
// state of a received frame and its segmentation (rx), and what a sender
// asks the device to finish for it (tx, virtio_net_hdr semantics).
#pragma once

#include <cstdint>

namespace coronet::storage {

// What the kernel said about a received frame's L4 checksum.
enum class rx_checksum : std::uint8_t {
    unknown,   // verify it
    partial,   // not computed yet (sender used checksum offload): do not verify
    verified,  // already checked by the kernel
};

struct rx_meta {
    rx_checksum checksum = rx_checksum::unknown;
    std::uint16_t gso_size = 0;  // > 0: a super-frame of several MSS-sized segments
};

// What a sender asks of the device's offloads.
struct tx_offload {
    bool checksum_partial = false;  // fill in the L4 checksum at csum_start+csum_offset
    std::uint16_t csum_start = 0;   // from the start of the Ethernet frame
    std::uint16_t csum_offset = 0;
    std::uint16_t gso_size = 0;  // 0 = no segmentation; else TCPv4 segments of this payload size
};

}  // namespace coronet::storage
