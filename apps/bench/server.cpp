#include "server.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "payload.hpp"

namespace coronet::bench {

namespace {
constexpr std::size_t bulk_chunk = 64 * 1024;
// A reverse bulk run cannot ask the server to send for more than this.
constexpr std::chrono::milliseconds max_send_duration = std::chrono::hours(1);
}  // namespace

task<void> server::accept_loop(std::unique_ptr<acceptor> a) {
    accepting_ = true;
    bool failing = false;  // one warning per run of failures, not one per retry
    while (!stopping_) {
        auto s = co_await a->accept();
        if (stopping_) break;  // one accepted as the stop came is not served
        if (s) {
            failing = false;
            ++active_;  // counted now: a session not started yet must still be waited for
            loop_.spawn(serve(std::move(*s)), "session");
            continue;
        }
        if (s.error() == std::errc::operation_canceled) break;
        // Out of descriptors or memory, or a connection that died in the
        // queue: the server goes on, a little later.
        if (!std::exchange(failing, true)) spdlog::warn("accept: {} (retrying)", s.error().message());
        co_await loop_.sleep_for(std::chrono::milliseconds(10));
    }
    accepting_ = false;
}

void server::stop() noexcept {
    stopping_ = true;
    net_.abort_all();
}

task<void> server::serve(std::unique_ptr<stream> s) {
    ++totals_.connections;
    if (totals_.congestion.empty()) totals_.congestion = s->congestion();
    auto r = co_await exchange(*s);
    if (r) r = co_await s->close();
    if (!r && !stopping_) {
        ++totals_.errors;
        spdlog::debug("session: {}", r.error().message());
    }
    totals_.losses += s->losses();
    --active_;
}

// Reads the header and runs the mode it names.
task<result<void>> server::exchange(stream& s) {
    std::array<std::byte, header::size> raw{};
    auto got = co_await read_exact(s, raw);
    if (!got) co_return got.error();
    if (*got == 0) co_return result<void>{};  // the client left before saying anything (a port probe)
    const auto h = header::decode(raw);
    if (!h || h->message_size == 0 || h->message_size > max_message_size) {
        spdlog::warn("refusing a connection: not a coronet-bench header, or a message size over {} bytes",
                     max_message_size);
        co_return std::make_error_code(std::errc::invalid_argument);
    }
    if (h->m != mode::bulk) co_return co_await echo(s, *h);
    // (Not one co_await of a conditional: GCC 12 destroys the chosen task too early.)
    if (h->total_bytes > 0 && h->reverse) co_return co_await send_fixed(s, *h);
    if (h->total_bytes > 0) co_return co_await receive_fixed(s, *h);
    if (h->reverse) co_return co_await send_bulk(s, *h);
    co_return co_await receive_bulk(s);
}

// Bulk, client to server: read until the client's FIN, then close.
task<result<void>> server::receive_bulk(stream& s) {
    std::vector<std::byte> buf(bulk_chunk);
    auto n = co_await drain(s, buf);
    if (!n) co_return n.error();
    totals_.bytes_in += *n;
    co_return result<void>{};
}

// Bulk, server to client: send for the duration the client asked, then close.
task<result<void>> server::send_bulk(stream& s, const header& h) {
    std::vector<std::byte> buf(h.message_size);
    const auto end = runtime::clock::now() + std::min(h.duration, max_send_duration);
    while (runtime::clock::now() < end) {
        if (auto r = co_await s.write(buf); !r) co_return r.error();
        totals_.bytes_out += buf.size();
    }
    co_return result<void>{};
}

// Fixed-size, client to server: exactly total_bytes, each checked against
// the pattern, then the trailer (digest, verdict, retransmissions) back to
// the client; then the client's FIN.
task<result<void>> server::receive_fixed(stream& s, const header& h) {
    std::vector<std::byte> buf(bulk_chunk);
    payload_check check;
    while (check.received() < h.total_bytes) {
        const auto room = std::span(buf).first(std::min<std::uint64_t>(buf.size(), h.total_bytes - check.received()));
        auto got = co_await s.receive(room);
        if (!got) co_return got.error();
        if (got->empty()) co_return std::make_error_code(std::errc::broken_pipe);  // the client stopped short
        check.feed(*got);
        totals_.bytes_in += got->size();
    }
    const trailer t{check.finish(), check.matches(), s.losses().retransmits};
    ++(t.verified ? totals_.fixed_verified : totals_.fixed_failed);
    totals_.last_sha256 = to_hex(t.digest);
    if (auto r = co_await s.write(t.encode()); !r) co_return r.error();
    if (auto extra = co_await drain(s, buf); !extra) co_return extra.error();
    co_return result<void>{};
}

// Fixed-size, server to client: exactly total_bytes of the pattern in
// message_size writes, then the trailer with their digest; then the client's FIN.
task<result<void>> server::send_fixed(stream& s, const header& h) {
    std::vector<std::byte> buf(h.message_size);
    sha256 sent;
    std::uint64_t offset = 0;
    while (offset < h.total_bytes) {
        const auto chunk = std::span(buf).first(std::min<std::uint64_t>(buf.size(), h.total_bytes - offset));
        fill_pattern(chunk, offset);
        sent.update(chunk);
        if (auto r = co_await s.write(chunk); !r) co_return r.error();
        offset += chunk.size();
        totals_.bytes_out += chunk.size();
    }
    const trailer t{sent.finish(), true, s.losses().retransmits};
    totals_.last_sha256 = to_hex(t.digest);
    if (auto r = co_await s.write(t.encode()); !r) co_return r.error();
    if (auto extra = co_await drain(s, buf); !extra) co_return extra.error();
    co_return result<void>{};
}

// rr and crr: answer each message_size-byte request with as many bytes, until
// the client's FIN (rr) or after one answer (crr). In crr the server closes
// first, so TIME_WAIT stays here, with the listener, as with a web server:
// a client in TIME_WAIT would hold an ephemeral port for 2*MSL per
// connection and run out of ports within seconds.
task<result<void>> server::echo(stream& s, const header& h) {
    std::vector<std::byte> buf(h.message_size);
    for (;;) {
        auto got = co_await read_exact(s, buf);
        if (!got) co_return got.error();
        if (*got == 0) co_return result<void>{};
        totals_.bytes_in += buf.size();
        if (auto r = co_await s.write(buf); !r) co_return r.error();
        totals_.bytes_out += buf.size();
        if (h.m == mode::crr) co_return result<void>{};
    }
}

std::string server::json() const { return json(net_.name(), totals_, apps::json::object()); }

std::string server::json(std::string_view stack, const server_totals& t, const apps::json& extra) {
    apps::json j = {{"role", "server"},
                    {"stack", stack},
                    {"connections", t.connections},
                    {"bytes_in", t.bytes_in},
                    {"bytes_out", t.bytes_out},
                    {"retransmits", t.losses.retransmits},
                    {"dsacks", t.losses.dsacks},
                    {"errors", t.errors},
                    {"cc", t.congestion},
                    {"fixed_verified", t.fixed_verified},
                    {"fixed_failed", t.fixed_failed},
                    {"last_sha256", t.last_sha256}};
    if (t.losses.recoveries) j["recoveries"] = *t.losses.recoveries;
    for (const auto& [key, value] : extra.items()) j[key] = value;
    return apps::json_line(j);
}

}  // namespace coronet::bench
