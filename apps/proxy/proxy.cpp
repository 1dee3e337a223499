#include "proxy.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "../common/options.hpp"

namespace coronet::apps {

using runtime::task;

namespace {

constexpr int to_upstream = 0, to_client = 1;
constexpr std::size_t copy_buffer = 64 * 1024;

double seconds(runtime::duration d) { return std::chrono::duration<double>(d).count(); }

// The min-rate rule, against clients that trickle (slowloris: a byte every
// few seconds keeps an idle timeout from ever firing). While a client sends
// and the upstream has not answered, its bytes are counted in windows of
// min_rate_window from its first one. When a byte arrives in a later window,
// the last window with bytes must have held min_rate bytes per second. A
// client that stops sending is not judged (a request, then a wait for the
// answer, is fine: the idle timeout is for that), and the upstream's answer
// starts the count afresh.
class sending_rate {
public:
    // Counts n bytes from the client at now; false when they end a window
    // that fell short of min_rate bytes per second.
    bool add(runtime::time_point now, std::size_t n, std::size_t min_rate, runtime::duration window) {
        if (!start_) {
            start_ = now;
            index_ = 0;
            bytes_ = n;
            return true;
        }
        const auto index = (now - *start_) / window;
        if (index == index_) {
            bytes_ += n;
            return true;
        }
        const bool kept_up = static_cast<double>(bytes_) >= static_cast<double>(min_rate) * seconds(window);
        index_ = index;
        bytes_ = n;
        return kept_up;
    }
    void answered() noexcept { start_.reset(); }

private:
    std::optional<runtime::time_point> start_;  // of the first window; none while the client is not sending
    std::int64_t index_ = 0;                    // the window bytes_ fell in
    std::uint64_t bytes_ = 0;
};

}  // namespace

struct proxy::session {
    session(runtime::executor& ex, std::uint64_t n, connection c)
        : id(n),
          client(std::move(c)),
          client_at(client.remote()),
          pumps_done(ex),
          start(std::chrono::system_clock::now()),
          started(ex.now()),
          last_active(started) {}

    // The first failure names the session's outcome; both sides are aborted
    // (RST), which also ends the other direction's pump.
    void fail(std::string why, std::string failed_side, std::error_code ec) {
        if (outcome.empty()) {
            outcome = std::move(why);
            side = std::move(failed_side);
            error = ec;
        }
        abort();
    }
    void abort() {
        client.abort();
        upstream.abort();
    }
    // Neither side has sent a byte (what the client sent while the upstream
    // connect went on waits in its receive buffer, not yet counted).
    bool silent() const noexcept { return bytes[to_upstream] == 0 && bytes[to_client] == 0 && client.readable() == 0; }
    connection& from(int direction) { return direction == to_upstream ? client : upstream; }
    connection& to(int direction) { return direction == to_upstream ? upstream : client; }

