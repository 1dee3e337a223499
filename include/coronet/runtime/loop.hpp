// The real executor: one io_uring per thread. Submissions are batched until
// the loop waits; completions are reaped in batches; the earliest timer is the
// wait's timeout, so timers cost no extra syscall.
#pragma once

#include <liburing.h>

#include <coronet/runtime/executor.hpp>
#include <coroutine>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

namespace coronet::runtime {

// Something waiting for one io_uring completion; its address is the SQE's
// user_data.
class io_operation {
public:
    virtual void complete(const io_uring_cqe& cqe) = 0;

protected:
    ~io_operation() = default;
};

class loop;

// What a submit() operation's SQE points at, instead of the operation
// itself: a coroutine destroyed while its operation is in flight (the loop
// torn down, a detached task destroyed) abandons the slot, and the slot
// drops the completion that would otherwise reach freed memory. Slots are
// the loop's, reused: no allocation per operation.
class op_slot final : public io_operation {
public:
    void complete(const io_uring_cqe& cqe) override;

private:
    friend class loop;
    loop* owner_ = nullptr;
    io_operation* target_ = nullptr;
    op_slot* next_free_ = nullptr;
};

struct loop_options {
    unsigned entries = 512;  // submission entries; the completion queue has four times as many
    // IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN (falls back
    // to a plain ring when the kernel refuses).
    bool defer_taskrun = true;
    // Adaptive busy polling: for this long after the last completion the
    // loop keeps checking for completions instead of sleeping (a wake-up
    // costs tens of microseconds; a request/response peer answers sooner).
    // Once idle that long it sleeps as usual. Zero: never spin.
    duration busy_poll = duration::zero();
};

struct loop_counters {
    std::uint64_t iterations = 0;
    std::uint64_t completions = 0;
    std::uint64_t submits = 0;      // times the loop entered the kernel (to submit, to wait, or both)
    std::uint64_t busy_polls = 0;   // iterations that checked for completions instead of sleeping
    std::uint64_t quiet_spins = 0;  // of them, those that left the kernel alone (spin pollers watched)
};

// What a loop checks on each turn it spins (busy polling): input a device
// can see in memory it shares with the kernel (an AF_PACKET ring), taken
// without a system call. poll() returns true when it found work.
class spin_poller {
public:
    virtual bool poll() = 0;

protected:
    ~spin_poller() = default;
};

class loop final : public executor {
public:
    // Sets up the ring; throws std::system_error when io_uring is unavailable.
    explicit loop(loop_options opts = {});
    ~loop() override;

    // During a turn (run_once), the time the turn's completions were reaped:
    // one clock read per turn rather than several per segment. Outside a
    // turn (a call from another event loop), the clock.
    time_point now() const noexcept override { return in_turn_ ? turn_time_ : clock::now(); }

    // A free SQE; flushes the submission queue when it is full.
    io_uring_sqe* sqe();
    io_uring& ring() noexcept { return ring_; }

    // Runs until stop() is called.
    void run();
    // One iteration: submit, wait (if block and nothing is ready) for a
    // completion or the next timer, reap, run ready coroutines.
    void run_once(bool block = true);
    void stop() noexcept { stopped_ = true; }
    bool stopped() const noexcept { return stopped_; }
    // While spinning the loop asks its pollers each turn (after the turn's
    // completions) and enters the kernel only when it has something to
    // submit, on the turn after the pollers found frames, or when
    // spins_per_enter spins have passed since it last did (for completions
    // that wait as task work).
    static constexpr unsigned spins_per_enter = 8;
    void add_spin_poller(spin_poller& p) { spin_pollers_.push_back(&p); }
    void remove_spin_poller(spin_poller& p) noexcept { std::erase(spin_pollers_, &p); }
    const loop_counters& counters() const noexcept { return counters_; }

    // ---- driving the loop from another event loop (coronet::run_in)
    // One turn that never blocks: submits, reaps, runs the ready coroutines,
    // then submits what they queued, so nothing waits in the submission queue
    // while the outer loop sleeps. Returns true when there is more to do at
    // once (ready coroutines, completions or deferred completion work left).
    bool poll_once();
    // A descriptor that becomes readable when completions are waiting: watch
    // it, then call poll_once. It is an eventfd registered with the ring,
    // because the ring's own fd wakes no poller for DEFER_TASKRUN work (see
    // loop.cpp). Made on first call; throws std::system_error on failure.
    int wakeup_fd();

    // co_await: prepares one SQE with prep(sqe) and resumes with cqe->res.
    // Destroyed while waiting (its coroutine destroyed), it cancels the
    // operation and its completion is dropped; a buffer the operation
    // fills must then outlive the cancellation (the loop's next turn).
    template <class Prep>
    auto submit(Prep prep) noexcept {
        struct awaiter final : io_operation {
            loop& l;
            Prep prep;
            int res = 0;
            std::coroutine_handle<> h;
            op_slot* slot = nullptr;
            awaiter(loop& lp, Prep p) : l(lp), prep(std::move(p)) {}
            awaiter(const awaiter&) = delete;
            awaiter& operator=(const awaiter&) = delete;
            ~awaiter() {
                if (slot) l.abandon(*slot);
            }
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> caller) {
                h = caller;
                io_uring_sqe* s = l.sqe();
                prep(s);
                slot = &l.slot_for(*this);
                io_uring_sqe_set_data(s, static_cast<io_operation*>(slot));
            }
            int await_resume() const noexcept { return res; }
            void complete(const io_uring_cqe& cqe) override {
                slot = nullptr;
                res = cqe.res;
                h.resume();
            }
        };
        return awaiter{*this, std::move(prep)};
    }

private:
    friend class op_slot;
    op_slot& slot_for(io_operation& op);
    void release(op_slot& slot) noexcept;
    void abandon(op_slot& slot) noexcept;
    unsigned reap();  // returns the completions handled
    void clear_wakeup() noexcept;
    bool deferred_work_left() const noexcept;

    // Closes the descriptor it holds (after the ring, members die last).
    struct owned_fd {
        int fd = -1;
        owned_fd() = default;
        owned_fd(const owned_fd&) = delete;
        owned_fd& operator=(const owned_fd&) = delete;
        ~owned_fd();
    };

    io_uring ring_{};
    duration busy_poll_;
    time_point last_work_{};
    time_point turn_time_{};
    bool in_turn_ = false;
    bool stopped_ = false;
    loop_counters counters_;
    owned_fd wakeup_;
    std::vector<std::unique_ptr<op_slot>> slots_;
    op_slot* free_slots_ = nullptr;
    std::vector<spin_poller*> spin_pollers_;
    unsigned quiet_spins_ = 0;  // spins since the loop last entered the kernel
    bool polled_last_ = false;  // the last turn's pollers found frames
};

// Signals delivered to a coroutine through signalfd: the signals are blocked
// for the process while the set exists, and wait() returns the next one.
class signal_set {
public:
    // Blocks the signals and opens a signalfd; throws std::system_error on failure.
    signal_set(loop& l, std::initializer_list<int> signals);
    ~signal_set();
    signal_set(const signal_set&) = delete;
    signal_set& operator=(const signal_set&) = delete;

    // The next signal's number, or a negative errno.
    task<int> wait();

private:
    loop& loop_;
    int fd_ = -1;
};

}  // namespace coronet::runtime
