// The sim tier's fixture: two hosts with TCP (a = 10.0.0.1, b = 10.0.0.2)
// over a sim_link on virtual time, every transition recorded. Runs are
// deterministic from the seed, which failing tests print.
#pragma once

#include <boost/test/unit_test.hpp>
#include <coronet/api/connection.hpp>
#include <coronet/link/sim_link.hpp>
#include <coronet/net/host.hpp>
#include <coronet/runtime/sim_loop.hpp>
#include <coronet/tcp/layer.hpp>
#include <coronet/wire/checksum.hpp>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "support/segment.hpp"
#include "support/transition_log.hpp"

namespace coronet::test {

using namespace std::chrono_literals;
using boost::asio::ip::address_v4;
using boost::asio::ip::make_address_v4;
using runtime::task;
using tcp::state;

// One host with TCP, recording its connections' transitions.
struct node : transition_log {
    net::host host;
    tcp::tcp_layer tcp;
    node(runtime::executor& ex, link::device& dev, const char* ip, const tcp::tcp_config& cfg, std::uint64_t seed)
        : host(ex, dev, {.address = make_address_v4(ip), .prefix_len = 24}, runtime::random_source(~seed)),
          tcp(host, cfg, runtime::random_source(seed)) {
        tcp.on_transition = [this](const tcp::tcb&, state from, state to, const char* cause) {
            record(from, to, cause);
        };
        host.start();
    }
};

struct sim_pair {
    std::uint64_t seed;
    runtime::sim_loop sim;
    link::sim_link wire;
    node a, b;
    // cfg_b: b's configuration when it differs from a's.
    explicit sim_pair(std::uint64_t s = 1, link::impairment imp = {}, tcp::tcp_config cfg = {},
                      std::optional<tcp::tcp_config> cfg_b = std::nullopt)
        : seed(s),
          wire(sim, imp, s),
          a(sim, wire.a(), "10.0.0.1", cfg, s),
          b(sim, wire.b(), "10.0.0.2", cfg_b.value_or(cfg), s + 1) {
        BOOST_TEST_MESSAGE("seed " << seed);
        sim.run_for(1ms);
    }
    endpoint b_at(std::uint16_t port) const { return {make_address_v4("10.0.0.2"), port}; }
    endpoint a_at(std::uint16_t port) const { return {make_address_v4("10.0.0.1"), port}; }
};

// A hand-driven TCP peer on one host (b unless said): records every segment
// it receives and sends segments the test builds (for transitions the kernel
// will not make) to `remote` (a).
struct raw_peer final : net::ipv4_handler {
    net::host& host;
    address_v4 remote;
    std::deque<received_segment> got;
    explicit raw_peer(net::host& h, address_v4 to = make_address_v4("10.0.0.1")) : host(h), remote(to) {
        host.set_handler(wire::ip_proto::tcp, this);
    }
    ~raw_peer() { host.set_handler(wire::ip_proto::tcp, nullptr); }

