// What every coronet layer above the runtime sees of a loop: the time, timers,
// a ready queue and detached tasks. Two executors implement it: `loop`
// (io_uring, wall clock) and `sim_loop` (virtual time, deterministic).
#pragma once

#include <coronet/runtime/clock.hpp>
#include <coronet/runtime/frame_allocator.hpp>
#include <coronet/runtime/task.hpp>
#include <coronet/runtime/timer_queue.hpp>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <string>
#include <string_view>

namespace coronet::runtime {

class executor;
class detached;

namespace detail {

// The frame of a detached task (a detached coroutine, or the root spawn and
// start put over a task<void>): registers itself with its executor when
// started, so that shutdown can destroy what is still suspended, and frees
// itself when done.
struct detached_promise {
    executor* ex = nullptr;  // set when started
    const char* name = "";   // for the error handler
    detached_promise* prev = nullptr;
    detached_promise* next = nullptr;

    detached_promise() = default;
    // spawn's and start's root: the name is the root's parameter, in its
    // frame. (GCC hands a parameter over as an xvalue, clang as an lvalue.)
    detached_promise(task<void>&, std::string& n) noexcept : name(n.c_str()) {}
    detached_promise(task<void>&, std::string&& n) noexcept : name(n.c_str()) {}
    static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* frame, std::size_t size) noexcept { deallocate_frame(frame, size); }

    detached get_return_object() noexcept;
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() noexcept {
        struct awaiter {
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<detached_promise> h) const noexcept { h.destroy(); }
            void await_resume() const noexcept {}
        };
        return awaiter{};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept;
    ~detached_promise() { unlink(); }

    void link(executor& e) noexcept;
    void unlink() noexcept;
};

}  // namespace detail

// A coroutine that runs on its own, its frame the root of a detached task:
// for coroutines that live long and come by the million (a TCP connection's
// life), one frame where a task<void> run by spawn or start has two (its own
// and the root's). Calling it makes the frame, suspended; executor::start
// runs it. Its exceptions go to the executor's error handler; a frame never
// started is destroyed with this handle.
class [[nodiscard]] detached {
public:
    using promise_type = detail::detached_promise;
    using handle = std::coroutine_handle<promise_type>;

    explicit detached(handle h) noexcept : h_(h) {}
    detached(detached&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    detached& operator=(detached&&) = delete;
    ~detached() {
        if (h_) h_.destroy();
    }

private:
    friend class executor;
    handle release() noexcept { return std::exchange(h_, {}); }
    handle h_;
};

inline detached detail::detached_promise::get_return_object() noexcept {
    return detached{std::coroutine_handle<detached_promise>::from_promise(*this)};
}

// Work left for the end of the loop's turn (a TCP connection's output,
// decided once after all of the turn's events). Intrusive: queuing it
// allocates nothing; its owner cancels it before it dies. A queued node has
// a prev or is the queue's head (no flag: every TCP connection holds one).
struct turn_end_node {
    void (*on_turn_end)(turn_end_node&) = nullptr;
    void* context = nullptr;
    turn_end_node* next = nullptr;
    turn_end_node* prev = nullptr;
};

// Called when a detached task ends with an exception: its name and the error.
using error_handler = std::function<void(std::string_view, std::exception_ptr)>;

class executor {
public:
    executor();
    executor(const executor&) = delete;
    executor& operator=(const executor&) = delete;
    virtual ~executor();

    // The current time of this executor (wall clock or virtual).
    virtual time_point now() const noexcept = 0;

    // Resumes h on a later turn of the loop, in FIFO order.
    void post(std::coroutine_handle<> h) { ready_.push_back(h); }

    // Runs t to completion in the background; an exception is passed to the
    // error handler (default: logged at error level).
    void spawn(task<void> t, std::string name = "task");
    // Like spawn, but runs t right now, up to its first suspension, before
    // returning (for state machines that must be waiting when start() returns).
    void start(task<void> t, std::string name = "task");
    // Runs d right now, up to its first suspension, then in the background,
    // as start does a task; name (a string that outlives d) for the error handler.
    void start(detached d, const char* name);
    void set_error_handler(error_handler h) { on_error_ = std::move(h); }
    // Detached tasks still running.
    std::size_t detached_count() const noexcept { return detached_count_; }

    // Suspends the caller until d has passed.
    auto sleep_for(duration d);
    // Suspends the caller until t.
    auto sleep_until(time_point t);

