// The connection table, like `ss -tan`: one row per listener and connection
// with its state, endpoints, queues, smoothed RTT, congestion window,
// retransmissions, loss recovery's byte counts, RACK's reordering window
// and the congestion control's state.
#pragma once

#include <coronet/tcp/layer.hpp>
#include <string>
#include <vector>

namespace coronet {

struct connection_row {
    tcp::state state = tcp::state::closed;
    std::string local, remote;  // "A.B.C.D:port"; remote "*:*" for a listener
    // Connections: bytes received and not read / queued and not acknowledged.
    // Listeners (as ss): connections waiting for accept / the backlog.
    std::size_t recv_q = 0, send_q = 0;
    double srtt_ms = 0;
    std::uint32_t cwnd = 0;  // bytes
    std::uint64_t retransmits = 0;
    // Loss recovery (connection_stats): bytes resent, reported by the peer's
    // SACK blocks, marked lost; RACK's reordering window as loss detection
    // last used it (0 without SACK or before the first SACK block).
    std::uint64_t retransmitted_bytes = 0, sacked_bytes = 0, lost_bytes = 0;
    double reordering_window_ms = 0;
    // Connections: the buffers' capacities now (auto-tuning grows them).
    std::size_t send_buffer = 0, receive_buffer = 0;
    // Connections: the congestion control as "name/phase" (e.g.
    // "bbr/probe_bw"), ssthresh in bytes (0: not set yet), the pacing rate
    // (0: unpaced) and the model's bottleneck bandwidth in Mbit/s and its
    // minimum RTT (BBR; 0 for the others).
    std::string congestion;
    std::uint64_t ssthresh = 0;
    double pacing_mbit = 0, bandwidth_mbit = 0, model_min_rtt_ms = 0;
};

// Listeners first (by port), then connections by local and remote endpoint.
std::vector<connection_row> connection_rows(const tcp::tcp_layer& layer);

// The rows as an aligned text table with a header line.
std::string format_connection_table(const std::vector<connection_row>& rows);

}  // namespace coronet
