// The proxy behind coronet-proxy: accepts clients on the user-space stack,
// opens a connection upstream through the same stack and pumps both
// directions, one coroutine each. A FIN from one side becomes shutdown_write
// on the other (half-close keeps the other direction flowing); a reset or
// error on one side aborts the other.
#pragma once

#include <coronet/api/stack.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace coronet::apps {

// How one session ended: what coronet-proxy logs and writes to --summary-json.
struct session_summary {
    std::uint64_t id = 0;
    endpoint client;
    std::string outcome;  // empty: both directions finished with FINs; else what failed first, for people
    std::string side;     // on failure: "client", "upstream", "idle" or "proxy" (stopped)
    std::error_code error;
    std::uint64_t bytes_up = 0, bytes_down = 0;  // client to upstream, upstream to client
    std::uint64_t retransmits_client = 0, retransmits_upstream = 0;
    double seconds = 0;
};

struct proxy_config {
    std::uint16_t listen_port = 0;
    endpoint upstream;
    std::size_t max_connections = 1024;  // sessions at once; more clients wait in the backlog
    std::size_t backlog = 128;
    runtime::duration connect_timeout = std::chrono::seconds(10);
    std::optional<runtime::duration> idle_timeout;               // no bytes either way for this long: abort
    runtime::duration drain_timeout = std::chrono::seconds(5);   // on stop(), before aborting
    std::function<void(const session_summary&)> on_session_end;  // optional
};

struct proxy_counters {
    std::uint64_t accepted = 0, completed = 0, failed = 0, upstream_failed = 0;
    std::uint64_t aborted = 0;        // failed because stop() ran out of drain time
    std::uint64_t peak_sessions = 0;  // the most open at once
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

private:
    struct session;
    runtime::task<void> accept_loop();
    runtime::task<void> run(std::shared_ptr<session> s);
    runtime::task<void> pump(std::shared_ptr<session> s, int direction);
    runtime::task<void> finish(session& s);
    void end(session& s);

    stack& stack_;
    proxy_config cfg_;
    listener listener_;
    std::unordered_map<std::uint64_t, std::shared_ptr<session>> sessions_;
    std::uint64_t next_id_ = 1;
    runtime::event slot_free_;  // a session ended (accept_loop waits at max_connections)
    runtime::event drained_;    // a session ended (stop() waits for none)
    bool stopping_ = false;
    proxy_counters counters_;
};

}  // namespace coronet::apps
