// coronet-proxy's machine-readable output (--summary-json FILE): one JSON
// object a line, flushed as written, for tests and scripts to read instead
// of the log (the log is for people, and its wording may change).
#pragma once

#include <cstdio>
#include <string>

#include "proxy.hpp"

namespace coronet::apps {

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
    // {"event":"table","states":{"LISTEN":1,"TIME_WAIT":N,...}}: rows of the connection table per state
    void table(const tcp::tcp_layer& layer);
    // {"event":"stopped","accepted":N,"completed":N,"failed":N,"upstream_failed":N,"aborted":N,"peak_sessions":N}
    void stopped(const proxy_counters& c);

private:
    void write(const std::string& line);
    std::FILE* file_;
};

}  // namespace coronet::apps
