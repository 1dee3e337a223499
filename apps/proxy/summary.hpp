// coronet-proxy's machine-readable output (--summary-json FILE): one JSON
// object a line, flushed as written, for tests and scripts to read instead
// of the log (the log is for people, and its wording may change).
#pragma once

#include <cstdio>
#include <string>

#include "proxy.hpp"

namespace coronet::apps {

// Buffer storage the stack's connections have allocated now (tcb::buffer_memory).
std::size_t tcp_buffer_memory(const tcp::tcp_layer& layer);
// This process's resident set (VmRSS) in KiB; 0 when /proc cannot say.
std::size_t rss_kib();

class summary_sink {
public:
    // Creates or truncates path; throws std::system_error when it cannot (start-up).
    explicit summary_sink(const std::string& path);
    ~summary_sink();
    summary_sink(const summary_sink&) = delete;
    summary_sink& operator=(const summary_sink&) = delete;

    // {"event":"listening","port":P,"upstream":"A.B.C.D:P"}
    void listening(std::uint16_t port, const endpoint& upstream);
    // {"event":"session","id":N,"client":"A.B.C.D:P","ok":B,"side":S,"error":"ECONNRESET","reason":S,
    //  "bytes_up":N,"bytes_down":N,"retransmits_client":N,"retransmits_upstream":N,"seconds":X}
    void session(const session_summary& s);
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
    void write(const std::string& line);
    std::FILE* file_;
};

}  // namespace coronet::apps
