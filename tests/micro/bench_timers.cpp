// The executor's timer queue (an intrusive binary heap) with N timers pending,
// in the three ways TCP uses timers: arm a fresh one and cancel it, re-arm a
// pending one (retransmit timer reset on every ACK), and fire the earliest
// then arm it again (the loop's expiry pass).
#include <benchmark/benchmark.h>

#include <chrono>
#include <coronet/runtime/timer_queue.hpp>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace rt = coronet::runtime;

namespace {

// N nodes queued at random deadlines within 200 ms of t0, plus the random
// numbers the timed loop draws from (precomputed, so no RNG is timed).
struct pending_timers {
    explicit pending_timers(std::size_t n) : nodes(n), draws(1 << 16) {
        std::mt19937_64 rng(9293);
        for (auto& d : draws) d = rng();
        for (auto& node : nodes) {
            node.deadline = t0 + delay(next_draw());
            queue.insert(node);
        }
    }

    static rt::duration delay(std::uint64_t draw) { return std::chrono::microseconds(1000 + draw % 200'000); }
    std::uint64_t next_draw() { return draws[at++ & (draws.size() - 1)]; }

    const rt::time_point t0{};
    std::vector<rt::timer_node> nodes;  // never resized: the queue points into it
    std::vector<std::uint64_t> draws;
    std::size_t at = 0;
    rt::timer_queue queue;
};

void timer_insert_then_erase(benchmark::State& state) {
    pending_timers timers(static_cast<std::size_t>(state.range(0)));
    rt::timer_node extra;
    for (auto _ : state) {
        extra.deadline = timers.t0 + pending_timers::delay(timers.next_draw());
        timers.queue.insert(extra);
        benchmark::DoNotOptimize(timers.queue.top());
        timers.queue.erase(extra);
        benchmark::ClobberMemory();
    }
}

void timer_rearm_random(benchmark::State& state) {
    pending_timers timers(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        const std::uint64_t draw = timers.next_draw();
        rt::timer_node& node = timers.nodes[draw % timers.nodes.size()];
        timers.queue.erase(node);
        node.deadline = timers.t0 + pending_timers::delay(draw >> 20);
        timers.queue.insert(node);
        benchmark::ClobberMemory();
    }
}

void timer_pop_expired_and_rearm(benchmark::State& state) {
    pending_timers timers(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        const rt::time_point now = timers.queue.top()->deadline;  // the clock reaches the earliest deadline
        // (No DoNotOptimize on the pointer: its "+m,r" asm let GCC's -O1 ASan
        // build dereference garbage; the insert below uses it anyway.)
        rt::timer_node* fired = timers.queue.pop_expired(now);
        fired->deadline = now + pending_timers::delay(timers.next_draw());
        timers.queue.insert(*fired);
        benchmark::ClobberMemory();
    }
}

}  // namespace

BENCHMARK(timer_insert_then_erase)->Arg(1000)->Arg(100'000);
BENCHMARK(timer_rearm_random)->Arg(1000)->Arg(100'000);
BENCHMARK(timer_pop_expired_and_rearm)->Arg(1000)->Arg(100'000);