    void on_ipv4(const wire::ipv4_view& ip, const storage::rx_meta&) override {
        auto v = wire::tcp_view::parse(ip.payload(), ip.src(), ip.dst());
        BOOST_REQUIRE(v);
        got.push_back({wire::tcp_repr::from(*v), {v->payload().begin(), v->payload().end()}});
    }
    void on_icmp_error(const net::icmp_error&) override {}
    void send(const segment& s) {
        send_edited(s, [](wire::mut_bytes) {});
    }
    // Sends s after edit(tcp_bytes) changed it, with the checksum made right
    // again: a malformed segment that still reaches TCP's option parser.
    template <class Edit>
    void send_edited(const segment& s, Edit edit) {
        auto p = host.allocate();
        BOOST_REQUIRE(p);
        const wire::tcp_repr& h = s.header();
        auto seg = p->put(h.header_len() + s.payload().size());
        std::ranges::copy(s.payload(), seg.begin() + static_cast<std::ptrdiff_t>(h.header_len()));
        h.emit(seg, host.address(), remote);
        edit(seg);
        constexpr std::size_t checksum_at = 16;
        wire::store_u16(seg, checksum_at, 0);
        wire::checksum_acc acc;
        wire::add_pseudo_header(acc, host.address(), remote, wire::ip_proto::tcp,
                                static_cast<std::uint16_t>(seg.size()));
        acc.add(seg);
        wire::store_u16(seg, checksum_at, acc.finish());
        host.send_ipv4(remote, wire::ip_proto::tcp, std::move(*p));
    }
    received_segment pop() {
        BOOST_REQUIRE_MESSAGE(!got.empty(), "the peer received no segment");
        received_segment s = std::move(got.front());
        got.pop_front();
        return s;
    }
};

// a (real TCP) connected to a hand-driven peer on b; the peer's ISN is 5000.
// synack: the options of the peer's SYN+ACK (none: no SACK, no timestamps, MSS 536).
struct with_raw_peer {
    sim_pair p;
    raw_peer peer{p.b.host};
    connection ca;
    std::uint32_t a_next = 0;  // a's next sequence number
    // Unpaced, BBR (the default) too: the scripts count on what the windows
    // allow leaving at once. (BBR paced its first round trip at a nominal
    // millisecond's rate, fast enough for them, until it took the
    // handshake's 10 ms.)
    static tcp::tcp_config unpaced() {
        tcp::tcp_config cfg;
        cfg.pacing = tcp::tcp_config::pacing_mode::off;
        return cfg;
    }
    explicit with_raw_peer(const wire::tcp_options& synack = {}, const tcp::tcp_config& cfg = unpaced())
        : p(1, {}, cfg) {
        auto open = [&]() -> task<void> { ca = *(co_await connect(p.a.tcp, p.b_at(80))); };
        p.sim.spawn(open());
        p.sim.run_for(10ms);
        auto syn_seg = peer.pop();
        peer.send(reply_to(syn_seg).syn().seq(5000).options(synack));
        p.sim.run_for(10ms);
        BOOST_REQUIRE((ca.state() == state::established));
        a_next = (syn_seg.h.seq + 1).value;
        peer.got.clear();
    }
    // From the peer: this sequence number and exactly these flags, the acknowledgment number a_next.
    segment seg(std::uint32_t seq, std::uint8_t flags) const {
        return segment{80, ca.local().port}.seq(seq).ack(a_next).flags(flags);
    }
};

// b listening on port (backlog 8), for a's connections.
inline listener listen_on_b(sim_pair& p, std::uint16_t port = 80) {
    auto lr = p.b.tcp.listen(port, 8);
    BOOST_REQUIRE(lr);
    return listener{*lr};
}

// Deterministic content for transfers: byte i of stream `id`.
inline std::byte content(std::uint64_t id, std::size_t i) {
    std::uint64_t x = (id + 1) * 0x9e3779b97f4a7c15ull + i / 8;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    return std::byte(static_cast<std::uint8_t>(x >> ((i % 8) * 8)));
}

// Writes n bytes of stream id, then shuts down writing.
inline task<void> send_stream(connection& c, std::uint64_t id, std::size_t n, bool& ok) {
    std::vector<std::byte> buf(16 * 1024);
    std::size_t sent = 0;
    while (sent < n) {
        const std::size_t len = std::min(buf.size(), n - sent);
        for (std::size_t i = 0; i < len; ++i) buf[i] = content(id, sent + i);
        if (auto r = co_await c.write({buf.data(), len}); !r) {
            ok = false;
            co_return;
        }
        sent += len;
    }
    ok = static_cast<bool>(co_await c.shutdown_write());
}

// Reads to EOF, checking every byte against stream id; returns the count.
inline task<std::size_t> receive_stream(connection& c, std::uint64_t id, bool& ok) {
    std::vector<std::byte> buf(10000);
    std::size_t got = 0;
    for (;;) {
        auto r = co_await c.read(buf);
        if (!r) {
            ok = false;
            co_return got;
        }
        if (*r == 0) co_return got;
        for (std::size_t i = 0; i < *r; ++i)
            if (buf[i] != content(id, got + i)) {
                if (ok) BOOST_TEST_MESSAGE("first wrong byte at offset " << got + i << " (read of " << *r << ")");
                ok = false;
            }
        got += *r;
    }
}

// receive_stream reading in place (read_view / consume), consuming at most
// `bite` bytes of each view so that views are also used in part.
inline task<std::size_t> receive_stream_in_place(connection& c, std::uint64_t id, bool& ok, std::size_t bite) {
    std::size_t got = 0;
    for (;;) {
        auto view = co_await c.read_view();
        if (!view) {
            ok = false;
            co_return got;
        }
        if (view->empty()) co_return got;
        const std::size_t n = std::min(view->size(), bite);
        for (std::size_t i = 0; i < n; ++i)
            if ((*view)[i] != content(id, got + i)) {
                if (ok) BOOST_TEST_MESSAGE("first wrong byte at offset " << got + i << " (view of " << n << ")");
                ok = false;
            }
        if (!c.consume(n)) ok = false;
        got += n;
    }
}

// The bytes [0, n) of stream id.
inline std::vector<std::byte> stream_bytes(std::size_t n, std::uint64_t id = 3) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = content(id, i);
    return v;
}

// The SYN+ACK options of a SACK-capable peer with a 1000-byte MSS (no timestamps).
inline wire::tcp_options sack_peer() {
    wire::tcp_options o;
    o.mss = 1000;
    o.sack_permitted = true;
    return o;
}

