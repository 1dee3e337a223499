#include "client.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <limits>

#include "../common/json.hpp"
#include "../common/options.hpp"
#include "payload.hpp"

namespace coronet::bench {

namespace {

using std::chrono::duration_cast;
using std::chrono::nanoseconds;

// A kernel connect gives up after this, well inside the run's grace period
// (coronet's cannot yet: see user_transport.cpp).
constexpr runtime::duration connect_timeout = std::chrono::seconds(5);

double seconds(runtime::duration d) { return std::chrono::duration<double>(d).count(); }

// The q-quantile (0..1) of the samples, in microseconds; 0 without samples.
double quantile_us(std::vector<std::uint32_t>& ns, double q) {
    if (ns.empty()) return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1) + 0.5);
    std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(k), ns.end());
    return ns[k] / 1000.0;
}

// Adds the fixed-size transfer's figures to j (nothing for a timed run).
void add_fixed(apps::json& j, const std::vector<tally>& tallies, std::uint64_t bytes, double secs) {
    if (tallies.empty() || !tallies.front().fixed) return;
    const fixed_result& f = *tallies.front().fixed;
    j["fixed_bytes"] = bytes;
    j["goodput_mbit_s"] = apps::rounded(static_cast<double>(bytes) * 8 / secs / 1e6, 3);
    j["goodput_timing"] = "client: header sent to trailer received (the transfer + about 1 RTT)";
    j["sha256_sender"] = f.sha256_sender;
    j["sha256_receiver"] = f.sha256_receiver;
    j["sha256_match"] = f.sha256_sender == f.sha256_receiver;
    j["verified"] = f.verified;
    j["peer_retransmits"] = f.peer_retransmits;
}

}  // namespace

client::client(runtime::loop& loop, transport& net, client_config cfg)
    : loop_(loop), net_(net), cfg_(cfg), tallies_(cfg.connections) {
    header_.m = cfg_.m;
    header_.reverse = cfg_.reverse;
    header_.message_size = cfg_.size;
    header_.duration = duration_cast<std::chrono::milliseconds>(cfg_.duration);
    header_.total_bytes = cfg_.total_bytes;
}

void client::start(std::function<void()> on_done) {
    on_done_ = std::move(on_done);
    for (auto& t : tallies_) loop_.spawn(worker(t), "worker");
}

void client::fail(std::string why) {
    if (error_) return;
    error_ = std::move(why);
    net_.abort_all();
}

task<void> client::worker(tally& t) {
    result<void> r;
    switch (cfg_.m) {
        case mode::bulk:
            r = co_await bulk(t);
            break;
        case mode::rr:
            r = co_await rr(t);
            break;
        case mode::crr:
            r = co_await crr(t);
            break;
    }
    if (!r) fail(fmt::format("{}: {}", to_string(cfg_.m), apps::describe(r.error())));
    if (++finished_ == tallies_.size() && on_done_) on_done_();
}

task<result<std::unique_ptr<stream>>> client::open(std::string_view what) {
    auto s = co_await net_.connect(cfg_.remote, connect_timeout);
    if (!s)  // the first error names the address: it is the likeliest mistake
        fail(fmt::format("{}: connect to {}:{}: {}", what, cfg_.remote.address.to_string(), cfg_.remote.port,
                         apps::describe(s.error())));
    co_return s;
}

// The end of a bulk or rr connection: FIN, then wait for the server's, so
// both sides are done when the run is (nothing left to retransmit).
task<result<void>> client::finish(stream& s, tally& t) {
    if (auto r = co_await s.shutdown_write(); !r) co_return r;
    std::array<std::byte, 4096> scratch;
    if (auto n = co_await drain(s, scratch); !n) co_return n.error();
    t.congestion = s.congestion();
    auto r = co_await s.close();
    t.losses += s.losses();
    co_return r;
}

void client::record(tally& t, runtime::time_point since) const {
    const auto ns = duration_cast<nanoseconds>(runtime::clock::now() - since).count();
    t.latency_ns.push_back(
        static_cast<std::uint32_t>(std::min<long long>(ns, std::numeric_limits<std::uint32_t>::max())));
    ++t.transactions;
    t.bytes += 2ull * cfg_.size;
}

