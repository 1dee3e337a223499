// The input-path harness's input, shared with the seed generator: records,
// each one frame for the stack and how to deliver it,
//   record := control:u8 length:u16 frame[length]
// and the fixed set-up the frames are aimed at.
#pragma once

#include <array>
#include <coronet/runtime/clock.hpp>
#include <cstddef>
#include <cstdint>

#include "byte_io.hpp"

namespace coronet::fuzz::input_path {

using namespace std::chrono_literals;

namespace control {
inline constexpr std::uint8_t rx_checksum_mask = 0x03;  // rx_meta.checksum: 0 unknown, 1 partial, 2 verified, 3 unknown
inline constexpr std::uint8_t fix_ipv4 = 0x04;          // set the IPv4 total length and header checksum
inline constexpr std::uint8_t fix_l4 = 0x08;            // set the TCP or ICMP checksum
inline constexpr std::uint8_t rebase_ack = 0x10;  // add the stack's ISN of the connection on the TCP ports to the ack
inline constexpr unsigned wait_shift = 5;         // bits 5-7: index into waits, virtual time before delivery
}  // namespace control

inline constexpr std::array<runtime::duration, 8> waits{0ms, 1ms, 10ms, 40ms, 200ms, 1s, 10s, 100s};

// The stack (10.0.0.1) listens on listen_port and has two established
// connections with the peer (10.0.0.2): one it accepted (from
// passive_peer_port; the peer offered MSS 1460, window scale 7, SACK and
// timestamps) and one it opened (from active_local_port to active_peer_port;
// MSS 536, no options). The peer's ISNs are fixed, near the 2^32 wrap.
inline constexpr std::uint16_t listen_port = 80, passive_peer_port = 40000;
inline constexpr std::uint16_t active_local_port = 50000, active_peer_port = 5001;
inline constexpr std::uint32_t passive_peer_iss = 0xfffffc00, active_peer_iss = 0xffffffff;
inline constexpr std::uint32_t peer_ts_start = 1000;

// The congestion control of the connection the stack opened: the input's
// length modulo 3 picks it, so that no set-up byte shifts every committed
// input (a length that is a multiple of 3 keeps the default, BBR, which
// every input ran before) and the fuzzer's mutations move between them.
inline constexpr std::array<const char*, 3> active_controls{"bbr", "newreno", "cubic"};
constexpr const char* active_control(std::size_t input_size) noexcept { return active_controls[input_size % 3]; }

// Appends one record.
inline void encode(byte_writer& w, std::uint8_t control_bits, wire::bytes frame) {
    w.u8(control_bits)
        .u16(static_cast<std::uint16_t>(frame.size()))
        .append(frame.first(std::min<std::size_t>(frame.size(), 0xffff)));
}

}  // namespace coronet::fuzz::input_path
