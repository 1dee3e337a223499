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
#include <deque>
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
        : host(ex, dev, {.address = make_address_v4(ip), .prefix_len = 24}),
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
    void send(const segment& s) {
        auto p = host.allocate();
        BOOST_REQUIRE(p);
        const wire::tcp_repr& h = s.header();
        auto seg = p->put(h.header_len() + s.payload().size());
        std::ranges::copy(s.payload(), seg.begin() + static_cast<std::ptrdiff_t>(h.header_len()));
        h.emit(seg, host.address(), remote);
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
    explicit with_raw_peer(const wire::tcp_options& synack = {}) {
        auto open = [&]() -> task<void> { ca = std::move(*(co_await connect(p.a.tcp, p.b_at(80)))); };
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

}  // namespace coronet::test
