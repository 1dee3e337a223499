// coronet-bench link: the frame rate of one interface, through a plain
// AF_PACKET socket (the best the kernel offers without mmap rings) or through
// coronet's af_packet_device on a loop, sending or receiving frames of one
// size and of a local experimental EtherType that no stack answers.
#pragma once

#include <coronet/runtime/executor.hpp>
#include <cstdint>
#include <string>

namespace coronet::bench {

enum class link_path { raw, device };
enum class link_direction { send, receive };

struct link_config {
    std::string ifname;
    link_path path = link_path::raw;
    link_direction direction = link_direction::receive;
    std::size_t frame_size = 64;  // bytes handed to the interface, without the FCS
    runtime::duration duration = std::chrono::seconds(5);
};

// The EtherType of the frames sent and counted (IEEE 802 local experimental 1).
inline constexpr std::uint16_t link_ethertype = 0x88b5;
inline constexpr std::size_t min_link_frame = 60, max_link_frame = 1514;

// Runs one measurement for cfg.duration and returns its JSON line; throws
// std::system_error when the interface or the socket cannot be used.
std::string run_link(const link_config& cfg);

}  // namespace coronet::bench
