#include "summary.hpp"

#include <spdlog/fmt/fmt.h>

#include <coronet/api/table.hpp>
#include <cstring>
#include <fstream>
#include <map>
#include <system_error>

#include "../common/options.hpp"

namespace coronet::apps {

namespace {

std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20)
            out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else
            out += c;
    }
    return out + '"';
}

// The errno name ("ECONNRESET") of a POSIX error, "" for none: stable where
// the message is not.
std::string error_name(const std::error_code& ec) {
    if (!ec) return "";
    if (ec.category() == std::generic_category() || ec.category() == std::system_category())
        if (const char* name = ::strerrorname_np(ec.value())) return name;
    return ec.message();
}

}  // namespace

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

summary_sink::summary_sink(const std::string& path) : file_(std::fopen(path.c_str(), "w")) {
    if (!file_) throw std::system_error(errno, std::generic_category(), "--summary-json " + path);
}

summary_sink::~summary_sink() { std::fclose(file_); }

void summary_sink::write(const std::string& line) {
    std::fputs(line.c_str(), file_);
    std::fputc('\n', file_);
    std::fflush(file_);
}

void summary_sink::listening(std::uint16_t port, const endpoint& upstream) {
    write(fmt::format(R"({{"event":"listening","port":{},"upstream":{}}})", port, quoted(endpoint_text(upstream))));
}

void summary_sink::session(const session_summary& s) {
    write(fmt::format(R"({{"event":"session","id":{},"client":{},"ok":{},"side":{},"error":{},"reason":{},)"
                      R"("bytes_up":{},"bytes_down":{},"retransmits_client":{},"retransmits_upstream":{},)"
                      R"("seconds":{:.3f}}})",
                      s.id, quoted(endpoint_text(s.client)), s.outcome.empty(), quoted(s.side),
                      quoted(error_name(s.error)), quoted(s.outcome), s.bytes_up, s.bytes_down, s.retransmits_client,
                      s.retransmits_upstream, s.seconds));
}

void summary_sink::table(const tcp::tcp_layer& layer) {
    std::map<std::string_view, std::size_t> states;
    std::size_t queued = 0;
    for (const auto& row : connection_rows(layer)) {
        ++states[tcp::to_string(row.state)];
        if (row.state == tcp::state::listen) queued += row.recv_q;
    }
    std::string line = R"({"event":"table","states":{)";
    for (const auto& [state, n] : states)
        line += fmt::format("{}{}:{}", line.back() == '{' ? "" : ",", quoted(state), n);
    write(line + fmt::format(R"(}},"listen_queued":{}}})", queued));
}

void summary_sink::memory(const proxy_memory& m, const tcp::tcp_layer& layer) {
    write(fmt::format(R"({{"event":"memory","sessions":{},"buffers_in_use":{},"buffers_allocated":{},)"
                      R"("buffers_peak":{},"buffer_limit":{},"buffer_waits":{},"tcp_buffers":{},"tcp_reserved":{},)"
                      R"("vm_rss_kib":{}}})",
                      m.sessions, m.buffers_in_use, m.buffers_allocated, m.buffers_peak, m.buffer_limit, m.buffer_waits,
                      tcp_buffer_memory(layer), layer.buffer_reserved(), rss_kib()));
}

void summary_sink::stopped(const proxy_counters& c) {
    write(fmt::format(R"({{"event":"stopped","accepted":{},"completed":{},"failed":{},"upstream_failed":{},)"
                      R"("aborted":{},"refused_per_source":{},"slow":{},"peak_sessions":{}}})",
                      c.accepted, c.completed, c.failed, c.upstream_failed, c.aborted, c.refused_per_source, c.slow,
                      c.peak_sessions));
}

}  // namespace coronet::apps
