#include "summary.hpp"

#include <spdlog/fmt/chrono.h>

#include <coronet/api/table.hpp>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <system_error>

#include "../common/json.hpp"
#include "../common/options.hpp"

namespace coronet::apps {

namespace {

// "2026-12-04T18:01:08.123Z": UTC, milliseconds.
std::string utc_text(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    ::gmtime_r(&secs, &utc);
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", utc, ms % 1000);
}

}  // namespace

std::string error_name(const std::error_code& ec) {
    if (!ec) return "";
    if (ec.category() == std::generic_category() || ec.category() == std::system_category())
        if (const char* name = ::strerrorname_np(ec.value())) return name;
    return ec.message();
}

json session_json(const session_summary& s) {
    return {{"event", "session"},
            {"id", s.id},
            {"start", utc_text(s.start)},
            {"client", endpoint_text(s.client)},
            {"upstream", endpoint_text(s.upstream)},
            {"ok", s.outcome.empty()},
            {"side", s.side},
            {"error", error_name(s.error)},
            {"reason", s.outcome},
            {"bytes_up", s.bytes_up},
            {"bytes_down", s.bytes_down},
            {"retransmits_client", s.retransmits_client},
            {"retransmits_upstream", s.retransmits_upstream},
            {"seconds", rounded(s.seconds, 3)}};
}

std::size_t tcp_buffer_memory(const tcp::tcp_layer& layer) {
    std::size_t bytes = 0;
    layer.for_each([&](const tcp::tcb& c) { bytes += c.buffer_memory(); });
    return bytes;
}

std::size_t rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string key;
    std::size_t value = 0;
    while (in >> key)
        if (key == "VmRSS:" && in >> value) return value;
    return 0;
}

void summary_sink::listening(std::uint16_t port, const endpoint& upstream) {
    out_.write({{"event", "listening"}, {"port", port}, {"upstream", endpoint_text(upstream)}});
}

void summary_sink::table(const tcp::tcp_layer& layer) {
    std::map<std::string_view, std::size_t> states;
    std::size_t queued = 0;
    for (const auto& row : connection_rows(layer)) {
        ++states[tcp::to_string(row.state)];
        if (row.state == tcp::state::listen) queued += row.recv_q;
    }
    json by_state = json::object();
    for (const auto& [state, n] : states) by_state[std::string(state)] = n;
    out_.write({{"event", "table"}, {"states", by_state}, {"listen_queued", queued}});
}

void summary_sink::memory(const proxy_memory& m, const tcp::tcp_layer& layer) {
    out_.write({{"event", "memory"},
                {"sessions", m.sessions},
                {"buffers_in_use", m.buffers_in_use},
                {"buffers_allocated", m.buffers_allocated},
                {"buffers_peak", m.buffers_peak},
                {"buffer_limit", m.buffer_limit},
                {"buffer_waits", m.buffer_waits},
                {"tcp_buffers", tcp_buffer_memory(layer)},
                {"tcp_reserved", layer.buffer_reserved()},
                {"vm_rss_kib", rss_kib()}});
}

void summary_sink::stopped(const proxy_counters& c) {
    out_.write({{"event", "stopped"},
                {"accepted", c.accepted},
                {"completed", c.completed},
                {"failed", c.failed},
                {"upstream_failed", c.upstream_failed},
                {"aborted", c.aborted},
                {"refused_per_source", c.refused_per_source},
                {"slow", c.slow},
                {"peak_sessions", c.peak_sessions}});
}

}  // namespace coronet::apps
