#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <coronet/api/table.hpp>
#include <tuple>

namespace coronet {

namespace {

std::string endpoint_text(boost::asio::ip::address_v4 a, std::uint16_t port) {
    return a.to_string() + ":" + std::to_string(port);
}

double mbit(std::uint64_t bytes_per_second) { return static_cast<double>(bytes_per_second) * 8 / 1e6; }

// Read-only: counters() and congestion_now() make no transfer state and no
// controller for an idle connection (a table of a million of them would
// otherwise grow the heap by a gigabyte).
connection_row row_of(const tcp::tcb& c) {
    const auto srtt = std::chrono::duration<double, std::milli>(c.rtt().srtt());
    const tcp::connection_stats st = c.counters();
    const tcp::tcb::congestion_figures cc = c.congestion_now();
    return {.state = c.current(),
            .local = endpoint_text(c.id().local, c.id().local_port),
            .remote = endpoint_text(c.id().remote, c.id().remote_port),
            .recv_q = c.receive_queue(),
            .send_q = c.send_queue(),
            .srtt_ms = srtt.count(),
            .cwnd = cc.cwnd,
            .retransmits = st.retransmits,
            .retransmitted_bytes = st.retransmitted_bytes,
            .sacked_bytes = st.sacked_bytes,
            .lost_bytes = st.lost_bytes,
            .reordering_window_ms = static_cast<double>(st.reordering_window_us) / 1000.0,
            .send_buffer = c.send_buffer(),
            .receive_buffer = c.receive_buffer(),
            .congestion = std::string(cc.name) + "/" + cc.info.phase,
            .ssthresh = cc.ssthresh == 0xffffffffu ? 0 : cc.ssthresh,
            .pacing_mbit = mbit(cc.pacing_rate),
            .bandwidth_mbit = mbit(cc.info.bandwidth),
            .model_min_rtt_ms = std::chrono::duration<double, std::milli>(cc.info.min_rtt).count()};
}

}  // namespace

std::vector<connection_row> connection_rows(const tcp::tcp_layer& layer) {
    std::vector<connection_row> listeners, conns;
    const auto local = layer.host().address();
    layer.for_each_listener([&](const tcp::listener_state& l) {
        listeners.push_back({.state = tcp::state::listen,
                             .local = endpoint_text(local, l.port()),
                             .remote = "*:*",
                             .recv_q = l.queued(),
                             .send_q = l.backlog()});
    });
    layer.for_each([&](const tcp::tcb& c) { conns.push_back(row_of(c)); });
    auto by_endpoints = [](const connection_row& a, const connection_row& b) {
        return std::tie(a.local, a.remote) < std::tie(b.local, b.remote);
    };
    std::sort(listeners.begin(), listeners.end(), by_endpoints);
    std::sort(conns.begin(), conns.end(), by_endpoints);
    listeners.insert(listeners.end(), conns.begin(), conns.end());
    return listeners;
}

std::string format_connection_table(const std::vector<connection_row>& rows) {
    // Byte counts get 10 digits: a gigabyte fits before the columns shift.
    constexpr auto line =
        "{:<12} {:>8} {:>8} {:<21} {:<21} {:>9} {:>8} {:>10} {:>7} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:<20} "
        "{:>9} {:>9} {:>11}\n";
    std::string out = fmt::format(line, "State", "Recv-Q", "Send-Q", "Local", "Peer", "srtt(ms)", "cwnd", "ssthresh",
                                  "retrans", "resent-B", "sacked-B", "lost-B", "reo(ms)", "rcvbuf", "sndbuf", "cc",
                                  "pace(Mb)", "bw(Mb)", "minrtt(ms)");
    for (const auto& r : rows)
        out +=
            fmt::format(line, tcp::to_string(r.state), r.recv_q, r.send_q, r.local, r.remote,
                        fmt::format("{:.3f}", r.srtt_ms), r.cwnd, r.ssthresh, r.retransmits, r.retransmitted_bytes,
                        r.sacked_bytes, r.lost_bytes, fmt::format("{:.3f}", r.reordering_window_ms), r.receive_buffer,
                        r.send_buffer, r.congestion.empty() ? "-" : r.congestion, fmt::format("{:.1f}", r.pacing_mbit),
                        fmt::format("{:.1f}", r.bandwidth_mbit), fmt::format("{:.3f}", r.model_min_rtt_ms));
    return out;
}

}  // namespace coronet