    timer_queue& timers() noexcept { return timers_; }
    // One pass: fires expired timers, resumes the coroutines that were
    // ready at the start of the pass, then ends the turn (end_turn());
    // returns how many were resumed.
    std::size_t run_ready();
    // Whether a pass has work: ready coroutines, or work left for the end of a turn.
    bool has_ready() const noexcept { return !ready_.empty() || turn_end_head_ != nullptr; }
    // Whether coroutines are queued to run: at the end of a pass, those
    // posted during it, which run in the next one.
    bool has_posted() const noexcept { return !ready_.empty(); }
    // n runs at the end of this turn (once, however often it is queued);
    // queued outside a turn, it makes the next pass due at once.
    void at_turn_end(turn_end_node& n) noexcept;
    void cancel_turn_end(turn_end_node& n) noexcept;
    // Whether n waits for the end of this turn.
    bool turn_end_queued(const turn_end_node& n) const noexcept { return n.prev != nullptr || turn_end_head_ == &n; }
    // Runs what was queued for the end of the turn, in order, and what that
    // queues in turn. run_ready() calls it; a test driving a stack by hand
    // calls it to end its own "turn" before it looks at the wire.
    void end_turn();
    // Turns ended so far: what happens between two values is one turn.
    std::uint64_t turns() const noexcept { return turns_; }
    // Destroys every detached task still suspended (shutdown).
    void destroy_detached() noexcept;

private:
    friend struct detail::detached_promise;
    void report(std::string_view name, std::exception_ptr e);

    // Its nodes recycled: a queue that every turn pushes and pops would
    // otherwise allocate a node every 64 handles.
    std::deque<std::coroutine_handle<>, recycling_allocator<std::coroutine_handle<>>> ready_;
    timer_queue timers_;
    error_handler on_error_;
    detail::detached_promise* detached_head_ = nullptr;
    std::size_t detached_count_ = 0;
    turn_end_node* turn_end_head_ = nullptr;
    turn_end_node* turn_end_tail_ = nullptr;
    std::uint64_t turns_ = 0;
};

// A one-shot timer a coroutine waits on; cancel() wakes the waiter early.
class timer {
public:
    explicit timer(executor& ex) noexcept : ex_(ex) {
        node_.on_expire = &expire;
        node_.context = this;
    }
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;
    ~timer() { ex_.timers().erase(node_); }

    // Waits until t; resumes with true if the time came, false if cancelled.
    auto wait_until(time_point t) noexcept {
        struct awaiter {
            timer& self;
            time_point t;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h) {
                self.waiter_ = h;
                self.expired_ = false;
                self.node_.deadline = t;
                self.ex_.timers().insert(self.node_);
            }
            bool await_resume() const noexcept { return self.expired_; }
        };
        return awaiter{*this, t};
    }
    auto wait_for(duration d) noexcept { return wait_until(ex_.now() + d); }
    // Wakes a pending waiter with false; no-op when nothing waits.
    void cancel() {
        if (!node_.queued()) return;
        ex_.timers().erase(node_);
        ex_.post(std::exchange(waiter_, {}));
    }
    bool pending() const noexcept { return node_.queued(); }

private:
    static void expire(timer_node& n);
    executor& ex_;
    timer_node node_;
    std::coroutine_handle<> waiter_;
    bool expired_ = false;
};

// A wake-up flag for one waiter, with an optional deadline: notify() before
// the wait makes the wait return at once.
class event {
public:
    explicit event(executor& ex) noexcept : ex_(ex) {
        node_.on_expire = &expire;
        node_.context = this;
    }
    event(const event&) = delete;
    event& operator=(const event&) = delete;
    ~event() { ex_.timers().erase(node_); }

    // Sets the flag and wakes the waiter, if any.
    void notify();
    bool is_set() const noexcept { return set_; }

    // Waits until notified or until deadline (time_point::max() = no deadline);
    // returns true when notified, false on timeout. Clears the flag.
    auto wait_until(time_point deadline) noexcept {
        struct awaiter {
            event& self;
            time_point deadline;
            bool await_ready() const noexcept { return self.set_; }
            void await_suspend(std::coroutine_handle<> h) {
                self.waiter_ = h;
                if (deadline != time_point::max()) {
                    self.node_.deadline = deadline;
                    self.ex_.timers().insert(self.node_);
                }
            }
            bool await_resume() noexcept { return std::exchange(self.set_, false); }
        };
        return awaiter{*this, deadline};
    }
    auto wait() noexcept { return wait_until(time_point::max()); }

private:
    static void expire(timer_node& n);
    executor& ex_;
    timer_node node_;
    std::coroutine_handle<> waiter_;
    bool set_ = false;
};

inline auto executor::sleep_until(time_point t) {
    struct awaiter {
        executor& ex;
        time_point t;
        timer_node node{};
        std::coroutine_handle<> waiter{};
        awaiter(executor& e, time_point at) noexcept : ex(e), t(at) {}
        awaiter(const awaiter&) = delete;
        ~awaiter() { ex.timers().erase(node); }
        bool await_ready() const noexcept { return t <= ex.now(); }
        void await_suspend(std::coroutine_handle<> h) {
            waiter = h;
            node.deadline = t;
            node.context = this;
            node.on_expire = [](timer_node& n) {
                auto* self = static_cast<awaiter*>(n.context);
                self->ex.post(self->waiter);
            };
            ex.timers().insert(node);
        }
        void await_resume() const noexcept {}
    };
    return awaiter{*this, t};
}

inline auto executor::sleep_for(duration d) { return sleep_until(now() + d); }

}  // namespace coronet::runtime