    std::uint64_t id;
    connection client, upstream;
    endpoint client_at;
    runtime::event pumps_done;  // notified when the last pump ends
    int pumps = 0;
    std::uint64_t bytes[2] = {};
    sending_rate client_rate;
    std::uint64_t retransmits[2] = {};  // client side, upstream side
    std::chrono::system_clock::time_point start;
    runtime::time_point started, last_active;
    std::string outcome;  // empty: both directions finished with FINs
    std::string side;     // of the first failure
    std::error_code error;
};

proxy::proxy(stack& st, proxy_config cfg)
    : stack_(st),
      cfg_(std::move(cfg)),
      buffers_(st.loop(), copy_buffer, cfg_.buffer_memory),
      slot_free_(st.loop()),
      drained_(st.loop()) {}

proxy::~proxy() = default;

result<void> proxy::start() {
    auto l = stack_.listen(cfg_.listen_port, cfg_.backlog);
    if (!l) return l.error();
    listener_ = std::move(*l);
    stack_.loop().spawn(accept_loop(), "accept");
    spdlog::info("proxy: listening on port {}, upstream {}, at most {} sessions ({} per client address)",
                 cfg_.listen_port, endpoint_text(cfg_.upstream), cfg_.max_connections, cfg_.max_per_source);
    return {};
}

proxy_memory proxy::memory() const noexcept {
    return {.sessions = sessions_.size(),
            .buffers_in_use = buffers_.in_use(),
            .buffers_allocated = buffers_.allocated(),
            .buffers_peak = buffers_.peak(),
            .buffer_limit = buffers_.limit(),
            .buffer_waits = buffers_.waits()};
}

// One address may hold max_per_source sessions: a single attacking host
// cannot take every slot (max_connections) from everyone else.
bool proxy::admit_source(const endpoint& client) {
    auto& open = per_source_[client.address.to_uint()];
    if (open >= cfg_.max_per_source) return false;
    ++open;
    return true;
}

void proxy::leave_source(const endpoint& client) {
    const auto it = per_source_.find(client.address.to_uint());
    if (it != per_source_.end() && --it->second == 0) per_source_.erase(it);
}

task<void> proxy::accept_loop() {
    for (;;) {
        // At the limit, new clients wait in the listener's backlog (and
        // beyond it their SYNs are dropped, so they retry).
        while (sessions_.size() >= cfg_.max_connections && !stopping_) co_await slot_free_.wait();
        if (stopping_) co_return;
        auto c = co_await listener_.accept();
        if (!c) co_return;  // the listener was closed
        if (!admit_source(c->remote())) {
            ++counters_.refused_per_source;
            spdlog::debug("proxy: client {} reset: its address has {} sessions", endpoint_text(c->remote()),
                          cfg_.max_per_source);
            c->abort();
            continue;
        }
        auto s = std::make_shared<session>(stack_.loop(), next_id_++, std::move(*c));
        sessions_.emplace(s->id, s);
        ++counters_.accepted;
        counters_.peak_sessions = std::max<std::uint64_t>(counters_.peak_sessions, sessions_.size());
        spdlog::log(session_level(true), "session {}: client {}", s->id, endpoint_text(s->client_at));
        stack_.loop().spawn(run(std::move(s)), "session");
    }
}

task<void> proxy::run(std::shared_ptr<session> s) {
    auto up = co_await stack_.connect(cfg_.upstream, cfg_.connect_timeout);
    if (!up) {
        // The client learns at once (RST), rather than waiting on a silent connection.
        ++counters_.upstream_failed;
        ++counters_.upstream_errors[up.error().value()];
        s->fail("upstream " + endpoint_text(cfg_.upstream) + ": " + describe(up.error()), "upstream", up.error());
        end(*s);
        co_return;
    }
    s->upstream = std::move(*up);
    if (!s->outcome.empty()) {  // the client went away, or the proxy stopped, while we connected
        s->abort();
        end(*s);
        co_return;
    }
    spdlog::log(session_level(true), "session {}: upstream {} from port {}", s->id, endpoint_text(cfg_.upstream),
                s->upstream.local().port);
    s->pumps = 2;
    stack_.loop().spawn(pump(s, to_upstream), "pump");
    stack_.loop().spawn(pump(s, to_client), "pump");
    // The awaited value is named: see metrics_server.cpp on GCC 12 and
    // `if (!co_await ...) statement;`.
    while (s->pumps > 0) {
        const bool woken = co_await s->pumps_done.wait_until(deadline(*s));
        if (!woken && s->pumps > 0 && stack_.loop().now() >= deadline(*s)) expire(*s);
    }
    co_await finish(*s);
    end(*s);
}

// When the session's timers run out: the first byte's (while both sides are
// silent), else the idle timeout's.
runtime::time_point proxy::deadline(const session& s) const {
    auto at = runtime::time_point::max();
    if (cfg_.idle_timeout) at = s.last_active + *cfg_.idle_timeout;
    if (cfg_.first_byte_timeout && s.silent()) at = std::min(at, s.started + *cfg_.first_byte_timeout);
    return at;
}

void proxy::expire(session& s) {
    const auto timed_out = make_error_code(std::errc::timed_out);
    if (cfg_.first_byte_timeout && s.silent() && stack_.loop().now() >= s.started + *cfg_.first_byte_timeout) {
        ++counters_.slow;
        s.fail(fmt::format("nothing sent in {:.1f} s", seconds(*cfg_.first_byte_timeout)), "slow", timed_out);
        return;
    }
    s.fail(fmt::format("idle for {:.1f} s", seconds(*cfg_.idle_timeout)), "idle", timed_out);
}

// One direction: copies from one side to the other until the reading side's
// FIN, which is passed on as shutdown_write. It waits for data holding no
// buffer, and holds one from the pool only while there is data to move.
task<void> proxy::pump(std::shared_ptr<session> s, int direction) {
    for (bool more = true; more;) {
        (void)co_await s->from(direction).wait_readable();  // what it found, try_read says
        const auto buffer = co_await buffers_.take();
        more = co_await pass_on(*s, direction, buffer.bytes());
    }
    if (--s->pumps == 0) s->pumps_done.notify();
}

// Passes on what has arrived on one side until nothing is left to read now
// (true: wait for more), or until the FIN (passed on) or a failure ends the
// direction (false).
task<bool> proxy::pass_on(session& s, int direction, wire::mut_bytes buf) {
    static constexpr const char* side[] = {"client", "upstream"};
    const auto failed = [&s](int which, std::error_code ec) {
        s.fail(std::string(side[which]) + ": " + describe(ec), side[which], ec);
        return false;
    };
    for (;;) {
        const auto n = s.from(direction).try_read(buf);
        if (!n) co_return n.error() == std::errc::resource_unavailable_try_again || failed(direction, n.error());
        if (*n == 0) {
            if (auto r = co_await s.to(direction).shutdown_write(); !r) failed(1 - direction, r.error());
            co_return false;
        }
        s.bytes[direction] += *n;
        (direction == to_upstream ? counters_.bytes_up : counters_.bytes_down) += *n;
        s.last_active = stack_.loop().now();
        if (direction == to_client)
            s.client_rate.answered();
        else if (!keeps_min_rate(s, *n))
            co_return false;
        if (auto w = co_await s.to(direction).write(buf.first(*n)); !w) co_return failed(1 - direction, w.error());
    }
}

// The min-rate rule for n more bytes from the client; false when it reset the session.
bool proxy::keeps_min_rate(session& s, std::size_t n) {
    if (cfg_.min_rate == 0 || s.client_rate.add(s.last_active, n, cfg_.min_rate, cfg_.min_rate_window)) return true;
    ++counters_.slow;
    s.fail(
        fmt::format("client sent below --min-rate {} B/s over {:.1f} s", cfg_.min_rate, seconds(cfg_.min_rate_window)),
        "slow", make_error_code(std::errc::timed_out));
    return false;
}

// Both FINs are sent: waits until both peers acknowledged everything.
task<void> proxy::finish(session& s) {
    for (connection* c : {&s.client, &s.upstream})
        if (c->valid()) s.retransmits[c == &s.upstream] = c->stats().retransmits;
    for (connection* c : {&s.client, &s.upstream}) {
        if (!c->valid()) continue;
        if (auto r = co_await c->close(); !r && s.outcome.empty()) {
            s.side = c == &s.client ? "client" : "upstream";
            s.outcome = s.side + " close: " + describe(r.error());
            s.error = r.error();
        }
    }
}

void proxy::end(session& s) {
    const session_summary sum{.id = s.id,
                              .start = s.start,
                              .client = s.client_at,
                              .upstream = cfg_.upstream,
                              .outcome = s.outcome,
                              .side = s.side,
                              .error = s.error,
                              .bytes_up = s.bytes[to_upstream],
                              .bytes_down = s.bytes[to_client],
                              .retransmits_client = s.retransmits[0],
                              .retransmits_upstream = s.retransmits[1],
                              .seconds = seconds(stack_.loop().now() - s.started)};
    const bool ok = sum.outcome.empty();
    ++(ok ? counters_.completed : counters_.failed);
    if (!ok) ++counters_.failed_by_side[sum.side];
    counters_.retransmits_client += sum.retransmits_client;
    counters_.retransmits_upstream += sum.retransmits_upstream;
    spdlog::log(session_level(ok),
                "session {} ended ({}): client {}, {} B up, {} B down, {:.3f} s, retransmits {} client / {} upstream",
                sum.id, ok ? "ok" : sum.outcome, endpoint_text(sum.client), sum.bytes_up, sum.bytes_down, sum.seconds,
                sum.retransmits_client, sum.retransmits_upstream);
    if (cfg_.on_session_end) cfg_.on_session_end(sum);
    leave_source(s.client_at);
    sessions_.erase(s.id);  // may destroy s
    slot_free_.notify();
    drained_.notify();
}

spdlog::level::level_enum proxy::session_level(bool ok) const noexcept {
    if (!cfg_.sessions_in_log) return spdlog::level::debug;
    return ok ? spdlog::level::info : spdlog::level::warn;
}

task<void> proxy::stop() {
    stopping_ = true;
    listener_.close();  // clients not yet accepted are reset
    slot_free_.notify();
    const auto deadline = stack_.loop().now() + cfg_.drain_timeout;
    if (!sessions_.empty())
        spdlog::info("proxy: stopping, {} sessions open, waiting up to {:.1f} s", sessions_.size(),
                     seconds(cfg_.drain_timeout));
    while (!sessions_.empty() && stack_.loop().now() < deadline) co_await drained_.wait_until(deadline);
    if (!sessions_.empty()) {
        spdlog::warn("proxy: aborting {} sessions still open", sessions_.size());
        std::vector<std::shared_ptr<session>> open;
        for (auto& [id, s] : sessions_) open.push_back(s);
        counters_.aborted += open.size();
        for (auto& s : open) s->fail("proxy stopped", "proxy", make_error_code(std::errc::connection_aborted));
    }
    // Aborted sessions end within a turn or two of the loop; one still
    // connecting upstream is left to die with the process.
    const auto last = stack_.loop().now() + std::chrono::seconds(1);
    while (!sessions_.empty() && stack_.loop().now() < last) co_await drained_.wait_until(last);
}

}  // namespace coronet::apps