// One connection streams for the duration: the client writes (or, reversed,
// the server does) and the time runs until the data is all delivered.
task<result<void>> client::bulk(tally& t) {
    auto s = co_await open("bulk");
    if (!s) co_return s.error();
    const auto hdr = header_.encode();
    if (auto r = co_await (*s)->write(hdr); !r) co_return r;
    t.start = runtime::clock::now();
    t.transactions = 1;
    if (cfg_.total_bytes > 0) {
        if (auto r = cfg_.reverse ? co_await receive_fixed(**s, t) : co_await send_fixed(**s, t); !r) co_return r;
        co_return co_await finish_fixed(**s, t);
    }
    std::vector<std::byte> buf(cfg_.size);
    if (cfg_.reverse) {  // the server sends for the duration, then closes
        auto n = co_await drain(**s, buf);
        if (!n) co_return n.error();
        t.bytes = *n;
    } else {
        const auto end = t.start + cfg_.duration;
        while (runtime::clock::now() < end) {
            if (auto r = co_await (*s)->write(buf); !r) co_return r;
            t.bytes += buf.size();
        }
    }
    auto r = co_await finish(**s, t);  // the server closes once it has read everything
    t.end = runtime::clock::now();
    co_return r;
}

namespace {

// Reads the peer's trailer; an end of stream before it is an error.
task<result<trailer>> read_trailer(stream& s) {
    std::array<std::byte, trailer::size> raw{};
    auto got = co_await read_exact(s, raw);
    if (!got) co_return got.error();
    if (*got == 0) co_return std::make_error_code(std::errc::broken_pipe);
    co_return trailer::decode(raw);
}

}  // namespace

// A fixed-size transfer from the client: exactly total_bytes of the pattern,
// then the server's trailer with the digest of what it received. The time
// ends when the trailer arrives: the transfer plus about one round trip.
task<result<void>> client::send_fixed(stream& s, tally& t) {
    std::vector<std::byte> buf(cfg_.size);
    sha256 sent;
    while (t.bytes < cfg_.total_bytes) {
        const auto chunk = std::span(buf).first(std::min<std::uint64_t>(buf.size(), cfg_.total_bytes - t.bytes));
        fill_pattern(chunk, t.bytes);
        sent.update(chunk);
        if (auto r = co_await s.write(chunk); !r) co_return r;
        t.bytes += chunk.size();
    }
    auto peer = co_await read_trailer(s);
    if (!peer) co_return peer.error();
    t.end = runtime::clock::now();
    t.fixed = fixed_result{to_hex(sent.finish()), to_hex(peer->digest), peer->verified, peer->retransmits};
    co_return result<void>{};
}

// A fixed-size transfer to the client: exactly total_bytes, each checked
// against the pattern, then the server's trailer with the digest of what it
// sent. The time runs from the header to the trailer: about one round trip
// more than the transfer, as when the client sends.
task<result<void>> client::receive_fixed(stream& s, tally& t) {
    std::vector<std::byte> buf(cfg_.size);
    payload_check check;
    while (check.received() < cfg_.total_bytes) {
        const auto room =
            std::span(buf).first(std::min<std::uint64_t>(buf.size(), cfg_.total_bytes - check.received()));
        auto got = co_await s.receive(room);
        if (!got) co_return got.error();
        if (got->empty()) co_return std::make_error_code(std::errc::broken_pipe);  // the server stopped short
        check.feed(*got);
    }
    t.bytes = check.received();
    auto peer = co_await read_trailer(s);
    if (!peer) co_return peer.error();
    t.end = runtime::clock::now();
    t.fixed = fixed_result{to_hex(peer->digest), to_hex(check.finish()), check.matches(), peer->retransmits};
    co_return result<void>{};
}

// After the trailer nothing more may come: FIN, the server's FIN, close.
task<result<void>> client::finish_fixed(stream& s, tally& t) {
    if (auto r = co_await s.shutdown_write(); !r) co_return r;
    std::array<std::byte, 4096> scratch;
    auto extra = co_await drain(s, scratch);
    if (!extra) co_return extra.error();
    if (*extra != 0) t.fixed->verified = false;  // more than was asked for came: not the transfer we wanted
    t.congestion = s.congestion();
    auto r = co_await s.close();
    t.losses += s.losses();
    co_return r;
}

