#include "proxy.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "../common/options.hpp"

namespace coronet::apps {

using runtime::task;

namespace {

constexpr int to_upstream = 0, to_client = 1;
constexpr std::size_t pump_buffer = 64 * 1024;

double seconds(runtime::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

struct proxy::session {
    session(runtime::executor& ex, std::uint64_t n, connection c)
        : id(n),
          client(std::move(c)),
          client_at(client.remote()),
          pumps_done(ex),
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
    connection& from(int direction) { return direction == to_upstream ? client : upstream; }
    connection& to(int direction) { return direction == to_upstream ? upstream : client; }

    std::uint64_t id;
    connection client, upstream;
    endpoint client_at;
    runtime::event pumps_done;  // notified when the last pump ends
    int pumps = 0;
    std::uint64_t bytes[2] = {};
    std::uint64_t retransmits[2] = {};  // client side, upstream side
    runtime::time_point started, last_active;
    std::string outcome;  // empty: both directions finished with FINs
    std::string side;     // of the first failure
    std::error_code error;
};

proxy::proxy(stack& st, proxy_config cfg)
    : stack_(st), cfg_(std::move(cfg)), slot_free_(st.loop()), drained_(st.loop()) {}

proxy::~proxy() = default;

result<void> proxy::start() {
    auto l = stack_.listen(cfg_.listen_port, cfg_.backlog);
    if (!l) return l.error();
    listener_ = std::move(*l);
    stack_.loop().spawn(accept_loop(), "accept");
    spdlog::info("proxy: listening on port {}, upstream {}, at most {} sessions", cfg_.listen_port,
                 endpoint_text(cfg_.upstream), cfg_.max_connections);
    return {};
}

task<void> proxy::accept_loop() {
    for (;;) {
        // At the limit, new clients wait in the listener's backlog (and
        // beyond it their SYNs are dropped, so they retry).
        while (sessions_.size() >= cfg_.max_connections && !stopping_) co_await slot_free_.wait();
        if (stopping_) co_return;
        auto c = co_await listener_.accept();
        if (!c) co_return;  // the listener was closed
        auto s = std::make_shared<session>(stack_.loop(), next_id_++, std::move(*c));
        sessions_.emplace(s->id, s);
        ++counters_.accepted;
        counters_.peak_sessions = std::max<std::uint64_t>(counters_.peak_sessions, sessions_.size());
        spdlog::info("session {}: client {}", s->id, endpoint_text(s->client_at));
        stack_.loop().spawn(run(std::move(s)), "session");
    }
}

task<void> proxy::run(std::shared_ptr<session> s) {
    auto up = co_await stack_.connect(cfg_.upstream, cfg_.connect_timeout);
    if (!up) {
        // The client learns at once (RST), rather than waiting on a silent connection.
        ++counters_.upstream_failed;
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
    spdlog::info("session {}: upstream {} from port {}", s->id, endpoint_text(cfg_.upstream), s->upstream.local().port);
    s->pumps = 2;
    stack_.loop().spawn(pump(s, to_upstream), "pump");
    stack_.loop().spawn(pump(s, to_client), "pump");
    while (s->pumps > 0) {
        const auto deadline = cfg_.idle_timeout ? s->last_active + *cfg_.idle_timeout : runtime::time_point::max();
        if (!co_await s->pumps_done.wait_until(deadline) && s->pumps > 0 &&
            stack_.loop().now() - s->last_active >= *cfg_.idle_timeout)
            s->fail("idle for " + fmt::format("{:.1f}", seconds(*cfg_.idle_timeout)) + " s", "idle",
                    make_error_code(std::errc::timed_out));
    }
    co_await finish(*s);
    end(*s);
}

// One direction: reads from one side and writes to the other until the
// reading side's FIN, which is passed on as shutdown_write.
task<void> proxy::pump(std::shared_ptr<session> s, int direction) {
    static constexpr const char* side[] = {"client", "upstream"};
    std::vector<std::byte> buf(pump_buffer);
    for (;;) {
        auto n = co_await s->from(direction).read(buf);
        if (!n) {
            s->fail(std::string(side[direction]) + ": " + describe(n.error()), side[direction], n.error());
            break;
        }
        if (*n == 0) {
            if (auto r = co_await s->to(direction).shutdown_write(); !r)
                s->fail(std::string(side[1 - direction]) + ": " + describe(r.error()), side[1 - direction], r.error());
            break;
        }
        s->bytes[direction] += *n;
        s->last_active = stack_.loop().now();
        if (auto r = co_await s->to(direction).write({buf.data(), *n}); !r) {
            s->fail(std::string(side[1 - direction]) + ": " + describe(r.error()), side[1 - direction], r.error());
            break;
        }
    }
    if (--s->pumps == 0) s->pumps_done.notify();
}

// Both FINs are sent: waits until both peers acknowledged everything.
task<void> proxy::finish(session& s) {
    for (connection* c : {&s.client, &s.upstream})
        if (c->valid()) s.retransmits[c == &s.upstream] = c->tcb().stats().retransmits;
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
                              .client = s.client_at,
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
    spdlog::log(ok ? spdlog::level::info : spdlog::level::warn,
                "session {} ended ({}): client {}, {} B up, {} B down, {:.3f} s, retransmits {} client / {} upstream",
                sum.id, ok ? "ok" : sum.outcome, endpoint_text(sum.client), sum.bytes_up, sum.bytes_down, sum.seconds,
                sum.retransmits_client, sum.retransmits_upstream);
    if (cfg_.on_session_end) cfg_.on_session_end(sum);
    sessions_.erase(s.id);  // may destroy s
    slot_free_.notify();
    drained_.notify();
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
