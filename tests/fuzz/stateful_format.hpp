// The stateful harness's input, shared with the seed generator: an 8-byte
// set-up, then actions until the input ends.
//
//   set-up  := options:u8 shape:u8 mss:u16 peer_iss:u32
//   action  := op:u8 (taken modulo op::count) and the op's fields below
//
// Sequence numbers the fuzzer gives are offsets from the connection's own
// values (rcv_nxt, snd_una), so its segments land near the windows.
#pragma once

#include <array>
#include <coronet/runtime/clock.hpp>
#include <coronet/tcp/config.hpp>
#include <cstdint>

#include "byte_io.hpp"

namespace coronet::fuzz::stateful {

using namespace std::chrono_literals;

namespace setup {
inline constexpr std::uint8_t active = 0x01;        // the stack connects (else the peer connects to a listener)
inline constexpr std::uint8_t timestamps = 0x02;    // the peer uses timestamps
inline constexpr std::uint8_t window_scale = 0x04;  // the peer offers window scaling (shift: window_scale)
inline constexpr std::uint8_t mss = 0x08;           // the peer sends an MSS option (value: mss)
inline constexpr std::uint8_t no_delay = 0x10;      // Nagle off
inline constexpr unsigned buffers_shift = 5;        // bits 5-6: index into buffer_sizes (send and receive)
inline constexpr std::uint8_t small_pool = 0x80;    // 4 transmit frames (else 64): the pool runs dry

// The set-up's second byte, shape: the peer's window shift in bits 0-3
// (with options' window_scale; 15 lies past RFC 7323's 14, which the stack
// must take as 14), the stack's congestion control (and whether the peer
// offers SACK) in bits 4-5 and its pacing in bits 6-7, each an index into
// the tables below (0: the defaults).
inline constexpr std::uint8_t shift_mask = 0x0f;
inline constexpr unsigned control_shift = 4, pacing_shift = 6;
struct control {
    const char* congestion;
    bool peer_sack;  // without it, losses are found by duplicate ACKs (and the peer's SACK blocks are hostile)
};
inline constexpr std::array<control, 4> controls{
    {{"bbr", true}, {"newreno", true}, {"cubic", true}, {"newreno", false}}};
inline constexpr std::array<tcp::tcp_config::pacing_mode, 4> pacings{
    tcp::tcp_config::pacing_mode::slow_start, tcp::tcp_config::pacing_mode::all,
    tcp::tcp_config::pacing_mode::controller, tcp::tcp_config::pacing_mode::off};
constexpr std::uint8_t shape(unsigned shift, unsigned control = 0, unsigned pacing = 0) {
    return static_cast<std::uint8_t>((shift & shift_mask) | ((control & 3u) << control_shift) |
                                     ((pacing & 3u) << pacing_shift));
}
// What a shape byte picks, as shape() puts it there.
constexpr const control& control_of(std::uint8_t shape) { return controls[(shape >> control_shift) & 3u]; }
constexpr tcp::tcp_config::pacing_mode pacing_of(std::uint8_t shape) { return pacings[(shape >> pacing_shift) & 3u]; }
}  // namespace setup

inline constexpr std::array<std::size_t, 4> buffer_sizes{2048, 8192, 65536, 262144};

namespace op {
// segment: flags:u8 seq:i16 ack:i16 window:u16 len:u16 extra:u8, then per SACK block left:u16 right:u16.
//   seq = rcv_nxt + seq, ack = snd_una + ack; len % 3001 bytes of the peer's stream at seq.
inline constexpr std::uint8_t segment = 0;
inline constexpr std::uint8_t ack_all = 1;     // window:u16 -- ACK of all the stack sent, at rcv_nxt
inline constexpr std::uint8_t data = 2;        // len:u16 fin:u8 -- in-order data (bit 0 of fin: with FIN)
inline constexpr std::uint8_t wait = 3;        // index:u8 -- virtual time from waits
inline constexpr std::uint8_t next_timer = 4;  // until the earliest timer has fired
inline constexpr std::uint8_t write = 5;       // len:u16 -- the application writes len bytes
inline constexpr std::uint8_t read = 6;        // len:u16 -- the application reads up to len bytes
inline constexpr std::uint8_t shutdown = 7;    // the application shuts down writing
inline constexpr std::uint8_t close = 8;       // the application closes
inline constexpr std::uint8_t abort = 9;       // the application aborts (RST)
// icmp: kind:u8 seq:i16 mtu:u16 -- an ICMP error from a router quoting the
//   stack's segment at snd_una + seq; kind (modulo icmp_kinds' size) picks
//   its type and code; mtu is the next-hop MTU of "fragmentation needed".
inline constexpr std::uint8_t icmp = 10;
inline constexpr std::uint8_t count = 11;
}  // namespace op

namespace extra {
inline constexpr std::uint8_t no_timestamp = 0x01;   // leave the timestamp out though negotiated
inline constexpr std::uint8_t old_timestamp = 0x02;  // a TSval from long ago (PAWS)
inline constexpr unsigned sack_shift = 2;            // bits 2-3: SACK blocks, from snd_una
inline constexpr std::uint8_t bad_checksum = 0x10;
inline constexpr std::uint8_t syn_options = 0x20;  // MSS, window scale and SACK-permitted options
inline constexpr std::uint8_t unverified = 0x40;   // rx_meta says the checksum is not computed (offload)
}  // namespace extra

// The ICMP errors op::icmp sends: {type, code}.
inline constexpr std::array<std::array<std::uint8_t, 2>, 10> icmp_kinds{{
    {3, 4},   // fragmentation needed (path MTU)
    {3, 0},   // net unreachable
    {3, 1},   // host unreachable
    {3, 2},   // protocol unreachable
    {3, 3},   // port unreachable
    {3, 13},  // administratively prohibited
    {11, 0},  // time exceeded
    {12, 0},  // parameter problem
    {4, 0},   // source quench (ignored)
    {3, 99},  // a code with no meaning
}};

inline constexpr std::array<runtime::duration, 16> waits{0ms, 1ms, 5ms, 40ms, 100ms, 200ms, 500ms, 1s,
                                                         2s,  5s,  10s, 30s,  60s,   61s,   120s,  300s};

inline constexpr std::size_t max_payload = 3000;
inline constexpr std::uint16_t active_local_port = 50000, passive_peer_port = 40000, service_port = 80;
inline constexpr std::uint32_t peer_ts_start = 1000;

}  // namespace coronet::fuzz::stateful
