#include "summary.hpp"

#include <spdlog/fmt/fmt.h>

#include <coronet/api/table.hpp>
#include <cstring>
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
    for (const auto& row : connection_rows(layer)) ++states[tcp::to_string(row.state)];
    std::string line = R"({"event":"table","states":{)";
    for (const auto& [state, n] : states)
        line += fmt::format("{}{}:{}", line.back() == '{' ? "" : ",", quoted(state), n);
    write(line + "}}");
}

void summary_sink::stopped(const proxy_counters& c) {
    write(fmt::format(R"({{"event":"stopped","accepted":{},"completed":{},"failed":{},"upstream_failed":{},)"
                      R"("aborted":{},"peak_sessions":{}}})",
                      c.accepted, c.completed, c.failed, c.upstream_failed, c.aborted, c.peak_sessions));
}

}  // namespace coronet::apps
