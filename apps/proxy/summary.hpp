// coronet-proxy's machine-readable output: --summary-json FILE (events: one
// JSON object a line, flushed as written, for tests and scripts to read
// instead of the log, which is for people and whose wording may change) and
// --access-log FILE (the session lines alone). Both write the same line for
// a session: session_json.
#pragma once

#include <string>

#include "../common/json.hpp"
#include "proxy.hpp"

namespace coronet::apps {

// Buffer storage the stack's connections have allocated now (tcb::buffer_memory).
std::size_t tcp_buffer_memory(const tcp::tcp_layer& layer);
// The errno name ("ECONNRESET") of a POSIX error, "" for none: stable where
// the message is not.
std::string error_name(const std::error_code& ec);
// This process's resident set (VmRSS) in KiB; 0 when /proc cannot say.
std::size_t rss_kib();

// {"event":"session","id":N,"start":"2026-12-04T18:01:08.123Z","client":"A.B.C.D:P",
//  "upstream":"A.B.C.D:P","ok":B,"side":S,"error":"ECONNRESET","reason":S,"bytes_up":N,"bytes_down":N,
//  "retransmits_client":N,"retransmits_upstream":N,"seconds":X}
json session_json(const session_summary& s);

class summary_sink {
public:
    // Creates or truncates path; throws std::system_error when it cannot (start-up).
    explicit summary_sink(const std::string& path) : out_(path, "--summary-json") {}

    // {"event":"listening","port":P,"upstream":"A.B.C.D:P"}
    void listening(std::uint16_t port, const endpoint& upstream);
    // session_json(s)
    void session(const session_summary& s) { out_.write(session_json(s)); }
    // {"event":"table","states":{"LISTEN":1,"TIME_WAIT":N,...},"listen_queued":N}: rows of the
    // connection table per state, and the connections waiting for accept
    void table(const tcp::tcp_layer& layer);
    // {"event":"memory","sessions":N,"buffers_in_use":B,"buffers_allocated":B,"buffers_peak":B,
    //  "buffer_limit":B,"buffer_waits":N,"tcp_buffers":B,"tcp_reserved":B,"vm_rss_kib":K}
    void memory(const proxy_memory& m, const tcp::tcp_layer& layer);
    // {"event":"stopped","accepted":N,"completed":N,"failed":N,"upstream_failed":N,"aborted":N,
    //  "refused_per_source":N,"slow":N,"peak_sessions":N}
    void stopped(const proxy_counters& c);

private:
    json_lines out_;
};

}  // namespace coronet::apps
