// The proxy behind coronet-proxy: accepts clients on the user-space stack,
// opens a connection upstream through the same stack and pumps both
// directions, one coroutine each. A FIN from one side becomes shutdown_write
// on the other (half-close keeps the other direction flowing); a reset or
// error on one side aborts the other.
//
// Abuse: one client address holds at most max_per_source sessions; a client
// that sends nothing (while the upstream sends nothing either) is reset after
// first_byte_timeout, one that keeps sending slower than min_rate while the
// upstream does not answer is reset too (slowloris), and any session idle for
// idle_timeout ends. A waiting pump holds no copy buffer: idle sessions cost
// their TCBs and a few coroutine frames.
#pragma once

#include <spdlog/common.h>

#include <coronet/api/stack.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "buffer_pool.hpp"

namespace coronet::apps {

// How one session ended: what coronet-proxy logs and writes to --access-log and --summary-json.
struct session_summary {
    std::uint64_t id = 0;
    std::chrono::system_clock::time_point start;  // the accept, by the wall clock
    endpoint client, upstream;
    std::string outcome;  // empty: both directions finished with FINs; else what failed first, for people
    std::string side;     // on failure: "client", "upstream", "idle", "slow" or "proxy" (stopped)
    std::error_code error;
    std::uint64_t bytes_up = 0, bytes_down = 0;  // client to upstream, upstream to client
    std::uint64_t retransmits_client = 0, retransmits_upstream = 0;
    double seconds = 0;
};

struct proxy_config {
    std::uint16_t listen_port = 0;
    endpoint upstream;
    std::size_t max_connections = 1024;  // sessions at once; more clients wait in the backlog
    std::size_t max_per_source = 64;     // sessions at once from one client address; more are reset
    std::size_t backlog = 128;
    runtime::duration connect_timeout = std::chrono::seconds(10);
    // No bytes either way for this long: abort. nullopt: never.
    std::optional<runtime::duration> idle_timeout = std::chrono::seconds(300);
    // Neither side has sent a byte this long after the accept: abort. nullopt: never.
    std::optional<runtime::duration> first_byte_timeout = std::chrono::seconds(20);
    // A client that keeps sending without the upstream answering must send at
    // least min_rate bytes per second, judged per min_rate_window (0: no rule).
    std::size_t min_rate = 16;
    runtime::duration min_rate_window = std::chrono::seconds(10);
    // The pumps' copy buffers, all together (buffer_pool).
    std::size_t buffer_memory = std::size_t{32} << 20;
    runtime::duration drain_timeout = std::chrono::seconds(5);   // on stop(), before aborting
    std::function<void(const session_summary&)> on_session_end;  // optional
    // Log a line per session start and end at info (a failed end at warn);
    // false: at debug, as when an access log has them.
    bool sessions_in_log = true;
};

struct proxy_counters {
    std::uint64_t accepted = 0, completed = 0, failed = 0, upstream_failed = 0;
    std::uint64_t aborted = 0;                   // failed because stop() ran out of drain time
    std::uint64_t refused_per_source = 0;        // reset at once: their address had max_per_source sessions
    std::uint64_t slow = 0;                      // failed by first_byte_timeout or min_rate
    std::uint64_t peak_sessions = 0;             // the most open at once
    std::uint64_t bytes_up = 0, bytes_down = 0;  // copied so far, open sessions' included
    std::uint64_t retransmits_client = 0, retransmits_upstream = 0;  // of the sessions that ended
    std::map<std::string, std::uint64_t> failed_by_side;             // "client", "upstream", "idle", "slow", "proxy"
    std::map<int, std::uint64_t> upstream_errors;                    // failed upstream connects by errno
};

// What the proxy's memory is now, for SIGUSR1 and tests.
struct proxy_memory {
    std::size_t sessions = 0;
    std::size_t buffers_in_use = 0, buffers_allocated = 0, buffers_peak = 0, buffer_limit = 0;  // bytes
    std::uint64_t buffer_waits = 0;
};

class proxy {
public:
    proxy(stack& st, proxy_config cfg);
    ~proxy();
    proxy(const proxy&) = delete;
    proxy& operator=(const proxy&) = delete;

    // Listens and starts accepting. Errors: address_in_use.
    result<void> start();
    // Stops accepting, gives open sessions drain_timeout to finish, aborts
    // the rest (their peers get RSTs) and returns when no session is left.
    runtime::task<void> stop();

    std::size_t active() const noexcept { return sessions_.size(); }
    const proxy_counters& counters() const noexcept { return counters_; }
    proxy_memory memory() const noexcept;

private:
    struct session;
    runtime::task<void> accept_loop();
    runtime::task<void> run(std::shared_ptr<session> s);
    runtime::task<void> pump(std::shared_ptr<session> s, int direction);
    runtime::task<bool> pass_on(session& s, int direction, wire::mut_bytes buf);
    bool keeps_min_rate(session& s, std::size_t n);
    runtime::time_point deadline(const session& s) const;
    void expire(session& s);
    bool admit_source(const endpoint& client);
    void leave_source(const endpoint& client);
    runtime::task<void> finish(session& s);
    void end(session& s);
    // The level of a session's log lines (ok: no failure).
    spdlog::level::level_enum session_level(bool ok) const noexcept;

    stack& stack_;
    proxy_config cfg_;
    listener listener_;
    std::unordered_map<std::uint64_t, std::shared_ptr<session>> sessions_;
    std::unordered_map<std::uint32_t, std::size_t> per_source_;  // open sessions by client address
    buffer_pool buffers_;
    std::uint64_t next_id_ = 1;
    runtime::event slot_free_;  // a session ended (accept_loop waits at max_connections)
    runtime::event drained_;    // a session ended (stop() waits for none)
    bool stopping_ = false;
    proxy_counters counters_;
};

}  // namespace coronet::apps
