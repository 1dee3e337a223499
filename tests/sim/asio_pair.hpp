// The Asio sim tests' fixtures: two asio_streams connected through the
// adapters, and an io_context run in turns with the simulator. asio_pair
// builds them on a sim_pair; the lifetime tests build them on hosts they
// can destroy one by one (asio_lifetime.cpp).
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <coronet/api/asio.hpp>
#include <functional>
#include <optional>

#include "sim_pair.hpp"

namespace coronet::test {

namespace asio = boost::asio;
using boost::system::error_code;

// Runs io's ready handlers and the simulator, in turns, until pred() holds
// or `limit` of virtual time has passed.
inline bool run_in_turns(asio::io_context& io, runtime::sim_loop& sim, const std::function<bool()>& pred,
                         runtime::duration limit) {
    const auto end = sim.now() + limit;
    for (;;) {
        io.restart();
        io.poll();
        if (pred()) return true;
        if (sim.now() >= end) return false;
        sim.run_for(1ms);
    }
}

// Opens two asio_streams: `a` from async_connect on layer `from`, `b` from
// async_accept of port 80 on layer `to` (the acceptor stays open for more).
inline void open_streams(asio::io_context& io, runtime::sim_loop& sim, const asio_bridge& bridge, tcp::tcp_layer& from,
                         tcp::tcp_layer& to, endpoint to_at_80, std::optional<asio_acceptor>& acceptor,
                         std::optional<asio_stream>& a, std::optional<asio_stream>& b) {
    auto l = to.listen(80, 8);
    BOOST_REQUIRE(l);
    acceptor.emplace(bridge, listener{*l});
    acceptor->async_accept([&b](error_code ec, asio_stream s) {
        BOOST_TEST(!ec, ec.message());
        b.emplace(std::move(s));
    });
    async_connect(bridge, from, to_at_80, [&a](error_code ec, asio_stream s) {
        BOOST_TEST(!ec, ec.message());
        a.emplace(std::move(s));
    });
    BOOST_REQUIRE(run_in_turns(
        io, sim, [&] { return a && b; }, 30s));
}

// Two asio_streams connected through the adapters over a sim_pair.
struct asio_pair {
    sim_pair p;
    asio::io_context io;
    asio_bridge bridge{io.get_executor(), p.sim};
    std::optional<asio_acceptor> acceptor;
    std::optional<asio_stream> a, b;

    explicit asio_pair(tcp::tcp_config cfg = {}) : p(1, {}, cfg) {
        open_streams(io, p.sim, bridge, p.a.tcp, p.b.tcp, p.b_at(80), acceptor, a, b);
    }
    bool run_until(const std::function<bool()>& pred, runtime::duration limit = 30s) {
        return run_in_turns(io, p.sim, pred, limit);
    }
    void run_for(runtime::duration d) {
        run_until([] { return false; }, d);
    }
    // Spawns an Asio coroutine; `done` is set when it returns.
    void spawn(asio::awaitable<void> c, bool& done) {
        asio::co_spawn(io, std::move(c), [&done](std::exception_ptr e) {
            BOOST_TEST(!e);
            done = true;
        });
    }
};

}  // namespace coronet::test
