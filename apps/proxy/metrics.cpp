#include "metrics.hpp"

#include <array>
#include <cctype>

#include "summary.hpp"

namespace coronet::apps {

namespace {

struct row {
    std::string_view label;
    std::uint64_t value;
};

// A counter family with one sample per row, labelled loop and key=row.label.
void counters_by(prometheus_text& out, std::string_view name, std::string_view help, std::string_view loop,
                 std::string_view key, std::initializer_list<row> rows) {
    out.family(name, "counter", help);
    for (const auto& r : rows) out.sample({{"loop", loop}, {key, r.label}}, r.value);
}

void session_metrics(prometheus_text& out, const proxy& px, std::string_view loop) {
    const proxy_counters& c = px.counters();
    out.counter("coronet_proxy_sessions_accepted_total", "Client connections accepted as sessions", {{"loop", loop}},
                c.accepted);
    out.family("coronet_proxy_sessions_ended_total", "counter",
               "Sessions ended, by outcome: ok (both directions finished with FINs) or the side that failed first");
    out.sample({{"loop", loop}, {"outcome", "ok"}}, c.completed);
    for (const char* side : {"client", "upstream", "idle", "slow", "proxy"}) {
        const auto it = c.failed_by_side.find(side);
        out.sample({{"loop", loop}, {"outcome", side}}, it == c.failed_by_side.end() ? 0 : it->second);
    }
    out.gauge("coronet_proxy_sessions_open", "Sessions open now", {{"loop", loop}}, static_cast<double>(px.active()));
    out.gauge("coronet_proxy_sessions_peak", "The most sessions open at once", {{"loop", loop}},
              static_cast<double>(c.peak_sessions));
    counters_by(out, "coronet_proxy_clients_refused_total",
                "Clients reset at once, by cause (max_per_source: their address had --max-per-source sessions)", loop,
                "cause", {{"max_per_source", c.refused_per_source}});
    out.family("coronet_proxy_upstream_connect_failures_total", "counter",
               "Upstream connections that failed, by error (ECONNREFUSED, ETIMEDOUT, ...)");
    for (const auto& [code, n] : c.upstream_errors)
        out.sample({{"loop", loop}, {"error", error_name(std::error_code(code, std::generic_category()))}}, n);
}

void traffic_metrics(prometheus_text& out, const proxy& px, std::string_view loop) {
    const proxy_counters& c = px.counters();
    counters_by(out, "coronet_proxy_bytes_total", "Bytes copied, by direction: up (client to upstream) or down", loop,
                "direction", {{"up", c.bytes_up}, {"down", c.bytes_down}});
    counters_by(out, "coronet_proxy_retransmits_total",
                "Segments retransmitted by the sessions that ended, by side (client or upstream connection)", loop,
                "side", {{"client", c.retransmits_client}, {"upstream", c.retransmits_upstream}});
    const proxy_memory m = px.memory();
    out.family("coronet_proxy_copy_buffer_bytes", "gauge", "Copy buffers: in use, allocated and the limit");
    out.sample({{"loop", loop}, {"kind", "in_use"}}, static_cast<double>(m.buffers_in_use));
    out.sample({{"loop", loop}, {"kind", "allocated"}}, static_cast<double>(m.buffers_allocated));
    out.sample({{"loop", loop}, {"kind", "limit"}}, static_cast<double>(m.buffer_limit));
}

// "established" for tcp::state::established.
std::string lower(std::string_view name) {
    std::string out(name);
    for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
}

void connection_metrics(prometheus_text& out, const tcp::tcp_layer& layer, std::string_view loop) {
    constexpr std::size_t states = static_cast<std::size_t>(tcp::state::time_wait) + 1;
    std::array<std::uint64_t, states> count{};
    layer.for_each([&](const tcp::tcb& c) { ++count[static_cast<std::size_t>(c.current())]; });
    layer.for_each_listener([&](const auto&) { ++count[static_cast<std::size_t>(tcp::state::listen)]; });
    out.family("coronet_tcp_connections", "gauge", "The stack's connections and listeners, by state");
    for (std::size_t i = 0; i < states; ++i)
        out.sample({{"loop", loop}, {"state", lower(tcp::to_string(static_cast<tcp::state>(i)))}},
                   static_cast<double>(count[i]));
}

void tcp_metrics(prometheus_text& out, const tcp::layer_counters& t, std::string_view loop) {
    counters_by(out, "coronet_tcp_segments_total", "TCP segments, by direction", loop, "direction",
                {{"in", t.segments_in}, {"out", t.segments_out}});
    out.counter("coronet_tcp_resets_sent_total", "RST segments sent", {{"loop", loop}}, t.resets_sent);
    out.counter("coronet_tcp_connections_refused_total",
                "Connections refused by the stack's memory or connection limit", {{"loop", loop}},
                t.connections_refused);
    counters_by(out, "coronet_tcp_dropped_total", "TCP segments dropped, by cause", loop, "cause",
                {{"truncated", t.truncated},
                 {"bad_data_offset", t.bad_data_offset},
                 {"bad_options", t.bad_options},
                 {"bad_checksum", t.bad_checksums},
                 {"bad_flags", t.bad_flags},
                 {"bad_addresses", t.bad_addresses},
                 {"no_connection", t.no_connection},
                 {"syn_queue_full", t.syns_dropped}});
}

void host_metrics(prometheus_text& out, const net::host_counters& h, std::string_view loop) {
    counters_by(out, "coronet_ip_dropped_total", "Frames dropped below TCP (Ethernet, ARP, IPv4, ICMP), by cause", loop,
                "cause",
                {{"bad_ethernet", h.rx_bad_ethernet},
                 {"other_mac", h.rx_other_mac},
                 {"unknown_ethertype", h.rx_unknown_ethertype},
                 {"bad_arp", h.rx_bad_arp},
                 {"bad_ipv4", h.rx_bad_ipv4},
                 {"other_ip", h.rx_other_ip},
                 {"fragment", h.rx_fragments},
                 {"ttl_zero", h.rx_ttl_zero},
                 {"unknown_protocol", h.rx_unknown_protocol},
                 {"broadcast_tcp", h.rx_broadcast_tcp},
                 {"bad_icmp", h.rx_bad_icmp},
                 {"icmp_error_unmatched", h.icmp_errors_dropped}});
}

void device_metrics(prometheus_text& out, const link::device_counters& d, std::string_view loop) {
    counters_by(out, "coronet_device_frames_total", "Frames through the AF_PACKET device, by direction", loop,
                "direction", {{"rx", d.rx_frames}, {"tx", d.tx_frames}});
    counters_by(out, "coronet_device_bytes_total", "Bytes through the AF_PACKET device, by direction", loop,
                "direction", {{"rx", d.rx_bytes}, {"tx", d.tx_bytes}});
    counters_by(out, "coronet_device_dropped_total", "Frames the device lost, by cause", loop, "cause",
                {{"rx_no_buffers", d.rx_no_buffers},
                 {"rx_errors", d.rx_errors},
                 {"rx_kernel_drops", d.rx_kernel_drops},
                 {"tx_dropped", d.tx_dropped},
                 {"tx_errors", d.tx_errors}});
}

}  // namespace

void write_proxy_metrics(prometheus_text& out, stack& st, const runtime::loop& loop, const proxy& px,
                         unsigned loop_index) {
    const std::string l = std::to_string(loop_index);
    session_metrics(out, px, l);
    traffic_metrics(out, px, l);
    connection_metrics(out, st.tcp(), l);
    tcp_metrics(out, st.tcp().counters(), l);
    host_metrics(out, st.host().counters(), l);
    device_metrics(out, st.device().counters(), l);
    out.counter("coronet_loop_iterations_total", "Turns of the io_uring loop", {{"loop", l}},
                loop.counters().iterations);
    out.counter("coronet_loop_completions_total", "io_uring completions handled", {{"loop", l}},
                loop.counters().completions);
}

}  // namespace coronet::apps