// Request/response on one connection, one transaction at a time.
task<result<void>> client::rr(tally& t) {
    auto s = co_await open("rr");
    if (!s) co_return s.error();
    const auto hdr = header_.encode();
    if (auto r = co_await (*s)->write(hdr); !r) co_return r;
    std::vector<std::byte> msg(cfg_.size);
    t.start = runtime::clock::now();
    const auto end = t.start + cfg_.duration;
    for (auto now = t.start; now < end; now = runtime::clock::now()) {
        if (auto r = co_await (*s)->write(msg); !r) co_return r;
        auto got = co_await read_exact(**s, msg);
        if (!got) co_return got.error();
        if (*got == 0) co_return std::make_error_code(std::errc::broken_pipe);
        record(t, now);
    }
    t.end = runtime::clock::now();
    co_return co_await finish(**s, t);
}

// One new connection per transaction: connect, request, response, close
// (the server's FIN comes with or right after the response; see server::echo).
task<result<void>> client::crr(tally& t) {
    // The header and the request go out in one write, as one segment.
    std::vector<std::byte> request(header::size + cfg_.size);
    const auto hdr = header_.encode();
    std::copy(hdr.begin(), hdr.end(), request.begin());
    std::vector<std::byte> response(cfg_.size);
    t.start = runtime::clock::now();
    const auto end = t.start + cfg_.duration;
    for (auto now = t.start; now < end; now = runtime::clock::now()) {
        auto s = co_await open("crr");
        if (!s) co_return s.error();
        if (auto r = co_await (*s)->write(request); !r) co_return r;
        auto got = co_await read_exact(**s, response);
        if (!got) co_return got.error();
        if (*got == 0) co_return std::make_error_code(std::errc::broken_pipe);
        if (auto rest = co_await drain(**s, response); !rest) co_return rest.error();  // the server closes first
        t.congestion = (*s)->congestion();
        auto closed = co_await (*s)->close();
        t.losses += (*s)->losses();
        if (!closed) co_return closed;
        record(t, now);
    }
    t.end = runtime::clock::now();
    co_return result<void>{};
}

std::string client::json() const { return json(cfg_, net_.name(), tallies_, 1); }

std::string client::json(const client_config& cfg, std::string_view stack, const std::vector<tally>& tallies,
                         unsigned loops) {
    std::uint64_t bytes = 0, transactions = 0;
    loss_counts losses;
    auto start = runtime::time_point::max();
    auto end = runtime::time_point::min();
    std::vector<std::uint32_t> latency;
    for (const auto& t : tallies) {
        bytes += t.bytes;
        transactions += t.transactions;
        losses += t.losses;
        start = std::min(start, t.start);
        end = std::max(end, t.end);
        latency.insert(latency.end(), t.latency_ns.begin(), t.latency_ns.end());
    }
    const double secs = std::max(seconds(end - start), 1e-9);
    apps::json j = {{"mode", to_string(cfg.m)},
                    {"stack", stack},
                    {"reverse", cfg.reverse},
                    {"connections", cfg.connections},
                    {"loops", loops},
                    {"size", cfg.size},
                    {"duration_s", apps::rounded(secs, 3)},
                    {"bytes", bytes},
                    {"transactions", transactions}};
    if (cfg.m == mode::bulk) {
        j["gbit_per_s"] = apps::rounded(static_cast<double>(bytes) * 8 / secs / 1e9, 3);
    } else {
        const double rate = static_cast<double>(transactions) / secs;
        j["transactions_per_s"] = apps::rounded(rate, 1);
        j["p50_us"] = apps::rounded(quantile_us(latency, 0.50), 1);
        j["p99_us"] = apps::rounded(quantile_us(latency, 0.99), 1);
        if (cfg.m == mode::crr) j["connections_per_s"] = apps::rounded(rate, 1);
    }
    j["retransmits"] = losses.retransmits;
    j["dsacks"] = losses.dsacks;
    if (losses.recoveries) j["recoveries"] = *losses.recoveries;
    j["cc"] = tallies.empty() ? "" : tallies.front().congestion;
    add_fixed(j, tallies, bytes, secs);
    return apps::json_line(j);
}

}  // namespace coronet::bench