// a writes stream_bytes(n) to the peer (which acknowledges nothing yet); the
// segments it sent are returned.
inline std::vector<received_segment> written(with_raw_peer& t, std::size_t n) {
    const auto data = stream_bytes(n);
    auto w = [&]() -> task<void> { co_await t.ca.write(data); };
    t.p.sim.spawn(w());
    t.p.sim.run_for(1ms);
    std::vector<received_segment> out(t.peer.got.begin(), t.peer.got.end());
    t.peer.got.clear();
    return out;
}

// The peer's ACK of everything before `ack`, with SACK blocks (at most four).
inline segment sack_ack(const with_raw_peer& t, seq32 ack, std::vector<tcp::seq_range> sacks) {
    wire::tcp_options o;
    BOOST_REQUIRE(sacks.size() <= o.sack.size());
    for (std::size_t i = 0; i < sacks.size(); ++i) o.sack[i] = {sacks[i].left, sacks[i].right};
    o.sack_count = static_cast<std::uint8_t>(sacks.size());
    return segment{80, t.ca.local().port}.seq(5001).ack(ack).options(o);
}

// What a bulk transfer from a to b showed, taken when b read EOF (or, if it
// never did, when the time limit passed).
struct transfer_result {
    bool ok_a = true, ok_b = true;  // a's writes and b's reads succeeded, every byte as sent
    bool done = false;              // b read to EOF in time
    std::size_t got = 0;
    runtime::duration took{};
    tcp::connection_stats a_stats, b_stats;
    std::uint32_t cwnd = 0, ssthresh = 0;                             // a's
    std::string congestion;                                           // a's algorithm
    std::size_t send_buffer = 0, receive_buffer = 0, b_reserved = 0;  // a's, b's, and b's layer's reservation
    bool ok(std::size_t n) const noexcept { return ok_a && ok_b && done && got == n; }
};

struct transfer_options {
    runtime::duration limit = 600s;
    bool read = true;  // false: b never reads, and the run lasts `limit`
    // b reads in place (read_view / consume), at most this many bytes of each view; 0: read()
    std::size_t in_place_bite = 0;
    // Called at every instant of virtual time the run passes through once
    // both connections exist, with a's and b's: to see how the transfer
    // unfolds (when slow start ended, when so many bytes had arrived).
    std::function<void(const tcp::tcb& a, const tcp::tcb& b)> watch;
};

// a sends n bytes to b (listening on 80), b checks them byte for byte and
// closes; afterwards both connections are aborted so that p can run again.
inline transfer_result transfer(sim_pair& p, std::size_t n, transfer_options opt = {}) {
    constexpr std::uint64_t stream = 7;
    transfer_result r;
    listener l = listen_on_b(p);
    connection ca, cb;
    const auto start = p.sim.now();
    auto snapshot = [&] {
        r.took = p.sim.now() - start;
        if (ca.valid()) {
            r.a_stats = ca.tcb().stats();
            r.cwnd = ca.tcb().cwnd();
            r.ssthresh = ca.tcb().congestion().ssthresh();
            r.congestion = ca.tcb().congestion().name();
            r.send_buffer = ca.tcb().send_buffer();
        }
        if (cb.valid()) {
            r.b_stats = cb.tcb().stats();
            r.receive_buffer = cb.tcb().receive_buffer();
        }
        r.b_reserved = p.b.tcp.buffer_reserved();
    };
    auto client = [&]() -> task<void> {
        auto c = co_await connect(p.a.tcp, p.b_at(80));
        if (!c) {
            r.ok_a = false;
            co_return;
        }
        ca = std::move(*c);
        co_await send_stream(ca, stream, n, r.ok_a);
    };
    auto server = [&]() -> task<void> {
        auto c = co_await l.accept();
        if (!c) {
            r.ok_b = false;
            co_return;
        }
        cb = std::move(*c);
        if (!opt.read) co_return;
        r.got = opt.in_place_bite > 0 ? co_await receive_stream_in_place(cb, stream, r.ok_b, opt.in_place_bite)
                                      : co_await receive_stream(cb, stream, r.ok_b);
        snapshot();
        co_await cb.close();
        r.done = true;
    };
    p.sim.spawn(client());
    p.sim.spawn(server());
    p.sim.run_until(
        [&] {
            if (opt.watch && ca.valid() && cb.valid()) opt.watch(ca.tcb(), cb.tcb());
            return r.done;
        },
        p.sim.now() + opt.limit);
    if (!r.done) snapshot();
    ca.abort();
    cb.abort();
    p.sim.run_for(10ms);
    return r;
}

}  // namespace coronet::test
