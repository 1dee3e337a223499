// Tunables of the TCP layer, with defaults close to Linux's where Linux has one.
#pragma once

#include <algorithm>
#include <chrono>
#include <coronet/storage/flow_hash.hpp>
#include <coronet/tcp/rtt.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

namespace coronet::tcp {

// TCP keep-alive (RFC 1122 4.2.3.6), Linux's defaults: after `idle` without
// a segment from the peer, up to `probes` probes `interval` apart; no answer
// ends the connection with timed_out. Off unless enabled here or per
// connection (connection::set_keep_alive).
struct keepalive_config {
    bool enabled = false;
    runtime::duration idle = std::chrono::hours(2);         // tcp_keepalive_time
    runtime::duration interval = std::chrono::seconds(75);  // tcp_keepalive_intvl
    unsigned probes = 9;                                    // tcp_keepalive_probes
};

// Which flows this layer owns when several stacks, one per loop, share an
// interface (README "Two loops"): the link steers a TCP segment to loop
// storage::flow_hash(source port, destination port) % count, so active opens
// pick their ephemeral port to make that this layer's index. count 1: every flow.
struct flow_steering {
    unsigned index = 0, count = 1;
    // Whether a connection between these ports is steered to this layer.
    bool owns(std::uint16_t local_port, std::uint16_t remote_port) const noexcept {
        return count <= 1 || storage::flow_hash(local_port, remote_port) % count == index;
    }
};

struct tcp_config {
    // Per connection: each buffer starts at its initial size (the receive
    // buffer is the receive window). With buffer_auto_tuning it grows up to
    // its maximum (Linux's tcp_wmem / tcp_rmem "default" and "max"): the
    // receive buffer to twice what the application drained in the last
    // round trip (dynamic right-sizing), the send buffer to twice what
    // cwnd and the peer's window let fly while the application waits for
    // room. Off: fixed at the initial sizes, as Linux does for a socket
    // whose application set SO_SNDBUF / SO_RCVBUF.
    std::size_t send_buffer = 256 * 1024;
    std::size_t receive_buffer = 256 * 1024;
    std::size_t send_buffer_max = 4 << 20;
    std::size_t receive_buffer_max = 6 << 20;
    bool buffer_auto_tuning = true;
    // The most each buffer can grow to (the window scale is chosen for the receive one).
    std::size_t send_buffer_limit() const noexcept {
        return buffer_auto_tuning ? std::max(send_buffer, send_buffer_max) : send_buffer;
    }
    std::size_t receive_buffer_limit() const noexcept {
        return buffer_auto_tuning ? std::max(receive_buffer, receive_buffer_max) : receive_buffer;
    }
    // The whole layer: the buffer capacity all connections may reserve. Past
    // half of it new connections get proportionally smaller buffers (down to
    // min_buffer each) and no buffer grows; when even those do not fit, or
    // max_connections connections exist, none of them in TIME_WAIT, new
    // connections are refused: a SYN draws a reset, connect() fails with
    // no_buffer_space (at max_connections, one in TIME_WAIT is ended for
    // the new one instead, the longest-waiting first:
    // layer_counters::time_wait_evicted). What counts is
    // each buffer's current capacity (the initial size, then what it grew
    // to), not its maximum. Buffers are allocated when first used and freed
    // on entering TIME_WAIT or CLOSED.
    std::size_t memory_limit = std::size_t{2} << 30;
    std::size_t min_buffer = 16 * 1024;
    // Freed buffers kept for new connections, at most this many bytes (no
    // allocation, mmap or page faults for short connections).
    std::size_t buffer_cache = 4 << 20;
    std::size_t max_connections = 262144;
    // A listener whose SYN queue (its backlog) is full answers SYNs with SYN
    // cookies (RFC 4987 3.6) instead of dropping them.
    bool syn_cookies = true;
    keepalive_config keepalive;
    runtime::duration msl = std::chrono::seconds(30);  // TIME_WAIT lasts 2*MSL = 60 s
    unsigned syn_retries = 6;                          // Linux tcp_syn_retries: SYN sent 7 times, ~127 s in all
    unsigned synack_retries = 5;                       // Linux tcp_synack_retries
    unsigned max_retransmits = 15;                     // Linux tcp_retries2: then the connection times out
    rto_config rto;
    runtime::duration delayed_ack = std::chrono::milliseconds(40);
    bool nagle = true;  // on by default; connection::set_no_delay turns it off
    runtime::duration fin_wait_2_timeout = std::chrono::seconds(60);  // orphaned connections only
    unsigned orphan_retries = 8;  // Linux tcp_orphan_retries (0 there means 8): closed connections give up sooner
    // Out-of-order ranges held per connection (16 bytes each, allocated as
    // reordering needs them): a path that reorders a window of several
    // hundred segments leaves as many holes. Data that would need more is
    // dropped and counted (connection_stats::ooo_refused).
    std::size_t max_ooo_ranges = 1024;
    // RFC 5961 sec. 7: challenge ACKs per second, per connection and for the
    // whole layer. A fixed layer-wide budget was a side channel (CVE-2016-5696:
    // an attacker who drains it learns from the answers it still gets whether
    // a spoofed RST hit someone else's window); per connection the attacker
    // drains only its own, and the layer's budget is drawn anew each second
    // at random between half and one and a half times this figure (as Linux).
    unsigned challenge_acks_per_connection = 10;
    unsigned challenge_ack_limit = 1000;
    // The congestion control of new connections: one of
    // congestion_control_names() (connection::set_congestion_control
    // changes one connection's). BBR, which wins wan.sh's lossy cells by
    // far and is level with NewReno on a LAN (README "Congestion control
    // and pacing"); Linux here runs BBR too.
    std::string congestion = "bbr";
    // Pacing: data frames leave spread over the round trip at a rate rather
    // than in bursts the window allows at once. `controller`: where the
    // controller asks for a rate (BBR); `all`: the others too, at
    // cwnd/SRTT with Linux's gains (200 % in slow start, 120 % after);
    // `slow_start`: the others only in slow start (cwnd below ssthresh),
    // then by the ACK clock; `off`: never. On a LAN (SRTT or the smallest
    // RTT sample 2 ms or less) only below a LAN's rate: where the largest
    // frame lasts 100 us or more (64 KiB offload frames: under 5.2 Gbit/s;
    // one segment: 116 Mbit/s). `slow_start` is the
    // default. Unpaced, a slow start's window arrives at a Linux receiver
    // as one burst per round trip, and its buffer auto-tuning (which counts
    // what its reader took minus what is still queued) grows the window
    // late (wan.sh, RTT 20 ms, 2 % duplication: NewReno sending x0.83 of
    // kernel Reno unpaced, x0.99-1.03 paced). Paced in congestion
    // avoidance too, a NewReno or CUBIC flow sharing a drop-tail queue
    // with an unpaced Linux flow of the same controller loses fewer
    // packets than it and took 70-72 % of the bottleneck; paced in slow
    // start only, 62 % (unpaced 52-58 %; README, "Congestion control and
    // pacing").
    enum class pacing_mode { controller, all, slow_start, off };
    pacing_mode pacing = pacing_mode::slow_start;
    bool timestamps = true;
    // SACK (RFC 2018) with DSACK (RFC 2883): offered and accepted; with it
    // losses are found by RACK-TLP (RFC 8985), without it by three duplicate ACKs.
    bool sack = true;
    bool window_scaling = true;
    std::uint16_t ephemeral_low = 32768, ephemeral_high = 60999;  // Linux ip_local_port_range
    flow_steering steering;                                       // ephemeral ports are chosen among those steered here
};

}  // namespace coronet::tcp
