#include <unistd.h>

#include <array>
#include <boost/test/unit_test.hpp>
#include <coronet/runtime/loop.hpp>
#include <coronet/runtime/sim_loop.hpp>
#include <coronet/runtime/task.hpp>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coronet::runtime;
using namespace std::chrono_literals;

namespace {

task<int> value(int v) { co_return v; }
task<void> nothing() { co_return; }
task<std::unique_ptr<int>> boxed(int v) { co_return std::make_unique<int>(v); }
task<int> thrower() {
    throw std::runtime_error("boom");
    co_return 0;
}

task<long> sum_of_sync_awaits(int n) {
    long total = 0;
    for (int i = 0; i < n; ++i) total += co_await value(1);
    co_return total;
}

task<int> nested(int depth) {
    if (depth == 0) co_return 0;
    co_return 1 + co_await nested(depth - 1);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(task_tests)

BOOST_AUTO_TEST_CASE(task_is_lazy_until_awaited) {
    sim_loop sim;
    bool started = false;
    auto t = [](bool& s) -> task<void> {
        s = true;
        co_return;
    }(started);
    BOOST_TEST(!started);
    sim.run_task(std::move(t));
    BOOST_TEST(started);
}

BOOST_AUTO_TEST_CASE(task_returns_values_void_and_move_only_types) {
    sim_loop sim;
    BOOST_TEST(sim.run_task(value(42)) == 42);
    sim.run_task(nothing());
    auto p = sim.run_task(boxed(7));
    BOOST_TEST(*p == 7);
}

BOOST_AUTO_TEST_CASE(task_propagates_exceptions_to_the_awaiter) {
    sim_loop sim;
    auto outer = []() -> task<std::string> {
        try {
            co_await thrower();
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "not thrown";
    };
    BOOST_TEST(sim.run_task(outer()) == "boom");
    BOOST_CHECK_THROW(sim.run_task(thrower()), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(million_synchronous_awaits_do_not_grow_the_stack) {
    // Symmetric transfer: each child returns to its parent by tail call, so a
    // million synchronously completing awaits run in constant stack.
    sim_loop sim;
    BOOST_TEST(sim.run_task(sum_of_sync_awaits(1'000'000)) == 1'000'000);
}

BOOST_AUTO_TEST_CASE(deep_recursion_of_awaits_completes) {
    sim_loop sim;
    BOOST_TEST(sim.run_task(nested(10'000)) == 10'000);
}

BOOST_AUTO_TEST_CASE(moved_from_task_is_empty_and_destroying_unstarted_task_frees_it) {
    auto t = value(1);
    auto u = std::move(t);
    BOOST_TEST(!t.valid());
    BOOST_TEST(u.valid());
    // u is destroyed unstarted: ASan reports a leak if the frame is not freed.
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sim_loop_tests)

BOOST_AUTO_TEST_CASE(sleepers_wake_in_deadline_order_on_virtual_time) {
    sim_loop sim;
    const auto start = sim.now();
    std::vector<int> order;
    auto sleeper = [&](int id, duration d) -> task<void> {
        co_await sim.sleep_for(d);
        order.push_back(id);
    };
    sim.spawn(sleeper(3, 30s));
    sim.spawn(sleeper(1, 10s));
    sim.spawn(sleeper(2, 20s));
    sim.spawn(sleeper(4, 20s));  // same deadline as 2: FIFO
    BOOST_TEST(sim.run_until_idle());
    BOOST_TEST((order == std::vector<int>{1, 2, 4, 3}));
    BOOST_TEST((sim.now() - start == 30s));
    BOOST_TEST(sim.detached_count() == 0u);
}

BOOST_AUTO_TEST_CASE(cancelled_timer_wakes_its_waiter_with_false) {
    sim_loop sim;
    timer t{sim};
    bool result = true;
    time_point woke{};
    auto waiter = [&]() -> task<void> {
        result = co_await t.wait_for(60s);
        woke = sim.now();
    };
    const auto start = sim.now();
    sim.spawn(waiter());
    sim.run_for(5s);
    BOOST_TEST(t.pending());
    t.cancel();
    sim.run_until_idle();
    BOOST_TEST(!result);
    BOOST_TEST((woke - start == 5s));
}

BOOST_AUTO_TEST_CASE(timer_that_expires_returns_true) {
    sim_loop sim;
    timer t{sim};
    auto wait = [&]() -> task<bool> { co_return co_await t.wait_for(2s); };  // named: outlives its frame
    auto r = sim.run_task(wait());
    BOOST_TEST(r);
}

BOOST_AUTO_TEST_CASE(event_wait_returns_on_notify_or_timeout) {
    sim_loop sim;
    event ev{sim};
    std::vector<bool> results;
    auto waiter = [&]() -> task<void> {
        results.push_back(co_await ev.wait_until(sim.now() + 10s));  // notified at 3 s
        results.push_back(co_await ev.wait_until(sim.now() + 10s));  // times out
        ev.notify();
        results.push_back(co_await ev.wait());  // already set: immediate
    };
    sim.spawn(waiter());
    sim.run_for(3s);
    ev.notify();
    BOOST_TEST(sim.run_until_idle());
    BOOST_TEST((results == std::vector<bool>{true, false, true}));
}

BOOST_AUTO_TEST_CASE(hundred_thousand_timers_fire_in_order) {
    sim_loop sim;
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int> ms(0, 100'000);
    constexpr int n = 100'000;
    std::vector<std::unique_ptr<timer>> timers;
    std::vector<time_point> fired;
    fired.reserve(n);
    auto waiter = [&](timer& t, time_point at) -> task<void> {
        const bool expired = co_await t.wait_until(at);
        if (expired) fired.push_back(sim.now());
    };
    for (int i = 0; i < n; ++i) {
        timers.push_back(std::make_unique<timer>(sim));
        sim.spawn(waiter(*timers.back(), sim.now() + std::chrono::milliseconds(ms(rng))));
    }
    sim.run_for(1ms);  // start them all
    for (int i = 0; i < n; i += 2) timers[i]->cancel();
    BOOST_TEST(sim.run_until_idle());
    BOOST_TEST(fired.size() <= static_cast<std::size_t>(n / 2));
    BOOST_TEST(fired.size() >= static_cast<std::size_t>(n / 2 - 60));  // few expired in the first ms
    BOOST_TEST(std::is_sorted(fired.begin(), fired.end()));
    BOOST_TEST(sim.timers().empty());
}

BOOST_AUTO_TEST_CASE(a_timer_re_armed_in_the_past_by_its_callback_waits_for_the_next_pass) {
    // A callback that keeps re-queueing itself at an expired deadline (a TCP
    // timer whose send failed) must not keep run_ready from returning to I/O.
    sim_loop sim;
    struct rearming {
        sim_loop& sim;
        timer_node node;
        int fired = 0;
    } r{sim, {}};
    r.node.context = &r;
    r.node.on_expire = [](timer_node& n) {
        auto* self = static_cast<rearming*>(n.context);
        ++self->fired;
        n.deadline = self->sim.now();
        self->sim.timers().insert(n);
    };
    r.node.deadline = sim.now();
    sim.timers().insert(r.node);
    sim.run_ready();
    BOOST_TEST(r.fired == 1);
    sim.run_ready();
    BOOST_TEST(r.fired == 2);
    sim.timers().erase(r.node);
}

namespace detached_tests {

// The executor's error handler writes "task name: what()" into seen.
void record_errors(sim_loop& sim, std::string& seen) {
    sim.set_error_handler([&seen](std::string_view name, std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            seen = std::string(name) + ": " + ex.what();
        }
    });
}

detached runs_until(std::shared_ptr<int> keep, event& e, bool fail) {
    ++*keep;
    co_await e.wait();
    if (fail) throw std::runtime_error("boom");
    ++*keep;
}

}  // namespace detached_tests

BOOST_AUTO_TEST_CASE(detached_task_exception_reaches_error_handler) {
    sim_loop sim;
    std::string seen;
    detached_tests::record_errors(sim, seen);
    sim.spawn([]() -> task<void> { co_await thrower(); }(), "worker");
    sim.run_until_idle();
    BOOST_TEST(seen == "worker: boom");
    BOOST_TEST(sim.detached_count() == 0u);
}

BOOST_AUTO_TEST_CASE(suspended_detached_tasks_are_destroyed_at_shutdown) {
    auto flag = std::make_shared<int>(0);
    {
        sim_loop sim;
        event never{sim};
        sim.spawn([](std::shared_ptr<int> keep, event& e) -> task<void> {
            co_await e.wait();
            ++*keep;
        }(flag, never));
        sim.run_until_idle();
        BOOST_TEST(sim.detached_count() == 1u);
        BOOST_TEST(flag.use_count() == 2);
        sim.destroy_detached();
    }
    BOOST_TEST(flag.use_count() == 1);
    BOOST_TEST(*flag == 0);
}

BOOST_AUTO_TEST_CASE(turn_end_work_runs_once_per_queuing_in_order_and_not_when_cancelled) {
    sim_loop sim;
    std::vector<int> ran;
    struct work {
        turn_end_node node;
        int id = 0;
        std::vector<int>* ran = nullptr;
    };
    std::array<work, 4> w;
    for (int i = 0; i < 4; ++i) {
        w[i].id = i;
        w[i].ran = &ran;
        w[i].node.context = &w[i];
        w[i].node.on_turn_end = [](turn_end_node& n) {
            auto* self = static_cast<work*>(n.context);
            self->ran->push_back(self->id);
        };
    }
    for (int i : {0, 1, 2, 3, 0, 2}) sim.at_turn_end(w[i].node);  // queued twice: once
    sim.cancel_turn_end(w[1].node);                               // the middle
    sim.cancel_turn_end(w[3].node);                               // the tail
    sim.cancel_turn_end(w[3].node);                               // not queued: nothing
    sim.at_turn_end(w[1].node);                                   // back, at the end
    sim.end_turn();
    BOOST_TEST(ran == (std::vector<int>{0, 2, 1}));
    BOOST_TEST(!sim.has_ready());
    sim.at_turn_end(w[3].node);  // a lone node is the head
    sim.at_turn_end(w[3].node);
    sim.end_turn();
    BOOST_TEST(ran == (std::vector<int>{0, 2, 1, 3}));
}

BOOST_AUTO_TEST_CASE(a_spawned_task_reports_a_long_name_that_only_its_frame_held) {
    sim_loop sim;
    std::string seen;
    sim.set_error_handler([&](std::string_view name, std::exception_ptr) { seen = name; });
    // Longer than the small-string buffer: the name lives on the heap, owned by the root frame.
    const std::string name = "a worker whose name is longer than the small-string buffer";
    sim.spawn([]() -> task<void> { co_await thrower(); }(), name);
    sim.run_until_idle();
    BOOST_TEST(seen == name);
}

BOOST_AUTO_TEST_CASE(a_detached_coroutine_runs_at_start_until_it_waits_and_then_frees_its_frame) {
    sim_loop sim;
    auto count = std::make_shared<int>(0);
    event go{sim};
    sim.start(detached_tests::runs_until(count, go, false), "detached");
    BOOST_TEST(*count == 1);  // ran up to its wait before start returned
    BOOST_TEST(sim.detached_count() == 1u);
    go.notify();
    sim.run_until_idle();
    BOOST_TEST(*count == 2);
    BOOST_TEST(sim.detached_count() == 0u);
    BOOST_TEST(count.use_count() == 1);  // the frame and its copy of the pointer are gone
}

BOOST_AUTO_TEST_CASE(a_detached_coroutine_reports_its_exception_under_its_name) {
    sim_loop sim;
    std::string seen;
    detached_tests::record_errors(sim, seen);
    auto count = std::make_shared<int>(0);
    event go{sim};
    sim.start(detached_tests::runs_until(count, go, true), "life");
    go.notify();
    sim.run_until_idle();
    BOOST_TEST(seen == "life: boom");
    BOOST_TEST(sim.detached_count() == 0u);
    BOOST_TEST(count.use_count() == 1);
}

BOOST_AUTO_TEST_CASE(detached_coroutines_are_destroyed_at_shutdown_and_unstarted_ones_with_their_handle) {
    auto count = std::make_shared<int>(0);
    {
        sim_loop sim;
        event never{sim};
        sim.start(detached_tests::runs_until(count, never, false), "waits");
        { auto unstarted = detached_tests::runs_until(count, never, false); }
        BOOST_TEST(*count == 1);  // only the started one ran
        BOOST_TEST(count.use_count() == 2);
        sim.destroy_detached();
        BOOST_TEST(sim.detached_count() == 0u);
    }
    BOOST_TEST(count.use_count() == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(io_uring_loop_tests)

BOOST_AUTO_TEST_CASE(loop_sleeps_on_the_wall_clock_and_stops) {
    loop l;
    std::vector<int> order;
    const auto start = l.now();
    auto sleeper = [&](int id, duration d) -> task<void> {
        co_await l.sleep_for(d);
        order.push_back(id);
        if (order.size() == 3) l.stop();
    };
    l.spawn(sleeper(2, 20ms));
    l.spawn(sleeper(1, 5ms));
    l.spawn(sleeper(3, 30ms));
    l.run();
    BOOST_TEST((order == std::vector<int>{1, 2, 3}));
    BOOST_TEST((l.now() - start >= 30ms));
}

// Sets fired after d of l's time.
task<void> fire_after(loop& l, duration d, bool& fired) {
    co_await l.sleep_for(d);
    fired = true;
}

task<void> one_nop(loop& l) {
    co_await l.submit([](io_uring_sqe* s) { io_uring_prep_nop(s); });
}

// The start of a busy-polling test: a guard timer that sets `guard` after
// `after` (so that a turn that sleeps where the test expects a spin ends it
// with a failure, not a hang), then turns until a no-op completes, the work
// the loop spins after.
void complete_a_nop_under_a_guard(loop& l, duration after, bool& guard) {
    l.spawn(fire_after(l, after, guard));
    l.spawn(one_nop(l));
    while (l.counters().completions == 0) l.run_once(true);
}

// Runs one no-op through l's ring; returns its result.
int run_a_nop(loop& l) {
    int rc = -1;
    auto nop = [&]() -> task<void> {
        rc = co_await l.submit([](io_uring_sqe* s) { io_uring_prep_nop(s); });
        l.stop();
    };
    l.spawn(nop());
    l.run();
    return rc;
}

BOOST_AUTO_TEST_CASE(loop_completes_io_uring_operations) {
    loop l;
    BOOST_TEST(run_a_nop(l) == 0);
    BOOST_TEST(l.counters().completions >= 1u);
}

// Busy polling: after a completion the loop checks again instead of sleeping,
// for busy_poll; then it sleeps until its next timer like any loop. A
// busy_poll long enough that a loaded machine's preemption does not end
// the spin early, and a far timer, so that a turn that sleeps there ends
// the test with a failure instead of a hang.
BOOST_AUTO_TEST_CASE(busy_polling_spins_after_a_completion_then_sleeps) {
    loop l{{.busy_poll = 100ms}};
    bool guard = false;
    complete_a_nop_under_a_guard(l, 5s, guard);
    const auto after_work = l.now();
    const auto iterations = l.counters().iterations;
    while (l.now() - after_work < 10ms && !guard) l.run_once(true);  // no I/O, the timer 5 s away: only a spin returns
    BOOST_TEST(!guard);
    BOOST_TEST(l.counters().busy_polls > 0u);
    BOOST_TEST(l.counters().iterations - iterations == l.counters().busy_polls);

    // Idle past the window (a timer is no completion): the loop sleeps until its timers.
    bool woke = false;
    l.spawn(fire_after(l, 150ms, woke));
    while (!woke) l.run_once(true);
    BOOST_TEST((l.now() - after_work >= 150ms));
    woke = false;
    l.spawn(fire_after(l, 5ms, woke));
    const auto polls = l.counters().busy_polls;
    const auto turns = l.counters().iterations;
    while (!woke) l.run_once(true);
    BOOST_TEST(l.counters().busy_polls == polls);
    BOOST_TEST(l.counters().iterations - turns <= 3u);  // slept, did not spin through the 5 ms
}

// A spin poller (a device whose input lands in memory it shares with the
// kernel) is asked on every spinning turn, and the loop then enters the
// kernel only every spins_per_enter turns, or at once for a submission;
// what the poller finds counts as work and keeps the spin going. A long
// busy_poll, so that a loaded machine's preemption does not end the spin
// early, and a timer, so that a turn that sleeps ends the test with a
// failure instead of a hang.
BOOST_AUTO_TEST_CASE(a_spinning_loop_asks_its_pollers_and_enters_the_kernel_only_now_and_then) {
    loop l{{.busy_poll = 200ms}};
    struct counting_poller final : spin_poller {
        unsigned asked = 0;
        bool work = false;
        bool poll() override {
            ++asked;
            return work;
        }
    } p;
    l.add_spin_poller(p);
    bool guard = false;
    complete_a_nop_under_a_guard(l, 1s, guard);
    const unsigned asked = p.asked;
    const auto quiet = l.counters().quiet_spins, entered = l.counters().submits;
    for (unsigned i = 0; i < 8 * loop::spins_per_enter; ++i) l.run_once(true);
    BOOST_REQUIRE(!guard);
    BOOST_TEST(p.asked - asked == 8 * loop::spins_per_enter);
    BOOST_TEST(l.counters().quiet_spins - quiet == 7 * 8u);
    BOOST_TEST(l.counters().submits - entered == 8u);  // the kernel entered once per eight spins
    // A submission goes to the kernel on the next turn, not the eighth.
    bool done = false;
    auto one = [&]() -> task<void> {
        co_await l.submit([](io_uring_sqe* s) { io_uring_prep_nop(s); });
        done = true;
    };
    l.spawn(one());
    l.run_once(true);  // runs the coroutine, which queues its SQE
    l.run_once(true);  // submits it; the nop completes at once
    BOOST_TEST(done);
    // Work found by the poller keeps the loop spinning past busy_poll: a
    // turn 300 ms after the last completion still spins.
    p.work = true;
    const auto start = l.now();
    while (l.now() - start < 300ms && !guard) l.run_once(true);
    const auto polls = l.counters().busy_polls;
    l.run_once(true);
    BOOST_TEST(l.counters().busy_polls == polls + 1);
    BOOST_TEST(!guard);
    // Without it the loop stops spinning and sleeps until its timer: the
    // turn that ends with the timer did not spin.
    p.work = false;
    bool last_spun = true;
    while (!guard) {
        const auto bp = l.counters().busy_polls;
        l.run_once(true);
        last_spun = l.counters().busy_polls != bp;
    }
    BOOST_TEST(!last_spun);
    l.remove_spin_poller(p);
    const unsigned after = p.asked;
    l.spawn(one_nop(l));
    for (int i = 0; i < 4; ++i) l.run_once(false);
    BOOST_TEST(p.asked == after);  // removed: never asked again
}

BOOST_AUTO_TEST_CASE(no_busy_polling_by_default) {
    loop l;
    l.spawn(one_nop(l));
    bool woke = false;
    l.spawn(fire_after(l, 5ms, woke));
    while (!woke) l.run_once(true);
    BOOST_TEST(l.counters().busy_polls == 0u);
    BOOST_TEST(l.counters().iterations <= 4u);
}

BOOST_AUTO_TEST_CASE(loop_delivers_a_signal_through_signalfd) {
    loop l;
    signal_set signals{l, {SIGUSR2}};
    int got = 0;
    auto receiver = [&]() -> task<void> {
        got = co_await signals.wait();
        l.stop();
    };
    auto sender = [&]() -> task<void> {
        co_await l.sleep_for(1ms);
        ::raise(SIGUSR2);
    };
    l.spawn(receiver());
    l.spawn(sender());
    l.run();
    BOOST_TEST(got == SIGUSR2);
}

// A coroutine destroyed while its operation waits on the ring (a detached
// task at shutdown) must not be resumed by that operation's completion:
// here the read's descriptor is closed before its SQE is even submitted, so
// the completion (EBADF) comes at once, after the coroutine is gone. It
// reached freed memory before (coronet-cat crashed on "network unreachable").
BOOST_AUTO_TEST_CASE(an_operation_whose_coroutine_was_destroyed_completes_into_nothing) {
    loop l;
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    bool resumed = false;
    auto reader = [&]() -> task<void> {
        char byte;
        co_await l.submit([&](io_uring_sqe* s) { io_uring_prep_read(s, fds[0], &byte, 1, 0); });
        resumed = true;
    };
    l.spawn(reader());
    l.run_once(false);  // the reader starts and prepares its SQE
    ::close(fds[0]);
    ::close(fds[1]);
    l.destroy_detached();
    for (int i = 0; i < 10; ++i) l.run_once(false);
    BOOST_TEST(!resumed);
    BOOST_TEST(run_a_nop(l) == 0, "the loop goes on, the slot reused");
}

BOOST_AUTO_TEST_SUITE_END()
