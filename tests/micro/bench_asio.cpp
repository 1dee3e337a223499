// What the Asio adapter adds per operation: one round (a writes `size`
// bytes, b reads them) on the same pair of connections over a sim_link,
// through asio_stream (async_write_some, async_read_some with plain
// callbacks, an io_context polled between the simulator's turns) and through
// the native API (co_await write / read). Both include the TCP work of both
// ends; the difference is the adapter's.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <coronet/api/asio.hpp>
#include <coronet/link/sim_link.hpp>
#include <coronet/net/host.hpp>
#include <coronet/runtime/sim_loop.hpp>
#include <coronet/tcp/layer.hpp>
#include <functional>
#include <vector>

namespace asio = boost::asio;
using namespace coronet;

namespace {

// Two hosts on a sim_link and one established connection between them.
struct connected_pair {
    runtime::sim_loop sim;
    link::sim_link wire{sim};
    net::host ha{
        sim, wire.a(), {.address = asio::ip::make_address_v4("10.0.0.1"), .prefix_len = 24}, runtime::random_source(1)};
    net::host hb{
        sim, wire.b(), {.address = asio::ip::make_address_v4("10.0.0.2"), .prefix_len = 24}, runtime::random_source(2)};
    tcp::tcp_layer ta{ha, {}, runtime::random_source(3)};
    tcp::tcp_layer tb{hb, {}, runtime::random_source(4)};
    listener l{tb.listen(80, 8).value()};
    connection a, b;

    connected_pair() {
        ha.start();
        hb.start();
        sim.run_for(std::chrono::milliseconds(1));
        a = sim.run_task(connect(ta, {asio::ip::make_address_v4("10.0.0.2"), 80})).value();
        b = sim.run_task(l.accept()).value();
    }
    // Runs the simulator, and `between` after each of its turns, until done().
    void run_until(const std::function<bool()>& done, const std::function<void()>& between = {}) {
        while (!done())
            sim.run_until(
                [&] {
                    if (between) between();
                    return done();
                },
                sim.now() + std::chrono::seconds(1));
    }
};

// Where a native round waits for the benchmark's next iteration.
struct baton {
    std::coroutine_handle<> waiting;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { waiting = h; }
    void await_resume() const noexcept {}
};

runtime::task<void> native_rounds(connection& w, connection& r, std::size_t size, baton& next, const bool& stop) {
    std::vector<std::byte> out(size), in(size);
    while (!stop) {
        co_await next;
        if (!(co_await w.write(out))) co_return;
        for (std::size_t got = 0; got < size;) {
            auto n = co_await r.read(wire::mut_bytes(in).subspan(got));
            if (!n || *n == 0) co_return;
            got += *n;
        }
    }
}

void native_round(benchmark::State& state) {
    connected_pair p;
    const auto size = static_cast<std::size_t>(state.range(0));
    baton next;
    bool stop = false;
    p.sim.spawn(native_rounds(p.a, p.b, size, next, stop));
    p.run_until([&] { return next.waiting != nullptr; });
    for (auto _ : state) {
        p.sim.post(std::exchange(next.waiting, {}));
        p.run_until([&] { return next.waiting != nullptr; });
    }
    stop = true;
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

void asio_round(benchmark::State& state) {
    connected_pair p;
    const auto size = static_cast<std::size_t>(state.range(0));
    asio::io_context io;
    asio_bridge bridge{io.get_executor(), p.sim};
    asio_stream a{bridge, std::move(p.a)}, b{bridge, std::move(p.b)};
    std::vector<std::byte> out(size), in(size);
    bool wrote = false;
    std::size_t got = 0;
    std::function<void()> read_more = [&] {
        b.async_read_some(asio::buffer(in.data() + got, size - got), [&](boost::system::error_code ec, std::size_t n) {
            got += n;
            if (!ec && got < size) read_more();
        });
    };
    const auto poll = [&] {
        io.restart();
        io.poll();
    };
    for (auto _ : state) {
        wrote = false;
        got = 0;
        a.async_write_some(asio::buffer(out), [&](boost::system::error_code, std::size_t) { wrote = true; });
        read_more();
        p.run_until([&] { return wrote && got == size; }, poll);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

}  // namespace

BENCHMARK(native_round)->Arg(64)->Arg(4096)->Arg(65536);
BENCHMARK(asio_round)->Arg(64)->Arg(4096)->Arg(65536);
