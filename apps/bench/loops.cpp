#include "loops.hpp"

#include <pthread.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <future>
#include <system_error>
#include <thread>

#include "server.hpp"
#include "shutdown.hpp"
#include "user_transport.hpp"

namespace coronet::bench {

namespace {

using namespace std::chrono_literals;

constexpr unsigned max_loops = 64;

// A stop request from the main thread to one loop: main notifies, a
// coroutine on the loop reads the eventfd through io_uring.
class stop_event {
public:
    stop_event() : fd_(::eventfd(0, EFD_CLOEXEC)) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    ~stop_event() { ::close(fd_); }
    stop_event(const stop_event&) = delete;
    stop_event& operator=(const stop_event&) = delete;

    void notify() noexcept {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
    }
    // Completes once notify() has been called, from any thread.
    task<void> wait(runtime::loop& loop) {
        std::uint64_t value = 0;
        waiting_ = true;
        co_await loop.submit([&](io_uring_sqe* s) { io_uring_prep_read(s, fd_, &value, sizeof value, 0); });
        waiting_ = false;
    }
    // Before the loop's coroutines are destroyed: ends a wait still pending,
    // whose read would otherwise complete into a freed frame. The caller's
    // coroutine sees `tearing_down` and returns.
    void settle(runtime::loop& loop) {
        tearing_down = true;
        if (!waiting_) return;
        notify();
        while (waiting_) loop.run_once(true);
    }
    bool tearing_down = false;

private:
    int fd_;
    bool waiting_ = false;
};

// One loop's thread and what it reports.
struct loop_slot {
    std::thread thread;
    stop_event stop;
    std::promise<std::uint16_t> made;  // its stack is up (its fanout group), or why it is not
    std::atomic<bool> finished{false};
    // server
    server_totals totals;
    bool idle = true;
    // client
    std::vector<tally> tallies;
    std::optional<std::string> error;
    bool done = true, interrupted = false;
};

// What every thread shares: read-only, but for the futures.
struct run_state {
    const bench_options& o;
    unsigned loops;
    std::shared_future<bool> go;       // every stack is up: true to run, false to give up
    std::shared_future<bool> release;  // results taken: true to tear down, false never comes (main exits)
};

client_config share_of(const client_config& all, unsigned index, unsigned loops) {
    client_config c = all;
    c.connections = all.connections / loops + (index < all.connections % loops ? 1 : 0);
    return c;
}

void serve(runtime::loop& loop, user_transport& net, loop_slot& slot, const run_state& run) {
    auto a = net.listen(run.o.listen_port);
    if (!a) throw std::system_error(a.error(), fmt::format("listen on port {}", run.o.listen_port));
    server srv{loop, net};
    loop.spawn(srv.accept_loop(std::move(*a)), "accept");
    auto on_stop = [&]() -> task<void> {
        co_await slot.stop.wait(loop);
        if (slot.stop.tearing_down) co_return;
        srv.stop();
        co_await stop_when(loop, [&] { return srv.idle(); });
    };
    loop.spawn(on_stop(), "stop");
    loop.run();
    slot.totals = srv.totals();
    slot.idle = srv.idle();
}

void run_client(runtime::loop& loop, user_transport& net, loop_slot& slot, const client_config& cfg) {
    client c{loop, net, cfg};
    auto on_stop = [&]() -> task<void> {
        co_await slot.stop.wait(loop);
        if (slot.stop.tearing_down) co_return;
        slot.interrupted = true;
        co_await end_early(loop, c, "interrupted");
    };
    loop.spawn(watchdog(loop, c, cfg.duration), "watchdog");
    loop.spawn(on_stop(), "stop");
    c.start([&] { loop.stop(); });
    loop.run();
    slot.stop.settle(loop);
    slot.tallies = c.tallies();
    slot.error = c.error();
    slot.done = c.done();
}

// One loop's thread: its loop and stack (made in index order: the kernel
// numbers fanout members as they join), then the role, then the teardown
// once main has taken the results.
void loop_thread(unsigned index, std::optional<std::uint16_t> group, loop_slot& slot, const run_state& run) {
    std::optional<runtime::loop> loop;
    std::optional<user_transport> net;
    try {
        loop.emplace(run.o.common.loop);
        interface_config cfg = run.o.common.iface;
        cfg.loop_index = index;
        cfg.loops = run.loops;
        cfg.fanout_group = group;
        net.emplace(*loop, cfg);
        slot.made.set_value(*net->stack().fanout_group());
    } catch (...) {
        slot.made.set_exception(std::current_exception());
        slot.finished = true;
        return;
    }
    try {
        if (run.go.get()) {
            if (run.o.role == bench_role::server)
                serve(*loop, *net, slot, run);
            else
                run_client(*loop, *net, slot, share_of(run.o.client, index, run.loops));
        }
    } catch (const std::exception& e) {
        slot.error = e.what();
        slot.done = false;
    }
    slot.stop.settle(*loop);
    if (run.o.stats) print_counters(*net);
    slot.finished = true;
    if (!run.release.get()) return;
    net.reset();  // the stack before its loop
    loop.reset();
}

std::string server_json(const std::vector<std::unique_ptr<loop_slot>>& slots) {
    server_totals sum;
    apps::json per_loop = apps::json::array();
    for (const auto& s : slots) {
        sum.connections += s->totals.connections;
        sum.bytes_in += s->totals.bytes_in;
        sum.bytes_out += s->totals.bytes_out;
        sum.losses += s->totals.losses;
        sum.errors += s->totals.errors;
        sum.fixed_verified += s->totals.fixed_verified;
        sum.fixed_failed += s->totals.fixed_failed;
        if (sum.congestion.empty()) sum.congestion = s->totals.congestion;
        if (!s->totals.last_sha256.empty()) sum.last_sha256 = s->totals.last_sha256;
        per_loop.push_back(s->totals.connections);
    }
    return server::json("user", sum, {{"loops", slots.size()}, {"loop_connections", per_loop}});
}

}  // namespace

int run_loops(const bench_options& o, unsigned loops) {
    if (loops < 1 || loops > max_loops) {
        std::fprintf(stderr, "%s: --loops must be 1..%u\n", program, max_loops);
        return 2;
    }
    if (o.stack != stack_kind::user) {
        std::fprintf(stderr, "%s: --loops is for the user-space stack only\n", program);
        return 2;
    }
    if (o.role == bench_role::client && o.client.connections < loops) {
        std::fprintf(stderr, "%s: --connections must be at least --loops (each loop runs some)\n", program);
        return 2;
    }
    // The loops' threads inherit the mask: signals are taken here only.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    std::promise<bool> go, release;
    const run_state run{o, loops, go.get_future().share(), release.get_future().share()};
    std::vector<std::unique_ptr<loop_slot>> slots;
    std::optional<std::uint16_t> group;
    std::optional<std::string> failed;
    for (unsigned i = 0; i < loops && !failed; ++i) {
        slots.push_back(std::make_unique<loop_slot>());
        auto made = slots.back()->made.get_future();
        slots.back()->thread = std::thread(loop_thread, i, group, std::ref(*slots.back()), std::cref(run));
        try {
            group = made.get();
        } catch (const std::exception& e) {
            failed = e.what();
        }
    }
    go.set_value(!failed);
    if (failed) {
        release.set_value(true);
        for (auto& s : slots) s->thread.join();
        apps::die(program, *failed, 2);
    }
    if (o.role == bench_role::server) {
        std::fprintf(stderr, "%s: listening on port %u (stack user, %u loops, fanout group %u)\n", program,
                     o.listen_port, loops, *group);
        std::fflush(stderr);
    }

    int interrupted = 0;
    const auto all_finished = [&] {
        for (const auto& s : slots)
            if (!s->finished) return false;
        return true;
    };
    while (!all_finished()) {
        const timespec tick{0, 20'000'000};
        const int sig = ::sigtimedwait(&signals, nullptr, &tick);
        if (sig > 0 && interrupted == 0) {
            interrupted = sig;
            for (auto& s : slots) s->stop.notify();
        }
    }

    bool clean = true;  // every coroutine unwound: the stacks can be torn down
    int status = 0;
    if (o.role == bench_role::server) {
        for (const auto& s : slots) {
            clean = clean && s->idle;
            if (s->error) {
                std::fprintf(stderr, "%s: %s\n", program, s->error->c_str());
                status = 1;
            }
        }
        if (status == 0) std::printf("%s\n", server_json(slots).c_str());
    } else {
        std::vector<tally> tallies;
        for (const auto& s : slots) {
            clean = clean && s->done;
            if (s->error && status == 0) {
                std::fprintf(stderr, "%s: %s\n", program, s->error->c_str());
                status = 1;
            }
            tallies.insert(tallies.end(), s->tallies.begin(), s->tallies.end());
        }
        if (o.role == bench_role::client && interrupted > 0) die_by(interrupted);
        if (status == 0) std::printf("%s\n", client::json(o.client, "user", tallies, loops).c_str());
    }
    if (!clean) exit_now(status);
    release.set_value(true);
    for (auto& s : slots) s->thread.join();
    return status;
}

}  // namespace coronet::bench
